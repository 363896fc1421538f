//! The server's HTTP tests, one test binary (one link instead of one per file): every request
//! is real HTTP to a seeded `kidplan-server` on 127.0.0.1.

mod common;
mod fakes;

mod auth;
mod authorization;
mod bad_input;
mod commands;
mod compression;
mod enumeration;
mod erasure;
mod faults;
mod files;
mod hostile;
mod lifecycle;
mod mail_providers;
mod pictures;
mod provider_config;
mod push;
mod push_providers;
mod reminders;
mod responsibility;
mod retention;
mod roles;
mod staff_info;
mod sync;
mod telemetry;
mod telemetry_tokens;
