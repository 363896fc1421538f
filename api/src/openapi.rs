//! The OpenAPI 3 document of API version 1, generated from the types in this crate.
//!
//! The functions below are never called: they only carry the `#[utoipa::path]` description of
//! each endpoint. The server serves [`document`] at `GET /v1/openapi.json`.
#![allow(dead_code)]

use crate::{
    auth::*, commands::*, error::*, model::*, privacy::*, push::*, reminders::*, staff::*, sync::*,
    telemetry::*,
};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[utoipa::path(post, path = "/v1/auth/code", request_body = RequestCode, tag = "auth",
    responses((status = 202, body = Ack), (status = 400, body = ApiError), (status = 429, body = ApiError)))]
fn request_code() {}

#[utoipa::path(post, path = "/v1/auth/token", request_body = VerifyCode, tag = "auth",
    responses((status = 200, body = Session), (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 429, body = ApiError)))]
fn verify_code() {}

#[utoipa::path(post, path = "/v1/auth/refresh", request_body = RefreshRequest, tag = "auth",
    responses((status = 200, body = Session), (status = 400, body = ApiError), (status = 401, body = ApiError)))]
fn refresh() {}

#[utoipa::path(post, path = "/v1/auth/logout", request_body = LogoutRequest, tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = Ack), (status = 401, body = ApiError)))]
fn logout() {}

#[utoipa::path(get, path = "/v1/sync", params(SyncQuery), tag = "sync", security(("bearer" = [])),
    responses((status = 200, body = SyncPage), (status = 400, body = ApiError), (status = 401, body = ApiError)))]
fn sync() {}

#[utoipa::path(post, path = "/v1/absences", request_body = ReportAbsence, tag = "parent", security(("bearer" = [])),
    params(("Idempotency-Key" = String, Header, max_length = 36, pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$", description = "UUID made when the parent acted")),
    responses((status = 200, body = Absence), (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 404, body = ApiError)))]
fn report_absence() {}

#[utoipa::path(put, path = "/v1/absences/{id}", request_body = EditAbsence, tag = "parent", security(("bearer" = [])),
    params(("id" = String, Path, max_length = 64, pattern = "^[A-Za-z0-9_-]{1,64}$"), ("Idempotency-Key" = String, Header, max_length = 36, pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")),
    responses((status = 200, body = Absence), (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 404, body = ApiError), (status = 409, body = ApiError)))]
fn edit_absence() {}

#[utoipa::path(delete, path = "/v1/absences/{id}", tag = "parent", security(("bearer" = [])),
    params(("id" = String, Path, max_length = 64, pattern = "^[A-Za-z0-9_-]{1,64}$"), ("Idempotency-Key" = String, Header, max_length = 36, pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")),
    responses((status = 200, body = Absence), (status = 401, body = ApiError), (status = 404, body = ApiError), (status = 409, body = ApiError)))]
fn withdraw_absence() {}

#[utoipa::path(post, path = "/v1/holidays", request_body = RegisterHoliday, tag = "parent", security(("bearer" = [])),
    params(("Idempotency-Key" = String, Header, max_length = 36, pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")),
    responses((status = 200, body = Holiday), (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 404, body = ApiError)))]
fn register_holiday() {}

#[utoipa::path(post, path = "/v1/threads", request_body = StartThread, tag = "parent", security(("bearer" = [])),
    params(("Idempotency-Key" = String, Header, max_length = 36, pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")),
    responses((status = 200, body = Thread), (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 404, body = ApiError)))]
fn start_thread() {}

#[utoipa::path(post, path = "/v1/threads/{id}/messages", request_body = SendMessage, tag = "parent", security(("bearer" = [])),
    params(("id" = String, Path, max_length = 64, pattern = "^[A-Za-z0-9_-]{1,64}$"), ("Idempotency-Key" = String, Header, max_length = 36, pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")),
    responses((status = 200, body = Message), (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 404, body = ApiError)))]
fn send_message() {}

#[utoipa::path(post, path = "/v1/threads/{id}/read", request_body = MarkRead, tag = "parent", security(("bearer" = [])),
    params(("id" = String, Path, max_length = 64, pattern = "^[A-Za-z0-9_-]{1,64}$"), ("Idempotency-Key" = String, Header, max_length = 36, pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")),
    responses((status = 200, body = Ack), (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 404, body = ApiError)))]
