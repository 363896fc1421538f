//! The encrypted per-account database: opening it with its key, pragmas, and schema migrations.
//!
//! One SQLCipher file per account at `<data_dir>/accounts/<account_id>/cache.db`, keyed with a
//! random 256-bit raw key from the secret store (`PRAGMA key = "x'<64 hex>'"`: no passphrase
//! derivation on open). WAL, `secure_delete = ON`, `foreign_keys = ON`. Migrations are steps of
//! [`MIGRATIONS`], each applied in one transaction with `PRAGMA user_version`. A corrupt file, a
//! file keyed with another key, or a file from a newer app is unreadable (the public
//! `StorageCorrupt`); the shell may then ask the parent and call `reset_local_cache()` to start
//! fresh. A full disk is a transient failure: the transaction rolls back and nothing is lost.

use crate::error::{Error, Result};
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

/// Schema steps; `MIGRATIONS[i]` takes `user_version` from `i` to `i + 1`.
pub const MIGRATIONS: &[&str] = &[
    // v1: the cache of every sync entity, sync metadata, and the outbox.
    r#"
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE kindergartens (id TEXT PRIMARY KEY, child_id TEXT, ref_id TEXT, who TEXT, at INTEGER, at2 INTEGER, flag INTEGER NOT NULL DEFAULT 0, data TEXT NOT NULL);
    CREATE TABLE departments (id TEXT PRIMARY KEY, child_id TEXT, ref_id TEXT, who TEXT, at INTEGER, at2 INTEGER, flag INTEGER NOT NULL DEFAULT 0, data TEXT NOT NULL);
    CREATE TABLE children (id TEXT PRIMARY KEY, child_id TEXT, ref_id TEXT, who TEXT, at INTEGER, at2 INTEGER, flag INTEGER NOT NULL DEFAULT 0, data TEXT NOT NULL);
    CREATE TABLE guardians (id TEXT PRIMARY KEY, child_id TEXT, ref_id TEXT, who TEXT, at INTEGER, at2 INTEGER, flag INTEGER NOT NULL DEFAULT 0, data TEXT NOT NULL);
    CREATE TABLE staff (id TEXT PRIMARY KEY, child_id TEXT, ref_id TEXT, who TEXT, at INTEGER, at2 INTEGER, flag INTEGER NOT NULL DEFAULT 0, data TEXT NOT NULL);
    CREATE TABLE guardian_children (id TEXT PRIMARY KEY, child_id TEXT, ref_id TEXT, who TEXT, at INTEGER, at2 INTEGER, flag INTEGER NOT NULL DEFAULT 0, data TEXT NOT NULL);
    CREATE TABLE log_entries (id TEXT PRIMARY KEY, child_id TEXT, ref_id TEXT, who TEXT, at INTEGER, at2 INTEGER, flag INTEGER NOT NULL DEFAULT 0, data TEXT NOT NULL);
    CREATE INDEX log_entries_child ON log_entries(child_id, at);
    CREATE TABLE threads (id TEXT PRIMARY KEY, child_id TEXT, ref_id TEXT, who TEXT, at INTEGER, at2 INTEGER, flag INTEGER NOT NULL DEFAULT 0, data TEXT NOT NULL);
    CREATE TABLE messages (id TEXT PRIMARY KEY, child_id TEXT, ref_id TEXT, who TEXT, at INTEGER, at2 INTEGER, flag INTEGER NOT NULL DEFAULT 0, data TEXT NOT NULL);
    CREATE INDEX messages_thread ON messages(ref_id, at);
    CREATE TABLE absences (id TEXT PRIMARY KEY, child_id TEXT, ref_id TEXT, who TEXT, at INTEGER, at2 INTEGER, flag INTEGER NOT NULL DEFAULT 0, data TEXT NOT NULL);
    CREATE TABLE holidays (id TEXT PRIMARY KEY, child_id TEXT, ref_id TEXT, who TEXT, at INTEGER, at2 INTEGER, flag INTEGER NOT NULL DEFAULT 0, data TEXT NOT NULL);
    CREATE TABLE consents (id TEXT PRIMARY KEY, child_id TEXT, ref_id TEXT, who TEXT, at INTEGER, at2 INTEGER, flag INTEGER NOT NULL DEFAULT 0, data TEXT NOT NULL);
    CREATE TABLE calendar_events (id TEXT PRIMARY KEY, child_id TEXT, ref_id TEXT, who TEXT, at INTEGER, at2 INTEGER, flag INTEGER NOT NULL DEFAULT 0, data TEXT NOT NULL);
    CREATE TABLE documents (id TEXT PRIMARY KEY, child_id TEXT, ref_id TEXT, who TEXT, at INTEGER, at2 INTEGER, flag INTEGER NOT NULL DEFAULT 0, data TEXT NOT NULL);
    CREATE TABLE photos (id TEXT PRIMARY KEY, child_id TEXT, ref_id TEXT, who TEXT, at INTEGER, at2 INTEGER, flag INTEGER NOT NULL DEFAULT 0, data TEXT NOT NULL);
    CREATE TABLE attendance (id TEXT PRIMARY KEY, child_id TEXT, ref_id TEXT, who TEXT, at INTEGER, at2 INTEGER, flag INTEGER NOT NULL DEFAULT 0, data TEXT NOT NULL);
    CREATE TABLE pickup_persons (id TEXT PRIMARY KEY, child_id TEXT, ref_id TEXT, who TEXT, at INTEGER, at2 INTEGER, flag INTEGER NOT NULL DEFAULT 0, data TEXT NOT NULL);
    CREATE TABLE notification_preferences (id TEXT PRIMARY KEY, child_id TEXT, ref_id TEXT, who TEXT, at INTEGER, at2 INTEGER, flag INTEGER NOT NULL DEFAULT 0, data TEXT NOT NULL);
    CREATE TABLE privacy_requests (id TEXT PRIMARY KEY, child_id TEXT, ref_id TEXT, who TEXT, at INTEGER, at2 INTEGER, flag INTEGER NOT NULL DEFAULT 0, data TEXT NOT NULL);
    CREATE TABLE outbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        idem_key TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL,
        target TEXT NOT NULL,
        entity_id TEXT NOT NULL,
        method TEXT NOT NULL,
        path TEXT NOT NULL,
        body TEXT,
        response_kind TEXT,
        undo TEXT,
        status TEXT NOT NULL,
        reason TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL,
        last_error TEXT,
        created_at INTEGER NOT NULL,
        done_at INTEGER
    );
    CREATE INDEX outbox_status ON outbox(status, seq);
    "#,
    // v2: the index of downloaded photos and documents (LRU).
    r#"
    CREATE TABLE files (
        key TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        entity_id TEXT NOT NULL,
        name TEXT NOT NULL,
        size INTEGER NOT NULL,
        last_used INTEGER NOT NULL
    );
    CREATE INDEX files_entity ON files(kind, entity_id);
    CREATE INDEX files_lru ON files(last_used);
    "#,
    // v3: the account's push registration (the id and secret live in the secret store).
    r#"
    CREATE TABLE push_registration (
        slot INTEGER PRIMARY KEY CHECK (slot = 1),
        provider TEXT NOT NULL,
        token TEXT NOT NULL,
        pending INTEGER NOT NULL,
        last_sent_day TEXT
    );
    "#,
    // v4: unread counts per thread read the index alone (home screen: one count per thread).
    r#"
    CREATE INDEX messages_unread ON messages(ref_id, flag);
    "#,
    // v5: the server's truth is held back while the parent's actions are pending (see
    // `local::shadow`): `server_copies` keeps the newest server version (NULL: absent on the
    // server) of each entity a pending action covers, and `outbox_covers` says which entities
    // each queued action changed locally. Pending actions of an older version get their
    // server copy from the snapshot they kept (`undo.prev`), the earliest per entity.
    r#"
    CREATE TABLE server_copies (
        kind TEXT NOT NULL,
        id TEXT NOT NULL,
        data TEXT,
        PRIMARY KEY (kind, id)
    ) WITHOUT ROWID;
    CREATE TABLE outbox_covers (
        seq INTEGER NOT NULL REFERENCES outbox(seq) ON DELETE CASCADE,
        kind TEXT NOT NULL,
        id TEXT NOT NULL,
        PRIMARY KEY (seq, kind, id)
    ) WITHOUT ROWID;
    CREATE INDEX outbox_covers_entity ON outbox_covers(kind, id);
    INSERT OR IGNORE INTO outbox_covers (seq, kind, id)
        SELECT seq, response_kind, entity_id FROM outbox
        WHERE status = 'pending' AND response_kind IS NOT NULL;
    INSERT OR IGNORE INTO server_copies (kind, id, data)
        SELECT json_extract(undo, '$.kind'), json_extract(undo, '$.id'), json_extract(undo, '$.prev')
        FROM outbox WHERE status = 'pending' AND undo IS NOT NULL ORDER BY seq;
    UPDATE outbox SET undo = NULL;
    "#,
    // v6: the feed sequence number of a held server version (NULL: the version the cache held
    // when the parent acted), so an accepted command's answer and a version held meanwhile can
    // be told apart by age (see `local::shadow`).
    r#"
    ALTER TABLE server_copies ADD COLUMN seq INTEGER;
    "#,
    // v7: the guardian's reminder settings (a synced entity), and the reminders already shown
    // on this device (so the same reminder never shows twice, from a push or from the list a
    // shell schedules offline).
    r#"
    CREATE TABLE reminder_settings (id TEXT PRIMARY KEY, child_id TEXT, ref_id TEXT, who TEXT, at INTEGER, at2 INTEGER, flag INTEGER NOT NULL DEFAULT 0, data TEXT NOT NULL);
    CREATE TABLE reminders_shown (key TEXT PRIMARY KEY, shown_at INTEGER NOT NULL) WITHOUT ROWID;
    "#,
    // v8: every home-screen and sync query reads an index (checked by the query-plan test):
    // today's attendance, and the cascades of a tombstone (a child's absences, holidays,
    // consents, attendance, documents and conversations; a person's messages and privacy
    // requests). The unread index keeps only unread messages (most are read), so a sync of
    // the year writes far fewer index entries.
    r#"
    CREATE INDEX attendance_day ON attendance(ref_id);
    CREATE INDEX attendance_child ON attendance(child_id);
    CREATE INDEX absences_child ON absences(child_id, at);
    CREATE INDEX holidays_child ON holidays(child_id, at);
    CREATE INDEX consents_child ON consents(child_id, ref_id);
    CREATE INDEX documents_child ON documents(child_id);
    CREATE INDEX threads_child ON threads(child_id);
    CREATE INDEX messages_author ON messages(who);
    CREATE INDEX privacy_requests_guardian ON privacy_requests(ref_id);
    DROP INDEX messages_unread;
    CREATE INDEX messages_unread ON messages(ref_id) WHERE flag = 1;
    "#,
];

