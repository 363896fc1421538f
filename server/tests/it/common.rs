//! Shared helpers of the server tests: a seeded server in a temp dir, a login through the
//! outbox, and small request helpers. Every request is real HTTP to 127.0.0.1.
#![allow(dead_code)]

use kidplan_api::auth::Session;
use kidplan_api::sync::{Change, SyncPage};
use kidplan_server::{Clock, RunningServer, ServerConfig, demo};
use reqwest::Method;
use rusqlite::Connection;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// A running server and its data directory.
pub struct Harness {
    pub server: RunningServer,
    pub dir: tempfile::TempDir,
    pub http: reqwest::Client,
}

/// A demo database seeded once per test binary, copied for each test.
fn template() -> &'static Path {
    static T: OnceLock<PathBuf> = OnceLock::new();
    T.get_or_init(|| {
        // One per test binary under target/tmp, replaced on every run (bounded disk use).
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
            "kidplan-server-template-{}",
            env!("CARGO_CRATE_NAME")
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join(kidplan_server::FILES_DIR)).expect("template dir");
        let db = kidplan_server::db::Db::open(&dir.join(kidplan_server::DB_FILE))
            .expect("open template");
        kidplan_server::seed::seed_demo(
            &mut db.lock(),
            &dir.join(kidplan_server::FILES_DIR),
            chrono::Utc::now(),
        )
        .expect("seed");
        drop(db);
        dir
    })
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read_dir").flatten() {
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else {
            std::fs::copy(&p, to.join(e.file_name())).expect("copy");
        }
    }
}

/// A config over a fresh copy of the demo data.
pub fn config() -> (ServerConfig, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    copy_dir(template(), dir.path());
    let mut cfg = ServerConfig::new(dir.path());
    cfg.maintenance_every = None;
    (cfg, dir)
}

/// A config with a manual clock starting now.
pub fn manual_config() -> (ServerConfig, tempfile::TempDir, Clock) {
    let (mut cfg, dir) = config();
    let clock = Clock::manual(chrono::Utc::now());
    cfg.clock = clock.clone();
    (cfg, dir, clock)
}

pub async fn start() -> Harness {
    let (cfg, dir) = config();
    start_with(cfg, dir).await
}

pub async fn start_with(cfg: ServerConfig, dir: tempfile::TempDir) -> Harness {
    let server = RunningServer::start(cfg).await.expect("server starts");
    let http = reqwest::Client::builder().build().expect("client");
    Harness { server, dir, http }
}

/// A response: status and JSON body (`Value::Null` when the body is not JSON).
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
}

impl Resp {
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }
}

