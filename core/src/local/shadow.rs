//! The server's truth, held back while the parent's actions are pending.
//!
//! An action shows its change at once in the cache (the parent's view). From that moment until
//! the last pending action covering an entity ends, the server's own version of that entity is
//! kept apart in `server_copies`: first the version the cache held when the parent acted
//! ([`remember`]), then the newest version a sync brought ([`hold`]: an upsert, or a tombstone
//! as `None`). Nothing the server says is dropped, and the sync cursor may move on.
//!
//! When the last pending action on an entity ends ([`settle`]):
//! - rejected: the held server version replaces the parent's view (or the entity goes, when the
//!   server has none: a refused create, or an entity deleted meanwhile);
//! - accepted: the server's answer replaces both ([`accept`]); an entity the answer does not
//!   carry keeps the parent's view until the sync feed brings the server's (the accepted
//!   command is in the feed after the cursor).
//!
//! So once the outbox is empty and a sync completes, the cache equals the server's view.
//! Which entities an action covers is recorded with it (`outbox_covers`, see `local::outbox`).

use crate::error::{Error, Result};
use crate::local::cache::{self, Effects};
use kidplan_api::sync::{Entity, EntityKind};
use rusqlite::{Connection, OptionalExtension, params};

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

/// Whether a server version of the entity is held back.
fn held(c: &Connection, kind: EntityKind, id: &str) -> Result<Option<Option<String>>> {
    Ok(
        c.prepare_cached("SELECT data FROM server_copies WHERE kind = ?1 AND id = ?2")?
            .query_row(params![kind.as_str(), id], |r| {
                r.get::<_, Option<String>>(0)
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
    c.prepare_cached("INSERT INTO server_copies (kind, id, data) VALUES (?1, ?2, ?3)")?
        .execute(params![kind.as_str(), id, current])?;
    Ok(())
}

/// A sync brought a newer server version (`None`: a tombstone) of a covered entity.
pub fn hold(c: &Connection, kind: EntityKind, id: &str, data: Option<&str>) -> Result<()> {
    c.prepare_cached(
        "INSERT INTO server_copies (kind, id, data) VALUES (?1, ?2, ?3)
         ON CONFLICT (kind, id) DO UPDATE SET data = excluded.data",
    )?
    .execute(params![kind.as_str(), id, data])?;
    Ok(())
}

/// An entity went with something it belonged to (a child's absence when the child is
/// tombstoned): if a version is held, the server no longer has it either.
pub fn gone(c: &Connection, kind: EntityKind, id: &str) -> Result<()> {
    c.prepare_cached("UPDATE server_copies SET data = NULL WHERE kind = ?1 AND id = ?2")?
        .execute(params![kind.as_str(), id])?;
    Ok(())
}

/// The server accepted an action and answered with `entity`: it is the server's version now.
/// Shown at once unless another pending action still covers it (then held for it).
pub fn accept(c: &Connection, entity: &Entity, me: &str, fx: &mut Effects) -> Result<()> {
    let kind = entity.kind();
    let (id, data) = cache::id_and_json(entity)?;
    if covered(c, kind, &id)? {
        return hold(c, kind, &id, Some(&data));
    }
    forget(c, kind, &id)?;
    cache::upsert(c, entity, me, fx)
}

/// No pending action covers the entity any more; `rejected` says how the last one ended.
/// Rejected: the held server version replaces the parent's view. Accepted: the parent's view
/// stays until the feed brings the server's. Either way the held copy is dropped.
pub fn settle(
    c: &Connection,
    kind: EntityKind,
    id: &str,
    rejected: bool,
    me: &str,
    fx: &mut Effects,
) -> Result<()> {
    if covered(c, kind, id)? {
        return Ok(());
    }
    let Some(copy) = held(c, kind, id)? else {
        return Ok(());
    };
    forget(c, kind, id)?;
    if !rejected {
        return Ok(());
    }
    match copy {
        None => cache::delete(c, kind, id, fx),
        Some(data) => {
            let value: serde_json::Value = serde_json::from_str(&data)?;
            match Entity::decode(kind, &value) {
                Ok(Some(e)) => cache::upsert(c, &e, me, fx),
                // A version this build cannot read: drop the parent's view rather than keep it.
                _ => cache::delete(c, kind, id, fx),
            }
        }
    }
}

fn forget(c: &Connection, kind: EntityKind, id: &str) -> Result<()> {
    c.prepare_cached("DELETE FROM server_copies WHERE kind = ?1 AND id = ?2")?
        .execute(params![kind.as_str(), id])?;
    Ok(())
}

/// How many server versions are held back (for tests and status).
pub fn held_count(c: &Connection) -> Result<u32> {
    c.query_row("SELECT count(*) FROM server_copies", [], |r| r.get(0))
        .map_err(Error::from)
}
