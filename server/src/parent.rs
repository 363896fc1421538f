//! Parent commands and reads. Every command needs an `Idempotency-Key` (see [`crate::command`]);
//! everything is scoped to the guardian's own children: another family's child, thread or
//! absence is `404`.

use crate::app::AppState;
use crate::auth::GuardianCaller;
use crate::command::{self, Cmd, check_days, check_new, check_text, fingerprint, note};
use crate::entities::{self, GuardianView, enum_str};
use crate::error::{AppError, AppResult};
use crate::extract::{ApiJson, ApiPath, IdempotencyKey};
use crate::feed;
use axum::Json;
use axum::extract::State;
use axum::response::Response;
use kidplan_api::commands::*;
use kidplan_api::model::*;
use kidplan_api::privacy::*;
use kidplan_api::sync::{Entity, EntityKind};
use rusqlite::{Connection, params};

fn found<T>(v: Option<T>) -> AppResult<T> {
    v.ok_or_else(AppError::not_found)
}

fn own_child(c: &mut Cmd<'_>, child_id: &str) -> AppResult<()> {
    if !c.view.has_child(child_id) {
        return Err(AppError::not_found());
    }
    c.child_id = Some(child_id.to_owned());
    Ok(())
}

/// An absence of one of the caller's children.
fn own_absence(c: &mut Cmd<'_>, id: &str) -> AppResult<Absence> {
    let a = found(entities::absence(c.conn, id)?)?;
    own_child(c, a.child_id.as_str())?;
    Ok(a)
}

fn check_reason(reason: AbsenceReason) -> AppResult<()> {
    if reason == AbsenceReason::Unknown {
        return Err(AppError::invalid("reason", "unknown reason"));
    }
    Ok(())
}

/// `POST /v1/absences`.
pub async fn report_absence(
    State(st): State<AppState>,
    g: GuardianCaller,
    key: IdempotencyKey,
    ApiJson(req): ApiJson<ReportAbsence>,
) -> Response {
    let fp = fingerprint("report_absence", &[], &req);
    command::run(&st, g, key, fp, move |c| {
        own_child(c, req.child_id.as_str())?;
        check_new(c.conn, "absences", "id", req.id.as_str())?;
        check_reason(req.reason)?;
        check_days(req.first_day, req.last_day)?;
        let note = note("note", req.note, MAX_TEXT_CHARS)?;
        c.conn.execute(
            "INSERT INTO absences (id, child_id, first_day, last_day, reason, note, status, reported_by)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'reported', ?7)",
            params![req.id.0, req.child_id.0, req.first_day.to_string(), req.last_day.to_string(), enum_str(&req.reason), note, c.view.id],
        )?;
        feed::touch(c.conn, EntityKind::Absence, req.id.as_str())?;
        found(entities::absence(c.conn, req.id.as_str())?)
    })
    .await
}

/// `PUT /v1/absences/{id}`: only while not acknowledged.
pub async fn edit_absence(
    State(st): State<AppState>,
    g: GuardianCaller,
    key: IdempotencyKey,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<EditAbsence>,
) -> Response {
    let fp = fingerprint("edit_absence", &[&id], &req);
    command::run(&st, g, key, fp, move |c| {
        let a = own_absence(c, &id)?;
        if a.status != AbsenceStatus::Reported {
            return Err(AppError::conflict("only a report not yet acknowledged can be edited"));
        }
        check_reason(req.reason)?;
        check_days(req.first_day, req.last_day)?;
        let note = note("note", req.note, MAX_TEXT_CHARS)?;
        c.conn.execute(
            "UPDATE absences SET first_day = ?2, last_day = ?3, reason = ?4, note = ?5 WHERE id = ?1",
            params![id, req.first_day.to_string(), req.last_day.to_string(), enum_str(&req.reason), note],
        )?;
        feed::touch(c.conn, EntityKind::Absence, &id)?;
        found(entities::absence(c.conn, &id)?)
    })
    .await
}

