//! The orchestrator: the one module that holds the core's shared state and drives the
//! services (`auth`, `sync`, `sender`, `push`, `files`, `telemetry`, `privacy`) over the local
//! layer (`local`). Nothing imports it but the facade (`lib.rs`).
//!
//! - this file: [`Inner`] (the runtime, the account registry and the accounts held open, the
//!   observers, the sync status, the telemetry counters) and the glue every call uses:
//!   finding the active account, a read, an action, applying a write's effects, and wiping an
//!   account whose session the server revoked;
//! - `session`: logging in and out, switching, removing and resetting accounts, wiping;
//! - `jobs`: sync, the background sender, push, files, the export and the telemetry report.

mod jobs;
mod session;

use crate::accounts::{AccountCtx, AccountId, Registry};
use crate::client::Client;
use crate::config::{Config, Tuning};
use crate::error::{Error, KidplanError, Result};
use crate::local::actions::Actor;
use crate::local::cache::Effects;
use crate::local::file_index;
use crate::observers::Observers;
use crate::push;
use crate::secrets::SecretStore;
use crate::sync::SyncStatus;
use crate::telemetry::{self, Area};
use kidplan_api::telemetry::Metric;
use rusqlite::Connection;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// What the core holds, shared by the facade and its background tasks.
pub(crate) struct Inner {
    pub(crate) data_dir: PathBuf,
    pub(crate) config: Config,
    pub(crate) tuning: Tuning,
    pub(crate) secrets: Arc<dyn SecretStore>,
    pub(crate) client: Client,
    pub(crate) handle: tokio::runtime::Handle,
    registry: Mutex<Registry>,
    open: Mutex<HashMap<AccountId, Arc<AccountCtx>>>,
    senders: Mutex<HashMap<AccountId, tokio::task::AbortHandle>>,
    pub(crate) observers: Arc<Observers>,
    status: Mutex<SyncStatus>,
    pub(crate) telemetry: telemetry::Telemetry,
}

/// Locks `m`. A lock poisoned by a panic (caught at the FFI edge and counted) is taken over:
/// each guarded value is a map or a status changed by single inserts and removals, whole after
/// any unwind, so one panicking call does not disable every later one.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Starts the core on `data_dir` (created if missing): the runtime, and the shared state on it.
pub(crate) fn start(
    data_dir: PathBuf,
    config: Config,
    secrets: Arc<dyn SecretStore>,
    tuning: Tuning,
) -> Result<(tokio::runtime::Runtime, Arc<Inner>)> {
    let client = Client::new(&config, &tuning)?;
    crate::private_fs::create_dir(&data_dir)?;
    crate::private_fs::create_dir(&data_dir.join("accounts"))?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("kidplan-core")
        .enable_all()
        .build()
        .map_err(|_| Error::Bug("the core's runtime did not start"))?;
    let registry = Registry::load(&data_dir);
    let telemetry = telemetry::Telemetry::open_with_offset(
        data_dir.join("telemetry.json"),
        config.platform,
        tuning.telemetry_clock_offset,
    );
    telemetry.record(Metric::AppOpened);
    let inner = Arc::new(Inner {
        handle: rt.handle().clone(),
        data_dir,
        config,
        tuning,
        secrets,
        client,
        registry: Mutex::new(registry),
        open: Mutex::new(HashMap::new()),
        senders: Mutex::new(HashMap::new()),
        observers: Arc::new(Observers::default()),
        status: Mutex::new(SyncStatus::default()),
        telemetry,
    });
    if let Some(every) = inner.tuning.telemetry_sender_every {
        inner.start_telemetry_sender(every);
    }
    // Finish push unregisters left over from an offline logout (best effort).
    if push::pending_unregisters(&*inner.secrets) > 0 {
        let i = inner.clone();
        inner.handle.spawn(async move {
            let _ = i.flush_unregisters().await;
        });
    }
    Ok((rt, inner))
}

impl Inner {
    fn active_id(&self) -> Result<Option<AccountId>> {
        Ok(lock(&self.registry).active.clone())
    }

