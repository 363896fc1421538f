//! Reminders ("påminnelser"): the guardian's settings (`PUT /v1/me/reminder-settings`, feed
//! kind `reminder_settings`) and the scheduler that queues a content-free reminder push (and
//! the e-mail/SMS notice the guardian chose for the calendar category) when one is due:
//!
//! - a calendar event, `days_before` days before its day at `at` (Europe/Oslo);
//! - a holiday registration deadline, `days_before` days before the deadline at `at`, to the
//!   guardians of children in the event's audience with no holiday registered in the period.
//!
//! A reminder is sent once (`reminders_sent`), only while it is still useful: from its time
//! until the event starts (at most 12 hours late), or until the deadline day is over. The
//! scheduler runs every minute in `serve` and on demand ([`crate::RunningServer::run_reminders`])
//! with the server's clock.

use crate::app::AppState;
use crate::auth::GuardianCaller;
use crate::command::{self, fingerprint};
use crate::entities::{self, GuardianView, enum_str};
use crate::error::{AppError, AppResult};
use crate::extract::{ApiJson, IdempotencyKey};
use crate::feed;
use crate::notices::{self, Notice};
use crate::push::{self, Audience};
use axum::response::Response;
use chrono::{DateTime, NaiveDate, TimeDelta, TimeZone, Utc};
use chrono_tz::Europe::Oslo;
use kidplan_api::Day;
use kidplan_api::model::NotificationCategory;
use kidplan_api::push::PushKind;
use kidplan_api::reminders::*;
use rusqlite::{Connection, params};

/// The Oslo calendar day of an instant (ms).
pub fn oslo_day(ms: i64) -> Day {
    let utc = DateTime::from_timestamp_millis(ms).unwrap_or_default();
    Day(utc.with_timezone(&Oslo).date_naive())
}

/// The instant of `hh:mm` on `day` in Oslo (a time skipped by the spring clock change is
/// taken an hour later).
pub fn oslo_instant(day: NaiveDate, (h, m): (u32, u32)) -> Option<DateTime<Utc>> {
    let naive = day.and_hms_opt(h, m, 0)?;
    let later = naive.checked_add_signed(TimeDelta::hours(1))?;
    let local = Oslo
        .from_local_datetime(&naive)
        .earliest()
        .or_else(|| Oslo.from_local_datetime(&later).earliest())?;
    Some(local.with_timezone(&Utc))
}

/// A guardian's settings, defaults filled in; `None` when the guardian never changed them.
fn stored(conn: &Connection, guardian_id: &str) -> AppResult<Option<ReminderSettings>> {
    let mut stmt = conn.prepare_cached(
        "SELECT kind, enabled, at, days_before FROM reminder_settings WHERE guardian_id = ?1 ORDER BY kind",
    )?;
    let rows = stmt.query_map([guardian_id], |r| {
        Ok(ReminderSetting {
            kind: entities::enum_from(r.get(0)?)?,
            enabled: r.get(1)?,
            at: r.get(2)?,
            days_before: r.get::<_, i64>(3)?.clamp(0, i64::from(MAX_DAYS_BEFORE)) as u8,
        })
    })?;
    let rows: Vec<ReminderSetting> = rows.collect::<Result<_, _>>()?;
    if rows.is_empty() {
        return Ok(None);
    }
    let mut s = ReminderSettings::defaults(guardian_id.to_owned().into());
    for r in rows {
        s.reminders.retain(|x| x.kind != r.kind);
        s.reminders.push(r);
    }
    s.reminders.sort_by_key(|r| enum_str(&r.kind));
    Ok(Some(s))
}

/// A guardian's settings (the defaults when never changed).
pub fn settings(conn: &Connection, guardian_id: &str) -> AppResult<ReminderSettings> {
    Ok(stored(conn, guardian_id)?
        .unwrap_or_else(|| ReminderSettings::defaults(guardian_id.to_owned().into())))
}

/// The feed entity `reminder_settings/<guardian id>` for its own guardian.
pub fn render(
    conn: &Connection,
    id: &str,
    viewer: &GuardianView,
) -> AppResult<Option<serde_json::Value>> {
    if id != viewer.id {
        return Ok(None);
    }
    Ok(match stored(conn, id)? {
        Some(s) => Some(serde_json::to_value(s)?),
        None => None,
    })
}

