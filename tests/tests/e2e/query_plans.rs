//! Every query of the home screen and of sync uses an index: the demo guardian's real feed is
//! applied to a core cache with SQLite's statement trace on, the parent acts (pending actions
//! hold server versions back: `server_copies`, `outbox_covers`), the feed brings versions of
//! what they cover and tombstones of every kind, the outbox items end (sent, refused, retried)
//! and the home screen is read. Each distinct statement SQLite ran is then planned with
//! `EXPLAIN QUERY PLAN`; a full scan of a table that grows with the family's history fails.

use kidplan_api::model::Thread;
use kidplan_api::sync::{Change, ChangeOp, EntityKind, SyncPage};
use kidplan_api::{Day, ThreadId, paths};
use kidplan_core::cache::Effects;
use kidplan_core::local::actions::{self, Actor};
use kidplan_core::local::apply::{SyncReport, apply_page};
use kidplan_core::local::outbox::{self, Answer};
use kidplan_core::store::{self, Store};
use kidplan_core::{AbsenceReport, reads};
use kidplan_tests::{RawSession, demo, temp_server};
use rusqlite::trace::{TraceEvent, TraceEventCodes};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

/// Tables that grow with the family's history (days, messages, photos, actions).
const GROWING: &[&str] = &[
    "log_entries",
    "messages",
    "threads",
    "absences",
    "holidays",
    "consents",
    "calendar_events",
    "documents",
    "photos",
    "attendance",
    "privacy_requests",
    "outbox",
    "outbox_covers",
    "server_copies",
    "files",
];

/// Scans that are the point of the statement, with why: it returns every row, or it stops at
/// the first row.
const ALLOWED_SCANS: &[(&str, &str)] = &[
    (
        "SELECT EXISTS (SELECT 1 FROM outbox_covers)",
        "a probe that stops at the first row",
    ),
    // The inbox lists every conversation (a few dozen a year), each then read by index.
    ("SELECT data FROM threads", "the inbox lists every thread"),
    // A child's tombstone (leaving the kindergarten, erasure: once per child) untags the child
    // from photos; a photo names several children, so there is no child column to index.
    (
        "SELECT data FROM photos",
        "a child's tombstone untags it from every photo",
    ),
];

fn page(changes: Vec<Change>, cursor: i64) -> SyncPage {
    SyncPage {
        changes,
        cursor,
        has_more: false,
    }
}

fn tombstone(seq: i64, entity: EntityKind, id: &str) -> Change {
    Change {
        seq,
        entity,
        id: id.to_owned(),
        op: ChangeOp::Delete,
        data: None,
    }
}

/// The full scans of growing tables in `sql`'s plan, unless it is allowed.
fn full_scans(c: &rusqlite::Connection, sql: &str) -> anyhow::Result<Vec<String>> {
    if ALLOWED_SCANS.iter().any(|(s, _)| sql.trim() == *s) {
        return Ok(vec![]);
    }
    let mut st = c.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
    // The plan does not depend on the values: every parameter is NULL.
    let nulls = std::iter::repeat_n(rusqlite::types::Null, st.parameter_count());
    let details: Vec<String> = st
        .query_map(rusqlite::params_from_iter(nulls), |r| r.get::<_, String>(3))?
        .collect::<rusqlite::Result<_>>()?;
    let aliases = aliases(sql);
    Ok(details
        .into_iter()
        .filter(|d| {
            let mut words = d.split_whitespace();
            words.next() == Some("SCAN")
                && words.next().is_some_and(|name| {
                    let table = aliases.get(name).copied().unwrap_or(name);
                    GROWING.contains(&table)
                })
        })
        .collect())
}

