//! The cluster at the displayed moment, rebuilt from the session's trace.
//!
//! [`ClusterAt`] folds trace entries up to the displayed millisecond: the sim's [`Replay`] for
//! logs, HWs, roles and the controller's view, plus what the drawing needs that the replay does
//! not keep (node status, link faults, messages in flight, producer counts). Playing forward
//! applies only the new entries; going back replays from the start, which is cheap next to
//! re-simulating.

use std::collections::{BTreeMap, BTreeSet};
use std::mem::size_of;
use std::sync::Arc;

use kafkascope_sim::ids::{BrokerId, Millis, NodeId, TopicPartition};
use kafkascope_sim::protocol::MessageKind;
use kafkascope_sim::replay::Replay;
use kafkascope_sim::trace::{DeletionReason, Event, LinkChange, LogStartReason};

use crate::metrics::ReaderProgress;
use crate::session::Session;
use crate::shared_log::SharedLog;
use crate::transactions::Transactions;

/// Whether a node's process runs: the sim's replay folds it, once for every view.
pub use kafkascope_sim::replay::NodeStatus as NodeState;

/// What is wrong (or special) with a directed link.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LinkState {
    pub cut: bool,
    pub held: bool,
    /// Latency range and loss set by a `link` command.
    pub params: Option<(u64, u64, f64)>,
}

impl LinkState {
    fn is_default(&self) -> bool {
        !self.cut && !self.held && self.params.is_none()
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Flight {
    pub from: NodeId,
    pub to: NodeId,
    pub kind: MessageKind,
    pub sent_at: Millis,
    pub deliver_at: Millis,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProducerCounts {
    pub produced: u64,
    pub acked: u64,
    pub failed: u64,
}

/// Where a consumer is in its group's life, folded from its own events and its coordinator's.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ConsumerPhase {
    /// Not started yet, or (re)started and not yet answered by JoinGroup.
    #[default]
    Joining,
    /// A member whose group is between generations (its coordinator started a rebalance), or
    /// that joined and has no assignment yet. With cooperative-sticky it keeps processing what
    /// it owns meanwhile.
    Rebalancing,
    /// A member of a stable group with its assignment.
    Processing,
    /// Called close(), or was removed and left its group.
    Left,
    /// The application stopped on an exception it does not handle (`ConsumerFailed`).
    Failed,
}

/// One consumer at the displayed moment.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ConsumerAt {
    pub phase: ConsumerPhase,
    /// The group of its last JoinedGroup.
    pub group: Option<Arc<str>>,
    /// The generation of its last JoinedGroup.
    pub generation: Option<u32>,
    /// The partitions it owns now (its last PartitionsAssigned less what it revoked since;
    /// none once it crashed, left or failed).
    pub owned: Vec<TopicPartition>,
    /// Records poll() returned that the application has not finished processing.
    pub in_hand: u64,
    pub processed: u64,
}

/// Why a replica's log start last moved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartCause {
    /// Whole segments deleted (retention, or a log start already past them).
    Deleted(DeletionReason),
    /// Moved without deleting segments (DeleteRecords, the leader's start, a reset follower).
    Moved(LogStartReason),
}

/// The last time a replica's log start moved or its segments were deleted, so that the view
/// can mark the range that just went and the hover text can say why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StartMove {
    pub at: Millis,
    /// The log start before and after.
    pub from: u64,
    pub to: u64,
    pub cause: StartCause,
    /// Segments deleted (0 when the start moved without a deletion).
    pub segments: usize,
    /// Records those segments held.
    pub records: u64,
}

