//! Kidplan reference server: axum + SQLite.
//!
//! It implements the wire contract of `kidplan-api` (parent endpoints, the sync feed, staff
//! endpoints, push registrations, the telemetry collector) and the server-side privacy
//! promises: erasure without traces, deletion of a kindergarten one month after its
//! contract ends, 14-day IP log, content-free pushes, only recipient and
//! text to email/SMS providers, anonymous telemetry counters.
//!
//! The library API ([`ServerConfig`], [`RunningServer`], [`Clock`], [`seed::demo`]) lets the
//! CLI, the demo and tests run a real server on an ephemeral loopback port.

mod access;
mod app;
pub mod auth;
pub mod clock;
mod command;
pub mod consent;
mod contact_change;
pub mod contract;
pub mod db;
mod entities;
pub mod erasure;
mod erasure_confirm;
pub mod error;
mod extract;
#[cfg(feature = "faults")]
pub mod faults;
mod feed;
mod files;
mod image_meta;
pub mod maintenance;
mod net;
pub mod notices;
mod parent;
pub mod permissions;
mod pictures;
pub mod providers;
mod push;
mod redaction;
pub mod reminders;
mod responsibility;
mod rights;
pub mod seed;
pub mod send_queue;
mod server;
mod staff;
mod telemetry;
mod tokens;

pub use auth::RateLimits;
pub use clock::Clock;
#[cfg(feature = "faults")]
pub use faults::{Fault, FaultKind, Faults};
pub use providers::config::{ConfigError, ProvidersConfig};
pub use providers::{
    Email, EmailSender, OutboxMessage, ProviderRequest, Push, PushSender, RecordedPush, SendError,
    Sms, SmsSender,
};
pub use seed::demo;
pub use send_queue::QueueReport;
pub use server::{ConnectionLimits, DB_FILE, FILES_DIR, RunningServer, ServerConfig, open_db};

/// Creates a session for a person directly in a database file and prints nothing: used by the
/// hidden `token` subcommand (schemathesis needs a bearer token without reading the outbox).
pub fn mint_access_token(
    db_file: &std::path::Path,
    contact: &str,
    ttl_s: i64,
) -> anyhow::Result<String> {
    let db = db::Db::open(db_file)?;
    let mut conn = db.lock();
    auth::mint_session(
        &mut conn,
        contact,
        chrono::Utc::now().timestamp_millis(),
        ttl_s,
    )
}

/// Records the last day of a kindergarten's contract in a database file: used by the hidden
/// `contract-end` subcommand (the operator's action). Maintenance deletes the kindergarten's
/// data once a calendar month after that day is over.
pub fn end_contract(
    db_file: &std::path::Path,
    kindergarten_id: &str,
    last_day: chrono::NaiveDate,
) -> anyhow::Result<()> {
    let db = db::Db::open(db_file)?;
    let conn = db.lock();
    contract::end_contract(&conn, kindergarten_id, last_day)
}
