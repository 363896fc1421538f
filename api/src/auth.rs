//! Login by one-time code, token refresh and logout.

use crate::ids::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Digits in a one-time login code.
pub const LOGIN_CODE_DIGITS: usize = 6;
/// Lifetime of a one-time login code, in seconds.
pub const LOGIN_CODE_TTL_S: i64 = 600;
/// Wrong tries that burn a code.
pub const LOGIN_CODE_MAX_TRIES: u32 = 5;

/// `POST /v1/auth/code`: send a one-time code to an email address or phone number.
/// The answer is `202` whether or not the contact is known.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RequestCode {
    /// An email address or a phone number (`+47...`).
    #[schema(
        max_length = 254,
        pattern = "^([!-?A-~]+@[!--/-?A-~][!-?A-~]*\\.[!-?A-~]*[!--/-?A-~]|\\+[0-9]{8,15}|[0-9]{8})$"
    )]
    pub contact: String,
}

/// `POST /v1/auth/token`: exchange a one-time code for tokens.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct VerifyCode {
    /// The email address or phone number the code was sent to, as given in [`RequestCode`].
    #[schema(
        max_length = 254,
        pattern = "^([!-?A-~]+@[!--/-?A-~][!-?A-~]*\\.[!-?A-~]*[!--/-?A-~]|\\+[0-9]{8,15}|[0-9]{8})$"
    )]
    pub contact: String,
    /// The one-time code from the email or SMS: [`LOGIN_CODE_DIGITS`] digits, valid for
    /// [`LOGIN_CODE_TTL_S`] seconds; wrong tries are limited per client (and a code dies after
    /// many from everyone together).
    #[schema(max_length = 16)]
    pub code: String,
}

/// `POST /v1/auth/refresh`: rotate a refresh token. A refresh token used twice revokes the
/// whole session.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RefreshRequest {
    /// The refresh token of the latest [`Session`]; it is replaced by the answer's.
    #[schema(max_length = 256)]
    pub refresh_token: String,
}

/// `POST /v1/auth/logout` (with the access token): revoke the session.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LogoutRequest {
    /// The session's current refresh token; it is revoked with the session.
    #[schema(max_length = 256)]
    pub refresh_token: String,
}

/// Who a session belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum Role {
    /// A guardian (foresatt): parent endpoints and the sync feed of their own children.
    Guardian,
    /// A member of staff: the staff endpoints of their own kindergarten.
    Staff,
    /// A value from a newer server; shown as unknown, never fails a page.
    #[serde(other)]
    Unknown,
}

/// Tokens and the identity they belong to. `Debug` and `Display` never print the tokens.
#[derive(Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Session {
    /// Bearer token for the `Authorization` header; secret, short-lived.
    pub access_token: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// Secret token to get new tokens with [`RefreshRequest`]; single use (a reuse revokes
    /// the session). Kept only in the device's secret store.
    pub refresh_token: String,
    /// Whether this is a guardian's or a staff member's session.
    pub role: Role,
    /// The guardian's or the staff member's id.
    pub person_id: String,
    /// The kindergarten (barnehage) this session acts in.
    pub kindergarten_id: KindergartenId,
    /// Display name of the kindergarten, for an account switcher.
    pub kindergarten_name: String,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

impl std::fmt::Display for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Session({:?}, {})", self.role, self.kindergarten_id)
    }
}
