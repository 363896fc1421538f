//! Pulling the change feed: `GET /v1/sync?cursor=C&limit=N` from the stored cursor, page after
//! page. Each page and its cursor are applied in one transaction, so a failure midway leaves the
//! cache at the last whole page. Unknown entity kinds, unknown ops and entities that do not
//! decode are skipped (counted), never fatal. Tombstones delete rows and cached files.
//!
//! [`Inner::sync`] is the whole sync of an account behind the facade: pull, send the outbox,
//! then the online side jobs (push registration, unregisters, telemetry), and the status.

use crate::accounts::AccountCtx;
use crate::auth::Auth;
use crate::cache::{self, Effects};
use crate::error::{KidplanError, Result};
use crate::runtime::{Inner, lock};
use crate::store::{Store, get_meta, set_meta};
use crate::{outbox, push};
use kidplan_api::sync::{ChangeOp, Entity, SyncPage};
use kidplan_api::telemetry::Metric;
use kidplan_api::{Timestamp, paths};
use reqwest::Method;
use rusqlite::Connection;
use std::sync::Arc;

/// How long sent outbox items stay visible.
const KEEP_SENT_MS: i64 = 7 * 86_400_000;
/// Largest number of pages one sync pulls (a guard against a server that never ends).
const MAX_PAGES: u32 = 10_000;

/// What a sync did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct SyncReport {
    /// Pages applied.
    pub pages: u32,
    /// Changes applied (upserts and deletes).
    pub applied: u32,
    /// Changes skipped (unknown kind or op, undecodable entity, or a local pending change).
    pub skipped: u32,
    /// Outbox items sent, rejected, and still pending after the flush.
    pub sent: u32,
    pub rejected: u32,
    pub pending: u32,
}

/// Where syncing stands, for a status line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct SyncStatus {
    /// A sync is running now.
    pub syncing: bool,
    /// When the last sync completed.
    pub last_synced_at: Option<kidplan_api::Timestamp>,
    /// The stable code of the last sync's error (`"offline"`, ...), cleared by a success.
    pub last_error: Option<String>,
    /// Parent actions not yet sent.
    pub pending_outbox: u32,
}

/// The stored cursor (0 before the first sync).
pub fn cursor(c: &Connection) -> Result<i64> {
    Ok(get_meta(c, "cursor")?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0))
}

/// Applies one page and stores its cursor, inside the caller's transaction.
pub fn apply_page(
    c: &Connection,
    page: &SyncPage,
    me: &str,
    report: &mut SyncReport,
    fx: &mut Effects,
) -> Result<()> {
    for ch in &page.changes {
        match ch.op {
            ChangeOp::Delete => {
                if cache::table(ch.entity).is_none() {
                    report.skipped += 1;
                    continue;
                }
                cache::delete(c, ch.entity, &ch.id, fx)?;
                report.applied += 1;
            }
            ChangeOp::Upsert => {
                let decoded = ch.data.as_ref().map(|d| Entity::decode(ch.entity, d));
                match decoded {
                    Some(Ok(Some(e))) => {
                        if outbox::has_pending_for(c, ch.entity, &ch.id)? {
                            // The parent's pending change wins until it is sent.
                            report.skipped += 1;
                            continue;
                        }
                        cache::upsert(c, &e, me, fx)?;
                        report.applied += 1;
                    }
                    Some(Ok(None)) => report.skipped += 1,
                    Some(Err(_)) | None => {
                        tracing::warn!(
                            seq = ch.seq,
                            kind = ch.entity.as_str(),
                            "undecodable change skipped"
                        );
                        report.skipped += 1;
                    }
                }
            }
            ChangeOp::Unknown => report.skipped += 1,
        }
    }
    set_meta(c, "cursor", &page.cursor.to_string())?;
    Ok(())
}

