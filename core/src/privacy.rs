//! The parent's data export (rights of access and portability): everything the server holds
//! about the guardian and their children (`GET /v1/me/export`, [`DataExport`]) plus what this
//! device has queued but not yet sent, written as one pretty-printed JSON file
//! `kidplan-export-<YYYY-MM-DD>.json` with mode 0600. The file format is documented in
//! `docs/export-schema.json` (a JSON Schema that `tests/tests/e2e/export_schema.rs` validates real exports against).
//!
//! The other rights go through existing calls: rectification is `update_contact`; erasure,
//! restriction and objection are `request_privacy` (handled by the kindergarten, whose answer
//! arrives with the next sync in `privacy_requests()`).

use crate::auth::Auth;
use crate::error::{Error, Result};
use crate::local::store::Store;
use kidplan_api::privacy::{DataExport, EXPORT_SCHEMA_VERSION};
use kidplan_api::{Timestamp, paths};
use rusqlite::Connection;
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The format name at the top of every export file.
pub const EXPORT_FORMAT: &str = "kidplan-export";

/// How many records one section of an export holds.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ExportSection {
    /// The section's key in the file (`"children"`, `"log_entries"`, `"pending_on_device"`, ...).
    pub name: String,
    /// Its number of records.
    pub count: u32,
}

/// What [`crate::Kidplan::export_my_data`] wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct ExportSummary {
    /// The file written.
    pub path: String,
    /// [`EXPORT_SCHEMA_VERSION`] of the server's part.
    pub schema_version: u32,
    /// The sections and their sizes.
    pub sections: Vec<ExportSection>,
}

/// An action queued on this device and not yet accepted by the server.
#[derive(Clone, Debug, Serialize)]
pub struct PendingItem {
    /// What the action is (`report_absence`, `send_message`, ...).
    pub kind: String,
    /// The id of the thing it creates or changes.
    pub entity_id: String,
    /// `pending` or `rejected`.
    pub status: String,
    /// The server's reason, when rejected.
    pub reason: Option<String>,
    /// The HTTP method and path it will be sent to.
    pub method: String,
    /// Where it will go.
    pub path: String,
    /// The request body as queued (the parent's own input).
    pub body: Option<serde_json::Value>,
    /// When the parent acted.
    pub created_at: Timestamp,
}

/// The export file.
#[derive(Clone, Debug, Serialize)]
pub struct ExportFile {
    /// Always [`EXPORT_FORMAT`].
    pub format: &'static str,
    /// [`EXPORT_SCHEMA_VERSION`].
    pub schema_version: u32,
    /// When the export was made.
    pub exported_at: Timestamp,
    /// Everything the server holds.
    pub server: DataExport,
    /// Queued on this device, not yet on the server.
    pub pending_on_device: Vec<PendingItem>,
}

/// The device's unsent outbox items.
pub fn pending_items(c: &Connection) -> Result<Vec<PendingItem>> {
    let mut st = c.prepare(
        "SELECT kind, entity_id, status, reason, method, path, body, created_at
         FROM outbox WHERE status <> 'sent' ORDER BY seq",
    )?;
    let rows = st.query_map([], |r| {
        Ok(PendingItem {
            kind: r.get(0)?,
            entity_id: r.get(1)?,
            status: r.get(2)?,
            reason: r.get(3)?,
            method: r.get(4)?,
            path: r.get(5)?,
            body: r
                .get::<_, Option<String>>(6)?
                .and_then(|b| serde_json::from_str(&b).ok()),
            created_at: Timestamp(r.get(7)?),
        })
    })?;
    Ok(rows.collect::<std::result::Result<_, _>>()?)
}

fn n(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}

