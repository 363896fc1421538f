//! The sync change feed.
//!
//! The `changes` table holds one row per entity with its latest sequence number: writing an
//! entity re-stamps its row with the next number from a counter. Every tombstone is per
//! guardian, in `hidden`: deleting an entity gives one to each guardian whose feed shows it at
//! that moment ([`remove`]: only they may hold it), and turns its `changes` row into a marker
//! without scope that no feed shows (so another family or kindergarten learns nothing of how
//! many entities went, or when); an entity that still exists but that one guardian may no
//! longer see gets the same tombstone for that guardian alone ([`hide`], decided by
//! [`crate::consent`] and [`crate::responsibility`], and by [`crate::erasure`] for what an
//! erasure takes out of sight). Each row
//! also holds the ids that decide who sees it; the entity itself is read from its table for the
//! viewer when the page is built. Paging from cursor 0 therefore always yields the current
//! state, a snapshot.

use crate::app::AppState;
use crate::auth::GuardianCaller;
use crate::entities::{self, GuardianView};
use crate::error::{AppError, AppResult};
use crate::extract::ApiQuery;
use axum::Json;
use axum::extract::State;
use kidplan_api::reminders::REMINDER_SETTINGS_KIND;
use kidplan_api::sync::{
    Change, ChangeOp, DEFAULT_SYNC_LIMIT, EntityKind, MAX_SYNC_LIMIT, SyncQuery,
};
use rusqlite::{Connection, params};
use serde::Serialize;
use std::collections::HashSet;

/// Who may see a change: exactly one of the rules in [`VISIBLE`] applies per kind.
#[derive(Default, Debug)]
struct Scope {
    kindergarten_id: Option<String>,
    department_id: Option<String>,
    child_id: Option<String>,
    guardian_id: Option<String>,
}

/// The SQL (one parameter: the id) giving the scope columns of an entity.
fn scope_sql(kind: EntityKind) -> Option<&'static str> {
    use EntityKind as K;
    Some(match kind {
        K::Kindergarten => "SELECT id, NULL, NULL, NULL FROM kindergartens WHERE id = ?1",
        K::Department => "SELECT kindergarten_id, NULL, NULL, NULL FROM departments WHERE id = ?1",
        K::Child => "SELECT NULL, NULL, id, NULL FROM children WHERE id = ?1",
        K::Guardian | K::NotificationPreferences | K::ReminderSettings => {
            "SELECT NULL, NULL, NULL, id FROM guardians WHERE id = ?1"
        }
        K::Staff => "SELECT kindergarten_id, NULL, NULL, NULL FROM staff WHERE id = ?1",
        K::GuardianChild => {
            "SELECT NULL, NULL, child_id, NULL FROM guardian_children WHERE id = ?1"
        }
        K::LogEntry => "SELECT NULL, NULL, child_id, NULL FROM log_entries WHERE id = ?1",
        K::Thread => {
            "SELECT CASE WHEN broadcast = 1 THEN kindergarten_id END,
                    CASE WHEN broadcast = 1 THEN department_id END, child_id,
                    CASE WHEN broadcast = 0 AND child_id IS NULL THEN guardian_id END
             FROM threads WHERE id = ?1"
        }
        K::Message => {
            "SELECT CASE WHEN t.broadcast = 1 THEN t.kindergarten_id END,
                    CASE WHEN t.broadcast = 1 THEN t.department_id END, t.child_id,
                    CASE WHEN t.broadcast = 0 AND t.child_id IS NULL THEN t.guardian_id END
             FROM messages m JOIN threads t ON t.id = m.thread_id WHERE m.id = ?1"
        }
        K::Absence => "SELECT NULL, NULL, child_id, NULL FROM absences WHERE id = ?1",
        K::Holiday => "SELECT NULL, NULL, child_id, NULL FROM holidays WHERE id = ?1",
        K::Consent => "SELECT NULL, NULL, child_id, NULL FROM consents WHERE id = ?1",
        K::CalendarEvent => {
            "SELECT kindergarten_id, department_id, NULL, NULL FROM calendar_events WHERE id = ?1"
        }
        K::Document => {
            "SELECT CASE WHEN child_id IS NULL THEN kindergarten_id END, NULL, child_id, NULL
             FROM documents WHERE id = ?1"
        }
        // Photos are seen through their tags (photo_children), see VISIBLE.
        K::Photo => "SELECT NULL, NULL, NULL, NULL FROM photos WHERE id = ?1",
        K::Attendance => "SELECT NULL, NULL, child_id, NULL FROM attendance WHERE id = ?1",
        K::PickupPerson => "SELECT NULL, NULL, child_id, NULL FROM pickup_persons WHERE id = ?1",
        K::PrivacyRequest => {
            "SELECT NULL, NULL, NULL, guardian_id FROM privacy_requests WHERE id = ?1"
        }
        K::Unknown => return None,
    })
}

