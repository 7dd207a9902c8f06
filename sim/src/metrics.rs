//! Metrics derived from the trace, at any moment of a run: consumer lag per group and partition
//! (in records and in time), end-to-end latency, throughput, under-replicated and offline
//! partitions and ISR sizes.
//!
//! Like the checkers, metrics read the trace and nothing else: a [`Recorder`] takes entries in
//! order (so the UI can feed it as a run arrives, or give it a prefix of a trace), and
//! [`Recorder::finish`] gives the [`Metrics`] up to a moment. Series are sampled at a fixed
//! interval of virtual time ([`SAMPLE_INTERVAL_MS`] by default), so plotting them is cheap
//! however long the run; maxima are kept at every event, not only at samples.
//!
//! Definitions (Kafka's where Kafka has one):
//! - the **high watermark** of a partition is that of its current leader (for an offline
//!   partition, of the replica that would be elected: [`Replay::authoritative`]);
//! - the **last stable offset** (LSO) of a partition is, on its current leader, the first offset
//!   of a transaction still open there (from its `TxnStarted` to its `TxnMarkerWritten`), or of
//!   one whose marker the HW has not passed yet, and the HW when there is none (Kafka's
//!   `ProducerStateManager.firstUnstableOffset`, as the broker's
//!   [`ProducerStateTable`](crate::broker::producer_state) computes it);
//! - **committed lag** = HW − the group's committed offset (the `LAG` column of
//!   `kafka-consumer-groups.sh --describe`, whose ListOffsets reads `read_uncommitted`, so
//!   the HW for every group), known once the group has committed;
//! - **position lag** = HW − the position of the group's consumer of the partition (the
//!   consumer's `records-lag`; [`Count::MaxLag`](crate::scenario::Count::MaxLag) is its maximum,
//!   Kafka's `records-lag-max`); for a group whose consumers read `read_committed`, LSO −
//!   position (the consumer measures it against `FetchResponse.LastStableOffset`:
//!   `SubscriptionState.partitionLag`);
//! - **lag** = the committed lag, or the position lag for a partition the group has not
//!   committed (a group without commits, or a consumer without a group);
//! - **time lag** = the age of the oldest record below the HW that the group has not processed
//!   (the first offset past the highest it processed), measured from its produce time;
//! - **end-to-end latency** = time from `send()` (the record's timestamp) to the end of its
//!   processing, for every `Processed` event;
//! - **throughput** = records processed, and records acknowledged with an offset, per second
//!   of each sample window;
//! - a partition is **under-replicated** when its ISR is smaller than its replica set, and
//!   **offline** when it has no leader (internal topics included, as in Kafka's metrics).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde::Serialize;

use crate::ids::{BrokerId, Millis, NodeId, NodeNames, TopicPartition};
use crate::replay::Replay;
use crate::trace::{Event, TraceEntry};

/// The default width of a sample window: one second of virtual time.
pub const SAMPLE_INTERVAL_MS: Millis = 1_000;

/// Who consumes: a group, or a consumer without one (which owns every partition of its topics
/// and forms a "group" of its own for lag, latency and the checkers).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum GroupKey {
    Group(Arc<str>),
    Standalone(NodeId),
}

impl GroupKey {
    /// `billing`, or `consumer-x (no group)`.
    pub fn label(&self, names: &NodeNames) -> String {
        match self {
            GroupKey::Group(g) => g.to_string(),
            GroupKey::Standalone(c) => format!("{} (no group)", names.name(*c)),
        }
    }

    /// `group billing`, or `consumer-x (no group)`: how a sentence names it.
    pub fn subject(&self, names: &NodeNames) -> String {
        subject(&self.label(names))
    }
}

/// The subject of a sentence for a group's [label](GroupKey::label).
pub fn subject(label: &str) -> String {
    if label.ends_with(" (no group)") {
        label.to_string()
    } else {
        format!("group {label}")
    }
}

/// Which group each consumer belongs to, as far as the trace has told (a consumer names its
/// group when it joins).
#[derive(Clone, Debug, Default)]
pub struct Membership {
    groups: BTreeMap<NodeId, Arc<str>>,
}

impl Membership {
    pub fn observe(&mut self, e: &Event) {
        match e {
            Event::JoinedGroup {
                consumer, group, ..
            }
            | Event::PartitionsAssigned {
                consumer, group, ..
            } => {
                self.groups.insert(*consumer, group.clone());
            }
            _ => {}
        }
    }

    pub fn key(&self, consumer: NodeId) -> GroupKey {
        match self.groups.get(&consumer) {
            Some(g) => GroupKey::Group(g.clone()),
            None => GroupKey::Standalone(consumer),
        }
    }
}

