//! Consumer-side invariants, per group, modelled on Jepsen's Kafka checker: records skipped or
//! processed twice, polls that go back or jump, committed offsets that regress, a partition
//! owned by two members at once, and reads above the high watermark.
//!
//! A consumer without a group (it assigns itself every partition of its topics) counts as a
//! group of its own ([`GroupKey::Standalone`]).
//!
//! **Double assignment** counts only the *live members of the group's current generation*: a
//! consumer whose member id is among the members of the latest `GenerationStarted` and has not
//! been removed since (`MemberRemoved`), which has not crashed, shut down, left or failed. A
//! zombie — a consumer the coordinator removed (it exceeded `max.poll.interval.ms`, or its
//! session expired while it was paused) and which still believes it owns its partitions — is
//! not a member, so the partitions given to others are not double-assigned; Kafka fences the
//! zombie's commits (`ILLEGAL_GENERATION`), and what it processed meanwhile shows up under
//! `no_reprocessing`. With cooperative rebalancing a member keeps its partitions from one
//! generation into the next, so ownership is carried across generations as long as the member
//! stays in the group.
//!
//! **Retention**: a group whose position fell below the log start (retention or DeleteRecords
//! deleted what it had not read) gets OFFSET_OUT_OF_RANGE and jumps by `auto.offset.reset`;
//! the records it jumped over that were deleted are counted as `lost_to_retention`, not as
//! skipped records: the topic's settings, not a bug, lost them.
//!
//! **Transactions**: consumers never return markers, and `read_committed` consumers skip the
//! records of aborted transactions, so offsets holding either are not skipped records, and a
//! poll may start past the previous one's end when every offset in between holds one.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::transactions::Outcomes;
use super::{note, Verdict, Violation};
use crate::ids::{Millis, NodeId, NodeNames, TopicPartition};
use crate::metrics::{is_internal, GroupKey, Membership};
use crate::replay::{Replay, ReplayRole};
use crate::scenario::{CheckerId, Count};
use crate::trace::{fmt_time, Event, PositionReason, Trace};

/// The first processing of one record by a group.
struct FirstProcessing {
    consumer: NodeId,
    at: Millis,
    times: u64,
}

/// What one consumer owns, as a member of a group.
#[derive(Default)]
struct Owner {
    group: Option<Arc<str>>,
    member: Option<Arc<str>>,
    owned: BTreeSet<TopicPartition>,
}

/// A record and the trace index of its first leader append at some offset.
type FirstAppend = (Arc<str>, usize);

/// A poll that did not start where it should have. Going back is a violation at once; a gap
/// is one unless every offset in between holds a marker or an aborted record (known by the
/// end of the trace).
struct Gap {
    index: usize,
    at: Millis,
    consumer: NodeId,
    tp: TopicPartition,
    /// Where the poll should have started.
    from: u64,
    /// Where it started.
    to: u64,
    from_position: bool,
}

/// Where the next poll of a partition must start, and why.
struct NextPoll {
    offset: u64,
    /// Set by a `PositionSet` rather than a previous poll.
    from_position: bool,
}

pub(super) struct Groups {
    names: NodeNames,
    membership: Membership,

    // no_read_above_hw
    max_hw: BTreeMap<TopicPartition, u64>,
    read_above_hw: Option<Violation>,

    // monotonic_polls
    next_poll: BTreeMap<(NodeId, TopicPartition), NextPoll>,
    nonmonotonic: Option<Violation>,
    gaps: Vec<Gap>,

    // no_commit_regression
    committed: BTreeMap<(Arc<str>, TopicPartition), (u64, Millis)>,
    regression: Option<Violation>,

    // no_double_assignment
    /// Each group's current generation and its members still in the group.
    generations: BTreeMap<Arc<str>, (u32, BTreeSet<Arc<str>>)>,
    owners: BTreeMap<NodeId, Owner>,
    double: Option<Violation>,

    // no_reprocessing, no_skipped_records
    processed: BTreeMap<(GroupKey, TopicPartition, u64, Arc<str>), FirstProcessing>,
    /// Every processing, in trace order: (trace index, offset).
    processings: BTreeMap<(GroupKey, TopicPartition), Vec<(usize, u64)>>,
    reprocessing: Option<Violation>,
    /// The first position each group took on each partition.
    started: BTreeMap<(GroupKey, TopicPartition), u64>,
    /// The trace index of the first leader append of each record, by offset.
    appended: BTreeMap<(TopicPartition, u64), Vec<FirstAppend>>,

