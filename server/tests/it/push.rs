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

/// Every kind of push on both providers: each event carries a canary in its content (shown
/// stored on the server first), and no payload carries any canary, name or contact.
#[tokio::test]
async fn every_push_kind_on_both_providers_is_content_free() {
    let h = start().await;
    let kari = h.guardian().await;
    let staff = h.staff().await;
    for (provider, token) in [("fcm", "kari-fcm"), ("apns", "kari-apns")] {
        let r = register(&h, &kari, &new_id(), provider, token).await;
        assert_eq!(r.status, 200, "{r:?}");
    }
    let (emma, jakob) = (demo::GUARDIAN_CHILD_IDS[0], demo::GUARDIAN_CHILD_IDS[1]);
    let abs = new_id();
    let body = json!({"id": abs, "child_id": jakob, "first_day": day(1), "last_day": day(1), "reason": "sick", "note": "Pushcanary-absence"});
    assert_eq!(
        h.command(Method::POST, "/v1/absences", &kari, Some(body))
            .await
            .status,
        200
    );
    h.upload_photo(
        &staff,
        emma,
        "Pushcanary-caption",
        b"Pushcanary-photo-bytes",
    )
    .await;
    let thread = h
        .post(
            "/v1/staff/threads",
            &staff,
            json!({"child_id": emma, "subject": "Pushcanary-subject", "body": "Pushcanary-first"}),
        )
        .await;
    assert_eq!(thread.status, 200, "{thread:?}");
    let thread_id = thread.body["id"].as_str().expect("thread id").to_owned();
    // (kind, entity prefix of the hint, request)
    let events: Vec<(&str, &str, String, Value)> = vec![
        (
            "log entry",
            "log_entry/",
            "/v1/staff/log-entries".into(),
            json!({"child_id": emma, "kind": "note", "text": "Pushcanary-log"}),
        ),
        (
            "staff message",
            "message/",
            format!("/v1/staff/threads/{thread_id}/messages"),
            json!({"body": "Pushcanary-message"}),
        ),
        (
            "broadcast",
            "message/",
            "/v1/staff/broadcasts".into(),
            json!({"department_id": null, "subject": "Pushcanary-bsubject", "body": "Pushcanary-broadcast", "urgent": false}),
        ),
        (
            "urgent broadcast",
            "message/",
            "/v1/staff/broadcasts".into(),
            json!({"department_id": null, "subject": "Pushcanary-usubject", "body": "Pushcanary-urgent", "urgent": true}),
        ),
        (
            "calendar event",
            "calendar_event/",
            "/v1/staff/events".into(),
            json!({"department_id": null, "title": "Pushcanary-event", "description": "Pushcanary-description", "starts_at": 1, "ends_at": 2}),
        ),
        (
            "absence acknowledged",
            "absence/",
            format!("/v1/staff/absences/{abs}/acknowledge"),
            json!({}),
        ),
    ];
    for (kind, _, path, body) in &events {
        let r = h.post(path, &staff, body.clone()).await;
        assert_eq!(r.status, 200, "{kind}: {r:?}");
    }

    // The canaries are stored on the server (the scan finds them where they belong).
    let canaries = [
        "Pushcanary-absence",
        "Pushcanary-caption",
        "Pushcanary-subject",
        "Pushcanary-first",
        "Pushcanary-log",
        "Pushcanary-message",
        "Pushcanary-bsubject",
        "Pushcanary-broadcast",
        "Pushcanary-usubject",
        "Pushcanary-urgent",
        "Pushcanary-event",
        "Pushcanary-description",
    ];
    let tables = dump_tables(&h.server.db_path());
    for c in canaries {
        assert!(tables.contains(c), "{c} not stored on the server");
    }
    assert!(contains(
        &files_bytes(&h.server.files_dir()),
        "Pushcanary-photo-bytes"
    ));
    let mut personal: Vec<String> = canaries.iter().map(|s| s.to_string()).collect();
    personal.extend(demo::CANARY_STRINGS.iter().map(|s| s.to_string()));
    personal.extend(
        [
            "Pushcanary-photo-bytes",
            "Emma",
            "Jakob",
            "Nordmann",
            "Kari",
            "Randi",
            "Solberg",
            demo::GUARDIAN_EMAIL,
            demo::GUARDIAN_PHONE,
            demo::STAFF_EMAIL,
            demo::KINDERGARTEN_NAME,
            emma,
            jakob,
            demo::GUARDIAN_ID,
            demo::STAFF_ID,
        ]
        .map(str::to_owned),
    );

    // Every kind reached both providers, and no payload carries anything personal.
    let pushes = h.server.sent_pushes();
    for (_, token) in [("fcm", "kari-fcm"), ("apns", "kari-apns")] {
        let hints: Vec<String> = payloads(&h, token)
            .iter()
            .map(|p| {
                p.pointer("/message/data/hint")
                    .or(p.get("hint"))
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned()
            })
            .collect();
        for prefix in [
            "photo/",
            "message/",
            "log_entry/",
            "calendar_event/",
            "absence/",
        ] {
            assert!(
                hints.iter().any(|h| h.starts_with(prefix)),
                "{token}: no {prefix} push in {hints:?}"
            );
        }
        // The thread start, the message, two broadcasts: one push each.
        assert_eq!(
            hints.iter().filter(|h| h.starts_with("message/")).count(),
            4,
            "{token}: {hints:?}"
        );
        assert_eq!(hints.len(), 8, "{token}: {hints:?}");
    }
    for p in pushes
        .iter()
        .filter(|p| p.token == "kari-fcm" || p.token == "kari-apns")
    {
        let text = String::from_utf8_lossy(&p.payload);
        for s in &personal {
            assert!(
                !contains(&p.payload, s),
                "push payload carries {s:?}: {text}"
            );
        }
    }
}
