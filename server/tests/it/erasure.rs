//! Erasure: after erasing the canary child and the canary guardian, no canary string is left
//! in any table, in any log line, in the database file or its WAL, in the files directory or in
//! another guardian's feed. Each scan first finds the canaries where they were before.

use crate::common::*;
use kidplan_server::demo;
use reqwest::Method;
use rusqlite::Connection;
use serde_json::json;
use std::io::Write;
use std::sync::{Arc, Mutex};

/// Collects every log line of the process (server side).
#[derive(Clone, Default)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture_logs() -> LogBuffer {
    let buf = LogBuffer::default();
    let writer = buf.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(
            "kidplan_server=trace,axum=trace,tower_http=trace",
        ))
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber).expect("one subscriber per test binary");
    buf
}

#[tokio::test]
async fn erasing_the_canary_leaves_no_trace() {
    let logs = capture_logs();
    let h = start().await;
    let db = h.server.db_path();
    let wal = db.with_extension("db-wal");
    let staff = h.staff().await;

    // The canary guardian uses the app: a session, push, messages, an absence, a request.
    let canary = h.login(demo::CANARY_GUARDIAN_EMAIL).await;
    let _sms = h.login(demo::CANARY_GUARDIAN_PHONE).await;
    let tok = canary.access_token.as_str();
    let reg = new_id();
    let body = json!({"provider": "fcm", "token": "canary-device", "secret": "canary-secret-0123"});
    assert_eq!(
        h.call(
            Method::PUT,
            &format!("/v1/push/registrations/{reg}"),
            Some(tok),
            Some(body),
            None
        )
        .await
        .status,
        200
    );
    let body = json!({"id": new_id(), "child_id": demo::CANARY_CHILD_ID, "first_day": day(1), "last_day": day(1), "reason": "sick", "note": format!("{} er syk", demo::CANARY_CHILD_NAME)});
    assert_eq!(
        h.command(Method::POST, "/v1/absences", tok, Some(body))
            .await
            .status,
        200
    );
    let body = json!({"id": new_id(), "child_id": demo::GUARDIAN_CHILD_IDS[0], "first_day": day(2), "last_day": day(2), "reason": "family", "note": null});
    assert_eq!(
        h.command(Method::POST, "/v1/absences", tok, Some(body))
            .await
            .status,
        200,
        "absence for Emma, reported by the canary guardian"
    );
    let body = json!({"id": new_id(), "child_id": null, "subject": "Fra Canaryguardian Wqx", "first_message_id": new_id(), "body": "Hilsen Canaryguardian Wqx"});
    assert_eq!(
        h.command(Method::POST, "/v1/threads", tok, Some(body))
            .await
            .status,
        200
    );
    let body = json!({"id": new_id(), "right": "erasure", "note": "Slett Canaryx Qzv"});
    assert_eq!(
        h.command(Method::POST, "/v1/privacy-requests", tok, Some(body))
            .await
            .status,
        200
    );
    assert_eq!(
        h.command(
            Method::PUT,
            &format!(
                "/v1/children/{}/consents/trips",
                demo::GUARDIAN_CHILD_IDS[0]
            ),
            tok,
            Some(json!({"state": "denied"}))
        )
        .await
        .status,
        200
    );
    assert_eq!(
        h.command(
            Method::PUT,
            "/v1/me/contact",
            tok,
            Some(json!({"address": "Canaryveien 8"}))
        )
        .await
        .status,
        200
    );
    let r = h
        .post(
            "/v1/staff/log-entries",
            &staff,
            json!({"child_id": demo::CANARY_CHILD_ID, "kind": "note", "text": "Canaryx Qzv lekte"}),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        h.post(
            &format!("/v1/staff/attendance/{}", demo::CANARY_CHILD_ID),
            &staff,
            json!({"action": "check_in"})
        )
        .await
        .status,
        200
    );
    let photo = h
        .call(
            Method::GET,
            &format!("/v1/photos/{}/content", demo::CANARY_PHOTO_ID),
            Some(tok),
            None,
            None,
        )
        .await;
    assert_eq!(photo.status, 200);

    // A photo of the canary child whose bytes name the child.
    let bytes = format!("{} Canaryfile", demo::CANARY_CHILD_NAME);
    h.upload_photo(
        &staff,
        demo::CANARY_CHILD_ID,
        "Canarycaption",
        bytes.as_bytes(),
    )
    .await;

    // The canary child's profile picture, whose bytes carry a canary.
    let picture = jpeg(b"Canarypicture");
    let path = format!("/v1/staff/children/{}/picture", demo::CANARY_CHILD_ID);
    let r = h.put_bytes(&path, &staff, "image/jpeg", picture).await;
    assert_eq!(r.status, 200, "{r:?}");

    // Other people's records that mention the canaries (redacted at the erasure, see
    // `redaction`): a staff log entry on Emma, Kari's absence note on Emma, a thread Kari
    // started, a caption of a photo of Emma and the canary child, a pickup person of Emma.
    let kari_tok = h.guardian().await;
    let emma = demo::GUARDIAN_CHILD_IDS[0];
    let r = h
        .post(
            "/v1/staff/log-entries",
            &staff,
            json!({"child_id": emma, "kind": "note",
                   "text": "Emma lekte med Canaryx Qzv og CANARYX. Canaryguardian Wqx hentet (tlf 999 12 345, canary.wqx@example.org)"}),
        )
        .await;
    assert_eq!(r.status, 200);
    let body = json!({"id": new_id(), "child_id": emma, "first_day": day(3), "last_day": day(3), "reason": "family", "note": "Canaryguardian henter i Canaryveien 7"});
    assert_eq!(
        h.command(Method::POST, "/v1/absences", &kari_tok, Some(body))
            .await
            .status,
        200
    );
    let body = json!({"id": new_id(), "child_id": emma, "subject": "Om Wqx", "first_message_id": new_id(), "body": "Ring Canaryguardian på +4799912345"});
    assert_eq!(
        h.command(Method::POST, "/v1/threads", &kari_tok, Some(body))
            .await
            .status,
        200
    );
    h.upload_photo(
        &staff,
        &format!("{emma},{}", demo::CANARY_CHILD_ID),
        "Emma%20og%20Canaryx",
        b"shared",
    )
    .await;
    Connection::open(&db)
        .expect("open")
        .execute(
            "INSERT INTO pickup_persons (id, child_id, name, phone, relation) VALUES (?1, ?2, ?3, ?4, 'other')",
            rusqlite::params![new_id(), emma, demo::CANARY_GUARDIAN_NAME, demo::CANARY_GUARDIAN_PHONE],
        )
        .expect("pickup person");

    // Every scan below first finds the canaries where they are before the erasure: each in a
    // table and in the raw bytes of the database file or its WAL, the canary file in the files
    // directory, the canary guardian's name in Kari's feed.
    let before = dump_tables(&db);
    let raw_before = [raw_bytes(&db), raw_bytes(&wal)].concat();
    for c in demo::CANARY_STRINGS
        .iter()
        .chain(&["Canaryfile", "Canarycaption", "Canarypicture"])
    {
        assert!(
            before.contains(c) || *c == "Canaryfile",
            "{c} should be in a table"
        );
        assert!(
            contains(&raw_before, c) || *c == "Canaryfile",
            "{c} should be in the raw database or WAL"
        );
    }
    assert!(contains(&files_bytes(&h.server.files_dir()), "Canaryfile"));
    let kari_before = h.guardian().await;
    let (feed, _) = h.sync_from(&kari_before, 0, 1000).await;
    assert!(
        serde_json::to_string(&feed)
            .expect("json")
            .contains(demo::CANARY_GUARDIAN_FIRST_NAME)
    );
    let files_before = std::fs::read_dir(h.server.files_dir())
        .expect("dir")
        .count();

    for person in [
        json!({"kind": "child", "id": demo::CANARY_CHILD_ID}),
        json!({"kind": "guardian", "id": demo::CANARY_GUARDIAN_ID}),
    ] {
        let r = h.erase(&staff, person).await;
        assert_eq!(r.status, 200, "{r:?}");
        assert!(r.body["rows_deleted"].as_u64().unwrap_or(0) > 0);
    }
    let r = h
        .post(
            "/v1/staff/erasures",
            &staff,
            json!({"person": {"kind": "child", "id": demo::CANARY_CHILD_ID}}),
        )
        .await;
    assert_eq!(r.status, 404, "already gone");

    // Everything of the canary is gone; Emma's record stays, without the canary guardian.
    let kari = h.guardian().await;
    assert_eq!(
        h.get("/v1/sync?limit=1", tok).await.status,
        401,
        "the canary's session is gone"
    );
    let (feed, _) = h.sync_from(&kari, 0, 1000).await;
    let feed_text = serde_json::to_string(&feed).expect("json");
    assert!(feed_text.contains(demo::GUARDIAN_CHILD_IDS[0]));
    assert!(
        feed_text.contains("Emma lekte med […] og […]. […] hentet (tlf […], […])"),
        "Kari's feed carries the redacted log entry"
    );
    assert!(
        feed_text.contains("Emma og […]"),
        "the shared photo's caption"
    );
    let files_after = std::fs::read_dir(h.server.files_dir())
        .expect("dir")
        .count();
    assert_eq!(
        files_after + 3,
        files_before,
        "canary-only photos and document deleted"
    );

    let tables = dump_tables(&db);
    let db_bytes = raw_bytes(&db);
    let wal_bytes = raw_bytes(&wal);
    let files = files_bytes(&h.server.files_dir());
    let log_text =
        String::from_utf8_lossy(&logs.0.lock().unwrap_or_else(|e| e.into_inner())).into_owned();
    assert!(log_text.contains("request"), "logs were captured");
    for c in demo::CANARY_STRINGS
        .iter()
        .chain(&["Canaryfile", "Canarycaption", "Canarypicture"])
    {
        assert!(
            !tables.contains(c),
            "{c} left in a table:\n{}",
            tables
                .lines()
                .filter(|l| l.contains(c))
                .collect::<Vec<_>>()
                .join("\n")
        );
        assert!(!contains(&db_bytes, c), "{c} left in the database file");
        assert!(!contains(&wal_bytes, c), "{c} left in the WAL");
        assert!(!contains(&files, c), "{c} left in a file");
        assert!(!log_text.contains(c), "{c} in a log line");
        assert!(!feed_text.contains(c), "{c} in Kari's feed");
    }
    for id in [demo::CANARY_CHILD_ID, demo::CANARY_GUARDIAN_ID] {
        assert!(
            !tables
                .lines()
                .any(|l| l.contains(id) && !l.starts_with("changes:") && !l.starts_with("hidden:")),
            "{id} outside tombstones (the feed's markers and the tombstones of those who saw it)"
        );
    }
    // Usage data is kept but anonymised.
    let conn = Connection::open(&db).expect("open");
    let anon: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM access_log WHERE person_id IS NULL AND ip IS NULL",
            [],
            |r| r.get(0),
        )
        .expect("count");
    assert!(anon > 0);
    let emma_absences: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM absences WHERE child_id = ?1 AND reported_by = ''",
            [demo::GUARDIAN_CHILD_IDS[0]],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(
        emma_absences, 1,
        "Emma's absence stays, its reporter anonymised"
    );

    // The same holds after a restart (nothing comes back from anywhere).
    let Harness { server, dir, .. } = h;
    server.stop().await;
    let db_bytes = raw_bytes(&db);
    for c in demo::CANARY_STRINGS
        .iter()
        .chain(&["Canaryfile", "Canarycaption", "Canarypicture"])
    {
        assert!(!contains(&db_bytes, c), "{c} in the database after stop");
    }
    drop(dir);
}

