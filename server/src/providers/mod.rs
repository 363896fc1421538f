//! The outside services the server hands messages to: e-mail (Mailgun), SMS (LinkMobility) and
//! push (FCM HTTP v1, APNs). Each is a trait ([`EmailSender`], [`SmsSender`], [`PushSender`]);
//! the default implementation ([`OutboxSender`]) writes the exact provider request to an
//! outbox table that the demo and the tests read, and the real clients ([`mailgun`],
//! [`linkmobility`], [`fcm`], [`apns`]) are turned on by configuration ([`config`]). Messages
//! reach them through the durable send queue ([`crate::send_queue`]). Only the recipient and
//! the message text go to an e-mail or SMS provider; a push carries no personal data.

pub mod apns;
pub mod config;
pub mod fcm;
mod http;
pub mod linkmobility;
pub mod mailgun;

use crate::db::Db;
use kidplan_api::push::{PushKind, PushProvider};
use rusqlite::params;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// An e-mail to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email {
    pub to: String,
    pub subject: String,
    pub text: String,
}

/// An SMS to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sms {
    /// `+` and digits.
    pub to: String,
    pub text: String,
}

/// A content-free push to one device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Push {
    pub provider: PushProvider,
    pub token: String,
    pub kind: PushKind,
    /// `<entity>/<id>`: random ids only.
    pub hint: Option<String>,
    /// Shown to the user even when the app is not running (urgent alerts, reminders): an APNs
    /// `alert` push with `mutable-content` (the app's extension writes the text) and a
    /// high-priority FCM message. Otherwise a background push.
    pub alert: bool,
}

/// Why a provider did not take a message. Carries categories only: never the provider's text,
/// which may quote the recipient, the message or a credential.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Try again later (`after`: the provider's `Retry-After`).
    #[error("provider unavailable ({category}); retry later")]
    Retry {
        category: &'static str,
        after: Option<Duration>,
    },
    /// The push token is no longer valid: the registration is removed.
    #[error("push token no longer valid")]
    Unregistered,
    /// The provider refused the message for good.
    #[error("provider rejected the message ({category})")]
    Rejected { category: &'static str },
}

impl SendError {
    /// The kind of failure, for logs and the staff view of the queue.
    pub fn category(&self) -> &'static str {
        match self {
            SendError::Retry { category, .. } | SendError::Rejected { category } => category,
            SendError::Unregistered => "unregistered",
        }
    }
}

/// The future a sender returns.
pub type SendFuture<'a> = Pin<Box<dyn Future<Output = Result<(), SendError>> + Send + 'a>>;

/// Sends e-mail (login codes and notices).
pub trait EmailSender: Send + Sync {
    /// The provider's name (`"mailgun"`, `"outbox"`).
    fn name(&self) -> &'static str;
    /// True for the local outbox table: delivered in the request that queued it.
    fn local(&self) -> bool {
        false
    }
    fn send<'a>(&'a self, email: &'a Email) -> SendFuture<'a>;
}

/// Sends SMS (login codes, notices, urgent broadcasts).
pub trait SmsSender: Send + Sync {
    /// The provider's name (`"linkmobility"`, `"outbox"`).
    fn name(&self) -> &'static str;
    /// True for the local outbox table: delivered in the request that queued it.
    fn local(&self) -> bool {
        false
    }
    fn send<'a>(&'a self, sms: &'a Sms) -> SendFuture<'a>;
}

/// Sends content-free pushes.
pub trait PushSender: Send + Sync {
    /// The provider's name (`"fcm+apns"`, `"outbox"`).
    fn name(&self) -> &'static str;
    /// True for the local outbox table: delivered in the request that queued it.
    fn local(&self) -> bool {
        false
    }
    fn send<'a>(&'a self, push: &'a Push) -> SendFuture<'a>;
}

/// A request ready for a provider, as the local outbox records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderRequest {
    /// `"mailgun"`, `"linkmobility"`, `"fcm"` or `"apns"`.
    pub provider: &'static str,
    /// Where the provider would be called.
    pub url: &'static str,
    pub content_type: &'static str,
    /// The recipient (email address, phone number or push token).
    pub recipient: String,
    /// The exact request body.
    pub body: Vec<u8>,
}

/// Sender of the outbox's Mailgun requests.
const OUTBOX_FROM: &str = "Kidplan <no-reply@kidplan.example>";

/// The Mailgun "send message" request: form fields `from`, `to`, `subject`, `text`.
pub fn mailgun_request(to: &str, subject: &str, text: &str) -> ProviderRequest {
    ProviderRequest {
        provider: "mailgun",
        url: "https://api.eu.mailgun.net/v3/kidplan.example/messages",
        content_type: "application/x-www-form-urlencoded",
        recipient: to.to_owned(),
        body: mailgun::form_body(OUTBOX_FROM, to, subject, text).into_bytes(),
    }
}

