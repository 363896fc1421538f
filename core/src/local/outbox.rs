//! The durable outbox of parent actions, as local state (sending is `crate::sender`'s).
//!
//! An action writes its outbox row, the entities it covers and its change to the parent's
//! view in the same transaction (see `local::actions`), so it shows at once, offline too. Each
//! row carries an idempotency key made when the parent acted and a target (absence id, thread
//! id, ...): rows of one target are sent in order. A transient failure reschedules the row with
//! exponential backoff and jitter ([`retry_later`]); a refusal ends it as
//! `Rejected { reason }` ([`mark_rejected`]); an acceptance ends it as `Sent` ([`mark_sent`]).
//! Either end settles the entities the action covered with the server's truth (`local::shadow`).

use crate::config::Tuning;
use crate::error::{Error, Result};
use crate::local::cache::{self, Effects, kind_named};
use crate::local::shadow;
use crate::local::shadow::FeedRange;
use crate::observers::Collection;
use kidplan_api::Timestamp;
use kidplan_api::sync::{Entity, EntityKind};
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::BTreeMap;

/// What a queued action does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum OutboxKind {
    /// Report an absence.
    ReportAbsence,
    /// Change an absence report.
    EditAbsence,
    /// Withdraw an absence report.
    WithdrawAbsence,
    /// Register a holiday.
    RegisterHoliday,
    /// Start a conversation.
    StartThread,
    /// Send a message in a conversation.
    SendMessage,
    /// Mark a conversation read.
    MarkRead,
    /// Give or withdraw a consent.
    ChangeConsent,
    /// Change the guardian's contact details.
    UpdateContact,
    /// Change the notification preferences.
    UpdateNotificationPreferences,
    /// Ask the kindergarten to act on a privacy right.
    RequestPrivacy,
    /// Change the reminder settings.
    UpdateReminderSettings,
    /// An action of a newer app version.
    Unknown,
}

const KINDS: [(OutboxKind, &str); 12] = [
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
    (
        OutboxKind::UpdateReminderSettings,
        "update_reminder_settings",
    ),
];

impl OutboxKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        KINDS
            .iter()
            .find(|(k, _)| *k == self)
            .map(|(_, s)| *s)
            .unwrap_or("unknown")
    }
    /// The kind of a stored name (`Unknown` for a name this build does not know).
    pub fn parse(s: &str) -> OutboxKind {
        KINDS
            .iter()
            .find(|(_, n)| *n == s)
            .map(|(k, _)| *k)
            .unwrap_or(OutboxKind::Unknown)
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
    /// The server refused it; the parent's view went back to the server's.
    Rejected {
        /// The server's stable code and message.
        reason: String,
    },
}

/// A queued action as the shells see it.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct OutboxItem {
    /// Local sequence number (order of the parent's actions).
    pub id: i64,
    /// What the action does.
    pub kind: OutboxKind,
    /// What the action is ordered by (absence id, thread id, ...).
    pub target: String,
    /// The id of the thing it creates or changes.
    pub entity_id: String,
    /// Where it stands.
    pub status: OutboxStatus,
    /// How many times it was tried.
    pub attempts: u32,
    /// Why the last attempt failed (a short code, no personal data).
    pub last_error: Option<String>,
    /// When the parent acted.
    pub created_at: Timestamp,
    /// When it will be tried again, while pending.
    pub next_attempt_at: Option<Timestamp>,
}

/// The HTTP methods a command uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verb {
    /// Create.
    Post,
    /// Replace.
    Put,
    /// Delete.
    Delete,
}

