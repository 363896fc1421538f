//! A seeded world made once per test binary and copied for each test: the demo kindergarten's
//! server data (optionally with a shorter child log) and a device logged in as the demo
//! guardian and synced once, plus raw sessions of whoever else the tests act as (staff, a
//! co-guardian). A copy starts in milliseconds, where seeding the demo, the first sync of a
//! fresh device and the logins take most of a second; randomized tests that run hundreds of
//! cases start each case from a copy. Sessions made for the template live a day, so that a
//! long run of copies never needs a refresh.

use crate::{Device, RawSession, fast_tuning, login, open_core};
use anyhow::Context;
use kidplan_api::auth::Session;
use kidplan_core::{Account, Kidplan, MemorySecretStore, SecretStore, Tuning};
use kidplan_server::{RunningServer, ServerConfig};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The files of a seeded server and of a synced device, to be copied per test.
pub struct Template {
    server_dir: PathBuf,
    device_dir: PathBuf,
    secrets: Vec<(String, String)>,
    account: Account,
    sessions: Vec<(String, Session)>,
}

/// Copies a directory tree (regular files and directories).
pub fn copy_dir(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            copy_dir(&path, &to.join(entry.file_name()))?;
        } else {
            std::fs::copy(&path, to.join(entry.file_name()))?;
        }
    }
    Ok(())
}

/// A server configuration over `dir` without the hourly maintenance task, whose access
/// tokens live a day.
fn quiet_config(dir: &Path) -> ServerConfig {
    let mut cfg = ServerConfig::new(dir);
    cfg.maintenance_every = None;
    cfg.access_token_ttl_s = 86_400;
    cfg
}

/// Seeds the demo kindergarten into `dir`, keeping only the last `log_days` days of every
/// child's log (the feed rows of older entries go with them, as if never written).
fn seed(dir: &Path, log_days: Option<u32>) -> anyhow::Result<()> {
    let files = dir.join(kidplan_server::FILES_DIR);
    std::fs::create_dir_all(&files)?;
    let db = kidplan_server::db::Db::open(&dir.join(kidplan_server::DB_FILE))?;
    let mut conn = db.lock();
    kidplan_server::seed::seed_demo(&mut conn, &files, chrono::Utc::now())?;
    if let Some(days) = log_days {
        let cutoff = chrono::Utc::now().timestamp_millis() - i64::from(days) * 86_400_000;
        conn.execute("DELETE FROM log_entries WHERE at < ?1", [cutoff])?;
        conn.execute(
            "DELETE FROM changes WHERE entity = 'log_entry'
             AND entity_id NOT IN (SELECT id FROM log_entries)",
            [],
        )?;
        conn.execute_batch("VACUUM")?;
    }
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    Ok(())
}

impl Template {
    /// Makes the template under `root` (replaced if it exists): seeds the server data, then
    /// logs a device in as the demo guardian and syncs it once against a server on that data,
    /// and logs in each of `others` (contacts of staff or guardians) over raw HTTP.
    pub async fn create(
        root: &Path,
        log_days: Option<u32>,
        others: &[&str],
    ) -> anyhow::Result<Template> {
        let _ = std::fs::remove_dir_all(root);
        let server_dir = root.join("server");
        let device_dir = root.join("device");
        std::fs::create_dir_all(&device_dir)?;
        let sd = server_dir.clone();
        tokio::task::spawn_blocking(move || seed(&sd, log_days)).await??;

        let server = RunningServer::start(quiet_config(&server_dir)).await?;
        let secrets = MemorySecretStore::new();
        let account = {
            let kp = open_core(
                &device_dir,
                &server.base_url(),
                secrets.clone(),
                fast_tuning(),
            )?;
            let account = login(&kp, &server, crate::demo::GUARDIAN_EMAIL).await?;
            kp.set_telemetry_enabled(false);
            kp.sync().await?;
            account
        };
        let mut sessions = Vec::new();
        for contact in others {
            let raw = RawSession::login(&server, contact).await?;
            sessions.push(((*contact).to_owned(), raw.session));
        }
        server.stop().await;
        let secrets = secrets
            .keys()
            .into_iter()
            .filter_map(|k| match secrets.get(k.clone()) {
                Ok(Some(v)) => Some(Ok((k, v))),
                Ok(None) => None,
                Err(e) => Some(Err(e)),
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Template {
            server_dir,
            device_dir,
            secrets,
            account,
            sessions,
        })
    }

    /// The account of the template's device.
    pub fn account(&self) -> &Account {
        &self.account
    }

    /// The raw session of `contact` made with the template (valid on every copy).
    pub fn session(&self, contact: &str, server: &RunningServer) -> Option<RawSession> {
        self.sessions
            .iter()
            .find(|(c, _)| c == contact)
            .map(|(_, s)| RawSession {
                http: reqwest::Client::new(),
                base: server.base_url(),
                session: s.clone(),
            })
    }

    /// A fresh copy: a server on a copy of the data (new port) and the device's core on a
    /// copy of its directory and secrets, logged in and synced as when the template was made.
    pub async fn start(
        &self,
        tuning: Tuning,
    ) -> anyhow::Result<(Device, RunningServer, Arc<Kidplan>)> {
        let server_dir = tempfile::tempdir()?;
        let dir = tempfile::tempdir()?;
        copy_dir(&self.server_dir, server_dir.path()).context("copying the server data")?;
        copy_dir(&self.device_dir, dir.path()).context("copying the device data")?;
        let secrets = MemorySecretStore::new();
        for (k, v) in &self.secrets {
            secrets.set(k.clone(), v.clone())?;
        }
        let server = RunningServer::start(quiet_config(server_dir.path())).await?;
        let kp = open_core(dir.path(), &server.base_url(), secrets.clone(), tuning)?;
        let device = Device {
            dir,
            secrets,
            account: self.account.clone(),
            server_dir,
        };
        Ok((device, server, kp))
    }
}
