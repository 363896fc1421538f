//! Photos and documents: uploads by staff (stored on disk under random names) and downloads,
//! served only to guardians of the tagged children (or, for a document for every family, to
//! the kindergarten's guardians) and to the kindergarten's staff.
//!
//! Thumbnails: `?size=thumb` serves the same bytes as `full` (the reference server does not
//! scale images). Images are stored without their metadata (see [`crate::image_meta`]).

use crate::app::AppState;
use crate::auth::{Caller, StaffCaller};
use crate::command::{check_len, check_text};
use crate::db::new_id;
use crate::entities::{self, GuardianView};
use crate::error::{AppError, AppResult};
use crate::extract::{ApiPath, ApiQuery};
use crate::feed;
use crate::push::{self, Audience};
use crate::staff::{kg_child, write};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kidplan_api::auth::Role;
use kidplan_api::commands::{MAX_SUBJECT_CHARS, MAX_TEXT_CHARS};
use kidplan_api::model::{Document, NotificationCategory, Photo};
use kidplan_api::staff::{UploadDocumentQuery, UploadPhotoQuery};
use kidplan_api::sync::EntityKind;
use rand::Rng;
use rusqlite::params;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The raw body, with JSON error rejections (413 over the route's limit).
pub struct ApiBytes(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for ApiBytes {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        Bytes::from_request(req, state)
            .await
            .map(ApiBytes)
            .map_err(|r| AppError::from_status(r.status()))
    }
}

pub(crate) fn content_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default()
}

/// Checks the declared type against a whitelist and the content's magic bytes.
pub(crate) fn check_upload(mime: &str, body: &[u8], allowed: &[(&str, &[u8])]) -> AppResult<()> {
    let Some((_, magic)) = allowed.iter().find(|(m, _)| *m == mime) else {
        return Err(AppError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            kidplan_api::ErrorCode::UnsupportedMediaType,
            "unsupported content type",
        ));
    };
    if body.is_empty() || !body.starts_with(magic) {
        return Err(AppError::invalid("body", "content does not match its type"));
    }
    Ok(())
}

pub(crate) const PHOTO_TYPES: &[(&str, &[u8])] = &[
    ("image/jpeg", &[0xFF, 0xD8]),
    ("image/png", &[0x89, b'P', b'N', b'G']),
];
const DOCUMENT_TYPES: &[(&str, &[u8])] = &[
    ("application/pdf", b"%PDF-"),
    ("image/jpeg", &[0xFF, 0xD8]),
    ("image/png", &[0x89, b'P', b'N', b'G']),
    ("text/plain", b""),
];

/// A random file name (no link to any person or id).
pub fn random_file_name() -> String {
    let mut b = [0u8; 16];
    rand::rng().fill(&mut b);
    hex::encode(b)
}

/// Writes bytes to a new random file in `dir`.
pub async fn store(dir: &Path, bytes: &[u8]) -> AppResult<String> {
    tokio::fs::create_dir_all(dir).await?;
    let name = random_file_name();
    tokio::fs::write(dir.join(&name), bytes).await?;
    Ok(name)
}

/// Deletes stored files (after the transaction that forgot them committed); returns how many.
pub async fn delete_files(dir: PathBuf, names: Vec<String>) -> u64 {
    tokio::task::spawn_blocking(move || delete_files_now(&dir, &names))
        .await
        .unwrap_or(0)
}

/// Deletes stored files on the current thread; returns how many.
pub fn delete_files_now(dir: &Path, names: &[String]) -> u64 {
    names
        .iter()
        .filter(|name| std::fs::remove_file(dir.join(name)).is_ok())
        .count() as u64
}

