//! The words of local notifications: parsing the content-free push payload and composing the
//! text, localised (nb, nn, en), from what is in the cache.
//!
//! Push providers never see personal data: the server sends `{"v":1,"kind":"sync","hint":..}`.
//! The device syncs, then this module turns the hinted entity, read from the local cache, into
//! the notification a parent sees. Nothing here does I/O.

use kidplan_api::model::{LogKind, NotificationCategory};
use kidplan_api::push::Locale;
use kidplan_api::reminders::ReminderKind;
use kidplan_api::sync::EntityKind;
use kidplan_api::{ChildId, Day, ThreadId};

/// Largest push payload accepted, in bytes (FCM's own limit is 4 KiB).
pub const MAX_PAYLOAD_BYTES: usize = 4096;
/// Characters of a message shown in a notification.
const PREVIEW_CHARS: usize = 120;

/// A notification for the shell to post.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct LocalNotification {
    /// A stable key of what it is about (`absence/<id>`, `reminder/calendar_event/<id>`, ...):
    /// the shell posts it under this tag (Android) or identifier (iOS), so the same
    /// notification, from a push or from a reminder scheduled offline, shows once.
    pub key: String,
    /// The channel (Android) or category (iOS) to post it in.
    pub category: NotificationCategory,
    /// The title line.
    pub title: String,
    /// The text under it.
    pub body: String,
    /// The child it is about, for the shell to open the right screen.
    pub child_id: Option<ChildId>,
    /// The thread it is about, for a message.
    pub thread_id: Option<ThreadId>,
}

/// What a valid push payload points at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PushHint {
    /// Something changed: sync, then show what changed.
    Sync {
        /// The entity kind and id of the change that caused the push, when the server gave one.
        target: Option<(EntityKind, String)>,
    },
    /// A reminder is due: sync, then show it (its text from the cache).
    Reminder {
        /// A calendar event, or an event's holiday registration deadline.
        kind: ReminderKind,
        /// The calendar event's id.
        event_id: String,
    },
}