fn scope_of(conn: &Connection, kind: EntityKind, id: &str) -> AppResult<Option<Scope>> {
    let Some(sql) = scope_sql(kind) else {
        return Ok(None);
    };
    let mut stmt = conn.prepare_cached(sql)?;
    crate::db::opt(stmt.query_row([id], |r| {
        Ok(Scope {
            kindergarten_id: r.get(0)?,
            department_id: r.get(1)?,
            child_id: r.get(2)?,
            guardian_id: r.get(3)?,
        })
    }))
}

/// The feed's sequence number now: the last change written.
pub fn current_seq(conn: &Connection) -> AppResult<i64> {
    Ok(conn
        .query_row("SELECT value FROM meta WHERE key = 'seq'", [], |r| {
            r.get::<_, i64>(0)
        })
        .unwrap_or(0))
}

fn next_seq(conn: &Connection) -> AppResult<i64> {
    Ok(conn.query_row(
        "UPDATE meta SET value = value + 1 WHERE key = 'seq' RETURNING value",
        [],
        |r| r.get(0),
    )?)
}

fn stamp(conn: &Connection, kind: &str, id: &str, op: ChangeOp, scope: &Scope) -> AppResult<i64> {
    let seq = next_seq(conn)?;
    let op = if op == ChangeOp::Delete {
        "delete"
    } else {
        "upsert"
    };
    conn.prepare_cached(
        "INSERT INTO changes (entity, entity_id, seq, op, kindergarten_id, department_id, child_id, guardian_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (entity, entity_id) DO UPDATE SET seq = excluded.seq, op = excluded.op,
           kindergarten_id = excluded.kindergarten_id, department_id = excluded.department_id,
           child_id = excluded.child_id, guardian_id = excluded.guardian_id",
    )?
    .execute(params![
        kind,
        id,
        seq,
        op,
        scope.kindergarten_id,
        scope.department_id,
        scope.child_id,
        scope.guardian_id
    ])?;
    Ok(seq)
}

/// Records that an entity was created or changed (call after writing it, in the same
/// transaction).
pub fn touch(conn: &Connection, kind: EntityKind, id: &str) -> AppResult<()> {
    match scope_of(conn, kind, id)? {
        Some(scope) => stamp(conn, kind.as_str(), id, ChangeOp::Upsert, &scope).map(|_| ()),
        None => Err(AppError::internal(&format!(
            "touch of a missing {}",
            kind.as_str()
        ))),
    }
}

/// Records that an entity was deleted (call before deleting its row and the links that let
/// guardians see it): a tombstone without data for each guardian who sees it now, nothing for
/// anyone else.
pub fn remove(conn: &Connection, kind: EntityKind, id: &str) -> AppResult<()> {
    remove_kind(conn, kind.as_str(), id)
}

/// Records that an entity of a kind named by its wire name was deleted (kinds that are not
/// variants of [`EntityKind`], such as [`REMINDER_SETTINGS_KIND`]).
pub fn remove_kind(conn: &Connection, kind: &str, id: &str) -> AppResult<()> {
    for g in viewers(conn, kind, id)? {
        hide_kind(conn, &g, kind, id)?;
    }
    stamp(conn, kind, id, ChangeOp::Delete, &Scope::default()).map(|_| ())
}

