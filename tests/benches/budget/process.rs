//! What the suite measures in a NEW process (the bench binary run again with `--child`): the
//! core opened cold to the home screen's data, the same lookups on plain rusqlite (the floor),
//! and the peak resident memory of a first full sync.

use anyhow::{Context, anyhow};
use kidplan_api::Day;
use kidplan_core::{FileSecretStore, Kidplan, MemorySecretStore};
use rusqlite::Connection;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

#[path = "../../../core/benches/shared/home_floor.rs"]
mod home_floor;

/// Runs the bench binary as a child with `args`; returns its `key=value` answer line.
pub fn spawn(args: &[&str]) -> anyhow::Result<Vec<(String, String)>> {
    let exe = std::env::current_exe()?;
    let out = Command::new(exe).arg("--child").args(args).output()?;
    if !out.status.success() {
        return Err(anyhow!(
            "child {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .rev()
        .find(|l| l.starts_with("answer "))
        .context("no answer from the child")?;
    Ok(line
        .trim_start_matches("answer ")
        .split_whitespace()
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect())
}

/// The value of `key` in a child's answer.
pub fn value(answer: &[(String, String)], key: &str) -> anyhow::Result<u64> {
    answer
        .iter()
        .find(|(k, _)| k == key)
        .and_then(|(_, v)| v.parse().ok())
        .with_context(|| format!("no {key} in {answer:?}"))
}

/// A child's answer for the duration `key` (microseconds).
pub fn micros(answer: &[(String, String)], key: &str) -> anyhow::Result<Duration> {
    value(answer, key).map(Duration::from_micros)
}

/// The child's side: `args` as given to [`spawn`].
pub fn child(args: &[String]) -> anyhow::Result<()> {
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    match a.as_slice() {
        ["open-home", data_dir, secrets_dir, server_url] => {
            open_home(data_dir, secrets_dir, server_url)
        }
        ["floor-home", db, key, me] => floor_home(Path::new(db), key, me),
        ["rss-sync", data_dir, server_url, contact, code] => {
            rss_sync(data_dir, server_url, contact, code)
        }
        _ => Err(anyhow!("unknown child {a:?}")),
    }
}

/// `Kidplan::open` (runtime, accounts, secret read, store open) and the home screen's reads.
fn open_home(data_dir: &str, secrets_dir: &str, server_url: &str) -> anyhow::Result<()> {
    let t = Instant::now();
    let secrets = FileSecretStore::new(secrets_dir)?;
    let kp = Kidplan::open(
        data_dir.to_owned(),
        kidplan_tests::core_config(server_url),
        secrets,
    )?;
    let mut rows = usize::from(kp.me()?.is_some());
    let kids = kp.children()?;
    rows += kids.len();
    rows += kp.attendance(Day::today())?.len();
    for k in &kids {
        rows += kp.log_entries(k.id.clone(), None, 20)?.len();
    }
    let threads = kp.threads()?;
    rows += threads.len() + threads.iter().filter(|t| t.last_message.is_some()).count();
    let us = t.elapsed().as_micros();
    println!("answer us={us} rows={rows}");
    Ok(())
}

/// The floor: plain rusqlite on the same file and key, the same lookups, no decoding.
fn floor_home(db: &Path, key: &str, me: &str) -> anyhow::Result<()> {
    let t = Instant::now();
    let c = Connection::open(db)?;
    c.execute_batch(&format!("PRAGMA key = \"x'{key}'\";"))?;
    let mut rows = 0;
    let me: Option<String> = c
        .query_row("SELECT data FROM guardians WHERE id = ?1", [me], |r| {
            r.get(0)
        })
        .ok();
    rows += usize::from(me.is_some());
    let kids: Vec<String> = c
        .prepare("SELECT id FROM children")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    rows += kids.len();
    let _today: Vec<String> = c
        .prepare("SELECT data FROM attendance WHERE ref_id = ?1")?
        .query_map([Day::today().to_string()], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    rows += kids.len();
    rows += home_floor::logs_and_threads(&c, &kids)?;
    let us = t.elapsed().as_micros();
    println!("answer us={us} rows={rows}");
    Ok(())
}

/// Resident memory now and at its peak, from `/proc/self/status` (KiB).
fn rss_kib() -> anyhow::Result<(u64, u64)> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .with_context(|| format!("no {name} in /proc/self/status"))
    };
    Ok((field("VmRSS:")?, field("VmHWM:")?))
}

/// Logs in with `code` and runs the first full sync; reports resident memory before it and the
/// process's peak.
fn rss_sync(data_dir: &str, server_url: &str, contact: &str, code: &str) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let kp = kidplan_tests::open_core(
        Path::new(data_dir),
        server_url,
        MemorySecretStore::new(),
        kidplan_tests::fast_tuning(),
    )?;
    rt.block_on(kp.verify_login_code(contact.to_owned(), code.to_owned()))?;
    let (before, _) = rss_kib()?;
    let report = rt.block_on(kp.sync())?;
    let (_, peak) = rss_kib()?;
    println!(
        "answer before_kib={before} peak_kib={peak} applied={}",
        report.applied
    );
    Ok(())
}
