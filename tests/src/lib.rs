//! Shared helpers for the end-to-end tests: start a real `kidplan-server` on an ephemeral
//! 127.0.0.1 port, open a `kidplan-core` on a temporary directory, log in through the server's
//! outbox of login codes, and call staff or raw parent endpoints.

use anyhow::{Context, anyhow};
use kidplan_api::ChildId;
use kidplan_api::auth::{RequestCode, Session, VerifyCode};
use kidplan_api::paths;
use kidplan_api::push::Locale;
use kidplan_api::telemetry::Platform;
use kidplan_core::{Account, Config, Kidplan, MemorySecretStore, SecretStore, Tuning};
use kidplan_server::{RunningServer, ServerConfig};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

pub mod raw_pages;
pub mod template;
pub mod views;

pub use kidplan_server;
pub use kidplan_server::demo;

/// Starts a seeded server whose data lives in `dir`.
pub async fn start_server(dir: &Path) -> anyhow::Result<RunningServer> {
    RunningServer::start(ServerConfig::new(dir)).await
}

/// Starts a seeded server on a new temporary directory (returned: it must outlive the server).
pub async fn temp_server() -> anyhow::Result<(tempfile::TempDir, RunningServer)> {
    let dir = tempfile::tempdir()?;
    let server = start_server(dir.path()).await?;
    Ok((dir, server))
}

