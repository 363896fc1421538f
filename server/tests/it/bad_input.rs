//! Bad input from the network: every answer is a 4xx with the JSON error body (never a 5xx,
//! never a panic), and nothing already stored is lost.

use crate::common::*;
use kidplan_server::demo;
use reqwest::Method;
use serde_json::json;

async fn raw(
    h: &Harness,
    method: Method,
    path: &str,
    token: Option<&str>,
    ctype: Option<&str>,
    body: Vec<u8>,
) -> Resp {
    let mut rb = h
        .http
        .request(method, h.url(path))
        .body(body)
        .header("Idempotency-Key", new_id());
    if let Some(t) = token {
        rb = rb.bearer_auth(t);
    }
    if let Some(c) = ctype {
        rb = rb.header("content-type", c);
    }
    into_resp(rb.send().await.expect("sent")).await
}

/// method, path, token, content type, body, expected status, expected code.
type Case<'a> = (
    Method,
    &'a str,
    Option<&'a str>,
    Option<&'a str>,
    Vec<u8>,
    u16,
    &'a str,
);

fn assert_json_error(r: &Resp, status: u16, code: &str, what: &str) {
    assert_eq!(r.status, status, "{what}: {r:?}");
    assert_eq!(r.code(), code, "{what}: {r:?}");
    assert!(r.body["message"].is_string(), "{what}: {r:?}");
    assert_eq!(
        r.headers.get("content-type").and_then(|v| v.to_str().ok()),
        Some("application/json"),
        "{what}"
    );
}

