//! The local view of synced entities: one table per entity kind, each row the entity's JSON
//! plus a few indexed columns. Upserts and deletes (with their cascades) are written here, by
//! sync and by the outbox, always inside a caller's transaction. A delete also tells
//! `local::shadow` that the entities it took with it are gone on the server too.
//!
//! Row shape: `id, child_id, ref_id, who, at, at2, flag, data`. `child_id` is the child the
//! row is about, `ref_id` a parent row (thread, kindergarten, ...), `who` the person who wrote
//! it, `at`/`at2` sort or range keys in epoch ms, `flag` 1 for an unread message.

use crate::error::Result;
use crate::local::{file_index, shadow};
use crate::observers::Collection;
use kidplan_api::model::*;
use kidplan_api::sync::{Entity, EntityKind};
use kidplan_api::{Day, PictureId, Timestamp};
use rusqlite::{Connection, OptionalExtension, params};
use serde::de::DeserializeOwned;
use std::collections::BTreeSet;

/// What a write changed: collections to announce and cached file names to unlink after commit.
#[derive(Debug, Default)]
pub struct Effects {
    /// The collections to announce.
    pub collections: BTreeSet<Collection>,
    /// Names of cached files to unlink after the commit.
    pub files: Vec<String>,
    /// Something was deleted: its old pages may linger in the WAL until a checkpoint.
    pub deleted: bool,
    /// A person (child, guardian, staff member) or a photo went: the database is rewritten
    /// (`VACUUM`), so no free page or unused part of a page keeps a copy of their data.
    pub erased: bool,
}

impl Effects {
    /// Notes that `c` changed.
    pub fn touch(&mut self, c: Collection) {
        self.collections.insert(c);
    }
    /// Adds another write's effects.
    pub fn merge(&mut self, other: Effects) {
        self.collections.extend(other.collections);
        self.files.extend(other.files);
        self.deleted |= other.deleted;
        self.erased |= other.erased;
    }
}

/// The table of an entity kind; `None` for `Unknown`.
pub fn table(kind: EntityKind) -> Option<&'static str> {
    Some(match kind {
        EntityKind::Kindergarten => "kindergartens",
        EntityKind::Department => "departments",
        EntityKind::Child => "children",
        EntityKind::Guardian => "guardians",
        EntityKind::Staff => "staff",
        EntityKind::GuardianChild => "guardian_children",
        EntityKind::LogEntry => "log_entries",
        EntityKind::Thread => "threads",
        EntityKind::Message => "messages",
        EntityKind::Absence => "absences",
        EntityKind::Holiday => "holidays",
        EntityKind::Consent => "consents",
        EntityKind::CalendarEvent => "calendar_events",
        EntityKind::Document => "documents",
        EntityKind::Photo => "photos",
        EntityKind::Attendance => "attendance",
        EntityKind::PickupPerson => "pickup_persons",
        EntityKind::NotificationPreferences => "notification_preferences",
        EntityKind::PrivacyRequest => "privacy_requests",
        EntityKind::ReminderSettings => "reminder_settings",
        EntityKind::Unknown => return None,
    })
}

/// The entity kind stored under `name` (`None` for a name this build does not know).
pub fn kind_named(name: &str) -> Option<EntityKind> {
    EntityKind::ALL.into_iter().find(|k| k.as_str() == name)
}

/// Every entity table.
pub fn all_tables() -> impl Iterator<Item = &'static str> {
    EntityKind::ALL.into_iter().filter_map(table)
}

/// The collection a kind belongs to.
pub fn collection(kind: EntityKind) -> Collection {
    match kind {
        EntityKind::Kindergarten | EntityKind::Department => Collection::Account,
        EntityKind::Child => Collection::Children,
        EntityKind::Guardian | EntityKind::GuardianChild => Collection::Guardians,
        EntityKind::Staff => Collection::Staff,
        EntityKind::LogEntry => Collection::ChildLog,
        EntityKind::Thread => Collection::Threads,
        EntityKind::Message => Collection::Messages,
        EntityKind::Absence => Collection::Absences,
        EntityKind::Holiday => Collection::Holidays,
        EntityKind::Consent => Collection::Consents,
        EntityKind::CalendarEvent => Collection::Calendar,
        EntityKind::Document => Collection::Documents,
        EntityKind::Photo => Collection::Photos,
        EntityKind::Attendance => Collection::Attendance,
        EntityKind::PickupPerson => Collection::PickupPersons,
        EntityKind::NotificationPreferences => Collection::NotificationPreferences,
        EntityKind::PrivacyRequest => Collection::PrivacyRequests,
        EntityKind::ReminderSettings => Collection::Reminders,
        EntityKind::Unknown => Collection::Account,
    }
}

