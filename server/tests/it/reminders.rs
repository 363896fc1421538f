//! Reminders with a controlled clock: a calendar event the day before at 18:00 Oslo, once
//! (also after a restart), off when the guardian turns it off; a holiday registration deadline
//! only to guardians with a child not registered; settings and deadlines in the feed.

use crate::fakes::*;
use chrono::{NaiveDate, TimeDelta};
use kidplan_server::reminders::{oslo_day, oslo_instant};
use kidplan_server::{RunningServer, demo};
use reqwest::Method;
use serde_json::{Value, json};

fn at(day: NaiveDate, h: u32, m: u32) -> chrono::DateTime<chrono::Utc> {
    oslo_instant(day, (h, m)).expect("instant")
}

/// The reminder pushes a device received (from the push outbox), as payloads.
fn reminders(server: &RunningServer, token: &str) -> Vec<Value> {
    server
        .sent_pushes()
        .into_iter()
        .filter(|p| p.token == token)
        .map(|p| serde_json::from_slice::<Value>(&p.payload).expect("json"))
        .filter(|v| v["message"]["data"]["kind"] == "reminder")
        .collect()
}

/// Sets the clock, runs the scheduler and counts the device's reminders with `hint`.
async fn run_at(
    server: &RunningServer,
    clock: &kidplan_server::Clock,
    when: chrono::DateTime<chrono::Utc>,
    token: &str,
    hint: &str,
) -> usize {
    clock.set(when);
    server.run_reminders().await.expect("run");
    with_hint(&reminders(server, token), hint)
}

fn with_hint(list: &[Value], hint: &str) -> usize {
    list.iter()
        .filter(|v| v["message"]["data"]["hint"] == hint)
        .count()
}

