//! Staff endpoints (`/v1/staff/...`): used by the kindergarten's own tools, the demo and the
//! tests. Staff log in with a one-time code like guardians; their session has role `staff`.

use crate::ids::*;
use crate::model::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `POST /v1/staff/log-entries` → [`LogEntry`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct WriteLogEntry {
    pub child_id: ChildId,
    pub kind: LogKind,
    pub text: String,
}

/// `POST /v1/staff/threads/{id}/messages` → [`Message`]: answer a thread.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StaffMessage {
    pub body: String,
}

/// `POST /v1/staff/threads` → [`Thread`]: a new thread to the guardians of one child.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StaffStartThread {
    pub child_id: ChildId,
    pub subject: String,
    pub body: String,
}

/// `POST /v1/staff/broadcasts` → [`Thread`]: a message to every family of the kindergarten
/// (or of one department). `urgent` broadcasts bypass notification preferences.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Broadcast {
    pub department_id: Option<DepartmentId>,
    pub subject: String,
    pub body: String,
    pub urgent: bool,
}

/// Query of `POST /v1/staff/photos` (the body is the image bytes, `image/jpeg` or `image/png`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema, utoipa::IntoParams)]
pub struct UploadPhotoQuery {
    /// Comma-separated child ids tagged in the photo.
    pub children: String,
    pub caption: Option<String>,
}

/// Query of `POST /v1/staff/documents` (the body is the document bytes).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema, utoipa::IntoParams)]
pub struct UploadDocumentQuery {
    /// `None` for a document for every family of the kindergarten.
    pub child_id: Option<ChildId>,
    pub title: String,
}

/// `POST /v1/staff/attendance/{child_id}` → [`Attendance`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AttendanceAction {
    CheckIn,
    CheckOut,
}

/// Body of `POST /v1/staff/attendance/{child_id}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RecordAttendance {
    pub action: AttendanceAction,
}

// `POST /v1/staff/absences/{id}/acknowledge` → [`Absence`].

/// `POST /v1/staff/events` → [`CalendarEvent`]: an event in the kindergarten's calendar
/// (`department_id` `None` for the whole kindergarten).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CreateEvent {
    pub department_id: Option<DepartmentId>,
    pub title: String,
    pub description: Option<String>,
    pub starts_at: crate::time::Timestamp,
    pub ends_at: crate::time::Timestamp,
    /// Makes the event a holiday registration period with this deadline (see
    /// [`CalendarEvent::registration_deadline`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_deadline: Option<crate::time::Day>,
}

/// `POST /v1/staff/privacy-requests/{id}/handle` → [`crate::privacy::PrivacyRequest`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct HandlePrivacyRequest {
    pub status: crate::privacy::PrivacyRequestStatus,
    pub response: Option<String>,
}

/// Whose data to erase.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Person {
    Child(ChildId),
    Guardian(GuardianId),
    Staff(StaffId),
}

/// `POST /v1/staff/erasures` → [`ErasureReport`]: erase a person on the kindergarten's
/// instruction. Irreversible.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EraseRequest {
    pub person: Person,
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
    #[serde(other)]
    Unknown,
}

/// `GET /v1/staff/send-queue` → `Vec<QueuedSend>` (manager only): what waits to be handed to
/// a provider for the kindergarten's families, and what was given up. No recipient, no text.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct QueuedSend {
    pub id: i64,
    /// `email`, `sms` or `push`.
    pub channel: String,
    pub state: SendState,
    pub attempts: u32,
    /// When the next try is due (pending) or when it was given up (dead).
    pub next_attempt_at: crate::time::Timestamp,
    /// The kind of the last failure (`http_429`, `http_500`, `timeout`, `connection`, ...):
    /// never the provider's text.
    pub last_error: Option<String>,
    pub created_at: crate::time::Timestamp,
}
