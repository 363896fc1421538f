//! Parent actions: validate, then in ONE transaction write the optimistic local change and its
//! outbox row. Invalid input (`InvalidInput { field }`) or an unknown id (`NotFound`) is
//! reported before anything is written. New things get their ids here, on the device.

#![allow(clippy::too_many_arguments)]

use crate::cache::{self, Effects};
use crate::error::{KidplanError, Result};
use crate::observers::Collection;
use crate::outbox::{self, NewItem, OutboxKind, Undo};
use kidplan_api::commands::*;
use kidplan_api::model::*;
use kidplan_api::privacy::{
    CreatePrivacyRequest, PrivacyRequest, PrivacyRequestStatus, PrivacyRight,
};
use kidplan_api::sync::{Entity, EntityKind};
use kidplan_api::*;
use reqwest::Method;
use rusqlite::Connection;

/// Who acts: the account's guardian and kindergarten.
pub struct Actor<'a> {
    pub me: &'a str,
    pub kindergarten_id: &'a KindergartenId,
}

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn json<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|_| KidplanError::Internal)
}

fn value<T: serde::Serialize>(v: &T) -> Result<serde_json::Value> {
    serde_json::to_value(v).map_err(|_| KidplanError::Internal)
}

fn check_text(field: &str, text: &Option<String>) -> Result<Option<String>> {
    match text.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) if t.chars().count() > MAX_TEXT_CHARS => Err(KidplanError::invalid(field)),
        Some(t) => Ok(Some(t.to_owned())),
    }
}

fn check_required(field: &str, text: &str, max: usize) -> Result<String> {
    let t = text.trim();
    if t.is_empty() || t.chars().count() > max {
        return Err(KidplanError::invalid(field));
    }
    Ok(t.to_owned())
}

fn check_child(c: &Connection, child: &ChildId) -> Result<()> {
    if cache::exists(c, EntityKind::Child, child.as_str())? {
        Ok(())
    } else {
        Err(KidplanError::invalid("child_id"))
    }
}

fn check_days(first: Day, last: Day) -> Result<()> {
    if last < first {
        return Err(KidplanError::invalid("last_day"));
    }
    if (last.0 - first.0).num_days() > 366 {
        return Err(KidplanError::invalid("last_day"));
    }
    Ok(())
}

fn check_reason(r: AbsenceReason) -> Result<()> {
    if r == AbsenceReason::Unknown {
        return Err(KidplanError::invalid("reason"));
    }
    Ok(())
}

/// Writes the optimistic entity of a create and queues its `POST` of `cmd` to `path` (the
/// entity's id is the target; the answer is stored as an entity of the same kind).
fn queue_create(
    c: &Connection,
    a: &Actor,
    fx: &mut Effects,
    kind: OutboxKind,
    id: &str,
    entity: Entity,
    path: &str,
    cmd: &impl serde::Serialize,
) -> Result<()> {
    let response_kind = Some(entity.kind());
    queue(
        c,
        a,
        fx,
        kind,
        id,
        Some(entity),
        None,
        id,
        Method::POST,
        path.into(),
        Some(json(cmd)?),
        response_kind,
    )
}

/// Writes the optimistic entity and queues the command.
fn queue(
    c: &Connection,
    a: &Actor,
    fx: &mut Effects,
    kind: OutboxKind,
    target: &str,
    entity: Option<Entity>,
    prev: Option<serde_json::Value>,
    entity_id: &str,
    method: Method,
    path: String,
    body: Option<String>,
    response_kind: Option<EntityKind>,
) -> Result<()> {
    let undo = entity.as_ref().map(|e| Undo {
        kind: e.kind(),
        id: entity_id.to_owned(),
        prev,
    });
    if let Some(e) = &entity {
        cache::upsert(c, e, a.me, fx)?;
    }
    outbox::enqueue(
        c,
        NewItem {
            kind,
            target: target.to_owned(),
            entity_id: entity_id.to_owned(),
            method,
            path,
            body,
            response_kind,
            undo,
        },
    )?;
    fx.touch(Collection::Outbox);
    Ok(())
}