/// The schema version this build writes.
pub fn latest_version() -> u32 {
    MIGRATIONS.len() as u32
}

/// Path of an account's directory.
pub fn account_dir(data_dir: &Path, account_id: &str) -> PathBuf {
    data_dir.join("accounts").join(account_id)
}

/// Path of an account's database.
pub fn db_path(data_dir: &Path, account_id: &str) -> PathBuf {
    account_dir(data_dir, account_id).join("cache.db")
}

/// A fresh random database key: 32 bytes as 64 lowercase hex characters.
pub fn new_key() -> String {
    let bytes: [u8; 32] = rand::random();
    hex::encode(bytes)
}

/// An open account database.
pub struct Store {
    conn: Mutex<Connection>,
    path: PathBuf,
}

impl Store {
    /// Opens (creating if missing) the database at `path` with `key_hex`, applying migrations.
    pub fn open(path: &Path, key_hex: &str) -> Result<Store> {
        Self::open_to(path, key_hex, latest_version())
    }

    /// Like [`Store::open`] but migrates only up to `version` (tests of old schemas).
    pub fn open_to(path: &Path, key_hex: &str, version: u32) -> Result<Store> {
        let conn = open_keyed(path, key_hex)?;
        migrate(&conn, version)?;
        Ok(Store {
            conn: Mutex::new(conn),
            path: path.to_owned(),
        })
    }