/// Midnight UTC of a day, in epoch ms.
pub fn day_ms(d: Day) -> i64 {
    d.0.and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc().timestamp_millis())
        .unwrap_or(0)
}

#[derive(Default)]
struct Cols {
    child_id: Option<String>,
    ref_id: Option<String>,
    who: Option<String>,
    at: Option<i64>,
    at2: Option<i64>,
    flag: bool,
}

fn sender_id(s: &Sender) -> &str {
    match s {
        Sender::Guardian { id } => id.as_str(),
        Sender::Staff { id } => id.as_str(),
    }
}

fn s(x: &impl ToString) -> Option<String> {
    Some(x.to_string())
}

/// The id and indexed columns of an entity, and its JSON.
fn shape(e: &Entity, me: &str) -> serde_json::Result<(String, Cols, String)> {
    match e {
        Entity::Kindergarten(x) => Cols::default().row(&x.id, x),
        Entity::Department(x) => Cols {
            ref_id: s(&x.kindergarten_id),
            ..Default::default()
        }
        .row(&x.id, x),
        Entity::Child(x) => Cols {
            child_id: s(&x.id),
            ref_id: s(&x.department_id),
            ..Default::default()
        }
        .row(&x.id, x),
        Entity::Guardian(x) => Cols::default().row(&x.id, x),
        Entity::Staff(x) => Cols {
            ref_id: x.department_id.as_ref().map(|d| d.to_string()),
            ..Default::default()
        }
        .row(&x.id, x),
        Entity::GuardianChild(x) => Cols {
            child_id: s(&x.child_id),
            ref_id: s(&x.guardian_id),
            who: s(&x.guardian_id),
            ..Default::default()
        }
        .row(&x.id, x),
        Entity::LogEntry(x) => Cols {
            child_id: s(&x.child_id),
            who: s(&x.author_id),
            at: Some(x.at.0),
            ..Default::default()
        }
        .row(&x.id, x),
        Entity::Thread(x) => Cols {
            child_id: x.child_id.as_ref().map(|c| c.to_string()),
            ref_id: s(&x.kindergarten_id),
            at: Some(x.created_at.0),
            ..Default::default()
        }
        .row(&x.id, x),
        Entity::Message(x) => Cols {
            ref_id: s(&x.thread_id),
            who: Some(sender_id(&x.sender).to_owned()),
            at: Some(x.sent_at.0),
            flag: x.read_at.is_none() && sender_id(&x.sender) != me,
            ..Default::default()
        }
        .row(&x.id, x),
        Entity::Absence(x) => Cols {
            child_id: s(&x.child_id),
            who: s(&x.reported_by),
            at: Some(day_ms(x.first_day)),
            at2: Some(day_ms(x.last_day)),
            ..Default::default()
        }
        .row(&x.id, x),
        Entity::Holiday(x) => Cols {
            child_id: s(&x.child_id),
            who: s(&x.registered_by),
            at: Some(day_ms(x.first_day)),
            at2: Some(day_ms(x.last_day)),
            ..Default::default()
        }
        .row(&x.id, x),
        Entity::Consent(x) => Cols {
            child_id: s(&x.child_id),
            ref_id: serde_json::to_value(x.kind)?.as_str().map(str::to_owned),
            ..Default::default()
        }
        .row(&x.id, x),
        Entity::CalendarEvent(x) => Cols {
            ref_id: x.department_id.as_ref().map(|d| d.to_string()),
            at: Some(x.starts_at.0),
            at2: Some(x.ends_at.0),
            ..Default::default()
        }
        .row(&x.id, x),
        Entity::Document(x) => Cols {
            child_id: x.child_id.as_ref().map(|c| c.to_string()),
            at: Some(x.created_at.0),
            ..Default::default()
        }
        .row(&x.id, x),
        Entity::Photo(x) => Cols {
            at: Some(x.taken_at.0),
            ..Default::default()
        }
        .row(&x.id, x),
        Entity::Attendance(x) => Cols {
            child_id: s(&x.child_id),
            ref_id: s(&x.day),
            ..Default::default()
        }
        .row(&x.id, x),
        Entity::PickupPerson(x) => Cols {
            child_id: s(&x.child_id),
            ..Default::default()
        }
        .row(&x.id, x),
        Entity::NotificationPreferences(x) => Cols {
            who: s(&x.guardian_id),
            ..Default::default()
        }
        .row(&x.guardian_id, x),
        Entity::ReminderSettings(x) => Cols {
            who: s(&x.guardian_id),
            ..Default::default()
        }
        .row(&x.guardian_id, x),
        Entity::PrivacyRequest(x) => Cols {
            ref_id: s(&x.guardian_id),
            who: s(&x.guardian_id),
            at: Some(x.created_at.0),
            ..Default::default()
        }
        .row(&x.id, x),
    }
}

