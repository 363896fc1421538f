//! Crash loop: a child process syncing and queueing absence reports is killed with SIGKILL at
//! random moments, many times. After each kill the database opens and passes
//! `PRAGMA integrity_check`; at the end every queued action reached the server exactly once.

use kidplan_api::paths;
use kidplan_api::privacy::DataExport;
use kidplan_core::{FileSecretStore, OutboxKind, OutboxStatus};
use kidplan_tests::*;
use rand::Rng;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const KILLS: usize = 110;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_at_random_moments_the_cache_survives_and_nothing_is_lost_or_doubled()
-> anyhow::Result<()> {
    let (_sdir, server) = temp_server().await?;
    let url = server.base_url();
    let cdir = tempfile::tempdir()?;
    let dir = cdir
        .path()
        .to_str()
        .ok_or_else(|| anyhow::anyhow!("utf8"))?
        .to_owned();

    // Log in once in this process; the child finds the account and its secrets on disk.
    let (account, child) = {
        let kp = open_core(
            cdir.path(),
            &url,
            FileSecretStore::new(&dir)?,
            fast_tuning(),
        )?;
        let account = login(&kp, &server, demo::GUARDIAN_EMAIL).await?;
        kp.sync().await?;
        let child = first_child(&kp)?;
        (account, child)
    };
    let secrets = FileSecretStore::new(&dir)?;
    let bin = env!("CARGO_BIN_EXE_crash_child");

    let (printed, kill_count, elapsed) = {
        let (dir, url, child, account_id) = (
            dir.clone(),
            url.clone(),
            child.0.clone(),
            account.id.0.clone(),
        );
        let secrets = secrets.clone();
        tokio::task::spawn_blocking(
            move || -> anyhow::Result<(BTreeSet<String>, usize, Duration)> {
                let start = Instant::now();
                let mut rng = rand::rng();
                let mut printed = BTreeSet::new();
                for i in 0..KILLS {
                    let mut proc = Command::new(bin)
                        .args([&dir, &url, &child, &i.to_string()])
                        .stdout(Stdio::piped())
                        .stderr(Stdio::null())
                        .spawn()?;
                    std::thread::sleep(Duration::from_millis(rng.random_range(5..250)));
                    proc.kill()?; // SIGKILL
                    proc.wait()?;
                    let mut out = String::new();
                    if let Some(mut s) = proc.stdout.take() {
                        s.read_to_string(&mut out)?;
                    }
                    printed.extend(
                        out.lines()
                            .filter_map(|l| l.strip_prefix("queued "))
                            .map(str::to_owned),
                    );
                    let db = open_account_db(std::path::Path::new(&dir), &account_id, &*secrets)?;
                    let ok: String = db.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
                    anyhow::ensure!(ok == "ok", "integrity_check after kill {i}: {ok}");
                }
                Ok((printed, KILLS, start.elapsed()))
            },
        )
        .await??
    };
    eprintln!(
        "crash loop: {kill_count} kills in {elapsed:?}, {} actions confirmed by the child",
        printed.len()
    );
    assert!(kill_count >= 100);
    assert!(!printed.is_empty(), "the child never got to queue anything");

    // Let a last, unkilled run send what is left.
    let status = tokio::task::spawn_blocking(move || {
        Command::new(bin)
            .args([&dir, &url, &child.0, "0", "drain"])
            .status()
    })
    .await??;
    assert!(status.success(), "drain run failed");

    // Every queued report is in the outbox as sent, and on the server exactly once.
    let kp = open_core(
        cdir.path(),
        &server.base_url(),
        secrets.clone(),
        kidplan_core::Tuning {
            background_flush: false,
            ..fast_tuning()
        },
    )?;
    let queued: BTreeSet<String> = kp
        .outbox()?
        .into_iter()
        .filter(|i| i.kind == OutboxKind::ReportAbsence)
        .map(|i| {
            assert_eq!(i.status, OutboxStatus::Sent, "{i:?}");
            i.entity_id
        })
        .collect();
    assert!(
        printed.is_subset(&queued),
        "an action the child confirmed was lost"
    );
    let raw = RawSession::login(&server, demo::GUARDIAN_EMAIL).await?;
    let export: DataExport = raw.get(paths::ME_EXPORT).await?;
    let mut on_server: BTreeMap<String, usize> = BTreeMap::new();
    for a in export
        .absences
        .iter()
        .filter(|a| a.note.as_deref().is_some_and(|n| n.starts_with("crash ")))
    {
        *on_server.entry(a.id.0.clone()).or_default() += 1;
    }
    assert!(
        on_server.values().all(|n| *n == 1),
        "duplicates on the server"
    );
    assert_eq!(on_server.keys().cloned().collect::<BTreeSet<_>>(), queued);
    server.stop().await;
    Ok(())
}
