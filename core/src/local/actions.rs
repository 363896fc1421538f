//! Parent actions: validate, then in ONE transaction keep the server's version of what the
//! action changes (`local::shadow`), write the parent's view, and queue the command in the
//! outbox with the entities it covers. Invalid input (`Invalid { field }`) or an unknown id
//! (`NotFound`) is reported before anything is written. New things get their ids here, on the
//! device.

use crate::error::{Error, Result};
use crate::local::cache::{self, Effects};
use crate::local::outbox::{self, NewItem, OutboxKind, Verb};
use crate::local::reminders;
use crate::local::shadow;
use crate::observers::Collection;
use crate::requests::{
    AbsenceChange, AbsenceReport, ContactChange, HolidayRegistration, NewThread,
};
use kidplan_api::commands::*;
use kidplan_api::model::*;
use kidplan_api::privacy::{
    CreatePrivacyRequest, PrivacyRequest, PrivacyRequestStatus, PrivacyRight,
};
use kidplan_api::reminders::{
    MAX_DAYS_BEFORE, ReminderKind, ReminderSetting, UpdateReminderSettings,
};
use kidplan_api::sync::{Entity, EntityKind};
use kidplan_api::*;
use rusqlite::Connection;

/// Who acts: the account's guardian and kindergarten.
pub struct Actor<'a> {
    /// The guardian's id.
    pub me: &'a str,
    /// The guardian's kindergarten.
    pub kindergarten_id: &'a KindergartenId,
}

/// Longest span of one absence or holiday, in days.
const MAX_SPAN_DAYS: i64 = 366;

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn check_text(field: &str, text: &Option<String>) -> Result<Option<String>> {
    match text.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) if t.chars().count() > MAX_TEXT_CHARS => Err(Error::invalid(field)),
        Some(t) => Ok(Some(t.to_owned())),
    }
}

fn check_required(field: &str, text: &str, max: usize) -> Result<String> {
    let t = text.trim();
    if t.is_empty() || t.chars().count() > max {
        return Err(Error::invalid(field));
    }
    Ok(t.to_owned())
}

/// Refuses an action that needs parental responsibility for a child the guardian's link says
/// they have none for (the server's rule, `server/src/responsibility.rs`).
fn check_responsibility(c: &Connection, a: &Actor, child: &ChildId) -> Result<()> {
    let without = crate::local::reads::guardian_relations(c)?.iter().any(|l| {
        l.guardian_id.as_str() == a.me && &l.child_id == child && !l.parental_responsibility
    });
    if without {
        Err(Error::NoParentalResponsibility)
    } else {
        Ok(())
    }
}

fn check_child(c: &Connection, child: &ChildId) -> Result<()> {
    if cache::exists(c, EntityKind::Child, child.as_str())? {
        Ok(())
    } else {
        Err(Error::invalid("child_id"))
    }
}

/// A day named by the parent: in the years the contract accepts (a day a shell could not
/// express arrives as `Day::UNREADABLE` and is refused here, naming its field).
pub fn check_day(field: &str, d: Day) -> Result<Day> {
    if d.in_range() {
        Ok(d)
    } else {
        Err(Error::invalid(field))
    }
}

fn check_days(first: Day, last: Day) -> Result<()> {
    check_day("first_day", first)?;
    check_day("last_day", last)?;
    if last < first || (last.0 - first.0).num_days() > MAX_SPAN_DAYS {
        return Err(Error::invalid("last_day"));
    }
    Ok(())
}

fn check_reason(r: AbsenceReason) -> Result<()> {
    if r == AbsenceReason::Unknown {
        return Err(Error::invalid("reason"));
    }
    Ok(())
}

/// A command to queue and the parent's view it shows meanwhile.
struct Queued<'a> {
    kind: OutboxKind,
    target: &'a str,
    /// The id of the thing created or changed (the outbox item's `entity_id`).
    entity_id: &'a str,
    verb: Verb,
    path: String,
    body: Option<String>,
    /// The kind of the server's answer.
    response_kind: Option<EntityKind>,
    /// The entities as the parent now sees them (written to the cache; their server versions
    /// are held back until the command ends).
    shows: Vec<Entity>,
}

