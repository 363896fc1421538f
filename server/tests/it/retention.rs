//! Retention with a controlled clock: the IP access log after 14 days (by hand and by the
//! server's own schedule), push registrations
//! unseen for 60 days, expired codes and tokens, and a kindergarten's data one calendar month
//! after its contract ended.

use crate::common::*;
use kidplan_server::demo;
use reqwest::Method;
use rusqlite::Connection;
use serde_json::json;
use std::collections::BTreeSet;
use std::time::Duration;

fn count(db: &std::path::Path, sql: &str) -> i64 {
    let conn = Connection::open(db).expect("open");
    conn.query_row(sql, [], |r| r.get(0)).expect("count")
}

#[tokio::test]
async fn ip_log_entries_older_than_14_days_are_purged() {
    let (cfg, dir, clock) = manual_config();
    let h = start_with(cfg, dir).await;
    let db = h.server.db_path();
    let kari = h.guardian().await;
    assert_eq!(h.get("/v1/sync?limit=1", &kari).await.status, 200);
    let old = count(
        &db,
        "SELECT COUNT(*) FROM access_log WHERE ip = '127.0.0.1'",
    );
    assert!(old >= 3, "requests are logged with the client IP");
    assert!(
        count(
            &db,
            "SELECT COUNT(*) FROM access_log WHERE person_id IS NOT NULL"
        ) >= 1
    );

    clock.advance(Duration::from_secs(13 * 86_400));
    h.server.run_maintenance().expect("maintenance");
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM access_log"),
        old,
        "13 days: kept"
    );

    clock.advance(Duration::from_secs(86_400 + 60));
    assert_eq!(
        h.call(Method::GET, "/v1/openapi.json", None, None, None)
            .await
            .status,
        200
    );
    h.server.run_maintenance().expect("maintenance");
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM access_log"),
        1,
        "only the fresh request is left"
    );
}

/// Waits (up to 10 s of real time) until `f` holds.
async fn eventually(mut f: impl FnMut() -> bool) -> bool {
    for _ in 0..200 {
        if f() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    f()
}

#[tokio::test]
async fn the_scheduled_job_deletes_ip_log_rows_older_than_14_days() {
    // The server's own schedule, every 50 ms of real time, on a clock the test moves.
    let (mut cfg, dir, clock) = manual_config();
    cfg.maintenance_every = Some(Duration::from_millis(50));
    let h = start_with(cfg, dir).await;
    let db = h.server.db_path();
    let kari = h.guardian().await;
    assert_eq!(h.get("/v1/sync?limit=1", &kari).await.status, 200);
    let ip_rows = "SELECT COUNT(*) FROM access_log WHERE ip = '127.0.0.1'";
    let old = count(&db, ip_rows);
    assert!(old >= 3, "requests are logged with the client IP");
    assert!(count(&db, "SELECT COUNT(*) FROM rate_events") >= 1);

    // 13 days on, the job has run (it dropped the day-old rate events) and kept the IP log.
    clock.advance(Duration::from_secs(13 * 86_400));
    assert!(
        eventually(|| count(&db, "SELECT COUNT(*) FROM rate_events") == 0).await,
        "the scheduled job did not run"
    );
    assert_eq!(count(&db, ip_rows), old, "13 days: kept");
    assert_eq!(
        h.call(Method::GET, "/v1/openapi.json", None, None, None)
            .await
            .status,
        200
    );

    // 14 days and a minute after the first requests, the job deletes them on its own; the
    // request of day 13 stays.
    clock.advance(Duration::from_secs(86_400 + 60));
    assert!(
        eventually(|| count(&db, ip_rows) == 1).await,
        "IP log rows older than 14 days are still there: {}",
        count(&db, ip_rows)
    );
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM access_log WHERE route = '/v1/openapi.json'"
        ),
        1
    );
}

