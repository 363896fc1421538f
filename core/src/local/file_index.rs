//! The photo, document and profile-picture cache on disk, as local state: `<account
//! dir>/files`, indexed in the account's database (`files` table), evicted least-recently-used
//! beyond a size cap, and unlinked when their entity is tombstoned or a picture is replaced
//! (after the transaction that dropped their rows committed). File names are hashes, never
//! server-provided strings. Downloading is `crate::files`'.

use crate::error::{Error, Result};
use crate::local::cache::Effects;
use crate::local::store::Store;
use kidplan_api::Timestamp;
use kidplan_api::sync::EntityKind;
use rusqlite::params;
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// Which rendition of a photo.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum PhotoSize {
    /// A small preview.
    Thumb,
    /// The whole photo.
    Full,
}

impl PhotoSize {
    /// The size's name in URLs and index keys.
    pub fn as_str(self) -> &'static str {
        match self {
            PhotoSize::Thumb => "thumb",
            PhotoSize::Full => "full",
        }
    }
}

/// One cached file: its index key, its name in the files directory, and its entity.
#[derive(Clone, Debug)]
pub struct CachedFile {
    /// `<kind>/<id>/<variant>`.
    pub key: String,
    /// The file's name: a hash of the key.
    pub name: String,
    /// `photo`, `document`, `child` or `staff` (a profile picture).
    pub kind: &'static str,
    /// The photo's or document's id, or the id of the child or staff member pictured.
    pub entity_id: String,
}

/// The index's name of the kind of entity a file belongs to.
pub fn kind_name(kind: EntityKind) -> Result<&'static str> {
    match kind {
        EntityKind::Photo => Ok("photo"),
        EntityKind::Document => Ok("document"),
        EntityKind::Child => Ok("child"),
        EntityKind::Staff => Ok("staff"),
        _ => Err(Error::Bug("only photos, documents and pictures are cached")),
    }
}

/// The index key of a profile picture of the child or staff member `owner`.
pub fn picture_key(kind: &str, owner: &str, picture: &str) -> String {
    format!("{kind}/{owner}/{picture}")
}

impl CachedFile {
    /// The cache entry of a photo (in `size`) or a document.
    pub fn of(kind: EntityKind, id: &str, size: Option<PhotoSize>) -> Result<CachedFile> {
        let kind_s = kind_name(kind)?;
        let variant = size.map(PhotoSize::as_str).unwrap_or("full");
        Ok(Self::keyed(format!("{kind_s}/{id}/{variant}"), kind_s, id))
    }

    /// The cache entry of picture `picture` of a child or staff member (`kind`) `owner`: a
    /// new picture is a new file.
    pub fn picture(kind: EntityKind, owner: &str, picture: &str) -> Result<CachedFile> {
        let kind_s = kind_name(kind)?;
        Ok(Self::keyed(
            picture_key(kind_s, owner, picture),
            kind_s,
            owner,
        ))
    }

    fn keyed(key: String, kind: &'static str, entity_id: &str) -> CachedFile {
        let name = hex::encode(&Sha256::digest(key.as_bytes())[..16]);
        CachedFile {
            key,
            name,
            kind,
            entity_id: entity_id.to_owned(),
        }
    }

