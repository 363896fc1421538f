//! The performance budget of issue 13, one table: each figure with a floor measured in the same
//! run (runs alternate between the two so a noisy moment hits both), the median of the paired
//! ratios and their spread. A real `kidplan-server` on 127.0.0.1 holds a heavy family (the demo
//! guardian's children with a year of days: 15,000 log entries, 8,000 messages in 40
//! conversations); real SQLCipher files on disk.
//!
//! Rows: first full sync (bytes on the wire, time), a sync of 10 new changes on the year vs on a
//! small cache, applying the year vs raw inserts, `Kidplan::open` to the home screen in a new
//! process vs the raw floor, sending 1,000 queued actions vs 1,000 plain requests, reading 50
//! messages (the Rust side of the Kotlin figure), peak resident memory of the first full sync,
//! and (when `scripts/bench` built them) the Kotlin overhead and the release library's size.
//!
//! Run everything with `scripts/bench`; this part alone with
//! `cargo bench -p kidplan-tests --bench budget`. It asserts nothing about time.

mod heavy;
mod process;
mod stats;
mod wire;

use anyhow::Context;
use kidplan_api::auth::RequestCode;
use kidplan_api::commands::SendMessage;
use kidplan_api::staff::StaffMessage;
use kidplan_api::sync::SyncPage;
use kidplan_api::{MessageId, ThreadId, paths};
use kidplan_core::local::apply::{SyncReport, apply_page};
use kidplan_core::{
    FileSecretStore, Kidplan, MemorySecretStore, SecretStore, Tuning, cache, store,
};
use kidplan_server::{RunningServer, ServerConfig, demo};
use kidplan_tests::{RawSession, open_core};
use rusqlite::Connection;
use stats::{Paired, Row, fig, ms_spread};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Full syncs of the year per side.
const SYNC_RUNS: usize = 5;
/// Incremental syncs per side.
const SMALL_SYNC_RUNS: usize = 15;
/// Cold opens per side.
const OPEN_RUNS: usize = 15;
/// Rounds of 1,000 actions per side.
const SEND_RUNS: usize = 3;
const ACTIONS: usize = 1_000;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        return process::child(&args[i + 1..]);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(suite())
}

/// A server for benchmarks: no background jobs, no login rate limit in the way.
async fn bench_server(dir: &Path) -> anyhow::Result<RunningServer> {
    let mut cfg = ServerConfig::new(dir);
    cfg.rate_limits.codes_per_contact = 100_000;
    cfg.rate_limits.codes_per_ip = 100_000;
    cfg.rate_limits.verifications_per_ip = 100_000;
    cfg.maintenance_every = None;
    cfg.queue_every = None;
    cfg.reminders_every = None;
    RunningServer::start(cfg).await
}

/// The apps' tuning, minus the timers that would send on their own during a measurement.
fn tuning() -> Tuning {
    Tuning {
        background_flush: false,
        telemetry_sender_every: None,
        ..Tuning::default()
    }
}

/// A plain reqwest session of `contact` (the floors' client): its access token.
async fn plain_login(
    http: &reqwest::Client,
    server: &RunningServer,
    base: &str,
    contact: &str,
) -> anyhow::Result<String> {
    let s = RawSession::login_at(http.clone(), server, base.into(), contact).await?;
    Ok(s.session.access_token)
}

/// A device logged in as `contact` and synced once: the core and its first sync's report.
async fn device(
    dir: &Path,
    server: &RunningServer,
    base: &str,
    secrets: Arc<dyn SecretStore>,
    contact: &str,
) -> anyhow::Result<(Arc<Kidplan>, SyncReport)> {
    let kp = open_core(dir, base, secrets, tuning())?;
    kp.request_login_code(contact.to_owned()).await?;
    let code = server.last_login_code(contact).context("no code")?;
    kp.verify_login_code(contact.to_owned(), code).await?;
    let report = kp.sync().await?;
    Ok((kp, report))
}

