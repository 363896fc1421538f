//! Erasing a person on the kindergarten's instruction (`POST /v1/staff/erasures`).
//!
//! Everything about the person is deleted (no soft delete), every deleted entity gets a
//! tombstone for each guardian who saw it (so their devices drop it on their next sync; no one
//! else hears of it, see [`crate::feed`]), usage data that stays
//! (access log, authorship of other people's records) loses the person, files are removed
//! from disk, and the WAL is checkpointed and truncated so no copy survives there;
//! `secure_delete` zeroes the freed space in the database file.
//!
//! The same machinery deletes a whole kindergarten after its contract ended
//! ([`erase_kindergarten`], run by [`crate::contract`]).

use crate::app::AppState;
use crate::auth::StaffCaller;
use crate::db::sha256_hex;
use crate::entities;
use crate::error::{AppError, AppResult};
use crate::extract::ApiJson;
use crate::feed;
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use kidplan_api::staff::{EraseRequest, ErasureReport, Person};
use kidplan_api::sync::EntityKind;
use rusqlite::Connection;

/// Tracks what an erasure did.
struct Eraser<'a> {
    conn: &'a Connection,
    rows_deleted: u64,
    rows_anonymised: u64,
    files: Vec<String>,
}

impl<'a> Eraser<'a> {
    fn new(conn: &'a Connection) -> Self {
        Self {
            conn,
            rows_deleted: 0,
            rows_anonymised: 0,
            files: Vec::new(),
        }
    }

    /// The report (files are counted once deleted) and the files to delete.
    fn finish(self) -> (ErasureReport, Vec<String>) {
        let report = ErasureReport {
            rows_deleted: self.rows_deleted,
            files_deleted: 0,
            rows_anonymised: self.rows_anonymised,
        };
        (report, self.files)
    }

    /// Remembers the stored files a query (one parameter) names, for deletion after commit.
    fn collect_files(&mut self, sql: &str, param: &str) -> AppResult<()> {
        self.files.extend(entities::strings(self.conn, sql, param)?);
        Ok(())
    }

    /// Deletes rows (no feed entity) and counts them.
    fn delete(&mut self, sql: &str, param: &str) -> AppResult<()> {
        self.rows_deleted += self.conn.execute(sql, [param])? as u64;
        Ok(())
    }

    /// Anonymises rows and counts them.
    fn anonymise(&mut self, sql: &str, param: &str) -> AppResult<()> {
        self.rows_anonymised += self.conn.execute(sql, [param])? as u64;
        Ok(())
    }

    /// Tombstones and deletes the rows of `table` matching `filter` (one parameter).
    fn purge(&mut self, kind: EntityKind, table: &str, filter: &str, param: &str) -> AppResult<()> {
        let ids = feed::remove_all(
            self.conn,
            kind,
            &format!("SELECT id FROM {table} WHERE {filter}"),
            param,
        )?;
        if !ids.is_empty() {
            self.delete(&format!("DELETE FROM {table} WHERE {filter}"), param)?;
        }
        Ok(())
    }

    /// Deletes threads matching `filter` with all their messages.
    fn purge_threads(&mut self, filter: &str, param: &str) -> AppResult<()> {
        for t in entities::strings(
            self.conn,
            &format!("SELECT id FROM threads WHERE {filter}"),
            param,
        )? {
            self.purge_messages("thread_id = ?1", &t)?;
            self.purge(EntityKind::Thread, "threads", "id = ?1", &t)?;
        }
        Ok(())
    }

    /// Deletes messages matching `filter` with their read marks.
    fn purge_messages(&mut self, filter: &str, param: &str) -> AppResult<()> {
        self.delete(
            &format!("DELETE FROM message_reads WHERE message_id IN (SELECT id FROM messages WHERE {filter})"),
            param,
        )?;
        self.purge(EntityKind::Message, "messages", filter, param)
    }

    /// Blanks a person id in a column of a feed entity's table and re-stamps the rows.
    fn unlink(
        &mut self,
        kind: EntityKind,
        table: &str,
        column: &str,
        blank: &str,
        person: &str,
    ) -> AppResult<()> {
        let ids = entities::strings(
            self.conn,
            &format!("SELECT id FROM {table} WHERE {column} = ?1"),
            person,
        )?;
        self.anonymise(
            &format!("UPDATE {table} SET {column} = {blank} WHERE {column} = ?1"),
            person,
        )?;
        for id in ids {
            feed::touch(self.conn, kind, &id)?;
        }
        Ok(())
    }