    // lost_to_retention
    /// The highest log start offset any replica of each partition reached so far.
    log_start: BTreeMap<TopicPartition, u64>,
    /// Offsets a group's position jumped over because retention had deleted them
    /// (OFFSET_OUT_OF_RANGE below the log start, then `auto.offset.reset`).
    retention_jumps: BTreeMap<(GroupKey, TopicPartition), Vec<std::ops::Range<u64>>>,

    processed_count: u64,
    rebalances: u64,
    commit_failures: u64,
    truncations_detected: u64,
    output: u64,
}

impl Groups {
    pub fn new(names: NodeNames) -> Groups {
        Groups {
            names,
            membership: Membership::default(),
            max_hw: BTreeMap::new(),
            read_above_hw: None,
            next_poll: BTreeMap::new(),
            nonmonotonic: None,
            gaps: Vec::new(),
            committed: BTreeMap::new(),
            regression: None,
            generations: BTreeMap::new(),
            owners: BTreeMap::new(),
            double: None,
            processed: BTreeMap::new(),
            processings: BTreeMap::new(),
            reprocessing: None,
            started: BTreeMap::new(),
            appended: BTreeMap::new(),
            processed_count: 0,
            rebalances: 0,
            commit_failures: 0,
            truncations_detected: 0,
            output: 0,
            log_start: BTreeMap::new(),
            retention_jumps: BTreeMap::new(),
        }
    }

    fn n(&self, c: NodeId) -> String {
        self.names.name(c)
    }

