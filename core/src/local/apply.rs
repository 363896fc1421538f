//! Applying a page of the sync feed to the local state, inside the caller's transaction: each
//! upsert or tombstone goes to the cache, except for an entity a pending action covers, whose
//! server version is held back (`local::shadow`) until that action ends. The page's cursor is
//! stored in the same transaction. Unknown entity kinds, unknown ops and entities that do not
//! decode are skipped (counted), never fatal.

use crate::error::Result;
use crate::local::cache::{self, Effects};
use crate::local::shadow;
use crate::local::store::{get_meta, set_meta};
use kidplan_api::sync::{ChangeOp, Entity, SyncPage};
use rusqlite::Connection;

/// What applying pages did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct SyncReport {
    /// Pages applied.
    pub pages: u32,
    /// Changes applied to the cache (upserts and deletes).
    pub applied: u32,
    /// Server versions held back because one of the parent's actions on them is pending (they
    /// are shown when it ends).
    pub held_back: u32,
    /// Changes skipped (unknown kind or op, or an entity that does not decode).
    pub skipped: u32,
    /// Outbox items sent by this sync.
    pub sent: u32,
    /// Outbox items the server refused in this sync.
    pub rejected: u32,
    /// Outbox items still pending after it.
    pub pending: u32,
}

/// The stored cursor (0 before the first sync).
pub fn cursor(c: &Connection) -> Result<i64> {
    Ok(get_meta(c, "cursor")?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0))
}

/// Applies one page and stores its cursor, inside the caller's transaction.
pub fn apply_page(
    c: &Connection,
    page: &SyncPage,
    me: &str,
    report: &mut SyncReport,
    fx: &mut Effects,
) -> Result<()> {
    // Whether any pending action covers anything: when none does (the usual case), no change
    // of the page needs its own look-up.
    let any_covered = shadow::any_covered(c)?;
    let covered = |kind, id: &str| -> Result<bool> {
        if any_covered {
            shadow::covered(c, kind, id)
        } else {
            Ok(false)
        }
    };
    for ch in &page.changes {
        let Some(_) = cache::table(ch.entity) else {
            report.skipped += 1;
            continue;
        };
        match ch.op {
            ChangeOp::Delete => {
                if covered(ch.entity, &ch.id)? {
                    shadow::hold(c, ch.entity, &ch.id, None, ch.seq)?;
                    report.held_back += 1;
                    continue;
                }
                cache::delete(c, ch.entity, &ch.id, fx)?;
                report.applied += 1;
            }
            ChangeOp::Upsert => {
                let decoded = ch.data.as_ref().map(|d| Entity::decode(ch.entity, d));
                let Some(Ok(Some(e))) = decoded else {
                    tracing::warn!(
                        seq = ch.seq,
                        kind = ch.entity.as_str(),
                        "undecodable change skipped"
                    );
                    report.skipped += 1;
                    continue;
                };
                let row = cache::Row::of(&e, me)?;
                if covered(ch.entity, &row.id)? {
                    shadow::hold(c, ch.entity, &row.id, Some(&row.data), ch.seq)?;
                    report.held_back += 1;
                    continue;
                }
                cache::put(c, &row, fx)?;
                report.applied += 1;
            }
            ChangeOp::Unknown => report.skipped += 1,
        }
    }
    set_meta(c, "cursor", &page.cursor.to_string())?;
    Ok(())
}
