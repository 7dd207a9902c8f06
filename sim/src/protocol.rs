//! The messages nodes exchange: a small subset of Kafka's protocol, with Kafka's names.
//!
//! Requests carry the leader epoch the sender believes in, so stale senders are refused
//! (`FENCED_LEADER_EPOCH`, `NOT_LEADER_OR_FOLLOWER`) exactly where Kafka refuses them.

use serde::{Deserialize, Serialize};

use std::sync::Arc;

use crate::config::{Acks, Assignor, IsolationLevel};
use crate::ids::{BrokerId, TopicPartition};
use crate::log::{Record, RecordData};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
    /// KIP-207: a new leader's HW has not yet reached the start of its epoch, so it cannot
    /// say where the log ends without going backwards: ask again.
    OffsetNotAvailable,
    /// A request from an earlier incarnation of a broker (its broker epoch is not current).
    StaleBrokerEpoch,
    /// Another incarnation of this broker still has a live session (KRaft registration).
    DuplicateBrokerRegistration,
    /// The receiver is not (or no longer) the controller, or the request is ahead of it.
    NotController,
    /// A malformed request (an AlterPartition from a broker that does not lead).
    InvalidRequest,
    // ---- consumer groups ----
    /// No broker leads the group's `__consumer_offsets` partition (or it is still loading).
    CoordinatorNotAvailable,
    /// This broker does not (or no longer) coordinate the group: look it up again.
    NotCoordinator,
    /// A JoinGroup/SyncGroup/Heartbeat/OffsetCommit from an older generation of the group.
    IllegalGeneration,
    /// The coordinator does not know this member (it was removed, or the coordinator moved).
    UnknownMemberId,
    /// The group is rebalancing: rejoin (and, from a heartbeat, give up partitions first).
    RebalanceInProgress,
    /// Client-side: the connection broke or the request got no answer in time.
    NetworkException,
    // ---- transactions ----
    /// A transactional write or marker with an epoch older than the partition (or
    /// coordinator) has seen for this producer id.
    InvalidProducerEpoch,
    /// A newer producer with the same `transactional.id` has initialised (or the coordinator
    /// aborted this producer's timed-out transaction and bumped its epoch): fatal.
    ProducerFenced,
    /// The coordinator is still completing the previous transaction: retry.
    ConcurrentTransactions,
    /// The request does not fit the transaction's state (a commit of a transaction that was
    /// aborted, a write to a partition not in the transaction).
    InvalidTxnState,
    /// The producer id is not the one the coordinator has for this `transactional.id`.
    InvalidProducerIdMapping,
    /// `transaction.timeout.ms` above the broker's `transaction.max.timeout.ms`.
    InvalidTransactionTimeout,
    /// OffsetFetch with `require_stable` (a read_committed consumer, KIP-447) while a
    /// transaction has offsets for the partition pending: retry once it ends.
    UnstableOffsetCommit,
    /// Kafka's code 120 (KIP-890, 3.8+; KIP-1050's "abortable" class): the transaction cannot
    /// go on, but the producer is not fenced: it aborts the transaction and begins a new one
    /// with the same `transactional.id`. The coordinator answers it to a KIP-890 verification
    /// of a partition not in the ongoing transaction.
    TransactionAbortable,
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
            ErrorCode::OffsetNotAvailable => "OFFSET_NOT_AVAILABLE",
            ErrorCode::StaleBrokerEpoch => "STALE_BROKER_EPOCH",
            ErrorCode::DuplicateBrokerRegistration => "DUPLICATE_BROKER_REGISTRATION",
            ErrorCode::NotController => "NOT_CONTROLLER",
            ErrorCode::InvalidRequest => "INVALID_REQUEST",
            ErrorCode::CoordinatorNotAvailable => "COORDINATOR_NOT_AVAILABLE",
            ErrorCode::NotCoordinator => "NOT_COORDINATOR",
            ErrorCode::IllegalGeneration => "ILLEGAL_GENERATION",
            ErrorCode::UnknownMemberId => "UNKNOWN_MEMBER_ID",
            ErrorCode::RebalanceInProgress => "REBALANCE_IN_PROGRESS",
            ErrorCode::NetworkException => "NETWORK_EXCEPTION",
            ErrorCode::InvalidProducerEpoch => "INVALID_PRODUCER_EPOCH",
            ErrorCode::ProducerFenced => "PRODUCER_FENCED",
            ErrorCode::ConcurrentTransactions => "CONCURRENT_TRANSACTIONS",
            ErrorCode::InvalidTxnState => "INVALID_TXN_STATE",
            ErrorCode::InvalidProducerIdMapping => "INVALID_PRODUCER_ID_MAPPING",
            ErrorCode::InvalidTransactionTimeout => "INVALID_TRANSACTION_TIMEOUT",
            ErrorCode::UnstableOffsetCommit => "UNSTABLE_OFFSET_COMMIT",
            ErrorCode::TransactionAbortable => "TRANSACTION_ABORTABLE",
        }
    }

    /// Whether Kafka's producer retries this error.
    pub fn is_retriable(self) -> bool {
        !matches!(
            self,
            ErrorCode::OutOfOrderSequenceNumber
                | ErrorCode::InvalidUpdateVersion
                | ErrorCode::InvalidProducerEpoch
                | ErrorCode::ProducerFenced
                | ErrorCode::InvalidTxnState
                | ErrorCode::InvalidProducerIdMapping
                | ErrorCode::InvalidTransactionTimeout
                | ErrorCode::TransactionAbortable
        )
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The controller's record of a partition (KRaft's `PartitionRecord`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionState {
    pub tp: TopicPartition,
    pub replicas: Vec<BrokerId>,
    pub leader: Option<BrokerId>,
    pub leader_epoch: u32,
    pub isr: Vec<BrokerId>,
    pub partition_epoch: u32,
    /// Eligible Leader Replicas (KIP-966): replicas that left the ISR while it was below
    /// `min.insync.replicas`, so (with the strict min ISR rule) they hold every committed record
    /// and may lead when the ISR is empty. Always empty with `eligible.leader.replicas.version=0`.
    pub elr: Vec<BrokerId>,
}

impl PartitionState {
    /// What a client routes by: the partition, its leader and the leader's epoch.
    pub fn route(&self) -> (TopicPartition, Option<BrokerId>, u32) {
        (self.tp.clone(), self.leader, self.leader_epoch)
    }

    /// A partition led by `leader` alone, for state machines' unit tests.
    #[cfg(test)]
    pub(crate) fn led_by(tp: TopicPartition, leader: Option<BrokerId>, leader_epoch: u32) -> Self {
        let replicas: Vec<BrokerId> = leader.into_iter().collect();
        PartitionState {
            tp,
            isr: replicas.clone(),
            replicas,
            leader,
            leader_epoch,
            partition_epoch: 0,
            elr: Vec::new(),
        }
    }
}

/// A broker as the metadata image shows it (KRaft's `BrokerRegistration`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerInfo {
    pub id: BrokerId,
    /// The epoch of its current registration: new at every start of its process.
    pub epoch: u64,
    pub fenced: bool,
    pub in_controlled_shutdown: bool,
}

