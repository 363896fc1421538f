//! Anonymous telemetry against a real server: two installs with different accounts and the
//! same usage send reports that are byte-identical apart from the nonce; every byte POSTed to
//! the collector (captured by a stand-in collector: request line, headers and body) is free of
//! personal data and identifiers; the collector keeps only counters; opting out deletes what
//! is pending; wiping local data deletes the counter file.

use kidplan_api::model::{AbsenceReason, ConsentKind, ConsentState};
use kidplan_api::telemetry::{Metric, TELEMETRY_REPORT_BYTES, TelemetryReport};
use kidplan_api::{ChildId, Day};
use kidplan_core::{AbsenceReport, HolidayRegistration, NewThread};
use kidplan_core::{Kidplan, MemorySecretStore, Tuning};
use kidplan_tests::*;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A day and a few hours later: yesterday's report is due.
const NEXT_DAY: Duration = Duration::from_secs(31 * 3600);

fn tuning(offset: Duration) -> Tuning {
    Tuning {
        telemetry_clock_offset: offset,
        ..fast_tuning()
    }
}

/// Logs in, syncs, starts the counters afresh, then does a fixed set of things.
async fn same_usage(
    dir: &Path,
    server: &kidplan_server::RunningServer,
    contact: &str,
) -> anyhow::Result<Arc<Kidplan>> {
    let kp = open_core(
        dir,
        &server.base_url(),
        MemorySecretStore::new(),
        tuning(Duration::ZERO),
    )?;
    login(&kp, server, contact).await?;
    kp.sync().await?;
    // Sync durations vary between runs: start counting from here.
    kp.set_telemetry_enabled(false);
    kp.set_telemetry_enabled(true);
    let child = kp
        .children()?
        .into_iter()
        .next()
        .ok_or_else(|| anyhow::anyhow!("no child"))?;
    let day = Day::today().plus_days(10);
    kp.report_absence(AbsenceReport {
        child_id: child.id.clone(),
        first_day: day,
        last_day: day,
        reason: AbsenceReason::Sick,
        note: None,
    })?;
    kp.register_holiday(HolidayRegistration {
        child_id: child.id.clone(),
        first_day: day.plus_days(5),
        last_day: day.plus_days(9),
        note: None,
    })?;
    kp.start_thread(NewThread {
        child_id: Some(child.id.clone()),
        subject: "Hei".into(),
        body: "Tekst".into(),
    })?;
    kp.change_consent(child.id.clone(), ConsentKind::Trips, ConsentState::Granted)?;
    Ok(kp)
}

