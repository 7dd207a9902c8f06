//! The simulated network between nodes.
//!
//! madsim's own network offers one global latency range and loss rate and no ordering between
//! two messages on a link. Kafka runs over TCP, where one connection delivers in order and a
//! dead peer's operating system answers with a reset, and scenarios need per-link latency,
//! loss, one-way cuts and held messages. So links are modelled here: each directed link has a
//! latency range and a loss rate; delivery on a link is FIFO (a message never overtakes an
//! earlier one); a cut drops what is in flight; a held link buffers until released. All
//! randomness comes from one generator seeded by the scenario.

use std::collections::{BTreeMap, BTreeSet};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::ids::{Millis, NodeId};
use crate::protocol::Message;
use crate::trace::{DropReason, Event, LinkChange};

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LinkParams {
    pub latency_min_ms: u64,
    pub latency_max_ms: u64,
    pub loss: f64,
}

impl Default for LinkParams {
    fn default() -> Self {
        LinkParams {
            latency_min_ms: 1,
            latency_max_ms: 3,
            loss: 0.0,
        }
    }
}

/// Whether a node can receive, and what a sender sees when it cannot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reachability {
    Up,
    /// The process is gone but the machine answers: connections are reset.
    ProcessDown,
    /// The machine is off: silence.
    MachineDown,
}

#[derive(Debug)]
struct InFlight {
    id: u64,
    from: NodeId,
    msg: Message,
}

pub struct Network {
    rng: ChaCha8Rng,
    default: LinkParams,
    links: BTreeMap<(NodeId, NodeId), LinkParams>,
    cut: BTreeSet<(NodeId, NodeId)>,
    held: BTreeMap<(NodeId, NodeId), Vec<InFlight>>,
    last_delivery: BTreeMap<(NodeId, NodeId), Millis>,
    inboxes: BTreeMap<NodeId, BTreeMap<(Millis, u64), InFlight>>,
    reach: BTreeMap<NodeId, Reachability>,
    next_id: u64,
}

impl Network {
    pub fn new(seed: u64, default: LinkParams) -> Self {
        Network {
            rng: ChaCha8Rng::seed_from_u64(seed),
            default,
            links: BTreeMap::new(),
            cut: BTreeSet::new(),
            held: BTreeMap::new(),
            last_delivery: BTreeMap::new(),
            inboxes: BTreeMap::new(),
            reach: BTreeMap::new(),
            next_id: 0,
        }
    }

    pub fn params(&self, from: NodeId, to: NodeId) -> LinkParams {
        self.links.get(&(from, to)).copied().unwrap_or(self.default)
    }

    pub fn cuts(&self) -> impl Iterator<Item = &(NodeId, NodeId)> {
        self.cut.iter()
    }

    pub fn set_reachability(&mut self, node: NodeId, r: Reachability, events: &mut Vec<Event>) {
        self.reach.insert(node, r);
        if r != Reachability::Up {
            // Whatever was on its way to the node dies with it.
            if let Some(inbox) = self.inboxes.remove(&node) {
                for (_, m) in inbox {
                    events.push(Event::Dropped {
                        id: m.id,
                        reason: DropReason::NodeDown,
                    });
                }
            }
        }
    }

    fn reachability(&self, node: NodeId) -> Reachability {
        self.reach.get(&node).copied().unwrap_or(Reachability::Up)
    }

    fn schedule(&mut self, now: Millis, from: NodeId, to: NodeId) -> Millis {
        let p = self.params(from, to);
        let lat = if p.latency_max_ms > p.latency_min_ms {
            self.rng.gen_range(p.latency_min_ms..=p.latency_max_ms)
        } else {
            p.latency_min_ms
        };
        let last = self.last_delivery.get(&(from, to)).copied().unwrap_or(0);
        let at = (now + lat.max(1)).max(last);
        self.last_delivery.insert((from, to), at);
        at
    }

