//! Kidplan core: the shared Rust heart of the Kidplan parent app.
//!
//! One object, [`Kidplan`], opened on a data directory with a [`Config`] and a
//! [`SecretStore`]. Reads are synchronous from the encrypted local cache; network calls are
//! async (they run on the core's own tokio runtime, so any executor can await them); every
//! parent action is validated, shown locally and queued in the durable outbox in one
//! transaction, then sent by `sync()` or the background sender.
//!
//! Modules: [`config`], [`error`], [`secrets`], [`client`], [`auth`], [`accounts`], [`store`],
//! [`cache`], [`sync`], [`outbox`], [`actions`], [`reads`], [`files`], [`observers`],
//! [`push`] and [`notify`] (push registration and local notifications), [`telemetry`]
//! (anonymous usage counters), [`privacy`] (the data export).

pub mod accounts;
pub mod actions;
pub mod auth;
pub mod cache;
pub mod client;
pub mod config;
pub mod error;
pub mod files;
pub mod notify;
pub mod observers;
pub mod outbox;
pub mod privacy;
pub mod push;
pub mod reads;
pub mod secrets;
pub mod store;
pub mod sync;
pub mod telemetry;

#[cfg(feature = "uniffi")]
uniffi::setup_scaffolding!();

pub use accounts::{Account, AccountId};
pub use config::{Config, Tuning};
pub use error::KidplanError;
pub use files::PhotoSize;
pub use notify::LocalNotification;
pub use observers::{ChangeListener, Collection};
pub use outbox::{OutboxItem, OutboxKind, OutboxStatus};
pub use privacy::{ExportSection, ExportSummary};
pub use reads::{
    AbsenceView, ChildAttendance, HolidayView, LocalState, MessageView, ThreadSummary,
};
pub use secrets::{FileSecretStore, KeyringSecretStore, MemorySecretStore, SecretStore};
pub use sync::{SyncReport, SyncStatus};

use crate::accounts::{AccountCtx, Registry};
use crate::actions::Actor;
use crate::cache::Effects;
use crate::client::Client;
use crate::error::Result;
use kidplan_api::commands::UpdateContact;
use kidplan_api::model::*;
use kidplan_api::privacy::{PrivacyRequest, PrivacyRight};
use kidplan_api::push::PushProvider;
use kidplan_api::sync::EntityKind;
use kidplan_api::telemetry::Metric;
use kidplan_api::*;
use rusqlite::Connection;
use std::collections::HashMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long sent outbox items stay visible.
const KEEP_SENT_MS: i64 = 7 * 86_400_000;

/// The core. Create it once per process with [`Kidplan::open`].
#[cfg_attr(feature = "uniffi", derive(uniffi::Object))]
pub struct Kidplan {
    rt: Option<tokio::runtime::Runtime>,
    inner: Arc<Inner>,
}

struct Inner {
    data_dir: PathBuf,
    config: Config,
    tuning: Tuning,
    secrets: Arc<dyn SecretStore>,
    client: Client,
    handle: tokio::runtime::Handle,
    registry: Mutex<Registry>,
    open: Mutex<HashMap<AccountId, Arc<AccountCtx>>>,
    senders: Mutex<HashMap<AccountId, tokio::task::AbortHandle>>,
    observers: observers::Observers,
    status: Mutex<SyncStatus>,
    telemetry: telemetry::Telemetry,
}

impl Drop for Kidplan {
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            if tokio::runtime::Handle::try_current().is_ok() {
                rt.shutdown_background();
            } else {
                rt.shutdown_timeout(Duration::from_secs(2));
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> Result<std::sync::MutexGuard<'_, T>> {
    m.lock().map_err(|_| KidplanError::Internal)
}

impl Kidplan {
    /// Like [`Kidplan::open`] with explicit [`Tuning`] (tests and the CLI).
    pub fn open_with_tuning(
        data_dir: String,
        config: Config,
        secrets: Arc<dyn SecretStore>,
        tuning: Tuning,
    ) -> Result<Arc<Kidplan>> {
        let client = Client::new(&config, &tuning)?;
        let data_dir = PathBuf::from(data_dir);
        std::fs::create_dir_all(data_dir.join("accounts"))?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("kidplan-core")
            .enable_all()
            .build()
            .map_err(|_| KidplanError::Internal)?;
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
            observers: observers::Observers::default(),
            status: Mutex::new(SyncStatus::default()),
            telemetry,
        });
        // Finish push unregisters left over from an offline logout (best effort).
        if push::pending_unregisters(&*inner.secrets) > 0 {
            let i = inner.clone();
            inner.handle.spawn(async move {
                let _ = i.flush_unregisters().await;
            });
        }
        Ok(Arc::new(Kidplan {
            rt: Some(rt),
            inner,
        }))
    }

    /// Runs `fut` on the core's runtime and awaits it from any executor. Dropping the returned
    /// future does not stop the work: it finishes (each write is one transaction).
    fn spawn<T, F>(&self, fut: F) -> impl Future<Output = Result<T>> + Send + use<T, F>
    where
        T: Send + 'static,
        F: Future<Output = Result<T>> + Send + 'static,
    {
        let h = self.inner.handle.spawn(fut);
        async move { h.await? }
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.inner.data_dir
    }
}

