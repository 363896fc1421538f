//! When and with what the telemetry report leaves, against a real server: it waits until no
//! authenticated request was made for the quiet period, the core's own sender then sends it
//! without being asked, and a report whose one-time token was made with a key other than the
//! day's published one (a key of its own for this guardian would link the report to them) is
//! dropped, not sent.

use kidplan_api::Day;
use kidplan_core::{Kidplan, MemorySecretStore, Tuning};
use kidplan_tests::*;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// A day and a few hours later: yesterday's report is due.
const NEXT_DAY: Duration = Duration::from_secs(31 * 3600);

fn tuning(offset: Duration, quiet: Duration, sender: Option<Duration>) -> Tuning {
    Tuning {
        telemetry_clock_offset: offset,
        telemetry_quiet: quiet,
        telemetry_sender_every: sender,
        ..fast_tuning()
    }
}

fn reports_today(server: &kidplan_server::RunningServer) -> anyhow::Result<i64> {
    Ok(server_db(server)?.query_row(
        "SELECT coalesce((SELECT reports FROM telemetry_days WHERE day = ?1), 0)",
        [Day::today().to_string()],
        |r| r.get(0),
    )?)
}

/// A device that logged in and synced today (so it holds today's token) and counted
/// something; closed again.
async fn used_today(
    dir: &Path,
    server: &kidplan_server::RunningServer,
    secrets: Arc<MemorySecretStore>,
) -> anyhow::Result<()> {
    let kp = open_core(
        dir,
        &server.base_url(),
        secrets,
        tuning(Duration::ZERO, Duration::ZERO, None),
    )?;
    login(&kp, server, kidplan_server::demo::GUARDIAN_EMAIL).await?;
    kp.sync().await?;
    assert!(
        kp.telemetry_preview()
            .is_some_and(|p| p.contains("\"token\":{\"input\"")),
        "today's report carries the day's token"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_waits_for_a_quiet_moment_and_then_goes_by_itself() -> anyhow::Result<()> {
    let (_sdir, server) = temp_server().await?;
    let dir = tempfile::tempdir()?;
    let secrets = MemorySecretStore::new();
    used_today(dir.path(), &server, secrets.clone()).await?;

    // The next day: a sync (authenticated) right away, so the report must wait.
    let quiet = Duration::from_secs(3600);
    let kp: Arc<Kidplan> = open_core(
        dir.path(),
        &server.base_url(),
        secrets.clone(),
        tuning(NEXT_DAY, quiet, None),
    )?;
    kp.sync().await?;
    assert!(!kp.send_telemetry().await?, "sent right after a sync");
    assert_eq!(reports_today(&server)?, 0);
    drop(kp);

    // Opened again, no authenticated request since: the core's own sender sends it, unasked.
    let kp = open_core(
        dir.path(),
        &server.base_url(),
        secrets,
        tuning(NEXT_DAY, quiet, Some(Duration::from_millis(300))),
    )?;
    assert!(
        eventually(20, || reports_today(&server).unwrap_or(0) == 1).await,
        "the core's sender did not send the due report"
    );
    drop(kp);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_whose_token_key_is_not_the_published_one_is_dropped() -> anyhow::Result<()> {
    let (_sdir, server) = temp_server().await?;
    let dir = tempfile::tempdir()?;
    let secrets = MemorySecretStore::new();
    used_today(dir.path(), &server, secrets.clone()).await?;
    // The server now publishes another key for the day than the one this device's token was
    // made with (as a server that tagged one guardian with a key of their own would have to).
    {
        let other = voprf_public_key_of_another_day(&server).await?;
        rusqlite::Connection::open(server.db_path())?.execute(
            "UPDATE telemetry_keys SET public_key = ?1 WHERE day = ?2",
            rusqlite::params![other, Day::today().to_string()],
        )?;
    }
    let kp = open_core(
        dir.path(),
        &server.base_url(),
        secrets,
        tuning(NEXT_DAY, Duration::ZERO, None),
    )?;
    assert!(kp.telemetry_preview().is_some(), "a report is due");
    assert!(!kp.send_telemetry().await?, "the report was sent");
    assert_eq!(reports_today(&server)?, 0);
    let yesterday = format!("\"day\":\"{}\"", Day::today());
    assert!(
        !kp.telemetry_preview()
            .is_some_and(|p| p.contains(&yesterday)),
        "the report is dropped, not kept"
    );
    Ok(())
}

/// The public key the server made for tomorrow (another valid key).
async fn voprf_public_key_of_another_day(
    server: &kidplan_server::RunningServer,
) -> anyhow::Result<Vec<u8>> {
    let tomorrow = Day::today().plus_days(1);
    reqwest::get(format!(
        "{}/v1/telemetry/keys/{tomorrow}",
        server.base_url()
    ))
    .await?
    .error_for_status()?;
    Ok(server_db(server)?.query_row(
        "SELECT public_key FROM telemetry_keys WHERE day = ?1",
        [tomorrow.to_string()],
        |r| r.get(0),
    )?)
}