/// A fresh SQLCipher file with the core's kind of key and pragmas, and one plain table.
fn floor_db(path: &Path, key: &str) -> rusqlite::Result<Connection> {
    let c = Connection::open(path)?;
    c.execute_batch(&format!(
        "PRAGMA key = \"x'{key}'\"; PRAGMA journal_mode = WAL; PRAGMA secure_delete = ON;
         PRAGMA synchronous = NORMAL;
         CREATE TABLE rows (id TEXT PRIMARY KEY, data TEXT NOT NULL);"
    ))?;
    Ok(c)
}

/// Each change's JSON with one prepared `INSERT OR REPLACE`, one transaction per page.
fn floor_insert(c: &mut Connection, page: &SyncPage) -> rusqlite::Result<()> {
    let tx = c.transaction()?;
    {
        let mut st = tx.prepare_cached("INSERT OR REPLACE INTO rows (id, data) VALUES (?1, ?2)")?;
        for ch in &page.changes {
            let data = ch.data.as_ref().map(|d| d.to_string()).unwrap_or_default();
            st.execute(rusqlite::params![ch.id, data])?;
        }
    }
    tx.commit()
}

/// The feed page after `cursor` as a plain client receives it, and its body's length.
async fn feed_page(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    cursor: i64,
) -> anyhow::Result<(SyncPage, u64)> {
    let body = http
        .get(format!(
            "{base}{}?cursor={cursor}&limit={}",
            paths::SYNC,
            kidplan_api::sync::DEFAULT_SYNC_LIMIT
        ))
        .bearer_auth(token)
        .send()
        .await?
        .error_for_status()?
        .bytes()
        .await?;
    Ok((serde_json::from_slice(&body)?, body.len() as u64))
}

/// The floor of a first full sync: the same pages fetched with plain reqwest (decoding what
/// the server compressed, as the core does) and inserted raw. Returns the pages.
async fn floor_sync(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    db: &Path,
) -> anyhow::Result<Vec<SyncPage>> {
    let mut c = floor_db(db, &store::new_key())?;
    let mut pages = Vec::new();
    let mut cursor = 0;
    loop {
        let (page, _) = feed_page(http, base, token, cursor).await?;
        floor_insert(&mut c, &page)?;
        cursor = page.cursor;
        let more = page.has_more;
        pages.push(page);
        if !more {
            return Ok(pages);
        }
    }
}

/// The JSON of the feed as it is without compression: the body bytes of every page.
async fn plain_json_bytes(base: &str, token: &str) -> anyhow::Result<u64> {
    let http = reqwest::Client::builder().no_gzip().no_zstd().build()?;
    let (mut bytes, mut cursor) = (0u64, 0);
    loop {
        let (page, len) = feed_page(&http, base, token, cursor).await?;
        bytes += len;
        cursor = page.cursor;
        if !page.has_more {
            return Ok(bytes);
        }
    }
}

fn ratio_row(what: &str, p: &Paired, floor: &str, budget_text: &str, budget: Option<f64>) -> Row {
    let (r, lo, hi) = p.ratio();
    Row {
        what: what.into(),
        measured: ms_spread(&p.core),
        floor: format!("{floor}: {}", ms_spread(&p.floor)),
        ratio: format!("{} ({}–{})", fig(r), fig(lo), fig(hi)),
        budget: budget_text.into(),
        met: budget.map(|b| r <= b),
    }
}

