//! The world a convergence case runs in, and how each [`Step`] acts on it: a real server on a
//! copy of the template's data, the parent's device (a `Kidplan` core on a copy of the
//! template's directory and secrets), staff and Emma's other guardian over raw HTTP, and what
//! the case knows by position (children, absences, threads, people to erase) so that steps can
//! name them. Everything a step did is written to the case's journal. The actions themselves
//! are in `parent` (through the core) and `others` (staff and the co-guardian over HTTP).

mod others;
mod parent;

use super::plan::{FAULT_ROUTES, Step};
use anyhow::Context;
use kidplan_api::model::*;
use kidplan_core::{Kidplan, Tuning};
use kidplan_server::faults::{Fault, FaultKind};
use kidplan_server::{RunningServer, demo};
use kidplan_tests::template::Template;
use kidplan_tests::{Device, RawSession, open_core, restart_server, server_db};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

pub(super) const REASONS: [AbsenceReason; 4] = [
    AbsenceReason::Sick,
    AbsenceReason::Appointment,
    AbsenceReason::Family,
    AbsenceReason::Other,
];
pub(super) const CONSENTS: [ConsentKind; 5] = [
    ConsentKind::PhotosInternal,
    ConsentKind::PhotosShared,
    ConsentKind::Trips,
    ConsentKind::Transport,
    ConsentKind::Sunscreen,
];
const FAULT_KINDS: [FaultKind; 6] = [
    FaultKind::Status(500),
    FaultKind::Status(503),
    FaultKind::Delay(Duration::from_millis(20)),
    FaultKind::DropBeforeHandler,
    FaultKind::DropAfterHandler,
    FaultKind::TruncateBody,
];

/// An absence the case knows of, and whose child it is.
#[derive(Clone, Debug)]
pub struct KnownAbsence {
    pub id: String,
    pub child: String,
}

/// A thread the case knows of, and the child it is about (`None`: a broadcast or a thread
/// of the parent's own).
#[derive(Clone, Debug)]
pub struct KnownThread {
    pub id: String,
    pub child: Option<String>,
}

/// An action the device accepted and queued, in outbox order.
#[derive(Clone, Debug)]
pub struct Queued {
    /// What the step was (for reports).
    pub what: String,
    /// The id the outbox item is about.
    pub entity_id: String,
    /// The child the server files the command under (its stored answer goes with the
    /// child's erasure), when it has one.
    pub child: Option<String>,
}

/// What the case knows, by position.
#[derive(Default)]
pub struct Known {
    pub children: Vec<String>,
    pub absences: Vec<KnownAbsence>,
    pub threads: Vec<KnownThread>,
    /// People a step may erase: Emma's other guardian, the parent's children, the canary
    /// child (tagged with Emma in a photo), and staff other than the acting manager.
    pub erasable: Vec<(&'static str, String)>,
    pub departments: Vec<String>,
    pub queued: Vec<Queued>,
    /// Idempotency keys the server held for the parent before the case began.
    pub keys_before: Vec<String>,
}

pub(super) fn at<T: Clone>(list: &[T], i: u32) -> Option<T> {
    if list.is_empty() {
        None
    } else {
        list.get(i as usize % list.len()).cloned()
    }
}

/// One running case.
pub struct World {
    pub device: Device,
    server: Option<RunningServer>,
    addr: SocketAddr,
    kp: Option<Arc<Kidplan>>,
    tuning: Tuning,
    staff: RawSession,
    coguardian: RawSession,
    pub known: Known,
    pub journal: Vec<String>,
}

impl World {
    /// A new world from the template.
    pub async fn start(template: &Template, tuning: Tuning) -> anyhow::Result<World> {
        let (device, server, kp) = template.start(tuning.clone()).await?;
        let staff = match template.session(demo::STAFF_EMAIL, &server) {
            Some(s) => s,
            None => RawSession::login(&server, demo::STAFF_EMAIL).await?,
        };
        let coguardian = match template.session(demo::CANARY_GUARDIAN_EMAIL, &server) {
            Some(s) => s,
            None => RawSession::login(&server, demo::CANARY_GUARDIAN_EMAIL).await?,
        };
        let known = Self::what_is_known(&server, &kp)?;
        Ok(World {
            device,
            addr: server.addr(),
            server: Some(server),
            kp: Some(kp),
            tuning,
            staff,
            coguardian,
            known,
            journal: Vec::new(),
        })
    }