impl Harness {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.base_url())
    }

    /// Sends a request; `body` as JSON; `key` as Idempotency-Key.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        key: Option<&str>,
    ) -> Resp {
        let mut rb = self.http.request(method, self.url(path));
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        if let Some(k) = key {
            rb = rb.header("Idempotency-Key", k);
        }
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        into_resp(rb.send().await.expect("request sent")).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Resp {
        self.call(Method::GET, path, Some(token), None, None).await
    }

    /// A parent command with a fresh idempotency key.
    pub async fn command(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> Resp {
        let key = uuid::Uuid::new_v4().to_string();
        self.call(method, path, Some(token), body, Some(&key)).await
    }

    /// `POST`s `body` without a token or idempotency key (the auth endpoints).
    pub async fn post_anonymous(&self, path: &str, body: Value) -> Resp {
        self.call(Method::POST, path, None, Some(body), None).await
    }

    /// Uploads a JPEG photo as staff: `bytes` go between the JPEG start and end markers.
    pub async fn upload_photo(&self, staff: &str, children: &str, caption: &str, bytes: &[u8]) {
        let jpeg = jpeg(bytes);
        let r = self
            .http
            .post(self.url(&format!(
                "/v1/staff/photos?children={children}&caption={caption}"
            )))
            .bearer_auth(staff)
            .header("content-type", "image/jpeg")
            .body(jpeg)
            .send()
            .await
            .expect("sent");
        assert_eq!(r.status(), 200);
    }

    /// `PUT`s raw bytes of `content_type` (profile pictures).
    pub async fn put_bytes(
        &self,
        path: &str,
        token: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Resp {
        let r = self
            .http
            .put(self.url(path))
            .bearer_auth(token)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("sent");
        into_resp(r).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Resp {
        self.call(Method::POST, path, Some(token), Some(body), None)
            .await
    }

    /// Erases a person in the two steps a manager takes: ask (202 with a confirmation token),
    /// then confirm. Returns the second answer (or the first, when it was not 202).
    pub async fn erase(&self, token: &str, person: Value) -> Resp {
        let first = self
            .post("/v1/staff/erasures", token, json!({ "person": person }))
            .await;
        if first.status != 202 {
            return first;
        }
        let confirmation = first.body["confirmation"]
            .as_str()
            .expect("token")
            .to_owned();
        self.post(
            "/v1/staff/erasures",
            token,
            json!({ "person": person, "confirmation": confirmation }),
        )
        .await
    }

    /// Logs in through the outbox.
    pub async fn login(&self, contact: &str) -> Session {
        let r = self
            .post_anonymous("/v1/auth/code", json!({ "contact": contact }))
            .await;
        assert_eq!(r.status, 202, "{r:?}");
        let code = self
            .server
            .last_login_code(contact)
            .expect("code in outbox");
        let r = self
            .post_anonymous(
                "/v1/auth/token",
                json!({ "contact": contact, "code": code }),
            )
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        serde_json::from_value(r.body).expect("session")
    }

    pub async fn guardian(&self) -> String {
        self.login(demo::GUARDIAN_EMAIL).await.access_token
    }

    pub async fn other_guardian(&self) -> String {
        self.login(demo::SECOND_GUARDIAN_EMAIL).await.access_token
    }

    pub async fn staff(&self) -> String {
        self.login(demo::STAFF_EMAIL).await.access_token
    }

    pub async fn sync_page(&self, token: &str, cursor: i64, limit: u32) -> SyncPage {
        let r = self
            .get(&format!("/v1/sync?cursor={cursor}&limit={limit}"), token)
            .await;
        assert_eq!(r.status, 200, "{r:?}");
        serde_json::from_value(r.body).expect("page")
    }

    /// Every change from `cursor` on, paging with `limit`; returns the changes and the cursor.
    pub async fn sync_from(&self, token: &str, mut cursor: i64, limit: u32) -> (Vec<Change>, i64) {
        let mut all = Vec::new();
        loop {
            let p = self.sync_page(token, cursor, limit).await;
            assert!(p.changes.len() <= limit as usize);
            all.extend(p.changes);
            cursor = p.cursor;
            if !p.has_more {
                return (all, cursor);
            }
        }
    }
}

pub async fn into_resp(r: reqwest::Response) -> Resp {
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let bytes = r.bytes().await.unwrap_or_default();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Resp {
        status,
        body,
        headers,
    }
}

pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Every value of every table of a database file, as text (blobs lossily).
pub fn dump_tables(db: &std::path::Path) -> String {
    let conn = Connection::open(db).expect("open");
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .expect("prepare")
        .query_map([], |r| r.get(0))
        .expect("tables")
        .flatten()
        .collect();
    let mut out = String::new();
    for t in tables {
        let mut stmt = conn
            .prepare(&format!("SELECT * FROM \"{t}\""))
            .expect("select");
        let n = stmt.column_count();
        let mut rows = stmt.query([]).expect("rows");
        while let Ok(Some(row)) = rows.next() {
            for i in 0..n {
                let v: rusqlite::types::Value = row.get(i).expect("value");
                let s = match v {
                    rusqlite::types::Value::Text(s) => s,
                    rusqlite::types::Value::Blob(b) => String::from_utf8_lossy(&b).into_owned(),
                    other => format!("{other:?}"),
                };
                out.push_str(&format!("{t}: {s}\n"));
            }
        }
    }
    out
}

/// The smallest JPEG the server reads: a scan whose data is `scan` (kept as uploaded; the
/// server drops an image's metadata, never its pixels).
pub fn jpeg(scan: &[u8]) -> Vec<u8> {
    [
        &[0xFF, 0xD8, 0xFF, 0xDA, 0x00, 0x02][..],
        scan,
        &[0xFF, 0xD9],
    ]
    .concat()
}

/// A valid 1×1 PNG.
pub const PNG: [u8; 69] = [
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x02, 0x00, 0x00, 0x00, 0x90, 0x77, 0x53,
    0xDE, 0x00, 0x00, 0x00, 0x0C, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0xF8, 0x7A, 0x40, 0x0B,
    0x00, 0x04, 0x8D, 0x01, 0xE0, 0x60, 0xCB, 0x68, 0x38, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4E,
    0x44, 0xAE, 0x42, 0x60, 0x82,
];

/// A file's bytes (empty when it does not exist).
pub fn raw_bytes(path: &std::path::Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_default()
}

/// True when `needle` occurs in `hay`.
pub fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// The bytes and names of every file in a directory.
pub fn files_bytes(dir: &std::path::Path) -> Vec<u8> {
    let mut all = Vec::new();
    for e in std::fs::read_dir(dir).expect("files dir").flatten() {
        all.extend(raw_bytes(&e.path()));
        all.extend(e.file_name().to_string_lossy().as_bytes());
    }
    all
}

/// Today (UTC) plus `n` days, as `YYYY-MM-DD`.
pub fn day(n: i64) -> String {
    (chrono::Utc::now().date_naive() + chrono::Duration::days(n))
        .format("%Y-%m-%d")
        .to_string()
}