#[cfg_attr(feature = "uniffi", uniffi::export)]
impl Kidplan {
    /// Opens the core on `data_dir` (created if missing). Fails with `InvalidInput
    /// { field: "server_url" }` for a server that is neither HTTPS nor loopback.
    #[cfg_attr(feature = "uniffi", uniffi::constructor)]
    pub fn open(
        data_dir: String,
        config: Config,
        secrets: Arc<dyn SecretStore>,
    ) -> Result<Arc<Kidplan>> {
        Self::open_with_tuning(data_dir, config, secrets, Tuning::default())
    }

    // ----- session -----

    /// Asks the server to send a one-time code to an email address or phone number.
    pub async fn request_login_code(&self, contact: String) -> Result<()> {
        let client = self.inner.client.clone();
        self.spawn(async move { auth::request_code(&client, &contact).await })
            .await
    }

    /// Logs in with the code; the account becomes the active one.
    pub async fn verify_login_code(&self, contact: String, code: String) -> Result<Account> {
        let inner = self.inner.clone();
        self.spawn(async move { inner.login(&contact, &code).await })
            .await
    }

    /// Logs the active account out: revokes the session on the server (best effort), then
    /// removes the account's local data and secrets.
    pub async fn logout(&self) -> Result<()> {
        let inner = self.inner.clone();
        self.spawn(async move {
            let Some(ctx) = inner.active_ctx()? else {
                return Ok(());
            };
            // Unregister push first, so the next user of this device gets none of this
            // account's alerts; offline, a later sync or open finishes it.
            let id = ctx.account.id.clone();
            if let Err(e) = push::retire(&*inner.secrets, id.as_str()) {
                tracing::warn!(
                    error = e.code(),
                    "push registration not queued for deletion"
                );
            }
            let _ = inner.flush_unregisters().await;
            ctx.auth.logout().await?;
            inner.remove_account(&id)
        })
        .await
    }

    /// The accounts on this device.
    pub fn accounts(&self) -> Vec<Account> {
        lock(&self.inner.registry)
            .map(|r| r.accounts.clone())
            .unwrap_or_default()
    }

    /// The account reads and actions apply to.
    pub fn active_account(&self) -> Option<Account> {
        let r = lock(&self.inner.registry).ok()?;
        r.active.as_ref().and_then(|id| r.get(id).cloned())
    }

    /// Makes another account of this device the active one.
    pub fn switch_account(&self, id: AccountId) -> Result<()> {
        {
            let mut r = lock(&self.inner.registry)?;
            if r.get(&id).is_none() {
                return Err(KidplanError::NotFound);
            }
            r.active = Some(id);
            r.save(&self.inner.data_dir)?;
        }
        self.inner.observers.notify(all_collections());
        Ok(())
    }

    // ----- sync -----

    /// Pulls changes since the stored cursor, then sends the outbox.
    pub async fn sync(&self) -> Result<SyncReport> {
        let inner = self.inner.clone();
        self.spawn(async move { inner.sync().await }).await
    }

    /// Where syncing stands.
    pub fn sync_status(&self) -> SyncStatus {
        let mut s = lock(&self.inner.status)
            .map(|s| s.clone())
            .unwrap_or_default();
        if let Ok(Some(ctx)) = self.inner.active_ctx()
            && let Ok(c) = ctx.store.conn()
        {
            s.pending_outbox = outbox::pending_count(&c).unwrap_or(0);
            s.last_synced_at = store::get_meta(&c, "last_synced_at")
                .ok()
                .flatten()
                .and_then(|v| v.parse().ok())
                .map(Timestamp);
        }
        s
    }

    /// Adds a change listener; returns a handle for [`Kidplan::unsubscribe`].
    pub fn subscribe(&self, listener: Arc<dyn ChangeListener>) -> u64 {
        self.inner.observers.subscribe(listener)
    }

    pub fn unsubscribe(&self, handle: u64) {
        self.inner.observers.unsubscribe(handle)
    }

    // ----- files -----

    /// The local path of a photo, downloaded when not cached.
    pub async fn photo(&self, id: PhotoId, size: PhotoSize) -> Result<String> {
        let inner = self.inner.clone();
        self.spawn(async move {
            let ctx = inner.require_ctx()?;
            let r = files::fetch(
                &ctx,
                EntityKind::Photo,
                id.as_str(),
                Some(size),
                inner.tuning.file_cache_bytes,
            )
            .await;
            if r.is_ok() {
                inner.telemetry.record(Metric::PhotoViewed);
            }
            inner.after_network(&ctx, r)
        })
        .await
    }

    /// The local path of a document, downloaded when not cached.
    pub async fn document(&self, id: DocumentId) -> Result<String> {
        let inner = self.inner.clone();
        self.spawn(async move {
            let ctx = inner.require_ctx()?;
            let r = files::fetch(
                &ctx,
                EntityKind::Document,
                id.as_str(),
                None,
                inner.tuning.file_cache_bytes,
            )
            .await;
            if r.is_ok() {
                inner.telemetry.record(Metric::DocumentOpened);
            }
            inner.after_network(&ctx, r)
        })
        .await
    }

