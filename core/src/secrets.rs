//! Where secrets live: the refresh and access tokens, each account's database key, and its
//! push registration secret.
//!
//! [`SecretStore`] is a small trait (a shell may implement it, for example over the Android
//! Keystore); the core ships [`MemorySecretStore`] (tests), [`FileSecretStore`] (one JSON file,
//! mode 0600, for desktop machines without a keyring) and [`KeyringSecretStore`] over
//! `keyring-core` (the Apple Keychain or Android native store, chosen by the host). Secrets are
//! never written to SQLite, logs, exports or error text.

use crate::error::KidplanError;

/// The stores answer in the FFI's error type (a shell's store implements the same trait).
type Result<T, E = KidplanError> = std::result::Result<T, E>;

/// A file error of a store, logged by kind only.
fn io(e: std::io::Error) -> KidplanError {
    tracing::warn!(kind = ?e.kind(), "secret file error");
    KidplanError::Storage
}
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// A key-value store for secret strings.
#[cfg_attr(feature = "uniffi", uniffi::export(with_foreign))]
pub trait SecretStore: Send + Sync {
    /// The value under `key`, `None` when absent.
    fn get(&self, key: String) -> Result<Option<String>, KidplanError>;
    /// Stores `value` under `key`, replacing any old value.
    fn set(&self, key: String, value: String) -> Result<(), KidplanError>;
    /// Removes `key`; absent keys are not an error.
    fn delete(&self, key: String) -> Result<(), KidplanError>;
}

/// Names of the secrets the core keeps per account.
pub mod keys {
    /// The account's SQLCipher key (64 hex characters).
    pub fn db_key(account: &str) -> String {
        format!("kidplan.{account}.db_key")
    }
    /// The rotating refresh token.
    pub fn refresh_token(account: &str) -> String {
        format!("kidplan.{account}.refresh")
    }
    /// The current access token and its expiry (`<expiry ms> <token>`).
    pub fn access_token(account: &str) -> String {
        format!("kidplan.{account}.access")
    }
    /// The idempotency key of a refresh in flight (so a retry after a crash replays it).
    pub fn refresh_pending(account: &str) -> String {
        format!("kidplan.{account}.refresh_pending")
    }
    /// The account's push registration: `<registration id> <registration secret>`.
    pub fn push_registration(account: &str) -> String {
        format!("kidplan.{account}.push")
    }
    /// Install-level: push registrations still to be deleted on the server (JSON list of
    /// registration id and secret), kept after their account is gone until the server
    /// confirmed the deletion.
    pub const PUSH_UNREGISTER: &str = "kidplan.push.unregister";
    /// Every key of an account.
    pub fn all(account: &str) -> [String; 5] {
        [
            db_key(account),
            refresh_token(account),
            access_token(account),
            refresh_pending(account),
            push_registration(account),
        ]
    }
}

/// Secrets in memory only: for tests and for hosts that persist nothing.
#[derive(Default)]
pub struct MemorySecretStore {
    map: Mutex<BTreeMap<String, String>>,
}

impl MemorySecretStore {
    /// An empty store.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Every key currently held (for tests).
    pub fn keys(&self) -> Vec<String> {
        self.map
            .lock()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    }
}

impl SecretStore for MemorySecretStore {
    fn get(&self, key: String) -> Result<Option<String>> {
        let m = self.map.lock().map_err(|_| KidplanError::Internal)?;
        Ok(m.get(&key).cloned())
    }
    fn set(&self, key: String, value: String) -> Result<()> {
        let mut m = self.map.lock().map_err(|_| KidplanError::Internal)?;
        m.insert(key, value);
        Ok(())
    }
    fn delete(&self, key: String) -> Result<()> {
        let mut m = self.map.lock().map_err(|_| KidplanError::Internal)?;
        m.remove(&key);
        Ok(())
    }
}

/// Secrets in one JSON file with mode 0600, written atomically (temp file + rename). The
/// values are plain text: only the file's mode and the user account protect them, so anyone
/// who can read the file as that user (or a backup of it) has every token and database key.
/// For desktop machines without a keyring; on a phone use the platform store.
pub struct FileSecretStore {
    path: PathBuf,
    lock: Mutex<()>,
}

impl FileSecretStore {
    /// A store in `<dir>/secrets.json`; `dir` is created if missing.
    pub fn new(dir: &str) -> Result<Arc<Self>> {
        crate::private_fs::create_dir(std::path::Path::new(dir)).map_err(io)?;
        Ok(Arc::new(Self {
            path: PathBuf::from(dir).join("secrets.json"),
            lock: Mutex::new(()),
        }))
    }

    fn load(&self) -> Result<BTreeMap<String, String>> {
        match std::fs::read(&self.path) {
            Ok(b) => serde_json::from_slice(&b).map_err(|_| KidplanError::Storage),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
            Err(e) => Err(io(e)),
        }
    }

