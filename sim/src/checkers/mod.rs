//! Invariant checkers over a trace.
//!
//! Each checker reads the trace in order (with the [`Replay`] of the cluster kept alongside)
//! and gives a verdict: holds, or violated with the first event that broke it, so a learner
//! can jump to the moment it went wrong. The invariants are those of Kafka's TLA+ model
//! (`KafkaReplication.tla`: StrongIsr, LeaderInIsr, LogMatching) and of Jepsen's Kafka checker
//! (lost writes, duplicates, reordering; and for consumers, per group: skips, reprocessing,
//! non-monotonic polls, commit regressions, double assignment, reads above the HW; and for
//! transactions, aborted reads, zombie writes and hanging transactions).

mod delivery;
mod groups;
mod isr;
mod log_matching;
#[cfg(test)]
pub(crate) mod test_util;
mod transactions;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::ids::{Millis, TopicPartition};
use crate::metrics::{is_internal, Metrics, Recorder, SAMPLE_INTERVAL_MS};
use crate::replay::{agrees, Replay};
use crate::scenario::{CheckerId, Count};
use crate::trace::{ChangeReason, Event, Trace};

pub use delivery::LostRecord;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Violation {
    /// Index of the breaking event in the trace.
    pub index: usize,
    pub at: Millis,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Verdict {
    pub checker: CheckerId,
    pub violation: Option<Violation>,
}

impl Verdict {
    pub fn holds(&self) -> bool {
        self.violation.is_none()
    }
}

/// Everything the checkers found.
#[derive(Clone, Debug, Serialize)]
pub struct Findings {
    pub verdicts: Vec<Verdict>,
    pub counts: BTreeMap<Count, u64>,
    pub lost: Vec<LostRecord>,
    #[serde(skip)]
    pub replay: Replay,
    /// Lag, latency, throughput and partition health, sampled every second.
    #[serde(skip)]
    pub metrics: Metrics,
}

impl Findings {
    pub fn verdict(&self, c: CheckerId) -> &Verdict {
        self.verdicts
            .iter()
            .find(|v| v.checker == c)
            .expect("every checker runs")
    }

    pub fn count(&self, c: Count) -> u64 {
        self.counts.get(&c).copied().unwrap_or(0)
    }
}

/// The first violation wins; later ones are consequences more often than not.
fn note(slot: &mut Option<Violation>, index: usize, at: Millis, message: impl FnOnce() -> String) {
    if slot.is_none() {
        *slot = Some(Violation {
            index,
            at,
            message: message(),
        });
    }
}

/// Runs every checker over `trace`; metrics end at its last event.
pub fn check(trace: &Trace) -> Findings {
    check_to(trace, trace.entries.last().map_or(0, |e| e.at))
}

/// Runs every checker over `trace`, with metrics up to `end` (a run's duration).
pub fn check_to(trace: &Trace, end: Millis) -> Findings {
    let mut replay = Replay::default();
    let mut delivery = delivery::Delivery::default();
    let mut matching = log_matching::LogMatching::default();
    let mut isr_invariants = isr::IsrInvariants::default();
    let mut groups = groups::Groups::new(trace.names.clone());
    let mut outcomes = transactions::Outcomes::default();
    let mut txns = transactions::Transactions::new(trace.names.clone());
    let mut recorder = Recorder::new(trace.names.clone(), SAMPLE_INTERVAL_MS);
    let mut strong_isr: Option<Violation> = None;
    let mut leader_in_isr: Option<Violation> = None;
    // What was ever exposed below a leader's HW, per partition: the committed prefix.
    let mut committed: BTreeMap<TopicPartition, Vec<std::sync::Arc<str>>> = BTreeMap::new();
    let mut counts: BTreeMap<Count, u64> = Count::ALL.iter().map(|c| (*c, 0)).collect();

    for (i, entry) in trace.entries.iter().enumerate() {
        let e = &entry.event;
        let isr_before = match e {
            Event::PartitionChanged { tp, .. } => replay
                .partitions
                .get(tp)
                .map(|m| m.isr.clone())
                .unwrap_or_default(),
            _ => Vec::new(),
        };
        replay.apply(e);
        outcomes.observe(e);
        txns.observe(i, entry.at, e);
        isr_invariants.observe(i, entry.at, e, &replay, &isr_before);
        delivery.observe(i, entry.at, e, &replay);
        matching.observe(i, entry.at, e, &replay);
        groups.observe(i, entry.at, e, &replay);
        recorder.absorb(entry.at, e);
        match e {
            Event::PartitionChanged {
                tp,
                leader: Some(l),
                isr,
                reason,
                ..
            } => {
                if !isr.contains(l) {
                    note(&mut leader_in_isr, i, entry.at, || {
                        format!("{tp}: leader broker-{l} is not in ISR {isr:?}")
                    });
                }
                if *reason == ChangeReason::UncleanElection {
                    *counts
                        .get_mut(&Count::UncleanElections)
                        .expect("all counts") += 1;
                }
            }
            Event::HighWatermark {
                broker,
                tp,
                high_watermark,
            } => {
                let r = replay.replica(tp, *broker).expect("replayed");
                if r.role == crate::replay::ReplayRole::Leader {
                    let c = committed.entry(tp.clone()).or_default();
                    let hw = (*high_watermark as usize).min(r.log.len());
                    if hw > c.len() {
                        c.extend(r.log[c.len()..hw].iter().cloned());
                    }
                }
            }
            Event::BecameLeader {
                broker,
                tp,
                leader_epoch,
                ..
            } if replay.is_elected(tp, *broker, *leader_epoch) => {
                let r = replay.replica(tp, *broker).expect("replayed");
                let c = committed.entry(tp.clone()).or_default();
                if let Some(o) = (0..c.len()).find(|&o| !agrees(r.log.get(o), c.get(o))) {
                    let value = c[o].clone();
                    note(&mut strong_isr, i, entry.at, || {
                        format!("broker-{broker} became leader of {tp} without committed record {value} at offset {o}")
                    });
                    // From here on, the committed history is what the new leader holds.
                    c.truncate(o);
                }
            }
            Event::Truncated { tp, removed, .. } if !is_internal(tp) => {
                *counts.get_mut(&Count::Truncated).expect("all counts") += removed.len() as u64;
            }
            Event::Consumed { tp, .. } if !is_internal(tp) => {
                *counts.get_mut(&Count::Consumed).expect("all counts") += 1
            }
            _ => {}
        }
    }
    let (delivery_verdicts, lost, delivery_counts) = delivery.finish(trace, &replay, &outcomes);
    counts.extend(delivery_counts);
    let mut verdicts = delivery_verdicts;
    let (group_verdicts, group_counts) = groups.finish(trace, &replay, &outcomes);
    verdicts.extend(group_verdicts);
    counts.extend(group_counts);
    let (txn_verdicts, txn_counts) = txns.finish();
    verdicts.extend(txn_verdicts);
    counts.extend(txn_counts);
    let metrics = recorder.finish(end);
    counts.insert(Count::MaxLag, metrics.max_lag_position);
    let end_index = trace.entries.len().saturating_sub(1);
    matching.finish(end_index, end, &replay);
    verdicts.push(Verdict {
        checker: CheckerId::LogMatching,
        violation: matching.violation,
    });
    verdicts.push(Verdict {
        checker: CheckerId::ValidHighWatermark,
        violation: isr_invariants.valid_high_watermark,
    });
    verdicts.push(Verdict {
        checker: CheckerId::WeakIsr,
        violation: isr_invariants.weak_isr,
    });
    verdicts.push(Verdict {
        checker: CheckerId::ElrDisjointFromIsr,
        violation: isr_invariants.elr_disjoint,
    });
    verdicts.push(Verdict {
        checker: CheckerId::StrongIsr,
        violation: strong_isr,
    });
    verdicts.push(Verdict {
        checker: CheckerId::LeaderInIsr,
        violation: leader_in_isr,
    });
    verdicts.sort_by_key(|v| v.checker);
    Findings {
        verdicts,
        counts,
        lost,
        replay,
        metrics,
    }
}
