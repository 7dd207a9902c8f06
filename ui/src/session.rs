//! The session: one scenario being watched, the interventions made on it, and its recorded trace.
//!
//! The session is plain data with no bevy or egui in it, so that its logic (branching on an
//! intervention, absorbing the simulation thread's replies, saving) is tested without a window.
//! The trace it holds is the only thing the views read.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use kafkascope_sim::checkers::Findings;
use kafkascope_sim::command::Command;
use kafkascope_sim::command::TimedCommand;
use kafkascope_sim::config::ProducerConfig;
use kafkascope_sim::ids::{Millis, NodeId, NodeNames};
use kafkascope_sim::scenario::{ConsumerDef, ProducerDef, Scenario};
use kafkascope_sim::trace::{ChangeReason, Event, LinkChange, TraceEntry};

use crate::metrics::Metrics;
use crate::sim_thread::{Reply, Request};

/// Where a record came from, for colouring its cells.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordOrigin {
    pub producer: u16,
    pub key: Option<Arc<str>>,
}

/// A moment worth a mark on the timeline.
#[derive(Clone, Debug, PartialEq)]
pub struct Mark {
    pub at: Millis,
    pub kind: MarkKind,
    pub label: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MarkKind {
    /// A crash, shutdown, pause or cut: something broke.
    Fault,
    /// A restart, resume or heal: something came back.
    Recovery,
    /// The controller changed a partition's leader.
    Election,
}

pub struct Session {
    /// What the home screen called it: a shipped scenario's name or a file path.
    pub source: String,
    pub scenario: Scenario,
    pub seed: u64,
    /// The interventions made in this session, in time order (the scenario's own faults are in
    /// `scenario.faults`).
    pub interventions: Vec<TimedCommand>,
    /// Every node's name, the clients added while running included (by the scenario's faults,
    /// by interventions, and as their `NodeAdded` arrives).
    pub names: NodeNames,
    /// Every producer and consumer by node index (`NodeId::Producer(i)` is `producers[i]`):
    /// the declared ones, then those that `add-producer`/`add-consumer` commands start, in the
    /// order they run. The views draw these, so an added client has its place in the picture
    /// before and after it joins.
    pub producers: Vec<ProducerDef>,
    pub consumers: Vec<ConsumerDef>,
    /// When each added client joins (declared ones are absent: they exist from the start).
    pub added_at: BTreeMap<NodeId, Millis>,
    /// See [`Session::grown_replicas_per_broker`] and [`Session::grown_partitions`].
    grown: (usize, usize),
    /// The trace recorded so far: complete for `[0, simulated_to)`.
    pub entries: Vec<TraceEntry>,
    pub simulated_to: Millis,
    /// The checkers' findings over the whole run, once it has reached its end.
    pub findings: Option<Findings>,
    pub trace_hash: Option<u64>,
    /// Bumped on each branch; replies from older runs are ignored.
    pub generation: u64,
    /// The entries the event log shows (the narrative's choice of events): index and line,
    /// rendered once as they arrive so that filtering the log costs no formatting.
    pub narrated: Vec<(usize, String)>,
    pub marks: Vec<Mark>,
    pub origins: HashMap<Arc<str>, RecordOrigin>,
    /// Throughput, under-replicated and offline partitions and lag over time, for the plots.
    pub metrics: Metrics,
    /// Whether the run has few enough records that every acknowledgement is worth a log line.
    detailed: bool,
}

/// Runs with at most this many records a second narrate every acknowledgement.
const DETAILED_RATE: f64 = 20.0;

impl Session {
    pub fn new(source: impl Into<String>, scenario: Scenario, seed: u64) -> Self {
        let detailed = scenario
            .producers
            .iter()
            .all(|p| p.workload.rate <= DETAILED_RATE);
        let scenario_duration = scenario.duration;
        let mut session = Session {
            source: source.into(),
            names: NodeNames::default(),
            producers: Vec::new(),
            consumers: Vec::new(),
            added_at: BTreeMap::new(),
            grown: (0, 0),
            scenario,
            seed,
            interventions: Vec::new(),
            entries: Vec::new(),
            simulated_to: 0,
            findings: None,
            trace_hash: None,
            generation: 0,
            narrated: Vec::new(),
            marks: Vec::new(),
            origins: HashMap::new(),
            metrics: Metrics::new(scenario_duration),
            detailed,
        };
        session.refresh_clients();
        session
    }

    /// The session with `commands` as its interventions from the start (a lesson's commands so
    /// far), before anything is simulated.
    pub fn with_interventions(mut self, commands: Vec<TimedCommand>) -> Self {
        self.interventions = commands;
        self.refresh_clients();
        self
    }

