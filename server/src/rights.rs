//! The parent's privacy rights on the server: what a request may be, and what its answer does.
//!
//! - A request is checked before anything is stored: a known right, a note and a child text
//!   within limits, a child only for a rectification and only one of the guardian's own, an
//!   objection only with what it is against. The same right asked again while the first is
//!   open (or, for a restriction or objection, in force) is `409 already_requested`.
//! - An objection acts at once: to photo sharing it withdraws every `photos_shared` consent
//!   of the guardian's children; to analytics it is recorded (the device stops counting when
//!   it files it; the server's counters hold nothing linkable to anyone).
//! - The kindergarten's acceptance acts: a restriction stops every notice
//!   ([`crate::notices::restricted`]), hides the guardian's messages from other guardians and
//!   photos of their children from other families until it is lifted (status `lifted`); a
//!   rectification of a child's free text writes it to the child; an erasure runs the erasure
//!   machinery for the guardian ([`crate::erasure`]).

use crate::command::{check_len, note};
use crate::consent;
use crate::entities::{self, GuardianView, enum_str};
use crate::error::{AppError, AppResult};
use crate::feed;
use axum::http::StatusCode;
use kidplan_api::ErrorCode;
use kidplan_api::commands::MAX_TEXT_CHARS;
use kidplan_api::privacy::{
    CreatePrivacyRequest, ObjectionTo, PrivacyRequest, PrivacyRequestStatus, PrivacyRight,
};
use kidplan_api::staff::{HandlePrivacyRequest, Person};
use kidplan_api::sync::EntityKind;
use rusqlite::{Connection, params};

/// The longest child free text a rectification may ask for (the same as a child's `info`).
pub const MAX_CHILD_INFO_CHARS: usize = MAX_TEXT_CHARS;

fn already_requested() -> AppError {
    AppError::new(
        StatusCode::CONFLICT,
        ErrorCode::AlreadyRequested,
        "this right is already requested and not yet answered",
    )
}

/// Checks a new request against the guardian's view; returns nothing or the first problem.
fn check(view: &GuardianView, req: &CreatePrivacyRequest) -> AppResult<()> {
    if req.right == PrivacyRight::Unknown {
        return Err(AppError::invalid("right", "unknown right"));
    }
    if let Some(n) = &req.note {
        check_len("note", n, MAX_TEXT_CHARS)?;
    }
    match (&req.child_id, req.right) {
        (Some(c), PrivacyRight::Rectification) if !view.has_child(c.as_str()) => {
            return Err(AppError::not_found());
        }
        (Some(c), PrivacyRight::Rectification) => crate::responsibility::require(view, c.as_str())?,
        (None, _) => {}
        (Some(_), _) => {
            return Err(AppError::invalid(
                "child_id",
                "a child is named only in a rectification",
            ));
        }
    }
    if let Some(info) = &req.child_info {
        if req.child_id.is_none() {
            return Err(AppError::invalid(
                "child_info",
                "a child's text needs the child",
            ));
        }
        check_len("child_info", info, MAX_CHILD_INFO_CHARS)?;
    }
    match (req.right, req.objection) {
        (PrivacyRight::Objection, Some(ObjectionTo::Unknown) | None) => Err(AppError::invalid(
            "objection",
            "say what the objection is against",
        )),
        (PrivacyRight::Objection, Some(_)) | (_, None) => Ok(()),
        (_, Some(_)) => Err(AppError::invalid(
            "objection",
            "only an objection says what it is against",
        )),
    }
}

/// True when the same request is open, or (restriction, objection) in force.
fn duplicate(conn: &Connection, guardian_id: &str, req: &CreatePrivacyRequest) -> AppResult<bool> {
    let statuses = match req.right {
        PrivacyRight::Restriction | PrivacyRight::Objection => "('received', 'completed')",
        _ => "('received')",
    };
    let sql = format!(
        "SELECT 1 FROM privacy_requests WHERE guardian_id = ?1 AND right = ?2 AND status IN {statuses}
           AND child_id IS ?3 AND objection IS ?4 LIMIT 1"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    Ok(stmt.exists(params![
        guardian_id,
        enum_str(&req.right),
        req.child_id.as_ref().map(|c| c.0.clone()),
        req.objection.map(|o| enum_str(&o)),
    ])?)
}

