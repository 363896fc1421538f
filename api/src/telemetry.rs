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
    /// The core was opened (the app started).
    AppOpened,
    /// A sync completed; bucketed by its duration.
    SyncSucceeded,
    /// A sync failed; bucketed by its duration.
    SyncFailed,
    /// The parent reported an absence.
    AbsenceReported,
    /// The parent registered a holiday.
    HolidayRegistered,
    /// The parent sent a message or started a thread.
    MessageSent,
    /// The parent granted or denied a consent.
    ConsentChanged,
    /// A photo was opened.
    PhotoViewed,
    /// A document was opened.
    DocumentOpened,
    /// A push reached the device.
    PushReceived,
    /// The parent exported their data.
    ExportRequested,
    /// A call of the core failed because the device was offline (no answer from the server).
    ErrorOffline,
    /// A call of the core failed because the session had expired or was revoked.
    ErrorSessionExpired,
    /// The server refused a call of the core with a 4xx status (other than 401).
    ErrorServer4xx,
    /// The server failed a call of the core with a 5xx status.
    ErrorServer5xx,
    /// The server's answer could not be read (malformed, or over the size limit).
    ErrorServerAnswer,
    /// Local storage failed (disk full, I/O, the secret store).
    ErrorStorage,
    /// A local database was unreadable (corrupt, or from a newer version).
    ErrorStorageCorrupt,
    /// The core hit a state it should never be in (an internal error, not a panic).
    ErrorInternal,
    /// A panic was caught at the FFI boundary in login, logout or contact confirmation.
    PanicAuth,
    /// A panic was caught at the FFI boundary in a sync or a telemetry report.
    PanicSync,
    /// A panic was caught at the FFI boundary in a read of the local cache.
    PanicReads,
    /// A panic was caught at the FFI boundary in a parent's action.
    PanicActions,
    /// A panic was caught at the FFI boundary in push registration or handling.
    PanicPush,
    /// A panic was caught at the FFI boundary while fetching a photo or document.
    PanicFiles,
    /// A panic was caught at the FFI boundary in a privacy right, the export or removing
    /// local data.
    PanicPrivacy,
    /// A value from a newer server; shown as unknown, never fails a page. Never recorded or sent
    /// (the collector refuses it).
    #[serde(other)]
    Unknown,
}

impl Metric {
    /// Every metric that can be recorded (all but [`Metric::Unknown`]).
    pub const ALL: [Metric; 26] = [
        Metric::AppOpened,
        Metric::SyncSucceeded,
        Metric::SyncFailed,
        Metric::AbsenceReported,
        Metric::HolidayRegistered,
        Metric::MessageSent,
        Metric::ConsentChanged,
        Metric::PhotoViewed,
        Metric::DocumentOpened,
        Metric::PushReceived,
        Metric::ExportRequested,
        Metric::ErrorOffline,
        Metric::ErrorSessionExpired,
        Metric::ErrorServer4xx,
        Metric::ErrorServer5xx,
        Metric::ErrorServerAnswer,
        Metric::ErrorStorage,
        Metric::ErrorStorageCorrupt,
        Metric::ErrorInternal,
        Metric::PanicAuth,
        Metric::PanicSync,
        Metric::PanicReads,
        Metric::PanicActions,
        Metric::PanicPush,
        Metric::PanicFiles,
        Metric::PanicPrivacy,
    ];

    /// Whether the metric is counted by duration bucket (a sync); every other metric only
    /// takes [`Bucket::Count`], and the collector refuses any other pairing.
    pub fn is_timed(self) -> bool {
        matches!(self, Metric::SyncSucceeded | Metric::SyncFailed)
    }

    /// Whether `bucket` is one this metric is counted in.
    pub fn takes(self, bucket: Bucket) -> bool {
        match bucket {
            Bucket::Unknown => false,
            Bucket::Count => !self.is_timed(),
            _ => self.is_timed(),
        }
    }
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
    /// A value from a newer server; shown as unknown, never fails a page. Never recorded or sent
    /// (the collector refuses it).
    #[serde(other)]
    Unknown,
}

/// The platform, one of a few fixed values (never the device model).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum Platform {
    /// The Android app.
    Android,
    /// The iOS app.
    Ios,
    /// Any other shell (the command-line client, tests).
    Desktop,
    /// A value from a newer server; shown as unknown, never fails a page. Never recorded or sent
    /// (the collector refuses it).
    #[serde(other)]
    Unknown,
}

