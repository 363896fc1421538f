//! Profile pictures: a child's (set by staff while the child's `photos_internal` consent is
//! given) and a staff member's own. The notice lists both as data categories ("bilde").
//!
//! A picture is small (at most [`kidplan_api::MAX_PICTURE_BYTES`]) and kept in the database, in the
//! `pictures` table, so it goes with its person's row in the same transaction (erasure,
//! a kindergarten's deletion: `ON DELETE CASCADE`), and `secure_delete` zeroes it. Setting or
//! removing a picture stamps its person in the feed, so devices see the new picture id (and
//! drop the file of the old one).
//!
//! Who may download one: staff of its kindergarten; a child's guardians (its picture);
//! the kindergarten's guardians (a staff member's picture). Others get `404`.

use crate::app::AppState;
use crate::auth::{Caller, StaffCaller};
use crate::db::new_id;
use crate::entities::{self, GuardianView};
use crate::error::{AppError, AppResult};
use crate::extract::ApiPath;
use crate::feed;
use crate::files::{ApiBytes, PHOTO_TYPES, check_upload, content_type};
use crate::staff::{found, kg_child, write};
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use kidplan_api::auth::Role;
use kidplan_api::model::{Child, Staff};
use kidplan_api::sync::EntityKind;
use rusqlite::{Connection, params};

/// Whose picture: the column of `pictures` that names them and their entity kind.
#[derive(Clone, Copy)]
enum Owner {
    Child,
    Staff,
}

impl Owner {
    fn column(self) -> &'static str {
        match self {
            Owner::Child => "child_id",
            Owner::Staff => "staff_id",
        }
    }

    fn kind(self) -> EntityKind {
        match self {
            Owner::Child => EntityKind::Child,
            Owner::Staff => EntityKind::Staff,
        }
    }
}

/// Checks an upload (an image type the content matches; its size, at most
/// [`kidplan_api::MAX_PICTURE_BYTES`], is the routes' body limit) and returns its type and its
/// bytes without metadata (see [`crate::image_meta`]).
fn check_image(headers: &HeaderMap, body: Bytes) -> AppResult<(String, Bytes)> {
    let mime = content_type(headers);
    check_upload(&mime, &body, PHOTO_TYPES)?;
    let body = crate::image_meta::strip(&mime, body)?;
    Ok((mime, body))
}

/// Replaces the owner's picture (a new id, so caches notice; the owner's column is unique, so
/// the old row goes) and stamps the owner.
fn set(
    conn: &Connection,
    owner: Owner,
    id: &str,
    kindergarten_id: &str,
    mime: &str,
    body: &[u8],
    now: i64,
) -> AppResult<()> {
    conn.execute(
        &format!(
            "INSERT OR REPLACE INTO pictures (id, kindergarten_id, {}, mime_type, size_bytes, content, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            owner.column()
        ),
        params![new_id(), kindergarten_id, id, mime, body.len() as i64, body, now],
    )?;
    feed::touch(conn, owner.kind(), id)
}

/// Deletes the owner's picture, if any, and stamps the owner when there was one.
fn remove(conn: &Connection, owner: Owner, id: &str) -> AppResult<()> {
    let n = conn.execute(
        &format!("DELETE FROM pictures WHERE {} = ?1", owner.column()),
        [id],
    )?;
    if n > 0 {
        feed::touch(conn, owner.kind(), id)?;
    }
    Ok(())
}

/// A child's picture goes when its `photos_internal` consent is no longer given (called in
/// the consent's transaction).
pub fn consent_withdrawn(conn: &Connection, child_id: &str) -> AppResult<()> {
    remove(conn, Owner::Child, child_id)
}

