//! End-to-end tests, one test binary (one link instead of one per file): `kidplan-core` against
//! a real `kidplan-server` on 127.0.0.1, with real SQLite files.

mod consent_photos;
mod convergence;
mod crash_loop;
mod erasure;
mod erasure_forgets;
mod export_schema;
mod faults;
mod login_sync;
mod privacy;
mod push;
mod query_plans;
mod reminders;
mod responsibility;
mod rights;
mod secrets_leak;
mod session;
mod telemetry;
mod telemetry_moment;
