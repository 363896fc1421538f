//! What a convergence case does: its steps, and how a seed turns into them.
//!
//! A case is a list of [`Step`]s drawn from a seed by a small deterministic generator
//! (SplitMix64, written here so that a seed means the same case on every machine and every
//! version of the dependencies). Steps name things by position (`absence: 7` is the 7th
//! absence the case knows of, modulo how many it knows), resolved when the step runs, so that
//! any subset of a case's steps is itself a valid case: that is what shrinking relies on.

use std::fmt;

/// SplitMix64: a tiny, well-mixed generator; one `u64` of state.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// A position to be resolved later, modulo the length of a list.
    fn pick(&mut self) -> u32 {
        (self.next_u64() >> 40) as u32
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// The seed of case `index` of a run that starts at `base`.
pub fn case_seed(base: u64, index: u64) -> u64 {
    Rng::new(base ^ index.wrapping_mul(0xD6E8_FEB8_6659_FD93)).next_u64()
}

/// Where a fault is armed (a path prefix of the server's routes; `None`: any request).
pub const FAULT_ROUTES: [Option<&str>; 7] = [
    Some(kidplan_api::paths::SYNC),
    Some(kidplan_api::paths::ABSENCES),
    Some(kidplan_api::paths::HOLIDAYS),
    Some(kidplan_api::paths::THREADS),
    Some("/v1/children"),
    Some(kidplan_api::paths::ME_CONTACT),
    None,
];

/// One thing that happens in a case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    // --- the parent, through the core: queued in the outbox, sent by a sync ---
    ReportAbsence {
        child: u32,
        from: i64,
        days: i64,
        reason: u32,
    },
    EditAbsence {
        absence: u32,
        from: i64,
        days: i64,
        reason: u32,
    },
    WithdrawAbsence {
        absence: u32,
    },
    RegisterHoliday {
        child: u32,
        from: i64,
        days: i64,
    },
    StartThread {
        child: Option<u32>,
    },
    SendMessage {
        thread: u32,
    },
    MarkRead {
        thread: u32,
    },
    ChangeConsent {
        child: u32,
        kind: u32,
        granted: bool,
    },
    UpdateContact {
        variant: u32,
    },
    // --- the device and the network ---
    Sync,
    /// The app is killed and opened again on the same data directory and secret store.
    RestartCore,
    /// The server stops (the phone is offline) until `GoOnline`.
    GoOffline,
    /// The server starts again on the same address and data.
    GoOnline,
    /// The next `times` requests on a route fail in one of the fault layer's ways.
    Fault {
        route: u32,
        kind: u32,
        times: u32,
    },
    // --- staff of the kindergarten, over HTTP ---
    Acknowledge {
        absence: u32,
    },
    StaffMessage {
        thread: u32,
    },
    StaffThread {
        child: u32,
    },
    Broadcast {
        department: Option<u32>,
        urgent: bool,
    },
    LogEntry {
        child: u32,
    },
    /// A photo tagging some of the parent's children (and maybe another family's child).
    StaffPhoto {
        tags: u32,
    },
    /// A new profile picture of one of the parent's children, or its removal.
    StaffPicture {
        child: u32,
        remove: bool,
    },
    Attendance {
        child: u32,
        check_in: bool,
    },
    /// Erases a person the parent sees (never the acting staff member or the parent).
    Erase {
        person: u32,
    },
    // --- Emma's other guardian, over HTTP ---
    CoReportAbsence {
        from: i64,
        days: i64,
    },
    CoEditAbsence {
        absence: u32,
        from: i64,
        days: i64,
    },
    CoWithdrawAbsence {
        absence: u32,
    },
    CoChangeConsent {
        kind: u32,
        granted: bool,
    },
    CoSendMessage {
        thread: u32,
    },
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self:?}")
    }
}

/// Draws one step of a kind.
type MakeStep = fn(&mut Rng) -> Step;

/// How often each step is drawn (weights out of their sum).
const WEIGHTS: &[(u32, MakeStep)] = &[
    (7, |r| Step::ReportAbsence {
        child: r.pick(),
        from: 1 + r.below(40) as i64,
        days: r.below(4) as i64,
        reason: r.pick(),
    }),
    (8, |r| Step::EditAbsence {
        absence: r.pick(),
        from: 1 + r.below(40) as i64,
        days: r.below(4) as i64,
        reason: r.pick(),
    }),
    (4, |r| Step::WithdrawAbsence { absence: r.pick() }),
    (3, |r| Step::RegisterHoliday {
        child: r.pick(),
        from: 30 + r.below(200) as i64,
        days: r.below(14) as i64,
    }),
    (2, |r| Step::StartThread {
        child: if r.chance(75) { Some(r.pick()) } else { None },
    }),
    (4, |r| Step::SendMessage { thread: r.pick() }),
    (3, |r| Step::MarkRead { thread: r.pick() }),
    (5, |r| Step::ChangeConsent {
        child: r.pick(),
        kind: r.pick(),
        granted: r.chance(50),
    }),
    (3, |r| Step::UpdateContact { variant: r.pick() }),
    (18, |_| Step::Sync),
    (3, |_| Step::RestartCore),
    (2, |_| Step::GoOffline),
    (2, |_| Step::GoOnline),
    (7, |r| Step::Fault {
        route: r.pick(),
        kind: r.pick(),
        times: 1 + r.below(3) as u32,
    }),
    (7, |r| Step::Acknowledge { absence: r.pick() }),
    (2, |r| Step::StaffMessage { thread: r.pick() }),
    (1, |r| Step::StaffThread { child: r.pick() }),
    (1, |r| Step::Broadcast {
        department: if r.chance(50) { Some(r.pick()) } else { None },
        urgent: r.chance(20),
    }),
    (2, |r| Step::LogEntry { child: r.pick() }),
    (1, |r| Step::StaffPhoto { tags: r.pick() }),
    (2, |r| Step::StaffPicture {
        child: r.pick(),
        remove: r.chance(30),
    }),
    (2, |r| Step::Attendance {
        child: r.pick(),
        check_in: r.chance(60),
    }),
    (2, |r| Step::Erase { person: r.pick() }),
    (2, |r| Step::CoReportAbsence {
        from: 1 + r.below(40) as i64,
        days: r.below(4) as i64,
    }),
    (3, |r| Step::CoEditAbsence {
        absence: r.pick(),
        from: 1 + r.below(40) as i64,
        days: r.below(4) as i64,
    }),
    (2, |r| Step::CoWithdrawAbsence { absence: r.pick() }),
    (3, |r| Step::CoChangeConsent {
        kind: r.pick(),
        granted: r.chance(50),
    }),
    (2, |r| Step::CoSendMessage { thread: r.pick() }),
];

/// The steps of the case of `seed`: between 4 and 30 of them.
pub fn generate(seed: u64) -> Vec<Step> {
    let mut r = Rng::new(seed);
    let total: u32 = WEIGHTS.iter().map(|(w, _)| w).sum();
    let n = 4 + r.below(27);
    (0..n)
        .map(|_| {
            let mut x = r.below(u64::from(total)) as u32;
            for (w, make) in WEIGHTS {
                if x < *w {
                    return make(&mut r);
                }
                x -= w;
            }
            Step::Sync
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_always_gives_the_same_case_and_cases_differ() {
        assert_eq!(generate(7), generate(7));
        assert_ne!(generate(7), generate(8));
        let lens: std::collections::BTreeSet<usize> =
            (0..200).map(|i| generate(case_seed(1, i)).len()).collect();
        assert!(lens.iter().all(|n| (4..=30).contains(n)));
        assert!(lens.len() > 10);
    }
}
