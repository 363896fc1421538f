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

#[test]
fn a_cancelled_call_is_harmless() {
    let dir = tempfile::tempdir().expect("tempdir");
    let kp = open(&dir, &dead_url()).expect("open");
    let fut = kp.request_login_code("a@example.no".into());
    drop(fut);
    let fut = Box::pin(kp.sync());
    drop(fut);
    assert!(kp.accounts().is_empty());
}

#[test]
fn a_corrupt_database_is_storage_corrupt_until_reset() {
    let dir = tempfile::tempdir().expect("tempdir");
    let account = Account {
        id: AccountId("ab".repeat(16)),
        role: kidplan_api::auth::Role::Guardian,
        person_id: "g1".into(),
        kindergarten_id: "k1".into(),
        kindergarten_name: "Solsikken".into(),
    };
    let reg = Registry {
        accounts: vec![account.clone()],
        active: Some(account.id.clone()),
    };
    reg.save(dir.path()).expect("registry");
    let db = store::db_path(dir.path(), account.id.as_str());
    std::fs::create_dir_all(db.parent().expect("parent")).expect("mkdir");
    std::fs::write(&db, vec![7u8; 8192]).expect("junk");
    let secrets = MemorySecretStore::new();
    secrets
        .set(secrets::keys::db_key(account.id.as_str()), store::new_key())
        .expect("key");
    let kp = Kidplan::open(
        dir.path().to_str().expect("utf8").into(),
        config(&dead_url()),
        secrets,
    )
    .expect("open");
    assert_eq!(kp.active_account(), Some(account));
    assert_eq!(kp.children().err(), Some(KidplanError::StorageCorrupt));
    kp.reset_local_cache().expect("reset");
    assert_eq!(kp.children().expect("children"), vec![]);
    assert_eq!(kp.outbox().expect("outbox"), vec![]);
}