/// Keeps the server's versions of what the command changes, writes the parent's view, and
/// queues the command with the entities it covers.
fn queue(c: &Connection, a: &Actor, fx: &mut Effects, q: Queued) -> Result<()> {
    let mut covers = Vec::with_capacity(q.shows.len());
    for e in &q.shows {
        let (id, _) = cache::id_and_json(e)?;
        shadow::remember(c, e.kind(), &id)?;
        cache::upsert(c, e, a.me, fx)?;
        covers.push((e.kind(), id));
    }
    outbox::enqueue(
        c,
        NewItem {
            kind: q.kind,
            target: q.target.to_owned(),
            entity_id: q.entity_id.to_owned(),
            verb: q.verb,
            path: q.path,
            body: q.body,
            response_kind: q.response_kind,
            covers,
        },
    )?;
    fx.touch(Collection::Outbox);
    Ok(())
}

/// Queues the `POST` of `cmd` to `path` creating `entity` (its id is the target; the answer is
/// an entity of the same kind).
fn queue_create(
    c: &Connection,
    a: &Actor,
    fx: &mut Effects,
    kind: OutboxKind,
    entity: Entity,
    path: &str,
    cmd: &impl serde::Serialize,
) -> Result<()> {
    let (id, _) = cache::id_and_json(&entity)?;
    queue(
        c,
        a,
        fx,
        Queued {
            kind,
            target: &id,
            entity_id: &id,
            verb: Verb::Post,
            path: path.to_owned(),
            body: Some(serde_json::to_string(cmd)?),
            response_kind: Some(entity.kind()),
            shows: vec![entity],
        },
    )
}

/// Reports an absence.
pub fn report_absence(
    c: &Connection,
    a: &Actor,
    fx: &mut Effects,
    r: AbsenceReport,
) -> Result<AbsenceId> {
    check_child(c, &r.child_id)?;
    check_days(r.first_day, r.last_day)?;
    check_reason(r.reason)?;
    let note = check_text("note", &r.note)?;
    let id = AbsenceId(new_id());
    let cmd = ReportAbsence {
        id: id.clone(),
        child_id: r.child_id.clone(),
        first_day: r.first_day,
        last_day: r.last_day,
        reason: r.reason,
        note: note.clone(),
    };
    let absence = Absence {
        id: id.clone(),
        child_id: r.child_id,
        first_day: r.first_day,
        last_day: r.last_day,
        reason: r.reason,
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
        Entity::Absence(absence),
        paths::ABSENCES,
        &cmd,
    )?;
    Ok(id)
}

fn existing_absence(c: &Connection, id: &AbsenceId) -> Result<Absence> {
    cache::get::<Absence>(c, EntityKind::Absence, id.as_str())?.ok_or(Error::NotFound)
}

/// Changes an absence report.
pub fn edit_absence(
    c: &Connection,
    a: &Actor,
    fx: &mut Effects,
    id: AbsenceId,
    ch: AbsenceChange,
) -> Result<()> {
    let prev = existing_absence(c, &id)?;
    check_days(ch.first_day, ch.last_day)?;
    check_reason(ch.reason)?;
    let note = check_text("note", &ch.note)?;
    let cmd = EditAbsence {
        first_day: ch.first_day,
        last_day: ch.last_day,
        reason: ch.reason,
        note: note.clone(),
    };
    let next = Absence {
        first_day: ch.first_day,
        last_day: ch.last_day,
        reason: ch.reason,
        note,
        ..prev
    };
    queue(
        c,
        a,
        fx,
        Queued {
            kind: OutboxKind::EditAbsence,
            target: id.as_str(),
            entity_id: id.as_str(),
            verb: Verb::Put,
            path: paths::fill(paths::ABSENCE, &[("id", id.as_str())]),
            body: Some(serde_json::to_string(&cmd)?),
            response_kind: Some(EntityKind::Absence),
            shows: vec![Entity::Absence(next)],
        },
    )
}