async fn suite() -> anyhow::Result<()> {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "machine: {} cores; load average at start: {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    let server_dir = tempfile::tempdir()?;
    let server = bench_server(server_dir.path()).await?;
    let t = Instant::now();
    heavy::seed_year(&server.db_path())?;
    println!(
        "seeded the year on the server ({} log entries, {} messages in {} threads) in {:.1} s",
        heavy::LOG_ENTRIES,
        heavy::MESSAGES,
        heavy::THREADS,
        t.elapsed().as_secs_f64()
    );
    let relay = wire::Relay::start(server.addr()).await?;
    let base = relay.url();
    let http = reqwest::Client::new();
    let mut rows = Vec::new();

    // One row alone, for profiling (`KIDPLAN_BENCH_ONLY=apply|send`).
    match std::env::var("KIDPLAN_BENCH_ONLY").as_deref() {
        Ok("apply") => {
            let kari = plain_login(&http, &server, &base, demo::GUARDIAN_EMAIL).await?;
            let dir = tempfile::tempdir()?;
            let pages = floor_sync(&http, &base, &kari, &dir.path().join("floor.db")).await?;
            let changes = pages.iter().map(|p| p.changes.len() as u32).sum();
            rows.push(apply_row(&pages, changes)?);
        }
        Ok("send") => {
            let dir = tempfile::tempdir()?;
            let (light_kp, _) = device(
                dir.path(),
                &server,
                &base,
                MemorySecretStore::new(),
                demo::SECOND_GUARDIAN_EMAIL,
            )
            .await?;
            rows.push(send_row(&server, &base, &http, &light_kp).await?);
        }
        Ok(other) => anyhow::bail!("KIDPLAN_BENCH_ONLY={other}: apply or send"),
        Err(_) => {}
    }
    if !rows.is_empty() {
        stats::print(&rows);
        return Ok(());
    }

    // ---- first full sync of the heavy family ----
    let kari = plain_login(&http, &server, &base, demo::GUARDIAN_EMAIL).await?;
    let before = relay.received();
    let json_bytes = plain_json_bytes(&base, &kari).await?;
    let plain_wire = relay.received() - before;
    let mut first = Paired::default();
    let mut wire_bytes = Vec::new();
    let mut changes = 0;
    let mut pages = Vec::new();
    for run in 0..SYNC_RUNS {
        let dir = tempfile::tempdir()?;
        let t = Instant::now();
        pages = floor_sync(&http, &base, &kari, &dir.path().join("floor.db")).await?;
        let floor = t.elapsed();
        let kp = open_core(dir.path(), &base, MemorySecretStore::new(), tuning())?;
        kp.request_login_code(demo::GUARDIAN_EMAIL.into()).await?;
        let code = server
            .last_login_code(demo::GUARDIAN_EMAIL)
            .context("no code")?;
        kp.verify_login_code(demo::GUARDIAN_EMAIL.into(), code)
            .await?;
        let before = relay.received();
        let t = Instant::now();
        let report = kp.sync().await?;
        let core = t.elapsed();
        wire_bytes.push((relay.received() - before) as f64);
        changes = report.applied;
        first.push(core, floor);
        println!(
            "first sync run {run}: core {:.0} ms, floor {:.0} ms, {} changes in {} pages",
            core.as_secs_f64() * 1e3,
            floor.as_secs_f64() * 1e3,
            report.applied,
            report.pages
        );
        drop(kp);
    }
    let (wire, _, _) = stats::spread(&mut wire_bytes);
    rows.push(Row {
        what: format!("first full sync of the heavy family ({changes} changes): bytes received"),
        measured: format!("{} KiB on the wire", fig(wire / 1024.0)),
        floor: format!(
            "JSON: {} KiB ({} KiB on the wire uncompressed)",
            fig(json_bytes as f64 / 1024.0),
            fig(plain_wire as f64 / 1024.0)
        ),
        ratio: format!("1/{}", fig(json_bytes as f64 / wire)),
        budget: "≤ 1/6 of the JSON".into(),
        met: Some(wire * 6.0 <= json_bytes as f64),
    });
    rows.push(ratio_row(
        "first full sync of the heavy family over 127.0.0.1: time",
        &first,
        "plain reqwest + raw inserts",
        "≤ 1.5",
        Some(1.5),
    ));

    // ---- applying the year ----
    rows.push(apply_row(&pages, changes)?);

    // ---- a sync of 10 new changes: the year vs a small cache ----
    let heavy_dir = tempfile::tempdir()?;
    let heavy_secrets_dir = heavy_dir.path().join("secrets");
    let heavy_secrets = FileSecretStore::new(
        heavy_secrets_dir
            .to_str()
            .context("secrets dir is not UTF-8")?,
    )?;
    let heavy_data = heavy_dir.path().join("data");
    let (heavy_kp, heavy_first) = device(
        &heavy_data,
        &server,
        &base,
        heavy_secrets.clone(),
        demo::GUARDIAN_EMAIL,
    )
    .await?;
    let light_dir = tempfile::tempdir()?;
    let (light_kp, light_first) = device(
        light_dir.path(),
        &server,
        &base,
        MemorySecretStore::new(),
        demo::SECOND_GUARDIAN_EMAIL,
    )
    .await?;
    let mut small = Paired::default();
    for i in 0..SMALL_SYNC_RUNS {
        heavy::new_log_entries(&server.db_path(), demo::GUARDIAN_CHILD_IDS[0], i * 10, 10)?;
        heavy::new_log_entries(
            &server.db_path(),
            demo::SECOND_GUARDIAN_CHILD_ID,
            i * 10,
            10,
        )?;
        let t = Instant::now();
        let r = light_kp.sync().await?;
        let light = t.elapsed();
        anyhow::ensure!(r.applied == 10, "light sync applied {}", r.applied);
        let t = Instant::now();
        let r = heavy_kp.sync().await?;
        let heavy = t.elapsed();
        anyhow::ensure!(r.applied == 10, "heavy sync applied {}", r.applied);
        small.push(heavy, light);
    }
    rows.push(ratio_row(
        &format!(
            "a sync of 10 new changes on the year ({} changes cached)",
            heavy_first.applied
        ),
        &small,
        &format!("the same on a cache of {} changes", light_first.applied),
        "≤ 1.3",
        Some(1.3),
    ));

    // ---- Kidplan::open to the home screen's data, in a new process ----
    let account = heavy_kp.active_account().context("no account")?;
    let key = heavy_secrets
        .get(kidplan_core::secrets::keys::db_key(account.id.as_str()))?
        .context("no database key")?;
    drop(heavy_kp);
    let db = store::db_path(&heavy_data, account.id.as_str());
    let (data_s, secrets_s, db_s) = (
        heavy_data.to_str().context("utf-8")?,
        heavy_secrets_dir.to_str().context("utf-8")?,
        db.to_str().context("utf-8")?,
    );
    let mut open = Paired::default();
    for _ in 0..OPEN_RUNS {
        let f = process::spawn(&["floor-home", db_s, &key, &account.person_id])?;
        let c = process::spawn(&["open-home", data_s, secrets_s, &base])?;
        let (fr, cr) = (process::value(&f, "rows")?, process::value(&c, "rows")?);
        anyhow::ensure!(fr == cr && cr > 0, "rows: core {cr}, floor {fr}");
        open.push(process::micros(&c, "us")?, process::micros(&f, "us")?);
    }
    rows.push(ratio_row(
        "`Kidplan::open` to the home screen's data, new process (the year cached)",
        &open,
        "home-screen floor (rusqlite, raw key, same lookups), new process",
        "≤ 2",
        Some(2.0),
    ));

    // ---- sending 1,000 queued actions ----
    rows.push(send_row(&server, &base, &http, &light_kp).await?);
    drop(light_kp);

    // ---- reading 50 messages in Rust (the floor of the Kotlin figure) ----
    let rust_read = messages_read().await?;
    let kotlin = std::env::var("KIDPLAN_BENCH_JVM")
        .ok()
        .and_then(|p| std::fs::read_to_string(p).ok())
        .and_then(|s| {
            s.split_whitespace()
                .find_map(|kv| kv.strip_prefix("kotlin_us="))
                .and_then(|v| v.parse::<f64>().ok())
        });
    let rust_us = rust_read.as_secs_f64() * 1e6;
    rows.push(Row {
        what: "a read of 50 messages: Kotlin through the bindings (JVM harness)".into(),
        measured: kotlin.map_or("not run (scripts/bench runs it)".into(), |k| {
            format!("{} µs per call", fig(k))
        }),
        floor: format!("the same read in Rust: {} µs per call", fig(rust_us)),
        ratio: kotlin.map_or("—".into(), |k| {
            format!("overhead {} µs per call", fig(k - rust_us))
        }),
        budget: "print the overhead".into(),
        met: None,
    });

    // ---- peak resident memory of the first full sync of the year ----
    let rss_dir = tempfile::tempdir()?;
    http.post(format!("{base}{}", paths::AUTH_CODE))
        .json(&RequestCode {
            contact: demo::GUARDIAN_EMAIL.into(),
        })
        .send()
        .await?
        .error_for_status()?;
    let code = server
        .last_login_code(demo::GUARDIAN_EMAIL)
        .context("no code")?;
    let rss = process::spawn(&[
        "rss-sync",
        rss_dir.path().to_str().context("utf-8")?,
        &base,
        demo::GUARDIAN_EMAIL,
        &code,
    ])?;
    let (before_kib, peak_kib) = (
        process::value(&rss, "before_kib")?,
        process::value(&rss, "peak_kib")?,
    );
    rows.push(Row {
        what: "peak resident memory during the first full sync of the year (new process)".into(),
        measured: format!("{} MiB", fig(peak_kib as f64 / 1024.0)),
        floor: format!("before the sync: {} MiB", fig(before_kib as f64 / 1024.0)),
        ratio: "—".into(),
        budget: "≤ 64 MiB".into(),
        met: Some(peak_kib <= 64 * 1024),
    });

    // ---- the stripped release library ----
    rows.push(library_row());

    stats::print(&rows);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "\nload average at the end: {}",
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    server.stop().await;
    Ok(())
}