/// `PUT /v1/me/reminder-settings`.
pub async fn update_settings(
    axum::extract::State(st): axum::extract::State<AppState>,
    g: GuardianCaller,
    key: IdempotencyKey,
    ApiJson(req): ApiJson<UpdateReminderSettings>,
) -> Response {
    let fp = fingerprint("update_reminder_settings", &[], &req);
    command::run(&st, g, key, fp, move |c| {
        if req.reminders.len() > 10 {
            return Err(AppError::invalid("reminders", "too many reminders"));
        }
        for r in &req.reminders {
            if r.kind == ReminderKind::Unknown {
                return Err(AppError::invalid("kind", "unknown reminder kind"));
            }
            if r.time_of_day().is_none() {
                return Err(AppError::invalid("at", "time of day must be HH:MM"));
            }
            if r.days_before > MAX_DAYS_BEFORE {
                return Err(AppError::invalid("days_before", "at most 14 days"));
            }
        }
        for r in &req.reminders {
            c.conn.execute(
                "INSERT INTO reminder_settings (guardian_id, kind, enabled, at, days_before) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (guardian_id, kind) DO UPDATE SET enabled = excluded.enabled, at = excluded.at,
                   days_before = excluded.days_before",
                params![c.view.id, enum_str(&r.kind), r.enabled, r.at, r.days_before],
            )?;
        }
        feed::touch_own(c.conn, REMINDER_SETTINGS_KIND, &c.view.id)?;
        settings(c.conn, &c.view.id)
    })
    .await
}

/// A calendar event the scheduler looks at.
struct Event {
    id: String,
    kindergarten_id: String,
    department_id: Option<String>,
    starts_at: i64,
    ends_at: i64,
    deadline: Option<NaiveDate>,
}

/// Largest look-ahead: the latest reminder is 14 days before.
const HORIZON_DAYS: i64 = MAX_DAYS_BEFORE as i64 + 1;
/// A reminder missed (server down) is still sent this long after its time.
const LATE_MS: i64 = 12 * 3_600_000;

/// Queues every reminder due at `now`; returns how many guardians were reminded.
pub fn run(conn: &Connection, now: DateTime<Utc>) -> AppResult<usize> {
    let now_ms = now.timestamp_millis();
    let today = oslo_day(now_ms).0;
    let horizon = now_ms + HORIZON_DAYS * 86_400_000;
    let mut stmt = conn.prepare_cached(
        "SELECT id, kindergarten_id, department_id, starts_at, ends_at, registration_deadline FROM calendar_events
         WHERE (starts_at > ?1 AND starts_at <= ?2)
            OR (registration_deadline IS NOT NULL AND registration_deadline >= ?3 AND registration_deadline <= ?4)
         ORDER BY starts_at, id",
    )?;
    let rows = stmt.query_map(
        params![
            now_ms,
            horizon,
            today.to_string(),
            today
                .checked_add_signed(TimeDelta::days(HORIZON_DAYS))
                .unwrap_or(today)
                .to_string()
        ],
        |r| {
            Ok(Event {
                id: r.get(0)?,
                kindergarten_id: r.get(1)?,
                department_id: r.get(2)?,
                starts_at: r.get(3)?,
                ends_at: r.get(4)?,
                deadline: r
                    .get::<_, Option<String>>(5)?
                    .and_then(|d| d.parse::<Day>().ok())
                    .map(|d| d.0),
            })
        },
    )?;
    let events: Vec<Event> = rows.collect::<Result<_, _>>()?;
    let mut sent = 0;
    for e in &events {
        if e.starts_at > now_ms {
            sent += event_reminders(conn, e, now_ms)?;
        }
        if let Some(deadline) = e.deadline {
            sent += deadline_reminders(conn, e, deadline, now_ms)?;
        }
    }
    Ok(sent)
}

fn audience(
    conn: &Connection,
    e: &Event,
) -> AppResult<std::collections::BTreeMap<String, Vec<String>>> {
    push::recipients(
        conn,
        &Audience::Kindergarten {
            kindergarten_id: &e.kindergarten_id,
            department_id: e.department_id.as_deref(),
        },
    )
}

fn already_sent(
    conn: &Connection,
    guardian: &str,
    kind: ReminderKind,
    event: &str,
) -> AppResult<bool> {
    let mut stmt = conn.prepare_cached(
        "SELECT 1 FROM reminders_sent WHERE guardian_id = ?1 AND kind = ?2 AND event_id = ?3",
    )?;
    Ok(
        crate::db::opt(stmt.query_row(params![guardian, enum_str(&kind), event], |_| Ok(())))?
            .is_some(),
    )
}

/// The time a reminder of `setting` is due for something on `day`; `None` when it is off.
fn due(setting: &ReminderSetting, day: NaiveDate) -> Option<i64> {
    if !setting.enabled {
        return None;
    }
    let day = day.checked_sub_signed(TimeDelta::days(i64::from(setting.days_before)))?;
    oslo_instant(day, setting.time_of_day()?).map(|t| t.timestamp_millis())
}