pub fn report_absence(
    c: &Connection,
    a: &Actor,
    fx: &mut Effects,
    child_id: ChildId,
    first_day: Day,
    last_day: Day,
    reason: AbsenceReason,
    note: Option<String>,
) -> Result<AbsenceId> {
    check_child(c, &child_id)?;
    check_days(first_day, last_day)?;
    check_reason(reason)?;
    let note = check_text("note", &note)?;
    let id = AbsenceId(new_id());
    let cmd = ReportAbsence {
        id: id.clone(),
        child_id: child_id.clone(),
        first_day,
        last_day,
        reason,
        note: note.clone(),
    };
    let absence = Absence {
        id: id.clone(),
        child_id,
        first_day,
        last_day,
        reason,
        note,
        status: AbsenceStatus::Reported,
        reported_by: GuardianId::from(a.me),
        acknowledged_by: None,
    };
    queue_create(
        c,
        a,
        fx,
        OutboxKind::ReportAbsence,
        id.as_str(),
        Entity::Absence(absence),
        paths::ABSENCES,
        &cmd,
    )?;
    Ok(id)
}

fn existing_absence(c: &Connection, id: &AbsenceId) -> Result<Absence> {
    cache::get::<Absence>(c, EntityKind::Absence, id.as_str())?.ok_or(KidplanError::NotFound)
}

pub fn edit_absence(
    c: &Connection,
    a: &Actor,
    fx: &mut Effects,
    id: AbsenceId,
    first_day: Day,
    last_day: Day,
    reason: AbsenceReason,
    note: Option<String>,
) -> Result<()> {
    let prev = existing_absence(c, &id)?;
    check_days(first_day, last_day)?;
    check_reason(reason)?;
    let note = check_text("note", &note)?;
    let cmd = EditAbsence {
        first_day,
        last_day,
        reason,
        note: note.clone(),
    };
    let next = Absence {
        first_day,
        last_day,
        reason,
        note,
        ..prev.clone()
    };
    queue(
        c,
        a,
        fx,
        OutboxKind::EditAbsence,
        id.as_str(),
        Some(Entity::Absence(next)),
        Some(value(&prev)?),
        id.as_str(),
        Method::PUT,
        paths::fill(paths::ABSENCE, &[("id", id.as_str())]),
        Some(json(&cmd)?),
        Some(EntityKind::Absence),
    )
}

pub fn withdraw_absence(c: &Connection, a: &Actor, fx: &mut Effects, id: AbsenceId) -> Result<()> {
    let prev = existing_absence(c, &id)?;
    let next = Absence {
        status: AbsenceStatus::Withdrawn,
        ..prev.clone()
    };
    queue(
        c,
        a,
        fx,
        OutboxKind::WithdrawAbsence,
        id.as_str(),
        Some(Entity::Absence(next)),
        Some(value(&prev)?),
        id.as_str(),
        Method::DELETE,
        paths::fill(paths::ABSENCE, &[("id", id.as_str())]),
        None,
        Some(EntityKind::Absence),
    )
}

pub fn register_holiday(
    c: &Connection,
    a: &Actor,
    fx: &mut Effects,
    child_id: ChildId,
    first_day: Day,
    last_day: Day,
    note: Option<String>,
) -> Result<HolidayId> {
    check_child(c, &child_id)?;
    check_days(first_day, last_day)?;
    let note = check_text("note", &note)?;
    let id = HolidayId(new_id());
    let cmd = RegisterHoliday {
        id: id.clone(),
        child_id: child_id.clone(),
        first_day,
        last_day,
        note: note.clone(),
    };
    let h = Holiday {
        id: id.clone(),
        child_id,
        first_day,
        last_day,
        note,
        registered_by: GuardianId::from(a.me),
    };
    queue_create(
        c,
        a,
        fx,
        OutboxKind::RegisterHoliday,
        id.as_str(),
        Entity::Holiday(h),
        paths::HOLIDAYS,
        &cmd,
    )?;
    Ok(id)
}

