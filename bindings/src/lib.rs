//! kidplan-ffi: the uniffi facade over kidplan-core, built as the one native library
//! (`libkidplan_ffi`) the Kotlin and Swift shells load.
//!
//! The FFI surface is defined where the types live: `kidplan-core` and `kidplan-api` carry
//! uniffi derives and exports under their `uniffi` feature (the `Kidplan` object, its methods,
//! the `SecretStore` and `ChangeListener` foreign traits, `KidplanError`, the records and
//! enums). Linking them here puts their scaffolding into this library, and
//! `uniffi-bindgen generate --library` finds their metadata in it (uniffi multi-crate). This
//! crate adds only what is FFI-specific.
//!
//! Panics never cross the boundary: every scaffolding function runs under uniffi's
//! `rust_call`, which catches a panic and reports it as an internal error (Kotlin
//! `InternalException`, Swift `UniffiInternalError`); the core's own errors arrive as
//! `KidplanException` / `KidplanError` with the same cases. uniffi's contract-version and
//! checksum checks stay on, so loading a library built from other bindings fails at first use
//! with a clear message instead of corrupting memory.

#![warn(missing_docs)]

uniffi::setup_scaffolding!();

// Referencing the crates makes the linker keep their exported scaffolding symbols.
pub use kidplan_api;
pub use kidplan_core;

/// The version of the native library (the workspace version the core was built from). Shells
/// show it in their "about" screen and bug reports.
#[uniffi::export]
pub fn kidplan_version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn version_is_the_workspace_version() {
        assert_eq!(super::kidplan_version(), env!("CARGO_PKG_VERSION"));
        assert!(!super::kidplan_version().is_empty());
    }
}