    pub fn observe(&mut self, i: usize, at: Millis, e: &Event, replay: &Replay) {
        self.membership.observe(e);
        match e {
            // ---- the high watermark leaders announced ----
            Event::HighWatermark {
                broker,
                tp,
                high_watermark,
            } if replay.replica(tp, *broker).map(|r| r.role) == Some(ReplayRole::Leader) => {
                self.raise_hw(tp, *high_watermark)
            }
            Event::BecameLeader {
                tp, high_watermark, ..
            } => self.raise_hw(tp, *high_watermark),
            Event::Appended {
                tp,
                base_offset,
                values,
                leader: true,
                ..
            } if !is_internal(tp) => {
                for (k, v) in values.iter().enumerate() {
                    let firsts = self
                        .appended
                        .entry((tp.clone(), base_offset + k as u64))
                        .or_default();
                    if !firsts.iter().any(|(x, _)| x == v) {
                        firsts.push((v.clone(), i));
                    }
                }
            }
            Event::Produced {
                producer: NodeId::Consumer(_),
                ..
            } => self.output += 1,

            // ---- the coordinator ----
            Event::GenerationStarted {
                group,
                generation,
                members,
                ..
            } => {
                self.rebalances += 1;
                self.generations.insert(
                    group.clone(),
                    (*generation, members.iter().cloned().collect()),
                );
                self.check_ownership(i, at, group);
            }
            Event::MemberRemoved { group, member, .. } => {
                if let Some((_, members)) = self.generations.get_mut(group) {
                    members.remove(member);
                }
            }
            Event::OffsetsCommitted {
                group,
                generation,
                member,
                offsets,
                ..
            } => {
                for (tp, o) in offsets {
                    let key = (group.clone(), tp.clone());
                    if let Some(&(prev, prev_at)) = self.committed.get(&key) {
                        if *o < prev {
                            let by = match (generation, member) {
                                (Some(g), Some(m)) => format!(" by {m} in generation {g}"),
                                (Some(g), None) => format!(" in generation {g}"),
                                _ => String::new(),
                            };
                            note(&mut self.regression, i, at, || {
                                format!(
                                    "group {group}: the committed offset of {tp} went back from {prev} (stored at {}) to {o}{by}",
                                    fmt_time(prev_at)
                                )
                            });
                        }
                    }
                    self.committed.insert(key, (*o, at));
                }
            }

            // ---- consumers ----
            Event::JoinedGroup {
                consumer,
                group,
                member,
                ..
            } => {
                let o = self.owners.entry(*consumer).or_default();
                o.group = Some(group.clone());
                o.member = Some(member.clone());
            }
            Event::PartitionsAssigned {
                consumer,
                group,
                added,
                owned,
                ..
            } => {
                let o = self.owners.entry(*consumer).or_default();
                o.group = Some(group.clone());
                o.owned = owned.iter().cloned().collect();
                for tp in added {
                    self.next_poll.remove(&(*consumer, tp.clone()));
                }
                self.check_ownership(i, at, group);
            }
            Event::PartitionsRevoked {
                consumer, revoked, ..
            } => {
                if let Some(o) = self.owners.get_mut(consumer) {
                    for tp in revoked {
                        o.owned.remove(tp);
                    }
                }
                for tp in revoked {
                    self.next_poll.remove(&(*consumer, tp.clone()));
                }
            }
            Event::LeftGroup { consumer, .. } | Event::ConsumerFailed { consumer, .. } => {
                if let Some(o) = self.owners.get_mut(consumer) {
                    o.owned.clear();
                    if matches!(e, Event::LeftGroup { .. }) {
                        o.member = None;
                    }
                }
            }
            Event::Crashed { node, .. } | Event::ShutDown { node } | Event::Restarted { node }
                if matches!(node, NodeId::Consumer(_)) =>
            {
                self.owners.remove(node);
                self.next_poll.retain(|(c, _), _| c != node);
            }
            Event::SegmentsDeleted {
                tp,
                log_start_offset,
                ..
            }
            | Event::LogStartIncremented {
                tp,
                log_start_offset,
                ..
            } => {
                let s = self.log_start.entry(tp.clone()).or_default();
                *s = (*s).max(*log_start_offset);
            }
            Event::PositionSet {
                consumer,
                tp,
                from,
                to,
                reason,
                ..
            } => {
                if *reason == PositionReason::LogTruncation {
                    self.truncations_detected += 1;
                }
                let start = self.log_start.get(tp).copied().unwrap_or(0);
                if let Some(from) = from.filter(|f| {
                    *reason == PositionReason::OffsetOutOfRange && *f < start && *f < *to
                }) {
                    self.retention_jumps
                        .entry((self.membership.key(*consumer), tp.clone()))
                        .or_default()
                        .push(from..(*to).min(start));
                }
                self.next_poll.insert(
                    (*consumer, tp.clone()),
                    NextPoll {
                        offset: *to,
                        from_position: true,
                    },
                );
                self.started
                    .entry((self.membership.key(*consumer), tp.clone()))
                    .or_insert(*to);
            }
            Event::Polled {
                consumer,
                tp,
                offset,
                values,
            } => self.polled(i, at, *consumer, tp, *offset, values.len() as u64),
            Event::Processed {
                consumer,
                tp,
                offset,
                value,
                ..
            } => {
                self.processed_count += 1;
                let gk = self.membership.key(*consumer);
                self.processings
                    .entry((gk.clone(), tp.clone()))
                    .or_default()
                    .push((i, *offset));
                let key = (gk, tp.clone(), *offset, value.clone());
                match self.processed.get_mut(&key) {
                    None => {
                        self.processed.insert(
                            key,
                            FirstProcessing {
                                consumer: *consumer,
                                at,
                                times: 1,
                            },
                        );
                    }
                    Some(first) => {
                        first.times += 1;
                        let (by, first_at) = (first.consumer, first.at);
                        let label = key.0.subject(&self.names);
                        let (who, earlier) = (self.n(*consumer), self.n(by));
                        note(&mut self.reprocessing, i, at, || {
                            format!(
                                "{label}: {who} processed {tp}@{offset} {value} again (first processed by {earlier} at {})",
                                fmt_time(first_at)
                            )
                        });
                    }
                }
            }
            Event::CommitFailed { .. } => self.commit_failures += 1,
            _ => {}
        }
    }

    fn raise_hw(&mut self, tp: &TopicPartition, hw: u64) {
        let m = self.max_hw.entry(tp.clone()).or_insert(0);
        *m = (*m).max(hw);
    }

    fn polled(
        &mut self,
        i: usize,
        at: Millis,
        c: NodeId,
        tp: &TopicPartition,
        offset: u64,
        n: u64,
    ) {
        if n > 0 {
            let hw = self.max_hw.get(tp).copied().unwrap_or(0);
            if offset + n > hw {
                let last = offset + n - 1;
                let who = self.n(c);
                note(&mut self.read_above_hw, i, at, || {
                    format!("{who} polled {tp}@{last}, but no leader had announced a HW above {last} (highest: {hw})")
                });
            }
        }
        let key = (c, tp.clone());
        if let Some(next) = self.next_poll.get(&key) {
            if next.offset != offset {
                let gap = Gap {
                    index: i,
                    at,
                    consumer: c,
                    tp: tp.clone(),
                    from: next.offset,
                    to: offset,
                    from_position: next.from_position,
                };
                if offset > next.offset {
                    // Decided at the end, when every marker and abort is known.
                    self.gaps.push(gap);
                } else if self.nonmonotonic.is_none() {
                    let message = self.nonmonotonic_message(&gap);
                    note(&mut self.nonmonotonic, i, at, || message);
                }
            }
        }
        self.next_poll.insert(
            key,
            NextPoll {
                offset: offset + n,
                from_position: false,
            },
        );
    }