/// Withdraws an absence report.
pub fn withdraw_absence(c: &Connection, a: &Actor, fx: &mut Effects, id: AbsenceId) -> Result<()> {
    let prev = existing_absence(c, &id)?;
    let next = Absence {
        status: AbsenceStatus::Withdrawn,
        ..prev
    };
    queue(
        c,
        a,
        fx,
        Queued {
            kind: OutboxKind::WithdrawAbsence,
            target: id.as_str(),
            entity_id: id.as_str(),
            verb: Verb::Delete,
            path: paths::fill(paths::ABSENCE, &[("id", id.as_str())]),
            body: None,
            response_kind: Some(EntityKind::Absence),
            shows: vec![Entity::Absence(next)],
        },
    )
}

/// Registers a holiday.
pub fn register_holiday(
    c: &Connection,
    a: &Actor,
    fx: &mut Effects,
    r: HolidayRegistration,
) -> Result<HolidayId> {
    check_child(c, &r.child_id)?;
    check_days(r.first_day, r.last_day)?;
    let note = check_text("note", &r.note)?;
    let id = HolidayId(new_id());
    let cmd = RegisterHoliday {
        id: id.clone(),
        child_id: r.child_id.clone(),
        first_day: r.first_day,
        last_day: r.last_day,
        note: note.clone(),
    };
    let h = Holiday {
        id: id.clone(),
        child_id: r.child_id,
        first_day: r.first_day,
        last_day: r.last_day,
        note,
        registered_by: GuardianId::from(a.me),
    };
    queue_create(
        c,
        a,
        fx,
        OutboxKind::RegisterHoliday,
        Entity::Holiday(h),
        paths::HOLIDAYS,
        &cmd,
    )?;
    Ok(id)
}

/// Starts a conversation with its first message.
pub fn start_thread(c: &Connection, a: &Actor, fx: &mut Effects, t: NewThread) -> Result<ThreadId> {
    if let Some(ch) = &t.child_id {
        check_child(c, ch)?;
    }
    let subject = check_required("subject", &t.subject, MAX_SUBJECT_CHARS)?;
    let body = check_required("body", &t.body, MAX_TEXT_CHARS)?;
    let id = ThreadId(new_id());
    let first = MessageId(new_id());
    let now = Timestamp::now();
    let cmd = StartThread {
        id: id.clone(),
        child_id: t.child_id.clone(),
        subject: subject.clone(),
        first_message_id: first.clone(),
        body: body.clone(),
    };
    let thread = Thread {
        id: id.clone(),
        kindergarten_id: a.kindergarten_id.clone(),
        child_id: t.child_id,
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
    queue(
        c,
        a,
        fx,
        Queued {
            kind: OutboxKind::StartThread,
            target: id.as_str(),
            entity_id: id.as_str(),
            verb: Verb::Post,
            path: paths::THREADS.to_owned(),
            body: Some(serde_json::to_string(&cmd)?),
            response_kind: Some(EntityKind::Thread),
            shows: vec![Entity::Thread(thread), Entity::Message(msg)],
        },
    )?;
    Ok(id)
}

fn existing_thread(c: &Connection, id: &ThreadId) -> Result<Thread> {
    cache::get::<Thread>(c, EntityKind::Thread, id.as_str())?.ok_or(Error::NotFound)
}

/// Sends a message in a conversation (not in a broadcast).
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
        return Err(Error::invalid("thread_id"));
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
        Queued {
            kind: OutboxKind::SendMessage,
            target: thread_id.as_str(),
            entity_id: id.as_str(),
            verb: Verb::Post,
            path: paths::fill(paths::THREAD_MESSAGES, &[("id", thread_id.as_str())]),
            body: Some(serde_json::to_string(&cmd)?),
            response_kind: Some(EntityKind::Message),
            shows: vec![Entity::Message(msg)],
        },
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
    let shows = unread
        .into_iter()
        .map(|m| {
            Entity::Message(Message {
                read_at: Some(now),
                ..m
            })
        })
        .collect();
    queue(
        c,
        a,
        fx,
        Queued {
            kind: OutboxKind::MarkRead,
            target: thread_id.as_str(),
            entity_id: thread_id.as_str(),
            verb: Verb::Post,
            path: paths::fill(paths::THREAD_READ, &[("id", thread_id.as_str())]),
            body: Some(serde_json::to_string(&MarkRead { up_to })?),
            response_kind: None,
            shows,
        },
    )?;
    fx.touch(Collection::Threads);
    Ok(())
}

