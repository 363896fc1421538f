//! The account's push registration as the device keeps it (local state): the provider, the
//! token, whether the server has confirmed it, and the day it was last sent (table
//! `push_registration`; the registration id and secret live in the secret store, see
//! `crate::push`).

use crate::error::Result;
use kidplan_api::Day;
use kidplan_api::push::PushProvider;
use rusqlite::{Connection, OptionalExtension, params};

/// Days after which sync sends an unchanged registration again (the server drops
/// registrations unseen for 60 days).
pub const HEARTBEAT_DAYS: i64 = 7;

/// The account's registration as the device keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Registration {
    /// Who delivers the pushes (FCM or APNs).
    pub provider: PushProvider,
    /// The provider's token for this device.
    pub token: String,
    /// Not yet confirmed by the server.
    pub pending: bool,
    /// The day the server last confirmed it.
    pub last_sent_day: Option<Day>,
}

fn provider_str(p: PushProvider) -> &'static str {
    match p {
        PushProvider::Fcm => "fcm",
        PushProvider::Apns => "apns",
        PushProvider::Unknown => "unknown",
    }
}

fn provider_from(s: &str) -> PushProvider {
    match s {
        "fcm" => PushProvider::Fcm,
        "apns" => PushProvider::Apns,
        _ => PushProvider::Unknown,
    }
}

/// The stored registration, if the account has one.
pub fn load(c: &Connection) -> Result<Option<Registration>> {
    let row = c
        .query_row(
            "SELECT provider, token, pending, last_sent_day FROM push_registration WHERE slot = 1",
            [],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, bool>(2)?,
                    r.get::<_, Option<String>>(3)?,
                ))
            },
        )
        .optional()?;
    Ok(row.map(|(p, token, pending, day)| Registration {
        provider: provider_from(&p),
        token,
        pending,
        last_sent_day: day.and_then(|d| d.parse().ok()),
    }))
}

/// Stores the registration (one per account).
pub fn save(c: &Connection, r: &Registration) -> Result<()> {
    c.execute(
        "INSERT INTO push_registration (slot, provider, token, pending, last_sent_day)
         VALUES (1, ?1, ?2, ?3, ?4)
         ON CONFLICT (slot) DO UPDATE SET provider = excluded.provider, token = excluded.token,
           pending = excluded.pending, last_sent_day = excluded.last_sent_day",
        params![
            provider_str(r.provider),
            r.token,
            r.pending,
            r.last_sent_day.map(|d| d.to_string())
        ],
    )?;
    Ok(())
}

/// Forgets the registration (a token the server refused).
pub fn clear(c: &Connection) -> Result<()> {
    c.execute("DELETE FROM push_registration", [])?;
    Ok(())
}

/// Whether a confirmed registration is due for its heartbeat on `today`.
pub fn heartbeat_due(r: &Registration, today: Day) -> bool {
    match r.last_sent_day {
        Some(d) => (today.0 - d.0).num_days() >= HEARTBEAT_DAYS || d > today,
        None => true,
    }
}
