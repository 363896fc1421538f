//! The authorization matrix: every parent endpoint called by a guardian of another family
//! with the first family's ids gets 404 (or 403), changes nothing and leaks nothing; staff
//! endpoints refuse guardians and staff of another kindergarten.

use crate::common::*;
use kidplan_api::sync::EntityKind;
use kidplan_server::demo;
use reqwest::Method;
use serde_json::{Value, json};

struct Fixture {
    absence: String,
    message: String,
    registration: String,
}

/// Kari's resources: an absence for Emma, a message in the canary thread, a push registration.
async fn fixture(h: &Harness, kari: &str) -> Fixture {
    let absence = new_id();
    let body = json!({"id": absence, "child_id": demo::GUARDIAN_CHILD_IDS[0], "first_day": day(1), "last_day": day(2), "reason": "sick", "note": null});
    assert_eq!(
        h.command(Method::POST, "/v1/absences", kari, Some(body))
            .await
            .status,
        200
    );
    let (changes, _) = h.sync_from(kari, 0, 1000).await;
    let message = changes
        .iter()
        .find(|c| {
            c.entity == EntityKind::Message
                && c.data
                    .as_ref()
                    .is_some_and(|d| d["thread_id"] == demo::CANARY_THREAD_ID)
        })
        .map(|c| c.id.clone())
        .expect("a message in the canary thread");
    let registration = new_id();
    let r = h
        .call(Method::PUT, &format!("/v1/push/registrations/{registration}"), Some(kari),
            Some(json!({"provider": "fcm", "token": "kari-device-token", "secret": "kari-secret-0123456789"})), None)
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    Fixture {
        absence,
        message,
        registration,
    }
}

/// (method, path, body) of every parent endpoint aimed at Kari's things.
fn parent_calls(f: &Fixture) -> Vec<(Method, String, Option<Value>)> {
    let emma = demo::GUARDIAN_CHILD_IDS[0];
    let thread = demo::CANARY_THREAD_ID;
    vec![
        (
            Method::POST,
            "/v1/absences".into(),
            Some(
                json!({"id": new_id(), "child_id": emma, "first_day": day(1), "last_day": day(1), "reason": "sick", "note": null}),
            ),
        ),
        (
            Method::PUT,
            format!("/v1/absences/{}", f.absence),
            Some(json!({"first_day": day(1), "last_day": day(3), "reason": "family", "note": "x"})),
        ),
        (Method::DELETE, format!("/v1/absences/{}", f.absence), None),
        (
            Method::POST,
            "/v1/holidays".into(),
            Some(
                json!({"id": new_id(), "child_id": emma, "first_day": day(5), "last_day": day(6), "note": null}),
            ),
        ),
        (
            Method::POST,
            "/v1/threads".into(),
            Some(
                json!({"id": new_id(), "child_id": emma, "subject": "s", "first_message_id": new_id(), "body": "b"}),
            ),
        ),
        (
            Method::POST,
            format!("/v1/threads/{thread}/messages"),
            Some(json!({"id": new_id(), "body": "hello"})),
        ),
        (
            Method::POST,
            format!("/v1/threads/{thread}/read"),
            Some(json!({"up_to": f.message})),
        ),
        (
            Method::PUT,
            format!("/v1/children/{emma}/consents/trips"),
            Some(json!({"state": "denied"})),
        ),
        (
            Method::PUT,
            "/v1/me/notification-preferences".into(),
            Some(
                json!({"preferences": [{"child_id": emma, "category": "messages", "delivery": "off"}]}),
            ),
        ),
        (
            Method::GET,
            format!("/v1/photos/{}/content", demo::SHARED_PHOTO_ID),
            None,
        ),
        (
            Method::GET,
            format!("/v1/photos/{}/content?size=thumb", demo::CANARY_PHOTO_ID),
            None,
        ),
        (
            Method::GET,
            format!("/v1/documents/{}/content", demo::CANARY_DOCUMENT_ID),
            None,
        ),
        (
            Method::PUT,
            format!("/v1/push/registrations/{}", f.registration),
            Some(
                json!({"provider": "fcm", "token": "per-token", "secret": "per-secret-0123456789"}),
            ),
        ),
    ]
}

#[tokio::test]
async fn another_family_gets_404_on_every_parent_endpoint_and_changes_nothing() {
    let h = start().await;
    let kari = h.guardian().await;
    let per = h.other_guardian().await;
    let f = fixture(&h, &kari).await;
    let (_, kari_cursor) = h.sync_from(&kari, 0, 1000).await;

    for (method, path, body) in parent_calls(&f) {
        let key = new_id();
        let r = h
            .call(method.clone(), &path, Some(&per), body, Some(&key))
            .await;
        assert!(matches!(r.status, 403 | 404), "{method} {path}: {r:?}");
        assert!(
            matches!(r.code(), "not_found" | "forbidden"),
            "{method} {path}: {r:?}"
        );
    }
    // Unregistering Kari's device needs Kari's secret.
    let r = h
        .http
        .delete(h.url(&format!("/v1/push/registrations/{}", f.registration)))
        .header("X-Registration-Secret", "guessed-secret-0123456")
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status().as_u16(), 404);

    // Nothing of Kari's changed: no new change in her feed, her absence is as it was.
    let (changes, _) = h.sync_from(&kari, kari_cursor, 1000).await;
    assert!(changes.is_empty(), "{changes:?}");

    // Per's own reads do not leak Kari's family.
    let per_feed = serde_json::to_string(&h.sync_from(&per, 0, 1000).await.0).expect("json");
    let export = h.get("/v1/me/export", &per).await;
    assert_eq!(export.status, 200);
    for leak in [
        demo::GUARDIAN_CHILD_IDS[0],
        demo::GUARDIAN_CHILD_IDS[1],
        demo::GUARDIAN_ID,
        &f.absence,
        demo::CANARY_THREAD_ID,
        "Emma",
        demo::GUARDIAN_EMAIL,
    ] {
        assert!(!per_feed.contains(leak), "feed leaks {leak}");
        assert!(
            !export.body.to_string().contains(leak),
            "export leaks {leak}"
        );
    }
}