/// Who sends a follower fetch (Kafka's `ReplicaState`: replica id and broker epoch, KIP-903).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicaState {
    pub id: BrokerId,
    /// `None` where epochs are not checked (the ZooKeeper-era model: Kafka's -1).
    pub broker_epoch: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FetchPartition {
    pub tp: TopicPartition,
    pub fetch_offset: u64,
    /// The leader epoch the sender believes in (KIP-320); `None` is Kafka's -1, sent by
    /// clients that do not track epochs: the broker then skips the check.
    pub current_leader_epoch: Option<u32>,
    /// KIP-595's `LastFetchedEpoch` (Fetch v12+): the epoch of the last record the follower
    /// has, which the leader checks against its own epochs before reading (truncation on
    /// fetch, Kafka 2.7+). `None` is Kafka's -1: consumers, and followers of older Kafka.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_fetched_epoch: Option<u32>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FetchedPartition {
    pub tp: TopicPartition,
    pub error: Option<ErrorCode>,
    pub high_watermark: u64,
    pub log_end_offset: u64,
    /// The leader's log start offset: followers move theirs up to it, and consumers learn
    /// where the log now begins.
    #[serde(default)]
    pub log_start_offset: u64,
    pub records: Vec<Record>,
    /// The last stable offset (KIP-98): no open transaction starts below it. A
    /// `read_committed` fetch gets records only below it.
    #[serde(default)]
    pub last_stable_offset: u64,
    /// For a `read_committed` fetch: the aborted transactions that overlap the records
    /// returned (Kafka's `AbortedTransaction`: producer id and first offset), so the consumer
    /// can skip their records.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aborted: Vec<AbortedTxn>,
    /// KIP-595's `DivergingEpoch` `(epoch, end offset)`: the fetch's `last_fetched_epoch` and
    /// offset are not a prefix of the leader's log. The largest epoch `<=` the follower's that
    /// the leader has, and where it ends there; no records come with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diverging_epoch: Option<(u32, u64)>,
}

/// One aborted transaction in a fetch response.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AbortedTxn {
    pub producer_id: u64,
    pub first_offset: u64,
}

/// A transaction's state at its coordinator (Kafka's `TransactionState`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TxnState {
    /// A producer id is assigned; no transaction has started.
    Empty,
    Ongoing,
    /// The decision is durable; markers are being written.
    PrepareCommit,
    PrepareAbort,
    /// Every partition has its marker.
    CompleteCommit,
    CompleteAbort,
}

