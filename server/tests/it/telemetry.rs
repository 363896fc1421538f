//! The anonymous telemetry collector: counters only, published from 20 reports, no record of
//! a report's request kept.

use crate::common::*;
use reqwest::Method;
use rusqlite::Connection;
use serde_json::{Value, json};

fn report(day: &str, count: u32) -> Value {
    json!({"v": 1, "day": day, "platform": "android", "nonce": new_id(), "padding": "    ",
           "counters": [{"metric": "app_opened", "bucket": "count", "count": count}, {"metric": "sync_succeeded", "bucket": "under1_s", "count": 1},
                        {"metric": "error_offline", "bucket": "count", "count": 2}]})
}

/// A report carrying a valid one-time token of the day.
fn with_token(mut r: Value, t: kidplan_api::telemetry::TelemetryToken) -> Value {
    r["token"] = serde_json::to_value(t).expect("token");
    r
}

#[tokio::test]
async fn counters_are_published_from_20_reports_and_no_report_or_ip_is_kept() {
    let h = start().await;
    let today = day(0);
    let path = format!("/v1/telemetry/counters?day={today}");
    let mut tokens = Vec::new();
    for s in crate::telemetry_tokens::twenty_guardians(&h).await {
        tokens.push(
            crate::telemetry_tokens::obtain(&h, &s, &new_id())
                .await
                .expect("a token"),
        );
    }
    let mut tokens = tokens.into_iter();
    for i in 0..19 {
        let r = h
            .post_anonymous(
                "/v1/telemetry",
                with_token(report(&today, i + 1), tokens.next().expect("token")),
            )
            .await;
        assert_eq!(r.status, 202, "{r:?}");
    }
    let r = h.call(Method::GET, &path, None, None, None).await;
    assert_eq!(r.body["published"], false);
    assert_eq!(r.body["counters"], json!([]));
    h.post_anonymous(
        "/v1/telemetry",
        with_token(report(&today, 20), tokens.next().expect("token")),
    )
    .await;
    let r = h.call(Method::GET, &path, None, None, None).await;
    assert_eq!(r.body["published"], true);
    let opened = r.body["counters"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["metric"] == "app_opened").cloned())
        .expect("counter");
    assert_eq!(opened["count"], 210);
    assert_eq!(opened["platform"], "android");
    let offline = r.body["counters"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["metric"] == "error_offline").cloned())
        .expect("an error category is counted");
    assert_eq!(offline["count"], 40);

    let conn = Connection::open(h.server.db_path()).expect("open");
    // Requests around the reports are logged; the reports themselves leave no row (no IP,
    // no time to join them to an authenticated request).
    let logged = |route: &str| -> i64 {
        conn.query_row(
            "SELECT COUNT(*) FROM access_log WHERE route = ?1",
            [route],
            |r| r.get(0),
        )
        .expect("count")
    };
    assert_eq!(logged("/v1/telemetry/counters"), 2);
    assert_eq!(logged("/v1/telemetry"), 0, "a report's request was logged");
    assert_eq!(
        logged("/v1/telemetry/keys/{day}"),
        0,
        "an anonymous key fetch was logged"
    );
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'telemetry%'")
        .expect("prepare")
        .query_map([], |r| r.get(0))
        .expect("query")
        .flatten()
        .collect();
    for t in tables {
        let cols: Vec<String> = conn
            .prepare(&format!("SELECT name FROM pragma_table_info('{t}')"))
            .expect("prepare")
            .query_map([], |r| r.get(0))
            .expect("query")
            .flatten()
            .collect();
        assert!(
            !cols.iter().any(|c| c.contains("nonce") || c.contains("ip")),
            "{t}: {cols:?}"
        );
    }
}

#[tokio::test]
async fn invalid_reports_are_rejected() {
    let h = start().await;
    let today = day(0);
    let mut bad = Vec::new();
    for (k, v) in [
        ("v", json!(2)),
        ("platform", json!("toaster")),
        ("day", json!(day(-90))),
        ("padding", json!("xx")),
        ("nonce", json!("")),
    ] {
        let mut r = report(&today, 1);
        r[k] = v;
        bad.push((r, k));
    }
    let mut dup = report(&today, 1);
    dup["counters"] = json!([{"metric": "app_opened", "bucket": "count", "count": 1}, {"metric": "app_opened", "bucket": "count", "count": 1}]);
    bad.push((dup, "counters"));
    let mut big = report(&today, 1);
    big["counters"][0]["count"] = json!(1001);
    bad.push((big, "counters"));
    // An error category is only a count; a timed metric only a duration bucket.
    for (metric, bucket) in [
        ("error_offline", "under1_s"),
        ("panic_sync", "over10_s"),
        ("sync_succeeded", "count"),
    ] {
        let mut r = report(&today, 1);
        r["counters"] = json!([{"metric": metric, "bucket": bucket, "count": 1}]);
        bad.push((r, "counters"));
    }
    // Each is refused for its own fault (the reports carry no token, refused after these).
    for (b, field) in bad {
        let r = h.post_anonymous("/v1/telemetry", b.clone()).await;
        assert_eq!(r.status, 400, "{b}: {r:?}");
        assert_eq!(r.code(), "invalid_input");
        assert_eq!(r.body["field"], field, "{b}: {r:?}");
    }
    let r = h
        .call(
            Method::GET,
            "/v1/telemetry/counters?day=yesterday",
            None,
            None,
            None,
        )
        .await;
    assert_eq!(r.status, 400);
}
