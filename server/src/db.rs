//! Storage: one SQLite file (WAL, foreign keys, secure_delete), migrated by `PRAGMA
//! user_version`, behind one connection that async code reaches through
//! [`tokio::task::spawn_blocking`].

use crate::error::{AppError, AppResult};
use rusqlite::{Connection, OptionalExtension};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

/// Migrations in order; migration `i` brings the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    include_str!("schema.sql"),
    // Version 2: the last day of a kindergarten's contract ('YYYY-MM-DD'), see `contract`.
    "ALTER TABLE kindergartens ADD COLUMN contract_ends_on TEXT;",
    // Version 3: the durable send queue, reminders, holiday registration deadlines, the
    // guardian's language for e-mail/SMS notices (see `send_queue`, `reminders`, `notices`).
    include_str!("migrations/003_channels.sql"),
    // Version 4: where the sync feed stood before and after a command ran, replayed with its
    // answer (see `command`).
    "ALTER TABLE idempotency ADD COLUMN feed_before INTEGER;
     ALTER TABLE idempotency ADD COLUMN feed_after INTEGER;",
    // Version 5: anonymous telemetry tokens (see `tokens`): the day keys, who got the day's
    // token (until the day after), and the spent tokens' hashes.
    "CREATE TABLE telemetry_keys (day TEXT PRIMARY KEY, public_key BLOB NOT NULL, secret BLOB);
     CREATE TABLE telemetry_issued (day TEXT NOT NULL, guardian_id TEXT NOT NULL,
         PRIMARY KEY (day, guardian_id)) WITHOUT ROWID;
     CREATE TABLE telemetry_spent (day TEXT NOT NULL, token_hash TEXT NOT NULL,
         PRIMARY KEY (day, token_hash)) WITHOUT ROWID;",
    // Version 6: erasures take a second confirmation and leave an audit record naming who
    // erased and when, nothing of the erased person (see `erasure_confirm`).
    "CREATE TABLE erasure_confirmations (
        token_hash TEXT PRIMARY KEY,
        staff_id TEXT NOT NULL,
        person_hash TEXT NOT NULL,
        expires_at INTEGER NOT NULL
    );
    CREATE TABLE erasure_audit (
        id INTEGER PRIMARY KEY,
        kindergarten_id TEXT NOT NULL,
        erased_by TEXT,
        erased_at INTEGER NOT NULL
    );",
    // Version 7: a new e-mail or phone waits for the code sent to it (see `contact_change`).
    "CREATE TABLE contact_changes (
        id INTEGER PRIMARY KEY,
        guardian_id TEXT NOT NULL REFERENCES guardians(id) ON DELETE CASCADE,
        kind TEXT NOT NULL,
        value TEXT NOT NULL,
        code_hash TEXT NOT NULL,
        expires_at INTEGER NOT NULL,
        tries INTEGER NOT NULL
    );
    CREATE INDEX contact_changes_guardian ON contact_changes(guardian_id);",
    // Version 8: per-guardian tombstones, the fields of rectification and objection requests
    // (see `consent`).
    include_str!("migrations/008_privacy.sql"),
    // Version 9: whether a guardian has parental responsibility for a child (see
    // `responsibility`); existing links keep it.
    "ALTER TABLE guardian_children ADD COLUMN parental_responsibility INTEGER NOT NULL DEFAULT 1;",
    // Version 10: the guardian's and the staff member's free text about themself (the
    // privacy notice's categories).
    "ALTER TABLE guardians ADD COLUMN info TEXT;
     ALTER TABLE staff ADD COLUMN info TEXT;",
    // Version 11: profile pictures of children and staff (see `pictures`), kept in the
    // database so they go with their person's row, in the same transaction.
    "CREATE TABLE pictures (
        id TEXT PRIMARY KEY,
        kindergarten_id TEXT NOT NULL REFERENCES kindergartens(id),
        child_id TEXT UNIQUE REFERENCES children(id) ON DELETE CASCADE,
        staff_id TEXT UNIQUE REFERENCES staff(id) ON DELETE CASCADE,
        mime_type TEXT NOT NULL,
        size_bytes INTEGER NOT NULL,
        content BLOB NOT NULL,
        updated_at INTEGER NOT NULL,
        CHECK ((child_id IS NULL) <> (staff_id IS NULL))
    );",
];

/// The database handle shared by the server. Cloning shares the connection.
#[derive(Clone)]
pub struct Db {
    conn: Arc<Mutex<Connection>>,
    path: PathBuf,
}

impl Db {
    /// Opens (creating if needed) and migrates the database file.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        let mut conn = Connection::open(path)?;
        configure(&conn)?;
        migrate(&mut conn)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
            path: path.to_owned(),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Locks the connection on the current thread (for short, synchronous work).
    pub fn lock(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` with the connection on the blocking pool.
    pub async fn call<T, F>(&self, f: F) -> AppResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> AppResult<T> + Send + 'static,
    {
        let db = self.clone();
        tokio::task::spawn_blocking(move || f(&mut db.lock()))
            .await
            .map_err(|e| AppError::internal(&e))?
    }

    /// Runs `f` in one transaction on the blocking pool; commits when `f` succeeds.
    pub async fn tx<T, F>(&self, f: F) -> AppResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&rusqlite::Transaction<'_>) -> AppResult<T> + Send + 'static,
    {
        self.call(move |conn| {
            let tx = conn.transaction()?;
            let out = f(&tx)?;
            tx.commit()?;
            Ok(out)
        })
        .await
    }
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "secure_delete", "ON")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    Ok(())
}

/// Applies every migration newer than the file's `user_version`, each in one transaction.
fn migrate(conn: &mut Connection) -> anyhow::Result<()> {
    let current: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let current = usize::try_from(current).unwrap_or(0);
    if current > MIGRATIONS.len() {
        anyhow::bail!("database schema version {current} is newer than this server");
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}

/// Schema version after all migrations.
pub fn schema_version() -> usize {
    MIGRATIONS.len()
}

/// One optional row, mapping "no rows" to `None`.
pub fn opt<T>(r: rusqlite::Result<T>) -> AppResult<Option<T>> {
    Ok(r.optional()?)
}

/// A random id (UUID v4) for things the server creates.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// SHA-256 of a string, lowercase hex.
pub fn sha256_hex(s: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(s.as_bytes()))
}

/// `PRAGMA wal_checkpoint(TRUNCATE)`: moves everything into the main file and empties the WAL.
pub fn checkpoint_truncate(conn: &Connection) -> rusqlite::Result<()> {
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_migrates_and_reopens() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t.db");
        let db = Db::open(&path).expect("open");
        let v: i64 = db
            .lock()
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .expect("version");
        assert_eq!(v as usize, schema_version());
        let sd: i64 = db
            .lock()
            .pragma_query_value(None, "secure_delete", |r| r.get(0))
            .expect("secure_delete");
        assert_eq!(sd, 1);
        drop(db);
        Db::open(&path).expect("reopen");
    }
}
