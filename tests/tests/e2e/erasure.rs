//! Erasure on the server of people the parent sees: after the next sync they are gone from the
//! device. Every canary is first shown present on the device (in a cache row, in the decrypted
//! pages of the database and its WAL, in a cached file), then absent from all of them: SQL
//! rows, every decrypted page of the database file and every frame of its WAL after a
//! checkpoint (free pages and stale frames included), and every file of the data directory.

use kidplan_api::model::Photo;
use kidplan_api::paths;
use kidplan_api::staff::{ErasureReport, Person};
use kidplan_core::{MemorySecretStore, PhotoSize, SecretStore};
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
    let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xFE];
    jpeg.extend(b"Erasurefilecanary in the photo's bytes");
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

    // Before: every canary of the erased people is on the device, and the file canary in a
    // cached file.
    let canaries = [
        demo::CANARY_GUARDIAN_FIRST_NAME,
        demo::CANARY_GUARDIAN_LAST_NAME,
        demo::CANARY_GUARDIAN_ID,
        demo::CANARY_THREAD_ID,
        jakob.as_str(),
        photo.id.as_str(),
        "Erasurecanary",
        "Erasurefilecanary",
    ];
    let before = Scan::take(cdir.path(), account.id.as_str(), &*secrets)?;
    for c in canaries {
        assert!(!before.find(c).is_empty(), "{c} was never on the device");
    }
    for c in &canaries[..7] {
        assert!(before.rows.contains(c), "{c} not in a cache row before");
        assert!(
            contains_bytes(&before.pages, c.as_bytes()),
            "{c} not in a decrypted page before"
        );
    }
    assert!(
        before
            .files
            .iter()
            .any(|(p, b)| cached.contains(&p.display().to_string())
                && contains_bytes(b, b"Erasurefilecanary")),
        "the file canary is not in a cached file"
    );

    for person in [
        Person::Guardian(demo::CANARY_GUARDIAN_ID.into()),
        Person::Child(jakob.clone()),
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
    let after = Scan::take(cdir.path(), account.id.as_str(), &*secrets)?;
    for c in canaries {
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
