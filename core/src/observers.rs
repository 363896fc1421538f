//! Change notification: the [`ChangeListener`] trait a shell implements and the list of
//! subscribers. Listeners are told which [`Collection`]s changed after a sync page, an outbox
//! flush, or a local action.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// A set of things a screen shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum Collection {
    Children,
    Guardians,
    Staff,
    ChildLog,
    Threads,
    Messages,
    Absences,
    Holidays,
    Consents,
    Calendar,
    Documents,
    Photos,
    Attendance,
    PickupPersons,
    NotificationPreferences,
    Outbox,
    Account,
    PrivacyRequests,
}

impl Collection {
    /// Every collection (what an account change or a wipe announces).
    pub const ALL: [Collection; 18] = [
        Collection::Children,
        Collection::Guardians,
        Collection::Staff,
        Collection::ChildLog,
        Collection::Threads,
        Collection::Messages,
        Collection::Absences,
        Collection::Holidays,
        Collection::Consents,
        Collection::Calendar,
        Collection::Documents,
        Collection::Photos,
        Collection::Attendance,
        Collection::PickupPersons,
        Collection::NotificationPreferences,
        Collection::Outbox,
        Collection::Account,
        Collection::PrivacyRequests,
    ];
}

/// Implemented by the shell to hear about changes. Called from a core thread; keep it short.
#[cfg_attr(feature = "uniffi", uniffi::export(with_foreign))]
pub trait ChangeListener: Send + Sync {
    fn on_change(&self, collections: Vec<Collection>);
}

/// The subscribers.
#[derive(Default)]
pub struct Observers {
    next: AtomicU64,
    listeners: Mutex<BTreeMap<u64, Arc<dyn ChangeListener>>>,
}

impl Observers {
    /// Adds a listener; returns the handle for [`Observers::unsubscribe`].
    pub fn subscribe(&self, l: Arc<dyn ChangeListener>) -> u64 {
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        if let Ok(mut m) = self.listeners.lock() {
            m.insert(id, l);
        }
        id
    }

    /// Removes a listener; unknown handles are ignored.
    pub fn unsubscribe(&self, id: u64) {
        if let Ok(mut m) = self.listeners.lock() {
            m.remove(&id);
        }
    }

    /// Tells every listener (outside the lock; a panicking listener is contained).
    pub fn notify(&self, mut collections: Vec<Collection>) {
        collections.sort();
        collections.dedup();
        if collections.is_empty() {
            return;
        }
        let listeners: Vec<_> = match self.listeners.lock() {
            Ok(m) => m.values().cloned().collect(),
            Err(_) => return,
        };
        for l in listeners {
            let c = collections.clone();
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| l.on_change(c)));
            if r.is_err() {
                tracing::warn!("a change listener panicked");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Rec(Mutex<Vec<Vec<Collection>>>);
    impl ChangeListener for Rec {
        fn on_change(&self, c: Vec<Collection>) {
            if let Ok(mut v) = self.0.lock() {
                v.push(c);
            }
        }
    }
    struct Bomb;
    impl ChangeListener for Bomb {
        fn on_change(&self, _: Vec<Collection>) {
            panic!("listener bug");
        }
    }

    #[test]
    fn notifies_dedups_and_survives_panics() {
        let o = Observers::default();
        let r = Arc::new(Rec(Mutex::new(vec![])));
        o.subscribe(Arc::new(Bomb));
        let id = o.subscribe(r.clone());
        o.notify(vec![
            Collection::Outbox,
            Collection::Absences,
            Collection::Outbox,
        ]);
        o.notify(vec![]);
        o.unsubscribe(id);
        o.notify(vec![Collection::Children]);
        let got = r.0.lock().map(|v| v.clone()).unwrap_or_default();
        assert_eq!(got, vec![vec![Collection::Absences, Collection::Outbox]]);
    }
}
