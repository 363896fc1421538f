//! Time on the wire: instants as milliseconds since the Unix epoch (UTC), calendar days as
//! `YYYY-MM-DD` strings validated on decode.

use serde::{Deserialize, Serialize};

/// An instant, milliseconds since 1970-01-01T00:00:00Z.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(transparent)]
#[schema(value_type = i64)]
pub struct Timestamp(pub i64);

// Across the FFI an instant is its epoch milliseconds; the bindings' configuration
// (`bindings/uniffi-bindgen.toml`) makes it `java.time.Instant` in Kotlin and `Date` in Swift.
#[cfg(feature = "uniffi")]
uniffi::custom_newtype!(Timestamp, i64);

impl Timestamp {
    /// The current time.
    pub fn now() -> Self {
        Self(chrono::Utc::now().timestamp_millis())
    }

    /// Milliseconds since the epoch.
    pub fn millis(self) -> i64 {
        self.0
    }

    /// The UTC calendar day of this instant.
    pub fn day(self) -> Day {
        let dt = chrono::DateTime::from_timestamp_millis(self.0).unwrap_or_default();
        Day(dt.date_naive())
    }
}

/// A calendar day, `YYYY-MM-DD` on the wire.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(try_from = "String", into = "String")]
#[schema(value_type = String, format = Date, example = "2026-11-25", pattern = "^(19[0-9]{2}|2[01][0-9]{2})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")]
pub struct Day(pub chrono::NaiveDate);

/// A string that is not a `YYYY-MM-DD` day.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a YYYY-MM-DD day")]
pub struct DayParseError;

impl Day {
    /// The first year of a day the contract accepts in a request (a report, a registration, a
    /// query): earlier days are no one's absence or holiday.
    pub const FIRST_YEAR: i32 = 1900;
    /// The last year of a day the contract accepts in a request.
    pub const LAST_YEAR: i32 = 2199;

    /// Whether the day lies in `FIRST_YEAR..=LAST_YEAR`, the days a request may name.
    pub fn in_range(self) -> bool {
        use chrono::Datelike;
        (Self::FIRST_YEAR..=Self::LAST_YEAR).contains(&self.0.year())
    }

    /// The day a malformed day from a shell becomes (see the FFI conversion below): the first
    /// day the calendar can hold, far outside [`Day::in_range`], so every call that takes a day
    /// refuses it as invalid input naming its own field.
    pub const UNREADABLE: Day = Day(chrono::NaiveDate::MIN);

    /// Builds a day from year, month and day of month.
    pub fn from_ymd(y: i32, m: u32, d: u32) -> Option<Self> {
        chrono::NaiveDate::from_ymd_opt(y, m, d).map(Day)
    }

    /// Today in UTC.
    pub fn today() -> Self {
        Day(chrono::Utc::now().date_naive())
    }

    /// The day `n` days later (earlier when negative); saturates at the calendar's ends.
    pub fn plus_days(self, n: i64) -> Self {
        Day(self
            .0
            .checked_add_signed(chrono::TimeDelta::days(n))
            .unwrap_or(self.0))
    }
}

impl std::str::FromStr for Day {
    type Err = DayParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() != 10 {
            return Err(DayParseError);
        }
        chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map(Day)
            .map_err(|_| DayParseError)
    }
}

impl TryFrom<String> for Day {
    type Error = DayParseError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Day> for String {
    fn from(d: Day) -> String {
        d.to_string()
    }
}

impl std::fmt::Display for Day {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0.format("%Y-%m-%d"))
    }
}

// Across the FFI a day is its `YYYY-MM-DD` string; the bindings' configuration
// (`bindings/uniffi-bindgen.toml`) makes it `java.time.LocalDate` in Kotlin and `DateComponents`
// in Swift, so a shell hands over a real date. A string that is not a day (a year beyond four
// digits, or a shell bypassing those types) lifts to [`Day::UNREADABLE`] instead of failing the
// call inside uniffi: the call then answers `InvalidInput` naming the field, like any day out of
// range.
#[cfg(feature = "uniffi")]
uniffi::custom_type!(Day, String, {
    lower: |d| d.to_string(),
    try_lift: |s| Ok(s.parse::<Day>().unwrap_or(Day::UNREADABLE)),
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_round_trips_and_rejects_garbage() {
        let d: Day = serde_json::from_str("\"2026-11-25\"").expect("valid day");
        assert_eq!(d, Day::from_ymd(2026, 11, 25).expect("valid"));
        assert_eq!(serde_json::to_string(&d).expect("ser"), "\"2026-11-25\"");
        for bad in [
            "\"2026-13-01\"",
            "\"26-1-1\"",
            "\"\"",
            "20261125",
            "\"2026-02-30\"",
        ] {
            assert!(serde_json::from_str::<Day>(bad).is_err(), "{bad}");
        }
        assert_eq!(d.plus_days(7).to_string(), "2026-12-02");
    }

    #[test]
    fn only_days_of_the_accepted_years_are_in_range() {
        assert!(Day::from_ymd(1900, 1, 1).is_some_and(Day::in_range));
        assert!(Day::from_ymd(2199, 12, 31).is_some_and(Day::in_range));
        assert!(!Day::from_ymd(1899, 12, 31).is_some_and(Day::in_range));
        assert!(!Day::from_ymd(2200, 1, 1).is_some_and(Day::in_range));
        assert!(!Day::UNREADABLE.in_range());
    }
}
