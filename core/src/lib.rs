//! Kidplan core: the shared Rust heart of the Kidplan parent app.
//!
//! One object, [`Kidplan`], opened on a data directory with a [`Config`] and a
//! [`SecretStore`]. Reads are synchronous from the encrypted local cache; network calls are
//! async (they run on the core's own tokio runtime, so any executor can await them, and
//! dropping the call's future stops its work at the next await); every parent action is
//! validated, shown locally and queued in the durable outbox in one transaction, then sent by
//! `sync()` or the background sender.
//!
//! Layers point one way:
//! - [`local`]: the state on this device (the encrypted store, the cache, the server versions
//!   held back while actions are pending, the outbox, applying sync pages, actions, reads,
//!   file index, push registration state, notification texts); no network, no shared state;
//! - services, each owning one capability over the network or the platform: [`client`],
//!   [`auth`], [`accounts`], [`sync`], [`sender`], [`push`], [`files`], [`telemetry`],
//!   [`tokens`], [`privacy`], [`secrets`];
//! - `runtime`, the one module that orchestrates them (shared state, accounts, jobs);
//! - this file, the facade: the exported methods, each converting the internal
//!   [`error::Error`] once into the public [`KidplanError`] (and logging it there).

#![warn(missing_docs)]

pub mod accounts;
pub mod auth;
pub mod client;
pub mod config;
pub mod error;
pub mod files;
pub mod local;
pub mod observers;
pub mod privacy;
pub mod private_fs;
pub mod push;
pub mod requests;
mod runtime;
pub mod secrets;
pub mod sender;
pub mod sync;
pub mod telemetry;
pub mod tokens;

#[cfg(feature = "uniffi")]
uniffi::setup_scaffolding!();

pub use accounts::{Account, AccountId};
pub use config::{Config, Tuning};
pub use error::KidplanError;
pub use local::apply::SyncReport;
pub use local::file_index::PhotoSize;
pub use local::notify::LocalNotification;
pub use local::outbox::{OutboxItem, OutboxKind, OutboxStatus};
pub use local::reads::{
    AbsenceView, ChildAttendance, HolidayView, LocalState, MessageView, ThreadSummary,
};
pub use local::reminders::UpcomingReminder;
pub use local::{cache, notify, reads, store};
pub use observers::{ChangeListener, Collection, Subscription};
pub use privacy::{ExportSection, ExportSummary};
pub use requests::{
    AbsenceChange, AbsenceReport, ContactChange, HolidayRegistration, NewThread, PrivacyAsk,
};
pub use secrets::{FileSecretStore, KeyringSecretStore, MemorySecretStore, SecretStore};
pub use sync::SyncStatus;

use crate::error::Error;
use crate::local::{actions, outbox, reads as read};
use crate::runtime::Inner;
use crate::telemetry::Area;
use kidplan_api::model::*;
use kidplan_api::privacy::{PrivacyRequest, PrivacyRight};
use kidplan_api::push::PushProvider;
use kidplan_api::reminders::{ReminderSetting, ReminderSettings};
use kidplan_api::sync::EntityKind;
use kidplan_api::telemetry::Metric;
use kidplan_api::*;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

/// The public result of a facade call.
type Out<T> = std::result::Result<T, KidplanError>;

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

/// A call running on the core's runtime. Dropping it (a cancelled coroutine or Swift task)
/// aborts the work at its next await point: each write is one transaction and every command
/// carries its idempotency key, so an aborted call leaves no half-written state, and a sync
/// stops asking for more pages. A panic in the work ends the call with `Internal`, counted.
struct Running<T> {
    handle: tokio::task::JoinHandle<Out<T>>,
    inner: Arc<Inner>,
    area: Area,
    op: &'static str,
}

impl<T> Future for Running<T> {
    type Output = Out<T>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Out<T>> {
        Pin::new(&mut self.handle).poll(cx).map(|r| match r {
            Ok(out) => out,
            Err(e) => Err(self.inner.failed(self.area, self.op, Error::from(e))),
        })
    }
}

impl<T> Drop for Running<T> {
    fn drop(&mut self) {
        self.handle.abort();
    }
}

