//! Staff endpoints (`/v1/staff/...`): child log, messages and broadcasts, calendar, check in
//! and out, acknowledging absences, privacy requests. Staff act within their own
//! kindergarten: anything else is `404`. Uploads are in [`crate::files`], erasure in
//! [`crate::erasure`].

use crate::app::AppState;
use crate::auth::StaffCaller;
use crate::command::{check_text, note};
use crate::db::new_id;
use crate::entities::{self, enum_str};
use crate::error::{AppError, AppResult};
use crate::extract::{ApiJson, ApiPath};
use crate::feed;
use crate::parent::insert_message;
use crate::push::{self, Audience};
use axum::Json;
use axum::extract::State;
use kidplan_api::commands::{MAX_SUBJECT_CHARS, MAX_TEXT_CHARS};
use kidplan_api::model::*;
use kidplan_api::privacy::{PrivacyRequest, PrivacyRequestStatus};
use kidplan_api::staff::*;
use kidplan_api::sync::EntityKind;
use rusqlite::{Connection, params};

/// What a staff write sees.
pub struct StaffCtx<'a> {
    pub conn: &'a Connection,
    pub staff_id: String,
    pub kindergarten_id: String,
    pub now: i64,
}

/// Runs a staff write in one transaction, then hands what it queued to the send queue.
pub async fn write<T, F>(st: &AppState, s: StaffCaller, f: F) -> AppResult<Json<T>>
where
    T: Send + 'static,
    F: FnOnce(&mut StaffCtx<'_>) -> AppResult<T> + Send + 'static,
{
    let now = st.clock.now_ms();
    let out = st
        .db
        .tx(move |tx| {
            let mut ctx = StaffCtx {
                conn: tx,
                staff_id: s.0.person_id,
                kindergarten_id: s.0.kindergarten_id,
                now,
            };
            f(&mut ctx)
        })
        .await?;
    st.queue.after_commit().await;
    Ok(Json(out))
}

pub(crate) fn found<T>(v: Option<T>) -> AppResult<T> {
    v.ok_or_else(AppError::not_found)
}

/// A child of the staff member's kindergarten.
pub fn kg_child(conn: &Connection, kindergarten_id: &str, child_id: &str) -> AppResult<Child> {
    let c = found(entities::child(conn, child_id)?)?;
    if c.kindergarten_id.as_str() != kindergarten_id {
        return Err(AppError::not_found());
    }
    Ok(c)
}

fn kg_department(conn: &Connection, kindergarten_id: &str, id: &str) -> AppResult<()> {
    let d = found(entities::department(conn, id)?)?;
    if d.kindergarten_id.as_str() != kindergarten_id {
        return Err(AppError::not_found());
    }
    Ok(())
}

/// `POST /v1/staff/log-entries`.
pub async fn log_entry(
    State(st): State<AppState>,
    s: StaffCaller,
    ApiJson(req): ApiJson<WriteLogEntry>,
) -> AppResult<Json<LogEntry>> {
    write(&st, s, move |c| {
        kg_child(c.conn, &c.kindergarten_id, req.child_id.as_str())?;
        if req.kind == LogKind::Unknown {
            return Err(AppError::invalid("kind", "unknown log kind"));
        }
        check_text("text", &req.text, MAX_TEXT_CHARS)?;
        let id = new_id();
        c.conn.execute(
            "INSERT INTO log_entries (id, child_id, author_id, kind, text, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![id, req.child_id.0, c.staff_id, enum_str(&req.kind), req.text, c.now],
        )?;
        feed::touch(c.conn, EntityKind::LogEntry, &id)?;
        push::notify(c.conn, NotificationCategory::ChildLog, EntityKind::LogEntry, &id, Audience::Children(&[req.child_id.0]), c.now)?;
        found(entities::log_entry(c.conn, &id)?)
    })
    .await
}

/// Inserts a thread written by staff with its first message; pushes to its audience.
fn staff_thread(
    c: &mut StaffCtx<'_>,
    child_id: Option<&str>,
    department_id: Option<&str>,
    subject: &str,
    body: &str,
    urgent: bool,
) -> AppResult<Thread> {
    check_text("subject", subject, MAX_SUBJECT_CHARS)?;
    check_text("body", body, MAX_TEXT_CHARS)?;
    let id = new_id();
    let broadcast = child_id.is_none();
    c.conn.execute(
        "INSERT INTO threads (id, kindergarten_id, department_id, child_id, guardian_id, subject, broadcast, urgent, created_at)
         VALUES (?1, ?2, ?3, ?4, NULL, ?5, ?6, ?7, ?8)",
        params![id, c.kindergarten_id, department_id, child_id, subject, broadcast, urgent, c.now],
    )?;
    feed::touch(c.conn, EntityKind::Thread, &id)?;
    let message_id = new_id();
    insert_message(
        c.conn,
        &message_id,
        &id,
        &Sender::Staff {
            id: c.staff_id.clone().into(),
        },
        body,
        c.now,
    )?;
    let category = if urgent {
        NotificationCategory::Urgent
    } else {
        NotificationCategory::Messages
    };
    push::notify(
        c.conn,
        category,
        EntityKind::Message,
        &message_id,
        Audience::Thread(&id),
        c.now,
    )?;
    found(entities::thread(c.conn, &id)?)
}

/// `POST /v1/staff/threads`: a thread to the guardians of one child.
pub async fn start_thread(
    State(st): State<AppState>,
    s: StaffCaller,
    ApiJson(req): ApiJson<StaffStartThread>,
) -> AppResult<Json<Thread>> {
    write(&st, s, move |c| {
        kg_child(c.conn, &c.kindergarten_id, req.child_id.as_str())?;
        staff_thread(
            c,
            Some(req.child_id.as_str()),
            None,
            &req.subject,
            &req.body,
            false,
        )
    })
    .await
}

/// `POST /v1/staff/broadcasts`.
pub async fn broadcast(
    State(st): State<AppState>,
    s: StaffCaller,
    ApiJson(req): ApiJson<Broadcast>,
) -> AppResult<Json<Thread>> {
    write(&st, s, move |c| {
        if let Some(d) = &req.department_id {
            kg_department(c.conn, &c.kindergarten_id, d.as_str())?;
        }
        staff_thread(
            c,
            None,
            req.department_id.as_ref().map(|d| d.as_str()),
            &req.subject,
            &req.body,
            req.urgent,
        )
    })
    .await
}

/// `POST /v1/staff/threads/{id}/messages`.
pub async fn message(
    State(st): State<AppState>,
    s: StaffCaller,
    ApiPath(thread_id): ApiPath<String>,
    ApiJson(req): ApiJson<StaffMessage>,
) -> AppResult<Json<Message>> {
    write(&st, s, move |c| {
        let t = found(entities::thread(c.conn, &thread_id)?)?;
        if t.kindergarten_id.as_str() != c.kindergarten_id {
            return Err(AppError::not_found());
        }
        check_text("body", &req.body, MAX_TEXT_CHARS)?;
        let id = new_id();
        insert_message(
            c.conn,
            &id,
            &thread_id,
            &Sender::Staff {
                id: c.staff_id.clone().into(),
            },
            &req.body,
            c.now,
        )?;
        push::notify(
            c.conn,
            NotificationCategory::Messages,
            EntityKind::Message,
            &id,
            Audience::Thread(&thread_id),
            c.now,
        )?;
        found(entities::message(c.conn, &id, None)?)
    })
    .await
}

/// `POST /v1/staff/events` (calendar).
pub async fn create_event(
    State(st): State<AppState>,
    s: StaffCaller,
    ApiJson(req): ApiJson<CreateEvent>,
) -> AppResult<Json<CalendarEvent>> {
    write(&st, s, move |c| {
        if let Some(d) = &req.department_id {
            kg_department(c.conn, &c.kindergarten_id, d.as_str())?;
        }
        check_text("title", &req.title, MAX_SUBJECT_CHARS)?;
        let description = note("description", req.description, MAX_TEXT_CHARS)?;
        if req.ends_at < req.starts_at {
            return Err(AppError::invalid("ends_at", "ends before it starts"));
        }
        if let Some(deadline) = req.registration_deadline
            && deadline > crate::reminders::oslo_day(req.starts_at.0)
        {
            return Err(AppError::invalid("registration_deadline", "after the period starts"));
        }
        let id = new_id();
        c.conn.execute(
            "INSERT INTO calendar_events (id, kindergarten_id, department_id, title, description, starts_at, ends_at, registration_deadline)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![id, c.kindergarten_id, req.department_id.as_ref().map(|d| d.0.clone()), req.title, description, req.starts_at.0, req.ends_at.0,
                req.registration_deadline.map(|d| d.to_string())],
        )?;
        feed::touch(c.conn, EntityKind::CalendarEvent, &id)?;
        let audience = Audience::Kindergarten {
            kindergarten_id: &c.kindergarten_id,
            department_id: req.department_id.as_ref().map(|d| d.as_str()),
        };
        push::notify(c.conn, NotificationCategory::Calendar, EntityKind::CalendarEvent, &id, audience, c.now)?;
        found(entities::calendar_event(c.conn, &id)?)
    })
    .await
}

