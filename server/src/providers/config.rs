//! The provider configuration (`serve --providers FILE`, TOML): which real providers are on,
//! where they are, and where their secrets are. Without a section, that channel goes to the
//! local outbox table.
//!
//! Secrets are never written in the file itself: each is named by `*_file` (a file holding
//! it, e.g. a mounted secret) or `*_env` (an environment variable). Every problem is one
//! [`ConfigError`] line naming the setting, never quoting a value.
//!
//! ```toml
//! [queue]                 # optional
//! max_attempts = 8
//! base_backoff_s = 30
//! max_backoff_s = 3600
//!
//! [mailgun]
//! domain = "mg.example.no"
//! from = "Kidplan <no-reply@mg.example.no>"
//! api_key_env = "MAILGUN_API_KEY"          # or api_key_file = "/run/secrets/mailgun"
//! # base_url = "https://api.eu.mailgun.net"  timeout_ms = 10000
//!
//! [linkmobility]
//! source = "Kidplan"
//! platform_id = "COMMON_API"
//! platform_partner_id = "1234"
//! username = "kidplan"
//! password_env = "LINKMOBILITY_PASSWORD"
//! # base_url = "https://n-eu.linkmobility.io"
//!
//! [fcm]
//! service_account_file = "/run/secrets/fcm-service-account.json"
//! # base_url = "https://fcm.googleapis.com"   token_uri = (from the key file)
//!
//! [apns]
//! key_file = "/run/secrets/AuthKey_ABC123DEFG.p8"
//! key_id = "ABC123DEFG"
//! team_id = "DEF123GHIJ"
//! topic = "no.kidplan.app"
//! # base_url = "https://api.push.apple.com"  (sandbox: https://api.sandbox.push.apple.com)
//! ```

use super::{apns, fcm, linkmobility, mailgun};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A secret value: never printed (`Debug` shows `<secret>`).
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<secret>")
    }
}

impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        <String as serde::Deserialize>::deserialize(d).map(Secret::new)
    }
}

/// A problem with the provider configuration: the setting and what is wrong, one line.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("provider configuration: {setting}: {problem}")]
pub struct ConfigError {
    /// `section.key`, or the file.
    pub setting: String,
    pub problem: String,
}

impl ConfigError {
    pub fn new(setting: impl Into<String>, problem: impl Into<String>) -> Self {
        Self {
            setting: setting.into(),
            problem: problem.into(),
        }
    }
}

/// Retries of the send queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries before a message is dead.
    pub max_attempts: u32,
    /// Wait after the first failure; doubled after each further one (with ±20 % jitter).
    pub base_backoff: Duration,
    /// The longest wait between tries.
    pub max_backoff: Duration,
    /// The longest `Retry-After` honoured.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            base_backoff: Duration::from_secs(30),
            max_backoff: Duration::from_secs(3600),
            max_retry_after: Duration::from_secs(86_400),
        }
    }
}

/// The parsed, checked configuration (keys already loaded and tried).
#[derive(Clone, Default)]
pub struct ProvidersConfig {
    pub queue: RetryPolicy,
    pub mailgun: Option<mailgun::MailgunConfig>,
    pub linkmobility: Option<linkmobility::LinkMobilityConfig>,
    pub fcm: Option<fcm::FcmConfig>,
    pub apns: Option<apns::ApnsConfig>,
}

impl std::fmt::Debug for ProvidersConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProvidersConfig")
            .field("queue", &self.queue)
            .field("mailgun", &self.mailgun.is_some())
            .field("linkmobility", &self.linkmobility.is_some())
            .field("fcm", &self.fcm.is_some())
            .field("apns", &self.apns.is_some())
            .finish()
    }
}