/// Partitions whose ISR is smaller than their replica set (Kafka's
/// `UnderReplicatedPartitions`). Every dashboard here (the report, the app's plots) counts them
/// with this.
pub fn under_replicated(r: &Replay) -> u32 {
    r.partitions
        .values()
        .filter(|m| m.isr.len() < m.replicas.len())
        .count() as u32
}

/// Partitions with no leader (Kafka's `OfflinePartitionsCount`), internal topics included.
pub fn offline(r: &Replay) -> u32 {
    r.partitions.values().filter(|m| m.leader.is_none()).count() as u32
}

/// Whether a topic is one of Kafka's internal topics (`__consumer_offsets`).
pub fn is_internal(tp: &TopicPartition) -> bool {
    tp.topic.starts_with("__")
}

/// What the checking reader has read: how many records, and its position in each partition.
/// The cluster view's reader box and the lag plot both read it, so they agree.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReaderProgress {
    pub consumed: u64,
    /// The offset after the last record read, per partition read from.
    pub positions: BTreeMap<TopicPartition, u64>,
}

impl ReaderProgress {
    pub fn absorb(&mut self, e: &Event) {
        match e {
            Event::Consumed { tp, offset, .. } => {
                self.consumed += 1;
                self.positions.insert(tp.clone(), offset + 1);
            }
            Event::ReaderReset { tp, to, .. } => {
                self.positions.insert(tp.clone(), *to);
            }
            _ => {}
        }
    }

    /// How far the reader is behind: over the partitions it reads (not `__consumer_offsets`,
    /// Kafka's bookkeeping), each one's high watermark less the reader's position there.
    pub fn lag(&self, replay: &Replay) -> u64 {
        replay
            .partitions
            .keys()
            .filter(|tp| !is_internal(tp))
            .filter_map(|tp| {
                let (_, r) = replay.authoritative(tp)?;
                let read = self.positions.get(tp).copied().unwrap_or(0);
                Some(r.high_watermark.saturating_sub(read))
            })
            .sum()
    }
}

/// One group's lag on one partition at one moment.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PartitionLag {
    pub group: String,
    pub partition: String,
    pub high_watermark: u64,
    /// For a `read_committed` group, the partition's last stable offset (its position lag is
    /// measured against it); `None` for a `read_uncommitted` group.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_stable_offset: Option<u64>,
    pub committed: Option<u64>,
    pub position: Option<u64>,
    /// HW − committed offset.
    pub lag_committed: Option<u64>,
    /// HW − position (`records-lag`), or LSO − position for a `read_committed` group.
    pub lag_position: Option<u64>,
    /// The committed lag, else the position lag, else 0.
    pub lag: u64,
    /// HW − the first offset past the highest the group processed: its backlog.
    pub unprocessed: u64,
    /// Age of the oldest record below the HW the group has not processed.
    pub time_lag_ms: Millis,
}

/// The state at the end of one window, and what happened during it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Sample {
    /// The end of the window `[at - interval, at)`.
    pub at: Millis,
    pub processed_per_s: f64,
    pub acknowledged_per_s: f64,
    /// The 99th percentile of the end-to-end latency of the records processed in the window.
    pub latency_p99_ms: Option<Millis>,
    pub under_replicated: u32,
    pub offline: u32,
    /// ISR size per partition.
    pub isr: BTreeMap<String, u32>,
    pub lag: Vec<PartitionLag>,
}

/// A latency distribution (nearest-rank percentiles), in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Percentiles {
    pub count: u64,
    pub p50: Millis,
    pub p95: Millis,
    pub p99: Millis,
    pub max: Millis,
}

impl Percentiles {
    /// `None` for no values.
    pub fn of(values: &[Millis]) -> Option<Percentiles> {
        if values.is_empty() {
            return None;
        }
        let mut v = values.to_vec();
        v.sort_unstable();
        Some(Percentiles {
            count: v.len() as u64,
            p50: nearest_rank(&v, 50),
            p95: nearest_rank(&v, 95),
            p99: nearest_rank(&v, 99),
            max: *v.last().expect("not empty"),
        })
    }
}

/// The smallest value with at least `p` percent of the values at or below it.
fn nearest_rank(sorted: &[Millis], p: usize) -> Millis {
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted[rank - 1]
}

