//! The trace: every state change in a run, in order, with its virtual time.
//!
//! The trace is the product. The CLI's narrative, the JSON report, the checkers, the snapshot
//! tests (and the UI and lessons) all read it, never the live state. Its canonical rendering
//! ([`TraceEntry::line`]) is one line per event, and the run's hash is XXH3 over those lines,
//! so two runs are the same exactly when their hashes are.

use std::fmt::Write as _;
use std::sync::Arc;

use serde::Serialize;

use crate::ids::{BrokerId, Millis, NodeId, NodeNames, TopicPartition};
use crate::protocol::{ErrorCode, MessageKind};

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
    /// KIP-101/KIP-279: to the end of the last epoch the leader and follower share.
    LeaderEpoch,
    /// The follower asked for an offset past the leader's log end.
    OffsetOutOfRange,
    /// Power loss: the unflushed suffix is gone.
    PowerLoss,
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
    },
    PartitionChanged {
        tp: TopicPartition,
        leader: Option<BrokerId>,
        leader_epoch: u32,
        partition_epoch: u32,
        isr: Vec<BrokerId>,
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
    /// A producer's settings or rate changed while it ran (an intervention).
    Reconfigured {
        producer: NodeId,
        change: String,
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
                write!(s, "#{id} {} -> {} {summary} (arrives {})", n(*from), n(*to), fmt_time(*deliver_at))
            }
            Dropped { id, reason } => write!(s, "#{id} dropped ({reason:?})"),
            Skipped { command, reason } => write!(s, "skipped {command}: {reason}"),
            BrokerFenced { broker } => write!(s, "controller fenced broker-{broker}"),
            BrokerUnfenced { broker } => write!(s, "controller unfenced broker-{broker}"),
            BrokerRegistered { broker, incarnation } => {
                write!(s, "controller registered broker-{broker} (incarnation {incarnation})")
            }
            PartitionChanged { tp, leader: l, leader_epoch, partition_epoch, isr, reason } => write!(
                s,
                "{tp} leader={} leader_epoch={leader_epoch} isr={isr:?} partition_epoch={partition_epoch} ({reason:?})",
                leader(*l)
            ),
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
            Recovered { broker, tp, log_end_offset, high_watermark } => write!(
                s,
                "broker-{broker} recovered {tp} leo={log_end_offset} hw(checkpoint)={high_watermark}"
            ),
            IsrChangeRequested { broker, tp, isr } => write!(s, "broker-{broker} asks to set {tp} isr={isr:?}"),
            Reconfigured { producer, change } => write!(s, "{} reconfigured: {change}", n(*producer)),
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