/// The ids of the entities a feed deleted.
fn deleted(changes: &[kidplan_api::sync::Change]) -> Vec<String> {
    changes
        .iter()
        .filter(|c| c.op == kidplan_api::sync::ChangeOp::Delete)
        .map(|c| c.id.clone())
        .collect()
}

/// Tombstones reach exactly the guardians who saw the entity: erasing the canary child and the
/// canary guardian (Emma's co-parent) tells Kari (Emma's mother, who saw the canary guardian,
/// their thread about Emma and their link to Emma) and nobody else; erasing a staff member of
/// Solsikken tells Solsikken's families and not Furulunden's. Paging by one gives the same
/// tombstones as one big page.
#[tokio::test]
async fn tombstones_reach_only_the_guardians_who_saw_the_entity() {
    let h = start().await;
    let staff = h.staff().await;
    let kari = h.guardian().await;
    let per = h.other_guardian().await;
    let furulunden = h
        .login(demo::TWO_KINDERGARTEN_GUARDIAN_PHONE)
        .await
        .access_token;
    let (kari_feed, kari_at) = h.sync_from(&kari, 0, 1000).await;
    let (_, per_at) = h.sync_from(&per, 0, 1000).await;
    let (_, furu_at) = h.sync_from(&furulunden, 0, 1000).await;
    let kari_saw: Vec<&str> = kari_feed.iter().map(|c| c.id.as_str()).collect();
    for id in [demo::CANARY_GUARDIAN_ID, demo::CANARY_THREAD_ID] {
        assert!(kari_saw.contains(&id), "Kari sees {id} before");
    }
    assert!(!kari_saw.contains(&demo::CANARY_CHILD_ID));

    for person in [
        json!({"kind": "child", "id": demo::CANARY_CHILD_ID}),
        json!({"kind": "guardian", "id": demo::CANARY_GUARDIAN_ID}),
    ] {
        assert_eq!(h.erase(&staff, person).await.status, 200);
    }
    let (kari_after, kari_at2) = h.sync_from(&kari, kari_at, 1000).await;
    let kari_gone = deleted(&kari_after);
    for id in [demo::CANARY_GUARDIAN_ID, demo::CANARY_THREAD_ID] {
        assert!(kari_gone.iter().any(|g| g == id), "Kari is told {id} went");
    }
    let unseen: Vec<&String> = kari_gone
        .iter()
        .filter(|g| !kari_saw.contains(&g.as_str()))
        .collect();
    assert!(
        unseen.is_empty(),
        "Kari is told of {} entities she never saw, first {:?}",
        unseen.len(),
        unseen.first()
    );
    let (paged, paged_at) = h.sync_from(&kari, kari_at, 1).await;
    assert_eq!(deleted(&paged), kari_gone, "paging by one");
    assert_eq!(paged_at, kari_at2);
    let (per_after, per_at2) = h.sync_from(&per, per_at, 1000).await;
    assert_eq!(deleted(&per_after), Vec::<String>::new(), "another family");
    let (furu_after, furu_at2) = h.sync_from(&furulunden, furu_at, 1000).await;
    assert_eq!(
        deleted(&furu_after),
        Vec::<String>::new(),
        "another kindergarten"
    );

    // A staff member of Solsikken: both of its families saw them, Furulunden did not.
    let conn = Connection::open(h.server.db_path()).expect("open");
    let other_staff: String = conn
        .query_row(
            "SELECT id FROM staff WHERE kindergarten_id = ?1 AND id <> ?2 ORDER BY id LIMIT 1",
            [demo::KINDERGARTEN_ID, demo::STAFF_ID],
            |r| r.get(0),
        )
        .expect("another staff member");
    drop(conn);
    assert_eq!(
        h.erase(&staff, json!({"kind": "staff", "id": other_staff}))
            .await
            .status,
        200
    );
    for (who, token, at) in [("Kari", &kari, kari_at2), ("Per", &per, per_at2)] {
        let (after, _) = h.sync_from(token, at, 1000).await;
        assert_eq!(deleted(&after), vec![other_staff.clone()], "{who}");
    }
    let (furu_after, _) = h.sync_from(&furulunden, furu_at2, 1000).await;
    assert_eq!(deleted(&furu_after), Vec::<String>::new(), "Furulunden");
}
