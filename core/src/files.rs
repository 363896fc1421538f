//! Photos and documents on disk: downloaded on demand into `<account dir>/files`, indexed in
//! the account's database (`files` table), evicted least-recently-used beyond a size cap
//! (200 MB by default), and deleted when their entity is tombstoned. File names are hashes,
//! never server-provided strings; each account has its own directory.

use crate::accounts::AccountCtx;
use crate::cache::{self, Effects};
use crate::error::{KidplanError, Result};
use crate::runtime::Inner;
use kidplan_api::model::{Document, Photo};
use kidplan_api::sync::EntityKind;
use kidplan_api::telemetry::Metric;
use kidplan_api::{MAX_UPLOAD_BODY, Timestamp, paths};
use rusqlite::{OptionalExtension, params};
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;

/// Which rendition of a photo.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum PhotoSize {
    Thumb,
    Full,
}

impl PhotoSize {
    fn as_str(self) -> &'static str {
        match self {
            PhotoSize::Thumb => "thumb",
            PhotoSize::Full => "full",
        }
    }
}

/// The index key and file name of a cached file.
fn names(kind: &str, id: &str, variant: &str) -> (String, String) {
    let key = format!("{kind}/{id}/{variant}");
    let name = hex::encode(&Sha256::digest(key.as_bytes())[..16]);
    (key, name)
}

/// Unlinks cached files by name (after the transaction that dropped their rows committed).
pub fn unlink(dir: &Path, names: &[String]) {
    for n in names {
        if n.len() == 32 && n.bytes().all(|b| b.is_ascii_hexdigit()) {
            match std::fs::remove_file(dir.join(n)) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => tracing::warn!(kind = ?e.kind(), "could not delete a cached file"),
            }
        }
    }
}

/// Deletes files in `dir` that the index does not know (left by a crash), and index rows
/// whose file is gone.
pub fn sweep(ctx: &AccountCtx) -> Result<()> {
    let dir = ctx.files_dir();
    let known: HashSet<String> = {
        let c = ctx.store.conn()?;
        let mut st = c.prepare("SELECT name FROM files")?;
        st.query_map([], |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<_>>()?
    };
    let mut present = HashSet::new();
    for e in std::fs::read_dir(&dir)?.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if known.contains(&name) {
            present.insert(name);
        } else {
            let _ = std::fs::remove_file(e.path());
        }
    }
    let missing: Vec<&String> = known.iter().filter(|n| !present.contains(*n)).collect();
    if !missing.is_empty() {
        ctx.store.write(|tx| {
            for n in &missing {
                tx.execute("DELETE FROM files WHERE name = ?1", [n.as_str()])?;
            }
            Ok(())
        })?;
    }
    Ok(())
}