/// Whether `id` is a plain id (letters, digits, `-`, `_`; at most 128).
fn plain_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Parses a push payload as the shell received it: the FCM data map (`{"v":"1",...}`, values as
/// strings) or the APNs dictionary (`{"aps":{..},"v":1,...}`), optionally under `"data"` (or
/// `"message"."data"`, the FCM request as the server sends it). A hint whose id is not a plain
/// id (letters, digits, `-`, `_`) is ignored.
/// `None` for anything that is not a Kidplan sync push (wrong version, unknown kind, too big,
/// not JSON): the shell then shows nothing.
pub fn parse_payload(raw: &str) -> Option<PushHint> {
    if raw.len() > MAX_PAYLOAD_BYTES {
        return None;
    }
    let value: serde_json::Value = serde_json::from_str(raw).ok()?;
    // The FCM HTTP v1 request shape (`{"message":{"data":..}}`) too, as a server records it.
    let outer = value
        .get("message")
        .filter(|m| m.is_object())
        .unwrap_or(&value);
    let obj = outer.get("data").filter(|d| d.is_object()).unwrap_or(outer);
    let version = match obj.get("v")? {
        serde_json::Value::Number(n) => n.as_u64()?,
        serde_json::Value::String(s) => s.parse().ok()?,
        _ => return None,
    };
    if version != 1 {
        return None;
    }
    let hint = obj
        .get("hint")
        .and_then(|h| h.as_str())
        .and_then(|h| h.split_once('/'))
        .filter(|(_, id)| plain_id(id));
    match obj.get("kind")?.as_str()? {
        "sync" => {
            let target = hint.and_then(|(kind, id)| {
                let kind: EntityKind = serde_json::from_value(kind.into()).ok()?;
                (kind != EntityKind::Unknown).then(|| (kind, id.to_owned()))
            });
            Some(PushHint::Sync { target })
        }
        "reminder" => {
            let (kind, id) = hint?;
            let kind: ReminderKind = serde_json::from_value(kind.into()).ok()?;
            (kind != ReminderKind::Unknown).then(|| PushHint::Reminder {
                kind,
                event_id: id.to_owned(),
            })
        }
        _ => None,
    }
}

/// What happened, with the cache's data needed to say it.
#[derive(Clone, Debug, PartialEq)]
pub enum NotificationEvent {
    /// The kindergarten acknowledged an absence report.
    AbsenceAcknowledged {
        /// The child.
        child_id: ChildId,
        /// The child's first name.
        child_first_name: String,
        /// The first day of the absence.
        first_day: Day,
        /// The last day of the absence.
        last_day: Day,
    },
    /// A new message in a conversation.
    Message {
        /// The conversation.
        thread_id: ThreadId,
        /// The child it is about, if one.
        child_id: Option<ChildId>,
        /// Who wrote it.
        sender_name: String,
        /// What they wrote.
        body: String,
    },
    /// A message to everyone (or a department).
    Broadcast {
        /// The broadcast's thread.
        thread_id: ThreadId,
        /// Its subject.
        subject: String,
        /// Its text.
        body: String,
        /// Urgent (closure, emergency): always shown.
        urgent: bool,
    },
    /// A new entry in a child's log.
    ChildLog {
        /// The child.
        child_id: ChildId,
        /// The child's first name.
        child_first_name: String,
        /// What kind of entry.
        kind: LogKind,
    },
    /// A new photo.
    Photo {
        /// The guardian's child in it, if one.
        child_id: Option<ChildId>,
        /// That child's first name.
        child_first_name: Option<String>,
    },
    /// A calendar event.
    Calendar {
        /// Its title.
        title: String,
        /// The day it starts.
        day: Day,
    },
    /// A reminder: an event soon, or a holiday registration deadline soon.
    Reminder {
        /// What it reminds of.
        kind: ReminderKind,
        /// The event's title.
        title: String,
        /// The event's first day, or the registration deadline.
        day: Day,
        /// Today (so the text can say "tomorrow").
        today: Day,
    },
}

impl NotificationEvent {
    /// The preference category that governs this event.
    pub fn category(&self) -> NotificationCategory {
        match self {
            NotificationEvent::AbsenceAcknowledged { .. } => {
                NotificationCategory::AbsenceAcknowledged
            }
            NotificationEvent::Message { .. } => NotificationCategory::Messages,
            NotificationEvent::Broadcast { urgent: true, .. } => NotificationCategory::Urgent,
            NotificationEvent::Broadcast { .. } => NotificationCategory::Messages,
            NotificationEvent::ChildLog { .. } => NotificationCategory::ChildLog,
            NotificationEvent::Photo { .. } => NotificationCategory::Photos,
            NotificationEvent::Calendar { .. } | NotificationEvent::Reminder { .. } => {
                NotificationCategory::Calendar
            }
        }
    }

    /// The child the event is about, if one.
    pub fn child_id(&self) -> Option<&ChildId> {
        match self {
            NotificationEvent::AbsenceAcknowledged { child_id, .. }
            | NotificationEvent::ChildLog { child_id, .. } => Some(child_id),
            NotificationEvent::Message { child_id, .. }
            | NotificationEvent::Photo { child_id, .. } => child_id.as_ref(),
            NotificationEvent::Broadcast { .. }
            | NotificationEvent::Calendar { .. }
            | NotificationEvent::Reminder { .. } => None,
        }
    }
}

/// Composes the notification for `event` in `locale`, posted under `key`.
pub fn compose(locale: Locale, event: &NotificationEvent, key: String) -> LocalNotification {
    let (title, body) = words(locale, event);
    let thread_id = match event {
        NotificationEvent::Message { thread_id, .. }
        | NotificationEvent::Broadcast { thread_id, .. } => Some(thread_id.clone()),
        _ => None,
    };
    LocalNotification {
        key,
        category: event.category(),
        title,
        body,
        child_id: event.child_id().cloned(),
        thread_id,
    }
}

fn preview(text: &str) -> String {
    let mut chars = text.chars();
    let head: String = chars.by_ref().take(PREVIEW_CHARS).collect();
    if chars.next().is_some() {
        format!("{head}…")
    } else {
        head
    }
}

fn day_range(locale: Locale, first: Day, last: Day) -> String {
    let fmt = |d: Day| d.0.format("%d.%m").to_string();
    if first == last {
        fmt(first)
    } else {
        let sep = match locale {
            Locale::En => " to ",
            Locale::Nb | Locale::Nn => "–",
        };
        format!("{}{sep}{}", fmt(first), fmt(last))
    }
}

fn log_kind(locale: Locale, kind: LogKind) -> &'static str {
    use LogKind::*;
    match (locale, kind) {
        (Locale::En, Meal) => "a meal",
        (Locale::En, Sleep) => "a nap",
        (Locale::En, Diaper) => "a nappy change",
        (Locale::En, Activity) => "an activity",
        (Locale::En, Note | Unknown) => "a note",
        (Locale::Nb | Locale::Nn, Meal) => "et måltid",
        (Locale::Nb, Sleep) => "en hvilestund",
        (Locale::Nn, Sleep) => "ei kvilestund",
        (Locale::Nb | Locale::Nn, Diaper) => "et bleieskift",
        (Locale::Nb | Locale::Nn, Activity) => "en aktivitet",
        (Locale::Nb | Locale::Nn, Note | Unknown) => "et notat",
    }
}

