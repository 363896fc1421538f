//! The parent's actions in a convergence case, through the core: each is validated and
//! queued by the device (or refused there), and what it queued is recorded in the order of the
//! device's outbox, with the child the server will file it under.

use super::{CONSENTS, KnownAbsence, KnownThread, Queued, REASONS, World, at};
use crate::convergence::plan::Step;
use kidplan_api::Day;
use kidplan_api::model::*;
use kidplan_core::{AbsenceChange, AbsenceReport, ContactChange, HolidayRegistration, NewThread};
use kidplan_server::demo;

impl World {
    /// A parent action through the core.
    pub(super) fn parent(&mut self, step: &Step) -> anyhow::Result<String> {
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
                    ..Default::default()
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
}
