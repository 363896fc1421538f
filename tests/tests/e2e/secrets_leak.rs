//! The refresh token, the access token and the database key never appear in the database
//! file, its WAL, any other file of the data directory, nor in the logs (raw bytes searched;
//! every tracing event of the process is captured, at trace level for the core).

use kidplan_api::Day;
use kidplan_api::model::AbsenceReason;
use kidplan_core::AbsenceReport;
use kidplan_core::secrets::keys;
use kidplan_core::{MemorySecretStore, SecretStore};
use kidplan_tests::*;
use std::path::Path;

fn files_under(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
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

fn scan(dir: &Path, secrets: &[(String, Vec<u8>)]) -> anyhow::Result<usize> {
    let mut files = Vec::new();
    files_under(dir, &mut files);
    for f in &files {
        let bytes = match std::fs::read(f) {
            Ok(b) => b,
            // A temporary file that was renamed or removed meanwhile.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e.into()),
        };
        for (name, s) in secrets {
            assert!(
                !contains_bytes(&bytes, s),
                "{name} found in {}",
                f.display()
            );
        }
    }
    Ok(files.len())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_and_database_key_never_reach_files_or_logs() -> anyhow::Result<()> {
    let logs = capture_logs();

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
    let id = account.id.as_str().to_owned();
    kp.sync().await?;
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
            let token = v.rsplit(' ').next().unwrap_or(&v).to_owned();
            seen.push((name.to_owned(), token.into_bytes()));
        }
    };
    remember("refresh token 1", secrets.get(keys::refresh_token(&id))?);
    remember("access token 1", secrets.get(keys::access_token(&id))?);

    // Force a refresh (a new process whose access token expired).
    drop(kp);
    secrets.delete(keys::access_token(&id))?;
    let kp = open_core(
        cdir.path(),
        &server.base_url(),
        secrets.clone(),
        fast_tuning(),
    )?;
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
    assert_eq!(seen.len(), 7, "a secret was missing");
    assert_ne!(seen[0].1, seen[2].1, "the refresh token did not rotate");

    // While the core is open (the WAL holds recent pages) and after it closed.
    let wal = kidplan_core::store::db_path(cdir.path(), &id).with_extension("db-wal");
    assert!(wal.exists(), "no WAL to search");
    let n = scan(cdir.path(), &seen)?;
    assert!(n >= 2);
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