    /// Forgets the login traces of a person and anonymises their access-log rows.
    fn forget_login(&mut self, person: &str, contacts: &[String]) -> AppResult<()> {
        self.drop_sessions("person_id = ?1", person)?;
        self.delete("DELETE FROM login_codes WHERE person_id = ?1", person)?;
        self.delete("DELETE FROM send_queue WHERE person_id = ?1", person)?;
        for c in contacts {
            self.delete("DELETE FROM mail_outbox WHERE recipient = ?1", c)?;
            self.delete("DELETE FROM send_queue WHERE recipient = ?1", c)?;
            self.delete(
                "DELETE FROM login_codes WHERE contact_hash = ?1",
                &sha256_hex(c),
            )?;
            self.delete(
                "DELETE FROM rate_events WHERE bucket = ?1",
                &crate::auth::contact_bucket(c),
            )?;
        }
        self.anonymise(
            "UPDATE access_log SET person_id = NULL, ip = NULL WHERE person_id = ?1",
            person,
        )
    }

    /// Deletes the sessions matching `filter` (one parameter) with their tokens.
    fn drop_sessions(&mut self, filter: &str, param: &str) -> AppResult<()> {
        for table in ["access_tokens", "refresh_tokens"] {
            self.delete(
                &format!("DELETE FROM {table} WHERE session_id IN (SELECT id FROM sessions WHERE {filter})"),
                param,
            )?;
        }
        self.delete(&format!("DELETE FROM sessions WHERE {filter}"), param)
    }

    fn contacts(&self, table: &str, id: &str) -> AppResult<Vec<String>> {
        let sql = format!(
            "SELECT email FROM {table} WHERE id = ?1 AND email IS NOT NULL UNION ALL SELECT phone FROM {table} WHERE id = ?1 AND phone IS NOT NULL"
        );
        entities::strings(self.conn, &sql, id)
    }

    fn child(&mut self, id: &str) -> AppResult<()> {
        self.purge_threads("child_id = ?1", id)?;
        for (kind, table) in [
            (EntityKind::LogEntry, "log_entries"),
            (EntityKind::Absence, "absences"),
            (EntityKind::Holiday, "holidays"),
            (EntityKind::Attendance, "attendance"),
            (EntityKind::PickupPerson, "pickup_persons"),
        ] {
            self.purge(kind, table, "child_id = ?1", id)?;
        }
        self.delete("DELETE FROM consent_history WHERE consent_id IN (SELECT id FROM consents WHERE child_id = ?1)", id)?;
        self.purge(EntityKind::Consent, "consents", "child_id = ?1", id)?;
        self.photos_of_child(id)?;
        self.collect_files("SELECT file_name FROM documents WHERE child_id = ?1", id)?;
        self.purge(EntityKind::Document, "documents", "child_id = ?1", id)?;
        let guardians = entities::strings(
            self.conn,
            "SELECT guardian_id FROM guardian_children WHERE child_id = ?1",
            id,
        )?;
        self.delete("DELETE FROM notification_prefs WHERE child_id = ?1", id)?;
        self.purge(
            EntityKind::GuardianChild,
            "guardian_children",
            "child_id = ?1",
            id,
        )?;
        for g in guardians {
            feed::touch(self.conn, EntityKind::NotificationPreferences, &g)?;
        }
        self.delete("DELETE FROM idempotency WHERE child_id = ?1", id)?;
        self.delete("DELETE FROM pictures WHERE child_id = ?1", id)?;
        // A guardian's request to correct the child's free text is the guardian's record; the
        // text and the child's id in it are the child's data.
        self.anonymise(
            "UPDATE privacy_requests SET child_info = NULL WHERE child_id = ?1",
            id,
        )?;
        self.unlink(
            EntityKind::PrivacyRequest,
            "privacy_requests",
            "child_id",
            "NULL",
            id,
        )?;
        self.purge(EntityKind::Child, "children", "id = ?1", id)
    }

    /// Photos only of the child are deleted (with their files); the child is untagged from
    /// shared ones.
    fn photos_of_child(&mut self, id: &str) -> AppResult<()> {
        let only = "SELECT photo_id FROM photo_children WHERE child_id = ?1
                    AND photo_id NOT IN (SELECT photo_id FROM photo_children WHERE child_id <> ?1)";
        let shared = entities::strings(
            self.conn,
            "SELECT photo_id FROM photo_children WHERE child_id = ?1
             AND photo_id IN (SELECT photo_id FROM photo_children WHERE child_id <> ?1)",
            id,
        )?;
        for p in entities::strings(self.conn, only, id)? {
            self.collect_files("SELECT file_name FROM photos WHERE id = ?1", &p)?;
            self.delete("DELETE FROM photo_children WHERE photo_id = ?1", &p)?;
            self.purge(EntityKind::Photo, "photos", "id = ?1", &p)?;
        }
        self.delete("DELETE FROM photo_children WHERE child_id = ?1", id)?;
        for p in shared {
            feed::touch(self.conn, EntityKind::Photo, &p)?;
        }
        Ok(())
    }