pub fn start_thread(
    c: &Connection,
    a: &Actor,
    fx: &mut Effects,
    child_id: Option<ChildId>,
    subject: String,
    body: String,
) -> Result<ThreadId> {
    if let Some(ch) = &child_id {
        check_child(c, ch)?;
    }
    let subject = check_required("subject", &subject, MAX_SUBJECT_CHARS)?;
    let body = check_required("body", &body, MAX_TEXT_CHARS)?;
    let id = ThreadId(new_id());
    let first = MessageId(new_id());
    let now = Timestamp::now();
    let cmd = StartThread {
        id: id.clone(),
        child_id: child_id.clone(),
        subject: subject.clone(),
        first_message_id: first.clone(),
        body: body.clone(),
    };
    let thread = Thread {
        id: id.clone(),
        kindergarten_id: a.kindergarten_id.clone(),
        child_id,
        subject,
        broadcast: false,
        urgent: false,
        created_at: now,
    };
    let msg = Message {
        id: first,
        thread_id: id.clone(),
        sender: Sender::Guardian {
            id: GuardianId::from(a.me),
        },
        body,
        sent_at: now,
        read_at: Some(now),
    };
    cache::upsert(c, &Entity::Message(msg), a.me, fx)?;
    queue_create(
        c,
        a,
        fx,
        OutboxKind::StartThread,
        id.as_str(),
        Entity::Thread(thread),
        paths::THREADS,
        &cmd,
    )?;
    Ok(id)
}

fn existing_thread(c: &Connection, id: &ThreadId) -> Result<Thread> {
    cache::get::<Thread>(c, EntityKind::Thread, id.as_str())?.ok_or(KidplanError::NotFound)
}

pub fn send_message(
    c: &Connection,
    a: &Actor,
    fx: &mut Effects,
    thread_id: ThreadId,
    body: String,
) -> Result<MessageId> {
    let body = check_required("body", &body, MAX_TEXT_CHARS)?;
    let thread = existing_thread(c, &thread_id)?;
    if thread.broadcast {
        return Err(KidplanError::invalid("thread_id"));
    }
    let id = MessageId(new_id());
    let now = Timestamp::now();
    let cmd = SendMessage {
        id: id.clone(),
        body: body.clone(),
    };
    let msg = Message {
        id: id.clone(),
        thread_id: thread_id.clone(),
        sender: Sender::Guardian {
            id: GuardianId::from(a.me),
        },
        body,
        sent_at: now,
        read_at: Some(now),
    };
    queue(
        c,
        a,
        fx,
        OutboxKind::SendMessage,
        thread_id.as_str(),
        Some(Entity::Message(msg)),
        None,
        id.as_str(),
        Method::POST,
        paths::fill(paths::THREAD_MESSAGES, &[("id", thread_id.as_str())]),
        Some(json(&cmd)?),
        Some(EntityKind::Message),
    )?;
    Ok(id)
}

/// Marks every message of the thread read; a no-op when nothing the server knows is unread.
pub fn mark_read(c: &Connection, a: &Actor, fx: &mut Effects, thread_id: ThreadId) -> Result<()> {
    existing_thread(c, &thread_id)?;
    let unread: Vec<Message> = cache::list(
        c,
        "SELECT data FROM messages WHERE ref_id = ?1 AND flag = 1 ORDER BY at, id",
        [thread_id.as_str()],
    )?;
    let Some(last) = unread.last() else {
        return Ok(());
    };
    let up_to = last.id.clone();
    let now = Timestamp::now();
    for m in unread {
        cache::upsert(
            c,
            &Entity::Message(Message {
                read_at: Some(now),
                ..m
            }),
            a.me,
            fx,
        )?;
    }
    queue(
        c,
        a,
        fx,
        OutboxKind::MarkRead,
        thread_id.as_str(),
        None,
        None,
        thread_id.as_str(),
        Method::POST,
        paths::fill(paths::THREAD_READ, &[("id", thread_id.as_str())]),
        Some(json(&MarkRead { up_to })?),
        None,
    )?;
    fx.touch(Collection::Threads);
    fx.touch(Collection::Messages);
    Ok(())
}

