//! The account lifecycle: logging in and out, switching, removing an account (its data, its
//! secrets, its push registration), resetting a cache and wiping the device.

use super::{Inner, lock};
use crate::accounts::{Account, AccountId, wipe};
use crate::auth::{self, Auth};
use crate::error::{Error, Result};
use crate::local::store;
use crate::observers::Collection;
use crate::push;
use crate::secrets::keys;
use std::sync::Arc;

impl Inner {
    /// The accounts on this device.
    pub(crate) fn accounts(&self) -> Vec<Account> {
        lock(&self.registry).accounts.clone()
    }

    /// The account reads and actions apply to.
    pub(crate) fn active_account(&self) -> Option<Account> {
        let r = lock(&self.registry);
        r.active.as_ref().and_then(|id| r.get(id).cloned())
    }

    /// Makes another account of this device the active one.
    pub(crate) fn switch_account(&self, id: AccountId) -> Result<()> {
        {
            let mut r = lock(&self.registry);
            if r.get(&id).is_none() {
                return Err(Error::NotFound);
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
            let mut r = lock(&self.registry);
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
        push::retire_logged(&*self.secrets, id.as_str());
        let _ = self.flush_unregisters().await;
        ctx.auth.logout().await?;
        self.remove_account(&id)
    }

    /// Stops an account's sender and closes its database (the file stays).
    pub(crate) fn close_account(&self, id: &AccountId) -> Result<()> {
        if let Some(h) = lock(&self.senders).remove(id) {
            h.abort();
        }
        lock(&self.open).remove(id);
        Ok(())
    }

    /// Removes an account: closes it, queues its push registration for deletion on the server,
    /// deletes its data and secrets, forgets it.
    pub(crate) fn remove_account(&self, id: &AccountId) -> Result<()> {
        self.close_account(id)?;
        push::retire_logged(&*self.secrets, id.as_str());
        let wiped = wipe(&self.data_dir, id, &*self.secrets);
        {
            let mut r = lock(&self.registry);
            r.remove(id);
            r.save(&self.data_dir)?;
        }
        self.observers.notify(Collection::ALL.to_vec());
        wiped
    }

    /// Starts the active account's cache afresh: deletes the database, its key and files,
    /// keeps the session.
    pub(crate) fn reset_local_cache(self: &Arc<Self>) -> Result<()> {
        let account = self.active_account().ok_or(Error::NoSession)?;
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
        let ids: Vec<AccountId> = lock(&self.registry)
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
                    push::retire_logged(&*self.secrets, id.as_str());
                    wipe(&self.data_dir, &id, &*self.secrets)?;
                }
            }
        }
        Ok(())
    }
}
