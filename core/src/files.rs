//! Downloading photos, documents and profile pictures on demand (a service: network I/O over
//! the session), into the account's file cache (`local::file_index` owns the cache). A
//! download goes to a temporary file first and is moved in only if its entity still exists
//! (and a picture is still its person's); its size is capped by the size the entity announced.

use crate::auth::Auth;
use crate::error::{Error, Result};
use crate::local::cache;
use crate::local::file_index::{self, CachedFile, PhotoSize};
use crate::local::store::Store;
use kidplan_api::model::{Child, Document, Photo, ProfilePicture, Staff};
use kidplan_api::sync::EntityKind;
use kidplan_api::{MAX_UPLOAD_BODY, paths};
use std::path::Path;

/// Where to fetch a profile picture from, its announced size and its cache entry.
fn picture(
    kind: EntityKind,
    owner: &str,
    p: Option<ProfilePicture>,
) -> Result<(String, u64, CachedFile)> {
    let p = p.ok_or(Error::NotFound)?;
    let url = paths::fill(paths::PICTURE_CONTENT, &[("id", p.id.as_str())]);
    Ok((
        url,
        p.size_bytes,
        CachedFile::picture(kind, owner, p.id.as_str())?,
    ))
}

/// Where to fetch a file from, how large it may be, and its cache entry.
fn source(
    store: &Store,
    kind: EntityKind,
    id: &str,
    size: Option<PhotoSize>,
) -> Result<(String, u64, CachedFile)> {
    let c = store.conn()?;
    let (url, announced, file) = match kind {
        EntityKind::Child => {
            let x: Child = cache::get(&c, kind, id)?.ok_or(Error::NotFound)?;
            picture(kind, id, x.picture)?
        }
        EntityKind::Staff => {
            let x: Staff = cache::get(&c, kind, id)?.ok_or(Error::NotFound)?;
            picture(kind, id, x.picture)?
        }
        EntityKind::Photo => {
            let p: Photo = cache::get(&c, kind, id)?.ok_or(Error::NotFound)?;
            let size = size.unwrap_or(PhotoSize::Full);
            let url = format!(
                "{}?size={}",
                paths::fill(paths::PHOTO_CONTENT, &[("id", id)]),
                size.as_str()
            );
            (url, p.size_bytes, CachedFile::of(kind, id, Some(size))?)
        }
        EntityKind::Document => {
            let d: Document = cache::get(&c, kind, id)?.ok_or(Error::NotFound)?;
            (
                paths::fill(paths::DOCUMENT_CONTENT, &[("id", id)]),
                d.size_bytes,
                CachedFile::of(kind, id, None)?,
            )
        }
        _ => {
            return Err(Error::Bug(
                "only photos, documents and pictures are downloaded",
            ));
        }
    };
    // Thumbnails are smaller than the original; allow the original's size as their cap.
    let max = announced.clamp(1, MAX_UPLOAD_BODY as u64).max(64 * 1024) + 1024;
    Ok((url, max, file))
}

/// The local path of a photo, document or profile picture (`kind` `Child` or `Staff`, `id`
/// the person's) in `dir`, downloading it when it is not cached;
/// then evicts beyond `cap` bytes.
pub async fn fetch(
    store: &Store,
    auth: &Auth,
    dir: &Path,
    kind: EntityKind,
    id: &str,
    size: Option<PhotoSize>,
    cap: u64,
) -> Result<String> {
    let (url, max, file) = source(store, kind, id, size)?;
    if file_index::hit(store, dir, &file)? {
        return path_string(&file.path(dir));
    }
    crate::private_fs::create_dir(dir)?;
    let tmp = dir.join(format!(
        "{}.part{}",
        file.name,
        hex::encode(rand::random::<[u8; 4]>())
    ));
    let client = auth.client();
    let bytes = auth
        .call(|t| {
            let (url, tmp) = (&url, &tmp);
            async move { client.download(url, &t, tmp, max).await }
        })
        .await;
    let bytes = match bytes {
        Ok(b) => b,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    };
    let path = file_index::store_download(store, dir, &file, kind, &tmp, bytes)?;
    file_index::evict(store, dir, cap, &file.key)?;
    path_string(&path)
}

fn path_string(p: &Path) -> Result<String> {
    p.to_str()
        .map(str::to_owned)
        .ok_or(Error::Bug("file path is not UTF-8"))
}