fn wire_name<T: serde::Serialize>(v: &T) -> Result<String> {
    value(v)?
        .as_str()
        .map(str::to_owned)
        .ok_or(KidplanError::Internal)
}

pub fn change_consent(
    c: &Connection,
    a: &Actor,
    fx: &mut Effects,
    child_id: ChildId,
    kind: ConsentKind,
    state: ConsentState,
) -> Result<()> {
    check_child(c, &child_id)?;
    if kind == ConsentKind::Unknown {
        return Err(KidplanError::invalid("kind"));
    }
    if state == ConsentState::Unknown {
        return Err(KidplanError::invalid("state"));
    }
    let kind_s = wire_name(&kind)?;
    let path = paths::fill(
        paths::CONSENT,
        &[("child_id", child_id.as_str()), ("kind", &kind_s)],
    );
    let body = Some(json(&ChangeConsent { state })?);
    let existing: Option<Consent> = cache::list(
        c,
        "SELECT data FROM consents WHERE child_id = ?1 AND ref_id = ?2",
        [child_id.as_str(), kind_s.as_str()],
    )?
    .into_iter()
    .next();
    match existing {
        Some(prev) => {
            let mut next = prev.clone();
            next.state = state;
            next.history.push(ConsentChange {
                state,
                changed_by: GuardianId::from(a.me),
                changed_at: Timestamp::now(),
            });
            let id = prev.id.to_string();
            queue(
                c,
                a,
                fx,
                OutboxKind::ChangeConsent,
                &id,
                Some(Entity::Consent(next)),
                Some(value(&prev)?),
                &id,
                Method::PUT,
                path,
                body,
                Some(EntityKind::Consent),
            )
        }
        None => {
            // No consent row yet: the server makes it; it shows after the answer.
            let target = format!("consent/{child_id}/{kind_s}");
            queue(
                c,
                a,
                fx,
                OutboxKind::ChangeConsent,
                &target,
                None,
                None,
                &target,
                Method::PUT,
                path,
                body,
                Some(EntityKind::Consent),
            )
        }
    }
}

fn check_contact_field(field: &str, v: &Option<String>, max: usize) -> Result<Option<String>> {
    match v {
        None => Ok(None),
        Some(s) => {
            let t = s.trim();
            if t.chars().count() > max || t.chars().any(char::is_control) {
                return Err(KidplanError::invalid(field));
            }
            Ok(Some(t.to_owned()))
        }
    }
}

pub fn update_contact(c: &Connection, a: &Actor, fx: &mut Effects, u: UpdateContact) -> Result<()> {
    let u = UpdateContact {
        email: check_contact_field("email", &u.email, 254)?,
        phone: check_contact_field("phone", &u.phone, 32)?,
        address: check_contact_field("address", &u.address, 200)?,
        postal_code: check_contact_field("postal_code", &u.postal_code, 16)?,
    };
    if let Some(e) = &u.email
        && !e.is_empty()
        && !e.contains('@')
    {
        return Err(KidplanError::invalid("email"));
    }
    if let Some(p) = &u.phone
        && !p.is_empty()
        && !p
            .chars()
            .all(|ch| ch.is_ascii_digit() || matches!(ch, '+' | ' ' | '-'))
    {
        return Err(KidplanError::invalid("phone"));
    }
    let prev: Option<Guardian> = cache::get(c, EntityKind::Guardian, a.me)?;
    let apply = |old: Option<String>, new: &Option<String>| match new {
        None => old,
        Some(s) if s.is_empty() => None,
        Some(s) => Some(s.clone()),
    };
    let (entity, prev_v) = match prev {
        Some(g) => {
            let next = Guardian {
                email: apply(g.email.clone(), &u.email),
                phone: apply(g.phone.clone(), &u.phone),
                address: apply(g.address.clone(), &u.address),
                postal_code: apply(g.postal_code.clone(), &u.postal_code),
                ..g.clone()
            };
            (Some(Entity::Guardian(next)), Some(value(&g)?))
        }
        None => (None, None),
    };
    queue(
        c,
        a,
        fx,
        OutboxKind::UpdateContact,
        "me/contact",
        entity,
        prev_v,
        a.me,
        Method::PUT,
        paths::ME_CONTACT.into(),
        Some(json(&u)?),
        Some(EntityKind::Guardian),
    )
}

