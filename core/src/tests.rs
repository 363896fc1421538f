//! Unit tests of the facade: opening, calls without an account, executors, cancellation,
//! storage failures.

use super::*;
use crate::accounts::Registry;
use kidplan_api::push::Locale;
use kidplan_api::telemetry::Platform;

fn config(url: &str) -> Config {
    Config {
        server_url: url.into(),
        locale: Locale::Nb,
        platform: Platform::Desktop,
        app_version: "test".into(),
    }
}

/// A loopback port with nothing listening.
fn dead_url() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    drop(l);
    format!("http://127.0.0.1:{port}")
}

fn open(dir: &tempfile::TempDir, url: &str) -> Out<Arc<Kidplan>> {
    Kidplan::open(
        dir.path().to_str().expect("utf8").into(),
        config(url),
        MemorySecretStore::new(),
    )
}

#[test]
fn refuses_plain_http_to_other_hosts() {
    let dir = tempfile::tempdir().expect("tempdir");
    assert_eq!(
        open(&dir, "http://kidplan.example").err(),
        Some(KidplanError::invalid("server_url"))
    );
    assert!(open(&dir, "https://kidplan.example").is_ok());
}

#[test]
fn without_an_account_reads_are_empty_and_actions_need_a_session() {
    let dir = tempfile::tempdir().expect("tempdir");
    let kp = open(&dir, &dead_url()).expect("open");
    assert!(kp.accounts().is_empty());
    assert_eq!(kp.active_account(), None);
    assert_eq!(kp.children().expect("children"), vec![]);
    assert_eq!(kp.outbox().expect("outbox"), vec![]);
    assert_eq!(
        kp.send_message("t1".into(), "hei".into()).err(),
        Some(KidplanError::SessionExpired)
    );
    assert_eq!(
        kp.switch_account(AccountId("0".repeat(32))).err(),
        Some(KidplanError::NotFound)
    );
    assert_eq!(
        futures::executor::block_on(kp.sync()).err(),
        Some(KidplanError::SessionExpired)
    );
    kp.wipe_local_data().expect("wipe");
}

#[test]
fn async_calls_work_from_any_executor_and_thread() {
    let dir = tempfile::tempdir().expect("tempdir");
    let kp = open(&dir, &dead_url()).expect("open");
    // A plain executor, no tokio context.
    let r = futures::executor::block_on(kp.request_login_code("a@example.no".into()));
    assert_eq!(r, Err(KidplanError::Offline));
    // A foreign thread.
    let kp2 = kp.clone();
    let r = std::thread::spawn(move || {
        futures::executor::block_on(kp2.verify_login_code("a@example.no".into(), "123456".into()))
    })
    .join()
    .expect("thread");
    assert_eq!(r.err(), Some(KidplanError::Offline));
    // Invalid input is caught before the network.
    let r = futures::executor::block_on(kp.request_login_code("  ".into()));
    assert_eq!(r, Err(KidplanError::invalid("contact")));
    // Dropping the core inside another runtime does not panic.
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("rt");
    rt.block_on(async move { drop(kp) });
}

/// Saves a registry in `dir` with one guardian account (id of `hex` repeated), the active one.
fn registered(dir: &tempfile::TempDir, hex: &str) -> Account {
    let account = Account {
        id: AccountId(hex.repeat(32 / hex.len())),
        role: kidplan_api::auth::Role::Guardian,
        person_id: "g1".into(),
        kindergarten_id: "k1".into(),
        kindergarten_name: "Solsikken".into(),
    };
    Registry {
        accounts: vec![account.clone()],
        active: Some(account.id.clone()),
    }
    .save(dir.path())
    .expect("registry");
    account
}

/// Writes junk where `account`'s database belongs, its key into `secrets`, and opens the core.
fn with_corrupt_cache(
    dir: &tempfile::TempDir,
    account: &Account,
    secrets: Arc<dyn SecretStore>,
) -> Arc<Kidplan> {
    let db = store::db_path(dir.path(), account.id.as_str());
    std::fs::create_dir_all(db.parent().expect("parent")).expect("mkdir");
    std::fs::write(&db, vec![7u8; 8192]).expect("junk");
    secrets
        .set(secrets::keys::db_key(account.id.as_str()), store::new_key())
        .expect("key");
    Kidplan::open(
        dir.path().to_str().expect("utf8").into(),
        config(&dead_url()),
        secrets,
    )
    .expect("open")
}