/// The LinkMobility SMS REST request: `source`, `destination`, `userData`.
pub fn linkmobility_request(to: &str, text: &str) -> ProviderRequest {
    let body = serde_json::json!({"source": "Kidplan", "destination": to, "userData": text});
    ProviderRequest {
        provider: "linkmobility",
        url: "https://n-eu.linkmobility.io/sms/send",
        content_type: "application/json",
        recipient: to.to_owned(),
        body: body.to_string().into_bytes(),
    }
}

/// The push request for a registration: data only, no notification text, no personal data.
pub fn push_request(push: &Push) -> ProviderRequest {
    let (name, url, body) = match push.provider {
        PushProvider::Apns => (
            "apns",
            "https://api.push.apple.com/3/device",
            apns::payload(push),
        ),
        _ => (
            "fcm",
            "https://fcm.googleapis.com/v1/projects/kidplan/messages:send",
            fcm::message(push),
        ),
    };
    ProviderRequest {
        provider: name,
        url,
        content_type: "application/json",
        recipient: push.token.clone(),
        body: body.to_string().into_bytes(),
    }
}

/// The wire name of a push kind (`"sync"`, `"reminder"`).
pub fn push_kind_str(kind: PushKind) -> &'static str {
    match kind {
        PushKind::Reminder => "reminder",
        _ => "sync",
    }
}

/// `application/x-www-form-urlencoded`.
pub fn form_encode(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", form_escape(k), form_escape(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn form_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b' ' => out.push('+'),
            b if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'*') => {
                out.push(b as char)
            }
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A row of the email/SMS outbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxMessage {
    /// `"mailgun"` or `"linkmobility"`.
    pub provider: String,
    pub recipient: String,
    /// The exact request body that would be sent to the provider.
    pub body: String,
}

/// A row of the push outbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedPush {
    /// `"fcm"` or `"apns"`.
    pub provider: String,
    pub token: String,
    /// The exact JSON payload bytes.
    pub payload: Vec<u8>,
}

/// The default sender of all three kinds: writes the exact provider request to the outbox
/// tables (`mail_outbox`, `push_outbox`) instead of sending it.
#[derive(Clone)]
pub struct OutboxSender {
    pub db: Db,
    pub clock: crate::clock::Clock,
}

impl OutboxSender {
    fn mail(&self, r: &ProviderRequest) -> Result<(), SendError> {
        self.db
            .lock()
            .execute(
                "INSERT INTO mail_outbox (provider, recipient, body, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![
                    r.provider,
                    r.recipient,
                    String::from_utf8_lossy(&r.body),
                    self.clock.now_ms()
                ],
            )
            .map(|_| ())
            .map_err(|_| SendError::Retry {
                category: "outbox",
                after: None,
            })
    }
}

impl EmailSender for OutboxSender {
    fn name(&self) -> &'static str {
        "outbox"
    }
    fn local(&self) -> bool {
        true
    }
    fn send<'a>(&'a self, e: &'a Email) -> SendFuture<'a> {
        let r = mailgun_request(&e.to, &e.subject, &e.text);
        Box::pin(async move { self.mail(&r) })
    }
}

impl SmsSender for OutboxSender {
    fn name(&self) -> &'static str {
        "outbox"
    }
    fn local(&self) -> bool {
        true
    }
    fn send<'a>(&'a self, m: &'a Sms) -> SendFuture<'a> {
        let r = linkmobility_request(&m.to, &m.text);
        Box::pin(async move { self.mail(&r) })
    }
}

impl PushSender for OutboxSender {
    fn name(&self) -> &'static str {
        "outbox"
    }
    fn local(&self) -> bool {
        true
    }
    fn send<'a>(&'a self, p: &'a Push) -> SendFuture<'a> {
        let r = push_request(p);
        Box::pin(async move {
            self.db
                .lock()
                .execute(
                    "INSERT INTO push_outbox (provider, token, payload, created_at) VALUES (?1, ?2, ?3, ?4)",
                    params![r.provider, r.recipient, r.body, self.clock.now_ms()],
                )
                .map(|_| ())
                .map_err(|_| SendError::Retry {
                    category: "outbox",
                    after: None,
                })
        })
    }
}

/// Rows of the email/SMS outbox, oldest first.
pub fn sent_messages(db: &Db) -> Vec<OutboxMessage> {
    let conn = db.lock();
    let read = || -> rusqlite::Result<Vec<OutboxMessage>> {
        let mut stmt =
            conn.prepare("SELECT provider, recipient, body FROM mail_outbox ORDER BY id")?;
        let rows = stmt.query_map([], |r| {
            Ok(OutboxMessage {
                provider: r.get(0)?,
                recipient: r.get(1)?,
                body: r.get(2)?,
            })
        })?;
        rows.collect()
    };
    read().unwrap_or_default()
}

