//! Reminders ("påminnelser") from the cache (local state; no I/O): the guardian's settings, the
//! reminders due in the coming days (so a shell can schedule local notifications while the
//! phone is offline), the notification a reminder push turns into, and the reminders already
//! shown on this device, so the same reminder never shows twice.
//!
//! Two kinds, as the server's scheduler sends them (`server/src/reminders.rs`): a calendar
//! event `days_before` days before its day, and an event's holiday registration deadline
//! `days_before` days before the deadline, only while one of the guardian's children in the
//! event's audience has no holiday registered over the event's days. Times are Europe/Oslo
//! wall-clock times; the shell schedules them in that zone.

use crate::error::Result;
use crate::local::cache::{self, list};
use crate::local::notify::{self, LocalNotification, NotificationEvent};
use crate::local::reads;
use kidplan_api::model::{CalendarEvent, Holiday};
use kidplan_api::push::Locale;
use kidplan_api::reminders::{ReminderKind, ReminderSetting, ReminderSettings};
use kidplan_api::sync::EntityKind;
use kidplan_api::{Day, EventId, GuardianId, Timestamp};
use rusqlite::{Connection, OptionalExtension, params};

/// How many days ahead [`upcoming`] looks.
pub const HORIZON_DAYS: i64 = 30;

/// A reminder due soon, for a shell to schedule as a local notification.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct UpcomingReminder {
    /// The reminder's stable key, the same as the key of the notification a reminder push
    /// gives (`reminder/<kind>/<event id>`): schedule it under this tag or identifier.
    pub key: String,
    /// What it reminds of.
    pub kind: ReminderKind,
    /// The calendar event.
    pub event_id: EventId,
    /// The day it is due, in Europe/Oslo.
    pub day: Day,
    /// The hour it is due (0–23, Europe/Oslo).
    pub hour: u8,
    /// The minute it is due (0–59).
    pub minute: u8,
    /// The same moment as an instant (`day` `hour:minute` in Europe/Oslo): the time to set an
    /// alarm for.
    pub due_at: Timestamp,
    /// What to show.
    pub notification: LocalNotification,
}

/// The kind and event of a reminder's `key`, or `None` for a key this core did not make.
pub fn parse_key(key: &str) -> Option<(ReminderKind, EventId)> {
    let rest = key.strip_prefix("reminder/")?;
    let (kind, event_id) = rest.split_once('/')?;
    let kind: ReminderKind = serde_json::from_value(serde_json::Value::from(kind)).ok()?;
    let valid_id = !event_id.is_empty()
        && event_id.len() <= 64
        && event_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    (kind != ReminderKind::Unknown && valid_id).then(|| (kind, EventId(event_id.to_owned())))
}

/// The key of a reminder.
pub fn key(kind: ReminderKind, event_id: &str) -> String {
    let kind = serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    format!("reminder/{kind}/{event_id}")
}

/// The guardian's settings (the defaults until they changed them).
pub fn settings(c: &Connection, me: &str) -> Result<ReminderSettings> {
    Ok(
        cache::get::<ReminderSettings>(c, EntityKind::ReminderSettings, me)?
            .unwrap_or_else(|| ReminderSettings::defaults(GuardianId::from(me))),
    )
}

/// Minutes Europe/Oslo is ahead of UTC at `t`: two hours from the last Sunday of March, 01:00
/// UTC, to the last Sunday of October, 01:00 UTC (the EU rule), else one.
fn oslo_offset_min(t: Timestamp) -> i64 {
    use chrono::Datelike;
    let utc = chrono::DateTime::from_timestamp_millis(t.0).unwrap_or_default();
    let last_sunday = |month: u32| {
        let first_next =
            chrono::NaiveDate::from_ymd_opt(utc.year(), month + 1, 1).unwrap_or_default();
        let last = first_next.pred_opt().unwrap_or(first_next);
        let back = last.weekday().num_days_from_sunday();
        let day = last - chrono::Days::new(u64::from(back));
        day.and_hms_opt(1, 0, 0).unwrap_or_default().and_utc()
    };
    if utc >= last_sunday(3) && utc < last_sunday(10) {
        120
    } else {
        60
    }
}

/// The Europe/Oslo day and minute of the day of `t`.
pub fn oslo(t: Timestamp) -> (Day, i64) {
    let local = Timestamp(t.0.saturating_add(oslo_offset_min(t) * 60_000));
    let minute = local.0.rem_euclid(86_400_000) / 60_000;
    (local.day(), minute)
}

