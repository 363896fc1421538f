//! Request extractors whose rejections are the JSON error body, plus the `Idempotency-Key`
//! header and the client address.

use crate::error::AppError;
use axum::extract::{FromRequest, FromRequestParts};
use axum::http::request::Parts;
use kidplan_api::IDEMPOTENCY_KEY_HEADER;
use std::net::{IpAddr, SocketAddr};

/// `axum::Json` with JSON error rejections (400, 413, 415).
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(AppError))]
pub struct ApiJson<T>(pub T);

/// `axum::extract::Query` with JSON error rejections.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(AppError))]
pub struct ApiQuery<T>(pub T);

/// `axum::extract::Path` with JSON error rejections.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(AppError))]
pub struct ApiPath<T>(pub T);

/// The `Idempotency-Key` header: a UUID, required on every parent command.
#[derive(Clone, Debug)]
pub struct IdempotencyKey(pub String);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let raw = parts
            .headers
            .get(IDEMPOTENCY_KEY_HEADER)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                AppError::invalid(IDEMPOTENCY_KEY_HEADER, "Idempotency-Key header required")
            })?;
        let key = uuid::Uuid::parse_str(raw.trim()).map_err(|_| {
            AppError::invalid(IDEMPOTENCY_KEY_HEADER, "Idempotency-Key must be a UUID")
        })?;
        Ok(Self(key.hyphenated().to_string()))
    }
}

/// Where a connection comes from (and, with the `faults` feature, the switch that kills it).
#[derive(Clone, Debug)]
pub struct ConnMeta {
    pub peer: SocketAddr,
    #[cfg(feature = "faults")]
    pub kill: crate::net::KillSwitch,
}

/// The client's IP address.
#[derive(Clone, Copy, Debug)]
pub struct ClientIp(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(client_ip(parts))
    }
}

/// The peer address recorded by the listener (loopback when unknown, for example in unit
/// tests that call the router directly).
pub fn client_ip(parts: &Parts) -> ClientIp {
    parts
        .extensions
        .get::<axum::extract::ConnectInfo<ConnMeta>>()
        .map(|c| ClientIp(c.0.peer.ip()))
        .unwrap_or(ClientIp(IpAddr::from([127, 0, 0, 1])))
}