/// One group on one partition over the whole run: where it ended and its worst moments.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PartitionSummary {
    #[serde(flatten)]
    pub end: PartitionLag,
    pub max_lag: u64,
    pub max_lag_position: u64,
    pub max_time_lag_ms: Millis,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GroupSummary {
    pub group: String,
    pub processed: u64,
    pub latency_ms: Option<Percentiles>,
    /// Its consumers read with `isolation.level = read_committed`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub read_committed: bool,
    pub partitions: Vec<PartitionSummary>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Throughput {
    pub processed_per_s_mean: f64,
    pub processed_per_s_peak: f64,
    pub acknowledged_per_s_mean: f64,
    pub acknowledged_per_s_peak: f64,
}

/// Everything measured up to a moment.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Metrics {
    pub interval_ms: Millis,
    /// The moment the metrics describe.
    pub until: Millis,
    /// End-to-end latency of every processed record, all groups together.
    pub latency_ms: Option<Percentiles>,
    pub throughput: Throughput,
    pub groups: Vec<GroupSummary>,
    /// Kafka's `records-lag-max` over the run: the largest position lag of any group.
    pub max_lag_position: u64,
    pub max_under_replicated: u32,
    pub max_offline: u32,
    /// The smallest ISR any partition had (`None` before any partition exists).
    pub min_isr: Option<u32>,
    pub series: Vec<Sample>,
}

impl Metrics {
    /// The metrics of a trace (or a prefix of one) up to `until`.
    pub fn compute(entries: &[TraceEntry], names: &NodeNames, until: Millis) -> Metrics {
        let mut r = Recorder::new(names.clone(), SAMPLE_INTERVAL_MS);
        for e in entries.iter().take_while(|e| e.at <= until) {
            r.absorb(e.at, &e.event);
        }
        r.finish(until)
    }

    pub fn group(&self, label: &str) -> Option<&GroupSummary> {
        self.groups.iter().find(|g| g.group == label)
    }
}

/// Where one group stands on one partition.
#[derive(Clone, Debug, Default)]
struct GroupPartition {
    committed: Option<u64>,
    position: Option<u64>,
    /// The first offset past the highest the group processed (or where it started).
    frontier: Option<u64>,
    max_lag: u64,
    max_lag_position: u64,
    max_time_lag: Millis,
}

/// The transactions of one partition that hold its last stable offset back, as its leaders
/// reported them.
#[derive(Clone, Debug, Default)]
struct Unstable {
    /// Open transactions: producer id → the broker that opened it and its first offset.
    open: BTreeMap<u64, (BrokerId, u64)>,
    /// Closed transactions whose marker the HW may not have passed: (first offset, marker).
    closing: Vec<(u64, u64)>,
}

impl Unstable {
    /// Kafka's `firstUnstableOffset` capped by the HW.
    fn last_stable_offset(&self, hw: u64) -> u64 {
        let closing = self
            .closing
            .iter()
            .filter(|&&(_, marker)| marker >= hw)
            .map(|&(first, _)| first);
        self.open
            .values()
            .map(|&(_, first)| first)
            .chain(closing)
            .fold(hw, u64::min)
    }
}

/// Builds [`Metrics`] from trace entries given in order.
#[derive(Clone, Debug)]
pub struct Recorder {
    names: NodeNames,
    interval_ms: Millis,
    replay: Replay,
    membership: Membership,
    now: Millis,
    /// Each record's produce time, by value (values are unique per run).
    produced_at: BTreeMap<Arc<str>, Millis>,
    groups: BTreeMap<(GroupKey, TopicPartition), GroupPartition>,
    /// Groups whose consumers read `read_committed` (their `PositionSet` says so).
    read_committed: BTreeSet<GroupKey>,
    /// Per partition, the transactions that hold its LSO below its HW.
    unstable: BTreeMap<TopicPartition, Unstable>,
    processed: BTreeMap<GroupKey, u64>,
    latencies: BTreeMap<GroupKey, Vec<Millis>>,
    window_latencies: Vec<Millis>,
    window_processed: u64,
    window_acked: u64,
    total_processed: u64,
    total_acked: u64,
    samples: Vec<Sample>,
    max_lag_position: u64,
    max_under_replicated: u32,
    max_offline: u32,
    min_isr: Option<u32>,
}

impl Recorder {
    pub fn new(names: NodeNames, interval_ms: Millis) -> Recorder {
        Recorder {
            names,
            interval_ms: interval_ms.max(1),
            replay: Replay::default(),
            membership: Membership::default(),
            now: 0,
            produced_at: BTreeMap::new(),
            groups: BTreeMap::new(),
            read_committed: BTreeSet::new(),
            unstable: BTreeMap::new(),
            processed: BTreeMap::new(),
            latencies: BTreeMap::new(),
            window_latencies: Vec::new(),
            window_processed: 0,
            window_acked: 0,
            total_processed: 0,
            total_acked: 0,
            samples: Vec::new(),
            max_lag_position: 0,
            max_under_replicated: 0,
            max_offline: 0,
            min_isr: None,
        }
    }

    /// The largest position lag so far (`records-lag-max`).
    pub fn max_lag_position(&self) -> u64 {
        self.max_lag_position
    }

    /// The samples closed so far.
    pub fn samples(&self) -> &[Sample] {
        &self.samples
    }

