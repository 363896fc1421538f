//! The parent's privacy rights: requests to the kindergarten and the data export.

use crate::ids::*;
use crate::model::*;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A right under the GDPR that a guardian can exercise.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum PrivacyRight {
    Access,
    Rectification,
    Erasure,
    Restriction,
    Objection,
    Portability,
    #[serde(other)]
    Unknown,
}

/// Where a privacy request stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum PrivacyRequestStatus {
    Received,
    Completed,
    Rejected,
    #[serde(other)]
    Unknown,
}

/// A privacy request (also a sync entity).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct PrivacyRequest {
    pub id: PrivacyRequestId,
    pub guardian_id: GuardianId,
    pub right: PrivacyRight,
    pub note: Option<String>,
    pub status: PrivacyRequestStatus,
    /// The kindergarten's answer, when handled.
    pub response: Option<String>,
    pub created_at: Timestamp,
    pub handled_at: Option<Timestamp>,
}

/// `POST /v1/privacy-requests` → [`PrivacyRequest`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CreatePrivacyRequest {
    pub id: PrivacyRequestId,
    pub right: PrivacyRight,
    pub note: Option<String>,
}

/// Version of the export format ([`DataExport`]).
pub const EXPORT_SCHEMA_VERSION: u32 = 1;

/// `GET /v1/me/export`: everything the server holds about the guardian and their children,
/// machine-readable (right of access and portability).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DataExport {
    pub schema_version: u32,
    pub exported_at: Timestamp,
    pub guardian: Guardian,
    pub children: Vec<Child>,
    pub relations: Vec<GuardianChild>,
    pub log_entries: Vec<LogEntry>,
    pub threads: Vec<Thread>,
    pub messages: Vec<Message>,
    pub absences: Vec<Absence>,
    pub holidays: Vec<Holiday>,
    pub consents: Vec<Consent>,
    pub pickup_persons: Vec<PickupPerson>,
    pub notification_preferences: Option<NotificationPreferences>,
    pub privacy_requests: Vec<PrivacyRequest>,
    pub photos: Vec<Photo>,
    pub documents: Vec<Document>,
    /// The guardian's reminder settings, when they changed the defaults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reminder_settings: Option<crate::reminders::ReminderSettings>,
}

impl DataExport {
    /// An export of `guardian` made at `exported_at`, every other section empty.
    pub fn empty(guardian: Guardian, exported_at: Timestamp) -> Self {
        Self {
            schema_version: EXPORT_SCHEMA_VERSION,
            exported_at,
            guardian,
            children: vec![],
            relations: vec![],
            log_entries: vec![],
            threads: vec![],
            messages: vec![],
            absences: vec![],
            holidays: vec![],
            consents: vec![],
            pickup_persons: vec![],
            notification_preferences: None,
            privacy_requests: vec![],
            photos: vec![],
            documents: vec![],
            reminder_settings: None,
        }
    }
}
