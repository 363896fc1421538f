//! Synchronous reads for the screens, straight from the cache: children, contacts, the child
//! log and messages (paged, newest first), threads with unread counts, absences and holidays
//! with their local (outbox) state, consents, calendar, files metadata, attendance, pickup
//! persons, notification preferences and privacy requests.

use crate::error::Result;
use crate::local::cache::{self, day_ms, list};
use crate::local::outbox::{self, OutboxStatus};
use kidplan_api::model::*;
use kidplan_api::privacy::PrivacyRequest;
use kidplan_api::sync::EntityKind;
use kidplan_api::{ChildId, Day, ThreadId, Timestamp};
use rusqlite::{Connection, params};
use std::collections::BTreeMap;

/// Whether what the parent sees has reached the server.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum LocalState {
    /// As the server has it.
    Synced,
    /// A change by the parent not yet sent.
    Pending,
    /// The server refused the parent's change.
    Rejected {
        /// The server's stable code and message.
        reason: String,
    },
}

fn local(states: &BTreeMap<String, OutboxStatus>, id: &str) -> LocalState {
    match states.get(id) {
        Some(OutboxStatus::Pending) => LocalState::Pending,
        Some(OutboxStatus::Rejected { reason }) => LocalState::Rejected {
            reason: reason.clone(),
        },
        _ => LocalState::Synced,
    }
}

/// An absence report with its local state.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct AbsenceView {
    /// The report as the parent sees it.
    pub absence: Absence,
    /// Whether it has reached the server.
    pub local: LocalState,
}

/// A holiday registration with its local state.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct HolidayView {
    /// The registration as the parent sees it.
    pub holiday: Holiday,
    /// Whether it has reached the server.
    pub local: LocalState,
}

/// A message with its local state.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct MessageView {
    /// The message.
    pub message: Message,
    /// Whether it has reached the server.
    pub local: LocalState,
}

/// A thread for the inbox: unread count and last message.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ThreadSummary {
    /// The thread.
    pub thread: Thread,
    /// Messages from others not read yet.
    pub unread_count: u32,
    /// The newest message.
    pub last_message: Option<Message>,
    /// Whether the parent's last change to it has reached the server.
    pub local: LocalState,
}

/// Where one child is on a day.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ChildAttendance {
    /// The child.
    pub child_id: ChildId,
    /// The day.
    pub day: Day,
    /// Where the child is.
    pub state: AttendanceState,
}

fn page_limit(limit: u32) -> i64 {
    i64::from(limit.clamp(1, 500))
}

/// The children, by name.
pub fn children(c: &Connection) -> Result<Vec<Child>> {
    let mut v: Vec<Child> = list(c, "SELECT data FROM children", [])?;
    v.sort_by(|a, b| {
        (&a.first_name, &a.last_name, &a.id).cmp(&(&b.first_name, &b.last_name, &b.id))
    });
    Ok(v)
}

/// The guardians, by name.
pub fn guardians(c: &Connection) -> Result<Vec<Guardian>> {
    let mut v: Vec<Guardian> = list(c, "SELECT data FROM guardians", [])?;
    v.sort_by(|a, b| {
        (&a.first_name, &a.last_name, &a.id).cmp(&(&b.first_name, &b.last_name, &b.id))
    });
    Ok(v)
}

/// The guardian-child relations.
pub fn guardian_relations(c: &Connection) -> Result<Vec<GuardianChild>> {
    list(c, "SELECT data FROM guardian_children ORDER BY id", [])
}

/// The staff, by name.
pub fn staff(c: &Connection) -> Result<Vec<Staff>> {
    let mut v: Vec<Staff> = list(c, "SELECT data FROM staff", [])?;
    v.sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
    Ok(v)
}

/// The kindergartens.
pub fn kindergartens(c: &Connection) -> Result<Vec<Kindergarten>> {
    list(c, "SELECT data FROM kindergartens ORDER BY id", [])
}