/// `DELETE /v1/absences/{id}`: withdraws the report.
pub async fn withdraw_absence(
    State(st): State<AppState>,
    g: GuardianCaller,
    key: IdempotencyKey,
    ApiPath(id): ApiPath<String>,
) -> Response {
    let fp = fingerprint("withdraw_absence", &[&id], &());
    command::run(&st, g, key, fp, move |c| {
        let a = own_absence(c, &id)?;
        if a.status != AbsenceStatus::Withdrawn {
            c.conn.execute(
                "UPDATE absences SET status = 'withdrawn' WHERE id = ?1",
                [&id],
            )?;
            feed::touch(c.conn, EntityKind::Absence, &id)?;
        }
        found(entities::absence(c.conn, &id)?)
    })
    .await
}

/// `POST /v1/holidays`.
pub async fn register_holiday(
    State(st): State<AppState>,
    g: GuardianCaller,
    key: IdempotencyKey,
    ApiJson(req): ApiJson<RegisterHoliday>,
) -> Response {
    let fp = fingerprint("register_holiday", &[], &req);
    command::run(&st, g, key, fp, move |c| {
        own_child(c, req.child_id.as_str())?;
        check_new(c.conn, "holidays", "id", req.id.as_str())?;
        check_days(req.first_day, req.last_day)?;
        let note = note("note", req.note, MAX_TEXT_CHARS)?;
        c.conn.execute(
            "INSERT INTO holidays (id, child_id, first_day, last_day, note, registered_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![req.id.0, req.child_id.0, req.first_day.to_string(), req.last_day.to_string(), note, c.view.id],
        )?;
        feed::touch(c.conn, EntityKind::Holiday, req.id.as_str())?;
        found(entities::holiday(c.conn, req.id.as_str())?)
    })
    .await
}

/// A thread the guardian may see: `(broadcast, child_id)`.
pub fn visible_thread(
    conn: &Connection,
    view: &GuardianView,
    id: &str,
) -> AppResult<(bool, Option<String>)> {
    let t = found(entities::thread_scope(conn, id)?)?;
    let visible = if t.broadcast {
        view.kindergartens.contains(&t.kindergarten_id)
            && t.department_id
                .as_ref()
                .is_none_or(|d| view.departments.contains(d))
    } else if let Some(child) = &t.child_id {
        view.has_child(child)
    } else {
        t.guardian_id.as_deref() == Some(view.id.as_str())
    };
    if visible {
        Ok((t.broadcast, t.child_id))
    } else {
        Err(AppError::not_found())
    }
}

/// Inserts a message (read by its guardian sender) and records it in the feed.
pub fn insert_message(
    conn: &Connection,
    id: &str,
    thread_id: &str,
    sender: &Sender,
    body: &str,
    now: i64,
) -> AppResult<()> {
    let (kind, sender_id) = match sender {
        Sender::Guardian { id } => ("guardian", id.as_str()),
        Sender::Staff { id } => ("staff", id.as_str()),
    };
    conn.execute(
        "INSERT INTO messages (id, thread_id, sender_kind, sender_id, body, sent_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![id, thread_id, kind, sender_id, body, now],
    )?;
    if kind == "guardian" {
        conn.execute(
            "INSERT INTO message_reads (message_id, guardian_id, read_at) VALUES (?1, ?2, ?3)",
            params![id, sender_id, now],
        )?;
    }
    feed::touch(conn, EntityKind::Message, id)
}

/// `POST /v1/threads`: a thread with its first message.
pub async fn start_thread(
    State(st): State<AppState>,
    g: GuardianCaller,
    key: IdempotencyKey,
    ApiJson(req): ApiJson<StartThread>,
) -> Response {
    let fp = fingerprint("start_thread", &[], &req);
    command::run(&st, g, key, fp, move |c| {
        let kindergarten_id = match &req.child_id {
            Some(child) => {
                own_child(c, child.as_str())?;
                found(entities::child(c.conn, child.as_str())?)?.kindergarten_id.0
            }
            None => c.kindergarten_id.clone(),
        };
        check_new(c.conn, "threads", "id", req.id.as_str())?;
        check_new(c.conn, "messages", "first_message_id", req.first_message_id.as_str())?;
        check_text("subject", &req.subject, MAX_SUBJECT_CHARS)?;
        check_text("body", &req.body, MAX_TEXT_CHARS)?;
        c.conn.execute(
            "INSERT INTO threads (id, kindergarten_id, department_id, child_id, guardian_id, subject, broadcast, urgent, created_at)
             VALUES (?1, ?2, NULL, ?3, ?4, ?5, 0, 0, ?6)",
            params![req.id.0, kindergarten_id, req.child_id.as_ref().map(|c| c.0.clone()), c.view.id, req.subject, c.now],
        )?;
        feed::touch(c.conn, EntityKind::Thread, req.id.as_str())?;
        let sender = Sender::Guardian { id: c.view.id.clone().into() };
        insert_message(c.conn, req.first_message_id.as_str(), req.id.as_str(), &sender, &req.body, c.now)?;
        found(entities::thread(c.conn, req.id.as_str())?)
    })
    .await
}