pub fn update_notification_preferences(
    c: &Connection,
    a: &Actor,
    fx: &mut Effects,
    prefs: Vec<NotificationPreference>,
) -> Result<()> {
    for p in &prefs {
        check_child(c, &p.child_id)?;
        if p.category == NotificationCategory::Unknown {
            return Err(KidplanError::invalid("category"));
        }
        if p.delivery == Delivery::Unknown {
            return Err(KidplanError::invalid("delivery"));
        }
    }
    let prev: Option<NotificationPreferences> =
        cache::get(c, EntityKind::NotificationPreferences, a.me)?;
    let mut next = prev.clone().unwrap_or(NotificationPreferences {
        guardian_id: GuardianId::from(a.me),
        preferences: vec![],
    });
    for p in &prefs {
        next.preferences
            .retain(|x| !(x.child_id == p.child_id && x.category == p.category));
        let delivery = if p.category == NotificationCategory::Urgent {
            Delivery::On
        } else {
            p.delivery
        };
        next.preferences.push(NotificationPreference {
            delivery,
            ..p.clone()
        });
    }
    let prev_v = match &prev {
        Some(p) => Some(value(p)?),
        None => None,
    };
    let body = json(&UpdateNotificationPreferences { preferences: prefs })?;
    queue(
        c,
        a,
        fx,
        OutboxKind::UpdateNotificationPreferences,
        "me/notification-preferences",
        Some(Entity::NotificationPreferences(next)),
        prev_v,
        a.me,
        Method::PUT,
        paths::ME_NOTIFICATION_PREFERENCES.into(),
        Some(body),
        Some(EntityKind::NotificationPreferences),
    )
}