/// Stores a guardian's request (the caller checked the id is new) and does what an objection
/// does at once.
pub fn create(
    conn: &Connection,
    view: &GuardianView,
    req: CreatePrivacyRequest,
    now: i64,
) -> AppResult<PrivacyRequest> {
    check(view, &req)?;
    if duplicate(conn, &view.id, &req)? {
        return Err(already_requested());
    }
    let note = note("note", req.note.clone(), MAX_TEXT_CHARS)?;
    conn.execute(
        "INSERT INTO privacy_requests (id, guardian_id, right, note, status, created_at, child_id, objection, child_info)
         VALUES (?1, ?2, ?3, ?4, 'received', ?5, ?6, ?7, ?8)",
        params![
            req.id.0,
            view.id,
            enum_str(&req.right),
            note,
            now,
            req.child_id.as_ref().map(|c| c.0.clone()),
            req.objection.map(|o| enum_str(&o)),
            req.child_info,
        ],
    )?;
    if let Some(objection) = req.objection {
        let response = match objection {
            ObjectionTo::PhotoSharing => {
                for child in &view.children {
                    consent::set_consent(conn, child, "photos_shared", "denied", &view.id, now)?;
                }
                "Photos of your children are no longer shown to other families."
            }
            _ => {
                "This device no longer counts usage; the server's counters hold nothing linkable to you."
            }
        };
        conn.execute(
            "UPDATE privacy_requests SET status = 'completed', response = ?2, handled_at = ?3 WHERE id = ?1",
            params![req.id.0, response, now],
        )?;
    }
    feed::touch(conn, EntityKind::PrivacyRequest, req.id.as_str())?;
    entities::privacy_request(conn, req.id.as_str())?.ok_or_else(AppError::not_found)
}

/// What answering a request did: the request as answered, and the files an erasure leaves to
/// delete after commit (`erased` is true when the guardian was erased).
pub struct Answered {
    pub request: PrivacyRequest,
    pub files: Vec<String>,
    pub erased: bool,
}

/// Answers a request of a guardian of the kindergarten and does what the answer means. The
/// caller checked that the request belongs to the kindergarten.
pub fn answer(
    conn: &Connection,
    kindergarten_id: &str,
    id: &str,
    req: &HandlePrivacyRequest,
    now: i64,
) -> AppResult<Answered> {
    let mut request = entities::privacy_request(conn, id)?.ok_or_else(AppError::not_found)?;
    let guardian = request.guardian_id.0.clone();
    let allowed = match (request.status, req.status) {
        (PrivacyRequestStatus::Received, PrivacyRequestStatus::Completed)
        | (PrivacyRequestStatus::Received, PrivacyRequestStatus::Rejected) => true,
        (PrivacyRequestStatus::Completed, PrivacyRequestStatus::Lifted) => {
            request.right == PrivacyRight::Restriction
        }
        _ => false,
    };
    if !allowed {
        return Err(AppError::conflict(
            "a received request is completed or rejected; an accepted restriction is lifted",
        ));
    }
    if let Some(r) = &req.response {
        check_len("response", r, MAX_TEXT_CHARS)?;
    }
    let accepted = req.status == PrivacyRequestStatus::Completed;
    request.status = req.status;
    request.response = req.response.clone();
    request.handled_at = Some(kidplan_api::Timestamp(now));
    if accepted && request.right == PrivacyRight::Erasure {
        let person = Person::Guardian(request.guardian_id.clone());
        let (_, files) = crate::erasure::erase(conn, kindergarten_id, &person)?;
        return Ok(Answered {
            request,
            files,
            erased: true,
        });
    }
    let restriction = request.right == PrivacyRight::Restriction;
    let before = if restriction {
        consent::restriction_viewers(conn, &guardian)?
    } else {
        consent::Seen::new()
    };
    conn.execute(
        "UPDATE privacy_requests SET status = ?2, response = ?3, handled_at = ?4 WHERE id = ?1",
        params![id, enum_str(&req.status), req.response, now],
    )?;
    if restriction {
        if accepted {
            // What was queued for them before is not sent either.
            conn.execute(
                "DELETE FROM send_queue WHERE person_id = ?1 AND state <> 'dead'",
                [&guardian],
            )?;
        }
        let after = consent::restriction_viewers(conn, &guardian)?;
        consent::settle(conn, &before, &after)?;
    }
    if accepted
        && request.right == PrivacyRight::Rectification
        && let (Some(child), Some(info)) = (&request.child_id, &request.child_info)
    {
        conn.execute(
            "UPDATE children SET info = ?2 WHERE id = ?1",
            params![child.0, info],
        )?;
        feed::touch(conn, EntityKind::Child, child.as_str())?;
    }
    feed::touch(conn, EntityKind::PrivacyRequest, id)?;
    Ok(Answered {
        request,
        files: Vec::new(),
        erased: false,
    })
}
