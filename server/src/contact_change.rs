//! Changing one's own e-mail address or phone number: confirmed by a code sent to the new
//! contact, and the same answer whether the new contact belongs to someone or not.
//!
//! `PUT /v1/me/contact` with a new e-mail or phone stores a pending change and hands one
//! message to the provider path: to a free contact a 6-digit code, to a contact that already
//! belongs to someone a notice without a code (so the owner learns of the attempt and the
//! requester learns nothing). The guardian's record keeps the old contact until
//! `POST /v1/me/contact/confirm` brings the right code; a wrong, expired or never-sent code
//! is the same `400`, and a contact taken meanwhile fails the same way. Pending changes hold
//! the new value and a hash of the code, expire with the code, allow 5 wrong tries, and
//! vanish with the guardian (foreign key, `ON DELETE CASCADE`).

use crate::app::AppState;
use crate::auth::{Contact, GuardianCaller};
use crate::db::sha256_hex;
use crate::error::{AppError, AppResult};
use crate::extract::ApiJson;
use crate::send_queue;
use crate::{entities, feed};
use axum::Json;
use axum::extract::State;
use kidplan_api::auth::LOGIN_CODE_TTL_S;
use kidplan_api::commands::ConfirmContact;
use kidplan_api::model::Guardian;
use kidplan_api::sync::EntityKind;
use rand::Rng;
use rusqlite::{Connection, params};

/// Wrong codes after which a pending change is dropped.
const MAX_TRIES: i64 = 5;

fn code_hash(guardian_id: &str, code: &str) -> String {
    sha256_hex(&format!("contact-change:{guardian_id}:{code}"))
}

/// Whether a contact belongs to anyone but `me`.
fn taken(conn: &Connection, contact: &Contact, me: &str) -> AppResult<bool> {
    let column = match contact {
        Contact::Email(_) => "email",
        Contact::Phone(_) => "phone",
    };
    let sql = format!(
        "SELECT 1 FROM guardians WHERE {column} = ?1 AND id <> ?2 UNION ALL SELECT 1 FROM staff WHERE {column} = ?1"
    );
    Ok(crate::db::opt(conn.query_row(&sql, params![contact.as_str(), me], |_| Ok(())))?.is_some())
}

/// Starts a change of `me`'s e-mail or phone to `contact` and queues the one message it sends
/// (in the caller's transaction). The same work whether or not the contact is taken.
pub fn start(
    conn: &Connection,
    me: &str,
    kindergarten_id: &str,
    contact: &Contact,
    now: i64,
) -> AppResult<()> {
    let kind = match contact {
        Contact::Email(_) => "email",
        Contact::Phone(_) => "phone",
    };
    let is_taken = taken(conn, contact, me)?;
    let code = format!("{:06}", rand::rng().random_range(0..1_000_000u32));
    conn.execute(
        "DELETE FROM contact_changes WHERE guardian_id = ?1 AND kind = ?2",
        params![me, kind],
    )?;
    conn.execute(
        "INSERT INTO contact_changes (guardian_id, kind, value, code_hash, expires_at, tries) VALUES (?1, ?2, ?3, ?4, ?5, 0)",
        params![me, kind, contact.as_str(), code_hash(me, &code), now + LOGIN_CODE_TTL_S * 1000],
    )?;
    let text = if is_taken {
        "Kidplan: someone asked to use this address for their Kidplan account, but it is already in use. Nothing was changed.".to_owned()
    } else {
        format!("Kidplan: your confirmation code is {code}. It expires in 10 minutes.")
    };
    let item = crate::auth::message_to(contact, "Confirm your Kidplan address", text);
    // Either way the row is the requester's: erasing them deletes it.
    let who = send_queue::For {
        kindergarten_id: Some(kindergarten_id),
        person_id: Some(me),
    };
    send_queue::enqueue(conn, &item, who, now)
}

fn bad_code() -> AppError {
    AppError::invalid("code", "wrong or expired code")
}

/// Applies the pending change whose code this is.
fn confirm_in(conn: &Connection, me: &str, code: &str, now: i64) -> AppResult<Option<Guardian>> {
    let rows: Vec<(i64, String, String, String)> = conn
        .prepare(
            "SELECT id, kind, value, code_hash FROM contact_changes
             WHERE guardian_id = ?1 AND expires_at > ?2 AND tries < ?3",
        )?
        .query_map(params![me, now, MAX_TRIES], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?
        .collect::<Result<_, _>>()?;
    let wanted = code_hash(me, code.trim());
    let Some((id, kind, value, _)) = rows.into_iter().find(|r| r.3 == wanted) else {
        conn.execute(
            "UPDATE contact_changes SET tries = tries + 1 WHERE guardian_id = ?1",
            [me],
        )?;
        conn.execute(
            "DELETE FROM contact_changes WHERE guardian_id = ?1 AND (tries >= ?2 OR expires_at <= ?3)",
            params![me, MAX_TRIES, now],
        )?;
        return Ok(None);
    };
    conn.execute("DELETE FROM contact_changes WHERE id = ?1", [id])?;
    let contact = Contact::parse(&value)?;
    if taken(conn, &contact, me)? {
        return Ok(None);
    }
    let column = if kind == "phone" { "phone" } else { "email" };
    crate::parent::forget_old_contact(conn, column, me, Some(&value))?;
    conn.execute(
        &format!("UPDATE guardians SET {column} = ?2 WHERE id = ?1"),
        params![me, value],
    )?;
    feed::touch(conn, EntityKind::Guardian, me)?;
    let view = entities::GuardianView::load(conn, me)?;
    entities::guardian(conn, me, Some(&view))
}

/// `POST /v1/me/contact/confirm` → [`Guardian`], or `400` naming `code`.
pub async fn confirm(
    State(st): State<AppState>,
    g: GuardianCaller,
    ApiJson(req): ApiJson<ConfirmContact>,
) -> AppResult<Json<Guardian>> {
    let now = st.clock.now_ms();
    let me = g.0.person_id;
    let out = st
        .db
        .tx(move |tx| confirm_in(tx, &me, &req.code, now))
        .await?;
    out.map(Json).ok_or_else(bad_code)
}
