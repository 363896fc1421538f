//! The durable outbox of parent actions.
//!
//! An action writes its outbox row and its optimistic local change in the same transaction
//! (see `actions`), so it shows at once, offline too. Each row carries an idempotency key made
//! when the parent acted and a target (absence id, thread id, ...): rows of one target are sent
//! in order. A transient failure (network, 5xx, 429) reschedules the row with exponential
//! backoff and jitter; another 4xx ends it as `Rejected { reason }` and rolls back an optimistic
//! edit (a rejected create stays visible, marked, until the parent dismisses it). A success
//! ends it as `Sent` and stores the server's answer in the cache.

use crate::auth::{Auth, Failure};
use crate::cache::{self, Effects};
use crate::client::HttpError;
use crate::config::Tuning;
use crate::error::{KidplanError, Result};
use crate::observers::Collection;
use crate::store::Store;
use kidplan_api::Timestamp;
use kidplan_api::sync::{Entity, EntityKind};
use reqwest::Method;
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};

/// What a queued action does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum OutboxKind {
    ReportAbsence,
    EditAbsence,
    WithdrawAbsence,
    RegisterHoliday,
    StartThread,
    SendMessage,
    MarkRead,
    ChangeConsent,
    UpdateContact,
    UpdateNotificationPreferences,
    RequestPrivacy,
    Unknown,
}

const KINDS: [(OutboxKind, &str); 11] = [
    (OutboxKind::ReportAbsence, "report_absence"),
    (OutboxKind::EditAbsence, "edit_absence"),
    (OutboxKind::WithdrawAbsence, "withdraw_absence"),
    (OutboxKind::RegisterHoliday, "register_holiday"),
    (OutboxKind::StartThread, "start_thread"),
    (OutboxKind::SendMessage, "send_message"),
    (OutboxKind::MarkRead, "mark_read"),
    (OutboxKind::ChangeConsent, "change_consent"),
    (OutboxKind::UpdateContact, "update_contact"),
    (
        OutboxKind::UpdateNotificationPreferences,
        "update_notification_preferences",
    ),
    (OutboxKind::RequestPrivacy, "request_privacy"),
];

impl OutboxKind {
    pub fn as_str(self) -> &'static str {
        KINDS
            .iter()
            .find(|(k, _)| *k == self)
            .map(|(_, s)| *s)
            .unwrap_or("unknown")
    }
    pub fn parse(s: &str) -> OutboxKind {
        KINDS
            .iter()
            .find(|(_, n)| *n == s)
            .map(|(k, _)| *k)
            .unwrap_or(OutboxKind::Unknown)
    }
    /// Whether the action creates the thing it targets (its rollback is a delete).
    pub fn creates(self) -> bool {
        matches!(
            self,
            OutboxKind::ReportAbsence
                | OutboxKind::RegisterHoliday
                | OutboxKind::StartThread
                | OutboxKind::SendMessage
                | OutboxKind::RequestPrivacy
        )
    }
}

/// Where a queued action stands.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum OutboxStatus {
    /// Waiting to be sent (or to be retried).
    Pending,
    /// The server accepted it.
    Sent,
    /// The server refused it; `reason` is the server's code and message.
    Rejected { reason: String },
}

/// A queued action as the shells see it.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct OutboxItem {
    /// Local sequence number (order of the parent's actions).
    pub id: i64,
    pub kind: OutboxKind,
    /// What the action is ordered by (absence id, thread id, ...).
    pub target: String,
    /// The id of the thing it creates or changes.
    pub entity_id: String,
    pub status: OutboxStatus,
    pub attempts: u32,
    /// Why the last attempt failed (a short code, no personal data).
    pub last_error: Option<String>,
    pub created_at: Timestamp,
    /// When it will be tried again, while pending.
    pub next_attempt_at: Option<Timestamp>,
}

/// How to roll back an optimistic local change.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Undo {
    pub kind: EntityKind,
    pub id: String,
    /// The row before the change; `None` when the action created it.
    pub prev: Option<serde_json::Value>,
}