/// Restarts a stopped server on the same data and address (the server is back online).
pub async fn restart_server(
    dir: &Path,
    addr: std::net::SocketAddr,
) -> anyhow::Result<RunningServer> {
    let mut cfg = ServerConfig::new(dir);
    cfg.bind = addr;
    // The port may linger briefly after the previous listener closed.
    let mut last = None;
    for _ in 0..50 {
        match RunningServer::start(cfg.clone()).await {
            Ok(s) => return Ok(s),
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(last.unwrap_or_else(|| anyhow!("server did not restart")))
}

/// The core's configuration for a test server.
pub fn core_config(base_url: &str) -> Config {
    Config {
        server_url: base_url.to_owned(),
        locale: Locale::Nb,
        platform: Platform::Desktop,
        app_version: "e2e".into(),
    }
}

/// Short timeouts and quick retries, so fault tests run fast.
pub fn fast_tuning() -> Tuning {
    Tuning {
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(5),
        download_timeout: Duration::from_secs(10),
        backoff_base: Duration::from_millis(100),
        backoff_max: Duration::from_secs(1),
        // Tests send the telemetry report themselves, right after their syncs.
        telemetry_quiet: Duration::ZERO,
        telemetry_sender_every: None,
        ..Tuning::default()
    }
}

/// Opens a core on `dir` against `base_url`.
pub fn open_core(
    dir: &Path,
    base_url: &str,
    secrets: Arc<dyn SecretStore>,
    tuning: Tuning,
) -> anyhow::Result<Arc<Kidplan>> {
    let d = dir.to_str().context("data dir is not UTF-8")?.to_owned();
    Ok(Kidplan::open_with_tuning(
        d,
        core_config(base_url),
        secrets,
        tuning,
    )?)
}

/// Logs the core in as `contact`, reading the one-time code from the server's outbox.
pub async fn login(kp: &Kidplan, server: &RunningServer, contact: &str) -> anyhow::Result<Account> {
    kp.request_login_code(contact.to_owned()).await?;
    let code = server
        .last_login_code(contact)
        .ok_or_else(|| anyhow!("no login code was sent"))?;
    Ok(kp.verify_login_code(contact.to_owned(), code).await?)
}

/// Opens a core on `dir` against `server`, logs it in as the demo guardian and syncs once: how
/// most tests start.
pub async fn guardian_core(
    dir: &Path,
    server: &RunningServer,
    secrets: Arc<dyn SecretStore>,
    tuning: Tuning,
) -> anyhow::Result<(Arc<Kidplan>, Account)> {
    let kp = open_core(dir, &server.base_url(), secrets, tuning)?;
    let account = login(&kp, server, demo::GUARDIAN_EMAIL).await?;
    kp.sync().await?;
    Ok((kp, account))
}

/// The usual start of an end-to-end test: a fresh seeded server and a device (memory secret
/// store) logged in as the demo guardian and synced once. [`Device::start`] returns the device
/// (its directories, secrets and account; keep it alive for the test) with the server and the core.
pub struct Device {
    pub dir: tempfile::TempDir,
    pub secrets: Arc<MemorySecretStore>,
    pub account: Account,
    pub server_dir: tempfile::TempDir,
}

impl Device {
    pub async fn start(tuning: Tuning) -> anyhow::Result<(Device, RunningServer, Arc<Kidplan>)> {
        let (server_dir, server) = temp_server().await?;
        let dir = tempfile::tempdir()?;
        let secrets = MemorySecretStore::new();
        let (kp, account) = guardian_core(dir.path(), &server, secrets.clone(), tuning).await?;
        let device = Device {
            dir,
            secrets,
            account,
            server_dir,
        };
        Ok((device, server, kp))
    }
}

impl Device {
    /// The device's encrypted account database, opened with its key (for reading).
    pub fn db(&self) -> anyhow::Result<rusqlite::Connection> {
        open_account_db(self.dir.path(), self.account.id.as_str(), &*self.secrets)
    }
}

/// The first child in a device's cache.
pub fn first_child(kp: &Kidplan) -> anyhow::Result<ChildId> {
    kp.children()?
        .first()
        .map(|c| c.id.clone())
        .ok_or_else(|| anyhow!("no child"))
}

/// Staff send a plain and an urgent broadcast to the whole kindergarten; the send queue
/// delivers them (push and SMS by default, e-mail where a guardian chose it).
pub async fn broadcasts(staff: &RawSession, server: &RunningServer) -> anyhow::Result<()> {
    for urgent in [false, true] {
        let _: serde_json::Value = staff
            .post(
                paths::STAFF_BROADCASTS,
                &kidplan_api::staff::Broadcast {
                    department_id: None,
                    subject: "Beskjed".into(),
                    body: "Husk matpakke".into(),
                    urgent,
                },
            )
            .await?;
    }
    server.deliver_queue().await;
    Ok(())
}

/// A raw HTTP session (staff tools, or a second view of a guardian for comparisons).
pub struct RawSession {
    pub http: reqwest::Client,
    pub base: String,
    pub session: Session,
}

impl RawSession {
    /// Logs in through the code endpoints.
    pub async fn login(server: &RunningServer, contact: &str) -> anyhow::Result<RawSession> {
        Self::login_at(reqwest::Client::new(), server, server.base_url(), contact).await
    }

    /// Logs in through the code endpoints at `base` (the server's, or a relay's in front of
    /// it) with the client `http`.
    pub async fn login_at(
        http: reqwest::Client,
        server: &RunningServer,
        base: String,
        contact: &str,
    ) -> anyhow::Result<RawSession> {
        http.post(format!("{base}{}", paths::AUTH_CODE))
            .json(&RequestCode {
                contact: contact.into(),
            })
            .send()
            .await?
            .error_for_status()?;
        let code = server
            .last_login_code(contact)
            .ok_or_else(|| anyhow!("no login code was sent"))?;
        let session: Session = http
            .post(format!("{base}{}", paths::AUTH_TOKEN))
            .json(&VerifyCode {
                contact: contact.into(),
                code,
            })
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        Ok(RawSession {
            http,
            base,
            session,
        })
    }

    /// `GET path` as this session.
    pub async fn get<R: DeserializeOwned>(&self, path: &str) -> anyhow::Result<R> {
        Ok(self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.session.access_token)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?)
    }

    /// `POST path` with a JSON body as this session.
    pub async fn post<B: Serialize, R: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> anyhow::Result<R> {
        self.send_json(reqwest::Method::POST, path, body).await
    }

    /// `method path` with a JSON body as this session; a refusal is an error.
    pub async fn send_json<B: Serialize, R: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &B,
    ) -> anyhow::Result<R> {
        Ok(self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.session.access_token)
            .json(body)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?)
    }

    /// `method path` with an optional JSON body and a fresh `Idempotency-Key`, for calls whose
    /// refusal is a result: the status and the JSON answer (`Null` when the body is not JSON).
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> anyhow::Result<(u16, serde_json::Value)> {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.session.access_token)
            .header("Idempotency-Key", uuid::Uuid::new_v4().to_string());
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().await?;
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await?;
        Ok((
            status,
            serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
        ))
    }

    /// Erases a person as this (manager's) session: the first call gets the confirmation
    /// token, the second erases.
    pub async fn erase(
        &self,
        person: kidplan_api::staff::Person,
    ) -> anyhow::Result<kidplan_api::staff::ErasureReport> {
        use kidplan_api::staff::{EraseRequest, ErasureConfirmation};
        let mut req = EraseRequest {
            person,
            confirmation: None,
        };
        let c: ErasureConfirmation = self.post(kidplan_api::paths::STAFF_ERASURES, &req).await?;
        req.confirmation = Some(c.confirmation);
        self.post(kidplan_api::paths::STAFF_ERASURES, &req).await
    }

    /// `POST path` with raw bytes (uploads).
    pub async fn upload<R: DeserializeOwned>(
        &self,
        path_and_query: &str,
        content_type: &str,
        bytes: Vec<u8>,
    ) -> anyhow::Result<R> {
        self.send_bytes(reqwest::Method::POST, path_and_query, content_type, bytes)
            .await
    }

    /// `method path` with raw bytes (uploads, profile pictures).
    pub async fn send_bytes<R: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path_and_query: &str,
        content_type: &str,
        bytes: Vec<u8>,
    ) -> anyhow::Result<R> {
        Ok(self
            .http
            .request(method, format!("{}{path_and_query}", self.base))
            .bearer_auth(&self.session.access_token)
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(bytes)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?)
    }
}

