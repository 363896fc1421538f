//! Consent decides what is shown (issue 10.1), end to end through the core: a photo cannot tag a
//! child without photo consent; withdrawing the "shared with other families" consent removes
//! the photo from another family's device (its cache row and its cached file) at the next
//! sync, with a tombstone that goes to that family only; granting it again brings it back; the
//! consent history names who changed what and when.

use kidplan_api::ChildId;
use kidplan_api::model::{Child, ConsentKind, ConsentState, Photo};
use kidplan_api::paths;
use kidplan_api::push::PushProvider;
use kidplan_core::PhotoSize;
use kidplan_tests::*;

/// A tiny JPEG body the server accepts.
pub fn jpeg() -> Vec<u8> {
    kidplan_tests::jpeg(&[7; 256])
}

/// The seeded photo of Jakob and Nora (two families).
const TRIP_PHOTO_ID: &str = "57ee05cd-e009-42c7-bebf-f20686734721";
/// The seeded photo of Nora alone.
const NORA_PHOTO_ID: &str = "9be4bcfc-49b6-4a08-b2e6-cc3ababced20";

fn photo_rows(server: &kidplan_server::RunningServer) -> anyhow::Result<i64> {
    Ok(server_db(server)?.query_row("SELECT COUNT(*) FROM photos", [], |r| r.get(0))?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_tagging_a_child_without_photo_consent_is_refused() -> anyhow::Result<()> {
    let (_dev, server, kp) = Device::start(fast_tuning()).await?;
    let [emma, jakob] = demo::GUARDIAN_CHILD_IDS;
    kp.change_consent(
        ChildId::from(emma),
        ConsentKind::PhotosInternal,
        ConsentState::Denied,
    )?;
    kp.sync().await?;
    let staff = RawSession::login(&server, demo::STAFF_EMAIL).await?;
    let before = photo_rows(&server)?;
    let files_before = std::fs::read_dir(server.files_dir())?.count();

    let refused = staff
        .http
        .post(format!(
            "{}{}?children={jakob},{emma}&caption=Tur",
            staff.base,
            paths::STAFF_PHOTOS
        ))
        .bearer_auth(&staff.session.access_token)
        .header(reqwest::header::CONTENT_TYPE, "image/jpeg")
        .body(jpeg())
        .send()
        .await?;
    assert_eq!(refused.status().as_u16(), 409);
    let body: serde_json::Value = refused.json().await?;
    assert_eq!(body["code"], "consent_required", "{body}");
    let message = body["message"].as_str().unwrap_or_default();
    assert!(message.contains(emma), "names the child's id: {message}");
    assert!(!message.contains("Emma"), "no name: {message}");
    assert_eq!(photo_rows(&server)?, before, "nothing stored");
    assert_eq!(
        std::fs::read_dir(server.files_dir())?.count(),
        files_before,
        "no file left behind"
    );

    // The same upload of the child with consent alone goes through.
    let ok: Photo = staff
        .upload(
            &format!("{}?children={jakob}&caption=Tur", paths::STAFF_PHOTOS),
            "image/jpeg",
            jpeg(),
        )
        .await?;
    assert_eq!(ok.child_ids, vec![ChildId::from(jakob)]);
    server.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn withdrawn_sharing_consent_removes_the_photo_from_another_familys_device()
-> anyhow::Result<()> {
    let (_dev, server, kari) = Device::start(fast_tuning()).await?;
    let jakob = ChildId::from(demo::GUARDIAN_CHILD_IDS[1]);
    // "Tur til skogen": Jakob with Nora, the child of another family (Per Hansen).
    let shared = kidplan_api::PhotoId::from(TRIP_PHOTO_ID);

    // The other family.
    let (_other_dir, other) = crate::rights::device(&server, demo::SECOND_GUARDIAN_EMAIL).await?;
    kari.set_push_token(PushProvider::Fcm, "tok-kari-consent".into())
        .await?;
    other
        .set_push_token(PushProvider::Fcm, "tok-per-consent".into())
        .await?;
    let staff = RawSession::login(&server, demo::STAFF_EMAIL).await?;
    assert!(other.photos()?.iter().any(|p| p.id == shared), "seen first");
    let file = std::path::PathBuf::from(other.photo(shared.clone(), PhotoSize::Thumb).await?);
    assert!(file.exists(), "cached first");

    // A third family shares no child with the photo: its feed position before.
    let third = RawSession::login(&server, demo::CANARY_GUARDIAN_EMAIL).await?;
    let third_cursor = feed_end(&third).await?;

    kari.change_consent(
        jakob.clone(),
        ConsentKind::PhotosShared,
        ConsentState::Denied,
    )?;
    kari.sync().await?;
    other.sync().await?;

    assert!(
        !other.photos()?.iter().any(|p| p.id == shared),
        "the photo left the other family's cache"
    );
    assert!(!file.exists(), "and its cached file");
    assert!(
        other
            .photos()?
            .iter()
            .any(|p| p.id.as_str() == NORA_PHOTO_ID),
        "photos of their own child alone stay"
    );
    let raw = RawSession::login(&server, demo::SECOND_GUARDIAN_EMAIL).await?;
    let (status, _) = raw
        .send(
            reqwest::Method::GET,
            &format!("/v1/photos/{TRIP_PHOTO_ID}/content"),
            None,
        )
        .await?;
    assert_eq!(status, 404, "the server refuses the file to them");
    assert!(
        kari.photos()?.iter().any(|p| p.id == shared),
        "Jakob's own family still sees it"
    );
    // A new photo of both children is pushed to Jakob's family only.
    let jakob_and_nora = format!(
        "{}?children={},{}&caption=Lek",
        paths::STAFF_PHOTOS,
        demo::GUARDIAN_CHILD_IDS[1],
        demo::SECOND_GUARDIAN_CHILD_ID
    );
    let quiet: Photo = staff.upload(&jakob_and_nora, "image/jpeg", jpeg()).await?;
    server.deliver_queue().await;
    assert_eq!(pushed(&server, "tok-kari-consent", quiet.id.as_str()), 1);
    assert_eq!(
        pushed(&server, "tok-per-consent", quiet.id.as_str()),
        0,
        "no push about a photo they may not see"
    );

    let third_after = changes_since(&third, third_cursor).await?;
    assert!(
        !third_after.iter().any(|c| c["id"] == TRIP_PHOTO_ID),
        "no tombstone to a family that never held it: {third_after:?}"
    );

    // The history names who withdrew it.
    let consent = kari
        .consents(jakob.clone())?
        .into_iter()
        .find(|c| c.kind == ConsentKind::PhotosShared)
        .ok_or_else(|| anyhow::anyhow!("no sharing consent"))?;
    let last = consent
        .history
        .last()
        .ok_or_else(|| anyhow::anyhow!("no history"))?;
    assert_eq!(
        (last.state, last.changed_by.as_str()),
        (ConsentState::Denied, demo::GUARDIAN_ID)
    );

    // Granting it again brings the photo back.
    kari.change_consent(jakob, ConsentKind::PhotosShared, ConsentState::Granted)?;
    kari.sync().await?;
    other.sync().await?;
    assert!(other.photos()?.iter().any(|p| p.id == shared), "back again");
    let heard: Photo = staff.upload(&jakob_and_nora, "image/jpeg", jpeg()).await?;
    server.deliver_queue().await;
    assert_eq!(pushed(&server, "tok-per-consent", heard.id.as_str()), 1);
    server.stop().await;
    Ok(())
}

/// How many pushes to `token` name `photo`.
fn pushed(server: &kidplan_server::RunningServer, token: &str, photo: &str) -> usize {
    server
        .sent_pushes()
        .iter()
        .filter(|p| p.token == token && contains_bytes(&p.payload, photo.as_bytes()))
        .count()
}

/// The end of a guardian's feed now.
pub async fn feed_end(s: &RawSession) -> anyhow::Result<i64> {
    let mut cursor = 0;
    loop {
        let page: serde_json::Value = s
            .get(&format!("{}?cursor={cursor}&limit=1000", paths::SYNC))
            .await?;
        cursor = page["cursor"].as_i64().unwrap_or(cursor);
        if page["has_more"] != true {
            return Ok(cursor);
        }
    }
}

/// Every change of a guardian's feed after `cursor`.
pub async fn changes_since(s: &RawSession, cursor: i64) -> anyhow::Result<Vec<serde_json::Value>> {
    let page: serde_json::Value = s
        .get(&format!("{}?cursor={cursor}&limit=1000", paths::SYNC))
        .await?;
    Ok(page["changes"].as_array().cloned().unwrap_or_default())
}

/// A child's profile picture on the device: downloaded into the file cache, replaced when
/// staff set a new one (the old file goes at the next sync), and gone from the cache and the
/// disk once the parent withdraws the photo consent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_childs_picture_is_replaced_and_leaves_the_device_with_the_photo_consent()
-> anyhow::Result<()> {
    let (dev, server, kari) = Device::start(fast_tuning()).await?;
    let emma = ChildId::from(demo::GUARDIAN_CHILD_IDS[0]);
    let staff = RawSession::login(&server, demo::STAFF_EMAIL).await?;
    let path = paths::fill(paths::STAFF_CHILD_PICTURE, &[("child_id", emma.as_str())]);
    let picture_of = |kp: &kidplan_core::Kidplan| -> anyhow::Result<Option<String>> {
        Ok(kp
            .children()?
            .into_iter()
            .find(|c| c.id == emma)
            .and_then(|c| c.picture)
            .map(|p| p.id.0))
    };
    assert!(matches!(
        kari.child_picture(emma.clone()).await,
        Err(kidplan_core::KidplanError::NotFound)
    ));

    let first = jpeg();
    let set: Child = staff
        .send_bytes(reqwest::Method::PUT, &path, "image/jpeg", first.clone())
        .await?;
    kari.sync().await?;
    assert_eq!(
        picture_of(&kari)?,
        set.picture.as_ref().map(|p| p.id.0.clone())
    );
    let old = std::path::PathBuf::from(kari.child_picture(emma.clone()).await?);
    assert_eq!(std::fs::read(&old)?, first);

    let second = kidplan_tests::jpeg(b"the second picture");
    let _: Child = staff
        .send_bytes(reqwest::Method::PUT, &path, "image/jpeg", second.clone())
        .await?;
    kari.sync().await?;
    assert!(!old.exists(), "the old picture's file left the device");
    let new = std::path::PathBuf::from(kari.child_picture(emma.clone()).await?);
    assert_eq!(std::fs::read(&new)?, second);

    kari.change_consent(
        emma.clone(),
        ConsentKind::PhotosInternal,
        ConsentState::Denied,
    )?;
    kari.sync().await?;
    assert_eq!(picture_of(&kari)?, None);
    assert!(!new.exists(), "the picture's file left the device");
    assert!(matches!(
        kari.child_picture(emma.clone()).await,
        Err(kidplan_core::KidplanError::NotFound)
    ));
    let rows: i64 =
        dev.db()?
            .query_row("SELECT COUNT(*) FROM files WHERE kind = 'child'", [], |r| {
                r.get(0)
            })?;
    assert_eq!(rows, 0, "no index row of a picture left");
    server.stop().await;
    Ok(())
}
