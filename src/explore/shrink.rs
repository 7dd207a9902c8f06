//! Shrinking a failing run to a small scenario that still fails the same way.
//!
//! Greedy delta debugging over the fault schedule (drop halves, then quarters, ... then single
//! commands while the failure persists), then an earlier end, then fewer records. The seed
//! stays: the failure is a property of (scenario, seed), and the result is a plain scenario
//! file with that seed, so `kafkascope run` (and the visual app) replays it exactly.

use kafkascope_sim::ids::Millis;
use kafkascope_sim::report;
use kafkascope_sim::scenario::{CheckerId, Expectation, Scenario};

pub struct Shrunk {
    pub scenario: Scenario,
    pub checker: CheckerId,
    pub runs: usize,
    pub faults_before: usize,
    /// Where the checker's first violation is, in the shrunk run.
    pub violation_at: Millis,
    pub violation_index: usize,
}

struct Oracle {
    checker: CheckerId,
    seed: u64,
    runs: usize,
    budget: usize,
}

impl Oracle {
    /// Whether `sc` still fails the same way (false once the budget is spent).
    fn fails(&mut self, sc: &Scenario) -> bool {
        if self.runs >= self.budget {
            return false;
        }
        self.runs += 1;
        !report::run(sc, self.seed)
            .findings
            .verdict(self.checker)
            .holds()
    }
}

/// Shrinks `sc` (which fails with `seed`) within `budget` runs. `None` if it does not fail.
pub fn shrink(mut sc: Scenario, seed: u64, budget: usize) -> Option<Shrunk> {
    let first = report::run(&sc, seed);
    let checker = CheckerId::ALL
        .into_iter()
        .find(|c| !first.findings.verdict(*c).holds())?;
    let mut o = Oracle {
        checker,
        seed,
        runs: 1,
        budget,
    };
    let faults_before = sc.faults.len();

    // 1. Fewer faults.
    let mut chunk = (sc.faults.len() / 2).max(1);
    while !sc.faults.is_empty() {
        let mut removed = false;
        let mut i = 0;
        while i < sc.faults.len() {
            let mut cand = sc.clone();
            cand.faults.drain(i..(i + chunk).min(cand.faults.len()));
            if o.fails(&cand) {
                sc = cand;
                removed = true;
            } else {
                i += chunk;
            }
        }
        if !removed {
            if chunk == 1 {
                break;
            }
            chunk = (chunk / 2).max(1);
        }
        if o.runs >= o.budget {
            break;
        }
    }

    // 2. An earlier end: just after the last fault, or halfway there.
    let last_fault = sc.faults.last().map(|f| f.at).unwrap_or(0);
    for end in [
        last_fault + 2_000,
        last_fault + 5_000,
        (last_fault + sc.duration) / 2,
    ] {
        if end < sc.duration && end > last_fault {
            let mut cand = sc.clone();
            cand.duration = end;
            for p in &mut cand.producers {
                p.workload.stop = p.workload.stop.min(end);
                p.workload.sends.retain(|s| s.at < end);
            }
            if o.fails(&cand) {
                sc = cand;
                break;
            }
        }
    }

    // 3. Fewer records.
    for i in 0..sc.producers.len() {
        while sc.producers[i].workload.rate > 1.0 {
            let mut cand = sc.clone();
            let w = &mut cand.producers[i].workload;
            w.restart_rate((w.rate / 2.0).floor().max(1.0), w.start, 0);
            if o.fails(&cand) {
                sc = cand;
            } else {
                break;
            }
        }
    }

    let run = report::run(&sc, seed);
    let v = run.findings.verdict(checker).violation.clone()?;
    sc.expect = vec![Expectation::Checker {
        checker,
        holds: false,
    }];
    Some(Shrunk {
        scenario: sc,
        checker,
        runs: o.runs + 1,
        faults_before,
        violation_at: v.at,
        violation_index: v.index,
    })
}