/// The growing tables of `sql` by the name a plan gives them (`outbox o`, `outbox AS o`).
fn aliases(sql: &str) -> std::collections::HashMap<&str, &str> {
    const NOT_ALIASES: &[&str] = &[
        "WHERE", "ON", "JOIN", "LEFT", "INNER", "CROSS", "ORDER", "GROUP", "LIMIT", "SET",
        "VALUES", "UNION", "USING", "INDEXED", "NOT",
    ];
    let words: Vec<&str> = sql
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .collect();
    let mut out = std::collections::HashMap::new();
    for (i, w) in words.iter().enumerate() {
        let Some(table) = GROWING.iter().find(|t| **t == *w) else {
            continue;
        };
        let mut next = words.get(i + 1).copied();
        if next.is_some_and(|n| n.eq_ignore_ascii_case("AS")) {
            next = words.get(i + 2).copied();
        }
        if let Some(alias) = next
            && !NOT_ALIASES.iter().any(|k| k.eq_ignore_ascii_case(alias))
        {
            out.insert(alias, *table);
        }
    }
    out
}

#[tokio::test]
async fn home_screen_and_sync_queries_use_an_index() -> anyhow::Result<()> {
    let (_dir, server) = temp_server().await?;
    let kari = RawSession::login(&server, demo::GUARDIAN_EMAIL).await?;
    let mut pages = Vec::new();
    let mut cursor = 0;
    loop {
        let p: SyncPage = kari
            .get(&format!("{}?cursor={cursor}&limit=500", paths::SYNC))
            .await?;
        cursor = p.cursor;
        let more = p.has_more;
        pages.push(p);
        if !more {
            break;
        }
    }
    let feed: Vec<Change> = pages.iter().flat_map(|p| p.changes.clone()).collect();
    let ids = |kind: EntityKind| -> Vec<String> {
        feed.iter()
            .filter(|c| c.entity == kind)
            .map(|c| c.id.clone())
            .collect()
    };

    let dir = tempfile::tempdir()?;
    let store = Store::open(&dir.path().join("cache.db"), &store::new_key())?;
    let seen: Arc<Mutex<BTreeSet<String>>> = Arc::default();
    {
        let seen = seen.clone();
        store.conn()?.trace_v2(
            TraceEventCodes::SQLITE_TRACE_STMT,
            Some(move |e: TraceEvent<'_>| {
                if let TraceEvent::Stmt(s, _) = e
                    && let Ok(mut seen) = seen.lock()
                {
                    seen.insert(s.sql().into_owned());
                }
            }),
        )?;
    }
    let me = demo::GUARDIAN_ID;
    let kg = kidplan_api::KindergartenId::from(demo::KINDERGARTEN_ID);
    let actor = Actor {
        me,
        kindergarten_id: &kg,
    };
    let apply = |p: &SyncPage| -> anyhow::Result<()> {
        store.write(|tx| {
            apply_page(
                tx,
                p,
                me,
                &mut SyncReport::default(),
                &mut Effects::default(),
            )
        })?;
        Ok(())
    };
    // The first sync.
    for p in &pages {
        apply(p)?;
    }

    // The parent acts: the actions cover entities whose server versions are then held back.
    let child = kidplan_api::ChildId::from(demo::GUARDIAN_CHILD_IDS[0]);
    let threads: Vec<Thread> = {
        let c = store.conn()?;
        reads::threads(&c)?.into_iter().map(|t| t.thread).collect()
    };
    let thread: ThreadId = threads
        .iter()
        .find(|t| !t.broadcast)
        .map(|t| t.id.clone())
        .ok_or_else(|| anyhow::anyhow!("no conversation in the demo feed"))?;
    let today = Day::today();
    let absence = store.write(|tx| {
        actions::report_absence(
            tx,
            &actor,
            &mut Effects::default(),
            AbsenceReport {
                child_id: child.clone(),
                first_day: today.plus_days(1),
                last_day: today.plus_days(2),
                reason: kidplan_api::model::AbsenceReason::Sick,
                note: None,
            },
        )
    })?;
    let message = store.write(|tx| {
        actions::send_message(
            tx,
            &actor,
            &mut Effects::default(),
            thread.clone(),
            "Hei".into(),
        )
    })?;
    store.write(|tx| actions::mark_read(tx, &actor, &mut Effects::default(), thread.clone()))?;

    // The feed brings the covered entities (held back) and tombstones of every kind.
    let covered: Vec<Change> = feed
        .iter()
        .filter(|c| c.entity == EntityKind::Thread && c.id == thread.as_str())
        .cloned()
        .collect();
    apply(&page(covered, cursor + 1))?;
    let mut seq = cursor + 2;
    let mut gone = |kind: EntityKind, id: &str| {
        seq += 1;
        tombstone(seq, kind, id)
    };
    let mut tombstones = vec![
        gone(EntityKind::Absence, absence.as_str()),
        gone(EntityKind::Message, message.as_str()),
    ];
    // A tombstone of every kind (the child and the guardian below, by the ids that matter).
    for kind in EntityKind::ALL
        .into_iter()
        .filter(|k| !matches!(k, EntityKind::Child | EntityKind::Guardian))
    {
        if let Some(id) = ids(kind).last() {
            tombstones.push(gone(kind, id));
        }
    }
    tombstones.push(gone(EntityKind::Guardian, demo::SECOND_GUARDIAN_ID));
    tombstones.push(gone(EntityKind::Child, demo::GUARDIAN_CHILD_IDS[1]));
    apply(&page(tombstones, seq))?;

    // The outbox items end: one retried later, one sent (with the server's answer), one refused.
    let due = outbox::pending(&*store.conn()?)?;
    anyhow::ensure!(due.len() >= 2, "pending actions: {}", due.len());
    store.write(|tx| outbox::retry_later(tx, due[0].seq, 0, "offline"))?;
    let answer = Answer {
        body: Vec::new(),
        feed: None,
    };
    store.write(|tx| {
        if outbox::is_pending(tx, due[0].seq)? {
            outbox::mark_sent(tx, &due[0], &answer, me, &mut Effects::default())?;
        }
        Ok(())
    })?;
    store.write(|tx| outbox::mark_rejected(tx, &due[1], "refused", me, &mut Effects::default()))?;
    {
        let c = store.conn()?;
        outbox::pending_count(&c)?;
        outbox::next_due(&c)?;
        outbox::prune(&c, 0)?;
        kidplan_core::local::apply::cursor(&c)?;

        // The home screen.
        reads::guardian(&c, me)?;
        let kids = reads::children(&c)?;
        anyhow::ensure!(!kids.is_empty(), "no child left to read");
        reads::attendance(&c, today)?;
        for k in &kids {
            let first = reads::log_entries(&c, &k.id, None, 20)?;
            if let Some(last) = first.last() {
                reads::log_entries(&c, &k.id, Some(last.at), 20)?;
            }
        }
        let inbox = reads::threads(&c)?;
        if let Some(t) = inbox.first() {
            reads::messages(&c, &t.thread.id, None, 20)?;
        }
        outbox::local_states(&c)?;
    }

    let seen = seen
        .lock()
        .map_err(|_| anyhow::anyhow!("trace lock"))?
        .clone();
    let c = store.conn()?;
    let mut planned = 0;
    let mut scans = Vec::new();
    for sql in &seen {
        let head = sql.trim_start().to_ascii_uppercase();
        if !["SELECT", "INSERT", "UPDATE", "DELETE", "WITH"]
            .iter()
            .any(|k| head.starts_with(k))
        {
            continue;
        }
        planned += 1;
        for scan in full_scans(&c, sql)? {
            scans.push(format!(
                "{scan}  <-  {}",
                sql.split_whitespace().collect::<Vec<_>>().join(" ")
            ));
        }
    }
    // The trace saw the statements of every part above (a canary against an empty trace).
    for needle in [
        "outbox_covers",
        "server_copies",
        "FROM log_entries",
        "DELETE FROM messages",
        "FROM attendance",
    ] {
        anyhow::ensure!(
            seen.iter().any(|s| s.contains(needle)),
            "no traced statement mentions {needle}"
        );
    }
    anyhow::ensure!(planned >= 30, "only {planned} statements planned");
    anyhow::ensure!(
        scans.is_empty(),
        "full scans of growing tables:\n{}",
        scans.join("\n")
    );
    Ok(())
}
