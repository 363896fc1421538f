//! Kidplan wire contract, version 1.
//!
//! Every request and response body exchanged between the app core (`kidplan-core`) and the
//! reference backend (`kidplan-server`) is defined here, together with the endpoint paths
//! ([`paths`]), the one JSON error body ([`error::ApiError`]) and the OpenAPI document
//! ([`openapi::document`]).
//!
//! Forward compatibility: every enum that a newer server may extend has an `Unknown` variant
//! (`#[serde(other)]`), so one unknown value never fails a whole sync page.

#![warn(missing_docs)]

pub mod auth;
pub mod commands;
pub mod error;
pub mod ids;
pub mod model;
pub mod openapi;
pub mod paths;
pub mod privacy;
pub mod push;
pub mod reminders;
pub mod staff;
pub mod sync;
pub mod telemetry;
pub mod time;

pub use error::{ApiError, ErrorCode};
pub use ids::*;
pub use time::{Day, DayParseError, Timestamp};

/// Largest JSON body either side accepts (1 MiB).
pub const MAX_JSON_BODY: usize = 1024 * 1024;
/// Largest upload (photo or document) the server accepts (20 MiB).
pub const MAX_UPLOAD_BODY: usize = 20 * 1024 * 1024;
/// Largest profile picture (of a child or a staff member) the server accepts (2 MiB).
pub const MAX_PICTURE_BYTES: usize = 2 * 1024 * 1024;
/// Header carrying the idempotency key of a command.
pub const IDEMPOTENCY_KEY_HEADER: &str = "Idempotency-Key";

/// The header on a command's answer (`<before> <after>`, two sync sequence numbers): the sync
/// feed stood at `before` when the command ran and at `after` once it committed (a replay
/// repeats the first run's values). The device compares them with the feed sequence of
/// versions it held back while the command was pending, so the newer one wins.
pub const FEED_RANGE_HEADER: &str = "Kidplan-Feed-Range";

#[cfg(feature = "uniffi")]
uniffi::setup_scaffolding!();
