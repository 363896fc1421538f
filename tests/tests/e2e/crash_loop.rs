//! Crash loop: short-lived child processes (`crash_child`) queue absence reports, set push
//! tokens and download files against a real server, and each is killed with SIGKILL, many
//! times. Every child must die by signal 9 (an exit on an error fails the test, with its
//! stderr). In a fixed share of the runs the server commits the report and then drops the
//! answer (fault layer), and the kill lands in that window: committed on the server, still
//! pending on the device. After each kill the database passes `PRAGMA integrity_check`. At the
//! end, read from the server's own records: every action the device queued was accepted exactly
//! once (one stored answer per idempotency key and per absence, no refusal, one absence row per
//! note), the push registration is the device's one and only, and every cached file is whole.

use kidplan_api::paths;
use kidplan_core::{FileSecretStore, OutboxKind, OutboxStatus, SecretStore};
use kidplan_server::{Fault, FaultKind};
use kidplan_tests::*;
use rand::Rng;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Child runs, each ending in a kill.
const RUNS: usize = 220;
/// Every `WINDOW_EVERY`-th run kills in the window between the server's commit and the device
/// marking the action sent.
const WINDOW_EVERY: usize = 4;

/// The server's stored command answers for the guardian: idempotency key → (status, id of the
/// entity in the answer).
fn accepted_commands(
    server: &kidplan_server::RunningServer,
) -> anyhow::Result<BTreeMap<String, (u16, String)>> {
    let c = server_db(server)?;
    let mut st = c.prepare("SELECT key, status, body FROM idempotency WHERE guardian_id = ?1")?;
    let rows = st.query_map([demo::GUARDIAN_ID], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, u16>(1)?,
            r.get::<_, String>(2)?,
        ))
    })?;
    let mut out = BTreeMap::new();
    for row in rows {
        let (key, status, body) = row?;
        let v: serde_json::Value = serde_json::from_str(&body)?;
        let id = v["id"].as_str().unwrap_or_default().to_owned();
        out.insert(key, (status, id));
    }
    Ok(out)
}

/// The device's outbox as stored: idempotency key → (kind, entity id, status).
fn device_outbox(
    dir: &Path,
    account: &str,
    secrets: &dyn SecretStore,
) -> anyhow::Result<BTreeMap<String, (String, String, String)>> {
    let db = open_account_db(dir, account, secrets)?;
    let mut st = db.prepare("SELECT idem_key, kind, entity_id, status FROM outbox")?;
    let rows = st.query_map([], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?, r.get(3)?))))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// What one child confirmed on stdout before it was killed.
#[derive(Default)]
struct Confirmed {
    queued: BTreeSet<String>,
    tokens: Vec<String>,
    files: usize,
}

