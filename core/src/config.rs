//! What the host tells the core when it opens it ([`Config`]), and the internal tunables
//! ([`Tuning`]) that tests and the CLI may change.

use kidplan_api::push::Locale;
use kidplan_api::telemetry::Platform;
use std::time::Duration;

/// How the host configures the core.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Config {
    /// Base URL of the Kidplan server, `https://...` (plain `http` only for loopback).
    pub server_url: String,
    /// The language notifications are built in.
    pub locale: Locale,
    /// The platform, for the anonymous telemetry report.
    pub platform: Platform,
    /// The app's version, sent in the `User-Agent`.
    pub app_version: String,
}

/// Internal limits and timings. The defaults are what the apps use.
#[derive(Clone, Debug)]
pub struct Tuning {
    /// Time allowed to open a TCP/TLS connection.
    pub connect_timeout: Duration,
    /// Time allowed for a whole JSON request.
    pub request_timeout: Duration,
    /// Time allowed for a whole file download.
    pub download_timeout: Duration,
    /// Changes asked for per sync page.
    pub sync_page_limit: u32,
    /// Size cap of the photo and document cache per account, in bytes.
    pub file_cache_bytes: u64,
    /// First retry delay of an outbox item; doubles per attempt, with jitter.
    pub backoff_base: Duration,
    /// Longest retry delay of an outbox item.
    pub backoff_max: Duration,
    /// Whether a background task sends queued actions without waiting for `sync()`.
    pub background_flush: bool,
    /// Longest time `handle_push` waits for its sync before building from the cache.
    pub push_sync_timeout: Duration,
    /// How far ahead of the wall clock telemetry's clock runs: zero in the apps; tests use it
    /// to let a day end.
    pub telemetry_clock_offset: Duration,
    /// How long after an authenticated request the anonymous telemetry report waits before it
    /// may be sent (so time does not join the two).
    pub telemetry_quiet: Duration,
    /// The longest wait between two looks for a due telemetry report by the core's own sender
    /// (each wait is random, up to this); `None`: no background sender (tests).
    pub telemetry_sender_every: Option<Duration>,
}

impl Default for Tuning {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            download_timeout: Duration::from_secs(120),
            sync_page_limit: kidplan_api::sync::DEFAULT_SYNC_LIMIT,
            file_cache_bytes: 200 * 1024 * 1024,
            backoff_base: Duration::from_secs(2),
            backoff_max: Duration::from_secs(300),
            background_flush: true,
            push_sync_timeout: Duration::from_secs(10),
            telemetry_clock_offset: Duration::ZERO,
            telemetry_quiet: Duration::from_secs(15 * 60),
            telemetry_sender_every: Some(Duration::from_secs(30 * 60)),
        }
    }
}
