//! The server's clock: the real time, or a manual clock that tests set and advance.

use chrono::{DateTime, Utc};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A clock shared by every part of a running server. Cloning shares the same time source.
#[derive(Clone, Debug)]
pub struct Clock {
    manual: Option<Arc<Mutex<DateTime<Utc>>>>,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self { manual: None }
    }

    /// A clock that stands still at `start` until it is advanced or set.
    pub fn manual(start: DateTime<Utc>) -> Self {
        Self {
            manual: Some(Arc::new(Mutex::new(start))),
        }
    }

    /// The current time.
    pub fn now(&self) -> DateTime<Utc> {
        match &self.manual {
            Some(t) => *t.lock().unwrap_or_else(|e| e.into_inner()),
            None => Utc::now(),
        }
    }

    /// Milliseconds since the epoch.
    pub fn now_ms(&self) -> i64 {
        self.now().timestamp_millis()
    }

    /// Moves a manual clock forward; no effect on the system clock.
    pub fn advance(&self, by: Duration) {
        if let Some(t) = &self.manual {
            let mut g = t.lock().unwrap_or_else(|e| e.into_inner());
            let delta = chrono::TimeDelta::from_std(by).unwrap_or(chrono::TimeDelta::zero());
            *g = g.checked_add_signed(delta).unwrap_or(*g);
        }
    }

    /// Sets a manual clock; no effect on the system clock.
    pub fn set(&self, to: DateTime<Utc>) {
        if let Some(t) = &self.manual {
            *t.lock().unwrap_or_else(|e| e.into_inner()) = to;
        }
    }

    /// True for a manual clock.
    pub fn is_manual(&self) -> bool {
        self.manual.is_some()
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::system()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_advances_and_is_shared() {
        let start = DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default();
        let c = Clock::manual(start);
        let c2 = c.clone();
        c.advance(Duration::from_secs(60));
        assert_eq!(c2.now_ms(), start.timestamp_millis() + 60_000);
        c2.set(start);
        assert_eq!(c.now(), start);
    }
}
