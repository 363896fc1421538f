//! Push: registrations, content-free FCM/APNs payloads on the events guardians care about,
//! preferences per child and category, urgent alerts always, token moves, unregistering.

use crate::common::*;
use kidplan_server::demo;
use reqwest::Method;
use serde_json::{Value, json};

async fn register(h: &Harness, token: &str, id: &str, provider: &str, push_token: &str) -> Resp {
    let body =
        json!({"provider": provider, "token": push_token, "secret": format!("secret-of-{id}")});
    h.call(
        Method::PUT,
        &format!("/v1/push/registrations/{id}"),
        Some(token),
        Some(body),
        None,
    )
    .await
}

fn payloads(h: &Harness, push_token: &str) -> Vec<Value> {
    h.server
        .sent_pushes()
        .into_iter()
        .filter(|p| p.token == push_token)
        .map(|p| serde_json::from_slice(&p.payload).expect("json payload"))
        .collect()
}

#[tokio::test]
async fn pushes_are_content_free_and_respect_preferences() {
    let h = start().await;
    let kari = h.guardian().await;
    let staff = h.staff().await;
    let reg = new_id();
    let r = register(&h, &kari, &reg, "fcm", "kari-fcm").await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["provider"], "fcm");
    assert!(r.body.get("token").is_none() && r.body.get("secret").is_none());

    let emma = demo::GUARDIAN_CHILD_IDS[0];
    let log = h
        .post(
            "/v1/staff/log-entries",
            &staff,
            json!({"child_id": emma, "kind": "note", "text": "Emma hadde en fin dag"}),
        )
        .await;
    let p = payloads(&h, "kari-fcm");
    assert_eq!(p.len(), 1);
    let expected = json!({"message": {"token": "kari-fcm", "data": {"v": "1", "kind": "sync", "hint": format!("log_entry/{}", log.body["id"].as_str().unwrap_or(""))}}});
    assert_eq!(p[0], expected);
    let raw = String::from_utf8(h.server.sent_pushes().pop().expect("push").payload).expect("utf8");
    assert!(!raw.contains("Emma") && !raw.contains("notification"));

    // Child log off for Emma: no push for her log, still for Jakob's.
    let prefs = json!({"preferences": [{"child_id": emma, "category": "child_log", "delivery": "off"}, {"child_id": emma, "category": "messages", "delivery": "off"}, {"child_id": demo::GUARDIAN_CHILD_IDS[1], "category": "messages", "delivery": "off"}]});
    assert_eq!(
        h.command(
            Method::PUT,
            "/v1/me/notification-preferences",
            &kari,
            Some(prefs)
        )
        .await
        .status,
        200
    );
    h.post(
        "/v1/staff/log-entries",
        &staff,
        json!({"child_id": emma, "kind": "meal", "text": "t"}),
    )
    .await;
    assert_eq!(payloads(&h, "kari-fcm").len(), 1);
    h.post(
        "/v1/staff/log-entries",
        &staff,
        json!({"child_id": demo::GUARDIAN_CHILD_IDS[1], "kind": "meal", "text": "t"}),
    )
    .await;
    assert_eq!(payloads(&h, "kari-fcm").len(), 2);

    // Messages off for both children: a normal broadcast is silent, an urgent one comes through.
    h.post(
        "/v1/staff/broadcasts",
        &staff,
        json!({"department_id": null, "subject": "Info", "body": "b", "urgent": false}),
    )
    .await;
    assert_eq!(payloads(&h, "kari-fcm").len(), 2);
    h.post(
        "/v1/staff/broadcasts",
        &staff,
        json!({"department_id": null, "subject": "Stengt", "body": "Vannlekkasje", "urgent": true}),
    )
    .await;
    assert_eq!(payloads(&h, "kari-fcm").len(), 3);

    // Absence acknowledged, photo, calendar: one push each (defaults on for Jakob).
    let jakob = demo::GUARDIAN_CHILD_IDS[1];
    let abs = new_id();
    let body = json!({"id": abs, "child_id": jakob, "first_day": day(1), "last_day": day(1), "reason": "sick", "note": null});
    h.command(Method::POST, "/v1/absences", &kari, Some(body))
        .await;
    h.post(
        &format!("/v1/staff/absences/{abs}/acknowledge"),
        &staff,
        json!({}),
    )
    .await;
    let last = payloads(&h, "kari-fcm").pop().expect("push");
    assert_eq!(last["message"]["data"]["hint"], format!("absence/{abs}"));
    h.post("/v1/staff/events", &staff, json!({"department_id": demo::DEPARTMENT_IDS[1], "title": "Tur", "description": null, "starts_at": 1, "ends_at": 2})).await;
    assert_eq!(payloads(&h, "kari-fcm").len(), 5);
}

