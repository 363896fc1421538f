//! Anonymous telemetry: what the app counts, and the one daily report it may send.
//!
//! Owns the install-wide counter file (`<data_dir>/telemetry.json`) and the report format.
//! It is anonymous by construction:
//! - the recording API takes only closed enums ([`Metric`]) and fixed buckets ([`Bucket`]); there
//!   is no string parameter, so a name or a message cannot be recorded by mistake;
//! - a report carries no identifier of any kind (no install id, account id, device model or
//!   hash), only the usage day, the platform and the counters, sorted, so two installs with the
//!   same usage produce byte-identical reports apart from the random nonce;
//! - at most one report per day, padded to [`TELEMETRY_REPORT_BYTES`], due after a random delay
//!   into the next day;
//! - switching telemetry off deletes everything pending; [`Telemetry::preview`] shows the exact
//!   bytes that would be sent (the day's nonce is drawn when the day starts, so the preview of
//!   a day is the report that day gives, as long as nothing more is counted).
//!
//! - each report carries the day's anonymous one-time token ([`DayToken`], obtained by
//!   `crate::tokens` while logged in), so the collector counts distinct real installs without
//!   knowing which; a day without a token gives no report;
//! - the report is sent at a random moment, when no authenticated request was made for a while
//!   ([`send_due`] with a quiet period), on the client's anonymous connection.
//!
//! The file holds nothing personal, so it lives outside the encrypted per-account stores and
//! survives account switches. A corrupt file is replaced by a fresh state: counters are not
//! precious.

use crate::client::{Client, HttpError};
use crate::error::{Error, Result};
use kidplan_api::paths;
use kidplan_api::telemetry::{
    Bucket, Counter, Metric, Platform, TELEMETRY_REPORT_BYTES, TELEMETRY_SCHEMA_VERSION,
    TelemetryReport, TelemetryToken, TokenKey,
};
use kidplan_api::{Day, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

/// Highest count kept for one counter in one day.
pub const MAX_COUNT: u32 = 1000;
/// Longest random delay after midnight (UTC) before the previous day's report is due.
const MAX_SEND_DELAY_MS: i64 = 6 * 60 * 60 * 1000;

/// The part of the core a facade call belongs to: names the counter of a panic caught there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Area {
    /// Login, logout, account switch, contact confirmation.
    Auth,
    /// A sync, the telemetry report.
    Sync,
    /// A read of the local cache.
    Reads,
    /// A parent's action.
    Actions,
    /// Push registration and handling.
    Push,
    /// Photo and document downloads.
    Files,
    /// Privacy rights, the export, removing local data.
    Privacy,
}

impl Area {
    /// The counter of a panic caught in this area.
    pub fn panic_metric(self) -> Metric {
        match self {
            Area::Auth => Metric::PanicAuth,
            Area::Sync => Metric::PanicSync,
            Area::Reads => Metric::PanicReads,
            Area::Actions => Metric::PanicActions,
            Area::Push => Metric::PanicPush,
            Area::Files => Metric::PanicFiles,
            Area::Privacy => Metric::PanicPrivacy,
        }
    }
}

/// The bucket a duration falls in.
pub fn bucket_for(d: Duration) -> Bucket {
    match d.as_millis() {
        0..100 => Bucket::Under100Ms,
        100..1000 => Bucket::Under1S,
        1000..10_000 => Bucket::Under10S,
        _ => Bucket::Over10S,
    }
}

/// A finished day's report, waiting to be sent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Pending {
    /// The exact bytes to send.
    body: String,
    /// Not before this instant.
    due_at: Timestamp,
    /// The day's token key the report's token was made with (checked again, anonymously,
    /// before sending); `None`: the report has no token and is not sent.
    #[serde(default)]
    public_key: Option<String>,
}

/// The day's anonymous one-time token as the device obtains it (see `crate::tokens`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayToken {
    /// The usage day it is for.
    pub day: Day,
    /// The token input: 32 random bytes, unpadded base64url.
    pub input: String,
    /// The day's public key as fetched on the anonymous connection, unpadded base64url.
    pub public_key: String,
    /// How far obtaining it got.
    pub stage: TokenStage,
}