    fn guardian(&mut self, id: &str) -> AppResult<()> {
        let contacts = self.contacts("guardians", id)?;
        self.purge_threads("guardian_id = ?1", id)?;
        self.purge_messages("sender_kind = 'guardian' AND sender_id = ?1", id)?;
        self.delete("DELETE FROM message_reads WHERE guardian_id = ?1", id)?;
        self.unlink(EntityKind::Absence, "absences", "reported_by", "''", id)?;
        self.unlink(EntityKind::Holiday, "holidays", "registered_by", "''", id)?;
        let consents = entities::strings(
            self.conn,
            "SELECT DISTINCT consent_id FROM consent_history WHERE changed_by = ?1",
            id,
        )?;
        self.anonymise(
            "UPDATE consent_history SET changed_by = '' WHERE changed_by = ?1",
            id,
        )?;
        for c in consents {
            feed::touch(self.conn, EntityKind::Consent, &c)?;
        }
        self.delete("DELETE FROM notification_prefs WHERE guardian_id = ?1", id)?;
        feed::remove(self.conn, EntityKind::NotificationPreferences, id)?;
        if self
            .conn
            .execute("DELETE FROM reminder_settings WHERE guardian_id = ?1", [id])?
            > 0
        {
            self.rows_deleted += 1;
            feed::remove_kind(
                self.conn,
                kidplan_api::reminders::REMINDER_SETTINGS_KIND,
                id,
            )?;
        }
        self.delete("DELETE FROM reminders_sent WHERE guardian_id = ?1", id)?;
        self.delete("DELETE FROM send_queue WHERE registration_id IN (SELECT id FROM push_registrations WHERE guardian_id = ?1)", id)?;
        self.purge(
            EntityKind::PrivacyRequest,
            "privacy_requests",
            "guardian_id = ?1",
            id,
        )?;
        self.delete("DELETE FROM push_outbox WHERE token IN (SELECT token FROM push_registrations WHERE guardian_id = ?1)", id)?;
        self.delete("DELETE FROM push_registrations WHERE guardian_id = ?1", id)?;
        self.delete("DELETE FROM idempotency WHERE guardian_id = ?1", id)?;
        self.delete("DELETE FROM telemetry_issued WHERE guardian_id = ?1", id)?;
        self.forget_login(id, &contacts)?;
        self.purge(
            EntityKind::GuardianChild,
            "guardian_children",
            "guardian_id = ?1",
            id,
        )?;
        self.purge(EntityKind::Guardian, "guardians", "id = ?1", id)?;
        // Last: the purges above gave the guardian tombstones of their own entities too.
        self.delete("DELETE FROM hidden WHERE guardian_id = ?1", id)
    }

    fn staff(&mut self, id: &str) -> AppResult<()> {
        let contacts = self.contacts("staff", id)?;
        self.unlink(EntityKind::LogEntry, "log_entries", "author_id", "''", id)?;
        let messages = entities::strings(
            self.conn,
            "SELECT id FROM messages WHERE sender_kind = 'staff' AND sender_id = ?1",
            id,
        )?;
        self.anonymise(
            "UPDATE messages SET sender_id = '' WHERE sender_kind = 'staff' AND sender_id = ?1",
            id,
        )?;
        for m in messages {
            feed::touch(self.conn, EntityKind::Message, &m)?;
        }
        self.unlink(
            EntityKind::Absence,
            "absences",
            "acknowledged_by",
            "NULL",
            id,
        )?;
        self.forget_login(id, &contacts)?;
        self.delete("DELETE FROM pictures WHERE staff_id = ?1", id)?;
        self.purge(EntityKind::Staff, "staff", "id = ?1", id)
    }

