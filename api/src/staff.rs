//! Staff endpoints (`/v1/staff/...`): used by the kindergarten's own tools, the demo and the
//! tests. Staff log in with a one-time code like guardians; their session has role `staff`.

use crate::ids::*;
use crate::model::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `POST /v1/staff/log-entries` → [`LogEntry`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct WriteLogEntry {
    /// A child of the staff member's own kindergarten (another is `404`).
    pub child_id: ChildId,
    /// What the entry is about; `unknown` is refused.
    pub kind: LogKind,
    /// The entry, not blank, at most [`crate::commands::MAX_TEXT_CHARS`] characters.
    #[schema(min_length = 1, max_length = 4000, pattern = "\\S")]
    pub text: String,
}

/// `PUT /v1/staff/relations/{id}/parental-responsibility` → [`GuardianChild`]: whether the
/// guardian of the link has parental responsibility (foreldreansvar) for its child.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SetParentalResponsibility {
    /// `true`: the guardian has parental responsibility; `false`: they have not.
    pub parental_responsibility: bool,
}

/// `PUT /v1/staff/me/info` → [`Staff`]: the staff member's own free text for the families.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SetStaffInfo {
    /// The text, at most [`crate::commands::MAX_GUARDIAN_INFO_CHARS`] characters; `null` or
    /// empty removes it.
    #[schema(max_length = 2000)]
    pub info: Option<String>,
}

/// `POST /v1/staff/threads/{id}/messages` → [`Message`]: answer a thread.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StaffMessage {
    /// The answer, not blank, at most [`crate::commands::MAX_TEXT_CHARS`] characters.
    #[schema(min_length = 1, max_length = 4000, pattern = "\\S")]
    pub body: String,
}

/// `POST /v1/staff/threads` → [`Thread`]: a new thread to the guardians of one child.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StaffStartThread {
    /// A child of the staff member's own kindergarten (another is `404`).
    pub child_id: ChildId,
    /// Subject line, not blank, at most [`crate::commands::MAX_SUBJECT_CHARS`] characters.
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    pub subject: String,
    /// The first message, not blank, at most [`crate::commands::MAX_TEXT_CHARS`] characters.
    #[schema(min_length = 1, max_length = 4000, pattern = "\\S")]
    pub body: String,
}

/// `POST /v1/staff/broadcasts` → [`Thread`]: a message to every family of the kindergarten
/// (or of one department). `urgent` broadcasts bypass notification preferences.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Broadcast {
    /// One department (avdeling) of the kindergarten; `None` for the whole kindergarten.
    pub department_id: Option<DepartmentId>,
    /// Subject line, not blank, at most [`crate::commands::MAX_SUBJECT_CHARS`] characters.
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    pub subject: String,
    /// The message, not blank, at most [`crate::commands::MAX_TEXT_CHARS`] characters.
    #[schema(min_length = 1, max_length = 4000, pattern = "\\S")]
    pub body: String,
    /// An urgent alert (closure, emergency): notified in category `urgent`, which guardians
    /// cannot switch off.
    pub urgent: bool,
}

/// Query of `POST /v1/staff/photos` (the body is the image bytes, `image/jpeg` or `image/png`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadPhotoQuery {
    /// Comma-separated child ids tagged in the photo.
    #[schema(min_length = 1, max_length = 3700)]
    #[param(min_length = 1, max_length = 6500)]
    pub children: String,
    /// A caption shown with the photo, at most [`crate::commands::MAX_TEXT_CHARS`] characters.
    #[schema(max_length = 4000)]
    #[param(max_length = 4000)]
    pub caption: Option<String>,
}

/// Query of `POST /v1/staff/documents` (the body is the document bytes).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadDocumentQuery {
    /// `None` for a document for every family of the kindergarten.
    pub child_id: Option<ChildId>,
    /// Title, not blank, at most [`crate::commands::MAX_SUBJECT_CHARS`] characters.
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    #[param(min_length = 1, max_length = 200, pattern = "\\S")]
    pub title: String,
}

/// `POST /v1/staff/attendance/{child_id}` → [`Attendance`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AttendanceAction {
    /// The child arrived (`409` if already checked in); after a check-out it starts a new stay.
    CheckIn,
    /// The child went home (`409` unless checked in).
    CheckOut,
}

