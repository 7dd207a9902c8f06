//! Applying commands (faults and interventions) to the world: crashes, restarts, links, a
//! producer's settings, admin changes, and nodes added while the cluster runs. What madsim
//! must do about a node (create, kill, restart, pause, resume) is returned as a [`NodeOp`]
//! for the driver, which owns the runtime.

use std::sync::Arc;

use crate::command::{Command, Target};
use crate::controller::TopicPolicy;
use crate::effects::Effects;
use crate::ids::{BrokerId, NodeId, OFFSETS_TOPIC};
use crate::network::LinkParams;
use crate::producer::Workload;
use crate::scenario::{ConsumerDef, ProducerDef};
use crate::trace::{ClosedBy, CrashKind, Event};

use super::world::{apply, Actor, ClientDef, NodeStatus, OffsetsTopic, Slot, World};

/// What the driver must do in madsim after the world changed.
pub(super) enum NodeOp {
    /// A node added while running (its slot and state machine exist already).
    Create(NodeId),
    Kill(NodeId),
    Restart(NodeId),
    Pause(NodeId),
    Resume(NodeId),
}

impl World {
    /// Crashes the consumers whose `crash … when = "mid-batch"` is due and that are part-way
    /// through a batch now.
    pub(super) fn crash_waiting(&mut self, ops: &mut Vec<NodeOp>) {
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

    /// A real client's connection to `broker`, at the current time. A connection to a broker
    /// that an `isolate` cut off is cut too: a client cannot reach it either.
    fn connect_client(
        &mut self,
        client: u16,
        broker: BrokerId,
        client_id: &str,
        ops: &mut Vec<NodeOp>,
    ) -> Result<(), String> {
        let next = self.clients.len() + 1;
        if usize::from(client) != next {
            return Err(format!("the next connection is client-{next}"));
        }
        if !self.slots.contains_key(&NodeId::Broker(broker)) {
            return Err(format!("there is no broker-{broker}"));
        }
        self.clients.push(ClientDef {
            broker,
            client_id: client_id.into(),
        });
        let id = NodeId::Client(client);
        self.add_node(
            id,
            &client.to_string(),
            format!("{client_id}, connected to broker-{broker}"),
            ops,
        );
        if self.isolated.contains(&NodeId::Broker(broker)) {
            let mut ev = Vec::new();
            self.net.cut(self.now, id, NodeId::Broker(broker), &mut ev);
            self.net.cut(self.now, NodeId::Broker(broker), id, &mut ev);
            self.push_all(ev);
        }
        Ok(())
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
    pub(super) fn create_offsets_topic(&mut self) {
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

/// Applies one command to the world; what it asks of madsim goes into `ops`.
pub(super) fn apply_command(w: &mut World, c: &Command, ops: &mut Vec<NodeOp>) {
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
                w.isolated.insert(id);
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
            match between {
                None => w.isolated.clear(),
                Some((a, b)) => {
                    for t in a.iter().chain(b) {
                        if let Ok(id) = w.resolve(t) {
                            w.isolated.remove(&id);
                        }
                    }
                }
            }
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
                        w.push(Event::Reconfigured {
                            producer: id,
                            settings: settings.clone(),
                            rate: *rate,
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
        Command::DeleteRecords { tp, offset } => {
            let leader = match w.resolve(&Target::LeaderOf(tp.clone())) {
                Ok(NodeId::Broker(b)) => b,
                Ok(_) => return skip(w, format!("{tp} has no leader")),
                Err(e) => return skip(w, e),
            };
            let now = w.now;
            let World {
                slots, net, trace, ..
            } = w;
            let id = NodeId::Broker(leader);
            let running = slots
                .get_mut(&id)
                .filter(|s| s.status == NodeStatus::Running);
            let result = match running.and_then(|s| s.actor.as_mut()) {
                Some(Actor::Broker(b)) => {
                    let mut fx = Effects::default();
                    let r = b.delete_records(tp, *offset, &mut fx);
                    apply(now, id, &mut fx, net, trace);
                    r
                }
                _ => Err(format!(
                    "broker-{leader}, the leader of {tp}, is not running"
                )),
            };
            if let Err(reason) = result {
                skip(w, reason);
            }
        }
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
        Command::ClientConnect {
            client,
            broker,
            client_id,
        } => {
            if let Err(e) = w.connect_client(*client, *broker, client_id, ops) {
                skip(w, e)
            }
        }
        Command::ClientRequest {
            client,
            request,
            messages,
        } => {
            let id = NodeId::Client(*client);
            let now = w.now;
            // Kafka creates `__consumer_offsets` on the first FindCoordinator for a group.
            let find = messages
                .iter()
                .any(|m| matches!(m, crate::protocol::Message::FindCoordinator { .. }));
            if find && w.offsets_topic == OffsetsTopic::Absent {
                w.offsets_topic = OffsetsTopic::Wanted { reported: false };
            }
            let mut fx = Effects::default();
            let World {
                slots, net, trace, ..
            } = w;
            match slots.get_mut(&id) {
                Some(Slot {
                    actor: Some(Actor::Client(c)),
                    status: NodeStatus::Running,
                    ..
                }) => {
                    c.request(now, *request, messages.clone(), &mut fx);
                    apply(now, id, &mut fx, net, trace);
                }
                _ => skip(w, format!("client-{client} is not connected")),
            }
        }
        Command::ClientClose { client } => {
            let id = NodeId::Client(*client);
            // Nothing to do when the broker closed it already (a reset), or it never opened.
            if w.slots.get(&id).map(|s| s.status) == Some(NodeStatus::Running) {
                w.push(Event::ClientClosed {
                    client: id,
                    by: ClosedBy::Client,
                });
                w.stop_actor(id, CrashKind::Process);
                ops.push(NodeOp::Kill(id));
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
        Command::DeleteRecords { tp, offset } => match offset {
            Some(o) => format!("delete records of {tp} below offset {o}"),
            None => format!("delete records of {tp} below its high watermark"),
        },
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
        Command::ClientConnect {
            client,
            broker,
            client_id,
        } => format!("client-{client} ({client_id}) connects to broker-{broker}"),
        Command::ClientRequest {
            client,
            request,
            messages,
        } => {
            let ms: Vec<String> = messages.iter().map(|m| m.summary()).collect();
            format!("client-{client} request {request}: {}", ms.join("; "))
        }
        Command::ClientClose { client } => format!("client-{client} closes its connection"),
    }
}