    /// Recomputes the clients and their names from the scenario and the interventions (after a
    /// branch, the clients a discarded intervention added are gone).
    fn refresh_clients(&mut self) {
        let all = self.as_scenario();
        self.names = all.names();
        self.producers = all.all_producers().cloned().collect();
        self.consumers = all.all_consumers().cloned().collect();
        self.added_at.clear();
        self.grown = Self::count_growth(&all);
        let (mut p, mut c) = (all.producers.len() as u16, all.consumers.len() as u16);
        for f in all.faults_in_order() {
            let (next, node): (&mut u16, fn(u16) -> NodeId) = match f.command {
                Command::AddProducer(_) => (&mut p, NodeId::Producer),
                Command::AddConsumer(_) => (&mut c, NodeId::Consumer),
                _ => continue,
            };
            self.added_at.insert(node(*next), f.at);
            *next += 1;
        }
    }

    /// How many more replicas the busiest broker may host by the end than at the start, from
    /// the `create-topic` and `add-partitions` commands (the controller spreads a topic's new
    /// replicas evenly): the broker boxes are made that much taller from the start, so that the
    /// picture does not jump when the partitions appear.
    pub fn grown_replicas_per_broker(&self) -> usize {
        self.grown.0
    }

    /// How many partitions the `create-topic` and `add-partitions` commands add in all.
    pub fn grown_partitions(&self) -> usize {
        self.grown.1
    }

    /// See [`Session::grown_replicas_per_broker`] and [`Session::grown_partitions`].
    fn count_growth(all: &Scenario) -> (usize, usize) {
        let mut topics: BTreeMap<&str, (u32, u32)> = all
            .topics
            .iter()
            .map(|t| (t.name.as_ref(), (t.partitions, t.replication_factor)))
            .collect();
        let brokers = all.brokers.max(1) as usize;
        let (mut extra, mut partitions) = (0, 0);
        for c in all.faults_in_order() {
            let (added, rf) = match &c.command {
                Command::CreateTopic {
                    name,
                    partitions,
                    replication_factor,
                } => {
                    topics.insert(name, (*partitions, *replication_factor));
                    (*partitions, *replication_factor)
                }
                Command::AddPartitions { topic, partitions } => {
                    match topics.get_mut(topic.as_ref()) {
                        Some((n, rf)) if *partitions > *n => {
                            let added = *partitions - std::mem::replace(n, *partitions);
                            (added, *rf)
                        }
                        _ => continue,
                    }
                }
                _ => continue,
            };
            extra += (added as usize * rf as usize).div_ceil(brokers);
            partitions += added as usize;
        }
        (extra, partitions)
    }

    /// The producer `NodeId::Producer(i)`, declared or added.
    pub fn producer(&self, i: u16) -> Option<&ProducerDef> {
        self.producers.get(usize::from(i))
    }

    /// Producer `i`'s settings and rate at `t`: its definition, then every change the trace
    /// records up to `t` (a `producer` command the producer applied; skipped ones are not there).
    pub fn producer_at(&self, i: u16, t: Millis) -> Option<(ProducerConfig, f64)> {
        let def = self.producer(i)?;
        let (mut config, mut rate) = (def.config.clone(), def.workload.rate);
        let until = self.entries.partition_point(|e| e.at <= t);
        for e in &self.entries[..until] {
            if let Event::Reconfigured {
                producer: NodeId::Producer(p),
                settings,
                rate: r,
            } = &e.event
            {
                if *p == i {
                    for (k, v) in settings {
                        config.set(k, v);
                    }
                    rate = r.unwrap_or(rate);
                }
            }
        }
        Some((config, rate))
    }

    /// The consumer `NodeId::Consumer(i)`, declared or added.
    pub fn consumer(&self, i: u16) -> Option<&ConsumerDef> {
        self.consumers.get(usize::from(i))
    }

    /// The end of the run: the scenario's duration.
    pub fn end(&self) -> Millis {
        self.scenario.duration
    }

    pub fn complete(&self) -> bool {
        self.findings.is_some()
    }

    /// The request that (re)starts the simulation for the current generation.
    pub fn request(&self) -> Request {
        Request::Run {
            generation: self.generation,
            scenario: Box::new(self.scenario.clone()),
            seed: self.seed,
            commands: self.interventions.clone(),
            skip: self.entries.len(),
            until: self.end(),
        }
    }

    /// Takes in a reply from the simulation thread; stale generations are ignored.
    pub fn absorb(&mut self, reply: Reply) {
        match reply {
            Reply::Entries {
                generation,
                entries,
                simulated_to,
            } if generation == self.generation => {
                for e in entries {
                    self.index(&e);
                    self.entries.push(e);
                }
                // A branch's run starts from zero but the kept prefix already covers
                // `[0, branch point)`: time simulated never goes back.
                self.simulated_to = self.simulated_to.max(simulated_to);
                self.metrics.close_until(self.simulated_to);
            }
            Reply::Done {
                generation,
                findings,
                trace_hash,
            } if generation == self.generation => {
                self.simulated_to = self.end();
                self.metrics.close_until(self.simulated_to);
                self.findings = Some(*findings);
                self.trace_hash = Some(trace_hash);
            }
            _ => {}
        }
    }

