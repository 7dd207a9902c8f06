//! Running a scenario to its end and saying what happened: the report (for scripts, as JSON)
//! and the narrative (for people). Both are derived from the trace and the checkers' findings.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::checkers::{self, Findings, LostRecord};
use crate::host::Simulation;
use crate::ids::{BrokerId, Millis, NodeId, TopicPartition};
use crate::metrics::{lag_moments, LagMoment, Metrics};
use crate::protocol::TxnState;
use crate::replay::ReplayRole;
use crate::scenario::{CheckerId, Count, Expectation, Scenario};
use crate::trace::{fmt_time, ChangeReason, Event, PositionReason, Trace};

/// The checkers about consumers and groups; a run without consumers does not list them.
pub const CONSUMER_CHECKERS: [CheckerId; 6] = [
    CheckerId::NoSkippedRecords,
    CheckerId::NoReprocessing,
    CheckerId::MonotonicPolls,
    CheckerId::NoCommitRegression,
    CheckerId::NoDoubleAssignment,
    CheckerId::NoReadAboveHw,
];

/// The checkers about transactions; a run whose coordinators never changed a transaction's
/// state does not list them.
pub const TRANSACTION_CHECKERS: [CheckerId; 3] = [
    CheckerId::NoAbortedReads,
    CheckerId::NoZombieWrites,
    CheckerId::NoHangingTransactions,
];

/// Whether some transaction coordinator changed a transaction's state in `trace`.
pub fn has_transactions(trace: &Trace) -> bool {
    trace
        .entries
        .iter()
        .any(|e| matches!(e.event, Event::TxnStateChanged { .. }))
}