/// How far obtaining a day's token got.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TokenStage {
    /// The blinded input is ready (and may have been sent): a retry sends the same request
    /// with the same idempotency key.
    Asked {
        /// The request's idempotency key.
        idempotency_key: String,
        /// The blinded element, unpadded base64url.
        blinded_element: String,
        /// The VOPRF client state that unblinds the answer, unpadded base64url.
        client_state: String,
    },
    /// Unblinded and checked against the public key: ready for the day's report.
    Ready {
        /// The PRF output, unpadded base64url.
        output: String,
    },
    /// None this day (the server already issued this guardian's, or its proof did not check).
    Unavailable,
}

/// What is kept on disk.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct State {
    disabled: bool,
    /// The day the counters belong to.
    day: Option<Day>,
    counters: Vec<Counter>,
    /// The nonce of the current day's report (fresh for each day).
    #[serde(default)]
    nonce: Option<String>,
    pending: Option<Pending>,
    /// The current day's token, while it is obtained and once it is ready.
    #[serde(default)]
    token: Option<DayToken>,
}

/// The install's telemetry counters and pending report.
pub struct Telemetry {
    path: PathBuf,
    platform: Platform,
    /// Added to the wall clock (tests roll the day; zero in the apps).
    offset_ms: i64,
    state: Mutex<State>,
}

impl Telemetry {
    /// Opens (or starts) the counter file at `path`.
    pub fn open(path: PathBuf, platform: Platform) -> Self {
        Self::open_with_offset(path, platform, Duration::ZERO)
    }

