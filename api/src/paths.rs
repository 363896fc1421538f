//! Endpoint paths of API version 1 (axum 0.8 syntax for path parameters).

/// `POST`: send a one-time login code ([`crate::auth::RequestCode`]).
pub const AUTH_CODE: &str = "/v1/auth/code";
/// `POST`: exchange a one-time code for a session ([`crate::auth::VerifyCode`]).
pub const AUTH_TOKEN: &str = "/v1/auth/token";
/// `POST`: rotate the refresh token ([`crate::auth::RefreshRequest`]).
pub const AUTH_REFRESH: &str = "/v1/auth/refresh";
/// `POST`: revoke the session ([`crate::auth::LogoutRequest`]).
pub const AUTH_LOGOUT: &str = "/v1/auth/logout";

/// `GET`: a page of the change feed ([`crate::sync::SyncQuery`] → [`crate::sync::SyncPage`]).
pub const SYNC: &str = "/v1/sync";

/// `POST`: report an absence ([`crate::commands::ReportAbsence`]).
pub const ABSENCES: &str = "/v1/absences";
/// `PUT`: edit an absence not yet acknowledged; `DELETE`: withdraw it.
pub const ABSENCE: &str = "/v1/absences/{id}";
/// `POST`: register a holiday (ferie) ([`crate::commands::RegisterHoliday`]).
pub const HOLIDAYS: &str = "/v1/holidays";
/// `POST`: start a message thread with its first message ([`crate::commands::StartThread`]).
pub const THREADS: &str = "/v1/threads";
/// `POST`: send a message in a thread ([`crate::commands::SendMessage`]).
pub const THREAD_MESSAGES: &str = "/v1/threads/{id}/messages";
/// `POST`: mark a thread's messages read up to one ([`crate::commands::MarkRead`]).
pub const THREAD_READ: &str = "/v1/threads/{id}/read";
/// `PUT`: grant or deny one kind of consent for a child ([`crate::commands::ChangeConsent`]).
pub const CONSENT: &str = "/v1/children/{child_id}/consents/{kind}";
/// `PUT`: change the guardian's own contact details ([`crate::commands::UpdateContact`]).
pub const ME_CONTACT: &str = "/v1/me/contact";
/// `POST`: confirm a new e-mail address or phone number with the code sent to it
/// ([`crate::commands::ConfirmContact`]).
pub const ME_CONTACT_CONFIRM: &str = "/v1/me/contact/confirm";
/// `PUT`: change notification preferences
/// ([`crate::commands::UpdateNotificationPreferences`]).
pub const ME_NOTIFICATION_PREFERENCES: &str = "/v1/me/notification-preferences";
/// `PUT`: change reminder settings ([`crate::reminders::UpdateReminderSettings`]).
pub const ME_REMINDER_SETTINGS: &str = "/v1/me/reminder-settings";
/// `GET`: everything the server holds about the guardian ([`crate::privacy::DataExport`]).
pub const ME_EXPORT: &str = "/v1/me/export";
/// `GET`: the guardian's privacy requests; `POST`: make one
/// ([`crate::privacy::CreatePrivacyRequest`]).
pub const PRIVACY_REQUESTS: &str = "/v1/privacy-requests";
/// `GET`: a photo's image bytes (`?size=thumb` or `full`).
pub const PHOTO_CONTENT: &str = "/v1/photos/{id}/content";
/// `GET`: a profile picture's image bytes (a child's or a staff member's).
pub const PICTURE_CONTENT: &str = "/v1/pictures/{id}/content";
/// `GET`: a document's bytes.
pub const DOCUMENT_CONTENT: &str = "/v1/documents/{id}/content";
/// `PUT`: create or update the device's push registration; `DELETE` (with
/// [`crate::push::REGISTRATION_SECRET_HEADER`], no session needed): remove it.
pub const PUSH_REGISTRATION: &str = "/v1/push/registrations/{id}";
/// `POST`, without authentication: one anonymous daily telemetry report.
pub const TELEMETRY: &str = "/v1/telemetry";
/// `GET`, without authentication: a day's published telemetry counters.
pub const TELEMETRY_COUNTERS: &str = "/v1/telemetry/counters";
/// The public key that signs one day's telemetry tokens (no authentication).
pub const TELEMETRY_KEY: &str = "/v1/telemetry/keys/{day}";
/// A guardian's blind signature for the day's telemetry token (authenticated, once a day).
pub const TELEMETRY_TOKENS: &str = "/v1/telemetry/tokens";