impl Kidplan {
    /// Like [`Kidplan::open`] with explicit [`Tuning`] (tests and the CLI).
    pub fn open_with_tuning(
        data_dir: String,
        config: Config,
        secrets: Arc<dyn SecretStore>,
        tuning: Tuning,
    ) -> Out<Arc<Kidplan>> {
        let (rt, inner) = runtime::start(PathBuf::from(data_dir), config, secrets, tuning)
            .map_err(|e| e.public("open"))?;
        Ok(Arc::new(Kidplan {
            rt: Some(rt),
            inner,
        }))
    }

    /// Runs `fut` (the facade call `op` of `area`) on the core's runtime; the result's error
    /// is counted and converted to the public one there.
    fn spawn<T, F>(&self, area: Area, op: &'static str, fut: F) -> Running<T>
    where
        T: Send + 'static,
        F: Future<Output = error::Result<T>> + Send + 'static,
    {
        let inner = self.inner.clone();
        Running {
            handle: self
                .inner
                .handle
                .spawn(async move { fut.await.map_err(|e| inner.failed(area, op, e)) }),
            inner: self.inner.clone(),
            area,
            op,
        }
    }

    /// Runs the synchronous facade call `op` of `area`: a panic in it is caught here (it never
    /// crosses the FFI) and answered `Internal`; a failure is counted and converted once.
    fn guard<T>(
        &self,
        area: Area,
        op: &'static str,
        f: impl FnOnce() -> error::Result<T>,
    ) -> Out<T> {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
            .unwrap_or(Err(Error::Panicked))
            .map_err(|e| self.inner.failed(area, op, e))
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.inner.data_dir
    }

    /// Drops the day's telemetry counters but keeps its one-time token (tests that compare
    /// reports start counting from a known point; not exported to the shells).
    pub fn reset_telemetry_counters(&self) {
        self.inner.telemetry.reset_counters()
    }

    /// A read of the active account's cache (empty without an account).
    fn read<T: Default>(
        &self,
        op: &'static str,
        f: impl FnOnce(&rusqlite::Connection, &accounts::AccountCtx) -> error::Result<T>,
    ) -> Out<T> {
        self.guard(Area::Reads, op, || self.inner.read(f))
    }

    /// An action of the active account (one transaction), counted as `metric` when given.
    fn act<T>(
        &self,
        op: &'static str,
        metric: Option<Metric>,
        f: impl FnOnce(&rusqlite::Connection, &actions::Actor, &mut cache::Effects) -> error::Result<T>,
    ) -> Out<T> {
        self.guard(Area::Actions, op, || self.inner.act(metric, f))
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
    ) -> Out<Arc<Kidplan>> {
        Self::open_with_tuning(data_dir, config, secrets, Tuning::default())
    }

    // ----- session -----

    /// Asks the server to send a one-time code to an email address or phone number.
    pub async fn request_login_code(&self, contact: String) -> Out<()> {
        let client = self.inner.client.clone();
        self.spawn(Area::Auth, "request_login_code", async move {
            auth::request_code(&client, &contact).await
        })
        .await
    }

    /// Logs in with the code; the account becomes the active one.
    pub async fn verify_login_code(&self, contact: String, code: String) -> Out<Account> {
        let inner = self.inner.clone();
        self.spawn(Area::Auth, "verify_login_code", async move {
            inner.login(&contact, &code).await
        })
        .await
    }

    /// Logs the active account out: revokes the session on the server (best effort), then
    /// removes the account's local data and secrets.
    pub async fn logout(&self) -> Out<()> {
        let inner = self.inner.clone();
        self.spawn(Area::Auth, "logout", async move { inner.logout().await })
            .await
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
    pub fn switch_account(&self, id: AccountId) -> Out<()> {
        self.guard(Area::Auth, "switch_account", || {
            self.inner.switch_account(id)
        })
    }

    // ----- sync -----

    /// Pulls changes since the stored cursor, then sends the outbox.
    pub async fn sync(&self) -> Out<SyncReport> {
        let inner = self.inner.clone();
        self.spawn(Area::Sync, "sync", async move { inner.sync().await })
            .await
    }

    /// Where syncing stands.
    pub fn sync_status(&self) -> SyncStatus {
        self.inner.sync_status()
    }

    /// Adds a change listener; it is told of changes until the returned subscription is
    /// closed or dropped.
    pub fn subscribe(&self, listener: Arc<dyn ChangeListener>) -> Arc<Subscription> {
        self.inner.observers.subscribe(listener)
    }

    // ----- files -----

    /// The local path of a photo, downloaded when not cached.
    pub async fn photo(&self, id: PhotoId, size: PhotoSize) -> Out<String> {
        let inner = self.inner.clone();
        self.spawn(Area::Files, "photo", async move {
            inner
                .open_file(
                    EntityKind::Photo,
                    id.as_str(),
                    Some(size),
                    Some(Metric::PhotoViewed),
                )
                .await
        })
        .await
    }

    /// The local path of a document, downloaded when not cached.
    pub async fn document(&self, id: DocumentId) -> Out<String> {
        let inner = self.inner.clone();
        self.spawn(Area::Files, "document", async move {
            inner
                .open_file(
                    EntityKind::Document,
                    id.as_str(),
                    None,
                    Some(Metric::DocumentOpened),
                )
                .await
        })
        .await
    }

    /// The local path of a child's profile picture, downloaded when not cached; `NotFound`
    /// when the child has none.
    pub async fn child_picture(&self, id: ChildId) -> Out<String> {
        let inner = self.inner.clone();
        self.spawn(Area::Files, "child_picture", async move {
            inner
                .open_file(EntityKind::Child, id.as_str(), None, None)
                .await
        })
        .await
    }

    /// The local path of a staff member's profile picture, downloaded when not cached;
    /// `NotFound` when they have none.
    pub async fn staff_picture(&self, id: StaffId) -> Out<String> {
        let inner = self.inner.clone();
        self.spawn(Area::Files, "staff_picture", async move {
            inner
                .open_file(EntityKind::Staff, id.as_str(), None, None)
                .await
        })
        .await
    }

    // ----- reads (cache) -----

    /// The children of the account (the guardian's own, and those they may see).
    pub fn children(&self) -> Out<Vec<Child>> {
        self.read("children", |c, _| read::children(c))
    }

    /// The guardians the account may see.
    pub fn guardians(&self) -> Out<Vec<Guardian>> {
        self.read("guardians", |c, _| read::guardians(c))
    }

    /// Which guardian is related to which child, and how.
    pub fn guardian_relations(&self) -> Out<Vec<GuardianChild>> {
        self.read("guardian_relations", |c, _| read::guardian_relations(c))
    }

    /// The logged-in guardian, as the server knows them.
    pub fn me(&self) -> Out<Option<Guardian>> {
        self.read("me", |c, ctx| read::guardian(c, &ctx.account.person_id))
    }

    /// The staff of the kindergarten.
    pub fn staff(&self) -> Out<Vec<Staff>> {
        self.read("staff", |c, _| read::staff(c))
    }

    /// The account's kindergarten(s).
    pub fn kindergartens(&self) -> Out<Vec<Kindergarten>> {
        self.read("kindergartens", |c, _| read::kindergartens(c))
    }

    /// The kindergarten's departments.
    pub fn departments(&self) -> Out<Vec<Department>> {
        self.read("departments", |c, _| read::departments(c))
    }

    /// A child's log, newest first; pass the last entry's `at` as `before` for the next page.
    pub fn log_entries(
        &self,
        child_id: ChildId,
        before: Option<Timestamp>,
        limit: u32,
    ) -> Out<Vec<LogEntry>> {
        self.read("log_entries", |c, _| {
            read::log_entries(c, &child_id, before, limit)
        })
    }

    /// Threads with unread counts and last message, most recent first.
    pub fn threads(&self) -> Out<Vec<ThreadSummary>> {
        self.read("threads", |c, _| read::threads(c))
    }

    /// A thread's messages, newest first; pass the last one's `sent_at` as `before` to page.
    pub fn messages(
        &self,
        thread_id: ThreadId,
        before: Option<Timestamp>,
        limit: u32,
    ) -> Out<Vec<MessageView>> {
        self.read("messages", |c, _| {
            read::messages(c, &thread_id, before, limit)
        })
    }

    /// Absence reports with their local state, latest first; of one child or all.
    pub fn absences(&self, child_id: Option<ChildId>) -> Out<Vec<AbsenceView>> {
        self.read("absences", |c, _| read::absences(c, child_id.as_ref()))
    }

    /// Holiday registrations with their local state, latest first; of one child or all.
    pub fn holidays(&self, child_id: Option<ChildId>) -> Out<Vec<HolidayView>> {
        self.read("holidays", |c, _| read::holidays(c, child_id.as_ref()))
    }

    /// A child's consents, each with its history.
    pub fn consents(&self, child_id: ChildId) -> Out<Vec<Consent>> {
        self.read("consents", |c, _| read::consents(c, &child_id))
    }

    /// Events overlapping the days `from..=to`.
    pub fn calendar_events(&self, from: Day, to: Day) -> Out<Vec<CalendarEvent>> {
        self.read("calendar_events", |c, _| {
            let from = actions::check_day("from", from)?;
            let to = actions::check_day("to", to)?;
            if to < from {
                return Err(Error::invalid("to"));
            }
            read::calendar_events(c, from, to)
        })
    }

    /// Documents shared with the account, newest first.
    pub fn documents(&self) -> Out<Vec<Document>> {
        self.read("documents", |c, _| read::documents(c))
    }

    /// Photos the account may see, newest first.
    pub fn photos(&self) -> Out<Vec<Photo>> {
        self.read("photos", |c, _| read::photos(c))
    }

    /// Every child's attendance on `day`.
    pub fn attendance(&self, day: Day) -> Out<Vec<ChildAttendance>> {
        self.read("attendance", |c, _| {
            read::attendance(c, actions::check_day("day", day)?)
        })
    }

    /// The persons allowed to pick a child up.
    pub fn pickup_persons(&self, child_id: ChildId) -> Out<Vec<PickupPerson>> {
        self.read("pickup_persons", |c, _| read::pickup_persons(c, &child_id))
    }

    /// The guardian's notification preferences (per child and category).
    pub fn notification_preferences(&self) -> Out<Vec<NotificationPreference>> {
        self.read("notification_preferences", |c, ctx| {
            read::notification_preferences(c, &ctx.account.person_id)
        })
    }

    /// Who to ask about the parent's data, per kindergarten: the controller (the
    /// kindergarten's manager), the processor's privacy officer (personvernombud) and the right
    /// to complain to Datatilsynet. From the cache (the server sends the kindergartens and
    /// their staff with the sync).
    pub fn privacy_info(&self) -> Out<Vec<kidplan_api::privacy::PrivacyInfo>> {
        self.read("privacy_info", |c, _| {
            let staff = read::staff(c)?;
            Ok(read::kindergartens(c)?
                .iter()
                .map(|k| kidplan_api::privacy::PrivacyInfo::for_kindergarten(k, &staff))
                .collect())
        })
    }

    /// The guardian's privacy requests and the kindergarten's answers.
    pub fn privacy_requests(&self) -> Out<Vec<PrivacyRequest>> {
        self.read("privacy_requests", |c, _| read::privacy_requests(c))
    }

    /// The guardian's reminder settings (the defaults until they changed them).
    pub fn reminder_settings(&self) -> Out<ReminderSettings> {
        self.read("reminder_settings", |c, ctx| {
            local::reminders::settings(c, &ctx.account.person_id).map(Some)
        })
        .map(|s| s.unwrap_or_else(|| ReminderSettings::defaults(GuardianId::from(""))))
    }

    /// The reminders due in the coming days and not shown yet, soonest first: a shell
    /// schedules them as local notifications (each under its `key`, the same key a reminder
    /// push's notification has, so it shows once) and reads them again when
    /// `Collection::Calendar`, `Holidays` or `Reminders` change.
    pub fn upcoming_reminders(&self) -> Out<Vec<UpcomingReminder>> {
        self.guard(Area::Reads, "upcoming_reminders", || {
            self.inner.upcoming_reminders()
        })
    }

    /// A local alarm the shell set for an upcoming reminder (at its `due_at`) went off for
    /// `key`: the notification to post under that key, or `None` when there is nothing to show
    /// (the reminder was turned off, the event is gone or over, every child is registered, or
    /// a push or an earlier alarm already showed it). Marks it shown, so it shows once.
    pub fn reminder_due(&self, key: String) -> Out<Option<LocalNotification>> {
        self.guard(Area::Reads, "reminder_due", || {
            self.inner.reminder_due(&key)
        })
    }

    /// The queued actions with their status, oldest first.
    pub fn outbox(&self) -> Out<Vec<OutboxItem>> {
        self.read("outbox", |c, _| outbox::list(c))
    }

    // ----- actions (outbox) -----

    /// Reports an absence; returns its id.
    pub fn report_absence(&self, report: AbsenceReport) -> Out<AbsenceId> {
        self.act(
            "report_absence",
            Some(Metric::AbsenceReported),
            |c, a, fx| actions::report_absence(c, a, fx, report),
        )
    }

    /// Changes an absence report the kindergarten has not acknowledged yet.
    pub fn edit_absence(&self, id: AbsenceId, change: AbsenceChange) -> Out<()> {
        self.act("edit_absence", None, |c, a, fx| {
            actions::edit_absence(c, a, fx, id, change)
        })
    }

    /// Withdraws an absence report.
    pub fn withdraw_absence(&self, id: AbsenceId) -> Out<()> {
        self.act("withdraw_absence", None, |c, a, fx| {
            actions::withdraw_absence(c, a, fx, id)
        })
    }

    /// Registers a holiday; returns its id.
    pub fn register_holiday(&self, registration: HolidayRegistration) -> Out<HolidayId> {
        self.act(
            "register_holiday",
            Some(Metric::HolidayRegistered),
            |c, a, fx| actions::register_holiday(c, a, fx, registration),
        )
    }

    /// Starts a conversation with the staff; returns its id.
    pub fn start_thread(&self, thread: NewThread) -> Out<ThreadId> {
        self.act("start_thread", Some(Metric::MessageSent), |c, a, fx| {
            actions::start_thread(c, a, fx, thread)
        })
    }

    /// Sends a message in a conversation; returns its id.
    pub fn send_message(&self, thread_id: ThreadId, body: String) -> Out<MessageId> {
        self.act("send_message", Some(Metric::MessageSent), |c, a, fx| {
            actions::send_message(c, a, fx, thread_id, body)
        })
    }

    /// Marks every message of a conversation read.
    pub fn mark_read(&self, thread_id: ThreadId) -> Out<()> {
        self.act("mark_read", None, |c, a, fx| {
            actions::mark_read(c, a, fx, thread_id)
        })
    }

    /// Gives or withdraws a consent for a child.
    pub fn change_consent(
        &self,
        child_id: ChildId,
        kind: ConsentKind,
        state: ConsentState,
    ) -> Out<()> {
        self.act(
            "change_consent",
            Some(Metric::ConsentChanged),
            |c, a, fx| actions::change_consent(c, a, fx, child_id, kind, state),
        )
    }

    /// Changes the guardian's own contact details. Address and postal code change at once; a
    /// new e-mail address or phone number is sent a code and becomes the guardian's only
    /// after [`Kidplan::confirm_contact`] (until then `me()` shows the old one). The server's
    /// answer is the same whether or not the new contact belongs to someone else.
    pub fn update_contact(&self, change: ContactChange) -> Out<()> {
        self.act("update_contact", None, |c, a, fx| {
            actions::update_contact(c, a, fx, change)
        })
    }

    /// Confirms a new e-mail address or phone number with the 6-digit code sent to it (after
    /// [`Kidplan::update_contact`] was sent), then syncs. A wrong, expired or never-sent code
    /// is `InvalidInput { field: "code" }`.
    pub async fn confirm_contact(&self, code: String) -> Out<()> {
        let inner = self.inner.clone();
        self.spawn(Area::Auth, "confirm_contact", async move {
            inner.confirm_contact(&code).await
        })
        .await
    }

    /// Changes the guardian's notification preferences (urgent alerts stay on).
    pub fn update_notification_preferences(
        &self,
        preferences: Vec<NotificationPreference>,
    ) -> Out<()> {
        self.act("update_notification_preferences", None, |c, a, fx| {
            actions::update_notification_preferences(c, a, fx, preferences)
        })
    }

    /// Changes the reminder settings of the kinds listed (on or off, the time of day `HH:MM`
    /// in Europe/Oslo, and the days before); the others keep theirs.
    pub fn update_reminder_settings(&self, reminders: Vec<ReminderSetting>) -> Out<()> {
        self.act("update_reminder_settings", None, |c, a, fx| {
            actions::update_reminder_settings(c, a, fx, reminders)
        })
    }

    /// Asks the kindergarten to act on a privacy right; returns the request's id.
    pub fn request_privacy(
        &self,
        right: PrivacyRight,
        note: Option<String>,
    ) -> Out<PrivacyRequestId> {
        self.ask_privacy(PrivacyAsk {
            right,
            note,
            child_id: None,
            child_info: None,
            objection: None,
        })
    }

    /// Asks the kindergarten to act on a privacy right with its details (a rectification of a
    /// child's free text, an objection); returns the request's id. An objection to analytics
    /// also switches this install's usage counting off at once (remembered, like
    /// [`Kidplan::set_telemetry_enabled`]); an objection to photo sharing makes the server
    /// withdraw every sharing consent of the parent's children when it arrives.
    pub fn ask_privacy(&self, ask: PrivacyAsk) -> Out<PrivacyRequestId> {
        let analytics = ask.objection == Some(kidplan_api::privacy::ObjectionTo::Analytics);
        let id = self.act("request_privacy", None, |c, a, fx| {
            actions::request_privacy(c, a, fx, ask)
        })?;
        if analytics {
            self.inner.telemetry.set_enabled(false);
        }
        Ok(id)
    }

    /// Removes a rejected outbox item (the parent has seen why it was refused).
    pub fn dismiss_outbox_item(&self, id: i64) -> Out<()> {
        self.act("dismiss_outbox_item", None, |c, _, fx| {
            outbox::dismiss(c, id, fx)
        })
    }

    // ----- push -----

    /// Registers this device for push for the active account (one registration per install
    /// and account, keyed by a random id). An unchanged token is not sent again; a changed one
    /// updates the registration in place. Offline, the registration is kept and sent by the
    /// next sync (not an error); a token the server refuses is `InvalidInput`.
    pub async fn set_push_token(&self, provider: PushProvider, token: String) -> Out<()> {
        let inner = self.inner.clone();
        self.spawn(Area::Push, "set_push_token", async move {
            inner.set_push_token(provider, token).await
        })
        .await
    }

    /// Turns a received push (the FCM data map or APNs dictionary as JSON) into the
    /// notification to show, built from the local cache after a bounded sync, in the
    /// configured locale. `None`: not a Kidplan push, nothing to show, or switched off in the
    /// guardian's preferences (urgent broadcasts always come through).
    pub async fn handle_push(&self, payload: String) -> Out<Option<LocalNotification>> {
        let inner = self.inner.clone();
        self.spawn(Area::Push, "handle_push", async move {
            inner.handle_push(&payload).await
        })
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

    /// Sends the due report, if any, on the anonymous connection (no authentication, no
    /// identifying header), unless an authenticated request was made within the quiet period;
    /// returns whether one was sent. The core also does this by itself, at random moments.
    pub async fn send_telemetry(&self) -> Out<bool> {
        let inner = self.inner.clone();
        self.spawn(Area::Sync, "send_telemetry", async move {
            inner.send_telemetry().await
        })
        .await
    }

    // ----- privacy -----

    /// Writes everything the server holds about the guardian and their children, plus this
    /// device's unsent actions, to `<dir>/kidplan-export-<YYYY-MM-DD>.json` (pretty JSON, mode
    /// 0600; format in `docs/export-schema.json`). `dir` must exist.
    pub async fn export_my_data(&self, dir: String) -> Out<ExportSummary> {
        let inner = self.inner.clone();
        self.spawn(Area::Privacy, "export_my_data", async move {
            inner.export_my_data(&dir).await
        })
        .await
    }

    // ----- local data -----

    /// Starts the active account's cache afresh (after the shell confirmed, when a call
    /// answered `StorageCorrupt`): deletes the database, its key and files, keeps the
    /// session. Unsent actions are lost.
    pub fn reset_local_cache(&self) -> Out<()> {
        self.guard(Area::Privacy, "reset_local_cache", || {
            self.inner.reset_local_cache()
        })
    }

    /// Removes every account's data and secrets from this device, and the telemetry counters
    /// (no server call; the accounts' push registrations are queued for deletion on the
    /// server, done by the next open or sync).
    pub fn wipe_local_data(&self) -> Out<()> {
        self.guard(Area::Privacy, "wipe_local_data", || {
            self.inner.wipe_local_data()
        })
    }
}

#[cfg(test)]
mod tests;
