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
    /// Right of access (innsyn): to learn what is held about the guardian and their children.
    Access,
    /// Rectification: to have wrong data corrected.
    Rectification,
    /// Erasure: to have data deleted.
    Erasure,
    /// Restriction: to have processing limited while a question is settled.
    Restriction,
    /// Objection: to object to a processing.
    Objection,
    /// Portability: to get the data in a machine-readable form.
    Portability,
    /// A value from a newer server; shown as unknown, never fails a page.
    /// Never sent: the server refuses it (`invalid_input`, field `right`).
    #[serde(other)]
    Unknown,
}

/// Where a privacy request stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum PrivacyRequestStatus {
    /// Waiting for the kindergarten.
    Received,
    /// The kindergarten carried it out.
    Completed,
    /// The kindergarten refused it; `response` says why.
    Rejected,
    /// A completed restriction the kindergarten lifted again: the data is used again.
    Lifted,
    /// A value from a newer server; shown as unknown, never fails a page.
    #[serde(other)]
    Unknown,
}

/// What an objection (GDPR art. 21) is against.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum ObjectionTo {
    /// The anonymous usage counting: the device stops counting and sending at once.
    Analytics,
    /// Photos of the guardian's children shown to other families: the server withdraws every
    /// `photos_shared` consent of those children at once.
    PhotoSharing,
    /// A value from a newer server; shown as unknown, never fails a page.
    #[serde(other)]
    Unknown,
}

/// A privacy request (also a sync entity).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct PrivacyRequest {
    /// The request's id, made by the device when the guardian asked.
    pub id: PrivacyRequestId,
    /// The guardian who asked; only they and the kindergarten's staff see the request.
    pub guardian_id: GuardianId,
    /// The right exercised.
    pub right: PrivacyRight,
    /// The guardian's explanation, at most 4000 characters; `None` when none.
    pub note: Option<String>,
    /// Where the request stands.
    pub status: PrivacyRequestStatus,
    /// The kindergarten's answer, when handled.
    pub response: Option<String>,
    /// When the server received it, epoch milliseconds.
    pub created_at: Timestamp,
    /// When staff completed or rejected it, epoch milliseconds; `None` while received.
    pub handled_at: Option<Timestamp>,
    /// The child a rectification is about (`None`: the guardian's own data).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub child_id: Option<ChildId>,
    /// What an objection is against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub objection: Option<ObjectionTo>,
    /// A rectification of the child's free text (allergies, needs): the text asked for; the
    /// kindergarten's acceptance writes it to the child.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub child_info: Option<String>,
}

/// `POST /v1/privacy-requests` → [`PrivacyRequest`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CreatePrivacyRequest {
    /// Made by the device when the parent acts: 1 to 64 letters, digits, `-` or `_` (a UUID);
    /// an id already in use is `409`.
    pub id: PrivacyRequestId,
    /// The right to exercise; `unknown` is refused.
    pub right: PrivacyRight,
    /// An explanation for the kindergarten, at most 4000 characters; blank or `None` for none.
    pub note: Option<String>,
    /// For a rectification of a child's data: the child (one of the guardian's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub child_id: Option<ChildId>,
    /// For an objection: what it is against (required with [`PrivacyRight::Objection`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub objection: Option<ObjectionTo>,
    /// For a rectification of a child's data: the corrected free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub child_info: Option<String>,
}

/// The processor's privacy officer (personvernombud), from the privacy notice.
pub const PRIVACY_OFFICER_EMAIL: &str = "personvernombud@pbl.no";
/// Where a parent may complain about the processing of their data.
pub const SUPERVISORY_AUTHORITY: &str = "Datatilsynet";
/// The supervisory authority's web site.
pub const SUPERVISORY_AUTHORITY_URL: &str = "https://www.datatilsynet.no";

/// Who to ask about the parent's data at one kindergarten: the controller (the kindergarten,
/// answered for by its manager), the processor's privacy officer, and the right to complain
/// to Datatilsynet.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct PrivacyInfo {
    /// The kindergarten, the controller of the data.
    pub kindergarten_id: KindergartenId,
    /// Its name.
    pub kindergarten_name: String,
    /// The manager who answers for the kindergarten as controller, when known.
    pub controller_name: Option<String>,
    /// The manager's e-mail address, when known.
    pub controller_email: Option<String>,
    /// The processor's privacy officer (personvernombud).
    pub privacy_officer_email: String,
    /// Where to complain: Datatilsynet.
    pub supervisory_authority: String,
    /// Datatilsynet's web site.
    pub supervisory_authority_url: String,
}

