//! Sessions: login by one-time code, the access token (kept in memory and in the secret store
//! with its expiry), transparent refresh on 401 with one refresh in flight (concurrent calls
//! wait for it and reuse its result), and logout.
//!
//! A refresh the server rejects means the session was revoked (for example because a refresh
//! token was used twice, a sign of theft): [`Auth::revoked`] turns true and the orchestrator
//! wipes that account's local data. A service: it talks to the server and the secret store,
//! and knows nothing of the cache.

use crate::client::{Client, HttpError};
use crate::error::{Error, Result};
use crate::secrets::{SecretStore, keys};
use kidplan_api::auth::{LogoutRequest, RefreshRequest, RequestCode, Session, VerifyCode};
use kidplan_api::paths;
use reqwest::Method;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Refresh this long before the access token expires.
const EXPIRY_MARGIN_MS: i64 = 30_000;

#[derive(Clone)]
struct Access {
    token: String,
    expires_at_ms: i64,
}

impl Access {
    fn fresh(&self) -> bool {
        self.expires_at_ms - EXPIRY_MARGIN_MS > now_ms()
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// The session of one account.
pub struct Auth {
    account: String,
    secrets: Arc<dyn SecretStore>,
    client: Client,
    current: tokio::sync::Mutex<Option<Access>>,
    revoked: AtomicBool,
}

impl Auth {
    /// The session of `account` (its tokens in `secrets`), calling through `client`.
    pub fn new(account: &str, secrets: Arc<dyn SecretStore>, client: Client) -> Auth {
        Auth {
            account: account.to_owned(),
            secrets,
            client,
            current: tokio::sync::Mutex::new(None),
            revoked: AtomicBool::new(false),
        }
    }

    /// The client this session calls through.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// True once the server has rejected this session's refresh token.
    pub fn revoked(&self) -> bool {
        self.revoked.load(Ordering::SeqCst)
    }

    /// Keeps the tokens of a new session (secret store first, then memory).
    pub async fn adopt(&self, s: &Session) -> Result<()> {
        let access = self.persist(s)?;
        *self.current.lock().await = Some(access);
        self.revoked.store(false, Ordering::SeqCst);
        Ok(())
    }

    fn persist(&self, s: &Session) -> Result<Access> {
        let access = Access {
            token: s.access_token.clone(),
            expires_at_ms: now_ms().saturating_add(s.expires_in.clamp(0, 86_400 * 365) * 1000),
        };
        self.secrets
            .set(keys::refresh_token(&self.account), s.refresh_token.clone())?;
        self.secrets.set(
            keys::access_token(&self.account),
            format!("{} {}", access.expires_at_ms, access.token),
        )?;
        Ok(access)
    }

    fn stored_access(&self) -> Result<Option<Access>> {
        let Some(v) = self.secrets.get(keys::access_token(&self.account))? else {
            return Ok(None);
        };
        let mut it = v.splitn(2, ' ');
        let exp = it.next().and_then(|e| e.parse::<i64>().ok());
        let tok = it.next();
        Ok(match (exp, tok) {
            (Some(expires_at_ms), Some(t)) if !t.is_empty() => Some(Access {
                token: t.to_owned(),
                expires_at_ms,
            }),
            _ => None,
        })
    }

    /// A usable access token, refreshing when needed. `stale` is a token the server just
    /// refused: if another call already replaced it, the replacement is returned.
    async fn token(&self, stale: Option<&str>) -> Result<String> {
        let mut cur = self.current.lock().await;
        if cur.is_none() {
            *cur = self.stored_access()?;
        }
        if let Some(a) = cur.as_ref()
            && a.fresh()
            && Some(a.token.as_str()) != stale
        {
            return Ok(a.token.clone());
        }
        // Holding the lock: every other caller waits for this one refresh.
        let access = self.refresh().await?;
        let t = access.token.clone();
        *cur = Some(access);
        Ok(t)
    }

    async fn refresh(&self) -> Result<Access> {
        if self.revoked() {
            return Err(Error::SessionRevoked);
        }
        let refresh_token = self
            .secrets
            .get(keys::refresh_token(&self.account))?
            .ok_or(Error::NoSession)?;
        // Same idempotency key when a refresh is retried after a crash or a lost answer.
        let pending_key = keys::refresh_pending(&self.account);
        let idem = match self.secrets.get(pending_key.clone())? {
            Some(k) => k,
            None => {
                let k = uuid::Uuid::new_v4().to_string();
                self.secrets.set(pending_key.clone(), k.clone())?;
                k
            }
        };
        let body = serde_json::to_string(&RefreshRequest { refresh_token })?;
        let r: Result<Session, HttpError> = self
            .client
            .json(
                Method::POST,
                paths::AUTH_REFRESH,
                None,
                Some(&idem),
                Some(body),
            )
            .await;
        match r {
            Ok(s) => {
                let a = self.persist(&s)?;
                let _ = self.secrets.delete(pending_key);
                tracing::debug!("session refreshed");
                Ok(a)
            }
            Err(HttpError::Status { status, .. })
                if status == 400 || status == 401 || status == 403 =>
            {
                tracing::warn!(status, "refresh rejected; session revoked");
                let _ = self.secrets.delete(pending_key);
                self.revoked.store(true, Ordering::SeqCst);
                Err(Error::SessionRevoked)
            }
            Err(e) => Err(Error::Http(e)),
        }
    }

    /// Runs an authenticated call; on 401 refreshes once (shared with concurrent callers) and
    /// retries once.
    /// A failed call is `Error::Http` with the status and the server's error body.
    pub async fn call<T, F, Fut>(&self, f: F) -> Result<T>
    where
        F: Fn(String) -> Fut,
        Fut: Future<Output = Result<T, HttpError>>,
    {
        let token = self.token(None).await?;
        match f(token.clone()).await {
            Err(e) if e.is_unauthorized() => {
                let token = self.token(Some(&token)).await?;
                f(token).await.map_err(Error::Http)
            }
            r => r.map_err(Error::Http),
        }
    }

    /// Revokes the session on the server (best effort), then forgets the tokens.
    pub async fn logout(&self) -> Result<()> {
        let refresh = self.secrets.get(keys::refresh_token(&self.account))?;
        if let Some(refresh_token) = refresh {
            let body = serde_json::to_string(&LogoutRequest { refresh_token })?;
            let client = &self.client;
            let r = self
                .call(|t| {
                    let b = body.clone();
                    async move {
                        client
                            .send(Method::POST, paths::AUTH_LOGOUT, Some(&t), None, Some(b))
                            .await
                    }
                })
                .await;
            if let Err(e) = r {
                tracing::warn!(error = e.code(), "server logout failed");
            }
        }
        *self.current.lock().await = None;
        Ok(())
    }
}

/// `POST /v1/auth/code`.
pub async fn request_code(client: &Client, contact: &str) -> Result<()> {
    let contact = check_contact(contact)?;
    let body = serde_json::to_string(&RequestCode { contact })?;
    client
        .send(Method::POST, paths::AUTH_CODE, None, None, Some(body))
        .await?;
    Ok(())
}

/// `POST /v1/auth/token`: a wrong or expired code is `InvalidInput { field: "code" }`.
pub async fn verify_code(client: &Client, contact: &str, code: &str) -> Result<Session> {
    let contact = check_contact(contact)?;
    let code = code.trim();
    if code.is_empty() || code.len() > 32 || !code.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(Error::invalid("code"));
    }
    let body = serde_json::to_string(&VerifyCode {
        contact,
        code: code.to_owned(),
    })?;
    client
        .json(Method::POST, paths::AUTH_TOKEN, None, None, Some(body))
        .await
        .map_err(|e| match e {
            HttpError::Status {
                status: 400 | 401 | 403 | 404,
                ..
            } => Error::invalid("code"),
            e => Error::Http(e),
        })
}

fn check_contact(contact: &str) -> Result<String> {
    let c = contact.trim();
    if c.is_empty() || c.len() > 254 || c.chars().any(char::is_control) {
        return Err(Error::invalid("contact"));
    }
    Ok(c.to_owned())
}
