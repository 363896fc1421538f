//! Placeholder FFI surface that proves the uniffi plumbing (sync, async, errors, foreign traits)
//! from Kotlin and Swift. Delete this module once the real `Kidplan` facade is exported.

use std::sync::Arc;
use std::time::Duration;

use crate::runtime::spawn;

/// Version of the Rust core, as built.
#[uniffi::export]
pub fn core_version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}

/// Sleeps `delay_ms` on the library's tokio runtime and returns `delay_ms`.
#[uniffi::export]
pub async fn ping_async(delay_ms: u64) -> u64 {
    spawn(async move {
        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
        delay_ms
    })
    .await
    .unwrap_or(u64::MAX)
}

/// Name of the thread an async call runs on (proves the library's own runtime is used).
#[uniffi::export]
pub async fn runtime_thread_name_async() -> String {
    spawn(async { std::thread::current().name().unwrap_or("").to_owned() })
        .await
        .unwrap_or_default()
}

#[derive(Debug, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum SmokeError {
    #[error("invalid input: {field}")]
    InvalidInput { field: String },
    #[error("rate limited, retry after {retry_after_s} s")]
    RateLimited { retry_after_s: u32 },
    #[error("cancelled")]
    Cancelled,
}

/// Parses a count in 0..=100. Non-numbers are `InvalidInput { field: "count" }`; larger
/// numbers are `RateLimited { retry_after_s: <number> }`.
#[uniffi::export]
pub fn parse_count(text: String) -> Result<u32, SmokeError> {
    let n: u32 = text.trim().parse().map_err(|_| SmokeError::InvalidInput {
        field: "count".to_owned(),
    })?;
    if n > 100 {
        return Err(SmokeError::RateLimited { retry_after_s: n });
    }
    Ok(n)
}

/// Async fallible call: `parse_count` run on the library's runtime.
#[uniffi::export]
pub async fn parse_count_async(text: String) -> Result<u32, SmokeError> {
    spawn(async move { parse_count(text) })
        .await
        .map_err(|_| SmokeError::Cancelled)?
}

/// A trait the host implements (the real one will be the change listener).
#[uniffi::export(with_foreign)]
pub trait SmokeListener: Send + Sync {
    fn on_change(&self, collections: Vec<String>);
    fn label(&self, id: u64) -> String;
}

/// Calls `listener.label(id)` on the calling thread and wraps the answer in brackets.
#[uniffi::export]
pub fn describe(listener: Arc<dyn SmokeListener>, id: u64) -> String {
    format!("[{}]", listener.label(id))
}

/// Calls `listener.on_change` `times` times from a runtime worker thread; returns the count.
#[uniffi::export]
pub async fn notify_from_runtime(listener: Arc<dyn SmokeListener>, times: u32) -> u32 {
    spawn(async move {
        for i in 0..times {
            listener.on_change(vec!["children".to_owned(), format!("change-{i}")]);
        }
        times
    })
    .await
    .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_count_maps_errors() {
        assert_eq!(parse_count(" 7 ".into()), Ok(7));
        assert_eq!(
            parse_count("x".into()),
            Err(SmokeError::InvalidInput {
                field: "count".into()
            })
        );
        assert_eq!(
            parse_count("120".into()),
            Err(SmokeError::RateLimited { retry_after_s: 120 })
        );
    }

    #[test]
    fn async_calls_run_on_the_library_runtime() {
        let name = block_on(runtime_thread_name_async());
        assert!(name.starts_with("kidplan-rt"), "{name}");
        assert_eq!(block_on(ping_async(3)), 3);
    }

    /// Polls a future to completion without any tokio context, as a foreign host would.
    fn block_on<F: std::future::Future>(fut: F) -> F::Output {
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        let mut fut = std::pin::pin!(fut);
        loop {
            if let std::task::Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
                return v;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}