    /// Like [`Telemetry::open`], with a clock running `offset` ahead of the wall clock.
    pub fn open_with_offset(path: PathBuf, platform: Platform, offset: Duration) -> Self {
        let state = std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice::<State>(&b).ok())
            .unwrap_or_default();
        Self {
            path,
            platform,
            offset_ms: i64::try_from(offset.as_millis()).unwrap_or(0),
            state: Mutex::new(state),
        }
    }

    /// The clock telemetry reads.
    pub fn now(&self) -> Timestamp {
        Timestamp(Timestamp::now().0.saturating_add(self.offset_ms))
    }

    /// Whether telemetry is on (the default, until the parent switches it off).
    pub fn enabled(&self) -> bool {
        !self.lock().disabled
    }

    /// Switches telemetry on or off. Off deletes every counter and the pending report.
    pub fn set_enabled(&self, enabled: bool) {
        let mut s = self.lock();
        if enabled {
            s.disabled = false;
        } else {
            *s = State {
                disabled: true,
                ..State::default()
            };
        }
        self.save(&s);
    }

    /// Drops the current day's counters, keeping its nonce and token.
    pub fn reset_counters(&self) {
        let mut s = self.lock();
        s.counters.clear();
        self.save(&s);
    }

    /// Counts one occurrence of `metric`.
    pub fn record(&self, metric: Metric) {
        self.add(metric, Bucket::Count, self.now());
    }

    /// Counts one occurrence of `metric` that took `took`.
    pub fn record_duration(&self, metric: Metric, took: Duration) {
        self.add(metric, bucket_for(took), self.now());
    }

    fn add(&self, metric: Metric, bucket: Bucket, now: Timestamp) {
        let mut s = self.lock();
        if s.disabled || metric == Metric::Unknown || !metric.takes(bucket) {
            return;
        }
        self.roll(&mut s, now);
        match s
            .counters
            .iter_mut()
            .find(|c| c.metric == metric && c.bucket == bucket)
        {
            Some(c) => c.count = (c.count + 1).min(MAX_COUNT),
            None => {
                s.counters.push(Counter {
                    metric,
                    bucket,
                    count: 1,
                });
                s.counters.sort_by_key(|c| (c.metric, c.bucket));
            }
        }
        self.save(&s);
    }

    /// The exact bytes of the next report: the finished day's if one is waiting, else the
    /// report today's usage would give so far. `None` when off or when nothing was counted.
    pub fn preview(&self) -> Option<String> {
        self.preview_at(self.now())
    }

    /// [`Telemetry::preview`] at `now`.
    fn preview_at(&self, now: Timestamp) -> Option<String> {
        let mut s = self.lock();
        if s.disabled {
            return None;
        }
        if self.roll(&mut s, now) {
            self.save(&s);
        }
        if let Some(p) = &s.pending {
            return Some(p.body.clone());
        }
        match (s.day, &s.nonce) {
            (Some(day), Some(nonce)) if !s.counters.is_empty() => Some(encode_report(
                day,
                self.platform,
                &s.counters,
                nonce,
                ready_token(&s.token, day).map(|(t, _)| t),
            )),
            _ => None,
        }
    }

    /// The report due now, if any (see [`Telemetry::due`]).
    pub fn due_now(&self) -> Option<String> {
        self.due(self.now())
    }

    /// Deletes the counter file and everything counted (wiping the device's data). An opt-out
    /// is kept: a file holding only `disabled` is written again, so a wiped device does not
    /// start counting against the parent's choice.
    pub fn wipe(&self) {
        let mut s = self.lock();
        let disabled = s.disabled;
        *s = State::default();
        match std::fs::remove_file(&self.path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => tracing::warn!(kind = ?e.kind(), "telemetry file not removed"),
        }
        if disabled {
            s.disabled = true;
            self.save(&s);
        }
    }

    /// The report due at `now`, if any: the body to `POST` to the collector. Call
    /// [`Telemetry::mark_sent`] once the collector accepted it.
    pub fn due(&self, now: Timestamp) -> Option<String> {
        self.due_report(now).map(|(body, _)| body)
    }

    /// The report due at `now` with the public key its token was made with (`None`: it has no
    /// token).
    fn due_report(&self, now: Timestamp) -> Option<(String, Option<String>)> {
        let mut s = self.lock();
        if s.disabled {
            return None;
        }
        if self.roll(&mut s, now) {
            self.save(&s);
        }
        s.pending
            .as_ref()
            .filter(|p| p.due_at <= now)
            .map(|p| (p.body.clone(), p.public_key.clone()))
    }

    /// The current day (telemetry's clock) and its token as far as it got; `None` when
    /// telemetry is off.
    pub fn token_today(&self) -> Option<(Day, Option<DayToken>)> {
        let mut s = self.lock();
        if s.disabled {
            return None;
        }
        if self.roll(&mut s, self.now()) {
            self.save(&s);
        }
        let day = s.day?;
        Some((day, s.token.clone().filter(|t| t.day == day)))
    }

    /// Keeps the current day's token (ignored when the day has moved on or telemetry is off).
    pub fn store_token(&self, token: DayToken) {
        let mut s = self.lock();
        if s.disabled || s.day != Some(token.day) {
            return;
        }
        s.token = Some(token);
        self.save(&s);
    }

    /// Forgets the pending report whose body is `body` (it was sent).
    pub fn mark_sent(&self, body: &str) {
        let mut s = self.lock();
        if s.pending.as_ref().is_some_and(|p| p.body == body) {
            s.pending = None;
            self.save(&s);
        }
    }

    /// Moves the counters of a finished day into the pending report. Returns whether anything
    /// changed. A day that ends while an older report still waits replaces it: at most one
    /// report is ever pending, and never more than one per day.
    fn roll(&self, s: &mut State, now: Timestamp) -> bool {
        let today = now.day();
        match s.day {
            Some(day) if day == today => false,
            Some(day) => {
                if !s.counters.is_empty() {
                    let next_midnight = midnight_after(day);
                    let delay = rand::random_range(0..MAX_SEND_DELAY_MS);
                    let nonce = s.nonce.take().unwrap_or_else(new_nonce);
                    let token = ready_token(&s.token, day);
                    s.pending = Some(Pending {
                        public_key: token.as_ref().map(|(_, k)| k.clone()),
                        body: encode_report(
                            day,
                            self.platform,
                            &s.counters,
                            &nonce,
                            token.map(|(t, _)| t),
                        ),
                        due_at: Timestamp(next_midnight + delay),
                    });
                }
                s.token = None;
                s.counters.clear();
                s.day = Some(today);
                s.nonce = Some(new_nonce());
                true
            }
            None => {
                s.day = Some(today);
                s.nonce = Some(new_nonce());
                true
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Writes the state atomically (temporary file + rename). Failures are ignored: losing a
    /// counter is better than failing a parent's action.
    fn save(&self, s: &State) {
        let Ok(bytes) = serde_json::to_vec(s) else {
            return;
        };
        let _ = crate::private_fs::write_atomic(&self.path, &bytes);
    }
}

/// Milliseconds at the midnight (UTC) that ends `day`.
fn midnight_after(day: Day) -> i64 {
    day.plus_days(1)
        .0
        .and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc().timestamp_millis())
        .unwrap_or_default()
}

fn new_nonce() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

/// The day's token, if ready, as the report carries it, with the key it was made with.
fn ready_token(t: &Option<DayToken>, day: Day) -> Option<(TelemetryToken, String)> {
    match t {
        Some(DayToken {
            day: d,
            input,
            public_key,
            stage: TokenStage::Ready { output },
        }) if *d == day => Some((
            TelemetryToken {
                input: input.clone(),
                output: output.clone(),
            },
            public_key.clone(),
        )),
        _ => None,
    }
}

/// Serialises a report padded with spaces to exactly [`TELEMETRY_REPORT_BYTES`].
pub fn encode_report(
    day: Day,
    platform: Platform,
    counters: &[Counter],
    nonce: &str,
    token: Option<TelemetryToken>,
) -> String {
    let mut report = TelemetryReport {
        v: TELEMETRY_SCHEMA_VERSION,
        day,
        platform,
        counters: counters.to_vec(),
        nonce: nonce.to_owned(),
        token,
        padding: String::new(),
    };
    let unpadded = serde_json::to_string(&report).unwrap_or_default().len();
    report.padding = " ".repeat(TELEMETRY_REPORT_BYTES.saturating_sub(unpadded));
    serde_json::to_string(&report).unwrap_or_default()
}

/// Counters merged per metric and bucket, as a map (used by tests and the demo's summary).
pub fn totals(counters: &[Counter]) -> BTreeMap<(Metric, Bucket), u32> {
    counters
        .iter()
        .map(|c| ((c.metric, c.bucket), c.count))
        .collect()
}

/// Posts the due report, if any, on the client's anonymous connection (no token, no
/// identifying header), unless an authenticated request was made within `quiet` (then `false`:
/// the caller tries again later). Before sending, the day's token key is fetched again
/// anonymously: a report whose token was made with another key (a key of its own for this
/// guardian would link it) is dropped, as is a report without a token (the collector would not
/// count it). Returns whether a report was sent.
pub async fn send_due(telemetry: &Telemetry, client: &Client, quiet: Duration) -> Result<bool> {
    let Some((body, key)) = telemetry.due_report(telemetry.now()) else {
        return Ok(false);
    };
    if client.since_authenticated().is_some_and(|t| t < quiet) {
        return Ok(false);
    }
    let Some(key) = key else {
        tracing::info!("telemetry report without a token dropped");
        telemetry.mark_sent(&body);
        return Ok(false);
    };
    let day = serde_json::from_str::<TelemetryReport>(&body)
        .map(|r| r.day)
        .map_err(|_| Error::Bug("pending telemetry report does not decode"))?;
    let published: TokenKey = client
        .get_anonymous(&paths::fill(
            paths::TELEMETRY_KEY,
            &[("day", &day.to_string())],
        ))
        .await?;
    if published.public_key != key {
        tracing::warn!("telemetry token key changed; report dropped");
        telemetry.mark_sent(&body);
        return Ok(false);
    }
    match client.post_anonymous(paths::TELEMETRY, body.clone()).await {
        Ok(()) => {
            telemetry.mark_sent(&body);
            Ok(true)
        }
        // Refused (a day out of range, a spent token, a format the server no longer takes):
        // sending it again would not help.
        Err(
            e @ HttpError::Status {
                status: 400..=499, ..
            },
        ) => {
            telemetry.mark_sent(&body);
            Err(Error::Http(e))
        }
        Err(e) => Err(Error::Http(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(day: &str, hour: u32) -> Timestamp {
        let d: Day = day.parse().expect("day");
        Timestamp(
            d.0.and_hms_opt(hour, 0, 0)
                .expect("time")
                .and_utc()
                .timestamp_millis(),
        )
    }

    fn fresh(dir: &tempfile::TempDir, name: &str) -> Telemetry {
        Telemetry::open(dir.path().join(name), Platform::Android)
    }

    #[test]
    fn two_installs_with_the_same_usage_differ_only_in_the_nonce() {
        let dir = tempfile::tempdir().expect("tmp");
        let (a, b) = (fresh(&dir, "a.json"), fresh(&dir, "b.json"));
        for t in [&a, &b] {
            t.add(Metric::AbsenceReported, Bucket::Count, at("2026-11-24", 9));
            t.add(Metric::SyncSucceeded, Bucket::Under1S, at("2026-11-24", 10));
            t.add(Metric::AppOpened, Bucket::Count, at("2026-11-24", 11));
        }
        let next_day = at("2026-11-25", 23);
        let (ra, rb) = (a.due(next_day).expect("due"), b.due(next_day).expect("due"));
        assert_eq!(ra.len(), TELEMETRY_REPORT_BYTES);
        assert_eq!(rb.len(), TELEMETRY_REPORT_BYTES);
        let strip = |r: &str| {
            let mut v: serde_json::Value = serde_json::from_str(r).expect("json");
            v["nonce"] = serde_json::Value::Null;
            v.to_string()
        };
        assert_ne!(ra, rb, "nonces differ");
        assert_eq!(strip(&ra), strip(&rb));
        let parsed: TelemetryReport = serde_json::from_str(&ra).expect("report");
        assert_eq!(parsed.day.to_string(), "2026-11-24");
        assert_eq!(parsed.counters.len(), 3);
    }

    #[test]
    fn one_report_per_day_not_before_its_delay_and_opt_out_deletes_it() {
        let dir = tempfile::tempdir().expect("tmp");
        let t = fresh(&dir, "t.json");
        t.add(Metric::MessageSent, Bucket::Count, at("2026-11-24", 9));
        assert!(
            t.due(at("2026-11-24", 23)).is_none(),
            "same day: nothing due"
        );
        // Just after midnight the report exists but may not be due yet; by 06:00 it is.
        let _ = t.due(at("2026-11-25", 0));
        let body = t.due(at("2026-11-25", 6)).expect("due after the delay");
        t.mark_sent(&body);
        assert!(t.due(at("2026-11-25", 7)).is_none(), "sent once");
        t.add(Metric::MessageSent, Bucket::Count, at("2026-11-25", 8));
        t.set_enabled(false);
        assert!(t.preview().is_none());
        assert!(t.due(at("2026-11-27", 12)).is_none(), "opt-out deleted it");
        let on_disk = std::fs::read_to_string(dir.path().join("t.json")).expect("file");
        assert!(!on_disk.contains("message_sent"), "{on_disk}");
        t.record(Metric::AppOpened);
        assert!(t.preview().is_none(), "nothing recorded while off");
    }

    #[test]
    fn state_survives_reopen_and_a_corrupt_file_starts_fresh() {
        let dir = tempfile::tempdir().expect("tmp");
        let t = fresh(&dir, "t.json");
        t.record(Metric::PhotoViewed);
        t.record(Metric::PhotoViewed);
        let again = fresh(&dir, "t.json");
        let preview: TelemetryReport =
            serde_json::from_str(&again.preview().expect("preview")).expect("json");
        assert_eq!(
            totals(&preview.counters).get(&(Metric::PhotoViewed, Bucket::Count)),
            Some(&2)
        );
        std::fs::write(dir.path().join("t.json"), b"\x00not json").expect("write");
        let fresh_one = fresh(&dir, "t.json");
        assert!(fresh_one.preview().is_none());
        assert!(fresh_one.enabled());
    }

    #[test]
    fn the_preview_is_the_report_that_is_sent() {
        let dir = tempfile::tempdir().expect("tmp");
        let t = fresh(&dir, "t.json");
        t.add(Metric::DocumentOpened, Bucket::Count, at("2026-11-24", 9));
        t.add(Metric::Unknown, Bucket::Count, at("2026-11-24", 9));
        let day = Day::from_ymd(2026, 11, 24).expect("day");
        t.store_token(DayToken {
            day,
            input: "in".into(),
            public_key: "pk".into(),
            stage: TokenStage::Ready {
                output: "out".into(),
            },
        });
        // What the parent is shown during the day is, byte for byte, what goes the next day.
        let shown = t.preview_at(at("2026-11-24", 20)).expect("a preview");
        assert!(
            shown.contains(r#""token":{"input":"in","output":"out"}"#),
            "{shown}"
        );
        assert_eq!(
            t.due(at("2026-11-24", 23)),
            None,
            "not before the day is over"
        );
        let sent = t.due(at("2026-11-25", 7)).expect("due");
        assert_eq!(shown, sent, "the day's preview is the sent report");
        assert_eq!(
            t.preview_at(at("2026-11-25", 7)).as_deref(),
            Some(sent.as_str()),
            "pending is previewed"
        );
        let r: TelemetryReport = serde_json::from_str(&sent).expect("json");
        assert_eq!(r.counters.len(), 1, "unknown metrics are not counted");
        t.wipe();
        assert!(!dir.path().join("t.json").exists());
        assert!(t.preview().is_none());
        t.set_enabled(false);
        t.wipe();
        assert!(!t.enabled(), "a wipe keeps the opt-out");
    }

    #[test]
    fn counts_are_capped_and_durations_bucketed() {
        let dir = tempfile::tempdir().expect("tmp");
        let t = fresh(&dir, "t.json");
        for _ in 0..(MAX_COUNT + 5) {
            t.add(Metric::PushReceived, Bucket::Count, at("2026-11-24", 9));
        }
        let r: TelemetryReport =
            serde_json::from_str(&t.preview().expect("preview")).expect("json");
        assert_eq!(r.counters[0].count, MAX_COUNT);
        assert_eq!(bucket_for(Duration::from_millis(5)), Bucket::Under100Ms);
        assert_eq!(bucket_for(Duration::from_millis(100)), Bucket::Under1S);
        assert_eq!(bucket_for(Duration::from_secs(3)), Bucket::Under10S);
        assert_eq!(bucket_for(Duration::from_secs(60)), Bucket::Over10S);
    }

    #[test]
    fn the_fullest_report_still_fits_the_padded_size() {
        let buckets = [
            Bucket::Count,
            Bucket::Under100Ms,
            Bucket::Under1S,
            Bucket::Under10S,
            Bucket::Over10S,
        ];
        let counters: Vec<Counter> = Metric::ALL
            .iter()
            .flat_map(|&metric| {
                buckets
                    .iter()
                    .filter(move |&&bucket| metric.takes(bucket))
                    .map(move |&bucket| Counter {
                        metric,
                        bucket,
                        count: MAX_COUNT,
                    })
            })
            .collect();
        let token = TelemetryToken {
            input: "A".repeat(43),
            output: "B".repeat(86),
        };
        let body = encode_report(
            Day::today(),
            Platform::Android,
            &counters,
            &new_nonce(),
            Some(token),
        );
        assert_eq!(body.len(), TELEMETRY_REPORT_BYTES);
    }
}
