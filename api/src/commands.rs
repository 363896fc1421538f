//! Parent commands. Each is sent with an `Idempotency-Key` header; ids of new things are made
//! by the device when the parent acts, so an action taken offline needs no id mapping later.
//! The answer of every command is the resulting entity, as it will also appear in the feed.

use crate::ids::*;
use crate::model::*;
use crate::time::Day;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Longest free text (note, message body) accepted, in characters.
pub const MAX_TEXT_CHARS: usize = 4000;
/// Longest subject line, in characters.
pub const MAX_SUBJECT_CHARS: usize = 200;

/// `POST /v1/absences` → [`Absence`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ReportAbsence {
    /// Made by the device when the parent acts: 1 to 64 letters, digits, `-` or `_` (a UUID);
    /// an id already in use is `409`.
    pub id: AbsenceId,
    /// One of the guardian's own children (another child is `404`).
    pub child_id: ChildId,
    /// First day, `YYYY-MM-DD` (the core takes years [`Day::FIRST_YEAR`]..=[`Day::LAST_YEAR`]).
    pub first_day: Day,
    /// Last day (included), `YYYY-MM-DD`: not before `first_day`, at most 366 days after it.
    pub last_day: Day,
    /// Why the child is absent; `unknown` is refused.
    pub reason: AbsenceReason,
    /// A note to staff, at most [`MAX_TEXT_CHARS`] characters; blank or `None` for no note.
    #[schema(max_length = 4000)]
    pub note: Option<String>,
}

/// `PUT /v1/absences/{id}` → [`Absence`]. Only a report not yet acknowledged can be edited.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EditAbsence {
    /// First day, `YYYY-MM-DD` (the core takes years [`Day::FIRST_YEAR`]..=[`Day::LAST_YEAR`]).
    pub first_day: Day,
    /// Last day (included), `YYYY-MM-DD`: not before `first_day`, at most 366 days after it.
    pub last_day: Day,
    /// Why the child is absent; `unknown` is refused.
    pub reason: AbsenceReason,
    /// A note to staff, at most [`MAX_TEXT_CHARS`] characters; blank or `None` for no note.
    /// Replaces the old note.
    #[schema(max_length = 4000)]
    pub note: Option<String>,
}

// `DELETE /v1/absences/{id}` withdraws a report (status `withdrawn`) → [`Absence`].

/// `POST /v1/holidays` → [`Holiday`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RegisterHoliday {
    /// Made by the device when the parent acts: 1 to 64 letters, digits, `-` or `_` (a UUID);
    /// an id already in use is `409`.
    pub id: HolidayId,
    /// One of the guardian's own children (another child is `404`).
    pub child_id: ChildId,
    /// First day, `YYYY-MM-DD` (the core takes years [`Day::FIRST_YEAR`]..=[`Day::LAST_YEAR`]).
    pub first_day: Day,
    /// Last day (included), `YYYY-MM-DD`: not before `first_day`, at most 366 days after it.
    pub last_day: Day,
    /// A note to staff, at most [`MAX_TEXT_CHARS`] characters; blank or `None` for no note.
    #[schema(max_length = 4000)]
    pub note: Option<String>,
}

/// `POST /v1/threads` → [`Thread`]: a new thread with its first message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StartThread {
    /// The new thread's id, made by the device when the parent acts: 1 to 64 letters, digits,
    /// `-` or `_` (a UUID); an id already in use is `409`.
    pub id: ThreadId,
    /// The child the thread is about (one of the guardian's own); `None` for a question to the
    /// kindergarten in general.
    pub child_id: Option<ChildId>,
    /// Subject line, not blank, at most [`MAX_SUBJECT_CHARS`] characters.
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    pub subject: String,
    /// The id of the first message, made by the device like `id`.
    pub first_message_id: MessageId,
    /// The first message, not blank, at most [`MAX_TEXT_CHARS`] characters.
    #[schema(min_length = 1, max_length = 4000, pattern = "\\S")]
    pub body: String,
}

