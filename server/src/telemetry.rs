//! The anonymous telemetry collector: `POST /v1/telemetry` (no authentication) verifies and
//! spends the report's one-time token (`tokens`), adds the report to daily counters and forgets
//! it (no raw report, no IP: the access log does not keep the IP of this route);
//! `GET /v1/telemetry/counters?day=` publishes a day's counters only once at least 20 reports,
//! each with a distinct valid token, contributed.

use crate::app::AppState;
use crate::entities::{enum_from, enum_str};
use crate::error::{AppError, AppResult};
use crate::extract::{ApiJson, ApiQuery};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use kidplan_api::commands::Ack;
use kidplan_api::telemetry::*;
use rusqlite::params;
use std::collections::HashSet;

/// Checks a report: known enums, fixed caps, a recent day, blank padding.
fn validate(r: &TelemetryReport, today: chrono::NaiveDate) -> AppResult<()> {
    if r.v != TELEMETRY_SCHEMA_VERSION {
        return Err(AppError::invalid("v", "unsupported report version"));
    }
    if r.platform == Platform::Unknown {
        return Err(AppError::invalid("platform", "unknown platform"));
    }
    let age = (today - r.day.0).num_days();
    if !(-1..=31).contains(&age) {
        return Err(AppError::invalid("day", "day out of range"));
    }
    if r.counters.len() > 200 {
        return Err(AppError::invalid("counters", "too many counters"));
    }
    let mut seen = HashSet::new();
    for c in &r.counters {
        if c.metric == Metric::Unknown
            || !c.metric.takes(c.bucket)
            || c.count > 1000
            || !seen.insert((c.metric, c.bucket))
        {
            return Err(AppError::invalid(
                "counters",
                "unknown, mismatched, duplicate or too large counter",
            ));
        }
    }
    if r.nonce.is_empty() || r.nonce.len() > 128 {
        return Err(AppError::invalid("nonce", "nonce must be 1-128 characters"));
    }
    if r.padding.len() > TELEMETRY_REPORT_BYTES || r.padding.chars().any(|c| c != ' ') {
        return Err(AppError::invalid("padding", "padding must be spaces"));
    }
    Ok(())
}

/// `POST /v1/telemetry` → 202.
pub async fn collect(
    State(st): State<AppState>,
    ApiJson(r): ApiJson<TelemetryReport>,
) -> AppResult<(StatusCode, Json<Ack>)> {
    validate(&r, st.clock.now().date_naive())?;
    st.db
        .tx(move |tx| {
            crate::tokens::spend(tx, r.day.0, r.token.as_ref())?;
            let day = r.day.to_string();
            let platform = enum_str(&r.platform);
            tx.execute(
                "INSERT INTO telemetry_days (day, reports) VALUES (?1, 1) ON CONFLICT (day) DO UPDATE SET reports = reports + 1",
                [&day],
            )?;
            for c in &r.counters {
                tx.execute(
                    "INSERT INTO telemetry_counters (day, platform, metric, bucket, count) VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (day, platform, metric, bucket) DO UPDATE SET count = count + excluded.count",
                    params![day, platform, enum_str(&c.metric), enum_str(&c.bucket), c.count],
                )?;
            }
            Ok(())
        })
        .await?;
    Ok((StatusCode::ACCEPTED, Json(Ack { ok: true })))
}

/// `GET /v1/telemetry/counters?day=YYYY-MM-DD`.
pub async fn counters(
    State(st): State<AppState>,
    ApiQuery(q): ApiQuery<CountersQuery>,
) -> AppResult<Json<DayCounters>> {
    let day = q.day;
    let out = st
        .db
        .call(move |conn| {
            let d = day.to_string();
            let reports: i64 = crate::db::opt(conn.query_row("SELECT reports FROM telemetry_days WHERE day = ?1", [&d], |r| r.get(0)))?.unwrap_or(0);
            let mut out = DayCounters { day, published: reports >= i64::from(MIN_REPORTS_TO_PUBLISH), counters: Vec::new() };
            if !out.published {
                return Ok(out);
            }
            let mut stmt = conn.prepare(
                "SELECT platform, metric, bucket, count FROM telemetry_counters WHERE day = ?1 ORDER BY platform, metric, bucket",
            )?;
            let rows = stmt.query_map([&d], |r| {
                Ok(PublishedCounter {
                    platform: enum_from(r.get(0)?)?,
                    metric: enum_from(r.get(1)?)?,
                    bucket: enum_from(r.get(2)?)?,
                    count: r.get::<_, i64>(3)?.max(0) as u64,
                })
            })?;
            out.counters = rows.collect::<Result<_, _>>()?;
            Ok(out)
        })
        .await?;
    Ok(Json(out))
}