/// The sections of an export and their sizes.
pub fn sections(f: &ExportFile) -> Vec<ExportSection> {
    let s = &f.server;
    let sec = |name: &str, count: usize| ExportSection {
        name: name.to_owned(),
        count: n(count),
    };
    vec![
        sec("guardian", 1),
        sec("children", s.children.len()),
        sec("relations", s.relations.len()),
        sec("log_entries", s.log_entries.len()),
        sec("threads", s.threads.len()),
        sec("messages", s.messages.len()),
        sec("absences", s.absences.len()),
        sec("holidays", s.holidays.len()),
        sec("consents", s.consents.len()),
        sec("pickup_persons", s.pickup_persons.len()),
        sec(
            "notification_preferences",
            s.notification_preferences
                .as_ref()
                .map_or(0, |p| p.preferences.len()),
        ),
        sec("privacy_requests", s.privacy_requests.len()),
        sec("photos", s.photos.len()),
        sec("documents", s.documents.len()),
        sec("access_log", s.access_log.len()),
        sec("push_registrations", s.push_registrations.len()),
        sec("privacy_info", s.privacy_info.len()),
        sec("pending_on_device", f.pending_on_device.len()),
    ]
}

/// The file name for an export made on `day`.
pub fn file_name(day: kidplan_api::Day) -> String {
    format!("kidplan-export-{day}.json")
}

/// Writes `file` into `dir` (which must exist) with mode 0600, atomically (temporary file +
/// rename). Returns the path.
pub fn write(dir: &Path, file: &ExportFile) -> Result<PathBuf> {
    if !dir.is_dir() {
        return Err(Error::invalid("dir"));
    }
    let bytes = serde_json::to_vec_pretty(file)?;
    let path = dir.join(file_name(file.exported_at.day()));
    let tmp = dir.join(format!(".{}.tmp", file_name(file.exported_at.day())));
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let result = (|| -> std::io::Result<()> {
        let mut f = opts.open(&tmp)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        }
        f.write_all(&bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, &path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(e.into());
    }
    Ok(path)
}

/// Builds the file from the server's export and the device's pending items.
pub fn build(server: DataExport, pending: Vec<PendingItem>) -> ExportFile {
    ExportFile {
        format: EXPORT_FORMAT,
        schema_version: EXPORT_SCHEMA_VERSION,
        exported_at: Timestamp::now(),
        server,
        pending_on_device: pending,
    }
}

/// Writes the account's export into `dir`: the server's export of the guardian, and this
/// device's actions not yet accepted.
pub async fn export(store: &Store, auth: &Auth, dir: &str) -> Result<ExportSummary> {
    let client = auth.client();
    let server: DataExport = auth
        .call(|t| async move {
            client
                .json(reqwest::Method::GET, paths::ME_EXPORT, Some(&t), None, None)
                .await
        })
        .await?;
    let pending = pending_items(&*store.conn()?)?;
    let file = build(server, pending);
    let path = write(Path::new(dir), &file)?;
    Ok(ExportSummary {
        path: path.to_string_lossy().into_owned(),
        schema_version: file.schema_version,
        sections: sections(&file),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use kidplan_api::model::Guardian;

    fn export() -> DataExport {
        DataExport::empty(
            Guardian {
                id: "g1".into(),
                first_name: "Kari".into(),
                last_name: "Nordmann".into(),
                email: None,
                phone: None,
                address: None,
                postal_code: None,
                info: None,
            },
            Timestamp(0),
        )
    }

    #[test]
    fn writes_a_private_pretty_file_named_by_day() {
        let dir = tempfile::tempdir().expect("tmp");
        let f = build(export(), vec![]);
        let p = write(dir.path(), &f).expect("write");
        let name = p.file_name().and_then(|n| n.to_str()).expect("name");
        assert!(name.starts_with("kidplan-export-") && name.ends_with(".json"));
        let text = std::fs::read_to_string(&p).expect("read");
        assert!(
            text.contains("\n  \"format\": \"kidplan-export\""),
            "{text}"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&p).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let s = sections(&f);
        assert_eq!(
            s.iter().find(|x| x.name == "guardian").map(|x| x.count),
            Some(1)
        );
        assert!(matches!(
            write(&dir.path().join("missing"), &f),
            Err(Error::Invalid { field }) if field == "dir"
        ));
    }
}
