//! The cluster at the displayed moment, rebuilt from the session's trace.
//!
//! [`ClusterAt`] folds trace entries up to the displayed millisecond: the sim's [`Replay`] for
//! logs, HWs, roles and the controller's view, plus what the drawing needs that the replay does
//! not keep (node status, link faults, messages in flight, producer counts). Playing forward
//! applies only the new entries; going back replays from the start, which is cheap next to
//! re-simulating.

use std::collections::BTreeMap;

use kafkascope_sim::ids::{Millis, NodeId};
use kafkascope_sim::protocol::MessageKind;
use kafkascope_sim::replay::Replay;
use kafkascope_sim::trace::{CrashKind, Event, LinkChange};

use crate::session::Session;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeState {
    Up,
    Paused,
    Down(CrashKind),
    /// Stopped by a controlled shutdown.
    Stopped,
}

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

#[derive(Clone, Debug, Default)]
pub struct ClusterAt {
    pub replay: Replay,
    pub nodes: BTreeMap<NodeId, NodeState>,
    pub links: BTreeMap<(NodeId, NodeId), LinkState>,
    pub in_flight: BTreeMap<u64, Flight>,
    pub producers: BTreeMap<u16, ProducerCounts>,
    /// Records the reader has consumed.
    pub consumed: u64,
    /// How many of the session's entries are folded in.
    pub applied: usize,
    /// Entries at or before this millisecond are folded in.
    pub at: Millis,
    generation: u64,
}

/// Copies of the folded cluster every [`Checkpoints::EVERY`] entries, so that going back in a
/// long trace replays from the nearest copy instead of from the start (dragging the scrubber
/// back through the 360 000 entries of `classroom` stays smooth).
#[derive(Clone, Debug, Default)]
pub struct Checkpoints {
    saved: Vec<ClusterAt>,
}

impl Checkpoints {
    pub const EVERY: usize = 20_000;

    /// Forgets the copies that include entries past `keep` (a branch replaced them).
    pub fn truncate(&mut self, keep: usize) {
        self.saved.retain(|c| c.applied <= keep);
    }

    fn note(&mut self, c: &ClusterAt) {
        let last = self.saved.last().map_or(0, |l| l.applied);
        if c.applied >= last + Self::EVERY {
            self.saved.push(c.clone());
        }
    }

    fn best(&self, end: usize) -> Option<&ClusterAt> {
        self.saved.iter().rev().find(|c| c.applied <= end)
    }

    pub fn len(&self) -> usize {
        self.saved.len()
    }

    pub fn is_empty(&self) -> bool {
        self.saved.is_empty()
    }
}

impl ClusterAt {
    /// Moves to millisecond `t` of `session`'s trace (clamped to what is simulated).
    pub fn seek(&mut self, session: &Session, t: Millis, checkpoints: &mut Checkpoints) {
        let end = session.entries_through(t);
        // A branch keeps every entry before its millisecond, which is after the displayed
        // one, so only going back (or a shorter trace) needs a fresh fold.
        if t < self.at || self.applied > session.entries.len() {
            *self = match checkpoints.best(end) {
                Some(c) => c.clone(),
                None => ClusterAt::default(),
            };
        }
        self.generation = session.generation;
        while self.applied < end {
            let stop = (self.applied + Checkpoints::EVERY).min(end);
            for e in &session.entries[self.applied..stop] {
                self.apply(e.at, &e.event);
            }
            self.applied = stop;
            self.at = session.entries[stop - 1].at;
            checkpoints.note(self);
        }
        self.at = t;
        self.in_flight.retain(|_, f| f.deliver_at > t);
    }

    pub fn node(&self, n: NodeId) -> NodeState {
        self.nodes.get(&n).copied().unwrap_or(NodeState::Up)
    }

    pub fn link(&self, from: NodeId, to: NodeId) -> LinkState {
        self.links.get(&(from, to)).copied().unwrap_or_default()
    }

    fn link_mut(&mut self, from: NodeId, to: NodeId) -> &mut LinkState {
        self.links.entry((from, to)).or_default()
    }

    fn apply(&mut self, at: Millis, e: &Event) {
        self.replay.apply(e);
        match e {
            Event::Crashed { node, kind } => {
                self.nodes.insert(*node, NodeState::Down(*kind));
            }
            Event::ShutDown { node } => {
                self.nodes.insert(*node, NodeState::Stopped);
            }
            Event::Paused { node } => {
                self.nodes.insert(*node, NodeState::Paused);
            }
            Event::Restarted { node } | Event::Resumed { node } => {
                self.nodes.insert(*node, NodeState::Up);
            }
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
            Event::Consumed { .. } => self.consumed += 1,
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim_thread::Reply;
    use kafkascope_sim::host::Simulation;

    #[test]
    fn seeking_through_checkpoints_folds_the_same_cluster_as_from_the_start() {
        let text = include_str!("../../scenarios/acks1-leader-crash.toml");
        let scenario = kafkascope_sim::scenario::parse("acks1", text).unwrap();
        let mut sim = Simulation::new(&scenario, scenario.seed);
        sim.run_to_end();
        let trace = sim.into_trace();
        let mut session = Session::new("acks1", scenario, 3);
        session.absorb(Reply::Entries {
            generation: 0,
            entries: trace.entries,
            simulated_to: 30_000,
        });
        let mut checkpoints = Checkpoints::default();
        let mut c = ClusterAt::default();
        for t in [29_000, 3_000, 25_000, 24_000, 100, 29_999, 20_050] {
            c.seek(&session, t, &mut checkpoints);
            let mut fresh = ClusterAt::default();
            fresh.seek(&session, t, &mut Checkpoints::default());
            assert_eq!(c.applied, fresh.applied, "at {t}");
            assert_eq!(c.replay.replicas, fresh.replay.replicas, "at {t}");
            assert_eq!(c.replay.partitions, fresh.replay.partitions, "at {t}");
            assert_eq!(c.nodes, fresh.nodes, "at {t}");
            assert_eq!(c.in_flight, fresh.in_flight, "at {t}");
            assert_eq!(c.producers, fresh.producers, "at {t}");
        }
        assert!(!checkpoints.is_empty());
    }
}