    /// Sends a message; records what happens to it.
    pub fn send(
        &mut self,
        now: Millis,
        from: NodeId,
        to: NodeId,
        msg: Message,
        events: &mut Vec<Event>,
    ) {
        self.next_id += 1;
        let m = InFlight {
            id: self.next_id,
            from,
            msg,
        };
        if let Some(held) = self.held.get_mut(&(from, to)) {
            events.push(Event::Sent {
                id: m.id,
                from,
                to,
                kind: m.msg.kind(),
                summary: m.msg.summary(),
                deliver_at: Millis::MAX,
            });
            held.push(m);
            return;
        }
        self.transmit(now, to, m, true, events);
    }

    /// Puts a message on the wire: it arrives after the link's latency, unless the link is cut,
    /// the loss draw takes it (`lossy`), or nobody is there to receive it.
    fn transmit(
        &mut self,
        now: Millis,
        to: NodeId,
        m: InFlight,
        lossy: bool,
        events: &mut Vec<Event>,
    ) {
        let (id, from) = (m.id, m.from);
        let deliver_at = self.schedule(now, from, to);
        events.push(Event::Sent {
            id,
            from,
            to,
            kind: m.msg.kind(),
            summary: m.msg.summary(),
            deliver_at,
        });
        let drop = |reason| Event::Dropped { id, reason };
        if self.cut.contains(&(from, to)) {
            events.push(drop(DropReason::Partitioned));
            return;
        }
        let loss = self.params(from, to).loss;
        if lossy && loss > 0.0 && self.rng.gen_bool(loss.min(1.0)) {
            events.push(drop(DropReason::Loss));
            return;
        }
        match self.reachability(to) {
            Reachability::Up => {
                self.inboxes
                    .entry(to)
                    .or_default()
                    .insert((deliver_at, id), m);
            }
            Reachability::ProcessDown => {
                events.push(drop(DropReason::NodeDown));
                if !matches!(m.msg, Message::Disconnected) {
                    self.send(now, to, from, Message::Disconnected, events);
                }
            }
            Reachability::MachineDown => events.push(drop(DropReason::NodeDown)),
        }
    }

    /// The next message due for `node` at or before `now`.
    pub fn pop_due(&mut self, node: NodeId, now: Millis) -> Option<(NodeId, Message)> {
        let inbox = self.inboxes.get_mut(&node)?;
        let (&key, _) = inbox.iter().next()?;
        if key.0 > now {
            return None;
        }
        let m = inbox.remove(&key).expect("present");
        Some((m.from, m.msg))
    }

    pub fn next_delivery(&self, node: NodeId) -> Option<Millis> {
        self.inboxes.get(&node)?.keys().next().map(|k| k.0)
    }

    /// Cuts `from -> to`: messages in flight on it are lost.
    pub fn cut(&mut self, now: Millis, from: NodeId, to: NodeId, events: &mut Vec<Event>) {
        if !self.cut.insert((from, to)) {
            return;
        }
        events.push(Event::Link {
            from,
            to,
            change: LinkChange::Cut,
        });
        if let Some(inbox) = self.inboxes.get_mut(&to) {
            let doomed: Vec<(Millis, u64)> = inbox
                .iter()
                .filter(|(k, m)| m.from == from && k.0 > now)
                .map(|(k, _)| *k)
                .collect();
            for k in doomed {
                let m = inbox.remove(&k).expect("listed");
                events.push(Event::Dropped {
                    id: m.id,
                    reason: DropReason::Partitioned,
                });
            }
        }
    }

    pub fn heal(&mut self, from: NodeId, to: NodeId, events: &mut Vec<Event>) {
        if self.cut.remove(&(from, to)) {
            events.push(Event::Link {
                from,
                to,
                change: LinkChange::Healed,
            });
        }
    }

    pub fn heal_all(&mut self, events: &mut Vec<Event>) {
        let all: Vec<(NodeId, NodeId)> = self.cut.iter().copied().collect();
        for (a, b) in all {
            self.heal(a, b, events);
        }
    }

