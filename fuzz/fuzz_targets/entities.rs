//! `entities`: arbitrary bytes as the JSON `data` of a change (also what the outbox decodes from
//! a command's answer), decoded as every entity kind.
//!
//! Checks, for each `EntityKind` (the known ones and `Unknown`): `Entity::decode` never panics;
//! `Unknown` gives `None`; an entity that decodes has the asked kind, and re-encodes to JSON
//! that decodes to an equal entity (the cache stores that JSON and reads it back).
#![no_main]

use kidplan_fuzz::{all_kinds, check_entity};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    for kind in all_kinds() {
        check_entity(kind, &value);
    }
});