    // ----- reads (cache) -----

    pub fn children(&self) -> Result<Vec<Child>> {
        self.inner.read(|c, _| reads::children(c))
    }

    pub fn guardians(&self) -> Result<Vec<Guardian>> {
        self.inner.read(|c, _| reads::guardians(c))
    }

    /// Which guardian is related to which child, and how.
    pub fn guardian_relations(&self) -> Result<Vec<GuardianChild>> {
        self.inner.read(|c, _| reads::guardian_relations(c))
    }

    /// The logged-in guardian, as the server knows them.
    pub fn me(&self) -> Result<Option<Guardian>> {
        self.inner
            .read(|c, ctx| reads::guardian(c, &ctx.account.person_id))
    }

    pub fn staff(&self) -> Result<Vec<Staff>> {
        self.inner.read(|c, _| reads::staff(c))
    }

    pub fn kindergartens(&self) -> Result<Vec<Kindergarten>> {
        self.inner.read(|c, _| reads::kindergartens(c))
    }

    pub fn departments(&self) -> Result<Vec<Department>> {
        self.inner.read(|c, _| reads::departments(c))
    }

    /// A child's log, newest first; pass the last entry's `at` as `before` for the next page.
    pub fn log_entries(
        &self,
        child_id: ChildId,
        before: Option<Timestamp>,
        limit: u32,
    ) -> Result<Vec<LogEntry>> {
        self.inner
            .read(|c, _| reads::log_entries(c, &child_id, before, limit))
    }

    /// Threads with unread counts and last message, most recent first.
    pub fn threads(&self) -> Result<Vec<ThreadSummary>> {
        self.inner.read(|c, _| reads::threads(c))
    }

    /// A thread's messages, newest first; pass the last one's `sent_at` as `before` to page.
    pub fn messages(
        &self,
        thread_id: ThreadId,
        before: Option<Timestamp>,
        limit: u32,
    ) -> Result<Vec<MessageView>> {
        self.inner
            .read(|c, _| reads::messages(c, &thread_id, before, limit))
    }

    pub fn absences(&self, child_id: Option<ChildId>) -> Result<Vec<AbsenceView>> {
        self.inner
            .read(|c, _| reads::absences(c, child_id.as_ref()))
    }

    pub fn holidays(&self, child_id: Option<ChildId>) -> Result<Vec<HolidayView>> {
        self.inner
            .read(|c, _| reads::holidays(c, child_id.as_ref()))
    }

    /// A child's consents, each with its history.
    pub fn consents(&self, child_id: ChildId) -> Result<Vec<Consent>> {
        self.inner.read(|c, _| reads::consents(c, &child_id))
    }

    /// Events overlapping the days `from..=to`.
    pub fn calendar_events(&self, from: Day, to: Day) -> Result<Vec<CalendarEvent>> {
        if to < from {
            return Err(KidplanError::invalid("to"));
        }
        self.inner.read(|c, _| reads::calendar_events(c, from, to))
    }

    pub fn documents(&self) -> Result<Vec<Document>> {
        self.inner.read(|c, _| reads::documents(c))
    }

    pub fn photos(&self) -> Result<Vec<Photo>> {
        self.inner.read(|c, _| reads::photos(c))
    }

    /// Every child's attendance on `day`.
    pub fn attendance(&self, day: Day) -> Result<Vec<ChildAttendance>> {
        self.inner.read(|c, _| reads::attendance(c, day))
    }

    pub fn pickup_persons(&self, child_id: ChildId) -> Result<Vec<PickupPerson>> {
        self.inner.read(|c, _| reads::pickup_persons(c, &child_id))
    }

    pub fn notification_preferences(&self) -> Result<Vec<NotificationPreference>> {
        self.inner
            .read(|c, ctx| reads::notification_preferences(c, &ctx.account.person_id))
    }

    pub fn privacy_requests(&self) -> Result<Vec<PrivacyRequest>> {
        self.inner.read(|c, _| reads::privacy_requests(c))
    }

    /// The queued actions with their status, oldest first.
    pub fn outbox(&self) -> Result<Vec<OutboxItem>> {
        self.inner.read(|c, _| outbox::list(c))
    }

    // ----- actions (outbox) -----

    pub fn report_absence(
        &self,
        child_id: ChildId,
        first_day: Day,
        last_day: Day,
        reason: AbsenceReason,
        note: Option<String>,
    ) -> Result<AbsenceId> {
        let id = self.inner.act(|c, a, fx| {
            actions::report_absence(c, a, fx, child_id, first_day, last_day, reason, note)
        })?;
        self.inner.telemetry.record(Metric::AbsenceReported);
        Ok(id)
    }

    pub fn edit_absence(
        &self,
        id: AbsenceId,
        first_day: Day,
        last_day: Day,
        reason: AbsenceReason,
        note: Option<String>,
    ) -> Result<()> {
        self.inner
            .act(|c, a, fx| actions::edit_absence(c, a, fx, id, first_day, last_day, reason, note))
    }

    pub fn withdraw_absence(&self, id: AbsenceId) -> Result<()> {
        self.inner
            .act(|c, a, fx| actions::withdraw_absence(c, a, fx, id))
    }

