//! The durable send queue: every e-mail, SMS and push is first a row of `send_queue`, written
//! in the same transaction as the change that caused it, then handed to its provider.
//!
//! - Delivered: the row is deleted.
//! - "Try later" (timeouts, 429, 5xx, ...): tried again after an exponential backoff with
//!   jitter, or exactly after the provider's `Retry-After`.
//! - After [`RetryPolicy::max_attempts`] tries, or refused for good: the row is dead; its
//!   recipient and text are blanked at once, and the row is deleted after
//!   [`DEAD_LETTER_DAYS`] (staff see it meanwhile, `GET /v1/staff/send-queue`).
//! - A push token the provider no longer knows: the registration is removed.
//!
//! A push row holds the registration id, never the token (read when it is sent), and only the
//! content-free `kind` and `hint`. Rows are claimed for a lease before a try, so a row is
//! never tried twice at once; claims are released when the server starts (nothing is lost on
//! a restart). Each try runs as its own task: a provider that hangs delays only its own rows.

use crate::app::Providers;
use crate::clock::Clock;
use crate::db::Db;
use crate::error::AppResult;
use crate::providers::config::RetryPolicy;
use crate::providers::{Email, Push, SendError, Sms};
use kidplan_api::push::{PushKind, PushProvider};
use rand::Rng;
use rusqlite::{Connection, params};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// Days a dead row stays visible to staff before it is deleted.
pub const DEAD_LETTER_DAYS: i64 = 7;
/// How long a claimed row is kept from other tries (server clock).
const LEASE_MS: i64 = 10 * 60 * 1000;
/// Rows claimed per pass.
const BATCH: i64 = 100;

/// What to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    Email {
        to: String,
        subject: String,
        text: String,
    },
    Sms {
        to: String,
        text: String,
    },
    /// A push to one registration (its token is read when it is sent).
    Push {
        registration_id: String,
        kind: PushKind,
        hint: Option<String>,
        alert: bool,
    },
}

/// Whom a queued row is about: the kindergarten whose staff may see it and the person it goes
/// to (erasure deletes their rows).
#[derive(Clone, Copy, Debug, Default)]
pub struct For<'a> {
    pub kindergarten_id: Option<&'a str>,
    pub person_id: Option<&'a str>,
}

/// Queues an item (call inside the transaction of the change that causes it).
pub fn enqueue(conn: &Connection, item: &Item, who: For<'_>, now: i64) -> AppResult<()> {
    let (channel, recipient, registration, subject, body, kind, hint, alert) = match item {
        Item::Email { to, subject, text } => (
            "email",
            Some(to.as_str()),
            None,
            Some(subject.as_str()),
            Some(text.as_str()),
            None,
            None,
            false,
        ),
        Item::Sms { to, text } => (
            "sms",
            Some(to.as_str()),
            None,
            None,
            Some(text.as_str()),
            None,
            None,
            false,
        ),
        Item::Push {
            registration_id,
            kind,
            hint,
            alert,
        } => (
            "push",
            None,
            Some(registration_id.as_str()),
            None,
            None,
            Some(crate::providers::push_kind_str(*kind)),
            hint.as_deref(),
            *alert,
        ),
    };
    conn.prepare_cached(
        "INSERT INTO send_queue (channel, kindergarten_id, person_id, recipient, registration_id, subject, body,
           push_kind, hint, alert, state, attempts, next_at, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 'pending', 0, ?11, ?11)",
    )?
    .execute(params![
        channel,
        who.kindergarten_id,
        who.person_id,
        recipient,
        registration,
        subject,
        body,
        kind,
        hint,
        alert,
        now
    ])?;
    Ok(())
}

/// What one pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueueReport {
    pub delivered: usize,
    /// Failed, to be tried again.
    pub retried: usize,
    /// Given up (dead-lettered).
    pub dead: usize,
    /// Push registrations removed because the provider no longer knows the token.
    pub unregistered: usize,
    /// Pushes dropped because their registration is gone.
    pub dropped: usize,
}

