//! Every secret the core keeps (both refresh and access tokens of a rotation, the idempotency
//! key of a refresh whose answer was lost, the database key in three encodings, the push
//! registration id and secret) with the CLI's own store, `FileSecretStore`: each is found in
//! `secrets.json` (where that store keeps them, in plain JSON, mode 0600, as README says) and
//! nowhere else: not in the database file, its WAL, any other file of the data directory, any
//! table row, nor in the logs (raw bytes searched; every tracing event of the process is
//! captured, at trace level for the core).

use kidplan_api::Day;
use kidplan_api::model::AbsenceReason;
use kidplan_api::paths;
use kidplan_api::push::PushProvider;
use kidplan_core::AbsenceReport;
use kidplan_core::secrets::keys;
use kidplan_core::{FileSecretStore, SecretStore};
use kidplan_server::{Fault, FaultKind};
use kidplan_tests::*;
use std::path::{Path, PathBuf};

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                files_under(&p, out);
            } else {
                out.push(p);
            }
        }
    }
}

/// Every file of `dir` but `secrets.json`, with its bytes.
fn other_files(dir: &Path) -> anyhow::Result<Vec<(PathBuf, Vec<u8>)>> {
    let mut files = Vec::new();
    files_under(dir, &mut files);
    let mut out = Vec::new();
    for f in files {
        if f.file_name().is_some_and(|n| n == "secrets.json") {
            continue;
        }
        match std::fs::read(&f) {
            Ok(b) => out.push((f, b)),
            // A temporary file that was renamed or removed meanwhile.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(out)
}

fn scan(dir: &Path, secrets: &[(String, Vec<u8>)]) -> anyhow::Result<usize> {
    let files = other_files(dir)?;
    for (f, bytes) in &files {
        for (name, s) in secrets {
            assert!(!contains_bytes(bytes, s), "{name} found in {}", f.display());
        }
    }
    Ok(files.len())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_secret_stays_in_the_secret_store() -> anyhow::Result<()> {
    let logs = capture_logs();

    let (_sdir, server) = temp_server().await?;
    let cdir = tempfile::tempdir()?;
    let dir = cdir
        .path()
        .to_str()
        .ok_or_else(|| anyhow::anyhow!("utf8"))?;
    let secrets = FileSecretStore::new(dir)?;
    let store_file = cdir.path().join("secrets.json");
    let kp = open_core(
        cdir.path(),
        &server.base_url(),
        secrets.clone(),
        fast_tuning(),
    )?;
    let account = login(&kp, &server, demo::GUARDIAN_EMAIL).await?;
    let id = account.id.as_str().to_owned();
    kp.sync().await?;
    kp.set_push_token(PushProvider::Fcm, "secrets-test-token".into())
        .await?;
    let child = first_child(&kp)?;
    let day = Day::today().plus_days(30);
    kp.report_absence(AbsenceReport {
        child_id: child.clone(),
        first_day: day,
        last_day: day,
        reason: AbsenceReason::Sick,
        note: Some("leak test".into()),
    })?;
    kp.sync().await?;
    let mut seen: Vec<(String, Vec<u8>)> = Vec::new();
    let mut remember = |name: &str, v: Option<String>| {
        if let Some(v) = v {
            for (i, part) in v.split(' ').filter(|p| p.len() >= 16).enumerate() {
                seen.push((format!("{name} ({i})"), part.as_bytes().to_vec()));
            }
        }
    };
    remember("refresh token 1", secrets.get(keys::refresh_token(&id))?);
    remember("access token 1", secrets.get(keys::access_token(&id))?);
    remember(
        "push registration id and secret",
        secrets.get(keys::push_registration(&id))?,
    );

    // A new process whose access token expired: its first call refreshes.
    let reopen_expired = || -> anyhow::Result<_> {
        secrets.delete(keys::access_token(&id))?;
        open_core(
            cdir.path(),
            &server.base_url(),
            secrets.clone(),
            fast_tuning(),
        )
    };

    // A rotation.
    drop(kp);
    let kp = reopen_expired()?;
    kp.report_absence(AbsenceReport {
        child_id: child,
        first_day: day.plus_days(1),
        last_day: day.plus_days(1),
        reason: AbsenceReason::Sick,
        note: None,
    })?;
    kp.sync().await?;
    remember("refresh token 2", secrets.get(keys::refresh_token(&id))?);
    remember("access token 2", secrets.get(keys::access_token(&id))?);
    // Then a refresh whose answer is lost: its idempotency key waits in the store. (The
    // server does not replay refreshes yet: the next sync would end the session, so the test
    // stops the app here.)
    drop(kp);
    let kp = reopen_expired()?;
    server.faults().inject(Fault {
        route: Some(paths::AUTH_REFRESH.into()),
        kind: FaultKind::DropAfterHandler,
        times: 1,
    });
    assert!(kp.sync().await.is_err(), "the refresh's answer was dropped");
    remember(
        "pending refresh key",
        secrets.get(keys::refresh_pending(&id))?,
    );
    let key = secrets
        .get(keys::db_key(&id))?
        .ok_or_else(|| anyhow::anyhow!("no key"))?;
    seen.push(("database key (hex)".into(), key.clone().into_bytes()));
    seen.push((
        "database key (upper hex)".into(),
        key.to_uppercase().into_bytes(),
    ));
    let raw: Vec<u8> = (0..32)
        .map(|i| u8::from_str_radix(&key[2 * i..2 * i + 2], 16))
        .collect::<Result<_, _>>()?;
    seen.push(("database key (raw)".into(), raw));
    let names: Vec<&str> = seen.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(seen.len(), 10, "a secret was missing: {names:?}");
    assert_ne!(
        seen[0].1,
        seen.iter()
            .find(|(n, _)| n.starts_with("refresh token 2"))
            .map(|(_, v)| v.clone())
            .unwrap_or_default(),
        "the refresh token did not rotate"
    );

    // The store's file holds the current secrets (plain JSON, mode 0600): the scan finds them
    // there, so it would find them anywhere else.
    let in_store = std::fs::read(&store_file)?;
    for (name, s) in &seen {
        let current = !name.starts_with("refresh token 1")
            && !name.starts_with("access token")
            && !name.starts_with("database key (raw")
            && !name.starts_with("database key (upper");
        if current {
            assert!(contains_bytes(&in_store, s), "{name} not in secrets.json");
        }
    }
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&store_file)?.permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    // While the core is open (the WAL holds recent pages) and after it closed.
    let wal = kidplan_core::store::db_path(cdir.path(), &id).with_extension("db-wal");
    assert!(wal.exists(), "no WAL to search");
    let n = scan(cdir.path(), &seen)?;
    assert!(n >= 4, "only {n} files to search");
    let db = open_account_db(cdir.path(), &id, &*secrets)?;
    let text = all_text(&db)?;
    for (name, s) in &seen {
        assert!(
            !contains_bytes(text.as_bytes(), s),
            "{name} stored in a table"
        );
    }
    drop(db);
    drop(kp);
    scan(cdir.path(), &seen)?;

    server.stop().await;
    let captured = logs.bytes();
    assert!(
        contains_bytes(&captured, b"kidplan_core"),
        "no core logs were captured"
    );
    for (name, s) in &seen {
        assert!(!contains_bytes(&captured, s), "{name} found in the logs");
    }
    Ok(())
}
