//! Erasure on the server of people the parent sees: after the next sync they are gone from
//! every table of the device's cache, and their cached files are deleted.

use kidplan_api::model::Photo;
use kidplan_api::paths;
use kidplan_api::staff::{EraseRequest, ErasureReport, Person};
use kidplan_core::{MemorySecretStore, PhotoSize};
use kidplan_tests::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erased_people_disappear_from_every_table_and_their_files_from_disk() -> anyhow::Result<()>
{
    let (_sdir, server) = temp_server().await?;
    let cdir = tempfile::tempdir()?;
    let secrets = MemorySecretStore::new();
    let kp = open_core(
        cdir.path(),
        &server.base_url(),
        secrets.clone(),
        fast_tuning(),
    )?;
    let account = login(&kp, &server, demo::GUARDIAN_EMAIL).await?;
    let staff = RawSession::login(&server, demo::STAFF_EMAIL).await?;

    // A photo of Jakob only, and everything of his the device has cached.
    let jakob = kidplan_api::ChildId::from(demo::GUARDIAN_CHILD_IDS[1]);
    let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xE0];
    jpeg.extend(std::iter::repeat_n(7u8, 4096));
    jpeg.extend([0xFF, 0xD9]);
    let photo: Photo = staff
        .upload(
            &format!(
                "{}?children={}&caption=Erasurecanary",
                paths::STAFF_PHOTOS,
                jakob
            ),
            "image/jpeg",
            jpeg,
        )
        .await?;
    kp.sync().await?;
    assert!(kp.children()?.iter().any(|c| c.id == jakob));
    let mut cached = vec![
        kp.photo(photo.id.clone(), PhotoSize::Full).await?,
        kp.photo(photo.id.clone(), PhotoSize::Thumb).await?,
    ];
    for d in kp
        .documents()?
        .into_iter()
        .filter(|d| d.child_id.as_ref() == Some(&jakob))
    {
        cached.push(kp.document(d.id).await?);
    }
    for p in &cached {
        assert!(std::path::Path::new(p).exists());
    }
    // Emma's other guardian (the canary guardian) is visible by name, with a thread.
    let db = open_account_db(cdir.path(), account.id.as_str(), &*secrets)?;
    let before = all_text(&db)?;
    assert!(before.contains(demo::CANARY_GUARDIAN_FIRST_NAME));
    assert!(before.contains(demo::CANARY_GUARDIAN_ID));
    assert!(before.contains(jakob.as_str()));
    drop(db);

    for person in [
        Person::Guardian(demo::CANARY_GUARDIAN_ID.into()),
        Person::Child(jakob.clone()),
    ] {
        let _: ErasureReport = staff
            .post(paths::STAFF_ERASURES, &EraseRequest { person })
            .await?;
    }
    kp.sync().await?;

    let db = open_account_db(cdir.path(), account.id.as_str(), &*secrets)?;
    let after = all_text(&db)?;
    for gone in demo::CANARY_STRINGS.iter().copied().chain([
        demo::CANARY_GUARDIAN_ID,
        demo::CANARY_THREAD_ID,
        jakob.as_str(),
        photo.id.as_str(),
        "Erasurecanary",
    ]) {
        assert!(
            !after.contains(gone),
            "{gone} survived the erasure in the cache"
        );
    }
    assert!(
        kp.guardians()?
            .iter()
            .all(|g| g.id.as_str() != demo::CANARY_GUARDIAN_ID)
    );
    assert!(kp.children()?.iter().all(|c| c.id != jakob));
    assert!(
        kp.threads()?
            .iter()
            .all(|t| t.thread.id.as_str() != demo::CANARY_THREAD_ID)
    );
    for p in &cached {
        assert!(
            !std::path::Path::new(p).exists(),
            "a cached file of the erased child survived"
        );
    }
    // Emma is still there.
    assert!(
        kp.children()?
            .iter()
            .any(|c| c.id.as_str() == demo::GUARDIAN_CHILD_IDS[0])
    );
    server.stop().await;
    Ok(())
}
