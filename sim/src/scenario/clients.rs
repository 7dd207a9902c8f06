//! The clients a scenario declares or a command adds: what a producer or a consumer is
//! before it runs.
//!
//! They have their own module because both a scenario and a [`crate::command::Command`] hold
//! them (`add-producer`, `add-consumer`), and a command must not depend on the scenario that
//! holds it.

use std::sync::Arc;

use serde::Serialize;

use crate::config::{ConsumerConfig, ProducerConfig};
use crate::ids::Millis;
use crate::producer::Workload;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ProducerDef {
    pub name: String,
    pub topic: Arc<str>,
    pub config: ProducerConfig,
    /// `enable.idempotence` after Kafka's defaulting rule.
    pub idempotent: bool,
    pub workload: Workload,
}

/// A consumer: a member of a group (or, without `group`, a consumer that assigns itself every
/// partition of its topics and never commits), the application loop around it, and for a
/// stream processor what it produces.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ConsumerDef {
    pub name: String,
    /// `group.id`.
    pub group: Option<Arc<str>>,
    pub topics: Vec<Arc<str>>,
    pub config: ConsumerConfig,
    pub processing: Processing,
    /// When the application starts polling, and when it calls close() (leaving its group).
    pub start: Millis,
    pub stop: Option<Millis>,
    pub output: Option<StreamOutput>,
}

/// The application's loop: `poll()`, process each record, and commit where `commit` says.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Processing {
    /// Time to process one record, in microseconds (a batch takes the sum, rounded up to ms).
    pub per_record_us: u64,
    pub commit: CommitPoint,
}

impl Default for Processing {
    fn default() -> Self {
        Processing {
            per_record_us: 0,
            commit: CommitPoint::None,
        }
    }
}

/// When the application commits, relative to processing a poll's records.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CommitPoint {
    /// Never by hand (auto-commit, if enabled, still commits).
    None,
    /// Process, then `commitSync()`: at-least-once.
    After,
    /// Process, then `commitAsync()`: at-least-once, without waiting.
    AfterAsync,
    /// `commitSync()`, then process: at-most-once.
    Before,
}

impl CommitPoint {
    pub fn name(self) -> &'static str {
        match self {
            CommitPoint::None => "none",
            CommitPoint::After => "after",
            CommitPoint::AfterAsync => "after-async",
            CommitPoint::Before => "before",
        }
    }

    pub const ALL: [CommitPoint; 4] = [
        CommitPoint::None,
        CommitPoint::After,
        CommitPoint::AfterAsync,
        CommitPoint::Before,
    ];
}

/// What a stream processor produces from what it consumes, with its own producer settings.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StreamOutput {
    pub topic: Arc<str>,
    pub transform: Transform,
    pub config: ProducerConfig,
    /// `enable.idempotence` after Kafka's defaulting rule.
    pub idempotent: bool,
    /// Kafka Streams' `processing.guarantee`.
    pub guarantee: ProcessingGuarantee,
}

/// Kafka Streams' `processing.guarantee`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProcessingGuarantee {
    /// Outputs are produced, then the input offsets committed: a crash between the two
    /// processes the same input again and produces its outputs twice.
    #[default]
    AtLeastOnce,
    /// Each poll's outputs and its input offsets commit in one transaction (KIP-447): a
    /// crash aborts both, and read_committed readers never see the aborted outputs.
    ExactlyOnceV2,
}

impl ProcessingGuarantee {
    pub fn name(self) -> &'static str {
        match self {
            ProcessingGuarantee::AtLeastOnce => "at_least_once",
            ProcessingGuarantee::ExactlyOnceV2 => "exactly_once_v2",
        }
    }
}

/// The stateful computation of a stream processor.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum Transform {
    /// Per key, count the records of each tumbling window of record time (a feature such as
    /// "requests per user per second"); when a later record closes a window, score the count
    /// with a threshold model and produce `key@window count=N score=high|normal`.
    WindowedCount { window_ms: Millis, threshold: u64 },
    /// Stateless: each input record becomes one output record `f(value)` with the same key
    /// (an enrichment or a per-event model score), so every input's output can be followed.
    Enrich,
}