#[derive(Clone, Debug, Default)]
pub struct ClusterAt {
    pub replay: Replay,
    pub links: BTreeMap<(NodeId, NodeId), LinkState>,
    pub in_flight: BTreeMap<u64, Flight>,
    pub producers: BTreeMap<u16, ProducerCounts>,
    /// What the checking reader has read.
    pub reader: ReaderProgress,
    /// The clients added while running (`NodeAdded`) by the displayed moment.
    pub added: BTreeSet<NodeId>,
    /// The real clients (`NodeId::Client`) whose connection has closed by the displayed moment.
    pub closed: BTreeSet<NodeId>,
    /// Consumers by index (`NodeId::Consumer(i)`), from their events.
    pub consumers: BTreeMap<u16, ConsumerAt>,
    /// Groups whose coordinator has started a rebalance that is not yet stable.
    pub rebalancing: BTreeSet<Arc<str>>,
    /// Each group's committed offsets as its coordinator stored them (`OffsetsCommitted`).
    pub group_offsets: BTreeMap<Arc<str>, BTreeMap<TopicPartition, u64>>,
    /// Transactions: open ones and markers per partition (the LSO), each `transactional.id`'s
    /// coordinator state.
    pub txns: Transactions,
    /// Per replica, the last move of its log start (`SegmentsDeleted`, `LogStartIncremented`);
    /// the log start and segments themselves are the replay's.
    pub start_moves: BTreeMap<(TopicPartition, BrokerId), StartMove>,
    /// How many of the session's entries are folded in.
    pub applied: usize,
    /// Entries at or before this millisecond are folded in.
    pub at: Millis,
    generation: u64,
    /// What changed in the replicas' logs since the fold had `dirty.since` entries.
    dirty: Dirty,
}

/// Per replica, the lowest offset an append or a truncation has touched since the fold had
/// `since` entries: below it, the log is what it was then, so a checkpoint taken then can
/// lend its nodes for that prefix.
#[derive(Clone, Debug, Default)]
struct Dirty {
    since: usize,
    low: BTreeMap<(TopicPartition, BrokerId), usize>,
}

impl Dirty {
    fn touch(&mut self, tp: &TopicPartition, b: BrokerId, offset: u64) {
        let offset = offset as usize;
        match self.low.get_mut(&(tp.clone(), b)) {
            Some(low) => *low = (*low).min(offset),
            None => {
                self.low.insert((tp.clone(), b), offset);
            }
        }
    }
}

/// The folded cluster every [`Checkpoints::EVERY`] entries, so that going back in a long trace
/// replays from the nearest checkpoint instead of from the start (dragging the scrubber back
/// through the 360 000 entries of `classroom` stays smooth).
///
/// A checkpoint does not copy the replicas' logs: each is a [`SharedLog`] that shares its nodes
/// with the previous checkpoint's, up to where the log changed since (the fold tracks that in
/// `Dirty`). Memory grows with what the trace appended, not with checkpoints × log length: a
/// fully loaded 10-minute session at 9 brokers × 30 partitions would otherwise hold gigabytes
/// of copies of the same records.
#[derive(Clone, Debug)]
pub struct Checkpoints {
    saved: Vec<Checkpoint>,
    every: usize,
}

/// What the checkpoints hold, in bytes (see [`Checkpoints::heap_bytes`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CheckpointBytes {
    /// Everything but the logs: roles, HWs, ISRs, messages in flight, node and link states.
    pub folds: usize,
    /// The logs' shared nodes, each counted once.
    pub logs: usize,
    /// What the logs would take as a copy per checkpoint (without sharing), for comparison.
    pub logs_unshared: usize,
}

impl CheckpointBytes {
    pub fn total(&self) -> usize {
        self.folds + self.logs
    }

    /// Without sharing: the folds and a copy of every log in every checkpoint.
    pub fn total_unshared(&self) -> usize {
        self.folds + self.logs_unshared
    }
}

#[derive(Clone, Debug)]
struct Checkpoint {
    /// The fold with every replica's log left empty.
    fold: ClusterAt,
    logs: BTreeMap<(TopicPartition, BrokerId), SharedLog>,
}

impl Default for Checkpoints {
    fn default() -> Self {
        Checkpoints::every(Self::EVERY)
    }
}

impl Checkpoints {
    pub const EVERY: usize = 20_000;

    /// Checkpoints every `every` entries (tests use short intervals).
    pub fn every(every: usize) -> Self {
        Checkpoints {
            saved: Vec::new(),
            every: every.max(1),
        }
    }

    /// Forgets the checkpoints that include entries past `keep` (a branch replaced them).
    pub fn truncate(&mut self, keep: usize) {
        self.saved.retain(|c| c.fold.applied <= keep);
    }

