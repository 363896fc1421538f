//! Push against a real server: the registration lifecycle (register, an unchanged token is not
//! sent again, a changed one updates in place, an offline registration is sent by the next
//! sync, logout unregisters so the next user of the device gets none of the previous parent's
//! alerts, an offline unregister is finished later), every recorded push payload is free of
//! personal data that the device does hold (every push kind on both providers is scanned in
//! `server/tests/it/push.rs`), and `handle_push` builds the notification from the cache (nb),
//! following the preferences with urgent broadcasts always coming through.

use kidplan_api::model::*;
use kidplan_api::paths;
use kidplan_api::push::PushProvider;
use kidplan_api::staff::{Broadcast, WriteLogEntry};
use kidplan_api::{ChildId, Day};
use kidplan_core::AbsenceReport;
use kidplan_core::{Kidplan, MemorySecretStore};
use kidplan_server::{Fault, FaultKind, RecordedPush, RunningServer};
use kidplan_tests::*;

async fn staff_log_entry(staff: &RawSession, child: &ChildId, text: &str) -> anyhow::Result<()> {
    let _: serde_json::Value = staff
        .post(
            paths::STAFF_LOG_ENTRIES,
            &WriteLogEntry {
                child_id: child.clone(),
                kind: LogKind::Meal,
                text: text.into(),
            },
        )
        .await?;
    Ok(())
}

fn pushes_to(server: &RunningServer, token: &str) -> Vec<RecordedPush> {
    server
        .sent_pushes()
        .into_iter()
        .filter(|p| p.token == token)
        .collect()
}

/// Every string a push must not carry for this guardian.
fn personal_strings(kp: &Kidplan) -> anyhow::Result<Vec<String>> {
    let mut out: Vec<String> = demo::CANARY_STRINGS.iter().map(|s| s.to_string()).collect();
    for c in kp.children()? {
        out.push(c.first_name);
        out.push(c.last_name);
    }
    for g in kp.guardians()? {
        out.push(g.first_name);
        out.push(g.last_name);
        out.extend(g.email);
        out.extend(g.phone);
        out.extend(g.address);
    }
    for s in kp.staff()? {
        out.push(s.name);
    }
    out.retain(|s| s.len() >= 3);
    Ok(out)
}

