//! Reading entities from their tables as the wire records of `kidplan-api`, for one viewer.
//!
//! A guardian sees their own contact fields only, their own `read_at` on messages, only
//! their own children among a photo's tags, and photos and messages only as consents and
//! restrictions allow ([`crate::consent`]) and a child's documents, consents and free text
//! only with parental responsibility ([`crate::responsibility`]); staff (viewer `None`) see everything.

use crate::db::opt;
use crate::error::AppResult;
use kidplan_api::model::*;
use kidplan_api::privacy::PrivacyRequest;
use kidplan_api::sync::EntityKind;
use kidplan_api::{Day, Timestamp};
use rusqlite::{Connection, Row, params};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// What a guardian may see: computed once per request from the relations.
#[derive(Clone, Debug, Default)]
pub struct GuardianView {
    pub id: String,
    pub children: Vec<String>,
    /// The children this guardian has parental responsibility for (see
    /// [`crate::responsibility`]).
    pub responsible: Vec<String>,
    pub kindergartens: Vec<String>,
    pub departments: Vec<String>,
    /// Guardians sharing a child with this guardian, this guardian included.
    pub coguardians: Vec<String>,
}

impl GuardianView {
    /// Loads the view of guardian `id`.
    pub fn load(conn: &Connection, id: &str) -> AppResult<Self> {
        let children = strings(
            conn,
            "SELECT child_id FROM guardian_children WHERE guardian_id = ?1 ORDER BY child_id",
            id,
        )?;
        let responsible = strings(
            conn,
            "SELECT child_id FROM guardian_children WHERE guardian_id = ?1
             AND parental_responsibility = 1 ORDER BY child_id",
            id,
        )?;
        let kindergartens = strings(
            conn,
            "SELECT DISTINCT c.kindergarten_id FROM children c JOIN guardian_children gc
             ON gc.child_id = c.id WHERE gc.guardian_id = ?1",
            id,
        )?;
        let departments = strings(
            conn,
            "SELECT DISTINCT c.department_id FROM children c JOIN guardian_children gc
             ON gc.child_id = c.id WHERE gc.guardian_id = ?1",
            id,
        )?;
        let mut coguardians = strings(
            conn,
            "SELECT DISTINCT b.guardian_id FROM guardian_children a JOIN guardian_children b
             ON a.child_id = b.child_id WHERE a.guardian_id = ?1",
            id,
        )?;
        if !coguardians.iter().any(|g| g == id) {
            coguardians.push(id.to_owned());
        }
        Ok(Self {
            id: id.to_owned(),
            children,
            responsible,
            kindergartens,
            departments,
            coguardians,
        })
    }

    /// True when `child_id` is one of this guardian's children.
    pub fn has_child(&self, child_id: &str) -> bool {
        self.children.iter().any(|c| c == child_id)
    }
}

/// The first column of every row of a query with one string parameter.
pub fn strings(conn: &Connection, sql: &str, param: &str) -> AppResult<Vec<String>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map([param], |r| r.get::<_, String>(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The wire name of an enum value (`"photos_shared"`, ...).
pub fn enum_str<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => "unknown".to_owned(),
    }
}

/// Parses a wire name stored in a column.
pub fn enum_from<T: DeserializeOwned>(s: String) -> rusqlite::Result<T> {
    serde_json::from_value(serde_json::Value::String(s)).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, e.into())
    })
}

fn day(s: String) -> rusqlite::Result<Day> {
    s.parse::<Day>().map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, e.into())
    })
}

fn ts(ms: i64) -> Timestamp {
    Timestamp(ms)
}

fn one<T>(
    conn: &Connection,
    sql: &str,
    id: &str,
    f: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
) -> AppResult<Option<T>> {
    let mut stmt = conn.prepare_cached(sql)?;
    opt(stmt.query_row([id], f))
}

pub fn kindergarten(conn: &Connection, id: &str) -> AppResult<Option<Kindergarten>> {
    one(
        conn,
        "SELECT id, name FROM kindergartens WHERE id = ?1",
        id,
        |r| {
            Ok(Kindergarten {
                id: r.get::<_, String>(0)?.into(),
                name: r.get(1)?,
            })
        },
    )
}

