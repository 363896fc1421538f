//! Anonymous telemetry against a real server: two installs with different accounts and the
//! same usage send reports that are byte-identical apart from the nonce; the report reaches the
//! real collector through a recording proxy, alone on its own connection, and every byte of it
//! is free of personal data and identifiers; the collector keeps the counters and nothing else
//! (no raw report, no access-log row, no log line: nothing joins the report to the device's
//! authenticated requests by time or address); opting out deletes what is pending; wiping local
//! data deletes the counter file.

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
    // The sync also obtains the day's one-time token, which every counted report needs.
    kp.sync().await?;
    // Sync durations vary between runs: start counting from here (dropping only the counters:
    // switching telemetry off and on would also drop the day's token).
    kp.reset_telemetry_counters();
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

/// A report without what is random per install: the nonce and the one-time token.
fn strip_nonce(body: &str) -> anyhow::Result<String> {
    let mut v: serde_json::Value = serde_json::from_str(body)?;
    v["nonce"] = serde_json::Value::Null;
    v["token"] = serde_json::Value::Null;
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

    // The next day both apps open again and send yesterday's report (through a proxy that
    // records the bytes that reach the collector).
    let (proxy, connections) = recording_proxy(&server.base_url()).await?;
    let mut previews = Vec::new();
    for d in [da.path(), db.path()] {
        let kp = open_core(d, &proxy, MemorySecretStore::new(), tuning(NEXT_DAY))?;
        previews.push(
            kp.telemetry_preview()
                .ok_or_else(|| anyhow::anyhow!("no report"))?,
        );
        assert!(kp.send_telemetry().await?, "due report not sent");
        assert!(!kp.send_telemetry().await?, "sent twice");
    }
    let bodies: Vec<String> = sent_bytes(&connections)
        .iter()
        .filter(|b| contains_bytes(b, b"POST /v1/telemetry HTTP/1.1\r\n"))
        .filter_map(|b| {
            let text = String::from_utf8_lossy(b).to_string();
            // The report's body: after its own head (a fetch of the day's key may precede it).
            let post = &text[text.find("POST /v1/telemetry HTTP/1.1\r\n")?..];
            post.split_once("\r\n\r\n").map(|(_, body)| body.to_owned())
        })
        .collect();
    assert_eq!(bodies, previews, "each install sent exactly its preview");
    let (ra, rb) = (&bodies[0], &bodies[1]);
    assert_eq!(ra.len(), TELEMETRY_REPORT_BYTES);
    assert_eq!(rb.len(), TELEMETRY_REPORT_BYTES);
    assert_ne!(ra, rb, "the nonces differ");
    assert_eq!(strip_nonce(ra)?, strip_nonce(rb)?);
    // Each carries its own one-time token, and they share nothing.
    let (ta, tb): (TelemetryReport, TelemetryReport) =
        (serde_json::from_str(ra)?, serde_json::from_str(rb)?);
    let (ta, tb) = (
        ta.token.ok_or_else(|| anyhow::anyhow!("no token in a"))?,
        tb.token.ok_or_else(|| anyhow::anyhow!("no token in b"))?,
    );
    assert_ne!(ta.input, tb.input);
    assert_ne!(ta.output, tb.output);
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

/// Every connection the device opened through [`recording_proxy`]: the bytes it sent.
type Connections = Arc<std::sync::Mutex<Vec<Arc<std::sync::Mutex<Vec<u8>>>>>>;

/// A TCP proxy on 127.0.0.1 in front of the real server: the device talks to the server
/// through it, and it records what the device sent, connection by connection.
async fn recording_proxy(server: &str) -> anyhow::Result<(String, Connections)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let upstream = server.trim_start_matches("http://").to_owned();
    let seen: Connections = Arc::default();
    let store = seen.clone();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let Ok(server) = tokio::net::TcpStream::connect(&upstream).await else {
                continue;
            };
            let record = Arc::new(std::sync::Mutex::new(Vec::new()));
            if let Ok(mut s) = store.lock() {
                s.push(record.clone());
            }
            let (mut cr, mut cw) = client.into_split();
            let (mut sr, mut sw) = server.into_split();
            tokio::spawn(async move {
                let mut chunk = [0u8; 8192];
                while let Ok(n) = cr.read(&mut chunk).await {
                    if n == 0 {
                        break;
                    }
                    if let Ok(mut r) = record.lock() {
                        r.extend_from_slice(&chunk[..n]);
                    }
                    if sw.write_all(&chunk[..n]).await.is_err() {
                        break;
                    }
                }
                let _ = sw.shutdown().await;
            });
            tokio::spawn(async move {
                let _ = tokio::io::copy(&mut sr, &mut cw).await;
                let _ = cw.shutdown().await;
            });
        }
    });
    Ok((url, seen))
}

