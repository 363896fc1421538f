//! The server's truth, held back while the parent's actions are pending.
//!
//! An action shows its change at once in the cache (the parent's view). From that moment until
//! the last pending action covering an entity ends, the server's own version of that entity is
//! kept apart in `server_copies`: first the version the cache held when the parent acted
//! ([`remember`]), then the newest version a sync brought ([`hold`]: an upsert, or a tombstone
//! as `None`, with its feed sequence number). Nothing the server says is dropped, and the sync
//! cursor may move on.
//!
//! When the last pending action on an entity ends:
//! - rejected ([`settle_rejected`]): the held server version replaces the parent's view (or the
//!   entity goes, when the server has none: a refused create, or an entity deleted meanwhile);
//! - accepted ([`settle_accepted`]): the newer of the server's answer and the held version
//!   wins. The answer says where the feed stood before and after the command ran
//!   ([`FeedRange`]): a held version from after the command committed is newer than the
//!   answer (a retried command whose first answer was lost replays that first answer); for an
//!   entity the answer does not carry, a held version from after the command began shows its
//!   effect. Otherwise the parent's view stays until the feed brings the server's (the command
//!   is in the feed after the cursor).
//!
//! So once the outbox is empty and a sync completes, the cache equals the server's view.
//! Which entities an action covers is recorded with it (`outbox_covers`, see `local::outbox`).

use crate::error::{Error, Result};
use crate::local::cache::{self, Effects};
use kidplan_api::sync::{Entity, EntityKind};
use rusqlite::{Connection, OptionalExtension, params};

/// Where the sync feed stood before a command ran and after it committed (the server's
/// sequence numbers; see `kidplan_api::FEED_RANGE_HEADER`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FeedRange {
    /// The feed's last sequence number before the command.
    pub before: i64,
    /// The feed's last sequence number once the command committed.
    pub after: i64,
}

impl FeedRange {
    /// Parses `<before> <after>`; `None` for anything else.
    pub fn parse(v: &str) -> Option<FeedRange> {
        let (b, a) = v.trim().split_once(' ')?;
        let (before, after) = (b.parse().ok()?, a.parse().ok()?);
        (0 <= before && before <= after).then_some(FeedRange { before, after })
    }
}

/// A held server version: its JSON (`None`: absent on the server) and its feed sequence number
/// (`None`: the version the cache held when the parent acted).
struct Held {
    data: Option<String>,
    seq: Option<i64>,
}

/// Whether a pending action covers the entity (sync must not overwrite the parent's view).
pub fn covered(c: &Connection, kind: EntityKind, id: &str) -> Result<bool> {
    // Called once per change while a sync page is applied: keep the statement prepared.
    let mut st = c.prepare_cached(
        "SELECT 1 FROM outbox_covers v JOIN outbox o ON o.seq = v.seq
         WHERE v.kind = ?1 AND v.id = ?2 AND o.status = 'pending' LIMIT 1",
    )?;
    Ok(st
        .query_row(params![kind.as_str(), id], |_| Ok(()))
        .optional()?
        .is_some())
}

/// Whether any pending action covers an entity at all (rows of `outbox_covers` exist only
/// while their action is pending).
pub fn any_covered(c: &Connection) -> Result<bool> {
    Ok(
        c.prepare_cached("SELECT EXISTS (SELECT 1 FROM outbox_covers)")?
            .query_row([], |r| r.get(0))?,
    )
}

fn held(c: &Connection, kind: EntityKind, id: &str) -> Result<Option<Held>> {
    Ok(
        c.prepare_cached("SELECT data, seq FROM server_copies WHERE kind = ?1 AND id = ?2")?
            .query_row(params![kind.as_str(), id], |r| {
                Ok(Held {
                    data: r.get(0)?,
                    seq: r.get(1)?,
                })
            })
            .optional()?,
    )
}

/// Before the parent changes an entity locally: keeps the server's version (the cached row,
/// or "absent") unless one is already held (an earlier pending action kept it).
pub fn remember(c: &Connection, kind: EntityKind, id: &str) -> Result<()> {
    if held(c, kind, id)?.is_some() {
        return Ok(());
    }
    let current = cache::get_json(c, kind, id)?;
    c.prepare_cached("INSERT INTO server_copies (kind, id, data, seq) VALUES (?1, ?2, ?3, NULL)")?
        .execute(params![kind.as_str(), id, current])?;
    Ok(())
}

