//! What the user sees when something goes wrong: one line on stderr that says what to do.
//!
//! [`Fail`] is the CLI's error: a finished sentence and an exit status. Core errors
//! ([`KidplanError`]) are turned into sentences by [`Fail::core`], with the server URL and data
//! directory for context; nothing here prints a backtrace or a debug dump.

use kidplan_core::KidplanError;
use std::path::Path;

/// Exit status for a failure of the user's input or environment.
pub const EXIT_FAILURE: u8 = 1;

/// A failure with the one line to print.
#[derive(Debug)]
pub struct Fail {
    pub message: String,
    pub status: u8,
}

pub type CliResult<T> = Result<T, Fail>;

impl Fail {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            status: EXIT_FAILURE,
        }
    }

    /// A core error as a sentence that says what to do.
    pub fn core(e: &KidplanError, server: &str, data_dir: &Path) -> Self {
        Self::new(describe(e, server, data_dir))
    }
}

impl From<std::io::Error> for Fail {
    fn from(e: std::io::Error) -> Self {
        Fail::new(format!("{e}"))
    }
}

/// The sentence for a core error.
pub fn describe(e: &KidplanError, server: &str, data_dir: &Path) -> String {
    match e {
        KidplanError::Offline => format!(
            "cannot reach the Kidplan server at {server}; check --server (or KIDPLAN_SERVER) \
             and your network, or start one with `kidplan serve`"
        ),
        KidplanError::SessionExpired => {
            "not logged in, or the session has expired; log in with `kidplan login <email or phone>`"
                .into()
        }
        KidplanError::Forbidden => {
            "the server does not allow this for your account; ask the kindergarten".into()
        }
        KidplanError::NotFound => {
            "not found on the server (it may have been removed); run `kidplan sync` and try again"
                .into()
        }
        KidplanError::InvalidInput { field } => match field.as_str() {
            "code" => "wrong or expired login code; ask for a new one with `kidplan login <contact>`"
                .into(),
            "contact" => "give an email address or a phone number such as +4791234567".into(),
            "server_url" => format!(
                "`{server}` is not a usable server URL: use https://, or http:// only for \
                 127.0.0.1 or localhost"
            ),
            "last_day" | "to" => "--to must be the same day as --from or later".into(),
            "first_day" | "from" => "--from is not an acceptable first day".into(),
            "note" | "body" => "the text is too long or contains characters that are not allowed"
                .into(),
            f => format!("the value of `{f}` is not accepted; check it and try again"),
        },
        KidplanError::StorageCorrupt => format!(
            "the local data in {} cannot be read (damaged, or its key is gone); log out and in \
             again to start it afresh",
            data_dir.display()
        ),
        KidplanError::RateLimited { retry_after_s } => {
            format!("too many attempts; wait {retry_after_s} s and try again")
        }
        KidplanError::Server => {
            format!("the server at {server} failed or answered something unexpected; try again later")
        }
        KidplanError::Storage => format!(
            "the local data in {} could not be read or written; check the directory's \
             permissions and free space (or remove it and log in again)",
            data_dir.display()
        ),
        KidplanError::Cancelled => "cancelled".into(),
        KidplanError::Internal => {
            "an internal error in kidplan-core; please report it"
                .into()
        }
    }
}
