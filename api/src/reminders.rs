//! Reminders ("påminnelser"): a guardian's settings and the constants a device needs to list
//! upcoming reminders from its cache when it is offline.
//!
//! The server sends a content-free push (`{"v":1,"kind":"reminder","hint":..}`, see
//! [`crate::push::PushKind::Reminder`]) when a reminder is due; the device builds the text from
//! its cache. Two kinds:
//!
//! - a calendar event: `days_before` days before the event's day, at `at` (Europe/Oslo);
//! - a holiday registration deadline ([`crate::model::CalendarEvent::registration_deadline`]):
//!   `days_before` days before the deadline, at `at`, only to guardians with a child in the
//!   event's audience who has no holiday registered overlapping the period.
//!
//! Settings travel in the sync feed as entity kind [`REMINDER_SETTINGS_KIND`] (entity id = the
//! guardian id), present once the guardian changed them; without one the defaults apply
//! ([`ReminderSettings::defaults`]). A client that predates the kind skips it
//! ([`crate::sync::EntityKind::Unknown`]).

use crate::ids::GuardianId;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The feed's entity kind of [`ReminderSettings`]. Not (yet) a variant of
/// [`crate::sync::EntityKind`]: clients that do not know it decode it as `unknown` and skip it.
pub const REMINDER_SETTINGS_KIND: &str = "reminder_settings";

/// The time zone reminder times are in.
pub const REMINDER_TIME_ZONE: &str = "Europe/Oslo";

/// Default time of day of a reminder.
pub const DEFAULT_REMINDER_AT: &str = "18:00";

/// Default days before a calendar event (the day before).
pub const DEFAULT_EVENT_DAYS_BEFORE: u8 = 1;

/// Default days before a holiday registration deadline.
pub const DEFAULT_DEADLINE_DAYS_BEFORE: u8 = 3;

/// Largest `days_before` accepted.
pub const MAX_DAYS_BEFORE: u8 = 14;

/// What a reminder is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum ReminderKind {
    /// A calendar event.
    CalendarEvent,
    /// A holiday registration deadline.
    HolidayDeadline,
    /// A value from a newer server; shown as unknown, never fails a page. Never sent: the server
    /// refuses it (`invalid_input`, field `kind`).
    #[serde(other)]
    Unknown,
}

/// One reminder setting.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ReminderSetting {
    /// What the reminder is about.
    pub kind: ReminderKind,
    /// `false` turns this kind of reminder off.
    pub enabled: bool,
    /// Time of day, `HH:MM`, 24-hour, Europe/Oslo.
    pub at: String,
    /// Days before the event (or the deadline), 0..=14.
    pub days_before: u8,
}

/// A guardian's reminder settings (feed entity [`REMINDER_SETTINGS_KIND`], id = guardian id).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ReminderSettings {
    /// The guardian whose settings these are.
    pub guardian_id: GuardianId,
    /// One per kind; a kind left out has its default.
    pub reminders: Vec<ReminderSetting>,
}

impl ReminderSettings {
    /// The defaults: both kinds on at 18:00, a calendar event the day before, a deadline three
    /// days before.
    pub fn defaults(guardian_id: GuardianId) -> Self {
        Self {
            guardian_id,
            reminders: vec![
                ReminderSetting::default_for(ReminderKind::CalendarEvent),
                ReminderSetting::default_for(ReminderKind::HolidayDeadline),
            ],
        }
    }

    /// The setting of `kind` (its default when absent).
    pub fn get(&self, kind: ReminderKind) -> ReminderSetting {
        self.reminders
            .iter()
            .find(|r| r.kind == kind)
            .cloned()
            .unwrap_or_else(|| ReminderSetting::default_for(kind))
    }
}

impl ReminderSetting {
    /// The default setting of a kind.
    pub fn default_for(kind: ReminderKind) -> Self {
        Self {
            kind,
            enabled: kind != ReminderKind::Unknown,
            at: DEFAULT_REMINDER_AT.to_owned(),
            days_before: match kind {
                ReminderKind::HolidayDeadline => DEFAULT_DEADLINE_DAYS_BEFORE,
                _ => DEFAULT_EVENT_DAYS_BEFORE,
            },
        }
    }

    /// `at` as (hour, minute), `None` unless it is a valid `HH:MM`.
    pub fn time_of_day(&self) -> Option<(u32, u32)> {
        parse_time_of_day(&self.at)
    }
}

/// Parses `HH:MM` (00:00..=23:59).
pub fn parse_time_of_day(s: &str) -> Option<(u32, u32)> {
    let (h, m) = s.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60).then_some((h, m))
}

/// `PUT /v1/me/reminder-settings` → [`ReminderSettings`] (with `Idempotency-Key`): replaces
/// the settings of the kinds listed; the others keep theirs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct UpdateReminderSettings {
    /// The settings to replace, at most 10; `at` must be `HH:MM` and `days_before` at most
    /// [`MAX_DAYS_BEFORE`].
    pub reminders: Vec<ReminderSetting>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_times() {
        let s = ReminderSettings::defaults("g".to_owned().into());
        assert_eq!(
            s.get(ReminderKind::CalendarEvent).time_of_day(),
            Some((18, 0))
        );
        assert_eq!(s.get(ReminderKind::HolidayDeadline).days_before, 3);
        for bad in ["24:00", "7:00", "07:60", "0700", "", "ab:cd"] {
            assert_eq!(parse_time_of_day(bad), None, "{bad}");
        }
        assert_eq!(parse_time_of_day("07:05"), Some((7, 5)));
        let r: ReminderSetting = serde_json::from_str(
            r#"{"kind":"moon_phase","enabled":true,"at":"18:00","days_before":1}"#,
        )
        .expect("unknown kind decodes");
        assert_eq!(r.kind, ReminderKind::Unknown);
    }
}
