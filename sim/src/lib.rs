//! Kafkascope's simulation core: a deterministic Kafka cluster.
//!
//! Brokers ([`broker`]), the controller ([`controller`]), producers ([`producer`]), consumers
//! ([`consumer`]) and the checking reader ([`reader`]) are sans-IO state machines: a message or the passage of time
//! in, [`effects::Effects`] out. [`host`] runs them as madsim nodes over the simulated
//! [`network`], applies [`command`]s (faults), and records the [`trace`] that everything else
//! ([`checkers`], [`report`], the CLI, the UI) reads. See ARCHITECTURE.md.

pub mod broker;
pub mod checkers;
pub mod command;
pub mod config;
pub mod connection;
pub mod consumer;
pub mod controller;
pub mod effects;
pub mod host;
pub mod ids;
pub mod library;
pub mod located;
pub mod log;
pub mod metrics;
pub mod network;
pub mod payload;
pub mod producer;
pub mod protocol;
pub mod reader;
pub mod replay;
pub mod report;
pub mod scenario;
pub mod trace;
