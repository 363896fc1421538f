//! The world a convergence case runs in, and how each [`Step`] acts on it: a real server on a
//! copy of the template's data, the parent's device (a `Kidplan` core on a copy of the
//! template's directory and secrets), staff and Emma's other guardian over raw HTTP, and what
//! the case knows by position (children, absences, threads, people to erase) so that steps can
//! name them. Everything a step did is written to the case's journal.

use super::plan::{FAULT_ROUTES, Step};
use anyhow::Context;
use kidplan_api::commands::{ChangeConsent, EditAbsence, ReportAbsence, SendMessage};
use kidplan_api::model::*;
use kidplan_api::staff::*;
use kidplan_api::{Day, paths};
use kidplan_core::{
    AbsenceChange, AbsenceReport, ContactChange, HolidayRegistration, Kidplan, NewThread, Tuning,
};
use kidplan_server::faults::{Fault, FaultKind};
use kidplan_server::{RunningServer, demo};
use kidplan_tests::template::Template;
use kidplan_tests::{Device, RawSession, open_core, restart_server, server_db};
use reqwest::Method;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

const REASONS: [AbsenceReason; 4] = [
    AbsenceReason::Sick,
    AbsenceReason::Appointment,
    AbsenceReason::Family,
    AbsenceReason::Other,
];
const CONSENTS: [ConsentKind; 5] = [
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

fn at<T: Clone>(list: &[T], i: u32) -> Option<T> {
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

    /// A parent action through the core.
    fn parent(&mut self, step: &Step) -> anyhow::Result<String> {
        let kp = self.kp()?.clone();
        let k = &self.known;
        let today = Day::today();
        let queued = |what: &str, entity_id: String, child: Option<String>| Queued {
            what: what.to_owned(),
            entity_id,
            child,
        };
        let result = match step {
            Step::ReportAbsence {
                child,
                from,
                days,
                reason,
            } => {
                let Some(c) = at(&k.children, *child) else {
                    return Ok("no child".into());
                };
                let first = today.plus_days(*from);
                kp.report_absence(AbsenceReport {
                    child_id: c.clone().into(),
                    first_day: first,
                    last_day: first.plus_days(*days),
                    reason: at(&REASONS, *reason).unwrap_or(AbsenceReason::Sick),
                    note: Some(format!("Melding {from}")),
                })
                .map(|id| {
                    self.known.absences.push(KnownAbsence {
                        id: id.to_string(),
                        child: c.clone(),
                    });
                    queued("report absence", id.to_string(), Some(c))
                })
            }
            Step::EditAbsence {
                absence,
                from,
                days,
                reason,
            } => {
                let Some(a) = at(&k.absences, *absence) else {
                    return Ok("no absence".into());
                };
                let first = today.plus_days(*from);
                kp.edit_absence(
                    a.id.clone().into(),
                    AbsenceChange {
                        first_day: first,
                        last_day: first.plus_days(*days),
                        reason: at(&REASONS, *reason).unwrap_or(AbsenceReason::Sick),
                        note: None,
                    },
                )
                .map(|()| queued("edit absence", a.id.clone(), Some(a.child)))
            }
            Step::WithdrawAbsence { absence } => {
                let Some(a) = at(&k.absences, *absence) else {
                    return Ok("no absence".into());
                };
                kp.withdraw_absence(a.id.clone().into())
                    .map(|()| queued("withdraw absence", a.id.clone(), Some(a.child)))
            }
            Step::RegisterHoliday { child, from, days } => {
                let Some(c) = at(&k.children, *child) else {
                    return Ok("no child".into());
                };
                let first = today.plus_days(*from);
                kp.register_holiday(HolidayRegistration {
                    child_id: c.clone().into(),
                    first_day: first,
                    last_day: first.plus_days(*days),
                    note: Some("Ferie".into()),
                })
                .map(|id| queued("register holiday", id.to_string(), Some(c)))
            }
            Step::StartThread { child } => {
                let c = child.and_then(|c| at(&k.children, c));
                kp.start_thread(NewThread {
                    child_id: c.clone().map(Into::into),
                    subject: "Spørsmål".into(),
                    body: "Hei! Et spørsmål fra oss.".into(),
                })
                .map(|id| {
                    self.known.threads.push(KnownThread {
                        id: id.to_string(),
                        child: c.clone(),
                    });
                    queued("start thread", id.to_string(), c)
                })
            }
            Step::SendMessage { thread } => {
                let Some(t) = at(&k.threads, *thread) else {
                    return Ok("no thread".into());
                };
                kp.send_message(t.id.clone().into(), "Takk for beskjed.".into())
                    .map(|id| queued("send message", id.to_string(), t.child))
            }
            Step::MarkRead { thread } => {
                let Some(t) = at(&k.threads, *thread) else {
                    return Ok("no thread".into());
                };
                let before = kp.outbox()?.len();
                match kp.mark_read(t.id.clone().into()) {
                    // Nothing unread: nothing queued.
                    Ok(()) if kp.outbox()?.len() == before => {
                        return Ok("nothing unread".into());
                    }
                    r => r.map(|()| queued("mark read", t.id.clone(), None)),
                }
            }
            Step::ChangeConsent {
                child,
                kind,
                granted,
            } => {
                let Some(c) = at(&k.children, *child) else {
                    return Ok("no child".into());
                };
                let kind = at(&CONSENTS, *kind).unwrap_or(ConsentKind::Trips);
                let state = if *granted {
                    ConsentState::Granted
                } else {
                    ConsentState::Denied
                };
                // The outbox item is about the consent's id when the device has it.
                let id = kp
                    .consents(c.clone().into())
                    .ok()
                    .and_then(|cs| cs.into_iter().find(|x| x.kind == kind))
                    .map(|x| x.id.to_string());
                kp.change_consent(c.clone().into(), kind, state).map(|()| {
                    let kind_s = serde_json::to_value(kind)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default();
                    let entity = id.unwrap_or(format!("consent/{c}/{kind_s}"));
                    queued("change consent", entity, Some(c))
                })
            }
            Step::UpdateContact { variant } => {
                let n = variant % 100;
                let (email, phone, address, postal_code) = match variant % 6 {
                    0 => (Some(format!("kari.e2e{n}@example.org")), None, None, None),
                    // The server keeps addresses in lower case.
                    1 => (Some(format!("Kari.E2E{n}@Example.org")), None, None, None),
                    // Another person's address: refused by the server.
                    2 => (
                        Some(demo::SECOND_GUARDIAN_EMAIL.to_owned()),
                        None,
                        None,
                        None,
                    ),
                    // The server keeps phone numbers compact.
                    3 => (None, Some(format!("+47 400 00 {n:03}")), None, None),
                    4 => (
                        None,
                        None,
                        Some(format!("Storgata {n}")),
                        Some(format!("0{n:03}")),
                    ),
                    _ => (None, Some(String::new()), Some(String::new()), None),
                };
                kp.update_contact(ContactChange {
                    email,
                    phone,
                    address,
                    postal_code,
                })
                .map(|()| queued("update contact", demo::GUARDIAN_ID.to_owned(), None))
            }
            _ => return Ok("not a parent action".into()),
        };
        Ok(match result {
            Ok(q) => {
                let text = format!("queued ({})", q.entity_id);
                self.known.queued.push(q);
                text
            }
            Err(e) => format!("refused by the device: {e:?}"),
        })
    }

    /// Staff or Emma's other guardian, over HTTP.
    async fn others(&mut self, step: &Step) -> anyhow::Result<String> {
        if let Step::StaffPhoto { tags } = step {
            return self.staff_photo(*tags).await;
        }
        let k = &self.known;
        let emma = demo::GUARDIAN_CHILD_IDS[0];
        let today = Day::today();
        let (who, method, path, body) = match step {
            Step::Acknowledge { absence } => {
                let Some(a) = at(&k.absences, *absence) else {
                    return Ok("no absence".into());
                };
                let path = paths::fill(paths::STAFF_ABSENCE_ACK, &[("id", &a.id)]);
                (Who::Staff, Method::POST, path, json!({}))
            }
            Step::StaffMessage { thread } => {
                let Some(t) = at(&k.threads, *thread) else {
                    return Ok("no thread".into());
                };
                let path = paths::fill(paths::STAFF_THREAD_MESSAGES, &[("id", &t.id)]);
                let body = StaffMessage {
                    body: "Hilsen fra barnehagen".into(),
                };
                (Who::Staff, Method::POST, path, serde_json::to_value(body)?)
            }
            Step::StaffThread { child } => {
                let Some(c) = at(&k.children, *child) else {
                    return Ok("no child".into());
                };
                let body = StaffStartThread {
                    child_id: c.into(),
                    subject: "Beskjed".into(),
                    body: "Husk regntøy i morgen.".into(),
                };
                let v = serde_json::to_value(body)?;
                (Who::Staff, Method::POST, paths::STAFF_THREADS.into(), v)
            }
            Step::Broadcast { department, urgent } => {
                let body = Broadcast {
                    department_id: department
                        .and_then(|d| at(&k.departments, d))
                        .map(Into::into),
                    subject: "Til alle".into(),
                    body: "Planleggingsdag neste uke.".into(),
                    urgent: *urgent,
                };
                let v = serde_json::to_value(body)?;
                (Who::Staff, Method::POST, paths::STAFF_BROADCASTS.into(), v)
            }
            Step::LogEntry { child } => {
                let Some(c) = at(&k.children, *child) else {
                    return Ok("no child".into());
                };
                let body = WriteLogEntry {
                    child_id: c.into(),
                    kind: LogKind::Note,
                    text: "Fin dag i barnehagen".into(),
                };
                let v = serde_json::to_value(body)?;
                (Who::Staff, Method::POST, paths::STAFF_LOG_ENTRIES.into(), v)
            }
            Step::Attendance { child, check_in } => {
                let Some(c) = at(&k.children, *child) else {
                    return Ok("no child".into());
                };
                let path = paths::fill(paths::STAFF_ATTENDANCE, &[("child_id", &c)]);
                let action = if *check_in {
                    AttendanceAction::CheckIn
                } else {
                    AttendanceAction::CheckOut
                };
                let v = serde_json::to_value(RecordAttendance { action })?;
                (Who::Staff, Method::POST, path, v)
            }
            Step::Erase { person } => {
                let Some((kind, id)) = at(&k.erasable, *person) else {
                    return Ok("nobody to erase".into());
                };
                let person = match kind {
                    "guardian" => Person::Guardian(id.into()),
                    "child" => Person::Child(id.into()),
                    _ => Person::Staff(id.into()),
                };
                let v = serde_json::to_value(EraseRequest { person })?;
                (Who::Staff, Method::POST, paths::STAFF_ERASURES.into(), v)
            }
            Step::CoReportAbsence { from, days } => {
                let first = today.plus_days(*from);
                let id = uuid::Uuid::new_v4().to_string();
                let body = ReportAbsence {
                    id: id.clone().into(),
                    child_id: emma.into(),
                    first_day: first,
                    last_day: first.plus_days(*days),
                    reason: AbsenceReason::Family,
                    note: None,
                };
                self.known.absences.push(KnownAbsence {
                    id,
                    child: emma.to_owned(),
                });
                let v = serde_json::to_value(body)?;
                (Who::CoGuardian, Method::POST, paths::ABSENCES.into(), v)
            }
            Step::CoEditAbsence {
                absence,
                from,
                days,
            } => {
                let Some(a) = at(&k.absences, *absence) else {
                    return Ok("no absence".into());
                };
                let first = today.plus_days(*from);
                let body = EditAbsence {
                    first_day: first,
                    last_day: first.plus_days(*days),
                    reason: AbsenceReason::Other,
                    note: Some("Endret av den andre forelderen".into()),
                };
                let path = paths::fill(paths::ABSENCE, &[("id", &a.id)]);
                (
                    Who::CoGuardian,
                    Method::PUT,
                    path,
                    serde_json::to_value(body)?,
                )
            }
            Step::CoWithdrawAbsence { absence } => {
                let Some(a) = at(&k.absences, *absence) else {
                    return Ok("no absence".into());
                };
                let path = paths::fill(paths::ABSENCE, &[("id", &a.id)]);
                (Who::CoGuardian, Method::DELETE, path, Value::Null)
            }
            Step::CoChangeConsent { kind, granted } => {
                let kind = at(&CONSENTS, *kind).unwrap_or(ConsentKind::Trips);
                let kind_s = serde_json::to_value(kind)?
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                let path = paths::fill(paths::CONSENT, &[("child_id", emma), ("kind", &kind_s)]);
                let state = if *granted {
                    ConsentState::Granted
                } else {
                    ConsentState::Denied
                };
                let v = serde_json::to_value(ChangeConsent { state })?;
                (Who::CoGuardian, Method::PUT, path, v)
            }
            Step::CoSendMessage { thread } => {
                let Some(t) = at(&k.threads, *thread) else {
                    return Ok("no thread".into());
                };
                let body = SendMessage {
                    id: uuid::Uuid::new_v4().to_string().into(),
                    body: "Hilsen fra pappa".into(),
                };
                let path = paths::fill(paths::THREAD_MESSAGES, &[("id", &t.id)]);
                (
                    Who::CoGuardian,
                    Method::POST,
                    path,
                    serde_json::to_value(body)?,
                )
            }
            _ => return Ok("not an action of others".into()),
        };
        let (session, who) = match who {
            Who::Staff => (&self.staff, "staff"),
            Who::CoGuardian => (&self.coguardian, "co-guardian"),
        };
        let what = match step {
            Step::Erase { .. } => format!("{who} {method} {path} {body}"),
            _ => format!("{who} {method} {path}"),
        };
        let body = (!body.is_null()).then_some(&body);
        let (status, answer) = match session.send(method, &path, body).await {
            Ok(r) => r,
            Err(e) => return Ok(format!("{what}: request failed: {e}")),
        };
        if status == 200 {
            // A thread staff started is one more thread the case knows of.
            if let (Step::StaffThread { .. } | Step::Broadcast { .. }, Some(id)) =
                (step, answer.get("id").and_then(Value::as_str))
            {
                let child = answer
                    .get("child_id")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                self.known.threads.push(KnownThread {
                    id: id.to_owned(),
                    child,
                });
            }
            Ok(format!("{what}: 200"))
        } else {
            let code = answer.get("code").and_then(Value::as_str).unwrap_or("");
            Ok(format!("{what}: {status} {code}"))
        }
    }
}

impl World {
    /// Staff upload a photo of Emma, of Jakob, of both, or of Emma with another family's child.
    async fn staff_photo(&self, tags: u32) -> anyhow::Result<String> {
        let [emma, jakob] = demo::GUARDIAN_CHILD_IDS;
        let children = match tags % 4 {
            0 => vec![emma],
            1 => vec![jakob],
            2 => vec![emma, jakob],
            _ => vec![emma, demo::CANARY_CHILD_ID],
        }
        .join(",");
        let path = format!("{}?children={children}&caption=Bilde", paths::STAFF_PHOTOS);
        let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xE0];
        jpeg.extend(std::iter::repeat_n(7u8, 512));
        jpeg.extend([0xFF, 0xD9]);
        let sent = self
            .staff
            .http
            .post(format!("{}{path}", self.staff.base))
            .bearer_auth(&self.staff.session.access_token)
            .header(reqwest::header::CONTENT_TYPE, "image/jpeg")
            .body(jpeg)
            .send()
            .await;
        Ok(match sent {
            Ok(r) => format!("staff POST {path}: {}", r.status().as_u16()),
            Err(e) => format!("staff POST {path}: request failed: {e}"),
        })
    }
}

/// Who acts over raw HTTP.
enum Who {
    Staff,
    CoGuardian,
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