#[test]
fn a_corrupt_database_is_storage_corrupt_until_reset() {
    let dir = tempfile::tempdir().expect("tempdir");
    let account = registered(&dir, "ab");
    let kp = with_corrupt_cache(&dir, &account, MemorySecretStore::new());
    assert_eq!(kp.active_account(), Some(account));
    assert_eq!(kp.children().err(), Some(KidplanError::StorageCorrupt));
    kp.reset_local_cache().expect("reset");
    assert_eq!(kp.children().expect("children"), vec![]);
    assert_eq!(kp.outbox().expect("outbox"), vec![]);
}

/// An account whose database is open, with one child in its cache (no server needed).
fn device_with_a_child(dir: &tempfile::TempDir) -> Arc<Kidplan> {
    registered(dir, "cd");
    let kp = Kidplan::open_with_tuning(
        dir.path().to_str().expect("utf8").into(),
        config(&dead_url()),
        MemorySecretStore::new(),
        Tuning {
            background_flush: false,
            ..Tuning::default()
        },
    )
    .expect("open");
    let ctx = kp.inner.require_ctx().expect("account");
    ctx.store
        .write(|tx| {
            let child: Child = serde_json::from_value(serde_json::json!({
                "id": "c1", "kindergarten_id": "k1", "department_id": "d1",
                "first_name": "Ola", "last_name": "Nordmann", "birth_date": "2021-03-04",
                "info": null
            }))?;
            cache::upsert(
                tx,
                &sync_entity(child),
                "g1",
                &mut cache::Effects::default(),
            )
        })
        .expect("child");
    kp
}

fn sync_entity(c: Child) -> kidplan_api::sync::Entity {
    kidplan_api::sync::Entity::Child(c)
}

fn absence_on(day: u32) -> AbsenceReport {
    AbsenceReport {
        child_id: "c1".into(),
        first_day: Day::from_ymd(2026, 12, day).expect("day"),
        last_day: Day::from_ymd(2026, 12, day).expect("day"),
        reason: AbsenceReason::Sick,
        note: Some("x".repeat(1500)),
    }
}

#[test]
fn a_full_disk_is_transient_storage_and_loses_no_queued_action() {
    let dir = tempfile::tempdir().expect("tempdir");
    let kp = device_with_a_child(&dir);
    kp.report_absence(absence_on(1)).expect("first report");
    // The disk is "full": the database may not grow beyond the pages it has now.
    let ctx = kp.inner.require_ctx().expect("account");
    let pages: i64 = ctx
        .store
        .conn()
        .expect("conn")
        .query_row("PRAGMA page_count", [], |r| r.get(0))
        .expect("page_count");
    ctx.store
        .conn()
        .expect("conn")
        .query_row(&format!("PRAGMA max_page_count = {pages}"), [], |_| Ok(()))
        .expect("limit");
    let mut queued = 1;
    let err = loop {
        match kp.report_absence(absence_on(2 + queued as u32 % 20)) {
            Ok(_) => queued += 1,
            Err(e) => break e,
        }
        assert!(queued < 500, "the database never filled up");
    };
    assert_eq!(
        err,
        KidplanError::Storage,
        "a full disk is transient, not corrupt"
    );
    // Nothing already queued was lost, and nothing half-written is left.
    let outbox = kp.outbox().expect("outbox");
    assert_eq!(outbox.len(), queued);
    assert_eq!(kp.absences(None).expect("absences").len(), queued);
    // Space returns: the next action succeeds.
    ctx.store
        .conn()
        .expect("conn")
        .query_row("PRAGMA max_page_count = 1073741823", [], |_| Ok(()))
        .expect("unlimit");
    kp.report_absence(absence_on(28))
        .expect("after space returns");
    assert_eq!(kp.outbox().expect("outbox").len(), queued + 1);
}

