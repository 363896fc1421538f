//! The tokio runtime owned by the library. Exported async functions spawn onto it and await the
//! `JoinHandle`, which is runtime-agnostic, so Kotlin coroutines and Swift async can poll the
//! returned futures without knowing about tokio.

use std::future::Future;
use std::sync::OnceLock;

use tokio::runtime::Runtime;
use tokio::task::JoinHandle;

static RUNTIME: OnceLock<Runtime> = OnceLock::new();

pub(crate) fn runtime() -> &'static Runtime {
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("kidplan-rt")
            .enable_all()
            .build()
            .expect("failed to start the kidplan tokio runtime")
    })
}

/// Spawns `fut` on the library runtime.
pub(crate) fn spawn<F>(fut: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    runtime().spawn(fut)
}
