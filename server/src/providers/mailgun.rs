//! Mailgun (EU region): `POST {base}/v3/{domain}/messages`, HTTP basic auth `api:<key>`,
//! form fields `from`, `to`, `subject`, `text`. Only the recipient and the message go out.

use super::config::{ConfigError, Secret, Section};
use super::{Email, EmailSender, SendError, SendFuture, form_encode, http};
use crate::clock::Clock;

/// Mailgun's EU API.
pub const EU_BASE_URL: &str = "https://api.eu.mailgun.net";

/// The `[mailgun]` section.
#[derive(Clone, Debug)]
pub struct MailgunConfig {
    pub base_url: String,
    pub domain: String,
    pub from: String,
    pub api_key: Secret,
    pub timeout: std::time::Duration,
}

impl MailgunConfig {
    pub(super) fn from_section(s: &Section<'_>) -> Result<Self, ConfigError> {
        let domain = s.str("domain")?;
        if !domain
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        {
            return Err(ConfigError::new(s.setting("domain"), "not a domain name"));
        }
        Ok(Self {
            base_url: s.base_url(EU_BASE_URL)?,
            domain,
            from: s.str("from")?,
            api_key: s.secret("api_key")?,
            timeout: s.timeout()?,
        })
    }
}

/// The form body of a message.
pub fn form_body(from: &str, to: &str, subject: &str, text: &str) -> String {
    form_encode(&[
        ("from", from),
        ("to", to),
        ("subject", subject),
        ("text", text),
    ])
}

/// The Mailgun client.
pub struct Mailgun {
    cfg: MailgunConfig,
    http: reqwest::Client,
    clock: Clock,
}

impl Mailgun {
    pub fn new(cfg: MailgunConfig, clock: Clock) -> Result<Self, ConfigError> {
        let http = http::client("mailgun", cfg.timeout, false)?;
        Ok(Self { cfg, http, clock })
    }

    async fn post(&self, e: &Email) -> Result<(), SendError> {
        let url = format!("{}/v3/{}/messages", self.cfg.base_url, self.cfg.domain);
        let resp = self
            .http
            .post(url)
            .basic_auth("api", Some(self.cfg.api_key.expose()))
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(form_body(&self.cfg.from, &e.to, &e.subject, &e.text))
            .send()
            .await
            .map_err(|e| http::transport(&e))?;
        http::outcome(&resp, self.clock.now())
    }
}

impl EmailSender for Mailgun {
    fn name(&self) -> &'static str {
        "mailgun"
    }
    fn send<'a>(&'a self, email: &'a Email) -> SendFuture<'a> {
        Box::pin(self.post(email))
    }
}