/// Pulls and applies pages until the server has no more. Each applied page's effects are
/// handed to `on_page` (after its commit) so observers hear about them as they land.
pub async fn pull(
    store: &Store,
    auth: &Auth,
    me: &str,
    limit: u32,
    report: &mut SyncReport,
    mut on_page: impl FnMut(Effects),
) -> Result<()> {
    let limit = limit.clamp(1, kidplan_api::sync::MAX_SYNC_LIMIT);
    for _ in 0..MAX_PAGES {
        let from = cursor(&*store.conn()?)?;
        let path = format!("{}?cursor={from}&limit={limit}", paths::SYNC);
        let client = auth.client();
        let page: SyncPage = auth
            .call(|t| {
                let path = &path;
                async move { client.json(Method::GET, path, Some(&t), None, None).await }
            })
            .await?;
        let mut fx = Effects::default();
        store.write(|tx| apply_page(tx, &page, me, report, &mut fx))?;
        report.pages += 1;
        on_page(fx);
        if !page.has_more {
            return Ok(());
        }
        if page.cursor <= from {
            tracing::warn!("sync cursor did not advance");
            return Err(KidplanError::Server);
        }
    }
    Err(KidplanError::Server)
}

impl Inner {
    /// Syncs the active account.
    pub(crate) async fn sync(self: &Arc<Self>) -> Result<SyncReport> {
        let ctx = self.require_ctx()?;
        self.sync_ctx(ctx).await
    }

    /// Where syncing stands, with the active account's outbox and last sync.
    pub(crate) fn sync_status(self: &Arc<Self>) -> SyncStatus {
        let mut s = lock(&self.status).map(|s| s.clone()).unwrap_or_default();
        if let Ok(Some(ctx)) = self.active_ctx()
            && let Ok(c) = ctx.store.conn()
        {
            s.pending_outbox = outbox::pending_count(&c).unwrap_or(0);
            s.last_synced_at = get_meta(&c, "last_synced_at")
                .ok()
                .flatten()
                .and_then(|v| v.parse().ok())
                .map(Timestamp);
        }
        s
    }

    /// Syncs one account; then, online, the side jobs: its push registration, unregisters
    /// left over, a due telemetry report (all best effort: they never fail the sync).
    pub(crate) async fn sync_ctx(self: &Arc<Self>, ctx: Arc<AccountCtx>) -> Result<SyncReport> {
        let started = std::time::Instant::now();
        let r = {
            let _one = ctx.sync_lock.lock().await;
            if let Ok(mut s) = lock(&self.status) {
                s.syncing = true;
            }
            let r = self.pull_and_send(&ctx).await;
            if let Ok(mut s) = lock(&self.status) {
                s.syncing = false;
                s.last_error = r.as_ref().err().map(|e| e.code().to_owned());
            }
            r
        };
        let metric = if r.is_ok() {
            Metric::SyncSucceeded
        } else {
            Metric::SyncFailed
        };
        self.telemetry.record_duration(metric, started.elapsed());
        if r.is_ok() {
            push::maintain(&ctx, &*self.secrets).await;
            let _ = self.flush_unregisters().await;
            if let Err(e) = self.send_telemetry().await {
                tracing::debug!(error = e.code(), "telemetry report not sent");
            }
        }
        self.after_network(&ctx, r)
    }

    /// Pulls the account's changes, then sends its outbox and prunes what was sent long ago.
    async fn pull_and_send(&self, ctx: &AccountCtx) -> Result<SyncReport> {
        let me = ctx.account.person_id.clone();
        let mut report = SyncReport::default();
        let dir = ctx.files_dir();
        pull(
            &ctx.store,
            &ctx.auth,
            &me,
            self.tuning.sync_page_limit,
            &mut report,
            |fx| self.apply(&dir, fx),
        )
        .await?;
        let now = Timestamp::now().0.to_string();
        ctx.store.write(|tx| set_meta(tx, "last_synced_at", &now))?;
        let _f = ctx.flush_lock.lock().await;
        let mut fx = Effects::default();
        let flushed = outbox::flush(&ctx.store, &ctx.auth, &me, &self.tuning, true, &mut fx).await;
        self.apply(&dir, fx);
        let f = flushed?;
        ctx.store.write(|tx| outbox::prune(tx, KEEP_SENT_MS))?;
        report.sent = f.sent;
        report.rejected = f.rejected;
        report.pending = f.pending;
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observers::Collection;
    use crate::store::new_key;
    use kidplan_api::model::*;
    use kidplan_api::sync::{Change, EntityKind};
    use serde_json::json;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = Store::open(&dir.path().join("cache.db"), &new_key()).expect("open");
        (dir, s)
    }

