//! Hosting the state machines on madsim, and driving virtual time.
//!
//! Every role is a madsim node (`controller`, `broker-1`, `producer-a`, `reader`) whose one
//! task waits to be told that its state machine has input due, then feeds it. madsim supplies
//! the nodes' lifecycles (kill, restart, pause, resume) and interleaves the nodes that are due
//! in the same millisecond in an order drawn from the run's seed.
//!
//! Virtual time is a millisecond counter owned by [`Simulation`], advanced one quantum at a
//! time; in each busy quantum the driver wakes the nodes with input due and lets madsim run
//! them (`block_on` of a 1 ms sleep). Idle milliseconds are skipped without entering madsim.
//! The model never reads madsim's clock: madsim adds 50 ns per timer event and a 1 ms floor
//! to sleeps, which would make "the same millisecond" depend on how many events came before.
//! Because the quantum is fixed and skipping is decided by the model's state alone, a run is
//! identical however the caller groups its calls to [`Simulation::run_until`].

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use madsim::runtime::{NodeHandle, Runtime};
use tokio::sync::Notify;

use crate::broker::{Broker, BrokerDisk, BrokerSetup};
use crate::command::{Command, Target, TimedCommand};
use crate::consumer::{Consumer, ConsumerSpec};
use crate::controller::{Controller, ControllerDisk, TopicPolicy, TopicSpec};
use crate::effects::Effects;
use crate::ids::{Millis, NodeId, TopicPartition, OFFSETS_TOPIC};
use crate::network::{LinkParams, Network, Reachability};
use crate::producer::{Producer, ProducerSpec, Workload};
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
}

impl Actor {
    fn next_deadline(&self) -> Option<Millis> {
        match self {
            Actor::Broker(a) => a.next_deadline(),
            Actor::Controller(a) => a.next_deadline(),
            Actor::Producer(a) => a.next_deadline(),
            Actor::Reader(a) => a.next_deadline(),
            Actor::Consumer(a) => a.next_deadline(),
        }
    }

    fn handle_timeout(&mut self, now: Millis, fx: &mut Effects) {
        match self {
            Actor::Broker(a) => a.handle_timeout(now, fx),
            Actor::Controller(a) => a.handle_timeout(now, fx),
            Actor::Producer(a) => a.handle_timeout(now, fx),
            Actor::Reader(a) => a.handle_timeout(now, fx),
            Actor::Consumer(a) => a.handle_timeout(now, fx),
        }
    }