/// A new outbox row.
pub struct NewItem {
    pub kind: OutboxKind,
    pub target: String,
    pub entity_id: String,
    pub method: Method,
    pub path: String,
    pub body: Option<String>,
    /// The entity kind of the server's answer, stored in the cache when sent.
    pub response_kind: Option<EntityKind>,
    pub undo: Option<Undo>,
}

/// Queues an item inside the caller's transaction; returns its sequence number.
pub fn enqueue(c: &Connection, item: NewItem) -> Result<i64> {
    let now = Timestamp::now().0;
    let undo = match item.undo {
        Some(u) => Some(serde_json::to_string(&u).map_err(|_| KidplanError::Internal)?),
        None => None,
    };
    c.execute(
        "INSERT INTO outbox (idem_key, kind, target, entity_id, method, path, body, response_kind,
                             undo, status, attempts, next_attempt_at, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'pending', 0, ?10, ?10)",
        params![
            uuid::Uuid::new_v4().to_string(),
            item.kind.as_str(),
            item.target,
            item.entity_id,
            item.method.as_str(),
            item.path,
            item.body,
            item.response_kind.map(|k| k.as_str()),
            undo,
            now
        ],
    )?;
    Ok(c.last_insert_rowid())
}

fn status_of(status: &str, reason: Option<String>) -> OutboxStatus {
    match status {
        "sent" => OutboxStatus::Sent,
        "rejected" => OutboxStatus::Rejected {
            reason: reason.unwrap_or_default(),
        },
        _ => OutboxStatus::Pending,
    }
}

