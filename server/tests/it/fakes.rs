//! Loopback fakes of the providers (Mailgun, LinkMobility, FCM with its OAuth2 token endpoint,
//! APNs over HTTP/2): axum servers on 127.0.0.1 that record every request byte for byte and
//! answer as the test scripts them (a status with a body and `Retry-After`, or never), else
//! like the real provider. Test keys are generated here (never committed).
#![allow(dead_code)]

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, Version};
use axum::response::{IntoResponse, Response};
use kidplan_server::{Clock, ProvidersConfig, RunningServer, ServerConfig};
use std::collections::VecDeque;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};
use tokio::sync::Notify;

/// The access token the fake OAuth2 endpoint hands out (a canary: it must never be stored).
pub const ACCESS_TOKEN: &str = "ya29.fake-access-tokencanary";

/// One request as the fake received it.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub version: Version,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Recorded {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }

    /// `application/x-www-form-urlencoded` fields, in order.
    pub fn form(&self) -> Vec<(String, String)> {
        String::from_utf8_lossy(&self.body)
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (unescape(k), unescape(v)))
            .collect()
    }

    /// Every byte of the request: method, path, headers and body.
    pub fn all_bytes(&self) -> Vec<u8> {
        let mut out = format!("{} {}\n", self.method, self.path).into_bytes();
        for (k, v) in &self.headers {
            out.extend(k.as_str().as_bytes());
            out.extend(b": ");
            out.extend(v.as_bytes());
            out.push(b'\n');
        }
        out.extend(&self.body);
        out
    }
}

/// A JWT's header and claims as text (its signature dropped); `None` when `s` is not one.
fn decode_jwt(s: &str) -> Option<String> {
    use base64::Engine;
    let parts: Vec<&str> = s.split('.').collect();
    if parts.len() != 3 || parts.iter().any(|p| p.len() < 8) {
        return None;
    }
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header = b64.decode(parts[0]).ok()?;
    let claims = b64.decode(parts[1]).ok()?;
    Some(format!(
        "{} {}",
        String::from_utf8(header).ok()?,
        String::from_utf8(claims).ok()?
    ))
}

fn unescape(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let h = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                out.push(u8::from_str_radix(h, 16).expect("hex escape"));
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).expect("utf8")
}

/// A scripted answer.
#[derive(Clone, Debug)]
pub enum Answer {
    /// Status, optional `Retry-After`, body.
    Status(u16, Option<&'static str>, String),
    /// Never answers (until [`Fake::release`]; the client times out first).
    Hang,
}

#[derive(Default)]
struct Inner {
    log: Mutex<Vec<Recorded>>,
    /// (path fragment, answer): the first whose fragment the path contains is used once.
    script: Mutex<VecDeque<(String, Answer)>>,
    release: Notify,
}

/// A running fake.
pub struct Fake {
    pub url: String,
    inner: Arc<Inner>,
    task: tokio::task::JoinHandle<()>,
}

impl Fake {
    pub async fn start() -> Fake {
        let inner = Arc::new(Inner::default());
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fake");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Fake { url, inner, task }
    }

    /// The next request whose path contains `path` gets `answer`.
    pub fn script(&self, path: &str, answer: Answer) {
        self.inner
            .script
            .lock()
            .expect("script")
            .push_back((path.to_owned(), answer));
    }

    /// Lets every hanging request go (it answers 500).
    pub fn release(&self) {
        self.inner.release.notify_waiters();
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.inner.log.lock().expect("log").clone()
    }

    /// Requests whose path contains `path`.
    pub fn to(&self, path: &str) -> Vec<Recorded> {
        self.requests()
            .into_iter()
            .filter(|r| r.path.contains(path))
            .collect()
    }

    /// Every byte received.
    pub fn all_bytes(&self) -> Vec<u8> {
        self.requests().iter().flat_map(|r| r.all_bytes()).collect()
    }

