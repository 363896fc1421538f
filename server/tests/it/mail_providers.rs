//! Mailgun and LinkMobility against loopback fakes, and the send queue around them: basic
//! auth, body shape (only recipient and message), `Retry-After`, backoff, dead letters seen by
//! a manager only, nothing lost on a restart, a hanging provider blocking nothing else, e-mail
//! and SMS notices per the guardian's choice, urgent broadcasts by SMS.

use crate::common::contains;
use crate::fakes::*;
use base64::Engine;
use kidplan_server::{RunningServer, demo};
use reqwest::Method;
use serde_json::json;
use std::time::Duration;

const MAILGUN_KEY: &str = "key-mailguncanary0123";
const LINK_PASSWORD: &str = "linkpasswordcanary";

fn mailgun_toml(fake: &Fake, dir: &std::path::Path) -> String {
    let key = dir.join("mailgun.key");
    std::fs::write(&key, format!("{MAILGUN_KEY}\n")).expect("key file");
    format!(
        "[mailgun]\nbase_url = \"{}\"\ndomain = \"mg.test.no\"\nfrom = \"Kidplan <no-reply@mg.test.no>\"\napi_key_file = \"{}\"\ntimeout_ms = 300\n[queue]\nmax_attempts = 3\nbase_backoff_s = 30\n",
        fake.url,
        key.display()
    )
}

fn next_at(server: &RunningServer) -> i64 {
    column(
        server,
        "SELECT next_at FROM send_queue WHERE state = 'pending'",
    )
    .first()
    .and_then(|s| s.parse().ok())
    .expect("a pending row")
}

async fn request_code(server: &RunningServer, contact: &str) {
    let r = reqwest::Client::new()
        .post(format!("{}/v1/auth/code", server.base_url()))
        .json(&json!({"contact": contact}))
        .send()
        .await
        .expect("code");
    assert_eq!(r.status(), 202, "the request never waits for the provider");
}

#[tokio::test]
async fn mailgun_retries_honours_retry_after_and_dead_letters() {
    let fake = Fake::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (server, _data, clock) = server_with(&mailgun_toml(&fake, dir.path())).await;

    fake.script("/messages", Answer::Status(429, Some("120"), "{}".into()));
    fake.script("/messages", Answer::Status(500, None, "oops".into()));
    fake.script("/messages", Answer::Hang);
    request_code(&server, demo::GUARDIAN_EMAIL).await;
    let t0 = clock.now_ms();
    assert_eq!(server.deliver_queue().await.retried, 1);
    assert_eq!(
        next_at(&server),
        t0 + 120_000,
        "Retry-After honoured exactly"
    );
    clock.advance(Duration::from_secs(119));
    assert_eq!(
        server.deliver_queue().await.retried,
        0,
        "not before Retry-After"
    );
    assert_eq!(fake.requests().len(), 1);
    clock.advance(Duration::from_secs(1));
    assert_eq!(server.deliver_queue().await.retried, 1, "500: another try");
    let wait = next_at(&server) - clock.now_ms();
    assert!(
        (48_000..=72_000).contains(&wait),
        "second backoff 60 s ± 20 %: {wait}"
    );
    clock.advance(Duration::from_secs(80));
    let r = server.deliver_queue().await;
    assert_eq!(r.dead, 1, "a timeout on the last try: dead {r:?}");
    fake.release();

    // Dead: blanked at once, visible to a manager without recipient or text, not to others.
    assert_eq!(
        column(
            &server,
            "SELECT coalesce(recipient, '') || coalesce(body, '') || state || attempts FROM send_queue"
        ),
        ["dead3"]
    );
    // Randi (manager) logs in by SMS: e-mail goes to the fake here.
    let manager = login(&server, "+4792000001").await;
    let r = reqwest::Client::new()
        .get(format!("{}/v1/staff/send-queue", server.base_url()))
        .bearer_auth(&manager)
        .send()
        .await
        .expect("queue");
    assert_eq!(r.status(), 200);
    let text = r.text().await.expect("body");
    let list: serde_json::Value = serde_json::from_str(&text).expect("json");
    let dead = list
        .as_array()
        .and_then(|l| l.iter().find(|x| x["state"] == "dead"))
        .expect("the dead row");
    assert_eq!(
        (dead["channel"].as_str(), dead["attempts"].as_u64()),
        (Some("email"), Some(3))
    );
    assert_eq!(dead["last_error"], "timeout");
    assert!(
        !text.contains("kari") && !text.contains("login code"),
        "{text}"
    );
    let teacher = login(&server, "+4792000002").await;
    let r = reqwest::Client::new()
        .get(format!("{}/v1/staff/send-queue", server.base_url()))
        .bearer_auth(&teacher)
        .send()
        .await
        .expect("queue");
    assert_eq!(r.status(), 403, "managers only");

    // Expired dead rows are deleted by maintenance after a week.
    clock.advance(Duration::from_secs(8 * 86_400));
    server.run_maintenance().expect("maintenance");
    assert!(column(&server, "SELECT id FROM send_queue WHERE state = 'dead'").is_empty());

    // Delivered: exactly what Mailgun expects, and the code works.
    request_code(&server, demo::GUARDIAN_EMAIL).await;
    assert_eq!(server.deliver_queue().await.delivered, 1);
    let sent = fake.requests().pop().expect("sent");
    assert_eq!(sent.path, "/v3/mg.test.no/messages");
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("api:{MAILGUN_KEY}"));
    assert_eq!(sent.header("authorization"), format!("Basic {basic}"));
    assert_eq!(
        sent.header("content-type"),
        "application/x-www-form-urlencoded"
    );
    let form = sent.form();
    let keys: Vec<&str> = form.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["from", "to", "subject", "text"]);
    assert_eq!(form[1].1, demo::GUARDIAN_EMAIL);
    let code = kidplan_server::providers::find_code(&form[3].1).expect("a code");
    let r = reqwest::Client::new()
        .post(format!("{}/v1/auth/token", server.base_url()))
        .json(&json!({"contact": demo::GUARDIAN_EMAIL, "code": code}))
        .send()
        .await
        .expect("token");
    assert_eq!(r.status(), 200, "the code Mailgun carried logs in");
    assert!(
        column(&server, "SELECT id FROM send_queue").is_empty(),
        "delivered rows are deleted"
    );
    let db = crate::common::raw_bytes(&server.db_path());
    assert!(!contains(&db, MAILGUN_KEY));
}