#[tokio::test]
async fn staff_endpoints_refuse_guardians_and_parent_endpoints_refuse_staff() {
    let h = start().await;
    let kari = h.guardian().await;
    let staff = h.staff().await;
    let emma = demo::GUARDIAN_CHILD_IDS[0];
    let staff_calls = [
        (
            "/v1/staff/log-entries",
            json!({"child_id": emma, "kind": "meal", "text": "t"}),
        ),
        (
            "/v1/staff/threads",
            json!({"child_id": emma, "subject": "s", "body": "b"}),
        ),
        (
            &*format!("/v1/staff/threads/{}/messages", demo::CANARY_THREAD_ID),
            json!({"body": "b"}),
        ),
        (
            "/v1/staff/broadcasts",
            json!({"department_id": null, "subject": "s", "body": "b", "urgent": true}),
        ),
        (
            "/v1/staff/events",
            json!({"department_id": null, "title": "t", "description": null, "starts_at": 1, "ends_at": 2}),
        ),
        (
            &*format!("/v1/staff/attendance/{emma}"),
            json!({"action": "check_in"}),
        ),
        ("/v1/staff/absences/x/acknowledge", json!({})),
        (
            "/v1/staff/privacy-requests/x/handle",
            json!({"status": "completed", "response": null}),
        ),
        (
            "/v1/staff/erasures",
            json!({"person": {"kind": "child", "id": emma}}),
        ),
    ];
    for (path, body) in &staff_calls {
        let r = h.post(path, &kari, body.clone()).await;
        assert_eq!(r.status, 403, "{path}: {r:?}");
        assert_eq!(r.code(), "forbidden");
    }
    assert_eq!(h.get("/v1/staff/privacy-requests", &kari).await.status, 403);
    let r = h
        .call(
            Method::POST,
            "/v1/staff/photos?children=x",
            Some(&kari),
            None,
            None,
        )
        .await;
    assert_eq!(r.status, 403);

    for (method, path) in [
        (Method::GET, "/v1/sync"),
        (Method::GET, "/v1/me/export"),
        (Method::GET, "/v1/privacy-requests"),
    ] {
        assert_eq!(
            h.call(method, path, Some(&staff), None, None).await.status,
            403,
            "{path}"
        );
    }
    let r = h
        .command(Method::POST, "/v1/absences", &staff, Some(json!({"id": new_id(), "child_id": emma, "first_day": day(1), "last_day": day(1), "reason": "sick", "note": null})))
        .await;
    assert_eq!(r.status, 403);
}

#[tokio::test]
async fn staff_of_another_kindergarten_get_404() {
    let h = start().await;
    let kari = h.guardian().await;
    let f = fixture(&h, &kari).await;
    let other = h.login(demo::SECOND_STAFF_EMAIL).await.access_token;
    let emma = demo::GUARDIAN_CHILD_IDS[0];
    let pr = new_id();
    let r = h
        .command(
            Method::POST,
            "/v1/privacy-requests",
            &kari,
            Some(json!({"id": pr, "right": "access", "note": null})),
        )
        .await;
    assert_eq!(r.status, 200);
    let calls = [
        (
            "/v1/staff/log-entries".to_owned(),
            json!({"child_id": emma, "kind": "meal", "text": "t"}),
        ),
        (
            "/v1/staff/threads".to_owned(),
            json!({"child_id": emma, "subject": "s", "body": "b"}),
        ),
        (
            format!("/v1/staff/threads/{}/messages", demo::CANARY_THREAD_ID),
            json!({"body": "b"}),
        ),
        (
            format!("/v1/staff/attendance/{emma}"),
            json!({"action": "check_in"}),
        ),
        (
            format!("/v1/staff/absences/{}/acknowledge", f.absence),
            json!({}),
        ),
        (
            format!("/v1/staff/privacy-requests/{pr}/handle"),
            json!({"status": "completed", "response": null}),
        ),
        (
            "/v1/staff/erasures".to_owned(),
            json!({"person": {"kind": "child", "id": emma}}),
        ),
        (
            "/v1/staff/erasures".to_owned(),
            json!({"person": {"kind": "guardian", "id": demo::GUARDIAN_ID}}),
        ),
        (
            "/v1/staff/erasures".to_owned(),
            json!({"person": {"kind": "staff", "id": demo::STAFF_ID}}),
        ),
    ];
    for (path, body) in &calls {
        let r = h.post(path, &other, body.clone()).await;
        assert_eq!(r.status, 404, "{path}: {r:?}");
    }
    let list = h.get("/v1/staff/privacy-requests", &other).await;
    assert!(!list.body.to_string().contains(&pr));
    let r = h
        .call(
            Method::GET,
            &format!("/v1/photos/{}/content", demo::SHARED_PHOTO_ID),
            Some(&other),
            None,
            None,
        )
        .await;
    assert_eq!(r.status, 404);
}