#[test]
fn dropping_a_call_stops_its_work() {
    use std::io::Read;
    // A server that accepts the connection and never answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let dir = tempfile::tempdir().expect("tempdir");
    let kp = open(&dir, &url).expect("open");
    let mut call = Box::pin(kp.request_login_code("a@example.no".into()));
    let waker = futures::task::noop_waker();
    let mut cx = std::task::Context::from_waker(&waker);
    assert!(call.as_mut().poll(&mut cx).is_pending());
    let (mut conn, _) = listener.accept().expect("the call connects");
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut request = [0u8; 4096];
    let n = conn.read(&mut request).expect("the request arrives");
    assert!(n > 0);
    // The host gives up (a cancelled coroutine drops the future): the core's work stops and
    // closes the connection, long before its own 30 s request timeout.
    drop(call);
    let mut rest = [0u8; 64];
    let closed = conn.read(&mut rest);
    assert!(
        matches!(closed, Ok(0)),
        "the connection was not closed: {closed:?}"
    );
}

/// A secret store that panics on `get` while `panic` is set (a buggy platform vault).
struct PanickingSecrets {
    inner: Arc<MemorySecretStore>,
    panic: std::sync::atomic::AtomicBool,
}

impl SecretStore for PanickingSecrets {
    fn get(&self, key: String) -> Result<Option<String>, KidplanError> {
        if self.panic.load(std::sync::atomic::Ordering::SeqCst) {
            panic!("the vault broke");
        }
        self.inner.get(key)
    }
    fn set(&self, key: String, value: String) -> Result<(), KidplanError> {
        self.inner.set(key, value)
    }
    fn delete(&self, key: String) -> Result<(), KidplanError> {
        self.inner.delete(key)
    }
}

/// The day's failure counters (`error_*`, `panic_*`) of `kp`'s next report, by metric name.
fn counted(kp: &Kidplan) -> std::collections::BTreeMap<String, u64> {
    let mut out = std::collections::BTreeMap::new();
    let Some(report) = kp.telemetry_preview() else {
        return out;
    };
    let report: serde_json::Value = serde_json::from_str(&report).expect("report json");
    for c in report["counters"].as_array().expect("counters") {
        let metric = c["metric"].as_str().expect("metric").to_owned();
        if !metric.starts_with("error_") && !metric.starts_with("panic_") {
            continue;
        }
        *out.entry(metric).or_default() += c["count"].as_u64().expect("count");
    }
    out
}

#[test]
fn failures_are_counted_by_category_and_panics_by_area() {
    let dir = tempfile::tempdir().expect("tempdir");
    let kp = open(&dir, &dead_url()).expect("open");
    use futures::executor::block_on as block;

    // Invalid input and a missing session are the caller's, not failures: nothing counted.
    assert_eq!(
        kp.switch_account(AccountId("0".repeat(32))).err(),
        Some(KidplanError::NotFound)
    );
    assert_eq!(block(kp.sync()).err(), Some(KidplanError::SessionExpired));
    assert_eq!(counted(&kp), Default::default());

    // No server: counted once per failed call as `error_offline`.
    for _ in 0..2 {
        assert_eq!(
            block(kp.request_login_code("kari@example.no".into())).err(),
            Some(KidplanError::Offline)
        );
    }
    assert_eq!(
        counted(&kp),
        [("error_offline".to_owned(), 2)].into_iter().collect()
    );
    drop(kp);

    // A corrupt cache: `error_storage_corrupt`.
    let dir = tempfile::tempdir().expect("tempdir");
    let account = registered(&dir, "ef");
    let secrets = Arc::new(PanickingSecrets {
        inner: MemorySecretStore::new(),
        panic: false.into(),
    });
    let kp = with_corrupt_cache(&dir, &account, secrets.clone());
    assert_eq!(kp.children().err(), Some(KidplanError::StorageCorrupt));
    assert_eq!(counted(&kp)["error_storage_corrupt"], 1);

    // A panic inside a call (here in the vault, while the account's lock is held) is caught,
    // answered `Internal`, counted by area, and poisons nothing: the next call works.
    kp.reset_local_cache().expect("reset");
    drop(kp);
    let kp = Kidplan::open(
        dir.path().to_str().expect("utf8").into(),
        config(&dead_url()),
        secrets.clone(),
    )
    .expect("open");
    secrets
        .panic
        .store(true, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(kp.children().err(), Some(KidplanError::Internal));
    assert_eq!(kp.children().err(), Some(KidplanError::Internal));
    let counts = counted(&kp);
    assert_eq!(counts.get("panic_reads"), Some(&2), "{counts:?}");
    secrets
        .panic
        .store(false, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(kp.children().expect("children after the panic"), vec![]);
    assert_eq!(counted(&kp).get("panic_reads"), Some(&2));
}