#[tokio::test]
async fn registrations_move_tokens_update_in_place_and_unregister_with_the_secret() {
    let h = start().await;
    let kari = h.guardian().await;
    let per = h.other_guardian().await;
    let staff = h.staff().await;
    let reg = new_id();
    assert_eq!(
        register(&h, &kari, &reg, "apns", "shared-device")
            .await
            .status,
        200
    );
    // The device is handed to Per: his registration takes the token; Kari's alerts stop.
    let per_reg = new_id();
    assert_eq!(
        register(&h, &per, &per_reg, "apns", "shared-device")
            .await
            .status,
        200
    );
    h.post("/v1/staff/broadcasts", &staff, json!({"department_id": demo::DEPARTMENT_IDS[0], "subject": "s", "body": "b", "urgent": true})).await;
    assert!(
        payloads(&h, "shared-device").is_empty(),
        "Per has no child in Blåbær; Kari's registration is gone"
    );
    h.post("/v1/staff/broadcasts", &staff, json!({"department_id": demo::DEPARTMENT_IDS[1], "subject": "s", "body": "b", "urgent": true})).await;
    let p = payloads(&h, "shared-device");
    assert_eq!(p.len(), 1, "Per's child is in Tyttebær");
    // Urgent: an alert push without text (the app's extension writes it from its cache).
    assert_eq!(p[0]["aps"]["mutable-content"], 1);
    assert_eq!(
        p[0]["aps"]["alert"],
        json!({"loc-key": "KIDPLAN_NOTIFICATION"})
    );
    assert_eq!(p[0]["kind"], "sync");

    // A changed token updates in place.
    assert_eq!(
        register(&h, &per, &per_reg, "apns", "new-token")
            .await
            .status,
        200
    );
    // Another account cannot take over a registration id.
    let body = json!({"provider": "fcm", "token": "x", "secret": "another-secret-123"});
    let r = h
        .call(
            Method::PUT,
            &format!("/v1/push/registrations/{per_reg}"),
            Some(&kari),
            Some(body),
            None,
        )
        .await;
    assert_eq!(r.status, 403);
    // Unregister without a session, with the secret.
    let del = |secret: &'static str| {
        h.http
            .delete(h.url(&format!("/v1/push/registrations/{per_reg}")))
            .header("X-Registration-Secret", secret)
            .send()
    };
    let wrong = into_resp(del("nope-nope-nope-nope").await.expect("sent")).await;
    assert_eq!((wrong.status, wrong.code()), (404, "not_found"));
    let secret: &'static str = Box::leak(format!("secret-of-{per_reg}").into_boxed_str());
    let ok = into_resp(del(secret).await.expect("sent")).await;
    assert_eq!(ok.status, 200);
    assert_eq!(
        into_resp(del(secret).await.expect("sent")).await.status,
        404
    );
    let r = h
        .call(
            Method::DELETE,
            &format!("/v1/push/registrations/{per_reg}"),
            None,
            None,
            None,
        )
        .await;
    assert_eq!(r.status, 400, "secret header required");
}
