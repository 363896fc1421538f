//! Apple Push Notification service with token authentication: an ES256 JWT (`kid` = key id,
//! `iss` = team id, `iat`) signed with the `.p8` key, reused for 40 minutes (Apple refuses
//! tokens older than an hour and renewals more often than every 20 minutes). Each push is an
//! HTTP/2 `POST {base}/3/device/{token}` with `apns-topic`, `apns-push-type` (`background`,
//! or `alert` with `mutable-content` so the app's extension writes the text) and
//! `apns-priority` (5 for background, 10 for alert). `410 Unregistered` (and
//! `BadDeviceToken`) removes the registration.

use super::config::{ConfigError, Section};
use super::{Push, SendError, SendFuture, http, push_kind_str};
use crate::clock::Clock;
use chrono::{DateTime, TimeDelta, Utc};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;

/// Apple's production host (the sandbox is `https://api.sandbox.push.apple.com`).
pub const DEFAULT_BASE_URL: &str = "https://api.push.apple.com";
/// A provider token is renewed after this long.
pub const TOKEN_RENEW_AFTER_S: i64 = 40 * 60;

/// The `[apns]` section, with the `.p8` key loaded and tried.
#[derive(Clone)]
pub struct ApnsConfig {
    pub base_url: String,
    pub key_id: String,
    pub team_id: String,
    /// The app's bundle id.
    pub topic: String,
    key: EncodingKey,
    pub timeout: std::time::Duration,
}

impl std::fmt::Debug for ApnsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApnsConfig")
            .field("base_url", &self.base_url)
            .field("key_id", &self.key_id)
            .field("team_id", &self.team_id)
            .field("topic", &self.topic)
            .finish_non_exhaustive()
    }
}

fn apple_id(s: &Section<'_>, key: &str) -> Result<String, ConfigError> {
    let v = s.str(key)?;
    if v.len() == 10 && v.chars().all(|c| c.is_ascii_alphanumeric()) {
        Ok(v)
    } else {
        Err(ConfigError::new(
            s.setting(key),
            "must be 10 letters or digits",
        ))
    }
}

impl ApnsConfig {
    pub(super) fn from_section(s: &Section<'_>) -> Result<Self, ConfigError> {
        let bytes = s.file_bytes("key_file")?;
        let key = EncodingKey::from_ec_pem(&bytes).map_err(|_| {
            ConfigError::new(s.setting("key_file"), "not an EC private key in PEM (.p8)")
        })?;
        let cfg = Self {
            base_url: s.base_url(DEFAULT_BASE_URL)?,
            key_id: apple_id(s, "key_id")?,
            team_id: apple_id(s, "team_id")?,
            topic: s.str("topic")?,
            key,
            timeout: s.timeout()?,
        };
        cfg.provider_token(Utc::now()).map_err(|_| {
            ConfigError::new(s.setting("key_file"), "the key cannot sign (ES256, P-256)")
        })?;
        Ok(cfg)
    }

    fn provider_token(&self, now: DateTime<Utc>) -> Result<String, jsonwebtoken::errors::Error> {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.key_id.clone());
        header.typ = None;
        jsonwebtoken::encode(
            &header,
            &Claims {
                iss: &self.team_id,
                iat: now.timestamp(),
            },
            &self.key,
        )
    }
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    iat: i64,
}

/// The APNs payload of a push: `aps` plus `v`, `kind`, `hint`; no text, no personal data.
pub fn payload(push: &Push) -> serde_json::Value {
    let aps = if push.alert {
        serde_json::json!({"alert": {"loc-key": "KIDPLAN_NOTIFICATION"}, "mutable-content": 1, "sound": "default"})
    } else {
        serde_json::json!({"content-available": 1})
    };
    let mut p = serde_json::json!({"aps": aps, "v": 1, "kind": push_kind_str(push.kind)});
    if let Some(h) = &push.hint {
        p["hint"] = h.as_str().into();
    }
    p
}

/// The APNs client (HTTP/2 only).
pub struct Apns {
    cfg: ApnsConfig,
    http: reqwest::Client,
    clock: Clock,
    token: http::CachedToken,
}

impl Apns {
    pub fn new(cfg: ApnsConfig, clock: Clock) -> Result<Self, ConfigError> {
        let http = http::client("apns", cfg.timeout, true)?;
        Ok(Self {
            cfg,
            http,
            clock,
            token: Default::default(),
        })
    }

    async fn provider_token(&self) -> Result<String, SendError> {
        let mut cached = self.token.lock().await;
        let now = self.clock.now();
        if let Some((t, issued)) = cached.as_ref()
            && now < *issued + TimeDelta::seconds(TOKEN_RENEW_AFTER_S)
            && now >= *issued
        {
            return Ok(t.expose().to_owned());
        }
        let t = self.cfg.provider_token(now).map_err(|_| SendError::Retry {
            category: "auth_sign",
            after: None,
        })?;
        *cached = Some((super::config::Secret::new(t.clone()), now));
        Ok(t)
    }

    async fn post(&self, push: &Push) -> Result<(), SendError> {
        if push.token.is_empty()
            || push.token.len() > 200
            || !push.token.chars().all(|c| c.is_ascii_hexdigit())
        {
            return Err(SendError::Unregistered);
        }
        let jwt = self.provider_token().await?;
        let (push_type, priority) = if push.alert {
            ("alert", "10")
        } else {
            ("background", "5")
        };
        let resp = self
            .http
            .post(format!("{}/3/device/{}", self.cfg.base_url, push.token))
            .header(reqwest::header::AUTHORIZATION, format!("bearer {jwt}"))
            .header("apns-topic", &self.cfg.topic)
            .header("apns-push-type", push_type)
            .header("apns-priority", priority)
            .json(&payload(push))
            .send()
            .await
            .map_err(|e| http::transport(&e))?;
        let status = resp.status();
        if status.is_success() {
            return Ok(());
        }
        let err = http::by_status(status, resp.headers(), self.clock.now());
        let body = http::error_json(resp).await;
        let reason = body["reason"].as_str().unwrap_or("");
        Err(match (status.as_u16(), reason) {
            (410, _) | (400, "BadDeviceToken" | "DeviceTokenNotForTopic") => {
                SendError::Unregistered
            }
            (403, "ExpiredProviderToken" | "InvalidProviderToken") => {
                *self.token.lock().await = None;
                SendError::Retry {
                    category: "auth_expired",
                    after: None,
                }
            }
            _ => err,
        })
    }

    /// Sends one push.
    pub fn send<'a>(&'a self, push: &'a Push) -> SendFuture<'a> {
        Box::pin(self.post(push))
    }
}
