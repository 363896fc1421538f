//! Retention with a controlled clock: the IP access log after 14 days, push registrations
//! unseen for 60 days, expired codes and tokens.

mod common;

use common::*;
use kidplan_server::demo;
use reqwest::Method;
use rusqlite::Connection;
use serde_json::json;
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
