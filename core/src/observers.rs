//! Change notification: the [`ChangeListener`] trait a shell implements, the list of
//! subscribers, and the [`Subscription`] handle that keeps a listener subscribed until it is
//! closed or dropped. Listeners are told which [`Collection`]s changed after a sync page, an
//! outbox flush, or a local action.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

/// A set of things a screen shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum Collection {
    /// The children.
    Children,
    /// Guardians and their relations to the children.
    Guardians,
    /// The staff.
    Staff,
    /// The child log.
    ChildLog,
    /// Message threads (their unread counts and last messages).
    Threads,
    /// Messages.
    Messages,
    /// Absence reports.
    Absences,
    /// Holiday registrations.
    Holidays,
    /// Consents.
    Consents,
    /// Calendar events.
    Calendar,
    /// Documents.
    Documents,
    /// Photos.
    Photos,
    /// Attendance (checked in and out).
    Attendance,
    /// Pickup persons.
    PickupPersons,
    /// Notification preferences.
    NotificationPreferences,
    /// The outbox of queued actions.
    Outbox,
    /// The account itself (logged in, switched, kindergarten and departments).
    Account,
    /// Privacy requests.
    PrivacyRequests,
    /// Reminder settings and the upcoming reminders.
    Reminders,
}

impl Collection {
    /// Every collection (what an account change or a wipe announces).
    pub const ALL: [Collection; 19] = [
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
        Collection::Reminders,
    ];
}

/// Implemented by the shell to hear about changes. Called from a core thread; keep it short.
#[cfg_attr(feature = "uniffi", uniffi::export(with_foreign))]
pub trait ChangeListener: Send + Sync {
    /// `collections` changed (sorted, each once).
    fn on_change(&self, collections: Vec<Collection>);
}

/// The subscribers.
#[derive(Default)]
pub struct Observers {
    next: AtomicU64,
    listeners: Mutex<BTreeMap<u64, Arc<dyn ChangeListener>>>,
}

/// A listener's subscription: it stays subscribed until [`Subscription::unsubscribe`] is called
/// or the handle is released (Kotlin: `close()` or `use {}`, as for every native object; Swift:
/// when the last reference goes).
#[cfg_attr(feature = "uniffi", derive(uniffi::Object))]
pub struct Subscription {
    observers: Weak<Observers>,
    id: u64,
}

#[cfg_attr(feature = "uniffi", uniffi::export)]
impl Subscription {
    /// Stops the notifications (again: nothing happens).
    pub fn unsubscribe(&self) {
        if let Some(o) = self.observers.upgrade() {
            o.unsubscribe(self.id);
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.unsubscribe();
    }
}

impl Observers {
    /// Adds a listener; it is told of changes until the returned handle is closed or dropped.
    pub fn subscribe(self: &Arc<Self>, l: Arc<dyn ChangeListener>) -> Arc<Subscription> {
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        if let Ok(mut m) = self.listeners.lock() {
            m.insert(id, l);
        }
        Arc::new(Subscription {
            observers: Arc::downgrade(self),
            id,
        })
    }

    /// Removes a listener; unknown ids are ignored.
    fn unsubscribe(&self, id: u64) {
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
            Ok(m) => m.iter().map(|(id, l)| (*id, l.clone())).collect(),
            Err(_) => return,
        };
        for (id, l) in listeners {
            // A listener closed while this notice was on its way hears nothing more.
            let open = self.listeners.lock().is_ok_and(|m| m.contains_key(&id));
            if !open {
                continue;
            }
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

    fn heard(r: &Rec) -> Vec<Vec<Collection>> {
        r.0.lock().map(|v| v.clone()).unwrap_or_default()
    }

    #[test]
    fn notifies_dedups_and_survives_panics() {
        let o = Arc::new(Observers::default());
        let r = Arc::new(Rec(Mutex::new(vec![])));
        let _bomb = o.subscribe(Arc::new(Bomb));
        let sub = o.subscribe(r.clone());
        o.notify(vec![
            Collection::Outbox,
            Collection::Absences,
            Collection::Outbox,
        ]);
        o.notify(vec![]);
        sub.unsubscribe();
        o.notify(vec![Collection::Children]);
        assert_eq!(
            heard(&r),
            vec![vec![Collection::Absences, Collection::Outbox]]
        );
    }

    #[test]
    fn dropping_the_handle_unsubscribes() {
        let o = Arc::new(Observers::default());
        let r = Arc::new(Rec(Mutex::new(vec![])));
        let sub = o.subscribe(r.clone());
        o.notify(vec![Collection::Children]);
        drop(sub);
        o.notify(vec![Collection::Photos]);
        assert_eq!(heard(&r), vec![vec![Collection::Children]]);
        // A handle that outlives the observers is harmless.
        let late = o.subscribe(r.clone());
        drop(o);
        late.unsubscribe();
        drop(late);
    }
}
