//! The second confirmation of an erasure and its audit record.
//!
//! An erasure takes two calls of `POST /v1/staff/erasures` by the same manager. The first
//! (no `confirmation`) checks that the person belongs to the kindergarten, erases nothing and
//! answers `202` with a one-time confirmation token, valid for [`CONFIRMATION_TTL_S`] and bound
//! to that manager and that person. The second repeats the person with the token and erases.
//! A token is stored only as a hash, with a hash of the person (no id in the clear), and is
//! spent by its first use, right or wrong person alike.
//!
//! Why a token rather than the id typed twice: a client that sends the id twice in one request
//! proves nothing; the token proves that the manager's client saw the first answer (the shell
//! shows "this erases ..., irreversible") before the second call, and it cannot be made up.
//!
//! The audit record says who erased and when, in which kindergarten, and nothing of the
//! erased person (not even the kind of person). A manager cannot erase themself (the record
//! would then name the erased person); a manager erased later by another is removed from the
//! records they wrote.

use crate::app::AppState;
use crate::auth::StaffCaller;
use crate::db::sha256_hex;
use crate::error::{AppError, AppResult};
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use kidplan_api::staff::{ErasureConfirmation, Person};
use rand::Rng;
use rusqlite::{Connection, params};

/// How long a confirmation token is valid, in seconds.
pub const CONFIRMATION_TTL_S: i64 = 300;

fn person_hash(person: &Person) -> String {
    let (kind, id) = match person {
        Person::Child(id) => ("child", id.as_str()),
        Person::Guardian(id) => ("guardian", id.as_str()),
        Person::Staff(id) => ("staff", id.as_str()),
    };
    sha256_hex(&format!("{kind}:{id}"))
}

fn not_self(by: &str, person: &Person) -> AppResult<()> {
    match person {
        Person::Staff(id) if id.as_str() == by => Err(AppError::conflict(
            "a manager cannot erase themself: another manager or the operator can",
        )),
        _ => Ok(()),
    }
}

fn bad_confirmation() -> AppError {
    AppError::invalid(
        "confirmation",
        "missing, expired or used confirmation for this erasure: ask for a new one",
    )
}

/// First step: checks the person and answers `202` with a confirmation token.
pub async fn ask(st: &AppState, s: &StaffCaller, person: Person) -> AppResult<Response> {
    let (by, kg) = (s.0.person_id.clone(), s.0.kindergarten_id.clone());
    let now = st.clock.now_ms();
    let token = st
        .db
        .tx(move |tx| {
            not_self(&by, &person)?;
            if !crate::erasure::person_kindergartens(tx, &person)?.contains(&kg) {
                return Err(AppError::not_found());
            }
            let mut bytes = [0u8; 32];
            rand::rng().fill(&mut bytes);
            let token = format!(
                "kpe_{}",
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
            );
            tx.execute(
                "DELETE FROM erasure_confirmations WHERE expires_at <= ?1",
                [now],
            )?;
            tx.execute(
                "INSERT INTO erasure_confirmations (token_hash, staff_id, person_hash, expires_at) VALUES (?1, ?2, ?3, ?4)",
                params![sha256_hex(&token), by, person_hash(&person), now + CONFIRMATION_TTL_S * 1000],
            )?;
            Ok(token)
        })
        .await?;
    let body = ErasureConfirmation {
        confirmation: token,
        expires_in: CONFIRMATION_TTL_S,
    };
    Ok((StatusCode::ACCEPTED, Json(body)).into_response())
}

/// Second step, in the erasure's transaction: spends the token; fails unless it was issued to
/// `by` for `person` and has not expired.
pub fn redeem(
    conn: &Connection,
    by: &str,
    person: &Person,
    token: &str,
    now: i64,
) -> AppResult<()> {
    not_self(by, person)?;
    let hash = sha256_hex(token.trim());
    let row: Option<(String, String, i64)> = crate::db::opt(conn.query_row(
        "SELECT staff_id, person_hash, expires_at FROM erasure_confirmations WHERE token_hash = ?1",
        [&hash],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    ))?;
    let Some((staff_id, person_hash_stored, expires_at)) = row else {
        return Err(bad_confirmation());
    };
    if staff_id != by || person_hash_stored != person_hash(person) || expires_at <= now {
        return Err(bad_confirmation());
    }
    conn.execute(
        "DELETE FROM erasure_confirmations WHERE token_hash = ?1",
        [&hash],
    )?;
    Ok(())
}

/// Spends a token outside the erasure's transaction (after a refused second step), so that no
/// token can be tried twice.
pub async fn spend(st: &AppState, token: String) {
    let hash = sha256_hex(token.trim());
    let _ = st
        .db
        .call(move |conn| {
            conn.execute(
                "DELETE FROM erasure_confirmations WHERE token_hash = ?1",
                [&hash],
            )?;
            Ok(())
        })
        .await;
}

/// Writes the audit record of an erasure (who and when; nothing of the erased person) and,
/// when a member of staff was erased, removes them from the records they wrote.
pub fn record(
    conn: &Connection,
    kindergarten_id: &str,
    by: &str,
    person: &Person,
    now: i64,
) -> AppResult<()> {
    if let Person::Staff(id) = person {
        conn.execute(
            "UPDATE erasure_audit SET erased_by = NULL WHERE erased_by = ?1",
            [id.as_str()],
        )?;
        conn.execute(
            "DELETE FROM erasure_confirmations WHERE staff_id = ?1",
            [id.as_str()],
        )?;
    }
    conn.execute(
        "INSERT INTO erasure_audit (kindergarten_id, erased_by, erased_at) VALUES (?1, ?2, ?3)",
        params![kindergarten_id, by, now],
    )?;
    Ok(())
}
