//! LinkMobility's SMS REST API: `POST {base}/sms/send`, HTTP basic auth with the account's
//! user name and password, JSON `{source, destination, userData, platformId,
//! platformPartnerId, useDeliveryReport}`. Only the recipient and the message go out.

use super::config::{ConfigError, Secret, Section};
use super::{SendError, SendFuture, Sms, SmsSender, http};
use crate::clock::Clock;

/// LinkMobility's European REST endpoint.
pub const DEFAULT_BASE_URL: &str = "https://n-eu.linkmobility.io";

/// The `[linkmobility]` section.
#[derive(Clone, Debug)]
pub struct LinkMobilityConfig {
    pub base_url: String,
    /// Sender name or number shown on the phone.
    pub source: String,
    pub platform_id: String,
    pub platform_partner_id: String,
    pub username: String,
    pub password: Secret,
    pub timeout: std::time::Duration,
}

impl LinkMobilityConfig {
    pub(super) fn from_section(s: &Section<'_>) -> Result<Self, ConfigError> {
        let source = s.str("source")?;
        if source.chars().count() > 11 && !source.starts_with('+') {
            return Err(ConfigError::new(
                s.setting("source"),
                "an alphanumeric sender has at most 11 characters",
            ));
        }
        Ok(Self {
            base_url: s.base_url(DEFAULT_BASE_URL)?,
            source,
            platform_id: s.str("platform_id")?,
            platform_partner_id: s.str("platform_partner_id")?,
            username: s.str("username")?,
            password: s.secret("password")?,
            timeout: s.timeout()?,
        })
    }
}

/// The JSON body of one SMS.
pub fn body(cfg: &LinkMobilityConfig, sms: &Sms) -> serde_json::Value {
    serde_json::json!({
        "source": cfg.source,
        "destination": sms.to,
        "userData": sms.text,
        "platformId": cfg.platform_id,
        "platformPartnerId": cfg.platform_partner_id,
        "useDeliveryReport": false,
    })
}

/// The LinkMobility client.
pub struct LinkMobility {
    cfg: LinkMobilityConfig,
    http: reqwest::Client,
    clock: Clock,
}

impl LinkMobility {
    pub fn new(cfg: LinkMobilityConfig, clock: Clock) -> Result<Self, ConfigError> {
        let http = http::client("linkmobility", cfg.timeout, false)?;
        Ok(Self { cfg, http, clock })
    }

    async fn post(&self, sms: &Sms) -> Result<(), SendError> {
        let resp = self
            .http
            .post(format!("{}/sms/send", self.cfg.base_url))
            .basic_auth(&self.cfg.username, Some(self.cfg.password.expose()))
            .json(&body(&self.cfg, sms))
            .send()
            .await
            .map_err(|e| http::transport(&e))?;
        http::outcome(&resp, self.clock.now())
    }
}

impl SmsSender for LinkMobility {
    fn name(&self) -> &'static str {
        "linkmobility"
    }
    fn send<'a>(&'a self, sms: &'a Sms) -> SendFuture<'a> {
        Box::pin(self.post(sms))
    }
}
