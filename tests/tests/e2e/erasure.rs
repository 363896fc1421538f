//! Erasure on the server of people the parent sees: after the next sync they are gone from the
//! device. Every canary is first shown present on the device (in a cache row, in the decrypted
//! pages of the database and its WAL, in a cached file), then absent from all of them: SQL
//! rows, every decrypted page of the database file and every frame of its WAL after a
//! checkpoint (free pages and stale frames included), and every file of the data directory.

use kidplan_api::model::{Child, Photo, Staff};
use kidplan_api::paths;
use kidplan_api::privacy::{PrivacyRequest, PrivacyRequestStatus, PrivacyRight};
use kidplan_api::staff::{ErasureReport, HandlePrivacyRequest, Person, SetStaffInfo};
use kidplan_core::{MemorySecretStore, PhotoSize, PrivacyAsk, SecretStore};
use kidplan_tests::*;
use std::path::{Path, PathBuf};

/// Every file under `dir` with its bytes, the account database and its WAL excepted.
fn other_files(dir: &Path, db: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) -> anyhow::Result<()> {
    for e in std::fs::read_dir(dir)? {
        let p = e?.path();
        if p.is_dir() {
            other_files(&p, db, out)?;
        } else if p != db && p != db.with_extension("db-wal") {
            out.push((p.clone(), std::fs::read(&p)?));
        }
    }
    Ok(())
}

/// Where each canary is on the device: cache rows, decrypted pages, other files.
pub(crate) struct Scan {
    pub(crate) rows: String,
    pub(crate) pages: Vec<u8>,
    files: Vec<(PathBuf, Vec<u8>)>,
}

impl Scan {
    pub(crate) fn take(
        data_dir: &Path,
        account: &str,
        secrets: &dyn SecretStore,
    ) -> anyhow::Result<Scan> {
        let db_path = kidplan_core::store::db_path(data_dir, account);
        let db = open_account_db(data_dir, account, secrets)?;
        let rows = all_text(&db)?;
        // A checkpoint copies the WAL into the file; the WAL keeps its (stale) frames.
        db.query_row("PRAGMA wal_checkpoint(FULL)", [], |_| Ok(()))?;
        drop(db);
        let key = secrets
            .get(kidplan_core::secrets::keys::db_key(account))?
            .ok_or_else(|| anyhow::anyhow!("no key"))?;
        let pages = raw_pages::decrypted(&db_path, &key)?;
        let mut files = Vec::new();
        other_files(data_dir, &db_path, &mut files)?;
        Ok(Scan { rows, pages, files })
    }