    /// Takes a checkpoint of `c` if it is `every` entries past the last one.
    fn note(&mut self, c: &mut ClusterAt) {
        let last = self.saved.last();
        if c.applied < last.map_or(0, |l| l.fold.applied) + self.every {
            return;
        }
        // The last checkpoint lends its nodes if the fold has tracked every change since it
        // (after a branch dropped later checkpoints, it may have tracked less).
        let base = last.filter(|l| l.fold.applied >= c.dirty.since);
        let logs = c
            .replay
            .replicas
            .iter()
            .map(|(key, r)| {
                let log = match base.and_then(|b| b.logs.get(key)) {
                    Some(prev) => {
                        let unchanged = c.dirty.low.get(key).copied().unwrap_or(usize::MAX);
                        let mut log = prev.clone();
                        log.sync(&r.log, unchanged);
                        log
                    }
                    None => SharedLog::from_slice(&r.log),
                };
                debug_assert_eq!(log.len(), r.log.len());
                (key.clone(), log)
            })
            .collect();
        // The fold without its logs: take them out, copy the rest, put them back.
        let taken: Vec<_> = c
            .replay
            .replicas
            .values_mut()
            .map(|r| std::mem::take(&mut r.log))
            .collect();
        let mut fold = c.clone();
        fold.dirty = Dirty::default();
        for (r, log) in c.replay.replicas.values_mut().zip(taken) {
            r.log = log;
        }
        self.saved.push(Checkpoint { fold, logs });
        c.dirty = Dirty {
            since: c.applied,
            low: BTreeMap::new(),
        };
    }

    fn best(&self, end: usize) -> Option<&Checkpoint> {
        self.saved.iter().rev().find(|c| c.fold.applied <= end)
    }

    pub fn len(&self) -> usize {
        self.saved.len()
    }

    pub fn is_empty(&self) -> bool {
        self.saved.is_empty()
    }

    /// Bytes the checkpoints hold on the heap, each shared log node counted once (an
    /// estimate: the containers' contents and capacities, not the allocator's overhead). The
    /// record values themselves are `Arc`s shared with the trace and are not counted.
    pub fn heap_bytes(&self) -> CheckpointBytes {
        let mut seen = BTreeSet::new();
        let mut bytes = CheckpointBytes::default();
        for c in &self.saved {
            bytes.folds += c.fold.heap_bytes()
                + c.logs.len() * (size_of::<(TopicPartition, BrokerId)>() + size_of::<SharedLog>());
            for l in c.logs.values() {
                bytes.logs += l.heap_bytes(&mut seen);
                bytes.logs_unshared += l.len() * size_of::<Arc<str>>();
            }
        }
        bytes
    }

    /// The logs of the `i`th checkpoint, for tests of the sharing.
    pub fn logs(&self, i: usize) -> Option<&BTreeMap<(TopicPartition, BrokerId), SharedLog>> {
        self.saved.get(i).map(|c| &c.logs)
    }
}

impl Checkpoint {
    /// Turns `c` into the fold this checkpoint stands for, logs and all. Each replica's log
    /// keeps the records it has in common with the checkpoint's at the start and takes only
    /// the rest from the checkpoint: a rewind touches what differs, not every record.
    fn restore_into(&self, c: &mut ClusterAt) {
        let mut old = std::mem::replace(c, self.fold.clone());
        let mut dropped = Vec::new();
        for (key, r) in c.replay.replicas.iter_mut() {
            let Some(log) = self.logs.get(key) else {
                continue;
            };
            let mut live = old
                .replay
                .replicas
                .get_mut(key)
                .map(|o| std::mem::take(&mut o.log))
                .unwrap_or_default();
            dropped.push(log.restore_into(&mut live));
            r.log = live;
        }
        c.dirty = Dirty {
            since: c.applied,
            low: BTreeMap::new(),
        };
        crate::background::drop_later((old, dropped));
    }
}