fn mark_read() {}

#[utoipa::path(put, path = "/v1/children/{child_id}/consents/{kind}", request_body = ChangeConsent, tag = "parent", security(("bearer" = [])),
    params(("child_id" = String, Path, max_length = 64, pattern = "^[A-Za-z0-9_-]{1,64}$"), ("kind" = ConsentKind, Path), ("Idempotency-Key" = String, Header, max_length = 36, pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")),
    responses((status = 200, body = Consent), (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 404, body = ApiError)))]
fn change_consent() {}

#[utoipa::path(put, path = "/v1/me/contact", request_body = UpdateContact, tag = "parent", security(("bearer" = [])),
    params(("Idempotency-Key" = String, Header, max_length = 36, pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")),
    responses((status = 200, body = Guardian), (status = 400, body = ApiError), (status = 401, body = ApiError)))]
fn update_contact() {}

#[utoipa::path(post, path = "/v1/me/contact/confirm", request_body = ConfirmContact, tag = "parent", security(("bearer" = [])),
    responses((status = 200, body = Guardian), (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError)))]
fn confirm_contact() {}

#[utoipa::path(put, path = "/v1/me/notification-preferences", request_body = UpdateNotificationPreferences, tag = "parent", security(("bearer" = [])),
    params(("Idempotency-Key" = String, Header, max_length = 36, pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")),
    responses((status = 200, body = NotificationPreferences), (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 404, body = ApiError)))]
fn update_notification_preferences() {}

#[utoipa::path(put, path = "/v1/me/reminder-settings", request_body = UpdateReminderSettings, tag = "parent", security(("bearer" = [])),
    params(("Idempotency-Key" = String, Header)),
    responses((status = 200, body = ReminderSettings), (status = 400, body = ApiError), (status = 401, body = ApiError)))]
fn update_reminder_settings() {}

#[utoipa::path(get, path = "/v1/staff/send-queue", tag = "staff", security(("bearer" = [])),
    responses((status = 200, body = Vec<QueuedSend>), (status = 401, body = ApiError), (status = 403, body = ApiError)))]
fn staff_send_queue() {}

#[utoipa::path(get, path = "/v1/me/export", tag = "privacy", security(("bearer" = [])),
    responses((status = 200, body = DataExport), (status = 401, body = ApiError)))]
fn export() {}

#[utoipa::path(get, path = "/v1/privacy-requests", tag = "privacy", security(("bearer" = [])),
    responses((status = 200, body = Vec<PrivacyRequest>), (status = 401, body = ApiError)))]
fn list_privacy_requests() {}

#[utoipa::path(post, path = "/v1/privacy-requests", request_body = CreatePrivacyRequest, tag = "privacy", security(("bearer" = [])),
    params(("Idempotency-Key" = String, Header, max_length = 36, pattern = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")),
    responses((status = 200, body = PrivacyRequest), (status = 400, body = ApiError), (status = 401, body = ApiError)))]
fn create_privacy_request() {}

#[utoipa::path(get, path = "/v1/photos/{id}/content", tag = "files", security(("bearer" = [])),
    params(("id" = String, Path, max_length = 64, pattern = "^[A-Za-z0-9_-]{1,64}$"), ("size" = Option<String>, Query, pattern = "^(thumb|full)$", description = "`thumb` or `full` (default)")),
    responses((status = 200, content_type = "image/jpeg", body = Vec<u8>), (status = 401, body = ApiError), (status = 404, body = ApiError)))]
fn photo_content() {}

#[utoipa::path(get, path = "/v1/pictures/{id}/content", tag = "files", security(("bearer" = [])),
    params(("id" = String, Path, max_length = 64, pattern = "^[A-Za-z0-9_-]{1,64}$")),
    responses((status = 200, content_type = "image/jpeg", body = Vec<u8>), (status = 401, body = ApiError), (status = 404, body = ApiError)))]
fn picture_content() {}