    fn save(&self, map: &BTreeMap<String, String>) -> Result<()> {
        use std::io::Write;
        let bytes = serde_json::to_vec(map).map_err(|_| KidplanError::Internal)?;
        let tmp = self.path.with_extension("json.tmp");
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(&tmp).map_err(io)?;
        f.write_all(&bytes).map_err(io)?;
        f.sync_all().map_err(io)?;
        drop(f);
        std::fs::rename(&tmp, &self.path).map_err(io)?;
        Ok(())
    }
}

impl SecretStore for FileSecretStore {
    fn get(&self, key: String) -> Result<Option<String>> {
        let _g = self.lock.lock().map_err(|_| KidplanError::Internal)?;
        Ok(self.load()?.remove(&key))
    }
    fn set(&self, key: String, value: String) -> Result<()> {
        let _g = self.lock.lock().map_err(|_| KidplanError::Internal)?;
        let mut m = self.load()?;
        m.insert(key, value);
        self.save(&m)
    }
    fn delete(&self, key: String) -> Result<()> {
        let _g = self.lock.lock().map_err(|_| KidplanError::Internal)?;
        let mut m = self.load()?;
        if m.remove(&key).is_some() {
            self.save(&m)?;
        }
        Ok(())
    }
}

/// Secrets in a `keyring-core` credential store (service `"kidplan"`, user = the key).
///
/// The host picks the store: on iOS/macOS the Apple Keychain store (with "this device only"
/// accessibility), on Android the Android native store; [`KeyringSecretStore::with_default_store`]
/// uses whatever `keyring_core::set_default_store` was given.
pub struct KeyringSecretStore {
    store: Arc<keyring_core::CredentialStore>,
    service: String,
}

impl KeyringSecretStore {
    /// Over an explicit credential store.
    pub fn new(store: Arc<keyring_core::CredentialStore>) -> Arc<Self> {
        Arc::new(Self {
            store,
            service: "kidplan".into(),
        })
    }

    /// Over the process-wide default store; `Storage` when none was set.
    pub fn with_default_store() -> Result<Arc<Self>> {
        keyring_core::get_default_store()
            .map(Self::new)
            .ok_or(KidplanError::Storage)
    }

    fn entry(&self, key: &str) -> Result<keyring_core::Entry> {
        keyring_core::Entry::new_in_store(&self.store, &self.service, key).map_err(map_keyring)
    }
}

fn map_keyring(e: keyring_core::Error) -> KidplanError {
    // keyring errors may carry the secret's bytes (BadEncoding); never print them.
    tracing::warn!("secret store error");
    drop(e);
    KidplanError::Storage
}

impl SecretStore for KeyringSecretStore {
    fn get(&self, key: String) -> Result<Option<String>> {
        match self.entry(&key)?.get_password() {
            Ok(v) => Ok(Some(v)),
            Err(keyring_core::Error::NoEntry) => Ok(None),
            Err(e) => Err(map_keyring(e)),
        }
    }
    fn set(&self, key: String, value: String) -> Result<()> {
        self.entry(&key)?.set_password(&value).map_err(map_keyring)
    }
    fn delete(&self, key: String) -> Result<()> {
        match self.entry(&key)?.delete_credential() {
            Ok(()) | Err(keyring_core::Error::NoEntry) => Ok(()),
            Err(e) => Err(map_keyring(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exercise(s: &dyn SecretStore) {
        assert_eq!(s.get("a".into()).expect("get"), None);
        s.set("a".into(), "1".into()).expect("set");
        s.set("a".into(), "2".into()).expect("set");
        assert_eq!(s.get("a".into()).expect("get").as_deref(), Some("2"));
        s.delete("a".into()).expect("delete");
        s.delete("a".into()).expect("delete twice");
        assert_eq!(s.get("a".into()).expect("get"), None);
    }

    #[test]
    fn memory_store() {
        exercise(&*MemorySecretStore::new());
    }

    #[test]
    fn file_store_is_private_and_persistent() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path().to_str().expect("utf8").to_owned();
        let s = FileSecretStore::new(&d).expect("store");
        exercise(&*s);
        s.set("k".into(), "v".into()).expect("set");
        let again = FileSecretStore::new(&d).expect("store");
        assert_eq!(again.get("k".into()).expect("get").as_deref(), Some("v"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("secrets.json"))
                .expect("meta")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(dir.path().join("secrets.json"), b"{not json").expect("write");
        assert_eq!(again.get("k".into()), Err(KidplanError::Storage));
    }

    #[test]
    fn keyring_store_over_mock() {
        let store: Arc<keyring_core::CredentialStore> =
            keyring_core::mock::Store::new().expect("mock store");
        exercise(&*KeyringSecretStore::new(store));
    }
}
