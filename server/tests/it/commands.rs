//! Parent commands: idempotent replay of each command type, validation errors with `field`,
//! and state rules (an acknowledged absence cannot be edited).

use crate::common::*;
use kidplan_api::sync::EntityKind;
use kidplan_server::demo;
use reqwest::Method;
use serde_json::{Value, json};

/// Sends a command twice with the same key: same answer, and the replay changes nothing.
async fn replayed(
    h: &Harness,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Resp {
    let key = new_id();
    let first = h
        .call(method.clone(), path, Some(token), body.clone(), Some(&key))
        .await;
    assert_eq!(first.status, 200, "{method} {path}: {first:?}");
    let (_, cursor) = h.sync_from(token, 0, 1000).await;
    let again = h
        .call(method.clone(), path, Some(token), body.clone(), Some(&key))
        .await;
    assert_eq!(
        (again.status, &again.body),
        (first.status, &first.body),
        "{method} {path}"
    );
    let (changes, _) = h.sync_from(token, cursor, 1000).await;
    assert!(
        changes.is_empty(),
        "replay of {method} {path} changed {changes:?}"
    );
    // The same key for a different request is refused.
    let mut changed = body;
    let touched = changed
        .as_mut()
        .and_then(Value::as_object_mut)
        .is_some_and(|o| {
            let keys: Vec<String> = o
                .keys()
                .filter(|k| matches!(k.as_str(), "note" | "body" | "address"))
                .cloned()
                .collect();
            keys.iter().for_each(|k| {
                o.insert(k.clone(), json!("different"));
            });
            !keys.is_empty()
        });
    if let Some(b) = changed.filter(|_| touched) {
        let other = h
            .call(method.clone(), path, Some(token), Some(b), Some(&key))
            .await;
        assert_eq!(other.status, 409, "{method} {path}: {other:?}");
    }
    first
}

#[tokio::test]
async fn every_command_type_replays_idempotently() {
    let h = start().await;
    let kari = h.guardian().await;
    let emma = demo::GUARDIAN_CHILD_IDS[0];

    let absence = new_id();
    let r = replayed(&h, &kari, Method::POST, "/v1/absences",
        Some(json!({"id": absence, "child_id": emma, "first_day": day(1), "last_day": day(2), "reason": "sick", "note": "Feber"}))).await;
    assert_eq!(r.body["status"], "reported");
    assert_eq!(r.body["reported_by"], demo::GUARDIAN_ID);
    let r = replayed(&h, &kari, Method::PUT, &format!("/v1/absences/{absence}"),
        Some(json!({"first_day": day(1), "last_day": day(3), "reason": "sick", "note": "Fortsatt feber"}))).await;
    assert_eq!(r.body["last_day"], day(3));
    let r = replayed(
        &h,
        &kari,
        Method::DELETE,
        &format!("/v1/absences/{absence}"),
        None,
    )
    .await;
    assert_eq!(r.body["status"], "withdrawn");

    let r = replayed(&h, &kari, Method::POST, "/v1/holidays",
        Some(json!({"id": new_id(), "child_id": emma, "first_day": day(30), "last_day": day(40), "note": null}))).await;
    assert_eq!(r.body["registered_by"], demo::GUARDIAN_ID);

    let thread = new_id();
    let r = replayed(&h, &kari, Method::POST, "/v1/threads",
        Some(json!({"id": thread, "child_id": emma, "subject": "Spørsmål", "first_message_id": new_id(), "body": "Hei!"}))).await;
    assert_eq!(r.body["broadcast"], false);
    let r = replayed(
        &h,
        &kari,
        Method::POST,
        &format!("/v1/threads/{thread}/messages"),
        Some(json!({"id": new_id(), "body": "En ting til"})),
    )
    .await;
    assert!(r.body["read_at"].is_i64(), "own message is read: {r:?}");

    let (changes, _) = h.sync_from(&kari, 0, 1000).await;
    let last_canary_message = changes
        .iter()
        .filter(|c| {
            c.entity == EntityKind::Message
                && c.data
                    .as_ref()
                    .is_some_and(|d| d["thread_id"] == demo::CANARY_THREAD_ID)
        })
        .max_by_key(|c| c.data.as_ref().and_then(|d| d["sent_at"].as_i64()))
        .map(|c| c.id.clone())
        .expect("canary thread message");
    let r = replayed(
        &h,
        &kari,
        Method::POST,
        &format!("/v1/threads/{}/read", demo::CANARY_THREAD_ID),
        Some(json!({"up_to": last_canary_message})),
    )
    .await;
    assert_eq!(r.body, json!({"ok": true}));

    let r = replayed(
        &h,
        &kari,
        Method::PUT,
        &format!("/v1/children/{emma}/consents/trips"),
        Some(json!({"state": "denied"})),
    )
    .await;
    assert_eq!(r.body["state"], "denied");
    assert_eq!(r.body["history"].as_array().map(Vec::len), Some(2));

    let r = replayed(&h, &kari, Method::PUT, "/v1/me/contact",
        Some(json!({"email": null, "phone": "+47 912 34 560", "address": "Nyveien 2", "postal_code": ""}))).await;
    assert_eq!(
        r.body["phone"],
        demo::GUARDIAN_PHONE,
        "a new phone waits for its code"
    );
    assert_eq!(r.body["email"], demo::GUARDIAN_EMAIL);
    assert_eq!(r.body["postal_code"], Value::Null);

    let r = replayed(&h, &kari, Method::PUT, "/v1/me/notification-preferences",
        Some(json!({"preferences": [{"child_id": emma, "category": "child_log", "delivery": "off"}, {"child_id": emma, "category": "urgent", "delivery": "off"}]}))).await;
    let prefs = r.body["preferences"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let find = |cat: &str| {
        prefs
            .iter()
            .find(|p| p["child_id"] == emma && p["category"] == cat)
            .map(|p| p["delivery"].clone())
    };
    assert_eq!(find("child_log"), Some(json!("off")));
    assert_eq!(find("urgent"), Some(json!("on")), "urgent is always on");

    let r = replayed(
        &h,
        &kari,
        Method::POST,
        "/v1/privacy-requests",
        Some(json!({"id": new_id(), "right": "access", "note": "Alt"})),
    )
    .await;
    assert_eq!(r.body["status"], "received");
    let list = h.get("/v1/privacy-requests", &kari).await;
    assert_eq!(list.body.as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn commands_validate_input_and_need_a_key() {
    let h = start().await;
    let kari = h.guardian().await;
    let emma = demo::GUARDIAN_CHILD_IDS[0];
    let absence = |first: String, last: String, note: Value| json!({"id": new_id(), "child_id": emma, "first_day": first, "last_day": last, "reason": "sick", "note": note});
    let cases = [
        (
            Method::POST,
            "/v1/absences".to_owned(),
            absence(day(3), day(1), Value::Null),
            "last_day",
        ),
        (
            Method::POST,
            "/v1/absences".to_owned(),
            absence(day(1), day(1), json!("x".repeat(4001))),
            "note",
        ),
        (
            Method::POST,
            "/v1/absences".to_owned(),
            json!({"id": "bad id!", "child_id": emma, "first_day": day(1), "last_day": day(1), "reason": "sick", "note": null}),
            "id",
        ),
        (
            Method::POST,
            "/v1/absences".to_owned(),
            json!({"id": new_id(), "child_id": emma, "first_day": day(1), "last_day": day(1), "reason": "alien", "note": null}),
            "reason",
        ),
        (
            Method::POST,
            "/v1/threads".to_owned(),
            json!({"id": new_id(), "child_id": null, "subject": "  ", "first_message_id": new_id(), "body": "b"}),
            "subject",
        ),
        (
            Method::POST,
            "/v1/threads".to_owned(),
            json!({"id": new_id(), "child_id": null, "subject": "s", "first_message_id": new_id(), "body": ""}),
            "body",
        ),
        (
            Method::POST,
            format!("/v1/threads/{}/messages", demo::CANARY_THREAD_ID),
            json!({"id": new_id(), "body": "y".repeat(4001)}),
            "body",
        ),
        (
            Method::PUT,
            "/v1/me/contact".to_owned(),
            json!({"email": "not-an-email"}),
            "email",
        ),
        (
            Method::PUT,
            format!("/v1/children/{emma}/consents/hologram"),
            json!({"state": "granted"}),
            "kind",
        ),
        (
            Method::POST,
            "/v1/privacy-requests".to_owned(),
            json!({"id": new_id(), "right": "telepathy", "note": null}),
            "right",
        ),
        (
            Method::POST,
            "/v1/holidays".to_owned(),
            json!({"id": new_id(), "child_id": emma, "last_day": day(1), "note": null}),
            "first_day",
        ),
    ];
    for (method, path, body, field) in cases {
        let key = new_id();
        let r = h
            .call(
                method.clone(),
                &path,
                Some(&kari),
                Some(body.clone()),
                Some(&key),
            )
            .await;
        assert_eq!(r.status, 400, "{method} {path}: {r:?}");
        assert_eq!(r.code(), "invalid_input", "{method} {path}: {r:?}");
        assert_eq!(r.body["field"], field, "{method} {path}: {r:?}");
    }
    let body = absence(day(1), day(1), Value::Null);
    let r = h
        .call(
            Method::POST,
            "/v1/absences",
            Some(&kari),
            Some(body.clone()),
            None,
        )
        .await;
    assert_eq!(
        (r.status, r.body["field"].as_str()),
        (400, Some("Idempotency-Key"))
    );
    let r = h
        .call(
            Method::POST,
            "/v1/absences",
            Some(&kari),
            Some(body),
            Some("not-a-uuid"),
        )
        .await;
    assert_eq!(
        (r.status, r.body["field"].as_str()),
        (400, Some("Idempotency-Key"))
    );
    // A stored error answer is replayed as well.
    let key = new_id();
    let bad = absence(day(5), day(1), Value::Null);
    let a = h
        .call(
            Method::POST,
            "/v1/absences",
            Some(&kari),
            Some(bad.clone()),
            Some(&key),
        )
        .await;
    let b = h
        .call(
            Method::POST,
            "/v1/absences",
            Some(&kari),
            Some(bad),
            Some(&key),
        )
        .await;
    assert_eq!((a.status, a.body), (b.status, b.body));
}

#[tokio::test]
async fn acknowledged_absences_cannot_be_edited_and_ids_cannot_be_reused() {
    let h = start().await;
    let kari = h.guardian().await;
    let per = h.other_guardian().await;
    let staff = h.staff().await;
    let id = new_id();
    let body = json!({"id": id, "child_id": demo::GUARDIAN_CHILD_IDS[1], "first_day": day(1), "last_day": day(1), "reason": "appointment", "note": null});
    assert_eq!(
        h.command(Method::POST, "/v1/absences", &kari, Some(body.clone()))
            .await
            .status,
        200
    );
    assert_eq!(
        h.command(Method::POST, "/v1/absences", &kari, Some(body))
            .await
            .status,
        409,
        "id in use"
    );
    // Another family cannot take the id either (and learns nothing beyond "conflict").
    let theirs = json!({"id": id, "child_id": demo::SECOND_GUARDIAN_CHILD_ID, "first_day": day(1), "last_day": day(1), "reason": "sick", "note": null});
    assert_eq!(
        h.command(Method::POST, "/v1/absences", &per, Some(theirs))
            .await
            .status,
        409
    );

    let r = h
        .post(
            &format!("/v1/staff/absences/{id}/acknowledge"),
            &staff,
            json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["status"], "acknowledged");
    assert_eq!(r.body["acknowledged_by"], demo::STAFF_ID);
    let edit = json!({"first_day": day(1), "last_day": day(2), "reason": "sick", "note": null});
    let r = h
        .command(
            Method::PUT,
            &format!("/v1/absences/{id}"),
            &kari,
            Some(edit),
        )
        .await;
    assert_eq!((r.status, r.code()), (409, "conflict"));
    // A broadcast cannot be answered.
    let staff_thread = h
        .post(
            "/v1/staff/broadcasts",
            &staff,
            json!({"department_id": null, "subject": "Info", "body": "Hei", "urgent": false}),
        )
        .await;
    let tid = staff_thread.body["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let r = h
        .command(
            Method::POST,
            &format!("/v1/threads/{tid}/messages"),
            &kari,
            Some(json!({"id": new_id(), "body": "svar"})),
        )
        .await;
    assert_eq!(r.status, 409);
}