    fn what_is_known(server: &RunningServer, kp: &Kidplan) -> anyhow::Result<Known> {
        let db = server_db(server)?;
        let strings = |sql: &str, p: &str| -> anyhow::Result<Vec<String>> {
            let mut st = db.prepare(sql)?;
            let rows = st.query_map([p], |r| r.get::<_, String>(0))?;
            Ok(rows.collect::<Result<_, _>>()?)
        };
        let children: Vec<String> = demo::GUARDIAN_CHILD_IDS.map(str::to_owned).to_vec();
        let mut absences = Vec::new();
        for c in &children {
            for id in strings("SELECT id FROM absences WHERE child_id = ?1 ORDER BY id", c)? {
                absences.push(KnownAbsence {
                    id,
                    child: c.clone(),
                });
            }
        }
        let mut threads: Vec<KnownThread> = kp
            .threads()?
            .into_iter()
            .map(|t| KnownThread {
                id: t.thread.id.to_string(),
                child: t.thread.child_id.map(|c| c.to_string()),
            })
            .collect();
        threads.sort_by(|a, b| a.id.cmp(&b.id));
        let mut erasable = vec![
            ("guardian", demo::CANARY_GUARDIAN_ID.to_owned()),
            ("child", demo::GUARDIAN_CHILD_IDS[1].to_owned()),
            ("child", demo::GUARDIAN_CHILD_IDS[0].to_owned()),
            ("child", demo::CANARY_CHILD_ID.to_owned()),
        ];
        for s in strings(
            "SELECT id FROM staff WHERE kindergarten_id = ?1 ORDER BY id",
            demo::KINDERGARTEN_ID,
        )? {
            if s != demo::STAFF_ID {
                erasable.push(("staff", s));
            }
        }
        let keys_before = strings(
            "SELECT key FROM idempotency WHERE guardian_id = ?1",
            demo::GUARDIAN_ID,
        )?;
        Ok(Known {
            children,
            absences,
            threads,
            erasable,
            departments: demo::DEPARTMENT_IDS.map(str::to_owned).to_vec(),
            queued: Vec::new(),
            keys_before,
        })
    }

    /// The device's core.
    pub fn kp(&self) -> anyhow::Result<&Arc<Kidplan>> {
        self.kp.as_ref().context("the core is not open")
    }

    /// The running server, `None` while offline.
    pub fn server(&self) -> Option<&RunningServer> {
        self.server.as_ref()
    }

    /// Starts the server again if it is stopped.
    pub async fn go_online(&mut self) -> anyhow::Result<()> {
        if self.server.is_none() {
            self.server = Some(restart_server(self.device.server_dir.path(), self.addr).await?);
        }
        Ok(())
    }

    /// Stops the server and the core (the end of a case).
    pub async fn stop(self) {
        let World {
            server,
            kp,
            staff,
            coguardian,
            ..
        } = self;
        // Clients first, so that the server finds no open connection to wait for.
        drop((kp, staff, coguardian));
        if let Some(s) = server {
            s.stop().await;
        }
    }

    fn note(&mut self, i: usize, step: &Step, outcome: impl std::fmt::Display) {
        self.journal.push(format!("{i:>3}. {step} -> {outcome}"));
    }

    /// Runs step `i`.
    pub async fn run(&mut self, i: usize, step: &Step) -> anyhow::Result<()> {
        let outcome = match step {
            Step::Sync => match self.kp()?.sync().await {
                Ok(r) => format!(
                    "synced: {} pages, {} applied, {} held back, {} skipped, {} sent, {} rejected, {} pending",
                    r.pages, r.applied, r.held_back, r.skipped, r.sent, r.rejected, r.pending
                ),
                Err(e) => format!("sync failed: {e:?}"),
            },
            Step::RestartCore => {
                self.kp = None;
                self.kp = Some(open_core(
                    self.device.dir.path(),
                    &format!("http://{}", self.addr),
                    self.device.secrets.clone(),
                    self.tuning.clone(),
                )?);
                "the core was reopened".to_owned()
            }
            Step::GoOffline => match self.server.take() {
                Some(s) => {
                    s.stop().await;
                    "the server stopped".to_owned()
                }
                None => "already offline".to_owned(),
            },
            Step::GoOnline => {
                let was = self.server.is_some();
                self.go_online().await?;
                if was {
                    "already online"
                } else {
                    "the server is back"
                }
                .to_owned()
            }
            Step::Fault { route, kind, times } => match &self.server {
                Some(s) => {
                    let fault = Fault {
                        route: at(&FAULT_ROUTES, *route).flatten().map(str::to_owned),
                        kind: at(&FAULT_KINDS, *kind).unwrap_or(FaultKind::Status(500)),
                        times: *times,
                    };
                    let text = format!("armed {fault:?}");
                    s.faults().inject(fault);
                    text
                }
                None => "offline: no fault".to_owned(),
            },
            _ if is_parent(step) => self.parent(step)?,
            _ if self.server.is_none() => "offline: nobody else can act".to_owned(),
            _ => self.others(step).await?,
        };
        self.note(i, step, outcome);
        Ok(())
    }
}

fn is_parent(step: &Step) -> bool {
    matches!(
        step,
        Step::ReportAbsence { .. }
            | Step::EditAbsence { .. }
            | Step::WithdrawAbsence { .. }
            | Step::RegisterHoliday { .. }
            | Step::StartThread { .. }
            | Step::SendMessage { .. }
            | Step::MarkRead { .. }
            | Step::ChangeConsent { .. }
            | Step::UpdateContact { .. }
    )
}
