//! Which notification a received push turns into, read from the local cache (local state; no
//! I/O): the event the hinted entity stands for (an acknowledged absence, a message, a child
//! log entry, a photo, a calendar event), whether the guardian wants it (preferences per child
//! and category; urgent broadcasts always), and its text (`local::notify`).

use crate::error::Result;
use crate::local::cache;
use crate::local::notify::{self, LocalNotification, NotificationEvent};
use crate::local::reads;
use kidplan_api::ChildId;
use kidplan_api::model::*;
use kidplan_api::push::Locale;
use kidplan_api::sync::EntityKind;
use rusqlite::Connection;

fn my_children(c: &Connection, me: &str) -> Result<Vec<Child>> {
    let mine: Vec<ChildId> = reads::guardian_relations(c)?
        .into_iter()
        .filter(|r| r.guardian_id.as_str() == me)
        .map(|r| r.child_id)
        .collect();
    Ok(reads::children(c)?
        .into_iter()
        .filter(|ch| mine.contains(&ch.id))
        .collect())
}

fn first_name(children: &[Child], id: &ChildId) -> Option<String> {
    children
        .iter()
        .find(|c| &c.id == id)
        .map(|c| c.first_name.clone())
}

/// What the hinted entity says, read from the cache; `None` when it is not there or not
/// worth a notification (the guardian's own message, an absence not acknowledged).
pub fn event(
    c: &Connection,
    me: &str,
    kindergarten_name: &str,
    kind: EntityKind,
    id: &str,
) -> Result<Option<NotificationEvent>> {
    let children = my_children(c, me)?;
    Ok(match kind {
        EntityKind::Absence => {
            let Some(a) = cache::get::<Absence>(c, kind, id)? else {
                return Ok(None);
            };
            if a.status != AbsenceStatus::Acknowledged {
                return Ok(None);
            }
            let Some(name) = first_name(&children, &a.child_id) else {
                return Ok(None);
            };
            Some(NotificationEvent::AbsenceAcknowledged {
                child_id: a.child_id,
                child_first_name: name,
                first_day: a.first_day,
                last_day: a.last_day,
            })
        }
        EntityKind::Message | EntityKind::Thread => {
            let (thread, msg) = if kind == EntityKind::Message {
                let Some(m) = cache::get::<Message>(c, kind, id)? else {
                    return Ok(None);
                };
                let Some(t) = cache::get::<Thread>(c, EntityKind::Thread, m.thread_id.as_str())?
                else {
                    return Ok(None);
                };
                (t, m)
            } else {
                let Some(t) = cache::get::<Thread>(c, kind, id)? else {
                    return Ok(None);
                };
                let Some(m) = reads::messages(c, &t.id, None, 1)?.into_iter().next() else {
                    return Ok(None);
                };
                (t, m.message)
            };
            let sender_name = match &msg.sender {
                Sender::Guardian { id } if id.as_str() == me => return Ok(None),
                Sender::Guardian { id } => reads::guardian(c, id.as_str())?
                    .map(|g| format!("{} {}", g.first_name, g.last_name)),
                Sender::Staff { id } => {
                    cache::get::<Staff>(c, EntityKind::Staff, id.as_str())?.map(|s| s.name)
                }
            }
            .unwrap_or_else(|| kindergarten_name.to_owned());
            if thread.broadcast {
                Some(NotificationEvent::Broadcast {
                    thread_id: thread.id,
                    subject: thread.subject,
                    body: msg.body,
                    urgent: thread.urgent,
                })
            } else {
                Some(NotificationEvent::Message {
                    thread_id: thread.id,
                    child_id: thread.child_id,
                    sender_name,
                    body: msg.body,
                })
            }
        }
        EntityKind::LogEntry => {
            let Some(e) = cache::get::<LogEntry>(c, kind, id)? else {
                return Ok(None);
            };
            let Some(name) = first_name(&children, &e.child_id) else {
                return Ok(None);
            };
            Some(NotificationEvent::ChildLog {
                child_id: e.child_id,
                child_first_name: name,
                kind: e.kind,
            })
        }
        EntityKind::Photo => {
            let Some(p) = cache::get::<Photo>(c, kind, id)? else {
                return Ok(None);
            };
            // Only a child of this guardian is named (a photo may show other children too).
            let child = p
                .child_ids
                .iter()
                .find_map(|cid| first_name(&children, cid).map(|n| (cid.clone(), n)));
            Some(NotificationEvent::Photo {
                child_id: child.as_ref().map(|(id, _)| id.clone()),
                child_first_name: child.map(|(_, n)| n),
            })
        }
        EntityKind::CalendarEvent => {
            let Some(e) = cache::get::<CalendarEvent>(c, kind, id)? else {
                return Ok(None);
            };
            Some(NotificationEvent::Calendar {
                title: e.title,
                // The day a parent in Norway reads on the calendar, not the UTC day.
                day: crate::local::reminders::oslo(e.starts_at).0,
            })
        }
        _ => None,
    })
}