#[tokio::test]
async fn queued_sends_survive_a_restart() {
    let fake = Fake::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let toml = mailgun_toml(&fake, dir.path());
    let (mut cfg, data, clock) = crate::common::manual_config();
    configure(&mut cfg, dir.path(), &toml);
    let server = RunningServer::start(cfg.clone()).await.expect("start");
    fake.script("/messages", Answer::Status(503, Some("60"), "{}".into()));
    request_code(&server, demo::GUARDIAN_EMAIL).await;
    assert_eq!(server.deliver_queue().await.retried, 1);
    server.stop().await;

    let server = RunningServer::start(cfg).await.expect("restart");
    clock.advance(Duration::from_secs(61));
    assert_eq!(server.deliver_queue().await.delivered, 1);
    assert_eq!(fake.requests().len(), 2);
    assert_eq!(fake.requests()[1].form()[1].1, demo::GUARDIAN_EMAIL);
    drop(data);
}

#[tokio::test]
async fn a_hanging_provider_blocks_nothing_else() {
    let push_fake = Fake::start().await;
    let mail_fake = Fake::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let sa = service_account(dir.path(), &format!("{}/token", push_fake.url));
    let toml = format!(
        "{}[fcm]\nservice_account_file = \"{}\"\nbase_url = \"{}\"\ntimeout_ms = 20000\n",
        mailgun_toml(&mail_fake, dir.path()),
        sa.display(),
        push_fake.url
    );
    let (mut cfg, _data, _clock) = crate::common::manual_config();
    configure(&mut cfg, dir.path(), &toml);
    cfg.queue_every = Some(Duration::from_millis(50));
    let server = RunningServer::start(cfg).await.expect("start");
    // Staff log in by SMS (the outbox): the e-mail channel is Mailgun.
    let staff = login(&server, "+4792000002").await;
    let kari_phone = login(&server, demo::GUARDIAN_PHONE).await;
    register_push(&server, &kari_phone, "fcm", "fcm-hangs").await;

    push_fake.script("/messages:send", Answer::Hang);
    let (status, _) = call(
        &server,
        Method::POST,
        "/v1/staff/log-entries",
        &staff,
        json!({"child_id": demo::GUARDIAN_CHILD_IDS[0], "kind": "note", "text": "t"}),
    )
    .await;
    assert_eq!(
        status, 200,
        "the request that queued the push did not wait for it"
    );
    wait_for(|| !push_fake.to("/messages:send").is_empty()).await;
    request_code(&server, demo::GUARDIAN_EMAIL).await;
    wait_for(|| !mail_fake.requests().is_empty()).await;
    // The e-mail's row goes once Mailgun answered; the push still hangs.
    wait_for(|| column(&server, "SELECT channel FROM send_queue") == ["push"]).await;
    assert_eq!(
        push_fake.to("/messages:send").len(),
        1,
        "still the one hanging try"
    );
    push_fake.release();
    server.stop().await;
}