    pub fn register_holiday(
        &self,
        child_id: ChildId,
        first_day: Day,
        last_day: Day,
        note: Option<String>,
    ) -> Result<HolidayId> {
        let id = self.inner.act(|c, a, fx| {
            actions::register_holiday(c, a, fx, child_id, first_day, last_day, note)
        })?;
        self.inner.telemetry.record(Metric::HolidayRegistered);
        Ok(id)
    }

    pub fn start_thread(
        &self,
        child_id: Option<ChildId>,
        subject: String,
        body: String,
    ) -> Result<ThreadId> {
        let id = self
            .inner
            .act(|c, a, fx| actions::start_thread(c, a, fx, child_id, subject, body))?;
        self.inner.telemetry.record(Metric::MessageSent);
        Ok(id)
    }

    pub fn send_message(&self, thread_id: ThreadId, body: String) -> Result<MessageId> {
        let id = self
            .inner
            .act(|c, a, fx| actions::send_message(c, a, fx, thread_id, body))?;
        self.inner.telemetry.record(Metric::MessageSent);
        Ok(id)
    }

    pub fn mark_read(&self, thread_id: ThreadId) -> Result<()> {
        self.inner
            .act(|c, a, fx| actions::mark_read(c, a, fx, thread_id))
    }

    pub fn change_consent(
        &self,
        child_id: ChildId,
        kind: ConsentKind,
        state: ConsentState,
    ) -> Result<()> {
        self.inner
            .act(|c, a, fx| actions::change_consent(c, a, fx, child_id, kind, state))?;
        self.inner.telemetry.record(Metric::ConsentChanged);
        Ok(())
    }

    /// Changes the guardian's own contact details (`None` keeps a field, `""` clears it).
    pub fn update_contact(
        &self,
        email: Option<String>,
        phone: Option<String>,
        address: Option<String>,
        postal_code: Option<String>,
    ) -> Result<()> {
        let u = UpdateContact {
            email,
            phone,
            address,
            postal_code,
        };
        self.inner
            .act(|c, a, fx| actions::update_contact(c, a, fx, u))
    }

    pub fn update_notification_preferences(
        &self,
        preferences: Vec<NotificationPreference>,
    ) -> Result<()> {
        self.inner
            .act(|c, a, fx| actions::update_notification_preferences(c, a, fx, preferences))
    }

    pub fn request_privacy(
        &self,
        right: PrivacyRight,
        note: Option<String>,
    ) -> Result<PrivacyRequestId> {
        self.inner
            .act(|c, a, fx| actions::request_privacy(c, a, fx, right, note))
    }

    /// Removes a rejected outbox item; a rejected create disappears from the lists with it.
    pub fn dismiss_outbox_item(&self, id: i64) -> Result<()> {
        self.inner.act(|c, _, fx| outbox::dismiss(c, id, fx))
    }

    // ----- push -----

    /// Registers this device for push for the active account (one registration per install
    /// and account, keyed by a random id). An unchanged token is not sent again; a changed one
    /// updates the registration in place. Offline, the registration is kept and sent by the
    /// next sync (not an error); a token the server refuses is `InvalidInput`.
    pub async fn set_push_token(&self, provider: PushProvider, token: String) -> Result<()> {
        let inner = self.inner.clone();
        self.spawn(async move {
            let ctx = inner.require_ctx()?;
            let r = push::set_token(&ctx, &*inner.secrets, provider, token).await;
            inner.after_network(&ctx, r)
        })
        .await
    }

    /// Turns a received push (the FCM data map or APNs dictionary as JSON) into the
    /// notification to show, built from the local cache after a bounded sync, in the
    /// configured locale. `None`: not a Kidplan push, nothing to show, or switched off in the
    /// guardian's preferences (urgent broadcasts always come through).
    pub async fn handle_push(&self, payload: String) -> Result<Option<LocalNotification>> {
        let inner = self.inner.clone();
        self.spawn(async move { inner.handle_push(&payload).await })
            .await
    }

    // ----- telemetry -----

    /// Whether anonymous usage counting is on (the default).
    pub fn telemetry_enabled(&self) -> bool {
        self.inner.telemetry.enabled()
    }

    /// Switches anonymous usage counting on or off; off deletes everything counted and pending.
    pub fn set_telemetry_enabled(&self, enabled: bool) {
        self.inner.telemetry.set_enabled(enabled)
    }

    /// The exact bytes of the next report (`None` when off or nothing was counted).
    pub fn telemetry_preview(&self) -> Option<String> {
        self.inner.telemetry.preview()
    }

    /// Sends the due report, if any, without authentication or any identifying header.
    /// Returns whether one was sent. `sync()` also does this (best effort).
    pub async fn send_telemetry(&self) -> Result<bool> {
        let inner = self.inner.clone();
        self.spawn(async move { inner.send_telemetry().await })
            .await
    }

    // ----- privacy -----

    /// Writes everything the server holds about the guardian and their children, plus this
    /// device's unsent actions, to `<dir>/kidplan-export-<YYYY-MM-DD>.json` (pretty JSON, mode
    /// 0600; format in `docs/export-schema.md`). `dir` must exist.
    pub async fn export_my_data(&self, dir: String) -> Result<ExportSummary> {
        let inner = self.inner.clone();
        self.spawn(async move { inner.export_my_data(&dir).await })
            .await
    }