/// A sync brought version `seq` (`data` `None`: a tombstone) of a covered entity.
pub fn hold(
    c: &Connection,
    kind: EntityKind,
    id: &str,
    data: Option<&str>,
    seq: i64,
) -> Result<()> {
    c.prepare_cached(
        "INSERT INTO server_copies (kind, id, data, seq) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (kind, id) DO UPDATE SET data = excluded.data, seq = excluded.seq",
    )?
    .execute(params![kind.as_str(), id, data, seq])?;
    Ok(())
}

/// An entity went with something it belonged to (a child's absence when the child is
/// tombstoned): if a version is held, the server no longer has it either.
pub fn gone(c: &Connection, kind: EntityKind, id: &str) -> Result<()> {
    c.prepare_cached("UPDATE server_copies SET data = NULL WHERE kind = ?1 AND id = ?2")?
        .execute(params![kind.as_str(), id])?;
    Ok(())
}

fn forget(c: &Connection, kind: EntityKind, id: &str) -> Result<()> {
    c.prepare_cached("DELETE FROM server_copies WHERE kind = ?1 AND id = ?2")?
        .execute(params![kind.as_str(), id])?;
    Ok(())
}

/// Shows a held version: the entity as the server has it, or gone.
fn show(
    c: &Connection,
    kind: EntityKind,
    id: &str,
    data: Option<&str>,
    me: &str,
    fx: &mut Effects,
) -> Result<()> {
    let Some(data) = data else {
        return cache::delete(c, kind, id, fx);
    };
    let value: serde_json::Value = serde_json::from_str(data)?;
    match Entity::decode(kind, &value) {
        Ok(Some(e)) => cache::upsert(c, &e, me, fx),
        // A version this build cannot read: drop the parent's view rather than keep it.
        _ => cache::delete(c, kind, id, fx),
    }
}

/// The last pending action on the entity was refused: the held server version replaces the
/// parent's view. Nothing happens while another pending action still covers it.
pub fn settle_rejected(
    c: &Connection,
    kind: EntityKind,
    id: &str,
    me: &str,
    fx: &mut Effects,
) -> Result<()> {
    if covered(c, kind, id)? {
        return Ok(());
    }
    let Some(h) = held(c, kind, id)? else {
        return Ok(());
    };
    forget(c, kind, id)?;
    show(c, kind, id, h.data.as_deref(), me, fx)
}

/// An action covering the entity was accepted; `answer` is the server's answer when it is this
/// entity, `feed` where the feed stood around the command. See the module doc for which
/// version wins.
pub fn settle_accepted(
    c: &Connection,
    kind: EntityKind,
    id: &str,
    answer: Option<&Entity>,
    feed: Option<FeedRange>,
    me: &str,
    fx: &mut Effects,
) -> Result<()> {
    let h = held(c, kind, id)?;
    let seq = |h: &Held| h.seq.unwrap_or(i64::MIN);
    let answer_is_older = |h: &Held| feed.is_some_and(|f| seq(h) > f.after);
    if covered(c, kind, id)? {
        // Still the parent's view; the answer becomes the held version unless that is newer.
        if let Some(e) = answer
            && !h.as_ref().is_some_and(answer_is_older)
        {
            let (_, data) = cache::id_and_json(e)?;
            let at = feed.map_or(i64::MIN, |f| f.after);
            hold(c, kind, id, Some(&data), at)?;
        }
        return Ok(());
    }
    forget(c, kind, id)?;
    match (answer, h) {
        (Some(_), Some(h)) if answer_is_older(&h) => show(c, kind, id, h.data.as_deref(), me, fx),
        (Some(e), _) => cache::upsert(c, e, me, fx),
        (None, Some(h)) if feed.is_some_and(|f| seq(&h) > f.before) => {
            show(c, kind, id, h.data.as_deref(), me, fx)
        }
        (None, _) => Ok(()),
    }
}

/// How many server versions are held back (for tests and status).
pub fn held_count(c: &Connection) -> Result<u32> {
    c.query_row("SELECT count(*) FROM server_copies", [], |r| r.get(0))
        .map_err(Error::from)
}
