//! The background sender: one task per open account that sends its outbox as items fall due
//! (woken early by a new action), so actions leave without waiting for the next `sync()`.
//! Off when [`Tuning::background_flush`](crate::Tuning) is false (tests). It stops when the
//! account is closed or its session is revoked.

use crate::accounts::AccountCtx;
use crate::cache::Effects;
use crate::outbox;
use crate::runtime::{Inner, lock};
use kidplan_api::Timestamp;
use std::sync::Arc;
use std::time::Duration;

/// The longest wait between two looks at the outbox.
const IDLE: Duration = Duration::from_secs(300);
/// The wait after a failure that is not an item's (no session, storage).
const PAUSE_AFTER_FAILURE: Duration = Duration::from_secs(30);

impl Inner {
    /// Starts the background sender of an account (when tuning allows it), replacing a
    /// previous one.
    pub(crate) fn start_sender(self: &Arc<Self>, ctx: Arc<AccountCtx>) {
        if !self.tuning.background_flush {
            return;
        }
        let inner = self.clone();
        let id = ctx.account.id.clone();
        let task = self
            .handle
            .spawn(async move { inner.sender_loop(ctx).await });
        if let Ok(mut s) = lock(&self.senders)
            && let Some(old) = s.insert(id, task.abort_handle())
        {
            old.abort();
        }
    }

    async fn sender_loop(self: Arc<Self>, ctx: Arc<AccountCtx>) {
        let mut pause = Duration::ZERO;
        loop {
            let wait = match ctx.store.conn().and_then(|c| outbox::next_due(&c)) {
                Ok(Some(due)) => {
                    let ms = (due - Timestamp::now().0).clamp(0, IDLE.as_millis() as i64);
                    Duration::from_millis(ms as u64).max(pause)
                }
                Ok(None) | Err(_) => IDLE,
            };
            if !wait.is_zero() {
                tokio::select! {
                    _ = ctx.wake.notified() => {}
                    _ = tokio::time::sleep(wait) => {}
                }
            }
            if ctx.auth.revoked() {
                return;
            }
            let r = {
                let _f = ctx.flush_lock.lock().await;
                let mut fx = Effects::default();
                let r = outbox::flush(
                    &ctx.store,
                    &ctx.auth,
                    &ctx.account.person_id,
                    &self.tuning,
                    false,
                    &mut fx,
                )
                .await;
                self.apply(&ctx.files_dir(), fx);
                r
            };
            match r {
                Ok(_) => pause = Duration::ZERO,
                Err(e) => {
                    tracing::debug!(error = e.code(), "background send failed");
                    if self.after_network(&ctx, Err::<(), _>(e)).is_err() && ctx.auth.revoked() {
                        return;
                    }
                    // Not an item's failure (no session, storage): wait before trying again.
                    pause = PAUSE_AFTER_FAILURE;
                }
            }
        }
    }
}