/// Queues the reminder of `kind` to a guardian over the calendar category's channels, and
/// records it as sent. `false` when the guardian receives nothing for the category.
fn remind(
    conn: &Connection,
    guardian: &str,
    children: &[String],
    kind: ReminderKind,
    event_id: &str,
    now_ms: i64,
) -> AppResult<bool> {
    let channels = notices::channels(conn, guardian, children, NotificationCategory::Calendar)?;
    if notices::restricted(conn, guardian)? || channels == notices::Channels::default() {
        return Ok(false);
    }
    let (notice, hint) = match kind {
        ReminderKind::HolidayDeadline => (
            Notice::DeadlineReminder,
            format!("holiday_deadline/{event_id}"),
        ),
        _ => (Notice::EventReminder, format!("calendar_event/{event_id}")),
    };
    notices::tell(
        conn,
        guardian,
        channels,
        notice,
        PushKind::Reminder,
        &hint,
        true,
        now_ms,
    )?;
    conn.execute(
        "INSERT OR IGNORE INTO reminders_sent (guardian_id, kind, event_id, sent_at) VALUES (?1, ?2, ?3, ?4)",
        params![guardian, enum_str(&kind), event_id, now_ms],
    )?;
    Ok(true)
}

fn event_reminders(conn: &Connection, e: &Event, now_ms: i64) -> AppResult<usize> {
    let day = oslo_day(e.starts_at).0;
    let mut n = 0;
    for (guardian, children) in audience(conn, e)? {
        let kind = ReminderKind::CalendarEvent;
        let Some(at) = due(&settings(conn, &guardian)?.get(kind), day) else {
            continue;
        };
        if now_ms < at || now_ms >= e.starts_at.min(at + LATE_MS) {
            continue;
        }
        if !already_sent(conn, &guardian, kind, &e.id)?
            && remind(conn, &guardian, &children, kind, &e.id, now_ms)?
        {
            n += 1;
        }
    }
    Ok(n)
}

fn deadline_reminders(
    conn: &Connection,
    e: &Event,
    deadline: NaiveDate,
    now_ms: i64,
) -> AppResult<usize> {
    let end_of_deadline = deadline
        .checked_add_signed(TimeDelta::days(1))
        .and_then(|d| oslo_instant(d, (0, 0)))
        .map(|t| t.timestamp_millis())
        .unwrap_or(0);
    let (first, last) = (
        oslo_day(e.starts_at).to_string(),
        oslo_day(e.ends_at).to_string(),
    );
    let mut n = 0;
    for (guardian, children) in audience(conn, e)? {
        let kind = ReminderKind::HolidayDeadline;
        let Some(at) = due(&settings(conn, &guardian)?.get(kind), deadline) else {
            continue;
        };
        if now_ms < at || now_ms >= end_of_deadline || already_sent(conn, &guardian, kind, &e.id)? {
            continue;
        }
        let mut unregistered = Vec::new();
        for child in children {
            let mut stmt = conn.prepare_cached(
                "SELECT 1 FROM holidays WHERE child_id = ?1 AND first_day <= ?3 AND last_day >= ?2 LIMIT 1",
            )?;
            if crate::db::opt(stmt.query_row(params![child, first, last], |_| Ok(())))?.is_none() {
                unregistered.push(child);
            }
        }
        if !unregistered.is_empty() && remind(conn, &guardian, &unregistered, kind, &e.id, now_ms)?
        {
            n += 1;
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oslo_times_follow_daylight_saving() {
        let winter = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap_or_default();
        let summer = NaiveDate::from_ymd_opt(2026, 6, 1).unwrap_or_default();
        let w = oslo_instant(winter, (18, 0)).map(|t| t.to_rfc3339());
        let s = oslo_instant(summer, (18, 0)).map(|t| t.to_rfc3339());
        assert_eq!(w.as_deref(), Some("2026-12-01T17:00:00+00:00"));
        assert_eq!(s.as_deref(), Some("2026-06-01T16:00:00+00:00"));
        // 02:30 does not exist on the last Sunday of March: an hour later.
        let gap = NaiveDate::from_ymd_opt(2026, 3, 29).unwrap_or_default();
        let g = oslo_instant(gap, (2, 30)).map(|t| t.to_rfc3339());
        assert_eq!(g.as_deref(), Some("2026-03-29T01:30:00+00:00"));
        // 23:30 UTC on 1 Dec is already 2 Dec in Oslo.
        let late = DateTime::parse_from_rfc3339("2026-12-01T23:30:00Z")
            .map(|d| d.timestamp_millis())
            .unwrap_or_default();
        assert_eq!(oslo_day(late).to_string(), "2026-12-02");
    }
}