impl ProvidersConfig {
    /// Reads and checks a TOML file; relative `*_file` paths are relative to its directory.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let file = path.display().to_string();
        let text =
            std::fs::read_to_string(path).map_err(|_| ConfigError::new(&file, "cannot be read"))?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Self::parse(&text, &base, &|name| std::env::var(name).ok()).map_err(|e| {
            if e.setting.is_empty() {
                ConfigError::new(&file, e.problem)
            } else {
                e
            }
        })
    }

    /// Parses the TOML text; `env` reads environment variables (tests pass their own).
    pub fn parse(
        text: &str,
        base: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].lines().count().max(1));
            ConfigError::new(
                "",
                match line {
                    Some(l) => format!("not valid TOML (line {l})"),
                    None => "not valid TOML".to_owned(),
                },
            )
        })?;
        let mut cfg = ProvidersConfig::default();
        for (name, value) in &table {
            let s = Section::new(name, value, base, env)?;
            match name.as_str() {
                "queue" => cfg.queue = queue(&s)?,
                "mailgun" => cfg.mailgun = Some(mailgun::MailgunConfig::from_section(&s)?),
                "linkmobility" => {
                    cfg.linkmobility = Some(linkmobility::LinkMobilityConfig::from_section(&s)?)
                }
                "fcm" => cfg.fcm = Some(fcm::FcmConfig::from_section(&s)?),
                "apns" => cfg.apns = Some(apns::ApnsConfig::from_section(&s)?),
                _ => return Err(ConfigError::new(name, "unknown section")),
            }
            s.check_all_read()?;
        }
        Ok(cfg)
    }
}

/// The senders a configuration turns on; a channel without a section writes to the outbox.
pub struct Senders {
    pub email: std::sync::Arc<dyn super::EmailSender>,
    pub sms: std::sync::Arc<dyn super::SmsSender>,
    pub push: std::sync::Arc<dyn super::PushSender>,
}

impl ProvidersConfig {
    /// Builds the clients.
    pub fn build(
        &self,
        outbox: super::OutboxSender,
        clock: &crate::clock::Clock,
    ) -> Result<Senders, ConfigError> {
        use std::sync::Arc;
        let email: Arc<dyn super::EmailSender> = match &self.mailgun {
            Some(c) => Arc::new(mailgun::Mailgun::new(c.clone(), clock.clone())?),
            None => Arc::new(outbox.clone()),
        };
        let sms: Arc<dyn super::SmsSender> = match &self.linkmobility {
            Some(c) => Arc::new(linkmobility::LinkMobility::new(c.clone(), clock.clone())?),
            None => Arc::new(outbox.clone()),
        };
        let fcm = match &self.fcm {
            Some(c) => Some(fcm::Fcm::new(c.clone(), clock.clone())?),
            None => None,
        };
        let apns = match &self.apns {
            Some(c) => Some(apns::Apns::new(c.clone(), clock.clone())?),
            None => None,
        };
        Ok(Senders {
            email,
            sms,
            push: Arc::new(fcm::PushRouter { fcm, apns, outbox }),
        })
    }
}

fn queue(s: &Section<'_>) -> Result<RetryPolicy, ConfigError> {
    let d = RetryPolicy::default();
    let max_attempts = s.int_or("max_attempts", i64::from(d.max_attempts), 1, 50)?;
    let base = s.int_or("base_backoff_s", d.base_backoff.as_secs() as i64, 1, 86_400)?;
    let max = s.int_or(
        "max_backoff_s",
        d.max_backoff.as_secs() as i64,
        base,
        7 * 86_400,
    )?;
    Ok(RetryPolicy {
        max_attempts: max_attempts as u32,
        base_backoff: Duration::from_secs(base as u64),
        max_backoff: Duration::from_secs(max as u64),
        ..d
    })
}

/// One `[section]` of the file, read key by key so that each error names its key.
pub struct Section<'a> {
    name: &'a str,
    table: &'a toml::Table,
    base: &'a Path,
    env: &'a dyn Fn(&str) -> Option<String>,
    read: std::cell::RefCell<Vec<String>>,
}