/// `POST /v1/staff/attendance/{child_id}`: check in or out today.
pub async fn attendance(
    State(st): State<AppState>,
    s: StaffCaller,
    ApiPath(child_id): ApiPath<String>,
    ApiJson(req): ApiJson<RecordAttendance>,
) -> AppResult<Json<Attendance>> {
    let day = st.clock.now().date_naive().format("%Y-%m-%d").to_string();
    write(&st, s, move |c| {
        kg_child(c.conn, &c.kindergarten_id, &child_id)?;
        let row: Option<(String, Option<i64>, Option<i64>)> = crate::db::opt(c.conn.query_row(
            "SELECT id, checked_in_at, checked_out_at FROM attendance WHERE child_id = ?1 AND day = ?2",
            params![child_id, day],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        ))?;
        let id = match (req.action, row) {
            (AttendanceAction::CheckIn, Some((_, Some(_), None))) => return Err(AppError::conflict("already checked in")),
            (AttendanceAction::CheckIn, Some((id, _, _))) => {
                c.conn.execute(
                    "UPDATE attendance SET checked_in_at = ?2, checked_out_at = NULL WHERE id = ?1",
                    params![id, c.now],
                )?;
                id
            }
            (AttendanceAction::CheckIn, None) => {
                let id = new_id();
                c.conn.execute(
                    "INSERT INTO attendance (id, child_id, day, checked_in_at) VALUES (?1, ?2, ?3, ?4)",
                    params![id, child_id, day, c.now],
                )?;
                id
            }
            (AttendanceAction::CheckOut, Some((id, Some(_), None))) => {
                c.conn.execute("UPDATE attendance SET checked_out_at = ?2 WHERE id = ?1", params![id, c.now])?;
                id
            }
            (AttendanceAction::CheckOut, _) => return Err(AppError::conflict("not checked in")),
        };
        feed::touch(c.conn, EntityKind::Attendance, &id)?;
        found(entities::attendance(c.conn, &id)?)
    })
    .await
}

