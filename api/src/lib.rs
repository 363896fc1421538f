//! Kidplan wire contract.