    /// Takes in one trace entry (entries arrive in time order).
    pub fn absorb(&mut self, at: Millis, e: &Event) {
        self.close_until(at);
        self.now = at;
        // The oldest unprocessed record is oldest just before it is processed.
        if let Event::Processed { consumer, tp, .. } = e {
            let key = (self.membership.key(*consumer), tp.clone());
            self.measure(&key);
        }
        self.replay.apply(e);
        self.membership.observe(e);
        let mut touched: Vec<(GroupKey, TopicPartition)> = Vec::new();
        match e {
            Event::Produced { value, .. } => {
                self.produced_at.entry(value.clone()).or_insert(at);
            }
            Event::Appended { values, .. } => {
                // Records the trace never saw produced (the coordinator's own) date from here.
                for v in values {
                    self.produced_at.entry(v.clone()).or_insert(at);
                }
            }
            Event::Acked {
                base_offset: Some(_),
                values,
                ..
            } => {
                self.window_acked += values.len() as u64;
                self.total_acked += values.len() as u64;
            }
            Event::PartitionChanged { tp, isr, .. } => {
                let n = isr.len() as u32;
                self.min_isr = Some(self.min_isr.map_or(n, |m| m.min(n)));
                self.health();
                touched.extend(self.keys_of(tp));
            }
            Event::HighWatermark { tp, .. }
            | Event::Recovered { tp, .. }
            | Event::BecameLeader { tp, .. } => {
                if let Event::HighWatermark { tp, .. } = e {
                    // Closed transactions whose marker every read is now past stop counting.
                    let hw = self.hw(tp);
                    if let Some(u) = self.unstable.get_mut(tp) {
                        u.closing.retain(|&(_, marker)| marker >= hw);
                    }
                }
                touched.extend(self.keys_of(tp))
            }
            Event::Truncated { broker, tp, to, .. } => {
                // A transaction a former leader opened past where its log was cut no longer
                // exists: no replica holds its records, and no marker will come.
                if let Some(u) = self.unstable.get_mut(tp) {
                    u.open
                        .retain(|_, &mut (b, first)| !(b == *broker && first >= *to));
                }
                touched.extend(self.keys_of(tp))
            }
            Event::TxnStarted {
                broker,
                tp,
                offset,
                producer_id,
                ..
            } => {
                let u = self.unstable.entry(tp.clone()).or_default();
                let open = u.open.entry(*producer_id).or_insert((*broker, *offset));
                if *offset < open.1 {
                    *open = (*broker, *offset);
                }
                touched.extend(self.keys_of(tp));
            }
            Event::TxnMarkerWritten {
                tp,
                offset,
                producer_id,
                records,
                ..
            } => {
                let u = self.unstable.entry(tp.clone()).or_default();
                let first = u
                    .open
                    .remove(producer_id)
                    .map(|(_, f)| f)
                    .or_else(|| records.iter().map(|(o, _)| *o).min())
                    .unwrap_or(*offset);
                u.closing.push((first, *offset));
                touched.extend(self.keys_of(tp));
            }
            Event::Crashed { node, .. } | Event::ShutDown { node } => {
                if let Some(b) = node.broker() {
                    let tps: Vec<TopicPartition> = self
                        .replay
                        .partitions
                        .iter()
                        .filter(|(_, m)| m.replicas.contains(&b))
                        .map(|(tp, _)| tp.clone())
                        .collect();
                    for tp in tps {
                        touched.extend(self.keys_of(&tp));
                    }
                }
            }
            Event::PositionSet {
                consumer,
                tp,
                to,
                read_committed,
                ..
            } => {
                let key = (self.membership.key(*consumer), tp.clone());
                if *read_committed {
                    self.read_committed.insert(key.0.clone());
                }
                let g = self.groups.entry(key.clone()).or_default();
                g.position = Some(*to);
                g.frontier.get_or_insert(*to);
                touched.push(key);
            }
            Event::Polled {
                consumer,
                tp,
                offset,
                values,
            } => {
                let key = (self.membership.key(*consumer), tp.clone());
                let g = self.groups.entry(key.clone()).or_default();
                g.position = Some(offset + values.len() as u64);
                g.frontier.get_or_insert(*offset);
                touched.push(key);
            }
            Event::Processed {
                consumer,
                tp,
                offset,
                produced_at,
                ..
            } => {
                let gk = self.membership.key(*consumer);
                let key = (gk.clone(), tp.clone());
                let g = self.groups.entry(key.clone()).or_default();
                g.frontier = Some(g.frontier.map_or(offset + 1, |f| f.max(offset + 1)));
                let latency = at.saturating_sub(*produced_at);
                self.latencies.entry(gk.clone()).or_default().push(latency);
                *self.processed.entry(gk).or_default() += 1;
                self.window_latencies.push(latency);
                self.window_processed += 1;
                self.total_processed += 1;
                touched.push(key);
            }
            Event::OffsetsCommitted { group, offsets, .. } => {
                for (tp, o) in offsets {
                    let key = (GroupKey::Group(group.clone()), tp.clone());
                    self.groups.entry(key.clone()).or_default().committed = Some(*o);
                    touched.push(key);
                }
            }
            _ => {}
        }
        for key in touched {
            self.measure(&key);
        }
    }