/// The departments.
pub fn departments(c: &Connection) -> Result<Vec<Department>> {
    list(c, "SELECT data FROM departments ORDER BY id", [])
}

/// One guardian.
pub fn guardian(c: &Connection, id: &str) -> Result<Option<Guardian>> {
    cache::get(c, EntityKind::Guardian, id)
}

/// A child's log, newest first, strictly before `before`. A page holds `limit` entries, plus
/// any more that share the last one's timestamp.
pub fn log_entries(
    c: &Connection,
    child: &ChildId,
    before: Option<Timestamp>,
    limit: u32,
) -> Result<Vec<LogEntry>> {
    let mut page: Vec<LogEntry> = list(
        c,
        "SELECT data FROM log_entries WHERE child_id = ?1 AND at < ?2
         ORDER BY at DESC, id DESC LIMIT ?3",
        params![
            child.as_str(),
            before.map(|t| t.0).unwrap_or(i64::MAX),
            page_limit(limit)
        ],
    )?;
    // Entries sharing the last timestamp all go in this page, so `before = last.at` loses none.
    if page.len() as i64 == page_limit(limit)
        && let Some(last) = page.last()
    {
        let (at, id) = (last.at.0, last.id.to_string());
        let ties: Vec<LogEntry> = list(
            c,
            "SELECT data FROM log_entries WHERE child_id = ?1 AND at = ?2 AND id < ?3
             ORDER BY id DESC",
            params![child.as_str(), at, id],
        )?;
        page.extend(ties);
    }
    Ok(page)
}

/// Threads, most recent activity first.
pub fn threads(c: &Connection) -> Result<Vec<ThreadSummary>> {
    let states = outbox::local_states(c)?;
    let threads: Vec<Thread> = list(c, "SELECT data FROM threads", [])?;
    let mut out = Vec::with_capacity(threads.len());
    for t in threads {
        let unread: u32 = c.query_row(
            "SELECT count(*) FROM messages WHERE ref_id = ?1 AND flag = 1",
            [t.id.as_str()],
            |r| r.get(0),
        )?;
        let last: Option<Message> = list(
            c,
            "SELECT data FROM messages WHERE ref_id = ?1 ORDER BY at DESC, id DESC LIMIT 1",
            [t.id.as_str()],
        )?
        .into_iter()
        .next();
        let mut st = local(&states, t.id.as_str());
        if st == LocalState::Synced
            && let Some(m) = &last
        {
            st = local(&states, m.id.as_str());
        }
        out.push(ThreadSummary {
            local: st,
            unread_count: unread,
            last_message: last,
            thread: t,
        });
    }
    let key = |s: &ThreadSummary| {
        s.last_message
            .as_ref()
            .map(|m| m.sent_at)
            .unwrap_or(s.thread.created_at)
    };
    out.sort_by_key(|s| std::cmp::Reverse(key(s)));
    Ok(out)
}

/// A thread's messages, newest first, strictly before `before`.
pub fn messages(
    c: &Connection,
    thread: &ThreadId,
    before: Option<Timestamp>,
    limit: u32,
) -> Result<Vec<MessageView>> {
    let states = outbox::local_states(c)?;
    let mut msgs: Vec<Message> = list(
        c,
        "SELECT data FROM messages WHERE ref_id = ?1 AND at < ?2 ORDER BY at DESC, id DESC LIMIT ?3",
        params![
            thread.as_str(),
            before.map(|t| t.0).unwrap_or(i64::MAX),
            page_limit(limit)
        ],
    )?;
    // Messages sharing the last timestamp all go in this page (see `log_entries`).
    if msgs.len() as i64 == page_limit(limit)
        && let Some(last) = msgs.last()
    {
        let (at, id) = (last.sent_at.0, last.id.to_string());
        let ties: Vec<Message> = list(
            c,
            "SELECT data FROM messages WHERE ref_id = ?1 AND at = ?2 AND id < ?3 ORDER BY id DESC",
            params![thread.as_str(), at, id],
        )?;
        msgs.extend(ties);
    }
    Ok(msgs
        .into_iter()
        .map(|m| MessageView {
            local: local(&states, m.id.as_str()),
            message: m,
        })
        .collect())
}

