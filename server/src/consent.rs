//! What consents and restrictions of processing let a guardian see, and what happens on the
//! devices when they change.
//!
//! - A photo may tag a child only while the child's `photos_internal` consent is granted
//!   ([`require_photo_consent`]); the same holds for the child's profile picture, which is
//!   deleted when that consent is withdrawn ([`crate::pictures`]).
//! - A guardian sees a photo when one of their children is tagged, every tagged child's
//!   `photos_internal` consent is granted, and every *other* tagged child has `photos_shared`
//!   granted and no guardian under an accepted restriction ([`photo_visible`], and the same
//!   rule in SQL for the feed: [`photo_blocked_sql`]).
//! - The messages of a guardian under an accepted restriction are seen by that guardian only.
//! - When a change takes an entity away from a guardian, that guardian alone gets a tombstone
//!   ([`crate::feed::hide`]); when it gives it back, the entity is stamped again ([`settle`]).

use crate::entities::{self, GuardianView};
use crate::error::{AppError, AppResult};
use crate::feed;
use axum::http::StatusCode;
use kidplan_api::ErrorCode;
use kidplan_api::sync::EntityKind;
use rusqlite::{Connection, params};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// SQL condition (one parameter `?1`: a guardian id): the guardian's restriction of processing
/// was accepted and is not lifted.
const RESTRICTED_SQL: &str = "SELECT 1 FROM privacy_requests
    WHERE guardian_id = ?1 AND right = 'restriction' AND status = 'completed' LIMIT 1";

/// True while an accepted restriction of processing of this guardian is in force.
pub fn restricted(conn: &Connection, guardian_id: &str) -> AppResult<bool> {
    let mut stmt = conn.prepare_cached(RESTRICTED_SQL)?;
    Ok(stmt.exists([guardian_id])?)
}

/// SQL condition: the photo `photo` (an SQL expression) may not be shown to a guardian whose
/// children are the JSON array `children` (an SQL expression).
pub fn photo_blocked_sql(photo: &str, children: &str) -> String {
    format!(
        "EXISTS (SELECT 1 FROM photo_children pb WHERE pb.photo_id = {photo} AND (
            NOT EXISTS (SELECT 1 FROM consents k WHERE k.child_id = pb.child_id
                        AND k.kind = 'photos_internal' AND k.state = 'granted')
            OR (pb.child_id NOT IN (SELECT value FROM json_each({children})) AND (
                NOT EXISTS (SELECT 1 FROM consents k WHERE k.child_id = pb.child_id
                            AND k.kind = 'photos_shared' AND k.state = 'granted')
                OR EXISTS (SELECT 1 FROM guardian_children gr JOIN privacy_requests r
                           ON r.guardian_id = gr.guardian_id
                           WHERE gr.child_id = pb.child_id AND r.right = 'restriction'
                           AND r.status = 'completed')))))"
    )
}

fn children_json(view: &GuardianView) -> String {
    serde_json::to_string(&view.children).unwrap_or_else(|_| "[]".to_owned())
}

/// True when the guardian may see the photo (see the module doc).
pub fn photo_visible(conn: &Connection, photo_id: &str, view: &GuardianView) -> AppResult<bool> {
    let sql = format!(
        "SELECT EXISTS (SELECT 1 FROM photo_children WHERE photo_id = ?1
                        AND child_id IN (SELECT value FROM json_each(?2)))
            AND NOT {}",
        photo_blocked_sql("?1", "?2")
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    Ok(stmt.query_row(params![photo_id, children_json(view)], |r| r.get(0))?)
}

/// True when a message sent by `sender_guardian` may be shown to `viewer`.
pub fn message_visible(
    conn: &Connection,
    sender_guardian: &str,
    viewer: &GuardianView,
) -> AppResult<bool> {
    Ok(sender_guardian == viewer.id || !restricted(conn, sender_guardian)?)
}

/// Refuses a photo that tags a child without a granted `photos_internal` consent: 409
/// `consent_required`, naming the first such child's id (never a name).
pub fn require_photo_consent(conn: &Connection, children: &[String]) -> AppResult<()> {
    let mut stmt = conn.prepare_cached(
        "SELECT 1 FROM consents WHERE child_id = ?1 AND kind = 'photos_internal' AND state = 'granted'",
    )?;
    for child in children {
        if !stmt.exists([child])? {
            return Err(AppError::new(
                StatusCode::CONFLICT,
                ErrorCode::ConsentRequired,
                format!("child {child} has no photo consent"),
            ));
        }
    }
    Ok(())
}

/// Who sees what: (kind, id) → guardian ids.
pub type Seen = HashMap<(EntityKind, String), BTreeSet<String>>;

/// Guardian views, loaded once per change.
#[derive(Default)]
struct Views(BTreeMap<String, GuardianView>);

impl Views {
    fn get(&mut self, conn: &Connection, id: &str) -> AppResult<&GuardianView> {
        if !self.0.contains_key(id) {
            self.0.insert(id.to_owned(), GuardianView::load(conn, id)?);
        }
        self.0
            .get(id)
            .ok_or_else(|| AppError::internal(&"guardian view"))
    }
}

