//! Kidplan reference server.
