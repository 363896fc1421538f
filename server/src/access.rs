//! The access log and request logging.
//!
//! Every request is logged with `tracing` as method, route template (never the raw path or its
//! query string), status and latency: no bodies, tokens, contacts or codes. The access log
//! table keeps the client IP (abuse detection) and the caller's person id; maintenance deletes
//! rows after 14 days and erasure anonymises a person's rows. Reports to the telemetry
//! collector (`POST /v1/telemetry`) are neither logged nor recorded.

use crate::app::AppState;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use rusqlite::params;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Days the access log keeps a row.
pub const ACCESS_LOG_DAYS: i64 = 14;

/// Filled by the auth extractor with the caller's person id, read by the access log.
#[derive(Clone, Default)]
pub struct PersonSlot(Arc<Mutex<Option<String>>>);

impl PersonSlot {
    /// Records the authenticated person.
    pub fn set(&self, person_id: &str) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(person_id.to_owned());
    }

    fn take(&self) -> Option<String> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

/// Middleware: logs the request and writes its access-log row.
pub async fn log_request(State(st): State<AppState>, mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().as_str().to_owned();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_else(|| "(no route)".to_owned());
    // A telemetry report, and the anonymous fetch of the token key that precedes it, leave no
    // record of their requests: no row, no log line. Their IP or the moment they arrived
    // would let the report be joined to the device's authenticated requests.
    if route == kidplan_api::paths::TELEMETRY || route == kidplan_api::paths::TELEMETRY_KEY {
        return next.run(req).await;
    }
    let ip = req
        .extensions()
        .get::<ConnectInfo<crate::extract::ConnMeta>>()
        .map(|c| c.0.peer.ip().to_string());
    let slot = PersonSlot::default();
    req.extensions_mut().insert(slot.clone());
    let resp = next.run(req).await;
    let status = resp.status().as_u16();
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    tracing::info!(%method, %route, status, latency_ms = format!("{latency_ms:.1}"), "request");
    let person = slot.take();
    let now = st.clock.now_ms();
    let written = st
        .db
        .call(move |conn| {
            conn.prepare_cached(
                "INSERT INTO access_log (at, ip, person_id, method, route, status) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![now, ip, person, method, route, status])?;
            Ok(())
        })
        .await;
    if written.is_err() {
        tracing::warn!("access log row not written");
    }
    resp
}
