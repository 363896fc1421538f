//! A seeded world made once per test binary and copied for each test: the demo kindergarten's
//! server data (optionally with a shorter child log) and a device logged in as the demo
//! guardian and synced once. A copy starts in milliseconds, where seeding the demo and the
//! first sync of a fresh device take most of a second; randomized tests that run hundreds of
//! cases start each case from a copy.

use crate::{Device, fast_tuning, login, open_core};
use anyhow::Context;
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

/// A server configuration over `dir` without the hourly maintenance task.
fn quiet_config(dir: &Path) -> ServerConfig {
    let mut cfg = ServerConfig::new(dir);
    cfg.maintenance_every = None;
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
    /// logs a device in as the demo guardian and syncs it once against a server on that data.
    pub async fn create(root: &Path, log_days: Option<u32>) -> anyhow::Result<Template> {
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
        })
    }

    /// The account of the template's device.
    pub fn account(&self) -> &Account {
        &self.account
    }

    /// A fresh copy: a server on a copy of the data (new port) and the device's core on a
    /// copy of its directory and secrets, logged in and synced as when the template was made.
    pub async fn start(&self, tuning: Tuning) -> anyhow::Result<(Device, RunningServer, Arc<Kidplan>)> {
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
