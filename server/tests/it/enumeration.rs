//! Nobody can find out who is registered: the answers to a login-code request and to a
//! contact change are the same whether the contact belongs to someone or not, and a new
//! contact is only the guardian's after the code sent to it comes back.

use crate::common::*;
use kidplan_server::demo;
use reqwest::Method;
use serde_json::{Value, json};

/// Status, body and header names of an answer (the `date` header's value varies).
fn shape(r: &Resp) -> (u16, Value, Vec<String>) {
    let mut names: Vec<String> = r.headers.keys().map(|k| k.as_str().to_owned()).collect();
    names.sort();
    (r.status, r.body.clone(), names)
}

#[tokio::test]
async fn login_code_answers_are_the_same_for_known_and_unknown_contacts() {
    let h = start().await;
    for (known, unknown) in [
        (demo::GUARDIAN_EMAIL, "nobody.here@example.org"),
        (demo::STAFF_EMAIL, "nobody.there@example.org"),
        (demo::GUARDIAN_PHONE, "+4799999999"),
    ] {
        let a = h
            .post_anonymous("/v1/auth/code", json!({ "contact": known }))
            .await;
        let b = h
            .post_anonymous("/v1/auth/code", json!({ "contact": unknown }))
            .await;
        assert_eq!(shape(&a), shape(&b), "{known} / {unknown}");
    }
}

#[tokio::test]
async fn a_contact_change_answers_the_same_whether_the_contact_is_taken_or_free() {
    let h = start().await;
    let kari = h.guardian().await;
    let put = |email: &str| {
        let h = &h;
        let kari = &kari;
        let body = json!({"email": email, "phone": null, "address": null, "postal_code": null});
        async move {
            h.command(Method::PUT, "/v1/me/contact", kari, Some(body))
                .await
        }
    };
    // Taken by another guardian, by staff, and free.
    let taken = put(demo::SECOND_GUARDIAN_EMAIL).await;
    let staff = put(demo::STAFF_EMAIL).await;
    let free = put("kari.ny@example.org").await;
    assert_eq!(taken.status, 200, "{taken:?}");
    assert_eq!(shape(&taken), shape(&free));
    assert_eq!(shape(&staff), shape(&free));
    assert_eq!(free.body["email"], demo::GUARDIAN_EMAIL, "not changed yet");

    // The owner of a taken address is told, with no code; the free address gets a code.
    let sent = h.server.sent_messages();
    let text_to = |to: &str| {
        sent.iter()
            .rev()
            .find(|m| m.recipient == to)
            .and_then(kidplan_server::providers::message_text)
            .unwrap_or_default()
    };
    let notice = text_to(demo::SECOND_GUARDIAN_EMAIL);
    assert!(notice.contains("already in use"), "{notice}");
    assert_eq!(kidplan_server::providers::find_code(&notice), None);
    let code = kidplan_server::providers::find_code(&text_to("kari.ny@example.org"))
        .expect("a code to the new address");

    // A guessed code fails like a wrong one; the right one changes the address.
    let confirm = |code: &str| {
        let h = &h;
        let kari = &kari;
        let body = json!({ "code": code });
        async move { h.post("/v1/me/contact/confirm", kari, body).await }
    };
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let r = confirm(wrong).await;
    assert_eq!(r.status, 400, "{r:?}");
    assert_eq!(r.body["field"], "code");
    let r = confirm(&code).await;
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.body["email"], "kari.ny@example.org");
    // Spent.
    assert_eq!(confirm(&code).await.status, 400);
    // And she logs in with it.
    let s = h.login("kari.ny@example.org").await;
    assert_eq!(s.person_id, demo::GUARDIAN_ID);
}

#[tokio::test]
async fn a_taken_address_cannot_be_confirmed_even_with_every_code_tried_once() {
    let h = start().await;
    let kari = h.guardian().await;
    let body = json!({"email": demo::SECOND_GUARDIAN_EMAIL, "phone": null, "address": null, "postal_code": null});
    let r = h
        .command(Method::PUT, "/v1/me/contact", &kari, Some(body))
        .await;
    assert_eq!(r.status, 200);
    // Five tries and the pending change is gone; no code was ever sent, so none can match.
    for guess in ["000000", "123456", "999999", "424242", "101010"] {
        let r = h
            .post("/v1/me/contact/confirm", &kari, json!({ "code": guess }))
            .await;
        assert_eq!(r.status, 400, "{r:?}");
    }
    let (changes, _) = h.sync_from(&kari, 0, 1000).await;
    let me = changes
        .iter()
        .find(|c| c.id == demo::GUARDIAN_ID)
        .and_then(|c| c.data.clone())
        .expect("me");
    assert_eq!(me["email"], demo::GUARDIAN_EMAIL);
}