/// Runs a staff write that records an uploaded file; the file is removed if the write fails.
async fn with_file<T, F>(st: &AppState, s: StaffCaller, body: &[u8], f: F) -> AppResult<Json<T>>
where
    T: Send + 'static,
    F: FnOnce(&mut crate::staff::StaffCtx<'_>, &str) -> AppResult<T> + Send + 'static,
{
    let name = store(&st.files_dir, body).await?;
    let n = name.clone();
    let out = write(st, s, move |c| f(c, &n)).await;
    if out.is_err() {
        delete_files(st.files_dir.clone(), vec![name]).await;
    }
    out
}

/// `POST /v1/staff/photos?children=a,b&caption=...` (body: the image).
pub async fn upload_photo(
    State(st): State<AppState>,
    s: StaffCaller,
    ApiQuery(q): ApiQuery<UploadPhotoQuery>,
    headers: HeaderMap,
    ApiBytes(body): ApiBytes,
) -> AppResult<Json<Photo>> {
    let mime = content_type(&headers);
    check_upload(&mime, &body, PHOTO_TYPES)?;
    let body = crate::image_meta::strip(&mime, body)?;
    let mut children: Vec<String> = q
        .children
        .split(',')
        .map(|c| c.trim().to_owned())
        .filter(|c| !c.is_empty())
        .collect();
    children.sort();
    children.dedup();
    if children.is_empty() || children.len() > 100 {
        return Err(AppError::invalid("children", "tag 1-100 children"));
    }
    if let Some(c) = &q.caption {
        check_len("caption", c, MAX_TEXT_CHARS)?;
    }
    let size = body.len() as i64;
    with_file(&st, s, &body, move |c, file| {
        for child in &children {
            kg_child(c.conn, &c.kindergarten_id, child)?;
        }
        crate::consent::require_photo_consent(c.conn, &children)?;
        let id = new_id();
        c.conn.execute(
            "INSERT INTO photos (id, kindergarten_id, caption, taken_at, size_bytes, mime_type, file_name) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![id, c.kindergarten_id, q.caption, c.now, size, mime, file],
        )?;
        for child in &children {
            c.conn.execute("INSERT INTO photo_children (photo_id, child_id) VALUES (?1, ?2)", params![id, child])?;
        }
        feed::touch(c.conn, EntityKind::Photo, &id)?;
        push::notify(c.conn, NotificationCategory::Photos, EntityKind::Photo, &id, Audience::Photo(&id), c.now)?;
        entities::photo(c.conn, &id, None)?.ok_or_else(AppError::not_found)
    })
    .await
}

/// `POST /v1/staff/documents?title=...&child_id=...` (body: the document).
pub async fn upload_document(
    State(st): State<AppState>,
    s: StaffCaller,
    ApiQuery(q): ApiQuery<UploadDocumentQuery>,
    headers: HeaderMap,
    ApiBytes(body): ApiBytes,
) -> AppResult<Json<Document>> {
    let mime = content_type(&headers);
    check_upload(&mime, &body, DOCUMENT_TYPES)?;
    let body = crate::image_meta::strip(&mime, body)?;
    check_text("title", &q.title, MAX_SUBJECT_CHARS)?;
    let size = body.len() as i64;
    with_file(&st, s, &body, move |c, file| {
        if let Some(child) = &q.child_id {
            kg_child(c.conn, &c.kindergarten_id, child.as_str())?;
        }
        let id = new_id();
        c.conn.execute(
            "INSERT INTO documents (id, kindergarten_id, child_id, title, mime_type, size_bytes, file_name, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![id, c.kindergarten_id, q.child_id.as_ref().map(|c| c.0.clone()), q.title, mime, size, file, c.now],
        )?;
        feed::touch(c.conn, EntityKind::Document, &id)?;
        entities::document(c.conn, &id)?.ok_or_else(AppError::not_found)
    })
    .await
}

/// Query of a photo download.
#[derive(Deserialize)]
pub struct PhotoQuery {
    pub size: Option<String>,
}

/// The stored file of a photo or document the caller may see: (file name, mime type).
fn visible_file(
    conn: &rusqlite::Connection,
    caller: &Caller,
    kind: EntityKind,
    id: &str,
) -> AppResult<(String, String)> {
    let (table, tags_sql) = match kind {
        EntityKind::Photo => (
            "photos",
            "SELECT child_id FROM photo_children WHERE photo_id = ?1",
        ),
        _ => (
            "documents",
            "SELECT child_id FROM documents WHERE id = ?1 AND child_id IS NOT NULL",
        ),
    };
    let sql = format!("SELECT file_name, mime_type, kindergarten_id FROM {table} WHERE id = ?1");
    let row: Option<(String, String, String)> =
        crate::db::opt(conn.query_row(&sql, [id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))))?;
    let (file, mime, kg) = row.ok_or_else(AppError::not_found)?;
    let tags = entities::strings(conn, tags_sql, id)?;
    let allowed = match caller.role {
        Role::Staff => caller.kindergarten_id == kg,
        Role::Guardian => {
            let view = GuardianView::load(conn, &caller.person_id)?;
            if kind == EntityKind::Document && tags.is_empty() {
                view.kindergartens.contains(&kg)
            } else if kind == EntityKind::Photo {
                crate::consent::photo_visible(conn, id, &view)?
            } else {
                tags.iter().any(|t| {
                    crate::responsibility::may_see(Some(&view), EntityKind::Document, Some(t))
                        && view.has_child(t)
                })
            }
        }
        Role::Unknown => false,
    };
    if allowed {
        Ok((file, mime))
    } else {
        Err(AppError::not_found())
    }
}

async fn serve_file(
    st: &AppState,
    caller: Caller,
    kind: EntityKind,
    id: String,
) -> AppResult<Response> {
    let (file, mime) = st
        .db
        .call(move |conn| visible_file(conn, &caller, kind, &id))
        .await?;
    let bytes = tokio::fs::read(st.files_dir.join(file))
        .await
        .map_err(|_| AppError::not_found())?;
    Ok((
        [
            (header::CONTENT_TYPE, mime),
            (header::CACHE_CONTROL, "private, max-age=86400".to_owned()),
        ],
        bytes,
    )
        .into_response())
}

/// `GET /v1/photos/{id}/content?size=thumb|full`.
pub async fn photo_content(
    State(st): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<PhotoQuery>,
) -> AppResult<Response> {
    if !matches!(q.size.as_deref(), None | Some("thumb") | Some("full")) {
        return Err(AppError::invalid("size", "size is thumb or full"));
    }
    serve_file(&st, caller, EntityKind::Photo, id).await
}

/// `GET /v1/documents/{id}/content`.
pub async fn document_content(
    State(st): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> AppResult<Response> {
    serve_file(&st, caller, EntityKind::Document, id).await
}