/// Absence reports, latest first; all children or one.
pub fn absences(c: &Connection, child: Option<&ChildId>) -> Result<Vec<AbsenceView>> {
    let states = outbox::local_states(c)?;
    let v: Vec<Absence> = list(
        c,
        "SELECT data FROM absences WHERE ?1 IS NULL OR child_id = ?1 ORDER BY at DESC, id",
        [child.map(|c| c.as_str())],
    )?;
    Ok(v.into_iter()
        .map(|a| AbsenceView {
            local: local(&states, a.id.as_str()),
            absence: a,
        })
        .collect())
}

/// Holiday registrations, latest first; all children or one.
pub fn holidays(c: &Connection, child: Option<&ChildId>) -> Result<Vec<HolidayView>> {
    let states = outbox::local_states(c)?;
    let v: Vec<Holiday> = list(
        c,
        "SELECT data FROM holidays WHERE ?1 IS NULL OR child_id = ?1 ORDER BY at DESC, id",
        [child.map(|c| c.as_str())],
    )?;
    Ok(v.into_iter()
        .map(|h| HolidayView {
            local: local(&states, h.id.as_str()),
            holiday: h,
        })
        .collect())
}

/// A child's consents, each with its history.
pub fn consents(c: &Connection, child: &ChildId) -> Result<Vec<Consent>> {
    list(
        c,
        "SELECT data FROM consents WHERE child_id = ?1 ORDER BY ref_id, id",
        [child.as_str()],
    )
}

/// Events overlapping the days `from..=to`, by start.
pub fn calendar_events(c: &Connection, from: Day, to: Day) -> Result<Vec<CalendarEvent>> {
    list(
        c,
        "SELECT data FROM calendar_events WHERE at < ?2 AND at2 >= ?1 ORDER BY at, id",
        params![day_ms(from), day_ms(to.plus_days(1))],
    )
}

/// Documents, newest first.
pub fn documents(c: &Connection) -> Result<Vec<Document>> {
    list(c, "SELECT data FROM documents ORDER BY at DESC, id", [])
}

/// Photos, newest first.
pub fn photos(c: &Connection) -> Result<Vec<Photo>> {
    list(c, "SELECT data FROM photos ORDER BY at DESC, id", [])
}

/// Every child's attendance on `day` (`NotArrived` when nothing is recorded).
pub fn attendance(c: &Connection, day: Day) -> Result<Vec<ChildAttendance>> {
    let rows: Vec<Attendance> = list(
        c,
        "SELECT data FROM attendance WHERE ref_id = ?1",
        [day.to_string()],
    )?;
    Ok(children(c)?
        .into_iter()
        .map(|ch| {
            let state = rows
                .iter()
                .find(|a| a.child_id == ch.id)
                .map(|a| a.state.clone())
                .unwrap_or(AttendanceState::NotArrived);
            ChildAttendance {
                child_id: ch.id,
                day,
                state,
            }
        })
        .collect())
}

/// The persons allowed to pick a child up.
pub fn pickup_persons(c: &Connection, child: &ChildId) -> Result<Vec<PickupPerson>> {
    list(
        c,
        "SELECT data FROM pickup_persons WHERE child_id = ?1 ORDER BY id",
        [child.as_str()],
    )
}

/// The notification preferences of guardian `me`.
pub fn notification_preferences(c: &Connection, me: &str) -> Result<Vec<NotificationPreference>> {
    Ok(
        cache::get::<NotificationPreferences>(c, EntityKind::NotificationPreferences, me)?
            .map(|p| p.preferences)
            .unwrap_or_default(),
    )
}

/// Privacy requests, newest first.
pub fn privacy_requests(c: &Connection) -> Result<Vec<PrivacyRequest>> {
    list(
        c,
        "SELECT data FROM privacy_requests ORDER BY at DESC, id",
        [],
    )
}
