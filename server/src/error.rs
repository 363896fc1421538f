//! Errors: every non-2xx answer carries the [`kidplan_api::ApiError`] JSON body.
//!
//! [`AppError`] is what handlers return; the extractor rejections of axum are mapped to it, and
//! [`json_errors`] rewrites any error answer that is not JSON yet (unknown route, wrong method,
//! a rejection we did not map) so that clients always get the same body.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kidplan_api::{ApiError, ErrorCode};

/// An error answer: a status and the JSON body.
#[derive(Debug, Clone)]
pub struct AppError {
    pub status: StatusCode,
    pub body: ApiError,
}

/// Result of handlers and database work.
pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    /// An error with a status, a code and a message (no personal data in the message).
    pub fn new(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            status,
            body: ApiError::new(code, message),
        }
    }

    /// 400 `invalid_input` naming the field.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            body: ApiError::invalid(field, message),
        }
    }

    /// 400 `bad_request`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, ErrorCode::BadRequest, message)
    }

    /// 404 `not_found`.
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, "not found")
    }

    /// 401 `unauthorized`.
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthorized,
            "missing, invalid or expired access token",
        )
    }

    /// 401 `session_expired`.
    pub fn session_expired() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::SessionExpired,
            "session expired: log in again",
        )
    }

    /// 403 `forbidden`.
    pub fn forbidden() -> Self {
        Self::new(StatusCode::FORBIDDEN, ErrorCode::Forbidden, "not allowed")
    }

    /// 409 `conflict`.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, ErrorCode::Conflict, message)
    }

    /// 429 `rate_limited` with the seconds to wait.
    pub fn rate_limited(retry_after_s: u32) -> Self {
        let mut e = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::RateLimited,
            "too many requests",
        );
        e.body.retry_after_s = Some(retry_after_s.max(1));
        e
    }

    /// 500 `internal`; the cause is logged (without data), never sent.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Internal,
            "internal server error",
        )
    }

    /// The body for a bare status (used for rejections and the JSON rewrite).
    pub fn from_status(status: StatusCode) -> Self {
        let code = match status {
            StatusCode::NOT_FOUND => ErrorCode::NotFound,
            StatusCode::METHOD_NOT_ALLOWED => ErrorCode::BadRequest,
            StatusCode::UNAUTHORIZED => ErrorCode::Unauthorized,
            StatusCode::FORBIDDEN => ErrorCode::Forbidden,
            StatusCode::CONFLICT => ErrorCode::Conflict,
            StatusCode::PAYLOAD_TOO_LARGE => ErrorCode::PayloadTooLarge,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ErrorCode::UnsupportedMediaType,
            StatusCode::TOO_MANY_REQUESTS => ErrorCode::RateLimited,
            StatusCode::SERVICE_UNAVAILABLE => ErrorCode::Unavailable,
            s if s.is_server_error() => ErrorCode::Internal,
            _ => ErrorCode::BadRequest,
        };
        let message = status.canonical_reason().unwrap_or("error").to_lowercase();
        Self::new(status, code, message)
    }

    /// Serialised body.
    pub fn body_json(&self) -> String {
        serde_json::to_string(&self.body).unwrap_or_else(|_| {
            r#"{"code":"internal","message":"internal server error"}"#.to_owned()
        })
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let mut resp = (
            self.status,
            [(header::CONTENT_TYPE, "application/json")],
            self.body_json(),
        )
            .into_response();
        if let Some(s) = self.body.retry_after_s
            && let Ok(v) = HeaderValue::from_str(&s.to_string())
        {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        resp
    }
}

impl From<rusqlite::Error> for AppError {
    fn from(e: rusqlite::Error) -> Self {
        Self::internal(&e)
    }
}

impl From<std::io::Error> for AppError {
    fn from(e: std::io::Error) -> Self {
        Self::internal(&e)
    }
}

impl From<serde_json::Error> for AppError {
    fn from(e: serde_json::Error) -> Self {
        // Not `e` itself: a decoding error quotes the value it choked on (personal data).
        Self::internal(&format!(
            "json {:?} error at {}:{}",
            e.classify(),
            e.line(),
            e.column()
        ))
    }
}

impl From<JsonRejection> for AppError {
    fn from(r: JsonRejection) -> Self {
        match r.status() {
            StatusCode::PAYLOAD_TOO_LARGE => Self::from_status(StatusCode::PAYLOAD_TOO_LARGE),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => Self::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ErrorCode::UnsupportedMediaType,
                "expected Content-Type: application/json",
            ),
            _ => json_body_error(&r),
        }
    }
}

/// A body that is not valid JSON, or does not have the expected shape. serde's message is not
/// passed on (it may quote the input); only the name of a missing field is.
fn json_body_error(r: &JsonRejection) -> AppError {
    let text = r.body_text();
    if let Some(field) = between(&text, "missing field `", "`") {
        return AppError::invalid(field, "missing field");
    }
    match r {
        JsonRejection::JsonSyntaxError(_) => AppError::bad_request("malformed JSON body"),
        _ => AppError::bad_request("JSON body has the wrong shape or a value of the wrong type"),
    }
}

fn between<'a>(s: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = s.find(start)? + start.len();
    let len = s.get(from..)?.find(end)?;
    s.get(from..from + len).filter(|f| f.len() <= 64)
}

impl From<QueryRejection> for AppError {
    fn from(r: QueryRejection) -> Self {
        let text = r.body_text();
        match between(&text, "missing field `", "`") {
            Some(field) => AppError::invalid(field, "missing query parameter"),
            None => AppError::bad_request("invalid query string"),
        }
    }
}

impl From<PathRejection> for AppError {
    fn from(_: PathRejection) -> Self {
        AppError::bad_request("invalid path parameter")
    }
}

/// Middleware: an error answer without a JSON body gets the standard JSON body for its status.
pub async fn json_errors(resp: Response) -> Response {
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        return resp;
    }
    let (parts, _) = resp.into_parts();
    let mut fresh = AppError::from_status(status).into_response();
    for name in [header::RETRY_AFTER, header::ALLOW] {
        if let Some(v) = parts.headers.get(&name) {
            fresh.headers_mut().insert(name, v.clone());
        }
    }
    fresh
}

/// The last resort for a panic in a handler: a JSON 500 (the panic message is not sent).
pub fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    AppError::internal(&"handler panicked").into_response()
}

/// Fallback for unknown routes.
pub async fn not_found_route() -> AppError {
    AppError::new(StatusCode::NOT_FOUND, ErrorCode::NotFound, "no such route")
}

/// Fallback for a known route with the wrong method.
pub async fn wrong_method() -> AppError {
    AppError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        ErrorCode::BadRequest,
        "method not allowed",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn between_extracts_field_names() {
        assert_eq!(
            between(
                "Failed: missing field `contact` at line 1",
                "missing field `",
                "`"
            ),
            Some("contact")
        );
        assert_eq!(between("nothing here", "missing field `", "`"), None);
    }

    #[test]
    fn rate_limited_sets_retry_after() {
        let resp = AppError::rate_limited(0).into_response();
        assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(
            resp.headers()
                .get(header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok()),
            Some("1")
        );
    }
}
