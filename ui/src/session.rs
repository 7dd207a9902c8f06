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
use kafkascope_sim::ids::{BrokerId, Millis, NodeId, NodeNames};
use kafkascope_sim::scenario::{ConsumerDef, ProducerDef, Scenario};
use kafkascope_sim::trace::{ChangeReason, Event, LinkChange, TraceEntry};

use crate::metrics::Metrics;
use crate::sim_thread::{LiveStart, Reply, Request};

/// A live session's state (`kafkascope ui --serve`): real clients connect while it serves.
#[derive(Clone, Debug, PartialEq)]
pub struct LiveInfo {
    /// The clients' `bootstrap.servers`, once the ports are bound.
    pub bootstrap: Option<String>,
    /// Why it could not start.
    pub error: Option<String>,
    /// Asked to stop ("Branch from here"): waiting for the recording.
    pub stopping: bool,
}

/// A real client's connection (`NodeId::Client(i)`), from its `NodeAdded`.
#[derive(Clone, Debug, PartialEq)]
pub struct RealClient {
    /// Its `client.id` (or what the connection said about itself).
    pub client_id: String,
    /// The broker it is connected to.
    pub broker: Option<BrokerId>,
    /// When it connected.
    pub at: Millis,
}

impl RealClient {
    /// From a `NodeAdded`'s description: `kafka-python-3.0.0, connected to broker-2`.
    pub fn parse(description: &str, at: Millis) -> RealClient {
        let (id, broker) = match description.rsplit_once(", connected to broker-") {
            Some((id, b)) => (id, b.trim().parse().ok()),
            None => (description, None),
        };
        RealClient {
            client_id: id.to_string(),
            broker,
            at,
        }
    }
}

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
    /// Serving real clients (`kafkascope ui --serve`): the trace grows with the wall clock and
    /// interventions apply now instead of branching.
    pub live: Option<LiveInfo>,
    /// The real clients' connections by index (`NodeId::Client(i)`), as the trace adds them.
    pub real_clients: BTreeMap<u16, RealClient>,
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
            live: None,
            real_clients: BTreeMap::new(),
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

    /// The end of the run: the scenario's duration; while live, the time reached so far.
    pub fn end(&self) -> Millis {
        if self.live.is_some() {
            self.simulated_to
        } else {
            self.scenario.duration
        }
    }

    /// Serving real clients now (not yet asked to stop).
    pub fn serving(&self) -> bool {
        self.live.as_ref().is_some_and(|l| !l.stopping)
    }

    /// The session as a live one: the request that starts serving on `port` at `speed`.
    pub fn start_live(&mut self, text: String, port: u16, speed: f64) -> Request {
        self.live = Some(LiveInfo {
            bootstrap: None,
            error: None,
            stopping: false,
        });
        Request::Live {
            generation: self.generation,
            start: Box::new(LiveStart {
                scenario: self.scenario.clone(),
                text,
                name: self.source.clone(),
                seed: self.seed,
                port,
                speed,
            }),
        }
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

    /// Takes in a reply from the simulation thread; stale generations are ignored. Returns the
    /// request to send next: when a live session has ended, the run that replays its recording
    /// (an ordinary session from then on).
    pub fn absorb(&mut self, reply: Reply) -> Option<Request> {
        match reply {
            Reply::LiveStarted {
                generation,
                bootstrap,
            } if generation == self.generation => {
                if let Some(l) = &mut self.live {
                    l.bootstrap = Some(bootstrap);
                }
            }
            Reply::LiveFailed { generation, error } if generation == self.generation => {
                if let Some(l) = &mut self.live {
                    l.error = Some(error);
                }
            }
            Reply::LiveEnded {
                generation,
                recording,
            } if generation == self.generation => return Some(self.end_live(*recording)),
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
        None
    }

    /// The live session has ended with `recording` (its scenario, every command applied, and
    /// the time reached): the session goes on as an ordinary one of that scenario, with room
    /// to run on after it (the scenario's duration, or 30 s more), and the returned request
    /// re-simulates it (the trace so far is the same, so only what follows travels).
    pub fn end_live(&mut self, mut recording: Scenario) -> Request {
        let reached = recording.duration;
        recording.duration = self.scenario.duration.max(reached + 30_000);
        self.scenario = recording;
        self.live = None;
        self.branch_to(Vec::new(), reached)
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
        self.real_clients.retain(|_, c| c.at < at);
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
        if let Event::NodeAdded {
            node: NodeId::Client(c),
            description,
            ..
        } = &e.event
        {
            self.real_clients
                .insert(*c, RealClient::parse(description, e.at));
        }
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
        || narrated_transaction(e, detailed)
}

/// Transactions in the log: the producer's and its coordinator's steps always, each
/// partition's first record and marker in small runs.
fn narrated_transaction(e: &Event, detailed: bool) -> bool {
    match e {
        Event::TxnInitialized { .. }
        | Event::TxnEnded { .. }
        | Event::ProducerFenced { .. }
        | Event::TxnStateChanged { .. } => true,
        Event::TxnStarted { .. } | Event::TxnMarkerWritten { .. } => detailed,
        _ => false,
    }
}

fn mark(e: &Event, names: &NodeNames) -> Option<(MarkKind, String)> {
    let n = |id: &NodeId| names.name(*id);
    Some(match e {
        Event::Crashed { node, .. } => (MarkKind::Fault, format!("{} crashed", n(node))),
        Event::ShutDown { node } => (MarkKind::Fault, format!("{} shut down", n(node))),
        Event::Paused { node } => (MarkKind::Fault, format!("{} paused", n(node))),
        Event::Restarted { node } => (MarkKind::Recovery, format!("{} restarted", n(node))),
        Event::Resumed { node } => (MarkKind::Recovery, format!("{} resumed", n(node))),
        Event::ProducerFenced {
            producer,
            transactional_id,
            ..
        } => (
            MarkKind::Fault,
            format!("{} fenced ({transactional_id})", n(producer)),
        ),
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

#[cfg(test)]
mod tests {
    use super::*;
    use kafkascope_sim::trace::ClosedBy;

    fn live() -> Session {
        let text = include_str!("../../scenarios/real-clients.toml");
        let scenario = kafkascope_sim::scenario::parse("real-clients", text).unwrap();
        let mut s = Session::new("real-clients", scenario, 1);
        let _ = s.start_live(text.into(), 0, 1.0);
        s
    }

    fn entry(at: Millis, event: Event) -> TraceEntry {
        TraceEntry { at, event }
    }

    #[test]
    fn a_real_clients_connection_is_read_off_its_node_added() {
        assert_eq!(
            RealClient::parse("kafka-python-3.0.0, connected to broker-2", 40),
            RealClient {
                client_id: "kafka-python-3.0.0".into(),
                broker: Some(2),
                at: 40,
            }
        );
        let mut s = live();
        s.absorb(Reply::Entries {
            generation: s.generation,
            entries: vec![
                entry(
                    12,
                    Event::NodeAdded {
                        node: NodeId::Client(1),
                        name: "1".into(),
                        description: "rdkafka, connected to broker-3".into(),
                    },
                ),
                entry(
                    30,
                    Event::ClientClosed {
                        client: NodeId::Client(1),
                        by: ClosedBy::Client,
                    },
                ),
            ],
            simulated_to: 50,
        });
        assert_eq!(s.real_clients[&1].client_id, "rdkafka");
        assert_eq!(s.real_clients[&1].broker, Some(3));
        assert!(s.serving());
        assert_eq!(s.end(), 50);
    }

    #[test]
    fn a_live_session_that_ends_goes_on_as_its_recording() {
        let mut s = live();
        s.absorb(Reply::Entries {
            generation: s.generation,
            entries: vec![entry(
                12,
                Event::NodeAdded {
                    node: NodeId::Client(1),
                    name: "1".into(),
                    description: "x, connected to broker-1".into(),
                },
            )],
            simulated_to: 4_000,
        });
        let mut recording = s.scenario.clone();
        recording.duration = 4_000;
        recording.faults.push(TimedCommand {
            at: 12,
            command: Command::ClientConnect {
                client: 1,
                broker: 1,
                client_id: "x".into(),
            },
        });
        let request = s
            .absorb(Reply::LiveEnded {
                generation: s.generation,
                recording: Box::new(recording),
            })
            .expect("the recording is re-simulated");
        assert!(s.live.is_none());
        assert_eq!(s.scenario.duration, 60_000, "room to run on");
        assert_eq!(s.scenario.faults.len(), 1);
        assert_eq!(s.entries.len(), 1, "the past is kept");
        let Request::Run {
            skip,
            until,
            generation,
            ..
        } = request
        else {
            panic!("a run");
        };
        assert_eq!((skip, until, generation), (1, 60_000, s.generation));
        assert!(s.real_clients.contains_key(&1));
    }
}
