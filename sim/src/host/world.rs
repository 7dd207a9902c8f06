//! The world the nodes share: their state machines and what each keeps while it is down, the
//! network, and the trace. A node's madsim task locks it, feeds its state machine the input
//! due now, and records the effects.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, Weak};

use tokio::sync::Notify;

use crate::broker::{Broker, BrokerDisk, BrokerSetup};
use crate::command::Command;
use crate::connection::Connection;
use crate::consumer::{Consumer, ConsumerSpec};
use crate::controller::{Controller, ControllerDisk, TopicPolicy, TopicSpec};
use crate::effects::Effects;
use crate::ids::{BrokerId, Millis, NodeId, TopicPartition};
use crate::network::{Network, Reachability};
use crate::producer::{Producer, ProducerSpec};
use crate::protocol::Message;
use crate::reader::Reader;
use crate::scenario::{ConsumerDef, ProducerDef, Scenario};
use crate::trace::{CrashKind, Event, Trace, TraceEntry};

/// A state machine, whichever role it plays.
pub enum Actor {
    Broker(Box<Broker>),
    Controller(Box<Controller>),
    Producer(Box<Producer>),
    Reader(Box<Reader>),
    Consumer(Box<Consumer>),
    Client(Box<Connection>),
}

impl Actor {
    fn next_deadline(&self) -> Option<Millis> {
        match self {
            Actor::Broker(a) => a.next_deadline(),
            Actor::Controller(a) => a.next_deadline(),
            Actor::Producer(a) => a.next_deadline(),
            Actor::Reader(a) => a.next_deadline(),
            Actor::Consumer(a) => a.next_deadline(),
            Actor::Client(a) => a.next_deadline(),
        }
    }

    fn handle_timeout(&mut self, now: Millis, fx: &mut Effects) {
        match self {
            Actor::Broker(a) => a.handle_timeout(now, fx),
            Actor::Controller(a) => a.handle_timeout(now, fx),
            Actor::Producer(a) => a.handle_timeout(now, fx),
            Actor::Reader(a) => a.handle_timeout(now, fx),
            Actor::Consumer(a) => a.handle_timeout(now, fx),
            Actor::Client(a) => a.handle_timeout(now, fx),
        }
    }

    fn handle_message(&mut self, now: Millis, from: NodeId, msg: Message, fx: &mut Effects) {
        match self {
            Actor::Broker(a) => a.handle_message(now, from, msg, fx),
            Actor::Controller(a) => a.handle_message(now, from, msg, fx),
            Actor::Producer(a) => a.handle_message(now, from, msg, fx),
            Actor::Reader(a) => a.handle_message(now, from, msg, fx),
            Actor::Consumer(a) => a.handle_message(now, from, msg, fx),
            Actor::Client(a) => a.handle_message(now, from, msg, fx),
        }
    }
}

/// Whether a node runs, and what it keeps while it does not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeStatus {
    Running,
    Paused,
    Down,
}

pub(super) struct Slot {
    pub(super) actor: Option<Actor>,
    pub(super) status: NodeStatus,
    pub(super) broker_disk: BrokerDisk,
    pub(super) controller_disk: ControllerDisk,
    /// What a stopped producer's application had done, so that a restart goes on from there.
    pub(super) producer_progress: Option<crate::producer::Progress>,
    pub(super) notify: Arc<Notify>,
}

impl Slot {
    pub(super) fn new() -> Slot {
        Slot {
            actor: None,
            status: NodeStatus::Down,
            broker_disk: BrokerDisk::default(),
            controller_disk: ControllerDisk::default(),
            producer_progress: None,
            notify: Arc::new(Notify::new()),
        }
    }
}

/// A real client's connection (`Command::ClientConnect`).
#[derive(Clone, Debug)]
pub(super) struct ClientDef {
    pub(super) broker: BrokerId,
    pub(super) client_id: Arc<str>,
}

/// Whether `__consumer_offsets` exists, or must be created for a consumer added with a group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum OffsetsTopic {
    /// Created with the cluster (a `[[consumers]]` entry has a group), or since.
    Exists,
    /// No consumer with a group yet.
    Absent,
    /// A consumer with a group was added and the controller could not create the topic yet
    /// (`reported`: the trace already says why). Retried after every change.
    Wanted { reported: bool },
}

