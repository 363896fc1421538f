//! What the orchestrator runs against the server for an account: a sync (pull, then send the
//! outbox, then the online side jobs), the background sender, push registration and
//! `handle_push`, file downloads, the data export, and the anonymous telemetry report. Each
//! job hands its committed effects to the observers and wipes an account whose session was
//! revoked.

use super::{Inner, lock};
use crate::accounts::{AccountCtx, AccountId};
use crate::error::{Error, Result};
use crate::local::alerts;
use crate::local::apply::SyncReport;
use crate::local::cache::{self, Effects};
use crate::local::file_index::PhotoSize;
use crate::local::notify::{self, LocalNotification, PushHint};
use crate::local::outbox;
use crate::local::reminders::{self, UpcomingReminder};
use crate::local::store::{get_meta, set_meta};
use crate::privacy::{self, ExportSummary};
use crate::sync::{self, SyncStatus};
use crate::{files, push, sender, telemetry, tokens};
use kidplan_api::Timestamp;
use kidplan_api::push::PushProvider;
use kidplan_api::reminders::ReminderKind;
use kidplan_api::sync::EntityKind;
use kidplan_api::telemetry::Metric;
use std::sync::Arc;
use std::time::Duration;

/// How long sent outbox items stay visible.
const KEEP_SENT_MS: i64 = 7 * 86_400_000;
/// The longest wait of the background sender between two looks at the outbox.
const IDLE: Duration = Duration::from_secs(300);
/// The background sender's wait after a failure that is not an item's (no session, storage).
const PAUSE_AFTER_FAILURE: Duration = Duration::from_secs(30);

impl Inner {
    fn push_account<'a>(&'a self, ctx: &'a AccountCtx) -> push::Account<'a> {
        push::Account {
            id: ctx.account.id.as_str(),
            store: &ctx.store,
            auth: &ctx.auth,
            secrets: &*self.secrets,
        }
    }

    // ----- sync -----

    /// Syncs the active account.
    pub(crate) async fn sync(self: &Arc<Self>) -> Result<SyncReport> {
        let ctx = self.require_ctx()?;
        self.sync_ctx(ctx).await
    }

    /// Where syncing stands, with the active account's outbox and last sync.
    pub(crate) fn sync_status(self: &Arc<Self>) -> SyncStatus {
        let mut s = lock(&self.status).clone();
        if let Ok(Some(ctx)) = self.active_ctx()
            && let Ok(c) = ctx.store.conn()
        {
            s.pending_outbox = outbox::pending_count(&c).unwrap_or(0);
            s.last_synced_at = get_meta(&c, "last_synced_at")
                .ok()
                .flatten()
                .and_then(|v| v.parse().ok())
                .map(Timestamp);
        }
        s
    }

    /// Syncs one account; then, online, the side jobs: its push registration, unregisters
    /// left over, a due telemetry report (all best effort: they never fail the sync).
    pub(crate) async fn sync_ctx(self: &Arc<Self>, ctx: Arc<AccountCtx>) -> Result<SyncReport> {
        let started = std::time::Instant::now();
        lock(&self.status).syncing = true;
        let r = self.pull_and_send(&ctx).await;
        {
            let mut s = lock(&self.status);
            s.syncing = false;
            s.last_error = r.as_ref().err().map(|e| e.code().to_owned());
        }
        let metric = if r.is_ok() {
            Metric::SyncSucceeded
        } else {
            Metric::SyncFailed
        };
        self.telemetry.record_duration(metric, started.elapsed());
        if r.is_ok() {
            push::maintain(&self.push_account(&ctx)).await;
            let _ = self.flush_unregisters().await;
            if let Err(e) = tokens::obtain(&self.telemetry, &self.client, &ctx.auth).await {
                tracing::debug!(error = e.code(), "telemetry token not obtained");
            }
        }
        self.after_network(&ctx, r)
    }

    /// Pulls the account's changes, then sends its outbox and prunes what was sent long ago,
    /// holding the account's network lock throughout. At the end, whether the job succeeded or
    /// not: when a person or a photo went, the database is rewritten (`Store::rewrite`); when
    /// anything else was deleted (a tombstone, a held-back tombstone settled by an answer, a
    /// pruned action), the WAL is checkpointed and truncated. Erased people and withdrawn
    /// photos must not linger in stale WAL frames, free pages or unused parts of pages.
    async fn pull_and_send(&self, ctx: &AccountCtx) -> Result<SyncReport> {
        let _net = ctx.net.lock().await;
        let mut done = Effects::default();
        let out = self.pull_and_send_locked(ctx, &mut done).await;
        ctx.store.after_deletions(done.deleted, done.erased)?;
        out
    }

