//! Anonymous one-time tokens for the telemetry collector (Privacy Pass style, on the RFC 9497
//! VOPRF with ristretto255-SHA512), so the publication threshold counts distinct real guardians
//! and nobody can tell which report is whose.
//!
//! - Each usage day has its own key, made on first use. `GET /v1/telemetry/keys/{day}`
//!   publishes its public key to anyone; devices fetch it on their anonymous connection and check
//!   the server's proof against it.
//! - A guardian's session asks once per day for a blind evaluation of a token input
//!   (`POST /v1/telemetry/tokens`, a command with an `Idempotency-Key`, so a lost answer can be
//!   fetched again). The server sees only the blinded element and answers with the evaluation
//!   and a proof that the day's published key made it; it records that this guardian got the
//!   day's token, so nobody gets two.
//! - The report carries the token: the input and the PRF output the device unblinded. The
//!   collector recomputes the PRF with the day's key, compares, and records a hash of the input
//!   as spent, in the same transaction that counts the report. A day's counters are published
//!   once 20 distinct tokens contributed.
//! - Who got a day's token is kept only until the day after; keys and spent hashes while the
//!   day's reports may arrive ([`KEEP_DAYS`]).

use crate::app::AppState;
use crate::auth::GuardianCaller;
use crate::command;
use crate::db::{opt, sha256_hex};
use crate::error::{AppError, AppResult};
use crate::extract::{ApiJson, IdempotencyKey};
use axum::Json;
use axum::extract::{Path, State};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use chrono::NaiveDate;
use kidplan_api::Day;
use kidplan_api::telemetry::{TelemetryToken, TokenKey, TokenRequest, TokenResponse};
use rand_core_06::OsRng;
use rusqlite::{Connection, params};
use voprf::{BlindedElement, Group, Ristretto255, VoprfServer};

/// Days, either side of the server's, for which a token may be issued.
const ISSUE_WINDOW_DAYS: i64 = 1;
/// Days after its day that a key and its spent tokens are kept (reports arrive up to 31 days
/// late).
pub const KEEP_DAYS: i64 = 32;

/// Whether `day` may issue tokens when the server's day is `today`.
fn may_issue(day: NaiveDate, today: NaiveDate) -> bool {
    (day - today).num_days().abs() <= ISSUE_WINDOW_DAYS
}

/// The day's key, made when the day may still issue.
fn day_key(
    conn: &Connection,
    day: NaiveDate,
    today: NaiveDate,
) -> AppResult<Option<VoprfServer<Ristretto255>>> {
    let d = day.to_string();
    let internal = |_| AppError::internal(&"telemetry token key");
    if let Some(bytes) = opt(conn.query_row(
        "SELECT secret FROM telemetry_keys WHERE day = ?1",
        [&d],
        |r| r.get::<_, Vec<u8>>(0),
    ))? {
        return VoprfServer::<Ristretto255>::deserialize(&bytes)
            .map(Some)
            .map_err(internal);
    }
    if !may_issue(day, today) {
        return Ok(None);
    }
    let key = VoprfServer::<Ristretto255>::new(&mut OsRng).map_err(internal)?;
    let public = Ristretto255::serialize_elem(key.get_public_key());
    conn.execute(
        "INSERT INTO telemetry_keys (day, public_key, secret) VALUES (?1, ?2, ?3)",
        params![d, public.as_slice(), key.serialize().as_slice()],
    )?;
    Ok(Some(key))
}

fn parse_day(s: &str) -> AppResult<NaiveDate> {
    s.parse::<Day>()
        .map(|d| d.0)
        .map_err(|_| AppError::invalid("day", "not a YYYY-MM-DD day"))
}

/// `GET /v1/telemetry/keys/{day}` (no authentication).
pub async fn key(State(st): State<AppState>, Path(day): Path<String>) -> AppResult<Json<TokenKey>> {
    let day = parse_day(&day)?;
    let today = st.clock.now().date_naive();
    let public = st
        .db
        .call(move |conn| {
            day_key(conn, day, today)?;
            opt(conn.query_row(
                "SELECT public_key FROM telemetry_keys WHERE day = ?1",
                [day.to_string()],
                |r| r.get::<_, Vec<u8>>(0),
            ))
        })
        .await?
        .ok_or_else(AppError::not_found)?;
    Ok(Json(TokenKey {
        day: Day(day),
        public_key: B64.encode(public),
    }))
}