    fn keys_of(&self, tp: &TopicPartition) -> Vec<(GroupKey, TopicPartition)> {
        self.groups
            .keys()
            .filter(|(_, t)| t == tp)
            .cloned()
            .collect()
    }

    fn health(&mut self) {
        let urp = under_replicated(&self.replay);
        let offline = offline(&self.replay);
        self.max_under_replicated = self.max_under_replicated.max(urp);
        self.max_offline = self.max_offline.max(offline);
    }

    fn hw(&self, tp: &TopicPartition) -> u64 {
        self.replay
            .authoritative(tp)
            .map(|(_, r)| r.high_watermark.min(r.log.len() as u64))
            .unwrap_or(0)
    }

    /// The last stable offset of `tp`, given its HW.
    fn lso(&self, tp: &TopicPartition, hw: u64) -> u64 {
        self.unstable
            .get(tp)
            .map_or(hw, |u| u.last_stable_offset(hw))
    }

    fn lag_of(&self, key: &(GroupKey, TopicPartition), g: &GroupPartition) -> PartitionLag {
        let (gk, tp) = key;
        let hw = self.hw(tp);
        let lso = self.read_committed.contains(gk).then(|| self.lso(tp, hw));
        // kafka-consumer-groups.sh's LAG reads the log end read_uncommitted (the HW); the
        // consumer's records-lag, the LSO when it reads read_committed.
        let lag_committed = g.committed.map(|c| hw.saturating_sub(c));
        let lag_position = g.position.map(|p| lso.unwrap_or(hw).saturating_sub(p));
        let time_lag_ms = match g.frontier {
            Some(f) if f < hw => self
                .replay
                .authoritative(tp)
                .and_then(|(_, r)| r.log.get(f as usize))
                .and_then(|v| self.produced_at.get(v))
                .map(|t| self.now.saturating_sub(*t))
                .unwrap_or(0),
            _ => 0,
        };
        PartitionLag {
            group: gk.label(&self.names),
            partition: tp.to_string(),
            high_watermark: hw,
            last_stable_offset: lso,
            committed: g.committed,
            position: g.position,
            lag_committed,
            lag_position,
            lag: lag_committed.or(lag_position).unwrap_or(0),
            unprocessed: g.frontier.map_or(0, |f| hw.saturating_sub(f)),
            time_lag_ms,
        }
    }

    /// Updates the maxima of one group on one partition.
    fn measure(&mut self, key: &(GroupKey, TopicPartition)) {
        let Some(g) = self.groups.get(key) else {
            return;
        };
        let l = self.lag_of(key, g);
        let g = self.groups.get_mut(key).expect("present");
        g.max_lag = g.max_lag.max(l.lag);
        g.max_lag_position = g.max_lag_position.max(l.lag_position.unwrap_or(0));
        g.max_time_lag = g.max_time_lag.max(l.time_lag_ms);
        self.max_lag_position = self.max_lag_position.max(g.max_lag_position);
    }

    /// Closes every window that ends at or before `t`: the trace is complete for `[0, t)`.
    pub fn close_until(&mut self, t: Millis) {
        while (self.samples.len() as Millis + 1) * self.interval_ms <= t {
            let at = (self.samples.len() as Millis + 1) * self.interval_ms;
            let now = self.now;
            self.now = at;
            let keys: Vec<_> = self.groups.keys().cloned().collect();
            for k in &keys {
                self.measure(k);
            }
            let sample = self.sample(at);
            self.samples.push(sample);
            self.now = now.max(self.now);
            self.window_latencies.clear();
            self.window_processed = 0;
            self.window_acked = 0;
        }
    }

    fn sample(&self, at: Millis) -> Sample {
        let per_s = |n: u64| n as f64 * 1000.0 / self.interval_ms as f64;
        let r = &self.replay;
        Sample {
            at,
            processed_per_s: per_s(self.window_processed),
            acknowledged_per_s: per_s(self.window_acked),
            latency_p99_ms: Percentiles::of(&self.window_latencies).map(|p| p.p99),
            under_replicated: under_replicated(r),
            offline: offline(r),
            isr: r
                .partitions
                .iter()
                .map(|(tp, m)| (tp.to_string(), m.isr.len() as u32))
                .collect(),
            lag: self.groups.iter().map(|(k, g)| self.lag_of(k, g)).collect(),
        }
    }

