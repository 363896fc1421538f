//! Push registrations and the content-free push payload.

use crate::ids::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The push service of a platform.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum PushProvider {
    /// Firebase Cloud Messaging (Android).
    Fcm,
    /// Apple Push Notification service (iOS).
    Apns,
    /// A value from a newer server; shown as unknown, never fails a page. Never sent: the server
    /// refuses it (`invalid_input`, field `provider`).
    #[serde(other)]
    Unknown,
}

/// A language the app speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum Locale {
    /// Norwegian Bokmål.
    Nb,
    /// Norwegian Nynorsk.
    Nn,
    /// English.
    En,
}

/// `PUT /v1/push/registrations/{id}` → [`PushRegistration`]: create or update the device's
/// registration for this account. `secret` is a random value kept in the device's secret store;
/// it lets the device unregister later (`DELETE` with header `X-Registration-Secret`) even
/// after the session has ended.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct UpsertPushRegistration {
    /// The push service the token belongs to; `unknown` is refused.
    pub provider: PushProvider,
    /// The device's push token from FCM or APNs, 1 to 4096 characters. Secret: the server
    /// never returns it. The same token under a new registration id replaces the old one.
    #[schema(min_length = 1, max_length = 4096)]
    pub token: String,
    /// A random secret, 16 to 512 characters, kept in the device's secret store; the server
    /// keeps only its hash.
    #[schema(min_length = 16, max_length = 512)]
    pub secret: String,
}

/// A push registration as the server confirms it (without the token or secret).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PushRegistration {
    /// The registration's id (random, chosen by the device).
    pub id: PushRegistrationId,
    /// The push service.
    pub provider: PushProvider,
    /// The day (UTC, `YYYY-MM-DD`) the server last heard from the device; a registration
    /// unseen for [`REGISTRATION_TTL_DAYS`] days is dropped.
    pub last_seen_day: crate::time::Day,
}

/// Header carrying the registration secret on `DELETE /v1/push/registrations/{id}`.
pub const REGISTRATION_SECRET_HEADER: &str = "X-Registration-Secret";

/// Days after which the server drops a registration it has not seen.
pub const REGISTRATION_TTL_DAYS: i64 = 60;

/// What a push is about. The payload never carries personal data; the device builds the
/// text from its own cache after a sync.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PushKind {
    /// Something changed: sync, then show what `hint` names.
    Sync,
    /// A reminder ("påminnelse"): `hint` is `calendar_event/<id>` (the event is tomorrow, or
    /// at the guardian's chosen number of days) or `holiday_deadline/<event id>` (the holiday
    /// registration deadline of that event is near and a child is not registered yet). The
    /// device builds the text from its cache; a client that predates this kind ignores it.
    Reminder,
    /// A kind from a newer server: the device shows nothing for it, and nothing fails.
    #[serde(other)]
    Unknown,
}

/// The data payload of every push: `{"v":1,"kind":"sync","hint":"..."}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PushPayload {
    /// Payload version, `1`.
    pub v: u32,
    /// What the push is about.
    pub kind: PushKind,
    /// An opaque hint, `<entity>/<id>` (for example `absence/3f2c...`) of the change that caused
    /// the push. Ids are random and carry no personal data.
    pub hint: Option<String>,
}