/// Waits (bounded) for a condition the server reaches on its own.
async fn wait_for(cond: impl Fn() -> bool) {
    for _ in 0..400 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("condition not reached in 10 s");
}

fn linkmobility_toml(fake: &Fake) -> String {
    format!(
        "[linkmobility]\nbase_url = \"{}\"\nsource = \"Kidplan\"\nplatform_id = \"COMMON_API\"\nplatform_partner_id = \"4242\"\nusername = \"kidplan-test\"\npassword_file = \"link.pw\"\n",
        fake.url
    )
}

#[tokio::test]
async fn urgent_broadcasts_go_by_sms_and_notices_follow_the_guardians_choice() {
    let fake = Fake::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("link.pw"), LINK_PASSWORD).expect("password file");
    let (mut cfg, _data, clock) = crate::common::manual_config();
    configure(&mut cfg, dir.path(), &linkmobility_toml(&fake));
    let server = RunningServer::start(cfg).await.expect("start");
    let kari = login(&server, demo::GUARDIAN_EMAIL).await;
    let staff = login(&server, demo::STAFF_EMAIL).await;
    register_push(&server, &kari, "fcm", "kari-device").await;
    let guardians_with_phone = column(
        &server,
        &format!("SELECT DISTINCT g.phone FROM guardians g JOIN guardian_children gc ON gc.guardian_id = g.id
          JOIN children c ON c.id = gc.child_id WHERE c.kindergarten_id = '{}' AND g.phone IS NOT NULL", demo::KINDERGARTEN_ID),
    );
    let body = format!("{} er hentet. Barnehagen stenger.", demo::CANARY_CHILD_NAME);
    assert!(contains(body.as_bytes(), demo::CANARY_STRINGS[0]));
    let (status, _) = call(
        &server,
        Method::POST,
        "/v1/staff/broadcasts",
        &staff,
        json!({"department_id": null, "subject": "Stengt i dag", "body": body, "urgent": true}),
    )
    .await;
    assert_eq!(status, 200);
    // LinkMobility is busy once: that SMS waits for its Retry-After, the others go.
    fake.script("/sms/send", Answer::Status(503, Some("5"), "{}".into()));
    let r = server.deliver_queue().await;
    assert_eq!(
        (r.delivered, r.retried),
        (guardians_with_phone.len() - 1, 1),
        "{r:?}"
    );
    clock.advance(Duration::from_secs(5));
    assert_eq!(server.deliver_queue().await.delivered, 1);
    let sms = fake.requests();
    let mut to: Vec<String> = sms
        .iter()
        .map(|s| s.json()["destination"].as_str().unwrap_or("").to_owned())
        .collect();
    to.sort();
    to.dedup();
    let mut expected = guardians_with_phone.clone();
    expected.sort();
    assert_eq!(to, expected);
    let first = &sms[0];
    assert_eq!(first.path, "/sms/send");
    let basic =
        base64::engine::general_purpose::STANDARD.encode(format!("kidplan-test:{LINK_PASSWORD}"));
    assert_eq!(first.header("authorization"), format!("Basic {basic}"));
    let j = first.json();
    let mut fields: Vec<&str> = j
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default();
    fields.sort();
    assert_eq!(
        fields,
        [
            "destination",
            "platformId",
            "platformPartnerId",
            "source",
            "useDeliveryReport",
            "userData"
        ]
    );
    assert_eq!(
        j["userData"],
        "Kidplan: Viktig melding fra barnehagen. Åpne Kidplan."
    );
    for s in &sms {
        let mut b = s.body.to_vec();
        b.extend(s.path.as_bytes());
        for c in demo::CANARY_STRINGS.iter().filter(|c| !c.starts_with('+')) {
            assert!(!contains(&b, c), "SMS carried {c}");
        }
        assert!(!contains(&b, "Stengt i dag") && !contains(&b, "hentet"));
    }
    // The canary guardian's own number is a recipient, never text.
    let canary_sms = sms
        .iter()
        .filter(|s| contains(&s.body, demo::CANARY_GUARDIAN_PHONE))
        .count();
    assert!(canary_sms <= 1);

    // Kari turns urgent SMS off (push only) and wants messages about Emma by e-mail instead of push.
    let emma = demo::GUARDIAN_CHILD_IDS[0];
    let prefs = json!({"preferences": [
        {"child_id": emma, "category": "urgent", "delivery": "on"},
        {"child_id": demo::GUARDIAN_CHILD_IDS[1], "category": "urgent", "delivery": "off"},
        {"child_id": emma, "category": "messages", "delivery": "email"},
        {"child_id": demo::GUARDIAN_CHILD_IDS[1], "category": "messages", "delivery": "off"}]});
    let (status, body) = call(
        &server,
        Method::PUT,
        "/v1/me/notification-preferences",
        &kari,
        prefs,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let urgent_pref = body["preferences"]
        .as_array()
        .and_then(|p| {
            p.iter()
                .find(|x| x["child_id"] == demo::GUARDIAN_CHILD_IDS[1] && x["category"] == "urgent")
        })
        .cloned();
    assert_eq!(
        urgent_pref.map(|p| p["delivery"].clone()),
        Some(json!("on")),
        "urgent is always pushed"
    );
    let before = fake.requests().len();
    call(
        &server,
        Method::POST,
        "/v1/staff/broadcasts",
        &staff,
        json!({"department_id": null, "subject": "Stengt", "body": "b", "urgent": true}),
    )
    .await;
    server.deliver_queue().await;
    let new: Vec<_> = fake.requests().into_iter().skip(before).collect();
    assert_eq!(new.len(), guardians_with_phone.len() - 1);
    assert!(
        !new.iter()
            .any(|s| s.json()["destination"] == demo::GUARDIAN_PHONE)
    );

    // A message about Emma: an e-mail notice (outbox here), no push, in Kari's language.
    rusqlite::Connection::open(server.db_path())
        .and_then(|c| {
            c.execute(
                "UPDATE guardians SET locale = 'en' WHERE id = ?1",
                [demo::GUARDIAN_ID],
            )
        })
        .expect("locale");
    let pushes_before = server.sent_pushes().len();
    let (status, thread) = call(&server, Method::POST, "/v1/staff/threads", &staff,
        json!({"child_id": emma, "subject": "Emma i dag", "body": format!("{} falt", demo::CANARY_CHILD_NAME)})).await;
    assert_eq!(status, 200, "{thread}");
    let mails: Vec<_> = server
        .sent_messages()
        .into_iter()
        .filter(|m| m.recipient == demo::GUARDIAN_EMAIL)
        .collect();
    let notice = mails.last().expect("an e-mail notice");
    assert_eq!(
        kidplan_server::providers::message_text(notice).as_deref(),
        Some("You have a new message in Kidplan.")
    );
    assert!(
        !notice.body.contains("Emma") && !notice.body.contains("Canaryx"),
        "{}",
        notice.body
    );
    assert_eq!(
        server.sent_pushes().len(),
        pushes_before,
        "e-mail instead of push"
    );
}

#[tokio::test]
async fn provider_failures_are_logged_by_category_never_by_content() {
    let fake = Fake::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (server, _data, clock) = server_with(&mailgun_toml(&fake, dir.path())).await;
    let log = dir.path().join("server.log");
    let file = std::fs::File::create(&log).expect("log file");
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(std::sync::Mutex::new(file))
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    // The provider's answers quote the key and the recipient, as real error bodies may.
    let quoting =
        json!({"message": format!("Forbidden: {MAILGUN_KEY} for {}", demo::GUARDIAN_EMAIL)});
    fake.script("/messages", Answer::Status(401, None, quoting.to_string()));
    fake.script("/messages", Answer::Status(400, None, quoting.to_string()));
    request_code(&server, demo::GUARDIAN_EMAIL).await;
    assert_eq!(server.deliver_queue().await.retried, 1, "a wrong key waits");
    clock.advance(Duration::from_secs(60));
    assert_eq!(server.deliver_queue().await.dead, 1, "a refusal is final");
    let text = std::fs::read_to_string(&log).expect("log");
    assert!(
        text.contains("category=\"http_401\"") && text.contains("category=\"http_400\""),
        "{text}"
    );
    assert!(text.contains("provider=\"mailgun\""), "{text}");
    for secret in [MAILGUN_KEY, demo::GUARDIAN_EMAIL, "login code", "Forbidden"] {
        assert!(!text.contains(secret), "{secret} in the log: {text}");
    }
}