    // ----- local data -----

    /// Starts the active account's cache afresh (after the shell confirmed, for example when
    /// its database is corrupt): deletes the database, its key and files, keeps the session.
    /// Unsent actions are lost.
    pub fn reset_local_cache(&self) -> Result<()> {
        let account = self.active_account().ok_or(KidplanError::SessionExpired)?;
        self.inner.close_account(&account.id)?;
        let id = account.id.as_str();
        store::remove_db_files(&store::db_path(&self.inner.data_dir, id))?;
        let files = store::account_dir(&self.inner.data_dir, id).join("files");
        match std::fs::remove_dir_all(&files) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
        self.inner.secrets.delete(secrets::keys::db_key(id))?;
        self.inner.active_ctx()?;
        self.inner.observers.notify(all_collections());
        Ok(())
    }

    /// Removes every account's data and secrets from this device, and the telemetry counters
    /// (no server call; the accounts' push registrations are queued for deletion on the
    /// server, done by the next open or sync).
    pub fn wipe_local_data(&self) -> Result<()> {
        self.inner.telemetry.wipe();
        let ids: Vec<AccountId> = lock(&self.inner.registry)?
            .accounts
            .iter()
            .map(|a| a.id.clone())
            .collect();
        for id in ids {
            self.inner.remove_account(&id)?;
        }
        // Leftover directories of accounts the registry forgot.
        if let Ok(rd) = std::fs::read_dir(self.inner.data_dir.join("accounts")) {
            for e in rd.flatten() {
                let id = AccountId(e.file_name().to_string_lossy().into_owned());
                if id.is_valid() {
                    if let Err(e) = push::retire(&*self.inner.secrets, id.as_str()) {
                        tracing::warn!(error = e.code(), "push registration not queued");
                    }
                    accounts::wipe(&self.inner.data_dir, &id, &*self.inner.secrets)?;
                }
            }
        }
        Ok(())
    }
}

fn all_collections() -> Vec<Collection> {
    use Collection::*;
    vec![
        Children,
        Guardians,
        Staff,
        ChildLog,
        Threads,
        Messages,
        Absences,
        Holidays,
        Consents,
        Calendar,
        Documents,
        Photos,
        Attendance,
        PickupPersons,
        NotificationPreferences,
        Outbox,
        Account,
        PrivacyRequests,
    ]
}

impl Inner {
    fn active_id(&self) -> Result<Option<AccountId>> {
        Ok(lock(&self.registry)?.active.clone())
    }

    /// The open context of the active account (opening it on first use).
    fn active_ctx(self: &Arc<Self>) -> Result<Option<Arc<AccountCtx>>> {
        let Some(id) = self.active_id()? else {
            return Ok(None);
        };
        self.ctx(&id).map(Some)
    }

    fn require_ctx(self: &Arc<Self>) -> Result<Arc<AccountCtx>> {
        self.active_ctx()?.ok_or(KidplanError::SessionExpired)
    }

    fn ctx(self: &Arc<Self>, id: &AccountId) -> Result<Arc<AccountCtx>> {
        let mut open = lock(&self.open)?;
        if let Some(c) = open.get(id) {
            return Ok(c.clone());
        }
        let account = lock(&self.registry)?
            .get(id)
            .cloned()
            .ok_or(KidplanError::NotFound)?;
        let ctx = Arc::new(AccountCtx::open(
            &self.data_dir,
            account,
            self.secrets.clone(),
            self.client.clone(),
        )?);
        if let Err(e) = files::sweep(&ctx) {
            tracing::warn!(error = e.code(), "file cache sweep failed");
        }
        open.insert(id.clone(), ctx.clone());
        drop(open);
        self.start_sender(ctx.clone());
        Ok(ctx)
    }

    fn read<T: Default>(
        self: &Arc<Self>,
        f: impl FnOnce(&Connection, &AccountCtx) -> Result<T>,
    ) -> Result<T> {
        let Some(ctx) = self.active_ctx()? else {
            return Ok(T::default());
        };
        let c = ctx.store.conn()?;
        f(&c, &ctx)
    }

    fn act<T>(
        self: &Arc<Self>,
        f: impl FnOnce(&Connection, &Actor, &mut Effects) -> Result<T>,
    ) -> Result<T> {
        let ctx = self.require_ctx()?;
        let mut fx = Effects::default();
        let actor = Actor {
            me: &ctx.account.person_id,
            kindergarten_id: &ctx.account.kindergarten_id,
        };
        let out = ctx.store.write(|tx| f(tx, &actor, &mut fx))?;
        files::apply_effects(&ctx.files_dir(), &fx);
        self.observers.notify(fx.collections.into_iter().collect());
        ctx.wake.notify_one();
        Ok(out)
    }

