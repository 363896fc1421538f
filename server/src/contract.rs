//! The end of a kindergarten's contract: "customer data is deleted one month after the
//! contract ends".
//!
//! The operator records the contract's last day (the hidden `kidplan-server contract-end`
//! subcommand or [`crate::RunningServer::end_contract`]); no HTTP endpoint changes it. Once
//! the day one calendar month after it is over (UTC), maintenance deletes everything about the
//! kindergarten with the erasure machinery ([`crate::erasure::erase_kindergarten`]): rows with
//! tombstones, stored files, login traces, usage data of its people.

use crate::error::AppResult;
use chrono::{DateTime, Months, NaiveDate};
use rusqlite::Connection;

/// Format of `kindergartens.contract_ends_on`.
const DAY_FORMAT: &str = "%Y-%m-%d";

/// Records the last day of a kindergarten's contract; fails for an unknown kindergarten.
pub fn end_contract(
    conn: &Connection,
    kindergarten_id: &str,
    last_day: NaiveDate,
) -> anyhow::Result<()> {
    let day = last_day.format(DAY_FORMAT).to_string();
    let n = conn.execute(
        "UPDATE kindergartens SET contract_ends_on = ?1 WHERE id = ?2",
        [day.as_str(), kindergarten_id],
    )?;
    anyhow::ensure!(n == 1, "no such kindergarten");
    Ok(())
}

/// The last day the data of a contract that ended on `last_day` is kept.
pub fn kept_until(last_day: NaiveDate) -> Option<NaiveDate> {
    last_day.checked_add_months(Months::new(1))
}

/// True when, at `now_ms`, the data of a contract that ended on `last_day` is due for deletion.
fn due(last_day: &str, now_ms: i64) -> bool {
    let today = DateTime::from_timestamp_millis(now_ms).map(|t| t.date_naive());
    let kept = NaiveDate::parse_from_str(last_day, DAY_FORMAT)
        .ok()
        .and_then(kept_until);
    matches!((today, kept), (Some(today), Some(kept)) if today > kept)
}

/// Kindergartens whose data is due for deletion at `now_ms`.
fn ended(conn: &Connection, now_ms: i64) -> AppResult<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, contract_ends_on FROM kindergartens WHERE contract_ends_on IS NOT NULL",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    let mut out = Vec::new();
    for row in rows {
        let (id, last_day) = row?;
        if due(&last_day, now_ms) {
            out.push(id);
        }
    }
    Ok(out)
}

/// What one run of [`purge_ended`] did.
#[derive(Debug, Default)]
pub struct Purged {
    /// Kindergartens deleted.
    pub kindergartens: usize,
    /// Rows deleted or anonymised.
    pub rows: u64,
    /// Stored files to delete once the transaction committed.
    pub files: Vec<String>,
}

/// Deletes every kindergarten whose contract ended more than a month ago (in the caller's
/// transaction).
pub fn purge_ended(conn: &Connection, now_ms: i64) -> AppResult<Purged> {
    let mut purged = Purged::default();
    for id in ended(conn, now_ms)? {
        let (report, files) = crate::erasure::erase_kindergarten(conn, &id)?;
        purged.kindergartens += 1;
        purged.rows += report.rows_deleted + report.rows_anonymised;
        purged.files.extend(files);
    }
    Ok(purged)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(day: &str, hms: &str) -> i64 {
        let t = format!("{day}T{hms}Z");
        DateTime::parse_from_rfc3339(&t)
            .map(|t| t.timestamp_millis())
            .unwrap_or_default()
    }

    #[test]
    fn data_is_kept_for_one_calendar_month_after_the_last_day() {
        assert!(!due("2025-01-31", ms("2025-02-28", "23:59:59")));
        assert!(due("2025-01-31", ms("2025-03-01", "00:00:00")));
        assert!(!due("2025-03-15", ms("2025-04-15", "12:00:00")));
        assert!(due("2025-03-15", ms("2025-04-16", "00:00:01")));
        assert!(!due("not a day", ms("2030-01-01", "00:00:00")));
    }
}