pub fn department(conn: &Connection, id: &str) -> AppResult<Option<Department>> {
    one(
        conn,
        "SELECT id, kindergarten_id, name FROM departments WHERE id = ?1",
        id,
        |r| {
            Ok(Department {
                id: r.get::<_, String>(0)?.into(),
                kindergarten_id: r.get::<_, String>(1)?.into(),
                name: r.get(2)?,
            })
        },
    )
}

pub fn child(conn: &Connection, id: &str) -> AppResult<Option<Child>> {
    one(
        conn,
        "SELECT c.id, c.kindergarten_id, c.department_id, c.first_name, c.last_name,
                c.birth_date, c.info, p.id, p.size_bytes, p.updated_at
         FROM children c LEFT JOIN pictures p ON p.child_id = c.id WHERE c.id = ?1",
        id,
        |r| {
            Ok(Child {
                id: r.get::<_, String>(0)?.into(),
                kindergarten_id: r.get::<_, String>(1)?.into(),
                department_id: r.get::<_, String>(2)?.into(),
                first_name: r.get(3)?,
                last_name: r.get(4)?,
                birth_date: day(r.get(5)?)?,
                info: r.get(6)?,
                picture: picture(r, 7)?,
            })
        },
    )
}

/// The profile picture in columns `at..at + 3` (`id, size_bytes, updated_at` of `pictures`,
/// left-joined: all null when there is none).
fn picture(r: &Row<'_>, at: usize) -> rusqlite::Result<Option<ProfilePicture>> {
    let Some(id) = r.get::<_, Option<String>>(at)? else {
        return Ok(None);
    };
    Ok(Some(ProfilePicture {
        id: id.into(),
        size_bytes: r.get::<_, i64>(at + 1)?.max(0) as u64,
        updated_at: Timestamp(r.get(at + 2)?),
    }))
}

/// A guardian; contact fields and free text only when the viewer is that guardian (or staff).
pub fn guardian(
    conn: &Connection,
    id: &str,
    viewer: Option<&GuardianView>,
) -> AppResult<Option<Guardian>> {
    let own = viewer.is_none_or(|v| v.id == id);
    one(
        conn,
        "SELECT id, first_name, last_name, email, phone, address, postal_code, info
         FROM guardians WHERE id = ?1",
        id,
        |r| {
            let contact = |i: usize| -> rusqlite::Result<Option<String>> {
                if own { r.get(i) } else { Ok(None) }
            };
            Ok(Guardian {
                id: r.get::<_, String>(0)?.into(),
                first_name: r.get(1)?,
                last_name: r.get(2)?,
                email: contact(3)?,
                phone: contact(4)?,
                address: contact(5)?,
                postal_code: contact(6)?,
                info: contact(7)?,
            })
        },
    )
}

pub fn staff(conn: &Connection, id: &str) -> AppResult<Option<Staff>> {
    one(
        conn,
        "SELECT s.id, s.kindergarten_id, s.department_id, s.name, s.role, s.phone, s.email,
                s.info, p.id, p.size_bytes, p.updated_at
         FROM staff s LEFT JOIN pictures p ON p.staff_id = s.id WHERE s.id = ?1",
        id,
        |r| {
            Ok(Staff {
                id: r.get::<_, String>(0)?.into(),
                kindergarten_id: r.get::<_, String>(1)?.into(),
                department_id: r.get::<_, Option<String>>(2)?.map(Into::into),
                name: r.get(3)?,
                role: enum_from(r.get(4)?)?,
                phone: r.get(5)?,
                email: r.get(6)?,
                info: r.get(7)?,
                picture: picture(r, 8)?,
            })
        },
    )
}

pub fn relation(conn: &Connection, id: &str) -> AppResult<Option<GuardianChild>> {
    one(
        conn,
        "SELECT id, guardian_id, child_id, relation, parental_responsibility
         FROM guardian_children WHERE id = ?1",
        id,
        |r| {
            Ok(GuardianChild {
                id: r.get::<_, String>(0)?.into(),
                guardian_id: r.get::<_, String>(1)?.into(),
                child_id: r.get::<_, String>(2)?.into(),
                relation: enum_from(r.get(3)?)?,
                parental_responsibility: r.get(4)?,
            })
        },
    )
}