    /// The metrics up to `until` (at least the last event absorbed).
    pub fn finish(mut self, until: Millis) -> Metrics {
        let until = until.max(self.now);
        self.close_until(until);
        self.now = until;
        let keys: Vec<_> = self.groups.keys().cloned().collect();
        for k in &keys {
            self.measure(k);
        }
        let mut groups: BTreeMap<GroupKey, GroupSummary> = BTreeMap::new();
        for (key, g) in &self.groups {
            let gk = &key.0;
            let s = groups.entry(gk.clone()).or_insert_with(|| GroupSummary {
                group: gk.label(&self.names),
                processed: self.processed.get(gk).copied().unwrap_or(0),
                latency_ms: self.latencies.get(gk).and_then(|v| Percentiles::of(v)),
                read_committed: self.read_committed.contains(gk),
                partitions: Vec::new(),
            });
            s.partitions.push(PartitionSummary {
                end: self.lag_of(key, g),
                max_lag: g.max_lag,
                max_lag_position: g.max_lag_position,
                max_time_lag_ms: g.max_time_lag,
            });
        }
        let all: Vec<Millis> = self.latencies.values().flatten().copied().collect();
        let secs = until as f64 / 1000.0;
        let mean = |n: u64| if secs > 0.0 { n as f64 / secs } else { 0.0 };
        let peak = |f: fn(&Sample) -> f64| self.samples.iter().map(f).fold(0.0, f64::max);
        let throughput = Throughput {
            processed_per_s_mean: mean(self.total_processed),
            processed_per_s_peak: peak(|s| s.processed_per_s),
            acknowledged_per_s_mean: mean(self.total_acked),
            acknowledged_per_s_peak: peak(|s| s.acknowledged_per_s),
        };
        Metrics {
            interval_ms: self.interval_ms,
            until,
            latency_ms: Percentiles::of(&all),
            throughput,
            groups: groups.into_values().collect(),
            max_lag_position: self.max_lag_position,
            max_under_replicated: self.max_under_replicated,
            max_offline: self.max_offline,
            min_isr: self.min_isr,
            series: self.samples,
        }
    }
}

/// A group's backlog above this many records, rising for [`LAG_RISING_SAMPLES`] samples in a
/// row, is a group falling behind.
pub const LAG_ALERT_RECORDS: u64 = 100;
/// How many consecutive samples the backlog must rise.
pub const LAG_RISING_SAMPLES: usize = 3;

/// A moment in a group's lag worth telling.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LagMoment {
    pub at: Millis,
    pub group: String,
    /// Falling behind (`true`) or caught up again (`false`).
    pub rising: bool,
    /// Records below the HW the group has not processed, over its partitions.
    pub unprocessed: u64,
    /// The backlog when it started rising (for a rising moment).
    pub from: u64,
    /// The age of the oldest unprocessed record, over its partitions.
    pub time_lag_ms: Millis,
}

