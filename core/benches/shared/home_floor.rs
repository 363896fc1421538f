//! The home screen's lists read with plain rusqlite (no core, no decoding): the floor the
//! core's home-screen bench and the budget's "open in a new process" row both measure against.
//! Both include this file by path, so the two floors are one piece of code.

use rusqlite::Connection;

/// Reads the 20 newest log rows of each of `children` and, for every thread, its unread count
/// and last message; returns how many rows it read.
pub fn logs_and_threads(c: &Connection, children: &[String]) -> rusqlite::Result<usize> {
    let mut n = 0;
    for id in children {
        let mut st = c.prepare_cached(
            "SELECT data FROM log_entries WHERE child_id = ?1 ORDER BY at DESC LIMIT 20",
        )?;
        n += st
            .query_map([id], |r| r.get::<_, String>(0))?
            .filter_map(|r| r.ok())
            .count();
    }
    let threads: Vec<String> = c
        .prepare("SELECT id FROM threads")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for t in &threads {
        let _unread: i64 = c
            .prepare_cached("SELECT count(*) FROM messages WHERE ref_id = ?1 AND flag = 1")?
            .query_row([t], |r| r.get(0))?;
        let last: Option<String> = c
            .prepare_cached(
                "SELECT data FROM messages WHERE ref_id = ?1 ORDER BY at DESC, id DESC LIMIT 1",
            )?
            .query_row([t], |r| r.get(0))
            .ok();
        n += 1 + usize::from(last.is_some());
    }
    Ok(n)
}
