//! Parental responsibility (foreldreansvar), over HTTP: staff take it from one of a child's two
//! guardians; that guardian's device is told to drop the child's documents and consents and
//! gets the child without its free text, the file and the consent and rights commands are
//! refused with `parental_responsibility_required`, while the other guardian keeps everything;
//! giving it back brings it all back.

use crate::common::*;
use kidplan_api::sync::{Change, ChangeOp, EntityKind};
use kidplan_server::seed::demo;
use reqwest::Method;
use rusqlite::Connection;
use serde_json::{Value, json};
use std::collections::HashMap;

type State = HashMap<(EntityKind, String), Value>;

fn apply(state: &mut State, changes: Vec<Change>) {
    for c in changes {
        match c.op {
            ChangeOp::Delete => {
                state.remove(&(c.entity, c.id));
            }
            _ => {
                state.insert((c.entity, c.id), c.data.expect("data"));
            }
        }
    }
}

/// What a guardian's device holds after syncing from scratch, and the cursor.
async fn fresh(h: &Harness, token: &str) -> (State, i64) {
    let (changes, cursor) = h.sync_from(token, 0, 500).await;
    let mut state = State::new();
    apply(&mut state, changes);
    (state, cursor)
}

fn of_child(state: &State, kind: EntityKind, child: &str) -> usize {
    state
        .iter()
        .filter(|((k, _), v)| *k == kind && v["child_id"] == child)
        .count()
}

/// Staff set the responsibility of a link (`path`) to `value`.
async fn put(h: &Harness, staff: &str, path: &str, value: Value) -> Resp {
    h.call(
        Method::PUT,
        path,
        Some(staff),
        Some(json!({ "parental_responsibility": value })),
        None,
    )
    .await
}

const INFO: &str = "Responsibility test: epipen in the red bag";

