//! The staff member's free text (a category of the privacy notice): set by the staff member
//! over HTTP, seen by the kindergarten's guardians in the feed, refused when oversized, and
//! gone from every table, the database file and the feed when the staff member is erased.

use crate::common::*;
use kidplan_api::sync::EntityKind;
use reqwest::Method;
use serde_json::json;

const CANARY: &str = "Staffnotecanary: glad i friluftsliv";
/// Tone Bakke, a teacher of the first department (logs in by phone).
const TEACHER_PHONE: &str = "+4792000002";

#[tokio::test]
async fn staff_free_text_is_shown_to_families_and_erased_with_the_staff_member() {
    let h = start().await;
    let teacher = h.login(TEACHER_PHONE).await.access_token;
    let r = h
        .call(
            Method::PUT,
            "/v1/staff/me/info",
            Some(&teacher),
            Some(json!({"info": "x".repeat(2001)})),
            None,
        )
        .await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (400, Some("invalid_input")),
        "{r:?}"
    );
    let r = h
        .call(
            Method::PUT,
            "/v1/staff/me/info",
            Some(&teacher),
            Some(json!({"info": CANARY})),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["info"], CANARY);
    let id = r.body["id"].as_str().expect("id").to_owned();

    // Seen by a guardian of the kindergarten, stored on the server.
    let kari = h.guardian().await;
    let (feed, _) = h.sync_from(&kari, 0, 1000).await;
    let shown = feed
        .iter()
        .find(|c| c.entity == EntityKind::Staff && c.id == id)
        .and_then(|c| c.data.clone())
        .expect("the teacher is in Kari's feed");
    assert_eq!(shown["info"], CANARY);
    let db = h.server.db_path();
    assert!(dump_tables(&db).contains(CANARY), "in a table before");

    // Erased with the staff member.
    let manager = h.staff().await;
    let r = h.erase(&manager, json!({"kind": "staff", "id": id})).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert!(!dump_tables(&db).contains(CANARY), "left in a table");
    let wal = db.with_extension("db-wal");
    let raw = [raw_bytes(&db), raw_bytes(&wal)].concat();
    assert!(!contains(&raw, CANARY), "left in the database file or WAL");
    let (feed, _) = h.sync_from(&kari, 0, 1000).await;
    assert!(!serde_json::to_string(&feed).expect("json").contains(CANARY));
}