pub fn log_entry(conn: &Connection, id: &str) -> AppResult<Option<LogEntry>> {
    one(
        conn,
        "SELECT id, child_id, author_id, kind, text, at FROM log_entries WHERE id = ?1",
        id,
        |r| {
            Ok(LogEntry {
                id: r.get::<_, String>(0)?.into(),
                child_id: r.get::<_, String>(1)?.into(),
                author_id: r.get::<_, String>(2)?.into(),
                kind: enum_from(r.get(3)?)?,
                text: r.get(4)?,
                at: ts(r.get(5)?),
            })
        },
    )
}

pub fn thread(conn: &Connection, id: &str) -> AppResult<Option<Thread>> {
    one(
        conn,
        "SELECT id, kindergarten_id, child_id, subject, broadcast, created_at, urgent FROM threads WHERE id = ?1",
        id,
        |r| {
            Ok(Thread {
                id: r.get::<_, String>(0)?.into(),
                kindergarten_id: r.get::<_, String>(1)?.into(),
                child_id: r.get::<_, Option<String>>(2)?.map(Into::into),
                subject: r.get(3)?,
                broadcast: r.get(4)?,
                urgent: r.get(6)?,
                created_at: ts(r.get(5)?),
            })
        },
    )
}

/// Who a thread is for: a broadcast to a kindergarten (or department), the guardians of a
/// child, or the one guardian who started it.
#[derive(Clone, Debug)]
pub struct ThreadScope {
    pub broadcast: bool,
    pub kindergarten_id: String,
    pub department_id: Option<String>,
    pub child_id: Option<String>,
    pub guardian_id: Option<String>,
}

pub fn thread_scope(conn: &Connection, id: &str) -> AppResult<Option<ThreadScope>> {
    one(
        conn,
        "SELECT broadcast, kindergarten_id, department_id, child_id, guardian_id FROM threads WHERE id = ?1",
        id,
        |r| {
            Ok(ThreadScope {
                broadcast: r.get(0)?,
                kindergarten_id: r.get(1)?,
                department_id: r.get(2)?,
                child_id: r.get(3)?,
                guardian_id: r.get(4)?,
            })
        },
    )
}

/// A message with the viewer's own `read_at`.
pub fn message(
    conn: &Connection,
    id: &str,
    viewer: Option<&GuardianView>,
) -> AppResult<Option<Message>> {
    let Some(mut m) = one(
        conn,
        "SELECT id, thread_id, sender_kind, sender_id, body, sent_at FROM messages WHERE id = ?1",
        id,
        |r| {
            let kind: String = r.get(2)?;
            let sender_id: String = r.get(3)?;
            let sender = if kind == "guardian" {
                Sender::Guardian {
                    id: sender_id.into(),
                }
            } else {
                Sender::Staff {
                    id: sender_id.into(),
                }
            };
            Ok(Message {
                id: r.get::<_, String>(0)?.into(),
                thread_id: r.get::<_, String>(1)?.into(),
                sender,
                body: r.get(4)?,
                sent_at: ts(r.get(5)?),
                read_at: None,
            })
        },
    )?
    else {
        return Ok(None);
    };
    if let (Some(v), Sender::Guardian { id: sender }) = (viewer, &m.sender)
        && !crate::consent::message_visible(conn, sender.as_str(), v)?
    {
        return Ok(None);
    }
    if let Some(v) = viewer {
        let mut stmt = conn.prepare_cached(
            "SELECT read_at FROM message_reads WHERE message_id = ?1 AND guardian_id = ?2",
        )?;
        m.read_at = opt(stmt.query_row(params![id, v.id], |r| r.get::<_, i64>(0)))?.map(ts);
    }
    Ok(Some(m))
}

