//! `apply_page`: arbitrary bytes as a sync page, applied to a real encrypted cache store with
//! `kidplan_core::local::apply::apply_page` in a `Store::write` transaction, as `sync()` does.
//!
//! Checks: applying never panics and, on a healthy store, always succeeds (a page that failed
//! would be fetched and failed again on every sync); every change is counted as applied or
//! skipped; the page's cursor is stored; `PRAGMA integrity_check` stays `ok`; every cached row
//! reads back as its entity. The store is opened once per process and reset before each input
//! (see `kidplan_fuzz::store`).
#![no_main]

use kidplan_api::sync::SyncPage;
use kidplan_core::cache::Effects;
use kidplan_core::local::apply::{SyncReport, apply_page, cursor};
use kidplan_fuzz::store::{ME, assert_integrity, assert_rows_decode, reset, store};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(page) = serde_json::from_slice::<SyncPage>(data) else {
        return;
    };
    let store = store();
    reset(store);
    let mut report = SyncReport::default();
    let mut fx = Effects::default();
    let applied = store.write(|tx| apply_page(tx, &page, ME, &mut report, &mut fx));
    assert!(applied.is_ok(), "a decodable page failed to apply: {applied:?}");
    assert_eq!(
        (report.applied + report.held_back + report.skipped) as usize,
        page.changes.len(),
        "changes not all counted: {report:?}"
    );
    let c = store.conn().expect("connection");
    assert_eq!(
        cursor(&c).expect("read cursor"),
        page.cursor,
        "cursor not stored"
    );
    assert_integrity(&c);
    assert_rows_decode(&c);
});
