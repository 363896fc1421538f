//! Who among the staff may do what, and where: the one check every staff route goes through.
//!
//! [`RULES`] names, for each staff route (method and path template), the [`Action`] it
//! performs and where its [`Target`] is found in the request. [`gate`] is the route layer of
//! the staff router: it authenticates the caller as staff, reads their role and department,
//! checks the role against [`permitted`] (the permission matrix of the README), resolves the
//! target to a kindergarten and department and checks it against the caller's [`Scope`].
//! A staff route without a rule is refused to everyone (deny by default), and a staff handler
//! can only get its [`StaffCaller`] from this gate.
//!
//! Outcomes: a role that may not do the action gets `403`; a target in another kindergarten
//! (or none at all) `404`, as before; a target in the caller's kindergarten but outside their
//! department `403`. The handlers keep their own kindergarten checks as a second line.

use crate::app::AppState;
use crate::auth::{Caller, StaffCaller};
use crate::db::opt;
use crate::error::{AppError, AppResult};
use axum::extract::{FromRequestParts, MatchedPath, Path, Query, Request, State};
use axum::http::{Method, request::Parts};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use kidplan_api::auth::Role;
use kidplan_api::model::StaffRole;
use kidplan_api::paths as p;
use rusqlite::Connection;
use std::collections::HashMap;

/// What a staff route does, as the permission matrix names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// Write in a child's log.
    Log,
    /// Start a thread with a child's guardians or answer a thread.
    Message,
    /// Message every family of a department or of the kindergarten.
    Broadcast,
    /// Put an event in the calendar.
    Calendar,
    /// Check a child in or out.
    CheckIn,
    /// Acknowledge an absence.
    Acknowledge,
    /// Upload a photo of children.
    UploadPhoto,
    /// Upload a document for a child or for every family.
    UploadDocument,
    /// See and handle the guardians' privacy requests.
    PrivacyRequests,
    /// Erase a person (two steps, see [`crate::erasure_confirm`]).
    Erase,
    /// See the e-mail/SMS/push send queue and its dead letters.
    SendQueue,
    /// Say whether a guardian has parental responsibility for a child (see
    /// [`crate::responsibility`]).
    ParentalResponsibility,
    /// Write one's own free text for the families, set or remove one's own profile picture.
    OwnInfo,
    /// Set or remove a child's profile picture.
    ChildPicture,
}

/// Where a route's target is, to check it against the caller's department.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// The kindergarten as a whole (no department applies).
    Kindergarten,
    /// `child_id` in the JSON body.
    BodyChild,
    /// `department_id` in the JSON body; absent or null is the whole kindergarten.
    BodyDepartment,
    /// The `{child_id}` path parameter.
    PathChild,
    /// The `{id}` path parameter, a thread.
    PathThread,
    /// The `{id}` path parameter, an absence.
    PathAbsence,
    /// `children` in the query: comma-separated child ids, all of them.
    QueryChildren,
    /// `child_id` in the query; absent is the whole kindergarten.
    QueryChild,
    /// The `{id}` path parameter, a guardian–child link (its child's department).
    PathRelation,
    /// The caller themself: no place to check.
    Caller,
}

/// One staff route and what it needs.
#[derive(Clone, Copy, Debug)]
pub struct Rule {
    pub method: &'static str,
    pub path: &'static str,
    pub action: Action,
    pub target: Target,
}

const fn rule(method: &'static str, path: &'static str, action: Action, target: Target) -> Rule {
    Rule {
        method,
        path,
        action,
        target,
    }
}