pub fn absence(conn: &Connection, id: &str) -> AppResult<Option<Absence>> {
    one(
        conn,
        "SELECT id, child_id, first_day, last_day, reason, note, status, reported_by, acknowledged_by
         FROM absences WHERE id = ?1",
        id,
        |r| {
            Ok(Absence {
                id: r.get::<_, String>(0)?.into(),
                child_id: r.get::<_, String>(1)?.into(),
                first_day: day(r.get(2)?)?,
                last_day: day(r.get(3)?)?,
                reason: enum_from(r.get(4)?)?,
                note: r.get(5)?,
                status: enum_from(r.get(6)?)?,
                reported_by: r.get::<_, String>(7)?.into(),
                acknowledged_by: r.get::<_, Option<String>>(8)?.map(Into::into),
            })
        },
    )
}

pub fn holiday(conn: &Connection, id: &str) -> AppResult<Option<Holiday>> {
    one(
        conn,
        "SELECT id, child_id, first_day, last_day, note, registered_by FROM holidays WHERE id = ?1",
        id,
        |r| {
            Ok(Holiday {
                id: r.get::<_, String>(0)?.into(),
                child_id: r.get::<_, String>(1)?.into(),
                first_day: day(r.get(2)?)?,
                last_day: day(r.get(3)?)?,
                note: r.get(4)?,
                registered_by: r.get::<_, String>(5)?.into(),
            })
        },
    )
}

pub fn consent(conn: &Connection, id: &str) -> AppResult<Option<Consent>> {
    let Some(mut c) = one(
        conn,
        "SELECT id, child_id, kind, state FROM consents WHERE id = ?1",
        id,
        |r| {
            Ok(Consent {
                id: r.get::<_, String>(0)?.into(),
                child_id: r.get::<_, String>(1)?.into(),
                kind: enum_from(r.get(2)?)?,
                state: enum_from(r.get(3)?)?,
                history: Vec::new(),
            })
        },
    )?
    else {
        return Ok(None);
    };
    let mut stmt = conn.prepare_cached(
        "SELECT state, changed_by, changed_at FROM consent_history WHERE consent_id = ?1 ORDER BY changed_at, id",
    )?;
    let rows = stmt.query_map([id], |r| {
        Ok(ConsentChange {
            state: enum_from(r.get(0)?)?,
            changed_by: r.get::<_, String>(1)?.into(),
            changed_at: ts(r.get(2)?),
        })
    })?;
    c.history = rows.collect::<Result<_, _>>()?;
    Ok(Some(c))
}

pub fn calendar_event(conn: &Connection, id: &str) -> AppResult<Option<CalendarEvent>> {
    one(
        conn,
        "SELECT id, kindergarten_id, department_id, title, description, starts_at, ends_at, registration_deadline
         FROM calendar_events WHERE id = ?1",
        id,
        |r| {
            Ok(CalendarEvent {
                id: r.get::<_, String>(0)?.into(),
                kindergarten_id: r.get::<_, String>(1)?.into(),
                department_id: r.get::<_, Option<String>>(2)?.map(Into::into),
                title: r.get(3)?,
                description: r.get(4)?,
                starts_at: ts(r.get(5)?),
                ends_at: ts(r.get(6)?),
                registration_deadline: r.get::<_, Option<String>>(7)?.map(day).transpose()?,
            })
        },
    )
}

pub fn document(conn: &Connection, id: &str) -> AppResult<Option<Document>> {
    one(
        conn,
        "SELECT id, child_id, title, mime_type, size_bytes, created_at FROM documents WHERE id = ?1",
        id,
        |r| {
            Ok(Document {
                id: r.get::<_, String>(0)?.into(),
                child_id: r.get::<_, Option<String>>(1)?.map(Into::into),
                title: r.get(2)?,
                mime_type: r.get(3)?,
                size_bytes: r.get::<_, i64>(4)?.max(0) as u64,
                created_at: ts(r.get(5)?),
            })
        },
    )
}