    fn handle_message(&mut self, now: Millis, from: NodeId, msg: Message, fx: &mut Effects) {
        match self {
            Actor::Broker(a) => a.handle_message(now, from, msg, fx),
            Actor::Controller(a) => a.handle_message(now, from, msg, fx),
            Actor::Producer(a) => a.handle_message(now, from, msg, fx),
            Actor::Reader(a) => a.handle_message(now, from, msg, fx),
            Actor::Consumer(a) => a.handle_message(now, from, msg, fx),
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

struct Slot {
    actor: Option<Actor>,
    status: NodeStatus,
    broker_disk: BrokerDisk,
    controller_disk: ControllerDisk,
    notify: Arc<Notify>,
}

impl Slot {
    fn new() -> Slot {
        Slot {
            actor: None,
            status: NodeStatus::Down,
            broker_disk: BrokerDisk::default(),
            controller_disk: ControllerDisk::default(),
            notify: Arc::new(Notify::new()),
        }
    }
}

/// Whether `__consumer_offsets` exists, or must be created for a consumer added with a group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum OffsetsTopic {
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
    now: Millis,
    scenario: Arc<Scenario>,
    seed: u64,
    net: Network,
    slots: BTreeMap<NodeId, Slot>,
    /// Producers and consumers by node index: the scenario's, then those added while running
    /// (`add-producer`, `add-consumer`), in the order they were added.
    producers: Vec<ProducerDef>,
    consumers: Vec<ConsumerDef>,
    offsets_topic: OffsetsTopic,
    /// `crash … when = "mid-batch"` commands waiting for their consumer to be mid-batch.
    waiting: Vec<(Command, NodeId)>,
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

fn apply(now: Millis, from: NodeId, fx: &mut Effects, net: &mut Network, trace: &mut Trace) {
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
async fn node_main(world: Weak<Mutex<World>>, id: NodeId, notify: Arc<Notify>) {
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

    fn push(&mut self, event: Event) {
        self.trace.entries.push(TraceEntry {
            at: self.now,
            event,
        });
    }

    fn push_all(&mut self, events: Vec<Event>) {
        for e in events {
            self.push(e);
        }
    }

    /// The earliest millisecond at which some running node has input due.
    fn next_due(&self) -> Option<Millis> {
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

    fn wake_due(&self) -> bool {
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
    fn start_actor(&mut self, id: NodeId) {
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
                };
                Actor::Producer(Box::new(Producer::new(i, spec, self.seed)))
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
                };
                Actor::Consumer(Box::new(Consumer::new(spec, self.seed, now)))
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
    fn stop_actor(&mut self, id: NodeId, kind: CrashKind) {
        let mut fx = Effects::default();
        let slot = self.slots.get_mut(&id).expect("node exists");
        match slot.actor.take() {
            Some(Actor::Broker(b)) => slot.broker_disk = b.crash(kind, &mut fx),
            Some(Actor::Controller(c)) => slot.controller_disk = c.crash(),
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
            // The operating system resets the dead process's connections.
            let peers: Vec<NodeId> = self
                .slots
                .iter()
                .filter(|(p, s)| **p != id && s.status != NodeStatus::Down)
                .map(|(p, _)| *p)
                .collect();
            for p in peers {
                self.net
                    .send(self.now, id, p, Message::Disconnected, &mut events);
            }
        }
        self.push_all(events);
    }

    /// Crashes the consumers whose `crash … when = "mid-batch"` is due and that are part-way
    /// through a batch now.
    fn crash_waiting(&mut self, ops: &mut Vec<NodeOp>) {
        let waiting = std::mem::take(&mut self.waiting);
        for (c, id) in waiting {
            let slot = &self.slots[&id];
            let mid = slot.status == NodeStatus::Running
                && matches!(&slot.actor, Some(Actor::Consumer(x)) if x.is_mid_batch());
            if mid {
                self.push(Event::Crashed {
                    node: id,
                    kind: CrashKind::Process,
                });
                self.stop_actor(id, CrashKind::Process);
                ops.push(NodeOp::Kill(id));
            } else {
                self.waiting.push((c, id));
            }
        }
    }

    /// Partitions of `topic` the controller knows now (from its disk while it is down).
    fn partitions_now(&self, topic: &str) -> u32 {
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

    /// The index of the next producer or consumer (of `count` so far) called `name`, or why it
    /// cannot be added: names are unique across both kinds, and indexes fit a `u16`.
    fn free_index(&self, name: &str, count: usize, kinds: &str) -> Result<u16, String> {
        let names = &self.trace.names;
        if names.producers.iter().any(|n| n == name) {
            return Err(format!("producer-{name} already exists"));
        }
        if names.consumers.iter().any(|n| n == name) {
            return Err(format!("consumer-{name} already exists"));
        }
        u16::try_from(count)
            .ok()
            .filter(|i| *i < u16::MAX)
            .ok_or_else(|| format!("too many {kinds}"))
    }

    /// Adds a producer or consumer node at the current time: its slot, its name, the event
    /// saying so, its state machine, and the op that creates its madsim node.
    fn add_node(&mut self, id: NodeId, name: &str, description: String, ops: &mut Vec<NodeOp>) {
        self.slots.insert(id, Slot::new());
        self.trace.names.add(id, name);
        self.push(Event::NodeAdded {
            node: id,
            name: name.to_string(),
            description,
        });
        self.start_actor(id);
        ops.push(NodeOp::Create(id));
    }

    fn add_producer(&mut self, def: &ProducerDef, ops: &mut Vec<NodeOp>) -> Result<(), String> {
        let i = self.free_index(&def.name, self.producers.len(), "producers")?;
        let mut def = def.clone();
        // It starts now, whenever the command was meant for.
        let w = &def.workload;
        def.workload = Workload::new(
            w.rate,
            self.now,
            w.stop,
            w.keys.clone(),
            w.value_bytes,
            w.sends.clone(),
        );
        let id = NodeId::Producer(i);
        let description = describe_producer(&def);
        let name = def.name.clone();
        self.producers.push(def);
        self.add_node(id, &name, description, ops);
        Ok(())
    }

    fn add_consumer(&mut self, def: &ConsumerDef, ops: &mut Vec<NodeOp>) -> Result<(), String> {
        let i = self.free_index(&def.name, self.consumers.len(), "consumers")?;
        let mut def = def.clone();
        def.start = self.now;
        let id = NodeId::Consumer(i);
        let description = describe_consumer(&def);
        let name = def.name.clone();
        let group = def.group.is_some();
        self.consumers.push(def);
        if group && self.offsets_topic == OffsetsTopic::Absent {
            self.offsets_topic = OffsetsTopic::Wanted { reported: false };
        }
        self.add_node(id, &name, description, ops);
        self.create_offsets_topic();
        Ok(())
    }

    /// Creates `__consumer_offsets` for the first consumer with a group added to a cluster
    /// that had none (Kafka creates it on the first FindCoordinator), once the controller can:
    /// it must run, and enough brokers must be unfenced for `offsets.topic.replication.factor`
    /// (at most the cluster's size). Called after every change while it is wanted.
    fn create_offsets_topic(&mut self) {
        let OffsetsTopic::Wanted { reported } = self.offsets_topic else {
            return;
        };
        let cfg = &self.scenario.broker_configs[0];
        let partitions = cfg.offsets_topic_num_partitions.max(1);
        let rf = cfg
            .offsets_topic_replication_factor
            .clamp(1, self.scenario.brokers.max(1));
        let policy = TopicPolicy {
            unclean_leader_election_enable: cfg.unclean_leader_election_enable,
            min_insync_replicas: cfg.min_insync_replicas,
        };
        let World {
            now,
            net,
            slots,
            trace,
            ..
        } = self;
        let running = slots
            .get_mut(&NodeId::Controller)
            .filter(|s| s.status == NodeStatus::Running);
        let result = match running.and_then(|s| s.actor.as_mut()) {
            Some(Actor::Controller(ctl)) if ctl.partition_count(OFFSETS_TOPIC) > 0 => Ok(()),
            Some(Actor::Controller(ctl)) => {
                let mut fx = Effects::default();
                let r = ctl.create_partitions(
                    &Arc::from(OFFSETS_TOPIC),
                    partitions,
                    Some(rf),
                    policy,
                    &mut fx,
                );
                apply(*now, NodeId::Controller, &mut fx, net, trace);
                r
            }
            _ => Err("the controller is not running".to_string()),
        };
        match result {
            Ok(()) => self.offsets_topic = OffsetsTopic::Exists,
            Err(reason) if !reported => {
                self.push(Event::Skipped {
                    command: format!("create {OFFSETS_TOPIC} for the first consumer group"),
                    reason: format!("{reason}; retried until it succeeds"),
                });
                self.offsets_topic = OffsetsTopic::Wanted { reported: true };
            }
            Err(_) => {}
        }
    }

    fn resolve(&self, t: &Target) -> Result<NodeId, String> {
        match t {
            // A producer or consumer added later (or never).
            Target::Node(n) if !self.slots.contains_key(n) => {
                Err(format!("{} does not exist yet", self.trace.names.name(*n)))
            }
            Target::Node(n) => Ok(*n),
            Target::LeaderOf(tp) => {
                let parts = match self.controller() {
                    Some(c) => c.partitions().get(tp).cloned(),
                    None => self.slots[&NodeId::Controller]
                        .controller_disk
                        .partitions
                        .get(tp)
                        .cloned(),
                };
                match parts.and_then(|p| p.leader) {
                    Some(b) => Ok(NodeId::Broker(b)),
                    None => Err(format!("{tp} has no leader")),
                }
            }
        }
    }

    fn resolve_all(&self, ts: &[Target]) -> Result<Vec<NodeId>, String> {
        ts.iter().map(|t| self.resolve(t)).collect()
    }
}

/// What the driver must do in madsim after the world changed.
enum NodeOp {
    /// A node added while running (its slot and state machine exist already).
    Create(NodeId),
    Kill(NodeId),
    Restart(NodeId),
    Pause(NodeId),
    Resume(NodeId),
}

/// The madsim node that hosts `id`, whose slot exists in the world.
fn create_node(rt: &Runtime, world: &Arc<Mutex<World>>, id: NodeId) -> NodeHandle {
    let (notify, name) = {
        let g = world.lock().expect("world lock");
        (g.slots[&id].notify.clone(), g.trace.names.name(id))
    };
    let w = Arc::downgrade(world);
    rt.create_node()
        .name(name)
        .init(move || node_main(w.clone(), id, notify.clone()))
        .build()
}

/// A running simulation: a scenario, a seed, and the commands applied so far.
pub struct Simulation {
    rt: Runtime,
    world: Arc<Mutex<World>>,
    handles: BTreeMap<NodeId, NodeHandle>,
    commands: Vec<TimedCommand>,
    next_command: usize,
    /// Milliseconds `[0, now)` have been simulated.
    now: Millis,
}

impl Simulation {
    pub fn new(scenario: &Scenario, seed: u64) -> Self {
        let scenario = Arc::new(scenario.clone());
        let mut net = Network::new(seed, scenario.network.default);
        for &(from, to, p) in &scenario.network.links {
            net.configure_link(from, to, p);
        }
        let mut nodes = vec![NodeId::Controller];
        nodes.extend(scenario.broker_ids().into_iter().map(NodeId::Broker));
        nodes.extend((0..scenario.producers.len()).map(|i| NodeId::Producer(i as u16)));
        if scenario.reader {
            nodes.push(NodeId::Reader);
        }
        nodes.extend((0..scenario.consumers.len()).map(|i| NodeId::Consumer(i as u16)));
        let slots = nodes.iter().map(|&id| (id, Slot::new())).collect();
        // The declared producers and consumers; those added by commands are named when they
        // are added (the indexes follow the order in which commands run).
        let trace = Trace {
            entries: Vec::new(),
            names: crate::ids::NodeNames {
                producers: scenario.producers.iter().map(|p| p.name.clone()).collect(),
                consumers: scenario.consumers.iter().map(|c| c.name.clone()).collect(),
            },
        };
        let offsets_topic = match scenario.offsets_topic() {
            Some(_) => OffsetsTopic::Exists,
            None => OffsetsTopic::Absent,
        };
        let world = Arc::new(Mutex::new(World {
            now: 0,
            scenario: scenario.clone(),
            seed,
            net,
            slots,
            producers: scenario.producers.clone(),
            consumers: scenario.consumers.clone(),
            offsets_topic,
            waiting: Vec::new(),
            trace,
        }));
        let rt = Runtime::with_seed_and_config(seed, madsim::Config::default());
        let mut handles = BTreeMap::new();
        for &id in &nodes {
            handles.insert(id, create_node(&rt, &world, id));
        }
        {
            let mut w = world.lock().expect("world lock");
            for &id in &nodes {
                w.start_actor(id);
            }
        }
        let mut commands = scenario.faults.clone();
        commands.sort_by_key(|c| c.at);
        Simulation {
            rt,
            world,
            handles,
            commands,
            next_command: 0,
            now: 0,
        }
    }

    /// Milliseconds simulated so far.
    pub fn now(&self) -> Millis {
        self.now
    }

    pub fn world(&self) -> MutexGuard<'_, World> {
        self.world.lock().expect("world lock")
    }

    /// Schedules a command (an intervention) at or after the current time.
    pub fn schedule(&mut self, mut c: TimedCommand) {
        c.at = c.at.max(self.now);
        let pos = self.commands[self.next_command..]
            .iter()
            .position(|x| x.at > c.at)
            .map(|p| p + self.next_command);
        match pos {
            Some(p) => self.commands.insert(p, c),
            None => self.commands.push(c),
        }
    }

    /// The commands applied or scheduled, in order: with the scenario, a full replay recipe.
    pub fn commands(&self) -> &[TimedCommand] {
        &self.commands
    }

    /// Simulates up to (not including) millisecond `t`.
    pub fn run_until(&mut self, t: Millis) {
        while self.now < t {
            self.step(t);
        }
    }

    /// One quantum, or a jump over idle time (never past `limit`).
    fn step(&mut self, limit: Millis) {
        let t = self.now;
        let mut ops = Vec::new();
        let busy;
        {
            let mut w = self.world.lock().expect("world lock");
            w.now = t;
            while let Some(c) = self
                .commands
                .get(self.next_command)
                .filter(|c| c.at <= t)
                .cloned()
            {
                self.next_command += 1;
                apply_command(&mut w, &c.command, &mut ops);
            }
            w.create_offsets_topic();
            w.crash_waiting(&mut ops);
            busy = w.wake_due();
        }
        self.node_ops(ops);
        if busy {
            self.rt
                .block_on(async { madsim::time::sleep(Duration::from_millis(1)).await });
            self.finish_shutdowns();
            self.now = t + 1;
        } else {
            let w = self.world.lock().expect("world lock");
            let next_cmd = self
                .commands
                .get(self.next_command)
                .map(|c| c.at)
                .unwrap_or(Millis::MAX);
            let next = w.next_due().unwrap_or(Millis::MAX).min(next_cmd).max(t + 1);
            self.now = next.min(limit);
        }
    }

    fn node_ops(&mut self, ops: Vec<NodeOp>) {
        let h = self.rt.handle();
        for op in ops {
            match op {
                NodeOp::Create(id) => {
                    let node = create_node(&self.rt, &self.world, id);
                    self.handles.insert(id, node);
                }
                NodeOp::Kill(id) => h.kill(self.handles[&id].id()),
                NodeOp::Restart(id) => h.restart(self.handles[&id].id()),
                NodeOp::Pause(id) => h.pause(self.handles[&id].id()),
                NodeOp::Resume(id) => h.resume(self.handles[&id].id()),
            }
        }
    }

    /// Brokers that completed a controlled shutdown in this quantum stop now.
    fn finish_shutdowns(&mut self) {
        let mut ops = Vec::new();
        {
            let mut w = self.world.lock().expect("world lock");
            let done: Vec<NodeId> = w
                .slots
                .iter()
                .filter(|(_, s)| matches!(&s.actor, Some(Actor::Broker(b)) if b.is_stopped()))
                .map(|(id, _)| *id)
                .collect();
            for id in done {
                w.stop_actor(id, CrashKind::Process);
                w.push(Event::ShutDown { node: id });
                ops.push(NodeOp::Kill(id));
            }
            // What the nodes did in this quantum may let the controller create it now.
            w.create_offsets_topic();
        }
        self.node_ops(ops);
    }

    pub fn run_to_end(&mut self) {
        let end = self.world().scenario.duration;
        self.run_until(end);
    }

    pub fn into_trace(self) -> Trace {
        let w = self.world.lock().expect("world lock");
        w.trace.clone()
    }
}

fn apply_command(w: &mut World, c: &Command, ops: &mut Vec<NodeOp>) {
    let skip = |w: &mut World, reason: String| {
        let command = describe(c, &w.trace.names);
        w.push(Event::Skipped { command, reason });
    };
    match c {
        Command::Crash { target, kind } => match w.resolve(target) {
            Err(e) => skip(w, e),
            Ok(id) if w.slots[&id].status == NodeStatus::Down => {
                skip(w, format!("{} is already down", w.trace.names.name(id)))
            }
            Ok(id) => {
                w.push(Event::Crashed {
                    node: id,
                    kind: *kind,
                });
                w.stop_actor(id, *kind);
                ops.push(NodeOp::Kill(id));
            }
        },
        Command::Shutdown { target } => match w.resolve(target) {
            Err(e) => skip(w, e),
            Ok(id) if w.slots[&id].status == NodeStatus::Down => {
                skip(w, format!("{} is already down", w.trace.names.name(id)))
            }
            Ok(id) => {
                let World {
                    now,
                    net,
                    trace,
                    slots,
                    ..
                } = w;
                let slot = slots.get_mut(&id).expect("exists");
                match slot.actor.as_mut() {
                    Some(Actor::Consumer(consumer)) => {
                        // close(): commit (with auto-commit) and LeaveGroup, then the process
                        // exits and its connections close.
                        let mut fx = Effects::default();
                        consumer.shutdown(*now, &mut fx);
                        apply(*now, id, &mut fx, net, trace);
                        w.stop_actor(id, CrashKind::Process);
                        w.push(Event::ShutDown { node: id });
                        ops.push(NodeOp::Kill(id));
                    }
                    Some(Actor::Broker(b)) => {
                        let mut fx = Effects::default();
                        b.begin_shutdown(*now, &mut fx);
                        apply(*now, id, &mut fx, net, trace);
                        if slot.status == NodeStatus::Paused {
                            slot.status = NodeStatus::Running;
                            ops.push(NodeOp::Resume(id));
                        }
                    }
                    _ => {
                        w.stop_actor(id, CrashKind::Process);
                        w.push(Event::ShutDown { node: id });
                        ops.push(NodeOp::Kill(id));
                    }
                }
            }
        },
        Command::Restart { target } => match w.resolve(target) {
            Err(e) => skip(w, e),
            Ok(id) if w.slots[&id].status != NodeStatus::Down => {
                skip(w, format!("{} is running", w.trace.names.name(id)))
            }
            Ok(id) => {
                w.push(Event::Restarted { node: id });
                w.start_actor(id);
                ops.push(NodeOp::Restart(id));
            }
        },
        Command::Pause { target } => match w.resolve(target) {
            Err(e) => skip(w, e),
            Ok(id) if w.slots[&id].status != NodeStatus::Running => {
                skip(w, format!("{} is not running", w.trace.names.name(id)))
            }
            Ok(id) => {
                w.slots.get_mut(&id).expect("exists").status = NodeStatus::Paused;
                w.push(Event::Paused { node: id });
                ops.push(NodeOp::Pause(id));
            }
        },
        Command::Resume { target } => match w.resolve(target) {
            Err(e) => skip(w, e),
            Ok(id) if w.slots[&id].status != NodeStatus::Paused => {
                skip(w, format!("{} is not paused", w.trace.names.name(id)))
            }
            Ok(id) => {
                w.slots.get_mut(&id).expect("exists").status = NodeStatus::Running;
                w.push(Event::Resumed { node: id });
                ops.push(NodeOp::Resume(id));
            }
        },
        Command::Partition { from, to, one_way } => {
            match (w.resolve_all(from), w.resolve_all(to)) {
                (Ok(a), Ok(b)) => {
                    let mut ev = Vec::new();
                    for &x in &a {
                        for &y in &b {
                            if x != y {
                                w.net.cut(w.now, x, y, &mut ev);
                                if !one_way {
                                    w.net.cut(w.now, y, x, &mut ev);
                                }
                            }
                        }
                    }
                    w.push_all(ev);
                }
                (Err(e), _) | (_, Err(e)) => skip(w, e),
            }
        }
        Command::Isolate { target } => match w.resolve(target) {
            Err(e) => skip(w, e),
            Ok(id) => {
                let others: Vec<NodeId> = w.slots.keys().copied().filter(|n| *n != id).collect();
                let mut ev = Vec::new();
                for o in others {
                    w.net.cut(w.now, id, o, &mut ev);
                    w.net.cut(w.now, o, id, &mut ev);
                }
                w.push_all(ev);
            }
        },
        Command::Heal { between } => {
            let mut ev = Vec::new();
            match between {
                None => w.net.heal_all(&mut ev),
                Some((a, b)) => match (w.resolve_all(a), w.resolve_all(b)) {
                    (Ok(a), Ok(b)) => {
                        for &x in &a {
                            for &y in &b {
                                w.net.heal(x, y, &mut ev);
                                w.net.heal(y, x, &mut ev);
                            }
                        }
                    }
                    (Err(e), _) | (_, Err(e)) => return skip(w, e),
                },
            }
            w.push_all(ev);
        }
        Command::Hold { from, to } | Command::Release { from, to } => {
            match (w.resolve(from), w.resolve(to)) {
                (Ok(a), Ok(b)) => {
                    let mut ev = Vec::new();
                    if matches!(c, Command::Hold { .. }) {
                        w.net.hold(a, b, &mut ev);
                    } else {
                        w.net.release(w.now, a, b, &mut ev);
                    }
                    w.push_all(ev);
                }
                (Err(e), _) | (_, Err(e)) => skip(w, e),
            }
        }
        Command::Producer {
            target,
            settings,
            rate,
        } => match w.resolve(target) {
            Ok(id @ NodeId::Producer(_)) => {
                let now = w.now;
                let World { slots, trace, .. } = w;
                let Some(Actor::Producer(p)) = slots.get_mut(&id).and_then(|s| s.actor.as_mut())
                else {
                    return;
                };
                let mut config = p.spec().config.clone();
                for (k, v) in settings {
                    config.set(k, v);
                }
                match config.idempotence() {
                    Err(reason) => {
                        let command = describe(c, &trace.names);
                        w.push(Event::Skipped { command, reason });
                    }
                    Ok(idempotent) => {
                        p.reconfigure(config, idempotent);
                        if let Some(r) = rate {
                            p.set_rate(*r, now);
                        }
                        let mut change: Vec<String> =
                            settings.iter().map(|(k, v)| format!("{k}={v}")).collect();
                        if let Some(r) = rate {
                            change.push(format!("rate={r}/s"));
                        }
                        w.push(Event::Reconfigured {
                            producer: id,
                            change: change.join(" "),
                        });
                    }
                }
            }
            Ok(id) => {
                let name = w.trace.names.name(id);
                skip(w, format!("{name} is not a producer"))
            }
            Err(e) => skip(w, e),
        },
        Command::CreateTopic {
            name,
            partitions,
            replication_factor,
        } => admin(w, c, name, *partitions, Some(*replication_factor)),
        Command::AddPartitions { topic, partitions } => admin(w, c, topic, *partitions, None),
        Command::CrashWhileProcessing { target } => match w.resolve(target) {
            Ok(id @ NodeId::Consumer(_)) => w.waiting.push((c.clone(), id)),
            Ok(id) => {
                let name = w.trace.names.name(id);
                skip(w, format!("{name} is not a consumer"))
            }
            Err(e) => skip(w, e),
        },
        Command::Link {
            from,
            to,
            latency_ms,
            loss,
            both,
        } => match (w.resolve(from), w.resolve(to)) {
            (Ok(a), Ok(b)) => {
                let p = LinkParams {
                    latency_min_ms: latency_ms.0,
                    latency_max_ms: latency_ms.1,
                    loss: *loss,
                };
                let mut ev = Vec::new();
                w.net.set_link(a, b, p, &mut ev);
                if *both {
                    w.net.set_link(b, a, p, &mut ev);
                }
                w.push_all(ev);
            }
            (Err(e), _) | (_, Err(e)) => skip(w, e),
        },
        Command::AddProducer(def) => {
            if let Err(e) = w.add_producer(def, ops) {
                skip(w, e)
            }
        }
        Command::AddConsumer(def) => {
            if let Err(e) = w.add_consumer(def, ops) {
                skip(w, e)
            }
        }
    }
}

/// What an added producer does, for the trace: `writing to orders (acks=all, 100 records/s)`.
fn describe_producer(p: &ProducerDef) -> String {
    let w = &p.workload;
    let mut what = vec![format!("acks={}", p.config.acks)];
    if w.rate > 0.0 {
        what.push(format!("{} records/s", w.rate));
    }
    if !w.sends.is_empty() {
        let n = w.sends.len();
        what.push(format!("{n} named record{}", if n == 1 { "" } else { "s" }));
    }
    format!("writing to {} ({})", p.topic, what.join(", "))
}

/// What an added consumer does, for the trace: `in group billing, reading orders`.
fn describe_consumer(c: &ConsumerDef) -> String {
    let topics: Vec<&str> = c.topics.iter().map(|t| &**t).collect();
    let mut out = match &c.group {
        Some(g) => format!("in group {g}, reading {}", topics.join(", ")),
        None => format!("without a group, reading {}", topics.join(", ")),
    };
    if let Some(o) = &c.output {
        out += &format!(", writing to {}", o.topic);
    }
    out
}

/// An admin request, which the controller handles directly (an admin client's request is
/// forwarded to the controller in KRaft; the hop through a broker is not modelled).
fn admin(w: &mut World, c: &Command, topic: &Arc<str>, total: u32, rf: Option<u32>) {
    let cfg = &w.scenario.broker_configs[0];
    let policy = TopicPolicy {
        unclean_leader_election_enable: cfg.unclean_leader_election_enable,
        min_insync_replicas: cfg.min_insync_replicas,
    };
    let World {
        now,
        net,
        slots,
        trace,
        ..
    } = w;
    let running = slots
        .get_mut(&NodeId::Controller)
        .filter(|s| s.status == NodeStatus::Running);
    let result = match running.and_then(|s| s.actor.as_mut()) {
        Some(Actor::Controller(ctl)) => {
            let mut fx = Effects::default();
            let r = ctl.create_partitions(topic, total, rf, policy, &mut fx);
            apply(*now, NodeId::Controller, &mut fx, net, trace);
            r
        }
        _ => Err("the controller is not running".into()),
    };
    match result {
        Err(reason) => {
            let command = describe(c, &w.trace.names);
            w.push(Event::Skipped { command, reason });
        }
        Ok(_) => {
            // The checking reader reads every partition, the new ones included. (A real
            // consumer finds them at its next metadata refresh, `metadata.max.age.ms`; the
            // reader is a checking device and is told at once.)
            if let Some(Actor::Reader(r)) = w
                .slots
                .get_mut(&NodeId::Reader)
                .and_then(|s| s.actor.as_mut())
            {
                r.add_partitions(topic, total);
            }
        }
    }
}

/// A command in words, for traces: `crash broker-2 (power-loss)`.
pub fn describe(c: &Command, names: &crate::ids::NodeNames) -> String {
    let t = |t: &Target| match t {
        Target::Node(n) => names.name(*n),
        Target::LeaderOf(tp) => format!("leader of {tp}"),
    };
    let ts = |v: &[Target]| v.iter().map(t).collect::<Vec<_>>().join(",");
    match c {
        Command::Crash { target, kind } => format!(
            "crash {} ({})",
            t(target),
            match kind {
                CrashKind::Process => "process",
                CrashKind::PowerLoss => "power-loss",
            }
        ),
        Command::Shutdown { target } => format!("shutdown {}", t(target)),
        Command::Restart { target } => format!("restart {}", t(target)),
        Command::Pause { target } => format!("pause {}", t(target)),
        Command::Resume { target } => format!("resume {}", t(target)),
        Command::Partition { from, to, one_way } => {
            format!(
                "partition {} {} {}",
                ts(from),
                if *one_way { "->" } else { "<->" },
                ts(to)
            )
        }
        Command::Isolate { target } => format!("isolate {}", t(target)),
        Command::Heal { between: None } => "heal all".into(),
        Command::Heal {
            between: Some((a, b)),
        } => format!("heal {} <-> {}", ts(a), ts(b)),
        Command::Hold { from, to } => format!("hold {} -> {}", t(from), t(to)),
        Command::Release { from, to } => format!("release {} -> {}", t(from), t(to)),
        Command::Producer {
            target,
            settings,
            rate,
        } => {
            let mut parts: Vec<String> = settings.iter().map(|(k, v)| format!("{k}={v}")).collect();
            if let Some(r) = rate {
                parts.push(format!("rate={r}/s"));
            }
            format!("reconfigure {}: {}", t(target), parts.join(" "))
        }
        Command::CrashWhileProcessing { target } => {
            format!("crash {} while it processes a batch", t(target))
        }
        Command::CreateTopic {
            name,
            partitions,
            replication_factor,
        } => format!(
            "create topic {name} ({partitions} partitions, replication factor {replication_factor})"
        ),
        Command::AddPartitions { topic, partitions } => {
            format!("grow {topic} to {partitions} partitions")
        }
        Command::Link {
            from,
            to,
            latency_ms,
            loss,
            both,
        } => format!(
            "link {} {} {} latency {}..{}ms loss {loss}",
            t(from),
            if *both { "<->" } else { "->" },
            t(to),
            latency_ms.0,
            latency_ms.1
        ),
        Command::AddProducer(p) => format!("add producer-{} {}", p.name, describe_producer(p)),
        Command::AddConsumer(c) => format!("add consumer-{} {}", c.name, describe_consumer(c)),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::broker::TruncationMode;
    use crate::config::{BrokerConfig, ProducerConfig, TopicOverrides};
    use crate::producer::{KeySpec, Workload};
    use crate::scenario::{NetworkDef, ProducerDef, TopicDef};

    /// A small cluster built in code, so the host can be tested without the parser.
    pub fn small(brokers: u32, rate: f64, faults: Vec<TimedCommand>) -> Scenario {
        Scenario {
            name: "test".into(),
            description: String::new(),
            reference: None,
            seed: 1,
            duration: 3_000,
            brokers,
            truncation: TruncationMode::LeaderEpoch,
            features: crate::config::ClusterFeatures::default(),
            reader: true,
            consumers: Vec::new(),
            broker_configs: vec![BrokerConfig::default(); brokers as usize],
            topics: vec![TopicDef {
                name: "orders".into(),
                partitions: 2,
                replication_factor: brokers.min(3),
                overrides: TopicOverrides::default(),
                assignment: (0..2)
                    .map(|p| (0..brokers.min(3)).map(|i| (p + i) % brokers + 1).collect())
                    .collect(),
            }],
            producers: vec![ProducerDef {
                name: "a".into(),
                topic: "orders".into(),
                config: ProducerConfig::default(),
                idempotent: true,
                workload: Workload::new(rate, 100, 2_000, KeySpec::Count(4), 100, vec![]),
            }],
            network: NetworkDef::default(),
            faults,
            expect: vec![],
        }
    }

    #[test]
    fn a_healthy_cluster_acknowledges_everything_and_the_reader_sees_it() {
        let sc = small(3, 200.0, vec![]);
        let run = crate::report::run(&sc, 1);
        let f = &run.findings;
        let produced = f.count(crate::scenario::Count::Produced);
        assert!(produced > 300, "{produced}");
        assert_eq!(f.count(crate::scenario::Count::Acknowledged), produced);
        assert_eq!(f.count(crate::scenario::Count::Consumed), produced);
        assert!(f.verdicts.iter().all(|v| v.holds()), "{:?}", f.verdicts);
    }

    /// Partitions added while running are read by the checking reader too: every acknowledged
    /// record is consumed, those written to the new partitions included.
    #[test]
    fn the_reader_reads_partitions_added_while_running() {
        let grow = TimedCommand {
            at: 800,
            command: Command::AddPartitions {
                topic: "orders".into(),
                partitions: 4,
            },
        };
        let mut sc = small(3, 200.0, vec![grow]);
        // The producer uses the new partitions from its next metadata refresh.
        sc.producers[0].config.metadata_max_age_ms = 300;
        let run = crate::report::run(&sc, 1);
        let consumed_new = run
            .trace
            .entries
            .iter()
            .any(|e| matches!(&e.event, Event::Consumed { tp, .. } if tp.partition >= 2));
        assert!(consumed_new, "the reader never read orders-2 or orders-3");
        let f = &run.findings;
        let acked = f.count(crate::scenario::Count::Acknowledged);
        assert!(acked > 300, "{acked}");
        assert_eq!(f.count(crate::scenario::Count::Consumed), acked);
    }

    /// Two members of `billing` from the start; a third joins at 8s (and is crashed and
    /// restarted later, by name), and a second producer starts at 6s.
    pub const ADDED: &str = r#"
[scenario]
name = "a consumer and a producer join a running cluster"
duration = "20s"

[cluster]
brokers = 3

[broker]
group.initial.rebalance.delay.ms = 0

[[topics]]
name = "orders"
partitions = 4
replication.factor = 3

[[producers]]
name = "shop"
topic = "orders"
rate = 100
keys = 8

[[consumers]]
name = "billing-1"
group = "billing"
topics = ["orders"]
auto.offset.reset = "earliest"
enable.auto.commit = false
process = "1ms"
commit = "after"

[[consumers]]
name = "billing-2"
group = "billing"
topic = "orders"
auto.offset.reset = "earliest"
enable.auto.commit = false
process = "1ms"
commit = "after"

[[faults]]
at = "12s"
action = "crash"
target = "consumer-billing-3"

[[faults]]
at = "8s"
action = "add-consumer"
name = "billing-3"
group = "billing"
topic = "orders"
auto.offset.reset = "earliest"
enable.auto.commit = false
process = "1ms"
commit = "after"
stop = "17s"

[[faults]]
at = "13s"
action = "restart"
target = "consumer-billing-3"

[[faults]]
at = "6s"
action = "add-producer"
name = "web"
topic = "orders"
acks = "all"
rate = 50
stop = "14s"
sends = [{ at = "7s", value = "hello" }]
"#;

    /// [`ADDED`] with a stream processor without a group, added at 10s, writing to a topic
    /// created at 9s, and a producer of that topic added at 11s with keys, named records (one
    /// to a partition the topic has only since it was created) and settings of its own.
    pub fn more_added() -> String {
        ADDED.replacen(
            "[[faults]]\nat = \"12s\"",
            r#"[[faults]]
at = "9s"
action = "create-topic"
topic = "scores"
partitions = 3

[[faults]]
at = "10s"
action = "add-consumer"
name = "scorer"
topic = "orders"
process = "250us"
max.poll.records = 20

[faults.output]
topic = "scores"
transform = "windowed-count"
window = "2s"
threshold = 7
acks = "1"
linger.ms = 20

[[faults]]
at = "11s"
action = "add-producer"
name = "late"
topic = "scores"
rate = 20
keys = ["k1", "k2", "k3"]
value_bytes = 30
enable.idempotence = false
acks = "1"
max.in.flight.requests.per.connection = 10
sends = [{ at = "11s", value = "m1", key = "k9", partition = 2 }, { at = "15s", value = "m2" }]

[[faults]]
at = "12s""#,
            1,
        )
    }

    fn events_of(t: &Trace, node: NodeId) -> impl Iterator<Item = &TraceEntry> {
        t.entries.iter().filter(move |e| match &e.event {
            Event::Processed { consumer, .. } => *consumer == node,
            Event::Acked { producer, .. } => *producer == node,
            _ => false,
        })
    }

    #[test]
    fn an_added_consumer_joins_its_group_and_an_added_producer_is_acknowledged() {
        let sc = crate::scenario::parse("added.toml", ADDED).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(sc.names().name(NodeId::Consumer(2)), "consumer-billing-3");
        let run = crate::report::run(&sc, 1);
        let t = &run.trace;
        let lines: Vec<String> = t.lines().collect();
        let added = |needle: &str| lines.iter().any(|l| l.contains(needle));
        assert!(
            added("   6.000s producer-web started (added) writing to orders (acks=all, 50 records/s, 1 named record)"),
            "{lines:#?}"
        );
        assert!(added(
            "   8.000s consumer-billing-3 started (added) in group billing, reading orders"
        ));
        assert!(added("consumer-billing-3 crashed (process crash)"));
        assert!(added("consumer-billing-3 restarted"));
        // The narrative tells it too.
        let text = crate::report::narrative(&sc, &run);
        assert!(
            text.contains("consumer-billing-3 started (added) in group billing"),
            "{text}"
        );

        // A rebalance that takes the new member in: one more member than the generation before.
        let generations: Vec<(Millis, usize)> = t
            .entries
            .iter()
            .filter_map(|e| match &e.event {
                Event::GenerationStarted { members, .. } => Some((e.at, members.len())),
                _ => None,
            })
            .collect();
        let joined = generations
            .windows(2)
            .find(|w| w[1].0 >= 8_000)
            .unwrap_or_else(|| panic!("{generations:?}"));
        assert_eq!(joined[1].1, joined[0].1 + 1, "{generations:?}");
        assert_eq!(joined[1].1, 3);
        assert!(events_of(t, NodeId::Consumer(2)).count() > 50);
        assert!(events_of(t, NodeId::Consumer(2)).all(|e| e.at >= 8_000));

        // The added producer's records are acknowledged and checked like the others.
        let web: Vec<&TraceEntry> = events_of(t, NodeId::Producer(1)).collect();
        assert!(web.iter().all(|e| e.at >= 6_000));
        let values: Vec<&str> = web
            .iter()
            .flat_map(|e| match &e.event {
                Event::Acked { values, .. } => values.iter().map(|v| &**v).collect(),
                _ => Vec::new(),
            })
            .collect();
        assert!(
            values.contains(&"hello") && values.contains(&"web-1"),
            "{values:?}"
        );
        assert!(values.len() > 300, "{}", values.len());
        let f = &run.findings;
        let acked_before_end = f.count(crate::scenario::Count::Acknowledged);
        assert!(acked_before_end > values.len() as u64 + 1_000);
        assert_eq!(f.count(crate::scenario::Count::LostAcknowledged), 0);
        assert!(f.verdicts.iter().all(|v| v.holds()), "{:?}", f.verdicts);
        // What billing-3 processed counts for its group.
        let processed: usize = (0..3)
            .map(|i| events_of(t, NodeId::Consumer(i)).count())
            .sum();
        assert_eq!(f.count(crate::scenario::Count::Processed), processed as u64);
    }

    #[test]
    fn an_added_node_runs_the_same_from_a_file_and_from_a_command_given_while_running() {
        let sc = crate::scenario::parse("added.toml", ADDED).unwrap_or_else(|e| panic!("{e}"));
        let mut whole = Simulation::new(&sc, 4);
        whole.run_to_end();
        let whole = whole.into_trace();

        // The same commands, given one by one while it runs, in chunks.
        let mut bare = sc.clone();
        bare.faults.clear();
        let mut live = Simulation::new(&bare, 4);
        for c in sc.faults_in_order() {
            live.run_until(c.at.saturating_sub(333));
            live.schedule(c.clone());
        }
        live.run_to_end();
        let live = live.into_trace();
        assert_eq!(whole.hash(), live.hash());
        assert_eq!(
            whole.names.consumers,
            ["billing-1", "billing-2", "billing-3"]
        );
        assert_eq!(whole.names.producers, ["shop", "web"]);

        // Saved with the commands as faults, the file replays to the same trace.
        let text = crate::scenario::to_toml(&sc);
        let back =
            crate::scenario::parse("saved.toml", &text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(back, sc);
        let mut again = Simulation::new(&back, 4);
        again.run_to_end();
        assert_eq!(again.into_trace().hash(), whole.hash());
    }

    #[test]
    fn the_first_consumer_group_added_creates_the_offsets_topic() {
        let mut sc = crate::scenario::parse("added.toml", ADDED).unwrap_or_else(|e| panic!("{e}"));
        sc.consumers.clear();
        sc.faults
            .retain(|f| matches!(f.command, Command::AddConsumer(_)));
        assert!(sc.offsets_topic().is_none());
        // Added while the controller is down: the topic waits for it.
        let mut sim = Simulation::new(&sc, 2);
        sim.schedule(TimedCommand {
            at: 7_000,
            command: Command::Crash {
                target: Target::Node(NodeId::Controller),
                kind: CrashKind::Process,
            },
        });
        sim.schedule(TimedCommand {
            at: 9_000,
            command: Command::Restart {
                target: Target::Node(NodeId::Controller),
            },
        });
        sim.run_to_end();
        let t = sim.into_trace();
        let lines: Vec<String> = t.lines().collect();
        let created: Vec<&String> = lines
            .iter()
            .filter(|l| l.contains("__consumer_offsets-0 leader=") && l.contains("(Created)"))
            .collect();
        assert_eq!(created.len(), 1, "{lines:#?}");
        assert!(created[0].starts_with("   9.000s"), "{}", created[0]);
        assert!(lines.iter().any(|l| l.contains(
            "8.000s skipped create __consumer_offsets for the first consumer group: the controller is not running"
        )));
        // The consumer found its coordinator and worked.
        assert_eq!(
            events_of(&t, NodeId::Consumer(0))
                .next()
                .map(|e| e.at >= 9_000),
            Some(true)
        );
        assert!(events_of(&t, NodeId::Consumer(0)).count() > 100);
    }

    #[test]
    fn commands_on_a_node_not_added_yet_are_skipped_and_names_stay_unique() {
        let sc = crate::scenario::parse("added.toml", ADDED).unwrap_or_else(|e| panic!("{e}"));
        let mut bare = sc.clone();
        bare.faults.clear();
        let mut sim = Simulation::new(&bare, 1);
        let billing3 = sc.consumer(2).expect("added").clone();
        sim.schedule(TimedCommand {
            at: 1_000,
            command: Command::Pause {
                target: Target::Node(NodeId::Consumer(2)),
            },
        });
        let mut dup = billing3.clone();
        dup.name = "billing-1".into();
        sim.schedule(TimedCommand {
            at: 2_000,
            command: Command::AddConsumer(Box::new(dup)),
        });
        sim.run_until(3_000);
        let lines: Vec<String> = sim.world().trace.lines().collect();
        assert!(
            lines
                .iter()
                .any(|l| l.ends_with("skipped pause consumer-2: consumer-2 does not exist yet")),
            "{lines:#?}"
        );
        assert!(lines.iter().any(|l| l.contains("skipped add consumer-billing-1 in group billing, reading orders: consumer-billing-1 already exists")));
        assert!(sim.world().consumer(2).is_none());
    }

    #[test]
    fn added_stream_processors_and_producers_use_the_topics_as_they_are_then() {
        let sc =
            crate::scenario::parse("more.toml", &more_added()).unwrap_or_else(|e| panic!("{e}"));
        let run = crate::report::run(&sc, 3);
        let t = &run.trace;
        let lines: Vec<String> = t.lines().collect();
        assert!(lines.iter().any(|l| l.ends_with(
            "10.000s consumer-scorer started (added) without a group, reading orders, writing to scores"
        )));
        // The producer knows the created topic's 3 partitions from the start: its keys spread.
        let late_tps: BTreeMap<String, usize> = t
            .entries
            .iter()
            .filter_map(|e| match &e.event {
                Event::Acked {
                    producer: NodeId::Producer(2),
                    tp,
                    values,
                    ..
                } => Some((tp.to_string(), values.len())),
                _ => None,
            })
            .fold(BTreeMap::new(), |mut m, (tp, n)| {
                *m.entry(tp).or_default() += n;
                m
            });
        assert!(late_tps.len() > 1, "{late_tps:?}");
        assert!(lines
            .iter()
            .any(|l| l.contains("producer-late acknowledged scores-2@0 [m1 ")));
        // The stream processor read and wrote.
        assert!(events_of(t, NodeId::Consumer(3)).count() > 100);
        assert!(run.findings.count(crate::scenario::Count::Output) > 0);
        assert!(
            run.findings.verdicts.iter().all(|v| v.holds()),
            "{:?}",
            run.findings.verdicts
        );
    }

    /// A finished simulation frees its world (logs, trace) when it is dropped, although
    /// madsim keeps the tasks of a dropped runtime: sweeps and property tests run thousands.
    #[test]
    fn a_dropped_simulation_frees_its_world() {
        let mut sim = Simulation::new(&small(3, 50.0, Vec::new()), 1);
        sim.run_to_end();
        let world = Arc::downgrade(&sim.world);
        drop(sim);
        assert!(world.upgrade().is_none());
    }

    #[test]
    fn chunking_time_does_not_change_the_run() {
        let faults = vec![TimedCommand {
            at: 1_000,
            command: Command::Crash {
                target: Target::Node(NodeId::Broker(1)),
                kind: CrashKind::Process,
            },
        }];
        let sc = small(3, 300.0, faults);
        let mut a = Simulation::new(&sc, 9);
        a.run_until(3_000);
        let mut b = Simulation::new(&sc, 9);
        let mut t = 0;
        while t < 3_000 {
            t = (t + 37).min(3_000);
            b.run_until(t);
        }
        assert_eq!(a.into_trace().hash(), b.into_trace().hash());
    }
}