/// Whether the guardian wants `ev`: urgent always; about a child, that child's preference for
/// the category; about no child, any of the guardian's children's (default on). A message in
/// a thread about no child (one the guardian started) always comes, as on the server.
pub fn wanted(c: &Connection, me: &str, ev: &NotificationEvent) -> Result<bool> {
    let category = ev.category();
    if category == NotificationCategory::Urgent {
        return Ok(true);
    }
    let prefs = reads::notification_preferences(c, me)?;
    let on = |child: &ChildId| {
        prefs
            .iter()
            .find(|p| &p.child_id == child && p.category == category)
            .is_none_or(|p| p.delivery.push())
    };
    Ok(match ev.child_id() {
        Some(child) => on(child),
        None if matches!(ev, NotificationEvent::Message { .. }) => true,
        None => {
            let children = my_children(c, me)?;
            children.is_empty() || children.iter().any(|ch| on(&ch.id))
        }
    })
}

/// The notification for the hinted entity from the cache, or `None` (not there, not wanted).
pub fn notification(
    c: &Connection,
    me: &str,
    kindergarten_name: &str,
    locale: Locale,
    kind: EntityKind,
    id: &str,
) -> Result<Option<LocalNotification>> {
    let Some(ev) = event(c, me, kindergarten_name, kind, id)? else {
        return Ok(None);
    };
    if !wanted(c, me, &ev)? {
        return Ok(None);
    }
    Ok(Some(notify::compose(
        locale,
        &ev,
        format!("{}/{id}", kind.as_str()),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use crate::local::cache::Effects;
    use crate::local::store::{self, Store};
    use kidplan_api::sync::Entity;
    use kidplan_api::{Day, GuardianId, StaffId, ThreadId, Timestamp};

    fn store() -> (tempfile::TempDir, Store) {
        store::temp_store()
    }

    fn day(s: &str) -> Day {
        s.parse().expect("day")
    }

    fn seed(s: &Store) {
        s.write(|tx| {
            let fx = &mut Effects::default();
            for (id, name) in [("c1", "Ola"), ("c2", "Kari")] {
                let child: Child = serde_json::from_value(serde_json::json!({
                    "id": id, "kindergarten_id": "k1", "department_id": "d1",
                    "first_name": name, "last_name": "Nordmann", "birth_date": "2021-03-04",
                    "info": null
                }))
                .map_err(Error::from)?;
                cache::upsert(tx, &Entity::Child(child), "g1", fx)?;
            }
            for (rid, child) in [("r1", "c1"), ("r2", "c2")] {
                let rel = GuardianChild {
                    id: rid.into(),
                    guardian_id: GuardianId::from("g1"),
                    child_id: child.into(),
                    relation: Relation::Mother,
                    parental_responsibility: true,
                };
                cache::upsert(tx, &Entity::GuardianChild(rel), "g1", fx)?;
            }
            let a = Absence {
                id: "a1".into(),
                child_id: "c1".into(),
                first_day: day("2026-11-26"),
                last_day: day("2026-11-27"),
                reason: AbsenceReason::Sick,
                note: None,
                status: AbsenceStatus::Acknowledged,
                reported_by: "g1".into(),
                acknowledged_by: Some(StaffId::from("s1")),
            };
            cache::upsert(tx, &Entity::Absence(a), "g1", fx)?;
            for (tid, urgent) in [("t1", false), ("t2", true)] {
                let t = Thread {
                    id: ThreadId::from(tid),
                    kindergarten_id: "k1".into(),
                    child_id: None,
                    subject: "Stengt".into(),
                    broadcast: true,
                    urgent,
                    created_at: Timestamp(1),
                };
                cache::upsert(tx, &Entity::Thread(t), "g1", fx)?;
                let m = Message {
                    id: format!("m-{tid}").into(),
                    thread_id: tid.into(),
                    sender: Sender::Staff { id: "s1".into() },
                    body: "Barnehagen er stengt i dag.".into(),
                    sent_at: Timestamp(2),
                    read_at: None,
                };
                cache::upsert(tx, &Entity::Message(m), "g1", fx)?;
            }
            Ok(())
        })
        .expect("seed");
    }

    fn prefs_off(s: &Store, categories: &[NotificationCategory]) {
        s.write(|tx| {
            let p = NotificationPreferences {
                guardian_id: "g1".into(),
                preferences: ["c1", "c2"]
                    .iter()
                    .flat_map(|c| {
                        categories.iter().map(|&category| NotificationPreference {
                            child_id: (*c).into(),
                            category,
                            delivery: Delivery::Off,
                        })
                    })
                    .collect(),
            };
            cache::upsert(
                tx,
                &Entity::NotificationPreferences(p),
                "g1",
                &mut Effects::default(),
            )
        })
        .expect("prefs");
    }

    #[test]
    fn a_new_event_is_announced_with_its_day_in_oslo() {
        let (_d, s) = store();
        seed(&s);
        // 23:30 UTC on 30 November is 00:30 on 1 December in Oslo.
        let at = Timestamp(
            chrono::DateTime::parse_from_rfc3339("2026-11-30T23:30:00Z")
                .expect("t")
                .timestamp_millis(),
        );
        s.write(|tx| {
            let e = CalendarEvent {
                id: "e1".into(),
                kindergarten_id: "k1".into(),
                department_id: None,
                title: "Lucia".into(),
                description: None,
                starts_at: at,
                ends_at: at,
                registration_deadline: None,
            };
            cache::upsert(tx, &Entity::CalendarEvent(e), "g1", &mut Effects::default())
        })
        .expect("event");
        let c = s.conn().expect("conn");
        let n = notification(
            &c,
            "g1",
            "Solsikken",
            Locale::Nb,
            EntityKind::CalendarEvent,
            "e1",
        )
        .expect("n")
        .expect("some");
        assert!(n.body.contains("01.12.2026"), "{}", n.body);
    }

    #[test]
    fn notifications_from_the_cache_respect_preferences() {
        let (_d, s) = store();
        seed(&s);
        let c = s.conn().expect("conn");
        let n = notification(&c, "g1", "Solsikken", Locale::Nb, EntityKind::Absence, "a1")
            .expect("n")
            .expect("some");
        assert!(
            n.body.contains("Ola") && n.body.contains("26.11–27.11"),
            "{}",
            n.body
        );
        assert_eq!(
            notification(&c, "g1", "Solsikken", Locale::Nb, EntityKind::Absence, "zz").expect("n"),
            None
        );
        drop(c);
        prefs_off(
            &s,
            &[
                NotificationCategory::AbsenceAcknowledged,
                NotificationCategory::Messages,
            ],
        );
        let c = s.conn().expect("conn");
        assert_eq!(
            notification(&c, "g1", "Solsikken", Locale::Nb, EntityKind::Absence, "a1").expect("n"),
            None
        );
        assert_eq!(
            notification(
                &c,
                "g1",
                "Solsikken",
                Locale::Nb,
                EntityKind::Message,
                "m-t1"
            )
            .expect("n"),
            None,
            "an ordinary broadcast follows the preferences"
        );
        let urgent = notification(
            &c,
            "g1",
            "Solsikken",
            Locale::En,
            EntityKind::Message,
            "m-t2",
        )
        .expect("n")
        .expect("urgent comes through");
        assert_eq!(urgent.category, NotificationCategory::Urgent);
        assert_eq!(urgent.title, "Urgent: Stengt");
    }
}