/// `POST /v1/telemetry/tokens`: one blind evaluation per guardian and day.
pub async fn issue(
    State(st): State<AppState>,
    g: GuardianCaller,
    key: IdempotencyKey,
    ApiJson(req): ApiJson<TokenRequest>,
) -> Response {
    let today = st.clock.now().date_naive();
    let fp = command::fingerprint("telemetry_token", &[], &req);
    command::run(&st, g, key, fp, move |cmd| {
        let day = req.day.0;
        if !may_issue(day, today) {
            return Err(AppError::invalid("day", "tokens are issued for today only"));
        }
        let blinded = B64
            .decode(req.blinded_element.as_bytes())
            .ok()
            .and_then(|b| BlindedElement::<Ristretto255>::deserialize(&b).ok())
            .ok_or_else(|| AppError::invalid("blinded_element", "not a blinded element"))?;
        let fresh = cmd.conn.execute(
            "INSERT OR IGNORE INTO telemetry_issued (day, guardian_id) VALUES (?1, ?2)",
            params![day.to_string(), cmd.view.id],
        )?;
        if fresh == 0 {
            return Err(AppError::conflict("the day's token was already issued"));
        }
        let server = day_key(cmd.conn, day, today)?
            .ok_or_else(|| AppError::invalid("day", "tokens are issued for today only"))?;
        let eval = server.blind_evaluate(&mut OsRng, &blinded);
        Ok(TokenResponse {
            evaluated_element: B64.encode(eval.message.serialize()),
            proof: B64.encode(eval.proof.serialize()),
        })
    })
    .await
}

/// Checks a report's token for `day` and spends it, inside the collector's transaction.
/// Refused: a missing, malformed, forged or already spent token, or a day without a key.
pub fn spend(conn: &Connection, day: NaiveDate, token: Option<&TelemetryToken>) -> AppResult<()> {
    let bad = || {
        AppError::invalid(
            "token",
            "a valid, unspent token of the report's day is required",
        )
    };
    let t = token.ok_or_else(bad)?;
    let input = B64.decode(t.input.as_bytes()).map_err(|_| bad())?;
    let output = B64.decode(t.output.as_bytes()).map_err(|_| bad())?;
    if input.len() != 32 {
        return Err(bad());
    }
    let bytes = opt(conn.query_row(
        "SELECT secret FROM telemetry_keys WHERE day = ?1",
        [day.to_string()],
        |r| r.get::<_, Vec<u8>>(0),
    ))?
    .ok_or_else(bad)?;
    let server = VoprfServer::<Ristretto255>::deserialize(&bytes)
        .map_err(|_| AppError::internal(&"telemetry token key"))?;
    let expected = server.evaluate(&input).map_err(|_| bad())?;
    if !constant_time_eq(expected.as_slice(), &output) {
        return Err(bad());
    }
    let spent = conn.execute(
        "INSERT OR IGNORE INTO telemetry_spent (day, token_hash) VALUES (?1, ?2)",
        params![day.to_string(), sha256_hex(&B64.encode(&input))],
    )?;
    if spent == 0 {
        return Err(AppError::conflict("the token was already spent"));
    }
    Ok(())
}

/// Compares two byte strings in time that depends only on their lengths.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Maintenance: forgets who got a day's token once the day can no longer issue, and keys and
/// spent tokens after [`KEEP_DAYS`].
pub fn purge(conn: &Connection, today: NaiveDate) -> rusqlite::Result<usize> {
    let past_issuing = (today - chrono::Days::new(ISSUE_WINDOW_DAYS as u64)).to_string();
    let expired = (today - chrono::Days::new(KEEP_DAYS as u64)).to_string();
    let mut n = conn.execute(
        "DELETE FROM telemetry_issued WHERE day < ?1",
        [&past_issuing],
    )?;
    n += conn.execute("DELETE FROM telemetry_keys WHERE day < ?1", [&expired])?;
    n += conn.execute("DELETE FROM telemetry_spent WHERE day < ?1", [&expired])?;
    Ok(n)
}
