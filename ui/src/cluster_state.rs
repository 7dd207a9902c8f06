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

impl ClusterAt {
    /// Moves to millisecond `t` of `session`'s trace (clamped to what is simulated).
    pub fn seek(&mut self, session: &Session, t: Millis) {
        if session.generation != self.generation
            || t < self.at
            || self.applied > session.entries.len()
        {
            *self = ClusterAt {
                generation: session.generation,
                ..Default::default()
            };
        }
        let end = session.entries_through(t);
        for e in &session.entries[self.applied..end] {
            self.apply(e.at, &e.event);
        }
        self.applied = end;
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
