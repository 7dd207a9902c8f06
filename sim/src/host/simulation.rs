//! The driver: virtual time in millisecond quanta, the commands due in each, and the madsim
//! runtime that runs the nodes woken in it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use madsim::runtime::{NodeHandle, Runtime};

use crate::command::TimedCommand;
use crate::ids::{Millis, NodeId};
use crate::network::Network;
use crate::scenario::Scenario;
use crate::trace::{CrashKind, Event, Trace};

use super::commands::{apply_command, NodeOp};
use super::world::{node_main, Actor, OffsetsTopic, Slot, World};

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
            clients: Vec::new(),
            isolated: Default::default(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::{Command, Target};
    use crate::host::tests::small;

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
