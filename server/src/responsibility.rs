//! Parental responsibility (foreldreansvar): what a guardian without it may see and do about a
//! child, and what happens on the devices when staff change it.
//!
//! The rule set (from the privacy notice and barneloven §§ 30, 47): decisions about the child
//! and what is kept about the child belong to those with parental responsibility; a parent
//! without it keeps the everyday information the kindergarten gives every parent. So, for a
//! child the guardian has no parental responsibility for:
//!
//! - withheld: the child's documents, the child's consents (neither seen nor changed), the
//!   child's free text (`Child.info`, sent empty), privacy requests naming the child;
//! - kept: the child's name, birth date and profile picture, attendance, absences, holidays,
//!   the daily log, photos (as consents allow), threads about the child, the calendar and
//!   broadcasts.
//!
//! Every check reads [`WITHHELD`] and the guardian's [`GuardianView::responsible`]: the feed
//! ([`withheld_sql`]), the per-viewer rendering ([`may_see`], [`child_for`]), file downloads and
//! the commands ([`require`]). Staff (manager or teacher, see [`crate::permissions`]) set it
//! with [`set`]; a guardian who loses it gets a tombstone of their own for each withheld entity
//! ([`crate::feed::hide`]), one who gets it back gets them stamped anew.

use crate::consent::{Seen, settle};
use crate::entities::{self, GuardianView};
use crate::error::{AppError, AppResult};
use crate::feed;
use axum::http::StatusCode;
use kidplan_api::ErrorCode;
use kidplan_api::model::{Child, GuardianChild};
use kidplan_api::sync::EntityKind;
use rusqlite::{Connection, params};
use std::collections::BTreeSet;

/// The kinds about a child that only a guardian with parental responsibility sees.
pub const WITHHELD: &[EntityKind] = &[EntityKind::Document, EntityKind::Consent];

/// True when `viewer` may see an entity of `kind` about `child` (`None`: about no child).
/// Staff (`viewer` `None`) see everything.
pub fn may_see(viewer: Option<&GuardianView>, kind: EntityKind, child: Option<&str>) -> bool {
    match (viewer, child) {
        (Some(v), Some(child)) if WITHHELD.contains(&kind) => responsible(v, child),
        _ => true,
    }
}

/// True when the guardian has parental responsibility for the child.
pub fn responsible(view: &GuardianView, child: &str) -> bool {
    view.responsible.iter().any(|c| c == child)
}

/// The child as `viewer` sees it: without the free text unless they have parental
/// responsibility.
pub fn child_for(viewer: Option<&GuardianView>, mut child: Child) -> Child {
    if let Some(v) = viewer
        && !responsible(v, child.id.as_str())
    {
        child.info = None;
    }
    child
}

/// Refuses an action about a child the guardian has no parental responsibility for: 403
/// `parental_responsibility_required`, naming the child's id (never a name).
pub fn require(view: &GuardianView, child: &str) -> AppResult<()> {
    if responsible(view, child) {
        return Ok(());
    }
    Err(AppError::new(
        StatusCode::FORBIDDEN,
        ErrorCode::ParentalResponsibilityRequired,
        format!("no parental responsibility for child {child}"),
    ))
}

/// SQL condition on a `changes` row for the feed: a withheld kind is visible only when its
/// child is in `responsible` (an SQL expression, a JSON array of child ids).
pub fn withheld_sql(responsible: &str) -> String {
    let kinds: Vec<String> = WITHHELD
        .iter()
        .map(|k| format!("'{}'", entities::enum_str(k)))
        .collect();
    format!(
        "(entity NOT IN ({}) OR child_id IN (SELECT value FROM json_each({responsible})))",
        kinds.join(", ")
    )
}

/// Who among `guardian` sees each withheld entity of `child` (the guardian or no one).
fn viewers(conn: &Connection, guardian: &str, child: &str) -> AppResult<Seen> {
    let view = GuardianView::load(conn, guardian)?;
    let mut who = BTreeSet::new();
    if responsible(&view, child) {
        who.insert(guardian.to_owned());
    }
    let mut out = Seen::new();
    for (kind, sql) in [
        (
            EntityKind::Document,
            "SELECT id FROM documents WHERE child_id = ?1",
        ),
        (
            EntityKind::Consent,
            "SELECT id FROM consents WHERE child_id = ?1",
        ),
    ] {
        for id in entities::strings(conn, sql, child)? {
            out.insert((kind, id), who.clone());
        }
    }
    Ok(out)
}

/// Sets whether the guardian of link `link_id` has parental responsibility for its child, and
/// settles what it changes on that guardian's devices. The link must be of a child of
/// `kindergarten_id` (another is `404`).
pub fn set(
    conn: &Connection,
    kindergarten_id: &str,
    link_id: &str,
    value: bool,
) -> AppResult<GuardianChild> {
    let link = entities::relation(conn, link_id)?.ok_or_else(AppError::not_found)?;
    crate::staff::kg_child(conn, kindergarten_id, link.child_id.as_str())?;
    if link.parental_responsibility == value {
        return Ok(link);
    }
    let (guardian, child) = (link.guardian_id.as_str(), link.child_id.as_str());
    let before = viewers(conn, guardian, child)?;
    conn.execute(
        "UPDATE guardian_children SET parental_responsibility = ?2 WHERE id = ?1",
        params![link_id, value],
    )?;
    feed::touch(conn, EntityKind::GuardianChild, link_id)?;
    feed::touch(conn, EntityKind::Child, child)?;
    let after = viewers(conn, guardian, child)?;
    settle(conn, &before, &after)?;
    entities::relation(conn, link_id)?.ok_or_else(AppError::not_found)
}
