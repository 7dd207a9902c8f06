//! The messages nodes exchange: a small subset of Kafka's protocol, with Kafka's names.
//!
//! Requests carry the leader epoch the sender believes in, so stale senders are refused
//! (`FENCED_LEADER_EPOCH`, `NOT_LEADER_OR_FOLLOWER`) exactly where Kafka refuses them.

use serde::Serialize;

use crate::config::Acks;
use crate::ids::{BrokerId, TopicPartition};
use crate::log::{Record, RecordData};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    NotLeaderOrFollower,
    NotEnoughReplicas,
    NotEnoughReplicasAfterAppend,
    RequestTimedOut,
    OutOfOrderSequenceNumber,
    FencedLeaderEpoch,
    UnknownLeaderEpoch,
    OffsetOutOfRange,
    UnknownTopicOrPartition,
    InvalidUpdateVersion,
    IneligibleReplica,
    /// Client-side: the connection broke or the request got no answer in time.
    NetworkException,
}

impl ErrorCode {
    pub fn name(self) -> &'static str {
        match self {
            ErrorCode::NotLeaderOrFollower => "NOT_LEADER_OR_FOLLOWER",
            ErrorCode::NotEnoughReplicas => "NOT_ENOUGH_REPLICAS",
            ErrorCode::NotEnoughReplicasAfterAppend => "NOT_ENOUGH_REPLICAS_AFTER_APPEND",
            ErrorCode::RequestTimedOut => "REQUEST_TIMED_OUT",
            ErrorCode::OutOfOrderSequenceNumber => "OUT_OF_ORDER_SEQUENCE_NUMBER",
            ErrorCode::FencedLeaderEpoch => "FENCED_LEADER_EPOCH",
            ErrorCode::UnknownLeaderEpoch => "UNKNOWN_LEADER_EPOCH",
            ErrorCode::OffsetOutOfRange => "OFFSET_OUT_OF_RANGE",
            ErrorCode::UnknownTopicOrPartition => "UNKNOWN_TOPIC_OR_PARTITION",
            ErrorCode::InvalidUpdateVersion => "INVALID_UPDATE_VERSION",
            ErrorCode::IneligibleReplica => "INELIGIBLE_REPLICA",
            ErrorCode::NetworkException => "NETWORK_EXCEPTION",
        }
    }

    /// Whether Kafka's producer retries this error.
    pub fn is_retriable(self) -> bool {
        !matches!(
            self,
            ErrorCode::OutOfOrderSequenceNumber | ErrorCode::InvalidUpdateVersion
        )
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The controller's record of a partition (KRaft's `PartitionRecord`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PartitionState {
    pub tp: TopicPartition,
    pub replicas: Vec<BrokerId>,
    pub leader: Option<BrokerId>,
    pub leader_epoch: u32,
    pub isr: Vec<BrokerId>,
    pub partition_epoch: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FetchPartition {
    pub tp: TopicPartition,
    pub fetch_offset: u64,
    pub current_leader_epoch: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FetchedPartition {
    pub tp: TopicPartition,
    pub error: Option<ErrorCode>,
    pub high_watermark: u64,
    pub log_end_offset: u64,
    pub records: Vec<Record>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EpochQuery {
    pub tp: TopicPartition,
    pub current_leader_epoch: u32,
    pub leader_epoch: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EpochEndOffset {
    pub tp: TopicPartition,
    pub error: Option<ErrorCode>,
    /// `None` is Kafka's UNDEFINED_EPOCH_OFFSET.
    pub end: Option<(u32, u64)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct IdempotentBatch {
    pub producer_id: u64,
    pub producer_epoch: u16,
    pub base_sequence: u32,
}

/// How the UI colours a message in flight.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    Produce,
    Fetch,
    Response,
    Heartbeat,
    Controller,
    Metadata,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum Message {
    // ---- broker <-> controller ----
    BrokerHeartbeat {
        broker: BrokerId,
        incarnation: u32,
        metadata_version: u64,
    },
    /// Heartbeat answer; also pushed by the controller whenever metadata changes.
    MetadataUpdate {
        metadata_version: u64,
        partitions: Vec<PartitionState>,
        live_brokers: Vec<BrokerId>,
    },
    AlterPartition {
        tp: TopicPartition,
        leader_epoch: u32,
        partition_epoch: u32,
        new_isr: Vec<BrokerId>,
    },
    AlterPartitionResponse {
        tp: TopicPartition,
        error: Option<ErrorCode>,
    },
    ControlledShutdown {
        broker: BrokerId,
    },
    ControlledShutdownResponse,
    // ---- replication and consumption ----
    Fetch {
        replica: Option<BrokerId>,
        correlation: u64,
        max_wait_ms: u64,
        partitions: Vec<FetchPartition>,
    },
    FetchResponse {
        correlation: u64,
        partitions: Vec<FetchedPartition>,
    },
    OffsetsForLeaderEpoch {
        correlation: u64,
        partitions: Vec<EpochQuery>,
    },
    OffsetsForLeaderEpochResponse {
        correlation: u64,
        partitions: Vec<EpochEndOffset>,
    },
    // ---- producer ----
    MetadataRequest {
        correlation: u64,
    },
    MetadataResponse {
        correlation: u64,
        partitions: Vec<(TopicPartition, Option<BrokerId>, u32)>,
    },
    Produce {
        correlation: u64,
        tp: TopicPartition,
        acks: Acks,
        timeout_ms: u64,
        records: Vec<RecordData>,
        idempotent: Option<IdempotentBatch>,
    },
    ProduceResponse {
        correlation: u64,
        tp: TopicPartition,
        error: Option<ErrorCode>,
        base_offset: Option<u64>,
    },
    // ---- transport ----
    /// The peer's process is gone: its operating system reset the connection.
    Disconnected,
}

impl Message {
    pub fn kind(&self) -> MessageKind {
        use Message::*;
        match self {
            BrokerHeartbeat { .. } => MessageKind::Heartbeat,
            MetadataUpdate { .. } | AlterPartition { .. } | AlterPartitionResponse { .. } => {
                MessageKind::Controller
            }
            ControlledShutdown { .. } | ControlledShutdownResponse => MessageKind::Controller,
            Fetch { .. } | OffsetsForLeaderEpoch { .. } => MessageKind::Fetch,
            FetchResponse { .. }
            | OffsetsForLeaderEpochResponse { .. }
            | ProduceResponse { .. } => MessageKind::Response,
            MetadataRequest { .. } | MetadataResponse { .. } => MessageKind::Metadata,
            Produce { .. } => MessageKind::Produce,
            Disconnected => MessageKind::Response,
        }
    }

    /// A short human description for traces: `Produce orders-0 [a-1 a-2]`.
    pub fn summary(&self) -> String {
        use Message::*;
        match self {
            BrokerHeartbeat {
                incarnation,
                metadata_version,
                ..
            } => {
                format!("BrokerHeartbeat incarnation={incarnation} metadata={metadata_version}")
            }
            MetadataUpdate {
                metadata_version,
                partitions,
                ..
            } => {
                format!(
                    "MetadataUpdate v{metadata_version} ({} partitions)",
                    partitions.len()
                )
            }
            AlterPartition { tp, new_isr, .. } => format!("AlterPartition {tp} isr={new_isr:?}"),
            AlterPartitionResponse { tp, error } => {
                format!("AlterPartitionResponse {tp} {}", err(error))
            }
            ControlledShutdown { .. } => "ControlledShutdown".into(),
            ControlledShutdownResponse => "ControlledShutdownResponse".into(),
            Fetch { partitions, .. } => {
                let ps: Vec<String> = partitions
                    .iter()
                    .map(|p| format!("{}@{}", p.tp, p.fetch_offset))
                    .collect();
                format!("Fetch {}", ps.join(" "))
            }
            FetchResponse { partitions, .. } => {
                let ps: Vec<String> = partitions
                    .iter()
                    .map(|p| match p.error {
                        Some(e) => format!("{} {e}", p.tp),
                        None => format!("{} +{} hw={}", p.tp, p.records.len(), p.high_watermark),
                    })
                    .collect();
                format!("FetchResponse {}", ps.join(" "))
            }
            OffsetsForLeaderEpoch { partitions, .. } => {
                let ps: Vec<String> = partitions
                    .iter()
                    .map(|p| format!("{} epoch {}", p.tp, p.leader_epoch))
                    .collect();
                format!("OffsetsForLeaderEpoch {}", ps.join(" "))
            }
            OffsetsForLeaderEpochResponse { partitions, .. } => {
                let ps: Vec<String> = partitions
                    .iter()
                    .map(|p| match (p.error, p.end) {
                        (Some(e), _) => format!("{} {e}", p.tp),
                        (None, Some((e, o))) => format!("{} epoch {e} ends at {o}", p.tp),
                        (None, None) => format!("{} undefined", p.tp),
                    })
                    .collect();
                format!("OffsetsForLeaderEpochResponse {}", ps.join(" "))
            }
            MetadataRequest { .. } => "MetadataRequest".into(),
            MetadataResponse { partitions, .. } => {
                format!("MetadataResponse ({} partitions)", partitions.len())
            }
            Produce { tp, records, .. } => {
                let vs: Vec<&str> = records.iter().map(|r| &*r.value).collect();
                format!("Produce {tp} [{}]", vs.join(" "))
            }
            ProduceResponse {
                tp,
                error,
                base_offset,
                ..
            } => match (error, base_offset) {
                (Some(e), _) => format!("ProduceResponse {tp} {e}"),
                (None, Some(o)) => format!("ProduceResponse {tp} offset {o}"),
                (None, None) => format!("ProduceResponse {tp}"),
            },
            Disconnected => "connection reset".into(),
        }
    }
}

fn err(e: &Option<ErrorCode>) -> &'static str {
    e.map(|e| e.name()).unwrap_or("NONE")
}