/// Who sees each photo that tags one of `children` (the candidates: guardians of any tagged
/// child).
pub fn photo_viewers(conn: &Connection, children: &[String]) -> AppResult<Seen> {
    let mut views = Views::default();
    let mut out = Seen::new();
    for child in children {
        let photos = entities::strings(
            conn,
            "SELECT photo_id FROM photo_children WHERE child_id = ?1",
            child,
        )?;
        for photo in photos {
            if out.contains_key(&(EntityKind::Photo, photo.clone())) {
                continue;
            }
            let candidates = entities::strings(
                conn,
                "SELECT DISTINCT gc.guardian_id FROM photo_children pc JOIN guardian_children gc
                 ON gc.child_id = pc.child_id WHERE pc.photo_id = ?1",
                &photo,
            )?;
            let mut who = BTreeSet::new();
            for g in candidates {
                if photo_visible(conn, &photo, views.get(conn, &g)?)? {
                    who.insert(g);
                }
            }
            out.insert((EntityKind::Photo, photo), who);
        }
    }
    Ok(out)
}

/// Who sees what a restriction of `guardian_id` decides: the photos of their children and the
/// messages they sent.
pub fn restriction_viewers(conn: &Connection, guardian_id: &str) -> AppResult<Seen> {
    let children = entities::strings(
        conn,
        "SELECT child_id FROM guardian_children WHERE guardian_id = ?1",
        guardian_id,
    )?;
    let mut out = photo_viewers(conn, &children)?;
    let mut views = Views::default();
    let messages: Vec<(String, String)> = {
        let mut stmt = conn.prepare_cached(
            "SELECT id, thread_id FROM messages WHERE sender_kind = 'guardian' AND sender_id = ?1",
        )?;
        let rows = stmt.query_map([guardian_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<Result<_, _>>()?
    };
    for (message, thread) in messages {
        let audience = crate::push::recipients(conn, &crate::push::Audience::Thread(&thread))?;
        let mut who = BTreeSet::new();
        for g in audience.into_keys() {
            if message_visible(conn, guardian_id, views.get(conn, &g)?)? {
                who.insert(g);
            }
        }
        out.insert((EntityKind::Message, message), who);
    }
    Ok(out)
}

/// Tells the devices what a change of visibility did: a guardian who no longer sees an entity
/// gets a tombstone of their own; one who sees it again gets it stamped anew.
pub fn settle(conn: &Connection, before: &Seen, after: &Seen) -> AppResult<()> {
    let empty = BTreeSet::new();
    for (key, was) in before {
        let now = after.get(key).unwrap_or(&empty);
        for g in was.difference(now) {
            feed::hide(conn, g, key.0, &key.1)?;
        }
    }
    for (key, now) in after {
        let was = before.get(key).unwrap_or(&empty);
        let gained: Vec<&String> = now.difference(was).collect();
        if !gained.is_empty() {
            for g in gained {
                feed::unhide(conn, g, key.0, &key.1)?;
            }
            feed::touch(conn, key.0, &key.1)?;
        }
    }
    Ok(())
}

/// Sets a consent of a child (with its history) and settles what it changes on the devices.
/// `changed_by` is the guardian who changed it.
pub fn set_consent(
    conn: &Connection,
    child_id: &str,
    kind: &str,
    state: &str,
    changed_by: &str,
    now: i64,
) -> AppResult<String> {
    let existing: Option<(String, String)> = crate::db::opt(conn.query_row(
        "SELECT id, state FROM consents WHERE child_id = ?1 AND kind = ?2",
        params![child_id, kind],
        |r| Ok((r.get(0)?, r.get(1)?)),
    ))?;
    if let Some((id, old)) = &existing
        && old == state
    {
        return Ok(id.clone());
    }
    let photos = kind.starts_with("photos_");
    let children = [child_id.to_owned()];
    let before = if photos {
        photo_viewers(conn, &children)?
    } else {
        Seen::new()
    };
    let id = match existing {
        Some((id, _)) => {
            conn.execute(
                "UPDATE consents SET state = ?2 WHERE id = ?1",
                params![id, state],
            )?;
            id
        }
        None => {
            let id = crate::db::new_id();
            conn.execute(
                "INSERT INTO consents (id, child_id, kind, state) VALUES (?1, ?2, ?3, ?4)",
                params![id, child_id, kind, state],
            )?;
            id
        }
    };
    conn.execute(
        "INSERT INTO consent_history (consent_id, state, changed_by, changed_at) VALUES (?1, ?2, ?3, ?4)",
        params![id, state, changed_by, now],
    )?;
    feed::touch(conn, EntityKind::Consent, &id)?;
    if kind == "photos_internal" && state != "granted" {
        crate::pictures::consent_withdrawn(conn, child_id)?;
    }
    if photos {
        let after = photo_viewers(conn, &children)?;
        settle(conn, &before, &after)?;
    }
    Ok(id)
}