#[tokio::test]
async fn malformed_requests_get_json_4xx() {
    let h = start().await;
    let kari = h.guardian().await;
    let (before, _) = h.sync_from(&kari, 0, 1000).await;
    let j = Some("application/json");
    let tok = Some(kari.as_str());
    let cases: Vec<Case> = vec![
        (Method::POST, "/v1/absences", tok, j, b"{not json".to_vec(), 400, "bad_request"),
        (Method::POST, "/v1/absences", tok, j, b"[1,2,3]".to_vec(), 400, "bad_request"),
        (Method::POST, "/v1/absences", tok, j, br#"{"id": 5, "child_id": [], "first_day": true, "last_day": null, "reason": "sick"}"#.to_vec(), 400, "bad_request"),
        (Method::POST, "/v1/absences", tok, j, br#"{"id":"a","child_id":"b","first_day":"2026-02-30","last_day":"2026-03-01","reason":"sick","note":null}"#.to_vec(), 400, "bad_request"),
        (Method::POST, "/v1/absences", tok, Some("text/plain"), b"{}".to_vec(), 415, "unsupported_media_type"),
        (Method::POST, "/v1/absences", tok, None, b"{}".to_vec(), 415, "unsupported_media_type"),
        (Method::POST, "/v1/auth/code", None, j, b"\xff\xfe\x00".to_vec(), 400, "bad_request"),
        (Method::POST, "/v1/auth/code", None, j, br#"{"contact": 12}"#.to_vec(), 400, "bad_request"),
        (Method::POST, "/v1/auth/code", None, j, br#"{"contact": "no way"}"#.to_vec(), 400, "invalid_input"),
        (Method::POST, "/v1/auth/token", None, j, b"{}".to_vec(), 400, "invalid_input"),
        (Method::POST, "/v1/telemetry", None, j, b"null".to_vec(), 400, "bad_request"),
        (Method::GET, "/v1/no/such/route", None, None, vec![], 404, "not_found"),
        (Method::GET, "/", None, None, vec![], 404, "not_found"),
        (Method::PATCH, "/v1/absences", tok, j, b"{}".to_vec(), 405, "bad_request"),
        (Method::GET, "/v1/sync?cursor=zz", tok, None, vec![], 400, "bad_request"),
        (Method::GET, "/v1/sync?limit=-1", tok, None, vec![], 400, "bad_request"),
        (Method::GET, "/v1/photos/x/content?size=huge", tok, None, vec![], 400, "invalid_input"),
        (Method::GET, "/v1/sync", Some("kpa_forged-token"), None, vec![], 401, "unauthorized"),
        (Method::GET, "/v1/sync", None, None, vec![], 401, "unauthorized"),
        (Method::GET, "/v1/me/export", Some("a b c"), None, vec![], 401, "unauthorized"),
    ];
    for (method, path, token, ctype, body, status, code) in cases {
        let what = format!("{method} {path}");
        let r = raw(&h, method, path, token, ctype, body).await;
        assert_json_error(&r, status, code, &what);
    }
    let r = h
        .http
        .get(h.url("/v1/sync"))
        .header("authorization", "Basic abc")
        .send()
        .await
        .expect("sent");
    assert_json_error(&into_resp(r).await, 401, "unauthorized", "basic auth");

    // 2 MiB of JSON is over the 1 MiB limit.
    let big = json!({"id": new_id(), "body": "x".repeat(2 * 1024 * 1024)});
    let r = raw(
        &h,
        Method::POST,
        &format!("/v1/threads/{}/messages", demo::CANARY_THREAD_ID),
        tok,
        j,
        serde_json::to_vec(&big).unwrap_or_default(),
    )
    .await;
    assert_json_error(&r, 413, "payload_too_large", "2 MiB JSON");
    let r = raw(
        &h,
        Method::POST,
        "/v1/auth/code",
        None,
        j,
        vec![b' '; 2 * 1024 * 1024],
    )
    .await;
    assert_json_error(&r, 413, "payload_too_large", "2 MiB of spaces");

    // Uploads: over 20 MiB, wrong type, wrong content.
    let staff = h.staff().await;
    let photo = format!("/v1/staff/photos?children={}", demo::GUARDIAN_CHILD_IDS[0]);
    let mut huge = vec![0xFF, 0xD8];
    huge.resize(21 * 1024 * 1024, 0);
    let r = raw(
        &h,
        Method::POST,
        &photo,
        Some(&staff),
        Some("image/jpeg"),
        huge,
    )
    .await;
    assert_json_error(&r, 413, "payload_too_large", "21 MiB photo");
    let r = raw(
        &h,
        Method::POST,
        &photo,
        Some(&staff),
        Some("image/gif"),
        b"GIF89a".to_vec(),
    )
    .await;
    assert_json_error(&r, 415, "unsupported_media_type", "gif");
    let r = raw(
        &h,
        Method::POST,
        &photo,
        Some(&staff),
        Some("image/jpeg"),
        b"not a jpeg".to_vec(),
    )
    .await;
    assert_json_error(&r, 400, "invalid_input", "junk jpeg");
    let r = raw(
        &h,
        Method::POST,
        "/v1/staff/photos",
        Some(&staff),
        Some("image/jpeg"),
        vec![0xFF, 0xD8, 1],
    )
    .await;
    assert_json_error(&r, 400, "invalid_input", "photo without children");

    // Nothing stored was lost.
    let (after, _) = h.sync_from(&kari, 0, 1000).await;
    assert_eq!(before, after);
}

#[tokio::test]
async fn openapi_document_is_served() {
    let h = start().await;
    let r = h
        .call(Method::GET, "/v1/openapi.json", None, None, None)
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.body["openapi"].as_str().map(|v| v.starts_with('3')),
        Some(true)
    );
    for p in [
        "/v1/sync",
        "/v1/auth/code",
        "/v1/staff/erasures",
        "/v1/staff/events",
        "/v1/telemetry/counters",
    ] {
        assert!(r.body["paths"].get(p).is_some(), "{p}");
    }
}

/// Days the calendar holds but the contract does not (years outside 1900-2199, negative years
/// whose text does not read back) get 400 naming the field on every command that takes a day,
/// never a 500; a day inside the range still works, and the feed stays readable.
#[tokio::test]
async fn days_out_of_range_are_invalid_input_everywhere() {
    let h = start().await;
    let kari = h.guardian().await;
    let emma = demo::GUARDIAN_CHILD_IDS[0];
    let ok = "2030-03-04";
    let absence = new_id();
    let r = h
        .command(Method::POST, "/v1/absences", &kari, Some(json!({"id": absence, "child_id": emma, "first_day": ok, "last_day": ok, "reason": "sick", "note": null})))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    for bad in [
        "-999-01-01",
        "0000-01-01",
        "1899-12-31",
        "2200-01-01",
        "9999-12-31",
    ] {
        for (field, first, last) in [
            ("first_day", bad, ok),
            ("last_day", ok, bad),
            ("first_day", bad, bad),
        ] {
            let calls = [
                (
                    Method::POST,
                    "/v1/absences".to_owned(),
                    json!({"id": new_id(), "child_id": emma, "first_day": first, "last_day": last, "reason": "sick", "note": null}),
                ),
                (
                    Method::PUT,
                    format!("/v1/absences/{absence}"),
                    json!({"first_day": first, "last_day": last, "reason": "sick", "note": null}),
                ),
                (
                    Method::POST,
                    "/v1/holidays".to_owned(),
                    json!({"id": new_id(), "child_id": emma, "first_day": first, "last_day": last, "note": null}),
                ),
            ];
            for (method, path, body) in calls {
                let r = h.command(method.clone(), &path, &kari, Some(body)).await;
                assert_eq!(r.status, 400, "{method} {path} {bad} as {field}: {r:?}");
                assert_eq!(r.body["field"], field, "{method} {path} {bad}: {r:?}");
            }
        }
    }
    let (changes, _) = h.sync_from(&kari, 0, 1000).await;
    assert!(changes.iter().any(|c| c.id == absence));
}
