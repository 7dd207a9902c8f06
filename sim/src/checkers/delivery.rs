//! What producers were promised versus what the final logs hold: acknowledged records lost,
//! records written twice, and a producer's records out of order within a partition.
//!
//! Transaction markers and the records of aborted transactions are in the logs but were never
//! written for good: they are neither duplicates nor out of order (an aborted record sent
//! again in a later transaction is in the log twice, once aborted).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde::Serialize;

use super::transactions::Outcomes;
use super::{note, Verdict, Violation};
use crate::ids::{Millis, NodeId, TopicPartition};
use crate::metrics::is_internal;
use crate::replay::Replay;
use crate::scenario::{CheckerId, Count};
use crate::trace::{Event, Trace};

/// An acknowledged record missing from the final log.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LostRecord {
    pub value: Arc<str>,
    pub tp: TopicPartition,
    pub offset: u64,
    pub acked_at: Millis,
    /// When the partition's leader first stopped holding it.
    pub lost_at: Option<Millis>,
}

struct Acked {
    value: Arc<str>,
    offset: u64,
    at: Millis,
    broken: Option<(usize, Millis)>,
}

#[derive(Default)]
pub(super) struct Delivery {
    produced: u64,
    /// Send order of every record, per producer.
    send_index: BTreeMap<Arc<str>, (NodeId, u64)>,
    /// Every acknowledgement per partition (an offset can be acknowledged twice, for different
    /// records, when a log was truncated in between).
    acked: BTreeMap<TopicPartition, Vec<Acked>>,
    acked_values: BTreeSet<Arc<str>>,
    gave_up: BTreeSet<Arc<str>>,
    /// Trace index of the latest leader append of each value, per partition.
    appended_at: BTreeMap<(TopicPartition, Arc<str>), Vec<usize>>,
}

impl Delivery {
    pub fn observe(&mut self, i: usize, at: Millis, e: &Event, replay: &Replay) {
        match e {
            Event::Produced {
                producer, value, ..
            } => {
                self.produced += 1;
                self.send_index
                    .insert(value.clone(), (*producer, self.produced));
            }
            Event::Appended {
                tp,
                values,
                leader: true,
                ..
            } => {
                for v in values {
                    self.appended_at
                        .entry((tp.clone(), v.clone()))
                        .or_default()
                        .push(i);
                }
            }
            Event::Acked {
                tp,
                base_offset: Some(base),
                values,
                ..
            } => {
                let leader_log = replay
                    .partitions
                    .get(tp)
                    .and_then(|m| m.leader)
                    .and_then(|l| replay.replica(tp, l));
                let per_tp = self.acked.entry(tp.clone()).or_default();
                for (k, v) in values.iter().enumerate() {
                    let offset = base + k as u64;
                    let present = leader_log.is_some_and(|r| r.log.get(offset as usize) == Some(v));
                    // Acknowledged by a leader the controller has already replaced: lost at birth.
                    let broken = (!present).then_some((i, at));
                    per_tp.push(Acked {
                        value: v.clone(),
                        offset,
                        at,
                        broken,
                    });
                    self.acked_values.insert(v.clone());
                }
            }
            Event::SendFailed {
                retry: false,
                values,
                ..
            }
            | Event::Expired { values, .. } => {
                self.gave_up.extend(values.iter().cloned());
            }
            Event::BecameLeader {
                tp,
                broker,
                leader_epoch,
                ..
            } if replay.is_elected(tp, *broker, *leader_epoch) => {
                let Some(r) = replay.replica(tp, *broker) else {
                    return;
                };
                if let Some(per_tp) = self.acked.get_mut(tp) {
                    // Below its log start the new leader holds nothing to compare (deleted).
                    let start = r.log_start_offset;
                    for a in per_tp.iter_mut().filter(|a| a.offset >= start) {
                        if a.broken.is_none() && r.log.get(a.offset as usize) != Some(&a.value) {
                            a.broken = Some((i, at));
                        }
                    }
                }
            }
            Event::Truncated { tp, broker, to, .. } => {
                let is_leader = replay.partitions.get(tp).and_then(|m| m.leader) == Some(*broker);
                if let (true, Some(per_tp)) = (is_leader, self.acked.get_mut(tp)) {
                    for a in per_tp.iter_mut().filter(|a| a.offset >= *to) {
                        if a.broken.is_none() {
                            a.broken = Some((i, at));
                        }
                    }
                }
            }
            _ => {}
        }
    }