impl ClusterAt {
    /// Moves to millisecond `t` of `session`'s trace (clamped to what is simulated).
    pub fn seek(&mut self, session: &Session, t: Millis, checkpoints: &mut Checkpoints) {
        let end = session.entries_through(t);
        // A branch keeps every entry before its millisecond, which is after the displayed
        // one, so only going back (or a shorter trace) needs a fresh fold.
        if t < self.at || self.applied > session.entries.len() {
            match checkpoints.best(end) {
                Some(c) => c.restore_into(self),
                None => crate::background::drop_later(std::mem::take(self)),
            }
        } else if let Some(c) = checkpoints
            .best(end)
            .filter(|c| c.fold.applied > self.applied + checkpoints.every)
        {
            // A jump far ahead starts from the checkpoint nearest the target, not from here.
            c.restore_into(self);
        }
        self.generation = session.generation;
        while self.applied < end {
            let stop = (self.applied + checkpoints.every).min(end);
            for e in &session.entries[self.applied..stop] {
                self.apply(e.at, &e.event);
            }
            self.applied = stop;
            self.at = session.entries[stop - 1].at;
            // Messages delivered by now are no longer in flight; without this a long fold
            // (and every checkpoint it takes) would carry every message ever sent.
            let at = self.at;
            self.in_flight.retain(|_, f| f.deliver_at > at);
            checkpoints.note(self);
        }
        self.at = t;
        self.in_flight.retain(|_, f| f.deliver_at > t);
    }

    /// Bytes this fold owns on the heap (see [`Checkpoints::heap_bytes`]).
    pub fn heap_bytes(&self) -> usize {
        let map = |n: usize, k: usize, v: usize| n * (k + v);
        let replicas: usize = self
            .replay
            .replicas
            .values()
            .map(|r| {
                r.log.capacity() * size_of::<Arc<str>>() + r.segments.capacity() * size_of::<u64>()
            })
            .sum::<usize>()
            + map(
                self.replay.replicas.len(),
                size_of::<(TopicPartition, u32)>(),
                size_of::<kafkascope_sim::replay::ReplicaState>(),
            );
        let partitions: usize = self
            .replay
            .partitions
            .values()
            .map(|m| (m.replicas.capacity() + m.isr.capacity()) * size_of::<u32>())
            .sum::<usize>()
            + map(
                self.replay.partitions.len(),
                size_of::<TopicPartition>(),
                size_of::<kafkascope_sim::replay::PartitionMeta>(),
            );
        replicas
            + partitions
            + map(
                self.replay.nodes.len(),
                size_of::<NodeId>(),
                size_of::<NodeState>(),
            )
            + map(
                self.links.len(),
                size_of::<(NodeId, NodeId)>(),
                size_of::<LinkState>(),
            )
            + map(self.in_flight.len(), size_of::<u64>(), size_of::<Flight>())
            + map(
                self.producers.len(),
                size_of::<u16>(),
                size_of::<ProducerCounts>(),
            )
            + self.txns.heap_bytes()
            + map(
                self.start_moves.len(),
                size_of::<(TopicPartition, BrokerId)>(),
                size_of::<StartMove>(),
            )
    }

    /// The last move of `b`'s log start for `tp`, if any.
    pub fn start_move(&self, tp: &TopicPartition, b: BrokerId) -> Option<&StartMove> {
        self.start_moves.get(&(tp.clone(), b))
    }

    /// Consumer `i` at the displayed moment (default: not yet joined).
    pub fn consumer(&self, i: u16) -> ConsumerAt {
        self.consumers.get(&i).cloned().unwrap_or_default()
    }

    /// A consumer's lag: for each partition it owns, the partition's HW minus its group's
    /// committed offset there (0 where nothing is committed yet), summed.
    pub fn consumer_lag(&self, i: u16, group: Option<&str>) -> u64 {
        let offsets = group.and_then(|g| self.group_offsets.get(g));
        self.consumer(i)
            .owned
            .iter()
            .map(|tp| {
                let hw = self
                    .replay
                    .authoritative(tp)
                    .map_or(0, |(_, r)| r.high_watermark);
                let committed = offsets.and_then(|o| o.get(tp)).copied().unwrap_or(0);
                hw.saturating_sub(committed)
            })
            .sum()
    }

