//! Push: owns the device's push registration for each account, the install-level list of
//! registrations still to be deleted on the server, and turning a received push into a
//! [`LocalNotification`] from the local cache.
//!
//! - One registration per (install, account). Its key is a random registration id, not the
//!   token; a random registration secret proves ownership when deleting it. Both live only in
//!   the secret store (`kidplan.<account>.push`). The token, provider, whether the server has
//!   confirmed it (`pending`) and the day it was last sent live in the account's encrypted
//!   store (table `push_registration`).
//! - An unchanged token is not re-sent; a changed one updates the same registration in place
//!   (`PUT` on the same id); a registration that could not be sent stays pending and is sent by
//!   the next sync; sync also re-sends it weekly (heartbeat: the server drops registrations
//!   unseen for 60 days).
//! - Logout and account removal first move the id and secret to the install-level list
//!   (`kidplan.push.unregister`), then delete them on the server; what fails (offline) is
//!   retried by the next sync of any account and on the next open. A device handed to another
//!   parent so never receives the previous parent's alerts.
//! - A push carries no personal data (`{"v":1,"kind":"sync","hint":"<entity>/<id>"}`); the
//!   text is built from the cache by [`notification`], respecting the guardian's preferences
//!   per child and category (urgent broadcasts always come through).
//! - [`Inner::handle_push`] turns a received payload into that notification: a bounded sync of
//!   each account (active first) until one has the hinted entity in its cache.

use crate::accounts::{AccountCtx, AccountId};
use crate::cache;
use crate::client::{Client, HttpError};
use crate::error::{KidplanError, Result};
use crate::notify::{self, LocalNotification, NotificationEvent};
use crate::reads;
use crate::runtime::{Inner, lock};
use crate::secrets::{SecretStore, keys};
use kidplan_api::model::*;
use kidplan_api::push::{Locale, PushProvider, UpsertPushRegistration};
use kidplan_api::sync::EntityKind;
use kidplan_api::telemetry::Metric;
use kidplan_api::{ChildId, Day, paths};
use reqwest::Method;
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Days after which sync sends an unchanged registration again.
pub const HEARTBEAT_DAYS: i64 = 7;
/// Most registrations kept waiting for deletion (oldest dropped first).
const MAX_PENDING_UNREGISTER: usize = 32;

/// The account's registration as the device keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Registration {
    pub provider: PushProvider,
    pub token: String,
    /// Not yet confirmed by the server.
    pub pending: bool,
    /// The day the server last confirmed it.
    pub last_sent_day: Option<Day>,
}

/// A registration id and its secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {
    pub id: String,
    pub secret: String,
}

fn provider_str(p: PushProvider) -> &'static str {
    match p {
        PushProvider::Fcm => "fcm",
        PushProvider::Apns => "apns",
        PushProvider::Unknown => "unknown",
    }
}

fn provider_from(s: &str) -> PushProvider {
    match s {
        "fcm" => PushProvider::Fcm,
        "apns" => PushProvider::Apns,
        _ => PushProvider::Unknown,
    }
}

/// The stored registration, if the account has one.
pub fn load(c: &Connection) -> Result<Option<Registration>> {
    let row = c
        .query_row(
            "SELECT provider, token, pending, last_sent_day FROM push_registration WHERE slot = 1",
            [],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, bool>(2)?,
                    r.get::<_, Option<String>>(3)?,
                ))
            },
        )
        .optional()?;
    Ok(row.map(|(p, token, pending, day)| Registration {
        provider: provider_from(&p),
        token,
        pending,
        last_sent_day: day.and_then(|d| d.parse().ok()),
    }))
}

fn save(c: &Connection, r: &Registration) -> Result<()> {
    c.execute(
        "INSERT INTO push_registration (slot, provider, token, pending, last_sent_day)
         VALUES (1, ?1, ?2, ?3, ?4)
         ON CONFLICT (slot) DO UPDATE SET provider = excluded.provider, token = excluded.token,
           pending = excluded.pending, last_sent_day = excluded.last_sent_day",
        params![
            provider_str(r.provider),
            r.token,
            r.pending,
            r.last_sent_day.map(|d| d.to_string())
        ],
    )?;
    Ok(())
}

