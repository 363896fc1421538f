//! Two views of one guardian's data, for convergence checks: what the server renders for the
//! guardian (its feed read from cursor 0, tombstones left out) and what a device has cached
//! (the `data` column of every entity table of its encrypted database). Both are maps from
//! `(entity kind, id)` to the entity as JSON; comparing JSON values ignores key order.

use kidplan_api::paths;
use kidplan_api::sync::{ChangeOp, EntityKind, MAX_SYNC_LIMIT, SyncPage};
use serde_json::Value;
use std::collections::BTreeMap;

/// Entities by `(kind, id)`, each as JSON.
pub type Entities = BTreeMap<(String, String), Value>;

/// Everything the server shows the guardian whose access token is `token`: a full sync from
/// cursor 0 over raw HTTP, the per-viewer render of each entity.
pub async fn server_view(
    http: &reqwest::Client,
    base_url: &str,
    token: &str,
) -> anyhow::Result<Entities> {
    let mut out = Entities::new();
    let mut cursor = 0;
    loop {
        let page: SyncPage = http
            .get(format!(
                "{base_url}{}?cursor={cursor}&limit={MAX_SYNC_LIMIT}",
                paths::SYNC
            ))
            .bearer_auth(token)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        for ch in page.changes {
            let key = (ch.entity.as_str().to_owned(), ch.id);
            match (ch.op, ch.data) {
                (ChangeOp::Upsert, Some(data)) => {
                    out.insert(key, data);
                }
                _ => {
                    out.remove(&key);
                }
            }
        }
        if !page.has_more {
            return Ok(out);
        }
        anyhow::ensure!(page.cursor > cursor, "the feed's cursor did not advance");
        cursor = page.cursor;
    }
}

/// Everything a device has cached: every row of every entity table of its database.
pub fn cached_view(conn: &rusqlite::Connection) -> anyhow::Result<Entities> {
    let mut out = Entities::new();
    for kind in EntityKind::ALL {
        let Some(table) = kidplan_core::cache::table(kind) else {
            continue;
        };
        let mut st = conn.prepare(&format!("SELECT id, data FROM {table}"))?;
        let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
        for row in rows {
            let (id, data) = row?;
            let value: Value = serde_json::from_str(&data)?;
            out.insert((kind.as_str().to_owned(), id), value);
        }
    }
    Ok(out)
}

/// How a device's cache differs from the server's view for one entity.
#[derive(Clone, Debug, PartialEq)]
pub enum Difference {
    /// The server shows it; the device does not have it.
    Missing {
        kind: String,
        id: String,
        server: Value,
    },
    /// The device has it; the server does not show it to this guardian.
    Extra {
        kind: String,
        id: String,
        cache: Value,
    },
    /// Both have it, with different contents.
    Differs {
        kind: String,
        id: String,
        cache: Value,
        server: Value,
    },
}

impl Difference {
    /// The kind of the entity that differs.
    pub fn kind(&self) -> &str {
        match self {
            Difference::Missing { kind, .. }
            | Difference::Extra { kind, .. }
            | Difference::Differs { kind, .. } => kind,
        }
    }
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Difference::Missing { kind, id, server } => {
                write!(f, "missing from the cache: {kind} {id} {server}")
            }
            Difference::Extra { kind, id, cache } => {
                write!(f, "only in the cache: {kind} {id} {cache}")
            }
            Difference::Differs {
                kind,
                id,
                cache,
                server,
            } => write!(
                f,
                "differs: {kind} {id}: {}",
                field_diff(cache, server).join("; ")
            ),
        }
    }
}

/// The differences between a device's cache and the server's view: entities missing from
/// the cache, entities only in the cache, and entities that differ. Empty when they are equal.
pub fn differences(cache: &Entities, server: &Entities) -> Vec<Difference> {
    let mut out = Vec::new();
    for ((kind, id), want) in server {
        let (kind, id) = (kind.clone(), id.clone());
        match cache.get(&(kind.clone(), id.clone())) {
            None => out.push(Difference::Missing {
                kind,
                id,
                server: want.clone(),
            }),
            Some(have) if have != want => out.push(Difference::Differs {
                kind,
                id,
                cache: have.clone(),
                server: want.clone(),
            }),
            Some(_) => {}
        }
    }
    for ((kind, id), have) in cache {
        if !server.contains_key(&(kind.clone(), id.clone())) {
            out.push(Difference::Extra {
                kind: kind.clone(),
                id: id.clone(),
                cache: have.clone(),
            });
        }
    }
    out
}

/// The top-level fields in which two entities differ: `field: cache <v> != server <v>`.
fn field_diff(have: &Value, want: &Value) -> Vec<String> {
    match (have, want) {
        (Value::Object(h), Value::Object(w)) => {
            let keys: std::collections::BTreeSet<&String> = h.keys().chain(w.keys()).collect();
            keys.into_iter()
                .filter(|k| h.get(*k) != w.get(*k))
                .map(|k| {
                    let show =
                        |v: Option<&Value>| v.map_or("(absent)".to_owned(), Value::to_string);
                    format!("{k}: cache {} != server {}", show(h.get(k)), show(w.get(k)))
                })
                .collect()
        }
        _ => vec![format!("cache {have} != server {want}")],
    }
}
