//! The local-state layer: everything the core keeps on this device, and the rules for
//! changing it, with no network I/O and no knowledge of the facade's shared state (it never
//! imports a service or the orchestrator; `tests::layers` checks that).
//!
//! - [`store`]: the encrypted per-account SQLite database, its migrations and metadata;
//! - [`cache`]: the entity tables (the parent's view), upserts and tombstones with cascades;
//! - [`shadow`]: the server's versions held back while the parent's actions are pending;
//! - [`outbox`]: the durable queue of the parent's actions and how each one ends;
//! - [`apply`]: applying a sync page (and its cursor) in one transaction;
//! - [`actions`]: validating an action and writing its view and its outbox row;
//! - [`reads`]: the screens' queries;
//! - [`file_index`]: the photo and document cache on disk;
//! - [`registration`]: the account's push registration state;
//! - [`reminders`]: reminder settings, the reminders due soon, and those already shown;
//! - [`notify`] and [`alerts`]: the push payload, and the notification a push turns into.

pub mod actions;
pub mod alerts;
pub mod apply;
pub mod cache;
pub mod file_index;
pub mod notify;
pub mod outbox;
pub mod reads;
pub mod registration;
pub mod reminders;
pub mod shadow;
pub mod store;

#[cfg(test)]
mod tests;
