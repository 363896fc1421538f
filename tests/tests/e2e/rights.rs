//! Each privacy right from the parent's request to its effect on the server and on the devices
//! (issue 10.2), end to end through the core: restriction (no push, e-mail or SMS while in
//! force, checked in the provider outboxes; the guardian's messages and their child's photos
//! leave other families' devices; lifting restores both), erasure accepted by the
//! kindergarten (the server forgets the guardian, the device wipes the account), rectification
//! of a child's free text (accepted: the device shows the new text; declined: unchanged, the
//! answer shown), objection to analytics (usage counting off, remembered across a restart) and
//! to photo sharing (the sharing consents withdrawn, the photo leaves the other family's
//! device), and bad input (a clear 4xx with a stable code, nothing changed).

use kidplan_api::model::{
    ConsentKind, ConsentState, Delivery, NotificationCategory, NotificationPreference, Sender,
};
use kidplan_api::paths;
use kidplan_api::privacy::{ObjectionTo, PrivacyRequest, PrivacyRequestStatus, PrivacyRight};
use kidplan_api::push::PushProvider;
use kidplan_api::staff::HandlePrivacyRequest;
use kidplan_api::{ChildId, PhotoId, PrivacyRequestId, ThreadId};
use kidplan_core::{Kidplan, MemorySecretStore, PrivacyAsk};
use kidplan_server::RunningServer;
use kidplan_tests::*;
use std::sync::Arc;

/// A second device, logged in as `contact` and synced once.
pub async fn device(
    server: &RunningServer,
    contact: &str,
) -> anyhow::Result<(tempfile::TempDir, Arc<Kidplan>)> {
    let dir = tempfile::tempdir()?;
    let kp = open_core(
        dir.path(),
        &server.base_url(),
        MemorySecretStore::new(),
        fast_tuning(),
    )?;
    login(&kp, server, contact).await?;
    kp.sync().await?;
    Ok((dir, kp))
}

/// The kindergarten answers a request.
async fn answer(
    staff: &RawSession,
    id: &PrivacyRequestId,
    status: PrivacyRequestStatus,
) -> anyhow::Result<PrivacyRequest> {
    staff
        .post(
            &paths::fill(paths::STAFF_PRIVACY_REQUEST_HANDLE, &[("id", id.as_str())]),
            &HandlePrivacyRequest {
                status,
                response: Some("Svar fra barnehagen".into()),
            },
        )
        .await
}

/// Pushes, e-mails and SMS handed to the providers for the canary guardian so far.
fn notices_to_canary(server: &RunningServer, token: &str) -> (usize, usize, usize) {
    let pushes = server
        .sent_pushes()
        .iter()
        .filter(|p| p.token == token)
        .count();
    let sent = server.sent_messages();
    let to = |who: &str| sent.iter().filter(|m| m.recipient == who).count();
    (
        pushes,
        to(demo::CANARY_GUARDIAN_EMAIL),
        to(demo::CANARY_GUARDIAN_PHONE),
    )
}