/// When each group starts falling behind (its backlog above [`LAG_ALERT_RECORDS`] and rising
/// for [`LAG_RISING_SAMPLES`] samples) and when it is back below the threshold.
pub fn lag_moments(series: &[Sample]) -> Vec<LagMoment> {
    let mut per_group: BTreeMap<&str, Vec<(Millis, u64, Millis)>> = BTreeMap::new();
    for s in series {
        let mut here: BTreeMap<&str, (u64, Millis)> = BTreeMap::new();
        for l in &s.lag {
            let x = here.entry(&l.group).or_default();
            x.0 += l.unprocessed;
            x.1 = x.1.max(l.time_lag_ms);
        }
        for (g, (u, t)) in here {
            per_group.entry(g).or_default().push((s.at, u, t));
        }
    }
    let mut out = Vec::new();
    for (g, points) in per_group {
        let mut behind = false;
        for k in 0..points.len() {
            let (at, u, t) = points[k];
            if !behind && u > LAG_ALERT_RECORDS && k >= LAG_RISING_SAMPLES {
                let window = &points[k - LAG_RISING_SAMPLES..=k];
                if window.windows(2).all(|w| w[0].1 < w[1].1) {
                    behind = true;
                    out.push(LagMoment {
                        at,
                        group: g.to_string(),
                        rising: true,
                        unprocessed: u,
                        from: window[0].1,
                        time_lag_ms: t,
                    });
                }
            } else if behind && u <= LAG_ALERT_RECORDS {
                behind = false;
                out.push(LagMoment {
                    at,
                    group: g.to_string(),
                    rising: false,
                    unprocessed: u,
                    from: u,
                    time_lag_ms: t,
                });
            }
        }
    }
    out.sort_by(|a, b| (a.at, &a.group).cmp(&(b.at, &b.group)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkers::test_util::*;
    use crate::trace::{ChangeReason, PositionReason};

    #[test]
    fn percentiles_are_nearest_rank() {
        let v: Vec<Millis> = (1..=100).rev().collect();
        let p = Percentiles::of(&v).unwrap();
        assert_eq!(
            (p.count, p.p50, p.p95, p.p99, p.max),
            (100, 50, 95, 99, 100)
        );
        let one = Percentiles::of(&[7]).unwrap();
        assert_eq!((one.p50, one.p99, one.max), (7, 7, 7));
        assert_eq!(Percentiles::of(&[]), None);
    }

    /// orders-0 gets m0..m9 at 0.5 s; the group starts at 0, consumer-a polls 0..6,
    /// processes 0..4 by 2.5 s and commits 4; consumer-c (no group) reads nothing.
    fn consuming() -> T {
        let mut t = T::new();
        t.partition(&tp(), &[1, 2])
            .at(500)
            .write(
                &tp(),
                0,
                &["m0", "m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "m9"],
            )
            .at(1_000)
            .generation(1, &["m-a"])
            .joined(0, 1, "m-a")
            .assigned(0, 1, &[tp()], &[tp()])
            .position(0, &tp(), 0)
            .polled(0, &tp(), 0, &["m0", "m1", "m2", "m3", "m4", "m5"]);
        for o in 0..4u64 {
            t.at(1_500 + 250 * o)
                .processed(0, &tp(), o, &format!("m{o}"));
        }
        t.at(2_500).stored(&tp(), 4);
        t
    }

    #[test]
    fn lag_in_records_and_time_follows_the_group() {
        let t = consuming();
        let m = Metrics::compute(&t.trace.entries, &t.trace.names, 3_000);
        let g = m.group("billing").expect("the group");
        assert_eq!(g.processed, 4);
        let p = &g.partitions[0].end;
        assert_eq!(p.partition, "orders-0");
        assert_eq!(p.high_watermark, 10);
        assert_eq!((p.committed, p.position), (Some(4), Some(6)));
        assert_eq!(
            (p.lag_committed, p.lag_position, p.lag),
            (Some(6), Some(4), 6)
        );
        assert_eq!(p.unprocessed, 6);
        // m4, the oldest unprocessed record, was produced at 0.5 s.
        assert_eq!(p.time_lag_ms, 2_500);
        // Before the commit, the lag is HW - position; at its worst 10 (position 0).
        assert_eq!(g.partitions[0].max_lag_position, 10);
        assert_eq!(m.max_lag_position, 10);
        // Latencies: m0..m3 produced at 0.5 s, processed at 1.5, 1.75, 2.0, 2.25 s.
        let l = g.latency_ms.unwrap();
        assert_eq!((l.count, l.p50, l.max), (4, 1_250, 1_750));
        assert_eq!(m.latency_ms, g.latency_ms);
    }

    /// A `read_committed` consumer's `records-lag` is LSO - position (Kafka's
    /// `SubscriptionState.partitionLag` with `FetchResponse.LastStableOffset`); a
    /// `read_uncommitted` one's, and every group's committed lag (kafka-consumer-groups.sh
    /// lists offsets read_uncommitted), HW - position / committed.
    #[test]
    fn a_read_committed_group_measures_its_lag_against_the_last_stable_offset() {
        let mut t = T::new();
        t.partition(&tp(), &[1])
            .write(&tp(), 0, &["m0", "m1"])
            .generation(1, &["m-a"])
            .joined(0, 1, "m-a")
            .assigned(0, 1, &[tp()], &[tp()])
            .e(Event::PositionSet {
                consumer: NodeId::Consumer(0),
                tp: tp(),
                from: None,
                to: 2,
                reason: PositionReason::Committed,
                read_committed: true,
            })
            .position(1, &tp(), 2)
            .stored(&tp(), 2)
            // Producer 7's transaction opens at 2; m5 and m6 (another producer) follow it.
            .txn_started(&tp(), 2, 1)
            .write(&tp(), 2, &["t2", "t3", "t4"])
            .write(&tp(), 5, &["m5", "m6"]);
        let lags = |t: &T| {
            let m = Metrics::compute(&t.trace.entries, &t.trace.names, 0);
            let rc = m.group("billing").expect("the group").clone();
            let ru = m
                .group("consumer-b (no group)")
                .expect("standalone")
                .clone();
            (rc, ru, m.max_lag_position)
        };
        let (rc, ru, max) = lags(&t);
        assert!(rc.read_committed && !ru.read_committed);
        let (rc, ru) = (&rc.partitions[0], &ru.partitions[0]);
        assert_eq!(rc.end.high_watermark, 7);
        assert_eq!(
            rc.end.last_stable_offset,
            Some(2),
            "the open transaction holds it"
        );
        assert_eq!(
            (rc.end.lag_position, rc.end.lag_committed, rc.end.lag),
            (Some(0), Some(5), 5),
            "records-lag against the LSO, the LAG column against the HW"
        );
        assert_eq!(
            (ru.end.last_stable_offset, ru.end.lag_position),
            (None, Some(5))
        );
        assert_eq!((rc.max_lag_position, ru.max_lag_position, max), (0, 5, 5));
        // The COMMIT marker at 7 passes the HW: the LSO catches up with it.
        t.marker(&tp(), 7, 1, true, &[(2, "t2"), (3, "t3"), (4, "t4")]);
        let (rc, _, _) = lags(&t);
        let p = &rc.partitions[0].end;
        assert_eq!((p.last_stable_offset, p.lag_position), (Some(8), Some(6)));
    }

    #[test]
    fn samples_are_taken_every_second_and_describe_their_window() {
        let mut t = consuming();
        t.at(2_600).e(Event::PartitionChanged {
            tp: tp(),
            leader: Some(1),
            leader_epoch: 0,
            partition_epoch: 1,
            isr: vec![1],
            elr: Vec::new(),
            reason: ChangeReason::IsrShrink,
        });
        let m = Metrics::compute(&t.trace.entries, &t.trace.names, 3_500);
        let at: Vec<Millis> = m.series.iter().map(|s| s.at).collect();
        assert_eq!(at, [1_000, 2_000, 3_000]);
        // [1 s, 2 s): m0 and m1; [2 s, 3 s): m2 and m3.
        let rates: Vec<f64> = m.series.iter().map(|s| s.processed_per_s).collect();
        assert_eq!(rates, [0.0, 2.0, 2.0]);
        assert_eq!(m.series[1].latency_p99_ms, Some(1_250));
        assert_eq!(
            m.series
                .iter()
                .map(|s| s.under_replicated)
                .collect::<Vec<_>>(),
            [0, 0, 1]
        );
        assert_eq!(m.series[2].isr["orders-0"], 1);
        assert_eq!(
            (m.max_under_replicated, m.max_offline, m.min_isr),
            (1, 0, Some(1))
        );
        // The series' lag is the state at the end of each window: time lag grows with time.
        let lag = |k: usize| m.series[k].lag[0].time_lag_ms;
        assert_eq!((lag(1), lag(2)), (1_500, 2_500));
        assert_eq!(m.throughput.processed_per_s_peak, 2.0);
        assert!((m.throughput.processed_per_s_mean - 4.0 / 3.5).abs() < 1e-9);

        // A prefix of the trace gives the metrics of that moment.
        let early = Metrics::compute(&t.trace.entries, &t.trace.names, 1_600);
        assert_eq!(early.series.len(), 1);
        assert_eq!(early.group("billing").unwrap().processed, 1);
    }

    fn sample(at: Millis, unprocessed: u64) -> Sample {
        Sample {
            at,
            processed_per_s: 0.0,
            acknowledged_per_s: 0.0,
            latency_p99_ms: None,
            under_replicated: 0,
            offline: 0,
            isr: BTreeMap::new(),
            lag: vec![PartitionLag {
                group: "features".into(),
                partition: "clicks-0".into(),
                high_watermark: 0,
                last_stable_offset: None,
                committed: None,
                position: None,
                lag_committed: None,
                lag_position: None,
                lag: unprocessed,
                unprocessed,
                time_lag_ms: unprocessed * 10,
            }],
        }
    }

    #[test]
    fn a_backlog_rising_above_the_threshold_is_falling_behind_until_it_drains() {
        let backlog = [0, 50, 90, 150, 120, 180, 260, 400, 500, 300, 90, 80, 200];
        let series: Vec<Sample> = backlog
            .iter()
            .enumerate()
            .map(|(k, u)| sample(1_000 * (k as Millis + 1), *u))
            .collect();
        let moments = lag_moments(&series);
        // 150 at 4 s has risen for three samples (0 -> 50 -> 90 -> 150) and is above 100.
        assert_eq!(moments.len(), 2, "{moments:?}");
        assert!(moments[0].rising);
        assert_eq!(
            (moments[0].at, moments[0].unprocessed, moments[0].from),
            (4_000, 150, 0)
        );
        assert_eq!(moments[0].time_lag_ms, 1_500);
        assert!(!moments[1].rising);
        assert_eq!((moments[1].at, moments[1].unprocessed), (11_000, 90));
        // Steady or falling lag above the threshold is not news.
        let flat: Vec<Sample> = (0..8).map(|k| sample(1_000 * (k + 1), 500)).collect();
        assert!(lag_moments(&flat).is_empty());
    }
}