fn words(locale: Locale, event: &NotificationEvent) -> (String, String) {
    use NotificationEvent as E;
    match event {
        E::AbsenceAcknowledged {
            child_first_name,
            first_day,
            last_day,
            ..
        } => {
            let days = day_range(locale, *first_day, *last_day);
            match locale {
                Locale::Nb => (
                    "Fravær bekreftet".into(),
                    format!("Barnehagen har bekreftet fraværet til {child_first_name} ({days})."),
                ),
                Locale::Nn => (
                    "Fråvær stadfesta".into(),
                    format!("Barnehagen har stadfesta fråværet til {child_first_name} ({days})."),
                ),
                Locale::En => (
                    "Absence acknowledged".into(),
                    format!("The kindergarten acknowledged {child_first_name}'s absence ({days})."),
                ),
            }
        }
        E::Message {
            sender_name, body, ..
        } => {
            let title = match locale {
                Locale::Nb => format!("Ny melding fra {sender_name}"),
                Locale::Nn => format!("Ny melding frå {sender_name}"),
                Locale::En => format!("New message from {sender_name}"),
            };
            (title, preview(body))
        }
        E::Broadcast {
            subject,
            body,
            urgent,
            ..
        } => {
            let title = match (locale, urgent) {
                (Locale::Nb | Locale::Nn, true) => format!("Viktig: {subject}"),
                (Locale::En, true) => format!("Urgent: {subject}"),
                (_, false) => subject.clone(),
            };
            (title, preview(body))
        }
        E::ChildLog {
            child_first_name,
            kind,
            ..
        } => {
            let what = log_kind(locale, *kind);
            match locale {
                Locale::Nb => (
                    "Barnelogg".into(),
                    format!("Ny registrering for {child_first_name}: {what}."),
                ),
                Locale::Nn => (
                    "Barnelogg".into(),
                    format!("Ny registrering for {child_first_name}: {what}."),
                ),
                Locale::En => (
                    "Child log".into(),
                    format!("New entry for {child_first_name}: {what}."),
                ),
            }
        }
        E::Photo {
            child_first_name, ..
        } => match (locale, child_first_name) {
            (Locale::Nb, Some(n)) => ("Nye bilder".into(), format!("Nye bilder av {n}.")),
            (Locale::Nn, Some(n)) => ("Nye bilete".into(), format!("Nye bilete av {n}.")),
            (Locale::En, Some(n)) => ("New photos".into(), format!("New photos of {n}.")),
            (Locale::Nb, None) => ("Nye bilder".into(), "Barnehagen har delt bilder.".into()),
            (Locale::Nn, None) => ("Nye bilete".into(), "Barnehagen har delt bilete.".into()),
            (Locale::En, None) => (
                "New photos".into(),
                "The kindergarten shared photos.".into(),
            ),
        },
        E::Calendar { title, day } => {
            let date = day.0.format("%d.%m.%Y");
            match locale {
                Locale::Nb => ("Ny hendelse".into(), format!("{title}, {date}")),
                Locale::Nn => ("Ny hending".into(), format!("{title}, {date}")),
                Locale::En => ("New event".into(), format!("{title}, {date}")),
            }
        }
        E::Reminder {
            kind,
            title,
            day,
            today,
        } => reminder_words(locale, *kind, title, *day, *today),
    }
}