impl QueueReport {
    fn add(&mut self, o: Outcome) {
        match o {
            Outcome::Delivered => self.delivered += 1,
            Outcome::Retried => self.retried += 1,
            Outcome::Dead => self.dead += 1,
            Outcome::Unregistered => self.unregistered += 1,
            Outcome::Dropped => self.dropped += 1,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Delivered,
    Retried,
    Dead,
    Unregistered,
    Dropped,
}

/// A claimed row.
#[derive(Debug)]
struct Row {
    id: i64,
    channel: String,
    recipient: Option<String>,
    registration_id: Option<String>,
    subject: Option<String>,
    body: Option<String>,
    kind: Option<String>,
    hint: Option<String>,
    alert: bool,
    attempts: u32,
}

/// The queue: its providers, its retry policy and the signal that wakes its worker.
#[derive(Clone)]
pub struct SendQueue {
    db: Db,
    clock: Clock,
    providers: Providers,
    policy: RetryPolicy,
    wake: Arc<Notify>,
    /// One local pass at a time: a request's pass returns only after every local row queued
    /// before it was written (another pass may have claimed it).
    local_pass: Arc<tokio::sync::Mutex<()>>,
}

impl SendQueue {
    pub fn new(db: Db, clock: Clock, providers: Providers, policy: RetryPolicy) -> Self {
        Self {
            db,
            clock,
            providers,
            policy,
            wake: Arc::new(Notify::new()),
            local_pass: Arc::new(tokio::sync::Mutex::new(())),
        }
    }

    /// Releases every claim (at start: nothing is in flight).
    pub fn release_claims(&self) -> rusqlite::Result<usize> {
        self.db.lock().execute(
            "UPDATE send_queue SET claimed_until = NULL WHERE claimed_until IS NOT NULL",
            [],
        )
    }

    /// The channels whose sender is (`local`) or is not the local outbox.
    fn channels(&self, local: bool) -> Vec<&'static str> {
        let p = &self.providers;
        [
            ("email", p.email.local()),
            ("sms", p.sms.local()),
            ("push", p.push.local()),
        ]
        .into_iter()
        .filter_map(|(c, l)| (l == local).then_some(c))
        .collect()
    }

    /// After a change that queued something committed: local-outbox rows are written now (so a
    /// test or the demo reads them as soon as the request returns); the worker is woken for
    /// the real providers.
    pub async fn after_commit(&self) {
        let local = self.channels(true);
        if !local.is_empty() {
            let _one = self.local_pass.lock().await;
            self.run_pass(&local).await;
        }
        self.wake.notify_one();
    }

    /// One pass over every due row of every channel, waiting for each try.
    pub async fn run_due(&self) -> QueueReport {
        self.run_pass(&["email", "sms", "push"]).await
    }

    async fn run_pass(&self, channels: &[&str]) -> QueueReport {
        let mut report = QueueReport::default();
        loop {
            let rows = match self.claim(channels) {
                Ok(r) => r,
                Err(_) => {
                    tracing::warn!("send queue: claiming rows failed");
                    return report;
                }
            };
            if rows.is_empty() {
                return report;
            }
            let tries = rows.into_iter().map(|r| self.deliver(r));
            for outcome in futures::future::join_all(tries).await {
                report.add(outcome);
            }
        }
    }

    fn claim(&self, channels: &[&str]) -> rusqlite::Result<Vec<Row>> {
        let now = self.clock.now_ms();
        let channels = serde_json::to_string(channels).unwrap_or_else(|_| "[]".to_owned());
        let conn = self.db.lock();
        let mut stmt = conn.prepare_cached(
            "UPDATE send_queue SET claimed_until = ?1 + ?2 WHERE id IN (
               SELECT id FROM send_queue WHERE state = 'pending' AND next_at <= ?1
                 AND (claimed_until IS NULL OR claimed_until <= ?1)
                 AND channel IN (SELECT value FROM json_each(?3))
               ORDER BY next_at, id LIMIT ?4)
             RETURNING id, channel, recipient, registration_id, subject, body, push_kind, hint, alert, attempts",
        )?;
        let rows = stmt.query_map(params![now, LEASE_MS, channels, BATCH], |r| {
            Ok(Row {
                id: r.get(0)?,
                channel: r.get(1)?,
                recipient: r.get(2)?,
                registration_id: r.get(3)?,
                subject: r.get(4)?,
                body: r.get(5)?,
                kind: r.get(6)?,
                hint: r.get(7)?,
                alert: r.get(8)?,
                attempts: r.get::<_, i64>(9)?.clamp(0, i64::from(u32::MAX)) as u32,
            })
        })?;
        let mut out: Vec<Row> = rows.collect::<Result<_, _>>()?;
        out.sort_by_key(|r| r.id);
        Ok(out)
    }

