//! The trace: every state change in a run, in order, with its virtual time.
//!
//! The trace is the product. The CLI's narrative, the JSON report, the checkers, the snapshot
//! tests (and the UI and lessons) all read it, never the live state. Its canonical rendering
//! ([`TraceEntry::line`]) is one line per event, and the run's hash is XXH3 over those lines,
//! so two runs are the same exactly when their hashes are.

use std::fmt::Write as _;
use std::sync::Arc;

use serde::Serialize;

use crate::config::{Assignor, Value};
use crate::ids::{BrokerId, Millis, NodeId, NodeNames, TopicPartition};
use crate::protocol::{ErrorCode, Message, MessageKind, TxnState};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CrashKind {
    /// The process dies; the operating system (and its page cache) survives.
    Process,
    /// The machine loses power: whatever was not flushed to disk is gone.
    PowerLoss,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DropReason {
    Loss,
    Partitioned,
    NodeDown,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LinkChange {
    Cut,
    Healed,
    Held,
    Released,
    Set {
        latency_min_ms: u64,
        latency_max_ms: u64,
        loss: f64,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChangeReason {
    /// Topic creation.
    Created,
    /// A leader was elected from the ISR.
    Election,
    /// A leader was elected from outside the ISR (`unclean.leader.election.enable`).
    UncleanElection,
    /// The ISR was empty and a member of the ELR was elected (KIP-966): a clean election.
    ElrElection,
    /// ISR and ELR were empty and the last known leader came back and was elected (KIP-966).
    LastKnownLeader,
    /// A broker registered again after an unclean shutdown and left every ISR and ELR.
    UncleanShutdown,
    /// No eligible replica is alive: the partition is offline.
    Offline,
    IsrShrink,
    IsrExpand,
    /// A broker was fenced and removed from the ISR.
    Fenced,
    ControlledShutdown,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TruncateReason {
    /// Pre-0.11 rule: a new follower truncates to its own high watermark.
    HighWatermark,
    /// KIP-101/KIP-279: to the end of the last epoch the leader and follower share, as the
    /// leader's OffsetsForLeaderEpoch answer says (Kafka 0.11 to 2.6).
    LeaderEpoch,
    /// KIP-595 (Kafka 2.7+): the same point, from the diverging epoch a fetch response carries
    /// instead of records.
    DivergingEpoch,
    /// The follower asked for an offset past the leader's log end.
    OffsetOutOfRange,
    /// Power loss: the unflushed suffix is gone.
    PowerLoss,
}

/// Why retention deleted segments (Kafka's `SegmentDeletionReason`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeletionReason {
    /// Every record in the segment is older than `retention.ms`.
    RetentionMs,
    /// The log is larger than `retention.bytes` by at least the segment.
    RetentionBytes,
    /// The log start offset (DeleteRecords, or the leader's) is past the segment's end.
    LogStartOffset,
}

impl DeletionReason {
    pub fn name(self) -> &'static str {
        match self {
            DeletionReason::RetentionMs => "retention.ms",
            DeletionReason::RetentionBytes => "retention.bytes",
            DeletionReason::LogStartOffset => "the log start offset",
        }
    }
}

/// Why a log start offset moved other than by deleting segments (Kafka's
/// `LogStartOffsetIncrementReason`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LogStartReason {
    /// A DeleteRecords request on the leader.
    ClientRecordDeletion,
    /// A follower learned its leader's log start offset from a fetch response.
    LeaderOffsetIncremented,
    /// A follower whose log ended below the leader's log start emptied it and starts there
    /// (`truncateFullyAndStartAt`).
    TruncatedFully,
}

/// Why a consumer's position moved other than by reading.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PositionReason {
    /// From the group's committed offset (OffsetFetch after an assignment).
    Committed,
    /// No committed offset: `auto.offset.reset` (earliest or latest).
    AutoOffsetReset,
    /// The position is outside the log (OFFSET_OUT_OF_RANGE): below its start (retention or
    /// DeleteRecords deleted it) or past its end; `auto.offset.reset` again.
    OffsetOutOfRange,
    /// KIP-320: the new leader's log diverges below the position; back to where they agree.
    LogTruncation,
}

/// One state change. A closed set: adding a variant is a deliberate change to the product.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    // ---- faults and the network ----
    Crashed {
        node: NodeId,
        kind: CrashKind,
    },
    ShutDown {
        node: NodeId,
    },
    Restarted {
        node: NodeId,
    },
    Paused {
        node: NodeId,
    },
    Resumed {
        node: NodeId,
    },
    Link {
        from: NodeId,
        to: NodeId,
        change: LinkChange,
    },
    Sent {
        id: u64,
        from: NodeId,
        to: NodeId,
        kind: MessageKind,
        summary: String,
        deliver_at: Millis,
    },
    Dropped {
        id: u64,
        reason: DropReason,
    },
    /// A producer or consumer joined the running cluster (`add-producer`, `add-consumer`): a
    /// node that did not exist before. `name` is its name without the `producer-`/`consumer-`
    /// prefix (see [`NodeNames::observe`]); `description` says what it does, as in
    /// "in group billing, reading orders".
    NodeAdded {
        node: NodeId,
        name: String,
        description: String,
    },
    /// A scheduled command that could not apply (its target was down, or had no leader).
    Skipped {
        command: String,
        reason: String,
    },
    // ---- controller ----
    BrokerFenced {
        broker: BrokerId,
    },
    BrokerUnfenced {
        broker: BrokerId,
    },
    BrokerRegistered {
        broker: BrokerId,
        incarnation: u32,
        broker_epoch: u64,
    },
    PartitionChanged {
        tp: TopicPartition,
        leader: Option<BrokerId>,
        leader_epoch: u32,
        partition_epoch: u32,
        isr: Vec<BrokerId>,
        /// Eligible Leader Replicas (KIP-966).
        elr: Vec<BrokerId>,
        reason: ChangeReason,
    },
    // ---- brokers ----
    BecameLeader {
        broker: BrokerId,
        tp: TopicPartition,
        leader_epoch: u32,
        log_end_offset: u64,
        high_watermark: u64,
    },
    BecameFollower {
        broker: BrokerId,
        tp: TopicPartition,
        leader: BrokerId,
        leader_epoch: u32,
    },
    Appended {
        broker: BrokerId,
        tp: TopicPartition,
        base_offset: u64,
        leader_epoch: u32,
        values: Vec<Arc<str>>,
        leader: bool,
    },
    DuplicateBatch {
        broker: BrokerId,
        tp: TopicPartition,
        producer_id: u64,
        base_sequence: u32,
        base_offset: u64,
    },
    Truncated {
        broker: BrokerId,
        tp: TopicPartition,
        from: u64,
        to: u64,
        reason: TruncateReason,
        removed: Vec<Arc<str>>,
    },
    HighWatermark {
        broker: BrokerId,
        tp: TopicPartition,
        high_watermark: u64,
    },
    /// The active segment rolled: records from `base_offset` on go to a new segment.
    SegmentRolled {
        broker: BrokerId,
        tp: TopicPartition,
        base_offset: u64,
    },
    /// Whole segments deleted, oldest first; the log start offset is now the first kept
    /// segment's base (`UnifiedLog.deleteSegments`).
    SegmentsDeleted {
        broker: BrokerId,
        tp: TopicPartition,
        reason: DeletionReason,
        /// Base offsets of the deleted segments.
        segments: Vec<u64>,
        records: u64,
        log_start_offset: u64,
    },
    /// The log start offset moved without a segment deletion.
    LogStartIncremented {
        broker: BrokerId,
        tp: TopicPartition,
        log_start_offset: u64,
        reason: LogStartReason,
    },
    Flushed {
        broker: BrokerId,
        tp: TopicPartition,
        up_to: u64,
    },
    Recovered {
        broker: BrokerId,
        tp: TopicPartition,
        log_end_offset: u64,
        high_watermark: u64,
    },
    IsrChangeRequested {
        broker: BrokerId,
        tp: TopicPartition,
        isr: Vec<BrokerId>,
    },
    // ---- producers ----
    /// A producer's settings or rate changed while it ran (an intervention), as the
    /// `producer` command gave them, so a view can follow a producer's settings from the trace.
    Reconfigured {
        producer: NodeId,
        settings: Vec<(String, Value)>,
        rate: Option<f64>,
    },
    Produced {
        producer: NodeId,
        value: Arc<str>,
        key: Option<Arc<str>>,
        tp: TopicPartition,
    },
    BatchSent {
        producer: NodeId,
        tp: TopicPartition,
        broker: BrokerId,
        values: Vec<Arc<str>>,
        attempt: u32,
        sequence: Option<u32>,
    },
    Acked {
        producer: NodeId,
        tp: TopicPartition,
        base_offset: Option<u64>,
        values: Vec<Arc<str>>,
    },
    SendFailed {
        producer: NodeId,
        tp: TopicPartition,
        error: ErrorCode,
        retry: bool,
        values: Vec<Arc<str>>,
    },
    Expired {
        producer: NodeId,
        tp: TopicPartition,
        values: Vec<Arc<str>>,
    },
    // ---- the reader ----
    Consumed {
        tp: TopicPartition,
        offset: u64,
        value: Arc<str>,
    },
    ReaderReset {
        tp: TopicPartition,
        from: u64,
        to: u64,
    },
    // ---- group coordinators (the broker leading a group's __consumer_offsets partition) ----
    /// The broker became leader of a `__consumer_offsets` partition and loaded, from its log,
    /// the groups stored there: their committed offsets and last generation.
    CoordinatorLoaded {
        broker: BrokerId,
        tp: TopicPartition,
        groups: Vec<(Arc<str>, u32)>,
    },
    /// The broker stopped leading that partition: its groups' members must find the new one.
    CoordinatorUnloaded {
        broker: BrokerId,
        tp: TopicPartition,
    },
    /// The group enters PreparingRebalance: every member must rejoin.
    RebalanceStarted {
        broker: BrokerId,
        group: Arc<str>,
        generation: u32,
        reason: String,
    },
    /// The join phase ended: a new generation with these members; its leader assigns.
    GenerationStarted {
        broker: BrokerId,
        group: Arc<str>,
        generation: u32,
        protocol: Assignor,
        leader: Arc<str>,
        members: Vec<Arc<str>>,
    },
    /// The leader's assignment is stored (SyncGroup): the group is Stable.
    GroupStable {
        broker: BrokerId,
        group: Arc<str>,
        generation: u32,
        assignment: Vec<(Arc<str>, Vec<TopicPartition>)>,
    },
    MemberRemoved {
        broker: BrokerId,
        group: Arc<str>,
        member: Arc<str>,
        reason: String,
    },
    /// Offsets stored: their record in `__consumer_offsets` is below the HW.
    OffsetsCommitted {
        broker: BrokerId,
        group: Arc<str>,
        generation: Option<u32>,
        member: Option<Arc<str>>,
        offsets: Vec<(TopicPartition, u64)>,
    },
    // ---- consumers ----
    /// JoinGroup answered: the consumer is a member of this generation.
    JoinedGroup {
        consumer: NodeId,
        group: Arc<str>,
        generation: u32,
        member: Arc<str>,
        leader: bool,
    },
    /// onPartitionsAssigned: what the consumer owns now (`owned`), of which `added` is new.
    PartitionsAssigned {
        consumer: NodeId,
        group: Arc<str>,
        generation: u32,
        added: Vec<TopicPartition>,
        owned: Vec<TopicPartition>,
    },
    /// onPartitionsRevoked (all before an eager rebalance; with cooperative-sticky only what
    /// moves), or onPartitionsLost (`lost`) when the member found it was no longer in the group.
    PartitionsRevoked {
        consumer: NodeId,
        group: Arc<str>,
        revoked: Vec<TopicPartition>,
        lost: bool,
    },
    /// The consumer's position moved other than by reading.
    PositionSet {
        consumer: NodeId,
        tp: TopicPartition,
        from: Option<u64>,
        to: u64,
        reason: PositionReason,
        /// The consumer reads with `isolation.level = read_committed`: up to the last stable
        /// offset, which its lag (`records-lag`) is measured against.
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        read_committed: bool,
    },
    /// What one poll() returned for one partition: records at `offset`, `offset + 1`, ...
    Polled {
        consumer: NodeId,
        tp: TopicPartition,
        offset: u64,
        values: Vec<Arc<str>>,
    },
    /// The application finished processing one record (`produced_at`: the record's timestamp).
    Processed {
        consumer: NodeId,
        tp: TopicPartition,
        offset: u64,
        value: Arc<str>,
        produced_at: Millis,
    },
    /// An offset commit succeeded (the consumer got the response).
    Committed {
        consumer: NodeId,
        group: Arc<str>,
        generation: Option<u32>,
        offsets: Vec<(TopicPartition, u64)>,
    },
    /// An offset commit failed: `CommitFailedException` and why.
    CommitFailed {
        consumer: NodeId,
        group: Arc<str>,
        offsets: Vec<(TopicPartition, u64)>,
        reason: String,
    },
    LeftGroup {
        consumer: NodeId,
        group: Arc<str>,
        member: Arc<str>,
        reason: String,
    },
    /// The application got an exception it does not handle (NoOffsetForPartitionException,
    /// LogTruncationException) and stopped consuming.
    ConsumerFailed {
        consumer: NodeId,
        error: String,
    },
    // ---- transactions ----
    /// A transaction coordinator (the leader of the `transactional.id`'s `__transaction_state`
    /// partition) changed a transaction's state; the change is durable (its record is below
    /// that partition's HW). `producer_epoch` is the epoch the state is recorded with (with
    /// transaction.version 2 a commit or abort is prepared with the next epoch).
    TxnStateChanged {
        broker: BrokerId,
        transactional_id: Arc<str>,
        producer_id: u64,
        producer_epoch: u16,
        state: TxnState,
        partitions: Vec<TopicPartition>,
        reason: String,
    },
    /// A partition leader appended the first record of a producer's transaction on this
    /// partition: from `offset` on, `read_committed` consumers wait for its marker (the last
    /// stable offset stays at or below `offset` until then).
    TxnStarted {
        broker: BrokerId,
        tp: TopicPartition,
        offset: u64,
        producer_id: u64,
        producer_epoch: u16,
    },
    /// A partition leader wrote a transaction marker at `offset`: the producer's records of
    /// the transaction on this partition (`records`: offset and value) are now committed or
    /// aborted.
    TxnMarkerWritten {
        broker: BrokerId,
        tp: TopicPartition,
        offset: u64,
        producer_id: u64,
        producer_epoch: u16,
        commit: bool,
        records: Vec<(u64, Arc<str>)>,
    },
    /// A transactional producer's `initTransactions()` returned: its producer id and epoch.
    TxnInitialized {
        producer: NodeId,
        transactional_id: Arc<str>,
        producer_id: u64,
        producer_epoch: u16,
    },
    /// `commitTransaction()`/`abortTransaction()` returned: the producer's records of this
    /// transaction (`values`) are committed or aborted.
    TxnEnded {
        producer: NodeId,
        transactional_id: Arc<str>,
        commit: bool,
        values: Vec<Arc<str>>,
    },
    /// A transactional producer got a fatal error (PRODUCER_FENCED, INVALID_PRODUCER_EPOCH):
    /// the application must close it; nothing it sends any more is written.
    ProducerFenced {
        producer: NodeId,
        transactional_id: Arc<str>,
        error: ErrorCode,
    },
    // ---- real clients (`kafkascope serve`) ----
    /// Every message a real client's request became is answered (`responses` in the request's
    /// order; empty for a produce with acks=0): the gateway sends the client its response.
    ClientAnswered {
        client: NodeId,
        request: u64,
        responses: Vec<Message>,
    },
    /// A real client's connection ended.
    ClientClosed {
        client: NodeId,
        by: ClosedBy,
    },
}