    /// Everything about a kindergarten: its children with all their content, its staff, its
    /// guardians (those with a child left in another kindergarten move there), its
    /// kindergarten-wide content, its departments and the kindergarten itself.
    fn kindergarten(&mut self, id: &str) -> AppResult<()> {
        for child in self.ids("SELECT id FROM children WHERE kindergarten_id = ?1", id)? {
            self.child(&child)?;
        }
        for staff in self.ids("SELECT id FROM staff WHERE kindergarten_id = ?1", id)? {
            self.delete("DELETE FROM access_log WHERE person_id = ?1", &staff)?;
            self.staff(&staff)?;
        }
        let alone = "SELECT id FROM guardians WHERE kindergarten_id = ?1
                     AND id NOT IN (SELECT guardian_id FROM guardian_children)";
        for guardian in self.ids(alone, id)? {
            self.delete("DELETE FROM access_log WHERE person_id = ?1", &guardian)?;
            self.guardian(&guardian)?;
        }
        self.move_remaining_guardians(id)?;
        self.drop_sessions("kindergarten_id = ?1", id)?;
        self.kindergarten_content(id)?;
        self.purge(
            EntityKind::Department,
            "departments",
            "kindergarten_id = ?1",
            id,
        )?;
        self.purge(EntityKind::Kindergarten, "kindergartens", "id = ?1", id)
    }

    fn ids(&self, sql: &str, param: &str) -> AppResult<Vec<String>> {
        entities::strings(self.conn, sql, param)
    }

    /// Guardians of the kindergarten who still have a child elsewhere belong to that
    /// kindergarten from now on.
    fn move_remaining_guardians(&mut self, id: &str) -> AppResult<()> {
        let moved = self.ids("SELECT id FROM guardians WHERE kindergarten_id = ?1", id)?;
        self.anonymise(
            "UPDATE guardians SET kindergarten_id = (SELECT c.kindergarten_id FROM guardian_children gc
               JOIN children c ON c.id = gc.child_id WHERE gc.guardian_id = guardians.id LIMIT 1)
             WHERE kindergarten_id = ?1",
            id,
        )?;
        for g in moved {
            feed::touch(self.conn, EntityKind::Guardian, &g)?;
        }
        Ok(())
    }

    /// Broadcasts and threads, events, photos and documents of the whole kindergarten.
    fn kindergarten_content(&mut self, id: &str) -> AppResult<()> {
        self.purge_threads("kindergarten_id = ?1", id)?;
        self.delete(
            "DELETE FROM reminders_sent WHERE event_id IN (SELECT id FROM calendar_events WHERE kindergarten_id = ?1)",
            id,
        )?;
        self.delete("DELETE FROM send_queue WHERE kindergarten_id = ?1", id)?;
        self.purge(
            EntityKind::CalendarEvent,
            "calendar_events",
            "kindergarten_id = ?1",
            id,
        )?;
        self.collect_files(
            "SELECT file_name FROM photos WHERE kindergarten_id = ?1",
            id,
        )?;
        self.delete(
            "DELETE FROM photo_children WHERE photo_id IN (SELECT id FROM photos WHERE kindergarten_id = ?1)",
            id,
        )?;
        self.purge(EntityKind::Photo, "photos", "kindergarten_id = ?1", id)?;
        self.collect_files(
            "SELECT file_name FROM documents WHERE kindergarten_id = ?1",
            id,
        )?;
        self.purge(
            EntityKind::Document,
            "documents",
            "kindergarten_id = ?1",
            id,
        )
    }
}

/// The kindergarten a person belongs to (staff may only erase people of their own).
pub(crate) fn person_kindergartens(conn: &Connection, person: &Person) -> AppResult<Vec<String>> {
    let (sql, id) = match person {
        Person::Child(id) => ("SELECT kindergarten_id FROM children WHERE id = ?1", id.as_str()),
        Person::Staff(id) => ("SELECT kindergarten_id FROM staff WHERE id = ?1", id.as_str()),
        Person::Guardian(id) => (
            "SELECT kindergarten_id FROM guardians WHERE id = ?1 UNION SELECT c.kindergarten_id FROM children c
             JOIN guardian_children gc ON gc.child_id = c.id WHERE gc.guardian_id = ?1",
            id.as_str(),
        ),
    };
    entities::strings(conn, sql, id)
}

/// Runs `f` and then gives each of `watchers` a tombstone of their own for every entity their
/// feed showed before and no longer shows.
fn watched(
    conn: &Connection,
    watchers: &[String],
    f: impl FnOnce() -> AppResult<()>,
) -> AppResult<()> {
    let mut before = Vec::with_capacity(watchers.len());
    for g in watchers {
        before.push(feed::seen(conn, g)?);
    }
    f()?;
    for (g, was) in watchers.iter().zip(before) {
        let now = feed::seen(conn, g)?;
        for (kind, id) in was.difference(&now) {
            feed::hide_kind(conn, g, kind, id)?;
        }
    }
    Ok(())
}

