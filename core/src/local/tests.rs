//! Tests of the local layer as a whole: the layering rule, the actions' validation, and the
//! seam between the parent's pending actions and the server's truth (held back, then settled).

use super::actions::{self, Actor};
use super::apply::{SyncReport, apply_page};
use super::cache::{self, Effects};
use super::outbox::{self, Answer, Due, OutboxKind, OutboxStatus};
use super::reads::{self, LocalState};
use super::shadow::{self, FeedRange};
use super::store::Store;
use crate::error::{Error, KidplanError, Result};
use crate::requests::*;
use kidplan_api::commands::MAX_TEXT_CHARS;
use kidplan_api::model::*;
use kidplan_api::sync::{Change, ChangeOp, Entity, EntityKind, SyncPage};
use kidplan_api::*;
use rusqlite::Connection;

/// The code of a source file without its comments.
fn code(src: &str) -> String {
    src.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The local layer imports no service and not the orchestrator; no service imports the
/// orchestrator. (Read from the sources, so a new import breaks this test.)
#[test]
fn layers() {
    let local = [
        ("actions", include_str!("actions.rs")),
        ("alerts", include_str!("alerts.rs")),
        ("apply", include_str!("apply.rs")),
        ("cache", include_str!("cache.rs")),
        ("file_index", include_str!("file_index.rs")),
        ("notify", include_str!("notify.rs")),
        ("outbox", include_str!("outbox.rs")),
        ("reads", include_str!("reads.rs")),
        ("registration", include_str!("registration.rs")),
        ("reminders", include_str!("reminders.rs")),
        ("shadow", include_str!("shadow.rs")),
        ("store", include_str!("store.rs")),
    ];
    let services = [
        "accounts",
        "auth",
        "client",
        "files",
        "privacy",
        "push",
        "sender",
        "sync",
        "telemetry",
        "runtime",
    ];
    for (name, src) in local {
        let src = code(src);
        for s in services {
            assert!(
                !src.contains(&format!("crate::{s}")),
                "local::{name} imports the service or orchestrator `{s}`"
            );
        }
        for io in ["reqwest", "tokio::"] {
            assert!(!src.contains(io), "local::{name} does I/O through {io}");
        }
    }
    let service_sources = [
        ("accounts", include_str!("../accounts.rs")),
        ("auth", include_str!("../auth.rs")),
        ("client", include_str!("../client.rs")),
        ("files", include_str!("../files.rs")),
        ("privacy", include_str!("../privacy.rs")),
        ("push", include_str!("../push.rs")),
        ("sender", include_str!("../sender.rs")),
        ("sync", include_str!("../sync.rs")),
        ("telemetry", include_str!("../telemetry.rs")),
        ("secrets", include_str!("../secrets.rs")),
        ("observers", include_str!("../observers.rs")),
        ("error", include_str!("../error.rs")),
    ];
    for (name, src) in service_sources {
        let src = code(src);
        assert!(
            !src.contains("crate::runtime") && !src.contains("impl Inner"),
            "{name} reaches into the orchestrator"
        );
    }
}

// ----- fixtures -----

const ME: &str = "g1";

fn setup() -> (tempfile::TempDir, Store) {
    let (dir, s) = super::store::temp_store();
    s.write(|tx| {
        let fx = &mut Effects::default();
        cache::upsert(tx, &Entity::Child(child("c1")), ME, fx)?;
        let thread = Thread {
            id: "t1".into(),
            kindergarten_id: "k1".into(),
            child_id: Some("c1".into()),
            subject: "Hei".into(),
            broadcast: false,
            urgent: false,
            created_at: Timestamp(1),
        };
        cache::upsert(tx, &Entity::Thread(thread), ME, fx)?;
        cache::upsert(tx, &Entity::Message(staff_message("m1", 2)), ME, fx)?;
        Ok(())
    })
    .expect("seed");
    (dir, s)
}

fn child(id: &str) -> Child {
    Child {
        id: id.into(),
        kindergarten_id: "k1".into(),
        department_id: "d1".into(),
        first_name: "Ola".into(),
        last_name: "Nordmann".into(),
        birth_date: Day::from_ymd(2021, 1, 2).expect("day"),
        info: None,
        picture: None,
    }
}

fn staff_message(id: &str, at: i64) -> Message {
    Message {
        id: id.into(),
        thread_id: "t1".into(),
        sender: Sender::Staff { id: "s1".into() },
        body: "Velkommen".into(),
        sent_at: Timestamp(at),
        read_at: None,
    }
}

fn day(d: u32) -> Day {
    Day::from_ymd(2026, 12, d).expect("day")
}

fn act<T>(s: &Store, f: impl FnOnce(&Connection, &Actor, &mut Effects) -> Result<T>) -> Result<T> {
    let kg = KindergartenId::from("k1");
    let a = Actor {
        me: ME,
        kindergarten_id: &kg,
    };
    s.write(|tx| f(tx, &a, &mut Effects::default()))
}

fn public<T>(r: Result<T>) -> Option<KidplanError> {
    r.err().map(|e| e.to_public())
}

fn report(s: &Store) -> AbsenceId {
    act(s, |c, a, fx| {
        actions::report_absence(
            c,
            a,
            fx,
            AbsenceReport {
                child_id: "c1".into(),
                first_day: day(1),
                last_day: day(2),
                reason: AbsenceReason::Sick,
                note: Some(" feber ".into()),
            },
        )
    })
    .expect("report")
}

fn edit(s: &Store, id: &AbsenceId, last: u32) {
    act(s, |c, a, fx| {
        actions::edit_absence(
            c,
            a,
            fx,
            id.clone(),
            AbsenceChange {
                first_day: day(1),
                last_day: day(last),
                reason: AbsenceReason::Sick,
                note: None,
            },
        )
    })
    .expect("edit")
}

/// The server's version of the absence as a sync page would carry it.
fn server_absence(id: &AbsenceId, last: u32, status: AbsenceStatus) -> Absence {
    Absence {
        id: id.clone(),
        child_id: "c1".into(),
        first_day: day(1),
        last_day: day(last),
        reason: AbsenceReason::Sick,
        note: None,
        status,
        reported_by: ME.into(),
        acknowledged_by: (status == AbsenceStatus::Acknowledged).then(|| StaffId::from("s1")),
    }
}

fn page(s: &Store, changes: Vec<Change>) -> SyncReport {
    let mut r = SyncReport::default();
    let p = SyncPage {
        changes,
        cursor: 99,
        has_more: false,
    };
    s.write(|tx| apply_page(tx, &p, ME, &mut r, &mut Effects::default()))
        .expect("apply");
    r
}

fn upsert_change(kind: EntityKind, id: &str, data: serde_json::Value) -> Change {
    upsert_at(1, kind, id, data)
}

fn upsert_at(seq: i64, kind: EntityKind, id: &str, data: serde_json::Value) -> Change {
    Change {
        seq,
        entity: kind,
        id: id.into(),
        op: ChangeOp::Upsert,
        data: Some(data),
    }
}

fn tombstone(kind: EntityKind, id: &str) -> Change {
    Change {
        seq: 1,
        entity: kind,
        id: id.into(),
        op: ChangeOp::Delete,
        data: None,
    }
}

fn pending(s: &Store) -> Vec<Due> {
    outbox::pending(&s.conn().expect("c")).expect("pending")
}

fn reject_first(s: &Store, reason: &str) {
    let item = pending(s).into_iter().next().expect("a pending item");
    s.write(|tx| outbox::mark_rejected(tx, &item, reason, ME, &mut Effects::default()))
        .expect("reject");
}

fn accept_first(s: &Store, answer: Option<serde_json::Value>) {
    accept_first_in(s, answer, None)
}

/// Accepts the first pending item with `answer`, the feed having stood at `feed` around it.
fn accept_first_in(s: &Store, answer: Option<serde_json::Value>, feed: Option<(i64, i64)>) {
    let item = pending(s).into_iter().next().expect("a pending item");
    let answer = Answer {
        body: answer
            .map(|v| v.to_string().into_bytes())
            .unwrap_or_default(),
        feed: feed.map(|(before, after)| FeedRange { before, after }),
    };
    s.write(|tx| outbox::mark_sent(tx, &item, &answer, ME, &mut Effects::default()))
        .expect("accept");
}

fn absence(s: &Store, id: &AbsenceId) -> Option<reads::AbsenceView> {
    reads::absences(&s.conn().expect("c"), None)
        .expect("absences")
        .into_iter()
        .find(|v| &v.absence.id == id)
}

fn held(s: &Store) -> u32 {
    shadow::held_count(&s.conn().expect("c")).expect("held")
}

// ----- validation -----

#[test]
fn invalid_input_is_refused_before_anything_is_queued() {
    let (_d, s) = setup();
    let r = |child: &str, first: Day, last: Day| {
        act(&s, |c, a, fx| {
            actions::report_absence(
                c,
                a,
                fx,
                AbsenceReport {
                    child_id: child.into(),
                    first_day: first,
                    last_day: last,
                    reason: AbsenceReason::Sick,
                    note: None,
                },
            )
        })
    };
    assert_eq!(
        public(r("nope", day(1), day(2))),
        Some(KidplanError::invalid("child_id"))
    );
    assert_eq!(
        public(r("c1", day(3), day(2))),
        Some(KidplanError::invalid("last_day"))
    );
    // A day a shell could not express (and any day outside the accepted years) names its field.
    assert_eq!(
        public(r("c1", Day::UNREADABLE, day(2))),
        Some(KidplanError::invalid("first_day"))
    );
    let far = Day::from_ymd(9999, 1, 1).expect("day");
    assert_eq!(
        public(r("c1", day(1), far)),
        Some(KidplanError::invalid("last_day"))
    );
    let send = |thread: &str, body: &str| {
        act(&s, |c, a, fx| {
            actions::send_message(c, a, fx, thread.into(), body.into())
        })
    };
    assert_eq!(
        public(send("t1", "   ")),
        Some(KidplanError::invalid("body"))
    );
    assert_eq!(public(send("t9", "hei")), Some(KidplanError::NotFound));
    let r = act(&s, |c, a, fx| {
        actions::start_thread(
            c,
            a,
            fx,
            NewThread {
                child_id: None,
                subject: "".into(),
                body: "b".into(),
            },
        )
    });
    assert_eq!(public(r), Some(KidplanError::invalid("subject")));
    let long = "x".repeat(MAX_TEXT_CHARS + 1);
    let r = act(&s, |c, a, fx| {
        actions::register_holiday(
            c,
            a,
            fx,
            HolidayRegistration {
                child_id: "c1".into(),
                first_day: day(1),
                last_day: day(2),
                note: Some(long),
            },
        )
    });
    assert_eq!(public(r), Some(KidplanError::invalid("note")));
    let r = act(&s, |c, a, fx| {
        actions::update_contact(
            c,
            a,
            fx,
            ContactChange {
                email: Some("nope".into()),
                ..Default::default()
            },
        )
    });
    assert_eq!(public(r), Some(KidplanError::invalid("email")));
    assert!(pending(&s).is_empty());
    assert_eq!(held(&s), 0);
    assert!(
        reads::absences(&s.conn().expect("c"), None)
            .expect("read")
            .is_empty()
    );
}

#[test]
fn an_action_shows_at_once_as_pending_and_is_queued_in_order() {
    let (_d, s) = setup();
    let id = report(&s);
    edit(&s, &id, 3);
    let mid = act(&s, |c, a, fx| {
        actions::send_message(c, a, fx, "t1".into(), "Takk".into())
    })
    .expect("send");
    act(&s, |c, a, fx| actions::mark_read(c, a, fx, "t1".into())).expect("read");
    let c = s.conn().expect("c");
    let abs = reads::absences(&c, None).expect("absences");
    assert_eq!(abs.len(), 1);
    assert_eq!(abs[0].local, LocalState::Pending);
    assert_eq!(abs[0].absence.last_day, day(3));
    assert_eq!(abs[0].absence.note, None);
    assert_eq!(abs[0].absence.reported_by.as_str(), ME);
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
    assert!(items.iter().all(|i| i.status == OutboxStatus::Pending));
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
    drop(c);
    // Held back: the absence (absent on the server), the new message, the message read.
    assert_eq!(held(&s), 3);
}

// ----- the server's truth, held back and settled -----

#[test]
fn a_refused_edit_shows_what_the_kindergarten_did_meanwhile() {
    let (_d, s) = setup();
    let id = report(&s);
    accept_first(
        &s,
        Some(serde_json::to_value(server_absence(&id, 2, AbsenceStatus::Reported)).expect("json")),
    );
    assert_eq!(held(&s), 0);
    // Offline, the parent edits; meanwhile the staff acknowledge the report.
    edit(&s, &id, 3);
    let acked = server_absence(&id, 2, AbsenceStatus::Acknowledged);
    let r = page(
        &s,
        vec![upsert_change(
            EntityKind::Absence,
            id.as_str(),
            serde_json::to_value(&acked).expect("json"),
        )],
    );
    assert_eq!((r.applied, r.held_back), (0, 1));
    // The parent still sees their edit while it is pending.
    let v = absence(&s, &id).expect("absence");
    assert_eq!((v.absence.last_day, v.local), (day(3), LocalState::Pending));
    // The edit is refused: the kindergarten's version shows, with the reason.
    reject_first(&s, "conflict: already acknowledged");
    let v = absence(&s, &id).expect("absence");
    assert_eq!(v.absence, acked);
    assert_eq!(
        v.local,
        LocalState::Rejected {
            reason: "conflict: already acknowledged".into()
        }
    );
    assert_eq!(held(&s), 0);
}

#[test]
fn without_news_a_refused_edit_goes_back_to_the_version_it_replaced() {
    let (_d, s) = setup();
    let id = report(&s);
    let server = server_absence(&id, 2, AbsenceStatus::Reported);
    accept_first(&s, Some(serde_json::to_value(&server).expect("json")));
    edit(&s, &id, 3);
    reject_first(&s, "conflict");
    assert_eq!(absence(&s, &id).expect("absence").absence, server);
}

#[test]
fn an_edit_of_something_deleted_meanwhile_ends_rejected_and_the_thing_is_gone() {
    let (_d, s) = setup();
    let id = report(&s);
    accept_first(
        &s,
        Some(serde_json::to_value(server_absence(&id, 2, AbsenceStatus::Reported)).expect("json")),
    );
    edit(&s, &id, 4);
    let r = page(&s, vec![tombstone(EntityKind::Absence, id.as_str())]);
    assert_eq!(r.held_back, 1);
    assert!(
        absence(&s, &id).is_some(),
        "shown while the edit is pending"
    );
    reject_first(&s, "not_found: no such absence");
    assert!(absence(&s, &id).is_none());
    let items = outbox::list(&s.conn().expect("c")).expect("list");
    assert_eq!(
        items.last().map(|i| i.status.clone()),
        Some(OutboxStatus::Rejected {
            reason: "not_found: no such absence".into()
        })
    );
}

#[test]
fn a_refused_create_leaves_the_lists_and_stays_in_the_outbox() {
    let (_d, s) = setup();
    let t = act(&s, |c, a, fx| {
        actions::start_thread(
            c,
            a,
            fx,
            NewThread {
                child_id: Some("c1".into()),
                subject: "Henting".into(),
                body: "Bestemor henter".into(),
            },
        )
    })
    .expect("thread");
    assert_eq!(
        reads::threads(&s.conn().expect("c"))
            .expect("threads")
            .len(),
        2
    );
    reject_first(&s, "forbidden");
    let c = s.conn().expect("c");
    let threads = reads::threads(&c).expect("threads");
    assert_eq!(
        threads.len(),
        1,
        "the thread and its first message are gone"
    );
    assert!(
        reads::messages(&c, &t, None, 10)
            .expect("messages")
            .is_empty()
    );
    let items = outbox::list(&c).expect("list");
    assert_eq!(
        items[0].status,
        OutboxStatus::Rejected {
            reason: "forbidden".into()
        }
    );
    let seq = items[0].id;
    drop(c);
    s.write(|tx| outbox::dismiss(tx, seq, &mut Effects::default()))
        .expect("dismiss");
    assert!(
        outbox::list(&s.conn().expect("c"))
            .expect("list")
            .is_empty()
    );
    assert!(matches!(
        s.write(|tx| outbox::dismiss(tx, seq, &mut Effects::default())),
        Err(Error::NotFound)
    ));
}

#[test]
fn an_accepted_answer_replaces_the_view_unless_a_later_action_is_pending() {
    let (_d, s) = setup();
    let id = report(&s);
    edit(&s, &id, 5);
    // The create is accepted; the edit is still pending: the parent keeps seeing the edit.
    let created = server_absence(&id, 2, AbsenceStatus::Reported);
    accept_first(&s, Some(serde_json::to_value(&created).expect("json")));
    assert_eq!(absence(&s, &id).expect("absence").absence.last_day, day(5));
    assert_eq!(held(&s), 1);
    // The edit is refused: the accepted create is the server's truth.
    reject_first(&s, "conflict");
    assert_eq!(absence(&s, &id).expect("absence").absence, created);
    assert_eq!(held(&s), 0);
}

#[test]
fn a_tombstoned_child_takes_its_pending_absence_along_for_good() {
    let (_d, s) = setup();
    let id = report(&s);
    accept_first(
        &s,
        Some(serde_json::to_value(server_absence(&id, 2, AbsenceStatus::Reported)).expect("json")),
    );
    edit(&s, &id, 3);
    page(&s, vec![tombstone(EntityKind::Child, "c1")]);
    assert!(absence(&s, &id).is_none());
    reject_first(&s, "not_found");
    assert!(
        absence(&s, &id).is_none(),
        "not resurrected by the rejection"
    );
    assert_eq!(held(&s), 0);
}

#[test]
fn read_marks_stay_until_the_feed_brings_the_server_s() {
    let (_d, s) = setup();
    act(&s, |c, a, fx| actions::mark_read(c, a, fx, "t1".into())).expect("read");
    // A page still carries the unread message: held back, the parent sees it read.
    let r = page(
        &s,
        vec![upsert_change(
            EntityKind::Message,
            "m1",
            serde_json::to_value(staff_message("m1", 2)).expect("json"),
        )],
    );
    assert_eq!(r.held_back, 1);
    let unread = |s: &Store| reads::threads(&s.conn().expect("c")).expect("t")[0].unread_count;
    assert_eq!(unread(&s), 0);
    accept_first(&s, None);
    assert_eq!(unread(&s), 0, "accepted: the read mark stays");
    assert_eq!(held(&s), 0);
}

// ----- which is newer: the accepted answer or a version held meanwhile -----

#[test]
fn a_replayed_answer_does_not_hide_what_the_staff_did_after_it() {
    let (_d, s) = setup();
    let id = report(&s);
    // The report reached the server at feed 6, but its answer was lost; the staff then
    // acknowledged it (feed 10), and a sync held that version back while the report was pending.
    let acked = server_absence(&id, 2, AbsenceStatus::Acknowledged);
    page(
        &s,
        vec![upsert_at(
            10,
            EntityKind::Absence,
            id.as_str(),
            serde_json::to_value(&acked).expect("json"),
        )],
    );
    // The retry gets the first run's answer, replayed: older than the held version.
    let replayed = server_absence(&id, 2, AbsenceStatus::Reported);
    accept_first_in(
        &s,
        Some(serde_json::to_value(&replayed).expect("json")),
        Some((5, 6)),
    );
    assert_eq!(absence(&s, &id).expect("absence").absence, acked);
    assert_eq!(held(&s), 0);
}

#[test]
fn an_answer_newer_than_the_held_version_wins() {
    let (_d, s) = setup();
    let id = report(&s);
    let reported = server_absence(&id, 2, AbsenceStatus::Reported);
    accept_first(&s, Some(serde_json::to_value(&reported).expect("json")));
    edit(&s, &id, 4);
    // A version from before the edit ran (feed 3) is held; the edit's answer (feed 7-8) wins.
    page(
        &s,
        vec![upsert_at(
            3,
            EntityKind::Absence,
            id.as_str(),
            serde_json::to_value(&reported).expect("json"),
        )],
    );
    let edited = server_absence(&id, 4, AbsenceStatus::Reported);
    accept_first_in(
        &s,
        Some(serde_json::to_value(&edited).expect("json")),
        Some((7, 8)),
    );
    assert_eq!(absence(&s, &id).expect("absence").absence, edited);
}

#[test]
fn what_the_answer_does_not_carry_takes_the_version_the_command_made() {
    let (_d, s) = setup();
    let t = act(&s, |c, a, fx| {
        actions::start_thread(
            c,
            a,
            fx,
            NewThread {
                child_id: None,
                subject: "Henting".into(),
                body: "Bestemor henter".into(),
            },
        )
    })
    .expect("thread");
    let mine = reads::messages(&s.conn().expect("c"), &t, None, 10).expect("messages");
    let mut on_server = mine[0].message.clone();
    on_server.sent_at = Timestamp(on_server.sent_at.0 + 46);
    // The thread's answer was lost; a sync brought the first message as the server made it.
    page(
        &s,
        vec![upsert_at(
            12,
            EntityKind::Message,
            on_server.id.as_str(),
            serde_json::to_value(&on_server).expect("json"),
        )],
    );
    let thread: Thread = cache::get(&s.conn().expect("c"), EntityKind::Thread, t.as_str())
        .expect("get")
        .expect("thread");
    accept_first_in(
        &s,
        Some(serde_json::to_value(&thread).expect("json")),
        Some((10, 12)),
    );
    let now = reads::messages(&s.conn().expect("c"), &t, None, 10).expect("messages");
    assert_eq!(now[0].message, on_server);
    // A read mark held from before its command ran is older: the parent's view stays.
    act(&s, |c, a, fx| actions::mark_read(c, a, fx, "t1".into())).expect("read");
    page(
        &s,
        vec![upsert_at(
            13,
            EntityKind::Message,
            "m1",
            serde_json::to_value(staff_message("m1", 2)).expect("json"),
        )],
    );
    accept_first_in(&s, None, Some((20, 21)));
    let unread = reads::threads(&s.conn().expect("c")).expect("threads");
    assert!(unread.iter().all(|t| t.unread_count == 0), "{unread:?}");
}