/// A photo with the tags the viewer may see; `None` when the viewer may see none of them.
pub fn photo(
    conn: &Connection,
    id: &str,
    viewer: Option<&GuardianView>,
) -> AppResult<Option<Photo>> {
    let Some(mut p) = one(
        conn,
        "SELECT id, caption, taken_at, size_bytes FROM photos WHERE id = ?1",
        id,
        |r| {
            Ok(Photo {
                id: r.get::<_, String>(0)?.into(),
                child_ids: Vec::new(),
                caption: r.get(1)?,
                taken_at: ts(r.get(2)?),
                size_bytes: r.get::<_, i64>(3)?.max(0) as u64,
            })
        },
    )?
    else {
        return Ok(None);
    };
    let tags = strings(
        conn,
        "SELECT child_id FROM photo_children WHERE photo_id = ?1 ORDER BY child_id",
        id,
    )?;
    p.child_ids = tags
        .into_iter()
        .filter(|c| viewer.is_none_or(|v| v.has_child(c)))
        .map(Into::into)
        .collect();
    if let Some(v) = viewer
        && (p.child_ids.is_empty() || !crate::consent::photo_visible(conn, id, v)?)
    {
        return Ok(None);
    }
    Ok(Some(p))
}

pub fn attendance(conn: &Connection, id: &str) -> AppResult<Option<Attendance>> {
    one(
        conn,
        "SELECT id, child_id, day, checked_in_at, checked_out_at FROM attendance WHERE id = ?1",
        id,
        |r| {
            let state = match (r.get::<_, Option<i64>>(3)?, r.get::<_, Option<i64>>(4)?) {
                (Some(i), Some(o)) => AttendanceState::CheckedOut {
                    checked_in_at: ts(i),
                    checked_out_at: ts(o),
                },
                (Some(i), None) => AttendanceState::CheckedIn {
                    checked_in_at: ts(i),
                },
                _ => AttendanceState::NotArrived,
            };
            Ok(Attendance {
                id: r.get::<_, String>(0)?.into(),
                child_id: r.get::<_, String>(1)?.into(),
                day: day(r.get(2)?)?,
                state,
            })
        },
    )
}

pub fn pickup_person(conn: &Connection, id: &str) -> AppResult<Option<PickupPerson>> {
    one(
        conn,
        "SELECT id, child_id, name, phone, relation FROM pickup_persons WHERE id = ?1",
        id,
        |r| {
            Ok(PickupPerson {
                id: r.get::<_, String>(0)?.into(),
                child_id: r.get::<_, String>(1)?.into(),
                name: r.get(2)?,
                phone: r.get(3)?,
                relation: r.get(4)?,
            })
        },
    )
}

/// Categories a guardian can choose, in a stable order.
pub const CATEGORIES: [NotificationCategory; 6] = [
    NotificationCategory::Messages,
    NotificationCategory::AbsenceAcknowledged,
    NotificationCategory::ChildLog,
    NotificationCategory::Calendar,
    NotificationCategory::Photos,
    NotificationCategory::Urgent,
];

/// The delivery of a category the guardian has not chosen: push; urgent alerts by push and SMS.
pub fn default_delivery(category: NotificationCategory) -> Delivery {
    if category == NotificationCategory::Urgent {
        Delivery::PushAndSms
    } else {
        Delivery::On
    }
}

/// An urgent alert is always pushed: the guardian chooses only whether e-mail or SMS comes too.
pub fn with_push(d: Delivery) -> Delivery {
    match d {
        Delivery::Off | Delivery::Unknown => Delivery::On,
        Delivery::Email => Delivery::PushAndEmail,
        Delivery::Sms => Delivery::PushAndSms,
        other => other,
    }
}

/// How a guardian is told about `category` for `child_id` (see [`default_delivery`]).
pub fn delivery(
    conn: &Connection,
    guardian_id: &str,
    child_id: &str,
    category: NotificationCategory,
) -> AppResult<Delivery> {
    let mut stmt = conn.prepare_cached(
        "SELECT delivery FROM notification_prefs WHERE guardian_id = ?1 AND child_id = ?2 AND category = ?3",
    )?;
    let stored = opt(
        stmt.query_row(params![guardian_id, child_id, enum_str(&category)], |r| {
            r.get::<_, String>(0)
        }),
    )?;
    let d = match stored {
        Some(s) => enum_from::<Delivery>(s).unwrap_or(Delivery::On),
        None => default_delivery(category),
    };
    Ok(if category == NotificationCategory::Urgent {
        with_push(d)
    } else {
        d
    })
}