/// "today", "tomorrow" or the date.
fn when(locale: Locale, day: Day, today: Day) -> String {
    match ((day.0 - today.0).num_days(), locale) {
        (0, Locale::Nb | Locale::Nn) => "i dag".into(),
        (0, Locale::En) => "today".into(),
        (1, Locale::Nb) => "i morgen".into(),
        (1, Locale::Nn) => "i morgon".into(),
        (1, Locale::En) => "tomorrow".into(),
        (_, Locale::En) => format!("on {}", day.0.format("%d.%m")),
        (_, _) => day.0.format("%d.%m").to_string(),
    }
}

fn reminder_words(
    locale: Locale,
    kind: ReminderKind,
    title: &str,
    day: Day,
    today: Day,
) -> (String, String) {
    let when = when(locale, day, today);
    match (kind, locale) {
        (ReminderKind::HolidayDeadline, Locale::Nb) => (
            "Husk ferieregistreringen".into(),
            format!("Fristen for å registrere ferie ({title}) er {when}."),
        ),
        (ReminderKind::HolidayDeadline, Locale::Nn) => (
            "Hugs ferieregistreringa".into(),
            format!("Fristen for å registrere ferie ({title}) er {when}."),
        ),
        (ReminderKind::HolidayDeadline, Locale::En) => (
            "Holiday registration".into(),
            format!("The deadline to register holidays ({title}) is {when}."),
        ),
        (_, Locale::Nb) => ("Påminnelse".into(), format!("{title} {when}.")),
        (_, Locale::Nn) => ("Påminning".into(), format!("{title} {when}.")),
        (_, Locale::En) => ("Reminder".into(), format!("{title} {when}.")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_fcm_and_apns_payloads() {
        let fcm = r#"{"v":"1","kind":"sync","hint":"absence/a-1"}"#;
        assert_eq!(
            parse_payload(fcm),
            Some(PushHint::Sync {
                target: Some((EntityKind::Absence, "a-1".into()))
            })
        );
        let apns = r#"{"aps":{"content-available":1},"data":{"v":1,"kind":"sync"}}"#;
        assert_eq!(parse_payload(apns), Some(PushHint::Sync { target: None }));
        let unknown_hint = r#"{"v":1,"kind":"sync","hint":"hologram/x"}"#;
        assert_eq!(
            parse_payload(unknown_hint),
            Some(PushHint::Sync { target: None })
        );
        let odd_id = r#"{"v":1,"kind":"sync","hint":"absence/../x"}"#;
        assert_eq!(parse_payload(odd_id), Some(PushHint::Sync { target: None }));
        let fcm_request =
            r#"{"message":{"token":"t","data":{"v":"1","kind":"sync","hint":"message/m_2"}}}"#;
        assert_eq!(
            parse_payload(fcm_request),
            Some(PushHint::Sync {
                target: Some((EntityKind::Message, "m_2".into()))
            })
        );
        let reminder = r#"{"v":"1","kind":"reminder","hint":"holiday_deadline/e-1"}"#;
        assert_eq!(
            parse_payload(reminder),
            Some(PushHint::Reminder {
                kind: ReminderKind::HolidayDeadline,
                event_id: "e-1".into()
            })
        );
        for bad in [
            r#"{"v":1,"kind":"reminder"}"#,
            r#"{"v":1,"kind":"reminder","hint":"birthday/e-1"}"#,
            r#"{"v":1,"kind":"reminder","hint":"calendar_event/../e"}"#,
        ] {
            assert_eq!(parse_payload(bad), None, "{bad}");
        }
    }

    #[test]
    fn rejects_what_is_not_ours() {
        for raw in [
            "",
            "not json",
            "[]",
            r#"{"v":2,"kind":"sync"}"#,
            r#"{"v":"x","kind":"sync"}"#,
            r#"{"v":1,"kind":"marketing"}"#,
            r#"{"kind":"sync"}"#,
        ] {
            assert_eq!(parse_payload(raw), None, "{raw}");
        }
        let huge = format!(r#"{{"v":1,"kind":"sync","hint":"{}"}}"#, "x".repeat(5000));
        assert_eq!(parse_payload(&huge), None);
    }

    #[test]
    fn composes_in_every_locale() {
        let ev = NotificationEvent::AbsenceAcknowledged {
            child_id: ChildId("c1".into()),
            child_first_name: "Ola".into(),
            first_day: Day::from_ymd(2026, 11, 26).expect("day"),
            last_day: Day::from_ymd(2026, 11, 27).expect("day"),
        };
        let nb = compose(Locale::Nb, &ev, "absence/a1".into());
        assert_eq!(nb.title, "Fravær bekreftet");
        assert!(
            nb.body.contains("Ola") && nb.body.contains("26.11–27.11"),
            "{}",
            nb.body
        );
        assert_eq!(
            compose(Locale::Nn, &ev, String::new()).title,
            "Fråvær stadfesta"
        );
        assert!(
            compose(Locale::En, &ev, String::new())
                .body
                .contains("Ola's absence (26.11 to 27.11)")
        );
        assert_eq!(nb.category, NotificationCategory::AbsenceAcknowledged);
        assert_eq!(nb.child_id, Some(ChildId("c1".into())));
        assert_eq!(nb.key, "absence/a1");
    }

    #[test]
    fn reminders_say_when_in_every_locale() {
        let today = Day::from_ymd(2026, 11, 30).expect("day");
        let ev = |kind, day| NotificationEvent::Reminder {
            kind,
            title: "Foreldremøte".into(),
            day,
            today,
        };
        let tomorrow = ev(ReminderKind::CalendarEvent, today.plus_days(1));
        assert_eq!(
            compose(Locale::Nb, &tomorrow, String::new()).body,
            "Foreldremøte i morgen."
        );
        assert_eq!(
            compose(Locale::Nn, &tomorrow, String::new()).body,
            "Foreldremøte i morgon."
        );
        assert_eq!(
            compose(Locale::En, &tomorrow, String::new()).body,
            "Foreldremøte tomorrow."
        );
        let deadline = compose(
            Locale::Nb,
            &ev(ReminderKind::HolidayDeadline, today.plus_days(3)),
            String::new(),
        );
        assert_eq!(deadline.title, "Husk ferieregistreringen");
        assert!(deadline.body.ends_with("er 03.12."), "{}", deadline.body);
        assert_eq!(deadline.category, NotificationCategory::Calendar);
    }

    #[test]
    fn urgent_broadcasts_are_their_own_category_and_long_text_is_cut() {
        let ev = NotificationEvent::Broadcast {
            thread_id: ThreadId("t".into()),
            subject: "Stengt i dag".into(),
            body: "å".repeat(500),
            urgent: true,
        };
        let n = compose(Locale::Nb, &ev, String::new());
        assert_eq!(n.category, NotificationCategory::Urgent);
        assert_eq!(n.title, "Viktig: Stengt i dag");
        assert_eq!(n.body.chars().count(), PREVIEW_CHARS + 1);
        assert_eq!(n.thread_id, Some(ThreadId("t".into())));
    }
}
