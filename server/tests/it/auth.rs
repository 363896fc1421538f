//! Login by one-time code through the outbox, lockout-proof limits, token rotation.

use crate::common::*;
use kidplan_api::auth::Role;
use kidplan_server::demo;
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn login_end_to_end_through_the_outbox() {
    let h = start().await;
    let s = h.login(demo::GUARDIAN_EMAIL).await;
    assert_eq!(s.role, Role::Guardian);
    assert_eq!(s.person_id, demo::GUARDIAN_ID);
    assert_eq!(s.kindergarten_name, demo::KINDERGARTEN_NAME);
    assert_eq!(s.expires_in, 900);
    assert_eq!(h.get("/v1/sync?limit=1", &s.access_token).await.status, 200);

    // Only recipient and text go to the provider: Mailgun form fields.
    let sent = h.server.sent_messages();
    let m = sent.last().expect("message");
    assert_eq!(m.provider, "mailgun");
    assert_eq!(m.recipient, demo::GUARDIAN_EMAIL);
    let fields: Vec<&str> = m
        .body
        .split('&')
        .map(|kv| kv.split('=').next().unwrap_or(""))
        .collect();
    assert_eq!(fields, ["from", "to", "subject", "text"]);
    assert!(!m.body.contains("Kari"), "no name to the provider");

    // SMS by phone number, LinkMobility JSON.
    let s = h.login(demo::GUARDIAN_PHONE).await;
    assert_eq!(s.person_id, demo::GUARDIAN_ID);
    let m = h.server.sent_messages().pop().expect("sms");
    assert_eq!(m.provider, "linkmobility");
    let v: serde_json::Value = serde_json::from_str(&m.body).expect("json");
    let mut keys: Vec<_> = v.as_object().expect("object").keys().cloned().collect();
    keys.sort();
    assert_eq!(keys, ["destination", "source", "userData"]);

    // Staff log in the same way.
    let s = h.login(demo::STAFF_EMAIL).await;
    assert_eq!(s.role, Role::Staff);
    assert_eq!(s.person_id, demo::STAFF_ID);
}

#[tokio::test]
async fn unknown_contact_gets_the_same_answer_and_a_notice_without_a_code() {
    let h = start().await;
    let before = h.server.sent_messages().len();
    let r = h
        .post_anonymous("/v1/auth/code", json!({"contact": "nobody@example.org"}))
        .await;
    assert_eq!(r.status, 202);
    assert_eq!(r.body, json!({"ok": true}));
    let sent = h.server.sent_messages();
    assert_eq!(sent.len(), before + 1, "the same provider path as a code");
    let notice = sent.last().expect("notice");
    assert_eq!(notice.recipient, "nobody@example.org");
    let text = kidplan_server::providers::message_text(notice).expect("text");
    assert_eq!(kidplan_server::providers::find_code(&text), None, "{text}");
    assert_eq!(h.server.last_login_code("nobody@example.org"), None);
    let r = h
        .post_anonymous(
            "/v1/auth/token",
            json!({"contact": "nobody@example.org", "code": "123456"}),
        )
        .await;
    assert_eq!(r.status, 401);
    assert_eq!(r.code(), "unauthorized");
}

/// A client bound to another loopback address: a stranger on another network.
fn stranger() -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
        .build()
        .expect("client")
}

#[tokio::test]
async fn a_stranger_cannot_lock_a_parent_out() {
    let h = start().await;
    let contact = demo::GUARDIAN_EMAIL;
    let s = stranger();
    let post = |path: &'static str, body: serde_json::Value| {
        let s = s.clone();
        let url = h.url(path);
        async move { into_resp(s.post(url).json(&body).send().await.expect("sent")).await }
    };
    // The stranger asks for codes again and again: always 202, and only the first five are
    // sent (the newest three of them stay valid).
    let before = h.server.sent_messages().len();
    for _ in 0..12 {
        let r = post("/v1/auth/code", json!({ "contact": contact })).await;
        assert_eq!(r.status, 202, "{r:?}");
    }
    assert_eq!(h.server.sent_messages().len(), before + 5);
    let code = h.server.last_login_code(contact).expect("code");
    let wrong = if code == "000000" { "111111" } else { "000000" };
    // Wrong guesses lock out the stranger for this contact, not the code.
    let mut refused = 0;
    for _ in 0..20 {
        let r = post("/v1/auth/token", json!({"contact": contact, "code": wrong})).await;
        assert!(matches!(r.status, 401 | 429), "{r:?}");
        refused += usize::from(r.status == 429);
    }
    assert_eq!(refused, 15, "five wrong tries, then 429 for this client");
    // The parent, on her own network, logs in with the code in her inbox.
    let r = h
        .post_anonymous("/v1/auth/token", json!({"contact": contact, "code": code}))
        .await;
    assert_eq!(r.status, 200, "{r:?}");
}

