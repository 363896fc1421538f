//! HTTP plumbing shared by the provider clients: building a client with its timeout, and
//! turning transport errors and status codes into [`SendError`] categories (never the
//! provider's text, which may quote a recipient or a credential).

use super::SendError;
use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use std::time::Duration;

/// A client for the provider `name`. `http2_only` speaks HTTP/2 from the first byte (APNs;
/// over TLS ALPN offers only `h2`).
pub fn client(
    name: &str,
    timeout: Duration,
    http2_only: bool,
) -> Result<reqwest::Client, super::config::ConfigError> {
    let b = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent("kidplan-server");
    let b = if http2_only {
        b.http2_prior_knowledge()
    } else {
        b
    };
    b.build()
        .map_err(|_| super::config::ConfigError::new(name, "HTTP client cannot be built"))
}

/// A token a client reuses until it must be renewed (in memory only), with its time.
pub type CachedToken = tokio::sync::Mutex<Option<(super::config::Secret, DateTime<Utc>)>>;

/// The outcome of a send with a fixed credential (Mailgun, LinkMobility): 2xx is delivered;
/// 401 and 403 (a wrong key or account) wait for the operator to fix the configuration; any
/// other status as [`by_status`].
pub fn outcome(resp: &reqwest::Response, now: DateTime<Utc>) -> Result<(), SendError> {
    let status = resp.status();
    if status.is_success() {
        return Ok(());
    }
    let err = by_status(status, resp.headers(), now);
    Err(match status.as_u16() {
        401 | 403 => SendError::Retry {
            category: err.category(),
            after: None,
        },
        _ => err,
    })
}

/// A transport failure (no answer, refused, cut off, unreadable).
pub fn transport(e: &reqwest::Error) -> SendError {
    let category = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connection"
    } else if e.is_decode() || e.is_body() {
        "invalid_response"
    } else {
        "transport"
    };
    SendError::Retry {
        category,
        after: None,
    }
}

/// `Retry-After` as seconds or an HTTP date (relative to `now`).
pub fn retry_after(headers: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    let v = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = DateTime::parse_from_rfc2822(v).ok()?.with_timezone(&Utc);
    (at - now).to_std().ok()
}

/// The category of an HTTP status.
pub fn status_category(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "http_400",
        401 => "http_401",
        403 => "http_403",
        404 => "http_404",
        410 => "http_410",
        413 => "http_413",
        429 => "http_429",
        500 => "http_500",
        502 => "http_502",
        503 => "http_503",
        504 => "http_504",
        c if (400..500).contains(&c) => "http_4xx",
        c if (500..600).contains(&c) => "http_5xx",
        _ => "http_other",
    }
}

/// The usual meaning of a failed status: 408, 429 and 5xx are worth another try (with the
/// provider's `Retry-After` on 429 and 503), any other status is a refusal.
pub fn by_status(status: StatusCode, headers: &HeaderMap, now: DateTime<Utc>) -> SendError {
    let category = status_category(status);
    let code = status.as_u16();
    if code == 408 || code == 429 || status.is_server_error() {
        let after = if code == 429 || code == 503 {
            retry_after(headers, now)
        } else {
            None
        };
        SendError::Retry { category, after }
    } else {
        SendError::Rejected { category }
    }
}

/// Reads a (small) JSON error body; `Null` when it is not JSON or too big.
pub async fn error_json(resp: reqwest::Response) -> serde_json::Value {
    const MAX: usize = 64 * 1024;
    match resp.bytes().await {
        Ok(b) if b.len() <= MAX => serde_json::from_slice(&b).unwrap_or(serde_json::Value::Null),
        _ => serde_json::Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = DateTime::parse_from_rfc3339("2026-11-25T10:00:00Z")
            .map(|d| d.with_timezone(&Utc))
            .unwrap_or_default();
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_static("120"));
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(120)));
        h.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 25 Nov 2026 10:01:30 GMT"),
        );
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(90)));
        h.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h, now), None);
        assert!(matches!(
            by_status(StatusCode::BAD_REQUEST, &h, now),
            SendError::Rejected {
                category: "http_400"
            }
        ));
        assert!(matches!(
            by_status(StatusCode::BAD_GATEWAY, &h, now),
            SendError::Retry {
                category: "http_502",
                after: None
            }
        ));
    }
}
