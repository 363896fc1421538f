//! Accounts on this device: the registry file (`<data_dir>/accounts.json`, no secrets and no
//! contact details), the stable [`AccountId`], and [`AccountCtx`], everything the core holds
//! open for one account (its database, session, and locks); and the account lifecycle behind
//! the facade: login, switching, logout, removal, resetting a cache and wiping the device.

use crate::auth::Auth;
use crate::client::Client;
use crate::error::{KidplanError, Result};
use crate::observers::Collection;
use crate::runtime::{Inner, lock};
use crate::secrets::{SecretStore, keys};
use crate::store::{self, Store};
use crate::{auth, push};
use kidplan_api::KindergartenId;
use kidplan_api::auth::{Role, Session};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A device-local account id: a hash of the server URL, role and person id (so logging in
/// again to the same person finds the same account), safe as a directory name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AccountId(pub String);

#[cfg(feature = "uniffi")]
uniffi::custom_newtype!(AccountId, String);

impl AccountId {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id for a session on a server.
    pub fn for_session(server_url: &str, s: &Session) -> AccountId {
        let mut h = Sha256::new();
        h.update(server_url.as_bytes());
        h.update([0]);
        h.update(format!("{:?}", s.role).as_bytes());
        h.update([0]);
        h.update(s.person_id.as_bytes());
        AccountId(hex::encode(&h.finalize()[..16]))
    }

    /// Whether this looks like an id this core made (32 lowercase hex): never a path trick.
    pub fn is_valid(&self) -> bool {
        self.0.len() == 32
            && self
                .0
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    }
}

impl std::fmt::Display for AccountId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// An account (a guardian in one kindergarten) on this device.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Account {
    pub id: AccountId,
    pub role: Role,
    /// The guardian's (or staff member's) id on the server.
    pub person_id: String,
    pub kindergarten_id: KindergartenId,
    pub kindergarten_name: String,
}

impl Account {
    pub fn from_session(server_url: &str, s: &Session) -> Account {
        Account {
            id: AccountId::for_session(server_url, s),
            role: s.role,
            person_id: s.person_id.clone(),
            kindergarten_id: s.kindergarten_id.clone(),
            kindergarten_name: s.kindergarten_name.clone(),
        }
    }
}

/// The registry file's content.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Registry {
    pub accounts: Vec<Account>,
    pub active: Option<AccountId>,
}

impl Registry {
    fn path(data_dir: &Path) -> PathBuf {
        data_dir.join("accounts.json")
    }

    /// Loads the registry; a missing file is empty, an unreadable one is logged and empty
    /// (accounts come back on the next login, with their database, as ids are stable).
    pub fn load(data_dir: &Path) -> Registry {
        match std::fs::read(Self::path(data_dir)) {
            Ok(b) => match serde_json::from_slice::<Registry>(&b) {
                Ok(mut r) => {
                    r.accounts.retain(|a| a.id.is_valid());
                    if r.active
                        .as_ref()
                        .is_some_and(|id| !r.accounts.iter().any(|a| &a.id == id))
                    {
                        r.active = None;
                    }
                    r
                }
                Err(_) => {
                    tracing::warn!("account registry unreadable; starting empty");
                    Registry::default()
                }
            },
            Err(_) => Registry::default(),
        }
    }

    /// Saves atomically (temp file + rename).
    pub fn save(&self, data_dir: &Path) -> Result<()> {
        std::fs::create_dir_all(data_dir)?;
        let bytes = serde_json::to_vec_pretty(self).map_err(|_| KidplanError::Internal)?;
        let tmp = data_dir.join("accounts.json.tmp");
        std::fs::write(&tmp, bytes)?;
        std::fs::rename(&tmp, Self::path(data_dir))?;
        Ok(())
    }

    pub fn get(&self, id: &AccountId) -> Option<&Account> {
        self.accounts.iter().find(|a| &a.id == id)
    }