/// The bytes of each recorded connection.
fn sent_bytes(connections: &Connections) -> Vec<Vec<u8>> {
    connections
        .lock()
        .map(|all| {
            all.iter()
                .filter_map(|c| c.lock().ok().map(|b| b.clone()))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_posted_to_the_collector_identifies_anyone_or_is_kept() -> anyhow::Result<()> {
    let logs = capture_logs();
    let (_sdir, server) = temp_server().await?;
    let (proxy, connections) = recording_proxy(&server.base_url()).await?;
    let cdir = tempfile::tempdir()?;
    let secrets = MemorySecretStore::new();
    let kp = open_core(cdir.path(), &proxy, secrets.clone(), tuning(Duration::ZERO))?;
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
    let photo = kp
        .photos()?
        .first()
        .map(|p| p.id.clone())
        .ok_or_else(|| anyhow::anyhow!("no photo"))?;
    kp.photo(photo, kidplan_core::PhotoSize::Thumb).await?;
    let document = kp
        .documents()?
        .first()
        .map(|d| d.id.clone())
        .ok_or_else(|| anyhow::anyhow!("no document"))?;
    kp.document(document).await?;
    let _ = kp
        .handle_push(r#"{"v":"1","kind":"sync","hint":"absence/nothing"}"#.into())
        .await?;
    let edir = tempfile::tempdir()?;
    kp.export_my_data(edir.path().to_string_lossy().into_owned())
        .await?;
    let me = kp.me()?.ok_or_else(|| anyhow::anyhow!("no me"))?;
    let children = kp.children()?;
    drop(kp);

    // The next day the app opens and sends yesterday's report to the real collector, through
    // the proxy that records every byte (seconds after the authenticated requests above).
    let kp = open_core(cdir.path(), &proxy, secrets.clone(), tuning(NEXT_DAY))?;
    let preview = kp
        .telemetry_preview()
        .ok_or_else(|| anyhow::anyhow!("no report"))?;
    let rows_before = server_rows(&server)?;
    let logs_before = logs.bytes().len();
    assert!(kp.send_telemetry().await?);
    let rows_after = server_rows(&server)?;

    // The report travelled alone on its own connection, without a token or any id.
    let sent = sent_bytes(&connections);
    let carrying: Vec<&Vec<u8>> = sent
        .iter()
        .filter(|b| contains_bytes(b, b"POST /v1/telemetry HTTP/1.1\r\n"))
        .collect();
    assert_eq!(carrying.len(), 1, "one connection carried the report");
    let raw = carrying[0];
    let connection = String::from_utf8_lossy(raw).to_string();
    // On that connection, before the report: only the anonymous fetch of the day's token key
    // (the same for everyone), to check the report's token was made with the published key.
    let key_fetch = format!("GET /v1/telemetry/keys/{} HTTP/1.1\r\n", Day::today());
    let text = match connection.split_once("POST /v1/telemetry HTTP/1.1\r\n") {
        Some((before, after)) => {
            assert!(
                before.is_empty() || before.starts_with(&key_fetch),
                "the report's connection carried another request: {connection}"
            );
            assert!(
                !before.to_ascii_lowercase().contains("authorization"),
                "{before}"
            );
            format!("POST /v1/telemetry HTTP/1.1\r\n{after}")
        }
        None => connection.clone(),
    };
    assert_eq!(
        connection.matches(" HTTP/1.1\r\n").count(),
        1 + usize::from(connection.starts_with(&key_fetch)),
        "the report's connection carried another request: {connection}"
    );
    assert!(
        sent.iter()
            .any(|b| contains_bytes(b, b"GET /v1/sync") && contains_bytes(b, b"authorization")),
        "the authenticated requests went through the proxy too"
    );
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
    // The canaries are in what the device sent on its other connections (the scan can find
    // them), and none is in the report.
    let others: Vec<u8> = sent
        .iter()
        .filter(|b| *b != raw)
        .flatten()
        .copied()
        .collect();
    for c in [
        demo::CANARY_CHILD_ID,
        "Canaryx har feber",
        "Canaryguardian Wqx",
    ] {
        assert!(
            contains_bytes(&others, c.as_bytes()),
            "{c} never sent at all"
        );
    }
    for c in &canaries {
        assert!(
            !contains_bytes(raw, c.as_bytes()),
            "{c:?} in the telemetry request"
        );
    }

    // The real collector counted it: one report, each counter as sent.
    let conn = server_db(&server)?;
    let reports: i64 = conn.query_row(
        "SELECT reports FROM telemetry_days WHERE day = ?1",
        [report.day.to_string()],
        |r| r.get(0),
    )?;
    assert_eq!(reports, 1);
    for c in &report.counters {
        let stored: i64 = conn.query_row(
            "SELECT count FROM telemetry_counters WHERE day = ?1 AND platform = 'desktop'
             AND metric = ?2 AND bucket = ?3",
            [
                report.day.to_string(),
                serde_json::to_value(c.metric)?
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                serde_json::to_value(c.bucket)?
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            ],
            |r| r.get(0),
        )?;
        assert_eq!(stored, i64::from(c.count), "{c:?}");
    }
    // Nothing else changed on the server: no access-log row (no IP, no time), no raw report;
    // only the day's counters and the spent token's hash (no time, no address: it only stops
    // the token from counting twice). So no record joins the report to the sync just before.
    let changed: Vec<&String> = rows_after.symmetric_difference(&rows_before).collect();
    assert!(!changed.is_empty(), "the collector recorded nothing at all");
    assert!(
        changed.iter().any(|r| r.starts_with("telemetry_spent:")),
        "the report's token was not spent"
    );
    let elsewhere: Vec<&&String> = changed
        .iter()
        .filter(|r| {
            !r.starts_with("telemetry_counters:")
                && !r.starts_with("telemetry_days:")
                && !r.starts_with("telemetry_spent:")
        })
        .collect();
    assert!(
        elsewhere.is_empty(),
        "the report left other records: {elsewhere:?}"
    );
    let telemetry_rows: i64 = conn.query_row(
        "SELECT count(*) FROM access_log WHERE route = '/v1/telemetry'",
        [],
        |r| r.get(0),
    )?;
    assert_eq!(
        telemetry_rows, 0,
        "the collector's requests are in the access log"
    );
    // The nonce is unique to this report: in the bytes sent, nowhere on the server.
    assert!(contains_bytes(raw, report.nonce.as_bytes()));
    let stored: String = rows_after.iter().cloned().collect();
    assert!(!stored.contains(&report.nonce), "the raw report was kept");
    for file in [server.db_path(), server.db_path().with_extension("db-wal")] {
        let bytes = std::fs::read(&file).unwrap_or_default();
        assert!(
            !contains_bytes(&bytes, report.nonce.as_bytes()),
            "the nonce is in {}",
            file.display()
        );
    }
    for c in &canaries {
        for t in ["telemetry_counters:", "telemetry_days:"] {
            assert!(
                !rows_after
                    .iter()
                    .any(|r| r.starts_with(t) && r.contains(c.as_str())),
                "{c:?} stored by the collector"
            );
        }
    }
    // And no log line of the server's: the sync just before was logged (with its route), the
    // report was not.
    let logged = String::from_utf8_lossy(&logs.bytes()).to_string();
    assert!(
        logged.contains("route=/v1/sync"),
        "the server's request log was not captured"
    );
    let since = &logged[logs_before.min(logged.len())..];
    assert!(
        !since.lines().any(|l| l.contains("route=/v1/telemetry ")),
        "the report's request was logged: {since}"
    );
    assert!(
        !logged
            .lines()
            .any(|l| l.contains("route=/v1/telemetry ") || l.ends_with("route=/v1/telemetry")),
        "a telemetry request was logged"
    );
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
