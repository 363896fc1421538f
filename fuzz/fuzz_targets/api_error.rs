//! `api_error`: arbitrary bytes as the other response bodies the core decodes: the error body
//! of every non-2xx answer (`ApiError`), the login/refresh answer (`auth::Session`) and the data
//! export (`privacy::DataExport`).
//!
//! Checks: decoding never panics; whatever decodes re-encodes to an equal value; formatting an
//! `ApiError` never panics; a `Session`'s `Debug` output does not depend on its tokens (so it
//! can never print them).
#![no_main]

use kidplan_api::ApiError;
use kidplan_api::auth::Session;
use kidplan_api::privacy::DataExport;
use kidplan_fuzz::assert_round_trip;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(e) = serde_json::from_slice::<ApiError>(data) {
        assert_round_trip(&e);
        let _ = e.to_string();
    }
    if let Ok(s) = serde_json::from_slice::<Session>(data) {
        assert_round_trip(&s);
        let other = Session {
            access_token: format!("other-{}", s.access_token),
            refresh_token: format!("other-{}", s.refresh_token),
            ..s.clone()
        };
        assert_eq!(
            format!("{s:?}"),
            format!("{other:?}"),
            "Debug shows a token"
        );
    }
    if let Ok(x) = serde_json::from_slice::<DataExport>(data) {
        assert_round_trip(&x);
    }
});