#[tokio::test]
async fn reminders_come_once_at_the_chosen_time_and_only_when_needed() {
    let (mut cfg, _dir, clock) = crate::common::manual_config();
    cfg.reminders_every = None;
    cfg.queue_every = None;
    cfg.access_token_ttl_s = 30 * 86_400;
    let server = RunningServer::start(cfg.clone()).await.expect("start");
    let kari = login(&server, demo::GUARDIAN_EMAIL).await;
    let per = login(&server, demo::SECOND_GUARDIAN_EMAIL).await;
    let staff = login(&server, demo::STAFF_EMAIL).await;
    register_push(&server, &kari, "fcm", "kari-phone").await;
    register_push(&server, &per, "fcm", "per-phone").await;

    // Ten days ahead: no seeded event or deadline has a reminder due that day.
    let d0 = oslo_day(clock.now_ms()).0 + TimeDelta::days(10);
    let starts = at(d0 + TimeDelta::days(1), 9, 0).timestamp_millis();
    let (status, event) = call(&server, Method::POST, "/v1/staff/events", &staff,
        json!({"department_id": null, "title": "Juletrefest", "description": null, "starts_at": starts, "ends_at": starts + 7_200_000})).await;
    assert_eq!(status, 200, "{event}");
    let hint = format!("calendar_event/{}", event["id"].as_str().expect("id"));

    // Per turns event reminders off; Kari wants calendar news by push and e-mail for Emma.
    let off = json!({"reminders": [{"kind": "calendar_event", "enabled": false, "at": "18:00", "days_before": 1}]});
    let (status, body) = call(&server, Method::PUT, "/v1/me/reminder-settings", &per, off).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["reminders"].as_array().map(Vec::len),
        Some(2),
        "both kinds, defaults filled in"
    );
    let bad = json!({"reminders": [{"kind": "calendar_event", "enabled": true, "at": "25:00", "days_before": 1}]});
    assert_eq!(
        call(&server, Method::PUT, "/v1/me/reminder-settings", &per, bad)
            .await
            .0,
        400
    );
    let email = json!({"preferences": [{"child_id": demo::GUARDIAN_CHILD_IDS[0], "category": "calendar", "delivery": "push_and_email"}]});
    assert_eq!(
        call(
            &server,
            Method::PUT,
            "/v1/me/notification-preferences",
            &kari,
            email
        )
        .await
        .0,
        200
    );

    let at_1759 = run_at(&server, &clock, at(d0, 17, 59), "kari-phone", &hint).await;
    assert_eq!(at_1759, 0, "not before 18:00");
    assert_eq!(
        run_at(&server, &clock, at(d0, 18, 0), "kari-phone", &hint).await,
        1
    );
    let kari_reminders = reminders(&server, "kari-phone");
    assert_eq!(with_hint(&kari_reminders, &hint), 1);
    let p = kari_reminders
        .iter()
        .find(|v| v["message"]["data"]["hint"] == hint)
        .expect("reminder");
    assert_eq!(
        *p,
        json!({"message": {"token": "kari-phone", "data": {"v": "1", "kind": "reminder", "hint": hint}, "android": {"priority": "HIGH"}}})
    );
    assert_eq!(
        with_hint(&reminders(&server, "per-phone"), &hint),
        0,
        "turned off"
    );
    let mail = server
        .sent_messages()
        .into_iter()
        .filter(|m| m.recipient == demo::GUARDIAN_EMAIL)
        .filter_map(|m| kidplan_server::providers::message_text(&m))
        .filter(|t| t.starts_with("Påminnelse"))
        .count();
    assert_eq!(mail, 1, "the e-mail notice Kari chose for the calendar");

    // Never twice: not on the next run, not after a restart.
    clock.advance(std::time::Duration::from_secs(600));
    server.run_reminders().await.expect("run");
    server.stop().await;
    let server = RunningServer::start(cfg).await.expect("restart");
    server.run_reminders().await.expect("run");
    assert_eq!(with_hint(&reminders(&server, "kari-phone"), &hint), 1);

    // A holiday registration period: only guardians with a child not registered yet.
    let period = at(d0 + TimeDelta::days(30), 0, 0).timestamp_millis();
    let deadline = (d0 + TimeDelta::days(3)).to_string();
    let (status, h) = call(&server, Method::POST, "/v1/staff/events", &staff,
        json!({"department_id": null, "title": "Sommerferie", "description": null, "starts_at": period,
               "ends_at": period + 20 * 86_400_000i64, "registration_deadline": deadline})).await;
    assert_eq!(status, 200, "{h}");
    assert_eq!(h["registration_deadline"], deadline);
    let deadline_hint = format!("holiday_deadline/{}", h["id"].as_str().expect("id"));
    let holiday = |child: &str| {
        json!({"id": uuid::Uuid::new_v4().to_string(), "child_id": child,
        "first_day": (d0 + TimeDelta::days(31)).to_string(), "last_day": (d0 + TimeDelta::days(35)).to_string(), "note": null})
    };
    assert_eq!(
        call(
            &server,
            Method::POST,
            "/v1/holidays",
            &per,
            holiday(demo::SECOND_GUARDIAN_CHILD_ID)
        )
        .await
        .0,
        200
    );
    assert_eq!(
        call(
            &server,
            Method::POST,
            "/v1/holidays",
            &kari,
            holiday(demo::GUARDIAN_CHILD_IDS[0])
        )
        .await
        .0,
        200
    );
    let early = run_at(
        &server,
        &clock,
        at(d0, 17, 59),
        "kari-phone",
        &deadline_hint,
    )
    .await;
    assert_eq!(early, 0, "three days before, at 18:00");
    assert_eq!(
        run_at(&server, &clock, at(d0, 18, 1), "kari-phone", &deadline_hint).await,
        1,
        "Jakob is not registered"
    );
    assert_eq!(
        with_hint(&reminders(&server, "per-phone"), &deadline_hint),
        0,
        "Per registered his child"
    );

    // The feed carries the deadline and Per's own settings; an old client's decoder reads the
    // new kind as `unknown` (and skips it).
    let per_feed = feed(&server, &per).await;
    let settings = per_feed
        .iter()
        .find(|c| c["entity"] == "reminder_settings")
        .expect("Per's settings in his feed");
    assert_eq!(settings["id"], demo::SECOND_GUARDIAN_ID);
    let event_setting = settings["data"]["reminders"]
        .as_array()
        .and_then(|r| r.iter().find(|x| x["kind"] == "calendar_event"))
        .expect("calendar_event setting");
    assert_eq!(event_setting["enabled"], false);
    let kari_feed = feed(&server, &kari).await;
    assert!(
        !kari_feed.iter().any(|c| c["entity"] == "reminder_settings"),
        "defaults: no entity"
    );
    let period = kari_feed
        .iter()
        .find(|c| c["id"] == h["id"])
        .expect("the period in Kari's feed");
    assert_eq!(period["data"]["registration_deadline"], deadline);
}

/// Every change of a guardian's feed from cursor 0; each page also decoded as an old client
/// would (`kidplan_api::sync::SyncPage`).
async fn feed(server: &RunningServer, token: &str) -> Vec<Value> {
    let mut all = Vec::new();
    let mut cursor = 0;
    loop {
        let url = format!("{}/v1/sync?cursor={cursor}&limit=1000", server.base_url());
        let text = reqwest::Client::new()
            .get(url)
            .bearer_auth(token)
            .send()
            .await
            .expect("sync")
            .text()
            .await
            .expect("body");
        let old: kidplan_api::sync::SyncPage = serde_json::from_str(&text).expect("old decoder");
        for c in old
            .changes
            .iter()
            .filter(|c| c.entity == kidplan_api::sync::EntityKind::Unknown)
        {
            assert_eq!(c.id, demo::SECOND_GUARDIAN_ID, "only the settings are new");
        }
        let v: Value = serde_json::from_str(&text).expect("page");
        all.extend(v["changes"].as_array().cloned().unwrap_or_default());
        cursor = v["cursor"].as_i64().expect("cursor");
        if v["has_more"] != true {
            return all;
        }
    }
}
