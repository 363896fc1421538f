//! Periodic jobs: retention limits, expiry and the deletion of kindergartens whose contract
//! ended more than a month ago ([`crate::contract`]). Run hourly by `serve` and on demand by
//! [`crate::RunningServer::run_maintenance`].

use crate::access::ACCESS_LOG_DAYS;
use crate::auth::SESSION_IDLE_DAYS;
use kidplan_api::push::REGISTRATION_TTL_DAYS;
use rusqlite::Connection;
use std::path::Path;

const DAY_MS: i64 = 86_400_000;
/// Days a stored command answer is kept for replays.
pub const IDEMPOTENCY_DAYS: i64 = 30;
/// Days the provider outboxes keep a row.
pub const OUTBOX_DAYS: i64 = 7;
/// Days a sent reminder is remembered (longer than any reminder can be early).
pub const REMINDERS_SENT_DAYS: i64 = 60;

/// What one run deleted, per job.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct MaintenanceReport {
    pub access_log: usize,
    pub push_registrations: usize,
    pub expired_auth: usize,
    pub other: usize,
    /// Kindergartens deleted after their contract ended.
    pub kindergartens: usize,
    /// Rows those deletions removed or anonymised.
    pub kindergarten_rows: u64,
    /// Stored files those deletions removed from `files_dir`.
    pub files: u64,
}

/// Runs every job at time `now` (ms) in one transaction; when a kindergarten was deleted, the
/// WAL is checkpointed and truncated and its files are removed from `files_dir`.
pub fn run(conn: &mut Connection, files_dir: &Path, now: i64) -> anyhow::Result<MaintenanceReport> {
    let tx = conn.transaction()?;
    let mut report = retention(&tx, now)?;
    let purged = crate::contract::purge_ended(&tx, now)
        .map_err(|e| anyhow::anyhow!("contract purge failed: {}", e.body.message))?;
    tx.commit()?;
    if purged.kindergartens > 0 {
        crate::db::checkpoint_truncate(conn)?;
        report.kindergartens = purged.kindergartens;
        report.kindergarten_rows = purged.rows;
        report.files = crate::files::delete_files_now(files_dir, &purged.files);
    }
    Ok(report)
}

/// The retention limits and expiry at time `now` (ms).
fn retention(tx: &Connection, now: i64) -> rusqlite::Result<MaintenanceReport> {
    let before = |days: i64| now - days * DAY_MS;
    let mut report = MaintenanceReport {
        access_log: tx.execute(
            "DELETE FROM access_log WHERE at < ?1",
            [before(ACCESS_LOG_DAYS)],
        )?,
        push_registrations: tx.execute(
            "DELETE FROM push_registrations WHERE last_seen_at < ?1",
            [before(REGISTRATION_TTL_DAYS)],
        )?,
        ..Default::default()
    };
    report.expired_auth += tx.execute("DELETE FROM login_codes WHERE expires_at <= ?1", [now])?;
    report.expired_auth += tx.execute("DELETE FROM access_tokens WHERE expires_at <= ?1", [now])?;
    report.expired_auth += tx.execute(
        "DELETE FROM sessions WHERE last_used_at < ?1",
        [before(SESSION_IDLE_DAYS)],
    )?;
    report.other += tx.execute("DELETE FROM rate_events WHERE at < ?1", [before(1)])?;
    let today = chrono::DateTime::from_timestamp_millis(now)
        .unwrap_or_default()
        .date_naive();
    report.other += crate::tokens::purge(tx, today)?;
    report.other += tx.execute(
        "DELETE FROM idempotency WHERE created_at < ?1",
        [before(IDEMPOTENCY_DAYS)],
    )?;
    report.other += tx.execute(
        "DELETE FROM mail_outbox WHERE created_at < ?1",
        [before(OUTBOX_DAYS)],
    )?;
    report.other += tx.execute(
        "DELETE FROM push_outbox WHERE created_at < ?1",
        [before(OUTBOX_DAYS)],
    )?;
    report.other += crate::send_queue::expire_dead(tx, now)?;
    report.other += tx.execute(
        "DELETE FROM reminders_sent WHERE sent_at < ?1",
        [before(REMINDERS_SENT_DAYS)],
    )?;
    Ok(report)
}
