//! `sync_page`: arbitrary bytes as the body of `GET /v1/sync`.
//!
//! Checks: decoding a `SyncPage` never panics; a page that decodes re-encodes to an equal page;
//! `Entity::decode` on every change never panics, an `unknown` kind decodes to `None`, and every
//! entity that decodes has the change's kind and survives a round trip through JSON.
#![no_main]

use kidplan_api::sync::SyncPage;
use kidplan_fuzz::{assert_round_trip, check_entity};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(page) = serde_json::from_slice::<SyncPage>(data) else {
        return;
    };
    assert_round_trip(&page);
    for ch in &page.changes {
        if let Some(d) = &ch.data {
            check_entity(ch.entity, d);
        }
    }
});