/// `PUT /v1/staff/children/{child_id}/picture` (body: the image): `409 consent_required`
/// without the child's `photos_internal` consent.
pub async fn set_child_picture(
    State(st): State<AppState>,
    s: StaffCaller,
    ApiPath(child_id): ApiPath<String>,
    headers: HeaderMap,
    ApiBytes(body): ApiBytes,
) -> AppResult<Json<Child>> {
    let (mime, body) = check_image(&headers, body)?;
    write(&st, s, move |c| {
        kg_child(c.conn, &c.kindergarten_id, &child_id)?;
        crate::consent::require_photo_consent(c.conn, std::slice::from_ref(&child_id))?;
        set(
            c.conn,
            Owner::Child,
            &child_id,
            &c.kindergarten_id,
            &mime,
            &body,
            c.now,
        )?;
        found(entities::child(c.conn, &child_id)?)
    })
    .await
}

/// `DELETE /v1/staff/children/{child_id}/picture`.
pub async fn remove_child_picture(
    State(st): State<AppState>,
    s: StaffCaller,
    ApiPath(child_id): ApiPath<String>,
) -> AppResult<Json<Child>> {
    write(&st, s, move |c| {
        kg_child(c.conn, &c.kindergarten_id, &child_id)?;
        remove(c.conn, Owner::Child, &child_id)?;
        found(entities::child(c.conn, &child_id)?)
    })
    .await
}

/// `PUT /v1/staff/me/picture` (body: the image).
pub async fn set_own_picture(
    State(st): State<AppState>,
    s: StaffCaller,
    headers: HeaderMap,
    ApiBytes(body): ApiBytes,
) -> AppResult<Json<Staff>> {
    let (mime, body) = check_image(&headers, body)?;
    write(&st, s, move |c| {
        set(
            c.conn,
            Owner::Staff,
            &c.staff_id,
            &c.kindergarten_id,
            &mime,
            &body,
            c.now,
        )?;
        found(entities::staff(c.conn, &c.staff_id)?)
    })
    .await
}

/// `DELETE /v1/staff/me/picture`.
pub async fn remove_own_picture(
    State(st): State<AppState>,
    s: StaffCaller,
) -> AppResult<Json<Staff>> {
    write(&st, s, move |c| {
        remove(c.conn, Owner::Staff, &c.staff_id)?;
        found(entities::staff(c.conn, &c.staff_id)?)
    })
    .await
}

/// A stored picture: where it belongs and its bytes.
struct Stored {
    kindergarten_id: String,
    /// The child pictured; `None` for a staff member's picture.
    child_id: Option<String>,
    mime: String,
    content: Vec<u8>,
}

/// The picture's bytes and type, if `caller` may see it.
fn visible(conn: &Connection, caller: &Caller, id: &str) -> AppResult<(Vec<u8>, String)> {
    let p = crate::db::opt(conn.query_row(
        "SELECT kindergarten_id, child_id, mime_type, content FROM pictures WHERE id = ?1",
        [id],
        |r| {
            Ok(Stored {
                kindergarten_id: r.get(0)?,
                child_id: r.get(1)?,
                mime: r.get(2)?,
                content: r.get(3)?,
            })
        },
    ))?
    .ok_or_else(AppError::not_found)?;
    let allowed = match caller.role {
        Role::Staff => caller.kindergarten_id == p.kindergarten_id,
        Role::Guardian => {
            let view = GuardianView::load(conn, &caller.person_id)?;
            match &p.child_id {
                Some(child) => view.has_child(child),
                None => view.kindergartens.contains(&p.kindergarten_id),
            }
        }
        Role::Unknown => false,
    };
    if allowed {
        Ok((p.content, p.mime))
    } else {
        Err(AppError::not_found())
    }
}

/// `GET /v1/pictures/{id}/content`.
pub async fn picture_content(
    State(st): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> AppResult<Response> {
    let (bytes, mime) = st.db.call(move |conn| visible(conn, &caller, &id)).await?;
    Ok((
        [
            (header::CONTENT_TYPE, mime),
            (header::CACHE_CONTROL, "private, max-age=86400".to_owned()),
        ],
        bytes,
    )
        .into_response())
}
