//! Home-screen benchmark: how long the core takes to open an account's encrypted cache and run
//! the queries of the home screen, against a floor measured in the same run.
//!
//! Data: a year of a busy family's cache (15,000 child log entries for 2 children and 8,000
//! messages in 40 threads), applied through the real sync path (`sync::apply_page`).
//!
//! - **core**: `Store::open` (SQLCipher, raw key, pragmas, migration check), then
//!   `reads::children`, `reads::log_entries(child, None, 20)` for each child and
//!   `reads::threads` (with unread counts and last message), decoded into domain records.
//! - **floor**: the same file opened with plain rusqlite and the same raw key, running the
//!   same row lookups (children, 20 newest log rows per child, each thread's unread count and
//!   last message) and reading the JSON text without decoding it.
//! - **passphrase**: for contrast, opening a database keyed with a passphrase (SQLCipher's key
//!   derivation runs on every open), which is why the core uses a raw key.
//!
//! Run: `cargo bench -p kidplan-core --bench home_screen` (release profile). Prints medians and
//! ratios; it asserts nothing about time.

use kidplan_api::model::*;
use kidplan_api::sync::{Change, ChangeOp, EntityKind, SyncPage};
use kidplan_api::*;
use kidplan_core::cache::Effects;
use kidplan_core::local::apply::{SyncReport, apply_page};
use kidplan_core::store::{self, Store};
use kidplan_core::{error::Error, reads};
use rusqlite::Connection;
use std::time::{Duration, Instant};

#[path = "shared/home_floor.rs"]
mod home_floor;

const LOG_ENTRIES: usize = 15_000;
const MESSAGES: usize = 8_000;
const THREADS: usize = 40;
const RUNS: usize = 41;
const ME: &str = "g-me";

fn change(seq: i64, entity: EntityKind, id: &str, data: serde_json::Value) -> Change {
    Change {
        seq,
        entity,
        id: id.to_owned(),
        op: ChangeOp::Upsert,
        data: Some(data),
    }
}

fn json<T: serde::Serialize>(v: &T) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or_default()
}

/// The year of data, as one sync page per entity batch.
fn pages() -> Vec<SyncPage> {
    let mut seq = 0;
    let mut next = || {
        seq += 1;
        seq
    };
    let kg = KindergartenId::from("kg");
    let dept = DepartmentId::from("d1");
    let children: Vec<Child> = (0..2)
        .map(|i| Child {
            id: ChildId(format!("c{i}")),
            kindergarten_id: kg.clone(),
            department_id: dept.clone(),
            first_name: format!("Barn{i}"),
            last_name: "Nordmann".into(),
            birth_date: Day::from_ymd(2022, 3, 1 + i as u32).unwrap_or(Day::today()),
            info: None,
            picture: None,
        })
        .collect();
    let mut base = vec![change(
        next(),
        EntityKind::Guardian,
        ME,
        json(&Guardian {
            id: GuardianId::from(ME),
            first_name: "Kari".into(),
            last_name: "Nordmann".into(),
            email: None,
            phone: None,
            address: None,
            postal_code: None,
            info: None,
        }),
    )];
    for c in &children {
        base.push(change(next(), EntityKind::Child, c.id.as_str(), json(c)));
    }
    let year_start = 1_735_689_600_000_i64; // 2025-01-01
    let mut log = Vec::with_capacity(LOG_ENTRIES);
    for i in 0..LOG_ENTRIES {
        let e = LogEntry {
            id: LogEntryId(format!("l{i:06}")),
            child_id: children[i % 2].id.clone(),
            author_id: StaffId::from("s1"),
            kind: LogKind::Meal,
            text: format!("Spiste godt til lunsj, dag {i}. Sov en time etterpå."),
            at: Timestamp(year_start + i as i64 * 2_000_000),
        };
        log.push(change(
            next(),
            EntityKind::LogEntry,
            e.id.as_str(),
            json(&e),
        ));
    }
    let mut msgs = Vec::with_capacity(MESSAGES + THREADS);
    for t in 0..THREADS {
        let th = Thread {
            id: ThreadId(format!("t{t:03}")),
            kindergarten_id: kg.clone(),
            child_id: Some(children[t % 2].id.clone()),
            subject: format!("Tråd {t}"),
            broadcast: false,
            urgent: false,
            created_at: Timestamp(year_start),
        };
        msgs.push(change(
            next(),
            EntityKind::Thread,
            th.id.as_str(),
            json(&th),
        ));
    }
    for i in 0..MESSAGES {
        let m = Message {
            id: MessageId(format!("m{i:06}")),
            thread_id: ThreadId(format!("t{:03}", i % THREADS)),
            sender: Sender::Staff {
                id: StaffId::from("s1"),
            },
            body: format!("Hei! Her er en oppdatering om dagen, nummer {i}."),
            sent_at: Timestamp(year_start + i as i64 * 3_000_000),
            read_at: (i % 7 != 0).then_some(Timestamp(year_start + i as i64 * 3_000_000 + 1)),
        };
        msgs.push(change(next(), EntityKind::Message, m.id.as_str(), json(&m)));
    }
    [base, log, msgs]
        .into_iter()
        .map(|changes| SyncPage {
            cursor: changes.last().map(|c| c.seq).unwrap_or(0),
            changes,
            has_more: true,
        })
        .collect()
}