#[utoipa::path(get, path = "/v1/documents/{id}/content", tag = "files", security(("bearer" = [])),
    params(("id" = String, Path, max_length = 64, pattern = "^[A-Za-z0-9_-]{1,64}$")),
    responses((status = 200, content_type = "application/octet-stream", body = Vec<u8>), (status = 401, body = ApiError), (status = 404, body = ApiError)))]
fn document_content() {}

#[utoipa::path(put, path = "/v1/push/registrations/{id}", request_body = UpsertPushRegistration, tag = "push", security(("bearer" = [])),
    params(("id" = String, Path, max_length = 64, pattern = "^[A-Za-z0-9_-]{1,64}$")),
    responses((status = 200, body = PushRegistration), (status = 400, body = ApiError), (status = 401, body = ApiError)))]
fn upsert_push_registration() {}

#[utoipa::path(delete, path = "/v1/push/registrations/{id}", tag = "push",
    params(("id" = String, Path, max_length = 64, pattern = "^[A-Za-z0-9_-]{1,64}$"), ("X-Registration-Secret" = String, Header, min_length = 16, max_length = 512)),
    responses((status = 200, body = Ack), (status = 404, body = ApiError)))]
fn delete_push_registration() {}

#[utoipa::path(post, path = "/v1/telemetry", request_body = TelemetryReport, tag = "telemetry",
    responses((status = 202, body = Ack), (status = 400, body = ApiError)))]
fn telemetry() {}

#[utoipa::path(get, path = "/v1/telemetry/counters", params(CountersQuery), tag = "telemetry",
    responses((status = 200, body = DayCounters), (status = 400, body = ApiError)))]
fn telemetry_counters() {}

#[utoipa::path(get, path = "/v1/telemetry/keys/{day}", tag = "telemetry",
    params(("day" = String, Path, format = Date)),
    responses((status = 200, body = TokenKey), (status = 400, body = ApiError), (status = 404, body = ApiError)))]
fn telemetry_key() {}

#[utoipa::path(post, path = "/v1/telemetry/tokens", request_body = TokenRequest, tag = "telemetry", security(("bearer" = [])),
    params(("Idempotency-Key" = String, Header)),
    responses((status = 200, body = TokenResponse), (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 409, body = ApiError)))]
fn telemetry_tokens() {}

#[utoipa::path(post, path = "/v1/staff/events", request_body = CreateEvent, tag = "staff", security(("bearer" = [])),
    responses((status = 200, body = CalendarEvent), (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError), (status = 404, body = ApiError)))]
fn staff_create_event() {}

#[utoipa::path(post, path = "/v1/staff/log-entries", request_body = WriteLogEntry, tag = "staff", security(("bearer" = [])),
    responses((status = 200, body = LogEntry), (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError), (status = 404, body = ApiError)))]
fn staff_log_entry() {}

#[utoipa::path(post, path = "/v1/staff/threads", request_body = StaffStartThread, tag = "staff", security(("bearer" = [])),
    responses((status = 200, body = Thread), (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError), (status = 404, body = ApiError)))]
fn staff_start_thread() {}

#[utoipa::path(post, path = "/v1/staff/threads/{id}/messages", request_body = StaffMessage, tag = "staff", security(("bearer" = [])),
    params(("id" = String, Path, max_length = 64, pattern = "^[A-Za-z0-9_-]{1,64}$")),
    responses((status = 200, body = Message), (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError), (status = 404, body = ApiError)))]
fn staff_message() {}

#[utoipa::path(post, path = "/v1/staff/broadcasts", request_body = Broadcast, tag = "staff", security(("bearer" = [])),
    responses((status = 200, body = Thread), (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError)))]
fn staff_broadcast() {}

#[utoipa::path(post, path = "/v1/staff/photos", params(UploadPhotoQuery), tag = "staff", security(("bearer" = [])),
    request_body(content = Vec<u8>, content_type = "image/jpeg"),
    responses((status = 200, body = Photo), (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError), (status = 413, body = ApiError), (status = 415, body = ApiError)))]
fn staff_upload_photo() {}

#[utoipa::path(post, path = "/v1/staff/documents", params(UploadDocumentQuery), tag = "staff", security(("bearer" = [])),
    request_body(content = Vec<u8>, content_type = "application/pdf"),
    responses((status = 200, body = Document), (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError), (status = 413, body = ApiError), (status = 415, body = ApiError)))]
