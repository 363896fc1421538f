//! Crash-loop child: opens a core on a data directory (logged in by the parent test, secrets
//! in a file store), then keeps queueing absence reports and syncing until it is killed.
//! Prints `queued <id>` after each action commits.
//!
//! Usage: `crash_child <data_dir> <server_url> <child_id> <seed>`; with `drain` as a fifth
//! argument it syncs until the outbox is empty and exits.

use kidplan_api::Day;
use kidplan_api::model::AbsenceReason;
use kidplan_core::AbsenceReport;
use kidplan_core::{FileSecretStore, Kidplan, OutboxStatus};
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
            let _ = futures::executor::block_on(kp.sync());
            if kp
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
        let _ = futures::executor::block_on(kp.sync());
    }
    Ok(())
}
