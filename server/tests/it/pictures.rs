//! Profile pictures (the notice's "bilde" of a child and of a staff member): who may set them,
//! who may see them, bad uploads, and that they go with the consent, on removal and with the
//! erasure of their person, from every table, the database file and its WAL.

use crate::common::*;
use kidplan_api::sync::EntityKind;
use kidplan_server::demo;
use reqwest::Method;
use serde_json::{Value, json};

/// Tone Bakke, a teacher of the first department (logs in by phone).
const TEACHER_PHONE: &str = "+4792000002";

/// The teacher `token` sets their own picture; its id.
async fn set_own(h: &Harness, token: &str, canary: &str) -> String {
    let r = h
        .put_bytes(
            "/v1/staff/me/picture",
            token,
            "image/jpeg",
            jpeg(canary.as_bytes()),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    r.body["picture"]["id"].as_str().expect("id").to_owned()
}

async fn download(h: &Harness, token: &str, id: &str) -> (u16, Vec<u8>) {
    let r = h
        .http
        .get(h.url(&format!("/v1/pictures/{id}/content")))
        .bearer_auth(token)
        .send()
        .await
        .expect("sent");
    let status = r.status().as_u16();
    (status, r.bytes().await.expect("body").to_vec())
}

/// The entity `id` of `kind` as the feed of `token` shows it now.
async fn shown(h: &Harness, token: &str, kind: EntityKind, id: &str) -> Option<Value> {
    let (feed, _) = h.sync_from(token, 0, 1000).await;
    feed.iter()
        .rev()
        .find(|c| c.entity == kind && c.id == id)
        .and_then(|c| c.data.clone())
}

/// The guardian `token` withdraws the child's `photos_internal` consent.
async fn deny_photos(h: &Harness, token: &str, child: &str) {
    let r = h
        .command(
            Method::PUT,
            &format!("/v1/children/{child}/consents/photos_internal"),
            token,
            Some(json!({"state": "denied"})),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
}

fn raw_db(h: &Harness) -> Vec<u8> {
    let db = h.server.db_path();
    [raw_bytes(&db), raw_bytes(&db.with_extension("db-wal"))].concat()
}

#[tokio::test]
async fn a_childs_picture_needs_consent_is_seen_by_its_guardians_only_and_goes_with_the_consent() {
    const CANARY: &str = "Emmapicturecanary";
    let h = start().await;
    let staff = h.staff().await;
    let emma = demo::GUARDIAN_CHILD_IDS[0];
    let jakob = demo::GUARDIAN_CHILD_IDS[1];
    let path = |child: &str| format!("/v1/staff/children/{child}/picture");

    // Bad uploads change nothing: a type that is not an image, content that does not match
    // its type, an image over 2 MiB.
    let r = h
        .put_bytes(&path(emma), &staff, "text/plain", b"hello".to_vec())
        .await;
    assert_eq!(
        (r.status, r.code()),
        (415, "unsupported_media_type"),
        "{r:?}"
    );
    let r = h
        .put_bytes(&path(emma), &staff, "image/png", jpeg(CANARY.as_bytes()))
        .await;
    assert_eq!((r.status, r.code()), (400, "invalid_input"), "{r:?}");
    let big = jpeg("x".repeat(kidplan_api::MAX_PICTURE_BYTES).as_bytes());
    let r = h.put_bytes(&path(emma), &staff, "image/jpeg", big).await;
    assert_eq!(r.status, 413, "{r:?}");
    let kari = h.guardian().await;
    let child = shown(&h, &kari, EntityKind::Child, emma)
        .await
        .expect("Emma");
    assert!(child["picture"].is_null(), "no picture yet: {child}");

    // Set while the photo consent is given: Kari's feed carries it, Kari downloads it.
    let r = h
        .put_bytes(&path(emma), &staff, "image/jpeg", jpeg(CANARY.as_bytes()))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let picture = r.body["picture"]["id"].as_str().expect("id").to_owned();
    let child = shown(&h, &kari, EntityKind::Child, emma)
        .await
        .expect("Emma");
    assert_eq!(child["picture"]["id"], picture.as_str());
    assert_eq!(
        child["picture"]["size_bytes"],
        jpeg(CANARY.as_bytes()).len()
    );
    assert_eq!(
        download(&h, &kari, &picture).await,
        (200, jpeg(CANARY.as_bytes()))
    );
    assert_eq!(download(&h, &staff, &picture).await.0, 200);
    // Not another family, not another kindergarten's staff, not without a session.
    let per = h.other_guardian().await;
    assert_eq!(download(&h, &per, &picture).await.0, 404);
    let (per_feed, _) = h.sync_from(&per, 0, 1000).await;
    assert!(
        !serde_json::to_string(&per_feed)
            .expect("json")
            .contains(&picture)
    );
    let terje = h.login(demo::SECOND_STAFF_EMAIL).await.access_token;
    assert_eq!(download(&h, &terje, &picture).await.0, 404);
    let r = h
        .put_bytes(&path(emma), &terje, "image/jpeg", jpeg("x".as_bytes()))
        .await;
    assert_eq!(r.status, 404, "{r:?}");
    assert_eq!(download(&h, "not-a-token", &picture).await.0, 401);

    // Without the photo consent: refused, naming the child's id and not the child.
    deny_photos(&h, &kari, jakob).await;
    let r = h
        .put_bytes(
            &path(jakob),
            &staff,
            "image/jpeg",
            jpeg("Jakobpicture".as_bytes()),
        )
        .await;
    assert_eq!((r.status, r.code()), (409, "consent_required"), "{r:?}");
    let text = r.body.to_string();
    assert!(text.contains(jakob) && !text.contains("Jakob"), "{text}");
    assert!(!contains(&raw_db(&h), "Jakobpicture"), "nothing stored");

    // Kari withdraws Emma's photo consent: the picture is gone from the server and the feed.
    assert!(contains(&raw_db(&h), CANARY), "stored before");
    deny_photos(&h, &kari, emma).await;
    let child = shown(&h, &kari, EntityKind::Child, emma)
        .await
        .expect("Emma");
    assert!(child["picture"].is_null(), "{child}");
    assert_eq!(download(&h, &kari, &picture).await.0, 404);
    assert_eq!(download(&h, &staff, &picture).await.0, 404);
    assert!(!dump_tables(&h.server.db_path()).contains(CANARY));
    // Nor can staff set a new one until the consent is given again.
    let r = h
        .put_bytes(&path(emma), &staff, "image/jpeg", jpeg(CANARY.as_bytes()))
        .await;
    assert_eq!((r.status, r.code()), (409, "consent_required"), "{r:?}");
}

#[tokio::test]
async fn a_staff_picture_is_seen_by_the_kindergartens_families_and_erased_with_its_owner() {
    const CANARY: &str = "Staffpicturecanary";
    let h = start().await;
    let teacher = h.login(TEACHER_PHONE).await.access_token;
    let r = h
        .put_bytes(
            "/v1/staff/me/picture",
            &teacher,
            "image/jpeg",
            jpeg("first".as_bytes()),
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    let first = r.body["picture"]["id"].as_str().expect("id").to_owned();
    let teacher_id = r.body["id"].as_str().expect("id").to_owned();

    // A new picture is a new id; the old one is gone.
    let picture = set_own(&h, &teacher, CANARY).await;
    assert_ne!(picture, first);
    let kari = h.guardian().await;
    assert_eq!(download(&h, &kari, &first).await.0, 404);
    let shown_staff = shown(&h, &kari, EntityKind::Staff, &teacher_id)
        .await
        .expect("the teacher in Kari's feed");
    assert_eq!(shown_staff["picture"]["id"], picture.as_str());
    assert_eq!(
        download(&h, &kari, &picture).await,
        (200, jpeg(CANARY.as_bytes()))
    );
    // Families of the kindergarten see it; another kindergarten's family and staff do not.
    let per = h.other_guardian().await;
    assert_eq!(download(&h, &per, &picture).await.0, 200);
    let lise = h
        .login(demo::TWO_KINDERGARTEN_GUARDIAN_PHONE)
        .await
        .access_token;
    assert_eq!(download(&h, &lise, &picture).await.0, 404);
    let terje = h.login(demo::SECOND_STAFF_EMAIL).await.access_token;
    assert_eq!(download(&h, &terje, &picture).await.0, 404);

    // Removed by its owner, then set again, then erased with them.
    let r = h
        .call(
            Method::DELETE,
            "/v1/staff/me/picture",
            Some(&teacher),
            None,
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert!(r.body["picture"].is_null());
    assert_eq!(download(&h, &kari, &picture).await.0, 404);
    let picture = set_own(&h, &teacher, CANARY).await;
    assert!(contains(&raw_db(&h), CANARY), "stored before the erasure");
    let manager = h.staff().await;
    let r = h
        .erase(&manager, json!({"kind": "staff", "id": teacher_id}))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(download(&h, &kari, &picture).await.0, 404);
    assert!(!dump_tables(&h.server.db_path()).contains(CANARY));
    assert!(
        !contains(&raw_db(&h), CANARY),
        "left in the database file or WAL"
    );
}
