//! kidplan-ffi: the uniffi facade over kidplan-core.
uniffi::setup_scaffolding!();