/// `POST /v1/threads/{id}/messages` → [`Message`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SendMessage {
    /// The new message's id, made by the device when the parent acts: 1 to 64 letters,
    /// digits, `-` or `_` (a UUID); an id already in use is `409`.
    pub id: MessageId,
    /// The text, not blank, at most [`MAX_TEXT_CHARS`] characters. A broadcast cannot be
    /// answered (`409`).
    #[schema(min_length = 1, max_length = 4000, pattern = "\\S")]
    pub body: String,
}

/// `POST /v1/threads/{id}/read` → [`Ack`]: marks every message up to and including `up_to` read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MarkRead {
    /// The newest message the guardian has seen; it must be in this thread (else `404`).
    pub up_to: MessageId,
}

/// `PUT /v1/children/{child_id}/consents/{kind}` → [`Consent`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ChangeConsent {
    /// `granted` or `denied` (`unknown` is refused); recorded in the consent's history.
    pub state: ConsentState,
}

/// `PUT /v1/me/contact` → [`Guardian`]: the guardian's own contact details (rectification).
/// Absent fields are left as they are; an empty string clears a field.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct UpdateContact {
    /// New e-mail address (also a login contact). It becomes the guardian's only after
    /// `POST /v1/me/contact/confirm` with the code sent to it; the answer is the same whether or
    /// not it belongs to another person. Empty removes it.
    #[schema(
        max_length = 200,
        pattern = "^$|^[!-?A-~]+@[!--/-?A-~][!-?A-~]*\\.[!-?A-~]*[!--/-?A-~]$"
    )]
    pub email: Option<String>,
    /// New phone number, `+` and digits or 8 Norwegian digits (also a login contact), confirmed
    /// like the e-mail address. Empty removes it.
    #[schema(max_length = 200, pattern = "^$|^(\\+[0-9]{8,15}|[0-9]{8})$")]
    pub phone: Option<String>,
    /// New postal address, at most 200 characters.
    #[schema(max_length = 200)]
    pub address: Option<String>,
    /// New postal code (postnummer), at most 10 letters, digits or spaces.
    #[schema(max_length = 10, pattern = "^[A-Za-z0-9 ]*$")]
    pub postal_code: Option<String>,
    /// New free text about the guardian for the kindergarten, at most
    /// [`MAX_GUARDIAN_INFO_CHARS`] characters. Empty removes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 2000)]
    pub info: Option<String>,
    /// Corrected given name(s), not blank, at most [`MAX_NAME_CHARS`] characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, max_length = 100, pattern = "\\S")]
    pub first_name: Option<String>,
    /// Corrected family name, not blank, at most [`MAX_NAME_CHARS`] characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, max_length = 100, pattern = "\\S")]
    pub last_name: Option<String>,
    /// Corrected relations to the guardian's own children, at most one per child and at most
    /// [`MAX_RELATION_CHANGES`]; a child that is not the guardian's is `404`, `unknown` is
    /// refused.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schema(max_items = 20)]
    pub relations: Vec<ChildRelation>,
}

/// Longest free text about a guardian, in characters.
pub const MAX_GUARDIAN_INFO_CHARS: usize = 2000;
/// Longest name accepted in a rectification, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// Most relations corrected in one [`UpdateContact`].
pub const MAX_RELATION_CHANGES: usize = 20;

/// How the guardian is related to one of their children, as corrected in [`UpdateContact`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ChildRelation {
    /// One of the guardian's own children.
    pub child_id: ChildId,
    /// The corrected relation (`unknown` is refused).
    pub relation: Relation,
}

/// `POST /v1/me/contact/confirm` → [`Guardian`]: the code sent to the new e-mail address or
/// phone number of a `PUT /v1/me/contact`; only then is the new contact the guardian's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ConfirmContact {
    /// The 6-digit code from the e-mail or SMS sent to the new contact.
    #[schema(pattern = "^[0-9]{6}$")]
    pub code: String,
}

/// `PUT /v1/me/notification-preferences` → [`NotificationPreferences`]. Replaces the listed
/// preferences; `urgent` is always on whatever is sent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct UpdateNotificationPreferences {
    /// The preferences to set, at most 1000, each for one of the guardian's own children;
    /// `unknown` categories or deliveries are refused.
    #[schema(max_items = 1000)]
    pub preferences: Vec<NotificationPreference>,
}

/// Answer of a command that has no entity to return.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Ack {
    /// Always `true`.
    pub ok: bool,
}