/// `POST /v1/staff/absences/{id}/acknowledge`.
pub async fn acknowledge_absence(
    State(st): State<AppState>,
    s: StaffCaller,
    ApiPath(id): ApiPath<String>,
) -> AppResult<Json<Absence>> {
    write(&st, s, move |c| {
        let a = found(entities::absence(c.conn, &id)?)?;
        kg_child(c.conn, &c.kindergarten_id, a.child_id.as_str())?;
        match a.status {
            AbsenceStatus::Acknowledged => return Ok(a),
            AbsenceStatus::Reported => {}
            _ => return Err(AppError::conflict("the report was withdrawn")),
        }
        c.conn.execute(
            "UPDATE absences SET status = 'acknowledged', acknowledged_by = ?2 WHERE id = ?1",
            params![id, c.staff_id],
        )?;
        feed::touch(c.conn, EntityKind::Absence, &id)?;
        push::notify(
            c.conn,
            NotificationCategory::AbsenceAcknowledged,
            EntityKind::Absence,
            &id,
            Audience::Children(&[a.child_id.0]),
            c.now,
        )?;
        found(entities::absence(c.conn, &id)?)
    })
    .await
}

/// `PUT /v1/staff/me/info`: the staff member's own free text for the families.
pub async fn set_info(
    State(st): State<AppState>,
    s: StaffCaller,
    ApiJson(req): ApiJson<SetStaffInfo>,
) -> AppResult<Json<Staff>> {
    let info = req
        .info
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty());
    if info
        .as_ref()
        .is_some_and(|t| t.chars().count() > kidplan_api::commands::MAX_GUARDIAN_INFO_CHARS)
    {
        return Err(AppError::invalid("info", "at most 2000 characters"));
    }
    write(&st, s, move |c| {
        c.conn.execute(
            "UPDATE staff SET info = ?2 WHERE id = ?1",
            params![c.staff_id, info],
        )?;
        feed::touch(c.conn, EntityKind::Staff, &c.staff_id)?;
        found(entities::staff(c.conn, &c.staff_id)?)
    })
    .await
}