/// The account's registration id and secret, if it has them.
pub fn credentials(secrets: &dyn SecretStore, account: &str) -> Result<Option<Credentials>> {
    let Some(v) = secrets.get(keys::push_registration(account))? else {
        return Ok(None);
    };
    Ok(v.split_once(' ').and_then(|(id, secret)| {
        (!id.is_empty() && !secret.is_empty()).then(|| Credentials {
            id: id.to_owned(),
            secret: secret.to_owned(),
        })
    }))
}

fn random_hex(bytes: usize) -> String {
    let v: Vec<u8> = (0..bytes).map(|_| rand::random::<u8>()).collect();
    hex::encode(v)
}

fn ensure_credentials(secrets: &dyn SecretStore, account: &str) -> Result<Credentials> {
    if let Some(c) = credentials(secrets, account)? {
        return Ok(c);
    }
    let c = Credentials {
        id: random_hex(16),
        secret: random_hex(32),
    };
    secrets.set(
        keys::push_registration(account),
        format!("{} {}", c.id, c.secret),
    )?;
    Ok(c)
}

fn check_token(provider: PushProvider, token: &str) -> Result<()> {
    if provider == PushProvider::Unknown {
        return Err(KidplanError::invalid("provider"));
    }
    if token.trim().is_empty() || token.len() > 4096 || token.chars().any(char::is_control) {
        return Err(KidplanError::invalid("token"));
    }
    Ok(())
}

/// Whether a confirmed registration is due for its heartbeat on `today`.
pub fn heartbeat_due(r: &Registration, today: Day) -> bool {
    match r.last_sent_day {
        Some(d) => (today.0 - d.0).num_days() >= HEARTBEAT_DAYS || d > today,
        None => true,
    }
}

/// Stores the token and sends the registration when it changed (or is pending, or due for its
/// heartbeat). A send that fails for a transient reason (offline, server error) leaves it
/// pending for the next sync and is not an error; a token the server refuses is forgotten
/// and the error returned.
pub async fn set_token(
    ctx: &AccountCtx,
    secrets: &dyn SecretStore,
    provider: PushProvider,
    token: String,
) -> Result<()> {
    check_token(provider, &token)?;
    let account = ctx.account.id.as_str();
    ensure_credentials(secrets, account)?;
    let today = Day::today();
    let unchanged = ctx.store.write(|tx| {
        let old = load(tx)?;
        if let Some(o) = &old
            && o.provider == provider
            && o.token == token
            && !o.pending
            && !heartbeat_due(o, today)
        {
            return Ok(true);
        }
        save(
            tx,
            &Registration {
                provider,
                token: token.clone(),
                pending: true,
                last_sent_day: old.and_then(|o| o.last_sent_day),
            },
        )?;
        Ok(false)
    })?;
    if unchanged {
        return Ok(());
    }
    match send(ctx, secrets).await {
        Ok(_) => Ok(()),
        Err(e) => match e {
            KidplanError::Offline | KidplanError::Server | KidplanError::RateLimited { .. } => {
                tracing::info!(error = e.code(), "push registration kept for the next sync");
                Ok(())
            }
            KidplanError::InvalidInput { .. } | KidplanError::Forbidden => {
                ctx.store
                    .write(|tx| Ok(tx.execute("DELETE FROM push_registration", [])?))?;
                Err(e)
            }
            e => Err(e),
        },
    }
}

/// Sends the stored registration (`PUT` on its id). Returns whether one was sent.
pub async fn send(ctx: &AccountCtx, secrets: &dyn SecretStore) -> Result<bool> {
    let account = ctx.account.id.as_str();
    let Some(reg) = load(&*ctx.store.conn()?)? else {
        return Ok(false);
    };
    let creds = ensure_credentials(secrets, account)?;
    let body = serde_json::to_string(&UpsertPushRegistration {
        provider: reg.provider,
        token: reg.token.clone(),
        secret: creds.secret.clone(),
    })
    .map_err(|_| KidplanError::Internal)?;
    let path = paths::fill(paths::PUSH_REGISTRATION, &[("id", &creds.id)]);
    let client = ctx.auth.client();
    ctx.auth
        .call(|t| {
            let (b, path) = (body.clone(), &path);
            async move {
                client
                    .send(Method::PUT, path, Some(&t), None, Some(b))
                    .await
            }
        })
        .await?;
    let today = Day::today();
    ctx.store.write(|tx| {
        // Only if the token was not changed meanwhile (then that one is still pending).
        if let Some(mut now) = load(tx)?
            && now.token == reg.token
            && now.provider == reg.provider
        {
            now.pending = false;
            now.last_sent_day = Some(today);
            save(tx, &now)?;
        }
        Ok(())
    })?;
    tracing::debug!("push registration sent");
    Ok(true)
}