    /// Records an intervention at `command.at` and discards the future after it: later
    /// interventions and every trace entry from that millisecond on (RaftScope's fork). Returns
    /// the request that re-simulates the new future.
    ///
    /// Interventions already made at the same millisecond stay, before this one: crashing two
    /// brokers while paused on one moment crashes both.
    pub fn branch(&mut self, command: TimedCommand) -> Request {
        let at = command.at;
        let mut commands = std::mem::take(&mut self.interventions);
        commands.retain(|c| c.at <= at);
        commands.push(command);
        self.branch_to(commands, at)
    }

    /// Replaces the interventions with `commands`, which agree with the old ones before `at`,
    /// and discards the trace from `at` on. A lesson's task keeps every command the learner
    /// gave (the lesson checks them all), so it branches this way rather than by [`Self::branch`].
    pub fn branch_to(&mut self, commands: Vec<TimedCommand>, at: Millis) -> Request {
        self.interventions = commands;
        let keep = self.entries.partition_point(|e| e.at < at);
        self.entries.truncate(keep);
        self.narrated.retain(|(i, _)| *i < keep);
        self.marks.retain(|m| m.at < at);
        self.simulated_to = self.simulated_to.min(at);
        // The series' running state (ISRs, HWs) cannot be unwound; the prefix is folded again.
        self.metrics = Metrics::from_entries(self.end(), &self.entries, self.simulated_to);
        self.findings = None;
        self.trace_hash = None;
        self.generation += 1;
        self.refresh_clients();
        self.request()
    }

    /// The scenario this session replays exactly: the scenario's faults plus the interventions.
    pub fn as_scenario(&self) -> Scenario {
        let mut s = self.scenario.clone();
        s.seed = self.seed;
        s.faults.extend(self.interventions.iter().cloned());
        s.faults.sort_by_key(|c| c.at);
        s
    }

    /// Index of the first entry after time `t` (the number of entries at or before `t`).
    pub fn entries_through(&self, t: Millis) -> usize {
        self.entries.partition_point(|e| e.at <= t)
    }

    pub fn line(&self, index: usize) -> String {
        self.entries[index].line(&self.names)
    }

    fn index(&mut self, e: &TraceEntry) {
        let i = self.entries.len();
        self.names.observe(&e.event);
        self.metrics.absorb(e.at, &e.event);
        if narrated(&e.event, self.detailed) {
            self.narrated.push((i, e.line(&self.names)));
        }
        if let Some((kind, label)) = mark(&e.event, &self.names) {
            // One mark per moment and kind is enough for a timeline.
            let dup = self
                .marks
                .last()
                .is_some_and(|m| m.at == e.at && m.kind == kind);
            if !dup {
                self.marks.push(Mark {
                    at: e.at,
                    kind,
                    label,
                });
            }
        }
        if let Event::Produced {
            producer: NodeId::Producer(p),
            value,
            key,
            ..
        } = &e.event
        {
            self.origins.insert(
                value.clone(),
                RecordOrigin {
                    producer: *p,
                    key: key.clone(),
                },
            );
        }
    }
}

/// The events the event log shows: the narrative's choice, so the log reads like
/// `kafkascope run`, plus each send in small runs (the log is where a learner follows m1 and m2).
pub fn narrated(e: &Event, detailed: bool) -> bool {
    kafkascope_sim::report::narrated(e, detailed)
        || (detailed && matches!(e, Event::Produced { .. }))
}

fn mark(e: &Event, names: &NodeNames) -> Option<(MarkKind, String)> {
    let n = |id: &NodeId| names.name(*id);
    Some(match e {
        Event::Crashed { node, .. } => (MarkKind::Fault, format!("{} crashed", n(node))),
        Event::ShutDown { node } => (MarkKind::Fault, format!("{} shut down", n(node))),
        Event::Paused { node } => (MarkKind::Fault, format!("{} paused", n(node))),
        Event::Restarted { node } => (MarkKind::Recovery, format!("{} restarted", n(node))),
        Event::Resumed { node } => (MarkKind::Recovery, format!("{} resumed", n(node))),
        Event::Link {
            from,
            to,
            change: LinkChange::Cut,
        } => (
            MarkKind::Fault,
            format!("link {} -> {} cut", n(from), n(to)),
        ),
        Event::Link {
            from,
            to,
            change: LinkChange::Healed,
        } => (
            MarkKind::Recovery,
            format!("link {} -> {} healed", n(from), n(to)),
        ),
        Event::PartitionChanged {
            tp,
            leader,
            reason:
                ChangeReason::Election
                | ChangeReason::ElrElection
                | ChangeReason::LastKnownLeader
                | ChangeReason::UncleanElection
                | ChangeReason::Offline,
            ..
        } => (
            MarkKind::Election,
            match leader {
                Some(l) => format!("{tp}: broker-{l} elected"),
                None => format!("{tp} offline"),
            },
        ),
        _ => return None,
    })
}