    /// The file this store lives in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The connection (one per account; reads and writes are short). A panic while it was
    /// held (caught at the facade) rolled its open transaction back as it unwound, so the
    /// connection is sound and is used again.
    pub fn conn(&self) -> Result<MutexGuard<'_, Connection>> {
        Ok(self.conn.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Runs `f` in one immediate transaction, committed only when `f` succeeds.
    pub fn write<T>(&self, f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T>) -> Result<T> {
        let mut c = self.conn()?;
        let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// Copies the WAL into the database and empties it (`wal_checkpoint(TRUNCATE)`): after
    /// deletions, so the old versions of deleted rows do not linger in the WAL file.
    pub fn checkpoint(&self) -> Result<()> {
        self.conn()?
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        Ok(())
    }

    /// Rewrites the whole database (`VACUUM`, through memory: `temp_store = MEMORY`), then
    /// empties the WAL: after an erasure, so that no free page, stale WAL frame or unused part
    /// of a page (which `secure_delete` does not always clear when pages are rebalanced) keeps
    /// a copy of the erased data. Costs a copy of the database; done only when a person or a
    /// photo was deleted.
    pub fn rewrite(&self) -> Result<()> {
        self.conn()?.execute_batch("VACUUM;")?;
        self.checkpoint()
    }

    /// After writes that deleted (`deleted`) or erased a person or a photo (`erased`): the
    /// [`Store::rewrite`] or [`Store::checkpoint`] they need, else nothing.
    pub fn after_deletions(&self, deleted: bool, erased: bool) -> Result<()> {
        if erased {
            self.rewrite()
        } else if deleted {
            self.checkpoint()
        } else {
            Ok(())
        }
    }

    /// Runs a read on the connection.
    pub fn with_conn<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        f(&*self.conn()?)
    }

    /// Reads a value from `meta`.
    pub fn meta(&self, key: &str) -> Result<Option<String>> {
        get_meta(&*self.conn()?, key)
    }
}

/// A fresh store in a temporary directory (tests; keep the directory alive).
#[cfg(test)]
pub fn temp_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = Store::open(&dir.path().join("cache.db"), &new_key()).expect("open");
    (dir, s)
}

