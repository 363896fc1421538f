//! The sync feed: paging equals a snapshot, every entity kind appears, per-viewer rendering,
//! tombstones on delete, and staff writes reaching the guardian's feed.

use crate::common::*;
use kidplan_api::sync::{ChangeOp, EntityKind};
use kidplan_server::demo;
use reqwest::Method;
use serde_json::json;
use std::collections::HashSet;

#[tokio::test]
async fn paging_from_zero_equals_a_full_snapshot() {
    let h = start().await;
    let kari = h.guardian().await;
    // Make sure every kind exists for Kari.
    let emma = demo::GUARDIAN_CHILD_IDS[0];
    let body = json!({"id": new_id(), "child_id": emma, "first_day": day(30), "last_day": day(31), "note": null});
    assert_eq!(
        h.command(Method::POST, "/v1/holidays", &kari, Some(body))
            .await
            .status,
        200
    );
    let body = json!({"id": new_id(), "right": "portability", "note": null});
    assert_eq!(
        h.command(Method::POST, "/v1/privacy-requests", &kari, Some(body))
            .await
            .status,
        200
    );
    let body = json!({"reminders": [{"kind": "calendar_event", "enabled": false, "at": "18:00", "days_before": 1}]});
    assert_eq!(
        h.command(Method::PUT, "/v1/me/reminder-settings", &kari, Some(body))
            .await
            .status,
        200
    );
    let body =
        json!({"preferences": [{"child_id": emma, "category": "photos", "delivery": "off"}]});
    assert_eq!(
        h.command(
            Method::PUT,
            "/v1/me/notification-preferences",
            &kari,
            Some(body)
        )
        .await
        .status,
        200
    );

    let (small, c1) = h.sync_from(&kari, 0, 7).await;
    let (big, c2) = h.sync_from(&kari, 0, 1000).await;
    assert_eq!(c1, c2);
    assert_eq!(small, big, "limit 7 and limit 1000 give the same feed");
    let seqs: Vec<i64> = big.iter().map(|c| c.seq).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "strictly increasing");
    let kinds: HashSet<EntityKind> = big.iter().map(|c| c.entity).collect();
    for k in EntityKind::ALL {
        assert!(kinds.contains(&k), "{k:?} missing from the feed");
    }
    for c in &big {
        let e = kidplan_api::sync::Entity::decode(c.entity, c.data.as_ref().expect("data"))
            .expect("decodes");
        assert!(e.is_some());
    }
    // Nothing new: one request, an empty page.
    let p = h.sync_page(&kari, c2, 1000).await;
    assert!(p.changes.is_empty() && !p.has_more && p.cursor == c2);
    // Bad limits.
    assert_eq!(h.get("/v1/sync?limit=0", &kari).await.status, 400);
    assert_eq!(h.get("/v1/sync?limit=abc", &kari).await.status, 400);
    // The contract's bounds: 1..=1000 and a cursor from 0.
    assert_eq!(h.get("/v1/sync?limit=1001", &kari).await.status, 400);
    assert_eq!(h.get("/v1/sync?cursor=-1", &kari).await.status, 400);
    assert_eq!(h.sync_page(&kari, 0, 1000).await.changes.len(), 1000);
}

#[tokio::test]
async fn entities_are_rendered_for_the_viewer() {
    let h = start().await;
    let kari = h.guardian().await;
    let (feed, _) = h.sync_from(&kari, 0, 1000).await;
    let find = |kind: EntityKind, id: &str| {
        feed.iter()
            .find(|c| c.entity == kind && c.id == id)
            .and_then(|c| c.data.clone())
    };
    let me = find(EntityKind::Guardian, demo::GUARDIAN_ID).expect("own guardian row");
    assert_eq!(me["email"], demo::GUARDIAN_EMAIL);
    let canary = find(EntityKind::Guardian, demo::CANARY_GUARDIAN_ID).expect("co-guardian visible");
    assert_eq!(canary["first_name"], demo::CANARY_GUARDIAN_FIRST_NAME);
    assert!(canary["email"].is_null() && canary["phone"].is_null() && canary["address"].is_null());
    let photo = find(EntityKind::Photo, demo::SHARED_PHOTO_ID).expect("shared photo");
    assert_eq!(
        photo["child_ids"],
        json!([demo::GUARDIAN_CHILD_IDS[0]]),
        "only Kari's child is tagged for Kari"
    );
    assert!(find(EntityKind::Photo, demo::CANARY_PHOTO_ID).is_none());
    assert!(find(EntityKind::Child, demo::CANARY_CHILD_ID).is_none());
    assert!(feed.iter().all(
        |c| c.entity != EntityKind::Child || demo::GUARDIAN_CHILD_IDS.contains(&c.id.as_str())
    ));

    // read_at is per viewer: Kari marks the canary thread read; the canary guardian's view differs.
    let msgs: Vec<_> = feed
        .iter()
        .filter(|c| {
            c.entity == EntityKind::Message
                && c.data
                    .as_ref()
                    .is_some_and(|d| d["thread_id"] == demo::CANARY_THREAD_ID)
        })
        .collect();
    let last = msgs
        .iter()
        .max_by_key(|c| c.data.as_ref().and_then(|d| d["sent_at"].as_i64()))
        .expect("message");
    let (_, cursor) = h.sync_from(&kari, 0, 1000).await;
    let r = h
        .command(
            Method::POST,
            &format!("/v1/threads/{}/read", demo::CANARY_THREAD_ID),
            &kari,
            Some(json!({"up_to": last.id})),
        )
        .await;
    assert_eq!(r.status, 200);
    let (changes, _) = h.sync_from(&kari, cursor, 1000).await;
    assert!(!changes.is_empty());
    assert!(changes.iter().all(|c| c.entity == EntityKind::Message
        && c.data.as_ref().is_some_and(|d| d["read_at"].is_i64())));
    let canary_token = h.login(demo::CANARY_GUARDIAN_EMAIL).await.access_token;
    let (theirs, _) = h.sync_from(&canary_token, 0, 1000).await;
    let staff_reply = theirs
        .iter()
        .find(|c| c.id == last.id)
        .and_then(|c| c.data.clone())
        .expect("same message for the canary guardian");
    assert!(
        staff_reply["read_at"].is_null(),
        "Kari's read mark is hers only"
    );
}