/// Guardians who might see an entity by the scope of its `changes` row: the child's guardians,
/// the guardian (and for a guardian entity their co-guardians), the guardians of children of
/// the kindergarten, the guardians of children tagged on a photo. ?1 kind, ?2 id.
const CANDIDATES: &str = "
    SELECT gc.guardian_id FROM changes ch JOIN guardian_children gc ON gc.child_id = ch.child_id
     WHERE ch.entity = ?1 AND ch.entity_id = ?2
    UNION SELECT ch.guardian_id FROM changes ch
     WHERE ch.entity = ?1 AND ch.entity_id = ?2 AND ch.guardian_id IS NOT NULL
    UNION SELECT b.guardian_id FROM changes ch JOIN guardian_children a ON a.guardian_id = ch.guardian_id
      JOIN guardian_children b ON b.child_id = a.child_id
     WHERE ch.entity = ?1 AND ch.entity_id = ?2 AND ch.entity = 'guardian'
    UNION SELECT gc.guardian_id FROM changes ch JOIN children c ON c.kindergarten_id = ch.kindergarten_id
      JOIN guardian_children gc ON gc.child_id = c.id
     WHERE ch.entity = ?1 AND ch.entity_id = ?2
    UNION SELECT gc.guardian_id FROM photo_children pc JOIN guardian_children gc ON gc.child_id = pc.child_id
     WHERE ?1 = 'photo' AND pc.photo_id = ?2";

/// The guardians whose feed shows an entity now (as [`page`] decides: a visible row that renders
/// for them); they, and only they, may hold it on a device.
fn viewers(conn: &Connection, kind: &str, id: &str) -> AppResult<Vec<String>> {
    let candidates: Vec<String> = {
        let mut stmt = conn.prepare_cached(CANDIDATES)?;
        let rows = stmt.query_map(params![kind, id], |r| r.get::<_, String>(0))?;
        rows.collect::<Result<_, _>>()?
    };
    let mut out = Vec::new();
    for g in candidates {
        let view = GuardianView::load(conn, &g)?;
        if shows(conn, &view, kind, id)? {
            out.push(g);
        }
    }
    Ok(out)
}

/// True when the guardian's feed shows the entity now.
fn shows(conn: &Connection, view: &GuardianView, kind: &str, id: &str) -> AppResult<bool> {
    let sql = format!(
        "SELECT EXISTS (SELECT 1 FROM changes WHERE entity = ?6 AND entity_id = ?7 AND op = 'upsert' AND {})",
        visible_sql()
    );
    let [g, children, coguardians, kindergartens, departments] = visible_params(view);
    let visible: bool = conn.prepare_cached(&sql)?.query_row(
        params![
            g,
            children,
            coguardians,
            kindergartens,
            departments,
            kind,
            id,
            responsible_param(view)
        ],
        |r| r.get(0),
    )?;
    Ok(visible && render_for(conn, view, kind, id)?.is_some())
}

/// The viewer's parameter ?8 of [`VISIBLE`]: the children they have parental responsibility
/// for.
fn responsible_param(view: &GuardianView) -> String {
    serde_json::to_string(&view.responsible).unwrap_or_else(|_| "[]".to_owned())
}

/// The viewer's parameters ?1 to ?5 of [`VISIBLE`].
fn visible_params(view: &GuardianView) -> [String; 5] {
    let arr = |v: &Vec<String>| serde_json::to_string(v).unwrap_or_else(|_| "[]".to_owned());
    [
        view.id.clone(),
        arr(&view.children),
        arr(&view.coguardians),
        arr(&view.kindergartens),
        arr(&view.departments),
    ]
}

/// An entity as the viewer sees it (None: not for them, or gone).
fn render_for(
    conn: &Connection,
    view: &GuardianView,
    kind: &str,
    id: &str,
) -> AppResult<Option<serde_json::Value>> {
    if kind == REMINDER_SETTINGS_KIND {
        crate::reminders::render(conn, id, view)
    } else {
        entities::render(conn, entity_kind(kind), id, Some(view))
    }
}

/// Records that a guardian's own entity of a kind named by its wire name changed (seen by that
/// guardian only; the entity id is the guardian id).
pub fn touch_own(conn: &Connection, kind: &str, guardian_id: &str) -> AppResult<()> {
    let scope = Scope {
        guardian_id: Some(guardian_id.to_owned()),
        ..Scope::default()
    };
    stamp(conn, kind, guardian_id, ChangeOp::Upsert, &scope).map(|_| ())
}

