//! The session: one scenario being watched, the interventions made on it, and its recorded trace.
//!
//! The session is plain data with no bevy or egui in it, so that its logic (branching on an
//! intervention, absorbing the simulation thread's replies, saving) is tested without a window.
//! The trace it holds is the only thing the views read.

use std::collections::HashMap;
use std::sync::Arc;

use kafkascope_sim::checkers::Findings;
use kafkascope_sim::command::TimedCommand;
use kafkascope_sim::ids::{Millis, NodeId, NodeNames};
use kafkascope_sim::scenario::Scenario;
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
    pub names: NodeNames,
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
        Session {
            source: source.into(),
            names: scenario.names(),
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
        }
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
    pub fn branch(&mut self, command: TimedCommand) -> Request {
        let at = command.at;
        let mut commands = std::mem::take(&mut self.interventions);
        commands.retain(|c| c.at < at);
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
            reason: ChangeReason::Election | ChangeReason::UncleanElection | ChangeReason::Offline,
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
