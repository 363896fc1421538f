//! The one error type of the core, [`KidplanError`]: small, stable, and safe to show or log.
//!
//! Messages never contain personal data, tokens, or URLs with query strings: every variant's
//! text is fixed, and `field` only ever names a field of an API call.

/// Everything that can go wrong in a core call.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Error))]
pub enum KidplanError {
    /// The server could not be reached (no network, timeout, connection dropped).
    #[error("the server could not be reached")]
    Offline,
    /// The session ended (logged out elsewhere, revoked, or never logged in): log in again.
    #[error("the session has expired; log in again")]
    SessionExpired,
    /// The server refused the call for this account.
    #[error("not allowed")]
    Forbidden,
    /// No such thing, or not visible to this account.
    #[error("not found")]
    NotFound,
    /// A value given to the call is not acceptable; `field` names it.
    #[error("invalid input: {field}")]
    InvalidInput { field: String },
    /// Too many requests; try again after `retry_after_s` seconds.
    #[error("rate limited; retry after {retry_after_s} s")]
    RateLimited { retry_after_s: u32 },
    /// The server failed or answered something the core cannot use.
    #[error("the server failed or sent an unusable answer")]
    Server,
    /// The local database or file cache failed (corrupt, unreadable, disk full).
    #[error("local storage failed")]
    Storage,
    /// The call was cancelled before it finished.
    #[error("cancelled")]
    Cancelled,
    /// A bug in the core.
    #[error("internal error")]
    Internal,
}

impl KidplanError {
    /// An [`KidplanError::InvalidInput`] naming `field`.
    pub fn invalid(field: &str) -> Self {
        KidplanError::InvalidInput {
            field: field.to_owned(),
        }
    }

    /// A short stable code for status displays (`"offline"`, `"storage"`, ...).
    pub fn code(&self) -> &'static str {
        match self {
            KidplanError::Offline => "offline",
            KidplanError::SessionExpired => "session_expired",
            KidplanError::Forbidden => "forbidden",
            KidplanError::NotFound => "not_found",
            KidplanError::InvalidInput { .. } => "invalid_input",
            KidplanError::RateLimited { .. } => "rate_limited",
            KidplanError::Server => "server",
            KidplanError::Storage => "storage",
            KidplanError::Cancelled => "cancelled",
            KidplanError::Internal => "internal",
        }
    }
}

/// Core result type.
pub type Result<T, E = KidplanError> = std::result::Result<T, E>;

impl From<rusqlite::Error> for KidplanError {
    fn from(e: rusqlite::Error) -> Self {
        // SQLite messages can quote values; log only the error class.
        tracing::warn!(kind = sqlite_kind(&e), "storage error");
        KidplanError::Storage
    }
}

impl From<std::io::Error> for KidplanError {
    fn from(e: std::io::Error) -> Self {
        tracing::warn!(kind = ?e.kind(), "file error");
        KidplanError::Storage
    }
}

impl From<tokio::task::JoinError> for KidplanError {
    fn from(e: tokio::task::JoinError) -> Self {
        if e.is_cancelled() {
            KidplanError::Cancelled
        } else {
            tracing::error!("a core task panicked");
            KidplanError::Internal
        }
    }
}

#[cfg(feature = "uniffi")]
impl From<uniffi::UnexpectedUniFFICallbackError> for KidplanError {
    fn from(_: uniffi::UnexpectedUniFFICallbackError) -> Self {
        KidplanError::Internal
    }
}

fn sqlite_kind(e: &rusqlite::Error) -> String {
    match e {
        rusqlite::Error::SqliteFailure(f, _) => format!("{:?}", f.code),
        rusqlite::Error::QueryReturnedNoRows => "no_rows".into(),
        rusqlite::Error::FromSqlConversionFailure(..) | rusqlite::Error::InvalidColumnType(..) => {
            "conversion".into()
        }
        _ => "other".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_fixed_text() {
        let e = KidplanError::invalid("last_day");
        assert_eq!(e.to_string(), "invalid input: last_day");
        assert_eq!(e.code(), "invalid_input");
        let e: KidplanError = rusqlite::Error::QueryReturnedNoRows.into();
        assert_eq!(e, KidplanError::Storage);
    }
}