    /// The open context of the active account (opening it on first use).
    pub(crate) fn active_ctx(self: &Arc<Self>) -> Result<Option<Arc<AccountCtx>>> {
        let Some(id) = self.active_id()? else {
            return Ok(None);
        };
        self.ctx(&id).map(Some)
    }

    /// The active account's context; `NoSession` without one.
    pub(crate) fn require_ctx(self: &Arc<Self>) -> Result<Arc<AccountCtx>> {
        self.active_ctx()?.ok_or(Error::NoSession)
    }

    /// The open context of an account, opening it (and starting its sender) on first use.
    pub(crate) fn ctx(self: &Arc<Self>, id: &AccountId) -> Result<Arc<AccountCtx>> {
        let mut open = lock(&self.open);
        if let Some(c) = open.get(id) {
            return Ok(c.clone());
        }
        let account = lock(&self.registry)
            .get(id)
            .cloned()
            .ok_or(Error::NotFound)?;
        let ctx = Arc::new(AccountCtx::open(
            &self.data_dir,
            account,
            self.secrets.clone(),
            self.client.clone(),
        )?);
        if let Err(e) = file_index::sweep(&ctx.store, &ctx.files_dir()) {
            tracing::warn!(error = e.code(), "file cache sweep failed");
        }
        open.insert(id.clone(), ctx.clone());
        drop(open);
        self.start_sender(ctx.clone());
        Ok(ctx)
    }

    /// Counts a failed facade call of `area` in the anonymous telemetry: a caught panic by
    /// area, any other failure by its closed category (nothing for the parent's own mistakes).
    /// Returns the public error of `e` for the call `op` (logged once there).
    pub(crate) fn failed(&self, area: Area, op: &'static str, e: Error) -> KidplanError {
        let metric = if e.is_panic() {
            Some(area.panic_metric())
        } else {
            e.category()
        };
        if let Some(m) = metric {
            self.telemetry.record(m);
        }
        e.public(op)
    }

    /// Runs a read on the active account's cache; without an account, the empty answer.
    pub(crate) fn read<T: Default>(
        self: &Arc<Self>,
        f: impl FnOnce(&Connection, &AccountCtx) -> Result<T>,
    ) -> Result<T> {
        let Some(ctx) = self.active_ctx()? else {
            return Ok(T::default());
        };
        let c = ctx.store.conn()?;
        f(&c, &ctx)
    }

    /// Runs an action in one transaction of the active account's store, applies its effects
    /// and wakes the account's sender; counts `metric` when given.
    pub(crate) fn act<T>(
        self: &Arc<Self>,
        metric: Option<Metric>,
        f: impl FnOnce(&Connection, &Actor, &mut Effects) -> Result<T>,
    ) -> Result<T> {
        let ctx = self.require_ctx()?;
        let mut fx = Effects::default();
        let actor = Actor {
            me: &ctx.account.person_id,
            kindergarten_id: &ctx.account.kindergarten_id,
        };
        let out = ctx.store.write(|tx| f(tx, &actor, &mut fx))?;
        self.apply(&ctx.files_dir(), fx);
        ctx.wake.notify_one();
        if let Some(m) = metric {
            self.telemetry.record(m);
        }
        Ok(out)
    }

    /// Applies a committed write's effects: deletes the files it dropped (in `files_dir`) and
    /// tells the observers what changed.
    pub(crate) fn apply(&self, files_dir: &Path, fx: Effects) {
        file_index::apply_effects(files_dir, &fx);
        self.observers.notify(fx.collections.into_iter().collect());
    }

    /// Wipes an account whose session the server revoked.
    pub(crate) fn after_network<T>(self: &Arc<Self>, ctx: &AccountCtx, r: Result<T>) -> Result<T> {
        if r.is_err() && ctx.auth.revoked() {
            tracing::warn!("session revoked; wiping the account's local data");
            if let Err(e) = self.remove_account(&ctx.account.id) {
                tracing::error!(error = e.code(), "wiping a revoked account failed");
            }
            return Err(Error::SessionRevoked);
        }
        r
    }
}