    fn up(seq: i64, kind: EntityKind, id: &str, data: serde_json::Value) -> Change {
        Change {
            seq,
            entity: kind,
            id: id.into(),
            op: ChangeOp::Upsert,
            data: Some(data),
        }
    }

    fn del(seq: i64, kind: EntityKind, id: &str) -> Change {
        Change {
            seq,
            entity: kind,
            id: id.into(),
            op: ChangeOp::Delete,
            data: None,
        }
    }

    pub(crate) fn child(id: &str, name: &str) -> serde_json::Value {
        json!({"id": id, "kindergarten_id": "k1", "department_id": "d1", "first_name": name,
               "last_name": "Nordmann", "birth_date": "2021-03-04", "info": null})
    }

    fn apply(s: &Store, changes: Vec<Change>, cursor: i64) -> (SyncReport, Effects) {
        let page = SyncPage {
            changes,
            cursor,
            has_more: false,
        };
        let mut r = SyncReport::default();
        let mut fx = Effects::default();
        s.write(|tx| apply_page(tx, &page, "g1", &mut r, &mut fx))
            .expect("apply");
        (r, fx)
    }

    fn count(s: &Store, t: &str) -> i64 {
        s.conn()
            .expect("conn")
            .query_row(&format!("SELECT count(*) FROM {t}"), [], |r| r.get(0))
            .expect("count")
    }

    #[test]
    fn applies_upserts_skips_unknown_and_stores_cursor() {
        let (_d, s) = store();
        let (r, fx) = apply(
            &s,
            vec![
                up(1, EntityKind::Child, "c1", child("c1", "Ola")),
                up(2, EntityKind::Unknown, "x", json!({})),
                up(
                    3,
                    EntityKind::LogEntry,
                    "l1",
                    json!({"id":"l1","child_id":"c1","author_id":"s1","kind":"teleport","text":"t","at":5}),
                ),
                up(4, EntityKind::LogEntry, "l2", json!({"id": 5})),
                Change {
                    seq: 5,
                    entity: EntityKind::Child,
                    id: "c1".into(),
                    op: ChangeOp::Unknown,
                    data: None,
                },
                up(6, EntityKind::Child, "c2", json!(null)),
            ],
            6,
        );
        assert_eq!((r.applied, r.skipped), (2, 4));
        assert!(fx.collections.contains(&Collection::Children));
        assert_eq!(cursor(&s.conn().expect("c")).expect("cursor"), 6);
        let l: Option<LogEntry> =
            cache::get(&s.conn().expect("c"), EntityKind::LogEntry, "l1").expect("get");
        assert_eq!(l.map(|l| l.kind), Some(LogKind::Unknown));
    }

