//! Test-only fault layer (feature `faults`, absent from the default build): fail with a
//! status, delay, drop the connection before or after the handler, or truncate the body, for
//! the next N requests (optionally only those whose path starts with a prefix).

use crate::app::AppState;
use crate::error::AppError;
use crate::extract::ConnMeta;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What goes wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FaultKind {
    /// Answer with this status (for example 500 or 503) before the handler runs.
    Status(u16),
    /// Wait, then run the handler normally.
    Delay(Duration),
    /// Close the connection without running the handler or answering.
    DropBeforeHandler,
    /// Run the handler (it commits), then close the connection without answering.
    DropAfterHandler,
    /// Run the handler, send the headers and half the body, then close the connection.
    TruncateBody,
}

/// A fault for the next `times` requests matching `route` (a path prefix; `None` for all).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    pub route: Option<String>,
    pub kind: FaultKind,
    pub times: u32,
}

/// The switchboard a test uses to inject faults into a running server.
#[derive(Clone, Debug, Default)]
pub struct Faults(Arc<Mutex<Vec<Fault>>>);

impl Faults {
    /// Adds a fault (applied after the ones already waiting).
    pub fn inject(&self, fault: Fault) {
        if fault.times > 0 {
            self.0.lock().unwrap_or_else(|e| e.into_inner()).push(fault);
        }
    }

    /// Removes every waiting fault.
    pub fn clear(&self) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// Faults still waiting.
    pub fn pending(&self) -> Vec<Fault> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Takes one use of the first fault matching `path`.
    fn take(&self, path: &str) -> Option<FaultKind> {
        let mut all = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let i = all
            .iter()
            .position(|f| f.route.as_deref().is_none_or(|r| path.starts_with(r)))?;
        let kind = all[i].kind.clone();
        all[i].times -= 1;
        if all[i].times == 0 {
            all.remove(i);
        }
        Some(kind)
    }
}

/// Middleware applying the next matching fault.
pub async fn layer(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let Some(kind) = st.faults.take(req.uri().path()) else {
        return next.run(req).await;
    };
    let kill = req
        .extensions()
        .get::<ConnectInfo<ConnMeta>>()
        .map(|c| c.0.kill.clone());
    let kill_now = || {
        if let Some(k) = &kill {
            k.kill();
        }
    };
    match kind {
        FaultKind::Status(s) => AppError::from_status(
            StatusCode::from_u16(s).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        )
        .into_response(),
        FaultKind::Delay(d) => {
            tokio::time::sleep(d).await;
            next.run(req).await
        }
        FaultKind::DropBeforeHandler => {
            kill_now();
            broken_body()
        }
        FaultKind::DropAfterHandler => {
            let resp = next.run(req).await;
            let _ = axum::body::to_bytes(resp.into_body(), usize::MAX).await;
            kill_now();
            broken_body()
        }
        FaultKind::TruncateBody => truncate(next.run(req).await, kill).await,
    }
}

/// A response whose body fails at once (the connection is already dead).
fn broken_body() -> Response {
    let stream = futures::stream::once(async {
        Err::<Bytes, _>(std::io::Error::other("dropped by fault layer"))
    });
    Response::new(Body::from_stream(stream))
}

/// Sends the headers (with the full Content-Length) and half the body, then kills the
/// connection.
async fn truncate(resp: Response, kill: Option<crate::net::KillSwitch>) -> Response {
    let (mut parts, body) = resp.into_parts();
    let full = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let half = full.slice(..full.len() / 2);
    if let Ok(v) = HeaderValue::from_str(&full.len().to_string()) {
        parts.headers.insert(header::CONTENT_LENGTH, v);
    }
    let stream = futures::stream::unfold(0u8, move |step| {
        let half = half.clone();
        let kill = kill.clone();
        async move {
            match step {
                0 => Some((Ok::<Bytes, std::io::Error>(half), 1)),
                1 => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    if let Some(k) = &kill {
                        k.kill();
                    }
                    Some((Err(std::io::Error::other("truncated by fault layer")), 2))
                }
                _ => None,
            }
        }
    });
    Response::from_parts(parts, Body::from_stream(stream))
}