/// One counter in a report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Counter {
    /// What was counted.
    pub metric: Metric,
    /// `count`, or the duration bucket; one counter per metric and bucket.
    pub bucket: Bucket,
    /// Capped at 1000 per day.
    pub count: u32,
}

/// The report, at most one per day.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TelemetryReport {
    /// Report format version, [`TELEMETRY_SCHEMA_VERSION`]; another version is refused.
    pub v: u32,
    /// The day the usage happened (`YYYY-MM-DD`), nothing finer.
    pub day: crate::time::Day,
    /// The platform the report comes from; `unknown` is refused.
    pub platform: Platform,
    /// Sorted by metric and bucket, so equal usage gives equal bytes.
    pub counters: Vec<Counter>,
    /// Random, fresh for each report; makes reports unlinkable, not identifiable.
    pub nonce: String,
    /// The day's anonymous one-time token: proves the report comes from a real, distinct
    /// install without saying which (see [`TelemetryToken`]). A report without a valid,
    /// unspent token for its day is refused.
    #[serde(default)]
    pub token: Option<TelemetryToken>,
    /// Spaces that pad the serialised report to [`TELEMETRY_REPORT_BYTES`].
    pub padding: String,
}

/// An anonymous one-time token (Privacy Pass style, on the RFC 9497 VOPRF with the
/// ristretto255-SHA512 suite). A logged-in guardian gets one blind evaluation per day; the
/// server never sees the input it evaluated, so the token it later checks in a report cannot be
/// linked to the guardian who asked for it. Fields are unpadded base64url.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TelemetryToken {
    /// The token input: 32 random bytes chosen by the device.
    #[schema(max_length = 64)]
    pub input: String,
    /// The PRF output of the day's key on the input: 64 bytes.
    #[schema(max_length = 96)]
    pub output: String,
}

/// `GET /v1/telemetry/keys/{day}` (no authentication): the public key of the day's token key.
/// Every device fetches it on the anonymous connection and checks the server's proof against
/// it, so a server that gave one guardian a key of their own would be caught.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TokenKey {
    /// The day the key issues tokens for.
    pub day: crate::time::Day,
    /// The public key: a compressed ristretto255 point (32 bytes), unpadded base64url.
    pub public_key: String,
}

/// `POST /v1/telemetry/tokens` (a guardian's session, `Idempotency-Key`): the blinded token
/// input to evaluate for `day`. One per guardian and day; a replay with the same key returns
/// the same answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TokenRequest {
    /// The usage day the token is for (the server's day, or one day either side of it).
    pub day: crate::time::Day,
    /// The blinded element: 32 bytes, unpadded base64url.
    #[schema(max_length = 64)]
    pub blinded_element: String,
}

/// The answer to a [`TokenRequest`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TokenResponse {
    /// The evaluated element: 32 bytes, unpadded base64url.
    pub evaluated_element: String,
    /// The proof that the day's published key made it: 64 bytes, unpadded base64url.
    pub proof: String,
}

/// Reports, each with a distinct valid token, a day needs before its counters are published.
pub const MIN_REPORTS_TO_PUBLISH: u32 = 20;

/// Query of `GET /v1/telemetry/counters`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CountersQuery {
    /// The day (`YYYY-MM-DD`).
    pub day: crate::time::Day,
}

/// One published daily counter: the sum over every report of the day.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PublishedCounter {
    /// The platform counted.
    pub platform: Platform,
    /// What was counted.
    pub metric: Metric,
    /// `count`, or the duration bucket.
    pub bucket: Bucket,
    /// The sum of this counter over every report of the day.
    pub count: u64,
}

/// `GET /v1/telemetry/counters?day=`: a day's counters, published only when at least
/// [`MIN_REPORTS_TO_PUBLISH`] reports contributed (otherwise `published` is false and
/// `counters` empty).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DayCounters {
    /// The day asked for, `YYYY-MM-DD`.
    pub day: crate::time::Day,
    /// Whether at least [`MIN_REPORTS_TO_PUBLISH`] reports contributed.
    pub published: bool,
    /// The day's counters; empty unless `published`.
    pub counters: Vec<PublishedCounter>,
}