/// Applying the year's pages through `sync::apply_page` against raw prepared inserts.
fn apply_row(pages: &[SyncPage], changes: u32) -> anyhow::Result<Row> {
    let mut apply = Paired::default();
    for _ in 0..SYNC_RUNS {
        let dir = tempfile::tempdir()?;
        let key = store::new_key();
        let t = Instant::now();
        let mut c = floor_db(&dir.path().join("floor.db"), &key)?;
        for p in pages {
            floor_insert(&mut c, p)?;
        }
        let floor = t.elapsed();
        let t = Instant::now();
        let s = store::Store::open(&dir.path().join("cache.db"), &key)?;
        for p in pages {
            s.write(|tx| {
                apply_page(
                    tx,
                    p,
                    demo::GUARDIAN_ID,
                    &mut SyncReport::default(),
                    &mut cache::Effects::default(),
                )
            })?;
        }
        apply.push(t.elapsed(), floor);
    }
    Ok(ratio_row(
        &format!("applying the year ({changes} changes, sync::apply_page)"),
        &apply,
        "raw prepared inserts",
        "≤ 1.4",
        Some(1.4),
    ))
}

/// Sending 1,000 queued messages with `sync()` against 1,000 plain reqwest requests to the same
/// endpoint, on the small family's device (`light_kp`).
async fn send_row(
    server: &RunningServer,
    base: &str,
    http: &reqwest::Client,
    light_kp: &Kidplan,
) -> anyhow::Result<Row> {
    let thread = light_kp
        .threads()?
        .into_iter()
        .find(|t| !t.thread.broadcast)
        .map(|t| t.thread.id)
        .context("the small family has no conversation")?;
    let per = plain_login(http, server, base, demo::SECOND_GUARDIAN_EMAIL).await?;
    let path = paths::fill(paths::THREAD_MESSAGES, &[("id", thread.as_str())]);
    let mut send = Paired::default();
    for _ in 0..SEND_RUNS {
        let t = Instant::now();
        for i in 0..ACTIONS {
            http.post(format!("{base}{path}"))
                .bearer_auth(&per)
                .header(
                    kidplan_api::IDEMPOTENCY_KEY_HEADER,
                    uuid::Uuid::new_v4().to_string(),
                )
                .json(&SendMessage {
                    id: MessageId(uuid::Uuid::new_v4().to_string()),
                    body: format!("Takk for i dag! {i}"),
                })
                .send()
                .await?
                .error_for_status()?
                .bytes()
                .await?;
        }
        let floor = t.elapsed();
        light_kp.sync().await?;
        for i in 0..ACTIONS {
            light_kp.send_message(thread.clone(), format!("Takk for i dag! {i}"))?;
        }
        let t = Instant::now();
        let r = light_kp.sync().await?;
        let core = t.elapsed();
        anyhow::ensure!(r.sent as usize == ACTIONS, "sent {} of {ACTIONS}", r.sent);
        send.push(core, floor);
    }
    Ok(ratio_row(
        "sending 1,000 queued actions (messages; `sync()`)",
        &send,
        "1,000 plain reqwest requests to the same endpoint",
        "≤ 1.5",
        Some(1.5),
    ))
}