/// `POST /v1/threads/{id}/messages`.
pub async fn send_message(
    State(st): State<AppState>,
    g: GuardianCaller,
    key: IdempotencyKey,
    ApiPath(thread_id): ApiPath<String>,
    ApiJson(req): ApiJson<SendMessage>,
) -> Response {
    let fp = fingerprint("send_message", &[&thread_id], &req);
    command::run(&st, g, key, fp, move |c| {
        let (broadcast, child) = visible_thread(c.conn, &c.view, &thread_id)?;
        c.child_id = child;
        if broadcast {
            return Err(AppError::conflict("a broadcast cannot be answered"));
        }
        check_new(c.conn, "messages", "id", req.id.as_str())?;
        check_text("body", &req.body, MAX_TEXT_CHARS)?;
        let sender = Sender::Guardian {
            id: c.view.id.clone().into(),
        };
        insert_message(
            c.conn,
            req.id.as_str(),
            &thread_id,
            &sender,
            &req.body,
            c.now,
        )?;
        found(entities::message(c.conn, req.id.as_str(), Some(&c.view))?)
    })
    .await
}

/// `POST /v1/threads/{id}/read`: every message up to and including `up_to` is read.
pub async fn mark_read(
    State(st): State<AppState>,
    g: GuardianCaller,
    key: IdempotencyKey,
    ApiPath(thread_id): ApiPath<String>,
    ApiJson(req): ApiJson<MarkRead>,
) -> Response {
    let fp = fingerprint("mark_read", &[&thread_id], &req);
    command::run(&st, g, key, fp, move |c| {
        visible_thread(c.conn, &c.view, &thread_id)?;
        let upto: Option<(i64, String)> = crate::db::opt(c.conn.query_row(
            "SELECT sent_at, id FROM messages WHERE id = ?1 AND thread_id = ?2",
            params![req.up_to.0, thread_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        ))?;
        let (sent_at, up_id) = found(upto)?;
        let mut stmt = c.conn.prepare(
            "SELECT m.id FROM messages m WHERE m.thread_id = ?1 AND (m.sent_at < ?2 OR (m.sent_at = ?2 AND m.id <= ?3))
             AND NOT EXISTS (SELECT 1 FROM message_reads r WHERE r.message_id = m.id AND r.guardian_id = ?4)",
        )?;
        let ids: Vec<String> = stmt
            .query_map(params![thread_id, sent_at, up_id, c.view.id], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        for id in ids {
            c.conn.execute(
                "INSERT INTO message_reads (message_id, guardian_id, read_at) VALUES (?1, ?2, ?3)",
                params![id, c.view.id, c.now],
            )?;
            feed::touch(c.conn, EntityKind::Message, &id)?;
        }
        Ok(Ack { ok: true })
    })
    .await
}

/// `PUT /v1/children/{child_id}/consents/{kind}`.
pub async fn change_consent(
    State(st): State<AppState>,
    g: GuardianCaller,
    key: IdempotencyKey,
    ApiPath((child_id, kind)): ApiPath<(String, ConsentKind)>,
    ApiJson(req): ApiJson<ChangeConsent>,
) -> Response {
    let fp = fingerprint("change_consent", &[&child_id, &enum_str(&kind)], &req);
    command::run(&st, g, key, fp, move |c| {
        own_child(c, &child_id)?;
        crate::responsibility::require(&c.view, &child_id)?;
        if kind == ConsentKind::Unknown {
            return Err(AppError::invalid("kind", "unknown consent kind"));
        }
        if req.state == ConsentState::Unknown {
            return Err(AppError::invalid("state", "unknown consent state"));
        }
        let id = crate::consent::set_consent(
            c.conn,
            &child_id,
            &enum_str(&kind),
            &enum_str(&req.state),
            &c.view.id,
            c.now,
        )?;
        found(entities::consent(c.conn, &id)?)
    })
    .await
}

/// A contact field of `UpdateContact`: `None` leaves it, `""` clears it.
fn contact_field(
    field: &str,
    value: Option<String>,
    check: impl Fn(&str) -> AppResult<String>,
) -> AppResult<Option<Option<String>>> {
    match value {
        None => Ok(None),
        Some(v) if v.trim().is_empty() => Ok(Some(None)),
        Some(v) => {
            command::check_len(field, &v, 200)?;
            check(&v).map(|v| Some(Some(v)))
        }
    }
}

/// Before a contact field changes: what was sent or queued to the old address goes with it
/// (provider outbox rows, queued sends), so nothing of it outlives the correction.
pub(crate) fn forget_old_contact(
    conn: &Connection,
    column: &str,
    guardian_id: &str,
    new: Option<&str>,
) -> AppResult<()> {
    let sql = format!("SELECT {column} FROM guardians WHERE id = ?1 AND {column} IS NOT NULL");
    for old in entities::strings(conn, &sql, guardian_id)? {
        if Some(old.as_str()) == new {
            continue;
        }
        conn.execute("DELETE FROM mail_outbox WHERE recipient = ?1", [&old])?;
        conn.execute("DELETE FROM send_queue WHERE recipient = ?1", [&old])?;
    }
    Ok(())
}

/// `PUT /v1/me/contact` (rectification).
pub async fn update_contact(
    State(st): State<AppState>,
    g: GuardianCaller,
    key: IdempotencyKey,
    ApiJson(req): ApiJson<UpdateContact>,
) -> Response {
    let fp = fingerprint("update_contact", &[], &req);
    command::run(&st, g, key, fp, move |c| {
        use crate::auth::Contact;
        let email = contact_field("email", req.email, |v| match Contact::parse(v) {
            Ok(Contact::Email(e)) => Ok(e),
            _ => Err(AppError::invalid("email", "not an email address")),
        })?;
        let phone = contact_field("phone", req.phone, |v| match Contact::parse(v) {
            Ok(Contact::Phone(p)) => Ok(p),
            _ => Err(AppError::invalid("phone", "not a phone number")),
        })?;
        let address = contact_field("address", req.address, |v| Ok(v.to_owned()))?;
        let info = contact_field("info", req.info, |v| {
            if v.chars().count() <= MAX_GUARDIAN_INFO_CHARS {
                Ok(v.to_owned())
            } else {
                Err(AppError::invalid("info", "at most 2000 characters"))
            }
        })?;
        let postal_code = contact_field("postal_code", req.postal_code, |v| {
            let ok = v.len() <= 10 && v.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == ' ');
            if ok {
                Ok(v.to_owned())
            } else {
                Err(AppError::invalid("postal_code", "not a postal code"))
            }
        })?;
        let names = [("first_name", req.first_name), ("last_name", req.last_name)];
        for (field, name) in &names {
            if let Some(n) = name
                && (n.trim().is_empty() || n.chars().count() > MAX_NAME_CHARS)
            {
                return Err(AppError::invalid(
                    field,
                    "a name is not blank and at most 100 characters",
                ));
            }
        }
        check_relations(&c.view, &req.relations)?;
        for (column, name) in names {
            if let Some(n) = name {
                let sql = format!("UPDATE guardians SET {column} = ?2 WHERE id = ?1");
                c.conn.execute(&sql, params![c.view.id, n.trim()])?;
            }
        }
        for r in &req.relations {
            let link: String = c.conn.query_row(
                "UPDATE guardian_children SET relation = ?3 WHERE guardian_id = ?1 AND child_id = ?2
                 RETURNING id",
                params![c.view.id, r.child_id.0, enum_str(&r.relation)],
                |row| row.get(0),
            )?;
            feed::touch(c.conn, EntityKind::GuardianChild, &link)?;
        }
        // A new e-mail or phone waits for its code (see `contact_change`); removing one is
        // immediate.
        for value in [&email, &phone] {
            if let Some(Some(v)) = value {
                let contact = crate::auth::Contact::parse(v)?;
                crate::contact_change::start(
                    c.conn,
                    &c.view.id,
                    &c.kindergarten_id,
                    &contact,
                    c.now,
                )?;
            }
        }
        let removals = [("email", email), ("phone", phone)]
            .into_iter()
            .filter(|(_, v)| matches!(v, Some(None)));
        let plain = [
            ("address", address),
            ("postal_code", postal_code),
            ("info", info),
        ];
        for (column, value) in removals.chain(plain) {
            if matches!(column, "email" | "phone") {
                forget_old_contact(c.conn, column, &c.view.id, None)?;
            }
            if let Some(v) = value {
                let sql = format!("UPDATE guardians SET {column} = ?2 WHERE id = ?1");
                c.conn.execute(&sql, params![c.view.id, v])?;
            }
        }
        feed::touch(c.conn, EntityKind::Guardian, &c.view.id)?;
        found(entities::guardian(c.conn, &c.view.id, Some(&c.view))?)
    })
    .await
}

/// Checks corrected relations: few, one per child, each of the guardian's own children (else
/// `404`), none `unknown`.
fn check_relations(view: &GuardianView, relations: &[ChildRelation]) -> AppResult<()> {
    if relations.len() > MAX_RELATION_CHANGES {
        return Err(AppError::invalid("relations", "too many relations"));
    }
    let mut seen = std::collections::HashSet::new();
    for r in relations {
        if r.relation == Relation::Unknown {
            return Err(AppError::invalid("relations", "unknown relation"));
        }
        if !seen.insert(r.child_id.as_str()) {
            return Err(AppError::invalid("relations", "one relation per child"));
        }
        if !view.has_child(r.child_id.as_str()) {
            return Err(AppError::not_found());
        }
    }
    Ok(())
}

/// `PUT /v1/me/notification-preferences`.
pub async fn update_notification_preferences(
    State(st): State<AppState>,
    g: GuardianCaller,
    key: IdempotencyKey,
    ApiJson(req): ApiJson<UpdateNotificationPreferences>,
) -> Response {
    let fp = fingerprint("update_notification_preferences", &[], &req);
    command::run(&st, g, key, fp, move |c| {
        if req.preferences.len() > 1000 {
            return Err(AppError::invalid("preferences", "too many preferences"));
        }
        for p in &req.preferences {
            if !c.view.has_child(p.child_id.as_str()) {
                return Err(AppError::not_found());
            }
            if p.category == NotificationCategory::Unknown || p.delivery == Delivery::Unknown {
                return Err(AppError::invalid("preferences", "unknown category or delivery"));
            }
        }
        for p in &req.preferences {
            // Urgent alerts are always pushed; the guardian chooses whether SMS or e-mail too.
            let delivery = if p.category == NotificationCategory::Urgent {
                entities::with_push(p.delivery)
            } else {
                p.delivery
            };
            c.conn.execute(
                "INSERT INTO notification_prefs (guardian_id, child_id, category, delivery) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (guardian_id, child_id, category) DO UPDATE SET delivery = excluded.delivery",
                params![c.view.id, p.child_id.0, enum_str(&p.category), enum_str(&delivery)],
            )?;
        }
        feed::touch(c.conn, EntityKind::NotificationPreferences, &c.view.id)?;
        found(entities::notification_preferences(c.conn, &c.view.id)?)
    })
    .await
}

/// `POST /v1/privacy-requests`.
pub async fn create_privacy_request(
    State(st): State<AppState>,
    g: GuardianCaller,
    key: IdempotencyKey,
    ApiJson(req): ApiJson<CreatePrivacyRequest>,
) -> Response {
    let fp = fingerprint("create_privacy_request", &[], &req);
    command::run(&st, g, key, fp, move |c| {
        check_new(c.conn, "privacy_requests", "id", req.id.as_str())?;
        // A correction of a child's free text carries the child's data: its stored answer goes
        // with the child's erasure.
        c.child_id = req.child_id.as_ref().map(|x| x.0.clone());
        crate::rights::create(c.conn, &c.view, req, c.now)
    })
    .await
}

/// Privacy requests of a query with one parameter, newest first.
pub fn privacy_requests(
    conn: &Connection,
    sql: &str,
    param: &str,
) -> AppResult<Vec<PrivacyRequest>> {
    let mut out = Vec::new();
    for id in entities::strings(conn, sql, param)? {
        out.extend(entities::privacy_request(conn, &id)?);
    }
    Ok(out)
}

/// `GET /v1/privacy-requests`.
pub async fn list_privacy_requests(
    State(st): State<AppState>,
    g: GuardianCaller,
) -> AppResult<Json<Vec<PrivacyRequest>>> {
    let gid = g.0.person_id;
    let list = st
        .db
        .call(move |conn| {
            privacy_requests(
                conn,
                "SELECT id FROM privacy_requests WHERE guardian_id = ?1 ORDER BY created_at DESC, id",
                &gid,
            )
        })
        .await?;
    Ok(Json(list))
}

/// `GET /v1/me/export`: everything about the guardian and their children, from the feed.
pub async fn export(State(st): State<AppState>, g: GuardianCaller) -> AppResult<Json<DataExport>> {
    let gid = g.0.person_id;
    let now = st.clock.now_ms();
    let export = st
        .db
        .call(move |conn| {
            let view = GuardianView::load(conn, &gid)?;
            let guardian = found(entities::guardian(conn, &gid, Some(&view))?)?;
            let mut e = DataExport::empty(guardian, kidplan_api::Timestamp(now));
            let (changes, other) = feed::snapshot(conn, &view)?;
            let (mut kindergartens, mut staff) = (Vec::new(), Vec::new());
            for c in other {
                if c.entity == kidplan_api::reminders::REMINDER_SETTINGS_KIND
                    && let Some(data) = c.data
                {
                    e.reminder_settings = Some(serde_json::from_value(data)?);
                }
            }
            for change in changes {
                let Some(data) = change.data.as_ref() else {
                    continue;
                };
                match Entity::decode(change.entity, data)? {
                    Some(Entity::Child(x)) => e.children.push(x),
                    Some(Entity::GuardianChild(x)) => e.relations.push(x),
                    Some(Entity::LogEntry(x)) => e.log_entries.push(x),
                    Some(Entity::Thread(x)) => e.threads.push(x),
                    Some(Entity::Message(x)) => e.messages.push(x),
                    Some(Entity::Absence(x)) => e.absences.push(x),
                    Some(Entity::Holiday(x)) => e.holidays.push(x),
                    Some(Entity::Consent(x)) => e.consents.push(x),
                    Some(Entity::PickupPerson(x)) => e.pickup_persons.push(x),
                    Some(Entity::NotificationPreferences(x)) => {
                        e.notification_preferences = Some(x)
                    }
                    Some(Entity::PrivacyRequest(x)) => e.privacy_requests.push(x),
                    Some(Entity::Photo(x)) => e.photos.push(x),
                    Some(Entity::Document(x)) if x.child_id.is_some() => e.documents.push(x),
                    Some(Entity::Kindergarten(x)) => kindergartens.push(x),
                    Some(Entity::Staff(x)) => staff.push(x),
                    _ => {}
                }
            }
            e.access_log = {
                let mut stmt = conn.prepare_cached(
                    "SELECT at, ip, method, route, status FROM access_log
                     WHERE person_id = ?1 AND at >= ?2 ORDER BY at, id",
                )?;
                let rows = stmt.query_map(params![gid, now - 14 * 86_400_000], |r| {
                    Ok(AccessLogRow {
                        at: kidplan_api::Timestamp(r.get(0)?),
                        ip: r.get(1)?,
                        method: r.get(2)?,
                        route: r.get(3)?,
                        status: u16::try_from(r.get::<_, i64>(4)?).unwrap_or(0),
                    })
                })?;
                rows.collect::<Result<_, _>>()?
            };
            e.push_registrations = {
                let mut stmt = conn.prepare_cached(
                    "SELECT id, provider, last_seen_at FROM push_registrations
                     WHERE guardian_id = ?1 ORDER BY id",
                )?;
                let rows = stmt.query_map([&gid], |r| {
                    Ok(PushRegistrationInfo {
                        id: r.get(0)?,
                        provider: entities::enum_from(r.get(1)?)?,
                        last_seen_at: kidplan_api::Timestamp(r.get(2)?),
                    })
                })?;
                rows.collect::<Result<_, _>>()?
            };
            e.privacy_info = kindergartens
                .iter()
                .map(|k| PrivacyInfo::for_kindergarten(k, &staff))
                .collect();
            Ok(e)
        })
        .await?;
    Ok(Json(export))
}