    /// Every byte received, for canary scans: each JWT (a bearer token, an OAuth assertion)
    /// replaced by its decoded header and claims, and its signature left out. A signature is
    /// random base64 that contains any three-letter canary now and then; what a JWT says is
    /// in its claims.
    pub fn scanned_bytes(&self) -> Vec<u8> {
        let text = String::from_utf8_lossy(&self.all_bytes()).into_owned();
        let mut out = String::with_capacity(text.len());
        let mut word = String::new();
        let flush = |word: &mut String, out: &mut String| {
            out.push_str(&decode_jwt(word).unwrap_or_else(|| word.clone()));
            word.clear();
        };
        for ch in text.chars() {
            if ch.is_ascii_alphanumeric() || matches!(ch, '-' | '_' | '.') {
                word.push(ch);
            } else {
                flush(&mut word, &mut out);
                out.push(ch);
            }
        }
        flush(&mut word, &mut out);
        out.into_bytes()
    }
}

impl Drop for Fake {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn handle(State(inner): State<Arc<Inner>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    let path = parts.uri.path().to_owned();
    inner.log.lock().expect("log").push(Recorded {
        method: parts.method.to_string(),
        path: path.clone(),
        version: parts.version,
        headers: parts.headers.clone(),
        body,
    });
    let scripted = {
        let mut script = inner.script.lock().expect("script");
        let i = script.iter().position(|(p, _)| path.contains(p.as_str()));
        i.and_then(|i| script.remove(i)).map(|(_, a)| a)
    };
    match scripted {
        Some(Answer::Status(code, retry_after, body)) => {
            let status = StatusCode::from_u16(code).expect("status");
            let mut resp = (status, [("content-type", "application/json")], body).into_response();
            if let Some(ra) = retry_after {
                resp.headers_mut()
                    .insert("retry-after", ra.parse().expect("header"));
            }
            resp
        }
        Some(Answer::Hang) => {
            inner.release.notified().await;
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
        None => default_answer(&path),
    }
}

/// What the real provider answers on success.
fn default_answer(path: &str) -> Response {
    let body = if path.ends_with("/token") {
        serde_json::json!({"access_token": ACCESS_TOKEN, "expires_in": 3599, "token_type": "Bearer"})
    } else if path.contains("/messages:send") {
        serde_json::json!({"name": "projects/kidplan-test/messages/0:1"})
    } else if path.contains("/3/device/") {
        return StatusCode::OK.into_response();
    } else if path.contains("/sms/send") {
        serde_json::json!({"messageId": "m-1", "resultCode": 1005, "description": "Queued"})
    } else {
        serde_json::json!({"id": "<1@mg.test.no>", "message": "Queued. Thank you."})
    };
    axum::Json(body).into_response()
}

/// Test-only key pairs (PKCS#8 private key PEM, SPKI public key PEM), generated once.
pub struct TestKeys {
    pub rsa_private: String,
    pub rsa_public: String,
    pub ec_private: String,
    pub ec_public: String,
}

pub fn keys() -> &'static TestKeys {
    static K: OnceLock<TestKeys> = OnceLock::new();
    K.get_or_init(|| {
        let rsa = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).expect("RSA test key");
        let ec = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("EC test key");
        TestKeys {
            rsa_private: rsa.serialize_pem(),
            rsa_public: rsa.public_key_pem(),
            ec_private: ec.serialize_pem(),
            ec_public: ec.public_key_pem(),
        }
    })
}

/// Writes a service-account key file whose `token_uri` is the fake's.
pub fn service_account(dir: &Path, token_uri: &str) -> std::path::PathBuf {
    let sa = serde_json::json!({
        "type": "service_account",
        "project_id": "kidplan-test",
        "private_key_id": "test-key-id-1",
        "private_key": keys().rsa_private,
        "client_email": "push@kidplan-test.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": token_uri,
    });
    let path = dir.join("service-account.json");
    std::fs::write(&path, sa.to_string()).expect("write key");
    path
}

/// A server over fresh demo data with a manual clock, the providers of `toml` (written to a
/// file beside the keys), no background worker and no reminder ticks (tests drive both).
pub async fn server_with(toml: &str) -> (RunningServer, tempfile::TempDir, Clock) {
    let (mut cfg, dir, clock) = crate::common::manual_config();
    configure(&mut cfg, dir.path(), toml);
    let server = RunningServer::start(cfg).await.expect("server starts");
    (server, dir, clock)
}

/// Loads `toml` (written into `dir`) into `cfg` and turns the background jobs off.
pub fn configure(cfg: &mut ServerConfig, dir: &Path, toml: &str) {
    let file = dir.join("providers.toml");
    std::fs::write(&file, toml).expect("write providers");
    cfg.providers = ProvidersConfig::load(&file).expect("providers load");
    cfg.queue_every = None;
    cfg.reminders_every = None;
    // The tests move the clock by hours: sessions outlive that.
    cfg.access_token_ttl_s = 30 * 86_400;
}

/// Logs in through a server whose login codes go to the outbox (SMS: staff without e-mail).
pub async fn login(server: &RunningServer, contact: &str) -> String {
    let http = reqwest::Client::new();
    let url = |p: &str| format!("{}{p}", server.base_url());
    let r = http
        .post(url("/v1/auth/code"))
        .json(&serde_json::json!({"contact": contact}))
        .send()
        .await
        .expect("code");
    assert_eq!(r.status(), 202);
    let code = server.last_login_code(contact).expect("code in outbox");
    let r = http
        .post(url("/v1/auth/token"))
        .json(&serde_json::json!({"contact": contact, "code": code}))
        .send()
        .await
        .expect("token");
    assert_eq!(r.status(), 200);
    let v: serde_json::Value = r.json().await.expect("session");
    v["access_token"].as_str().expect("token").to_owned()
}

/// `method path` with a bearer token and JSON (an idempotency key on every call).
pub async fn call(
    server: &RunningServer,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: serde_json::Value,
) -> (u16, serde_json::Value) {
    let r = reqwest::Client::new()
        .request(method, format!("{}{path}", server.base_url()))
        .bearer_auth(token)
        .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
        .json(&body)
        .send()
        .await
        .expect("request");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(serde_json::Value::Null))
}

/// Registers a push token for the caller.
pub async fn register_push(
    server: &RunningServer,
    token: &str,
    provider: &str,
    push_token: &str,
) -> String {
    let id = uuid::Uuid::new_v4().to_string();
    let (status, body) = call(
        server,
        reqwest::Method::PUT,
        &format!("/v1/push/registrations/{id}"),
        token,
        serde_json::json!({"provider": provider, "token": push_token, "secret": format!("secret-{id}")}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    id
}

/// Rows of a table's column in the server's database (read on the side, as text).
pub fn column(server: &RunningServer, sql: &str) -> Vec<String> {
    let conn = rusqlite::Connection::open(server.db_path()).expect("open db");
    let mut stmt = conn.prepare(sql).expect("prepare");
    stmt.query_map([], |r| {
        let v: rusqlite::types::Value = r.get(0)?;
        Ok(match v {
            rusqlite::types::Value::Text(s) => s,
            rusqlite::types::Value::Integer(i) => i.to_string(),
            rusqlite::types::Value::Null => "NULL".to_owned(),
            other => format!("{other:?}"),
        })
    })
    .expect("query")
    .collect::<Result<_, _>>()
    .expect("rows")
}