    pub fn finish(
        self,
        trace: &Trace,
        replay: &Replay,
        outcomes: &Outcomes,
    ) -> (Vec<Verdict>, Vec<LostRecord>, BTreeMap<Count, u64>) {
        let mut lost = Vec::new();
        let mut lost_v: Option<Violation> = None;
        let mut first_break: Option<(usize, Millis, String)> = None;
        let mut deleted = 0u64;
        for (tp, per_tp) in &self.acked {
            let final_log: BTreeSet<&Arc<str>> = replay
                .authoritative(tp)
                .map(|(_, r)| r.log.iter().collect())
                .unwrap_or_default();
            let log_start = replay
                .authoritative(tp)
                .map_or(0, |(_, r)| r.log_start_offset);
            for a in per_tp {
                let o = &a.offset;
                // Deleted by retention (or DeleteRecords) while it was still there: what the
                // topic's settings ask for, not a loss.
                if *o < log_start && a.broken.is_none() {
                    deleted += 1;
                    continue;
                }
                if final_log.contains(&a.value) {
                    continue;
                }
                let (bi, bat) = a
                    .broken
                    .unwrap_or((trace.entries.len().saturating_sub(1), 0));
                lost.push(LostRecord {
                    value: a.value.clone(),
                    tp: tp.clone(),
                    offset: *o,
                    acked_at: a.at,
                    lost_at: a.broken.map(|b| b.1),
                });
                if first_break.as_ref().is_none_or(|f| bi < f.0) {
                    first_break = Some((
                        bi,
                        bat,
                        format!(
                            "{} acknowledged at {tp}@{o} is not in the final log",
                            a.value
                        ),
                    ));
                }
            }
        }
        if let Some((i, at, msg)) = first_break {
            let extra = if lost.len() > 1 {
                format!(" (and {} more)", lost.len() - 1)
            } else {
                String::new()
            };
            let at = if at == 0 {
                trace.entries.get(i).map(|e| e.at).unwrap_or(0)
            } else {
                at
            };
            note(&mut lost_v, i, at, || format!("{msg}{extra}"));
        }

        // Duplicates and reordering, in the final logs.
        let mut dup_v: Option<Violation> = None;
        let mut reo_v: Option<Violation> = None;
        let mut duplicated = 0u64;
        let mut reordered = 0u64;
        // `__consumer_offsets` holds the coordinators' records, not producers': a commit of
        // the same offset twice is not a duplicate (log_matching and strong_isr cover it).
        for tp in replay.partitions.keys().filter(|tp| !is_internal(tp)) {
            let Some((_, r)) = replay.authoritative(tp) else {
                continue;
            };
            let mut seen: BTreeSet<&Arc<str>> = BTreeSet::new();
            let mut max_sent: BTreeMap<NodeId, (u64, &Arc<str>)> = BTreeMap::new();
            // Copies of each value passed over (aborted) so far: they took appends too.
            let mut passed: BTreeMap<&Arc<str>, usize> = BTreeMap::new();
            // `""`: below a follower's start when it copied from its leader's log start.
            for (o, v) in r.log.iter().enumerate().filter(|(_, v)| !v.is_empty()) {
                let where_ = |v: &Arc<str>, nth: usize| {
                    self.appended_at
                        .get(&(tp.clone(), v.clone()))
                        .and_then(|ix| ix.get(nth).or(ix.last()).copied())
                };
                if outcomes.excluded(tp, o as u64, v) {
                    *passed.entry(v).or_default() += 1;
                    continue;
                }
                let before = passed.get(v).copied().unwrap_or(0);
                if !seen.insert(v) {
                    duplicated += 1;
                    if let Some(ix) = where_(v, 1 + before) {
                        let at = trace.entries[ix].at;
                        if dup_v.as_ref().is_none_or(|d| ix < d.index) {
                            dup_v = Some(Violation {
                                index: ix,
                                at,
                                message: format!("{v} is in {tp} twice (again at offset {o})"),
                            });
                        }
                    }
                    continue;
                }
                let Some(&(p, n)) = self.send_index.get(v) else {
                    continue;
                };
                match max_sent.get(&p) {
                    Some(&(m, later)) if n < m => {
                        reordered += 1;
                        if let Some(ix) = where_(v, before) {
                            let at = trace.entries[ix].at;
                            if reo_v.as_ref().is_none_or(|d| ix < d.index) {
                                reo_v = Some(Violation {
                                    index: ix,
                                    at,
                                    message: format!("{v} was sent before {later} but is after it in {tp} (offset {o})"),
                                });
                            }
                        }
                    }
                    _ => {
                        max_sent.insert(p, (n, v));
                    }
                }
            }
        }
        let failed = self
            .gave_up
            .iter()
            .filter(|v| !self.acked_values.contains(*v))
            .count() as u64;
        let counts = BTreeMap::from([
            (Count::Produced, self.produced),
            (Count::Acknowledged, self.acked_values.len() as u64),
            (Count::Failed, failed),
            (Count::LostAcknowledged, lost.len() as u64),
            (Count::Duplicated, duplicated),
            (Count::Reordered, reordered),
            (Count::DeletedByRetention, deleted),
        ]);
        let verdicts = vec![
            Verdict {
                checker: CheckerId::NoLostAcknowledged,
                violation: lost_v,
            },
            Verdict {
                checker: CheckerId::NoDuplicates,
                violation: dup_v,
            },
            Verdict {
                checker: CheckerId::NoReordering,
                violation: reo_v,
            },
        ];
        (verdicts, lost, counts)
    }
}