    fn nonmonotonic_message(&self, g: &Gap) -> String {
        let (e, offset, tp) = (g.from, g.to, &g.tp);
        let why = if g.from_position {
            "its position was"
        } else {
            "its previous poll ended at"
        };
        let what = if offset > e {
            format!("skipping {}", range(e, offset))
        } else {
            format!("going back {} records", e - offset)
        };
        let who = self.n(g.consumer);
        format!("{who} polled {tp}@{offset} but {why} {e}: {what}")
    }

    /// No partition of `group` has two owners among its live members.
    fn check_ownership(&mut self, i: usize, at: Millis, group: &Arc<str>) {
        let current = self.generations.get(group);
        let mut owner_of: BTreeMap<&TopicPartition, NodeId> = BTreeMap::new();
        for (c, o) in &self.owners {
            if o.group.as_ref() != Some(group) {
                continue;
            }
            // Before the trace shows a generation, every consumer of the group counts.
            let member = match (current, &o.member) {
                (None, _) => true,
                (Some((_, members)), Some(m)) => members.contains(m),
                (Some(_), None) => false,
            };
            if !member {
                continue;
            }
            for tp in &o.owned {
                if let Some(other) = owner_of.insert(tp, *c) {
                    let generation = current
                        .map(|(g, _)| format!(" generation {g}"))
                        .unwrap_or_default();
                    let (a, b) = (self.names.name(other), self.names.name(*c));
                    note(&mut self.double, i, at, || {
                        format!("group {group}{generation}: {tp} is owned by {a} and {b} at once")
                    });
                    return;
                }
            }
        }
    }