pub fn request_privacy(
    c: &Connection,
    a: &Actor,
    fx: &mut Effects,
    right: PrivacyRight,
    note: Option<String>,
) -> Result<PrivacyRequestId> {
    if right == PrivacyRight::Unknown {
        return Err(KidplanError::invalid("right"));
    }
    let note = check_text("note", &note)?;
    let id = PrivacyRequestId(new_id());
    let cmd = CreatePrivacyRequest {
        id: id.clone(),
        right,
        note: note.clone(),
    };
    let req = PrivacyRequest {
        id: id.clone(),
        guardian_id: GuardianId::from(a.me),
        right,
        note,
        status: PrivacyRequestStatus::Received,
        response: None,
        created_at: Timestamp::now(),
        handled_at: None,
    };
    queue_create(
        c,
        a,
        fx,
        OutboxKind::RequestPrivacy,
        id.as_str(),
        Entity::PrivacyRequest(req),
        paths::PRIVACY_REQUESTS,
        &cmd,
    )?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reads::{self, LocalState};
    use crate::store::{Store, new_key};

    fn setup() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = Store::open(&dir.path().join("cache.db"), &new_key()).expect("open");
        s.write(|tx| {
            let child = Child {
                id: "c1".into(),
                kindergarten_id: "k1".into(),
                department_id: "d1".into(),
                first_name: "Ola".into(),
                last_name: "Nordmann".into(),
                birth_date: Day::from_ymd(2021, 1, 2).ok_or(KidplanError::Internal)?,
                info: None,
            };
            cache::upsert(tx, &Entity::Child(child), "g1", &mut Effects::default())?;
            let thread = Thread {
                id: "t1".into(),
                kindergarten_id: "k1".into(),
                child_id: None,
                subject: "Hei".into(),
                broadcast: false,
                urgent: false,
                created_at: Timestamp(1),
            };
            cache::upsert(tx, &Entity::Thread(thread), "g1", &mut Effects::default())?;
            let m = Message {
                id: "m1".into(),
                thread_id: "t1".into(),
                sender: Sender::Staff { id: "s1".into() },
                body: "Velkommen".into(),
                sent_at: Timestamp(2),
                read_at: None,
            };
            cache::upsert(tx, &Entity::Message(m), "g1", &mut Effects::default())?;
            Ok(())
        })
        .expect("seed");
        (dir, s)
    }

    fn day(d: u32) -> Day {
        Day::from_ymd(2026, 12, d).expect("day")
    }

    fn act<T>(
        s: &Store,
        f: impl FnOnce(&Connection, &Actor, &mut Effects) -> Result<T>,
    ) -> Result<T> {
        let kg = KindergartenId::from("k1");
        let a = Actor {
            me: "g1",
            kindergarten_id: &kg,
        };
        s.write(|tx| f(tx, &a, &mut Effects::default()))
    }

    fn outbox_len(s: &Store) -> usize {
        outbox::list(&s.conn().expect("c")).expect("list").len()
    }

    #[test]
    fn invalid_input_is_refused_before_anything_is_queued() {
        let (_d, s) = setup();
        let r = act(&s, |c, a, fx| {
            report_absence(
                c,
                a,
                fx,
                "nope".into(),
                day(1),
                day(2),
                AbsenceReason::Sick,
                None,
            )
        });
        assert_eq!(r.err(), Some(KidplanError::invalid("child_id")));
        let r = act(&s, |c, a, fx| {
            report_absence(
                c,
                a,
                fx,
                "c1".into(),
                day(3),
                day(2),
                AbsenceReason::Sick,
                None,
            )
        });
        assert_eq!(r.err(), Some(KidplanError::invalid("last_day")));
        let r = act(&s, |c, a, fx| {
            send_message(c, a, fx, "t1".into(), "   ".into())
        });
        assert_eq!(r.err(), Some(KidplanError::invalid("body")));
        let r = act(&s, |c, a, fx| {
            send_message(c, a, fx, "t9".into(), "hei".into())
        });
        assert_eq!(r.err(), Some(KidplanError::NotFound));
        let r = act(&s, |c, a, fx| {
            start_thread(c, a, fx, None, "".into(), "b".into())
        });
        assert_eq!(r.err(), Some(KidplanError::invalid("subject")));
        let long = "x".repeat(MAX_TEXT_CHARS + 1);
        let r = act(&s, |c, a, fx| {
            register_holiday(c, a, fx, "c1".into(), day(1), day(2), Some(long))
        });
        assert_eq!(r.err(), Some(KidplanError::invalid("note")));
        let r = act(&s, |c, a, fx| {
            update_contact(
                c,
                a,
                fx,
                UpdateContact {
                    email: Some("nope".into()),
                    ..Default::default()
                },
            )
        });
        assert_eq!(r.err(), Some(KidplanError::invalid("email")));
        assert_eq!(outbox_len(&s), 0);
        assert!(
            reads::absences(&s.conn().expect("c"), None)
                .expect("read")
                .is_empty()
        );
    }

    #[test]
    fn an_action_shows_at_once_as_pending_and_is_queued_in_order() {
        let (_d, s) = setup();
        let id = act(&s, |c, a, fx| {
            report_absence(
                c,
                a,
                fx,
                "c1".into(),
                day(1),
                day(2),
                AbsenceReason::Sick,
                Some(" feber ".into()),
            )
        })
        .expect("report");
        act(&s, |c, a, fx| {
            edit_absence(
                c,
                a,
                fx,
                id.clone(),
                day(1),
                day(3),
                AbsenceReason::Sick,
                None,
            )
        })
        .expect("edit");
        let mid = act(&s, |c, a, fx| {
            send_message(c, a, fx, "t1".into(), "Takk".into())
        })
        .expect("send");
        act(&s, |c, a, fx| mark_read(c, a, fx, "t1".into())).expect("read");
        let c = s.conn().expect("c");
        let abs = reads::absences(&c, None).expect("absences");
        assert_eq!(abs.len(), 1);
        assert_eq!(abs[0].local, LocalState::Pending);
        assert_eq!(abs[0].absence.last_day, day(3));
        assert_eq!(abs[0].absence.note, None);
        assert_eq!(abs[0].absence.reported_by.as_str(), "g1");
        let items = outbox::list(&c).expect("list");
        let kinds: Vec<_> = items.iter().map(|i| i.kind).collect();
        assert_eq!(
            kinds,
            vec![
                OutboxKind::ReportAbsence,
                OutboxKind::EditAbsence,
                OutboxKind::SendMessage,
                OutboxKind::MarkRead
            ]
        );
        assert_eq!(items[0].target, id.to_string());
        assert_eq!(items[2].target, "t1");
        assert!(
            items
                .iter()
                .all(|i| i.status == crate::outbox::OutboxStatus::Pending)
        );
        let keys: std::collections::HashSet<String> = c
            .prepare("SELECT idem_key FROM outbox")
            .expect("p")
            .query_map([], |r| r.get(0))
            .expect("q")
            .collect::<rusqlite::Result<_>>()
            .expect("keys");
        assert_eq!(keys.len(), 4);
        let th = reads::threads(&c).expect("threads");
        assert_eq!(th[0].unread_count, 0);
        assert_eq!(
            th[0].last_message.as_ref().map(|m| m.id.clone()),
            Some(mid.clone())
        );
        assert_eq!(th[0].local, LocalState::Pending);
        let msgs = reads::messages(&c, &"t1".into(), None, 1).expect("msgs");
        assert_eq!(msgs.len(), 1);
        assert_eq!(msgs[0].message.id, mid);
        let older =
            reads::messages(&c, &"t1".into(), Some(msgs[0].message.sent_at), 10).expect("older");
        assert_eq!(older.len(), 1);
    }

    #[test]
    fn a_rejected_create_is_marked_and_dismiss_rolls_it_back() {
        let (_d, s) = setup();
        let id = act(&s, |c, a, fx| {
            register_holiday(c, a, fx, "c1".into(), day(1), day(9), None)
        })
        .expect("holiday");
        s.write(|tx| {
            tx.execute(
                "UPDATE outbox SET status = 'rejected', reason = 'conflict: closed'",
                [],
            )?;
            Ok(())
        })
        .expect("reject");
        let c = s.conn().expect("c");
        let h = reads::holidays(&c, None).expect("holidays");
        assert_eq!(h[0].holiday.id, id);
        assert_eq!(
            h[0].local,
            LocalState::Rejected {
                reason: "conflict: closed".into()
            }
        );
        let seq = outbox::list(&c).expect("list")[0].id;
        drop(c);
        s.write(|tx| outbox::dismiss(tx, seq, &mut Effects::default()))
            .expect("dismiss");
        let c = s.conn().expect("c");
        assert!(reads::holidays(&c, None).expect("holidays").is_empty());
        assert!(outbox::list(&c).expect("list").is_empty());
    }

    #[test]
    fn consent_change_appends_history() {
        let (_d, s) = setup();
        s.write(|tx| {
            let consent = Consent {
                id: "co1".into(),
                child_id: "c1".into(),
                kind: ConsentKind::Trips,
                state: ConsentState::Denied,
                history: vec![],
            };
            cache::upsert(tx, &Entity::Consent(consent), "g1", &mut Effects::default())
        })
        .expect("seed");
        act(&s, |c, a, fx| {
            change_consent(
                c,
                a,
                fx,
                "c1".into(),
                ConsentKind::Trips,
                ConsentState::Granted,
            )
        })
        .expect("change");
        let c = s.conn().expect("c");
        let cs = reads::consents(&c, &"c1".into()).expect("consents");
        assert_eq!(cs[0].state, ConsentState::Granted);
        assert_eq!(cs[0].history.len(), 1);
        let items = outbox::list(&c).expect("list");
        assert_eq!(items[0].target, "co1");
    }
}