    fn consumer_mut(&mut self, n: NodeId) -> Option<&mut ConsumerAt> {
        match n {
            NodeId::Consumer(i) => Some(self.consumers.entry(i).or_default()),
            _ => None,
        }
    }

    /// The consumer side of `e`: membership, assignment, records in hand.
    fn apply_consumer(&mut self, e: &Event) {
        match e {
            Event::Crashed { node, .. } | Event::ShutDown { node } => {
                if let Some(c) = self.consumer_mut(*node) {
                    c.owned.clear();
                    c.in_hand = 0;
                }
            }
            Event::Restarted { node } => {
                if let Some(c) = self.consumer_mut(*node) {
                    *c = ConsumerAt {
                        processed: c.processed,
                        ..ConsumerAt::default()
                    };
                }
            }
            Event::RebalanceStarted { group, .. } => {
                self.rebalancing.insert(group.clone());
                self.refresh_phases();
            }
            Event::GroupStable { group, .. } => {
                self.rebalancing.remove(group);
                self.refresh_phases();
            }
            Event::OffsetsCommitted { group, offsets, .. } => {
                let g = self.group_offsets.entry(group.clone()).or_default();
                for (tp, o) in offsets {
                    g.insert(tp.clone(), *o);
                }
            }
            Event::JoinedGroup {
                consumer,
                group,
                generation,
                ..
            } => {
                if let Some(c) = self.consumer_mut(*consumer) {
                    c.group = Some(group.clone());
                    c.generation = Some(*generation);
                    c.phase = ConsumerPhase::Rebalancing;
                }
            }
            Event::PartitionsAssigned {
                consumer,
                group,
                owned,
                ..
            } => {
                let stable = !self.rebalancing.contains(group);
                if let Some(c) = self.consumer_mut(*consumer) {
                    c.owned = owned.clone();
                    c.phase = if stable {
                        ConsumerPhase::Processing
                    } else {
                        ConsumerPhase::Rebalancing
                    };
                }
            }
            Event::PartitionsRevoked {
                consumer, revoked, ..
            } => {
                if let Some(c) = self.consumer_mut(*consumer) {
                    c.owned.retain(|tp| !revoked.contains(tp));
                }
            }
            Event::Polled {
                consumer, values, ..
            } => {
                if let Some(c) = self.consumer_mut(*consumer) {
                    c.in_hand += values.len() as u64;
                }
            }
            Event::Processed { consumer, .. } => {
                if let Some(c) = self.consumer_mut(*consumer) {
                    c.in_hand = c.in_hand.saturating_sub(1);
                    c.processed += 1;
                }
            }
            Event::LeftGroup { consumer, .. } => {
                if let Some(c) = self.consumer_mut(*consumer) {
                    c.owned.clear();
                    c.in_hand = 0;
                    c.phase = ConsumerPhase::Left;
                }
            }
            Event::ConsumerFailed { consumer, .. } => {
                if let Some(c) = self.consumer_mut(*consumer) {
                    c.owned.clear();
                    c.in_hand = 0;
                    c.phase = ConsumerPhase::Failed;
                }
            }
            _ => {}
        }
    }

    /// Members of a group whose rebalance started show it; those of a group that is stable
    /// again and have their assignment are processing.
    fn refresh_phases(&mut self) {
        for c in self.consumers.values_mut() {
            let Some(g) = &c.group else { continue };
            let busy = self.rebalancing.contains(g);
            c.phase = match c.phase {
                ConsumerPhase::Processing if busy => ConsumerPhase::Rebalancing,
                ConsumerPhase::Rebalancing if !busy && c.generation.is_some() => {
                    ConsumerPhase::Processing
                }
                p => p,
            };
        }
    }

    pub fn node(&self, n: NodeId) -> NodeState {
        self.replay.status(n)
    }

    pub fn link(&self, from: NodeId, to: NodeId) -> LinkState {
        self.links.get(&(from, to)).copied().unwrap_or_default()
    }

    fn link_mut(&mut self, from: NodeId, to: NodeId) -> &mut LinkState {
        self.links.entry((from, to)).or_default()
    }