impl TxnState {
    pub fn name(self) -> &'static str {
        match self {
            TxnState::Empty => "Empty",
            TxnState::Ongoing => "Ongoing",
            TxnState::PrepareCommit => "PrepareCommit",
            TxnState::PrepareAbort => "PrepareAbort",
            TxnState::CompleteCommit => "CompleteCommit",
            TxnState::CompleteAbort => "CompleteAbort",
        }
    }
}

/// What FindCoordinator looks for (Kafka's `CoordinatorType`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CoordinatorType {
    /// A group's coordinator: the leader of its `__consumer_offsets` partition.
    #[default]
    Group,
    /// A `transactional.id`'s coordinator: the leader of its `__transaction_state` partition.
    Transaction,
}

/// The transaction markers the coordinator asks one partition leader to write (Kafka's
/// `WritableTxnMarker`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TxnMarker {
    pub producer_id: u64,
    pub producer_epoch: u16,
    pub commit: bool,
    pub partitions: Vec<TopicPartition>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochQuery {
    pub tp: TopicPartition,
    /// As in [`FetchPartition`]: `None` skips the check.
    pub current_leader_epoch: Option<u32>,
    pub leader_epoch: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochEndOffset {
    pub tp: TopicPartition,
    pub error: Option<ErrorCode>,
    /// `None` is Kafka's UNDEFINED_EPOCH_OFFSET.
    pub end: Option<(u32, u64)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdempotentBatch {
    pub producer_id: u64,
    pub producer_epoch: u16,
    pub base_sequence: u32,
}

/// What a member tells the group leader in JoinGroup (the consumer protocol's `Subscription`):
/// its topics and, for cooperative rebalancing (KIP-429), the partitions it owns now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscription {
    pub topics: Vec<Arc<str>>,
    pub owned: Vec<TopicPartition>,
}

/// One member of a generation, as the leader's JoinGroup response lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinedMember {
    pub member_id: Arc<str>,
    pub subscription: Subscription,
}

/// A committed position: the next offset to read and the leader epoch of the record before it
/// (KIP-320), as Kafka's `OffsetAndMetadata` holds them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OffsetAndEpoch {
    pub tp: TopicPartition,
    pub offset: u64,
    pub leader_epoch: Option<u32>,
}

/// `ListOffsets`' timestamp argument: the log start or the end (the HW, for consumers).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OffsetSpec {
    Earliest,
    Latest,
}

/// How the UI colours a message in flight.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    Produce,
    Fetch,
    Response,
    Heartbeat,
    Controller,
    Metadata,
    /// Consumer-group coordination: FindCoordinator, JoinGroup, SyncGroup, Heartbeat,
    /// LeaveGroup, OffsetCommit, OffsetFetch.
    Group,
    /// Transactions: AddPartitionsToTxn, EndTxn, WriteTxnMarkers and their answers.
    Transaction,
}

/// The leader answers once `min_bytes` are readable (`fetch.min.bytes`; followers ask for 1),
/// or when `max_wait_ms` has passed, or at once on an error.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FetchRequest {
    pub replica: Option<ReplicaState>,
    pub correlation: u64,
    pub max_wait_ms: u64,
    pub min_bytes: u64,
    pub partitions: Vec<FetchPartition>,
    /// `isolation.level`: followers and `read_uncommitted` consumers read to the HW,
    /// `read_committed` consumers to the last stable offset.
    #[serde(default)]
    pub isolation: IsolationLevel,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProduceRequest {
    pub correlation: u64,
    pub tp: TopicPartition,
    pub acks: Acks,
    pub timeout_ms: u64,
    pub records: Vec<RecordData>,
    pub idempotent: Option<IdempotentBatch>,
    /// The producer's `transactional.id`: its records belong to its ongoing transaction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transactional_id: Option<Arc<str>>,
}

/// `member_id: None` on a member's first join: the coordinator assigns one (Kafka first
/// answers MEMBER_ID_REQUIRED and expects a second join; the simulator skips that round).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JoinGroupRequest {
    pub correlation: u64,
    pub group: Arc<str>,
    pub member_id: Option<Arc<str>>,
    pub session_timeout_ms: u64,
    pub rebalance_timeout_ms: u64,
    pub protocol: Assignor,
    pub subscription: Subscription,
}

/// Sent to every member when the join phase ends; only the leader gets `members`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JoinGroupResponse {
    pub correlation: u64,
    pub error: Option<ErrorCode>,
    pub generation: u32,
    pub protocol: Option<Assignor>,
    pub leader: Option<Arc<str>>,
    pub member_id: Option<Arc<str>>,
    pub members: Vec<JoinedMember>,
}