fn assert_content_free(server: &RunningServer, personal: &[String]) {
    let pushes = server.sent_pushes();
    assert!(!pushes.is_empty());
    for p in &pushes {
        let text = String::from_utf8_lossy(&p.payload);
        for s in personal {
            assert!(
                !kidplan_tests::contains_bytes(&p.payload, s.as_bytes()),
                "push payload carries {s:?}: {text}"
            );
        }
        let v: serde_json::Value = serde_json::from_slice(&p.payload).expect("payload is JSON");
        let data = v
            .pointer("/message/data")
            .or(Some(&v))
            .and_then(|d| d.as_object())
            .expect("data object");
        for key in data.keys() {
            assert!(
                ["v", "kind", "hint", "aps"].contains(&key.as_str()),
                "unexpected payload field {key}: {text}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_lifecycle_and_content_free_payloads() -> anyhow::Result<()> {
    let (dev, server, kp) = Device::start(fast_tuning()).await?;
    let secrets = dev.secrets.clone();
    let child = ChildId::from(demo::GUARDIAN_CHILD_IDS[0]);

    // Register: one registration, keyed by a random id that is not the token.
    kp.set_push_token(PushProvider::Fcm, "tok-A".into()).await?;
    let regs = push_registrations(&server)?;
    assert_eq!(regs.len(), 1, "{regs:?}");
    let (reg_id, guardian, provider, token) = regs[0].clone();
    assert_eq!(
        (guardian.as_str(), provider.as_str(), token.as_str()),
        (demo::GUARDIAN_ID, "fcm", "tok-A")
    );
    assert!(!reg_id.contains("tok") && reg_id.len() >= 32, "{reg_id}");
    let secret_key = kidplan_core::secrets::keys::push_registration(
        kp.active_account().expect("account").id.as_str(),
    );
    assert!(secrets.keys().contains(&secret_key));

    // An unchanged token is not sent: a fault waiting for the next push request stays unused.
    let faults = server.faults();
    let reg_route = "/v1/push/registrations";
    faults.inject(Fault {
        route: Some(reg_route.into()),
        kind: FaultKind::Status(500),
        times: 1,
    });
    kp.set_push_token(PushProvider::Fcm, "tok-A".into()).await?;
    assert_eq!(
        faults.pending().len(),
        1,
        "the unchanged token was sent again"
    );
    faults.clear();

    // A changed token updates the same registration in place.
    kp.set_push_token(PushProvider::Fcm, "tok-B".into()).await?;
    let regs = push_registrations(&server)?;
    assert_eq!(regs.len(), 1);
    assert_eq!(
        (regs[0].0.as_str(), regs[0].3.as_str()),
        (reg_id.as_str(), "tok-B")
    );

    // Offline: kept, not an error, and sent by the next sync.
    faults.inject(Fault {
        route: Some(reg_route.into()),
        kind: FaultKind::DropBeforeHandler,
        times: 1,
    });
    kp.set_push_token(PushProvider::Fcm, "tok-C".into()).await?;
    assert_eq!(push_registrations(&server)?[0].3, "tok-B", "not yet sent");
    kp.sync().await?;
    let regs = push_registrations(&server)?;
    assert_eq!(
        (regs[0].0.as_str(), regs[0].3.as_str()),
        (reg_id.as_str(), "tok-C")
    );
    // Once confirmed, a sync does not send it again until the weekly heartbeat.
    faults.inject(Fault {
        route: Some(reg_route.into()),
        kind: FaultKind::Status(500),
        times: 1,
    });
    kp.sync().await?;
    assert_eq!(faults.pending().len(), 1, "re-sent before the heartbeat");
    faults.clear();

    // A staff action reaches the device, content-free.
    let staff = RawSession::login(&server, demo::STAFF_EMAIL).await?;
    staff_log_entry(&staff, &child, "Spiste Qzvberries til lunsj").await?;
    assert_eq!(pushes_to(&server, "tok-C").len(), 1);
    // The log text reached the device by sync (the scan's canary exists), not by the push.
    kp.sync().await?;
    assert!(
        kp.log_entries(child.clone(), None, 50)?
            .iter()
            .any(|l| l.text.contains("Qzvberries")),
        "the canary log entry is not on the device"
    );
    let mut personal = personal_strings(&kp)?;
    personal.extend(["Spiste".to_string(), "Qzvberries".to_string()]);
    personal.push(demo::GUARDIAN_EMAIL.into());
    personal.push(demo::GUARDIAN_PHONE.into());

    // Logout unregisters on the server first; the next staff action pushes nothing here.
    kp.logout().await?;
    assert!(push_registrations(&server)?.is_empty());
    assert!(
        !secrets.keys().iter().any(|k| k.contains(".push")),
        "{:?}",
        secrets.keys()
    );
    staff_log_entry(&staff, &child, "Sov en time").await?;
    assert_eq!(
        pushes_to(&server, "tok-C").len(),
        1,
        "the previous parent's alert reached the device after logout"
    );
    assert_content_free(&server, &personal);
    server.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offline_unregister_is_finished_by_a_later_sync_or_open() -> anyhow::Result<()> {
    let (_sdir, server) = temp_server().await?;
    let cdir = tempfile::tempdir()?;
    let secrets = MemorySecretStore::new();
    let kp = open_core(
        cdir.path(),
        &server.base_url(),
        secrets.clone(),
        fast_tuning(),
    )?;
    let faults = server.faults();
    let reg_route = "/v1/push/registrations";

    // 1. Finished by the next sync of another account.
    login(&kp, &server, demo::GUARDIAN_EMAIL).await?;
    kp.set_push_token(PushProvider::Fcm, "tok-kari".into())
        .await?;
    assert_eq!(push_registrations(&server)?.len(), 1);
    faults.inject(Fault {
        route: Some(reg_route.into()),
        kind: FaultKind::DropBeforeHandler,
        times: 1,
    });
    kp.logout().await?;
    assert!(kp.accounts().is_empty(), "logged out locally even offline");
    assert_eq!(push_registrations(&server)?.len(), 1, "server not reached");
    assert!(
        secrets
            .keys()
            .contains(&kidplan_core::secrets::keys::PUSH_UNREGISTER.to_string())
    );
    login(&kp, &server, demo::SECOND_GUARDIAN_EMAIL).await?;
    kp.sync().await?;
    assert!(
        push_registrations(&server)?.is_empty(),
        "unregister not finished"
    );
    assert!(
        !secrets
            .keys()
            .contains(&kidplan_core::secrets::keys::PUSH_UNREGISTER.to_string())
    );

    // 2. Finished on the next open.
    kp.set_push_token(PushProvider::Apns, "tok-per".into())
        .await?;
    assert_eq!(push_registrations(&server)?.len(), 1);
    faults.inject(Fault {
        route: Some(reg_route.into()),
        kind: FaultKind::DropBeforeHandler,
        times: 1,
    });
    kp.logout().await?;
    assert_eq!(push_registrations(&server)?.len(), 1);
    drop(kp);
    let kp = open_core(
        cdir.path(),
        &server.base_url(),
        secrets.clone(),
        fast_tuning(),
    )?;
    let s = &server;
    assert!(
        eventually(10, || push_registrations(s).is_ok_and(|r| r.is_empty())).await,
        "unregister not finished on open"
    );
    drop(kp);
    server.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handle_push_builds_the_notification_from_the_cache() -> anyhow::Result<()> {
    let (_dev, server, kp) = Device::start(fast_tuning()).await?;
    kp.set_push_token(PushProvider::Fcm, "tok-h".into()).await?;
    let child_id = ChildId::from(demo::GUARDIAN_CHILD_IDS[0]);
    let child = kp
        .children()?
        .into_iter()
        .find(|c| c.id == child_id)
        .ok_or_else(|| anyhow::anyhow!("no child"))?;

    // Not ours: nothing to show.
    assert_eq!(kp.handle_push("not json".into()).await?, None);
    assert_eq!(
        kp.handle_push(r#"{"v":"1","kind":"marketing"}"#.into())
            .await?,
        None
    );

    // The parent reports an absence; the kindergarten acknowledges it.
    let first = Day::today().plus_days(7);
    let last = first.plus_days(1);
    let absence = kp.report_absence(AbsenceReport {
        child_id: child_id.clone(),
        first_day: first,
        last_day: last,
        reason: AbsenceReason::Sick,
        note: None,
    })?;
    kp.sync().await?;
    let staff = RawSession::login(&server, demo::STAFF_EMAIL).await?;
    let _: serde_json::Value = staff
        .post(
            &paths::fill(paths::STAFF_ABSENCE_ACK, &[("id", absence.as_str())]),
            &serde_json::json!({}),
        )
        .await?;
    let pushes = pushes_to(&server, "tok-h");
    let payload = String::from_utf8(
        pushes
            .last()
            .ok_or_else(|| anyhow::anyhow!("no push"))?
            .payload
            .clone(),
    )?;
    assert!(payload.contains(absence.as_str()), "{payload}");

    // The push as received: the device syncs and says it in Norwegian (nb).
    let n = kp
        .handle_push(payload.clone())
        .await?
        .ok_or_else(|| anyhow::anyhow!("no notification"))?;
    let days = format!("{}–{}", first.0.format("%d.%m"), last.0.format("%d.%m"));
    assert_eq!(n.title, "Fravær bekreftet");
    assert!(
        n.body.contains(&child.first_name) && n.body.contains(&days),
        "{}",
        n.body
    );
    assert!(!n.body.contains(&child.last_name), "{}", n.body);
    assert_eq!(n.category, NotificationCategory::AbsenceAcknowledged);
    assert_eq!(n.child_id, Some(child_id.clone()));

    // Preferences off for that child and category: nothing; off for messages on every
    // child: an ordinary broadcast says nothing, an urgent one always comes through.
    let mut prefs = vec![NotificationPreference {
        child_id: child_id.clone(),
        category: NotificationCategory::AbsenceAcknowledged,
        delivery: Delivery::Off,
    }];
    for c in kp.children()? {
        prefs.push(NotificationPreference {
            child_id: c.id,
            category: NotificationCategory::Messages,
            delivery: Delivery::Off,
        });
    }
    kp.update_notification_preferences(prefs)?;
    kp.sync().await?;
    assert_eq!(kp.handle_push(payload.clone()).await?, None);

    let before = pushes_to(&server, "tok-h").len();
    let ordinary: Thread = staff
        .post(
            paths::STAFF_BROADCASTS,
            &Broadcast {
                department_id: None,
                subject: "Foreldremøte".into(),
                body: "Velkommen til foreldremøte torsdag.".into(),
                urgent: false,
            },
        )
        .await?;
    assert_eq!(
        pushes_to(&server, "tok-h").len(),
        before,
        "the server follows the preferences too"
    );
    assert!(!ordinary.urgent);
    let hint = format!(
        r#"{{"v":"1","kind":"sync","hint":"thread/{}"}}"#,
        ordinary.id.as_str()
    );
    assert_eq!(kp.handle_push(hint).await?, None);

    let urgent: Thread = staff
        .post(
            paths::STAFF_BROADCASTS,
            &Broadcast {
                department_id: None,
                subject: "Stengt i dag".into(),
                body: "Barnehagen er stengt i dag på grunn av vannlekkasje.".into(),
                urgent: true,
            },
        )
        .await?;
    assert!(urgent.urgent);
    let pushes = pushes_to(&server, "tok-h");
    assert_eq!(pushes.len(), before + 1, "urgent broadcasts are pushed");
    let payload = String::from_utf8(pushes[pushes.len() - 1].payload.clone())?;
    let n = kp
        .handle_push(payload)
        .await?
        .ok_or_else(|| anyhow::anyhow!("urgent notification missing"))?;
    assert_eq!(n.category, NotificationCategory::Urgent);
    assert_eq!(n.title, "Viktig: Stengt i dag");
    assert!(n.body.starts_with("Barnehagen er stengt"), "{}", n.body);
    assert_eq!(n.thread_id, Some(urgent.id.clone()));

    // Offline: built from the cache when the entity is there, else nothing.
    server.faults().inject(Fault {
        route: None,
        kind: FaultKind::DropBeforeHandler,
        times: 1000,
    });
    let cached = format!(
        r#"{{"v":"1","kind":"sync","hint":"thread/{}"}}"#,
        urgent.id.as_str()
    );
    let n = kp.handle_push(cached).await?;
    assert_eq!(n.map(|n| n.category), Some(NotificationCategory::Urgent));
    let left = server.faults().pending().first().map(|f| f.times);
    assert!(
        left.is_some_and(|n| n < 1000),
        "handle_push did not try the network: {left:?}"
    );
    let unknown = r#"{"v":"1","kind":"sync","hint":"absence/0000-unknown"}"#;
    assert_eq!(kp.handle_push(unknown.into()).await?, None);
    server.faults().clear();
    server.stop().await;
    Ok(())
}
