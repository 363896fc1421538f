//! Sending the outbox (a service: network I/O over the session; the local layer records each
//! end): due items in order per target. A transient failure (network, 5xx, 429) reschedules
//! the item with backoff and jitter and blocks its target; any other refusal ends it as
//! `Rejected` and the parent's view goes back to the server's; an acceptance ends it as `Sent`
//! with the server's answer. Each end is one transaction, and every command carries its
//! idempotency key, so an interrupted send is simply sent again.

use crate::auth::Auth;
use crate::client::HttpError;
use crate::config::Tuning;
use crate::error::{Error, Result};
use crate::local::cache::Effects;
use crate::local::outbox::{self, Verb};
use crate::local::store::Store;
use kidplan_api::Timestamp;
use reqwest::Method;
use std::collections::HashSet;

/// What a flush did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct FlushReport {
    /// Items the server accepted.
    pub sent: u32,
    /// Items the server refused.
    pub rejected: u32,
    /// Items still pending afterwards.
    pub pending: u32,
}

fn method(v: Verb) -> Method {
    match v {
        Verb::Post => Method::POST,
        Verb::Put => Method::PUT,
        Verb::Delete => Method::DELETE,
    }
}

/// Sends due items in order per target. `force` ignores backoff (the parent asked to sync).
/// Stops early when offline or rate limited; fails when the session ended.
pub async fn flush(
    store: &Store,
    auth: &Auth,
    me: &str,
    tuning: &Tuning,
    force: bool,
    fx: &mut Effects,
) -> Result<FlushReport> {
    let mut report = FlushReport::default();
    let items = outbox::pending(&*store.conn()?)?;
    let mut blocked: HashSet<String> = HashSet::new();
    for item in items {
        if blocked.contains(&item.target) {
            continue;
        }
        let Some(verb) = item.verb else {
            // Queued by a newer build of the app: leave it for that build.
            blocked.insert(item.target.clone());
            continue;
        };
        if !force && item.next_attempt_at > Timestamp::now().0 {
            blocked.insert(item.target.clone());
            continue;
        }
        let client = auth.client();
        let result = auth
            .call(|t| {
                let body = item.body.clone();
                let (path, key) = (&item.path, &item.key);
                async move {
                    client
                        .command(method(verb), path, Some(&t), Some(key), body)
                        .await
                }
            })
            .await;
        match result {
            Ok(answer) => {
                store.write(|tx| {
                    if outbox::is_pending(tx, item.seq)? {
                        outbox::mark_sent(tx, &item, &answer, me, fx)?;
                    }
                    Ok(())
                })?;
                report.sent += 1;
                tracing::debug!(kind = item.kind.as_str(), "outbox item sent");
            }
            Err(Error::Http(e)) if e.is_transient() && !e.is_unauthorized() => {
                let mut delay = outbox::backoff_ms(tuning, item.attempts + 1);
                if let HttpError::Status {
                    retry_after_s: Some(s),
                    ..
                } = &e
                {
                    delay = delay.max(i64::from(*s) * 1000);
                }
                let code = Error::Http(e.clone()).code();
                store.write(|tx| outbox::retry_later(tx, item.seq, delay, code))?;
                fx.touch(crate::observers::Collection::Outbox);
                blocked.insert(item.target.clone());
                if matches!(
                    e,
                    HttpError::Network | HttpError::Status { status: 429, .. }
                ) {
                    break;
                }
            }
            Err(Error::Http(e)) if !e.is_unauthorized() => {
                let reason = e.reason();
                tracing::info!(kind = item.kind.as_str(), "outbox item rejected");
                store.write(|tx| {
                    if outbox::is_pending(tx, item.seq)? {
                        outbox::mark_rejected(tx, &item, &reason, me, fx)?;
                    }
                    Ok(())
                })?;
                report.rejected += 1;
            }
            Err(e) => return Err(e),
        }
    }
    report.pending = outbox::pending_count(&*store.conn()?)?;
    Ok(report)
}