/// Sync's part: sends a pending registration, or an unchanged one due for its heartbeat.
/// Best effort: failures are logged (by code) and retried on the next sync.
pub async fn maintain(ctx: &AccountCtx, secrets: &dyn SecretStore) {
    let due = match ctx.store.conn().and_then(|c| load(&c)) {
        Ok(Some(r)) => r.pending || heartbeat_due(&r, Day::today()),
        Ok(None) => false,
        Err(_) => false,
    };
    if due && let Err(e) = send(ctx, secrets).await {
        tracing::info!(
            error = e.code(),
            "push registration not sent; retried later"
        );
    }
}

fn pending_list(secrets: &dyn SecretStore) -> Result<Vec<Credentials>> {
    Ok(secrets
        .get(keys::PUSH_UNREGISTER.to_owned())?
        .and_then(|v| serde_json::from_str::<Vec<Credentials>>(&v).ok())
        .unwrap_or_default())
}

fn save_pending_list(secrets: &dyn SecretStore, list: &[Credentials]) -> Result<()> {
    if list.is_empty() {
        return secrets.delete(keys::PUSH_UNREGISTER.to_owned());
    }
    let v = serde_json::to_string(list).map_err(|_| KidplanError::Internal)?;
    secrets.set(keys::PUSH_UNREGISTER.to_owned(), v)
}

/// Moves an account's registration to the install-level list of registrations to delete on
/// the server, and forgets it for the account. Call before the account's secrets are wiped.
pub fn retire(secrets: &dyn SecretStore, account: &str) -> Result<()> {
    let Some(c) = credentials(secrets, account)? else {
        return Ok(());
    };
    let mut list = pending_list(secrets)?;
    if !list.contains(&c) {
        list.push(c);
    }
    let over = list.len().saturating_sub(MAX_PENDING_UNREGISTER);
    list.drain(..over);
    save_pending_list(secrets, &list)?;
    secrets.delete(keys::push_registration(account))
}

/// [`retire`], logging (not returning) a failure: for the paths that remove an account anyway.
pub fn retire_logged(secrets: &dyn SecretStore, account: &AccountId) {
    if let Err(e) = retire(secrets, account.as_str()) {
        tracing::warn!(
            error = e.code(),
            "push registration not queued for deletion"
        );
    }
}

/// The registrations still waiting to be deleted on the server.
pub fn pending_unregisters(secrets: &dyn SecretStore) -> usize {
    pending_list(secrets).map(|l| l.len()).unwrap_or(0)
}

/// Deletes the waiting registrations on the server (no session needed: the secret proves
/// ownership). A registration the server no longer has counts as deleted. Returns how many
/// are still waiting.
pub async fn flush_unregisters(client: &Client, secrets: &dyn SecretStore) -> Result<usize> {
    let list = pending_list(secrets)?;
    if list.is_empty() {
        return Ok(0);
    }
    let mut done = Vec::new();
    for c in &list {
        let path = paths::fill(paths::PUSH_REGISTRATION, &[("id", &c.id)]);
        match client.delete_push_registration(&path, &c.secret).await {
            Ok(()) | Err(HttpError::Status { status: 404, .. }) => done.push(c.clone()),
            Err(HttpError::Status { status: 400, .. }) => done.push(c.clone()),
            Err(e) => {
                tracing::info!(error = KidplanError::from(e).code(), "unregister deferred");
            }
        }
    }
    // Re-read: another account may have added one meanwhile.
    let mut now = pending_list(secrets)?;
    now.retain(|c| !done.contains(c));
    save_pending_list(secrets, &now)?;
    Ok(now.len())
}

// ----- notifications -----

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
                day: e.starts_at.day(),
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
            .is_none_or(|p| p.delivery != Delivery::Off)
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
    Ok(Some(notify::compose(locale, &ev)))
}

impl Inner {
    /// Registers this device for push for the active account (see [`set_token`]).
    pub(crate) async fn set_push_token(
        self: &Arc<Self>,
        provider: PushProvider,
        token: String,
    ) -> Result<()> {
        let ctx = self.require_ctx()?;
        let r = set_token(&ctx, &*self.secrets, provider, token).await;
        self.after_network(&ctx, r)
    }