/// What another family's device shows of the canary guardian: the shared photo and the
/// canary guardian's messages.
fn seen_by_kari(kari: &Kidplan) -> anyhow::Result<(bool, usize)> {
    let photo = kari
        .photos()?
        .iter()
        .any(|p| p.id.as_str() == demo::SHARED_PHOTO_ID);
    let messages = kari
        .messages(ThreadId::from(demo::CANARY_THREAD_ID), None, 100)?
        .iter()
        .filter(|m| {
            matches!(&m.message.sender, Sender::Guardian { id } if id.as_str() == demo::CANARY_GUARDIAN_ID)
        })
        .count();
    Ok((photo, messages))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restriction_stops_notices_and_hides_the_guardian_from_others_until_lifted()
-> anyhow::Result<()> {
    let (_dev, server, kari) = Device::start(fast_tuning()).await?;
    let (_dir, canary) = device(&server, demo::CANARY_GUARDIAN_EMAIL).await?;
    let token = "tok-canary-restriction";
    canary
        .set_push_token(PushProvider::Fcm, token.into())
        .await?;
    canary.update_notification_preferences(vec![NotificationPreference {
        child_id: ChildId::from(demo::CANARY_CHILD_ID),
        category: NotificationCategory::Messages,
        delivery: Delivery::PushAndEmail,
    }])?;
    canary.sync().await?;
    let staff = RawSession::login(&server, demo::STAFF_EMAIL).await?;

    // Before: every channel reaches them, and Kari sees their message and their child's photo.
    broadcasts(&staff, &server).await?;
    let before = notices_to_canary(&server, token);
    assert!(
        before.0 >= 2 && before.1 >= 1 && before.2 >= 1,
        "push, e-mail and SMS reach them first: {before:?}"
    );
    assert_eq!(seen_by_kari(&kari)?, (true, 1));

    let id = canary.request_privacy(PrivacyRight::Restriction, None)?;
    canary.sync().await?;
    answer(&staff, &id, PrivacyRequestStatus::Completed).await?;

    broadcasts(&staff, &server).await?;
    assert_eq!(
        notices_to_canary(&server, token),
        before,
        "no push, e-mail or SMS while restricted"
    );
    kari.sync().await?;
    assert_eq!(
        seen_by_kari(&kari)?,
        (false, 0),
        "their child's photo and their messages left the other family's device"
    );
    canary.sync().await?;
    let theirs = canary
        .privacy_requests()?
        .into_iter()
        .find(|r| r.id == id)
        .ok_or_else(|| anyhow::anyhow!("request gone"))?;
    assert_eq!(theirs.status, PrivacyRequestStatus::Completed);

    // Lifting restores both.
    answer(&staff, &id, PrivacyRequestStatus::Lifted).await?;
    broadcasts(&staff, &server).await?;
    let after = notices_to_canary(&server, token);
    assert!(
        after.0 > before.0 && after.1 > before.1 && after.2 > before.2,
        "notices again after lifting: {before:?} -> {after:?}"
    );
    kari.sync().await?;
    assert_eq!(seen_by_kari(&kari)?, (true, 1));
    server.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accepted_erasure_request_erases_the_guardian_and_wipes_the_device() -> anyhow::Result<()> {
    let (_dev, server, _kari) = Device::start(fast_tuning()).await?;
    let (dir, canary) = device(&server, demo::CANARY_GUARDIAN_EMAIL).await?;
    canary
        .set_push_token(PushProvider::Fcm, "tok-canary-erasure".into())
        .await?;
    let account = canary
        .active_account()
        .ok_or_else(|| anyhow::anyhow!("no account"))?;
    let account_dir = dir.path().join("accounts").join(account.id.as_str());
    assert!(
        account_dir.exists(),
        "the account's data is on the device first"
    );
    let guardians = |server: &RunningServer| -> anyhow::Result<i64> {
        Ok(server_db(server)?.query_row(
            "SELECT COUNT(*) FROM guardians WHERE id = ?1",
            [demo::CANARY_GUARDIAN_ID],
            |r| r.get(0),
        )?)
    };
    assert_eq!(guardians(&server)?, 1);

    let id = canary.request_privacy(PrivacyRight::Erasure, None)?;
    canary.sync().await?;
    let staff = RawSession::login(&server, demo::STAFF_EMAIL).await?;
    let answered = answer(&staff, &id, PrivacyRequestStatus::Completed).await?;
    assert_eq!(answered.status, PrivacyRequestStatus::Completed);

    assert_eq!(guardians(&server)?, 0, "the server forgot the guardian");
    let db = server_db(&server)?;
    let left: i64 = db.query_row(
        "SELECT (SELECT COUNT(*) FROM push_registrations WHERE guardian_id = ?1)
              + (SELECT COUNT(*) FROM privacy_requests WHERE guardian_id = ?1)
              + (SELECT COUNT(*) FROM sessions WHERE person_id = ?1)
              + (SELECT COUNT(*) FROM send_queue WHERE person_id = ?1)
              + (SELECT COUNT(*) FROM hidden WHERE guardian_id = ?1)",
        [demo::CANARY_GUARDIAN_ID],
        |r| r.get(0),
    )?;
    assert_eq!(left, 0, "no row of the guardian is left");

    // The device is told at its next contact and wipes the account.
    let _ = canary.sync().await;
    assert!(canary.accounts().is_empty(), "the account is gone");
    assert!(!account_dir.exists(), "its data directory is gone");
    server.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn child_rectification_accepted_reaches_the_device_declined_changes_nothing()
-> anyhow::Result<()> {
    let (_dev, server, kari) = Device::start(fast_tuning()).await?;
    let emma = ChildId::from(demo::GUARDIAN_CHILD_IDS[0]);
    let info = |kp: &Kidplan| -> anyhow::Result<Option<String>> {
        Ok(kp
            .children()?
            .into_iter()
            .find(|c| c.id == emma)
            .and_then(|c| c.info))
    };
    let original = info(&kari)?;
    let ask = |text: &str| PrivacyAsk {
        right: PrivacyRight::Rectification,
        note: Some("Allergien er endret".into()),
        child_id: Some(emma.clone()),
        child_info: Some(text.into()),
        objection: None,
    };
    let staff = RawSession::login(&server, demo::STAFF_EMAIL).await?;

    let declined = kari.ask_privacy(ask("Allergi: ingen"))?;
    kari.sync().await?;
    answer(&staff, &declined, PrivacyRequestStatus::Rejected).await?;
    kari.sync().await?;
    assert_eq!(
        info(&kari)?,
        original,
        "a declined correction changes nothing"
    );
    let shown = kari
        .privacy_requests()?
        .into_iter()
        .find(|r| r.id == declined)
        .ok_or_else(|| anyhow::anyhow!("request gone"))?;
    assert_eq!(shown.status, PrivacyRequestStatus::Rejected);
    assert_eq!(shown.response.as_deref(), Some("Svar fra barnehagen"));

    let accepted = kari.ask_privacy(ask("Allergi: nøtter og egg"))?;
    kari.sync().await?;
    answer(&staff, &accepted, PrivacyRequestStatus::Completed).await?;
    kari.sync().await?;
    assert_eq!(info(&kari)?.as_deref(), Some("Allergi: nøtter og egg"));
    server.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objection_to_analytics_turns_counting_off_and_is_remembered() -> anyhow::Result<()> {
    let (dev, server, kari) = Device::start(fast_tuning()).await?;
    assert!(kari.telemetry_enabled(), "on first");
    kari.ask_privacy(PrivacyAsk {
        right: PrivacyRight::Objection,
        note: None,
        child_id: None,
        child_info: None,
        objection: Some(ObjectionTo::Analytics),
    })?;
    assert!(!kari.telemetry_enabled(), "off at once");
    assert_eq!(kari.telemetry_preview(), None, "nothing pending");
    kari.sync().await?;
    let request = kari
        .privacy_requests()?
        .into_iter()
        .find(|r| r.right == PrivacyRight::Objection)
        .ok_or_else(|| anyhow::anyhow!("no request"))?;
    assert_eq!(request.status, PrivacyRequestStatus::Completed);
    assert_eq!(request.objection, Some(ObjectionTo::Analytics));

    // A restart of the app remembers it.
    drop(kari);
    let again = open_core(
        dev.dir.path(),
        &server.base_url(),
        dev.secrets.clone(),
        fast_tuning(),
    )?;
    assert!(!again.telemetry_enabled(), "remembered");
    server.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objection_to_photo_sharing_withdraws_the_sharing_consents() -> anyhow::Result<()> {
    let (_dev, server, kari) = Device::start(fast_tuning()).await?;
    let (_dir, canary) = device(&server, demo::CANARY_GUARDIAN_EMAIL).await?;
    let shared = PhotoId::from(demo::SHARED_PHOTO_ID);
    assert!(kari.photos()?.iter().any(|p| p.id == shared), "seen first");

    canary.ask_privacy(PrivacyAsk {
        right: PrivacyRight::Objection,
        note: None,
        child_id: None,
        child_info: None,
        objection: Some(ObjectionTo::PhotoSharing),
    })?;
    // The first sync sends the objection (a sync pulls, then sends); the second pulls what the
    // server changed when it arrived.
    canary.sync().await?;
    canary.sync().await?;
    let consent = canary
        .consents(ChildId::from(demo::CANARY_CHILD_ID))?
        .into_iter()
        .find(|c| c.kind == ConsentKind::PhotosShared)
        .ok_or_else(|| anyhow::anyhow!("no sharing consent"))?;
    assert_eq!(consent.state, ConsentState::Denied);
    kari.sync().await?;
    assert!(
        !kari.photos()?.iter().any(|p| p.id == shared),
        "the photo of their child left the other family's device"
    );
    server.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_privacy_input_is_a_clear_4xx_and_changes_nothing() -> anyhow::Result<()> {
    let (_dev, server, _kari) = Device::start(fast_tuning()).await?;
    let raw = RawSession::login(&server, demo::GUARDIAN_EMAIL).await?;
    let rows = |server: &RunningServer| -> anyhow::Result<(i64, i64)> {
        let db = server_db(server)?;
        Ok((
            db.query_row("SELECT COUNT(*) FROM privacy_requests", [], |r| r.get(0))?,
            db.query_row("SELECT COUNT(*) FROM consent_history", [], |r| r.get(0))?,
        ))
    };
    let request = |right: &str, extra: serde_json::Value| {
        let mut body = serde_json::json!({"id": uuid::Uuid::new_v4().to_string(), "right": right});
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        body
    };
    let post = reqwest::Method::POST;
    let (status, _) = raw
        .send(
            post.clone(),
            paths::PRIVACY_REQUESTS,
            Some(&request("restriction", serde_json::json!({}))),
        )
        .await?;
    assert_eq!(status, 200, "the first request is taken");
    let start = rows(&server)?;

    let cases: Vec<(&str, reqwest::Method, String, serde_json::Value, u16, &str)> = vec![
        (
            "the same right twice",
            post.clone(),
            paths::PRIVACY_REQUESTS.to_owned(),
            request("restriction", serde_json::json!({})),
            409,
            "already_requested",
        ),
        (
            "a child not the parent's",
            post.clone(),
            paths::PRIVACY_REQUESTS.to_owned(),
            request(
                "rectification",
                serde_json::json!({"child_id": demo::CANARY_CHILD_ID, "child_info": "x"}),
            ),
            404,
            "not_found",
        ),
        (
            "an oversized note",
            post.clone(),
            paths::PRIVACY_REQUESTS.to_owned(),
            request("access", serde_json::json!({"note": "x".repeat(4_001)})),
            400,
            "invalid_input",
        ),
        (
            "an oversized child text",
            post.clone(),
            paths::PRIVACY_REQUESTS.to_owned(),
            request(
                "rectification",
                serde_json::json!({"child_id": demo::GUARDIAN_CHILD_IDS[0], "child_info": "x".repeat(4_001)}),
            ),
            400,
            "invalid_input",
        ),
        (
            "an objection without what it is against",
            post.clone(),
            paths::PRIVACY_REQUESTS.to_owned(),
            request("objection", serde_json::json!({})),
            400,
            "invalid_input",
        ),
        (
            "a consent kind that does not exist",
            reqwest::Method::PUT,
            paths::fill(
                paths::CONSENT,
                &[
                    ("child_id", demo::GUARDIAN_CHILD_IDS[0]),
                    ("kind", "selfies"),
                ],
            ),
            serde_json::json!({"state": "granted"}),
            400,
            "invalid_input",
        ),
    ];
    for (what, method, path, body, want, code) in cases {
        let (status, answer) = raw.send(method, &path, Some(&body)).await?;
        assert_eq!(
            (status, answer["code"].as_str()),
            (want, Some(code)),
            "{what}: {answer}"
        );
        assert_eq!(rows(&server)?, start, "{what}: nothing changed");
    }
    server.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn who_to_ask_is_a_read_of_the_core_and_in_the_export() -> anyhow::Result<()> {
    let (_dev, server, kari) = Device::start(fast_tuning()).await?;
    let info = kari.privacy_info()?;
    let solsikken = info
        .iter()
        .find(|i| i.kindergarten_id.as_str() == demo::KINDERGARTEN_ID)
        .ok_or_else(|| anyhow::anyhow!("no info for the kindergarten: {info:?}"))?;
    assert_eq!(solsikken.kindergarten_name, demo::KINDERGARTEN_NAME);
    assert_eq!(
        solsikken.controller_email.as_deref(),
        Some(demo::STAFF_EMAIL)
    );
    assert_eq!(solsikken.privacy_officer_email, "personvernombud@pbl.no");
    assert_eq!(solsikken.supervisory_authority, "Datatilsynet");

    let out = tempfile::tempdir()?;
    let summary = kari
        .export_my_data(out.path().to_string_lossy().into_owned())
        .await?;
    let text = std::fs::read_to_string(&summary.path)?;
    let v: serde_json::Value = serde_json::from_str(&text)?;
    let listed = v["server"]["privacy_info"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        listed
            .iter()
            .any(|i| i["privacy_officer_email"] == "personvernombud@pbl.no"
                && i["controller_email"] == demo::STAFF_EMAIL),
        "the export lists who to ask: {listed:?}"
    );
    server.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_holds_what_the_server_keeps_about_the_parent_and_nothing_of_other_families()
-> anyhow::Result<()> {
    let (_dev, server, kari) = Device::start(fast_tuning()).await?;
    let token = "tok-export-canary-7731";
    kari.set_push_token(PushProvider::Fcm, token.into()).await?;
    let asked = kari.request_privacy(PrivacyRight::Access, Some("Alt dere har".into()))?;
    kari.sync().await?;
    let staff = RawSession::login(&server, demo::STAFF_EMAIL).await?;
    answer(&staff, &asked, PrivacyRequestStatus::Completed).await?;
    // The other family's child is tagged with Jakob in a photo Kari's export holds: present on
    // the server first, so its absence from the export means something.
    let tagged: i64 = server_db(&server)?.query_row(
        "SELECT COUNT(*) FROM photo_children WHERE child_id = ?1",
        [demo::SECOND_GUARDIAN_CHILD_ID],
        |r| r.get(0),
    )?;
    assert!(tagged > 0);

    let out = tempfile::tempdir()?;
    let summary = kari
        .export_my_data(out.path().to_string_lossy().into_owned())
        .await?;
    let text = std::fs::read_to_string(&summary.path)?;
    let v: serde_json::Value = serde_json::from_str(&text)?;
    let s = &v["server"];
    let log = s["access_log"].as_array().cloned().unwrap_or_default();
    assert!(
        log.iter()
            .any(|r| r["ip"] == "127.0.0.1" && r["route"] == paths::SYNC),
        "the parent's IP-log rows: {log:?}"
    );
    let regs = s["push_registrations"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(regs.len(), 1, "{regs:?}");
    assert_eq!(regs[0]["provider"], "fcm");
    assert!(!text.contains(token), "never the push token");
    assert!(
        s["telemetry"]
            .as_str()
            .is_some_and(|t| t.contains("no account")),
        "a statement of what telemetry holds"
    );
    let requests = s["privacy_requests"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        requests
            .iter()
            .any(|r| r["response"] == "Svar fra barnehagen" && r["status"] == "completed"),
        "requests with their answers: {requests:?}"
    );
    assert!(
        s["consents"].as_array().is_some_and(|c| c
            .iter()
            .all(|k| k["history"].as_array().is_some_and(|h| !h.is_empty()))),
        "consents with their history"
    );
    assert!(
        s["photos"]
            .as_array()
            .is_some_and(|p| p.iter().any(|p| p["id"] == TRIP_PHOTO)),
        "the shared photo is in the export"
    );
    for other in [
        demo::SECOND_GUARDIAN_CHILD_ID,
        demo::SECOND_GUARDIAN_ID,
        demo::SECOND_GUARDIAN_EMAIL,
    ] {
        assert!(!text.contains(other), "nothing of another family: {other}");
    }
    server.stop().await;
    Ok(())
}

/// The seeded photo of Jakob and Nora (two families).
const TRIP_PHOTO: &str = "57ee05cd-e009-42c7-bebf-f20686734721";