fn wire_name<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_value(v)?
        .as_str()
        .map(str::to_owned)
        .ok_or(Error::Bug("enum without a wire name"))
}

/// Gives or withdraws a consent for a child.
pub fn change_consent(
    c: &Connection,
    a: &Actor,
    fx: &mut Effects,
    child_id: ChildId,
    kind: ConsentKind,
    state: ConsentState,
) -> Result<()> {
    check_child(c, &child_id)?;
    check_responsibility(c, a, &child_id)?;
    if kind == ConsentKind::Unknown {
        return Err(Error::invalid("kind"));
    }
    if state == ConsentState::Unknown {
        return Err(Error::invalid("state"));
    }
    let kind_s = wire_name(&kind)?;
    let path = paths::fill(
        paths::CONSENT,
        &[("child_id", child_id.as_str()), ("kind", &kind_s)],
    );
    let body = Some(serde_json::to_string(&ChangeConsent { state })?);
    let existing: Option<Consent> = cache::list(
        c,
        "SELECT data FROM consents WHERE child_id = ?1 AND ref_id = ?2",
        [child_id.as_str(), kind_s.as_str()],
    )?
    .into_iter()
    .next();
    // Without a consent row yet the server makes one; it shows with the answer.
    let (target, shows) = match existing {
        Some(prev) => {
            let id = prev.id.to_string();
            let mut next = prev;
            next.state = state;
            next.history.push(ConsentChange {
                state,
                changed_by: GuardianId::from(a.me),
                changed_at: Timestamp::now(),
            });
            (id, vec![Entity::Consent(next)])
        }
        None => (format!("consent/{child_id}/{kind_s}"), vec![]),
    };
    queue(
        c,
        a,
        fx,
        Queued {
            kind: OutboxKind::ChangeConsent,
            target: &target,
            entity_id: &target,
            verb: Verb::Put,
            path,
            body,
            response_kind: Some(EntityKind::Consent),
            shows,
        },
    )
}

fn check_contact_field(field: &str, v: &Option<String>, max: usize) -> Result<Option<String>> {
    match v {
        None => Ok(None),
        Some(s) => {
            let t = s.trim();
            if t.chars().count() > max || t.chars().any(char::is_control) {
                return Err(Error::invalid(field));
            }
            Ok(Some(t.to_owned()))
        }
    }
}

/// The guardian's free text: at most [`MAX_GUARDIAN_INFO_CHARS`] characters, line breaks
/// allowed.
fn check_info(v: &Option<String>) -> Result<Option<String>> {
    match v {
        Some(t) if t.chars().count() > MAX_GUARDIAN_INFO_CHARS => Err(Error::invalid("info")),
        Some(t) => Ok(Some(t.trim().to_owned())),
        None => Ok(None),
    }
}

/// A corrected name: trimmed, not blank, at most [`MAX_NAME_CHARS`] characters.
fn check_name(field: &str, v: &Option<String>) -> Result<Option<String>> {
    match check_contact_field(field, v, MAX_NAME_CHARS)? {
        Some(n) if n.is_empty() => Err(Error::invalid(field)),
        n => Ok(n),
    }
}