impl Cols {
    /// One entity's row: its id, these indexed columns and its JSON.
    fn row(
        self,
        id: &impl ToString,
        x: &impl serde::Serialize,
    ) -> serde_json::Result<(String, Cols, String)> {
        Ok((id.to_string(), self, serde_json::to_string(x)?))
    }
}

/// An entity as its cache row: id, indexed columns and JSON, made once (see [`Row::of`]) and
/// then either held back or written.
pub struct Row {
    kind: EntityKind,
    /// The entity's id.
    pub id: String,
    cols: Cols,
    /// The entity's JSON as the cache stores it (the same as the feed's `data`).
    pub data: String,
    /// A child's or staff member's current profile picture (`Some(None)`: none); `None` for
    /// other entities.
    picture: Option<Option<PictureId>>,
}

impl Row {
    /// The row of `e`; `me` is the viewing guardian's id (for unread counts).
    pub fn of(e: &Entity, me: &str) -> Result<Row> {
        let (id, cols, data) = shape(e, me)?;
        let picture = match e {
            Entity::Child(x) => Some(x.picture.as_ref().map(|p| p.id.clone())),
            Entity::Staff(x) => Some(x.picture.as_ref().map(|p| p.id.clone())),
            _ => None,
        };
        Ok(Row {
            kind: e.kind(),
            id,
            cols,
            data,
            picture,
        })
    }
}

/// Inserts or replaces an entity. `me` is the viewing guardian's id (for unread counts).
pub fn upsert(c: &Connection, e: &Entity, me: &str, fx: &mut Effects) -> Result<()> {
    put(c, &Row::of(e, me)?, fx)
}