fn staff_upload_document() {}

#[utoipa::path(post, path = "/v1/staff/attendance/{child_id}", request_body = RecordAttendance, tag = "staff", security(("bearer" = [])),
    params(("child_id" = String, Path, max_length = 64, pattern = "^[A-Za-z0-9_-]{1,64}$")),
    responses((status = 200, body = Attendance), (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError), (status = 404, body = ApiError), (status = 409, body = ApiError)))]
fn staff_attendance() {}

#[utoipa::path(post, path = "/v1/staff/absences/{id}/acknowledge", tag = "staff", security(("bearer" = [])),
    params(("id" = String, Path, max_length = 64, pattern = "^[A-Za-z0-9_-]{1,64}$")),
    responses((status = 200, body = Absence), (status = 401, body = ApiError), (status = 403, body = ApiError), (status = 404, body = ApiError), (status = 409, body = ApiError)))]
fn staff_acknowledge_absence() {}

#[utoipa::path(put, path = "/v1/staff/relations/{id}/parental-responsibility", request_body = SetParentalResponsibility, tag = "staff", security(("bearer" = [])),
    params(("id" = String, Path, max_length = 64, pattern = "^[A-Za-z0-9_-]{1,64}$")),
    responses((status = 200, body = GuardianChild), (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError), (status = 404, body = ApiError), (status = 413, body = ApiError), (status = 415, body = ApiError)))]
fn staff_set_parental_responsibility() {}

#[utoipa::path(put, path = "/v1/staff/me/info", request_body = SetStaffInfo, tag = "staff", security(("bearer" = [])),
    responses((status = 200, body = Staff), (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError), (status = 413, body = ApiError), (status = 415, body = ApiError)))]
fn staff_set_info() {}

#[utoipa::path(put, path = "/v1/staff/me/picture", tag = "staff", security(("bearer" = [])),
    request_body(content = Vec<u8>, content_type = "image/jpeg"),
    responses((status = 200, body = Staff), (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError), (status = 413, body = ApiError), (status = 415, body = ApiError)))]
fn staff_set_own_picture() {}

#[utoipa::path(delete, path = "/v1/staff/me/picture", tag = "staff", security(("bearer" = [])),
    responses((status = 200, body = Staff), (status = 401, body = ApiError), (status = 403, body = ApiError)))]
fn staff_remove_own_picture() {}

#[utoipa::path(put, path = "/v1/staff/children/{child_id}/picture", tag = "staff", security(("bearer" = [])),
    params(("child_id" = String, Path, max_length = 64, pattern = "^[A-Za-z0-9_-]{1,64}$")),
    request_body(content = Vec<u8>, content_type = "image/jpeg"),
    responses((status = 200, body = Child), (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError), (status = 404, body = ApiError), (status = 409, body = ApiError), (status = 413, body = ApiError), (status = 415, body = ApiError)))]
fn staff_set_child_picture() {}

#[utoipa::path(delete, path = "/v1/staff/children/{child_id}/picture", tag = "staff", security(("bearer" = [])),
    params(("child_id" = String, Path, max_length = 64, pattern = "^[A-Za-z0-9_-]{1,64}$")),
    responses((status = 200, body = Child), (status = 401, body = ApiError), (status = 403, body = ApiError), (status = 404, body = ApiError)))]
fn staff_remove_child_picture() {}

#[utoipa::path(get, path = "/v1/staff/privacy-requests", tag = "staff", security(("bearer" = [])),
    responses((status = 200, body = Vec<PrivacyRequest>), (status = 401, body = ApiError), (status = 403, body = ApiError)))]
fn staff_privacy_requests() {}

#[utoipa::path(post, path = "/v1/staff/privacy-requests/{id}/handle", request_body = HandlePrivacyRequest, tag = "staff", security(("bearer" = [])),
    params(("id" = String, Path, max_length = 64, pattern = "^[A-Za-z0-9_-]{1,64}$")),
    responses((status = 200, body = PrivacyRequest), (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError), (status = 404, body = ApiError)))]
fn staff_handle_privacy_request() {}

