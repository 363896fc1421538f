//! The application: shared state and the router with its layers.

use crate::auth::RateLimits;
use crate::clock::Clock;
use crate::db::Db;
use crate::error;
use crate::providers::{EmailSender, PushSender, SmsSender};
use crate::{
    access, auth, contact_change, erasure, feed, files, parent, permissions, pictures, push,
    reminders, staff, telemetry, tokens,
};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::http::header;
use axum::middleware;
use axum::response::IntoResponse;
use axum::routing::{get, post, put};
use kidplan_api::paths as p;
use kidplan_api::{MAX_JSON_BODY, MAX_PICTURE_BYTES, MAX_UPLOAD_BODY};
use std::path::PathBuf;
use std::sync::Arc;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::predicate::{Predicate, SizeAbove};
use tower_http::compression::{CompressionLayer, CompressionLevel};
use tower_http::timeout::{RequestBodyTimeoutLayer, TimeoutLayer};

/// The providers messages are handed to.
#[derive(Clone)]
pub struct Providers {
    pub email: Arc<dyn EmailSender>,
    pub sms: Arc<dyn SmsSender>,
    pub push: Arc<dyn PushSender>,
}

/// State shared by every handler.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub clock: Clock,
    pub files_dir: PathBuf,
    pub token_ttl_s: i64,
    pub limits: RateLimits,
    /// Request and body timeouts (the connection limits are applied by [`crate::net::serve`]).
    pub timeouts: crate::net::ConnectionLimits,
    pub providers: Providers,
    /// Everything sent to a provider goes through it.
    pub queue: crate::send_queue::SendQueue,
    #[cfg(feature = "faults")]
    pub faults: crate::faults::Faults,
}

async fn openapi() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        kidplan_api::openapi::document_json(),
    )
}

/// `408` when a JSON request, body included, takes longer than its limit.
fn request_timeout(state: &AppState) -> TimeoutLayer {
    TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, state.timeouts.request_timeout)
}

/// The staff routes, behind [`permissions::gate`] (role and department, in one place).
fn staff_routes(state: &AppState) -> Router<AppState> {
    let uploads = Router::new()
        .route(p::STAFF_PHOTOS, post(files::upload_photo))
        .route(p::STAFF_DOCUMENTS, post(files::upload_document))
        .layer(DefaultBodyLimit::max(MAX_UPLOAD_BODY))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            state.timeouts.upload_timeout,
        ));
    let pictures = Router::new()
        .route(
            p::STAFF_CHILD_PICTURE,
            put(pictures::set_child_picture).delete(pictures::remove_child_picture),
        )
        .route(
            p::STAFF_ME_PICTURE,
            put(pictures::set_own_picture).delete(pictures::remove_own_picture),
        )
        .layer(DefaultBodyLimit::max(MAX_PICTURE_BYTES))
        .layer(request_timeout(state));
    Router::new()
        .route(p::STAFF_LOG_ENTRIES, post(staff::log_entry))
        .route(p::STAFF_THREADS, post(staff::start_thread))
        .route(p::STAFF_THREAD_MESSAGES, post(staff::message))
        .route(p::STAFF_BROADCASTS, post(staff::broadcast))
        .route(p::STAFF_EVENTS, post(staff::create_event))
        .route(p::STAFF_ATTENDANCE, post(staff::attendance))
        .route(p::STAFF_ABSENCE_ACK, post(staff::acknowledge_absence))
        .route(p::STAFF_ME_INFO, put(staff::set_info))
        .route(
            p::STAFF_PARENTAL_RESPONSIBILITY,
            put(staff::set_parental_responsibility),
        )
        .route(p::STAFF_PRIVACY_REQUESTS, get(staff::privacy_requests))
        .route(
            p::STAFF_PRIVACY_REQUEST_HANDLE,
            post(staff::handle_privacy_request),
        )
        .route(p::STAFF_ERASURES, post(erasure::erase_person))
        .route(p::STAFF_SEND_QUEUE, get(staff::send_queue))
        .layer(DefaultBodyLimit::max(MAX_JSON_BODY))
        .layer(request_timeout(state))
        .merge(uploads)
        .merge(pictures)
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            permissions::gate,
        ))
}