    /// Wipes an account whose session the server revoked.
    fn after_network<T>(self: &Arc<Self>, ctx: &AccountCtx, r: Result<T>) -> Result<T> {
        if r.is_err() && ctx.auth.revoked() {
            tracing::warn!("session revoked; wiping the account's local data");
            if let Err(e) = self.remove_account(&ctx.account.id) {
                tracing::error!(error = e.code(), "wiping a revoked account failed");
            }
            return Err(KidplanError::SessionExpired);
        }
        r
    }

    async fn login(self: &Arc<Self>, contact: &str, code: &str) -> Result<Account> {
        let session = auth::verify_code(&self.client, contact, code).await?;
        let account = Account::from_session(&self.config.server_url, &session);
        // A previous context of the same account has stale tokens in memory: close it.
        self.close_account(&account.id)?;
        auth::Auth::new(
            account.id.as_str(),
            self.secrets.clone(),
            self.client.clone(),
        )
        .adopt(&session)
        .await?;
        {
            let mut r = lock(&self.registry)?;
            r.upsert(account.clone());
            r.active = Some(account.id.clone());
            r.save(&self.data_dir)?;
        }
        // Open the cache now; a corrupt one is reported by the reads (and reset by the shell).
        if let Err(e) = self.ctx(&account.id) {
            tracing::warn!(error = e.code(), "account cache did not open");
        }
        self.observers.notify(all_collections());
        Ok(account)
    }

    async fn sync(self: &Arc<Self>) -> Result<SyncReport> {
        let ctx = self.require_ctx()?;
        self.sync_ctx(ctx).await
    }

    /// Syncs one account; then, online, the side jobs: its push registration, unregisters
    /// left over, a due telemetry report (all best effort: they never fail the sync).
    async fn sync_ctx(self: &Arc<Self>, ctx: Arc<AccountCtx>) -> Result<SyncReport> {
        let started = std::time::Instant::now();
        let r = {
            let _one = ctx.sync_lock.lock().await;
            if let Ok(mut s) = lock(&self.status) {
                s.syncing = true;
            }
            let r = self.sync_inner(&ctx).await;
            if let Ok(mut s) = lock(&self.status) {
                s.syncing = false;
                s.last_error = r.as_ref().err().map(|e| e.code().to_owned());
            }
            r
        };
        let metric = if r.is_ok() {
            Metric::SyncSucceeded
        } else {
            Metric::SyncFailed
        };
        self.telemetry.record_duration(metric, started.elapsed());
        if r.is_ok() {
            push::maintain(&ctx, &*self.secrets).await;
            let _ = self.flush_unregisters().await;
            if let Err(e) = self.send_telemetry().await {
                tracing::debug!(error = e.code(), "telemetry report not sent");
            }
        }
        self.after_network(&ctx, r)
    }

    /// Deletes on the server the push registrations of accounts no longer on this device.
    async fn flush_unregisters(&self) -> Result<usize> {
        push::flush_unregisters(&self.client, &*self.secrets).await
    }