    /// Adds or replaces an account.
    pub fn upsert(&mut self, a: Account) {
        self.accounts.retain(|x| x.id != a.id);
        self.accounts.push(a);
    }

    pub fn remove(&mut self, id: &AccountId) {
        self.accounts.retain(|x| &x.id != id);
        if self.active.as_ref() == Some(id) {
            self.active = self.accounts.first().map(|a| a.id.clone());
        }
    }
}

/// Everything open for one account.
pub struct AccountCtx {
    pub account: Account,
    pub dir: PathBuf,
    pub store: Store,
    pub auth: Auth,
    /// Held while the outbox is being sent (sync and background sender share it).
    pub flush_lock: tokio::sync::Mutex<()>,
    /// Held while sync pages are pulled.
    pub sync_lock: tokio::sync::Mutex<()>,
    /// Wakes the background sender.
    pub wake: tokio::sync::Notify,
}

impl AccountCtx {
    /// Opens the account's database (creating its key on first use).
    pub fn open(
        data_dir: &Path,
        account: Account,
        secrets: Arc<dyn SecretStore>,
        client: Client,
    ) -> Result<AccountCtx> {
        let id = account.id.as_str().to_owned();
        if !account.id.is_valid() {
            return Err(KidplanError::Internal);
        }
        let dir = store::account_dir(data_dir, &id);
        let key = match secrets.get(keys::db_key(&id))? {
            Some(k) => k,
            None => {
                // A database without its key can never be read again: start clean.
                store::remove_db_files(&store::db_path(data_dir, &id))?;
                let k = store::new_key();
                secrets.set(keys::db_key(&id), k.clone())?;
                k
            }
        };
        let store = Store::open(&store::db_path(data_dir, &id), &key)?;
        std::fs::create_dir_all(dir.join("files"))?;
        Ok(AccountCtx {
            auth: Auth::new(&id, secrets, client),
            account,
            dir,
            store,
            flush_lock: tokio::sync::Mutex::new(()),
            sync_lock: tokio::sync::Mutex::new(()),
            wake: tokio::sync::Notify::new(),
        })
    }

    /// The account's file cache directory.
    pub fn files_dir(&self) -> PathBuf {
        self.dir.join("files")
    }
}