#[utoipa::path(post, path = "/v1/staff/erasures", request_body = EraseRequest, tag = "staff", security(("bearer" = [])),
    responses((status = 200, body = ErasureReport), (status = 202, body = ErasureConfirmation), (status = 400, body = ApiError), (status = 401, body = ApiError), (status = 403, body = ApiError), (status = 404, body = ApiError), (status = 409, body = ApiError)))]
fn staff_erase() {}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Kidplan API", version = "1", description = "Kidplan parent app wire contract, version 1."),
    modifiers(&BearerAuth),
    paths(
        request_code, verify_code, refresh, logout, sync,
        report_absence, edit_absence, withdraw_absence, register_holiday,
        start_thread, send_message, mark_read, change_consent, update_contact, confirm_contact,
        update_notification_preferences, update_reminder_settings, export, list_privacy_requests, create_privacy_request,
        photo_content, picture_content, document_content, upsert_push_registration, delete_push_registration,
        telemetry, telemetry_counters, telemetry_key, telemetry_tokens, staff_create_event, staff_log_entry, staff_start_thread, staff_message, staff_broadcast,
        staff_upload_photo, staff_upload_document, staff_attendance, staff_acknowledge_absence, staff_set_parental_responsibility, staff_set_info,
        staff_set_own_picture, staff_remove_own_picture, staff_set_child_picture, staff_remove_child_picture,
        staff_privacy_requests, staff_handle_privacy_request, staff_erase, staff_send_queue,
    ),
    components(schemas(EntityKind, ChangeOp, Change, Kindergarten, Department, Child, Guardian,
        GuardianChild, Staff, LogEntry, Thread, Message, Absence, Holiday, Consent, CalendarEvent,
        Document, Photo, ProfilePicture, Attendance, PickupPerson, NotificationPreferences, PrivacyRequest,
        ErrorCode, Role, Metric, Bucket, Platform, Counter, PushProvider, PushPayload, Person,
        ReminderSettings, ReminderSetting, ReminderKind, QueuedSend, SendState))
)]
struct ApiDoc;

/// Links from an answer to the operations that take its `id`, so that a stateful client
/// (schemathesis) reaches them with real ids: (path, status, link name, operation id, path
/// parameter of the target).
const LINKS: &[(&str, &str, &str, &str, &str)] = &[
    ("/v1/absences", "200", "EditAbsence", "edit_absence", "id"),
    (
        "/v1/absences",
        "200",
        "WithdrawAbsence",
        "withdraw_absence",
        "id",
    ),
    (
        "/v1/absences",
        "200",
        "AcknowledgeAbsence",
        "staff_acknowledge_absence",
        "id",
    ),
    ("/v1/threads", "200", "SendMessage", "send_message", "id"),
    ("/v1/threads", "200", "MarkRead", "mark_read", "id"),
    ("/v1/threads", "200", "StaffAnswer", "staff_message", "id"),
    (
        "/v1/staff/threads",
        "200",
        "StaffAnswer",
        "staff_message",
        "id",
    ),
    (
        "/v1/staff/broadcasts",
        "200",
        "StaffAnswer",
        "staff_message",
        "id",
    ),
    (
        "/v1/privacy-requests",
        "200",
        "HandlePrivacyRequest",
        "staff_handle_privacy_request",
        "id",
    ),
];

/// Adds [`LINKS`] to the serialised document (utoipa 5 writes a link's `operationId` in
/// snake case, which the OpenAPI schema refuses).
fn add_links(doc: &mut serde_json::Value) {
    for (path, status, name, operation, param) in LINKS {
        let Some(resp) = doc
            .pointer_mut(&format!(
                "/paths/{}/post/responses/{status}",
                path.replace('/', "~1")
            ))
            .and_then(|r| r.as_object_mut())
        else {
            continue;
        };
        let links = resp.entry("links").or_insert_with(|| serde_json::json!({}));
        if let Some(links) = links.as_object_mut() {
            links.insert(
                (*name).to_owned(),
                serde_json::json!({ "operationId": operation, "parameters": { *param: "$response.body#/id" } }),
            );
        }
    }
}

