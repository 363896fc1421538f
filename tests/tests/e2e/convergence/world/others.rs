//! What staff and Emma's other guardian do in a convergence case, over raw HTTP: acknowledge,
//! write, post, photograph, check in and out, erase; report, edit and withdraw absences, change
//! consents, send messages. A refusal is an outcome, written to the journal, not an error.

use super::{CONSENTS, KnownAbsence, KnownThread, World, at};
use crate::convergence::plan::Step;
use kidplan_api::commands::{ChangeConsent, EditAbsence, ReportAbsence, SendMessage};
use kidplan_api::model::*;
use kidplan_api::staff::*;
use kidplan_api::{Day, paths};
use kidplan_server::demo;
use reqwest::Method;
use serde_json::{Value, json};

/// Who acts over raw HTTP.
enum Who {
    Staff,
    CoGuardian,
}

impl World {
    /// Staff or Emma's other guardian, over HTTP.
    pub(super) async fn others(&mut self, step: &Step) -> anyhow::Result<String> {
        if let Step::StaffPhoto { tags } = step {
            return self.staff_photo(*tags).await;
        }
        if let Step::StaffPicture { child, remove } = step {
            return self.staff_picture(*child, *remove).await;
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
                let v = serde_json::to_value(EraseRequest {
                    person,
                    confirmation: None,
                })?;
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
        let mut body = body;
        // An erasure is two calls of the manager: the first answers a confirmation token.
        if matches!(step, Step::Erase { .. })
            && let Ok((202, first)) = session.send(method.clone(), &path, Some(&body)).await
        {
            body["confirmation"] = first["confirmation"].clone();
        }
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
        let jpeg = kidplan_tests::jpeg(&[7; 512]);
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

    /// Staff set (a new picture, a new id) or remove a child's profile picture; setting it is
    /// refused while the child's photo consent is withdrawn.
    async fn staff_picture(&self, child: u32, remove: bool) -> anyhow::Result<String> {
        let ids = demo::GUARDIAN_CHILD_IDS;
        let id = ids[child as usize % ids.len()];
        let path = paths::fill(paths::STAFF_CHILD_PICTURE, &[("child_id", id)]);
        let url = format!("{}{path}", self.staff.base);
        let req = if remove {
            self.staff.http.delete(url)
        } else {
            self.staff
                .http
                .put(url)
                .header(reqwest::header::CONTENT_TYPE, "image/jpeg")
                .body(kidplan_tests::jpeg(&[3; 64]))
        };
        let sent = req
            .bearer_auth(&self.staff.session.access_token)
            .send()
            .await;
        let method = if remove { "DELETE" } else { "PUT" };
        Ok(match sent {
            Ok(r) => format!("staff {method} {path}: {}", r.status().as_u16()),
            Err(e) => format!("staff {method} {path}: request failed: {e}"),
        })
    }
}