/// The leader sends the assignment it computed; followers send an empty one and wait.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SyncGroupRequest {
    pub correlation: u64,
    pub group: Arc<str>,
    pub generation: u32,
    pub member_id: Arc<str>,
    pub assignments: Vec<(Arc<str>, Vec<TopicPartition>)>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Message {
    // ---- broker <-> controller ----
    /// Every start of a broker process registers a new incarnation (KRaft's
    /// `BrokerRegistration`); `clean_shutdown` says whether the previous one shut down cleanly
    /// (KIP-966's `PreviousBrokerEpoch`).
    BrokerRegistration {
        broker: BrokerId,
        incarnation: u32,
        clean_shutdown: bool,
    },
    /// The new broker epoch, or why not (DUPLICATE_BROKER_REGISTRATION while the previous
    /// incarnation's session is still valid).
    BrokerRegistrationResponse {
        incarnation: u32,
        result: Result<u64, ErrorCode>,
    },
    BrokerHeartbeat {
        broker: BrokerId,
        broker_epoch: u64,
        metadata_version: u64,
    },
    /// Heartbeat answer; also pushed by the controller whenever metadata changes.
    MetadataUpdate {
        metadata_version: u64,
        partitions: Vec<PartitionState>,
        brokers: Vec<BrokerInfo>,
    },
    /// A leader's ISR change (KIP-497): its own broker epoch, the epochs it believes in, and
    /// the proposed ISR with each member's broker epoch as its fetches carried it (KIP-903).
    /// `request` identifies the proposal, so a late answer to an older one is ignored.
    AlterPartition {
        tp: TopicPartition,
        request: u64,
        broker_epoch: Option<u64>,
        leader_epoch: u32,
        partition_epoch: u32,
        new_isr: Vec<(BrokerId, Option<u64>)>,
    },
    /// The partition as the controller now has it, or the error.
    AlterPartitionResponse {
        tp: TopicPartition,
        request: u64,
        result: Result<PartitionState, ErrorCode>,
    },
    ControlledShutdown {
        broker: BrokerId,
    },
    ControlledShutdownResponse,
    // ---- replication and consumption ----
    Fetch(FetchRequest),
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
    /// The broker's metadata cache: every partition as the controller last told it, and the
    /// brokers a client may connect to (registered and not fenced).
    MetadataResponse {
        correlation: u64,
        partitions: Vec<PartitionState>,
        brokers: Vec<BrokerId>,
    },
    Produce(ProduceRequest),
    /// A producer asks for an id: without a `transactional.id` any broker hands one out (simulated
    /// idempotent producers are given theirs at start); with one, the id's transaction
    /// coordinator answers with the id kept for it and a bumped epoch, which fences older
    /// producers with the same `transactional.id` and aborts their open transaction.
    InitProducerId {
        correlation: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        transactional_id: Option<Arc<str>>,
        #[serde(default)]
        transaction_timeout_ms: u64,
    },
    InitProducerIdResponse {
        correlation: u64,
        result: Result<(u64, u16), ErrorCode>,
    },
    ProduceResponse {
        correlation: u64,
        tp: TopicPartition,
        error: Option<ErrorCode>,
        base_offset: Option<u64>,
    },
    ListOffsets {
        correlation: u64,
        /// Each partition with the sender's current leader epoch (`None`: not checked).
        partitions: Vec<(TopicPartition, Option<u32>, OffsetSpec)>,
    },
    /// Per partition: the error, or the offset (0 for earliest: no retention is modelled; the
    /// HW for latest).
    ListOffsetsResponse {
        correlation: u64,
        partitions: Vec<(TopicPartition, Result<u64, ErrorCode>)>,
    },
    // ---- consumer groups (a client and its group's coordinator) ----
    /// Any broker answers from its metadata cache: the leader of `__consumer_offsets`
    /// partition `group_partition(group)`.
    FindCoordinator {
        correlation: u64,
        /// The key: a group id, or a `transactional.id` when `key_type` says so.
        group: Arc<str>,
        #[serde(default)]
        key_type: CoordinatorType,
    },
    FindCoordinatorResponse {
        correlation: u64,
        error: Option<ErrorCode>,
        coordinator: Option<BrokerId>,
    },
    JoinGroup(JoinGroupRequest),
    JoinGroupResponse(JoinGroupResponse),
    SyncGroup(SyncGroupRequest),
    SyncGroupResponse {
        correlation: u64,
        error: Option<ErrorCode>,
        assignment: Vec<TopicPartition>,
    },
    Heartbeat {
        correlation: u64,
        group: Arc<str>,
        generation: u32,
        member_id: Arc<str>,
    },
    HeartbeatResponse {
        correlation: u64,
        error: Option<ErrorCode>,
    },
    LeaveGroup {
        correlation: u64,
        group: Arc<str>,
        member_id: Arc<str>,
        reason: String,
    },
    LeaveGroupResponse {
        correlation: u64,
        error: Option<ErrorCode>,
    },
    /// `generation`/`member_id` are `None` for a consumer outside group management
    /// (Kafka's generation -1), which the coordinator accepts only for an empty group.
    OffsetCommit {
        correlation: u64,
        group: Arc<str>,
        generation: Option<u32>,
        member_id: Option<Arc<str>>,
        offsets: Vec<OffsetAndEpoch>,
    },
    /// Answered once the commit's record in `__consumer_offsets` is below the HW
    /// (`offsets.commit.required.acks` = -1), or with the error that refused it.
    OffsetCommitResponse {
        correlation: u64,
        error: Option<ErrorCode>,
    },
    OffsetFetch {
        correlation: u64,
        group: Arc<str>,
        /// `None` asks for every partition the group has an offset for (Kafka's null topic
        /// list, which admin tools send).
        partitions: Option<Vec<TopicPartition>>,
        /// KIP-447: a read_committed consumer asks only for offsets no open transaction is
        /// about to change (UNSTABLE_OFFSET_COMMIT otherwise).
        #[serde(default)]
        require_stable: bool,
    },
    /// The committed positions of the requested partitions that have one.
    OffsetFetchResponse {
        correlation: u64,
        error: Option<ErrorCode>,
        offsets: Vec<OffsetAndEpoch>,
    },
    // ---- transactions ----
    /// Adds partitions to the producer's transaction. From a client (transaction.version < 2,
    /// before its first write to each partition); from a partition leader, for the producer,
    /// when a transactional write arrives for a partition not yet in an ongoing transaction:
    /// `verify_only` asks only whether it is (KIP-890 part 1), otherwise the coordinator adds
    /// it (KIP-890 part 2's implicit add).
    AddPartitionsToTxn {
        correlation: u64,
        transactional_id: Arc<str>,
        producer_id: u64,
        producer_epoch: u16,
        partitions: Vec<TopicPartition>,
        verify_only: bool,
    },
    AddPartitionsToTxnResponse {
        correlation: u64,
        error: Option<ErrorCode>,
    },
    /// `sendOffsetsToTransaction`, first step: the group's `__consumer_offsets` partition joins
    /// the transaction.
    AddOffsetsToTxn {
        correlation: u64,
        transactional_id: Arc<str>,
        producer_id: u64,
        producer_epoch: u16,
        group: Arc<str>,
    },
    AddOffsetsToTxnResponse {
        correlation: u64,
        error: Option<ErrorCode>,
    },
    /// `sendOffsetsToTransaction`, second step, to the group's coordinator: the offsets are
    /// written with the producer's id and become the group's committed offsets only when the
    /// transaction's COMMIT marker reaches that partition. The member's generation lets the
    /// coordinator fence a zombie that the group has moved on from (KIP-447).
    TxnOffsetCommit {
        correlation: u64,
        transactional_id: Arc<str>,
        group: Arc<str>,
        producer_id: u64,
        producer_epoch: u16,
        generation: Option<u32>,
        member_id: Option<Arc<str>>,
        offsets: Vec<OffsetAndEpoch>,
    },
    TxnOffsetCommitResponse {
        correlation: u64,
        error: Option<ErrorCode>,
    },
    /// `commitTransaction`/`abortTransaction`.
    EndTxn {
        correlation: u64,
        transactional_id: Arc<str>,
        producer_id: u64,
        producer_epoch: u16,
        commit: bool,
    },
    /// Answered once the coordinator's PrepareCommit/PrepareAbort is durable; with
    /// transaction.version 2, with the producer's new epoch.
    EndTxnResponse {
        correlation: u64,
        error: Option<ErrorCode>,
        producer_epoch: Option<u16>,
    },
    /// The coordinator to a partition leader: append these markers.
    WriteTxnMarkers {
        correlation: u64,
        markers: Vec<TxnMarker>,
    },
    /// Per partition: written (below the HW), or the error.
    WriteTxnMarkersResponse {
        correlation: u64,
        results: Vec<(u64, TopicPartition, Option<ErrorCode>)>,
    },
    // ---- transport ----
    /// The peer's process is gone: its operating system reset the connection.
    Disconnected,
}

