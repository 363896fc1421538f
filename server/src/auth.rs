//! Login by one-time code, sessions with short-lived access tokens and rotating refresh
//! tokens, and the extractors that turn a bearer token into a caller.
//!
//! Codes: 6 digits, 10 minutes, stored hashed; wrong tries are limited per client (see
//! [`RateLimits`]). Tokens: 32 random
//! bytes, stored as SHA-256. A refresh token used twice revokes its whole session. The answer
//! to a code request is the same whether or not the contact is known.

use crate::app::AppState;
use crate::db::{opt, sha256_hex};
use crate::error::{AppError, AppResult};
use crate::extract::{ApiJson, ClientIp};
use crate::send_queue::{self, Item};
use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use base64::Engine;
use kidplan_api::auth::*;
use kidplan_api::commands::Ack;
use rand::Rng;
use rusqlite::{Connection, params};

/// Request limits of the login endpoints (per sliding window).
///
/// None of them lets a stranger lock a parent out: past `codes_per_contact` the answer stays
/// `202` and no new code is sent (the codes already sent stay valid); wrong codes count
/// against the client IP that sent them, for that contact (`wrong_codes_per_contact_and_ip`)
/// and in all (`verifications_per_ip`, failures only, so a busy shared network of parents who
/// type their codes right is never refused); a code dies only after
/// [`WRONG_CODES_PER_CODE`] wrong tries from all clients together.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimits {
    /// Codes sent to one contact per window; further requests send nothing (same answer).
    pub codes_per_contact: u32,
    /// Code requests per client IP per window (`429` past it).
    pub codes_per_ip: u32,
    /// Failed code verifications per client IP per window (`429` past it).
    pub verifications_per_ip: u32,
    /// Failed verifications of one contact from one client IP per window (`429` past it).
    pub wrong_codes_per_contact_and_ip: u32,
    /// The window, in seconds.
    pub window_s: i64,
}

/// Wrong tries, from every client together, after which a code no longer works.
pub const WRONG_CODES_PER_CODE: i64 = 50;

/// Codes of one contact valid at once (a new request keeps the newest ones).
const LIVE_CODES_PER_CONTACT: i64 = 3;

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            codes_per_contact: 5,
            codes_per_ip: 200,
            verifications_per_ip: 200,
            wrong_codes_per_contact_and_ip: 5,
            window_s: 600,
        }
    }
}

/// Sessions unused for this long are removed by maintenance.
pub const SESSION_IDLE_DAYS: i64 = 60;

/// A contact a code can be sent to, normalised.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Contact {
    Email(String),
    Phone(String),
}

impl Contact {
    /// Normalises an email address (lowercase) or a phone number (`+` and digits; 8 digits
    /// are taken as Norwegian).
    pub fn parse(raw: &str) -> AppResult<Self> {
        let s = raw.trim();
        let bad = || AppError::invalid("contact", "not an email address or a phone number");
        if s.contains('@') {
            let lower = s.to_lowercase();
            let (local, domain) = lower.split_once('@').ok_or_else(bad)?;
            let ok = lower.len() <= 254
                && !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
                && lower.chars().all(|c| c.is_ascii_graphic());
            return if ok {
                Ok(Contact::Email(lower))
            } else {
                Err(bad())
            };
        }
        let compact: String = s.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        let digits = compact.strip_prefix('+').unwrap_or(&compact);
        if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
            return Err(bad());
        }
        match (compact.starts_with('+'), digits.len()) {
            (false, 8) => Ok(Contact::Phone(format!("+47{digits}"))),
            (true, 8..=15) => Ok(Contact::Phone(compact)),
            _ => Err(bad()),
        }
    }

    /// The normalised text.
    pub fn as_str(&self) -> &str {
        match self {
            Contact::Email(s) | Contact::Phone(s) => s,
        }
    }

    fn column(&self) -> &'static str {
        match self {
            Contact::Email(_) => "email",
            Contact::Phone(_) => "phone",
        }
    }
}

/// A person who can log in.
#[derive(Clone, Debug)]
struct Person {
    role: Role,
    id: String,
    kindergarten_id: String,
}

