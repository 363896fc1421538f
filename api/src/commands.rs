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
    pub id: AbsenceId,
    pub child_id: ChildId,
    pub first_day: Day,
    pub last_day: Day,
    pub reason: AbsenceReason,
    pub note: Option<String>,
}

/// `PUT /v1/absences/{id}` → [`Absence`]. Only a report not yet acknowledged can be edited.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EditAbsence {
    pub first_day: Day,
    pub last_day: Day,
    pub reason: AbsenceReason,
    pub note: Option<String>,
}

// `DELETE /v1/absences/{id}` withdraws a report (status `withdrawn`) → [`Absence`].

/// `POST /v1/holidays` → [`Holiday`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RegisterHoliday {
    pub id: HolidayId,
    pub child_id: ChildId,
    pub first_day: Day,
    pub last_day: Day,
    pub note: Option<String>,
}

/// `POST /v1/threads` → [`Thread`]: a new thread with its first message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StartThread {
    pub id: ThreadId,
    pub child_id: Option<ChildId>,
    pub subject: String,
    pub first_message_id: MessageId,
    pub body: String,
}

/// `POST /v1/threads/{id}/messages` → [`Message`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SendMessage {
    pub id: MessageId,
    pub body: String,
}

/// `POST /v1/threads/{id}/read` → `204`: marks every message up to and including `up_to` read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MarkRead {
    pub up_to: MessageId,
}

/// `PUT /v1/children/{child_id}/consents/{kind}` → [`Consent`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ChangeConsent {
    pub state: ConsentState,
}

/// `PUT /v1/me/contact` → [`Guardian`]: the guardian's own contact details (rectification).
/// Absent fields are left as they are; an empty string clears a field.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct UpdateContact {
    pub email: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
    pub postal_code: Option<String>,
}

/// `PUT /v1/me/notification-preferences` → [`NotificationPreferences`]. Replaces the listed
/// preferences; `urgent` is always on whatever is sent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct UpdateNotificationPreferences {
    pub preferences: Vec<NotificationPreference>,
}

/// Answer of a command that has no entity to return.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Ack {
    pub ok: bool,
}