    /// Its path in `dir`.
    pub fn path(&self, dir: &Path) -> PathBuf {
        dir.join(&self.name)
    }
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

/// Applies the file side of committed effects.
pub fn apply_effects(dir: &Path, fx: &Effects) {
    if !fx.files.is_empty() {
        unlink(dir, &fx.files);
    }
}

/// Deletes files in `dir` that the index does not know (left by a crash), and index rows
/// whose file is gone.
pub fn sweep(store: &Store, dir: &Path) -> Result<()> {
    let known: HashSet<String> = {
        let c = store.conn()?;
        let mut st = c.prepare("SELECT name FROM files")?;
        st.query_map([], |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<_>>()?
    };
    let mut present = HashSet::new();
    for e in std::fs::read_dir(dir)?.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if known.contains(&name) {
            present.insert(name);
        } else {
            let _ = std::fs::remove_file(e.path());
        }
    }
    let missing: Vec<&String> = known.iter().filter(|n| !present.contains(*n)).collect();
    if !missing.is_empty() {
        store.write(|tx| {
            for n in &missing {
                tx.execute("DELETE FROM files WHERE name = ?1", [n.as_str()])?;
            }
            Ok(())
        })?;
    }
    Ok(())
}

/// Whether the file is cached (and on disk); a hit counts as a use.
pub fn hit(store: &Store, dir: &Path, f: &CachedFile) -> Result<bool> {
    let now = Timestamp::now().0;
    let known = store.write(|tx| {
        let n = tx.execute(
            "UPDATE files SET last_used = ?2 WHERE key = ?1",
            params![f.key, now],
        )?;
        Ok(n > 0)
    })?;
    Ok(known && f.path(dir).exists())
}

/// Moves a finished download (`tmp`, `bytes` long) into the cache and indexes it, in one
/// transaction; if its entity was tombstoned meanwhile (or a picture is no longer its
/// person's), the download is dropped and the answer is `NotFound`.
pub fn store_download(
    store: &Store,
    dir: &Path,
    f: &CachedFile,
    entity: EntityKind,
    tmp: &Path,
    bytes: u64,
) -> Result<PathBuf> {
    let path = f.path(dir);
    let now = Timestamp::now().0;
    let stored = store.write(|tx| {
        if !crate::local::cache::exists(tx, entity, &f.entity_id)? {
            return Ok(false);
        }
        if matches!(entity, EntityKind::Child | EntityKind::Staff) {
            let current = crate::local::cache::picture_id(tx, entity, &f.entity_id)?;
            if current.map(|p| picture_key(f.kind, &f.entity_id, &p)) != Some(f.key.clone()) {
                return Ok(false);
            }
        }
        std::fs::rename(tmp, &path)?;
        tx.execute(
            "INSERT OR REPLACE INTO files(key, kind, entity_id, name, size, last_used)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![f.key, f.kind, f.entity_id, f.name, bytes as i64, now],
        )?;
        Ok(true)
    });
    match stored {
        Ok(true) => Ok(path),
        Ok(false) => {
            let _ = std::fs::remove_file(tmp);
            Err(Error::NotFound)
        }
        Err(e) => {
            let _ = std::fs::remove_file(tmp);
            let _ = std::fs::remove_file(&path);
            Err(e)
        }
    }
}

/// Evicts least recently used files until the total is at most `cap` (never `keep`).
pub fn evict(store: &Store, dir: &Path, cap: u64, keep: &str) -> Result<()> {
    let doomed = store.write(|tx| {
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
    unlink(dir, &doomed);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::local::cache;
    use kidplan_api::model::Photo;
    use kidplan_api::sync::Entity;

    /// Caches photo `id` (a cached photo row and `bytes` bytes on disk), used at `used`.
    fn cached(store: &Store, dir: &Path, id: &str, bytes: usize, used: i64) -> CachedFile {
        store
            .write(|tx| {
                let p: Photo = serde_json::from_value(serde_json::json!({
                    "id": id, "child_ids": [], "caption": null, "taken_at": 1, "size_bytes": bytes
                }))
                .map_err(Error::from)?;
                cache::upsert(tx, &Entity::Photo(p), "g1", &mut Effects::default())
            })
            .expect("photo");
        let f = CachedFile::of(EntityKind::Photo, id, Some(PhotoSize::Full)).expect("file");
        let tmp = dir.join(format!("{id}.part"));
        std::fs::write(&tmp, vec![7u8; bytes]).expect("tmp");
        store_download(store, dir, &f, EntityKind::Photo, &tmp, bytes as u64).expect("stored");
        store
            .write(|tx| {
                tx.execute(
                    "UPDATE files SET last_used = ?2 WHERE key = ?1",
                    params![f.key, used],
                )?;
                Ok(())
            })
            .expect("used");
        f
    }

    #[test]
    fn the_least_recently_used_files_go_beyond_the_cap_never_the_one_in_hand() {
        let (d, store) = crate::local::store::temp_store();
        let dir = d.path().join("files");
        std::fs::create_dir_all(&dir).expect("dir");
        let old = cached(&store, &dir, "p-old", 400, 1);
        let mid = cached(&store, &dir, "p-mid", 400, 2);
        let new = cached(&store, &dir, "p-new", 400, 3);

        // 1,200 bytes under a 1,000-byte cap: the oldest goes, file and row.
        evict(&store, &dir, 1_000, &new.key).expect("evict");
        assert!(!old.path(&dir).exists());
        assert!(mid.path(&dir).exists() && new.path(&dir).exists());
        assert!(!hit(&store, &dir, &old).expect("hit"));

        // A use makes `mid` the newest; then `new` goes first.
        assert!(hit(&store, &dir, &mid).expect("hit"));
        evict(&store, &dir, 500, &mid.key).expect("evict");
        assert!(mid.path(&dir).exists());
        assert!(!new.path(&dir).exists());

        // The file in hand stays even when it alone is over the cap.
        evict(&store, &dir, 10, &mid.key).expect("evict");
        assert!(mid.path(&dir).exists());
    }

    #[test]
    fn a_download_whose_photo_was_deleted_meanwhile_is_dropped() {
        let (d, store) = crate::local::store::temp_store();
        let dir = d.path().join("files");
        std::fs::create_dir_all(&dir).expect("dir");
        let f = CachedFile::of(EntityKind::Photo, "p-gone", Some(PhotoSize::Thumb)).expect("f");
        let tmp = dir.join("gone.part");
        std::fs::write(&tmp, b"jpeg").expect("tmp");
        assert!(matches!(
            store_download(&store, &dir, &f, EntityKind::Photo, &tmp, 4),
            Err(Error::NotFound)
        ));
        assert!(!tmp.exists() && !f.path(&dir).exists());
        // Files the index does not know (left by a crash) are swept.
        std::fs::write(dir.join("0123456789abcdef0123456789abcdef"), b"x").expect("stray");
        sweep(&store, &dir).expect("sweep");
        assert_eq!(std::fs::read_dir(&dir).expect("ls").count(), 0);
    }
}