/// Everything the nodes share: the network, the state machines, the trace.
pub struct World {
    pub(super) now: Millis,
    pub(super) scenario: Arc<Scenario>,
    pub(super) seed: u64,
    pub(super) net: Network,
    pub(super) slots: BTreeMap<NodeId, Slot>,
    /// Producers and consumers by node index: the scenario's, then those added while running
    /// (`add-producer`, `add-consumer`), in the order they were added.
    pub(super) producers: Vec<ProducerDef>,
    pub(super) consumers: Vec<ConsumerDef>,
    pub(super) offsets_topic: OffsetsTopic,
    /// Real clients' connections by node index - 1 (`kafkascope serve`), in the order they
    /// opened.
    pub(super) clients: Vec<ClientDef>,
    /// Nodes an `isolate` cut off and no `heal` reconnected: a client connecting to one is cut
    /// off too.
    pub(super) isolated: std::collections::BTreeSet<NodeId>,
    /// `crash … when = "mid-batch"` commands waiting for their consumer to be mid-batch.
    pub(super) waiting: Vec<(Command, NodeId)>,
    pub trace: Trace,
}

/// Feeds a node's state machine every input due at the current millisecond.
fn run_node(world: &Mutex<World>, id: NodeId) {
    let mut w = world.lock().expect("world lock");
    let World {
        now,
        net,
        slots,
        trace,
        ..
    } = &mut *w;
    let now = *now;
    let Some(slot) = slots.get_mut(&id) else {
        return;
    };
    if slot.status != NodeStatus::Running {
        return;
    }
    let Some(actor) = slot.actor.as_mut() else {
        return;
    };
    let mut fx = Effects::default();
    while let Some((from, msg)) = net.pop_due(id, now) {
        actor.handle_message(now, from, msg, &mut fx);
        apply(now, id, &mut fx, net, trace);
    }
    // A state machine may ask for a timeout "now" again (say, a flush due right after an
    // append); a bound keeps a buggy one from spinning the run.
    for _ in 0..16 {
        if actor.next_deadline().is_none_or(|d| d > now) {
            break;
        }
        actor.handle_timeout(now, &mut fx);
        apply(now, id, &mut fx, net, trace);
    }
}

pub(super) fn apply(
    now: Millis,
    from: NodeId,
    fx: &mut Effects,
    net: &mut Network,
    trace: &mut Trace,
) {
    for e in fx.events.drain(..) {
        trace.entries.push(TraceEntry { at: now, event: e });
    }
    let mut events = Vec::new();
    for (to, msg) in fx.sends.drain(..) {
        net.send(now, from, to, msg, &mut events);
    }
    for e in events {
        trace.entries.push(TraceEntry { at: now, event: e });
    }
}

/// A node's task. It holds the world weakly: madsim does not drop the tasks of a runtime that
/// is dropped, so a strong reference here kept every finished run's world (its logs and trace)
/// alive, about 2 MB a run in the property tests.
pub(super) async fn node_main(world: Weak<Mutex<World>>, id: NodeId, notify: Arc<Notify>) {
    loop {
        notify.notified().await;
        let Some(world) = world.upgrade() else {
            return;
        };
        run_node(&world, id);
    }
}

impl World {
    pub fn now(&self) -> Millis {
        self.now
    }

    /// The scenario as given: its producers and consumers are the declared ones; see
    /// [`World::producer`] and [`World::consumer`] for those added since.
    pub fn scenario(&self) -> &Scenario {
        &self.scenario
    }

    /// The producer `NodeId::Producer(i)`, declared or added while running.
    pub fn producer(&self, i: u16) -> Option<&ProducerDef> {
        self.producers.get(usize::from(i))
    }

    /// The consumer `NodeId::Consumer(i)`, declared or added while running.
    pub fn consumer(&self, i: u16) -> Option<&ConsumerDef> {
        self.consumers.get(usize::from(i))
    }

    /// A real client's connection `NodeId::Client(i)`: its broker and its `client.id`.
    pub fn client(&self, i: u16) -> Option<(BrokerId, &str)> {
        let c = self.clients.get(usize::from(i).checked_sub(1)?)?;
        Some((c.broker, &c.client_id))
    }

    pub fn network(&self) -> &Network {
        &self.net
    }

    pub fn status(&self, node: NodeId) -> Option<NodeStatus> {
        self.slots.get(&node).map(|s| s.status)
    }