/// Body of `POST /v1/staff/attendance/{child_id}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RecordAttendance {
    /// Check in or check out, now, on today's (UTC) record.
    pub action: AttendanceAction,
}

// `POST /v1/staff/absences/{id}/acknowledge` → [`Absence`].

/// `POST /v1/staff/events` → [`CalendarEvent`]: an event in the kindergarten's calendar
/// (`department_id` `None` for the whole kindergarten).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CreateEvent {
    /// One department (avdeling) of the kindergarten; `None` for the whole kindergarten.
    pub department_id: Option<DepartmentId>,
    /// Title, not blank, at most [`crate::commands::MAX_SUBJECT_CHARS`] characters.
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    pub title: String,
    /// Details, at most [`crate::commands::MAX_TEXT_CHARS`] characters; blank or `None` for none.
    #[schema(max_length = 4000)]
    pub description: Option<String>,
    /// When it starts, epoch milliseconds.
    pub starts_at: crate::time::Timestamp,
    /// When it ends, epoch milliseconds; not before `starts_at`.
    pub ends_at: crate::time::Timestamp,
    /// Makes the event a holiday registration period with this deadline (see
    /// [`CalendarEvent::registration_deadline`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_deadline: Option<crate::time::Day>,
}

/// `POST /v1/staff/privacy-requests/{id}/handle` → [`crate::privacy::PrivacyRequest`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct HandlePrivacyRequest {
    /// `completed` or `rejected`; anything else is refused.
    pub status: crate::privacy::PrivacyRequestStatus,
    /// The answer shown to the guardian, at most [`crate::commands::MAX_TEXT_CHARS`] characters.
    #[schema(max_length = 4000)]
    pub response: Option<String>,
}

/// Whose data to erase.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Person {
    /// A child: their record, log, absences, holidays, consents, attendance, pickup persons,
    /// threads, their documents and the photos of them alone (untagged from shared ones).
    Child(ChildId),
    /// A guardian: their record, relations, threads, messages, privacy requests, push
    /// registrations and login; the absences, holidays and consents they gave lose their name.
    Guardian(GuardianId),
    /// A member of staff: their record and login; the log entries, messages and
    /// acknowledgements they made lose their name.
    Staff(StaffId),
}

/// `POST /v1/staff/erasures` → [`ErasureReport`]: erase a person on the kindergarten's
/// instruction. Irreversible.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EraseRequest {
    /// The person to erase, within the staff member's own kindergarten.
    pub person: Person,
    /// The token of the first step's answer ([`ErasureConfirmation`]); without it nothing is
    /// erased and the answer is `202` with a new token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 64)]
    pub confirmation: Option<String>,
}

/// `202` answer of `POST /v1/staff/erasures` without a confirmation: repeat the request with
/// this token (same person, same manager, within `expires_in` seconds) to erase.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ErasureConfirmation {
    /// The one-time token to send with the second call.
    pub confirmation: String,
    /// Seconds the token stays valid.
    pub expires_in: i64,
}

/// What an erasure removed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ErasureReport {
    /// Rows deleted, all tables together.
    pub rows_deleted: u64,
    /// Files (photos, documents) deleted from disk.
    pub files_deleted: u64,
    /// Usage rows kept but stripped of the person's identity.
    pub rows_anonymised: u64,
}

/// The state of a queued e-mail, SMS or push.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SendState {
    /// Waiting for its next try.
    Pending,
    /// Given up after the last allowed try (kept for a week so staff can see it).
    Dead,
    /// A value from a newer server; shown as unknown, never fails a page.
    #[serde(other)]
    Unknown,
}

/// `GET /v1/staff/send-queue` → `Vec<QueuedSend>` (manager only): what waits to be handed to
/// a provider for the kindergarten's families, and what was given up. No recipient, no text.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct QueuedSend {
    /// The queue row's number (newest first in the list).
    pub id: i64,
    /// `email`, `sms` or `push`.
    pub channel: String,
    /// Waiting for a try, or given up.
    pub state: SendState,
    /// Tries made so far.
    pub attempts: u32,
    /// When the next try is due (pending) or when it was given up (dead).
    pub next_attempt_at: crate::time::Timestamp,
    /// The kind of the last failure (`http_429`, `http_500`, `timeout`, `connection`, ...):
    /// never the provider's text.
    pub last_error: Option<String>,
    /// When it was queued, epoch milliseconds.
    pub created_at: crate::time::Timestamp,
}