/// Every staff route: a route missing here is refused to every caller.
pub const RULES: &[Rule] = &[
    rule("POST", p::STAFF_LOG_ENTRIES, Action::Log, Target::BodyChild),
    rule("POST", p::STAFF_THREADS, Action::Message, Target::BodyChild),
    rule(
        "POST",
        p::STAFF_THREAD_MESSAGES,
        Action::Message,
        Target::PathThread,
    ),
    rule(
        "POST",
        p::STAFF_BROADCASTS,
        Action::Broadcast,
        Target::BodyDepartment,
    ),
    rule(
        "POST",
        p::STAFF_EVENTS,
        Action::Calendar,
        Target::BodyDepartment,
    ),
    rule(
        "POST",
        p::STAFF_ATTENDANCE,
        Action::CheckIn,
        Target::PathChild,
    ),
    rule(
        "POST",
        p::STAFF_ABSENCE_ACK,
        Action::Acknowledge,
        Target::PathAbsence,
    ),
    rule(
        "POST",
        p::STAFF_PHOTOS,
        Action::UploadPhoto,
        Target::QueryChildren,
    ),
    rule(
        "POST",
        p::STAFF_DOCUMENTS,
        Action::UploadDocument,
        Target::QueryChild,
    ),
    rule(
        "GET",
        p::STAFF_PRIVACY_REQUESTS,
        Action::PrivacyRequests,
        Target::Kindergarten,
    ),
    rule(
        "POST",
        p::STAFF_PRIVACY_REQUEST_HANDLE,
        Action::PrivacyRequests,
        Target::Kindergarten,
    ),
    rule(
        "POST",
        p::STAFF_ERASURES,
        Action::Erase,
        Target::Kindergarten,
    ),
    rule("PUT", p::STAFF_ME_INFO, Action::OwnInfo, Target::Caller),
    rule("PUT", p::STAFF_ME_PICTURE, Action::OwnInfo, Target::Caller),
    rule(
        "DELETE",
        p::STAFF_ME_PICTURE,
        Action::OwnInfo,
        Target::Caller,
    ),
    rule(
        "PUT",
        p::STAFF_CHILD_PICTURE,
        Action::ChildPicture,
        Target::PathChild,
    ),
    rule(
        "DELETE",
        p::STAFF_CHILD_PICTURE,
        Action::ChildPicture,
        Target::PathChild,
    ),
    rule(
        "PUT",
        p::STAFF_PARENTAL_RESPONSIBILITY,
        Action::ParentalResponsibility,
        Target::PathRelation,
    ),
    rule(
        "GET",
        p::STAFF_SEND_QUEUE,
        Action::SendQueue,
        Target::Kindergarten,
    ),
];

/// The permission matrix (README, "Staff roles and permissions"): may `role` do `action` at
/// all? Where it may is the [`Scope`]'s business.
pub fn permitted(role: StaffRole, action: Action) -> bool {
    use Action::*;
    match role {
        StaffRole::Manager => true,
        StaffRole::Teacher => !matches!(action, PrivacyRequests | Erase | SendQueue),
        // Not ParentalResponsibility: a pedagogical leader (teacher) or the manager records it.
        StaffRole::Assistant => {
            matches!(
                action,
                Log | Message | CheckIn | Acknowledge | UploadPhoto | ChildPicture | OwnInfo
            )
        }
        StaffRole::Unknown => false,
    }
}

/// Where a staff member may act.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Every department of the kindergarten: managers, and staff who belong to no department.
    Kindergarten,
    /// One department.
    Department(String),
}

/// A staff member as the gate found them.
#[derive(Clone, Debug)]
pub struct StaffMember {
    pub role: StaffRole,
    pub scope: Scope,
}

/// Where a target lies: its kindergarten and its department (`None`: the whole kindergarten).
struct Place {
    kindergarten_id: String,
    department_id: Option<String>,
}

fn staff_member(conn: &Connection, staff_id: &str) -> AppResult<Option<StaffMember>> {
    let row: Option<(String, Option<String>)> = opt(conn.query_row(
        "SELECT role, department_id FROM staff WHERE id = ?1",
        [staff_id],
        |r| Ok((r.get(0)?, r.get(1)?)),
    ))?;
    Ok(row.map(|(role, department)| {
        let role: StaffRole =
            serde_json::from_value(serde_json::Value::String(role)).unwrap_or(StaffRole::Unknown);
        let scope = match (role, department) {
            (StaffRole::Manager, _) | (_, None) => Scope::Kindergarten,
            (_, Some(d)) => Scope::Department(d),
        };
        StaffMember { role, scope }
    }))
}