impl<'a> Section<'a> {
    fn new(
        name: &'a str,
        value: &'a toml::Value,
        base: &'a Path,
        env: &'a dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let table = value
            .as_table()
            .ok_or_else(|| ConfigError::new(name, "must be a [section]"))?;
        Ok(Self {
            name,
            table,
            base,
            env,
            read: Default::default(),
        })
    }

    /// `section.key`.
    pub fn setting(&self, key: &str) -> String {
        format!("{}.{key}", self.name)
    }

    fn get(&self, key: &str) -> Option<&toml::Value> {
        self.read.borrow_mut().push(key.to_owned());
        self.table.get(key)
    }

    fn check_all_read(&self) -> Result<(), ConfigError> {
        let read = self.read.borrow();
        match self.table.keys().find(|k| !read.contains(k)) {
            Some(k) => Err(ConfigError::new(self.setting(k), "unknown setting")),
            None => Ok(()),
        }
    }

    /// An optional string.
    pub fn opt_str(&self, key: &str) -> Result<Option<String>, ConfigError> {
        match self.get(key) {
            None => Ok(None),
            Some(toml::Value::String(s)) if !s.trim().is_empty() => Ok(Some(s.trim().to_owned())),
            Some(_) => Err(ConfigError::new(
                self.setting(key),
                "must be a non-empty string",
            )),
        }
    }

    /// A required string.
    pub fn str(&self, key: &str) -> Result<String, ConfigError> {
        self.opt_str(key)?
            .ok_or_else(|| ConfigError::new(self.setting(key), "missing"))
    }

    /// An integer in `min..=max`, `default` when absent.
    pub fn int_or(&self, key: &str, default: i64, min: i64, max: i64) -> Result<i64, ConfigError> {
        match self.get(key) {
            None => Ok(default),
            Some(toml::Value::Integer(i)) if (min..=max).contains(i) => Ok(*i),
            Some(_) => Err(ConfigError::new(
                self.setting(key),
                format!("must be a whole number from {min} to {max}"),
            )),
        }
    }

    /// A provider timeout (`timeout_ms`, default 10 s).
    pub fn timeout(&self) -> Result<Duration, ConfigError> {
        Ok(Duration::from_millis(
            self.int_or("timeout_ms", 10_000, 50, 120_000)? as u64,
        ))
    }

    /// A base URL: `https://`, or `http://` on a loopback address (tests); no trailing `/`.
    pub fn base_url(&self, default: &str) -> Result<String, ConfigError> {
        let raw = self
            .opt_str("base_url")?
            .unwrap_or_else(|| default.to_owned());
        check_url(&raw).map_err(|p| ConfigError::new(self.setting("base_url"), p))?;
        Ok(raw.trim_end_matches('/').to_owned())
    }

    /// A path relative to the configuration file's directory.
    pub fn path(&self, key: &str) -> Result<PathBuf, ConfigError> {
        let p = PathBuf::from(self.str(key)?);
        Ok(if p.is_absolute() {
            p
        } else {
            self.base.join(p)
        })
    }

    /// The bytes of a required file named by `key`.
    pub fn file_bytes(&self, key: &str) -> Result<Vec<u8>, ConfigError> {
        std::fs::read(self.path(key)?)
            .map_err(|_| ConfigError::new(self.setting(key), "file cannot be read"))
    }

