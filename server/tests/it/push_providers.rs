//! FCM HTTP v1 and APNs against loopback fakes: the signed JWTs checked against the test
//! public keys, the OAuth2 exchange and its cache, headers, bodies, HTTP/2 for APNs, the
//! "token no longer valid" answers removing the registration, garbage answers waiting in the
//! queue, and a canary scan of every byte each fake received.

use crate::common::contains;
use crate::fakes::*;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use kidplan_server::demo;
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;

fn fcm_toml(fake: &Fake, dir: &std::path::Path) -> String {
    let sa = service_account(dir, &format!("{}/token", fake.url));
    format!(
        "[fcm]\nservice_account_file = \"{}\"\nbase_url = \"{}\"\ntimeout_ms = 400\n[queue]\nmax_attempts = 3\n",
        sa.display(),
        fake.url
    )
}

async fn log_entry(server: &kidplan_server::RunningServer, staff: &str, text: &str) -> String {
    let (status, body) = call(
        server,
        Method::POST,
        "/v1/staff/log-entries",
        staff,
        json!({"child_id": demo::GUARDIAN_CHILD_IDS[0], "kind": "note", "text": text}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["id"].as_str().expect("id").to_owned()
}

/// An urgent broadcast to the whole kindergarten, delivered.
async fn urgent_broadcast(server: &kidplan_server::RunningServer, staff: &str, body: &str) {
    let (status, _) = call(
        server,
        Method::POST,
        "/v1/staff/broadcasts",
        staff,
        json!({"department_id": null, "subject": "Stengt", "body": body, "urgent": true}),
    )
    .await;
    assert_eq!(status, 200);
    server.deliver_queue().await;
}

/// A text carrying every canary (child, guardian, contact): what staff write about a child.
fn canary_text() -> String {
    format!(
        "{} og {} ({}) var på tur",
        demo::CANARY_CHILD_NAME,
        demo::CANARY_GUARDIAN_NAME,
        demo::CANARY_GUARDIAN_PHONE
    )
}

fn assert_no_canary(bytes: &[u8], what: &str) {
    for c in demo::CANARY_STRINGS
        .iter()
        .chain(["Emma", "Kari", "var på tur"].iter())
    {
        assert!(!contains(bytes, c), "{what} received {c:?}");
    }
}

#[tokio::test]
async fn fcm_signs_exchanges_caches_and_sends_content_free_messages() {
    let fake = Fake::start().await;
    let keydir = tempfile::tempdir().expect("tempdir");
    let (server, _dir, clock) = server_with(&fcm_toml(&fake, keydir.path())).await;
    let kari = login(&server, demo::GUARDIAN_EMAIL).await;
    let staff = login(&server, demo::STAFF_EMAIL).await;
    register_push(&server, &kari, "fcm", "fcm-device-token-1").await;

    let text = canary_text();
    assert!(
        contains(text.as_bytes(), demo::CANARY_STRINGS[0]),
        "the scan sees a canary"
    );
    let entry = log_entry(&server, &staff, &text).await;
    assert!(
        fake.requests().is_empty(),
        "queued, not sent in the request"
    );
    let report = server.deliver_queue().await;
    assert_eq!(report.delivered, 1, "{report:?}");

    // The OAuth2 exchange: a JWT signed with the service account's key.
    let token_calls = fake.to("/token");
    assert_eq!(token_calls.len(), 1);
    let form = token_calls[0].form();
    assert_eq!(
        form[0],
        (
            "grant_type".into(),
            "urn:ietf:params:oauth:grant-type:jwt-bearer".into()
        )
    );
    assert_eq!(form[1].0, "assertion");
    let token_uri = format!("{}/token", fake.url);
    let mut v = Validation::new(Algorithm::RS256);
    v.set_audience(&[&token_uri]);
    v.set_issuer(&["push@kidplan-test.iam.gserviceaccount.com"]);
    let key = DecodingKey::from_rsa_pem(keys().rsa_public.as_bytes()).expect("public key");
    let jwt = jsonwebtoken::decode::<Value>(&form[1].1, &key, &v).expect("signature and claims");
    assert_eq!(jwt.header.kid.as_deref(), Some("test-key-id-1"));
    assert_eq!(
        jwt.claims["scope"],
        "https://www.googleapis.com/auth/firebase.messaging"
    );
    let iat = jwt.claims["iat"].as_i64().expect("iat");
    assert_eq!(jwt.claims["exp"].as_i64(), Some(iat + 3600));
    assert_eq!(iat, clock.now().timestamp());
    let other = DecodingKey::from_ec_pem(keys().ec_public.as_bytes()).expect("ec key");
    assert!(
        jsonwebtoken::decode::<Value>(&form[1].1, &other, &Validation::new(Algorithm::ES256))
            .is_err()
    );

    // The message: bearer access token, data only.
    let sends = fake.to("/messages:send");
    assert_eq!(sends.len(), 1);
    assert_eq!(sends[0].path, "/v1/projects/kidplan-test/messages:send");
    assert_eq!(
        sends[0].header("authorization"),
        format!("Bearer {ACCESS_TOKEN}")
    );
    assert_eq!(
        sends[0].json(),
        json!({"message": {"token": "fcm-device-token-1", "data": {"v": "1", "kind": "sync", "hint": format!("log_entry/{entry}")}}})
    );

    // The access token is reused until five minutes before it expires (3599 s).
    log_entry(&server, &staff, "t").await;
    server.deliver_queue().await;
    assert_eq!(fake.to("/token").len(), 1, "cached");
    clock.advance(Duration::from_secs(3599 - 299));
    log_entry(&server, &staff, "t").await;
    server.deliver_queue().await;
    assert_eq!(fake.to("/token").len(), 2, "renewed near expiry");
    assert_eq!(fake.to("/messages:send").len(), 3);

    // Urgent: a high-priority data message, still without text.
    urgent_broadcast(&server, &staff, &text).await;
    let last = fake.to("/messages:send").pop().expect("urgent push").json();
    assert_eq!(last["message"]["android"], json!({"priority": "HIGH"}));
    assert!(last["message"].get("notification").is_none());

    assert_no_canary(&fake.scanned_bytes(), "FCM");
    // No access token and no key in the database (file and WAL).
    let mut db = crate::common::raw_bytes(&server.db_path());
    db.extend(crate::common::raw_bytes(
        &server.db_path().with_extension("db-wal"),
    ));
    assert!(!contains(&db, ACCESS_TOKEN));
    let key_line = keys().rsa_private.lines().nth(3).expect("key line");
    assert!(!contains(&db, key_line));
}

#[tokio::test]
async fn fcm_token_answers_remove_registrations_and_garbage_waits() {
    let fake = Fake::start().await;
    let keydir = tempfile::tempdir().expect("tempdir");
    let (server, _dir, clock) = server_with(&fcm_toml(&fake, keydir.path())).await;
    let kari = login(&server, demo::GUARDIAN_EMAIL).await;
    let staff = login(&server, demo::STAFF_EMAIL).await;
    let gone = register_push(&server, &kari, "fcm", "fcm-unregistered").await;
    let invalid = register_push(&server, &kari, "fcm", "fcm-invalid").await;
    let healthy = register_push(&server, &kari, "fcm", "fcm-healthy").await;
    let unregistered = json!({"error": {"code": 404, "message": "Requested entity was not found.", "status": "NOT_FOUND",
        "details": [{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": "UNREGISTERED"}]}});
    let bad_token = json!({"error": {"code": 400, "message": "The registration token is not a valid FCM registration token", "status": "INVALID_ARGUMENT",
        "details": [{"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": "INVALID_ARGUMENT"}]}});
    fake.script(
        "/messages:send",
        Answer::Status(404, None, unregistered.to_string()),
    );
    fake.script(
        "/messages:send",
        Answer::Status(400, None, bad_token.to_string()),
    );
    log_entry(&server, &staff, "t").await;
    let report = server.deliver_queue().await;
    // Registrations are ordered by id; which one got which answer depends on it.
    assert_eq!(
        (report.unregistered, report.delivered),
        (2, 1),
        "{report:?}"
    );
    let left = column(&server, "SELECT id FROM push_registrations ORDER BY id");
    assert_eq!(left.len(), 1);
    assert!([&gone, &invalid, &healthy].iter().any(|r| **r == left[0]));
    assert!(column(&server, "SELECT id FROM send_queue").is_empty());

    // The token endpoint answers garbage: the push waits, nothing is lost.
    fake.script(
        "/token",
        Answer::Status(200, None, "<html>not json</html>".into()),
    );
    clock.advance(Duration::from_secs(3600));
    log_entry(&server, &staff, "t").await;
    let r = server.deliver_queue().await;
    assert_eq!(r.retried, 1, "{r:?}");
    assert_eq!(
        column(&server, "SELECT last_error FROM send_queue"),
        ["auth_invalid_response"]
    );
    clock.advance(Duration::from_secs(40));
    let r = server.deliver_queue().await;
    assert_eq!(r.delivered, 1, "{r:?}");
    assert!(column(&server, "SELECT id FROM send_queue").is_empty());
}

fn apns_toml(fake: &Fake, dir: &std::path::Path) -> String {
    let p8 = dir.join("AuthKey_ABC123DEFG.p8");
    std::fs::write(&p8, &keys().ec_private).expect("write p8");
    format!(
        "[apns]\nkey_file = \"{}\"\nkey_id = \"ABC123DEFG\"\nteam_id = \"TEAM123456\"\ntopic = \"no.kidplan.test\"\nbase_url = \"{}\"\ntimeout_ms = 400\n",
        p8.display(),
        fake.url
    )
}

#[tokio::test]
async fn apns_uses_http2_es256_tokens_and_removes_unregistered_devices() {
    let fake = Fake::start().await;
    let keydir = tempfile::tempdir().expect("tempdir");
    let (server, _dir, clock) = server_with(&apns_toml(&fake, keydir.path())).await;
    let kari = login(&server, demo::GUARDIAN_EMAIL).await;
    let staff = login(&server, demo::STAFF_EMAIL).await;
    let device = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90";
    register_push(&server, &kari, "apns", device).await;
    let text = canary_text();
    let entry = log_entry(&server, &staff, &text).await;
    assert_eq!(server.deliver_queue().await.delivered, 1);

    let sent = fake.requests();
    assert_eq!(sent.len(), 1);
    let r = &sent[0];
    assert_eq!(r.version, axum::http::Version::HTTP_2);
    assert_eq!(
        (r.method.as_str(), r.path.as_str()),
        ("POST", &*format!("/3/device/{device}"))
    );
    assert_eq!(r.header("apns-topic"), "no.kidplan.test");
    assert_eq!(r.header("apns-push-type"), "background");
    assert_eq!(r.header("apns-priority"), "5");
    assert_eq!(
        r.json(),
        json!({"aps": {"content-available": 1}, "v": 1, "kind": "sync", "hint": format!("log_entry/{entry}")})
    );
    let auth = r
        .header("authorization")
        .strip_prefix("bearer ")
        .expect("bearer")
        .to_owned();
    let key = DecodingKey::from_ec_pem(keys().ec_public.as_bytes()).expect("public key");
    let mut v = Validation::new(Algorithm::ES256);
    v.required_spec_claims.clear();
    v.validate_exp = false;
    let jwt = jsonwebtoken::decode::<Value>(&auth, &key, &v).expect("ES256 signature");
    assert_eq!(jwt.header.kid.as_deref(), Some("ABC123DEFG"));
    assert_eq!(
        jwt.claims,
        json!({"iss": "TEAM123456", "iat": clock.now().timestamp()})
    );

    // Urgent: an alert push (the app's extension writes the text), priority 10.
    urgent_broadcast(&server, &staff, &text).await;
    let urgent = fake.requests().pop().expect("urgent");
    assert_eq!(
        (
            urgent.header("apns-push-type"),
            urgent.header("apns-priority")
        ),
        ("alert", "10")
    );
    assert_eq!(urgent.json()["aps"]["mutable-content"], 1);
    assert_eq!(
        urgent.header("authorization"),
        r.header("authorization"),
        "token reused"
    );

    // After 40 minutes a new provider token.
    clock.advance(Duration::from_secs(40 * 60 + 1));
    log_entry(&server, &staff, "t").await;
    server.deliver_queue().await;
    let renewed = fake.requests().pop().expect("push");
    assert_ne!(renewed.header("authorization"), r.header("authorization"));

    // 429 with Retry-After: the push waits exactly that long, then goes.
    fake.script(
        "/3/device/",
        Answer::Status(
            429,
            Some("30"),
            json!({"reason": "TooManyRequests"}).to_string(),
        ),
    );
    log_entry(&server, &staff, "t").await;
    assert_eq!(server.deliver_queue().await.retried, 1);
    clock.advance(Duration::from_secs(29));
    assert_eq!(server.deliver_queue().await.delivered, 0);
    clock.advance(Duration::from_secs(1));
    assert_eq!(server.deliver_queue().await.delivered, 1);

    // 410 Unregistered: the registration is removed.
    fake.script(
        "/3/device/",
        Answer::Status(
            410,
            None,
            json!({"reason": "Unregistered", "timestamp": 1}).to_string(),
        ),
    );
    log_entry(&server, &staff, "t").await;
    let report = server.deliver_queue().await;
    assert_eq!(report.unregistered, 1, "{report:?}");
    assert!(
        column(
            &server,
            "SELECT id FROM push_registrations WHERE token LIKE 'a1b2%'"
        )
        .is_empty()
    );
    log_entry(&server, &staff, "t").await;
    assert_eq!(
        server.deliver_queue().await,
        kidplan_server::QueueReport::default()
    );
    assert_no_canary(&fake.scanned_bytes(), "APNs");
}