    pub fn finish(
        mut self,
        trace: &Trace,
        replay: &Replay,
        outcomes: &Outcomes,
    ) -> (Vec<Verdict>, BTreeMap<Count, u64>) {
        // Gaps are in trace order; the first one not over markers and aborted records counts.
        let gaps = std::mem::take(&mut self.gaps);
        if let Some(g) = gaps
            .iter()
            .find(|g| !(g.from..g.to).all(|o| outcomes.passable(&g.tp, o)))
        {
            if self.nonmonotonic.as_ref().is_none_or(|x| g.index < x.index) {
                self.nonmonotonic = Some(Violation {
                    index: g.index,
                    at: g.at,
                    message: self.nonmonotonic_message(g),
                });
            }
        }
        // Skips: records of the committed final log, between where each group started and the
        // last offset it processed, that no member processed.
        let mut skipped = 0u64;
        let mut lost_to_retention = 0u64;
        let mut first_skip: Option<Violation> = None;
        for ((gk, tp), list) in &self.processings {
            let Some((_, r)) = replay.authoritative(tp) else {
                continue;
            };
            let hw = r.high_watermark.min(r.log.len() as u64);
            let Some(last) = list.iter().map(|(_, o)| *o).max() else {
                continue;
            };
            let lowest = list.iter().map(|(_, o)| *o).min().unwrap_or(0);
            let start = self
                .started
                .get(&(gk.clone(), tp.clone()))
                .map_or(lowest, |s| (*s).min(lowest));
            let mut missing: Vec<(u64, &Arc<str>)> = Vec::new();
            let jumps = self.retention_jumps.get(&(gk.clone(), tp.clone()));
            for o in start..=last.min(hw.saturating_sub(1)) {
                if hw == 0 {
                    break;
                }
                let v = &r.log[o as usize];
                // `""`: below the start of a replica that copied from its leader's log start.
                if v.is_empty() || outcomes.excluded(tp, o, v) {
                    continue;
                }
                if jumps.is_some_and(|j| j.iter().any(|j| j.contains(&o))) {
                    if !self
                        .processed
                        .contains_key(&(gk.clone(), tp.clone(), o, v.clone()))
                    {
                        lost_to_retention += 1;
                    }
                    continue;
                }
                if !self
                    .processed
                    .contains_key(&(gk.clone(), tp.clone(), o, v.clone()))
                {
                    missing.push((o, v));
                }
            }
            skipped += missing.len() as u64;
            let Some(&(o0, v0)) = missing.first() else {
                continue;
            };
            // The moment each skip shows: the group's first processing past it, once the
            // record was in the log.
            let mut best: Option<(usize, u64, &Arc<str>)> = None;
            for &(o, v) in &missing {
                let appended = self
                    .appended
                    .get(&(tp.clone(), o))
                    .and_then(|xs| xs.iter().find(|(x, _)| x == v))
                    .map_or(0, |(_, ix)| *ix);
                if best.is_some_and(|(b, _, _)| appended >= b) {
                    continue;
                }
                // Processings are in trace order; none past `o` after the append means the
                // record arrived below the group's progress: the append is the moment.
                let mut shown = appended;
                for &(ix, po) in list.iter().filter(|(ix, _)| *ix > appended) {
                    if best.is_some_and(|(b, _, _)| ix >= b) {
                        shown = ix;
                        break;
                    }
                    if po > o {
                        shown = ix;
                        break;
                    }
                }
                if best.is_none_or(|(b, _, _)| shown < b) {
                    best = Some((shown, o, v));
                }
            }
            let (ix, o, v) = best.unwrap_or((list[0].0, o0, v0));
            let more = if missing.len() > 1 {
                format!(" (one of {} skipped)", missing.len())
            } else {
                String::new()
            };
            let candidate = Violation {
                index: ix,
                at: trace.entries.get(ix).map_or(0, |e| e.at),
                message: format!(
                    "{} never processed {tp}@{o} {v}, below the HW and before {tp}@{last}, which it processed{more}",
                    gk.subject(&self.names)
                ),
            };
            if first_skip
                .as_ref()
                .is_none_or(|f| candidate.index < f.index)
            {
                first_skip = Some(candidate);
            }
        }
        let reprocessed = self.processed.values().filter(|p| p.times > 1).count() as u64;
        let counts = BTreeMap::from([
            (Count::Processed, self.processed_count),
            (Count::Reprocessed, reprocessed),
            (Count::Skipped, skipped),
            (Count::Rebalances, self.rebalances),
            (Count::CommitFailures, self.commit_failures),
            (Count::TruncationsDetected, self.truncations_detected),
            (Count::LostToRetention, lost_to_retention),
            (Count::Output, self.output),
        ]);
        let verdicts = vec![
            Verdict {
                checker: CheckerId::NoSkippedRecords,
                violation: first_skip,
            },
            Verdict {
                checker: CheckerId::NoReprocessing,
                violation: self.reprocessing,
            },
            Verdict {
                checker: CheckerId::MonotonicPolls,
                violation: self.nonmonotonic,
            },
            Verdict {
                checker: CheckerId::NoCommitRegression,
                violation: self.regression,
            },
            Verdict {
                checker: CheckerId::NoDoubleAssignment,
                violation: self.double,
            },
            Verdict {
                checker: CheckerId::NoReadAboveHw,
                violation: self.read_above_hw,
            },
        ];
        (verdicts, counts)
    }
}