    pub fn nodes(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.slots.keys().copied()
    }

    pub fn broker(&self, id: u32) -> Option<&Broker> {
        match self.slots.get(&NodeId::Broker(id))?.actor.as_ref()? {
            Actor::Broker(b) => Some(b),
            _ => None,
        }
    }

    pub fn controller(&self) -> Option<&Controller> {
        match self.slots.get(&NodeId::Controller)?.actor.as_ref()? {
            Actor::Controller(c) => Some(c),
            _ => None,
        }
    }

    pub(super) fn push(&mut self, event: Event) {
        self.trace.entries.push(TraceEntry {
            at: self.now,
            event,
        });
    }

    pub(super) fn push_all(&mut self, events: Vec<Event>) {
        for e in events {
            self.push(e);
        }
    }

    /// The earliest millisecond at which some running node has input due.
    pub(super) fn next_due(&self) -> Option<Millis> {
        self.slots
            .iter()
            .filter(|(_, s)| s.status == NodeStatus::Running)
            .filter_map(|(id, s)| {
                let d = s.actor.as_ref().and_then(|a| a.next_deadline());
                let m = self.net.next_delivery(*id);
                match (d, m) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                }
            })
            .min()
    }

    pub(super) fn wake_due(&self) -> bool {
        let mut any = false;
        for (id, s) in &self.slots {
            if s.status != NodeStatus::Running {
                continue;
            }
            let due = s
                .actor
                .as_ref()
                .and_then(|a| a.next_deadline())
                .is_some_and(|d| d <= self.now)
                || self.net.next_delivery(*id).is_some_and(|d| d <= self.now);
            if due {
                s.notify.notify_one();
                any = true;
            }
        }
        any
    }

    /// Builds the state machine for `id` from what its disk holds.
    pub(super) fn start_actor(&mut self, id: NodeId) {
        let sc = self.scenario.clone();
        let now = self.now;
        // A producer or stream processor added while running sees its topic as it is now
        // (grown, or created by an admin command), not as the scenario declared it.
        let added_partitions = match id {
            NodeId::Producer(i) if usize::from(i) >= sc.producers.len() => {
                self.partitions_now(&self.producers[usize::from(i)].topic)
            }
            NodeId::Consumer(i) if usize::from(i) >= sc.consumers.len() => {
                match &self.consumers[usize::from(i)].output {
                    Some(o) => self.partitions_now(&o.topic),
                    None => 0,
                }
            }
            _ => 0,
        };
        let mut fx = Effects::default();
        let slot = self.slots.get_mut(&id).expect("node exists");
        let actor = match id {
            NodeId::Broker(b) => {
                let setup = BrokerSetup {
                    id: b,
                    config: sc.broker_config(b).clone(),
                    topic_overrides: sc.topic_overrides(),
                    truncation: sc.truncation,
                    features: sc.features,
                    disk: std::mem::take(&mut slot.broker_disk),
                };
                Actor::Broker(Box::new(Broker::start(setup, now, &mut fx)))
            }
            NodeId::Controller => {
                let topics: Vec<TopicSpec> = sc
                    .all_topics()
                    .iter()
                    .map(|t| TopicSpec {
                        name: t.name.clone(),
                        assignment: t.assignment.clone(),
                        policy: TopicPolicy {
                            unclean_leader_election_enable: t
                                .overrides
                                .unclean_leader_election_enable
                                .unwrap_or(sc.broker_configs[0].unclean_leader_election_enable),
                            min_insync_replicas: t
                                .overrides
                                .min_insync_replicas
                                .unwrap_or(sc.broker_configs[0].min_insync_replicas),
                        },
                    })
                    .collect();
                Actor::Controller(Box::new(Controller::start(
                    &sc.broker_ids(),
                    &topics,
                    sc.broker_configs[0].session_timeout_ms,
                    sc.features,
                    std::mem::take(&mut slot.controller_disk),
                    now,
                    &mut fx,
                )))
            }
            NodeId::Producer(i) => {
                let p = &self.producers[i as usize];
                let partitions = sc
                    .topics
                    .iter()
                    .find(|t| t.name == p.topic)
                    .map(|t| t.partitions)
                    .unwrap_or(1)
                    .max(added_partitions);
                let spec = ProducerSpec {
                    name: p.name.clone(),
                    topic: p.topic.clone(),
                    partitions,
                    config: p.config.clone(),
                    idempotent: p.idempotent,
                    workload: p.workload.clone(),
                    bootstrap: sc.broker_ids(),
                    transactions_v2: sc.features.transactions_v2(),
                };
                match slot.producer_progress.take() {
                    Some(progress) => {
                        Actor::Producer(Box::new(Producer::restarted(i, progress, self.seed, now)))
                    }
                    None => Actor::Producer(Box::new(Producer::new(i, spec, self.seed))),
                }
            }
            NodeId::Reader => {
                let tps = sc
                    .topics
                    .iter()
                    .flat_map(|t| (0..t.partitions).map(|p| TopicPartition::new(t.name.clone(), p)))
                    .collect();
                Actor::Reader(Box::new(Reader::new(tps, sc.broker_ids())))
            }
            NodeId::Consumer(i) => {
                let c = &self.consumers[i as usize];
                let output_partitions = c
                    .output
                    .as_ref()
                    .and_then(|o| sc.topics.iter().find(|t| t.name == o.topic))
                    .map(|t| t.partitions)
                    .unwrap_or(1)
                    .max(added_partitions);
                let spec = ConsumerSpec {
                    index: i,
                    name: c.name.clone(),
                    group: c.group.clone(),
                    topics: c.topics.clone(),
                    config: c.config.clone(),
                    processing: c.processing.clone(),
                    start: c.start,
                    stop: c.stop,
                    output: c.output.clone(),
                    output_partitions,
                    bootstrap: sc.broker_ids(),
                    transactions_v2: sc.features.transactions_v2(),
                };
                Actor::Consumer(Box::new(Consumer::new(spec, self.seed, now)))
            }
            NodeId::Client(i) => {
                let broker = self.clients[usize::from(i) - 1].broker;
                Actor::Client(Box::new(Connection::new(id, broker)))
            }
        };
        slot.actor = Some(actor);
        slot.status = NodeStatus::Running;
        let mut events = Vec::new();
        self.net.set_reachability(id, Reachability::Up, &mut events);
        self.push_all(std::mem::take(&mut fx.events));
        apply(now, id, &mut fx, &mut self.net, &mut self.trace);
        self.push_all(events);
    }

    /// Stops a node: what it keeps depends on how it stopped.
    pub(super) fn stop_actor(&mut self, id: NodeId, kind: CrashKind) {
        let mut fx = Effects::default();
        let slot = self.slots.get_mut(&id).expect("node exists");
        match slot.actor.take() {
            Some(Actor::Broker(b)) => slot.broker_disk = b.crash(kind, &mut fx),
            Some(Actor::Controller(c)) => slot.controller_disk = c.crash(),
            Some(Actor::Producer(p)) => slot.producer_progress = Some(p.progress()),
            _ => {}
        }
        slot.status = NodeStatus::Down;
        let reach = match kind {
            CrashKind::Process => Reachability::ProcessDown,
            CrashKind::PowerLoss => Reachability::MachineDown,
        };
        let mut events = fx.events;
        self.net.set_reachability(id, reach, &mut events);
        if kind == CrashKind::Process {
            // The operating system resets the dead process's connections; a real client's
            // connection node is one connection, to its broker.
            let peers: Vec<NodeId> = match id {
                NodeId::Client(i) => self
                    .client(i)
                    .map(|(b, _)| NodeId::Broker(b))
                    .filter(|b| {
                        self.slots
                            .get(b)
                            .is_some_and(|s| s.status != NodeStatus::Down)
                    })
                    .into_iter()
                    .collect(),
                _ => self
                    .slots
                    .iter()
                    .filter(|(p, s)| **p != id && s.status != NodeStatus::Down)
                    .map(|(p, _)| *p)
                    .collect(),
            };
            for p in peers {
                self.net
                    .send(self.now, id, p, Message::Disconnected, &mut events);
            }
        }
        self.push_all(events);
    }

    /// Partitions of `topic` the controller knows now (from its disk while it is down).
    pub(super) fn partitions_now(&self, topic: &str) -> u32 {
        match self.controller() {
            Some(c) => c.partition_count(topic),
            None => self.slots[&NodeId::Controller]
                .controller_disk
                .partitions
                .keys()
                .filter(|tp| &*tp.topic == topic)
                .count() as u32,
        }
    }
}
