//! Endpoint paths of API version 1 (axum 0.8 syntax for path parameters).

pub const AUTH_CODE: &str = "/v1/auth/code";
pub const AUTH_TOKEN: &str = "/v1/auth/token";
pub const AUTH_REFRESH: &str = "/v1/auth/refresh";
pub const AUTH_LOGOUT: &str = "/v1/auth/logout";

pub const SYNC: &str = "/v1/sync";

pub const ABSENCES: &str = "/v1/absences";
pub const ABSENCE: &str = "/v1/absences/{id}";
pub const HOLIDAYS: &str = "/v1/holidays";
pub const THREADS: &str = "/v1/threads";
pub const THREAD_MESSAGES: &str = "/v1/threads/{id}/messages";
pub const THREAD_READ: &str = "/v1/threads/{id}/read";
pub const CONSENT: &str = "/v1/children/{child_id}/consents/{kind}";
pub const ME_CONTACT: &str = "/v1/me/contact";
pub const ME_NOTIFICATION_PREFERENCES: &str = "/v1/me/notification-preferences";
pub const ME_REMINDER_SETTINGS: &str = "/v1/me/reminder-settings";
pub const ME_EXPORT: &str = "/v1/me/export";
pub const PRIVACY_REQUESTS: &str = "/v1/privacy-requests";
pub const PHOTO_CONTENT: &str = "/v1/photos/{id}/content";
pub const DOCUMENT_CONTENT: &str = "/v1/documents/{id}/content";
pub const PUSH_REGISTRATION: &str = "/v1/push/registrations/{id}";
pub const TELEMETRY: &str = "/v1/telemetry";
pub const TELEMETRY_COUNTERS: &str = "/v1/telemetry/counters";
/// The public key that signs one day's telemetry tokens (no authentication).
pub const TELEMETRY_KEY: &str = "/v1/telemetry/keys/{day}";
/// A guardian's blind signature for the day's telemetry token (authenticated, once a day).
pub const TELEMETRY_TOKENS: &str = "/v1/telemetry/tokens";

pub const STAFF_LOG_ENTRIES: &str = "/v1/staff/log-entries";
pub const STAFF_THREADS: &str = "/v1/staff/threads";
pub const STAFF_THREAD_MESSAGES: &str = "/v1/staff/threads/{id}/messages";
pub const STAFF_BROADCASTS: &str = "/v1/staff/broadcasts";
pub const STAFF_PHOTOS: &str = "/v1/staff/photos";
pub const STAFF_DOCUMENTS: &str = "/v1/staff/documents";
pub const STAFF_ATTENDANCE: &str = "/v1/staff/attendance/{child_id}";
pub const STAFF_ABSENCE_ACK: &str = "/v1/staff/absences/{id}/acknowledge";
pub const STAFF_PRIVACY_REQUESTS: &str = "/v1/staff/privacy-requests";
pub const STAFF_PRIVACY_REQUEST_HANDLE: &str = "/v1/staff/privacy-requests/{id}/handle";
pub const STAFF_ERASURES: &str = "/v1/staff/erasures";
pub const STAFF_EVENTS: &str = "/v1/staff/events";
pub const STAFF_SEND_QUEUE: &str = "/v1/staff/send-queue";

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