/// Changes the guardian's own contact details, name and relations to their children.
pub fn update_contact(c: &Connection, a: &Actor, fx: &mut Effects, u: ContactChange) -> Result<()> {
    let u = UpdateContact {
        email: check_contact_field("email", &u.email, 254)?,
        phone: check_contact_field("phone", &u.phone, 32)?,
        address: check_contact_field("address", &u.address, 200)?,
        postal_code: check_contact_field("postal_code", &u.postal_code, 16)?,
        info: check_info(&u.info)?,
        first_name: check_name("first_name", &u.first_name)?,
        last_name: check_name("last_name", &u.last_name)?,
        relations: u.relations,
    };
    if u.relations.len() > MAX_RELATION_CHANGES {
        return Err(Error::invalid("relations"));
    }
    let mine = crate::local::reads::guardian_relations(c)?;
    let mut links = Vec::new();
    for r in &u.relations {
        let link = mine
            .iter()
            .find(|l| l.guardian_id.as_str() == a.me && l.child_id == r.child_id);
        match link {
            Some(l)
                if r.relation != Relation::Unknown
                    && !links
                        .iter()
                        .any(|x: &GuardianChild| x.child_id == r.child_id) =>
            {
                links.push(GuardianChild {
                    relation: r.relation,
                    ..l.clone()
                });
            }
            _ => return Err(Error::invalid("relations")),
        }
    }
    if let Some(e) = &u.email
        && !e.is_empty()
        && !e.contains('@')
    {
        return Err(Error::invalid("email"));
    }
    if let Some(p) = &u.phone
        && !p.is_empty()
        && !p
            .chars()
            .all(|ch| ch.is_ascii_digit() || matches!(ch, '+' | ' ' | '-'))
    {
        return Err(Error::invalid("phone"));
    }
    let removed_or_kept = |old: Option<String>, new: &Option<String>| match new {
        Some(s) if s.is_empty() => None,
        _ => old,
    };
    let apply = |old: Option<String>, new: &Option<String>| match new {
        None => old,
        Some(s) if s.is_empty() => None,
        Some(s) => Some(s.clone()),
    };
    let shows = match cache::get::<Guardian>(c, EntityKind::Guardian, a.me)? {
        // A new e-mail or phone is the guardian's only once confirmed with the code sent to
        // it (`Kidplan::confirm_contact`); removing one is immediate.
        Some(g) => vec![Entity::Guardian(Guardian {
            email: removed_or_kept(g.email.clone(), &u.email),
            phone: removed_or_kept(g.phone.clone(), &u.phone),
            address: apply(g.address.clone(), &u.address),
            postal_code: apply(g.postal_code.clone(), &u.postal_code),
            info: apply(g.info.clone(), &u.info),
            first_name: u.first_name.clone().unwrap_or(g.first_name.clone()),
            last_name: u.last_name.clone().unwrap_or(g.last_name.clone()),
            ..g
        })],
        None => vec![],
    };
    let shows = shows
        .into_iter()
        .chain(links.into_iter().map(Entity::GuardianChild))
        .collect();
    queue(
        c,
        a,
        fx,
        Queued {
            kind: OutboxKind::UpdateContact,
            target: "me/contact",
            entity_id: a.me,
            verb: Verb::Put,
            path: paths::ME_CONTACT.into(),
            body: Some(serde_json::to_string(&u)?),
            response_kind: Some(EntityKind::Guardian),
            shows,
        },
    )
}