    /// Where `canary` is found.
    pub(crate) fn find(&self, canary: &str) -> Vec<String> {
        let mut at = Vec::new();
        if self.rows.contains(canary) {
            at.push("a cache row".to_owned());
        }
        if contains_bytes(&self.pages, canary.as_bytes()) {
            at.push("a decrypted database or WAL page".to_owned());
        }
        for (p, bytes) in &self.files {
            if contains_bytes(bytes, canary.as_bytes()) {
                at.push(p.display().to_string());
            }
        }
        at
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erased_people_leave_no_byte_on_the_device_once_the_app_closed() -> anyhow::Result<()> {
    erasure_scan(true).await
}

/// While the app runs too: a sync that applied tombstones checkpoints and truncates the WAL,
/// so its stale frames do not keep the erased person's data (encrypted with the device's key).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erased_people_leave_no_byte_on_the_device_while_the_app_runs() -> anyhow::Result<()> {
    erasure_scan(false).await
}

/// Erases the canary guardian and Jakob on the server, syncs, and scans the device before and
/// after (after closing the app when `close_first`).
async fn erasure_scan(close_first: bool) -> anyhow::Result<()> {
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

    // A photo of Jakob only, whose bytes and caption carry canaries, and everything of his
    // the device caches.
    let jakob = kidplan_api::ChildId::from(demo::GUARDIAN_CHILD_IDS[1]);
    let mut scan = b"Erasurefilecanary in the photo's bytes".to_vec();
    scan.extend(std::iter::repeat_n(7u8, 4096));
    let photo: Photo = staff
        .upload(
            &format!(
                "{}?children={}&caption=Erasurecanary",
                paths::STAFF_PHOTOS,
                jakob
            ),
            "image/jpeg",
            jpeg(&scan),
        )
        .await?;
    kp.sync().await?;
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

    // Jakob's profile picture and free text (corrected at Kari's request), a teacher's free
    // text and profile picture: the notice's other categories, each with a canary.
    let picture = |canary: &str| jpeg(canary.as_bytes());
    let _: Child = staff
        .send_bytes(
            reqwest::Method::PUT,
            &paths::fill(paths::STAFF_CHILD_PICTURE, &[("child_id", jakob.as_str())]),
            "image/jpeg",
            picture("Erasurepicturecanary"),
        )
        .await?;
    let asked = kp.ask_privacy(PrivacyAsk {
        right: PrivacyRight::Rectification,
        note: None,
        child_id: Some(jakob.clone()),
        child_info: Some("Erasureinfocanary: tåler ikke melk".into()),
        objection: None,
    })?;
    kp.sync().await?;
    let _: PrivacyRequest = staff
        .post(
            &paths::fill(
                paths::STAFF_PRIVACY_REQUEST_HANDLE,
                &[("id", asked.as_str())],
            ),
            &HandlePrivacyRequest {
                status: PrivacyRequestStatus::Completed,
                response: None,
            },
        )
        .await?;
    let teacher = RawSession::login(&server, "+4792000002").await?;
    let _: Staff = teacher
        .send_bytes(
            reqwest::Method::PUT,
            paths::STAFF_ME_PICTURE,
            "image/jpeg",
            picture("Erasurestaffpicturecanary"),
        )
        .await?;
    let teacher_row: Staff = teacher
        .send_json(
            reqwest::Method::PUT,
            paths::STAFF_ME_INFO,
            &SetStaffInfo {
                info: Some("Erasurestaffinfocanary: liker å synge".into()),
            },
        )
        .await?;
    kp.sync().await?;
    cached.push(kp.child_picture(jakob.clone()).await?);
    cached.push(kp.staff_picture(teacher_row.id.clone()).await?);

    // Before: every canary of the erased people is on the device, in a cache row and a
    // decrypted page, and the file canaries in cached files.
    let in_rows = [
        demo::CANARY_GUARDIAN_FIRST_NAME,
        demo::CANARY_GUARDIAN_LAST_NAME,
        demo::CANARY_GUARDIAN_ID,
        demo::CANARY_THREAD_ID,
        jakob.as_str(),
        photo.id.as_str(),
        "Erasurecanary",
        "Erasureinfocanary",
        teacher_row.id.as_str(),
        "Erasurestaffinfocanary",
    ];
    let in_files = [
        "Erasurefilecanary",
        "Erasurepicturecanary",
        "Erasurestaffpicturecanary",
    ];
    let before = Scan::take(cdir.path(), account.id.as_str(), &*secrets)?;
    for c in in_rows {
        assert!(before.rows.contains(c), "{c} not in a cache row before");
        assert!(
            contains_bytes(&before.pages, c.as_bytes()),
            "{c} not in a decrypted page before"
        );
    }
    for c in in_files {
        assert!(
            before
                .files
                .iter()
                .any(|(p, b)| cached.contains(&p.display().to_string())
                    && contains_bytes(b, c.as_bytes())),
            "{c} is not in a cached file"
        );
    }

    for person in [
        Person::Guardian(demo::CANARY_GUARDIAN_ID.into()),
        Person::Child(jakob.clone()),
        Person::Staff(teacher_row.id.clone()),
    ] {
        let _: ErasureReport = staff.erase(person).await?;
    }
    kp.sync().await?;

    // After: nowhere, not even in a free page or a stale WAL frame.
    assert!(kp.children()?.iter().all(|c| c.id != jakob));
    let kp = if close_first {
        drop(kp);
        None
    } else {
        Some(kp)
    };
    // The server keeps none of the new categories either.
    let server_text = all_text(&server_db(&server)?)?;
    for c in [
        "Erasureinfocanary",
        "Erasurepicturecanary",
        "Erasurestaffinfocanary",
        "Erasurestaffpicturecanary",
    ] {
        assert!(
            !server_text.contains(c),
            "{c} left on the server: {:?}",
            server_text
                .lines()
                .filter(|l| l.contains(c))
                .collect::<Vec<_>>()
        );
    }
    let after = Scan::take(cdir.path(), account.id.as_str(), &*secrets)?;
    for c in in_rows.iter().chain(&in_files) {
        let at = after.find(c);
        assert!(at.is_empty(), "{c} survived the erasure in {at:?}");
    }
    for p in &cached {
        assert!(!Path::new(p).exists(), "a cached file of Jakob survived");
    }
    // Emma is still there.
    assert!(after.rows.contains(demo::GUARDIAN_CHILD_IDS[0]));
    drop(kp);
    server.stop().await;
    Ok(())
}
