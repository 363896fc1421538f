//! The heavy family on the reference server: a year of the demo guardian's children's days (log
//! entries, and conversations with the staff) written straight into the server's database with
//! their feed stamps, as the staff tools would have written them over a year; and a few new
//! changes for one child, for the incremental sync.

use kidplan_server::demo;
use rusqlite::{Connection, params};
use std::path::Path;

/// Log entries in the year (for the demo guardian's two children).
pub const LOG_ENTRIES: usize = 15_000;
/// Messages in the year.
pub const MESSAGES: usize = 8_000;
/// Conversations they are in.
pub const THREADS: usize = 40;

const YEAR_START_MS: i64 = 1_735_689_600_000; // 2025-01-01

fn open(db: &Path) -> rusqlite::Result<Connection> {
    let c = Connection::open(db)?;
    c.busy_timeout(std::time::Duration::from_secs(10))?;
    Ok(c)
}

fn next_seq(c: &Connection) -> rusqlite::Result<i64> {
    c.query_row(
        "UPDATE meta SET value = value + 1 WHERE key = 'seq' RETURNING value",
        [],
        |r| r.get(0),
    )
}

fn stamp(c: &Connection, entity: &str, id: &str, child: &str) -> rusqlite::Result<()> {
    let seq = next_seq(c)?;
    c.prepare_cached(
        "INSERT INTO changes (entity, entity_id, seq, op, child_id) VALUES (?1, ?2, ?3, 'upsert', ?4)
         ON CONFLICT (entity, entity_id) DO UPDATE SET seq = excluded.seq, op = 'upsert'",
    )?
    .execute(params![entity, id, seq, child])?;
    Ok(())
}

fn log_entry(c: &Connection, id: &str, child: &str, text: &str, at: i64) -> rusqlite::Result<()> {
    c.prepare_cached(
        "INSERT INTO log_entries (id, child_id, author_id, kind, text, at)
         VALUES (?1, ?2, ?3, 'meal', ?4, ?5)",
    )?
    .execute(params![id, child, demo::STAFF_ID, text, at])?;
    stamp(c, "log_entry", id, child)
}

/// Writes the year for the demo guardian's children into the server database at `db`.
pub fn seed_year(db: &Path) -> rusqlite::Result<()> {
    let mut c = open(db)?;
    let tx = c.transaction()?;
    let kids = demo::GUARDIAN_CHILD_IDS;
    for i in 0..LOG_ENTRIES {
        log_entry(
            &tx,
            &format!("year-log-{i:06}"),
            kids[i % 2],
            &format!("Spiste godt til lunsj, dag {i}. Sov en time etterpå."),
            YEAR_START_MS + i as i64 * 2_000_000,
        )?;
    }
    for t in 0..THREADS {
        let id = format!("year-thread-{t:03}");
        let child = kids[t % 2];
        tx.execute(
            "INSERT INTO threads (id, kindergarten_id, department_id, child_id, guardian_id, subject,
                                  broadcast, urgent, created_at)
             VALUES (?1, ?2, NULL, ?3, NULL, ?4, 0, 0, ?5)",
            params![id, demo::KINDERGARTEN_ID, child, format!("Tråd {t}"), YEAR_START_MS],
        )?;
        stamp(&tx, "thread", &id, child)?;
    }
    for i in 0..MESSAGES {
        let id = format!("year-msg-{i:06}");
        let t = i % THREADS;
        let at = YEAR_START_MS + i as i64 * 3_000_000;
        tx.prepare_cached(
            "INSERT INTO messages (id, thread_id, sender_kind, sender_id, body, sent_at)
             VALUES (?1, ?2, 'staff', ?3, ?4, ?5)",
        )?
        .execute(params![
            id,
            format!("year-thread-{t:03}"),
            demo::STAFF_ID,
            format!("Hei! Her er en oppdatering om dagen, nummer {i}."),
            at
        ])?;
        if i % 7 != 0 {
            tx.prepare_cached(
                "INSERT INTO message_reads (message_id, guardian_id, read_at) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![id, demo::GUARDIAN_ID, at + 1])?;
        }
        stamp(&tx, "message", &id, kids[t % 2])?;
    }
    tx.commit()
}

/// Writes `n` new log entries for `child` (numbered from `from`), as the staff would.
pub fn new_log_entries(db: &Path, child: &str, from: usize, n: usize) -> rusqlite::Result<()> {
    let mut c = open(db)?;
    let tx = c.transaction()?;
    let now = chrono::Utc::now().timestamp_millis();
    for i in from..from + n {
        log_entry(
            &tx,
            &format!("new-log-{child}-{i:06}"),
            child,
            &format!("Ny oppdatering {i}"),
            now + i as i64,
        )?;
    }
    tx.commit()
}