impl Message {
    /// The correlation id that pairs a request with its response (`None` for the messages
    /// between brokers and the controller, which are matched otherwise).
    pub fn correlation(&self) -> Option<u64> {
        use Message::*;
        match self {
            Fetch(FetchRequest { correlation, .. })
            | FetchResponse { correlation, .. }
            | OffsetsForLeaderEpoch { correlation, .. }
            | OffsetsForLeaderEpochResponse { correlation, .. }
            | MetadataRequest { correlation }
            | MetadataResponse { correlation, .. }
            | Produce(ProduceRequest { correlation, .. })
            | InitProducerId { correlation, .. }
            | InitProducerIdResponse { correlation, .. }
            | ProduceResponse { correlation, .. }
            | ListOffsets { correlation, .. }
            | ListOffsetsResponse { correlation, .. }
            | FindCoordinator { correlation, .. }
            | FindCoordinatorResponse { correlation, .. }
            | JoinGroup(JoinGroupRequest { correlation, .. })
            | JoinGroupResponse(self::JoinGroupResponse { correlation, .. })
            | SyncGroup(SyncGroupRequest { correlation, .. })
            | SyncGroupResponse { correlation, .. }
            | Heartbeat { correlation, .. }
            | HeartbeatResponse { correlation, .. }
            | LeaveGroup { correlation, .. }
            | LeaveGroupResponse { correlation, .. }
            | OffsetCommit { correlation, .. }
            | OffsetCommitResponse { correlation, .. }
            | OffsetFetch { correlation, .. }
            | OffsetFetchResponse { correlation, .. }
            | AddPartitionsToTxn { correlation, .. }
            | AddOffsetsToTxn { correlation, .. }
            | AddOffsetsToTxnResponse { correlation, .. }
            | TxnOffsetCommit { correlation, .. }
            | TxnOffsetCommitResponse { correlation, .. }
            | AddPartitionsToTxnResponse { correlation, .. }
            | EndTxn { correlation, .. }
            | EndTxnResponse { correlation, .. }
            | WriteTxnMarkers { correlation, .. }
            | WriteTxnMarkersResponse { correlation, .. } => Some(*correlation),
            BrokerRegistration { .. }
            | BrokerRegistrationResponse { .. }
            | BrokerHeartbeat { .. }
            | MetadataUpdate { .. }
            | AlterPartition { .. }
            | AlterPartitionResponse { .. }
            | ControlledShutdown { .. }
            | ControlledShutdownResponse
            | Disconnected => None,
        }
    }