    /// One try of one row, and what follows from its outcome.
    async fn deliver(&self, row: Row) -> Outcome {
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        let (provider, result, push) = match row.channel.as_str() {
            "email" => {
                let e = Email {
                    to: text(&row.recipient),
                    subject: text(&row.subject),
                    text: text(&row.body),
                };
                (
                    self.providers.email.name(),
                    self.providers.email.send(&e).await,
                    None,
                )
            }
            "sms" => {
                let m = Sms {
                    to: text(&row.recipient),
                    text: text(&row.body),
                };
                (
                    self.providers.sms.name(),
                    self.providers.sms.send(&m).await,
                    None,
                )
            }
            _ => {
                let reg = row.registration_id.clone().unwrap_or_default();
                let Some((provider, token)) = self.registration(&reg).await else {
                    self.finish(row.id, "DELETE FROM send_queue WHERE id = ?1")
                        .await;
                    return Outcome::Dropped;
                };
                let p = Push {
                    provider,
                    token: token.clone(),
                    kind: match row.kind.as_deref() {
                        Some("reminder") => PushKind::Reminder,
                        _ => PushKind::Sync,
                    },
                    hint: row.hint.clone(),
                    alert: row.alert,
                };
                let name = self.providers.push.name();
                (name, self.providers.push.send(&p).await, Some((reg, token)))
            }
        };
        match result {
            Ok(()) => {
                self.finish(row.id, "DELETE FROM send_queue WHERE id = ?1")
                    .await;
                Outcome::Delivered
            }
            Err(SendError::Unregistered) => {
                let (reg, token) = push.unwrap_or_default();
                self.unregister(row.id, reg, token).await;
                tracing::info!(provider, "push token no longer valid: registration removed");
                Outcome::Unregistered
            }
            Err(e) => {
                tracing::warn!(
                    channel = row.channel.as_str(),
                    provider,
                    category = e.category(),
                    attempts = row.attempts + 1,
                    "send failed"
                );
                self.failed(&row, &e).await
            }
        }
    }