/// `PUT /v1/staff/relations/{id}/parental-responsibility`: whether the link's guardian has
/// parental responsibility for its child (see [`crate::responsibility`]).
pub async fn set_parental_responsibility(
    State(st): State<AppState>,
    s: StaffCaller,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<SetParentalResponsibility>,
) -> AppResult<Json<GuardianChild>> {
    write(&st, s, move |c| {
        crate::responsibility::set(c.conn, &c.kindergarten_id, &id, req.parental_responsibility)
    })
    .await
}

const KG_PRIVACY_REQUESTS: &str = "SELECT DISTINCT p.id FROM privacy_requests p JOIN guardians g ON g.id = p.guardian_id
     WHERE g.kindergarten_id = ?1 OR EXISTS (SELECT 1 FROM guardian_children gc JOIN children c ON c.id = gc.child_id
       WHERE gc.guardian_id = p.guardian_id AND c.kindergarten_id = ?1)
     ORDER BY p.created_at DESC, p.id";

/// `GET /v1/staff/privacy-requests`: the requests of the kindergarten's guardians.
pub async fn privacy_requests(
    State(st): State<AppState>,
    s: StaffCaller,
) -> AppResult<Json<Vec<PrivacyRequest>>> {
    let kg = s.0.kindergarten_id;
    let list = st
        .db
        .call(move |conn| crate::parent::privacy_requests(conn, KG_PRIVACY_REQUESTS, &kg))
        .await?;
    Ok(Json(list))
}

/// `POST /v1/staff/privacy-requests/{id}/handle`.
pub async fn handle_privacy_request(
    State(st): State<AppState>,
    s: StaffCaller,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<HandlePrivacyRequest>,
) -> AppResult<Json<PrivacyRequest>> {
    let Json(answered) = write(&st, s, move |c| {
        let visible = entities::strings(c.conn, KG_PRIVACY_REQUESTS, &c.kindergarten_id)?;
        if !visible.contains(&id) {
            return Err(AppError::not_found());
        }
        if !matches!(
            req.status,
            PrivacyRequestStatus::Completed
                | PrivacyRequestStatus::Rejected
                | PrivacyRequestStatus::Lifted
        ) {
            return Err(AppError::invalid(
                "status",
                "status must be completed, rejected or lifted",
            ));
        }
        crate::rights::answer(c.conn, &c.kindergarten_id, &id, &req, c.now)
    })
    .await?;
    if answered.erased {
        // As after any erasure: no copy in the WAL, no file left.
        st.db
            .call(|conn| Ok(crate::db::checkpoint_truncate(conn)?))
            .await?;
        crate::files::delete_files(st.files_dir.clone(), answered.files).await;
    }
    Ok(Json(answered.request))
}

/// `GET /v1/staff/send-queue` (manager): the kindergarten's queued and dead sends, without
/// recipients or texts.
pub async fn send_queue(
    State(st): State<AppState>,
    s: StaffCaller,
) -> AppResult<Json<Vec<kidplan_api::staff::QueuedSend>>> {
    let list = st
        .db
        .call(move |conn| {
            crate::auth::require_manager(conn, &s)?;
            let mut stmt = conn.prepare_cached(
                "SELECT id, channel, state, attempts, next_at, last_error, created_at FROM send_queue
                 WHERE kindergarten_id = ?1 ORDER BY id DESC LIMIT 500",
            )?;
            let rows = stmt.query_map([&s.0.kindergarten_id], |r| {
                Ok(kidplan_api::staff::QueuedSend {
                    id: r.get(0)?,
                    channel: r.get(1)?,
                    state: entities::enum_from(r.get(2)?)?,
                    attempts: r.get::<_, i64>(3)?.clamp(0, i64::from(u32::MAX)) as u32,
                    next_attempt_at: kidplan_api::Timestamp(r.get(4)?),
                    last_error: r.get(5)?,
                    created_at: kidplan_api::Timestamp(r.get(6)?),
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
        .await?;
    Ok(Json(list))
}
