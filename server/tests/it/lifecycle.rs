//! Stopping and starting again on the same data directory and address ("server offline, then
//! back"), and the demo seed being deterministic.

use crate::common::*;
use kidplan_server::{Clock, RunningServer, ServerConfig, demo};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn a_restarted_server_continues_with_the_same_data_and_address() {
    let (cfg, dir) = config();
    let server = RunningServer::start(cfg.clone()).await.expect("start");
    let addr = server.addr();
    assert!(addr.ip().is_loopback());
    let h = Harness {
        server,
        dir,
        http: reqwest::Client::new(),
    };
    let s = h.login(demo::GUARDIAN_EMAIL).await;
    let id = new_id();
    let body = json!({"id": id, "child_id": demo::GUARDIAN_CHILD_IDS[0], "first_day": day(1), "last_day": day(1), "reason": "sick", "note": null});
    assert_eq!(
        h.command(Method::POST, "/v1/absences", &s.access_token, Some(body))
            .await
            .status,
        200
    );
    let (before, cursor) = h.sync_from(&s.access_token, 0, 1000).await;

    let Harness { server, dir, http } = h;
    server.stop().await;
    assert!(
        http.get(format!("http://{addr}/v1/openapi.json"))
            .send()
            .await
            .is_err(),
        "offline"
    );

    let mut cfg2 = cfg;
    cfg2.bind = addr;
    let server = RunningServer::start(cfg2)
        .await
        .expect("restart on the same address");
    assert_eq!(server.addr(), addr);
    let h = Harness { server, dir, http };
    let (after, cursor2) = h.sync_from(&s.access_token, 0, 1000).await;
    assert_eq!(
        (before, cursor),
        (after, cursor2),
        "same session, same data"
    );
}

#[tokio::test]
async fn the_demo_seed_is_deterministic() {
    let start = chrono::DateTime::from_timestamp(1_790_000_000, 0).unwrap_or_default();
    let mut dumps = Vec::new();
    for _ in 0..2 {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut cfg = ServerConfig::new(dir.path());
        cfg.clock = Clock::manual(start);
        kidplan_server::open_db(&cfg).await.expect("seeded");
        let conn = rusqlite::Connection::open(cfg.db_path()).expect("open");
        let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).expect("count") };
        assert_eq!(
            count(
                "SELECT COUNT(*) FROM departments WHERE kindergarten_id = (SELECT id FROM kindergartens ORDER BY name DESC LIMIT 1)"
            ),
            2
        );
        assert_eq!(
            count(&format!(
                "SELECT COUNT(*) FROM children WHERE kindergarten_id = '{}'",
                demo::KINDERGARTEN_ID
            )),
            30
        );
        assert_eq!(
            count(&format!(
                "SELECT COUNT(*) FROM staff WHERE kindergarten_id = '{}'",
                demo::KINDERGARTEN_ID
            )),
            8
        );
        let guardians = count("SELECT COUNT(*) FROM guardians");
        assert!((40..=60).contains(&guardians), "{guardians}");
        assert!(count("SELECT COUNT(*) FROM log_entries") > 10_000);
        let mut stmt = conn
            .prepare("SELECT id, first_name, last_name FROM children ORDER BY id")
            .expect("prepare");
        let rows: Vec<(String, String, String)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .expect("rows")
            .flatten()
            .collect();
        dumps.push(rows);
    }
    assert_eq!(dumps[0], dumps[1]);
}