/// The instant of the Europe/Oslo wall-clock time `hour:minute` on `day` (in the hour skipped
/// when summer time starts, an hour later).
pub fn oslo_instant(day: Day, hour: u8, minute: u8) -> Timestamp {
    let midnight = day.0.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
    let wall = midnight.timestamp_millis() + (i64::from(hour) * 60 + i64::from(minute)) * 60_000;
    let first = oslo_offset_min(Timestamp(wall - 60 * 60_000));
    let at = Timestamp(wall - first * 60_000);
    let second = oslo_offset_min(at);
    if second == first {
        at
    } else {
        Timestamp(wall - second * 60_000)
    }
}

/// When a reminder of `setting` for `day` is due: its day and (hour, minute).
fn due(setting: &ReminderSetting, day: Day) -> Option<(Day, u8, u8)> {
    let (h, m) = setting.time_of_day()?;
    Some((
        day.plus_days(-i64::from(setting.days_before)),
        u8::try_from(h).ok()?,
        u8::try_from(m).ok()?,
    ))
}

/// Whether one of the guardian's children in the event's audience has no holiday registered
/// over the event's days.
fn someone_unregistered(c: &Connection, me: &str, ev: &CalendarEvent) -> Result<bool> {
    let (first, last) = (oslo(ev.starts_at).0, oslo(ev.ends_at).0);
    let mine: Vec<_> = reads::guardian_relations(c)?
        .into_iter()
        .filter(|r| r.guardian_id.as_str() == me)
        .map(|r| r.child_id)
        .collect();
    for child in reads::children(c)? {
        let in_audience = mine.contains(&child.id)
            && child.kindergarten_id == ev.kindergarten_id
            && ev
                .department_id
                .as_ref()
                .is_none_or(|d| *d == child.department_id);
        if !in_audience {
            continue;
        }
        let holidays: Vec<Holiday> = list(
            c,
            "SELECT data FROM holidays WHERE child_id = ?1",
            [child.id.as_str()],
        )?;
        if !holidays
            .iter()
            .any(|h| h.first_day <= last && h.last_day >= first)
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Whether the reminder was shown on this device.
fn shown(c: &Connection, key: &str) -> Result<bool> {
    Ok(c.query_row(
        "SELECT 1 FROM reminders_shown WHERE key = ?1",
        [key],
        |_| Ok(()),
    )
    .optional()?
    .is_some())
}

/// Notes that the reminder was shown (inside the caller's transaction).
pub fn mark_shown(c: &Connection, key: &str, now: Timestamp) -> Result<()> {
    c.execute(
        "INSERT OR IGNORE INTO reminders_shown (key, shown_at) VALUES (?1, ?2)",
        params![key, now.0],
    )?;
    Ok(())
}

/// The reminder of `kind` for `ev` as the guardian would see it now, or `None` (turned off, the
/// event is over, nobody left to register, already shown). Returns when it is due too.
fn reminder_for(
    c: &Connection,
    me: &str,
    locale: Locale,
    settings: &ReminderSettings,
    kind: ReminderKind,
    ev: &CalendarEvent,
    now: Timestamp,
) -> Result<Option<UpcomingReminder>> {
    let setting = settings.get(kind);
    if !setting.enabled || ev.starts_at <= now {
        return Ok(None);
    }
    let day = match kind {
        ReminderKind::CalendarEvent => oslo(ev.starts_at).0,
        ReminderKind::HolidayDeadline => match ev.registration_deadline {
            Some(d) if d >= oslo(now).0 && someone_unregistered(c, me, ev)? => d,
            _ => return Ok(None),
        },
        ReminderKind::Unknown => return Ok(None),
    };
    let key = key(kind, ev.id.as_str());
    if shown(c, &key)? {
        return Ok(None);
    }
    let Some((due_day, hour, minute)) = due(&setting, day) else {
        return Ok(None);
    };
    let today = oslo(now).0;
    let event = NotificationEvent::Reminder {
        kind,
        title: ev.title.clone(),
        day,
        today,
    };
    Ok(Some(UpcomingReminder {
        notification: notify::compose(locale, &event, key.clone()),
        key,
        kind,
        event_id: ev.id.clone(),
        day: due_day,
        hour,
        minute,
        due_at: oslo_instant(due_day, hour, minute),
    }))
}

/// The reminders not shown yet that fall due within [`HORIZON_DAYS`], soonest first. One
/// whose moment has passed while what it reminds of is still ahead (the phone was off) is
/// listed too, for the shell to show at once.
pub fn upcoming(
    c: &Connection,
    me: &str,
    locale: Locale,
    now: Timestamp,
) -> Result<Vec<UpcomingReminder>> {
    let settings = settings(c, me)?;
    let today = oslo(now).0;
    let horizon = today.plus_days(HORIZON_DAYS);
    let events: Vec<CalendarEvent> =
        list(c, "SELECT data FROM calendar_events ORDER BY at, id", [])?;
    let mut out = Vec::new();
    for ev in &events {
        for kind in [ReminderKind::CalendarEvent, ReminderKind::HolidayDeadline] {
            let Some(r) = reminder_for(c, me, locale, &settings, kind, ev, now)? else {
                continue;
            };
            if r.day <= horizon {
                out.push(r);
            }
        }
    }
    out.sort_by(|a, b| (a.day, a.hour, a.minute, &a.key).cmp(&(b.day, b.hour, b.minute, &b.key)));
    Ok(out)
}

/// The notification a reminder push for `kind` and `event_id` turns into, or `None` (the event
/// is not in the cache or is over, the reminder is off, nobody is left to register, or it was
/// shown already). The caller marks it shown.
pub fn pushed(
    c: &Connection,
    me: &str,
    locale: Locale,
    kind: ReminderKind,
    event_id: &str,
    now: Timestamp,
) -> Result<Option<LocalNotification>> {
    let Some(ev) = cache::get::<CalendarEvent>(c, EntityKind::CalendarEvent, event_id)? else {
        return Ok(None);
    };
    let settings = settings(c, me)?;
    Ok(reminder_for(c, me, locale, &settings, kind, &ev, now)?.map(|r| r.notification))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        Timestamp(
            chrono::DateTime::parse_from_rfc3339(s)
                .expect("time")
                .timestamp_millis(),
        )
    }

    #[test]
    fn a_reminder_is_due_at_its_oslo_wall_clock_time() {
        let d = |m, d| Day::from_ymd(2026, m, d).expect("d");
        assert_eq!(oslo_instant(d(1, 11), 18, 0), ts("2026-01-11T17:00:00Z"));
        assert_eq!(oslo_instant(d(7, 1), 18, 0), ts("2026-07-01T16:00:00Z"));
        assert_eq!(oslo_instant(d(3, 29), 1, 30), ts("2026-03-29T00:30:00Z"));
        assert_eq!(oslo_instant(d(3, 29), 4, 0), ts("2026-03-29T02:00:00Z"));
        assert_eq!(oslo_instant(d(10, 25), 18, 0), ts("2026-10-25T17:00:00Z"));
        for t in [
            "2026-01-11T17:00:00Z",
            "2026-07-01T16:05:00Z",
            "2026-10-24T22:59:00Z",
        ] {
            let (day, min) = oslo(ts(t));
            assert_eq!(oslo_instant(day, (min / 60) as u8, (min % 60) as u8), ts(t));
        }
    }

    #[test]
    fn only_a_reminder_key_this_core_makes_is_read_back() {
        let k = key(ReminderKind::HolidayDeadline, "ev-1");
        assert_eq!(
            parse_key(&k),
            Some((ReminderKind::HolidayDeadline, EventId("ev-1".into())))
        );
        for bad in [
            "",
            "reminder/",
            "reminder/calendar_event/",
            "reminder/unknown/ev-1",
            "reminder/dinner/ev-1",
            "reminder/calendar_event/ev 1",
            "thread/calendar_event/ev-1",
            &format!("reminder/calendar_event/{}", "e".repeat(65)),
        ] {
            assert_eq!(parse_key(bad), None, "{bad}");
        }
    }

    #[test]
    fn oslo_follows_the_eu_summer_time_rule() {
        // Winter: UTC+1.
        assert_eq!(
            oslo(ts("2026-01-10T23:30:00Z")),
            (Day::from_ymd(2026, 1, 11).expect("d"), 30)
        );
        // Summer: UTC+2, from 01:00 UTC on the last Sunday of March (2026-03-29).
        assert_eq!(oslo(ts("2026-03-29T00:59:00Z")).1, 60 + 59);
        assert_eq!(oslo(ts("2026-03-29T01:00:00Z")).1, 3 * 60);
        assert_eq!(
            oslo(ts("2026-07-01T22:00:00Z")),
            (Day::from_ymd(2026, 7, 2).expect("d"), 0)
        );
        // Back to UTC+1 at 01:00 UTC on the last Sunday of October (2026-10-25).
        assert_eq!(oslo(ts("2026-10-25T00:59:00Z")).1, 2 * 60 + 59);
        assert_eq!(oslo(ts("2026-10-25T01:00:00Z")).1, 2 * 60);
    }

    #[test]
    fn keys_name_kind_and_event() {
        assert_eq!(
            key(ReminderKind::HolidayDeadline, "e1"),
            "reminder/holiday_deadline/e1"
        );
    }
}
