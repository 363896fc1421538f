//! The one JSON error body every non-2xx answer carries.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A stable, machine-readable error code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Malformed request (bad JSON, wrong types, bad query).
    BadRequest,
    /// A field's value is not acceptable; `field` names it.
    InvalidInput,
    /// No valid access token.
    Unauthorized,
    /// The refresh token or session is no longer valid: log in again.
    SessionExpired,
    /// Authenticated, but not allowed (for example a guardian on a staff endpoint).
    Forbidden,
    /// No such resource, or not visible to the caller.
    NotFound,
    /// The request conflicts with the current state (for example editing an acknowledged absence).
    Conflict,
    /// Body too large.
    PayloadTooLarge,
    /// Wrong content type.
    UnsupportedMediaType,
    /// Too many requests; `retry_after_s` says when to try again.
    RateLimited,
    /// The server failed.
    Internal,
    /// The server is temporarily unavailable.
    Unavailable,
    /// A photo tags a child whose photo consent is not granted; the message names the
    /// child's id (never a name).
    ConsentRequired,
    /// The same privacy right is already requested and not yet answered.
    AlreadyRequested,
    /// The guardian has no parental responsibility (foreldreansvar) for the child, which the
    /// action needs (a consent, a privacy request about the child, the child's documents).
    ParentalResponsibilityRequired,
    /// A value from a newer server; shown as unknown, never fails a page.
    #[serde(other)]
    Unknown,
}

/// The error body: `{"code": "...", "message": "...", "field": ..., "retry_after_s": ...}`.
/// `message` is for developers, in English, and never contains personal data or tokens.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema, thiserror::Error)]
#[error("{code:?}: {message}")]
pub struct ApiError {
    /// What went wrong, for the client to act on.
    pub code: ErrorCode,
    /// A short English explanation for developers; never shown to a parent as is.
    pub message: String,
    /// The request field that was refused (`invalid_input`), for example `last_day`; absent
    /// otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Seconds to wait before trying again (at least 1), with `rate_limited`; absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_s: Option<u32>,
}

impl ApiError {
    /// An error with a code and a message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            field: None,
            retry_after_s: None,
        }
    }

    /// An `invalid_input` error naming the field.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: ErrorCode::InvalidInput,
            message: message.into(),
            field: Some(field.into()),
            retry_after_s: None,
        }
    }
}