    /// A secret from `<key>_file` or `<key>_env` (exactly one of them).
    pub fn secret(&self, key: &str) -> Result<Secret, ConfigError> {
        let (file_key, env_key) = (format!("{key}_file"), format!("{key}_env"));
        let file = self.opt_str(&file_key)?;
        let var = self.opt_str(&env_key)?;
        let value = match (file, var) {
            (Some(_), Some(_)) => {
                return Err(ConfigError::new(
                    self.setting(key),
                    format!("give {file_key} or {env_key}, not both"),
                ));
            }
            (None, None) => {
                return Err(ConfigError::new(
                    self.setting(&file_key),
                    format!("missing (or {env_key})"),
                ));
            }
            (Some(_), None) => {
                let bytes = self.file_bytes(&file_key)?;
                String::from_utf8(bytes).map_err(|_| {
                    ConfigError::new(self.setting(&file_key), "file is not UTF-8 text")
                })?
            }
            (None, Some(name)) => (self.env)(&name).ok_or_else(|| {
                ConfigError::new(
                    self.setting(&env_key),
                    "the environment variable is not set",
                )
            })?,
        };
        let value = value.trim();
        if value.is_empty() {
            return Err(ConfigError::new(self.setting(key), "the secret is empty"));
        }
        Ok(Secret::new(value))
    }
}

/// `https://host[:port][/path]`, or `http://` to a loopback address.
pub fn check_url(raw: &str) -> Result<(), &'static str> {
    let url = reqwest::Url::parse(raw).map_err(|_| "not a URL")?;
    let host = url.host_str().ok_or("not a URL with a host")?;
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let loopback = host == "localhost"
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match url.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err("must be https:// (http:// only to a loopback address)"),
    }
    .and_then(|_| {
        if url.query().is_some() || !url.username().is_empty() || url.password().is_some() {
            Err("must not carry a query or credentials")
        } else {
            Ok(())
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<ProvidersConfig, ConfigError> {
        ProvidersConfig::parse(text, Path::new("/nonexistent"), &|n| {
            (n == "MG_KEY").then(|| "key-123".to_owned())
        })
    }

    #[test]
    fn errors_name_the_setting_and_never_the_value() {
        let e = parse("[mailgun]\ndomain = \"mg.example.no\"\nfrom = \"K <a@b.no>\"\n")
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            e.as_deref(),
            Some("provider configuration: mailgun.api_key_file: missing (or api_key_env)")
        );
        let e = parse("[mailgun]\ndomain = \"d.no\"\nfrom = \"f\"\napi_key_env = \"NOPE\"\n")
            .err()
            .map(|e| e.setting);
        assert_eq!(e.as_deref(), Some("mailgun.api_key_env"));
        let e = parse("[mailgun]\ndomain = \"d.no\"\nfrom = \"f\"\napi_key_env = \"MG_KEY\"\napi_kye = \"sekrit-value\"\n")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert_eq!(
            e,
            "provider configuration: mailgun.api_kye: unknown setting"
        );
        let e = parse("[mailgun]\ndomain = \"sekrit-value\nfrom")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            e.contains("not valid TOML (line") && !e.contains("sekrit"),
            "{e}"
        );
        let e = parse("[mailgun]\ndomain = \"d.no\"\nfrom = \"f\"\napi_key_env = \"MG_KEY\"\nbase_url = \"http://api.example.net\"\n")
            .err()
            .map(|e| e.setting);
        assert_eq!(e.as_deref(), Some("mailgun.base_url"));
        let ok = parse("[mailgun]\ndomain = \"d.no\"\nfrom = \"f\"\napi_key_env = \"MG_KEY\"\n[queue]\nmax_attempts = 3\n")
            .expect("valid");
        assert_eq!(ok.queue.max_attempts, 3);
        assert!(format!("{ok:?}").find("key-123").is_none());
        assert_eq!(format!("{:?}", Secret::new("key-123")), "<secret>");
    }

    #[test]
    fn urls_are_https_or_loopback() {
        assert!(check_url("https://api.eu.mailgun.net").is_ok());
        assert!(check_url("http://127.0.0.1:4000").is_ok());
        assert!(check_url("http://[::1]:4000/x").is_ok());
        assert!(check_url("http://10.0.0.1").is_err());
        assert!(check_url("https://u:p@h.no").is_err());
        assert!(check_url("ftp://h.no").is_err());
    }
}