    /// Posts the due telemetry report, if any. Returns whether one was sent.
    async fn send_telemetry(&self) -> Result<bool> {
        let Some(body) = self.telemetry.due_now() else {
            return Ok(false);
        };
        match self
            .client
            .post_anonymous(paths::TELEMETRY, body.clone())
            .await
        {
            Ok(()) => {
                self.telemetry.mark_sent(&body);
                Ok(true)
            }
            // Refused (a day out of range, a format the server no longer takes): sending it
            // again would not help.
            Err(client::HttpError::Status { status, .. }) if (400..500).contains(&status) => {
                self.telemetry.mark_sent(&body);
                Err(KidplanError::Server)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Handles a push: a bounded sync of each account (active first) until one has the
    /// hinted entity in its cache, then the notification from that cache.
    async fn handle_push(self: &Arc<Self>, payload: &str) -> Result<Option<LocalNotification>> {
        let Some(hint) = notify::parse_payload(payload) else {
            return Ok(None);
        };
        self.telemetry.record(Metric::PushReceived);
        let ids: Vec<AccountId> = {
            let r = lock(&self.registry)?;
            let mut ids: Vec<AccountId> = r.active.iter().cloned().collect();
            ids.extend(
                r.accounts
                    .iter()
                    .map(|a| a.id.clone())
                    .filter(|id| Some(id) != r.active.as_ref()),
            );
            ids
        };
        let deadline = tokio::time::Instant::now() + self.tuning.push_sync_timeout;
        for id in ids {
            let Ok(ctx) = self.ctx(&id) else {
                continue;
            };
            // The sync runs as its own task: when time is up it carries on in the background
            // (each page one transaction) and the notification is built from the cache.
            let me = self.clone();
            let c = ctx.clone();
            let task = self.handle.spawn(async move { me.sync_ctx(c).await });
            match tokio::time::timeout_at(deadline, task).await {
                Ok(Ok(Ok(_))) => {}
                Ok(Ok(Err(e))) => tracing::debug!(error = e.code(), "push sync failed"),
                Ok(Err(_)) => tracing::debug!("push sync task failed"),
                Err(_) => tracing::debug!("push sync timed out"),
            }
            if !lock(&self.registry)?.accounts.iter().any(|a| a.id == id) {
                continue; // the sync found the session revoked and wiped the account
            }
            let Some((kind, entity_id)) = &hint.target else {
                continue;
            };
            let c = ctx.store.conn()?;
            let n = push::notification(
                &c,
                &ctx.account.person_id,
                &ctx.account.kindergarten_name,
                self.config.locale,
                *kind,
                entity_id,
            )?;
            if n.is_some() {
                return Ok(n);
            }
            if cache::exists(&c, *kind, entity_id)? {
                return Ok(None); // this account's, but not worth (or not wanted) a notification
            }
        }
        Ok(None)
    }

    async fn export_my_data(self: &Arc<Self>, dir: &str) -> Result<ExportSummary> {
        let ctx = self.require_ctx()?;
        let client = ctx.auth.client();
        let r: Result<kidplan_api::privacy::DataExport> = ctx
            .auth
            .call(|t| async move {
                client
                    .json(reqwest::Method::GET, paths::ME_EXPORT, Some(&t), None, None)
                    .await
            })
            .await
            .map_err(KidplanError::from);
        let server = self.after_network(&ctx, r)?;
        let pending = privacy::pending_items(&*ctx.store.conn()?)?;
        let file = privacy::build(server, pending);
        let path = privacy::write(Path::new(dir), &file)?;
        self.telemetry.record(Metric::ExportRequested);
        Ok(ExportSummary {
            path: path.to_string_lossy().into_owned(),
            schema_version: file.schema_version,
            sections: privacy::sections(&file),
        })
    }

    async fn sync_inner(self: &Arc<Self>, ctx: &Arc<AccountCtx>) -> Result<SyncReport> {
        let me = ctx.account.person_id.clone();
        let mut report = SyncReport::default();
        let dir = ctx.files_dir();
        sync::pull(
            &ctx.store,
            &ctx.auth,
            &me,
            self.tuning.sync_page_limit,
            &mut report,
            |fx| {
                files::apply_effects(&dir, &fx);
                self.observers.notify(fx.collections.into_iter().collect());
            },
        )
        .await?;
        let now = Timestamp::now().0.to_string();
        ctx.store
            .write(|tx| store::set_meta(tx, "last_synced_at", &now))?;
        let _f = ctx.flush_lock.lock().await;
        let mut fx = Effects::default();
        let flushed = outbox::flush(&ctx.store, &ctx.auth, &me, &self.tuning, true, &mut fx).await;
        files::apply_effects(&dir, &fx);
        self.observers.notify(fx.collections.into_iter().collect());
        let f = flushed?;
        ctx.store.write(|tx| outbox::prune(tx, KEEP_SENT_MS))?;
        report.sent = f.sent;
        report.rejected = f.rejected;
        report.pending = f.pending;
        Ok(report)
    }

    /// Starts the background sender of an account (when tuning allows it).
    fn start_sender(self: &Arc<Self>, ctx: Arc<AccountCtx>) {
        if !self.tuning.background_flush {
            return;
        }
        let inner = self.clone();
        let id = ctx.account.id.clone();
        let task = self
            .handle
            .spawn(async move { inner.sender_loop(ctx).await });
        if let Ok(mut s) = lock(&self.senders)
            && let Some(old) = s.insert(id, task.abort_handle())
        {
            old.abort();
        }
    }

    async fn sender_loop(self: Arc<Self>, ctx: Arc<AccountCtx>) {
        let idle = Duration::from_secs(300);
        let mut pause = Duration::ZERO;
        loop {
            let wait = match ctx.store.conn().and_then(|c| outbox::next_due(&c)) {
                Ok(Some(due)) => {
                    let ms = (due - Timestamp::now().0).clamp(0, idle.as_millis() as i64);
                    Duration::from_millis(ms as u64).max(pause)
                }
                Ok(None) => idle,
                Err(_) => idle,
            };
            if !wait.is_zero() {
                tokio::select! {
                    _ = ctx.wake.notified() => {}
                    _ = tokio::time::sleep(wait) => {}
                }
            }
            if ctx.auth.revoked() {
                return;
            }
            let r = {
                let _f = ctx.flush_lock.lock().await;
                let mut fx = Effects::default();
                let r = outbox::flush(
                    &ctx.store,
                    &ctx.auth,
                    &ctx.account.person_id,
                    &self.tuning,
                    false,
                    &mut fx,
                )
                .await;
                files::apply_effects(&ctx.files_dir(), &fx);
                self.observers.notify(fx.collections.into_iter().collect());
                r
            };
            match r {
                Ok(_) => pause = Duration::ZERO,
                Err(e) => {
                    tracing::debug!(error = e.code(), "background send failed");
                    if self.after_network(&ctx, Err::<(), _>(e)).is_err() && ctx.auth.revoked() {
                        return;
                    }
                    // Not an item's failure (no session, storage): wait before trying again.
                    pause = Duration::from_secs(30);
                }
            }
        }
    }

    /// Stops an account's sender and closes its database (the file stays).
    fn close_account(&self, id: &AccountId) -> Result<()> {
        if let Some(h) = lock(&self.senders)?.remove(id) {
            h.abort();
        }
        lock(&self.open)?.remove(id);
        Ok(())
    }

    /// Removes an account: closes it, queues its push registration for deletion on the server,
    /// deletes its data and secrets, forgets it.
    fn remove_account(&self, id: &AccountId) -> Result<()> {
        self.close_account(id)?;
        if let Err(e) = push::retire(&*self.secrets, id.as_str()) {
            tracing::warn!(
                error = e.code(),
                "push registration not queued for deletion"
            );
        }
        let wiped = accounts::wipe(&self.data_dir, id, &*self.secrets);
        {
            let mut r = lock(&self.registry)?;
            r.remove(id);
            r.save(&self.data_dir)?;
        }
        self.observers.notify(all_collections());
        wiped
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kidplan_api::push::Locale;
    use kidplan_api::telemetry::Platform;

    fn config(url: &str) -> Config {
        Config {
            server_url: url.into(),
            locale: Locale::Nb,
            platform: Platform::Desktop,
            app_version: "test".into(),
        }
    }

    /// A loopback port with nothing listening.
    fn dead_url() -> String {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = l.local_addr().expect("addr").port();
        drop(l);
        format!("http://127.0.0.1:{port}")
    }

    fn open(dir: &tempfile::TempDir, url: &str) -> Result<Arc<Kidplan>> {
        Kidplan::open(
            dir.path().to_str().expect("utf8").into(),
            config(url),
            MemorySecretStore::new(),
        )
    }

    #[test]
    fn refuses_plain_http_to_other_hosts() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(
            open(&dir, "http://kidplan.example").err(),
            Some(KidplanError::invalid("server_url"))
        );
        assert!(open(&dir, "https://kidplan.example").is_ok());
    }

    #[test]
    fn without_an_account_reads_are_empty_and_actions_need_a_session() {
        let dir = tempfile::tempdir().expect("tempdir");
        let kp = open(&dir, &dead_url()).expect("open");
        assert!(kp.accounts().is_empty());
        assert_eq!(kp.active_account(), None);
        assert_eq!(kp.children().expect("children"), vec![]);
        assert_eq!(kp.outbox().expect("outbox"), vec![]);
        assert_eq!(
            kp.send_message("t1".into(), "hei".into()).err(),
            Some(KidplanError::SessionExpired)
        );
        assert_eq!(
            kp.switch_account(AccountId("0".repeat(32))).err(),
            Some(KidplanError::NotFound)
        );
        assert_eq!(
            futures::executor::block_on(kp.sync()).err(),
            Some(KidplanError::SessionExpired)
        );
        kp.wipe_local_data().expect("wipe");
    }

    #[test]
    fn async_calls_work_from_any_executor_and_thread() {
        let dir = tempfile::tempdir().expect("tempdir");
        let kp = open(&dir, &dead_url()).expect("open");
        // A plain executor, no tokio context.
        let r = futures::executor::block_on(kp.request_login_code("a@example.no".into()));
        assert_eq!(r, Err(KidplanError::Offline));
        // A foreign thread.
        let kp2 = kp.clone();
        let r = std::thread::spawn(move || {
            futures::executor::block_on(
                kp2.verify_login_code("a@example.no".into(), "123456".into()),
            )
        })
        .join()
        .expect("thread");
        assert_eq!(r.err(), Some(KidplanError::Offline));
        // Invalid input is caught before the network.
        let r = futures::executor::block_on(kp.request_login_code("  ".into()));
        assert_eq!(r, Err(KidplanError::invalid("contact")));
        // Dropping the core inside another runtime does not panic.
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("rt");
        rt.block_on(async move { drop(kp) });
    }

    #[test]
    fn a_cancelled_call_is_harmless() {
        let dir = tempfile::tempdir().expect("tempdir");
        let kp = open(&dir, &dead_url()).expect("open");
        let fut = kp.request_login_code("a@example.no".into());
        drop(fut);
        let fut = Box::pin(kp.sync());
        drop(fut);
        assert!(kp.accounts().is_empty());
    }

    #[test]
    fn a_corrupt_database_is_storage_until_reset() {
        let dir = tempfile::tempdir().expect("tempdir");
        let account = Account {
            id: AccountId("ab".repeat(16)),
            role: kidplan_api::auth::Role::Guardian,
            person_id: "g1".into(),
            kindergarten_id: "k1".into(),
            kindergarten_name: "Solsikken".into(),
        };
        let reg = Registry {
            accounts: vec![account.clone()],
            active: Some(account.id.clone()),
        };
        reg.save(dir.path()).expect("registry");
        let db = store::db_path(dir.path(), account.id.as_str());
        std::fs::create_dir_all(db.parent().expect("parent")).expect("mkdir");
        std::fs::write(&db, vec![7u8; 8192]).expect("junk");
        let secrets = MemorySecretStore::new();
        secrets
            .set(secrets::keys::db_key(account.id.as_str()), store::new_key())
            .expect("key");
        let kp = Kidplan::open(
            dir.path().to_str().expect("utf8").into(),
            config(&dead_url()),
            secrets,
        )
        .expect("open");
        assert_eq!(kp.active_account(), Some(account));
        assert_eq!(kp.children().err(), Some(KidplanError::Storage));
        kp.reset_local_cache().expect("reset");
        assert_eq!(kp.children().expect("children"), vec![]);
        assert_eq!(kp.outbox().expect("outbox"), vec![]);
    }
}