/// `10..12` (inclusive), or `10` for one offset.
fn range(from: u64, to_excl: u64) -> String {
    if to_excl == from + 1 {
        format!("offset {from}")
    } else {
        format!("offsets {from}..{}", to_excl - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use super::super::{check, Violation};
    use crate::ids::{TopicPartition, OFFSETS_TOPIC};
    use crate::scenario::{CheckerId, Count};
    use crate::trace::{Event, PositionReason, TruncateReason};

    fn broken(t: &T, c: CheckerId) -> Option<Violation> {
        check(&t.trace).verdict(c).violation.clone()
    }

    /// One group, generation 1 with members m-a and m-b; orders-0 holds m0..m5 below the HW.
    fn group_with_log() -> T {
        let mut t = T::new();
        t.partition(&tp(), &[1])
            .write(&tp(), 0, &["m0", "m1", "m2", "m3", "m4", "m5"])
            .generation(1, &["m-a", "m-b"])
            .joined(0, 1, "m-a")
            .joined(1, 1, "m-b");
        t
    }

    #[test]
    fn commit_then_crash_skips_what_the_first_owner_never_processed() {
        let mut t = group_with_log();
        t.assigned(0, 1, &[tp()], &[tp()])
            .position(0, &tp(), 0)
            .polled(0, &tp(), 0, &["m0", "m1", "m2", "m3"])
            .processed(0, &tp(), 0, "m0")
            .processed(0, &tp(), 1, "m1")
            .stored(&tp(), 4)
            .e(Event::Crashed {
                node: c(0),
                kind: crate::trace::CrashKind::Process,
            })
            .assigned(1, 2, &[tp()], &[tp()])
            .position(1, &tp(), 4)
            .polled(1, &tp(), 4, &["m4", "m5"])
            .processed(1, &tp(), 4, "m4");
        let at = t.index();
        let mut ok = T::new();
        ok.trace = t.trace.clone();
        t.processed(1, &tp(), 5, "m5");
        let x = broken(&t, CheckerId::NoSkippedRecords).expect("m2 and m3 were skipped");
        assert_eq!(x.index, at, "shown when the group processes past the gap");
        assert!(x.message.contains("orders-0@2 m2"), "{}", x.message);
        assert_eq!(check(&t.trace).count(Count::Skipped), 2);
        // The fix: the first owner processes before it commits.
        ok.processed(1, &tp(), 2, "m2").processed(1, &tp(), 3, "m3");
        assert_eq!(broken(&ok, CheckerId::NoSkippedRecords), None);
        assert_eq!(check(&ok.trace).count(Count::Skipped), 0);
    }

    #[test]
    fn records_refilled_under_a_consumer_after_truncation_are_skips() {
        let mut t = group_with_log();
        t.assigned(0, 1, &[tp()], &[tp()]).position(0, &tp(), 0);
        for (o, x) in ["m0", "m1", "m2", "m3"].iter().enumerate() {
            t.processed(0, &tp(), o as u64, x);
        }
        t.e(Event::Truncated {
            broker: 1,
            tp: tp(),
            from: 6,
            to: 2,
            reason: TruncateReason::LeaderEpoch,
            removed: vec![v("m2"), v("m3"), v("m4"), v("m5")],
        })
        .write(&tp(), 2, &["n2", "n3"]);
        let appended = t.index() - 1;
        let x = broken(&t, CheckerId::NoSkippedRecords).expect("n2 and n3 never processed");
        assert_eq!(x.index, appended);
        assert!(x.message.contains("orders-0@2 n2"), "{}", x.message);
        // Processing the same offsets' old records again is not reprocessing.
        assert_eq!(broken(&t, CheckerId::NoReprocessing), None);
        // KIP-320: the consumer detects the truncation and reads the new records.
        t.e(Event::PositionSet {
            consumer: c(0),
            tp: tp(),
            from: Some(4),
            to: 2,
            reason: PositionReason::LogTruncation,
            read_committed: false,
        })
        .processed(0, &tp(), 2, "n2")
        .processed(0, &tp(), 3, "n3");
        assert_eq!(broken(&t, CheckerId::NoSkippedRecords), None);
        assert_eq!(check(&t.trace).count(Count::TruncationsDetected), 1);
    }

    #[test]
    fn a_record_processed_twice_in_a_group_is_reprocessing() {
        let mut t = group_with_log();
        t.processed(0, &tp(), 0, "m0").processed(0, &tp(), 1, "m1");
        assert_eq!(broken(&t, CheckerId::NoReprocessing), None);
        t.processed(1, &tp(), 1, "m1");
        let at = t.index();
        t.processed(1, &tp(), 1, "m1");
        let x = broken(&t, CheckerId::NoReprocessing).expect("m1 twice");
        assert_eq!(x.index, at);
        assert!(
            x.message.contains(
                "consumer-b processed orders-0@1 m1 again (first processed by consumer-a"
            ),
            "{}",
            x.message
        );
        let f = check(&t.trace);
        assert_eq!(
            f.count(Count::Reprocessed),
            1,
            "one record, processed three times"
        );
        assert_eq!(f.count(Count::Processed), 4);
    }

    #[test]
    fn two_groups_each_process_every_record_once() {
        let mut t = group_with_log();
        t.processed(0, &tp(), 0, "m0");
        // consumer-c has no group: a group of its own.
        t.processed(2, &tp(), 0, "m0");
        assert_eq!(broken(&t, CheckerId::NoReprocessing), None);
    }

    #[test]
    fn polls_must_continue_where_the_last_one_ended() {
        let mut t = group_with_log();
        t.assigned(0, 1, &[tp()], &[tp()])
            .position(0, &tp(), 0)
            .polled(0, &tp(), 0, &["m0", "m1"])
            .polled(0, &tp(), 2, &["m2"]);
        assert_eq!(broken(&t, CheckerId::MonotonicPolls), None);
        let mut back = T::new();
        back.trace = t.trace.clone();
        t.polled(0, &tp(), 4, &["m4"]);
        let x = broken(&t, CheckerId::MonotonicPolls).expect("a gap");
        assert_eq!(x.index, t.index());
        assert!(
            x.message
                .ends_with("its previous poll ended at 3: skipping offset 3"),
            "{}",
            x.message
        );

        back.polled(0, &tp(), 1, &["m1"]);
        let x = broken(&back, CheckerId::MonotonicPolls).expect("going back");
        assert!(x.message.contains("going back 2 records"), "{}", x.message);

        // A new position, or a new assignment, starts afresh.
        let mut ok = T::new();
        ok.trace = back.trace.clone();
        ok.trace.entries.pop();
        ok.position(0, &tp(), 1).polled(0, &tp(), 1, &["m1"]);
        ok.e(Event::PartitionsRevoked {
            consumer: c(0),
            group: v(GROUP),
            revoked: vec![tp()],
            lost: false,
        })
        .assigned(0, 2, &[tp()], &[tp()])
        .polled(0, &tp(), 0, &["m0"]);
        assert_eq!(broken(&ok, CheckerId::MonotonicPolls), None);
        // ... but the first poll after a position must start there.
        ok.position(0, &tp(), 3).polled(0, &tp(), 4, &["m4"]);
        let x = broken(&ok, CheckerId::MonotonicPolls).expect("not at the position");
        assert!(x.message.contains("its position was 3"), "{}", x.message);
    }

    #[test]
    fn markers_and_aborted_records_are_neither_gaps_nor_skips_nor_duplicates() {
        // A read_committed consumer returns t0 t1 at 3, then m6.
        let mut t = transactional_log();
        t.polled(0, &tp(), 3, &["t0", "t1"])
            .polled(0, &tp(), 6, &["m6"])
            .processed(0, &tp(), 3, "t0")
            .processed(0, &tp(), 4, "t1")
            .processed(0, &tp(), 6, "m6");
        let f = check(&t.trace);
        for c in [
            CheckerId::MonotonicPolls,
            CheckerId::NoSkippedRecords,
            CheckerId::NoDuplicates,
            CheckerId::NoReordering,
            CheckerId::NoAbortedReads,
        ] {
            assert!(f.verdict(c).holds(), "{c:?}: {:?}", f.verdict(c).violation);
        }
        assert_eq!(f.count(Count::Skipped), 0);
        assert_eq!(f.count(Count::Duplicated), 0);
        assert_eq!(f.count(Count::Reordered), 0);

        // A committed record is still no marker: jumping over t1 is a gap and a skip.
        let mut gap = transactional_log();
        gap.polled(0, &tp(), 3, &["t0"])
            .processed(0, &tp(), 3, "t0")
            .polled(0, &tp(), 6, &["m6"]);
        let at = gap.index();
        gap.processed(0, &tp(), 6, "m6");
        let f = check(&gap.trace);
        let x = f.verdict(CheckerId::MonotonicPolls).violation.clone();
        let x = x.expect("t1 jumped over");
        assert_eq!(x.index, at);
        assert!(
            x.message
                .ends_with("its previous poll ended at 4: skipping offsets 4..5"),
            "{}",
            x.message
        );
        let x = f.verdict(CheckerId::NoSkippedRecords).violation.clone();
        assert!(x.expect("t1 skipped").message.contains("orders-0@4 t1"));
        assert_eq!(f.count(Count::Skipped), 1);

        // A record written again outside the transactions is a duplicate, shown at its append.
        t.write(&tp(), 7, &["t1"]);
        let appended = t.index() - 1;
        let x = broken(&t, CheckerId::NoDuplicates).expect("t1 committed twice");
        assert_eq!(x.index, appended);
        assert_eq!(x.message, "t1 is in orders-0 twice (again at offset 7)");
        assert_eq!(check(&t.trace).count(Count::Duplicated), 1);
    }

    #[test]
    fn a_committed_offset_must_not_go_back() {
        let mut t = group_with_log();
        t.stored(&tp(), 5).stored(&tp(), 5).stored(&tp1(), 1);
        assert_eq!(broken(&t, CheckerId::NoCommitRegression), None);
        t.stored(&tp(), 3);
        let x = broken(&t, CheckerId::NoCommitRegression).expect("5 -> 3");
        assert_eq!(x.index, t.index());
        assert!(x.message.contains("went back from 5"), "{}", x.message);
        assert!(x.message.ends_with("to 3 in generation 1"), "{}", x.message);
    }

    #[test]
    fn two_current_members_owning_one_partition_is_double_assignment() {
        let mut t = group_with_log();
        t.assigned(0, 1, &[tp()], &[tp()])
            .assigned(1, 1, &[tp1()], &[tp1()]);
        assert_eq!(broken(&t, CheckerId::NoDoubleAssignment), None);
        let mut zombie = T::new();
        zombie.trace = t.trace.clone();
        t.assigned(1, 1, &[tp()], &[tp(), tp1()]);
        let x = broken(&t, CheckerId::NoDoubleAssignment).expect("both own orders-0");
        assert_eq!(x.index, t.index());
        assert!(
            x.message
                .contains("orders-0 is owned by consumer-a and consumer-b"),
            "{}",
            x.message
        );

        // consumer-a was removed (max.poll.interval.ms): a zombie, not a member.
        zombie
            .e(Event::MemberRemoved {
                broker: 1,
                group: v(GROUP),
                member: v("m-a"),
                reason: "max.poll.interval.ms".into(),
            })
            .generation(2, &["m-b"])
            .assigned(1, 2, &[tp()], &[tp(), tp1()]);
        assert_eq!(broken(&zombie, CheckerId::NoDoubleAssignment), None);
        // Once it rejoins as a member and still holds its old partition, it counts again.
        zombie.generation(3, &["m-b", "m-a2"]).joined(0, 3, "m-a2");
        zombie.assigned(0, 3, &[], &[tp()]);
        assert!(broken(&zombie, CheckerId::NoDoubleAssignment).is_some());
    }

    #[test]
    fn a_crashed_member_owns_nothing() {
        let mut t = group_with_log();
        t.assigned(0, 1, &[tp()], &[tp()])
            .e(Event::Crashed {
                node: c(0),
                kind: crate::trace::CrashKind::Process,
            })
            .assigned(1, 1, &[tp()], &[tp()]);
        assert_eq!(broken(&t, CheckerId::NoDoubleAssignment), None);
    }

    #[test]
    fn polling_above_every_announced_hw_is_a_dirty_read() {
        let mut t = group_with_log();
        t.polled(0, &tp(), 4, &["m4", "m5"]);
        assert_eq!(broken(&t, CheckerId::NoReadAboveHw), None);
        // A follower's HW does not count; the leader's is 6.
        t.e(Event::Appended {
            broker: 1,
            tp: tp(),
            base_offset: 6,
            leader_epoch: 0,
            values: vec![v("m6")],
            leader: true,
        })
        .polled(0, &tp(), 6, &["m6"]);
        let x = broken(&t, CheckerId::NoReadAboveHw).expect("m6 is above the HW");
        assert_eq!(x.index, t.index());
        assert!(
            x.message.contains(
                "polled orders-0@6, but no leader had announced a HW above 6 (highest: 6)"
            ),
            "{}",
            x.message
        );
    }

    #[test]
    fn the_offsets_topic_is_not_producer_data() {
        let offsets = TopicPartition::new(OFFSETS_TOPIC, 0);
        let mut t = T::new();
        t.partition(&offsets, &[1]);
        let record = "offset:billing:orders-0 5 epoch 0 generation 1 at 1.000s";
        t.e(Event::Appended {
            broker: 1,
            tp: offsets.clone(),
            base_offset: 0,
            leader_epoch: 0,
            values: vec![v(record), v(record)],
            leader: true,
        })
        .hw(&offsets, 2)
        .e(Event::Truncated {
            broker: 1,
            tp: offsets.clone(),
            from: 2,
            to: 1,
            reason: TruncateReason::PowerLoss,
            removed: vec![v(record)],
        });
        let f = check(&t.trace);
        assert!(f.verdict(CheckerId::NoDuplicates).holds());
        assert_eq!(f.count(Count::Duplicated), 0);
        assert_eq!(f.count(Count::Truncated), 0);
    }

    #[test]
    fn group_activity_is_counted() {
        let mut t = group_with_log();
        t.generation(2, &["m-a"])
            .e(Event::CommitFailed {
                consumer: c(1),
                group: v(GROUP),
                offsets: vec![(tp(), 3)],
                reason: "CommitFailedException: ILLEGAL_GENERATION".into(),
            })
            .e(Event::Produced {
                producer: c(0),
                value: v("out-1"),
                key: None,
                tp: TopicPartition::new("features", 0),
            });
        let f = check(&t.trace);
        assert_eq!(f.count(Count::Rebalances), 2);
        assert_eq!(f.count(Count::CommitFailures), 1);
        assert_eq!(f.count(Count::Output), 1);
        assert_eq!(
            f.count(Count::Produced),
            7,
            "the processor's records are produced too"
        );
    }
}