/// Changes the guardian's notification preferences (urgent alerts stay on).
pub fn update_notification_preferences(
    c: &Connection,
    a: &Actor,
    fx: &mut Effects,
    prefs: Vec<NotificationPreference>,
) -> Result<()> {
    for p in &prefs {
        check_child(c, &p.child_id)?;
        if p.category == NotificationCategory::Unknown {
            return Err(Error::invalid("category"));
        }
        if p.delivery == Delivery::Unknown {
            return Err(Error::invalid("delivery"));
        }
    }
    let mut next =
        cache::get::<NotificationPreferences>(c, EntityKind::NotificationPreferences, a.me)?
            .unwrap_or(NotificationPreferences {
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
    let body = serde_json::to_string(&UpdateNotificationPreferences { preferences: prefs })?;
    queue(
        c,
        a,
        fx,
        Queued {
            kind: OutboxKind::UpdateNotificationPreferences,
            target: "me/notification-preferences",
            entity_id: a.me,
            verb: Verb::Put,
            path: paths::ME_NOTIFICATION_PREFERENCES.into(),
            body: Some(body),
            response_kind: Some(EntityKind::NotificationPreferences),
            shows: vec![Entity::NotificationPreferences(next)],
        },
    )
}

/// Changes the guardian's reminder settings: the kinds listed are replaced, the others keep
/// theirs.
pub fn update_reminder_settings(
    c: &Connection,
    a: &Actor,
    fx: &mut Effects,
    settings: Vec<ReminderSetting>,
) -> Result<()> {
    if settings.is_empty() || settings.len() > 10 {
        return Err(Error::invalid("reminders"));
    }
    for r in &settings {
        if r.kind == ReminderKind::Unknown {
            return Err(Error::invalid("kind"));
        }
        if r.time_of_day().is_none() {
            return Err(Error::invalid("at"));
        }
        if r.days_before > MAX_DAYS_BEFORE {
            return Err(Error::invalid("days_before"));
        }
    }
    let mut next = reminders::settings(c, a.me)?;
    for r in &settings {
        next.reminders.retain(|x| x.kind != r.kind);
        next.reminders.push(r.clone());
    }
    let body = serde_json::to_string(&UpdateReminderSettings {
        reminders: settings,
    })?;
    queue(
        c,
        a,
        fx,
        Queued {
            kind: OutboxKind::UpdateReminderSettings,
            target: "me/reminder-settings",
            entity_id: a.me,
            verb: Verb::Put,
            path: paths::ME_REMINDER_SETTINGS.into(),
            body: Some(body),
            response_kind: Some(EntityKind::ReminderSettings),
            shows: vec![Entity::ReminderSettings(next)],
        },
    )
}

/// Asks the kindergarten to act on a privacy right (see [`crate::PrivacyAsk`]).
pub fn request_privacy(
    c: &Connection,
    a: &Actor,
    fx: &mut Effects,
    ask: crate::requests::PrivacyAsk,
) -> Result<PrivacyRequestId> {
    use kidplan_api::privacy::ObjectionTo;
    let right = ask.right;
    if right == PrivacyRight::Unknown {
        return Err(Error::invalid("right"));
    }
    let objection_ok = match (right, ask.objection) {
        (PrivacyRight::Objection, Some(o)) => o != ObjectionTo::Unknown,
        (PrivacyRight::Objection, None) => false,
        (_, o) => o.is_none(),
    };
    if !objection_ok {
        return Err(Error::invalid("objection"));
    }
    if ask.child_id.is_some() && right != PrivacyRight::Rectification {
        return Err(Error::invalid("child_id"));
    }
    if let Some(child) = &ask.child_id
        && !crate::local::reads::children(c)?
            .iter()
            .any(|k| &k.id == child)
    {
        return Err(Error::invalid("child_id"));
    }
    if let Some(child) = &ask.child_id {
        check_responsibility(c, a, child)?;
    }
    if ask.child_info.is_some() && ask.child_id.is_none() {
        return Err(Error::invalid("child_info"));
    }
    let note = check_text("note", &ask.note)?;
    let child_info = check_text("child_info", &ask.child_info)?;
    let id = PrivacyRequestId(new_id());
    let cmd = CreatePrivacyRequest {
        id: id.clone(),
        right,
        note: note.clone(),
        child_id: ask.child_id.clone(),
        objection: ask.objection,
        child_info: child_info.clone(),
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
        child_id: ask.child_id,
        objection: ask.objection,
        child_info,
    };
    queue_create(
        c,
        a,
        fx,
        OutboxKind::RequestPrivacy,
        Entity::PrivacyRequest(req),
        paths::PRIVACY_REQUESTS,
        &cmd,
    )?;
    Ok(id)
}