/// Evicts least recently used files until the total is at most `cap` (never `keep`).
pub fn evict(ctx: &AccountCtx, cap: u64, keep: &str) -> Result<()> {
    let doomed = ctx.store.write(|tx| {
        let total: i64 =
            tx.query_row("SELECT coalesce(sum(size), 0) FROM files", [], |r| r.get(0))?;
        let mut over = total - i64::try_from(cap).unwrap_or(i64::MAX);
        let mut doomed = Vec::new();
        if over <= 0 {
            return Ok(doomed);
        }
        let rows: Vec<(String, String, i64)> = {
            let mut st = tx.prepare(
                "SELECT key, name, size FROM files WHERE key != ?1 ORDER BY last_used, key",
            )?;
            st.query_map([keep], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect::<rusqlite::Result<_>>()?
        };
        for (key, name, size) in rows {
            if over <= 0 {
                break;
            }
            tx.execute("DELETE FROM files WHERE key = ?1", [&key])?;
            doomed.push(name);
            over -= size;
        }
        Ok(doomed)
    })?;
    unlink(&ctx.files_dir(), &doomed);
    Ok(())
}

/// The local path of a photo or document, downloading it when it is not cached.
pub async fn fetch(
    ctx: &AccountCtx,
    kind: EntityKind,
    id: &str,
    size: Option<PhotoSize>,
    cap: u64,
) -> Result<String> {
    let (kind_s, url, max) = {
        let c = ctx.store.conn()?;
        match kind {
            EntityKind::Photo => {
                let p: Photo = cache::get(&c, kind, id)?.ok_or(KidplanError::NotFound)?;
                let size = size.unwrap_or(PhotoSize::Full);
                let url = format!(
                    "{}?size={}",
                    paths::fill(paths::PHOTO_CONTENT, &[("id", id)]),
                    size.as_str()
                );
                ("photo", url, p.size_bytes.clamp(1, MAX_UPLOAD_BODY as u64))
            }
            EntityKind::Document => {
                let d: Document = cache::get(&c, kind, id)?.ok_or(KidplanError::NotFound)?;
                let url = paths::fill(paths::DOCUMENT_CONTENT, &[("id", id)]);
                (
                    "document",
                    url,
                    d.size_bytes.clamp(1, MAX_UPLOAD_BODY as u64),
                )
            }
            _ => return Err(KidplanError::Internal),
        }
    };
    // Thumbnails are smaller than the original; allow the original's size as their cap.
    let max = max.max(64 * 1024) + 1024;
    let variant = size.map(|s| s.as_str()).unwrap_or("full");
    let (key, name) = names(kind_s, id, variant);
    let dir = ctx.files_dir();
    let path = dir.join(&name);
    let now = Timestamp::now().0;
    let hit = ctx.store.write(|tx| {
        let known: Option<String> = tx
            .query_row("SELECT name FROM files WHERE key = ?1", [&key], |r| {
                r.get(0)
            })
            .optional()?;
        if known.is_some() {
            tx.execute(
                "UPDATE files SET last_used = ?2 WHERE key = ?1",
                params![key, now],
            )?;
        }
        Ok(known.is_some())
    })?;
    if hit && path.exists() {
        return path_string(&path);
    }
    std::fs::create_dir_all(&dir)?;
    let tmp = dir.join(format!(
        "{name}.part{}",
        hex::encode(rand::random::<[u8; 4]>())
    ));
    let client = ctx.auth.client();
    let bytes = ctx
        .auth
        .call(|t| {
            let (url, tmp) = (&url, &tmp);
            async move { client.download(url, &t, tmp, max).await }
        })
        .await;
    let bytes = match bytes {
        Ok(b) => b,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e.into());
        }
    };
    // Index and rename under one transaction; if the entity was tombstoned meanwhile, drop it.
    let stored = ctx.store.write(|tx| {
        if !cache::exists(tx, kind, id)? {
            return Ok(false);
        }
        std::fs::rename(&tmp, &path)?;
        tx.execute(
            "INSERT OR REPLACE INTO files(key, kind, entity_id, name, size, last_used) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![key, kind_s, id, name, bytes as i64, now],
        )?;
        Ok(true)
    });
    match stored {
        Ok(true) => {}
        Ok(false) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(KidplanError::NotFound);
        }
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            let _ = std::fs::remove_file(&path);
            return Err(e);
        }
    }
    evict(ctx, cap, &key)?;
    path_string(&path)
}

fn path_string(p: &Path) -> Result<String> {
    p.to_str().map(str::to_owned).ok_or(KidplanError::Storage)
}

/// Applies the file side of committed effects.
pub fn apply_effects(dir: &Path, fx: &Effects) {
    if !fx.files.is_empty() {
        unlink(dir, &fx.files);
    }
}
impl Inner {
    /// The local path of the active account's photo or document, downloaded when not cached;
    /// counts `metric` when it is there.
    pub(crate) async fn open_file(
        self: &Arc<Self>,
        kind: EntityKind,
        id: &str,
        size: Option<PhotoSize>,
        metric: Metric,
    ) -> Result<String> {
        let ctx = self.require_ctx()?;
        let r = fetch(&ctx, kind, id, size, self.tuning.file_cache_bytes).await;
        if r.is_ok() {
            self.telemetry.record(metric);
        }
        self.after_network(&ctx, r)
    }
}
