//! Firebase Cloud Messaging, HTTP v1. A service-account key signs a JWT (RS256, claims `iss`,
//! `scope`, `aud` = the key's `token_uri`, `iat`, `exp`), which is exchanged for an OAuth2
//! access token (`grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`), cached until five
//! minutes before it expires. Each push is `POST {base}/v1/projects/{project}/messages:send`
//! with a data-only message: `{"v":"1","kind":..,"hint":..}`, nothing else. `UNREGISTERED`
//! (and `INVALID_ARGUMENT` about the token) removes the registration.

use super::config::{ConfigError, Secret, Section};
use super::{Push, PushSender, SendError, SendFuture, http, push_kind_str};
use crate::clock::Clock;
use chrono::{DateTime, TimeDelta, Utc};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::{Deserialize, Serialize};

/// FCM's API host.
pub const DEFAULT_BASE_URL: &str = "https://fcm.googleapis.com";
/// The OAuth2 scope of FCM.
pub const SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";
/// Lifetime asked for the signed assertion.
const ASSERTION_TTL_S: i64 = 3600;
/// A cached access token is renewed this long before it expires.
const RENEW_BEFORE_S: i64 = 300;

/// The `[fcm]` section, with the service-account key loaded and tried.
#[derive(Clone)]
pub struct FcmConfig {
    pub base_url: String,
    pub project_id: String,
    pub client_email: String,
    pub private_key_id: String,
    pub token_uri: String,
    key: EncodingKey,
    pub timeout: std::time::Duration,
}

impl std::fmt::Debug for FcmConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FcmConfig")
            .field("base_url", &self.base_url)
            .field("project_id", &self.project_id)
            .field("token_uri", &self.token_uri)
            .finish_non_exhaustive()
    }
}

/// The fields of a Google service-account key file that are used.
#[derive(Deserialize)]
struct ServiceAccount {
    #[serde(rename = "type")]
    kind: String,
    project_id: String,
    private_key_id: String,
    private_key: Secret,
    client_email: String,
    token_uri: String,
}

impl FcmConfig {
    pub(super) fn from_section(s: &Section<'_>) -> Result<Self, ConfigError> {
        let setting = s.setting("service_account_file");
        let bytes = s.file_bytes("service_account_file")?;
        let sa: ServiceAccount = serde_json::from_slice(&bytes).map_err(|_| {
            ConfigError::new(
                &setting,
                "not a service-account key (JSON with type, project_id, private_key_id, private_key, client_email, token_uri)",
            )
        })?;
        if sa.kind != "service_account" {
            return Err(ConfigError::new(&setting, "type is not service_account"));
        }
        let key = EncodingKey::from_rsa_pem(sa.private_key.expose().as_bytes())
            .map_err(|_| ConfigError::new(&setting, "private_key is not an RSA key in PEM"))?;
        let base_url = s.base_url(DEFAULT_BASE_URL)?;
        let token_uri = match s.opt_str("token_uri")? {
            Some(u) => u,
            None => sa.token_uri.clone(),
        };
        super::config::check_url(&token_uri)
            .map_err(|p| ConfigError::new(s.setting("token_uri"), p))?;
        let cfg = Self {
            base_url,
            project_id: sa.project_id,
            client_email: sa.client_email,
            private_key_id: sa.private_key_id,
            token_uri,
            key,
            timeout: s.timeout()?,
        };
        cfg.assertion(Utc::now())
            .map_err(|_| ConfigError::new(&setting, "private_key cannot sign (RS256)"))?;
        Ok(cfg)
    }

    /// The signed JWT assertion for the token exchange.
    fn assertion(&self, now: DateTime<Utc>) -> Result<String, jsonwebtoken::errors::Error> {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.private_key_id.clone());
        let iat = now.timestamp();
        let claims = Claims {
            iss: &self.client_email,
            scope: SCOPE,
            aud: &self.token_uri,
            iat,
            exp: iat + ASSERTION_TTL_S,
        };
        jsonwebtoken::encode(&header, &claims, &self.key)
    }
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    scope: &'a str,
    aud: &'a str,
    iat: i64,
    exp: i64,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: Secret,
    expires_in: i64,
}

/// The FCM v1 message of a push: data only (strings), no `notification`.
pub fn message(push: &Push) -> serde_json::Value {
    let mut data = serde_json::json!({"v": "1", "kind": push_kind_str(push.kind)});
    if let Some(h) = &push.hint {
        data["hint"] = h.as_str().into();
    }
    let mut message = serde_json::json!({"token": push.token, "data": data});
    if push.alert {
        message["android"] = serde_json::json!({"priority": "HIGH"});
    }
    serde_json::json!({ "message": message })
}

/// The FCM client.
pub struct Fcm {
    cfg: FcmConfig,
    http: reqwest::Client,
    clock: Clock,
    token: http::CachedToken,
}

