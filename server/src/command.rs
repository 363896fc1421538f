//! Running a parent command exactly once: the `Idempotency-Key` is stored with the answer in
//! the same transaction as the change, and a replay returns the stored answer without running
//! the command again. Answers that are client errors (4xx) are stored too, so a replay gets
//! the same answer; their partial writes are rolled back to a savepoint first.

use crate::app::AppState;
use crate::auth::GuardianCaller;
use crate::db::{opt, sha256_hex};
use crate::entities::GuardianView;
use crate::error::{AppError, AppResult};
use crate::extract::IdempotencyKey;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use kidplan_api::FEED_RANGE_HEADER;
use rusqlite::{Connection, params};
use serde::Serialize;

/// What a command sees while it runs.
pub struct Cmd<'a> {
    pub conn: &'a Connection,
    pub view: GuardianView,
    /// The caller's session kindergarten.
    pub kindergarten_id: String,
    pub now: i64,
    /// The child the command is about, if any (erasure of the child drops the stored answer).
    pub child_id: Option<String>,
}

/// A stable fingerprint of a command: its name, path parameters and body.
pub fn fingerprint<T: Serialize>(name: &str, params: &[&str], body: &T) -> String {
    let body = serde_json::to_string(body).unwrap_or_default();
    sha256_hex(&format!("{name}\n{}\n{body}", params.join("\n")))
}

struct Stored {
    status: u16,
    body: String,
    /// Where the feed stood before and after the command (see [`FEED_RANGE_HEADER`]).
    feed: Option<(i64, i64)>,
}

/// Runs `f` once per (guardian, key) and answers with its result (or the stored one).
pub async fn run<T, F>(
    st: &AppState,
    g: GuardianCaller,
    key: IdempotencyKey,
    fingerprint: String,
    f: F,
) -> Response
where
    T: Serialize,
    F: FnOnce(&mut Cmd<'_>) -> AppResult<T> + Send + 'static,
{
    let now = st.clock.now_ms();
    let caller = g.0;
    let out = st
        .db
        .call(move |conn| {
            let mut tx = conn.transaction()?;
            let stored = opt(tx.query_row(
                "SELECT fingerprint, status, body, feed_before, feed_after FROM idempotency
                 WHERE guardian_id = ?1 AND key = ?2",
                params![caller.person_id, key.0],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, u16>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, Option<i64>>(3)?,
                        r.get::<_, Option<i64>>(4)?,
                    ))
                },
            ))?;
            if let Some((fp, status, body, before, after)) = stored {
                if fp != fingerprint {
                    return Err(AppError::conflict("Idempotency-Key already used for another request"));
                }
                return Ok(Stored { status, body, feed: before.zip(after) });
            }
            let before = crate::feed::current_seq(&tx)?;
            let sp = tx.savepoint()?;
            let mut cmd = Cmd {
                view: GuardianView::load(&sp, &caller.person_id)?,
                conn: &sp,
                kindergarten_id: caller.kindergarten_id.clone(),
                now,
                child_id: None,
            };
            let result = f(&mut cmd).and_then(|v| Ok(serde_json::to_string(&v)?));
            let child_id = cmd.child_id;
            let (status, body) = match result {
                Ok(body) => {
                    sp.commit()?;
                    (200, body)
                }
                Err(e) if e.status.is_client_error() => {
                    drop(sp);
                    (e.status.as_u16(), e.body_json())
                }
                Err(e) => return Err(e),
            };
            let after = crate::feed::current_seq(&tx)?;
            tx.execute(
                "INSERT INTO idempotency (guardian_id, key, fingerprint, child_id, status, body, created_at,
                                          feed_before, feed_after)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![caller.person_id, key.0, fingerprint, child_id, status, body, now, before, after],
            )?;
            tx.commit()?;
            Ok(Stored { status, body, feed: Some((before, after)) })
        })
        .await;
    match out {
        Ok(s) => {
            st.queue.after_commit().await;
            let status = StatusCode::from_u16(s.status).unwrap_or(StatusCode::OK);
            let mut resp =
                (status, [(header::CONTENT_TYPE, "application/json")], s.body).into_response();
            if let Some((before, after)) = s.feed
                && let Ok(name) = header::HeaderName::from_bytes(FEED_RANGE_HEADER.as_bytes())
                && let Ok(v) = header::HeaderValue::from_str(&format!("{before} {after}"))
            {
                resp.headers_mut().insert(name, v);
            }
            resp
        }
        Err(e) => e.into_response(),
    }
}

/// Checks a client-made id: 1-64 letters, digits, `-` or `_`.
pub fn check_id(field: &str, id: &str) -> AppResult<()> {
    let ok = (1..=64).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(AppError::invalid(
            field,
            "id must be 1-64 letters, digits, - or _",
        ))
    }
}

/// Checks a required text: not blank, at most `max` characters.
pub fn check_text(field: &str, text: &str, max: usize) -> AppResult<()> {
    if text.trim().is_empty() {
        return Err(AppError::invalid(field, "must not be empty"));
    }
    check_len(field, text, max)
}

/// Checks a text's length in characters.
pub fn check_len(field: &str, text: &str, max: usize) -> AppResult<()> {
    if text.chars().count() > max {
        return Err(AppError::invalid(
            field,
            format!("at most {max} characters"),
        ));
    }
    Ok(())
}

/// An optional note: checked, and blank becomes `None`.
pub fn note(field: &str, note: Option<String>, max: usize) -> AppResult<Option<String>> {
    match note {
        Some(n) if n.trim().is_empty() => Ok(None),
        Some(n) => check_len(field, &n, max).map(|_| Some(n)),
        None => Ok(None),
    }
}

/// Checks a day range.
pub fn check_days(first: kidplan_api::Day, last: kidplan_api::Day) -> AppResult<()> {
    // Years the contract names (1900..=2199): anything else would be stored in a form that
    // does not read back as a day.
    for (field, day) in [("first_day", first), ("last_day", last)] {
        if !day.in_range() {
            return Err(AppError::invalid(field, "year out of range (1900-2199)"));
        }
    }
    if last < first {
        return Err(AppError::invalid(
            "last_day",
            "last_day is before first_day",
        ));
    }
    if (last.0 - first.0).num_days() > 366 {
        return Err(AppError::invalid("last_day", "at most a year"));
    }
    Ok(())
}

/// True when a row with this id exists in `table`.
pub fn exists(conn: &Connection, table: &str, id: &str) -> AppResult<bool> {
    let sql = format!("SELECT 1 FROM {table} WHERE id = ?1");
    Ok(opt(conn.query_row(&sql, [id], |_| Ok(())))?.is_some())
}

/// 409 when a client-made id is taken.
pub fn check_new(conn: &Connection, table: &str, field: &str, id: &str) -> AppResult<()> {
    check_id(field, id)?;
    if exists(conn, table, id)? {
        return Err(AppError::conflict("id already in use"));
    }
    Ok(())
}
