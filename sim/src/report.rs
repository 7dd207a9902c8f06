//! Running a scenario to its end and saying what happened: the report (for scripts, as JSON)
//! and the narrative (for people). Both are derived from the trace and the checkers' findings.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::checkers::{self, Findings, LostRecord};
use crate::host::Simulation;
use crate::ids::{BrokerId, Millis, NodeId};
use crate::replay::ReplayRole;
use crate::scenario::{CheckerId, Count, Expectation, Scenario};
use crate::trace::{fmt_time, ChangeReason, Event, Trace};

#[derive(Clone, Debug, Serialize)]
pub struct ReplicaReport {
    pub broker: BrokerId,
    pub up: bool,
    pub role: &'static str,
    pub log_end_offset: u64,
    pub high_watermark: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct PartitionReport {
    pub partition: String,
    pub leader: Option<BrokerId>,
    pub leader_epoch: u32,
    pub partition_epoch: u32,
    pub isr: Vec<BrokerId>,
    pub replicas: Vec<ReplicaReport>,
}

#[derive(Clone, Debug, Serialize)]
pub struct CheckerReport {
    pub checker: &'static str,
    pub holds: bool,
    pub violation: Option<checkers::Violation>,
}

#[derive(Clone, Debug, Serialize)]
pub struct ExpectationResult {
    pub expectation: String,
    pub actual: String,
    pub holds: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct RunReport {
    pub scenario: String,
    pub seed: u64,
    pub trace_hash: String,
    pub duration_ms: Millis,
    pub events: usize,
    pub counts: BTreeMap<&'static str, u64>,
    pub checkers: Vec<CheckerReport>,
    pub expectations: Vec<ExpectationResult>,
    pub lost_acknowledged: Vec<LostRecord>,
    pub partitions: Vec<PartitionReport>,
}

impl RunReport {
    pub fn expectations_hold(&self) -> bool {
        self.expectations.iter().all(|e| e.holds)
    }
}

/// A finished run: its trace, what the checkers found, and the report.
pub struct Run {
    pub trace: Trace,
    pub findings: Findings,
    pub report: RunReport,
}

/// Runs `scenario` with `seed` to its end.
pub fn run(scenario: &Scenario, seed: u64) -> Run {
    let mut sim = Simulation::new(scenario, seed);
    sim.run_to_end();
    let trace = sim.into_trace();
    analyse(scenario, seed, trace)
}

/// Checks a trace and builds its report.
pub fn analyse(scenario: &Scenario, seed: u64, trace: Trace) -> Run {
    let findings = checkers::check(&trace);
    let report = build_report(scenario, seed, &trace, &findings);
    Run {
        trace,
        findings,
        report,
    }
}

fn build_report(scenario: &Scenario, seed: u64, trace: &Trace, f: &Findings) -> RunReport {
    let partitions = f
        .replay
        .partitions
        .iter()
        .map(|(tp, m)| PartitionReport {
            partition: tp.to_string(),
            leader: m.leader,
            leader_epoch: m.leader_epoch,
            partition_epoch: m.partition_epoch,
            isr: m.isr.clone(),
            replicas: m
                .replicas
                .iter()
                .map(|&b| {
                    let r = f.replay.replica(tp, b).cloned().unwrap_or_default();
                    ReplicaReport {
                        broker: b,
                        up: r.up,
                        role: match r.role {
                            ReplayRole::Leader => "leader",
                            ReplayRole::Follower => "follower",
                            ReplayRole::None => "none",
                        },
                        log_end_offset: r.log.len() as u64,
                        high_watermark: r.high_watermark,
                    }
                })
                .collect(),
        })
        .collect();
    let expectations = scenario
        .expect
        .iter()
        .map(|e| match e {
            Expectation::Count { count, cmp, value } => {
                let actual = f.count(*count);
                ExpectationResult {
                    expectation: format!("{} {} {value}", count.name(), cmp.symbol()),
                    actual: actual.to_string(),
                    holds: cmp.holds(actual, *value),
                }
            }
            Expectation::Checker { checker, holds } => {
                let v = f.verdict(*checker);
                ExpectationResult {
                    expectation: format!(
                        "{} {}",
                        checker.name(),
                        if *holds { "holds" } else { "violated" }
                    ),
                    actual: if v.holds() {
                        "holds".into()
                    } else {
                        "violated".into()
                    },
                    holds: v.holds() == *holds,
                }
            }
        })
        .collect();
    RunReport {
        scenario: scenario.name.clone(),
        seed,
        trace_hash: format!("{:016x}", trace.hash()),
        duration_ms: scenario.duration,
        events: trace.entries.len(),
        counts: f.counts.iter().map(|(c, n)| (c.name(), *n)).collect(),
        checkers: f
            .verdicts
            .iter()
            .map(|v| CheckerReport {
                checker: v.checker.name(),
                holds: v.holds(),
                violation: v.violation.clone(),
            })
            .collect(),
        expectations,
        lost_acknowledged: f.lost.clone(),
        partitions,
    }
}

/// Runs with at most this many records show every acknowledgement in the narrative.
pub const DETAILED_RECORDS: u64 = 40;

/// Whether an event belongs in the narrative (the trace has every message; people want the
/// moments that matter).
pub fn narrated(e: &Event, detailed: bool) -> bool {
    match e {
        Event::Crashed { .. }
        | Event::ShutDown { .. }
        | Event::Restarted { .. }
        | Event::Paused { .. }
        | Event::Resumed { .. }
        | Event::Link { .. }
        | Event::Skipped { .. }
        | Event::BrokerFenced { .. }
        | Event::BrokerUnfenced { .. }
        | Event::Truncated { .. }
        | Event::DuplicateBatch { .. }
        | Event::Recovered { .. }
        | Event::Reconfigured { .. }
        | Event::ReaderReset { .. } => true,
        Event::PartitionChanged { reason, .. } => *reason != ChangeReason::Created,
        Event::BrokerRegistered { incarnation, .. } => *incarnation > 1,
        Event::BecameLeader { .. } => true,
        Event::Acked {
            base_offset: Some(_),
            ..
        }
        | Event::SendFailed { .. }
        | Event::Expired { .. } => detailed,
        _ => false,
    }
}

/// The human account of a run.
pub fn narrative(scenario: &Scenario, run: &Run) -> String {
    let f = &run.findings;
    let detailed = f.count(Count::Produced) <= DETAILED_RECORDS;
    let mut out = String::new();
    let _ = writeln!(out, "{}", scenario.name);
    if !scenario.description.is_empty() {
        for l in textwrap(&scenario.description, 92) {
            let _ = writeln!(out, "  {l}");
        }
    }
    let _ = writeln!(
        out,
        "  {} brokers, truncation: {}, seed {}, {} simulated\n",
        scenario.brokers,
        match scenario.truncation {
            crate::broker::TruncationMode::HighWatermark => "high-watermark (Kafka < 0.11)",
            crate::broker::TruncationMode::LeaderEpoch => "leader-epoch (KIP-101)",
        },
        run.report.seed,
        fmt_time(scenario.duration)
    );
    let mut breaks: BTreeMap<usize, Vec<(CheckerId, &str)>> = BTreeMap::new();
    for v in &f.verdicts {
        if let Some(x) = &v.violation {
            breaks
                .entry(x.index)
                .or_default()
                .push((v.checker, &x.message));
        }
    }
    let _ = writeln!(out, "Timeline");
    for (i, e) in run.trace.entries.iter().enumerate() {
        let b = breaks.get(&i);
        if narrated(&e.event, detailed) || b.is_some() {
            let _ = writeln!(out, "{}", shorten(e.line(&run.trace.names)));
        }
        for (c, msg) in b.into_iter().flatten() {
            let _ = writeln!(out, "{:>9}   ✗ {} violated: {msg}", "", c.name());
        }
    }
    if !detailed {
        let _ = writeln!(out, "\nProducer errors");
        let mut groups: BTreeMap<(NodeId, String, bool), (u64, Millis, Millis)> = BTreeMap::new();
        for e in &run.trace.entries {
            let (p, err, retry, n) = match &e.event {
                Event::SendFailed {
                    producer,
                    error,
                    retry,
                    values,
                    ..
                } => (*producer, error.name().to_string(), *retry, values.len()),
                Event::Expired {
                    producer, values, ..
                } => (
                    *producer,
                    "delivery.timeout.ms expired".into(),
                    false,
                    values.len(),
                ),
                _ => continue,
            };
            let g = groups.entry((p, err, retry)).or_insert((0, e.at, e.at));
            g.0 += n as u64;
            g.2 = e.at;
        }
        if groups.is_empty() {
            let _ = writeln!(out, "  none");
        }
        for ((p, err, retry), (n, first, last)) in groups {
            let _ = writeln!(
                out,
                "  {}: {n} records {err}{} between {} and {}",
                run.trace.names.name(p),
                if retry { " (retried)" } else { " (gave up)" },
                fmt_time(first),
                fmt_time(last)
            );
        }
    }
    out.push('\n');
    out.push_str(&outcome(run));
    out
}

/// Counts, checkers, lost records, expectations and final partition states.
pub fn outcome(run: &Run) -> String {
    let r = &run.report;
    let mut out = String::new();
    let _ = writeln!(out, "Outcome");
    let c = |n: &str| r.counts.get(n).copied().unwrap_or(0);
    let _ = writeln!(
        out,
        "  produced {}, acknowledged {}, failed {}, lost acknowledged {}, duplicated {}, reordered {}, consumed {}",
        c("produced"),
        c("acknowledged"),
        c("failed"),
        c("lost_acknowledged"),
        c("duplicated"),
        c("reordered"),
        c("consumed")
    );
    if !r.lost_acknowledged.is_empty() {
        let shown: Vec<String> = r
            .lost_acknowledged
            .iter()
            .take(6)
            .map(|l| format!("{} ({}@{})", l.value, l.tp, l.offset))
            .collect();
        let more = r.lost_acknowledged.len().saturating_sub(6);
        let _ = writeln!(
            out,
            "  lost: {}{}",
            shown.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        );
    }
    let _ = writeln!(out, "\nCheckers");
    for v in &r.checkers {
        match &v.violation {
            None => {
                let _ = writeln!(out, "  ✓ {}", v.checker);
            }
            Some(x) => {
                let _ = writeln!(
                    out,
                    "  ✗ {} at {} (event #{}): {}",
                    v.checker,
                    fmt_time(x.at),
                    x.index,
                    x.message
                );
            }
        }
    }
    let _ = writeln!(out, "\nPartitions at the end");
    for p in &r.partitions {
        let leader = p
            .leader
            .map(|l| format!("broker-{l}"))
            .unwrap_or_else(|| "none (offline)".into());
        let _ = writeln!(
            out,
            "  {} leader {leader}, leader epoch {}, isr {:?}",
            p.partition, p.leader_epoch, p.isr
        );
        for rep in &p.replicas {
            let _ = writeln!(
                out,
                "    broker-{} {:<8} leo {:<5} hw {:<5}{}",
                rep.broker,
                rep.role,
                rep.log_end_offset,
                rep.high_watermark,
                if rep.up { "" } else { " (down)" }
            );
        }
    }
    if !r.expectations.is_empty() {
        let _ = writeln!(out, "\nExpectations");
        for e in &r.expectations {
            let _ = writeln!(
                out,
                "  {} {} (actual: {})",
                if e.holds { "✓" } else { "✗" },
                e.expectation,
                e.actual
            );
        }
    }
    let _ = writeln!(out, "\ntrace: {} events, hash {}", r.events, r.trace_hash);
    out
}

/// Narrative lines stay readable; the full line is in `--trace`.
fn shorten(line: String) -> String {
    const MAX: usize = 140;
    if line.chars().count() <= MAX {
        return line;
    }
    let cut: String = line.chars().take(MAX - 1).collect();
    format!("{cut}…")
}

fn textwrap(s: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    // A single newline in a scenario's description is layout, a blank line a new paragraph.
    for para in s.split("\n\n") {
        let mut line = String::new();
        for w in para.split_whitespace() {
            if !line.is_empty() && line.len() + 1 + w.len() > width {
                lines.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(w);
        }
        lines.push(line);
        lines.push(String::new());
    }
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    lines
}