#[tokio::test]
async fn staff_writes_reach_the_feed_and_deletes_become_tombstones() {
    let h = start().await;
    let kari = h.guardian().await;
    let staff = h.staff().await;
    let (_, cursor) = h.sync_from(&kari, 0, 1000).await;
    let emma = demo::GUARDIAN_CHILD_IDS[0];
    let log = h
        .post(
            "/v1/staff/log-entries",
            &staff,
            json!({"child_id": emma, "kind": "meal", "text": "Spiste alt"}),
        )
        .await;
    assert_eq!(log.status, 200, "{log:?}");
    let att = h
        .post(
            &format!("/v1/staff/attendance/{emma}"),
            &staff,
            json!({"action": "check_in"}),
        )
        .await;
    assert_eq!(att.body["state"]["state"], "checked_in");
    assert_eq!(
        h.post(
            &format!("/v1/staff/attendance/{emma}"),
            &staff,
            json!({"action": "check_in"})
        )
        .await
        .status,
        409
    );
    let att = h
        .post(
            &format!("/v1/staff/attendance/{emma}"),
            &staff,
            json!({"action": "check_out"}),
        )
        .await;
    assert_eq!(att.body["state"]["state"], "checked_out");
    let ev = h.post("/v1/staff/events", &staff, json!({"department_id": null, "title": "Fest", "description": "Kake", "starts_at": 10, "ends_at": 20})).await;
    assert_eq!(ev.status, 200);
    let (changes, cursor) = h.sync_from(&kari, cursor, 1000).await;
    let ids: HashSet<&str> = changes.iter().map(|c| c.id.as_str()).collect();
    for e in [&log.body["id"], &att.body["id"], &ev.body["id"]] {
        assert!(ids.contains(e.as_str().unwrap_or("")), "{e} missing");
    }
    // Per (other family, other department's child) sees the event but not Emma's log entry.
    let per = h.other_guardian().await;
    let (per_feed, _) = h.sync_from(&per, 0, 1000).await;
    assert!(
        per_feed
            .iter()
            .any(|c| Some(c.id.as_str()) == ev.body["id"].as_str())
    );
    assert!(
        !per_feed
            .iter()
            .any(|c| Some(c.id.as_str()) == log.body["id"].as_str())
    );

    // Erasing the canary guardian deletes things Kari saw: tombstones without data.
    let r = h
        .erase(
            &staff,
            json!({"kind": "guardian", "id": demo::CANARY_GUARDIAN_ID}),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let (changes, _) = h.sync_from(&kari, cursor, 1000).await;
    let tomb = |kind: EntityKind, id: &str| {
        changes
            .iter()
            .any(|c| c.entity == kind && c.id == id && c.op == ChangeOp::Delete && c.data.is_none())
    };
    assert!(tomb(EntityKind::Guardian, demo::CANARY_GUARDIAN_ID));
    assert!(tomb(EntityKind::Thread, demo::CANARY_THREAD_ID));
    assert!(
        changes
            .iter()
            .any(|c| c.entity == EntityKind::GuardianChild && c.op == ChangeOp::Delete)
    );
    // A fresh snapshot has no trace of them.
    let (fresh, _) = h.sync_from(&kari, 0, 1000).await;
    let text = serde_json::to_string(
        &fresh
            .iter()
            .filter(|c| c.op == ChangeOp::Upsert)
            .collect::<Vec<_>>(),
    )
    .expect("json");
    assert!(!text.contains(demo::CANARY_GUARDIAN_ID));
    assert!(!text.contains(demo::CANARY_GUARDIAN_FIRST_NAME));
}