/// A tombstone for one guardian only: the entity still exists, but this guardian may no
/// longer see it (see [`crate::consent`]).
pub fn hide(conn: &Connection, guardian_id: &str, kind: EntityKind, id: &str) -> AppResult<()> {
    hide_kind(conn, guardian_id, kind.as_str(), id)
}

/// [`hide`] for a kind named by its wire name.
pub fn hide_kind(conn: &Connection, guardian_id: &str, kind: &str, id: &str) -> AppResult<()> {
    let seq = next_seq(conn)?;
    conn.prepare_cached(
        "INSERT INTO hidden (guardian_id, entity, entity_id, seq) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (guardian_id, entity, entity_id) DO UPDATE SET seq = excluded.seq",
    )?
    .execute(params![guardian_id, kind, id, seq])?;
    Ok(())
}

/// What a guardian sees now: (wire kind, id) of every entity of their feed.
pub fn seen(conn: &Connection, guardian_id: &str) -> AppResult<HashSet<(String, String)>> {
    let view = GuardianView::load(conn, guardian_id)?;
    let (known, other) = snapshot(conn, &view)?;
    Ok(known
        .into_iter()
        .map(|c| (c.entity.as_str().to_owned(), c.id))
        .chain(other.into_iter().map(|c| (c.entity, c.id)))
        .collect())
}

/// Drops a guardian's own tombstone of an entity they may see again (stamp it afterwards).
pub fn unhide(conn: &Connection, guardian_id: &str, kind: EntityKind, id: &str) -> AppResult<()> {
    conn.prepare_cached(
        "DELETE FROM hidden WHERE guardian_id = ?1 AND entity = ?2 AND entity_id = ?3",
    )?
    .execute(params![guardian_id, kind.as_str(), id])?;
    Ok(())
}

/// Tombstones for every id a query (one string parameter) returns.
pub fn remove_all(
    conn: &Connection,
    kind: EntityKind,
    sql: &str,
    param: &str,
) -> AppResult<Vec<String>> {
    let ids = entities::strings(conn, sql, param)?;
    for id in &ids {
        remove(conn, kind, id)?;
    }
    Ok(ids)
}

/// Rows a guardian may see: ?1 guardian id, ?2 children, ?3 co-guardians, ?4 kindergartens,
/// ?5 departments, ?8 the children they have parental responsibility for (JSON arrays).
/// Tombstones (`op = 'delete'`) are never visible here: they reach guardians through `hidden`.
const VISIBLE: &str = "((child_id IS NOT NULL AND child_id IN (SELECT value FROM json_each(?2))
        AND __RESPONSIBILITY__)
    OR (child_id IS NULL AND guardian_id IS NOT NULL AND (
          (entity = 'guardian' AND guardian_id IN (SELECT value FROM json_each(?3)))
       OR (entity <> 'guardian' AND guardian_id = ?1)))
    OR (child_id IS NULL AND guardian_id IS NULL AND kindergarten_id IN (SELECT value FROM json_each(?4))
        AND (department_id IS NULL OR department_id IN (SELECT value FROM json_each(?5))))
    OR (entity = 'photo' AND op = 'upsert' AND EXISTS (SELECT 1 FROM photo_children pc
        WHERE pc.photo_id = changes.entity_id AND pc.child_id IN (SELECT value FROM json_each(?2)))
        AND NOT __PHOTO_BLOCKED__))";

/// [`VISIBLE`] with the photo rule of [`crate::consent`] and the parental responsibility rule
/// of [`crate::responsibility`] filled in.
fn visible_sql() -> String {
    VISIBLE
        .replace(
            "__PHOTO_BLOCKED__",
            &crate::consent::photo_blocked_sql("changes.entity_id", "?2"),
        )
        .replace(
            "__RESPONSIBILITY__",
            &crate::responsibility::withheld_sql("?8"),
        )
}

/// The feed's query: visible rows of `changes` and the guardian's own tombstones (`hidden`).
fn page_sql() -> String {
    let visible = visible_sql();
    format!(
        "SELECT seq, entity, entity_id, op FROM changes WHERE seq > ?6 AND {visible}
         UNION ALL SELECT seq, entity, entity_id, 'delete' FROM hidden WHERE guardian_id = ?1 AND seq > ?6
         ORDER BY seq LIMIT ?7"
    )
}

