//! Pulling the change feed (a service: network I/O, then the local layer applies each page):
//! `GET /v1/sync?cursor=C&limit=N` from the stored cursor, page after page. Each page and its
//! cursor are applied in one transaction (`local::apply`), so a failure midway leaves the
//! cache at the last whole page, and a cancelled pull stops between pages.

use crate::auth::Auth;
use crate::error::{Error, Result};
use crate::local::apply::{SyncReport, apply_page, cursor};
use crate::local::cache::Effects;
use crate::local::store::Store;
use kidplan_api::paths;
use kidplan_api::sync::SyncPage;
use reqwest::Method;

/// Largest number of pages one sync pulls (a guard against a server that never ends).
const MAX_PAGES: u32 = 10_000;

/// Where syncing stands, for a status line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct SyncStatus {
    /// A sync is running now.
    pub syncing: bool,
    /// When the last sync completed.
    pub last_synced_at: Option<kidplan_api::Timestamp>,
    /// The stable code of the last sync's error (`"offline"`, ...), cleared by a success.
    pub last_error: Option<String>,
    /// Parent actions not yet sent.
    pub pending_outbox: u32,
}

/// Pulls and applies pages until the server has no more. Each applied page's effects are
/// handed to `on_page` (after its commit) so observers hear about them as they land.
pub async fn pull(
    store: &Store,
    auth: &Auth,
    me: &str,
    limit: u32,
    report: &mut SyncReport,
    mut on_page: impl FnMut(Effects),
) -> Result<()> {
    let limit = limit.clamp(1, kidplan_api::sync::MAX_SYNC_LIMIT);
    for _ in 0..MAX_PAGES {
        let from = cursor(&*store.conn()?)?;
        let path = format!("{}?cursor={from}&limit={limit}", paths::SYNC);
        let client = auth.client();
        let page: SyncPage = auth
            .call(|t| {
                let path = &path;
                async move { client.json(Method::GET, path, Some(&t), None, None).await }
            })
            .await?;
        let mut fx = Effects::default();
        store.write(|tx| apply_page(tx, &page, me, report, &mut fx))?;
        report.pages += 1;
        on_page(fx);
        if !page.has_more {
            return Ok(());
        }
        if page.cursor <= from {
            tracing::warn!("sync cursor did not advance");
            return Err(Error::Http(crate::client::HttpError::Decode));
        }
    }
    Err(Error::Http(crate::client::HttpError::Decode))
}