#[derive(Clone, Debug, Serialize)]
pub struct ReplicaReport {
    pub broker: BrokerId,
    pub up: bool,
    pub role: &'static str,
    pub log_end_offset: u64,
    pub high_watermark: u64,
    /// The first offset still readable (retention, DeleteRecords).
    pub log_start_offset: u64,
    /// How many segments the replica's log has.
    pub segments: usize,
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
    /// Lag per group and partition, latency percentiles, throughput, partition health, and
    /// their series sampled every second (see [`crate::metrics`]).
    pub metrics: Metrics,
    /// When a group started falling behind, and when it caught up.
    pub lag_moments: Vec<LagMoment>,
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
    let findings = checkers::check_to(&trace, scenario.duration);
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
                        log_start_offset: r.log_start_offset,
                        segments: r.segments.len(),
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
        metrics: f.metrics.clone(),
        lag_moments: lag_moments(&f.metrics.series),
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
        | Event::NodeAdded { .. }
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
        Event::CoordinatorLoaded { .. }
        | Event::RebalanceStarted { .. }
        | Event::GroupStable { .. }
        | Event::MemberRemoved { .. }
        | Event::CommitFailed { .. }
        | Event::LeftGroup { .. }
        | Event::ConsumerFailed { .. }
        | Event::PartitionsRevoked { lost: true, .. } => true,
        Event::TxnInitialized { .. } | Event::ProducerFenced { .. } => true,
        Event::TxnStateChanged { state, .. } => *state == TxnState::PrepareAbort,
        Event::PositionSet { reason, .. } => matches!(
            reason,
            PositionReason::LogTruncation | PositionReason::OffsetOutOfRange
        ),
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
            crate::broker::TruncationMode::DivergingEpoch => "diverging-epoch (KIP-595)",
            crate::broker::TruncationMode::LeaderEpoch =>
                "leader-epoch (KIP-101, Kafka 0.11 to 2.6)",
            crate::broker::TruncationMode::HighWatermark => "high-watermark (Kafka < 0.11)",
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
    let mut moments = run.report.lag_moments.iter().peekable();
    let mut batches = Batches::default();
    let mut retention = Retention::default();
    for (i, e) in run.trace.entries.iter().enumerate() {
        while let Some(m) = moments.next_if(|m| m.at <= e.at) {
            let _ = writeln!(out, "{}", lag_line(m));
        }
        let b = breaks.get(&i);
        if narrated(&e.event, detailed) || b.is_some() {
            let _ = writeln!(out, "{}", shorten(e.line(&run.trace.names)));
        }
        if let Some(note) = batches.observe(&e.event) {
            let _ = writeln!(out, "{:>9}   {note}", "");
        }
        if let Some(note) = retention.observe(&e.event, &run.trace.names) {
            let _ = writeln!(out, "{:>9}   {note}", fmt_time(e.at));
        }
        for (c, msg) in b.into_iter().flatten() {
            let _ = writeln!(out, "{:>9}   ✗ {} violated: {msg}", "", c.name());
        }
    }
    for m in moments {
        let _ = writeln!(out, "{}", lag_line(m));
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

/// Where each partition's log now starts, to say when retention (or DeleteRecords) first
/// deleted a range, and to name a consumer that fell behind it.
#[derive(Default)]
struct Retention {
    log_start: BTreeMap<TopicPartition, u64>,
}

impl Retention {
    fn observe(&mut self, e: &Event, names: &crate::ids::NodeNames) -> Option<String> {
        match e {
            Event::SegmentsDeleted {
                tp,
                reason,
                log_start_offset,
                ..
            } if !crate::ids::is_internal_topic(&tp.topic) => {
                let old = self.log_start.insert(tp.clone(), *log_start_offset);
                let old = old.unwrap_or(0);
                (*log_start_offset > old).then(|| {
                    format!(
                        "{tp}: {} deleted offsets {old} to {}; the log now starts at {log_start_offset}",
                        reason.name(),
                        log_start_offset - 1
                    )
                })
            }
            Event::LogStartIncremented {
                tp,
                log_start_offset,
                reason: crate::trace::LogStartReason::ClientRecordDeletion,
                ..
            } => {
                let old = self.log_start.insert(tp.clone(), *log_start_offset);
                Some(format!(
                    "{tp}: DeleteRecords moved the log start from {} to {log_start_offset}",
                    old.unwrap_or(0)
                ))
            }
            Event::PositionSet {
                consumer,
                tp,
                to,
                reason: PositionReason::AutoOffsetReset,
                ..
            } if *to > 0 && self.log_start.get(tp) == Some(to) => Some(format!(
                "{} starts {tp} at {to}, the log start offset (earliest): what came before was deleted",
                names.name(*consumer)
            )),
            Event::PositionSet {
                consumer,
                tp,
                from: Some(from),
                to,
                reason: PositionReason::OffsetOutOfRange,
                ..
            } => {
                let start = self.log_start.get(tp).copied().unwrap_or(0);
                (*from < start).then(|| {
                    let lost = (*to).min(start) - from;
                    format!(
                        "{} fell behind retention on {tp}: offsets {from} to {} were deleted before it read them ({lost} records never read); auto.offset.reset moved it to {to}",
                        names.name(*consumer),
                        (*to).min(start) - 1
                    )
                })
            }
            _ => None,
        }
    }
}

/// What each consumer has polled and not yet processed, to tell a crash in the middle of a
/// batch.
#[derive(Default)]
struct Batches {
    pending: BTreeMap<NodeId, BTreeMap<TopicPartition, std::collections::BTreeSet<u64>>>,
}

impl Batches {
    fn observe(&mut self, e: &Event) -> Option<String> {
        match e {
            Event::Polled {
                consumer,
                tp,
                offset,
                values,
            } => {
                self.pending
                    .entry(*consumer)
                    .or_default()
                    .entry(tp.clone())
                    .or_default()
                    .extend(*offset..offset + values.len() as u64);
            }
            Event::Processed {
                consumer,
                tp,
                offset,
                ..
            } => {
                if let Some(s) = self.pending.get_mut(consumer).and_then(|m| m.get_mut(tp)) {
                    s.remove(offset);
                }
            }
            Event::Crashed {
                node: node @ NodeId::Consumer(_),
                ..
            } => {
                let pending = self.pending.remove(node)?;
                let parts: Vec<String> = pending
                    .iter()
                    .filter_map(|(tp, s)| {
                        let (lo, hi) = (s.first()?, s.last()?);
                        Some(if lo == hi {
                            format!("{tp}@{lo}")
                        } else {
                            format!("{tp}@{lo}..{hi}")
                        })
                    })
                    .collect();
                let n: usize = pending.values().map(|s| s.len()).sum();
                if n > 0 {
                    return Some(format!(
                        "mid-batch: {n} polled record{} not processed ({})",
                        if n == 1 { "" } else { "s" },
                        parts.join(", ")
                    ));
                }
            }
            Event::ShutDown { node } | Event::Restarted { node } => {
                self.pending.remove(node);
            }
            _ => {}
        }
        None
    }
}

fn records(n: u64) -> String {
    format!("{n} record{}", if n == 1 { "" } else { "s" })
}

fn lag_line(m: &LagMoment) -> String {
    if m.rising {
        format!(
            "{:>9} {} falling behind: {} unprocessed, up from {} {} s earlier; oldest {} old",
            fmt_time(m.at),
            crate::metrics::subject(&m.group),
            records(m.unprocessed),
            m.from,
            crate::metrics::LAG_RISING_SAMPLES,
            fmt_time(m.time_lag_ms)
        )
    } else {
        format!(
            "{:>9} {} caught up: {} unprocessed",
            fmt_time(m.at),
            crate::metrics::subject(&m.group),
            records(m.unprocessed)
        )
    }
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
    let consumers = !run.trace.names.consumers.is_empty();
    if consumers {
        let _ = writeln!(
            out,
            "  processed {}, reprocessed {}, skipped {}, rebalances {}, commit failures {}, max lag {}, truncations detected {}, output {}",
            c("processed"),
            c("reprocessed"),
            c("skipped"),
            c("rebalances"),
            c("commit_failures"),
            c("max_lag"),
            c("truncations_detected"),
            c("output")
        );
    }
    if c("deleted_by_retention") > 0 || c("lost_to_retention") > 0 {
        let _ = writeln!(
            out,
            "  deleted by retention {} (acknowledged records below the log start at the end), lost to retention {} (deleted before a group read them)",
            c("deleted_by_retention"),
            c("lost_to_retention")
        );
    }
    let transactions = has_transactions(&run.trace);
    if transactions {
        let _ = writeln!(
            out,
            "  transactions committed {}, aborted {}, aborted reads {}, hanging {}, zombie writes {}",
            c("transactions_committed"),
            c("transactions_aborted"),
            c("aborted_reads"),
            c("hanging_transactions"),
            c("zombie_writes")
        );
    }
    if consumers {
        out.push_str(&groups_outcome(&r.metrics));
    }
    if transactions {
        out.push_str(&transactions_outcome(&run.trace));
    }
    let _ = writeln!(out, "\nCheckers");
    let shown = r
        .checkers
        .iter()
        .filter(|v| consumers || !CONSUMER_CHECKERS.iter().any(|c| c.name() == v.checker))
        .filter(|v| transactions || !TRANSACTION_CHECKERS.iter().any(|c| c.name() == v.checker));
    for v in shown {
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
        let retention = p
            .replicas
            .iter()
            .any(|r| r.log_start_offset > 0 || r.segments > 1);
        for rep in &p.replicas {
            // The log's start and segments, once retention or rolling makes them matter.
            let start = if retention {
                format!(
                    " start {:<5} segments {:<3}",
                    rep.log_start_offset, rep.segments
                )
            } else {
                String::new()
            };
            let _ = writeln!(
                out,
                "    broker-{} {:<8} leo {:<5} hw {:<5}{start}{}",
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

/// Per group: latency percentiles and each partition's lag at the end and at its worst.
fn groups_outcome(m: &Metrics) -> String {
    let mut out = String::new();
    if m.groups.is_empty() {
        return out;
    }
    let _ = writeln!(
        out,
        "\nConsumer groups (lag = HW - committed offset, or - position where none is committed)"
    );
    if m.groups.iter().any(|g| g.read_committed) {
        // Kafka's two lags differ for read_committed: kafka-consumer-groups.sh lists offsets
        // read_uncommitted (the HW); the consumer's records-lag is measured against the LSO.
        let _ = writeln!(
            out,
            "  (read_committed groups: lag = LSO - position where none is committed, as the consumer's records-lag; the committed lag stays HW - committed, as kafka-consumer-groups.sh shows it)"
        );
    }
    for g in &m.groups {
        let latency = g
            .latency_ms
            .map(|p| {
                format!(
                    ", end-to-end latency p50 {} p95 {} p99 {} max {} ms",
                    p.p50, p.p95, p.p99, p.max
                )
            })
            .unwrap_or_default();
        let isolation = if g.read_committed {
            " (read_committed)"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "  {}{isolation}: processed {}{latency}",
            g.group, g.processed
        );
        for p in &g.partitions {
            let committed = p
                .end
                .committed
                .map(|c| c.to_string())
                .unwrap_or_else(|| "none".into());
            let lso = p
                .end
                .last_stable_offset
                .map(|l| format!(" lso {l}"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "    {} hw {}{lso} committed {committed} lag {} (max {}, oldest unprocessed at worst {} old)",
                p.end.partition,
                p.end.high_watermark,
                p.end.lag,
                p.max_lag,
                fmt_time(p.max_time_lag_ms)
            );
        }
    }
    out
}

/// Per transactional id: transactions committed and aborted, its coordinator, a transaction
/// left open at the end, and the producer instances fenced.
fn transactions_outcome(trace: &Trace) -> String {
    #[derive(Default)]
    struct Txn {
        committed: u64,
        aborted: u64,
        coordinator: Option<BrokerId>,
        last: Option<(u64, u16, TxnState)>,
        fenced: Vec<String>,
    }
    let mut ids: BTreeMap<&str, Txn> = BTreeMap::new();
    for e in &trace.entries {
        match &e.event {
            Event::TxnStateChanged {
                broker,
                transactional_id,
                producer_id,
                producer_epoch,
                state,
                ..
            } => {
                let t = ids.entry(transactional_id).or_default();
                t.coordinator = Some(*broker);
                // A state seen again (a new coordinator loading it) counts once.
                let now = Some((*producer_id, *producer_epoch, *state));
                if t.last != now {
                    match state {
                        TxnState::CompleteCommit => t.committed += 1,
                        TxnState::CompleteAbort => t.aborted += 1,
                        _ => {}
                    }
                }
                t.last = now;
            }
            Event::ProducerFenced {
                producer,
                transactional_id,
                error,
            } => ids
                .entry(transactional_id)
                .or_default()
                .fenced
                .push(format!(
                    "{} fenced at {} ({})",
                    trace.names.name(*producer),
                    fmt_time(e.at),
                    error.name()
                )),
            _ => {}
        }
    }
    let mut out = String::new();
    let _ = writeln!(out, "\nTransactions");
    for (id, t) in &ids {
        let coordinator = t
            .coordinator
            .map(|b| format!(" (coordinator broker-{b})"))
            .unwrap_or_default();
        let open = match t.last {
            Some((
                _,
                _,
                s @ (TxnState::Ongoing | TxnState::PrepareCommit | TxnState::PrepareAbort),
            )) => {
                format!(", one {} at the end", s.name())
            }
            _ => String::new(),
        };
        let mut line = format!(
            "  {id}: {} committed, {} aborted{open}{coordinator}",
            t.committed, t.aborted
        );
        for f in &t.fenced {
            let _ = write!(line, "; {f}");
        }
        let _ = writeln!(out, "{line}");
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkers::test_util::*;
    use crate::trace::CrashKind;

    fn scenario() -> Scenario {
        let mut sc = crate::scenario::parse(
            "acks1.toml",
            include_str!("../../scenarios/acks1-leader-crash.toml"),
        )
        .expect("parses");
        sc.expect.clear();
        sc.duration = 6_000;
        sc
    }

    /// A group falls behind (50 records a second, nothing processed for 4 s), catches up, and
    /// its consumer crashes with two polled records unprocessed.
    fn behind_then_crash() -> T {
        let mut t = T::new();
        t.partition(&tp(), &[1])
            .at(500)
            .generation(1, &["m-a"])
            .joined(0, 1, "m-a")
            .assigned(0, 1, &[tp()], &[tp()])
            .position(0, &tp(), 0);
        let mut all = Vec::new();
        for s in 0..4u64 {
            let values: Vec<String> = (0..50).map(|k| format!("m{}", s * 50 + k)).collect();
            let refs: Vec<&str> = values.iter().map(|x| x.as_str()).collect();
            t.at(900 + 1_000 * s).write(&tp(), s * 50, &refs);
            all.extend(values);
        }
        t.at(4_500);
        let refs: Vec<&str> = all.iter().map(|x| x.as_str()).collect();
        t.polled(0, &tp(), 0, &refs);
        for (o, x) in all.iter().enumerate().take(198) {
            t.processed(0, &tp(), o as u64, x);
        }
        t.stored(&tp(), 198).at(5_500).e(Event::Crashed {
            node: c(0),
            kind: CrashKind::Process,
        });
        t
    }

    #[test]
    fn the_narrative_tells_lag_and_a_crash_mid_batch() {
        let run = analyse(&scenario(), 3, behind_then_crash().trace);
        let text = narrative(&scenario(), &run);
        let lines: Vec<&str> = text.lines().collect();
        let find = |s: &str| {
            lines
                .iter()
                .position(|l| l.contains(s))
                .unwrap_or_else(|| panic!("no `{s}` in\n{text}"))
        };
        let behind = find("group billing falling behind: 200 records unprocessed, up from 50 3 s earlier; oldest 3.100s old");
        assert!(lines[behind].starts_with("   4.000s"), "{}", lines[behind]);
        let caught = find("group billing caught up: 2 records unprocessed");
        assert!(lines[caught].starts_with("   5.000s"));
        let crash = find("consumer-a crashed (process crash)");
        assert_eq!(
            lines[crash + 1].trim(),
            "mid-batch: 2 polled records not processed (orders-0@198..199)"
        );
        assert!(behind < caught && caught < crash);
        find(
            "processed 198, reprocessed 0, skipped 0, rebalances 1, commit failures 0, max lag 200",
        );
        find("  billing: processed 198, end-to-end latency p50");
        find("    orders-0 hw 200 committed 198 lag 2 (max 200, oldest unprocessed at worst");
        find("✓ no_double_assignment");

        let r = &run.report;
        assert_eq!(r.counts["max_lag"], 200);
        assert_eq!(r.lag_moments.len(), 2);
        assert_eq!(r.metrics.groups[0].group, "billing");
        assert_eq!(r.metrics.groups[0].partitions[0].end.lag_committed, Some(2));
        assert!(r.metrics.latency_ms.is_some());
        assert_eq!(r.metrics.series.len(), 6);
    }

    #[test]
    fn runs_without_consumers_do_not_list_consumer_checkers() {
        let mut t = behind_then_crash();
        t.trace.names.consumers.clear();
        let run = analyse(&scenario(), 3, t.trace);
        let text = outcome(&run);
        assert!(text.contains("✓ log_matching"));
        assert!(!text.contains("no_double_assignment"), "{text}");
        assert!(!text.contains("rebalances"), "{text}");
        assert!(!text.contains("no_aborted_reads"), "{text}");
        assert!(!text.contains("Transactions"), "{text}");
    }

    #[test]
    fn runs_with_transactions_tell_them() {
        let mut t = transactional_log();
        t.trace.names.producers.push("q".into());
        t.at(4_100).e(Event::ProducerFenced {
            producer: NodeId::Producer(1),
            transactional_id: "tx".into(),
            error: crate::protocol::ErrorCode::ProducerFenced,
        });
        let run = analyse(&scenario(), 3, t.trace);
        let text = outcome(&run);
        assert!(
            text.contains("  transactions committed 1, aborted 1, aborted reads 0, hanging 0, zombie writes 0\n"),
            "{text}"
        );
        assert!(
            text.contains("\nTransactions\n  tx: 1 committed, 1 aborted (coordinator broker-1); producer-q fenced at 4.100s (PRODUCER_FENCED)\n"),
            "{text}"
        );
        assert!(text.contains("✓ no_hanging_transactions"), "{text}");
        assert_eq!(run.report.counts["transactions_aborted"], 1);
    }
}
