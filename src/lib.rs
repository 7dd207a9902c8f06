//! The `kafkascope` command line: run scenarios, validate them, list what ships.
//!
//! Kept as a library so integration tests (and later the UI) use the same scenario library
//! and the same code paths as the binary.

pub mod cli;
pub mod explore;
pub use kafkascope_sim::library;
