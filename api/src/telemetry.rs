//! The anonymous telemetry report: `POST /v1/telemetry` (no authentication).
//!
//! A report has no identifier of any kind: no install id, account id, device model or hash.
//! Only closed enums and fixed buckets; day-level time; padded to a fixed size.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Version of the report format.
pub const TELEMETRY_SCHEMA_VERSION: u32 = 1;
/// Size in bytes every serialised report is padded to.
pub const TELEMETRY_REPORT_BYTES: usize = 4096;

/// What is counted. Closed: nothing else can be recorded.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum Metric {
    AppOpened,
    SyncSucceeded,
    SyncFailed,
    AbsenceReported,
    HolidayRegistered,
    MessageSent,
    ConsentChanged,
    PhotoViewed,
    DocumentOpened,
    PushReceived,
    ExportRequested,
    #[serde(other)]
    Unknown,
}

/// A fixed bucket for a count or a duration.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum Bucket {
    /// Counted, no duration.
    Count,
    /// Took under 100 ms.
    Under100Ms,
    /// Took 100 ms to 1 s.
    Under1S,
    /// Took 1 s to 10 s.
    Under10S,
    /// Took 10 s or more.
    Over10S,
    #[serde(other)]
    Unknown,
}

/// The platform, one of two values (not the device model).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum Platform {
    Android,
    Ios,
    Desktop,
    #[serde(other)]
    Unknown,
}

/// One counter in a report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Counter {
    pub metric: Metric,
    pub bucket: Bucket,
    /// Capped at 1000 per day.
    pub count: u32,
}

/// The report, at most one per day.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TelemetryReport {
    pub v: u32,
    /// The day the usage happened (`YYYY-MM-DD`), nothing finer.
    pub day: crate::time::Day,
    pub platform: Platform,
    /// Sorted by metric and bucket, so equal usage gives equal bytes.
    pub counters: Vec<Counter>,
    /// Random, fresh for each report; makes reports unlinkable, not identifiable.
    pub nonce: String,
    /// Spaces that pad the serialised report to [`TELEMETRY_REPORT_BYTES`].
    pub padding: String,
}

/// Reports a day needs before its counters are published.
pub const MIN_REPORTS_TO_PUBLISH: u32 = 20;

/// Query of `GET /v1/telemetry/counters`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema, utoipa::IntoParams)]
pub struct CountersQuery {
    /// The day (`YYYY-MM-DD`).
    pub day: crate::time::Day,
}

/// One published daily counter: the sum over every report of the day.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PublishedCounter {
    pub platform: Platform,
    pub metric: Metric,
    pub bucket: Bucket,
    pub count: u64,
}

/// `GET /v1/telemetry/counters?day=`: a day's counters, published only when at least
/// [`MIN_REPORTS_TO_PUBLISH`] reports contributed (otherwise `published` is false and
/// `counters` empty).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DayCounters {
    pub day: crate::time::Day,
    pub published: bool,
    pub counters: Vec<PublishedCounter>,
}