    /// Whether the receiver answers: every request does, except a produce with `acks=0`.
    pub fn expects_response(&self) -> bool {
        match self {
            Message::Produce(p) => p.acks != Acks::None,
            m => m.correlation().is_some(),
        }
    }

    pub fn kind(&self) -> MessageKind {
        use Message::*;
        match self {
            BrokerHeartbeat { .. }
            | BrokerRegistration { .. }
            | BrokerRegistrationResponse { .. } => MessageKind::Heartbeat,
            MetadataUpdate { .. } | AlterPartition { .. } | AlterPartitionResponse { .. } => {
                MessageKind::Controller
            }
            ControlledShutdown { .. } | ControlledShutdownResponse => MessageKind::Controller,
            Fetch(_) | OffsetsForLeaderEpoch { .. } => MessageKind::Fetch,
            FetchResponse { .. }
            | OffsetsForLeaderEpochResponse { .. }
            | ProduceResponse { .. } => MessageKind::Response,
            MetadataRequest { .. } | MetadataResponse { .. } => MessageKind::Metadata,
            InitProducerId { .. } => MessageKind::Produce,
            InitProducerIdResponse { .. } => MessageKind::Response,
            Produce(_) => MessageKind::Produce,
            ListOffsets { .. } => MessageKind::Fetch,
            ListOffsetsResponse { .. } => MessageKind::Response,
            FindCoordinator { .. }
            | FindCoordinatorResponse { .. }
            | JoinGroup(_)
            | JoinGroupResponse(_)
            | SyncGroup(_)
            | SyncGroupResponse { .. }
            | Heartbeat { .. }
            | HeartbeatResponse { .. }
            | LeaveGroup { .. }
            | LeaveGroupResponse { .. }
            | OffsetCommit { .. }
            | OffsetCommitResponse { .. }
            | OffsetFetch { .. }
            | OffsetFetchResponse { .. } => MessageKind::Group,
            AddPartitionsToTxn { .. }
            | AddPartitionsToTxnResponse { .. }
            | AddOffsetsToTxn { .. }
            | AddOffsetsToTxnResponse { .. }
            | TxnOffsetCommit { .. }
            | TxnOffsetCommitResponse { .. }
            | EndTxn { .. }
            | EndTxnResponse { .. }
            | WriteTxnMarkers { .. }
            | WriteTxnMarkersResponse { .. } => MessageKind::Transaction,
            Disconnected => MessageKind::Response,
        }
    }