fn seed(path: &std::path::Path, key: &str) -> Result<(), Error> {
    let store = Store::open(path, key)?;
    for page in pages() {
        store.write(|tx| {
            let (mut report, mut fx) = (SyncReport::default(), Effects::default());
            apply_page(tx, &page, ME, &mut report, &mut fx)
        })?;
    }
    store
        .conn()?
        .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
    Ok(())
}

/// The floor of applying the same pages: each change's JSON written with one prepared
/// `INSERT OR REPLACE` into an identically shaped table, one transaction per page, on a fresh
/// database with the same kind of key (no decoding, no index columns, no outbox check).
fn floor_apply(path: &std::path::Path, key: &str, pages: &[SyncPage]) -> rusqlite::Result<()> {
    let mut c = Connection::open(path)?;
    c.execute_batch(&format!(
        "PRAGMA key = \"x'{key}'\"; PRAGMA journal_mode = WAL; PRAGMA secure_delete = ON;
         PRAGMA synchronous = NORMAL;
         CREATE TABLE rows (id TEXT PRIMARY KEY, data TEXT NOT NULL);"
    ))?;
    for page in pages {
        let tx = c.transaction()?;
        {
            let mut st = tx.prepare("INSERT OR REPLACE INTO rows (id, data) VALUES (?1, ?2)")?;
            for ch in &page.changes {
                let data = ch.data.as_ref().map(|d| d.to_string()).unwrap_or_default();
                st.execute(rusqlite::params![ch.id, data])?;
            }
        }
        tx.commit()?;
    }
    Ok(())
}

/// The core's path: open + decoded home-screen reads. Returns rows read (to defeat dead-code
/// elimination and to check both paths read the same amount).
fn core_home(path: &std::path::Path, key: &str) -> Result<usize, Error> {
    let store = Store::open(path, key)?;
    let c = store.conn()?;
    let kids = reads::children(&c)?;
    let mut n = kids.len();
    for k in &kids {
        n += reads::log_entries(&c, &k.id, None, 20)?.len();
    }
    let threads = reads::threads(&c)?;
    n += threads.len() + threads.iter().filter(|t| t.last_message.is_some()).count();
    Ok(n)
}

/// The floor: plain rusqlite on the same file and key, same lookups, no decoding.
fn floor_home(path: &std::path::Path, key: &str) -> rusqlite::Result<usize> {
    let c = Connection::open(path)?;
    c.execute_batch(&format!("PRAGMA key = \"x'{key}'\";"))?;
    let mut n = 0;
    let ids: Vec<String> = c
        .prepare("SELECT id, data FROM children")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    n += ids.len();
    n += home_floor::logs_and_threads(&c, &ids)?;
    Ok(n)
}

fn passphrase_open(path: &std::path::Path) -> rusqlite::Result<i64> {
    let c = Connection::open(path)?;
    c.execute_batch("PRAGMA key = 'correct horse battery staple';")?;
    c.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
}

fn median(mut f: impl FnMut() -> usize) -> (Duration, usize) {
    let mut times = Vec::with_capacity(RUNS);
    let mut rows = 0;
    for _ in 0..RUNS {
        let t = Instant::now();
        rows = std::hint::black_box(f());
        times.push(t.elapsed());
    }
    times.sort();
    (times[RUNS / 2], rows)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("cache.db");
    let key = store::new_key();
    let t = Instant::now();
    seed(&path, &key)?;
    let apply = t.elapsed();
    let t = Instant::now();
    floor_apply(&dir.path().join("floor.db"), &key, &pages())?;
    let apply_floor = t.elapsed();
    println!(
        "apply {LOG_ENTRIES} log entries + {MESSAGES} messages in {THREADS} threads (sync::apply_page): {:.0} ms",
        ms(apply)
    );
    println!(
        "apply floor (raw prepared INSERT of the same JSON, one transaction per page): {:.0} ms; ratio {:.2}",
        ms(apply_floor),
        apply.as_secs_f64() / apply_floor.as_secs_f64()
    );

    let pass = dir.path().join("pass.db");
    {
        let c = Connection::open(&pass)?;
        c.execute_batch(
            "PRAGMA key = 'correct horse battery staple'; CREATE TABLE t(x); INSERT INTO t VALUES (1);",
        )?;
    }

    let (floor, floor_rows) = median(|| floor_home(&path, &key).unwrap_or(0));
    let (core, core_rows) = median(|| core_home(&path, &key).unwrap_or(0));
    let (pp, _) = median(|| passphrase_open(&pass).map(|n| n as usize).unwrap_or(0));
    if floor_rows == 0 || core_rows != floor_rows {
        return Err(
            format!("paths read different rows: core {core_rows}, floor {floor_rows}").into(),
        );
    }
    println!("rows per home screen: {core_rows}");
    println!(
        "floor  (rusqlite, raw key, same lookups, no decode): {:>8.3} ms",
        ms(floor)
    );
    println!(
        "core   (Store::open + reads, decoded records):       {:>8.3} ms",
        ms(core)
    );
    println!(
        "passphrase open alone (key derivation, contrast):    {:>8.3} ms",
        ms(pp)
    );
    println!(
        "ratio core / floor:        {:.2}",
        core.as_secs_f64() / floor.as_secs_f64()
    );
    println!(
        "ratio passphrase / floor:  {:.1}",
        pp.as_secs_f64() / floor.as_secs_f64()
    );
    Ok(())
}