/// Every item still of interest (pending, rejected, recently sent), oldest first.
pub fn list(c: &Connection) -> Result<Vec<OutboxItem>> {
    let mut st = c.prepare_cached(
        "SELECT seq, kind, target, entity_id, status, reason, attempts, last_error, created_at,
                next_attempt_at FROM outbox ORDER BY seq",
    )?;
    let rows = st.query_map([], |r| {
        let status: String = r.get(4)?;
        let pending = status == "pending";
        Ok(OutboxItem {
            id: r.get(0)?,
            kind: OutboxKind::parse(&r.get::<_, String>(1)?),
            target: r.get(2)?,
            entity_id: r.get(3)?,
            status: status_of(&status, r.get(5)?),
            attempts: r.get(6)?,
            last_error: r.get(7)?,
            created_at: Timestamp(r.get(8)?),
            next_attempt_at: if pending {
                Some(Timestamp(r.get(9)?))
            } else {
                None
            },
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Items not yet sent.
pub fn pending_count(c: &Connection) -> Result<u32> {
    Ok(c.query_row(
        "SELECT count(*) FROM outbox WHERE status = 'pending'",
        [],
        |r| r.get(0),
    )?)
}

/// When the earliest pending item is due (epoch ms).
pub fn next_due(c: &Connection) -> Result<Option<i64>> {
    Ok(c.query_row(
        "SELECT min(next_attempt_at) FROM outbox WHERE status = 'pending'",
        [],
        |r| r.get(0),
    )?)
}

/// Whether a pending item will still change this entity (sync must not overwrite it).
pub fn has_pending_for(c: &Connection, kind: EntityKind, id: &str) -> Result<bool> {
    // Called once per change while a sync page is applied: keep the statement prepared.
    let mut st = c.prepare_cached(
        "SELECT 1 FROM outbox WHERE status = 'pending' AND entity_id = ?1 AND response_kind = ?2
         LIMIT 1",
    )?;
    Ok(st
        .query_row([id, kind.as_str()], |_| Ok(()))
        .optional()?
        .is_some())
}

/// The local state of entities touched by the outbox: pending wins, else the latest rejection.
pub fn local_states(c: &Connection) -> Result<BTreeMap<String, OutboxStatus>> {
    let mut st = c.prepare_cached(
        "SELECT entity_id, status, reason FROM outbox WHERE status != 'sent' ORDER BY seq",
    )?;
    let rows = st.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, Option<String>>(2)?,
        ))
    })?;
    let mut out: BTreeMap<String, OutboxStatus> = BTreeMap::new();
    for row in rows {
        let (id, status, reason) = row?;
        let s = status_of(&status, reason);
        match out.get(&id) {
            Some(OutboxStatus::Pending) => {}
            _ => {
                out.insert(id, s);
            }
        }
    }
    Ok(out)
}

/// Removes a rejected item and rolls back what its action showed locally. `NotFound` for an
/// unknown or not-rejected item.
pub fn dismiss(c: &Connection, seq: i64, fx: &mut Effects) -> Result<()> {
    let row: Option<(String, Option<String>)> = c
        .query_row(
            "SELECT status, undo FROM outbox WHERE seq = ?1",
            [seq],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((status, undo)) = row else {
        return Err(KidplanError::NotFound);
    };
    if status != "rejected" {
        return Err(KidplanError::NotFound);
    }
    if let Some(u) = undo.and_then(|u| serde_json::from_str::<Undo>(&u).ok())
        && u.prev.is_none()
    {
        cache::delete(c, u.kind, &u.id, fx)?;
    }
    c.execute("DELETE FROM outbox WHERE seq = ?1", [seq])?;
    fx.touch(Collection::Outbox);
    Ok(())
}

/// Forgets sent items older than `keep_ms` and rejected ones older than 30 days.
pub fn prune(c: &Connection, keep_ms: i64) -> Result<()> {
    let now = Timestamp::now().0;
    c.execute(
        "DELETE FROM outbox WHERE status = 'sent' AND done_at < ?1",
        [now - keep_ms],
    )?;
    c.execute(
        "DELETE FROM outbox WHERE status = 'rejected' AND done_at < ?1",
        [now - 30 * 86_400_000],
    )?;
    Ok(())
}

/// The delay before attempt `attempts + 1`: base·2^(attempts-1), capped, with jitter (50-100 %).
pub fn backoff_ms(t: &Tuning, attempts: u32) -> i64 {
    let base = t.backoff_base.as_millis() as i64;
    let max = t.backoff_max.as_millis() as i64;
    let exp = base
        .saturating_mul(1i64 << attempts.saturating_sub(1).min(20))
        .min(max);
    let half = exp / 2;
    half + rand::random_range(0..=half.max(0))
}

/// What a flush did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct FlushReport {
    pub sent: u32,
    pub rejected: u32,
    pub pending: u32,
}

struct Row {
    seq: i64,
    key: String,
    kind: OutboxKind,
    target: String,
    method: String,
    path: String,
    body: Option<String>,
    response_kind: Option<String>,
    undo: Option<String>,
    attempts: u32,
    next_attempt_at: i64,
}

fn due_rows(c: &Connection) -> Result<Vec<Row>> {
    let mut st = c.prepare_cached(
        "SELECT seq, idem_key, kind, target, method, path, body, response_kind, undo, attempts,
                next_attempt_at FROM outbox WHERE status = 'pending' ORDER BY seq",
    )?;
    let rows = st.query_map([], |r| {
        Ok(Row {
            seq: r.get(0)?,
            key: r.get(1)?,
            kind: OutboxKind::parse(&r.get::<_, String>(2)?),
            target: r.get(3)?,
            method: r.get(4)?,
            path: r.get(5)?,
            body: r.get(6)?,
            response_kind: r.get(7)?,
            undo: r.get(8)?,
            attempts: r.get(9)?,
            next_attempt_at: r.get(10)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

fn kind_from_str(s: &str) -> Option<EntityKind> {
    EntityKind::ALL.into_iter().find(|k| k.as_str() == s)
}

/// Sends due items in order per target. `force` ignores backoff (the parent asked to sync).
/// Stops early when offline or rate limited; returns `SessionExpired` when the session ended.
pub async fn flush(
    store: &Store,
    auth: &Auth,
    me: &str,
    tuning: &Tuning,
    force: bool,
    fx: &mut Effects,
) -> Result<FlushReport> {
    let mut report = FlushReport::default();
    let rows = due_rows(&*store.conn()?)?;
    let mut blocked: HashSet<String> = HashSet::new();
    for row in rows {
        if blocked.contains(&row.target) {
            continue;
        }
        if !force && row.next_attempt_at > Timestamp::now().0 {
            blocked.insert(row.target.clone());
            continue;
        }
        let method =
            Method::from_bytes(row.method.as_bytes()).map_err(|_| KidplanError::Internal)?;
        let client = auth.client();
        let result = auth
            .call(|t| {
                let (m, b) = (method.clone(), row.body.clone());
                let (path, key) = (&row.path, &row.key);
                async move { client.send(m, path, Some(&t), Some(key), b).await }
            })
            .await;
        match result {
            Ok(bytes) => {
                store.write(|tx| mark_sent(tx, &row, &bytes, me, fx))?;
                report.sent += 1;
                tracing::debug!(kind = row.kind.as_str(), "outbox item sent");
            }
            Err(Failure::Http(e)) if e.is_transient() && !e.is_unauthorized() => {
                let now = Timestamp::now().0;
                let mut delay = backoff_ms(tuning, row.attempts + 1);
                if let HttpError::Status {
                    retry_after_s: Some(s),
                    ..
                } = &e
                {
                    delay = delay.max(i64::from(*s) * 1000);
                }
                store.write(|tx| {
                    tx.execute(
                        "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?2,
                                last_error = ?3 WHERE seq = ?1",
                        params![row.seq, now + delay, KidplanError::from(e.clone()).code()],
                    )?;
                    Ok(())
                })?;
                fx.touch(Collection::Outbox);
                blocked.insert(row.target.clone());
                if matches!(e, HttpError::Network)
                    || matches!(e, HttpError::Status { status: 429, .. })
                {
                    break;
                }
            }
            Err(Failure::Http(e)) if !e.is_unauthorized() => {
                let reason = e.reason();
                tracing::info!(kind = row.kind.as_str(), "outbox item rejected");
                store.write(|tx| mark_rejected(tx, &row, &reason, me, fx))?;
                report.rejected += 1;
            }
            Err(f) => return Err(f.into()),
        }
    }
    report.pending = pending_count(&*store.conn()?)?;
    Ok(report)
}

fn mark_sent(tx: &Connection, row: &Row, bytes: &[u8], me: &str, fx: &mut Effects) -> Result<()> {
    tx.execute(
        "UPDATE outbox SET status = 'sent', attempts = attempts + 1, done_at = ?2, last_error = NULL,
                undo = NULL, body = NULL WHERE seq = ?1",
        params![row.seq, Timestamp::now().0],
    )?;
    fx.touch(Collection::Outbox);
    // Store the server's answer unless a later pending item will change the entity again.
    let Some(kind) = row.response_kind.as_deref().and_then(kind_from_str) else {
        return Ok(());
    };
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        tracing::warn!("outbox answer is not JSON");
        return Ok(());
    };
    let Ok(Some(entity)) = Entity::decode(kind, &value) else {
        tracing::warn!(kind = kind.as_str(), "outbox answer does not decode");
        return Ok(());
    };
    let id = value.get("id").and_then(|v| v.as_str()).map(str::to_owned);
    if let Some(id) = id
        && has_pending_for(tx, kind, &id)?
    {
        return Ok(());
    }
    cache::upsert(tx, &entity, me, fx)
}

fn mark_rejected(
    tx: &Connection,
    row: &Row,
    reason: &str,
    me: &str,
    fx: &mut Effects,
) -> Result<()> {
    let reason: String = reason.chars().take(500).collect();
    tx.execute(
        "UPDATE outbox SET status = 'rejected', reason = ?2, attempts = attempts + 1, done_at = ?3,
                body = NULL WHERE seq = ?1",
        params![row.seq, reason, Timestamp::now().0],
    )?;
    fx.touch(Collection::Outbox);
    // An edit is rolled back to what it replaced; a create stays, marked, until dismissed.
    if !row.kind.creates()
        && let Some(u) = row
            .undo
            .as_deref()
            .and_then(|u| serde_json::from_str::<Undo>(u).ok())
        && let Some(prev) = u.prev
        && let Ok(Some(e)) = Entity::decode(u.kind, &prev)
    {
        cache::upsert(tx, &e, me, fx)?;
    }
    Ok(())
}