/// Rows of the push outbox, oldest first.
pub fn sent_pushes(db: &Db) -> Vec<RecordedPush> {
    let conn = db.lock();
    let read = || -> rusqlite::Result<Vec<RecordedPush>> {
        let mut stmt =
            conn.prepare("SELECT provider, token, payload FROM push_outbox ORDER BY id")?;
        let rows = stmt.query_map([], |r| {
            Ok(RecordedPush {
                provider: r.get(0)?,
                token: r.get(1)?,
                payload: r.get(2)?,
            })
        })?;
        rows.collect()
    };
    read().unwrap_or_default()
}

/// The message text inside a provider request body.
pub fn message_text(m: &OutboxMessage) -> Option<String> {
    match m.provider.as_str() {
        "linkmobility" => serde_json::from_str::<serde_json::Value>(&m.body)
            .ok()?
            .get("userData")?
            .as_str()
            .map(str::to_owned),
        _ => m
            .body
            .split('&')
            .find_map(|kv| kv.strip_prefix("text="))
            .map(form_unescape),
    }
}

fn form_unescape(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hexv = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hexv {
                    Some(v) => {
                        out.push(v);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The first run of exactly six digits in a text (the login code).
pub fn find_code(text: &str) -> Option<String> {
    text.split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == kidplan_api::auth::LOGIN_CODE_DIGITS)
        .map(str::to_owned)
}

/// The kind of a provider failure, for logs. The error's text is never logged: a provider's
/// error may quote its URL, the recipient or the message.
pub fn error_category(e: &anyhow::Error) -> &'static str {
    use std::io::ErrorKind;
    for cause in e.chain() {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            return match io.kind() {
                ErrorKind::TimedOut => "timeout",
                ErrorKind::ConnectionRefused
                | ErrorKind::ConnectionReset
                | ErrorKind::ConnectionAborted
                | ErrorKind::NotConnected => "connection",
                _ => "io",
            };
        }
        if cause.downcast_ref::<rusqlite::Error>().is_some() {
            return "outbox";
        }
    }
    "provider"
}

/// Logs that a request was not handed to `provider`: its name and the error category only.
pub fn log_failure(provider: &str, e: &anyhow::Error) {
    tracing::warn!(
        provider,
        category = error_category(e),
        "provider request failed"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_failures_log_name_and_category_never_the_error_text() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("log");
        let file = std::fs::File::create(&log).expect("log file");
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(std::sync::Mutex::new(file))
            .finish();
        let secret = "https://api.example.net/v3/send?to=leak.me@example.org";
        let timeout = anyhow::Error::new(std::io::Error::new(std::io::ErrorKind::TimedOut, secret))
            .context(format!("POST {secret}"));
        tracing::subscriber::with_default(subscriber, || {
            log_failure("mailgun", &anyhow::anyhow!("400 from {secret}"));
            log_failure("fcm", &timeout);
        });
        let text = std::fs::read_to_string(&log).expect("log");
        assert!(
            text.contains("provider=\"mailgun\" category=\"provider\""),
            "{text}"
        );
        assert!(
            text.contains("provider=\"fcm\" category=\"timeout\""),
            "{text}"
        );
        assert!(
            !text.contains("leak.me") && !text.contains("api.example.net"),
            "{text}"
        );
    }

    #[test]
    fn mailgun_body_round_trips_text() {
        let r = mailgun_request(
            "a.b@example.org",
            "Code",
            "Your code is 123456. Bye & thanks",
        );
        let m = OutboxMessage {
            provider: r.provider.into(),
            recipient: r.recipient.clone(),
            body: String::from_utf8_lossy(&r.body).into_owned(),
        };
        assert!(m.body.contains("to=a.b%40example.org"));
        let text = message_text(&m).unwrap_or_default();
        assert_eq!(text, "Your code is 123456. Bye & thanks");
        assert_eq!(find_code(&text).as_deref(), Some("123456"));
    }

    #[test]
    fn sms_and_push_bodies_have_the_provider_format() {
        let r = linkmobility_request("+4791234567", "code 654321");
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap_or_default();
        assert_eq!(v["destination"], "+4791234567");
        assert_eq!(v["userData"], "code 654321");
        let p = push_request(&Push {
            provider: PushProvider::Fcm,
            token: "tok".into(),
            kind: PushKind::Sync,
            hint: Some("absence/x".into()),
            alert: false,
        });
        let v: serde_json::Value = serde_json::from_slice(&p.body).unwrap_or_default();
        assert_eq!(v["message"]["data"]["kind"], "sync");
        assert_eq!(v["message"]["data"]["v"], "1");
        assert!(v["message"].get("notification").is_none());
    }
}
