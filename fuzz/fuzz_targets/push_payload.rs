//! `push_payload`: arbitrary text as a push payload handed over by the shell
//! (`kidplan_core::notify::parse_payload`).
//!
//! Checks: parsing never panics; a payload over `MAX_PAYLOAD_BYTES` is refused; a hint target
//! is a known kind with an id of 1..=128 ASCII letters, digits, `-` or `_`; JSON whitespace
//! around the payload does not change the answer (within the size limit) and padding it past
//! the limit makes it refused.
#![no_main]

use kidplan_api::sync::EntityKind;
use kidplan_core::notify::{MAX_PAYLOAD_BYTES, parse_payload};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    let hint = parse_payload(raw);
    if raw.len() > MAX_PAYLOAD_BYTES {
        assert_eq!(hint, None, "oversized payload accepted");
    }
    if let Some((kind, id)) = hint.as_ref().and_then(|h| h.target.as_ref()) {
        assert_ne!(*kind, EntityKind::Unknown, "target of unknown kind");
        assert!(
            !id.is_empty() && id.len() <= 128,
            "target id length {}",
            id.len()
        );
        assert!(
            id.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            "target id {id:?} is not a plain id"
        );
    }
    let padded = format!(" \n{raw}\t ");
    if padded.len() <= MAX_PAYLOAD_BYTES {
        assert_eq!(
            parse_payload(&padded),
            hint,
            "whitespace changed the answer"
        );
    }
    let oversized = format!(
        "{raw}{}",
        " ".repeat(MAX_PAYLOAD_BYTES + 1 - raw.len().min(MAX_PAYLOAD_BYTES))
    );
    assert_eq!(
        parse_payload(&oversized),
        None,
        "padded past the limit, still accepted"
    );
});
