//! Offline actions, lost responses and truncated sync pages against a real server.

use kidplan_api::model::AbsenceReason;
use kidplan_api::privacy::DataExport;
use kidplan_api::staff::WriteLogEntry;
use kidplan_api::{Day, paths};
use kidplan_core::AbsenceReport;
use kidplan_core::{KidplanError, LocalState, MemorySecretStore, OutboxStatus, Tuning};
use kidplan_server::faults::{Fault, FaultKind};
use kidplan_tests::*;
use std::time::Duration;

async fn server_absences(
    server: &kidplan_server::RunningServer,
    id: &str,
) -> anyhow::Result<(usize, usize)> {
    let raw = RawSession::login(server, demo::GUARDIAN_EMAIL).await?;
    let export: DataExport = raw.get(paths::ME_EXPORT).await?;
    let with_id = export
        .absences
        .iter()
        .filter(|a| a.id.as_str() == id)
        .count();
    Ok((with_id, export.absences.len()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_report_shows_pending_then_is_sent_exactly_once() -> anyhow::Result<()> {
    let (dev, server, kp) = Device::start(fast_tuning()).await?;
    let sdir = &dev.server_dir;
    let addr = server.addr();
    let before = server_absences(&server, "none").await?.1;
    let child = first_child(&kp)?;

    server.stop().await;
    let first = Day::today().plus_days(10);
    let id = kp.report_absence(AbsenceReport {
        child_id: child.clone(),
        first_day: first,
        last_day: first.plus_days(1),
        reason: AbsenceReason::Sick,
        note: Some("Feber".into()),
    })?;
    // Shown at once, as pending.
    let view = kp.absences(Some(child.clone()))?;
    let mine = view
        .iter()
        .find(|a| a.absence.id == id)
        .ok_or_else(|| anyhow::anyhow!("not shown"))?;
    assert_eq!(mine.local, LocalState::Pending);
    let item = kp
        .outbox()?
        .into_iter()
        .find(|i| i.entity_id == id.0)
        .ok_or_else(|| anyhow::anyhow!("not queued"))?;
    assert_eq!(item.status, OutboxStatus::Pending);
    assert_eq!(kp.sync().await.err(), Some(KidplanError::Offline));
    assert_eq!(kp.sync_status().pending_outbox, 1);

    let server = restart_server(sdir.path(), addr).await?;
    let report = kp.sync().await?;
    assert_eq!(report.pending, 0, "{report:?}");
    let item = kp
        .outbox()?
        .into_iter()
        .find(|i| i.entity_id == id.0)
        .ok_or_else(|| anyhow::anyhow!("gone"))?;
    assert_eq!(item.status, OutboxStatus::Sent);
    let view = kp.absences(Some(child))?;
    assert_eq!(
        view.iter()
            .find(|a| a.absence.id == id)
            .map(|a| a.local.clone()),
        Some(LocalState::Synced)
    );
    assert_eq!(
        server_absences(&server, id.as_str()).await?,
        (1, before + 1)
    );
    server.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_response_retry_leaves_exactly_one_record() -> anyhow::Result<()> {
    let (_dev, server, kp) = Device::start(fast_tuning()).await?;
    let before = server_absences(&server, "none").await?.1;
    let child = first_child(&kp)?;

    // The server commits the report, then the connection drops before the answer.
    server.faults().inject(Fault {
        route: Some(paths::ABSENCES.into()),
        kind: FaultKind::DropAfterHandler,
        times: 1,
    });
    let first = Day::today().plus_days(20);
    let id = kp.report_absence(AbsenceReport {
        child_id: child,
        first_day: first,
        last_day: first,
        reason: AbsenceReason::Family,
        note: None,
    })?;
    // The background sender hits the fault and retries with the same idempotency key.
    let mut status = OutboxStatus::Pending;
    for _ in 0..100 {
        status = kp
            .outbox()?
            .into_iter()
            .find(|i| i.entity_id == id.0)
            .map(|i| i.status)
            .unwrap_or(OutboxStatus::Pending);
        if status != OutboxStatus::Pending {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(status, OutboxStatus::Sent);
    assert!(
        server.faults().pending().is_empty(),
        "the fault was never hit"
    );
    let item = kp
        .outbox()?
        .into_iter()
        .find(|i| i.entity_id == id.0)
        .ok_or_else(|| anyhow::anyhow!("gone"))?;
    assert!(item.attempts >= 2, "{item:?}");
    kp.sync().await?;
    assert_eq!(
        server_absences(&server, id.as_str()).await?,
        (1, before + 1)
    );
    server.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_sync_page_is_a_typed_error_and_keeps_the_previous_page() -> anyhow::Result<()> {
    let (_sdir, server) = temp_server().await?;
    let cdir = tempfile::tempdir()?;
    let tuning = Tuning {
        sync_page_limit: 5,
        ..fast_tuning()
    };
    let kp = open_core(
        cdir.path(),
        &server.base_url(),
        MemorySecretStore::new(),
        tuning,
    )?;
    login(&kp, &server, demo::GUARDIAN_EMAIL).await?;
    let first = kp.sync().await?;
    assert!(first.pages > 1, "{first:?}");
    let child = first_child(&kp)?;
    let notes = |kp: &kidplan_core::Kidplan| -> anyhow::Result<usize> {
        Ok(kp
            .log_entries(child.clone(), None, 100)?
            .iter()
            .filter(|l| l.text.starts_with("e2e note "))
            .count())
    };
    assert_eq!(notes(&kp)?, 0);

    let staff = RawSession::login(&server, demo::STAFF_EMAIL).await?;
    for i in 0..12 {
        let _: serde_json::Value = staff
            .post(
                paths::STAFF_LOG_ENTRIES,
                &WriteLogEntry {
                    child_id: child.clone(),
                    kind: kidplan_api::model::LogKind::Note,
                    text: format!("e2e note {i}"),
                },
            )
            .await?;
    }
    // Page 1 arrives whole; page 2 is cut off half way.
    let f = server.faults();
    f.inject(Fault {
        route: Some(paths::SYNC.into()),
        kind: FaultKind::Delay(Duration::from_millis(1)),
        times: 1,
    });
    f.inject(Fault {
        route: Some(paths::SYNC.into()),
        kind: FaultKind::TruncateBody,
        times: 1,
    });
    let err = kp.sync().await.err();
    assert!(
        matches!(err, Some(KidplanError::Offline | KidplanError::Server)),
        "{err:?}"
    );
    assert!(f.pending().is_empty());
    assert_eq!(notes(&kp)?, 5);
    assert_eq!(
        kp.sync_status().last_error.as_deref(),
        Some(err.map(|e| e.code()).unwrap_or(""))
    );

    let done = kp.sync().await?;
    assert!(done.applied >= 7, "{done:?}");
    assert_eq!(notes(&kp)?, 12);
    assert_eq!(kp.sync_status().last_error, None);
    server.stop().await;
    Ok(())
}