#[tokio::test]
async fn codes_expire_after_ten_minutes() {
    let (cfg, dir, clock) = manual_config();
    let h = start_with(cfg, dir).await;
    let contact = demo::GUARDIAN_EMAIL;
    h.post_anonymous("/v1/auth/code", json!({ "contact": contact }))
        .await;
    let code = h.server.last_login_code(contact).expect("code");
    clock.advance(Duration::from_secs(601));
    let r = h
        .post_anonymous("/v1/auth/token", json!({"contact": contact, "code": code}))
        .await;
    assert_eq!(r.status, 401);
}

#[tokio::test]
async fn code_requests_are_rate_limited_per_contact_and_per_ip() {
    let (cfg, dir, clock) = manual_config();
    let h = start_with(cfg, dir).await;
    let body = json!({ "contact": demo::GUARDIAN_EMAIL });
    let sent = || h.server.sent_messages().len();
    let before = sent();
    for _ in 0..6 {
        assert_eq!(
            h.post_anonymous("/v1/auth/code", body.clone()).await.status,
            202
        );
    }
    assert_eq!(
        sent(),
        before + 5,
        "the sixth is answered but sends nothing"
    );
    // An unknown contact is limited the same way (the answer does not reveal anything).
    let unknown = json!({ "contact": "ghost@example.org" });
    let before = sent();
    for _ in 0..6 {
        assert_eq!(
            h.post_anonymous("/v1/auth/code", unknown.clone())
                .await
                .status,
            202
        );
    }
    assert_eq!(sent(), before + 5);
    clock.advance(Duration::from_secs(601));
    let before = sent();
    assert_eq!(h.post_anonymous("/v1/auth/code", body).await.status, 202);
    assert_eq!(sent(), before + 1);
    h.server.stop().await;

    // Per client IP.
    let (mut cfg, dir) = config();
    cfg.rate_limits.codes_per_ip = 3;
    let h = start_with(cfg, dir).await;
    for i in 0..3 {
        let r = h
            .post_anonymous(
                "/v1/auth/code",
                json!({"contact": format!("p{i}@example.org")}),
            )
            .await;
        assert_eq!(r.status, 202);
    }
    let r = h
        .post_anonymous("/v1/auth/code", json!({"contact": "p9@example.org"}))
        .await;
    assert_eq!(r.status, 429);
    assert_eq!(r.code(), "rate_limited");
    let retry: u32 = r.headers["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=600).contains(&retry), "{retry}");
    assert_eq!(r.body["retry_after_s"], retry);
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_session() {
    let h = start().await;
    let s1 = h.login(demo::GUARDIAN_EMAIL).await;
    let r = h
        .post_anonymous(
            "/v1/auth/refresh",
            json!({"refresh_token": s1.refresh_token}),
        )
        .await;
    assert_eq!(r.status, 200);
    let s2: kidplan_api::auth::Session = serde_json::from_value(r.body).expect("session");
    assert_ne!(s2.refresh_token, s1.refresh_token);
    assert_ne!(s2.access_token, s1.access_token);
    assert_eq!(
        h.get("/v1/sync?limit=1", &s2.access_token).await.status,
        200
    );

    // The old refresh token again: theft detected, the whole session is revoked.
    let r = h
        .post_anonymous(
            "/v1/auth/refresh",
            json!({"refresh_token": s1.refresh_token}),
        )
        .await;
    assert_eq!(r.status, 401);
    assert_eq!(r.code(), "session_expired");
    assert_eq!(
        h.get("/v1/sync?limit=1", &s2.access_token).await.status,
        401
    );
    let r = h
        .post_anonymous(
            "/v1/auth/refresh",
            json!({"refresh_token": s2.refresh_token}),
        )
        .await;
    assert_eq!(r.status, 401);
    assert_eq!(r.code(), "session_expired");

    // A made-up refresh token.
    let r = h
        .post_anonymous("/v1/auth/refresh", json!({"refresh_token": "kpr_forged"}))
        .await;
    assert_eq!(r.status, 401);
}

#[tokio::test]
async fn access_tokens_expire_and_logout_revokes() {
    let (cfg, dir, clock) = manual_config();
    let h = start_with(cfg, dir).await;
    let s = h.login(demo::GUARDIAN_EMAIL).await;
    clock.advance(Duration::from_secs(901));
    let r = h.get("/v1/sync?limit=1", &s.access_token).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.code(), "unauthorized");
    let r = h
        .post_anonymous(
            "/v1/auth/refresh",
            json!({"refresh_token": s.refresh_token}),
        )
        .await;
    assert_eq!(r.status, 200);
    let s: kidplan_api::auth::Session = serde_json::from_value(r.body).expect("session");
    let r = h
        .post(
            "/v1/auth/logout",
            &s.access_token,
            json!({"refresh_token": s.refresh_token}),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(h.get("/v1/sync?limit=1", &s.access_token).await.status, 401);
    let r = h
        .post_anonymous(
            "/v1/auth/refresh",
            json!({"refresh_token": s.refresh_token}),
        )
        .await;
    assert_eq!(r.status, 401);
}