/// Reads a value from `meta`.
pub fn get_meta(c: &Connection, key: &str) -> Result<Option<String>> {
    use rusqlite::OptionalExtension;
    Ok(
        c.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| {
            r.get::<_, String>(0)
        })
        .optional()?,
    )
}

/// Writes a value to `meta`.
pub fn set_meta(c: &Connection, key: &str, value: &str) -> Result<()> {
    c.execute(
        "INSERT INTO meta(key, value) VALUES (?1, ?2)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        [key, value],
    )?;
    Ok(())
}

fn open_keyed(path: &Path, key_hex: &str) -> Result<Connection> {
    if key_hex.len() != 64 || !key_hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Error::Unreadable("key is not 64 hex digits"));
    }
    if let Some(dir) = path.parent() {
        crate::private_fs::create_dir(dir)?;
    }
    // Created 0600 before SQLite opens it; its -wal and -shm files take the same mode.
    if !path.exists() {
        drop(crate::private_fs::create_file(path)?);
    } else {
        crate::private_fs::narrow_file(path)?;
    }
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    // SQLCipher logs decrypt failures (wrong key, foreign file) to stderr; we report Storage.
    let _ = conn.execute_batch("PRAGMA cipher_log_level = NONE;");
    // The key is hex checked above, so it cannot break out of the literal.
    conn.execute_batch(&format!("PRAGMA key = \"x'{key_hex}'\";"))?;
    // The first real read fails with NOTADB on a wrong key, a foreign or a corrupt file.
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    })?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(Error::Bug("journal mode is not WAL"));
    }
    conn.execute_batch(
        "PRAGMA secure_delete = ON; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;
         PRAGMA temp_store = MEMORY;",
    )?;
    // Room for one upsert per entity table plus the reads, so a sync never re-prepares.
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

fn migrate(conn: &Connection, target: u32) -> Result<()> {
    let current: u32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if current > latest_version() {
        tracing::warn!(current, "database is from a newer app");
        return Err(Error::Unreadable("schema from a newer app"));
    }
    for v in current..target.min(latest_version()) {
        let sql = MIGRATIONS
            .get(v as usize)
            .ok_or(Error::Bug("missing migration"))?;
        conn.execute_batch("BEGIN IMMEDIATE")?;
        let step = conn
            .execute_batch(sql)
            .and_then(|_| conn.execute_batch(&format!("PRAGMA user_version = {}", v + 1)));
        match step {
            Ok(()) => conn.execute_batch("COMMIT")?,
            Err(e) => {
                let _ = conn.execute_batch("ROLLBACK");
                return Err(e.into());
            }
        }
        tracing::info!(version = v + 1, "database migrated");
    }
    Ok(())
}