fn strip_nonce(body: &str) -> anyhow::Result<String> {
    let mut v: serde_json::Value = serde_json::from_str(body)?;
    v["nonce"] = serde_json::Value::Null;
    Ok(v.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_installs_with_the_same_usage_send_the_same_bytes_but_the_nonce() -> anyhow::Result<()>
{
    let (_sdir, server) = temp_server().await?;
    let (da, db) = (tempfile::tempdir()?, tempfile::tempdir()?);
    let a = same_usage(da.path(), &server, demo::GUARDIAN_EMAIL).await?;
    let b = same_usage(db.path(), &server, demo::SECOND_GUARDIAN_EMAIL).await?;
    // Same day: nothing due yet.
    assert!(!a.send_telemetry().await?);
    drop((a, b));

    // The next day both apps open again and send yesterday's report.
    let mut bodies = Vec::new();
    for d in [da.path(), db.path()] {
        let kp = open_core(
            d,
            &server.base_url(),
            MemorySecretStore::new(),
            tuning(NEXT_DAY),
        )?;
        let preview = kp
            .telemetry_preview()
            .ok_or_else(|| anyhow::anyhow!("no report"))?;
        assert!(kp.send_telemetry().await?, "due report not sent");
        assert!(!kp.send_telemetry().await?, "sent twice");
        bodies.push(preview);
    }
    let (ra, rb) = (&bodies[0], &bodies[1]);
    assert_eq!(ra.len(), TELEMETRY_REPORT_BYTES);
    assert_eq!(rb.len(), TELEMETRY_REPORT_BYTES);
    assert_ne!(ra, rb, "the nonces differ");
    assert_eq!(strip_nonce(ra)?, strip_nonce(rb)?);
    let r: TelemetryReport = serde_json::from_str(ra)?;
    assert_eq!(r.day, Day::today());
    let metrics: Vec<Metric> = r.counters.iter().map(|c| c.metric).collect();
    for m in [
        Metric::AbsenceReported,
        Metric::HolidayRegistered,
        Metric::MessageSent,
        Metric::ConsentChanged,
    ] {
        assert!(metrics.contains(&m), "{m:?} missing from {metrics:?}");
    }

    // The collector counted two reports and publishes nothing below 20.
    let conn = server_db(&server)?;
    let reports: i64 = conn.query_row(
        "SELECT reports FROM telemetry_days WHERE day = ?1",
        [Day::today().to_string()],
        |r| r.get(0),
    )?;
    assert_eq!(reports, 2);
    let published: kidplan_api::telemetry::DayCounters = reqwest::get(format!(
        "{}{}?day={}",
        server.base_url(),
        kidplan_api::paths::TELEMETRY_COUNTERS,
        Day::today()
    ))
    .await?
    .error_for_status()?
    .json()
    .await?;
    assert!(!published.published && published.counters.is_empty());
    server.stop().await;
    Ok(())
}

/// A stand-in collector on 127.0.0.1: records each whole request (head and body) and answers
/// 202 like the real one.
async fn capturing_collector() -> anyhow::Result<(String, Arc<std::sync::Mutex<Vec<Vec<u8>>>>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let store = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let store = store.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 8192];
                loop {
                    let Ok(n) = sock.read(&mut chunk).await else {
                        return;
                    };
                    if n == 0 {
                        break;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf).to_string();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let len = text[..end]
                            .lines()
                            .find_map(|l| {
                                let (k, v) = l.split_once(':')?;
                                k.eq_ignore_ascii_case("content-length")
                                    .then(|| v.trim().parse::<usize>().ok())?
                            })
                            .unwrap_or(0);
                        if buf.len() >= end + 4 + len {
                            break;
                        }
                    }
                }
                if let Ok(mut s) = store.lock() {
                    s.push(buf);
                }
                let _ = sock
                    .write_all(
                        b"HTTP/1.1 202 Accepted\r\ncontent-type: application/json\r\ncontent-length: 11\r\nconnection: close\r\n\r\n{\"ok\":true}",
                    )
                    .await;
            });
        }
    });
    Ok((url, seen))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_posted_to_the_collector_identifies_anyone() -> anyhow::Result<()> {
    let (_sdir, server) = temp_server().await?;
    let cdir = tempfile::tempdir()?;
    let secrets = MemorySecretStore::new();
    let kp = open_core(
        cdir.path(),
        &server.base_url(),
        secrets.clone(),
        tuning(Duration::ZERO),
    )?;
    // The canary guardian uses the app: every kind of action, a photo, a document, a push,
    // an export.
    let account = login(&kp, &server, demo::CANARY_GUARDIAN_EMAIL).await?;
    kp.sync().await?;
    let canary_child = ChildId::from(demo::CANARY_CHILD_ID);
    let day = Day::today().plus_days(3);
    kp.report_absence(AbsenceReport {
        child_id: canary_child.clone(),
        first_day: day,
        last_day: day,
        reason: AbsenceReason::Sick,
        note: Some("Canaryx har feber".into()),
    })?;
    kp.register_holiday(HolidayRegistration {
        child_id: canary_child.clone(),
        first_day: day.plus_days(5),
        last_day: day.plus_days(6),
        note: None,
    })?;
    kp.start_thread(NewThread {
        child_id: Some(canary_child.clone()),
        subject: "Canaryx".into(),
        body: "Hilsen Canaryguardian Wqx, canary.wqx@example.org".into(),
    })?;
    kp.change_consent(canary_child, ConsentKind::Trips, ConsentState::Denied)?;
    kp.sync().await?;
    if let Some(p) = kp.photos()?.first() {
        kp.photo(p.id.clone(), kidplan_core::PhotoSize::Thumb)
            .await?;
    }
    if let Some(d) = kp.documents()?.first() {
        kp.document(d.id.clone()).await?;
    }
    let _ = kp
        .handle_push(r#"{"v":"1","kind":"sync","hint":"absence/nothing"}"#.into())
        .await?;
    let edir = tempfile::tempdir()?;
    kp.export_my_data(edir.path().to_string_lossy().into_owned())
        .await?;
    let me = kp.me()?.ok_or_else(|| anyhow::anyhow!("no me"))?;
    let children = kp.children()?;
    drop(kp);

    // The next day the app sends the report: to a collector that records every byte.
    let (collector, seen) = capturing_collector().await?;
    let kp = open_core(cdir.path(), &collector, secrets.clone(), tuning(NEXT_DAY))?;
    let preview = kp
        .telemetry_preview()
        .ok_or_else(|| anyhow::anyhow!("no report"))?;
    assert!(kp.send_telemetry().await?);
    let requests = seen.lock().map_err(|_| anyhow::anyhow!("lock"))?.clone();
    assert_eq!(requests.len(), 1, "one request");
    let raw = &requests[0];
    let text = String::from_utf8_lossy(raw).to_string();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| anyhow::anyhow!("no head"))?;
    assert_eq!(body, preview, "the preview is exactly what was sent");
    assert!(
        head.starts_with("POST /v1/telemetry HTTP/1.1\r\n"),
        "{head}"
    );
    let head_l = head.to_ascii_lowercase();
    for forbidden in [
        "authorization",
        "cookie",
        "idempotency-key",
        "x-registration",
    ] {
        assert!(!head_l.contains(forbidden), "{forbidden} in {head}");
    }
    // A fixed User-Agent: no app version, device or account.
    assert!(head_l.contains("\r\nuser-agent: kidplan\r\n"), "{head}");
    assert!(!head_l.contains("e2e"), "the app version leaked: {head}");
    let report: TelemetryReport = serde_json::from_str(body)?;
    let metrics: Vec<Metric> = report.counters.iter().map(|c| c.metric).collect();
    for m in [
        Metric::AppOpened,
        Metric::SyncSucceeded,
        Metric::AbsenceReported,
        Metric::MessageSent,
        Metric::PushReceived,
        Metric::ExportRequested,
    ] {
        assert!(metrics.contains(&m), "{m:?} missing from {metrics:?}");
    }

    let mut canaries: Vec<String> = demo::CANARY_STRINGS.iter().map(|s| s.to_string()).collect();
    canaries.extend([
        me.first_name.clone(),
        me.last_name.clone(),
        demo::CANARY_GUARDIAN_ID.into(),
        demo::CANARY_CHILD_ID.into(),
        demo::KINDERGARTEN_ID.into(),
        account.id.to_string(),
        account.person_id.clone(),
        "feber".into(),
    ]);
    for c in &children {
        canaries.push(c.first_name.clone());
        canaries.push(c.id.to_string());
    }
    for k in secrets.keys() {
        if let Ok(Some(v)) = kidplan_core::SecretStore::get(&*secrets, k) {
            canaries.extend(v.split(' ').filter(|s| s.len() >= 8).map(str::to_owned));
        }
    }
    for c in &canaries {
        assert!(
            !contains_bytes(raw, c.as_bytes()),
            "{c:?} in the telemetry request"
        );
    }

    // The real collector keeps only counters: its telemetry tables hold no canary either.
    let conn = server_db(&server)?;
    let mut stored = String::new();
    for t in ["telemetry_counters", "telemetry_days"] {
        let mut st = conn.prepare(&format!("SELECT * FROM {t}"))?;
        let n = st.column_count();
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            for i in 0..n {
                if let Ok(s) = r.get::<_, String>(i) {
                    stored.push_str(&s);
                    stored.push('\n');
                }
            }
        }
    }
    for c in &canaries {
        assert!(
            !stored.contains(c.as_str()),
            "{c:?} stored by the collector"
        );
    }
    let telemetry_ips: i64 = conn.query_row(
        "SELECT count(*) FROM access_log WHERE route LIKE '/v1/telemetry%' AND ip IS NOT NULL",
        [],
        |r| r.get(0),
    )?;
    assert_eq!(telemetry_ips, 0, "the collector's route keeps no IP");
    drop(kp);
    server.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opting_out_deletes_pending_and_wiping_deletes_the_file() -> anyhow::Result<()> {
    let (_sdir, server) = temp_server().await?;
    let cdir = tempfile::tempdir()?;
    let kp = same_usage(cdir.path(), &server, demo::GUARDIAN_EMAIL).await?;
    let file = cdir.path().join("telemetry.json");
    assert!(file.exists());
    assert!(kp.telemetry_enabled());
    assert!(kp.telemetry_preview().is_some());
    drop(kp);
    let kp = open_core(
        cdir.path(),
        &server.base_url(),
        MemorySecretStore::new(),
        tuning(NEXT_DAY),
    )?;
    assert!(kp.telemetry_preview().is_some(), "yesterday's report waits");
    kp.set_telemetry_enabled(false);
    assert!(!kp.telemetry_enabled());
    assert_eq!(kp.telemetry_preview(), None);
    assert!(
        !kp.send_telemetry().await?,
        "nothing is sent after opting out"
    );
    let on_disk = std::fs::read_to_string(&file)?;
    assert!(!on_disk.contains("absence_reported"), "{on_disk}");
    kp.set_telemetry_enabled(true);
    kp.wipe_local_data()?;
    assert!(!file.exists(), "wipe_local_data leaves the counter file");
    drop(kp);
    server.stop().await;
    Ok(())
}