/// Drops the cached files of a person's pictures other than `current` (a picture replaced,
/// removed by staff or gone with its consent).
fn drop_old_pictures(
    c: &Connection,
    kind: &str,
    id: &str,
    current: Option<&PictureId>,
    fx: &mut Effects,
) -> Result<()> {
    let keep = current
        .map(|p| file_index::picture_key(kind, id, p.as_str()))
        .unwrap_or_default();
    let mut st = c.prepare_cached(
        "SELECT name FROM files WHERE kind = ?1 AND entity_id = ?2 AND key != ?3",
    )?;
    let names = st
        .query_map(params![kind, id, keep], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    if !names.is_empty() {
        c.execute(
            "DELETE FROM files WHERE kind = ?1 AND entity_id = ?2 AND key != ?3",
            params![kind, id, keep],
        )?;
        fx.files.extend(names);
    }
    Ok(())
}

/// The id of the cached child's or staff member's profile picture, if any.
pub fn picture_id(c: &Connection, kind: EntityKind, id: &str) -> Result<Option<String>> {
    Ok(match kind {
        EntityKind::Child => get::<Child>(c, kind, id)?
            .and_then(|x| x.picture)
            .map(|p| p.id.0),
        EntityKind::Staff => get::<Staff>(c, kind, id)?
            .and_then(|x| x.picture)
            .map(|p| p.id.0),
        _ => None,
    })
}

/// Inserts or replaces an entity's row.
pub fn put(c: &Connection, row: &Row, fx: &mut Effects) -> Result<()> {
    let Some(t) = table(row.kind) else {
        return Ok(());
    };
    let cols = &row.cols;
    // Called once per change while a sync page is applied: keep the statement prepared.
    c.prepare_cached(&format!(
        "INSERT OR REPLACE INTO {t} (id, child_id, ref_id, who, at, at2, flag, data)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
    ))?
    .execute(params![
        row.id,
        cols.child_id,
        cols.ref_id,
        cols.who,
        cols.at,
        cols.at2,
        cols.flag,
        row.data
    ])?;
    fx.touch(collection(row.kind));
    if row.kind == EntityKind::Message {
        fx.touch(Collection::Threads);
    }
    if let Some(current) = &row.picture {
        let kind = file_index::kind_name(row.kind)?;
        drop_old_pictures(c, kind, &row.id, current.as_ref(), fx)?;
    }
    Ok(())
}

/// Reads one entity's JSON as `T`; `None` when absent or no longer decodable.
pub fn get<T: DeserializeOwned>(c: &Connection, kind: EntityKind, id: &str) -> Result<Option<T>> {
    let Some(t) = table(kind) else {
        return Ok(None);
    };
    let data: Option<String> = c
        .query_row(&format!("SELECT data FROM {t} WHERE id = ?1"), [id], |r| {
            r.get(0)
        })
        .optional()?;
    Ok(data.and_then(|d| serde_json::from_str(&d).ok()))
}

/// Reads one entity's JSON as stored; `None` when absent.
pub fn get_json(c: &Connection, kind: EntityKind, id: &str) -> Result<Option<String>> {
    let Some(t) = table(kind) else {
        return Ok(None);
    };
    Ok(
        c.prepare_cached(&format!("SELECT data FROM {t} WHERE id = ?1"))?
            .query_row([id], |r| r.get(0))
            .optional()?,
    )
}

/// An entity's id and its JSON as the cache stores it (the same as the feed's `data`).
pub fn id_and_json(e: &Entity) -> Result<(String, String)> {
    let (id, _, data) = shape(e, "")?;
    Ok((id, data))
}

/// Reads an entity as the decoded [`Entity`].
pub fn get_entity(c: &Connection, kind: EntityKind, id: &str) -> Result<Option<Entity>> {
    let Some(t) = table(kind) else {
        return Ok(None);
    };
    let data: Option<String> = c
        .query_row(&format!("SELECT data FROM {t} WHERE id = ?1"), [id], |r| {
            r.get(0)
        })
        .optional()?;
    Ok(data
        .and_then(|d| serde_json::from_str::<serde_json::Value>(&d).ok())
        .and_then(|v| Entity::decode(kind, &v).ok().flatten()))
}

/// Whether an entity exists.
pub fn exists(c: &Connection, kind: EntityKind, id: &str) -> Result<bool> {
    let Some(t) = table(kind) else {
        return Ok(false);
    };
    Ok(c.query_row(
        &format!("SELECT 1 FROM {t} WHERE id = ?1"),
        [id],
        |_| Ok(()),
    )
    .optional()?
    .is_some())
}

/// Runs `sql` (selecting `data`) and decodes each row, skipping rows that no longer decode.
pub fn list<T: DeserializeOwned>(
    c: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<T>> {
    let mut st = c.prepare_cached(sql)?;
    let rows = st.query_map(params, |r| r.get::<_, String>(0))?;
    let mut out = Vec::new();
    for r in rows {
        if let Ok(v) = serde_json::from_str(&r?) {
            out.push(v);
        }
    }
    Ok(out)
}

/// Deletes the rows of `kind` whose `col` is `v` (a cascade); returns their ids. A server
/// version held back for one of them becomes "gone" as well.
fn delete_where(c: &Connection, kind: EntityKind, col: &str, v: &str) -> Result<Vec<String>> {
    let Some(t) = table(kind) else {
        return Ok(vec![]);
    };
    let ids = {
        let mut st = c.prepare_cached(&format!("SELECT id FROM {t} WHERE {col} = ?1"))?;
        st.query_map([v], |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?
    };
    c.execute(&format!("DELETE FROM {t} WHERE {col} = ?1"), [v])?;
    for id in &ids {
        shadow::gone(c, kind, id)?;
    }
    Ok(ids)
}

/// Deletes the cached files of an entity (rows now; the files after commit).
fn drop_files(c: &Connection, kind: &str, id: &str, fx: &mut Effects) -> Result<()> {
    let mut st = c.prepare("SELECT name FROM files WHERE kind = ?1 AND entity_id = ?2")?;
    let names = st
        .query_map([kind, id], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    c.execute(
        "DELETE FROM files WHERE kind = ?1 AND entity_id = ?2",
        [kind, id],
    )?;
    fx.files.extend(names);
    Ok(())
}

/// Applies a tombstone: deletes the entity and whatever only made sense with it (a child's
/// log, absences, ...; a thread's messages; a photo's or document's cached files).
pub fn delete(c: &Connection, kind: EntityKind, id: &str, fx: &mut Effects) -> Result<()> {
    let Some(t) = table(kind) else { return Ok(()) };
    let n = c.execute(&format!("DELETE FROM {t} WHERE id = ?1"), [id])?;
    fx.deleted = true;
    fx.erased |= n > 0
        && matches!(
            kind,
            EntityKind::Child | EntityKind::Guardian | EntityKind::Staff | EntityKind::Photo
        );
    fx.touch(collection(kind));
    match kind {
        EntityKind::Child => delete_child_data(c, id, fx)?,
        EntityKind::Guardian => {
            delete_where(c, EntityKind::GuardianChild, "ref_id", id)?;
            delete_where(c, EntityKind::Message, "who", id)?;
            delete_where(c, EntityKind::PrivacyRequest, "ref_id", id)?;
            delete_where(c, EntityKind::NotificationPreferences, "id", id)?;
            delete_where(c, EntityKind::ReminderSettings, "id", id)?;
            fx.touch(Collection::Messages);
            fx.touch(Collection::Threads);
            fx.touch(Collection::PrivacyRequests);
        }
        EntityKind::Staff => {
            drop_files(c, "staff", id, fx)?;
            delete_where(c, EntityKind::Message, "who", id)?;
            fx.touch(Collection::Messages);
            fx.touch(Collection::Threads);
        }
        EntityKind::Thread => {
            delete_where(c, EntityKind::Message, "ref_id", id)?;
            fx.touch(Collection::Messages);
        }
        EntityKind::Message => fx.touch(Collection::Threads),
        EntityKind::Photo => drop_files(c, "photo", id, fx)?,
        EntityKind::Document => drop_files(c, "document", id, fx)?,
        _ => {}
    }
    Ok(())
}

fn delete_child_data(c: &Connection, child: &str, fx: &mut Effects) -> Result<()> {
    drop_files(c, "child", child, fx)?;
    for kind in [
        EntityKind::LogEntry,
        EntityKind::Absence,
        EntityKind::Holiday,
        EntityKind::Consent,
        EntityKind::Attendance,
        EntityKind::PickupPerson,
        EntityKind::GuardianChild,
    ] {
        delete_where(c, kind, "child_id", child)?;
    }
    for thread in delete_where(c, EntityKind::Thread, "child_id", child)? {
        delete_where(c, EntityKind::Message, "ref_id", &thread)?;
    }
    for doc in delete_where(c, EntityKind::Document, "child_id", child)? {
        drop_files(c, "document", &doc, fx)?;
    }
    // Photos: untag the child; a photo left with no visible child goes.
    let photos: Vec<Photo> = list(c, "SELECT data FROM photos", [])?;
    for mut p in photos {
        if !p.child_ids.iter().any(|x| x.as_str() == child) {
            continue;
        }
        p.child_ids.retain(|x| x.as_str() != child);
        if p.child_ids.is_empty() {
            c.execute("DELETE FROM photos WHERE id = ?1", [p.id.as_str()])?;
            drop_files(c, "photo", p.id.as_str(), fx)?;
        } else {
            upsert(c, &Entity::Photo(p), "", fx)?;
        }
    }
    // Notification preferences for that child.
    let prefs: Vec<NotificationPreferences> =
        list(c, "SELECT data FROM notification_preferences", [])?;
    for mut np in prefs {
        let before = np.preferences.len();
        np.preferences.retain(|p| p.child_id.as_str() != child);
        if np.preferences.len() != before {
            upsert(c, &Entity::NotificationPreferences(np), "", fx)?;
        }
    }
    for col in [
        Collection::ChildLog,
        Collection::Absences,
        Collection::Holidays,
        Collection::Consents,
        Collection::Attendance,
        Collection::PickupPersons,
        Collection::Guardians,
        Collection::Threads,
        Collection::Messages,
        Collection::Documents,
        Collection::Photos,
        Collection::NotificationPreferences,
    ] {
        fx.touch(col);
    }
    Ok(())
}

/// The current time, for local writes.
pub fn now() -> Timestamp {
    Timestamp::now()
}