#[tokio::test]
async fn push_registrations_unseen_for_60_days_and_expired_codes_are_dropped() {
    let (mut cfg, dir, clock) = manual_config();
    cfg.access_token_ttl_s = 100 * 86_400;
    let h = start_with(cfg, dir).await;
    let db = h.server.db_path();
    let kari = h.guardian().await;
    let put = |id: String| {
        let body = json!({"provider": "apns", "token": format!("tok-{id}"), "secret": "s3cret-s3cret-s3cret"});
        let (h, kari) = (&h, kari.clone());
        async move {
            h.call(
                Method::PUT,
                &format!("/v1/push/registrations/{id}"),
                Some(&kari),
                Some(body),
                None,
            )
            .await
        }
    };
    let (stale, fresh) = (new_id(), new_id());
    assert_eq!(put(stale.clone()).await.status, 200);
    assert_eq!(put(fresh.clone()).await.status, 200);
    h.post_anonymous("/v1/auth/code", json!({"contact": demo::GUARDIAN_EMAIL}))
        .await;
    assert_eq!(count(&db, "SELECT COUNT(*) FROM login_codes"), 1);

    clock.advance(Duration::from_secs(59 * 86_400));
    assert_eq!(put(fresh.clone()).await.status, 200, "heartbeat");
    clock.advance(Duration::from_secs(2 * 86_400));
    h.server.run_maintenance().expect("maintenance");
    let ids: Vec<String> = {
        let conn = Connection::open(&db).expect("open");
        let mut stmt = conn
            .prepare("SELECT id FROM push_registrations")
            .expect("prepare");
        stmt.query_map([], |r| r.get(0))
            .expect("query")
            .flatten()
            .collect()
    };
    assert_eq!(ids, vec![fresh]);
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM login_codes"),
        0,
        "expired code removed"
    );
}

/// Strings only the second kindergarten's data holds (seed values and what the test writes).
const SECOND_KINDERGARTEN_STRINGS: [&str; 8] = [
    "Furulunden",
    "Terje Lie",
    "terje.lie@example.org",
    "+4792009999",
    "+4791000003",
    "Furucanary",
    "furucanary-device",
    "Furupicture",
];

/// The second kindergarten's staff and guardian use the app: uploads, a broadcast, a log
/// entry, a push registration and an absence (so every kind of row and a file exist).
async fn use_second_kindergarten(h: &Harness) {
    let terje = h.login(demo::SECOND_STAFF_EMAIL).await.access_token;
    let lise = h
        .login(demo::TWO_KINDERGARTEN_GUARDIAN_PHONE)
        .await
        .access_token;
    let tuva = "c7a2ea20-b2f1-4c94-ae05-319acb5c7427";
    for (path, mime, body) in [
        (
            format!("/v1/staff/photos?children={tuva}&caption=Furucanary"),
            "image/jpeg",
            jpeg(b"Furucanary photo"),
        ),
        (
            "/v1/staff/documents?title=Furucanary".to_owned(),
            "application/pdf",
            b"%PDF-1.4 Furucanary".to_vec(),
        ),
    ] {
        let r = h
            .http
            .post(h.url(&path))
            .bearer_auth(&terje)
            .header("content-type", mime)
            .body(body)
            .send()
            .await
            .expect("sent");
        assert_eq!(r.status(), 200);
    }
    // Tuva's and Terje's profile pictures (kept in the database, not on disk).
    for path in [
        format!("/v1/staff/children/{tuva}/picture"),
        "/v1/staff/me/picture".to_owned(),
    ] {
        let r = h
            .put_bytes(&path, &terje, "image/jpeg", jpeg(b"Furupicture"))
            .await;
        assert_eq!(r.status, 200, "{r:?}");
    }
    let broadcast = json!({"department_id": null, "subject": "Furucanary", "body": "Hei fra Furucanary", "urgent": false});
    assert_eq!(
        h.post("/v1/staff/broadcasts", &terje, broadcast)
            .await
            .status,
        200
    );
    let entry = json!({"child_id": tuva, "kind": "note", "text": "Furucanary lekte"});
    assert_eq!(
        h.post("/v1/staff/log-entries", &terje, entry).await.status,
        200
    );
    let reg =
        json!({"provider": "fcm", "token": "furucanary-device", "secret": "furucanary-secret-01"});
    let path = format!("/v1/push/registrations/{}", new_id());
    assert_eq!(
        h.call(Method::PUT, &path, Some(&lise), Some(reg), None)
            .await
            .status,
        200
    );
    let absence = json!({"id": new_id(), "child_id": tuva, "first_day": day(1), "last_day": day(1), "reason": "sick", "note": "Furucanary er syk"});
    assert_eq!(
        h.command(Method::POST, "/v1/absences", &lise, Some(absence))
            .await
            .status,
        200
    );
}