/// Staff, `POST`: write a child log (barnelogg) entry.
pub const STAFF_LOG_ENTRIES: &str = "/v1/staff/log-entries";
/// Staff, `POST`: start a thread to the guardians of one child.
pub const STAFF_THREADS: &str = "/v1/staff/threads";
/// Staff, `POST`: answer a thread.
pub const STAFF_THREAD_MESSAGES: &str = "/v1/staff/threads/{id}/messages";
/// Staff, `POST`: a message to every family of the kindergarten or of one department.
pub const STAFF_BROADCASTS: &str = "/v1/staff/broadcasts";
/// Staff, `POST`: upload a photo tagged with children (query [`crate::staff::UploadPhotoQuery`]).
pub const STAFF_PHOTOS: &str = "/v1/staff/photos";
/// Staff, `POST`: upload a document (query [`crate::staff::UploadDocumentQuery`]).
pub const STAFF_DOCUMENTS: &str = "/v1/staff/documents";
/// Staff, `POST`: check a child in or out today.
pub const STAFF_ATTENDANCE: &str = "/v1/staff/attendance/{child_id}";
/// Staff, `POST`: acknowledge an absence report.
pub const STAFF_ABSENCE_ACK: &str = "/v1/staff/absences/{id}/acknowledge";
/// Staff, `PUT`: the staff member's own free text for the families.
pub const STAFF_ME_INFO: &str = "/v1/staff/me/info";
/// Staff, `PUT` (body: the image) or `DELETE`: the staff member's own profile picture.
pub const STAFF_ME_PICTURE: &str = "/v1/staff/me/picture";
/// Staff, `PUT` (body: the image) or `DELETE`: a child's profile picture; setting it needs the
/// child's `photos_internal` consent.
pub const STAFF_CHILD_PICTURE: &str = "/v1/staff/children/{child_id}/picture";
/// `PUT`: whether a guardian has parental responsibility for a child (a guardian–child link).
pub const STAFF_PARENTAL_RESPONSIBILITY: &str = "/v1/staff/relations/{id}/parental-responsibility";
/// Staff, `GET`: the privacy requests of the kindergarten's guardians.
pub const STAFF_PRIVACY_REQUESTS: &str = "/v1/staff/privacy-requests";
/// Staff, `POST`: complete or reject a privacy request.
pub const STAFF_PRIVACY_REQUEST_HANDLE: &str = "/v1/staff/privacy-requests/{id}/handle";
/// Staff, `POST`: erase a person on the kindergarten's instruction; irreversible.
pub const STAFF_ERASURES: &str = "/v1/staff/erasures";
/// Staff, `POST`: add an event to the kindergarten's calendar.
pub const STAFF_EVENTS: &str = "/v1/staff/events";
/// Staff (manager only), `GET`: queued and given-up e-mails, SMS and pushes.
pub const STAFF_SEND_QUEUE: &str = "/v1/staff/send-queue";

/// `GET`, without authentication: this contract as an OpenAPI 3 document.
pub const OPENAPI: &str = "/v1/openapi.json";

/// Fills `{name}` placeholders of a path template, percent-encoding each value.
pub fn fill(template: &str, params: &[(&str, &str)]) -> String {
    let mut out = template.to_owned();
    for (name, value) in params {
        out = out.replace(&format!("{{{name}}}"), &encode_segment(value));
    }
    out
}

/// Percent-encodes a path segment (everything but unreserved characters).
pub fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn fill_encodes_segments() {
        assert_eq!(
            super::fill(super::ABSENCE, &[("id", "a/b c")]),
            "/v1/absences/a%2Fb%20c"
        );
    }
}