/// Every text and blob cell (blobs read lossily as text) of every user table of an open
/// database, for "gone from every table" checks.
pub fn all_text(conn: &rusqlite::Connection) -> anyhow::Result<String> {
    let tables: Vec<String> = conn
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
        )?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut out = String::new();
    for t in tables {
        let mut st = conn.prepare(&format!("SELECT * FROM \"{t}\""))?;
        let n = st.column_count();
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            for i in 0..n {
                match r.get::<_, rusqlite::types::Value>(i)? {
                    rusqlite::types::Value::Text(s) => out.push_str(&s),
                    // Blobs too (push payloads, cached bytes), read lossily as text.
                    rusqlite::types::Value::Blob(b) => out.push_str(&String::from_utf8_lossy(&b)),
                    _ => continue,
                }
                out.push('\n');
            }
        }
    }
    Ok(out)
}

/// Opens an account database of a core's data directory with its key, read-only use.
pub fn open_account_db(
    data_dir: &Path,
    account_id: &str,
    secrets: &dyn SecretStore,
) -> anyhow::Result<rusqlite::Connection> {
    let key = secrets
        .get(kidplan_core::secrets::keys::db_key(account_id))?
        .ok_or_else(|| anyhow!("no database key"))?;
    let conn = rusqlite::Connection::open(kidplan_core::store::db_path(data_dir, account_id))?;
    conn.execute_batch(&format!("PRAGMA key = \"x'{key}'\";"))?;
    Ok(conn)
}

/// Whether `needle` occurs in `haystack` (raw bytes).
/// The smallest JPEG the server reads: a scan whose data is `scan` (the server keeps an
/// image's pixels and drops its metadata).
pub fn jpeg(scan: &[u8]) -> Vec<u8> {
    [
        &[0xFF, 0xD8, 0xFF, 0xDA, 0x00, 0x02][..],
        scan,
        &[0xFF, 0xD9],
    ]
    .concat()
}

pub fn contains_bytes(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// A read connection to the server's database file (plain SQLite, WAL: sees committed data).
pub fn server_db(server: &RunningServer) -> anyhow::Result<rusqlite::Connection> {
    Ok(rusqlite::Connection::open_with_flags(
        server.db_path(),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )?)
}

/// The server's push registrations: `(id, guardian_id, provider, token)`, by id.
pub fn push_registrations(
    server: &RunningServer,
) -> anyhow::Result<Vec<(String, String, String, String)>> {
    let c = server_db(server)?;
    let mut st =
        c.prepare("SELECT id, guardian_id, provider, token FROM push_registrations ORDER BY id")?;
    let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Waits (up to `secs`) until `f` holds.
pub async fn eventually(secs: u64, mut f: impl FnMut() -> bool) -> bool {
    for _ in 0..secs * 20 {
        if f() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    f()
}

/// A sink for log lines shared by every test of the binary.
#[derive(Clone, Default)]
pub struct LogSink(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl LogSink {
    /// Everything logged so far by any test of this process.
    pub fn bytes(&self) -> Vec<u8> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// Captures every tracing event of the test process (the core at trace level, the server and
/// the rest at debug) from the first call on: one global subscriber per test binary, shared by
/// the tests that search the logs.
pub fn capture_logs() -> LogSink {
    static SINK: std::sync::OnceLock<LogSink> = std::sync::OnceLock::new();
    SINK.get_or_init(|| {
        let sink = LogSink::default();
        let writer = sink.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(
                "debug,kidplan_core=trace",
            ))
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        // Fails only when another subscriber was set first; then nothing is captured and the
        // tests that need logs fail on their "logs were captured" check.
        let _ = tracing::subscriber::set_global_default(subscriber);
        sink
    })
    .clone()
}

/// Every row of every table of the server's database, as `table: value|value|...` lines.
pub fn server_rows(server: &RunningServer) -> anyhow::Result<std::collections::BTreeSet<String>> {
    let conn = server_db(server)?;
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut out = std::collections::BTreeSet::new();
    for t in tables {
        let mut st = conn.prepare(&format!("SELECT * FROM \"{t}\""))?;
        let n = st.column_count();
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            let mut line = format!("{t}:");
            for i in 0..n {
                let v: rusqlite::types::Value = r.get(i)?;
                line.push_str(&format!(" {v:?}|"));
            }
            out.insert(line);
        }
    }
    Ok(out)
}