fn place(conn: &Connection, sql: &str, id: &str) -> AppResult<Option<Place>> {
    opt(conn.query_row(sql, [id], |r| {
        Ok(Place {
            kindergarten_id: r.get(0)?,
            department_id: r.get(1)?,
        })
    }))
}

const CHILD: &str = "SELECT kindergarten_id, department_id FROM children WHERE id = ?1";
const DEPARTMENT: &str = "SELECT kindergarten_id, id FROM departments WHERE id = ?1";
const THREAD: &str = "SELECT t.kindergarten_id, COALESCE(c.department_id, t.department_id)
     FROM threads t LEFT JOIN children c ON c.id = t.child_id WHERE t.id = ?1";
const RELATION: &str = "SELECT c.kindergarten_id, c.department_id FROM guardian_children gc
     JOIN children c ON c.id = gc.child_id WHERE gc.id = ?1";
const ABSENCE: &str = "SELECT c.kindergarten_id, c.department_id FROM absences a
     JOIN children c ON c.id = a.child_id WHERE a.id = ?1";

/// What the gate read from the request to find the target.
enum Lookup {
    /// The whole kindergarten.
    Kindergarten,
    /// Rows to find, each with its query; none found is `404`.
    Rows(Vec<(&'static str, String)>),
    /// The request is malformed where the target should be: the handler answers it.
    Handler,
}

fn body_field(body: &[u8], field: &str) -> Option<Option<String>> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    match v.get(field) {
        None | Some(serde_json::Value::Null) => Some(None),
        Some(serde_json::Value::String(s)) => Some(Some(s.clone())),
        Some(_) => None,
    }
}

fn lookup(target: Target, params: &HashMap<String, String>, parts: &Parts, body: &[u8]) -> Lookup {
    let one = |sql: &'static str, id: Option<&String>| match id {
        Some(id) => Lookup::Rows(vec![(sql, id.clone())]),
        None => Lookup::Handler,
    };
    match target {
        Target::Kindergarten => Lookup::Kindergarten,
        Target::BodyChild => match body_field(body, "child_id") {
            Some(Some(id)) => Lookup::Rows(vec![(CHILD, id)]),
            _ => Lookup::Handler,
        },
        Target::BodyDepartment => match body_field(body, "department_id") {
            Some(Some(id)) => Lookup::Rows(vec![(DEPARTMENT, id)]),
            Some(None) => Lookup::Kindergarten,
            None => Lookup::Handler,
        },
        Target::PathChild => one(CHILD, params.get("child_id")),
        Target::PathThread => one(THREAD, params.get("id")),
        Target::PathAbsence => one(ABSENCE, params.get("id")),
        Target::PathRelation => one(RELATION, params.get("id")),
        Target::Caller => Lookup::Handler,
        Target::QueryChildren => match Query::<HashMap<String, String>>::try_from_uri(&parts.uri) {
            Ok(Query(q)) => match q.get("children") {
                Some(list) => {
                    let ids: Vec<_> = list
                        .split(',')
                        .map(str::trim)
                        .filter(|c| !c.is_empty())
                        .map(|c| (CHILD, c.to_owned()))
                        .collect();
                    if ids.is_empty() || ids.len() > 100 {
                        Lookup::Handler
                    } else {
                        Lookup::Rows(ids)
                    }
                }
                None => Lookup::Handler,
            },
            Err(_) => Lookup::Handler,
        },
        Target::QueryChild => match Query::<HashMap<String, String>>::try_from_uri(&parts.uri) {
            Ok(Query(q)) => match q.get("child_id") {
                Some(id) => Lookup::Rows(vec![(CHILD, id.clone())]),
                None => Lookup::Kindergarten,
            },
            Err(_) => Lookup::Handler,
        },
    }
}

