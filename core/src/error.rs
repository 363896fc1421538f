//! Errors in two levels.
//!
//! - [`Error`], inside the core: what went wrong, with its source kept (SQLite, I/O, JSON, HTTP,
//!   the secret store, a task) so the one place that reports it can say what kind of failure it
//!   was.
//! - [`KidplanError`], at the facade: a small, stable enum for the shells, with fixed texts.
//!   [`Error::public`] converts once, at the facade, and logs the failure there: its category
//!   and the kind of its source, never a message text (SQLite and HTTP messages can quote
//!   values), a token, a URL or personal data.
//!
//! Storage failures are split: [`KidplanError::StorageCorrupt`] (the file cannot be read as
//! this account's database: corrupt, not a database, the wrong key, a newer schema) is the only
//! case where a shell may offer `reset_local_cache()`; [`KidplanError::Storage`] is transient
//! (a full disk, a locked file, an I/O error) and loses nothing: the transaction rolled back.

use crate::client::HttpError;
use kidplan_api::ErrorCode;
use kidplan_api::telemetry::Metric;

/// Everything that can go wrong in a core call, as the shells see it.
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
    InvalidInput {
        /// The name of the field (or argument) that was refused.
        field: String,
    },
    /// Too many requests; try again after `retry_after_s` seconds.
    #[error("rate limited; retry after {retry_after_s} s")]
    RateLimited {
        /// Seconds to wait before trying again.
        retry_after_s: u32,
    },
    /// The server failed or answered something the core cannot use.
    #[error("the server failed or sent an unusable answer")]
    Server,
    /// The local database or file cache failed for now (for example a full disk); nothing was
    /// lost, and the same call may succeed later.
    #[error("local storage failed")]
    Storage,
    /// The account's local database cannot be read (corrupt, or its key is lost): the only
    /// error after which a shell may offer `reset_local_cache()`.
    #[error("the local database cannot be read")]
    StorageCorrupt,
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
            KidplanError::StorageCorrupt => "storage_corrupt",
            KidplanError::Cancelled => "cancelled",
            KidplanError::Internal => "internal",
        }
    }
}

#[cfg(feature = "uniffi")]
impl From<uniffi::UnexpectedUniFFICallbackError> for KidplanError {
    fn from(_: uniffi::UnexpectedUniFFICallbackError) -> Self {
        KidplanError::Internal
    }
}

