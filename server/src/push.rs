//! Push: device registrations and the content-free pushes sent when something a guardian
//! cares about happens.
//!
//! One registration per (install, account), keyed by a random id chosen by the device. A token
//! registered again under another registration is moved (a device handed to another parent
//! never receives the previous parent's alerts). Pushes respect each guardian's preferences per
//! child and category; urgent alerts always go out. The payload is `{"v":1,"kind":"sync",
//! "hint":"<entity>/<id>"}` in the provider's data-only format.

use crate::app::AppState;
use crate::auth::GuardianCaller;
use crate::db::sha256_hex;
use crate::entities::{self, enum_str};
use crate::error::{AppError, AppResult};
use crate::extract::{ApiJson, ApiPath};
use crate::notices::{self, Notice};
use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use kidplan_api::commands::Ack;
use kidplan_api::model::NotificationCategory;
use kidplan_api::push::*;
use kidplan_api::sync::EntityKind;
use rusqlite::{Connection, params};
use std::collections::BTreeMap;

/// Who a push is for.
pub enum Audience<'a> {
    /// The guardians of these children.
    Children(&'a [String]),
    /// The guardians with a child in a kindergarten (and department).
    Kindergarten {
        kindergarten_id: &'a str,
        department_id: Option<&'a str>,
    },
    /// Whoever sees a thread.
    Thread(&'a str),
    /// Whoever may see a photo (its consents and restrictions decide, see [`crate::consent`]).
    Photo(&'a str),
}

/// Guardians of the audience, each with the children that make them part of it.
pub fn recipients(
    conn: &Connection,
    audience: &Audience<'_>,
) -> AppResult<BTreeMap<String, Vec<String>>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut add = |rows: Vec<(String, String)>| {
        for (g, c) in rows {
            out.entry(g).or_default().push(c);
        }
    };
    match audience {
        Audience::Children(children) => {
            for c in *children {
                add(pairs(conn, "SELECT guardian_id, child_id FROM guardian_children WHERE child_id = ?1", params![c])?);
            }
        }
        Audience::Kindergarten { kindergarten_id, department_id } => add(pairs(
            conn,
            "SELECT gc.guardian_id, gc.child_id FROM guardian_children gc JOIN children c ON c.id = gc.child_id
             WHERE c.kindergarten_id = ?1 AND (?2 IS NULL OR c.department_id = ?2)",
            params![kindergarten_id, department_id],
        )?),
        Audience::Photo(photo_id) => {
            let tags = pairs(
                conn,
                "SELECT gc.guardian_id, gc.child_id FROM photo_children pc JOIN guardian_children gc
                 ON gc.child_id = pc.child_id WHERE pc.photo_id = ?1",
                params![photo_id],
            )?;
            let mut views = std::collections::HashMap::new();
            for (g, c) in tags {
                if !views.contains_key(&g) {
                    let view = entities::GuardianView::load(conn, &g)?;
                    let visible = crate::consent::photo_visible(conn, photo_id, &view)?;
                    views.insert(g.clone(), visible);
                }
                if views.get(&g) == Some(&true) {
                    out.entry(g).or_default().push(c);
                }
            }
        }
        Audience::Thread(thread_id) => {
            let Some(t) = entities::thread_scope(conn, thread_id)? else {
                return Ok(out);
            };
            return match (t.broadcast, t.child_id, t.guardian_id) {
                (true, _, _) => recipients(
                    conn,
                    &Audience::Kindergarten {
                        kindergarten_id: &t.kindergarten_id,
                        department_id: t.department_id.as_deref(),
                    },
                ),
                (false, Some(child), _) => recipients(conn, &Audience::Children(&[child])),
                (false, None, Some(g)) => Ok(BTreeMap::from([(g, Vec::new())])),
                _ => Ok(out),
            };
        }
    }
    Ok(out)
}

fn pairs(
    conn: &Connection,
    sql: &str,
    p: impl rusqlite::Params,
) -> AppResult<Vec<(String, String)>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map(p, |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Tells the audience of a change of `kind`/`id` in `category`, each guardian by the channels
/// they chose ([`notices::channels`]): the pushes and notices are queued in the write's
/// transaction and sent after it commits ([`crate::send_queue::SendQueue::after_commit`]).
pub fn notify(
    conn: &Connection,
    category: NotificationCategory,
    kind: EntityKind,
    id: &str,
    audience: Audience<'_>,
    now: i64,
) -> AppResult<()> {
    let hint = format!("{}/{id}", kind.as_str());
    let urgent = category == NotificationCategory::Urgent;
    for (guardian, children) in recipients(conn, &audience)? {
        let channels = notices::channels(conn, &guardian, &children, category)?;
        notices::tell(
            conn,
            &guardian,
            channels,
            Notice::Category(category),
            PushKind::Sync,
            &hint,
            urgent,
            now,
        )?;
    }
    Ok(())
}

fn valid_registration_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// `PUT /v1/push/registrations/{id}` → [`PushRegistration`].
pub async fn upsert(
    State(st): State<AppState>,
    g: GuardianCaller,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<UpsertPushRegistration>,
) -> AppResult<Json<PushRegistration>> {
    if !valid_registration_id(&id) {
        return Err(AppError::invalid(
            "id",
            "registration id: 1-64 letters, digits, - or _",
        ));
    }
    if req.provider == PushProvider::Unknown {
        return Err(AppError::invalid("provider", "unknown push provider"));
    }
    if req.token.trim().is_empty() || req.token.len() > 4096 {
        return Err(AppError::invalid(
            "token",
            "token must be 1-4096 characters",
        ));
    }
    if !(16..=512).contains(&req.secret.len()) {
        return Err(AppError::invalid(
            "secret",
            "secret must be 16-512 characters",
        ));
    }
    let now = st.clock.now();
    let now_ms = now.timestamp_millis();
    let gid = g.0.person_id;
    let provider = enum_str(&req.provider);
    let secret_hash = sha256_hex(&req.secret);
    let rid = id.clone();
    st.db
        .tx(move |tx| {
            let existing: Option<(String, String)> = crate::db::opt(tx.query_row(
                "SELECT guardian_id, secret_hash FROM push_registrations WHERE id = ?1",
                [&rid],
                |r| Ok((r.get(0)?, r.get(1)?)),
            ))?;
            if let Some((owner, hash)) = existing
                && owner != gid
                && hash != secret_hash
            {
                return Err(AppError::forbidden());
            }
            tx.execute(
                "DELETE FROM push_registrations WHERE provider = ?1 AND token = ?2 AND id <> ?3",
                params![provider, req.token, rid],
            )?;
            // A replaced token is the device's no more: the provider records of pushes to it
            // go with it (an erasure later finds only the current token).
            tx.execute(
                "DELETE FROM push_outbox WHERE token IN
                   (SELECT token FROM push_registrations WHERE id = ?1 AND token <> ?2)",
                params![rid, req.token],
            )?;
            tx.execute(
                "INSERT INTO push_registrations (id, guardian_id, provider, token, secret_hash, last_seen_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (id) DO UPDATE SET guardian_id = excluded.guardian_id, provider = excluded.provider,
                   token = excluded.token, secret_hash = excluded.secret_hash, last_seen_at = excluded.last_seen_at",
                params![rid, gid, provider, req.token, secret_hash, now_ms],
            )?;
            Ok(())
        })
        .await?;
    Ok(Json(PushRegistration {
        id: id.into(),
        provider: req.provider,
        last_seen_day: kidplan_api::Day(now.date_naive()),
    }))
}

/// `DELETE /v1/push/registrations/{id}` with `X-Registration-Secret`: works without a session.
pub async fn delete(
    State(st): State<AppState>,
    ApiPath(id): ApiPath<String>,
    headers: HeaderMap,
) -> AppResult<Json<Ack>> {
    let secret = headers
        .get(REGISTRATION_SECRET_HEADER)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            AppError::invalid(
                REGISTRATION_SECRET_HEADER,
                "registration secret header required",
            )
        })?;
    let hash = sha256_hex(secret);
    let deleted = st
        .db
        .tx(move |tx| {
            Ok(tx.execute(
                "DELETE FROM push_registrations WHERE id = ?1 AND secret_hash = ?2",
                params![id, hash],
            )?)
        })
        .await?;
    if deleted == 0 {
        return Err(AppError::not_found());
    }
    Ok(Json(Ack { ok: true }))
}