/// Checks the places of a target against the caller.
fn check_places(
    conn: &Connection,
    kindergarten_id: &str,
    member: &StaffMember,
    lookup: Lookup,
) -> AppResult<()> {
    let places = match lookup {
        Lookup::Handler => return Ok(()),
        Lookup::Kindergarten => vec![Place {
            kindergarten_id: kindergarten_id.to_owned(),
            department_id: None,
        }],
        Lookup::Rows(rows) => {
            let mut places = Vec::with_capacity(rows.len());
            for (sql, id) in rows {
                places.push(place(conn, sql, &id)?.ok_or_else(AppError::not_found)?);
            }
            places
        }
    };
    if places.iter().any(|p| p.kindergarten_id != kindergarten_id) {
        return Err(AppError::not_found());
    }
    let inside = |p: &Place| match (&member.scope, &p.department_id) {
        (Scope::Kindergarten, _) => true,
        (Scope::Department(mine), Some(theirs)) => mine == theirs,
        (Scope::Department(_), None) => false,
    };
    if places.iter().all(inside) {
        Ok(())
    } else {
        Err(AppError::forbidden())
    }
}

/// The rule of a route, if it has one.
pub fn rule_for(method: &Method, path: &str) -> Option<&'static Rule> {
    RULES
        .iter()
        .find(|r| r.path == path && r.method == method.as_str())
}

/// Route layer of the staff router: authentication, role and department, in one place.
pub async fn gate(State(st): State<AppState>, req: Request, next: Next) -> Response {
    match admit(&st, req).await {
        Ok(req) => next.run(req).await,
        Err(e) => e.into_response(),
    }
}

async fn admit(st: &AppState, req: Request) -> AppResult<Request> {
    let (mut parts, body) = req.into_parts();
    let caller = Caller::from_request_parts(&mut parts, st).await?;
    if caller.role != Role::Staff {
        return Err(AppError::forbidden());
    }
    let route = parts
        .extensions
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_default();
    let rule = rule_for(&parts.method, &route).ok_or_else(AppError::forbidden)?;
    let staff_id = caller.person_id.clone();
    let member = st
        .db
        .call(move |conn| staff_member(conn, &staff_id))
        .await?
        .ok_or_else(AppError::unauthorized)?;
    if !permitted(member.role, rule.action) {
        return Err(AppError::forbidden());
    }
    // JSON bodies are small (the router's limit); uploads carry their target in the query.
    let (body, bytes) = if matches!(rule.target, Target::BodyChild | Target::BodyDepartment) {
        let bytes = axum::body::to_bytes(body, kidplan_api::MAX_JSON_BODY)
            .await
            .map_err(|_| AppError::from_status(axum::http::StatusCode::PAYLOAD_TOO_LARGE))?;
        (axum::body::Body::from(bytes.clone()), bytes)
    } else {
        (body, axum::body::Bytes::new())
    };
    let params = match Path::<HashMap<String, String>>::from_request_parts(&mut parts, st).await {
        Ok(Path(p)) => p,
        Err(_) => HashMap::new(),
    };
    let found = lookup(rule.target, &params, &parts, &bytes);
    let kg = caller.kindergarten_id.clone();
    let m = member.clone();
    st.db
        .call(move |conn| check_places(conn, &kg, &m, found))
        .await?;
    parts.extensions.insert(StaffCaller(caller, member));
    Ok(Request::from_parts(parts, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_manager_erases_and_handles_privacy_requests() {
        for role in [StaffRole::Teacher, StaffRole::Assistant, StaffRole::Unknown] {
            assert!(!permitted(role, Action::Erase));
            assert!(!permitted(role, Action::PrivacyRequests));
        }
        assert!(permitted(StaffRole::Manager, Action::Erase));
    }

    #[test]
    fn every_rule_is_unique() {
        for (i, a) in RULES.iter().enumerate() {
            for b in &RULES[i + 1..] {
                assert!(!(a.method == b.method && a.path == b.path), "{}", a.path);
            }
        }
    }
}