fn find_person(conn: &Connection, contact: &Contact) -> AppResult<Option<Person>> {
    for (table, role) in [("guardians", Role::Guardian), ("staff", Role::Staff)] {
        let sql = format!(
            "SELECT id, kindergarten_id FROM {table} WHERE {} = ?1 ORDER BY id LIMIT 1",
            contact.column()
        );
        let found = opt(conn.query_row(&sql, [contact.as_str()], |r| {
            Ok(Person {
                role,
                id: r.get(0)?,
                kindergarten_id: r.get(1)?,
            })
        }))?;
        if found.is_some() {
            return Ok(found);
        }
    }
    Ok(None)
}

/// `429` when a rate bucket is full (counts nothing).
fn rate_full(
    conn: &Connection,
    bucket: &str,
    limit: u32,
    window_s: i64,
    now: i64,
) -> AppResult<()> {
    let since = now - window_s * 1000;
    let (count, oldest): (i64, Option<i64>) = conn.query_row(
        "SELECT COUNT(*), MIN(at) FROM rate_events WHERE bucket = ?1 AND at > ?2",
        params![bucket, since],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    if count >= i64::from(limit) {
        let wait_ms = oldest.unwrap_or(now) + window_s * 1000 - now;
        let secs = u32::try_from((wait_ms + 999) / 1000).unwrap_or(u32::MAX);
        return Err(AppError::rate_limited(secs));
    }
    Ok(())
}

/// Counts one event in a rate bucket.
fn rate_count(conn: &Connection, bucket: &str, now: i64) -> AppResult<()> {
    conn.execute(
        "INSERT INTO rate_events (bucket, at) VALUES (?1, ?2)",
        params![bucket, now],
    )?;
    Ok(())
}

/// Counts a request in a rate bucket; 429 when the bucket is full.
fn rate_hit(conn: &Connection, bucket: &str, limit: u32, window_s: i64, now: i64) -> AppResult<()> {
    rate_full(conn, bucket, limit, window_s, now)?;
    rate_count(conn, bucket, now)
}

/// The rate bucket of a contact (hashed: the table holds no contact).
pub fn contact_bucket(contact: &str) -> String {
    format!("code-contact:{}", sha256_hex(contact))
}

fn code_hash(contact_hash: &str, code: &str) -> String {
    sha256_hex(&format!("{contact_hash}:{code}"))
}

fn random_token(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill(&mut bytes);
    format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// `POST /v1/auth/code` → 202, the same answer whether or not the contact belongs to anyone.
///
/// Both branches do the same work up to the hand-off: the same lookups, a code made and
/// stored (for an unknown contact under no person, so it can never log anyone in), and one
/// message handed to the same provider path (for an unknown contact a notice without a
/// code: "no Kidplan account uses this address"). Past the per-contact limit, known or
/// not, nothing is stored or sent and the answer is still `202`.
pub async fn request_code(
    State(st): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(req): ApiJson<RequestCode>,
) -> AppResult<(StatusCode, Json<Ack>)> {
    let contact = Contact::parse(&req.contact)?;
    let now = st.clock.now_ms();
    let limits = st.limits;
    st.db
        .tx(move |tx| {
            rate_hit(tx, &format!("code-ip:{ip}"), limits.codes_per_ip, limits.window_s, now)?;
            let bucket = contact_bucket(contact.as_str());
            let quiet = rate_full(tx, &bucket, limits.codes_per_contact, limits.window_s, now).is_err();
            let person = find_person(tx, &contact)?;
            let code = format!("{:06}", rand::rng().random_range(0..1_000_000u32));
            if quiet {
                return Ok(());
            }
            rate_count(tx, &bucket, now)?;
            let contact_hash = sha256_hex(contact.as_str());
            let (role, person_id) = match &person {
                Some(p) => (p.role, p.id.as_str()),
                None => (Role::Guardian, ""),
            };
            tx.execute(
                "DELETE FROM login_codes WHERE contact_hash = ?1 AND id NOT IN
                 (SELECT id FROM login_codes WHERE contact_hash = ?1 ORDER BY id DESC LIMIT ?2)",
                params![contact_hash, LIVE_CODES_PER_CONTACT - 1],
            )?;
            tx.execute(
                "INSERT INTO login_codes (contact_hash, role, person_id, code_hash, expires_at, tries)
                 VALUES (?1, ?2, ?3, ?4, ?5, 0)",
                params![
                    contact_hash,
                    crate::entities::enum_str(&role),
                    person_id,
                    code_hash(&contact_hash, &code),
                    now + LOGIN_CODE_TTL_S * 1000
                ],
            )?;
            let (item, who) = match &person {
                Some(p) => (
                    code_message(&contact, &code),
                    send_queue::For {
                        kindergarten_id: Some(&p.kindergarten_id),
                        person_id: Some(&p.id),
                    },
                ),
                None => (no_account_message(&contact), send_queue::For::default()),
            };
            send_queue::enqueue(tx, &item, who, now)
        })
        .await?;
    st.queue.after_commit().await;
    Ok((StatusCode::ACCEPTED, Json(Ack { ok: true })))
}

/// An e-mail (with `subject`) or an SMS to a contact.
pub(crate) fn message_to(contact: &Contact, subject: &str, text: String) -> Item {
    match contact {
        Contact::Email(to) => Item::Email {
            to: to.clone(),
            subject: subject.to_owned(),
            text,
        },
        Contact::Phone(to) => Item::Sms {
            to: to.clone(),
            text,
        },
    }
}

/// What an unknown contact gets instead of a code (so both answers take the same path).
fn no_account_message(contact: &Contact) -> Item {
    let text = "Kidplan: someone asked for a login code for this address, but no Kidplan account uses it. If it was you, ask your kindergarten which address they have for you.";
    message_to(contact, "Kidplan login", text.to_owned())
}

/// The login code as an e-mail or SMS: the code and nothing else.
fn code_message(contact: &Contact, code: &str) -> Item {
    let text = format!("Kidplan: your login code is {code}. It expires in 10 minutes.");
    message_to(contact, "Your Kidplan login code", text)
}

/// `POST /v1/auth/token` → [`Session`].
pub async fn verify_code(
    State(st): State<AppState>,
    ClientIp(ip): ClientIp,
    ApiJson(req): ApiJson<VerifyCode>,
) -> AppResult<Json<Session>> {
    let contact = Contact::parse(&req.contact)?;
    let code = req.code.trim().to_owned();
    let now = st.clock.now_ms();
    let limits = st.limits;
    let ttl = st.token_ttl_s;
    let outcome = st
        .db
        .tx(move |tx| {
            let contact_hash = sha256_hex(contact.as_str());
            let ip_bucket = format!("verify-fail-ip:{ip}");
            let pair_bucket = format!("verify-fail:{contact_hash}:{ip}");
            rate_full(tx, &ip_bucket, limits.verifications_per_ip, limits.window_s, now)?;
            rate_full(tx, &pair_bucket, limits.wrong_codes_per_contact_and_ip, limits.window_s, now)?;
            let candidates: Vec<(i64, String, String, String)> = tx
                .prepare(
                    "SELECT id, role, person_id, code_hash FROM login_codes
                     WHERE contact_hash = ?1 AND expires_at > ?2 AND tries < ?3 ORDER BY id DESC",
                )?
                .query_map(params![contact_hash, now, WRONG_CODES_PER_CODE], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                })?
                .collect::<Result<_, _>>()?;
            let wanted = code_hash(&contact_hash, &code);
            let hit = candidates
                .into_iter()
                .find(|(_, _, person_id, hash)| *hash == wanted && !person_id.is_empty());
            let Some((_, role, person_id, _)) = hit else {
                // The failure counts against this client, and against the live codes only
                // after many tries from everyone together.
                rate_count(tx, &ip_bucket, now)?;
                rate_count(tx, &pair_bucket, now)?;
                tx.execute(
                    "UPDATE login_codes SET tries = tries + 1 WHERE contact_hash = ?1",
                    [&contact_hash],
                )?;
                tx.execute(
                    "DELETE FROM login_codes WHERE contact_hash = ?1 AND tries >= ?2",
                    params![contact_hash, WRONG_CODES_PER_CODE],
                )?;
                return Ok(Err(bad_code()));
            };
            tx.execute("DELETE FROM login_codes WHERE contact_hash = ?1", [&contact_hash])?;
            let role: Role = crate::entities::enum_from(role)?;
            let Some(kindergarten_id) = home_kindergarten(tx, role, &person_id)? else {
                return Ok(Err(bad_code()));
            };
            let session_id = crate::db::new_id();
            tx.execute(
                "INSERT INTO sessions (id, role, person_id, kindergarten_id, created_at, last_used_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
                params![session_id, crate::entities::enum_str(&role), person_id, kindergarten_id, now],
            )?;
            Ok(Ok(issue_tokens(tx, &session_id, now, ttl)?))
        })
        .await?;
    Ok(Json(outcome?))
}

fn bad_code() -> AppError {
    AppError::new(
        StatusCode::UNAUTHORIZED,
        kidplan_api::ErrorCode::Unauthorized,
        "wrong or expired code",
    )
}

fn home_kindergarten(conn: &Connection, role: Role, person_id: &str) -> AppResult<Option<String>> {
    let table = if role == Role::Staff {
        "staff"
    } else {
        "guardians"
    };
    let sql = format!("SELECT kindergarten_id FROM {table} WHERE id = ?1");
    opt(conn.query_row(&sql, [person_id], |r| r.get(0)))
}

/// New access and refresh tokens for a session.
fn issue_tokens(conn: &Connection, session_id: &str, now: i64, ttl_s: i64) -> AppResult<Session> {
    let access = random_token("kpa_");
    let refresh = random_token("kpr_");
    conn.execute(
        "INSERT INTO access_tokens (hash, session_id, expires_at) VALUES (?1, ?2, ?3)",
        params![sha256_hex(&access), session_id, now + ttl_s * 1000],
    )?;
    conn.execute(
        "INSERT INTO refresh_tokens (hash, session_id, used, created_at) VALUES (?1, ?2, 0, ?3)",
        params![sha256_hex(&refresh), session_id, now],
    )?;
    let (role, person_id, kindergarten_id, kindergarten_name): (String, String, String, String) =
        conn.query_row(
            "SELECT s.role, s.person_id, s.kindergarten_id, k.name FROM sessions s
         JOIN kindergartens k ON k.id = s.kindergarten_id WHERE s.id = ?1",
            [session_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )?;
    Ok(Session {
        access_token: access,
        expires_in: ttl_s,
        refresh_token: refresh,
        role: crate::entities::enum_from(role)?,
        person_id,
        kindergarten_id: kindergarten_id.into(),
        kindergarten_name,
    })
}

/// Logs a person in without a code (the hidden `token` subcommand): returns an access token.
pub fn mint_session(
    conn: &mut Connection,
    contact: &str,
    now: i64,
    ttl_s: i64,
) -> anyhow::Result<String> {
    let contact = Contact::parse(contact).map_err(|_| anyhow::anyhow!("not a contact"))?;
    let tx = conn.transaction()?;
    let person = find_person(&tx, &contact)
        .map_err(|e| anyhow::anyhow!("{:?}", e.body))?
        .ok_or_else(|| anyhow::anyhow!("no such person"))?;
    let session_id = crate::db::new_id();
    tx.execute(
        "INSERT INTO sessions (id, role, person_id, kindergarten_id, created_at, last_used_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
        params![session_id, crate::entities::enum_str(&person.role), person.id, person.kindergarten_id, now],
    )?;
    let session =
        issue_tokens(&tx, &session_id, now, ttl_s).map_err(|e| anyhow::anyhow!("{:?}", e.body))?;
    tx.commit()?;
    Ok(session.access_token)
}

/// `POST /v1/auth/refresh` → [`Session`]; reuse of a refresh token revokes the session.
pub async fn refresh(
    State(st): State<AppState>,
    ApiJson(req): ApiJson<RefreshRequest>,
) -> AppResult<Json<Session>> {
    let now = st.clock.now_ms();
    let ttl = st.token_ttl_s;
    let hash = sha256_hex(req.refresh_token.trim());
    let outcome = st
        .db
        .tx(move |tx| {
            let row = opt(tx.query_row(
                "SELECT session_id, used FROM refresh_tokens WHERE hash = ?1",
                [&hash],
                |r| Ok((r.get::<_, String>(0)?, r.get::<_, bool>(1)?)),
            ))?;
            let Some((session_id, used)) = row else {
                return Ok(Err(AppError::session_expired()));
            };
            if used {
                tracing::warn!("refresh token reused: session revoked");
                tx.execute("DELETE FROM sessions WHERE id = ?1", [&session_id])?;
                return Ok(Err(AppError::session_expired()));
            }
            tx.execute(
                "UPDATE refresh_tokens SET used = 1 WHERE hash = ?1",
                [&hash],
            )?;
            tx.execute(
                "UPDATE sessions SET last_used_at = ?2 WHERE id = ?1",
                params![session_id, now],
            )?;
            Ok(Ok(issue_tokens(tx, &session_id, now, ttl)?))
        })
        .await?;
    Ok(Json(outcome?))
}

/// `POST /v1/auth/logout`: revokes the caller's session.
pub async fn logout(
    State(st): State<AppState>,
    caller: Caller,
    ApiJson(_req): ApiJson<LogoutRequest>,
) -> AppResult<Json<Ack>> {
    st.db
        .tx(move |tx| {
            tx.execute("DELETE FROM sessions WHERE id = ?1", [&caller.session_id])?;
            Ok(())
        })
        .await?;
    Ok(Json(Ack { ok: true }))
}

/// The authenticated caller of a request.
#[derive(Clone, Debug)]
pub struct Caller {
    pub session_id: String,
    pub role: Role,
    pub person_id: String,
    pub kindergarten_id: String,
}

/// A caller with role `guardian` (403 for staff).
#[derive(Clone, Debug)]
pub struct GuardianCaller(pub Caller);

/// A member of staff admitted by [`crate::permissions::gate`]: the caller, their role and
/// where they may act. Only the gate makes one; a handler on a route without the gate gets 403.
#[derive(Clone, Debug)]
pub struct StaffCaller(pub Caller, pub crate::permissions::StaffMember);

fn bearer(parts: &Parts) -> Option<&str> {
    let v = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
        .filter(|t| !t.is_empty())
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Self::Rejection> {
        let hash = sha256_hex(bearer(parts).ok_or_else(AppError::unauthorized)?);
        let now = st.clock.now_ms();
        let caller = st
            .db
            .call(move |conn| {
                opt(conn.query_row(
                    "SELECT s.id, s.role, s.person_id, s.kindergarten_id FROM access_tokens a
                     JOIN sessions s ON s.id = a.session_id WHERE a.hash = ?1 AND a.expires_at > ?2",
                    params![hash, now],
                    |r| {
                        Ok(Caller {
                            session_id: r.get(0)?,
                            role: crate::entities::enum_from(r.get(1)?)?,
                            person_id: r.get(2)?,
                            kindergarten_id: r.get(3)?,
                        })
                    },
                ))
            })
            .await?
            .ok_or_else(AppError::unauthorized)?;
        if let Some(slot) = parts.extensions.get::<crate::access::PersonSlot>() {
            slot.set(&caller.person_id);
        }
        Ok(caller)
    }
}

impl FromRequestParts<AppState> for GuardianCaller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, Self::Rejection> {
        let c = Caller::from_request_parts(parts, st).await?;
        if c.role == Role::Guardian {
            Ok(Self(c))
        } else {
            Err(AppError::forbidden())
        }
    }
}

impl FromRequestParts<AppState> for StaffCaller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<StaffCaller>()
            .cloned()
            .ok_or_else(AppError::forbidden)
    }
}

/// Whether a member of staff may see operator views (the send queue): a manager of their
/// kindergarten. The one place this is decided (a finer staff role model comes later).
pub fn require_manager(conn: &Connection, staff: &StaffCaller) -> AppResult<()> {
    let role: Option<String> = opt(conn.query_row(
        "SELECT role FROM staff WHERE id = ?1 AND kindergarten_id = ?2",
        params![staff.0.person_id, staff.0.kindergarten_id],
        |r| r.get(0),
    ))?;
    if role.as_deref() == Some("manager") {
        Ok(())
    } else {
        Err(AppError::forbidden())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contacts_normalise() {
        assert_eq!(
            Contact::parse(" A.B@Example.org ").ok(),
            Some(Contact::Email("a.b@example.org".into()))
        );
        assert_eq!(
            Contact::parse("912 34 567").ok(),
            Some(Contact::Phone("+4791234567".into()))
        );
        assert_eq!(
            Contact::parse("+47 912 34 567").ok(),
            Some(Contact::Phone("+4791234567".into()))
        );
        for bad in ["", "abc", "@x.no", "a@b", "+12", "12345", "a b@c.no"] {
            assert!(Contact::parse(bad).is_err(), "{bad}");
        }
    }
}