impl Confirmed {
    fn read(&mut self, out: &str) {
        for l in out.lines() {
            if let Some(id) = l.strip_prefix("queued ") {
                self.queued.insert(id.to_owned());
            } else if let Some(t) = l.strip_prefix("token ") {
                self.tokens.push(t.to_owned());
            } else if l.starts_with("file ") {
                self.files += 1;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_at_random_moments_nothing_is_lost_doubled_or_corrupt() -> anyhow::Result<()> {
    let (_sdir, server) = temp_server().await?;
    let url = server.base_url();
    let cdir = tempfile::tempdir()?;
    let dir = cdir
        .path()
        .to_str()
        .ok_or_else(|| anyhow::anyhow!("utf8"))?
        .to_owned();

    // Log in once in this process; the children find the account and its secrets on disk.
    let (account, child) = {
        let kp = open_core(
            cdir.path(),
            &url,
            FileSecretStore::new(&dir)?,
            fast_tuning(),
        )?;
        // No telemetry: its daily token is a command too, outside the outbox this test counts.
        kp.set_telemetry_enabled(false);
        let account = login(&kp, &server, demo::GUARDIAN_EMAIL).await?;
        kp.sync().await?;
        (account, first_child(&kp)?)
    };
    let account_id = account.id.0.clone();
    let secrets = FileSecretStore::new(&dir)?;
    let bin = env!("CARGO_BIN_EXE_crash_child");
    let faults = server.faults();
    assert!(accepted_commands(&server)?.is_empty());

    let started = Instant::now();
    let mut rng = rand::rng();
    let mut confirmed = Confirmed::default();
    let (mut kills, mut window_kills) = (0usize, 0usize);
    for run in 0..RUNS {
        let in_window = run % WINDOW_EVERY == WINDOW_EVERY - 1;
        let before: BTreeSet<String> = accepted_commands(&server)?.into_keys().collect();
        if in_window {
            // Every answer to a report is lost after its commit (replays too), so the device
            // cannot mark it sent before the kill.
            faults.inject(Fault {
                route: Some(paths::ABSENCES.into()),
                kind: FaultKind::DropAfterHandler,
                times: 10_000,
            });
        }
        let mut proc = Command::new(bin)
            .args([&dir, &url, &child.0, &run.to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let committed = if in_window {
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                let now: BTreeMap<_, _> = accepted_commands(&server)?;
                if let Some(k) = now.keys().find(|k| !before.contains(*k)) {
                    break Some(k.clone());
                }
                if Instant::now() > deadline || proc.try_wait()?.is_some() {
                    break None;
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        } else {
            None
        };
        // A random point: anywhere in the child's life, or anywhere in the commit window.
        let wait = if in_window { 0..40 } else { 2..150 };
        tokio::time::sleep(Duration::from_millis(rng.random_range(wait))).await;
        let alive = proc.try_wait()?.is_none();
        proc.kill()?; // SIGKILL
        let status = proc.wait()?;
        let (mut out, mut err) = (String::new(), String::new());
        if let Some(mut s) = proc.stdout.take() {
            s.read_to_string(&mut out)?;
        }
        if let Some(mut s) = proc.stderr.take() {
            s.read_to_string(&mut err)?;
        }
        faults.clear();
        anyhow::ensure!(
            alive && status.signal() == Some(9),
            "run {run}: the child ended by itself ({status}), not by the kill:\n{err}"
        );
        kills += 1;
        confirmed.read(&out);

        let db = open_account_db(cdir.path(), &account_id, &*secrets)?;
        let ok: String = db.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
        anyhow::ensure!(ok == "ok", "integrity_check after kill {run}: {ok}");
        drop(db);
        if in_window {
            let key = committed
                .ok_or_else(|| anyhow::anyhow!("run {run}: no commit on the server:\n{err}"))?;
            let outbox = device_outbox(cdir.path(), &account_id, &*secrets)?;
            let (_, _, status) = outbox
                .get(&key)
                .ok_or_else(|| anyhow::anyhow!("run {run}: committed key not in the outbox"))?;
            assert_eq!(
                status, "pending",
                "run {run}: marked sent without an answer"
            );
            window_kills += 1;
        }
    }
    let loop_time = started.elapsed();
    assert!(
        !confirmed.queued.is_empty(),
        "no child got to queue anything"
    );
    assert!(!confirmed.tokens.is_empty(), "no child got to set a token");
    assert!(confirmed.files > 0, "no child got to download a file");

    // A last, unkilled run sends what is left.
    let drained = Command::new(bin)
        .args([&dir, &url, &child.0, "0", "drain"])
        .output()?;
    assert!(
        drained.status.success(),
        "drain run failed: {}",
        String::from_utf8_lossy(&drained.stderr)
    );

    // Nothing lost on the device: every confirmed report is in the outbox, sent.
    let kp = open_core(
        cdir.path(),
        &url,
        secrets.clone(),
        kidplan_core::Tuning {
            background_flush: false,
            ..fast_tuning()
        },
    )?;
    let items = kp.outbox()?;
    assert!(
        items.iter().all(|i| i.status == OutboxStatus::Sent),
        "{items:?}"
    );
    let queued: BTreeSet<String> = items
        .iter()
        .filter(|i| i.kind == OutboxKind::ReportAbsence)
        .map(|i| i.entity_id.clone())
        .collect();
    let lost: Vec<_> = confirmed.queued.difference(&queued).collect();
    assert!(lost.is_empty(), "confirmed but lost: {lost:?}");

    // Exactly once, in the server's own records: one stored answer per idempotency key of
    // the outbox, all accepted, and one accepted command per absence.
    let outbox = device_outbox(cdir.path(), &account_id, &*secrets)?;
    let accepted = accepted_commands(&server)?;
    let refused: Vec<_> = accepted.iter().filter(|(_, (s, _))| *s != 200).collect();
    assert!(refused.is_empty(), "refused commands: {refused:?}");
    assert_eq!(
        accepted.keys().collect::<BTreeSet<_>>(),
        outbox.keys().collect::<BTreeSet<_>>(),
        "the server's accepted keys are not the device's outbox"
    );
    let mut per_entity: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, id) in accepted.values() {
        *per_entity.entry(id.as_str()).or_default() += 1;
    }
    let doubled: Vec<_> = per_entity.iter().filter(|(_, n)| **n != 1).collect();
    assert!(doubled.is_empty(), "accepted more than once: {doubled:?}");
    assert_eq!(
        per_entity
            .keys()
            .map(|s| s.to_string())
            .collect::<BTreeSet<_>>(),
        queued
    );
    // One absence row per action (the note is unique per action, the id made by the device).
    let sdb = server_db(&server)?;
    let mut st = sdb.prepare(
        "SELECT note, count(*), group_concat(id) FROM absences WHERE note LIKE 'crash %' GROUP BY note",
    )?;
    let rows: Vec<(String, i64, String)> = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    assert!(rows.iter().all(|(_, n, _)| *n == 1), "doubled: {rows:?}");
    assert_eq!(
        rows.iter()
            .map(|(_, _, id)| id.clone())
            .collect::<BTreeSet<_>>(),
        queued
    );
    drop(st);
    drop(sdb);

    // Push: one registration for this install and account, the device's id and last token.
    let regs = push_registrations(&server)?;
    assert_eq!(regs.len(), 1, "{regs:?}");
    let creds = secrets
        .get(kidplan_core::secrets::keys::push_registration(&account_id))?
        .ok_or_else(|| anyhow::anyhow!("no push credentials"))?;
    let db = open_account_db(cdir.path(), &account_id, &*secrets)?;
    let (token, pending): (String, bool) =
        db.query_row("SELECT token, pending FROM push_registration", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
    assert!(!pending, "registration still pending after the drain");
    assert_eq!(creds.split(' ').next(), Some(regs[0].0.as_str()));
    assert_eq!(regs[0].3, token);

    // Files: every indexed file is whole (the server's bytes), nothing else in the directory.
    let files_dir = kidplan_core::store::account_dir(cdir.path(), &account_id).join("files");
    let index: Vec<(String, String)> = {
        let mut st = db.prepare("SELECT key, name FROM files")?;
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?
    };
    assert!(!index.is_empty(), "no cached file");
    let raw = RawSession::login(&server, demo::GUARDIAN_EMAIL).await?;
    for (key, name) in &index {
        let parts: Vec<&str> = key.split('/').collect();
        let path = match parts.as_slice() {
            ["photo", id, size] => format!(
                "{}?size={size}",
                paths::fill(paths::PHOTO_CONTENT, &[("id", id)])
            ),
            ["document", id, _] => paths::fill(paths::DOCUMENT_CONTENT, &[("id", id)]),
            _ => anyhow::bail!("unknown file key {key}"),
        };
        let want = raw
            .http
            .get(format!("{}{path}", raw.base))
            .bearer_auth(&raw.session.access_token)
            .send()
            .await?
            .error_for_status()?
            .bytes()
            .await?;
        assert_eq!(std::fs::read(files_dir.join(name))?, want, "{key}");
    }
    let on_disk = std::fs::read_dir(&files_dir)?.count();
    assert_eq!(on_disk, index.len(), "a partial download was left");
    drop(db);
    drop(kp);

    eprintln!(
        "crash loop: {kills} SIGKILLs ({window_kills} between the server's commit and the \
         device's mark) in {loop_time:.1?}; {} reports queued, {} accepted once each, 0 lost, \
         0 doubled; {} tokens set, {} files opened; 0 corrupt databases",
        queued.len(),
        accepted.len(),
        confirmed.tokens.len(),
        confirmed.files
    );
    assert_eq!(kills, RUNS);
    assert_eq!(window_kills, RUNS / WINDOW_EVERY);
    server.stop().await;
    Ok(())
}