    fn apply(&mut self, at: Millis, e: &Event) {
        // The log changes `Replay` makes, so that a checkpoint knows what it can share.
        match e {
            Event::Appended {
                broker,
                tp,
                base_offset,
                ..
            } => self.dirty.touch(tp, *broker, *base_offset),
            Event::Truncated { broker, tp, to, .. } => self.dirty.touch(tp, *broker, *to),
            // A follower behind its leader's log start empties its log and starts there: the
            // replay pads the offsets it never held.
            Event::LogStartIncremented {
                broker,
                tp,
                log_start_offset,
                reason: LogStartReason::TruncatedFully,
            } => {
                let len = self.replay.replica(tp, *broker).map_or(0, |r| r.log.len());
                self.dirty
                    .touch(tp, *broker, (*log_start_offset).min(len as u64));
            }
            _ => {}
        }
        let start_before = |c: &ClusterAt, tp: &TopicPartition, b: BrokerId| {
            c.replay.replica(tp, b).map_or(0, |r| r.log_start_offset)
        };
        let start_move = match e {
            Event::SegmentsDeleted {
                broker,
                tp,
                reason,
                segments,
                records,
                ..
            } => Some((
                tp,
                *broker,
                start_before(self, tp, *broker),
                StartCause::Deleted(*reason),
                segments.len(),
                *records,
            )),
            Event::LogStartIncremented {
                broker, tp, reason, ..
            } => Some((
                tp,
                *broker,
                start_before(self, tp, *broker),
                StartCause::Moved(*reason),
                0,
                0,
            )),
            _ => None,
        };
        self.replay.apply(e);
        if let Some((tp, b, from, cause, segments, records)) = start_move {
            let to = start_before(self, tp, b);
            self.start_moves.insert(
                (tp.clone(), b),
                StartMove {
                    at,
                    from,
                    to,
                    cause,
                    segments,
                    records,
                },
            );
        }
        self.reader.absorb(e);
        self.apply_consumer(e);
        self.txns.apply(e);
        if let Event::TxnMarkerWritten { tp, .. } = e {
            // Closed transactions below every replica's HW no longer hold an LSO back.
            let lowest = self
                .replay
                .replicas
                .range((tp.clone(), 0)..=(tp.clone(), BrokerId::MAX))
                .map(|(_, r)| r.high_watermark)
                .min();
            if let Some(hw) = lowest {
                self.txns.forget_stable(tp, hw);
            }
        }
        match e {
            Event::Link { from, to, change } => {
                let l = self.link_mut(*from, *to);
                match change {
                    LinkChange::Cut => l.cut = true,
                    LinkChange::Healed => l.cut = false,
                    LinkChange::Held => l.held = true,
                    LinkChange::Released => l.held = false,
                    LinkChange::Set {
                        latency_min_ms,
                        latency_max_ms,
                        loss,
                    } => l.params = Some((*latency_min_ms, *latency_max_ms, *loss)),
                }
                if l.is_default() {
                    self.links.remove(&(*from, *to));
                }
            }
            Event::Sent {
                id,
                from,
                to,
                kind,
                deliver_at,
                ..
            } => {
                self.in_flight.insert(
                    *id,
                    Flight {
                        from: *from,
                        to: *to,
                        kind: *kind,
                        sent_at: at,
                        deliver_at: *deliver_at,
                    },
                );
            }
            Event::Dropped { id, .. } => {
                self.in_flight.remove(id);
            }
            Event::Produced {
                producer: NodeId::Producer(p),
                ..
            } => self.producers.entry(*p).or_default().produced += 1,
            Event::Acked {
                producer: NodeId::Producer(p),
                values,
                ..
            } => self.producers.entry(*p).or_default().acked += values.len() as u64,
            Event::SendFailed {
                producer: NodeId::Producer(p),
                values,
                retry: false,
                ..
            }
            | Event::Expired {
                producer: NodeId::Producer(p),
                values,
                ..
            } => self.producers.entry(*p).or_default().failed += values.len() as u64,
            Event::NodeAdded { node, .. } => {
                self.added.insert(*node);
            }
            Event::ClientClosed { client, .. } => {
                self.closed.insert(*client);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests;