/// The Rust side of the Kotlin figure, the same scenario as the JVM harness's benchmark
/// (`MessagesReadBench`): the demo kindergarten, 60 new staff messages in the guardian's
/// conversation `CANARY_THREAD_ID`, synced;
/// then `Kidplan::messages(thread, None, 50)` in batches. Returns the median time per call.
async fn messages_read() -> anyhow::Result<Duration> {
    let dir = tempfile::tempdir()?;
    let server = bench_server(dir.path()).await?;
    let base = server.base_url();
    let device_dir = tempfile::tempdir()?;
    let (kp, _) = device(
        device_dir.path(),
        &server,
        &base,
        MemorySecretStore::new(),
        demo::GUARDIAN_EMAIL,
    )
    .await?;
    let thread = ThreadId::from(demo::CANARY_THREAD_ID);
    let staff = kidplan_tests::RawSession::login(&server, demo::STAFF_EMAIL).await?;
    let path = paths::fill(paths::STAFF_THREAD_MESSAGES, &[("id", thread.as_str())]);
    for i in 0..60 {
        let _: serde_json::Value = staff
            .post(
                &path,
                &StaffMessage {
                    body: format!("Hei! Her er en oppdatering om dagen, nummer {i}."),
                },
            )
            .await?;
    }
    kp.sync().await?;
    // 50, or a few more when the 50th shares its timestamp (a page keeps its ties).
    anyhow::ensure!(kp.messages(thread.clone(), None, 50)?.len() >= 50);
    let mut batches = Vec::new();
    for _ in 0..40 {
        let t = Instant::now();
        for _ in 0..50 {
            std::hint::black_box(kp.messages(thread.clone(), None, 50)?);
        }
        batches.push(t.elapsed() / 50);
    }
    drop(kp);
    server.stop().await;
    batches.sort();
    Ok(batches[batches.len() / 2])
}

/// The stripped release library that `scripts/bench` built (`KIDPLAN_BENCH_LIBRARY`).
fn library_row() -> Row {
    let lib = std::env::var("KIDPLAN_BENCH_LIBRARY").ok();
    let size = lib
        .as_ref()
        .and_then(|p| std::fs::metadata(p).ok())
        .map(|m| m.len());
    let gz = std::env::var("KIDPLAN_BENCH_LIBRARY_GZ")
        .ok()
        .and_then(|v| v.parse::<u64>().ok());
    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    Row {
        what: "stripped release `libkidplan_ffi.so` (x86_64 Linux)".into(),
        measured: size.map_or("not built (scripts/bench builds it)".into(), |s| {
            format!("{} MiB", fig(mib(s)))
        }),
        floor: gz.map_or("—".into(), |g| format!("gzipped: {} MiB", fig(mib(g)))),
        ratio: "—".into(),
        budget: "≤ 8 MiB".into(),
        met: size.map(|s| s <= 8 * 1024 * 1024),
    }
}