impl Verb {
    /// The method's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Verb::Post => "POST",
            Verb::Put => "PUT",
            Verb::Delete => "DELETE",
        }
    }
    fn parse(s: &str) -> Option<Verb> {
        [Verb::Post, Verb::Put, Verb::Delete]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// A new outbox row.
pub struct NewItem {
    /// What the action does.
    pub kind: OutboxKind,
    /// What it is ordered by.
    pub target: String,
    /// The id of the thing it creates or changes.
    pub entity_id: String,
    /// The command: method, path and JSON body.
    pub verb: Verb,
    /// The command's path.
    pub path: String,
    /// The command's JSON body.
    pub body: Option<String>,
    /// The entity kind of the server's answer, stored in the cache when sent.
    pub response_kind: Option<EntityKind>,
    /// The entities whose view the action changed (their server versions are held back until
    /// it ends).
    pub covers: Vec<(EntityKind, String)>,
}

/// Queues an item inside the caller's transaction; returns its sequence number.
pub fn enqueue(c: &Connection, item: NewItem) -> Result<i64> {
    let now = Timestamp::now().0;
    c.execute(
        "INSERT INTO outbox (idem_key, kind, target, entity_id, method, path, body, response_kind,
                             status, attempts, next_attempt_at, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'pending', 0, ?9, ?9)",
        params![
            uuid::Uuid::new_v4().to_string(),
            item.kind.as_str(),
            item.target,
            item.entity_id,
            item.verb.as_str(),
            item.path,
            item.body,
            item.response_kind.map(|k| k.as_str()),
            now
        ],
    )?;
    let seq = c.last_insert_rowid();
    for (kind, id) in &item.covers {
        c.prepare_cached(
            "INSERT OR IGNORE INTO outbox_covers (seq, kind, id) VALUES (?1, ?2, ?3)",
        )?
        .execute(params![seq, kind.as_str(), id])?;
    }
    Ok(seq)
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

/// The local state of the entities the outbox touched: pending wins, else the latest
/// rejection (shown until the parent dismisses it).
pub fn local_states(c: &Connection) -> Result<BTreeMap<String, OutboxStatus>> {
    let mut st = c.prepare_cached(
        "SELECT o.entity_id, o.status, o.reason FROM outbox o
         WHERE o.status IN ('pending', 'rejected')
         UNION ALL
         SELECT v.id, o.status, o.reason FROM outbox o JOIN outbox_covers v ON v.seq = o.seq
         WHERE o.status = 'pending'",
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
        if out.get(&id) != Some(&OutboxStatus::Pending) {
            out.insert(id, s);
        }
    }
    Ok(out)
}

/// Removes a rejected item (the parent has seen why). `NotFound` for an unknown or
/// not-rejected item.
pub fn dismiss(c: &Connection, seq: i64, fx: &mut Effects) -> Result<()> {
    let n = c.execute(
        "DELETE FROM outbox WHERE seq = ?1 AND status = 'rejected'",
        [seq],
    )?;
    if n == 0 {
        return Err(Error::NotFound);
    }
    fx.touch(Collection::Outbox);
    Ok(())
}

/// Forgets sent items older than `keep_ms` and rejected ones older than 30 days; how many.
pub fn prune(c: &Connection, keep_ms: i64) -> Result<usize> {
    let now = Timestamp::now().0;
    let sent = c.execute(
        "DELETE FROM outbox WHERE status = 'sent' AND done_at < ?1",
        [now - keep_ms],
    )?;
    let rejected = c.execute(
        "DELETE FROM outbox WHERE status = 'rejected' AND done_at < ?1",
        [now - 30 * 86_400_000],
    )?;
    Ok(sent + rejected)
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

/// A command's 2xx answer: its body, and where the sync feed stood around it (when the server
/// says).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Answer {
    /// The body.
    pub body: Vec<u8>,
    /// Where the feed stood before and after the command.
    pub feed: Option<FeedRange>,
}

/// A pending item, as the sender needs it.
#[derive(Clone, Debug)]
pub struct Due {
    /// Its sequence number.
    pub seq: i64,
    /// Its idempotency key.
    pub key: String,
    /// What it does.
    pub kind: OutboxKind,
    /// What it is ordered by.
    pub target: String,
    /// The command's method (`None`: stored by a newer build; never sent).
    pub verb: Option<Verb>,
    /// The command's path.
    pub path: String,
    /// The command's body.
    pub body: Option<String>,
    /// The kind of the server's answer.
    pub response_kind: Option<EntityKind>,
    /// Attempts so far.
    pub attempts: u32,
    /// When it is due (epoch ms).
    pub next_attempt_at: i64,
}

/// Every pending item, oldest first.
pub fn pending(c: &Connection) -> Result<Vec<Due>> {
    let mut st = c.prepare_cached(
        "SELECT seq, idem_key, kind, target, method, path, body, response_kind, attempts,
                next_attempt_at FROM outbox WHERE status = 'pending' ORDER BY seq",
    )?;
    let rows = st.query_map([], |r| {
        Ok(Due {
            seq: r.get(0)?,
            key: r.get(1)?,
            kind: OutboxKind::parse(&r.get::<_, String>(2)?),
            target: r.get(3)?,
            verb: Verb::parse(&r.get::<_, String>(4)?),
            path: r.get(5)?,
            body: r.get(6)?,
            response_kind: r.get::<_, Option<String>>(7)?.and_then(|k| kind_named(&k)),
            attempts: r.get(8)?,
            next_attempt_at: r.get(9)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Whether the item is still pending (it may have ended while its request was in flight, for
/// example after an account reset).
pub fn is_pending(c: &Connection, seq: i64) -> Result<bool> {
    Ok(c.query_row(
        "SELECT 1 FROM outbox WHERE seq = ?1 AND status = 'pending'",
        [seq],
        |_| Ok(()),
    )
    .optional()?
    .is_some())
}

/// A transient failure: tries again after `delay_ms`, noting the failure's code.
pub fn retry_later(c: &Connection, seq: i64, delay_ms: i64, code: &str) -> Result<()> {
    c.execute(
        "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?2, last_error = ?3
         WHERE seq = ?1 AND status = 'pending'",
        params![seq, Timestamp::now().0 + delay_ms, code],
    )?;
    Ok(())
}

/// The entities an item covers.
fn covers(c: &Connection, seq: i64) -> Result<Vec<(EntityKind, String)>> {
    let mut st = c.prepare_cached("SELECT kind, id FROM outbox_covers WHERE seq = ?1")?;
    let rows = st.query_map([seq], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (kind, id) = row?;
        if let Some(kind) = kind_named(&kind) {
            out.push((kind, id));
        }
    }
    Ok(out)
}

/// Ends an item's row: `Sent`, or `Rejected { reason }`. Returns the entities it covered.
fn finish(c: &Connection, seq: i64, rejected: Option<&str>) -> Result<Vec<(EntityKind, String)>> {
    let covered = covers(c, seq)?;
    match rejected {
        None => c.execute(
            "UPDATE outbox SET status = 'sent', attempts = attempts + 1, done_at = ?2,
                    last_error = NULL, body = NULL WHERE seq = ?1",
            params![seq, Timestamp::now().0],
        )?,
        Some(reason) => {
            let reason: String = reason.chars().take(500).collect();
            c.execute(
                "UPDATE outbox SET status = 'rejected', reason = ?2, attempts = attempts + 1,
                        done_at = ?3 WHERE seq = ?1",
                params![seq, reason, Timestamp::now().0],
            )?
        }
    };
    c.execute("DELETE FROM outbox_covers WHERE seq = ?1", [seq])?;
    Ok(covered)
}

/// The server accepted the item. Its answer, when it is the entity the item changes, and the
/// versions held back meanwhile settle what the item covered (the newer wins, see
/// `local::shadow`).
pub fn mark_sent(
    c: &Connection,
    item: &Due,
    answer: &Answer,
    me: &str,
    fx: &mut Effects,
) -> Result<()> {
    let mut covered = finish(c, item.seq, None)?;
    fx.touch(Collection::Outbox);
    let entity = item.response_kind.and_then(|kind| {
        match serde_json::from_slice::<serde_json::Value>(&answer.body)
            .ok()
            .map(|v| Entity::decode(kind, &v))
        {
            Some(Ok(Some(e))) => Some(e),
            _ => {
                tracing::warn!(kind = kind.as_str(), "outbox answer does not decode");
                None
            }
        }
    });
    let answered = match &entity {
        Some(e) => Some((e.kind(), cache::id_and_json(e)?.0)),
        None => None,
    };
    if let Some(a) = &answered
        && !covered.contains(a)
    {
        covered.push(a.clone());
    }
    for (kind, id) in covered {
        let this = entity
            .as_ref()
            .filter(|_| answered.as_ref() == Some(&(kind, id.clone())));
        shadow::settle_accepted(c, kind, &id, this, answer.feed, me, fx)?;
    }
    Ok(())
}

/// The server refused the item: it ends `Rejected { reason }` and the parent's view of what it
/// covered goes back to the server's.
pub fn mark_rejected(
    c: &Connection,
    item: &Due,
    reason: &str,
    me: &str,
    fx: &mut Effects,
) -> Result<()> {
    let covered = finish(c, item.seq, Some(reason))?;
    fx.touch(Collection::Outbox);
    for (kind, id) in covered {
        shadow::settle_rejected(c, kind, &id, me, fx)?;
    }
    Ok(())
}
