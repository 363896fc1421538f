//! Push registration with the server (a service: network I/O and the secret store): one
//! registration per (install, account), keyed by a random registration id, not the token; a
//! random registration secret proves ownership when deleting it. Both live only in the secret
//! store (`kidplan.<account>.push`); the token and its state live in the account's encrypted
//! store (`local::registration`).
//!
//! - An unchanged token is not re-sent; a changed one updates the same registration in place
//!   (`PUT` on the same id); a registration that could not be sent stays pending and is sent by
//!   the next sync; sync also re-sends it weekly (heartbeat: the server drops registrations
//!   unseen for 60 days).
//! - Logout and account removal first move the id and secret to the install-level list
//!   (`kidplan.push.unregister`) with [`retire`], then delete them on the server
//!   ([`flush_unregisters`]); what fails (offline) is retried by the next sync of any account
//!   and on the next open. A device handed to another parent so never receives the previous
//!   parent's alerts.

use crate::auth::Auth;
use crate::client::{Client, HttpError};
use crate::error::{Error, Result};
use crate::local::registration::{self, Registration, heartbeat_due};
use crate::local::store::Store;
use crate::secrets::{SecretStore, keys};
use kidplan_api::push::{PushProvider, UpsertPushRegistration};
use kidplan_api::{Day, paths};
use reqwest::Method;
use serde::{Deserialize, Serialize};

/// Most registrations kept waiting for deletion (oldest dropped first).
const MAX_PENDING_UNREGISTER: usize = 32;

/// What registering an account's device needs: its id, store, session and the secret store.
pub struct Account<'a> {
    /// The device-local account id (names its secrets).
    pub id: &'a str,
    /// The account's database (the registration's state).
    pub store: &'a Store,
    /// The account's session.
    pub auth: &'a Auth,
    /// Where the registration id and secret live.
    pub secrets: &'a dyn SecretStore,
}

/// A registration id and its secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {
    /// The registration id (random; the server's key for it).
    pub id: String,
    /// The secret that proves ownership when deleting it.
    pub secret: String,
}

/// The account's registration id and secret, if it has them.
pub fn credentials(secrets: &dyn SecretStore, account: &str) -> Result<Option<Credentials>> {
    let Some(v) = secrets.get(keys::push_registration(account))? else {
        return Ok(None);
    };
    Ok(v.split_once(' ').and_then(|(id, secret)| {
        (!id.is_empty() && !secret.is_empty()).then(|| Credentials {
            id: id.to_owned(),
            secret: secret.to_owned(),
        })
    }))
}

fn random_hex(bytes: usize) -> String {
    let v: Vec<u8> = (0..bytes).map(|_| rand::random::<u8>()).collect();
    hex::encode(v)
}

fn ensure_credentials(secrets: &dyn SecretStore, account: &str) -> Result<Credentials> {
    if let Some(c) = credentials(secrets, account)? {
        return Ok(c);
    }
    let c = Credentials {
        id: random_hex(16),
        secret: random_hex(32),
    };
    secrets.set(
        keys::push_registration(account),
        format!("{} {}", c.id, c.secret),
    )?;
    Ok(c)
}

fn check_token(provider: PushProvider, token: &str) -> Result<()> {
    if provider == PushProvider::Unknown {
        return Err(Error::invalid("provider"));
    }
    if token.trim().is_empty() || token.len() > 4096 || token.chars().any(char::is_control) {
        return Err(Error::invalid("token"));
    }
    Ok(())
}

/// Stores the token and sends the registration when it changed (or is pending, or due for its
/// heartbeat). A send that fails for a transient reason (offline, server error) leaves it
/// pending for the next sync and is not an error; a token the server refuses is forgotten
/// and the error returned.
pub async fn set_token(account: &Account<'_>, provider: PushProvider, token: String) -> Result<()> {
    check_token(provider, &token)?;
    ensure_credentials(account.secrets, account.id)?;
    let today = Day::today();
    let unchanged = account.store.write(|tx| {
        let old = registration::load(tx)?;
        if let Some(o) = &old
            && o.provider == provider
            && o.token == token
            && !o.pending
            && !heartbeat_due(o, today)
        {
            return Ok(true);
        }
        registration::save(
            tx,
            &Registration {
                provider,
                token: token.clone(),
                pending: true,
                last_sent_day: old.and_then(|o| o.last_sent_day),
            },
        )?;
        Ok(false)
    })?;
    if unchanged {
        return Ok(());
    }
    match send(account).await {
        Ok(_) => Ok(()),
        Err(Error::Http(e)) if e.is_transient() && !e.is_unauthorized() => {
            tracing::info!(error = %e, "push registration kept for the next sync");
            Ok(())
        }
        Err(Error::Http(HttpError::Decode | HttpError::TooLarge)) => {
            tracing::info!("push registration kept for the next sync");
            Ok(())
        }
        Err(Error::Http(
            e @ HttpError::Status {
                status: 400..=403 | 405..=499,
                ..
            },
        )) if !e.is_unauthorized() => {
            account.store.write(|tx| registration::clear(tx))?;
            Err(Error::Http(e))
        }
        Err(e) => Err(e),
    }
}

