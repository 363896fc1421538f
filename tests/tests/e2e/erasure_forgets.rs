//! Erasure forgets everything (issue 14.2), after a rectification: the guardian's old and new
//! e-mail address, phone number and push token, and their name and address, are each first
//! found on the server (a table, the database file or its WAL), and after the erasure that the
//! kindergarten ran by accepting the guardian's request, in no table (provider outboxes and the
//! send queue included), no byte of the database file or its WAL, and no stored file.
//!
//! Other people's records name the guardian too (staff log entries on Emma, the child they
//! share with Kari, before and after the rectification): on the server and on Kari's device
//! (cache rows, every decrypted page of the database and its WAL, every file) the name and the
//! new contacts are first found there, and after the erasure and Kari's next sync nowhere.

use kidplan_api::paths;
use kidplan_api::privacy::{PrivacyRequestStatus, PrivacyRight};
use kidplan_api::push::PushProvider;
use kidplan_api::staff::HandlePrivacyRequest;
use kidplan_core::ContactChange;
use kidplan_server::RunningServer;
use kidplan_tests::*;

use crate::erasure::Scan;

const NEW_EMAIL: &str = "canary.rectified.qq@example.org";
const NEW_PHONE: &str = "+4799955501";
const OLD_TOKEN: &str = "tok-canary-before-rectification-9911";
const NEW_TOKEN: &str = "tok-canary-after-rectification-9912";

/// Every byte the server keeps: all table text, the database file, its WAL, every stored file.
fn server_bytes(server: &RunningServer) -> anyhow::Result<(String, Vec<u8>)> {
    let rows = all_text(&server_db(server)?)?;
    let mut bytes = std::fs::read(server.db_path())?;
    let wal = server.db_path().with_extension("db-wal");
    if wal.exists() {
        bytes.extend(std::fs::read(wal)?);
    }
    for e in std::fs::read_dir(server.files_dir())? {
        bytes.extend(std::fs::read(e?.path())?);
    }
    Ok((rows, bytes))
}

fn found(server: &RunningServer, canary: &str) -> anyhow::Result<bool> {
    let (rows, bytes) = server_bytes(server)?;
    Ok(rows.contains(canary) || contains_bytes(&bytes, canary.as_bytes()))
}

/// A staff log entry on Emma.
async fn mention(staff: &RawSession, text: &str) -> anyhow::Result<()> {
    let _: serde_json::Value = staff
        .post(
            paths::STAFF_LOG_ENTRIES,
            &serde_json::json!({"child_id": demo::GUARDIAN_CHILD_IDS[0], "kind": "note", "text": text}),
        )
        .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_rectification_and_erasure_nothing_of_the_guardian_survives() -> anyhow::Result<()> {
    let (dev, server, kari) = Device::start(fast_tuning()).await?;
    let (_dir, canary) = crate::rights::device(&server, demo::CANARY_GUARDIAN_EMAIL).await?;
    let staff = RawSession::login(&server, demo::STAFF_EMAIL).await?;
    canary
        .set_push_token(PushProvider::Fcm, OLD_TOKEN.into())
        .await?;
    broadcasts(&staff, &server).await?;
    mention(&staff, "Canaryguardian Wqx henter Emma i dag").await?;

    // Rectification: new e-mail and phone, and the device's token rotates.
    canary.update_contact(ContactChange {
        email: Some(NEW_EMAIL.into()),
        phone: Some(NEW_PHONE.into()),
        address: None,
        postal_code: None,
        ..Default::default()
    })?;
    canary.sync().await?;
    // Each new contact is theirs once the code sent to it comes back.
    for contact in [NEW_EMAIL, NEW_PHONE] {
        let code = server
            .last_login_code(contact)
            .ok_or_else(|| anyhow::anyhow!("no code sent to {contact}"))?;
        canary.confirm_contact(code).await?;
    }
    canary
        .set_push_token(PushProvider::Fcm, NEW_TOKEN.into())
        .await?;
    broadcasts(&staff, &server).await?;
    mention(
        &staff,
        &format!("Ring canaryguardian på {NEW_PHONE} eller {NEW_EMAIL}"),
    )
    .await?;
    kari.sync().await?;
    let on_kari = [
        demo::CANARY_GUARDIAN_FIRST_NAME,
        demo::CANARY_GUARDIAN_LAST_NAME,
        NEW_EMAIL,
        NEW_PHONE,
    ];
    let scan = |d: &Device| Scan::take(d.dir.path(), d.account.id.as_str(), &*d.secrets);
    let before = scan(&dev)?;
    for c in on_kari {
        assert!(
            before.rows.contains(c),
            "{c} not in Kari's cache rows before"
        );
        assert!(
            contains_bytes(&before.pages, c.as_bytes()),
            "{c} not in a decrypted page of Kari's device before"
        );
    }

    let canaries = [
        demo::CANARY_GUARDIAN_FIRST_NAME,
        demo::CANARY_GUARDIAN_LAST_NAME,
        demo::CANARY_GUARDIAN_ADDRESS,
        demo::CANARY_GUARDIAN_EMAIL,
        demo::CANARY_GUARDIAN_PHONE,
        demo::CANARY_GUARDIAN_INFO,
        OLD_TOKEN,
        NEW_EMAIL,
        NEW_PHONE,
        NEW_TOKEN,
    ];
    // Present first: what is kept now, or was written before the rectification (WAL, pages).
    for c in canaries {
        assert!(
            found(&server, c)?,
            "{c} is on the server before the erasure"
        );
    }

    let id = canary.request_privacy(PrivacyRight::Erasure, None)?;
    canary.sync().await?;
    let _: serde_json::Value = staff
        .post(
            &paths::fill(paths::STAFF_PRIVACY_REQUEST_HANDLE, &[("id", id.as_str())]),
            &HandlePrivacyRequest {
                status: PrivacyRequestStatus::Completed,
                response: None,
            },
        )
        .await?;
    let left: Vec<&str> = canaries
        .into_iter()
        .filter(|c| found(&server, c).unwrap_or(true))
        .collect();
    assert!(left.is_empty(), "survived the erasure: {left:?}");
    kari.sync().await?;
    let after = scan(&dev)?;
    for c in on_kari {
        let at = after.find(c);
        assert!(at.is_empty(), "{c} survived on Kari's device in {at:?}");
    }
    assert!(
        after.rows.contains("Ring […] på […] eller […]"),
        "Kari keeps the log entry, redacted"
    );
    drop(kari);
    server.stop().await;
    Ok(())
}