#[tokio::test]
async fn a_guardian_without_parental_responsibility_loses_documents_consents_and_free_text() {
    let h = start().await;
    let emma = demo::GUARDIAN_CHILD_IDS[0];
    let (staff, kari) = (h.staff().await, h.guardian().await);
    let other = h.login(demo::CANARY_GUARDIAN_EMAIL).await.access_token;
    let link: String = {
        let conn = Connection::open(h.server.db_path()).expect("db");
        conn.execute("UPDATE children SET info = ?2 WHERE id = ?1", [emma, INFO])
            .expect("info");
        conn.query_row(
            "SELECT id FROM guardian_children WHERE child_id = ?1 AND guardian_id = ?2",
            [emma, demo::GUARDIAN_ID],
            |r| r.get(0),
        )
        .expect("link")
    };
    let up = h
        .http
        .post(h.url(&format!("/v1/staff/documents?title=t&child_id={emma}")))
        .bearer_auth(&staff)
        .header("content-type", "application/pdf")
        .body(b"%PDF-1.4 responsibility".to_vec())
        .send()
        .await
        .expect("sent");
    assert_eq!(up.status(), 200);
    let doc: Value = up.json().await.expect("document");
    let doc = doc["id"].as_str().expect("id").to_owned();
    let content = format!("/v1/documents/{doc}/content");

    // With responsibility: Kari sees the document, the consents and the free text.
    let (mut held, cursor) = fresh(&h, &kari).await;
    assert!(held.contains_key(&(EntityKind::Document, doc.clone())));
    let consents = of_child(&held, EntityKind::Consent, emma);
    assert!(consents > 0, "the seed gives Emma consents");
    assert_eq!(held[&(EntityKind::Child, emma.to_owned())]["info"], INFO);
    assert_eq!(h.get(&content, &kari).await.status, 200);

    // Bad input changes nothing.
    let path = format!("/v1/staff/relations/{link}/parental-responsibility");
    let r = put(&h, &staff, &path, json!("no")).await;
    assert_eq!(r.status, 400, "{r:?}");
    let r = put(
        &h,
        &staff,
        "/v1/staff/relations/no-such-link/parental-responsibility",
        json!(false),
    )
    .await;
    assert_eq!(
        (r.status, r.body["code"].as_str()),
        (404, Some("not_found")),
        "{r:?}"
    );
    assert_eq!(h.get(&content, &kari).await.status, 200, "nothing changed");

    let (theirs_before, _) = fresh(&h, &other).await;

    // Staff take it away.
    let r = put(&h, &staff, &path, json!(false)).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["parental_responsibility"], false);

    // Kari's device, syncing on from where it was, ends where a fresh sync ends: without the
    // document, the consents and the free text, with the child and the link.
    let (changes, _) = h.sync_from(&kari, cursor, 500).await;
    apply(&mut held, changes);
    let (now, _) = fresh(&h, &kari).await;
    let differ: Vec<_> = held
        .keys()
        .chain(now.keys())
        .filter(|k| held.get(*k) != now.get(*k))
        .collect();
    assert!(
        differ.is_empty(),
        "the tombstones took away what a fresh sync lacks: {differ:?}"
    );
    assert!(!now.contains_key(&(EntityKind::Document, doc.clone())));
    assert_eq!(of_child(&now, EntityKind::Consent, emma), 0);
    let child = &now[&(EntityKind::Child, emma.to_owned())];
    assert_eq!(child["info"], Value::Null);
    assert_eq!(child["first_name"], "Emma", "the name stays");
    assert_eq!(
        now[&(EntityKind::GuardianChild, link.clone())]["parental_responsibility"],
        false
    );

    // The file and the commands are refused, with a stable code.
    assert_eq!(h.get(&content, &kari).await.status, 404);
    let r = h
        .command(
            Method::PUT,
            &format!("/v1/children/{emma}/consents/photos_internal"),
            &kari,
            Some(json!({"state": "withdrawn"})),
        )
        .await;
    assert_eq!(r.status, 403, "{r:?}");
    assert_eq!(r.body["code"], "parental_responsibility_required");
    let r = h
        .command(
            Method::POST,
            "/v1/privacy-requests",
            &kari,
            Some(json!({"id": new_id(), "right": "rectification", "note": "x", "child_id": emma})),
        )
        .await;
    assert_eq!(r.status, 403, "{r:?}");
    assert_eq!(r.body["code"], "parental_responsibility_required");

    // The other guardian keeps everything, and the consents were not changed.
    let (theirs, _) = fresh(&h, &other).await;
    assert!(theirs.contains_key(&(EntityKind::Document, doc.clone())));
    assert_eq!(of_child(&theirs, EntityKind::Consent, emma), consents);
    let consents_of = |st: &State| -> Vec<Value> {
        let mut v: Vec<Value> = st
            .iter()
            .filter(|((k, _), v)| *k == EntityKind::Consent && v["child_id"] == emma)
            .map(|(_, v)| v.clone())
            .collect();
        v.sort_by_key(|c| c["id"].to_string());
        v
    };
    assert_eq!(
        consents_of(&theirs),
        consents_of(&theirs_before),
        "no consent changed"
    );
    assert_eq!(theirs[&(EntityKind::Child, emma.to_owned())]["info"], INFO);
    assert_eq!(h.get(&content, &other).await.status, 200);

    // Given back: everything comes back at the next sync.
    let (_, cursor) = fresh(&h, &kari).await;
    let r = put(&h, &staff, &path, json!(true)).await;
    assert_eq!(r.status, 200, "{r:?}");
    let (changes, _) = h.sync_from(&kari, cursor, 500).await;
    let mut back = now;
    apply(&mut back, changes);
    assert!(back.contains_key(&(EntityKind::Document, doc.clone())));
    assert_eq!(of_child(&back, EntityKind::Consent, emma), consents);
    assert_eq!(back[&(EntityKind::Child, emma.to_owned())]["info"], INFO);
    assert_eq!(h.get(&content, &kari).await.status, 200);
}
