//! Kidplan core.