/// Every preference of a guardian: each of their children times each category.
pub fn notification_preferences(
    conn: &Connection,
    guardian_id: &str,
) -> AppResult<Option<NotificationPreferences>> {
    let exists = one(
        conn,
        "SELECT 1 FROM guardians WHERE id = ?1",
        guardian_id,
        |_| Ok(()),
    )?;
    if exists.is_none() {
        return Ok(None);
    }
    let children = strings(
        conn,
        "SELECT child_id FROM guardian_children WHERE guardian_id = ?1 ORDER BY child_id",
        guardian_id,
    )?;
    let mut preferences = Vec::new();
    for c in &children {
        for category in CATEGORIES {
            preferences.push(NotificationPreference {
                child_id: c.clone().into(),
                category,
                delivery: delivery(conn, guardian_id, c, category)?,
            });
        }
    }
    Ok(Some(NotificationPreferences {
        guardian_id: guardian_id.to_owned().into(),
        preferences,
    }))
}

pub fn privacy_request(conn: &Connection, id: &str) -> AppResult<Option<PrivacyRequest>> {
    one(
        conn,
        "SELECT id, guardian_id, right, note, status, response, created_at, handled_at,
                child_id, objection, child_info
         FROM privacy_requests WHERE id = ?1",
        id,
        |r| {
            Ok(PrivacyRequest {
                child_id: r.get::<_, Option<String>>(8)?.map(Into::into),
                objection: r.get::<_, Option<String>>(9)?.map(enum_from).transpose()?,
                child_info: r.get(10)?,
                id: r.get::<_, String>(0)?.into(),
                guardian_id: r.get::<_, String>(1)?.into(),
                right: enum_from(r.get(2)?)?,
                note: r.get(3)?,
                status: enum_from(r.get(4)?)?,
                response: r.get(5)?,
                created_at: ts(r.get(6)?),
                handled_at: r.get::<_, Option<i64>>(7)?.map(ts),
            })
        },
    )
}

fn json<T: Serialize>(v: Option<T>) -> AppResult<Option<serde_json::Value>> {
    Ok(match v {
        Some(v) => Some(serde_json::to_value(v)?),
        None => None,
    })
}

/// Renders the entity `kind`/`id` for a viewer as the feed's `data`; `None` when it is gone or
/// not visible to the viewer.
pub fn render(
    conn: &Connection,
    kind: EntityKind,
    id: &str,
    viewer: Option<&GuardianView>,
) -> AppResult<Option<serde_json::Value>> {
    use EntityKind as K;
    match kind {
        K::Kindergarten => json(kindergarten(conn, id)?),
        K::Department => json(department(conn, id)?),
        K::Child => json(child(conn, id)?.map(|c| crate::responsibility::child_for(viewer, c))),
        K::Guardian => json(guardian(conn, id, viewer)?),
        K::Staff => json(staff(conn, id)?),
        K::GuardianChild => json(relation(conn, id)?),
        K::LogEntry => json(log_entry(conn, id)?),
        K::Thread => json(thread(conn, id)?),
        K::Message => json(message(conn, id, viewer)?),
        K::Absence => json(absence(conn, id)?),
        K::Holiday => json(holiday(conn, id)?),
        K::Consent => {
            json(consent(conn, id)?.filter(|c| {
                crate::responsibility::may_see(viewer, kind, Some(c.child_id.as_str()))
            }))
        }
        K::CalendarEvent => json(calendar_event(conn, id)?),
        K::Document => json(document(conn, id)?.filter(|d| {
            crate::responsibility::may_see(viewer, kind, d.child_id.as_ref().map(|c| c.as_str()))
        })),
        K::Photo => json(photo(conn, id, viewer)?),
        K::Attendance => json(attendance(conn, id)?),
        K::PickupPerson => json(pickup_person(conn, id)?),
        K::NotificationPreferences => json(notification_preferences(conn, id)?),
        K::PrivacyRequest => json(privacy_request(conn, id)?),
        K::ReminderSettings => match viewer {
            Some(v) => crate::reminders::render(conn, id, v),
            None => Ok(None),
        },
        K::Unknown => Ok(None),
    }
}
