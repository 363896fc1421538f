//! The words of local notifications: parsing the content-free push payload and composing the
//! text, localised (nb, nn, en), from what is in the cache.
//!
//! Push providers never see personal data: the server sends `{"v":1,"kind":"sync","hint":..}`.
//! The device syncs, then this module turns the hinted entity, read from the local cache, into
//! the notification a parent sees. Nothing here does I/O.

use kidplan_api::model::{LogKind, NotificationCategory};
use kidplan_api::push::Locale;
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
pub struct PushHint {
    /// The entity kind and id of the change that caused the push, when the server gave one.
    pub target: Option<(EntityKind, String)>,
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
    if version != 1 || obj.get("kind")?.as_str()? != "sync" {
        return None;
    }
    let target = obj
        .get("hint")
        .and_then(|h| h.as_str())
        .and_then(|h| h.split_once('/'))
        .and_then(|(kind, id)| {
            let kind: EntityKind = serde_json::from_value(kind.into()).ok()?;
            let id_ok = !id.is_empty()
                && id.len() <= 128
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            (kind != EntityKind::Unknown && id_ok).then(|| (kind, id.to_owned()))
        });
    Some(PushHint { target })
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
            NotificationEvent::Calendar { .. } => NotificationCategory::Calendar,
        }
    }

    /// The child the event is about, if one.
    pub fn child_id(&self) -> Option<&ChildId> {
        match self {
            NotificationEvent::AbsenceAcknowledged { child_id, .. }
            | NotificationEvent::ChildLog { child_id, .. } => Some(child_id),
            NotificationEvent::Message { child_id, .. }
            | NotificationEvent::Photo { child_id, .. } => child_id.as_ref(),
            NotificationEvent::Broadcast { .. } | NotificationEvent::Calendar { .. } => None,
        }
    }
}

/// Composes the notification for `event` in `locale`.
pub fn compose(locale: Locale, event: &NotificationEvent) -> LocalNotification {
    let (title, body) = words(locale, event);
    let thread_id = match event {
        NotificationEvent::Message { thread_id, .. }
        | NotificationEvent::Broadcast { thread_id, .. } => Some(thread_id.clone()),
        _ => None,
    };
    LocalNotification {
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
            Some(PushHint {
                target: Some((EntityKind::Absence, "a-1".into()))
            })
        );
        let apns = r#"{"aps":{"content-available":1},"data":{"v":1,"kind":"sync"}}"#;
        assert_eq!(parse_payload(apns), Some(PushHint { target: None }));
        let unknown_hint = r#"{"v":1,"kind":"sync","hint":"hologram/x"}"#;
        assert_eq!(parse_payload(unknown_hint), Some(PushHint { target: None }));
        let odd_id = r#"{"v":1,"kind":"sync","hint":"absence/../x"}"#;
        assert_eq!(parse_payload(odd_id), Some(PushHint { target: None }));
        let fcm_request =
            r#"{"message":{"token":"t","data":{"v":"1","kind":"sync","hint":"message/m_2"}}}"#;
        assert_eq!(
            parse_payload(fcm_request),
            Some(PushHint {
                target: Some((EntityKind::Message, "m_2".into()))
            })
        );
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
        let nb = compose(Locale::Nb, &ev);
        assert_eq!(nb.title, "Fravær bekreftet");
        assert!(
            nb.body.contains("Ola") && nb.body.contains("26.11–27.11"),
            "{}",
            nb.body
        );
        assert_eq!(compose(Locale::Nn, &ev).title, "Fråvær stadfesta");
        assert!(
            compose(Locale::En, &ev)
                .body
                .contains("Ola's absence (26.11 to 27.11)")
        );
        assert_eq!(nb.category, NotificationCategory::AbsenceAcknowledged);
        assert_eq!(nb.child_id, Some(ChildId("c1".into())));
    }

    #[test]
    fn urgent_broadcasts_are_their_own_category_and_long_text_is_cut() {
        let ev = NotificationEvent::Broadcast {
            thread_id: ThreadId("t".into()),
            subject: "Stengt i dag".into(),
            body: "å".repeat(500),
            urgent: true,
        };
        let n = compose(Locale::Nb, &ev);
        assert_eq!(n.category, NotificationCategory::Urgent);
        assert_eq!(n.title, "Viktig: Stengt i dag");
        assert_eq!(n.body.chars().count(), PREVIEW_CHARS + 1);
        assert_eq!(n.thread_id, Some(ThreadId("t".into())));
    }
}
