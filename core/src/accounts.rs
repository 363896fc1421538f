//! Accounts on this device: the registry file (`<data_dir>/accounts.json`, no secrets and no
//! contact details), the stable [`AccountId`], [`AccountCtx`] (everything the core holds open
//! for one account: its database, session and lock), and [`wipe`], which removes an account's
//! data and secrets. The lifecycle (login, switching, logout) is the orchestrator's
//! (`runtime::session`).

use crate::auth::Auth;
use crate::client::Client;
use crate::error::{Error, Result};
use crate::local::store::{self, Store};
use crate::secrets::{SecretStore, keys};
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
    /// The id as a string.
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
    /// The device-local id.
    pub id: AccountId,
    /// Guardian (or staff).
    pub role: Role,
    /// The guardian's (or staff member's) id on the server.
    pub person_id: String,
    /// The kindergarten the account belongs to.
    pub kindergarten_id: KindergartenId,
    /// The kindergarten's name, for an account switcher.
    pub kindergarten_name: String,
}

impl Account {
    /// The account a session on `server_url` logs into.
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
    /// Every account on the device.
    pub accounts: Vec<Account>,
    /// The account reads and actions apply to.
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
        crate::private_fs::create_dir(data_dir)?;
        let bytes = serde_json::to_vec_pretty(self)?;
        crate::private_fs::write_atomic(&Self::path(data_dir), &bytes)?;
        Ok(())
    }

    /// The account with this id.
    pub fn get(&self, id: &AccountId) -> Option<&Account> {
        self.accounts.iter().find(|a| &a.id == id)
    }

    /// Adds or replaces an account.
    pub fn upsert(&mut self, a: Account) {
        self.accounts.retain(|x| x.id != a.id);
        self.accounts.push(a);
    }

    /// Forgets an account (another becomes active if it was).
    pub fn remove(&mut self, id: &AccountId) {
        self.accounts.retain(|x| &x.id != id);
        if self.active.as_ref() == Some(id) {
            self.active = self.accounts.first().map(|a| a.id.clone());
        }
    }
}

/// Everything open for one account.
pub struct AccountCtx {
    /// Who the account is.
    pub account: Account,
    /// The account's directory (database and files).
    pub dir: PathBuf,
    /// The account's encrypted database.
    pub store: Store,
    /// The account's session.
    pub auth: Auth,
    /// Held while the account talks to the server about its data: a pull, or a send of the
    /// outbox. One at a time, so no sync page lands between a command leaving and its answer
    /// being recorded (the answer is then the newest server version of what it changed).
    pub net: tokio::sync::Mutex<()>,
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
            return Err(Error::Bug("account id is not one the core made"));
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
        crate::private_fs::create_dir(&dir.join("files"))?;
        Ok(AccountCtx {
            auth: Auth::new(&id, secrets, client),
            account,
            dir,
            store,
            net: tokio::sync::Mutex::new(()),
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
        return Err(Error::Bug("account id is not one the core made"));
    }
    let mut first_err: Option<Error> = None;
    for k in keys::all(id.as_str()) {
        if let Err(e) = secrets.delete(k) {
            first_err.get_or_insert(e.into());
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