    pub fn hold(&mut self, from: NodeId, to: NodeId, events: &mut Vec<Event>) {
        if let std::collections::btree_map::Entry::Vacant(v) = self.held.entry((from, to)) {
            v.insert(Vec::new());
            events.push(Event::Link {
                from,
                to,
                change: LinkChange::Held,
            });
        }
    }

    /// Releases a held link: its messages leave now, in order (each appears again as `Sent`).
    pub fn release(&mut self, now: Millis, from: NodeId, to: NodeId, events: &mut Vec<Event>) {
        let Some(msgs) = self.held.remove(&(from, to)) else {
            return;
        };
        events.push(Event::Link {
            from,
            to,
            change: LinkChange::Released,
        });
        for m in msgs {
            // Held messages were already subject to loss when first sent.
            self.transmit(now, to, m, false, events);
        }
    }

    pub fn set_link(&mut self, from: NodeId, to: NodeId, p: LinkParams, events: &mut Vec<Event>) {
        self.links.insert((from, to), p);
        events.push(Event::Link {
            from,
            to,
            change: LinkChange::Set {
                latency_min_ms: p.latency_min_ms,
                latency_max_ms: p.latency_max_ms,
                loss: p.loss,
            },
        });
    }

    /// Sets a link's parameters at start, without tracing.
    pub fn configure_link(&mut self, from: NodeId, to: NodeId, p: LinkParams) {
        self.links.insert((from, to), p);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: NodeId = NodeId::Broker(1);
    const B: NodeId = NodeId::Broker(2);

    fn net() -> Network {
        Network::new(
            7,
            LinkParams {
                latency_min_ms: 1,
                latency_max_ms: 20,
                loss: 0.0,
            },
        )
    }

    #[test]
    fn a_link_delivers_in_order_whatever_the_latency_draws() {
        let mut n = net();
        let mut ev = Vec::new();
        for c in 0..50 {
            n.send(
                c / 5,
                A,
                B,
                Message::MetadataRequest { correlation: c },
                &mut ev,
            );
        }
        let mut got = Vec::new();
        while let Some((_, Message::MetadataRequest { correlation })) = n.pop_due(B, 1000) {
            got.push(correlation);
        }
        assert_eq!(got, (0..50).collect::<Vec<_>>());
    }

    #[test]
    fn a_cut_drops_what_is_in_flight_and_a_dead_process_resets_the_connection() {
        let mut n = net();
        let mut ev = Vec::new();
        n.send(
            0,
            A,
            B,
            Message::MetadataRequest { correlation: 1 },
            &mut ev,
        );
        n.cut(0, A, B, &mut ev);
        assert!(n.pop_due(B, 1000).is_none());
        n.heal(A, B, &mut ev);
        n.set_reachability(B, Reachability::ProcessDown, &mut ev);
        n.send(
            5,
            A,
            B,
            Message::MetadataRequest { correlation: 2 },
            &mut ev,
        );
        assert!(matches!(
            n.pop_due(A, 1000),
            Some((B, Message::Disconnected))
        ));
        n.set_reachability(B, Reachability::MachineDown, &mut ev);
        n.send(
            5,
            A,
            B,
            Message::MetadataRequest { correlation: 3 },
            &mut ev,
        );
        assert!(
            n.pop_due(A, 1000).is_none(),
            "a machine without power says nothing"
        );
    }

    #[test]
    fn held_messages_wait_for_release() {
        let mut n = net();
        let mut ev = Vec::new();
        n.hold(A, B, &mut ev);
        n.send(
            0,
            A,
            B,
            Message::MetadataRequest { correlation: 1 },
            &mut ev,
        );
        assert!(n.pop_due(B, 500).is_none());
        n.release(500, A, B, &mut ev);
        assert!(n.pop_due(B, 500).is_none());
        assert!(n.pop_due(B, 521).is_some());
    }
}