    #[test]
    fn tombstone_of_a_child_removes_everything_about_it() {
        let (_d, s) = store();
        s.write(|tx| {
            tx.execute(
                "INSERT INTO files(key, kind, entity_id, name, size, last_used)
                 VALUES ('photo/p1/thumb', 'photo', 'p1', 'f1', 10, 0),
                        ('document/doc1/full', 'document', 'doc1', 'f2', 10, 0)",
                [],
            )?;
            Ok(())
        })
        .expect("files");
        apply(
            &s,
            vec![
                up(1, EntityKind::Child, "c1", child("c1", "Ola")),
                up(2, EntityKind::Child, "c2", child("c2", "Kari")),
                up(
                    3,
                    EntityKind::LogEntry,
                    "l1",
                    json!({"id":"l1","child_id":"c1","author_id":"s1","kind":"meal","text":"t","at":5}),
                ),
                up(
                    4,
                    EntityKind::Thread,
                    "t1",
                    json!({"id":"t1","kindergarten_id":"k1","child_id":"c1","subject":"s","broadcast":false,"created_at":1}),
                ),
                up(
                    5,
                    EntityKind::Message,
                    "m1",
                    json!({"id":"m1","thread_id":"t1","sender":{"kind":"staff","id":"s1"},"body":"b","sent_at":2,"read_at":null}),
                ),
                up(
                    6,
                    EntityKind::Photo,
                    "p1",
                    json!({"id":"p1","child_ids":["c1"],"caption":null,"taken_at":3,"size_bytes":10}),
                ),
                up(
                    7,
                    EntityKind::Photo,
                    "p2",
                    json!({"id":"p2","child_ids":["c1","c2"],"caption":null,"taken_at":3,"size_bytes":10}),
                ),
                up(
                    8,
                    EntityKind::Document,
                    "doc1",
                    json!({"id":"doc1","child_id":"c1","title":"x","mime_type":"application/pdf","size_bytes":1,"created_at":1}),
                ),
            ],
            8,
        );
        let (_, fx) = apply(&s, vec![del(9, EntityKind::Child, "c1")], 9);
        assert_eq!(count(&s, "children"), 1);
        for t in ["log_entries", "threads", "messages", "documents", "files"] {
            assert_eq!(count(&s, t), 0, "{t}");
        }
        assert_eq!(count(&s, "photos"), 1);
        let mut files = fx.files.clone();
        files.sort();
        assert_eq!(files, vec!["f1".to_string(), "f2".to_string()]);
        let p: Option<Photo> =
            cache::get(&s.conn().expect("c"), EntityKind::Photo, "p2").expect("get");
        assert_eq!(
            p.map(|p| p.child_ids),
            Some(vec![kidplan_api::ChildId::from("c2")])
        );
    }

    #[test]
    fn a_failed_page_leaves_the_previous_one() {
        let (_d, s) = store();
        apply(
            &s,
            vec![up(1, EntityKind::Child, "c1", child("c1", "Ola"))],
            1,
        );
        let page = SyncPage {
            changes: vec![up(2, EntityKind::Child, "c2", child("c2", "Kari"))],
            cursor: 2,
            has_more: false,
        };
        let r = s.write(|tx| {
            let mut rep = SyncReport::default();
            apply_page(tx, &page, "g1", &mut rep, &mut Effects::default())?;
            Err::<(), _>(KidplanError::Offline) // fails after applying: must roll back
        });
        assert_eq!(r, Err(KidplanError::Offline));
        assert_eq!(count(&s, "children"), 1);
        assert_eq!(cursor(&s.conn().expect("c")).expect("cursor"), 1);
    }

    #[test]
    fn unread_flag_ignores_own_messages() {
        let (_d, s) = store();
        apply(
            &s,
            vec![
                up(
                    1,
                    EntityKind::Message,
                    "m1",
                    json!({"id":"m1","thread_id":"t1","sender":{"kind":"guardian","id":"g1"},"body":"b","sent_at":2,"read_at":null}),
                ),
                up(
                    2,
                    EntityKind::Message,
                    "m2",
                    json!({"id":"m2","thread_id":"t1","sender":{"kind":"staff","id":"s1"},"body":"b","sent_at":3,"read_at":null}),
                ),
            ],
            2,
        );
        let unread: i64 = s
            .conn()
            .expect("c")
            .query_row("SELECT sum(flag) FROM messages", [], |r| r.get(0))
            .expect("sum");
        assert_eq!(unread, 1);
    }
}
