//! Running the plan: one simulation per (configuration, seed), in parallel, in any order, with
//! results that depend only on the run itself.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use kafkascope_sim::ids::{Millis, TopicPartition};
use kafkascope_sim::report;
use kafkascope_sim::scenario::{CheckerId, Count};
use kafkascope_sim::trace::{Event, Trace};
use serde::{Deserialize, Serialize};

use super::experiment::{ConfigPoint, Experiment};

/// Upper bounds (ms) of the produce-latency histogram's buckets; the last is "more".
pub const LATENCY_BUCKETS_MS: [u64; 14] = [
    1,
    2,
    5,
    10,
    20,
    50,
    100,
    200,
    500,
    1_000,
    2_000,
    5_000,
    10_000,
    u64::MAX,
];

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunResult {
    pub config: usize,
    pub seed: u64,
    pub produced: u64,
    pub acknowledged: u64,
    pub lost_acknowledged: u64,
    pub duplicated: u64,
    pub reordered: u64,
    /// Names of the checkers this run violated.
    pub violated: Vec<String>,
    /// Partition-milliseconds without a leader.
    pub offline_ms: u64,
    /// Send-to-acknowledgement latency of every acknowledged record, in LATENCY_BUCKETS_MS.
    pub latency_histogram: Vec<u64>,
    pub trace_hash: String,
}

impl RunResult {
    pub fn failed(&self) -> bool {
        !self.violated.is_empty()
    }
}

pub fn latency_histogram(trace: &Trace) -> Vec<u64> {
    let mut sent: BTreeMap<&str, Millis> = BTreeMap::new();
    let mut hist = vec![0u64; LATENCY_BUCKETS_MS.len()];
    for e in &trace.entries {
        match &e.event {
            Event::Produced { value, .. } => {
                sent.insert(value, e.at);
            }
            Event::Acked {
                values,
                base_offset: Some(_),
                ..
            } => {
                for v in values {
                    if let Some(t0) = sent.remove(&**v) {
                        let lat = e.at - t0;
                        let b = LATENCY_BUCKETS_MS
                            .iter()
                            .position(|ub| lat <= *ub)
                            .expect("last bucket is unbounded");
                        hist[b] += 1;
                    }
                }
            }
            _ => {}
        }
    }
    hist
}

/// Partition-time without a leader, as the controller saw it.
pub fn offline_ms(trace: &Trace, end: Millis) -> u64 {
    let mut since: BTreeMap<&TopicPartition, Millis> = BTreeMap::new();
    let mut total = 0;
    for e in &trace.entries {
        if let Event::PartitionChanged { tp, leader, .. } = &e.event {
            match (leader, since.get(tp)) {
                (None, None) => {
                    since.insert(tp, e.at);
                }
                (Some(_), Some(&t0)) => {
                    total += e.at - t0;
                    since.remove(tp);
                }
                _ => {}
            }
        }
    }
    total
        + since
            .values()
            .map(|t0| end.saturating_sub(*t0))
            .sum::<u64>()
}

/// Runs one configuration with one seed.
pub fn run_one(exp: &Experiment, points: &[ConfigPoint], config: usize, seed: u64) -> RunResult {
    let sc = exp
        .scenario_for(&points[config], seed)
        .expect("validated when the experiment was loaded");
    let run = report::run(&sc, seed);
    let f = &run.findings;
    RunResult {
        config,
        seed,
        produced: f.count(Count::Produced),
        acknowledged: f.count(Count::Acknowledged),
        lost_acknowledged: f.count(Count::LostAcknowledged),
        duplicated: f.count(Count::Duplicated),
        reordered: f.count(Count::Reordered),
        violated: CheckerId::ALL
            .into_iter()
            .filter(|c| !f.verdict(*c).holds())
            .map(|c| c.name().to_string())
            .collect(),
        offline_ms: offline_ms(&run.trace, sc.duration),
        latency_histogram: latency_histogram(&run.trace),
        trace_hash: run.report.trace_hash.clone(),
    }
}

/// Runs `plan` on `jobs` threads; stops taking new runs once `stop` is set. Each thread owns
/// its simulations (madsim runtimes are bound to their thread). The result is sorted, so it
/// does not depend on how the work was spread.
pub fn run_all(
    exp: &Experiment,
    points: &[ConfigPoint],
    plan: &[(usize, u64)],
    jobs: usize,
    stop: &AtomicBool,
    on_done: &(dyn Fn() + Sync),
) -> Vec<RunResult> {
    let next = AtomicUsize::new(0);
    let results = Mutex::new(Vec::with_capacity(plan.len()));
    std::thread::scope(|s| {
        for _ in 0..jobs.max(1) {
            s.spawn(|| loop {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(&(config, seed)) = plan.get(i) else {
                    break;
                };
                let r = run_one(exp, points, config, seed);
                results.lock().expect("results lock").push(r);
                on_done();
            });
        }
    });
    let mut results = results.into_inner().expect("results lock");
    results.sort_by_key(|r| (r.config, r.seed));
    results
}