/// What Kari sees: every live entity of her feed with its data.
async fn kari_view(h: &Harness) -> BTreeSet<String> {
    let kari = h.guardian().await;
    let (changes, _) = h.sync_from(&kari, 0, 1000).await;
    changes
        .into_iter()
        .filter_map(|c| c.data.map(|d| format!("{:?} {} {d}", c.entity, c.id)))
        .collect()
}

fn stored_files(db: &std::path::Path) -> Vec<String> {
    let conn = Connection::open(db).expect("open");
    let sql = "SELECT file_name FROM photos WHERE kindergarten_id = ?1
               UNION ALL SELECT file_name FROM documents WHERE kindergarten_id = ?1";
    let mut stmt = conn.prepare(sql).expect("prepare");
    stmt.query_map([demo::SECOND_KINDERGARTEN_ID], |r| r.get(0))
        .expect("query")
        .flatten()
        .collect()
}

fn at(day: chrono::NaiveDate, hour: u32) -> chrono::DateTime<chrono::Utc> {
    day.and_hms_opt(hour, 0, 0).unwrap_or_default().and_utc()
}

#[tokio::test]
async fn a_kindergarten_is_deleted_one_month_after_its_contract_ends() {
    let (cfg, dir, clock) = manual_config();
    let h = start_with(cfg, dir).await;
    let db = h.server.db_path();
    use_second_kindergarten(&h).await;
    let files = stored_files(&db);
    assert_eq!(files.len(), 2, "a photo and a document on disk");
    let raw = [raw_bytes(&db), raw_bytes(&db.with_extension("db-wal"))].concat();
    assert!(contains(&raw, "Furupicture"), "the pictures are stored");
    let before = kari_view(&h).await;
    let kindergartens = "SELECT COUNT(*) FROM kindergartens";

    let last_day = clock.now().date_naive();
    h.server
        .end_contract(demo::SECOND_KINDERGARTEN_ID, last_day)
        .expect("contract ends");
    let kept_until = kidplan_server::contract::kept_until(last_day).expect("a month later");
    for now in [
        at(kept_until.pred_opt().unwrap_or_default(), 12),
        at(kept_until, 23),
    ] {
        clock.set(now);
        let r = h.server.run_maintenance().expect("maintenance");
        assert_eq!(
            (r.kindergartens, count(&db, kindergartens)),
            (0, 2),
            "kept on {now}"
        );
    }

    clock.set(at(kept_until.succ_opt().unwrap_or_default(), 0));
    let r = h.server.run_maintenance().expect("maintenance");
    assert_eq!((r.kindergartens, r.files), (1, 2));
    assert_eq!(count(&db, kindergartens), 1);
    let files_dir = h.server.files_dir();
    assert!(
        files.iter().all(|f| !files_dir.join(f).exists()),
        "files removed"
    );
    let (tables, db_bytes) = (dump_tables(&db), raw_bytes(&db));
    let (wal, stored) = (
        raw_bytes(&db.with_extension("db-wal")),
        files_bytes(&files_dir),
    );
    for s in SECOND_KINDERGARTEN_STRINGS {
        assert!(!tables.contains(s), "{s} in a table");
        for (name, bytes) in [("db file", &db_bytes), ("WAL", &wal), ("files", &stored)] {
            assert!(!contains(bytes, s), "{s} in the {name}");
        }
    }
    for table in [
        "children",
        "staff",
        "guardians",
        "departments",
        "sessions",
        "push_registrations",
        "pictures",
    ] {
        let sql = format!(
            "SELECT COUNT(*) FROM {table} WHERE {} = '{}'",
            if table == "push_registrations" {
                "provider"
            } else {
                "kindergarten_id"
            },
            if table == "push_registrations" {
                "fcm"
            } else {
                demo::SECOND_KINDERGARTEN_ID
            }
        );
        assert_eq!(count(&db, &sql), 0, "{table}");
    }
    assert_eq!(
        kari_view(&h).await,
        before,
        "the first kindergarten is untouched"
    );
}
