//! The cluster as the trace describes it, rebuilt event by event.
//!
//! Checkers and reports read only the trace. This module replays it into what every replica
//! holds (values by offset), each replica's HW, and the controller's view of each partition,
//! so that "what did broker 2 hold at 12.3 s" has one answer for every reader; and whether
//! each node's process runs, which the terminal view, the app and the lessons' conditions all
//! read from here.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::ids::{BrokerId, NodeId, TopicPartition};
use crate::trace::{ChangeReason, CrashKind, Event, LogStartReason};

/// Whether a node's process runs, as the trace last said.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeStatus {
    Up,
    /// Stopped running without losing anything (a long GC pause), until resumed.
    Paused,
    /// Crashed: a process crash or a power loss, until restarted.
    Down(CrashKind),
    /// Stopped by a controlled shutdown (a consumer's close()), until restarted.
    Stopped,
}

impl NodeStatus {
    pub fn is_up(self) -> bool {
        self == NodeStatus::Up
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReplicaState {
    /// The value written at each offset, from 0: what the replica holds or held (retention's
    /// deletions stay readable here for checkers; `log_start_offset` says what is gone). A
    /// follower that started at its leader's log start has `""` below it.
    pub log: Vec<Arc<str>>,
    /// Offsets below were deleted (retention, DeleteRecords).
    pub log_start_offset: u64,
    /// The base offsets of the replica's segments; the last is the active one.
    pub segments: Vec<u64>,
    pub high_watermark: u64,
    /// Leader, follower, or neither (down, or not yet told).
    pub role: ReplayRole,
    /// Whether the broker process is up.
    pub up: bool,
}

/// Whether two replicas agree at an offset: `""` (an offset the replica never held: it started
/// at its leader's log start, past it) agrees with anything; a missing offset with nothing.
pub fn agrees(a: Option<&Arc<str>>, b: Option<&Arc<str>>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a.is_empty() || b.is_empty() || a == b,
        _ => false,
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ReplayRole {
    #[default]
    None,
    Leader,
    Follower,
}

#[derive(Clone, Debug, PartialEq)]
pub struct PartitionMeta {
    pub replicas: Vec<BrokerId>,
    pub leader: Option<BrokerId>,
    pub leader_epoch: u32,
    pub partition_epoch: u32,
    pub isr: Vec<BrokerId>,
    /// Eligible Leader Replicas (KIP-966).
    pub elr: Vec<BrokerId>,
    pub last_reason: ChangeReason,
}

#[derive(Clone, Debug, Default)]
pub struct Replay {
    pub replicas: BTreeMap<(TopicPartition, BrokerId), ReplicaState>,
    pub partitions: BTreeMap<TopicPartition, PartitionMeta>,
    /// Every node whose process the trace has stopped or started; the others are up.
    pub nodes: BTreeMap<NodeId, NodeStatus>,
}

impl Replay {
    pub fn replica(&self, tp: &TopicPartition, b: BrokerId) -> Option<&ReplicaState> {
        self.replicas.get(&(tp.clone(), b))
    }

    /// Whether `broker` leading `tp` in `epoch` is the controller's current choice, rather than a
    /// zombie acting on stale metadata (a paused broker resuming, say).
    pub fn is_elected(&self, tp: &TopicPartition, broker: BrokerId, epoch: u32) -> bool {
        self.partitions
            .get(tp)
            .is_some_and(|m| m.leader == Some(broker) && m.leader_epoch == epoch)
    }

    /// The log a reader would see at the end: the leader's; for an offline partition, that of
    /// the ISR member the controller would elect when it returns.
    pub fn authoritative(&self, tp: &TopicPartition) -> Option<(BrokerId, &ReplicaState)> {
        let meta = self.partitions.get(tp)?;
        let b = meta
            .leader
            .or_else(|| meta.isr.first().copied())
            .or_else(|| meta.elr.first().copied())?;
        Some((b, self.replica(tp, b)?))
    }

    /// Whether `node`'s process runs.
    pub fn status(&self, node: NodeId) -> NodeStatus {
        self.nodes.get(&node).copied().unwrap_or(NodeStatus::Up)
    }

    pub fn apply(&mut self, e: &Event) {
        let status = match e {
            Event::Crashed { node, kind } => Some((node, NodeStatus::Down(*kind))),
            Event::ShutDown { node } => Some((node, NodeStatus::Stopped)),
            Event::Paused { node } => Some((node, NodeStatus::Paused)),
            Event::Restarted { node } | Event::Resumed { node } => Some((node, NodeStatus::Up)),
            _ => None,
        };
        if let Some((node, status)) = status {
            self.nodes.insert(*node, status);
        }
        match e {
            Event::PartitionChanged {
                tp,
                leader,
                leader_epoch,
                partition_epoch,
                isr,
                elr,
                reason,
            } => {
                let replicas = match self.partitions.get(tp) {
                    Some(m) => m.replicas.clone(),
                    None => isr.clone(),
                };
                for &b in &replicas {
                    self.rep(tp, b);
                }
                self.partitions.insert(
                    tp.clone(),
                    PartitionMeta {
                        replicas,
                        leader: *leader,
                        leader_epoch: *leader_epoch,
                        partition_epoch: *partition_epoch,
                        isr: isr.clone(),
                        elr: elr.clone(),
                        last_reason: *reason,
                    },
                );
            }
            Event::BecameLeader { broker, tp, .. } => {
                self.rep(tp, *broker).role = ReplayRole::Leader
            }
            Event::BecameFollower { broker, tp, .. } => {
                self.rep(tp, *broker).role = ReplayRole::Follower
            }
            Event::Appended {
                broker,
                tp,
                base_offset,
                values,
                ..
            } => {
                let r = self.rep(tp, *broker);
                r.log.truncate(*base_offset as usize);
                if r.log.len() < *base_offset as usize {
                    r.log.resize(*base_offset as usize, Arc::from(""));
                }
                r.log.extend(values.iter().cloned());
            }
            Event::Truncated { broker, tp, to, .. } => {
                let r = self.rep(tp, *broker);
                r.log.truncate(*to as usize);
                r.high_watermark = r.high_watermark.min(*to);
                r.segments.retain(|&b| b <= *to);
                if r.segments.is_empty() {
                    r.segments.push(*to);
                }
                r.log_start_offset = r.log_start_offset.min(*to);
            }
            Event::SegmentRolled {
                broker,
                tp,
                base_offset,
            } => self.rep(tp, *broker).segments.push(*base_offset),
            Event::SegmentsDeleted {
                broker,
                tp,
                segments,
                log_start_offset,
                ..
            } => {
                let r = self.rep(tp, *broker);
                r.segments.retain(|b| !segments.contains(b));
                r.log_start_offset = r.log_start_offset.max(*log_start_offset);
            }
            Event::LogStartIncremented {
                broker,
                tp,
                log_start_offset,
                reason,
            } => {
                let r = self.rep(tp, *broker);
                r.log_start_offset = *log_start_offset;
                if *reason == LogStartReason::TruncatedFully {
                    r.segments = vec![*log_start_offset];
                    r.log.truncate(*log_start_offset as usize);
                    r.log.resize(*log_start_offset as usize, Arc::from(""));
                }
            }
            Event::HighWatermark {
                broker,
                tp,
                high_watermark,
            } => self.rep(tp, *broker).high_watermark = *high_watermark,
            Event::Recovered {
                broker,
                tp,
                high_watermark,
                ..
            } => {
                let r = self.rep(tp, *broker);
                r.high_watermark = *high_watermark;
                r.up = true;
            }
            Event::Crashed {
                node: NodeId::Broker(b),
                ..
            }
            | Event::ShutDown {
                node: NodeId::Broker(b),
            } => {
                for ((_, rb), r) in self.replicas.iter_mut() {
                    if rb == b {
                        r.role = ReplayRole::None;
                        r.up = false;
                    }
                }
            }
            Event::Restarted {
                node: NodeId::Broker(b),
            } => {
                for ((_, rb), r) in self.replicas.iter_mut() {
                    if rb == b {
                        r.up = true;
                    }
                }
            }
            _ => {}
        }
    }

    fn rep(&mut self, tp: &TopicPartition, b: BrokerId) -> &mut ReplicaState {
        self.replicas
            .entry((tp.clone(), b))
            .or_insert_with(|| ReplicaState {
                up: true,
                segments: vec![0],
                ..Default::default()
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nodes_status_is_the_last_thing_the_trace_said_of_its_process() {
        let (b, c) = (NodeId::Broker(2), NodeId::Consumer(0));
        let mut r = Replay::default();
        assert_eq!(r.status(b), NodeStatus::Up);
        let events = [
            (
                Event::Crashed {
                    node: b,
                    kind: CrashKind::PowerLoss,
                },
                NodeStatus::Down(CrashKind::PowerLoss),
            ),
            (Event::Restarted { node: b }, NodeStatus::Up),
            (Event::Paused { node: b }, NodeStatus::Paused),
            (Event::Resumed { node: b }, NodeStatus::Up),
            (Event::ShutDown { node: b }, NodeStatus::Stopped),
        ];
        for (e, status) in events {
            r.apply(&e);
            assert_eq!(r.status(b), status, "after {e:?}");
            assert!(r.status(c).is_up(), "other nodes are untouched");
        }
    }
}