impl PrivacyInfo {
    /// The information for a kindergarten, its manager taken from its staff.
    pub fn for_kindergarten(kindergarten: &Kindergarten, staff: &[Staff]) -> Self {
        let manager = staff
            .iter()
            .find(|s| s.kindergarten_id == kindergarten.id && s.role == StaffRole::Manager);
        Self {
            kindergarten_id: kindergarten.id.clone(),
            kindergarten_name: kindergarten.name.clone(),
            controller_name: manager.map(|m| m.name.clone()),
            controller_email: manager.and_then(|m| m.email.clone()),
            privacy_officer_email: PRIVACY_OFFICER_EMAIL.to_owned(),
            supervisory_authority: SUPERVISORY_AUTHORITY.to_owned(),
            supervisory_authority_url: SUPERVISORY_AUTHORITY_URL.to_owned(),
        }
    }
}

/// One row of the server's access log about the guardian (rows are deleted after 14 days).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AccessLogRow {
    /// When the request was answered.
    pub at: Timestamp,
    /// The client's IP address, as seen by the server.
    pub ip: Option<String>,
    /// The HTTP method.
    pub method: String,
    /// The route template (no ids, no query).
    pub route: String,
    /// The HTTP status of the answer.
    pub status: u16,
}

/// A push registration of one of the guardian's devices, without its token or secret.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct PushRegistrationInfo {
    /// The random registration id the device chose.
    pub id: String,
    /// The push service the token belongs to.
    pub provider: crate::push::PushProvider,
    /// When the device last confirmed it.
    pub last_seen_at: Timestamp,
}

/// What the export says about telemetry: the server keeps nothing linkable to anyone.
pub const TELEMETRY_STATEMENT: &str = "Anonymous usage counters only: per day, platform, metric and fixed bucket, counted over all installs; no account, device, install or IP address is stored with them, so nothing in them can be linked to you.";

/// Version of the export format ([`DataExport`]).
pub const EXPORT_SCHEMA_VERSION: u32 = 1;

/// `GET /v1/me/export`: everything the server holds about the guardian and their children,
/// machine-readable (right of access and portability).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DataExport {
    /// The export format's version, [`EXPORT_SCHEMA_VERSION`].
    pub schema_version: u32,
    /// When the export was made, epoch milliseconds.
    pub exported_at: Timestamp,
    /// The guardian's own record, contact details included.
    pub guardian: Guardian,
    /// The guardian's children.
    pub children: Vec<Child>,
    /// The guardian-child relations the guardian may see.
    pub relations: Vec<GuardianChild>,
    /// The children's log (barnelogg) entries.
    pub log_entries: Vec<LogEntry>,
    /// The message threads the guardian may see, broadcasts included.
    pub threads: Vec<Thread>,
    /// The messages of those threads, with the guardian's own `read_at`.
    pub messages: Vec<Message>,
    /// The children's absence reports, whoever reported them.
    pub absences: Vec<Absence>,
    /// The children's holiday registrations.
    pub holidays: Vec<Holiday>,
    /// The children's consents with their history.
    pub consents: Vec<Consent>,
    /// The people allowed to pick the children up.
    pub pickup_persons: Vec<PickupPerson>,
    /// The guardian's notification preferences; `None` only if the server has none.
    pub notification_preferences: Option<NotificationPreferences>,
    /// The guardian's privacy requests.
    pub privacy_requests: Vec<PrivacyRequest>,
    /// Metadata of the photos tagging the children (only their tags); no image bytes.
    pub photos: Vec<Photo>,
    /// Metadata of the documents about one of the children; no content.
    pub documents: Vec<Document>,
    /// The guardian's reminder settings, when they changed the defaults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reminder_settings: Option<crate::reminders::ReminderSettings>,
    /// Who to ask, per kindergarten of the guardian's children.
    #[serde(default)]
    pub privacy_info: Vec<PrivacyInfo>,
    /// The access-log rows about the guardian still kept (at most 14 days old).
    #[serde(default)]
    pub access_log: Vec<AccessLogRow>,
    /// The guardian's devices registered for push (never the token).
    #[serde(default)]
    pub push_registrations: Vec<PushRegistrationInfo>,
    /// What telemetry holds ([`TELEMETRY_STATEMENT`]).
    #[serde(default)]
    pub telemetry: String,
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
            privacy_info: vec![],
            access_log: vec![],
            push_registrations: vec![],
            telemetry: TELEMETRY_STATEMENT.to_owned(),
        }
    }
}