fn routes(state: &AppState) -> Router<AppState> {
    Router::new()
        .route(p::OPENAPI, get(openapi))
        .route(p::AUTH_CODE, post(auth::request_code))
        .route(p::AUTH_TOKEN, post(auth::verify_code))
        .route(p::AUTH_REFRESH, post(auth::refresh))
        .route(p::AUTH_LOGOUT, post(auth::logout))
        .route(p::SYNC, get(feed::sync))
        .route(p::ABSENCES, post(parent::report_absence))
        .route(
            p::ABSENCE,
            put(parent::edit_absence).delete(parent::withdraw_absence),
        )
        .route(p::HOLIDAYS, post(parent::register_holiday))
        .route(p::THREADS, post(parent::start_thread))
        .route(p::THREAD_MESSAGES, post(parent::send_message))
        .route(p::THREAD_READ, post(parent::mark_read))
        .route(p::CONSENT, put(parent::change_consent))
        .route(p::ME_CONTACT, put(parent::update_contact))
        .route(p::ME_CONTACT_CONFIRM, post(contact_change::confirm))
        .route(
            p::ME_NOTIFICATION_PREFERENCES,
            put(parent::update_notification_preferences),
        )
        .route(p::ME_REMINDER_SETTINGS, put(reminders::update_settings))
        .route(p::ME_EXPORT, get(parent::export))
        .route(
            p::PRIVACY_REQUESTS,
            get(parent::list_privacy_requests).post(parent::create_privacy_request),
        )
        .route(p::PHOTO_CONTENT, get(files::photo_content))
        .route(p::PICTURE_CONTENT, get(pictures::picture_content))
        .route(p::DOCUMENT_CONTENT, get(files::document_content))
        .route(p::PUSH_REGISTRATION, put(push::upsert).delete(push::delete))
        .route(p::TELEMETRY, post(telemetry::collect))
        .route(p::TELEMETRY_COUNTERS, get(telemetry::counters))
        .route(p::TELEMETRY_KEY, get(tokens::key))
        .route(p::TELEMETRY_TOKENS, post(tokens::issue))
        .layer(DefaultBodyLimit::max(MAX_JSON_BODY))
        .layer(request_timeout(state))
        .merge(staff_routes(state))
}

/// JSON answers shorter than this go uncompressed (an empty sync page stays 46 bytes).
pub const COMPRESS_MIN_BYTES: u16 = 256;

/// Marks an answer that carries a credential (the login and refresh answers hold tokens).
#[derive(Clone, Copy)]
struct CarriesCredential;

/// Answers under `/v1/auth/` are never compressed: a secret and client-chosen bytes in one
/// compressed body would let the body's length leak the secret (BREACH).
async fn mark_credentials(
    req: axum::extract::Request,
    next: middleware::Next,
) -> axum::response::Response {
    let credential = req.uri().path().starts_with("/v1/auth/");
    let mut resp = next.run(req).await;
    if credential {
        resp.extensions_mut().insert(CarriesCredential);
    }
    resp
}

/// Compressed transport: JSON answers of at least [`COMPRESS_MIN_BYTES`] are sent zstd- or
/// gzip-encoded, as the client's `Accept-Encoding` allows (zstd preferred: smaller and
/// cheaper to decode); photos, documents and credential answers go as they are.
fn compression() -> CompressionLayer<impl Predicate> {
    let json = |_: axum::http::StatusCode,
                _: axum::http::Version,
                headers: &axum::http::HeaderMap,
                ext: &axum::http::Extensions| {
        ext.get::<CarriesCredential>().is_none()
            && headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("application/json"))
    };
    CompressionLayer::new()
        .no_br()
        .no_deflate()
        .quality(CompressionLevel::Default)
        .compress_when(SizeAbove::new(COMPRESS_MIN_BYTES.into()).and(json))
}

/// The router with every layer (outermost first: compression, panic guard, JSON errors,
/// faults, access log).
pub fn router(state: AppState) -> Router {
    let app = routes(&state)
        .fallback(error::not_found_route)
        .method_not_allowed_fallback(error::wrong_method)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            access::log_request,
        ));
    #[cfg(feature = "faults")]
    let app = app.layer(middleware::from_fn_with_state(
        state.clone(),
        crate::faults::layer,
    ));
    // A body that stalls between two pieces fails its extractor (400) instead of waiting.
    app.layer(RequestBodyTimeoutLayer::new(
        state.timeouts.body_idle_timeout,
    ))
    .layer(middleware::map_response(error::json_errors))
    .layer(CatchPanicLayer::custom(error::panic_response))
    .layer(middleware::from_fn(mark_credentials))
    .layer(compression())
    .with_state(state)
}