    async fn pull_and_send_locked(
        &self,
        ctx: &AccountCtx,
        done: &mut Effects,
    ) -> Result<SyncReport> {
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
                done.deleted |= fx.deleted;
                done.erased |= fx.erased;
                self.apply(&dir, fx)
            },
        )
        .await?;
        let now = Timestamp::now().0.to_string();
        ctx.store.write(|tx| set_meta(tx, "last_synced_at", &now))?;
        let mut fx = Effects::default();
        let flushed = sender::flush(&ctx.store, &ctx.auth, &me, &self.tuning, true, &mut fx).await;
        done.deleted |= fx.deleted;
        done.erased |= fx.erased;
        self.apply(&dir, fx);
        let f = flushed?;
        done.deleted |= ctx.store.write(|tx| outbox::prune(tx, KEEP_SENT_MS))? > 0;
        report.sent = f.sent;
        report.rejected = f.rejected;
        report.pending = f.pending;
        Ok(report)
    }

    // ----- the background sender -----

    /// Starts the background sender of an account (when tuning allows it), replacing a
    /// previous one: it sends the outbox as items fall due, woken early by a new action, so
    /// actions leave without waiting for the next `sync()`. It stops when the account is
    /// closed or its session is revoked.
    pub(crate) fn start_sender(self: &Arc<Self>, ctx: Arc<AccountCtx>) {
        if !self.tuning.background_flush {
            return;
        }
        let inner = self.clone();
        let id = ctx.account.id.clone();
        let task = self
            .handle
            .spawn(async move { inner.sender_loop(ctx).await });
        if let Some(old) = lock(&self.senders).insert(id, task.abort_handle()) {
            old.abort();
        }
    }

    async fn sender_loop(self: Arc<Self>, ctx: Arc<AccountCtx>) {
        let mut pause = Duration::ZERO;
        loop {
            let wait = match ctx.store.conn().and_then(|c| outbox::next_due(&c)) {
                Ok(Some(due)) => {
                    let ms = (due - Timestamp::now().0).clamp(0, IDLE.as_millis() as i64);
                    Duration::from_millis(ms as u64).max(pause)
                }
                Ok(None) | Err(_) => IDLE,
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
                let _net = ctx.net.lock().await;
                let mut fx = Effects::default();
                let r = sender::flush(
                    &ctx.store,
                    &ctx.auth,
                    &ctx.account.person_id,
                    &self.tuning,
                    false,
                    &mut fx,
                )
                .await;
                let (deleted, erased) = (fx.deleted, fx.erased);
                self.apply(&ctx.files_dir(), fx);
                if let Err(e) = ctx.store.after_deletions(deleted, erased) {
                    tracing::debug!(error = e.code(), "rewrite after sending failed");
                }
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
                    pause = PAUSE_AFTER_FAILURE;
                }
            }
        }
    }

    // ----- push -----

    /// Registers this device for push for the active account (see [`push::set_token`]).
    pub(crate) async fn set_push_token(
        self: &Arc<Self>,
        provider: PushProvider,
        token: String,
    ) -> Result<()> {
        let ctx = self.require_ctx()?;
        let r = push::set_token(&self.push_account(&ctx), provider, token).await;
        self.after_network(&ctx, r)
    }

    /// Deletes on the server the push registrations of accounts no longer on this device.
    pub(crate) async fn flush_unregisters(&self) -> Result<usize> {
        push::flush_unregisters(&self.client, &*self.secrets).await
    }

    /// Handles a push: a bounded sync of each account (active first) until one has the
    /// hinted entity in its cache, then the notification from that cache.
    pub(crate) async fn handle_push(
        self: &Arc<Self>,
        payload: &str,
    ) -> Result<Option<LocalNotification>> {
        let Some(hint) = notify::parse_payload(payload) else {
            return Ok(None);
        };
        self.telemetry.record(Metric::PushReceived);
        let ids: Vec<AccountId> = {
            let r = lock(&self.registry);
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
            if !lock(&self.registry).accounts.iter().any(|a| a.id == id) {
                continue; // the sync found the session revoked and wiped the account
            }
            let me = &ctx.account.person_id;
            match &hint {
                PushHint::Sync { target } => {
                    let Some((kind, entity_id)) = target else {
                        continue;
                    };
                    let c = ctx.store.conn()?;
                    let n = alerts::notification(
                        &c,
                        me,
                        &ctx.account.kindergarten_name,
                        self.config.locale,
                        *kind,
                        entity_id,
                    )?;
                    if n.is_some() {
                        return Ok(n);
                    }
                    if cache::exists(&c, *kind, entity_id)? {
                        return Ok(None); // this account's, but not worth (or not wanted) showing
                    }
                }
                PushHint::Reminder { kind, event_id } => {
                    if !ctx
                        .store
                        .with_conn(|c| cache::exists(c, EntityKind::CalendarEvent, event_id))?
                    {
                        continue; // another account's event
                    }
                    return self.show_reminder(&ctx, *kind, event_id);
                }
            }
        }
        Ok(None)
    }

    /// The notification of a reminder to show now, marked shown in the same transaction, or
    /// `None` (turned off, over, nobody left to register, or shown already by a push or an
    /// alarm): whichever comes first shows it.
    fn show_reminder(
        &self,
        ctx: &AccountCtx,
        kind: ReminderKind,
        event_id: &str,
    ) -> Result<Option<LocalNotification>> {
        let now = Timestamp::now();
        let me = &ctx.account.person_id;
        ctx.store.write(|tx| {
            let n = reminders::pushed(tx, me, self.config.locale, kind, event_id, now)?;
            if let Some(n) = &n {
                reminders::mark_shown(tx, &n.key, now)?;
            }
            Ok(n)
        })
    }

    /// A local alarm set from [`Inner::upcoming_reminders`] went off for `key`: the
    /// notification to show, if the reminder still applies and was not shown yet.
    pub(crate) fn reminder_due(self: &Arc<Self>, key: &str) -> Result<Option<LocalNotification>> {
        let (kind, event_id) = reminders::parse_key(key).ok_or_else(|| Error::invalid("key"))?;
        let ctx = self.require_ctx()?;
        self.show_reminder(&ctx, kind, event_id.as_str())
    }

    /// The active account's reminders due in the coming days, not shown yet.
    pub(crate) fn upcoming_reminders(self: &Arc<Self>) -> Result<Vec<UpcomingReminder>> {
        self.read(|c, ctx| {
            reminders::upcoming(
                c,
                &ctx.account.person_id,
                self.config.locale,
                Timestamp::now(),
            )
        })
    }

    // ----- files, export, telemetry -----

    /// The local path of the active account's photo, document or profile picture (see
    /// `files::fetch`), downloaded when not cached; counts `metric`, if any, when it is there.
    pub(crate) async fn open_file(
        self: &Arc<Self>,
        kind: EntityKind,
        id: &str,
        size: Option<PhotoSize>,
        metric: Option<Metric>,
    ) -> Result<String> {
        let ctx = self.require_ctx()?;
        let r = files::fetch(
            &ctx.store,
            &ctx.auth,
            &ctx.files_dir(),
            kind,
            id,
            size,
            self.tuning.file_cache_bytes,
        )
        .await;
        if let (Ok(_), Some(metric)) = (&r, metric) {
            self.telemetry.record(metric);
        }
        self.after_network(&ctx, r)
    }

    /// Writes the active account's export into `dir` (see `privacy`).
    pub(crate) async fn export_my_data(self: &Arc<Self>, dir: &str) -> Result<ExportSummary> {
        let ctx = self.require_ctx()?;
        let r = privacy::export(&ctx.store, &ctx.auth, dir).await;
        if r.is_ok() {
            self.telemetry.record(Metric::ExportRequested);
        }
        self.after_network(&ctx, r)
    }

    /// Confirms a new e-mail address or phone number with the code sent to it, then pulls the
    /// changed record (a failed pull is left to the next sync).
    pub(crate) async fn confirm_contact(self: &Arc<Self>, code: &str) -> Result<()> {
        let code = code.trim();
        if code.len() != kidplan_api::auth::LOGIN_CODE_DIGITS
            || !code.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(crate::error::Error::invalid("code"));
        }
        let ctx = self.require_ctx()?;
        let client = ctx.auth.client();
        let body = serde_json::to_string(&kidplan_api::commands::ConfirmContact {
            code: code.to_owned(),
        })?;
        let r = ctx
            .auth
            .call(|t| {
                let body = body.clone();
                async move {
                    client
                        .send(
                            reqwest::Method::POST,
                            kidplan_api::paths::ME_CONTACT_CONFIRM,
                            Some(&t),
                            None,
                            Some(body),
                        )
                        .await
                }
            })
            .await
            .map(|_| ());
        self.after_network(&ctx, r)?;
        let _ = self.sync().await;
        Ok(())
    }

    /// Posts the due telemetry report, if any, on the anonymous connection, away from
    /// authenticated requests (see `telemetry::send_due`).
    pub(crate) async fn send_telemetry(&self) -> Result<bool> {
        telemetry::send_due(&self.telemetry, &self.client, self.tuning.telemetry_quiet).await
    }

    /// The core's own telemetry sender: looks for a due report at random moments (each wait
    /// random, up to `every`) and sends it when no authenticated request was made lately.
    pub(crate) fn start_telemetry_sender(self: &Arc<Self>, every: Duration) {
        let inner = Arc::downgrade(self);
        self.handle.spawn(async move {
            loop {
                let max = every.as_millis().max(1) as u64;
                let wait = Duration::from_millis(rand::random_range(max / 4..=max));
                tokio::time::sleep(wait).await;
                let Some(inner) = inner.upgrade() else {
                    return;
                };
                if let Err(e) = inner.send_telemetry().await {
                    tracing::debug!(error = e.code(), "telemetry report not sent");
                }
            }
        });
    }
}