/// Removes an account's local data: its directory (database, WAL, files) and its secrets.
/// Deleting the key first makes any leftover copy of the file unreadable.
pub fn wipe(data_dir: &Path, id: &AccountId, secrets: &dyn SecretStore) -> Result<()> {
    if !id.is_valid() {
        return Err(KidplanError::Internal);
    }
    let mut first_err = None;
    for k in keys::all(id.as_str()) {
        if let Err(e) = secrets.delete(k) {
            first_err.get_or_insert(e);
        }
    }
    let dir = store::account_dir(data_dir, id.as_str());
    if let Err(e) = store::remove_db_files(&store::db_path(data_dir, id.as_str())) {
        first_err.get_or_insert(e);
    }
    match std::fs::remove_dir_all(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            first_err.get_or_insert(e.into());
        }
    }
    match first_err {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

impl Inner {
    /// The accounts on this device.
    pub(crate) fn accounts(&self) -> Vec<Account> {
        lock(&self.registry)
            .map(|r| r.accounts.clone())
            .unwrap_or_default()
    }

    /// The account reads and actions apply to.
    pub(crate) fn active_account(&self) -> Option<Account> {
        let r = lock(&self.registry).ok()?;
        r.active.as_ref().and_then(|id| r.get(id).cloned())
    }

    /// Makes another account of this device the active one.
    pub(crate) fn switch_account(&self, id: AccountId) -> Result<()> {
        {
            let mut r = lock(&self.registry)?;
            if r.get(&id).is_none() {
                return Err(KidplanError::NotFound);
            }
            r.active = Some(id);
            r.save(&self.data_dir)?;
        }
        self.observers.notify(Collection::ALL.to_vec());
        Ok(())
    }

    /// Logs in with the code; the account becomes the active one.
    pub(crate) async fn login(self: &Arc<Self>, contact: &str, code: &str) -> Result<Account> {
        let session = auth::verify_code(&self.client, contact, code).await?;
        let account = Account::from_session(&self.config.server_url, &session);
        // A previous context of the same account has stale tokens in memory: close it.
        self.close_account(&account.id)?;
        Auth::new(
            account.id.as_str(),
            self.secrets.clone(),
            self.client.clone(),
        )
        .adopt(&session)
        .await?;
        {
            let mut r = lock(&self.registry)?;
            r.upsert(account.clone());
            r.active = Some(account.id.clone());
            r.save(&self.data_dir)?;
        }
        // Open the cache now; a corrupt one is reported by the reads (and reset by the shell).
        if let Err(e) = self.ctx(&account.id) {
            tracing::warn!(error = e.code(), "account cache did not open");
        }
        self.observers.notify(Collection::ALL.to_vec());
        Ok(account)
    }

    /// Logs the active account out: unregisters push, revokes the session on the server (best
    /// effort), then removes the account.
    pub(crate) async fn logout(self: &Arc<Self>) -> Result<()> {
        let Some(ctx) = self.active_ctx()? else {
            return Ok(());
        };
        // Unregister push first, so the next user of this device gets none of this
        // account's alerts; offline, a later sync or open finishes it.
        let id = ctx.account.id.clone();
        push::retire_logged(&*self.secrets, &id);
        let _ = self.flush_unregisters().await;
        ctx.auth.logout().await?;
        self.remove_account(&id)
    }

    /// Stops an account's sender and closes its database (the file stays).
    pub(crate) fn close_account(&self, id: &AccountId) -> Result<()> {
        if let Some(h) = lock(&self.senders)?.remove(id) {
            h.abort();
        }
        lock(&self.open)?.remove(id);
        Ok(())
    }

    /// Removes an account: closes it, queues its push registration for deletion on the server,
    /// deletes its data and secrets, forgets it.
    pub(crate) fn remove_account(&self, id: &AccountId) -> Result<()> {
        self.close_account(id)?;
        push::retire_logged(&*self.secrets, id);
        let wiped = wipe(&self.data_dir, id, &*self.secrets);
        {
            let mut r = lock(&self.registry)?;
            r.remove(id);
            r.save(&self.data_dir)?;
        }
        self.observers.notify(Collection::ALL.to_vec());
        wiped
    }

    /// Starts the active account's cache afresh: deletes the database, its key and files,
    /// keeps the session.
    pub(crate) fn reset_local_cache(self: &Arc<Self>) -> Result<()> {
        let account = self.active_account().ok_or(KidplanError::SessionExpired)?;
        self.close_account(&account.id)?;
        let id = account.id.as_str();
        store::remove_db_files(&store::db_path(&self.data_dir, id))?;
        let files = store::account_dir(&self.data_dir, id).join("files");
        match std::fs::remove_dir_all(&files) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
        self.secrets.delete(keys::db_key(id))?;
        self.active_ctx()?;
        self.observers.notify(Collection::ALL.to_vec());
        Ok(())
    }

    /// Removes every account's data and secrets from this device, and the telemetry counters.
    pub(crate) fn wipe_local_data(&self) -> Result<()> {
        self.telemetry.wipe();
        let ids: Vec<AccountId> = lock(&self.registry)?
            .accounts
            .iter()
            .map(|a| a.id.clone())
            .collect();
        for id in ids {
            self.remove_account(&id)?;
        }
        // Leftover directories of accounts the registry forgot.
        if let Ok(rd) = std::fs::read_dir(self.data_dir.join("accounts")) {
            for e in rd.flatten() {
                let id = AccountId(e.file_name().to_string_lossy().into_owned());
                if id.is_valid() {
                    push::retire_logged(&*self.secrets, &id);
                    wipe(&self.data_dir, &id, &*self.secrets)?;
                }
            }
        }
        Ok(())
    }
}