/// Erases a person in one transaction; returns the report and the files to delete.
pub fn erase(
    conn: &Connection,
    kindergarten_id: &str,
    person: &Person,
) -> AppResult<(ErasureReport, Vec<String>)> {
    if !person_kindergartens(conn, person)?
        .iter()
        .any(|k| k == kindergarten_id)
    {
        return Err(AppError::not_found());
    }
    // The guardians who keep their account but lose sight of something with the person (a
    // child's department, its events, the child itself; a co-guardian and their links): the
    // feed's tombstones of deleted entities reach only those who see them when they go, and
    // these guardians stop seeing some of them on the way, so each gets a tombstone of their
    // own for everything they saw before and no longer see.
    let watchers = match person {
        Person::Child(id) => entities::strings(
            conn,
            "SELECT guardian_id FROM guardian_children WHERE child_id = ?1",
            id.as_str(),
        )?,
        Person::Guardian(id) => entities::strings(
            conn,
            "SELECT DISTINCT b.guardian_id FROM guardian_children a JOIN guardian_children b
             ON b.child_id = a.child_id WHERE a.guardian_id = ?1 AND b.guardian_id <> ?1",
            id.as_str(),
        )?,
        Person::Staff(_) => Vec::new(),
    };
    let mentions = crate::redaction::Mentions::of(conn, person)?;
    let mut e = Eraser::new(conn);
    watched(conn, &watchers, || match person {
        Person::Child(id) => e.child(id.as_str()),
        Person::Guardian(id) => e.guardian(id.as_str()),
        Person::Staff(id) => e.staff(id.as_str()),
    })?;
    // What other people's records still say about the person (see crate::redaction).
    e.rows_anonymised += crate::redaction::redact(conn, &mentions)?;
    Ok(e.finish())
}

/// Deletes everything about a kindergarten (after its contract ended) in the caller's
/// transaction; returns the report and the files to delete after commit.
pub fn erase_kindergarten(
    conn: &Connection,
    kindergarten_id: &str,
) -> AppResult<(ErasureReport, Vec<String>)> {
    // Guardians who keep a child in another kindergarten keep their account: they get the
    // tombstones of what they no longer see.
    let watchers = entities::strings(
        conn,
        "SELECT DISTINCT gc.guardian_id FROM guardian_children gc JOIN children c ON c.id = gc.child_id
         WHERE c.kindergarten_id = ?1 AND gc.guardian_id IN (SELECT g.guardian_id FROM guardian_children g
           JOIN children o ON o.id = g.child_id WHERE o.kindergarten_id <> ?1)",
        kindergarten_id,
    )?;
    let mut e = Eraser::new(conn);
    watched(conn, &watchers, || e.kindergarten(kindergarten_id))?;
    Ok(e.finish())
}

/// `POST /v1/staff/erasures`: without `confirmation` the first step (see
/// [`crate::erasure_confirm`]), with it the erasure and its audit record.
pub async fn erase_person(
    State(st): State<AppState>,
    s: StaffCaller,
    ApiJson(req): ApiJson<EraseRequest>,
) -> AppResult<Response> {
    let Some(token) = req.confirmation.clone() else {
        return crate::erasure_confirm::ask(&st, &s, req.person).await;
    };
    let kg = s.0.kindergarten_id;
    let by = s.0.person_id;
    let now = st.clock.now_ms();
    let spent = token.clone();
    let outcome = st
        .db
        .call(move |conn| {
            let tx = conn.transaction()?;
            crate::erasure_confirm::redeem(&tx, &by, &req.person, &token, now)?;
            let out = erase(&tx, &kg, &req.person)?;
            crate::erasure_confirm::record(&tx, &kg, &by, &req.person, now)?;
            tx.commit()?;
            crate::db::checkpoint_truncate(conn)?;
            Ok(out)
        })
        .await;
    let (mut report, files) = match outcome {
        Ok(out) => out,
        Err(e) => {
            crate::erasure_confirm::spend(&st, spent).await;
            return Err(e);
        }
    };
    report.files_deleted = crate::files::delete_files(st.files_dir.clone(), files).await;
    tracing::info!(
        rows = report.rows_deleted,
        files = report.files_deleted,
        anonymised = report.rows_anonymised,
        "erasure done"
    );
    Ok(Json(report).into_response())
}
