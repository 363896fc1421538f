//! Crash-loop child: opens a core on a data directory (logged in by the parent test, secrets
//! in a file store), then does what a parent's app does (queues an absence report, sets a new
//! push token, opens a photo and a document, syncs) over and over until it is killed.
//! It prints one line after each step returns, so the parent test knows what the core
//! confirmed before the kill: `queued <absence id>`, `token <push token>`, `file <path>`.
//!
//! Usage: `crash_child <data_dir> <server_url> <child_id> <seed>`; with `drain` as a fifth
//! argument it syncs until the outbox is empty and the push registration confirmed, then
//! exits. Any error ends the child with status 2 and the error on stderr (the parent test
//! fails on it: only a SIGKILL is an expected end).

use futures::executor::block_on as block;
use kidplan_api::Day;
use kidplan_api::model::AbsenceReason;
use kidplan_api::push::PushProvider;
use kidplan_core::{AbsenceReport, FileSecretStore, Kidplan, OutboxStatus, PhotoSize};
use std::io::Write;

fn main() {
    if let Err(e) = run() {
        eprintln!("crash_child: {e}");
        std::process::exit(2);
    }
}

fn run() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, dir, url, child, seed, rest @ ..] = args.as_slice() else {
        anyhow::bail!("usage: crash_child <data_dir> <server_url> <child_id> <seed> [drain]");
    };
    let drain = rest.first().is_some_and(|a| a == "drain");
    let secrets = FileSecretStore::new(dir)?;
    let kp = Kidplan::open_with_tuning(
        dir.clone(),
        kidplan_tests::core_config(url),
        secrets,
        kidplan_tests::fast_tuning(),
    )?;
    if drain {
        for _ in 0..50 {
            let report = block(kp.sync());
            if report.is_ok()
                && kp
                    .outbox()?
                    .iter()
                    .all(|i| i.status != OutboxStatus::Pending)
            {
                return Ok(());
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        anyhow::bail!("outbox did not drain");
    }
    let seed: i64 = seed.parse()?;
    let base = Day::from_ymd(2027, 1, 1).ok_or_else(|| anyhow::anyhow!("day"))?;
    let photos = kp.photos()?;
    let documents = kp.documents()?;
    let mut out = std::io::stdout();
    for i in 0.. {
        let first = base.plus_days((seed * 3 + i) % 300);
        let id = kp.report_absence(AbsenceReport {
            child_id: child.as_str().into(),
            first_day: first,
            last_day: first,
            reason: AbsenceReason::Sick,
            note: Some(format!("crash {seed}/{i}")),
        })?;
        writeln!(out, "queued {id}")?;
        out.flush()?;
        // Offline or a dropped answer is not an error here: the registration is kept and
        // sent by a later sync.
        let token = format!("crash-token-{seed}-{i}");
        block(kp.set_push_token(PushProvider::Fcm, token.clone()))?;
        writeln!(out, "token {token}")?;
        out.flush()?;
        let n = usize::try_from(seed + i).unwrap_or(0);
        let file = match n % 3 {
            0 => photos
                .get(n % photos.len().max(1))
                .map(|p| block(kp.photo(p.id.clone(), PhotoSize::Full))),
            1 => photos
                .get(n % photos.len().max(1))
                .map(|p| block(kp.photo(p.id.clone(), PhotoSize::Thumb))),
            _ => documents
                .get(n % documents.len().max(1))
                .map(|d| block(kp.document(d.id.clone()))),
        };
        // A download cut off by the network is an error the app shows; the file stays absent.
        if let Some(Ok(path)) = file {
            writeln!(out, "file {path}")?;
            out.flush()?;
        }
        let _ = block(kp.sync());
    }
    Ok(())
}