/// What went wrong inside the core, with its source.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A value given to a call is not acceptable (`field` names it).
    #[error("invalid input: {field}")]
    Invalid {
        /// The field (or argument) refused.
        field: String,
    },
    /// No such thing in the cache (or on the server, for a lookup the core made).
    #[error("not found")]
    NotFound,
    /// The guardian has no parental responsibility for the child the action is about (the
    /// server would refuse it too).
    #[error("no parental responsibility")]
    NoParentalResponsibility,
    /// No account is logged in, or its session is gone.
    #[error("no session")]
    NoSession,
    /// The server refused the refresh token: the session was revoked.
    #[error("session revoked")]
    SessionRevoked,
    /// The call was cancelled.
    #[error("cancelled")]
    Cancelled,
    /// An HTTP call failed (its status and the server's error body are kept).
    #[error("http: {0}")]
    Http(#[from] HttpError),
    /// SQLite failed.
    #[error("sqlite: {}", sqlite_code(.0))]
    Sqlite(#[from] rusqlite::Error),
    /// A database file is not this account's readable database (for example a newer schema).
    #[error("unreadable database: {0}")]
    Unreadable(&'static str),
    /// A file operation failed.
    #[error("file: {:?}", .0.kind())]
    Io(#[from] std::io::Error),
    /// Encoding or decoding local JSON failed.
    #[error("json: {:?}", .0.classify())]
    Json(#[from] serde_json::Error),
    /// The secret store (possibly the shell's) failed.
    #[error("secret store: {}", .0.code())]
    Secrets(KidplanError),
    /// A core task ended without an answer (it panicked, or was aborted).
    #[error("task failed")]
    Task(#[from] tokio::task::JoinError),
    /// A synchronous call panicked; the panic was caught at the facade.
    #[error("panicked")]
    Panicked,
    /// A state the core should never be in; the text names where.
    #[error("bug: {0}")]
    Bug(&'static str),
}

/// Core result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An [`Error::Invalid`] naming `field`.
    pub fn invalid(field: &str) -> Self {
        Error::Invalid {
            field: field.to_owned(),
        }
    }

    /// The public error this is (pure mapping; [`Error::public`] also logs).
    pub fn to_public(&self) -> KidplanError {
        match self {
            Error::Invalid { field } => KidplanError::invalid(field),
            Error::NotFound => KidplanError::NotFound,
            Error::NoParentalResponsibility => KidplanError::Forbidden,
            Error::NoSession | Error::SessionRevoked => KidplanError::SessionExpired,
            Error::Cancelled => KidplanError::Cancelled,
            Error::Http(e) => http_public(e),
            Error::Sqlite(e) if sqlite_unreadable(e) => KidplanError::StorageCorrupt,
            Error::Sqlite(_) | Error::Io(_) => KidplanError::Storage,
            Error::Unreadable(_) => KidplanError::StorageCorrupt,
            Error::Secrets(e) => match e {
                KidplanError::Storage | KidplanError::StorageCorrupt => KidplanError::Storage,
                _ => KidplanError::Internal,
            },
            Error::Task(e) if e.is_cancelled() => KidplanError::Cancelled,
            Error::Json(_) | Error::Task(_) | Error::Panicked | Error::Bug(_) => {
                KidplanError::Internal
            }
        }
    }

    /// Whether this is a caught panic (counted by area, not by [`Error::category`]).
    pub fn is_panic(&self) -> bool {
        match self {
            Error::Task(e) => e.is_panic(),
            Error::Panicked => true,
            _ => false,
        }
    }

    /// The telemetry category of a failed call: one of a closed set, never free-form. `None`
    /// for what is not a failure of the core or the server (the parent's invalid input, a
    /// missing item, a cancelled call, a call made before login) and for a panic (see
    /// [`Error::is_panic`]).
    pub fn category(&self) -> Option<Metric> {
        Some(match self {
            Error::Invalid { .. }
            | Error::NotFound
            | Error::NoParentalResponsibility
            | Error::NoSession
            | Error::Cancelled => {
                return None;
            }
            Error::SessionRevoked => Metric::ErrorSessionExpired,
            Error::Http(HttpError::Network) => Metric::ErrorOffline,
            Error::Http(HttpError::Decode | HttpError::TooLarge) => Metric::ErrorServerAnswer,
            Error::Http(HttpError::Local) => Metric::ErrorStorage,
            Error::Http(e) if http_public(e) == KidplanError::SessionExpired => {
                Metric::ErrorSessionExpired
            }
            Error::Http(HttpError::Status { status, .. }) if *status >= 500 => {
                Metric::ErrorServer5xx
            }
            Error::Http(HttpError::Status { .. }) => Metric::ErrorServer4xx,
            Error::Sqlite(e) if sqlite_unreadable(e) => Metric::ErrorStorageCorrupt,
            Error::Unreadable(_) => Metric::ErrorStorageCorrupt,
            Error::Sqlite(_) | Error::Io(_) | Error::Secrets(_) => Metric::ErrorStorage,
            Error::Task(_) | Error::Panicked => return None,
            Error::Json(_) | Error::Bug(_) => Metric::ErrorInternal,
        })
    }

    /// Converts to the public error, logging the failure of `op` (a facade method's name) by
    /// category and source kind only.
    pub fn public(self, op: &'static str) -> KidplanError {
        let public = self.to_public();
        match public {
            KidplanError::Internal | KidplanError::StorageCorrupt => {
                tracing::error!(op, error = public.code(), source = %self, "core call failed")
            }
            KidplanError::Storage | KidplanError::Server => {
                tracing::warn!(op, error = public.code(), source = %self, "core call failed")
            }
            _ => tracing::debug!(op, error = public.code(), "core call failed"),
        }
        public
    }

    /// A short stable code (the public one's).
    pub fn code(&self) -> &'static str {
        self.to_public().code()
    }

    /// Whether a network call failed without an answer (offline, timeout, dropped).
    pub fn is_offline(&self) -> bool {
        matches!(self, Error::Http(HttpError::Network))
    }
}

impl From<KidplanError> for Error {
    /// What a foreign implementation (the secret store) returned.
    fn from(e: KidplanError) -> Self {
        Error::Secrets(e)
    }
}

/// The public error of an HTTP failure: the status and the server's stable error code decide.
fn http_public(e: &HttpError) -> KidplanError {
    match e {
        HttpError::Network => KidplanError::Offline,
        HttpError::Decode | HttpError::TooLarge => KidplanError::Server,
        HttpError::Local => KidplanError::Storage,
        HttpError::Status {
            status,
            api,
            retry_after_s,
        } => {
            let code = api.as_ref().map(|a| a.code);
            match (*status, code) {
                (401, _) | (_, Some(ErrorCode::SessionExpired)) => KidplanError::SessionExpired,
                (403, _) => KidplanError::Forbidden,
                (404 | 410, _) => KidplanError::NotFound,
                (429, _) => KidplanError::RateLimited {
                    retry_after_s: retry_after_s.unwrap_or(60),
                },
                (400..=499, _) => KidplanError::InvalidInput {
                    field: api
                        .as_ref()
                        .and_then(|a| a.field.as_ref())
                        .map(|f| f.chars().take(64).collect())
                        .unwrap_or_else(|| match status {
                            409 => "state".into(),
                            413 => "size".into(),
                            _ => "request".into(),
                        }),
                },
                _ => KidplanError::Server,
            }
        }
    }
}

/// Whether SQLite says the file is not a readable database (corrupt, foreign, wrong key).
fn sqlite_unreadable(e: &rusqlite::Error) -> bool {
    matches!(
        e,
        rusqlite::Error::SqliteFailure(f, _)
            if matches!(
                f.code,
                rusqlite::ErrorCode::DatabaseCorrupt | rusqlite::ErrorCode::NotADatabase
            )
    )
}

/// The class of a SQLite error, never its message (which can quote values).
fn sqlite_code(e: &rusqlite::Error) -> String {
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
    use kidplan_api::ApiError;

    #[test]
    fn public_messages_are_fixed_text() {
        let e = KidplanError::invalid("last_day");
        assert_eq!(e.to_string(), "invalid input: last_day");
        assert_eq!(e.code(), "invalid_input");
    }

    #[test]
    fn storage_failures_are_split_into_transient_and_unreadable() {
        let full = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_FULL),
            Some("database or disk is full".into()),
        );
        assert_eq!(Error::from(full).to_public(), KidplanError::Storage);
        for code in [rusqlite::ffi::SQLITE_CORRUPT, rusqlite::ffi::SQLITE_NOTADB] {
            let e = rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), None);
            assert_eq!(Error::from(e).to_public(), KidplanError::StorageCorrupt);
        }
        let io = std::io::Error::other("disk");
        assert_eq!(Error::from(io).to_public(), KidplanError::Storage);
        assert_eq!(
            Error::Unreadable("newer schema").to_public(),
            KidplanError::StorageCorrupt
        );
    }

    #[test]
    fn the_source_is_kept_but_its_text_is_not_shown() {
        let e = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CONSTRAINT),
            Some("UNIQUE constraint failed: Canaryx Qzv".into()),
        );
        let internal = Error::from(e);
        assert!(std::error::Error::source(&internal).is_some());
        let shown = internal.to_string();
        assert!(!shown.contains("Canaryx"), "{shown}");
        assert_eq!(internal.public("test").to_string(), "local storage failed");
    }

    #[test]
    fn http_statuses_map_to_stable_errors() {
        let st = |status, code: Option<ErrorCode>| {
            Error::Http(HttpError::Status {
                status,
                api: code.map(|c| ApiError::new(c, "m")),
                retry_after_s: None,
            })
            .to_public()
        };
        assert_eq!(st(401, None), KidplanError::SessionExpired);
        assert_eq!(st(403, None), KidplanError::Forbidden);
        assert_eq!(st(404, None), KidplanError::NotFound);
        assert_eq!(st(500, None), KidplanError::Server);
        assert_eq!(
            st(409, Some(ErrorCode::Conflict)),
            KidplanError::invalid("state")
        );
        let inv = Error::Http(HttpError::Status {
            status: 400,
            api: Some(ApiError::invalid("last_day", "before first_day")),
            retry_after_s: None,
        });
        assert_eq!(inv.to_public(), KidplanError::invalid("last_day"));
        let rl = Error::Http(HttpError::Status {
            status: 429,
            api: None,
            retry_after_s: Some(7),
        });
        assert_eq!(
            rl.to_public(),
            KidplanError::RateLimited { retry_after_s: 7 }
        );
        assert_eq!(
            Error::Http(HttpError::Network).to_public(),
            KidplanError::Offline
        );
    }
}