/// Who ended a real client's connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClosedBy {
    /// The client closed it (or vanished).
    Client,
    /// The broker's process died: its operating system reset the connection.
    Broker,
}

/// Here rather than in `ids`, which names things and knows no events.
impl NodeNames {
    /// Learns the name of a node added while the cluster ran, from its
    /// [`Event::NodeAdded`]: whoever folds a trace that arrives entry by entry (the UI) keeps
    /// its names right with this.
    pub fn observe(&mut self, e: &Event) {
        if let Event::NodeAdded { node, name, .. } = e {
            self.add(*node, name);
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TraceEntry {
    pub at: Millis,
    #[serde(flatten)]
    pub event: Event,
}

#[derive(Clone, Debug, Default)]
pub struct Trace {
    pub entries: Vec<TraceEntry>,
    pub names: NodeNames,
}

fn vals(v: &[Arc<str>]) -> String {
    v.join(" ")
}

fn tps(v: &[TopicPartition]) -> String {
    let s: Vec<String> = v.iter().map(|tp| tp.to_string()).collect();
    format!("[{}]", s.join(" "))
}

fn offsets(v: &[(TopicPartition, u64)]) -> String {
    let s: Vec<String> = v.iter().map(|(tp, o)| format!("{tp}={o}")).collect();
    s.join(" ")
}

fn generation(g: Option<u32>) -> String {
    g.map(|g| format!("generation {g}"))
        .unwrap_or_else(|| "no generation".into())
}

fn leader(l: Option<BrokerId>) -> String {
    l.map(|b| b.to_string()).unwrap_or_else(|| "none".into())
}

/// `12.345s` — time as the narrative prints it.
pub fn fmt_time(ms: Millis) -> String {
    format!("{}.{:03}s", ms / 1000, ms % 1000)
}

impl TraceEntry {
    /// The canonical one-line rendering, hashed for determinism checks.
    pub fn line(&self, names: &NodeNames) -> String {
        let n = |id: NodeId| names.name(id);
        let mut s = format!("{:>9} ", fmt_time(self.at));
        use Event::*;
        let _ = match &self.event {
            Crashed { node, kind } => write!(s, "{} crashed ({})", n(*node), match kind {
                CrashKind::Process => "process crash",
                CrashKind::PowerLoss => "power loss",
            }),
            ShutDown { node } => write!(s, "{} shut down cleanly", n(*node)),
            Restarted { node } => write!(s, "{} restarted", n(*node)),
            Paused { node } => write!(s, "{} paused", n(*node)),
            Resumed { node } => write!(s, "{} resumed", n(*node)),
            Link { from, to, change } => match change {
                LinkChange::Cut => write!(s, "link {} -> {} cut", n(*from), n(*to)),
                LinkChange::Healed => write!(s, "link {} -> {} healed", n(*from), n(*to)),
                LinkChange::Held => write!(s, "link {} -> {} holding messages", n(*from), n(*to)),
                LinkChange::Released => write!(s, "link {} -> {} released", n(*from), n(*to)),
                LinkChange::Set { latency_min_ms, latency_max_ms, loss } => write!(
                    s,
                    "link {} -> {} latency {latency_min_ms}..{latency_max_ms}ms loss {loss}",
                    n(*from),
                    n(*to)
                ),
            },
            Sent { id, from, to, summary, deliver_at, .. } => {
                // A message on a held link has no arrival time until the link is released
                // (it is sent again then, with one).
                let when = if *deliver_at == Millis::MAX {
                    "held".to_string()
                } else {
                    format!("arrives {}", fmt_time(*deliver_at))
                };
                write!(s, "#{id} {} -> {} {summary} ({when})", n(*from), n(*to))
            }
            Dropped { id, reason } => write!(s, "#{id} dropped ({reason:?})"),
            NodeAdded { node, description, .. } => {
                write!(s, "{} started (added) {description}", n(*node))
            }
            Skipped { command, reason } => write!(s, "skipped {command}: {reason}"),
            BrokerFenced { broker } => write!(s, "controller fenced broker-{broker}"),
            BrokerUnfenced { broker } => write!(s, "controller unfenced broker-{broker}"),
            BrokerRegistered { broker, incarnation, broker_epoch } => write!(
                s,
                "controller registered broker-{broker} (incarnation {incarnation}, broker epoch {broker_epoch})"
            ),
            PartitionChanged { tp, leader: l, leader_epoch, partition_epoch, isr, elr, reason } => {
                let elr = if elr.is_empty() { String::new() } else { format!(" elr={elr:?}") };
                write!(
                    s,
                    "{tp} leader={} leader_epoch={leader_epoch} isr={isr:?}{elr} partition_epoch={partition_epoch} ({reason:?})",
                    leader(*l)
                )
            }
            BecameLeader { broker, tp, leader_epoch, log_end_offset, high_watermark } => write!(
                s,
                "broker-{broker} leads {tp} in epoch {leader_epoch} (leo={log_end_offset} hw={high_watermark})"
            ),
            BecameFollower { broker, tp, leader: l, leader_epoch } => {
                write!(s, "broker-{broker} follows broker-{l} for {tp} in epoch {leader_epoch}")
            }
            Appended { broker, tp, base_offset, leader_epoch, values, leader: is_leader } => write!(
                s,
                "broker-{broker} {} {tp}@{base_offset} epoch {leader_epoch}: {}",
                if *is_leader { "appended" } else { "replicated" },
                vals(values)
            ),
            DuplicateBatch { broker, tp, producer_id, base_sequence, base_offset } => write!(
                s,
                "broker-{broker} {tp} dropped duplicate batch pid={producer_id} seq={base_sequence} (already at {base_offset})"
            ),
            Truncated { broker, tp, from, to, reason, removed } => {
                write!(s, "broker-{broker} truncated {tp} {from} -> {to} ({reason:?}) removing [{}]", vals(removed))
            }
            HighWatermark { broker, tp, high_watermark } => write!(s, "broker-{broker} {tp} hw={high_watermark}"),
            Flushed { broker, tp, up_to } => write!(s, "broker-{broker} flushed {tp} up to {up_to}"),
            SegmentRolled { broker, tp, base_offset } => {
                write!(s, "broker-{broker} {tp} rolled a new segment at {base_offset}")
            }
            SegmentsDeleted { broker, tp, reason, segments, records, log_start_offset } => write!(
                s,
                "broker-{broker} {tp} deleted {} segment(s) {segments:?} ({records} records) by {}; log start {log_start_offset}",
                segments.len(),
                reason.name()
            ),
            LogStartIncremented { broker, tp, log_start_offset, reason } => {
                let why = match reason {
                    LogStartReason::ClientRecordDeletion => "DeleteRecords",
                    LogStartReason::LeaderOffsetIncremented => "the leader's",
                    LogStartReason::TruncatedFully => "emptied: behind the leader's log start",
                };
                write!(s, "broker-{broker} {tp} log start {log_start_offset} ({why})")
            }
            Recovered { broker, tp, log_end_offset, high_watermark } => write!(
                s,
                "broker-{broker} recovered {tp} leo={log_end_offset} hw(checkpoint)={high_watermark}"
            ),
            IsrChangeRequested { broker, tp, isr } => write!(s, "broker-{broker} asks to set {tp} isr={isr:?}"),
            Reconfigured {
                producer,
                settings,
                rate,
            } => {
                let mut change: Vec<String> =
                    settings.iter().map(|(k, v)| format!("{k}={v}")).collect();
                if let Some(r) = rate {
                    change.push(format!("rate={r}/s"));
                }
                write!(s, "{} reconfigured: {}", n(*producer), change.join(" "))
            }
            Produced { producer, value, key, tp } => write!(
                s,
                "{} send {value} key={} -> {tp}",
                n(*producer),
                key.as_deref().unwrap_or("null")
            ),
            BatchSent { producer, tp, broker, values, attempt, sequence } => write!(
                s,
                "{} batch {tp} -> broker-{broker} attempt {attempt}{} [{}]",
                n(*producer),
                sequence.map(|q| format!(" seq {q}")).unwrap_or_default(),
                vals(values)
            ),
            Acked { producer, tp, base_offset, values } => write!(
                s,
                "{} acknowledged {tp}{} [{}]",
                n(*producer),
                base_offset.map(|o| format!("@{o}")).unwrap_or_default(),
                vals(values)
            ),
            SendFailed { producer, tp, error, retry, values } => write!(
                s,
                "{} {tp} {error}{} [{}]",
                n(*producer),
                if *retry { ", will retry" } else { ", gave up" },
                vals(values)
            ),
            Expired { producer, tp, values } => {
                write!(s, "{} {tp} delivery.timeout.ms expired [{}]", n(*producer), vals(values))
            }
            Consumed { tp, offset, value } => write!(s, "reader read {tp}@{offset} {value}"),
            ReaderReset { tp, from, to } => write!(s, "reader {tp} OFFSET_OUT_OF_RANGE, position {from} -> {to}"),
            CoordinatorLoaded { broker, tp, groups } => {
                let gs: Vec<String> = groups.iter().map(|(g, gen)| format!("{g}@{gen}")).collect();
                write!(s, "broker-{broker} coordinates the groups of {tp}, loaded [{}]", gs.join(" "))
            }
            CoordinatorUnloaded { broker, tp } => write!(s, "broker-{broker} no longer coordinates the groups of {tp}"),
            RebalanceStarted { broker, group, generation, reason } => write!(
                s,
                "broker-{broker} group {group} rebalancing after generation {generation}: {reason}"
            ),
            GenerationStarted { broker, group, generation, protocol, leader: l, members } => write!(
                s,
                "broker-{broker} group {group} generation {generation} ({protocol}) leader {l} members [{}]",
                vals(members)
            ),
            GroupStable { broker, group, generation, assignment } => {
                let a: Vec<String> = assignment.iter().map(|(m, ps)| format!("{m}={}", tps(ps))).collect();
                write!(s, "broker-{broker} group {group} generation {generation} stable: {}", a.join(" "))
            }
            MemberRemoved { broker, group, member, reason } => {
                write!(s, "broker-{broker} group {group} removed {member}: {reason}")
            }
            OffsetsCommitted { broker, group, generation: g, member, offsets: o } => write!(
                s,
                "broker-{broker} group {group} stored offsets {} ({}{})",
                offsets(o),
                generation(*g),
                member.as_ref().map(|m| format!(", {m}")).unwrap_or_default()
            ),
            JoinedGroup { consumer, group, generation, member, leader: is_leader } => write!(
                s,
                "{} joined {group} generation {generation} as {member}{}",
                n(*consumer),
                if *is_leader { " (leader)" } else { "" }
            ),
            PartitionsAssigned { consumer, group, generation, added, owned } => write!(
                s,
                "{} {group} generation {generation} assigned {} owns {}",
                n(*consumer),
                tps(added),
                tps(owned)
            ),
            PartitionsRevoked { consumer, group, revoked, lost } => write!(
                s,
                "{} {group} {} {}",
                n(*consumer),
                if *lost { "lost" } else { "revoked" },
                tps(revoked)
            ),
            PositionSet { consumer, tp, from, to, reason, .. } => write!(
                s,
                "{} {tp} position {} -> {to} ({})",
                n(*consumer),
                from.map(|f| f.to_string()).unwrap_or_else(|| "none".into()),
                match reason {
                    PositionReason::Committed => "committed offset",
                    PositionReason::AutoOffsetReset => "auto.offset.reset",
                    PositionReason::OffsetOutOfRange => "OFFSET_OUT_OF_RANGE, auto.offset.reset",
                    PositionReason::LogTruncation => "log truncation detected",
                }
            ),
            Polled { consumer, tp, offset, values } => write!(
                s,
                "{} polled {tp}@{offset} [{}]",
                n(*consumer),
                vals(values)
            ),
            Processed { consumer, tp, offset, value, produced_at } => write!(
                s,
                "{} processed {tp}@{offset} {value} ({}ms after produce)",
                n(*consumer),
                self.at.saturating_sub(*produced_at)
            ),
            Committed { consumer, group, generation: g, offsets: o } => write!(
                s,
                "{} committed {group} {} ({})",
                n(*consumer),
                offsets(o),
                generation(*g)
            ),
            CommitFailed { consumer, group, offsets: o, reason } => write!(
                s,
                "{} commit of {group} {} failed: {reason}",
                n(*consumer),
                offsets(o)
            ),
            LeftGroup { consumer, group, member, reason } => {
                write!(s, "{} left {group} ({member}): {reason}", n(*consumer))
            }
            ConsumerFailed { consumer, error } => write!(s, "{} stopped: {error}", n(*consumer)),
            TxnStateChanged { broker, transactional_id, producer_id, producer_epoch, state, partitions, reason } => write!(
                s,
                "broker-{broker} transaction {transactional_id} ({producer_id}.{producer_epoch}) {} {}: {reason}",
                state.name(),
                tps(partitions)
            ),
            TxnStarted { broker, tp, offset, producer_id, producer_epoch } => write!(
                s,
                "broker-{broker} {tp}@{offset} transaction of {producer_id}.{producer_epoch} open"
            ),
            TxnMarkerWritten { broker, tp, offset, producer_id, producer_epoch, commit, records } => {
                let rs: Vec<String> = records.iter().map(|(o, v)| format!("{v}@{o}")).collect();
                write!(
                    s,
                    "broker-{broker} {tp}@{offset} {} marker for {producer_id}.{producer_epoch} [{}]",
                    if *commit { "COMMIT" } else { "ABORT" },
                    rs.join(" ")
                )
            }
            TxnInitialized { producer, transactional_id, producer_id, producer_epoch } => write!(
                s,
                "{} initialized transactions as {transactional_id} (producer id {producer_id}, epoch {producer_epoch})",
                n(*producer)
            ),
            TxnEnded { producer, transactional_id, commit, values } => write!(
                s,
                "{} {} transaction of {transactional_id} [{}]",
                n(*producer),
                if *commit { "committed" } else { "aborted" },
                vals(values)
            ),
            ProducerFenced { producer, transactional_id, error } => write!(
                s,
                "{} ({transactional_id}) fenced: {error}; it must be closed",
                n(*producer)
            ),
            ClientAnswered { client, request, responses } => {
                let rs: Vec<String> = responses.iter().map(Message::summary).collect();
                write!(s, "{} request {request} answered: {}", n(*client), if rs.is_empty() {
                    "no response (acks=0)".to_string()
                } else {
                    rs.join("; ")
                })
            }
            ClientClosed { client, by } => write!(s, "{} connection closed by {}", n(*client), match by {
                ClosedBy::Client => "the client",
                ClosedBy::Broker => "the broker (reset)",
            }),
        };
        s
    }
}

impl Trace {
    /// XXH3 over the canonical lines: equal hashes mean equal runs.
    pub fn hash(&self) -> u64 {
        let mut h = xxhash_rust::xxh3::Xxh3::new();
        for e in &self.entries {
            h.update(e.line(&self.names).as_bytes());
            h.update(b"\n");
        }
        h.digest()
    }

    pub fn lines(&self) -> impl Iterator<Item = String> + '_ {
        self.entries.iter().map(|e| e.line(&self.names))
    }
}
