//! The real encrypted cache store the `apply_page` target writes to: opened once per process
//! (SQLCipher open and migrations cost far more than applying a page) and reset before every
//! input, so that each input starts from the same state and a crash reproduces on its own.
//!
//! The store lives in a fresh directory under `fuzz/target/apply_page-stores/` (git-ignored,
//! removed by `cargo clean`): libFuzzer ends the process with `exit()`, so a temporary
//! directory would never be removed.

use kidplan_api::sync::EntityKind;
use kidplan_core::cache;
use kidplan_core::store::{Store, new_key};
use rusqlite::Connection;
use std::sync::OnceLock;

/// The viewing guardian's id the target applies pages as (`"me"`).
pub const ME: &str = "me";

/// An entity with a pending outbox change, so the "local pending change wins" path is reached:
/// a child with this id in an upsert is skipped.
pub const PENDING_CHILD: &str = "pending-1";

/// The process's store, opened on first use, with the fixtures of [`reset`].
pub fn store() -> &'static Store {
    static STORE: OnceLock<(tempfile::TempDir, Store)> = OnceLock::new();
    let (_, store) = STORE.get_or_init(|| {
        let parent = concat!(env!("CARGO_MANIFEST_DIR"), "/target/apply_page-stores");
        std::fs::create_dir_all(parent).expect("store parent directory");
        let dir = tempfile::tempdir_in(parent).expect("store directory");
        let store = Store::open(&dir.path().join("cache.db"), &new_key()).expect("open store");
        store
            .write(|tx| {
                tx.execute(
                    "INSERT INTO outbox (idem_key, kind, target, entity_id, method, path, status,
                                         response_kind, next_attempt_at, created_at)
                     VALUES ('k1', 'edit', 'child', ?1, 'PUT', '/x', 'pending', 'child', 0, 0)",
                    [PENDING_CHILD],
                )?;
                Ok(())
            })
            .expect("outbox fixture");
        (dir, store)
    });
    store
}

/// Empties the entity tables, `meta` and `files`, then adds cached-file rows for photo `p1` and
/// document `d1` (so tombstones reach the file clean-up), all in one committed transaction.
pub fn reset(store: &Store) {
    store
        .write(|tx| {
            for t in cache::all_tables().chain(["meta", "files"]) {
                tx.execute(&format!("DELETE FROM {t}"), [])?;
            }
            tx.execute(
                "INSERT INTO files (key, kind, entity_id, name, size, last_used)
                 VALUES ('photo/p1/thumb', 'photo', 'p1', 'f1', 10, 0),
                        ('document/d1/full', 'document', 'd1', 'f2', 10, 0)",
                [],
            )?;
            Ok(())
        })
        .expect("reset store");
}

/// Asserts that SQLite finds the database intact (`PRAGMA integrity_check` says `ok`).
pub fn assert_integrity(c: &Connection) {
    let verdict: Vec<String> = c
        .prepare("PRAGMA integrity_check")
        .and_then(|mut st| {
            st.query_map([], |r| r.get::<_, String>(0))?
                .collect::<rusqlite::Result<_>>()
        })
        .expect("integrity_check runs");
    assert_eq!(verdict, ["ok"], "integrity_check");
}

/// Asserts that every cached entity row reads back as an entity of its table's kind: what sync
/// wrote, the screens can read.
pub fn assert_rows_decode(c: &Connection) {
    for kind in EntityKind::ALL {
        let Some(t) = cache::table(kind) else {
            continue;
        };
        let ids: Vec<String> = c
            .prepare(&format!("SELECT id FROM {t}"))
            .and_then(|mut st| {
                st.query_map([], |r| r.get::<_, String>(0))?
                    .collect::<rusqlite::Result<_>>()
            })
            .expect("list ids");
        for id in ids {
            let e = cache::get_entity(c, kind, &id).expect("read entity");
            assert!(e.is_some(), "cached {kind:?} {id:?} does not read back");
        }
    }
}
