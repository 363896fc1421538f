//! Kidplan core: the shared Rust heart of the Kidplan parent app.
//!
//! One object, [`Kidplan`], opened on a data directory with a [`Config`] and a
//! [`SecretStore`]. Reads are synchronous from the encrypted local cache; network calls are
//! async (they run on the core's own tokio runtime, so any executor can await them); every
//! parent action is validated, shown locally and queued in the durable outbox in one
//! transaction, then sent by `sync()` or the background sender.
//!
//! This file is the facade only: the [`Kidplan`] object and its exported methods, each
//! delegating to the module that owns the capability. The shared state behind it and the glue
//! between capabilities live in `runtime`; the background sender in `sender`.
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
mod runtime;
pub mod secrets;
mod sender;
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

use crate::error::Result;
use crate::runtime::Inner;
use kidplan_api::commands::UpdateContact;
use kidplan_api::model::*;
use kidplan_api::privacy::{PrivacyRequest, PrivacyRight};
use kidplan_api::push::PushProvider;
use kidplan_api::sync::EntityKind;
use kidplan_api::telemetry::Metric;
use kidplan_api::*;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// The core. Create it once per process with [`Kidplan::open`].
#[cfg_attr(feature = "uniffi", derive(uniffi::Object))]
pub struct Kidplan {
    rt: Option<tokio::runtime::Runtime>,
    inner: Arc<Inner>,
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

impl Kidplan {
    /// Like [`Kidplan::open`] with explicit [`Tuning`] (tests and the CLI).
    pub fn open_with_tuning(
        data_dir: String,
        config: Config,
        secrets: Arc<dyn SecretStore>,
        tuning: Tuning,
    ) -> Result<Arc<Kidplan>> {
        let (rt, inner) = runtime::start(PathBuf::from(data_dir), config, secrets, tuning)?;
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
        self.spawn(async move { inner.logout().await }).await
    }

    /// The accounts on this device.
    pub fn accounts(&self) -> Vec<Account> {
        self.inner.accounts()
    }

    /// The account reads and actions apply to.
    pub fn active_account(&self) -> Option<Account> {
        self.inner.active_account()
    }

    /// Makes another account of this device the active one.
    pub fn switch_account(&self, id: AccountId) -> Result<()> {
        self.inner.switch_account(id)
    }

    // ----- sync -----

    /// Pulls changes since the stored cursor, then sends the outbox.
    pub async fn sync(&self) -> Result<SyncReport> {
        let inner = self.inner.clone();
        self.spawn(async move { inner.sync().await }).await
    }

    /// Where syncing stands.
    pub fn sync_status(&self) -> SyncStatus {
        self.inner.sync_status()
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
            inner
                .open_file(
                    EntityKind::Photo,
                    id.as_str(),
                    Some(size),
                    Metric::PhotoViewed,
                )
                .await
        })
        .await
    }

    /// The local path of a document, downloaded when not cached.
    pub async fn document(&self, id: DocumentId) -> Result<String> {
        let inner = self.inner.clone();
        self.spawn(async move {
            inner
                .open_file(
                    EntityKind::Document,
                    id.as_str(),
                    None,
                    Metric::DocumentOpened,
                )
                .await
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
        self.inner.act_counted(Metric::AbsenceReported, |c, a, fx| {
            actions::report_absence(c, a, fx, child_id, first_day, last_day, reason, note)
        })
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
        self.inner
            .act_counted(Metric::HolidayRegistered, |c, a, fx| {
                actions::register_holiday(c, a, fx, child_id, first_day, last_day, note)
            })
    }

    pub fn start_thread(
        &self,
        child_id: Option<ChildId>,
        subject: String,
        body: String,
    ) -> Result<ThreadId> {
        self.inner.act_counted(Metric::MessageSent, |c, a, fx| {
            actions::start_thread(c, a, fx, child_id, subject, body)
        })
    }

    pub fn send_message(&self, thread_id: ThreadId, body: String) -> Result<MessageId> {
        self.inner.act_counted(Metric::MessageSent, |c, a, fx| {
            actions::send_message(c, a, fx, thread_id, body)
        })
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
        self.inner.act_counted(Metric::ConsentChanged, |c, a, fx| {
            actions::change_consent(c, a, fx, child_id, kind, state)
        })
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
        self.spawn(async move { inner.set_push_token(provider, token).await })
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
        self.inner.reset_local_cache()
    }

    /// Removes every account's data and secrets from this device, and the telemetry counters
    /// (no server call; the accounts' push registrations are queued for deletion on the
    /// server, done by the next open or sync).
    pub fn wipe_local_data(&self) -> Result<()> {
        self.inner.wipe_local_data()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::Registry;
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