/// Adds the error answers the server gives on every route of a kind, so that the document
/// names every status the server can answer: `400` (malformed input) and `408` (a request
/// too slow, see the server's connection limits) everywhere; `413` and `415` where a body is
/// read; `401` and `403` where a token is needed (a wrong role is `403`); `404` where a path
/// names something or a token is needed; `409` on every command (a `POST`, `PUT`, `PATCH` or
/// `DELETE`: an `Idempotency-Key` reused for another request, or a state the command does not
/// apply to, such as handling a request twice or spending a token twice). Each answer is the
/// [`ApiError`] body.
fn add_error_answers(doc: &mut serde_json::Value) {
    let error = serde_json::json!({
        "description": "error",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ApiError"}}}
    });
    let Some(paths) = doc.get_mut("paths").and_then(|p| p.as_object_mut()) else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for (method, op) in item.iter_mut() {
            let command = matches!(method.as_str(), "post" | "put" | "patch" | "delete");
            let Some(op) = op.as_object_mut() else {
                continue;
            };
            let has_body = op.contains_key("requestBody");
            let secured = op.contains_key("security");
            let params = op
                .get("parameters")
                .and_then(|p| p.as_array())
                .cloned()
                .unwrap_or_default();
            let idempotent = params
                .iter()
                .any(|p| p["name"] == crate::IDEMPOTENCY_KEY_HEADER);
            let mut codes = vec!["400", "408"];
            if has_body {
                codes.extend(["413", "415"]);
            }
            if secured {
                codes.extend(["401", "403", "404"]);
            }
            if path.contains('{') {
                codes.push("404");
            }
            if idempotent || command {
                codes.push("409");
            }
            if params.iter().any(|p| p["in"] == "query") {
                codes.push("414");
            }
            let Some(responses) = op.get_mut("responses").and_then(|r| r.as_object_mut()) else {
                continue;
            };
            for code in codes {
                responses.entry(code).or_insert_with(|| error.clone());
            }
        }
    }
    // `unknown` is how a client reads a value from a newer server; this server never sends it
    // and refuses it in a request.
    if let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(|s| s.as_object_mut())
    {
        for schema in schemas.values_mut() {
            if let Some(values) = schema.get_mut("enum").and_then(|e| e.as_array_mut()) {
                values.retain(|v| v != "unknown");
            }
        }
    }
    // A document is served with the type it was uploaded with.
    let types = ["application/pdf", "image/jpeg", "image/png", "text/plain"];
    if let Some(content) = doc
        .pointer_mut("/paths/~1v1~1documents~1{id}~1content/get/responses/200/content")
        .and_then(|c| c.as_object_mut())
        && let Some(bytes) = content.get("application/octet-stream").cloned()
    {
        for t in types {
            content.insert(t.to_owned(), bytes.clone());
        }
    }
    if let Some(content) = doc
        .pointer_mut("/paths/~1v1~1photos~1{id}~1content/get/responses/200/content")
        .and_then(|c| c.as_object_mut())
        && let Some(bytes) = content.get("image/jpeg").cloned()
    {
        content.insert("image/png".to_owned(), bytes);
    }
}

/// The OpenAPI document.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// The OpenAPI document as pretty JSON.
pub fn document_json() -> String {
    let Ok(mut doc) = serde_json::to_value(document()) else {
        return "{}".to_owned();
    };
    add_links(&mut doc);
    add_error_answers(&mut doc);
    serde_json::to_string_pretty(&doc).unwrap_or_else(|_| "{}".to_owned())
}

#[cfg(test)]
mod tests {
    #[test]
    fn document_lists_every_path_in_paths_module() {
        let doc = super::document();
        for p in [
            crate::paths::AUTH_CODE,
            crate::paths::SYNC,
            crate::paths::ABSENCE,
            crate::paths::CONSENT,
            crate::paths::STAFF_ERASURES,
            crate::paths::PUSH_REGISTRATION,
            crate::paths::TELEMETRY,
            crate::paths::TELEMETRY_KEY,
            crate::paths::TELEMETRY_TOKENS,
        ] {
            assert!(doc.paths.paths.contains_key(p), "{p} missing from OpenAPI");
        }
        let json = super::document_json();
        assert!(json.contains("\"bearer\""));
    }
}
