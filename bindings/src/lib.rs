//! kidplan-ffi: the uniffi facade over kidplan-core.
uniffi::setup_scaffolding!();

mod runtime;
/// Placeholder surface proving the bindings plumbing; to be replaced by the real facade.
pub mod smoke;