    /// Deletes on the server the push registrations of accounts no longer on this device.
    pub(crate) async fn flush_unregisters(&self) -> Result<usize> {
        flush_unregisters(&self.client, &*self.secrets).await
    }

    /// Handles a push: a bounded sync of each account (active first) until one has the
    /// hinted entity in its cache, then the notification from that cache.
    pub(crate) async fn handle_push(
        self: &Arc<Self>,
        payload: &str,
    ) -> Result<Option<LocalNotification>> {
        let Some(hint) = notify::parse_payload(payload) else {
            return Ok(None);
        };
        self.telemetry.record(Metric::PushReceived);
        let ids: Vec<AccountId> = {
            let r = lock(&self.registry)?;
            let mut ids: Vec<AccountId> = r.active.iter().cloned().collect();
            ids.extend(
                r.accounts
                    .iter()
                    .map(|a| a.id.clone())
                    .filter(|id| Some(id) != r.active.as_ref()),
            );
            ids
        };
        let deadline = tokio::time::Instant::now() + self.tuning.push_sync_timeout;
        for id in ids {
            let Ok(ctx) = self.ctx(&id) else {
                continue;
            };
            // The sync runs as its own task: when time is up it carries on in the background
            // (each page one transaction) and the notification is built from the cache.
            let me = self.clone();
            let c = ctx.clone();
            let task = self.handle.spawn(async move { me.sync_ctx(c).await });
            match tokio::time::timeout_at(deadline, task).await {
                Ok(Ok(Ok(_))) => {}
                Ok(Ok(Err(e))) => tracing::debug!(error = e.code(), "push sync failed"),
                Ok(Err(_)) => tracing::debug!("push sync task failed"),
                Err(_) => tracing::debug!("push sync timed out"),
            }
            if !lock(&self.registry)?.accounts.iter().any(|a| a.id == id) {
                continue; // the sync found the session revoked and wiped the account
            }
            let Some((kind, entity_id)) = &hint.target else {
                continue;
            };
            let c = ctx.store.conn()?;
            let n = notification(
                &c,
                &ctx.account.person_id,
                &ctx.account.kindergarten_name,
                self.config.locale,
                *kind,
                entity_id,
            )?;
            if n.is_some() {
                return Ok(n);
            }
            if cache::exists(&c, *kind, entity_id)? {
                return Ok(None); // this account's, but not worth (or not wanted) a notification
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::Effects;
    use crate::secrets::MemorySecretStore;
    use crate::store::{self, Store};
    use kidplan_api::sync::Entity;
    use kidplan_api::{GuardianId, StaffId, ThreadId, Timestamp};

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("tmp");
        let s = Store::open(&dir.path().join("c.db"), &store::new_key()).expect("open");
        (dir, s)
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
                .map_err(|_| KidplanError::Internal)?;
                cache::upsert(tx, &Entity::Child(child), "g1", fx)?;
            }
            for (rid, child) in [("r1", "c1"), ("r2", "c2")] {
                let rel = GuardianChild {
                    id: rid.into(),
                    guardian_id: GuardianId::from("g1"),
                    child_id: child.into(),
                    relation: Relation::Mother,
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
    fn registration_state_round_trips_and_heartbeat() {
        let (_d, s) = store();
        let c = s.conn().expect("conn");
        assert_eq!(load(&c).expect("load"), None);
        let r = Registration {
            provider: PushProvider::Fcm,
            token: "tok".into(),
            pending: false,
            last_sent_day: Some(day("2026-11-20")),
        };
        save(&c, &r).expect("save");
        assert_eq!(load(&c).expect("load"), Some(r.clone()));
        assert!(!heartbeat_due(&r, day("2026-11-26")));
        assert!(heartbeat_due(&r, day("2026-11-27")));
    }

    #[test]
    fn retire_moves_credentials_to_the_install_list() {
        let secrets = MemorySecretStore::new();
        let c = ensure_credentials(&*secrets, "acc").expect("creds");
        assert_eq!(c.id.len(), 32);
        assert_ne!(c.id, c.secret);
        assert_eq!(ensure_credentials(&*secrets, "acc").expect("same"), c);
        retire(&*secrets, "acc").expect("retire");
        assert_eq!(credentials(&*secrets, "acc").expect("none"), None);
        assert_eq!(pending_unregisters(&*secrets), 1);
        retire(&*secrets, "acc").expect("idempotent");
        assert_eq!(pending_unregisters(&*secrets), 1);
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