/// Sends the stored registration (`PUT` on its id). Returns whether one was sent.
pub async fn send(account: &Account<'_>) -> Result<bool> {
    let Some(reg) = registration::load(&*account.store.conn()?)? else {
        return Ok(false);
    };
    let creds = ensure_credentials(account.secrets, account.id)?;
    let body = serde_json::to_string(&UpsertPushRegistration {
        provider: reg.provider,
        token: reg.token.clone(),
        secret: creds.secret.clone(),
    })?;
    let path = paths::fill(paths::PUSH_REGISTRATION, &[("id", &creds.id)]);
    let client = account.auth.client();
    account
        .auth
        .call(|t| {
            let (b, path) = (body.clone(), &path);
            async move {
                client
                    .send(Method::PUT, path, Some(&t), None, Some(b))
                    .await
            }
        })
        .await?;
    let today = Day::today();
    account.store.write(|tx| {
        // Only if the token was not changed meanwhile (then that one is still pending).
        if let Some(mut now) = registration::load(tx)?
            && now.token == reg.token
            && now.provider == reg.provider
        {
            now.pending = false;
            now.last_sent_day = Some(today);
            registration::save(tx, &now)?;
        }
        Ok(())
    })?;
    tracing::debug!("push registration sent");
    Ok(true)
}

/// Sync's part: sends a pending registration, or an unchanged one due for its heartbeat.
/// Best effort: failures are logged (by code) and retried on the next sync.
pub async fn maintain(account: &Account<'_>) {
    let due = match account.store.conn().and_then(|c| registration::load(&c)) {
        Ok(Some(r)) => r.pending || heartbeat_due(&r, Day::today()),
        Ok(None) => false,
        Err(_) => false,
    };
    if due && let Err(e) = send(account).await {
        tracing::info!(
            error = e.code(),
            "push registration not sent; retried later"
        );
    }
}

fn pending_list(secrets: &dyn SecretStore) -> Result<Vec<Credentials>> {
    Ok(secrets
        .get(keys::PUSH_UNREGISTER.to_owned())?
        .and_then(|v| serde_json::from_str::<Vec<Credentials>>(&v).ok())
        .unwrap_or_default())
}

fn save_pending_list(secrets: &dyn SecretStore, list: &[Credentials]) -> Result<()> {
    if list.is_empty() {
        return Ok(secrets.delete(keys::PUSH_UNREGISTER.to_owned())?);
    }
    let v = serde_json::to_string(list)?;
    Ok(secrets.set(keys::PUSH_UNREGISTER.to_owned(), v)?)
}

/// Moves an account's registration to the install-level list of registrations to delete on
/// the server, and forgets it for the account. Call before the account's secrets are wiped.
pub fn retire(secrets: &dyn SecretStore, account: &str) -> Result<()> {
    let Some(c) = credentials(secrets, account)? else {
        return Ok(());
    };
    let mut list = pending_list(secrets)?;
    if !list.contains(&c) {
        list.push(c);
    }
    let over = list.len().saturating_sub(MAX_PENDING_UNREGISTER);
    list.drain(..over);
    save_pending_list(secrets, &list)?;
    Ok(secrets.delete(keys::push_registration(account))?)
}

/// [`retire`], logging (not returning) a failure: for the paths that remove an account anyway.
pub fn retire_logged(secrets: &dyn SecretStore, account: &str) {
    if let Err(e) = retire(secrets, account) {
        tracing::warn!(
            error = e.code(),
            "push registration not queued for deletion"
        );
    }
}

/// The registrations still waiting to be deleted on the server.
pub fn pending_unregisters(secrets: &dyn SecretStore) -> usize {
    pending_list(secrets).map(|l| l.len()).unwrap_or(0)
}

/// Deletes the waiting registrations on the server (no session needed: the secret proves
/// ownership). A registration the server no longer has counts as deleted. Returns how many
/// are still waiting.
pub async fn flush_unregisters(client: &Client, secrets: &dyn SecretStore) -> Result<usize> {
    let list = pending_list(secrets)?;
    if list.is_empty() {
        return Ok(0);
    }
    let mut done = Vec::new();
    for c in &list {
        let path = paths::fill(paths::PUSH_REGISTRATION, &[("id", &c.id)]);
        match client.delete_push_registration(&path, &c.secret).await {
            Ok(()) | Err(HttpError::Status { status: 404, .. }) => done.push(c.clone()),
            Err(HttpError::Status { status: 400, .. }) => done.push(c.clone()),
            Err(e) => {
                tracing::info!(error = %e, "unregister deferred");
            }
        }
    }
    // Re-read: another account may have added one meanwhile.
    let mut now = pending_list(secrets)?;
    now.retain(|c| !done.contains(c));
    save_pending_list(secrets, &now)?;
    Ok(now.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::local::registration::{load, save};
    use crate::local::store;
    use crate::secrets::MemorySecretStore;

    fn store() -> (tempfile::TempDir, Store) {
        store::temp_store()
    }

    fn day(s: &str) -> Day {
        s.parse().expect("day")
    }

    #[test]
    fn registration_state_round_trips_and_heartbeat() {
        let (_d, s) = store();
        let c = s.conn().expect("conn");
        assert_eq!(load(&c).expect("load"), None);
        let r = Registration {
            provider: PushProvider::Fcm,
            token: "tok".into(),
            pending: false,
            last_sent_day: Some(day("2026-11-20")),
        };
        save(&c, &r).expect("save");
        assert_eq!(load(&c).expect("load"), Some(r.clone()));
        assert!(!heartbeat_due(&r, day("2026-11-26")));
        assert!(heartbeat_due(&r, day("2026-11-27")));
    }

    #[test]
    fn retire_moves_credentials_to_the_install_list() {
        let secrets = MemorySecretStore::new();
        let c = ensure_credentials(&*secrets, "acc").expect("creds");
        assert_eq!(c.id.len(), 32);
        assert_ne!(c.id, c.secret);
        assert_eq!(ensure_credentials(&*secrets, "acc").expect("same"), c);
        retire(&*secrets, "acc").expect("retire");
        assert_eq!(credentials(&*secrets, "acc").expect("none"), None);
        assert_eq!(pending_unregisters(&*secrets), 1);
        retire(&*secrets, "acc").expect("idempotent");
        assert_eq!(pending_unregisters(&*secrets), 1);
    }
}