    async fn registration(&self, id: &str) -> Option<(PushProvider, String)> {
        let id = id.to_owned();
        self.db
            .call(move |conn| {
                let row: Option<(String, String)> = crate::db::opt(conn.query_row(
                    "SELECT provider, token FROM push_registrations WHERE id = ?1",
                    [&id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                ))?;
                Ok(row.map(|(p, t)| (crate::entities::enum_from::<PushProvider>(p), t)))
            })
            .await
            .ok()
            .flatten()
            .and_then(|(p, t)| p.ok().map(|p| (p, t)))
    }

    async fn finish(&self, id: i64, sql: &'static str) {
        let done = self.db.call(move |conn| Ok(conn.execute(sql, [id])?)).await;
        if done.is_err() {
            tracing::warn!("send queue: updating a row failed");
        }
    }

    async fn unregister(&self, id: i64, registration: String, token: String) {
        let done = self
            .db
            .tx(move |tx| {
                tx.execute(
                    "DELETE FROM push_registrations WHERE id = ?1 AND token = ?2",
                    params![registration, token],
                )?;
                tx.execute(
                    "DELETE FROM send_queue WHERE id = ?1 OR (registration_id = ?2 AND claimed_until IS NULL)",
                    params![id, registration],
                )?;
                Ok(())
            })
            .await;
        if done.is_err() {
            tracing::warn!("send queue: removing a registration failed");
        }
    }

    /// Schedules the next try, or gives up.
    async fn failed(&self, row: &Row, e: &SendError) -> Outcome {
        let now = self.clock.now_ms();
        let attempts = row.attempts + 1;
        let category = e.category();
        let dead = matches!(e, SendError::Rejected { .. }) || attempts >= self.policy.max_attempts;
        let id = row.id;
        let next_at = if dead {
            now
        } else {
            now + self.wait(attempts, e).as_millis().min(i64::MAX as u128) as i64
        };
        let done = self
            .db
            .call(move |conn| {
                if dead {
                    conn.execute(
                        "UPDATE send_queue SET state = 'dead', attempts = ?2, next_at = ?3, last_error = ?4,
                           claimed_until = NULL, recipient = NULL, subject = NULL, body = NULL, hint = NULL
                         WHERE id = ?1",
                        params![id, attempts, next_at, category],
                    )?;
                } else {
                    conn.execute(
                        "UPDATE send_queue SET attempts = ?2, next_at = ?3, last_error = ?4, claimed_until = NULL
                         WHERE id = ?1",
                        params![id, attempts, next_at, category],
                    )?;
                }
                Ok(())
            })
            .await;
        if done.is_err() {
            tracing::warn!("send queue: recording a failure failed");
        }
        if dead {
            Outcome::Dead
        } else {
            Outcome::Retried
        }
    }

    /// The wait before try `attempts + 1`: the provider's `Retry-After` when it gave one (up to
    /// a day), else the exponential backoff with ±20 % jitter.
    fn wait(&self, attempts: u32, e: &SendError) -> Duration {
        if let SendError::Retry {
            after: Some(after), ..
        } = e
        {
            return (*after).min(self.policy.max_retry_after);
        }
        backoff(&self.policy, attempts, rand::rng().random_range(0.8..=1.2))
    }

    /// Runs the worker until the task is aborted: each due row of a real provider is tried in
    /// its own task (local outbox rows are written by the request that queued them); it sleeps
    /// until woken by [`SendQueue::after_commit`] or `every`.
    pub fn spawn_worker(self, every: Duration) -> tokio::task::JoinHandle<()> {
        let remote = self.channels(false);
        tokio::spawn(async move {
            let mut tasks = tokio::task::JoinSet::new();
            loop {
                while tasks.try_join_next().is_some() {}
                match self.claim(&remote) {
                    Ok(rows) => {
                        for row in rows {
                            let q = self.clone();
                            tasks.spawn(async move {
                                q.deliver(row).await;
                            });
                        }
                    }
                    Err(_) => tracing::warn!("send queue: claiming rows failed"),
                }
                tokio::select! {
                    _ = self.wake.notified() => {}
                    _ = tokio::time::sleep(every) => {}
                }
            }
        })
    }
}

/// `base · 2^(attempts-1)`, at most `max_backoff`, times `jitter`.
pub fn backoff(policy: &RetryPolicy, attempts: u32, jitter: f64) -> Duration {
    let exp = attempts.saturating_sub(1).min(30);
    let raw = policy
        .base_backoff
        .saturating_mul(1u32 << exp)
        .min(policy.max_backoff);
    raw.mul_f64(jitter.clamp(0.5, 1.5))
}

/// Deletes dead rows older than [`DEAD_LETTER_DAYS`] (maintenance).
pub fn expire_dead(conn: &Connection, now: i64) -> rusqlite::Result<usize> {
    conn.execute(
        "DELETE FROM send_queue WHERE state = 'dead' AND next_at < ?1",
        [now - DEAD_LETTER_DAYS * 86_400_000],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let p = RetryPolicy::default();
        assert_eq!(backoff(&p, 1, 1.0), Duration::from_secs(30));
        assert_eq!(backoff(&p, 2, 1.0), Duration::from_secs(60));
        assert_eq!(backoff(&p, 4, 1.0), Duration::from_secs(240));
        assert_eq!(backoff(&p, 20, 1.0), Duration::from_secs(3600));
        assert_eq!(backoff(&p, 1, 1.2), Duration::from_secs(36));
    }
}