/// Removes a database file with its WAL and shared-memory files.
pub fn remove_db_files(path: &Path) -> Result<()> {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        match std::fs::remove_file(PathBuf::from(p)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::error::KidplanError::{self, StorageCorrupt};

    /// The public error of a failed open.
    fn public<T>(r: Result<T>) -> Option<KidplanError> {
        r.err().map(|e| e.to_public())
    }

    fn tables(s: &Store) -> Vec<String> {
        let c = s.conn().expect("conn");
        let mut st = c
            .prepare("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name")
            .expect("prepare");
        st.query_map([], |r| r.get(0))
            .expect("query")
            .collect::<std::result::Result<_, _>>()
            .expect("rows")
    }

    #[test]
    fn opens_encrypted_with_pragmas() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("a/cache.db");
        let key = new_key();
        let s = Store::open(&p, &key).expect("open");
        {
            let c = s.conn().expect("conn");
            let v: u32 = c
                .query_row("PRAGMA user_version", [], |r| r.get(0))
                .expect("v");
            assert_eq!(v, latest_version());
            let sd: i64 = c
                .query_row("PRAGMA secure_delete", [], |r| r.get(0))
                .expect("sd");
            assert_eq!(sd, 1);
            let fk: i64 = c
                .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
                .expect("fk");
            assert_eq!(fk, 1);
            set_meta(&c, "probe", "Canary value").expect("meta");
        }
        drop(s);
        // Not plaintext SQLite, and the key is not in the file.
        let bytes = std::fs::read(&p).expect("read");
        assert!(!bytes.starts_with(b"SQLite format 3"));
        assert!(!bytes.windows(64).any(|w| w == key.as_bytes()));
        // Reopens with the key; a wrong key is Storage, not a panic.
        let s = Store::open(&p, &key).expect("reopen");
        assert_eq!(
            s.meta("probe").expect("meta").as_deref(),
            Some("Canary value")
        );
        drop(s);
        assert_eq!(public(Store::open(&p, &new_key())), Some(StorageCorrupt));
        assert_eq!(public(Store::open(&p, "nothex")), Some(StorageCorrupt));
    }

    #[test]
    fn corrupt_or_foreign_files_are_storage_errors() {
        let dir = tempfile::tempdir().expect("tempdir");
        let junk = dir.path().join("junk.db");
        std::fs::write(&junk, vec![0x5a; 10_000]).expect("write");
        assert_eq!(public(Store::open(&junk, &new_key())), Some(StorageCorrupt));
        // A plain (unencrypted) SQLite file.
        let plain = dir.path().join("plain.db");
        {
            let c = Connection::open(&plain).expect("open");
            c.execute_batch("CREATE TABLE t(x); INSERT INTO t VALUES (1);")
                .expect("sql");
        }
        assert_eq!(
            public(Store::open(&plain, &new_key())),
            Some(StorageCorrupt)
        );
        // A truncated encrypted file.
        let key = new_key();
        let p = dir.path().join("trunc.db");
        drop(Store::open(&p, &key).expect("open"));
        let bytes = std::fs::read(&p).expect("read");
        remove_db_files(&p).expect("rm");
        std::fs::write(&p, &bytes[..bytes.len() / 3]).expect("write");
        assert!(Store::open(&p, &key).is_err());
    }

    #[test]
    fn migrates_from_every_older_version() {
        for from in 0..latest_version() {
            let dir = tempfile::tempdir().expect("tempdir");
            let p = dir.path().join("cache.db");
            let key = new_key();
            let old = Store::open_to(&p, &key, from).expect("old");
            if from >= 1 {
                let c = old.conn().expect("conn");
                set_meta(&c, "cursor", "42").expect("meta");
                c.execute(
                    "INSERT INTO children(id, child_id, data) VALUES ('c1', 'c1', '{}')",
                    [],
                )
                .expect("insert");
            }
            drop(old);
            let s = Store::open(&p, &key).expect("migrate");
            let v: u32 = s
                .conn()
                .expect("conn")
                .query_row("PRAGMA user_version", [], |r| r.get(0))
                .expect("v");
            assert_eq!(v, latest_version(), "from {from}");
            let t = tables(&s);
            for needed in [
                "meta",
                "outbox",
                "files",
                "children",
                "messages",
                "push_registration",
                "server_copies",
                "outbox_covers",
            ] {
                assert!(t.iter().any(|n| n == needed), "{needed} from {from}");
            }
            let unread_index: i64 = s
                .conn()
                .expect("conn")
                .query_row(
                    "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 'messages_unread'",
                    [],
                    |r| r.get(0),
                )
                .expect("index");
            assert_eq!(unread_index, 1, "messages_unread from {from}");
            if from >= 1 {
                assert_eq!(s.meta("cursor").expect("meta").as_deref(), Some("42"));
                let n: i64 = s
                    .conn()
                    .expect("conn")
                    .query_row("SELECT count(*) FROM children", [], |r| r.get(0))
                    .expect("count");
                assert_eq!(n, 1);
            }
        }
    }

    #[test]
    fn newer_schema_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("cache.db");
        let key = new_key();
        {
            let s = Store::open(&p, &key).expect("open");
            s.conn()
                .expect("conn")
                .execute_batch(&format!("PRAGMA user_version = {}", latest_version() + 1))
                .expect("bump");
        }
        assert_eq!(public(Store::open(&p, &key)), Some(StorageCorrupt));
    }

    #[test]
    fn pending_actions_of_v4_keep_their_server_copy() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("cache.db");
        let key = new_key();
        {
            let s = Store::open_to(&p, &key, 4).expect("v4");
            let c = s.conn().expect("conn");
            // Two pending edits of one absence (the first kept the server's version), a sent
            // one of another, and a pending create (no server version).
            for (seq, entity, status, undo) in [
                (
                    1,
                    "a1",
                    "pending",
                    Some(r#"{"kind":"absence","id":"a1","prev":{"v":"server"}}"#),
                ),
                (
                    2,
                    "a1",
                    "pending",
                    Some(r#"{"kind":"absence","id":"a1","prev":{"v":"edit1"}}"#),
                ),
                (3, "a2", "sent", None),
                (
                    4,
                    "a3",
                    "pending",
                    Some(r#"{"kind":"absence","id":"a3","prev":null}"#),
                ),
            ] {
                c.execute(
                    "INSERT INTO outbox (seq, idem_key, kind, target, entity_id, method, path,
                       response_kind, undo, status, next_attempt_at, created_at)
                     VALUES (?1, ?2, 'edit_absence', ?3, ?3, 'PUT', '/x', 'absence', ?4, ?5, 0, 0)",
                    rusqlite::params![seq, format!("k{seq}"), entity, undo, status],
                )
                .expect("outbox row");
            }
        }
        let s = Store::open(&p, &key).expect("migrate");
        let c = s.conn().expect("conn");
        let copies: Vec<(String, Option<String>)> = c
            .prepare("SELECT id, data FROM server_copies ORDER BY id")
            .expect("prepare")
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .expect("query")
            .collect::<std::result::Result<_, _>>()
            .expect("rows");
        assert_eq!(
            copies,
            vec![
                ("a1".to_string(), Some(r#"{"v":"server"}"#.to_string())),
                ("a3".to_string(), None)
            ]
        );
        let covers: i64 = c
            .query_row("SELECT count(*) FROM outbox_covers", [], |r| r.get(0))
            .expect("covers");
        assert_eq!(covers, 3);
    }

    #[test]
    fn failed_migration_leaves_previous_version() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("cache.db");
        let key = new_key();
        {
            let s = Store::open_to(&p, &key, 1).expect("v1");
            // Make step 2 fail half way: its table already exists.
            s.conn()
                .expect("conn")
                .execute_batch("CREATE INDEX files_lru ON meta(value)")
                .expect("sabotage");
        }
        assert_eq!(public(Store::open(&p, &key)), Some(KidplanError::Storage));
        let s = Store::open_to(&p, &key, 1).expect("still v1");
        let v: u32 = s
            .conn()
            .expect("conn")
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .expect("v");
        assert_eq!(v, 1);
        assert!(!tables(&s).iter().any(|t| t == "files"));
    }
}