    /// A short human description for traces: `Produce orders-0 [a-1 a-2]`.
    pub fn summary(&self) -> String {
        use Message::*;
        match self {
            BrokerRegistration {
                incarnation,
                clean_shutdown,
                ..
            } => format!(
                "BrokerRegistration incarnation={incarnation}{}",
                if *clean_shutdown {
                    ""
                } else {
                    " after an unclean shutdown"
                }
            ),
            BrokerRegistrationResponse { result, .. } => match result {
                Ok(e) => format!("BrokerRegistrationResponse epoch={e}"),
                Err(e) => format!("BrokerRegistrationResponse {e}"),
            },
            BrokerHeartbeat {
                broker_epoch,
                metadata_version,
                ..
            } => {
                format!("BrokerHeartbeat epoch={broker_epoch} metadata={metadata_version}")
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
            AlterPartition { tp, new_isr, .. } => {
                let isr: Vec<BrokerId> = new_isr.iter().map(|m| m.0).collect();
                format!("AlterPartition {tp} isr={isr:?}")
            }
            AlterPartitionResponse { tp, result, .. } => match result {
                Ok(st) => format!(
                    "AlterPartitionResponse {tp} isr={:?} partition_epoch={}",
                    st.isr, st.partition_epoch
                ),
                Err(e) => format!("AlterPartitionResponse {tp} {e}"),
            },
            ControlledShutdown { .. } => "ControlledShutdown".into(),
            ControlledShutdownResponse => "ControlledShutdownResponse".into(),
            Fetch(FetchRequest { partitions, .. }) => {
                let ps: Vec<String> = partitions
                    .iter()
                    .map(|p| match p.last_fetched_epoch {
                        Some(e) => format!("{}@{} last_fetched_epoch={e}", p.tp, p.fetch_offset),
                        None => format!("{}@{}", p.tp, p.fetch_offset),
                    })
                    .collect();
                format!("Fetch {}", ps.join(" "))
            }
            FetchResponse { partitions, .. } => {
                let ps: Vec<String> = partitions
                    .iter()
                    .map(|p| match (p.error, p.diverging_epoch) {
                        (Some(e), _) => format!("{} {e}", p.tp),
                        (None, Some((e, o))) => {
                            format!("{} diverging: epoch {e} ends at {o}", p.tp)
                        }
                        (None, None) => {
                            format!("{} +{} hw={}", p.tp, p.records.len(), p.high_watermark)
                        }
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
            InitProducerId {
                transactional_id, ..
            } => match transactional_id {
                Some(t) => format!("InitProducerId {t}"),
                None => "InitProducerId".into(),
            },
            InitProducerIdResponse { result, .. } => match result {
                Ok((id, epoch)) => format!("InitProducerIdResponse id={id} epoch={epoch}"),
                Err(e) => format!("InitProducerIdResponse {e}"),
            },
            Produce(ProduceRequest { tp, records, .. }) => {
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
            ListOffsets { partitions, .. } => {
                let ps: Vec<String> = partitions
                    .iter()
                    .map(|(tp, _, spec)| format!("{tp} {spec:?}"))
                    .collect();
                format!("ListOffsets {}", ps.join(" "))
            }
            ListOffsetsResponse { partitions, .. } => {
                let ps: Vec<String> = partitions
                    .iter()
                    .map(|(tp, r)| match r {
                        Ok(o) => format!("{tp} {o}"),
                        Err(e) => format!("{tp} {e}"),
                    })
                    .collect();
                format!("ListOffsetsResponse {}", ps.join(" "))
            }
            FindCoordinator {
                group, key_type, ..
            } => match key_type {
                CoordinatorType::Group => format!("FindCoordinator {group}"),
                CoordinatorType::Transaction => format!("FindCoordinator transaction {group}"),
            },
            FindCoordinatorResponse {
                error, coordinator, ..
            } => match (error, coordinator) {
                (Some(e), _) => format!("FindCoordinatorResponse {e}"),
                (None, Some(b)) => format!("FindCoordinatorResponse broker-{b}"),
                (None, None) => "FindCoordinatorResponse none".into(),
            },
            JoinGroup(JoinGroupRequest {
                group, member_id, ..
            }) => format!(
                "JoinGroup {group} member={}",
                member_id.as_deref().unwrap_or("(new)")
            ),
            JoinGroupResponse(self::JoinGroupResponse {
                error,
                generation,
                member_id,
                members,
                ..
            }) => match error {
                Some(e) => format!("JoinGroupResponse {e}"),
                None => format!(
                    "JoinGroupResponse generation {generation} member={}{}",
                    member_id.as_deref().unwrap_or("?"),
                    if members.is_empty() {
                        String::new()
                    } else {
                        format!(" (leader of {})", members.len())
                    }
                ),
            },
            SyncGroup(SyncGroupRequest {
                group,
                generation,
                assignments,
                ..
            }) => {
                if assignments.is_empty() {
                    format!("SyncGroup {group} generation {generation}")
                } else {
                    format!("SyncGroup {group} generation {generation} with assignment")
                }
            }
            SyncGroupResponse {
                error, assignment, ..
            } => match error {
                Some(e) => format!("SyncGroupResponse {e}"),
                None => format!("SyncGroupResponse {}", tps(assignment)),
            },
            Heartbeat {
                group, generation, ..
            } => format!("Heartbeat {group} generation {generation}"),
            HeartbeatResponse { error, .. } => format!("HeartbeatResponse {}", err(error)),
            LeaveGroup {
                group, member_id, ..
            } => format!("LeaveGroup {group} {member_id}"),
            LeaveGroupResponse { error, .. } => format!("LeaveGroupResponse {}", err(error)),
            OffsetCommit {
                group,
                generation,
                offsets,
                ..
            } => {
                let os: Vec<String> = offsets
                    .iter()
                    .map(|o| format!("{}={}", o.tp, o.offset))
                    .collect();
                format!(
                    "OffsetCommit {group} generation {} {}",
                    generation.map(|g| g.to_string()).unwrap_or("-1".into()),
                    os.join(" ")
                )
            }
            OffsetCommitResponse { error, .. } => format!("OffsetCommitResponse {}", err(error)),
            OffsetFetch { group, .. } => format!("OffsetFetch {group}"),
            OffsetFetchResponse { error, offsets, .. } => match error {
                Some(e) => format!("OffsetFetchResponse {e}"),
                None => {
                    let os: Vec<String> = offsets
                        .iter()
                        .map(|o| format!("{}={}", o.tp, o.offset))
                        .collect();
                    format!("OffsetFetchResponse {}", os.join(" "))
                }
            },
            AddPartitionsToTxn {
                transactional_id,
                producer_id,
                producer_epoch,
                partitions,
                verify_only,
                ..
            } => format!(
                "AddPartitionsToTxn {transactional_id} {producer_id}.{producer_epoch} {}{}",
                tps(partitions),
                if *verify_only { " (verify)" } else { "" }
            ),
            AddPartitionsToTxnResponse { error, .. } => {
                format!("AddPartitionsToTxnResponse {}", err(error))
            }
            AddOffsetsToTxn {
                transactional_id,
                producer_id,
                producer_epoch,
                group,
                ..
            } => format!(
                "AddOffsetsToTxn {transactional_id} {producer_id}.{producer_epoch} group {group}"
            ),
            AddOffsetsToTxnResponse { error, .. } => {
                format!("AddOffsetsToTxnResponse {}", err(error))
            }
            TxnOffsetCommit {
                group,
                producer_id,
                producer_epoch,
                generation,
                offsets,
                ..
            } => {
                let os: Vec<String> = offsets
                    .iter()
                    .map(|o| format!("{}={}", o.tp, o.offset))
                    .collect();
                format!(
                    "TxnOffsetCommit {group} {producer_id}.{producer_epoch} generation {} {}",
                    generation.map(|g| g.to_string()).unwrap_or("-1".into()),
                    os.join(" ")
                )
            }
            TxnOffsetCommitResponse { error, .. } => {
                format!("TxnOffsetCommitResponse {}", err(error))
            }
            EndTxn {
                transactional_id,
                producer_id,
                producer_epoch,
                commit,
                ..
            } => format!(
                "EndTxn {transactional_id} {producer_id}.{producer_epoch} {}",
                if *commit { "commit" } else { "abort" }
            ),
            EndTxnResponse {
                error,
                producer_epoch,
                ..
            } => match (error, producer_epoch) {
                (Some(e), _) => format!("EndTxnResponse {e}"),
                (None, Some(ep)) => format!("EndTxnResponse NONE (next epoch {ep})"),
                (None, None) => "EndTxnResponse NONE".into(),
            },
            WriteTxnMarkers { markers, .. } => {
                let ms: Vec<String> = markers
                    .iter()
                    .map(|m| {
                        format!(
                            "{} {}.{} {}",
                            if m.commit { "COMMIT" } else { "ABORT" },
                            m.producer_id,
                            m.producer_epoch,
                            tps(&m.partitions)
                        )
                    })
                    .collect();
                format!("WriteTxnMarkers {}", ms.join(" "))
            }
            WriteTxnMarkersResponse { results, .. } => {
                let rs: Vec<String> = results
                    .iter()
                    .map(|(_, tp, e)| format!("{tp} {}", err(e)))
                    .collect();
                format!("WriteTxnMarkersResponse {}", rs.join(" "))
            }
            Disconnected => "connection reset".into(),
        }
    }
}

fn tps(v: &[TopicPartition]) -> String {
    let s: Vec<String> = v.iter().map(|tp| tp.to_string()).collect();
    format!("[{}]", s.join(" "))
}

fn err(e: &Option<ErrorCode>) -> &'static str {
    e.map(|e| e.name()).unwrap_or("NONE")
}