impl Fcm {
    pub fn new(cfg: FcmConfig, clock: Clock) -> Result<Self, ConfigError> {
        let http = http::client("fcm", cfg.timeout, false)?;
        Ok(Self {
            cfg,
            http,
            clock,
            token: Default::default(),
        })
    }

    /// A valid access token: the cached one, or a new one from the token exchange.
    async fn access_token(&self) -> Result<Secret, SendError> {
        let mut cached = self.token.lock().await;
        let now = self.clock.now();
        if let Some((t, expires)) = cached.as_ref()
            && now + TimeDelta::seconds(RENEW_BEFORE_S) < *expires
        {
            return Ok(t.clone());
        }
        let auth = |category| SendError::Retry {
            category,
            after: None,
        };
        let assertion = self.cfg.assertion(now).map_err(|_| auth("auth_sign"))?;
        let form = super::form_encode(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("assertion", &assertion),
        ]);
        let resp = self
            .http
            .post(&self.cfg.token_uri)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(form)
            .send()
            .await
            .map_err(|e| http::transport(&e))?;
        if !resp.status().is_success() {
            return Err(match http::by_status(resp.status(), resp.headers(), now) {
                e @ SendError::Retry { .. } => e,
                _ => auth("auth_rejected"),
            });
        }
        let body = resp.bytes().await.map_err(|e| http::transport(&e))?;
        let t: TokenResponse =
            serde_json::from_slice(&body).map_err(|_| auth("auth_invalid_response"))?;
        let expires = now + TimeDelta::seconds(t.expires_in.clamp(0, 86_400));
        *cached = Some((t.access_token.clone(), expires));
        Ok(t.access_token)
    }

    async fn post(&self, push: &Push) -> Result<(), SendError> {
        let token = self.access_token().await?;
        let url = format!(
            "{}/v1/projects/{}/messages:send",
            self.cfg.base_url,
            kidplan_api::paths::encode_segment(&self.cfg.project_id)
        );
        let resp = self
            .http
            .post(url)
            .bearer_auth(token.expose())
            .json(&message(push))
            .send()
            .await
            .map_err(|e| http::transport(&e))?;
        let status = resp.status();
        if status.is_success() {
            return Ok(());
        }
        let err = http::by_status(status, resp.headers(), self.clock.now());
        if status.as_u16() == 401 {
            *self.token.lock().await = None;
            return Err(SendError::Retry {
                category: "auth_expired",
                after: None,
            });
        }
        let body = http::error_json(resp).await;
        if token_invalid(&body) {
            return Err(SendError::Unregistered);
        }
        Err(err)
    }
}

/// True when an FCM error says the registration token is no longer (or never was) valid.
fn token_invalid(body: &serde_json::Value) -> bool {
    let error = &body["error"];
    let codes: Vec<&str> = error["details"]
        .as_array()
        .map(|d| d.iter().filter_map(|x| x["errorCode"].as_str()).collect())
        .unwrap_or_default();
    codes.iter().any(|c| {
        matches!(
            *c,
            "UNREGISTERED" | "INVALID_ARGUMENT" | "SENDER_ID_MISMATCH"
        )
    }) || (codes.is_empty() && error["status"].as_str() == Some("INVALID_ARGUMENT"))
}

impl Fcm {
    /// Sends one push (see [`PushSender`]).
    pub fn send<'a>(&'a self, push: &'a Push) -> SendFuture<'a> {
        Box::pin(self.post(push))
    }
}

/// Routes pushes to FCM or APNs by the registration's provider; a provider without a
/// configuration goes to the outbox.
pub struct PushRouter {
    pub fcm: Option<Fcm>,
    pub apns: Option<super::apns::Apns>,
    pub outbox: super::OutboxSender,
}

impl PushSender for PushRouter {
    fn name(&self) -> &'static str {
        match (&self.fcm, &self.apns) {
            (Some(_), Some(_)) => "fcm+apns",
            (Some(_), None) => "fcm",
            (None, Some(_)) => "apns",
            (None, None) => "outbox",
        }
    }
    fn local(&self) -> bool {
        self.fcm.is_none() && self.apns.is_none()
    }
    fn send<'a>(&'a self, push: &'a Push) -> SendFuture<'a> {
        use kidplan_api::push::PushProvider;
        match (push.provider, &self.fcm, &self.apns) {
            (PushProvider::Fcm, Some(f), _) => f.send(push),
            (PushProvider::Apns, _, Some(a)) => a.send(push),
            _ => PushSender::send(&self.outbox, push),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_errors() {
        let unreg = serde_json::json!({"error": {"code": 404, "status": "NOT_FOUND", "details": [
            {"@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": "UNREGISTERED"}]}});
        assert!(token_invalid(&unreg));
        let bad = serde_json::json!({"error": {"code": 400, "status": "INVALID_ARGUMENT"}});
        assert!(token_invalid(&bad));
        let quota = serde_json::json!({"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", "details": [
            {"errorCode": "QUOTA_EXCEEDED"}]}});
        assert!(!token_invalid(&quota));
        assert!(!token_invalid(&serde_json::Value::Null));
    }
}