fn entity_kind(s: &str) -> EntityKind {
    serde_json::from_value(serde_json::Value::String(s.to_owned())).unwrap_or(EntityKind::Unknown)
}

/// One change as sent: like [`Change`], but its kind is the wire name, so kinds that clients
/// may not know yet ([`REMINDER_SETTINGS_KIND`]) travel too (old clients skip them).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FeedChange {
    pub seq: i64,
    pub entity: String,
    pub id: String,
    pub op: ChangeOp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<serde_json::Value>,
}

/// A page as sent (the shape of [`kidplan_api::sync::SyncPage`]).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FeedPage {
    pub changes: Vec<FeedChange>,
    pub cursor: i64,
    pub has_more: bool,
}

/// One page of the feed for a guardian: changes with `seq > cursor`, at most `limit`.
pub fn page(
    conn: &Connection,
    view: &GuardianView,
    cursor: i64,
    limit: u32,
) -> AppResult<FeedPage> {
    let mut stmt = conn.prepare_cached(&page_sql())?;
    let [g, children, coguardians, kindergartens, departments] = visible_params(view);
    let rows = stmt.query_map(
        params![
            g,
            children,
            coguardians,
            kindergartens,
            departments,
            cursor,
            i64::from(limit) + 1,
            responsible_param(view)
        ],
        |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
            ))
        },
    )?;
    let rows: Vec<_> = rows.collect::<Result<_, _>>()?;
    let has_more = rows.len() > limit as usize;
    let mut out = FeedPage {
        changes: Vec::new(),
        cursor,
        has_more,
    };
    for (seq, entity, id, op) in rows.into_iter().take(limit as usize) {
        out.cursor = seq;
        if op == "delete" {
            out.changes.push(FeedChange {
                seq,
                entity,
                id,
                op: ChangeOp::Delete,
                data: None,
            });
            continue;
        }
        if let Some(data) = render_for(conn, view, &entity, &id)? {
            out.changes.push(FeedChange {
                seq,
                entity,
                id,
                op: ChangeOp::Upsert,
                data: Some(data),
            });
        }
    }
    Ok(out)
}

/// Every entity the guardian currently sees (the feed from cursor 0 without tombstones), as
/// known kinds; kinds beyond [`EntityKind`] come back in the second list.
pub fn snapshot(
    conn: &Connection,
    view: &GuardianView,
) -> AppResult<(Vec<Change>, Vec<FeedChange>)> {
    let mut all = Vec::new();
    let mut other = Vec::new();
    let mut cursor = 0;
    loop {
        let p = page(conn, view, cursor, MAX_SYNC_LIMIT)?;
        for c in p.changes.into_iter().filter(|c| c.op == ChangeOp::Upsert) {
            match entity_kind(&c.entity) {
                EntityKind::Unknown => other.push(c),
                kind => all.push(Change {
                    seq: c.seq,
                    entity: kind,
                    id: c.id,
                    op: c.op,
                    data: c.data,
                }),
            }
        }
        if !p.has_more {
            return Ok((all, other));
        }
        cursor = p.cursor;
    }
}

/// `GET /v1/sync?cursor=C&limit=N`.
pub async fn sync(
    State(st): State<AppState>,
    caller: GuardianCaller,
    ApiQuery(q): ApiQuery<SyncQuery>,
) -> AppResult<Json<FeedPage>> {
    let limit = match q.limit {
        None => DEFAULT_SYNC_LIMIT,
        Some(0) => return Err(AppError::invalid("limit", "limit must be at least 1")),
        Some(n) if n > MAX_SYNC_LIMIT => {
            return Err(AppError::invalid("limit", "limit must be at most 1000"));
        }
        Some(n) => n,
    };
    if q.cursor < 0 {
        return Err(AppError::invalid("cursor", "cursor must not be negative"));
    }
    let cursor = q.cursor;
    let gid = caller.0.person_id.clone();
    let page = st
        .db
        .call(move |conn| {
            let view = GuardianView::load(conn, &gid)?;
            page(conn, &view, cursor, limit)
        })
        .await?;
    Ok(Json(page))
}
