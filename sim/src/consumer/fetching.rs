//! Metadata, positions and fetches (Kafka's `Fetcher`, `OffsetFetcher`, `SubscriptionState`).
//!
//! A partition becomes fetchable once it has a position: the group's committed offset
//! (OffsetFetch), or `auto.offset.reset` (ListOffsets) when there is none or the position fell
//! off the log. After a leader change the position is validated first (KIP-320): the consumer
//! asks the new leader where the epoch of its last consumed record ends, and if that is below
//! its position the log was truncated under it, so it moves back to where the logs agree.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::config::{IsolationLevel, OffsetReset};
use crate::consumer::{Consumer, Partition, Pending};
use crate::effects::Effects;
use crate::ids::{BrokerId, Millis, NodeId, TopicPartition};
use crate::log::{ControlType, Record};
use crate::protocol::{
    AbortedTxn, EpochEndOffset, EpochQuery, ErrorCode, FetchPartition, FetchRequest,
    FetchedPartition, Message, OffsetAndEpoch, OffsetSpec,
};
use crate::trace::{Event, PositionReason};

#[derive(Clone, Debug)]
pub(super) struct Request {
    pub deadline: Millis,
    pub broker: BrokerId,
    pub kind: RequestKind,
}

#[derive(Clone, Debug)]
pub(super) enum RequestKind {
    Fetch,
    ListOffsets(Vec<TopicPartition>),
    Validate(Vec<TopicPartition>),
    OffsetFetch(Vec<TopicPartition>),
    Commit,
}

impl Consumer {
    pub(super) fn on_metadata(
        &mut self,
        now: Millis,
        correlation: u64,
        partitions: Vec<(TopicPartition, Option<BrokerId>, u32)>,
        _fx: &mut Effects,
    ) {
        if self.metadata_in_flight.map(|m| m.0) != Some(correlation) {
            return;
        }
        self.metadata_in_flight = None;
        let mut counts: BTreeMap<Arc<str>, u32> = BTreeMap::new();
        let mut missing = false;
        for (tp, leader, epoch) in partitions {
            if !self.spec.topics.contains(&tp.topic) {
                continue;
            }
            *counts.entry(tp.topic.clone()).or_default() += 1;
            match leader {
                Some(l) => {
                    self.leaders.insert(tp.clone(), (l, epoch));
                    let validate = self.spec.config.leader_epoch_validation;
                    if let Some(p) = self.partitions.get_mut(&tp) {
                        let newer = p.seen_epoch.is_some_and(|e| e < epoch);
                        if validate && newer && p.pending == Pending::None && p.last_epoch.is_some()
                        {
                            p.pending = Pending::Validate;
                            p.asked = false;
                        }
                    }
                }
                None => {
                    missing |= self.partitions.contains_key(&tp);
                    self.leaders.remove(&tp);
                }
            }
        }
        let grown = counts
            .iter()
            .any(|(t, n)| self.topic_partitions.get(t).is_some_and(|old| old < n));
        self.topic_partitions.extend(counts);
        if grown && self.spec.group.is_some() {
            self.subscription_changed();
        }
        if self.topic_partitions.len() < self.spec.topics.len() || missing {
            self.bootstrap_cursor += 1;
            self.metadata_at = now + self.spec.config.retry_backoff_ms;
        } else {
            self.metadata_at = now + self.spec.config.metadata_max_age_ms;
        }
    }

    fn metadata_soon(&mut self, now: Millis) {
        self.metadata_at = self
            .metadata_at
            .min(now + self.spec.config.retry_backoff_ms);
    }

    /// Without a group: `assign()` every partition of the topics, starting by
    /// `auto.offset.reset`.
    pub(super) fn assign_all(&mut self, _now: Millis, _fx: &mut Effects) {
        for (t, &n) in &self.topic_partitions {
            for p in 0..n {
                let tp = TopicPartition::new(t.clone(), p);
                self.partitions.entry(tp).or_insert_with(|| {
                    Partition::new(Pending::Reset {
                        out_of_range: false,
                    })
                });
            }
        }
    }

    /// Sends every request that is due: metadata, coordinator lookup, commits, positions,
    /// validations and fetches.
    pub(super) fn send_requests(&mut self, now: Millis, fx: &mut Effects) {
        let cfg = self.spec.config.clone();
        if self.metadata_in_flight.is_none()
            && now >= self.metadata_at
            && !self.spec.bootstrap.is_empty()
        {
            let b = self.spec.bootstrap[self.bootstrap_cursor % self.spec.bootstrap.len()];
            let c = self.correlation();
            self.metadata_in_flight = Some((c, now + cfg.request_timeout_ms));
            self.metadata_at = now + cfg.retry_backoff_ms;
            fx.send(
                NodeId::Broker(b),
                Message::MetadataRequest { correlation: c },
            );
        }
        self.send_find_coordinator(now, fx);
        // A blocked commitSync.
        if let Some(s) = &self.sync_commit {
            if s.in_flight.is_none() && s.retry_at <= now {
                let offsets = s.offsets.clone();
                if let Some(c) = self.send_commit(now, offsets, true, fx) {
                    self.sync_commit.as_mut().expect("checked").in_flight = Some(c);
                }
            }
        }
        // Committed offsets of new partitions.
        let want: Vec<TopicPartition> = self
            .partitions
            .iter()
            .filter(|(_, p)| p.pending == Pending::Committed && !p.asked)
            .map(|(tp, _)| tp.clone())
            .collect();
        if let (false, Some(coordinator), Some(group), true) = (
            want.is_empty(),
            self.membership.coordinator(),
            self.group(),
            now >= self.stable_retry_at,
        ) {
            let c = self.correlation();
            fx.send(
                NodeId::Broker(coordinator),
                Message::OffsetFetch {
                    correlation: c,
                    group,
                    partitions: Some(want.clone()),
                    // KIP-447: a read_committed consumer waits for offsets that an open
                    // transaction is about to commit.
                    require_stable: cfg.isolation_level == IsolationLevel::ReadCommitted,
                },
            );
            for tp in &want {
                self.partitions.get_mut(tp).expect("listed").asked = true;
            }
            self.requests.insert(
                c,
                Request {
                    deadline: now + cfg.request_timeout_ms,
                    broker: coordinator,
                    kind: RequestKind::OffsetFetch(want),
                },
            );
        }
        // auto.offset.reset and validations, per leader.
        let mut resets: BTreeMap<BrokerId, Vec<(TopicPartition, Option<u32>, OffsetSpec)>> =
            BTreeMap::new();
        let mut checks: BTreeMap<BrokerId, Vec<EpochQuery>> = BTreeMap::new();
        let mut fetches: BTreeMap<BrokerId, Vec<FetchPartition>> = BTreeMap::new();
        let mut failure = None;
        for (tp, p) in &self.partitions {
            if p.asked {
                continue;
            }
            let Some(&(leader, epoch)) = self.leaders.get(tp) else {
                continue;
            };
            match p.pending {
                Pending::Committed => {}
                Pending::Reset { out_of_range } => {
                    let spec = match cfg.auto_offset_reset {
                        OffsetReset::Earliest => OffsetSpec::Earliest,
                        OffsetReset::Latest => OffsetSpec::Latest,
                        OffsetReset::None => {
                            failure.get_or_insert(if out_of_range {
                                format!("OffsetOutOfRangeException: {tp} position is out of range and auto.offset.reset = none")
                            } else {
                                format!("NoOffsetForPartitionException: {tp} has no committed offset and auto.offset.reset = none")
                            });
                            continue;
                        }
                    };
                    resets
                        .entry(leader)
                        .or_default()
                        .push((tp.clone(), Some(epoch), spec));
                }
                Pending::Validate => {
                    if let Some(last) = p.last_epoch {
                        checks.entry(leader).or_default().push(EpochQuery {
                            tp: tp.clone(),
                            current_leader_epoch: Some(epoch),
                            leader_epoch: last,
                        });
                    }
                }
                Pending::None => {
                    if let (Some(pos), true) = (p.position, p.buffer.is_empty()) {
                        fetches.entry(leader).or_default().push(FetchPartition {
                            tp: tp.clone(),
                            fetch_offset: pos,
                            current_leader_epoch: Some(epoch),
                            last_fetched_epoch: None,
                        });
                    }
                }
            }
        }
        if let Some(error) = failure {
            self.fail(now, error, fx);
            return;
        }
        for (leader, ps) in resets {
            let c = self.correlation();
            let tps: Vec<TopicPartition> = ps.iter().map(|x| x.0.clone()).collect();
            fx.send(
                NodeId::Broker(leader),
                Message::ListOffsets {
                    correlation: c,
                    partitions: ps,
                },
            );
            self.mark_asked(&tps);
            self.requests.insert(
                c,
                Request {
                    deadline: now + cfg.request_timeout_ms,
                    broker: leader,
                    kind: RequestKind::ListOffsets(tps),
                },
            );
        }
        for (leader, qs) in checks {
            let c = self.correlation();
            let tps: Vec<TopicPartition> = qs.iter().map(|q| q.tp.clone()).collect();
            fx.send(
                NodeId::Broker(leader),
                Message::OffsetsForLeaderEpoch {
                    correlation: c,
                    partitions: qs,
                },
            );
            self.mark_asked(&tps);
            self.requests.insert(
                c,
                Request {
                    deadline: now + cfg.request_timeout_ms,
                    broker: leader,
                    kind: RequestKind::Validate(tps),
                },
            );
        }
        for (leader, ps) in fetches {
            if self.fetches.contains_key(&leader) {
                continue;
            }
            let c = self.correlation();
            fx.send(
                NodeId::Broker(leader),
                Message::Fetch(FetchRequest {
                    replica: None,
                    correlation: c,
                    max_wait_ms: cfg.fetch_max_wait_ms,
                    min_bytes: cfg.fetch_min_bytes,
                    partitions: ps,
                    isolation: cfg.isolation_level,
                }),
            );
            self.fetches.insert(leader, c);
            self.requests.insert(
                c,
                Request {
                    deadline: now + cfg.request_timeout_ms,
                    broker: leader,
                    kind: RequestKind::Fetch,
                },
            );
        }
    }

    fn mark_asked(&mut self, tps: &[TopicPartition]) {
        for tp in tps {
            if let Some(p) = self.partitions.get_mut(tp) {
                p.asked = true;
            }
        }
    }

    fn unask(&mut self, tps: &[TopicPartition]) {
        for tp in tps {
            if let Some(p) = self.partitions.get_mut(tp) {
                p.asked = false;
            }
        }
    }

    pub(super) fn on_fetch_response(
        &mut self,
        now: Millis,
        from: NodeId,
        correlation: u64,
        partitions: Vec<FetchedPartition>,
        _fx: &mut Effects,
    ) {
        let Some(b) = from.broker() else { return };
        if self.fetches.get(&b) != Some(&correlation) {
            return;
        }
        self.fetches.remove(&b);
        self.requests.remove(&correlation);
        for f in partitions {
            let Some(p) = self.partitions.get_mut(&f.tp) else {
                continue;
            };
            if p.pending != Pending::None {
                continue;
            }
            match f.error {
                None => {
                    p.seen_epoch = self.leaders.get(&f.tp).map(|l| l.1);
                    let mut next = p.position.unwrap_or(0) + p.buffer.len() as u64;
                    let skips = skipped_records(&f.records, &f.aborted);
                    for (r, skip) in f.records.into_iter().zip(skips) {
                        if r.offset == next {
                            next += 1;
                            p.buffer.push_back((r, skip));
                        }
                    }
                }
                Some(ErrorCode::OffsetOutOfRange) => {
                    p.buffer.clear();
                    p.pending = Pending::Reset { out_of_range: true };
                }
                Some(_) => {
                    self.leaders.remove(&f.tp);
                    self.metadata_soon(now);
                }
            }
        }
    }

    pub(super) fn on_list_offsets(
        &mut self,
        now: Millis,
        correlation: u64,
        partitions: Vec<(TopicPartition, Result<u64, ErrorCode>)>,
        fx: &mut Effects,
    ) {
        if self.requests.remove(&correlation).is_none() {
            return;
        }
        for (tp, r) in partitions {
            let Some(p) = self.partitions.get_mut(&tp) else {
                continue;
            };
            p.asked = false;
            let Pending::Reset { out_of_range } = p.pending else {
                continue;
            };
            match r {
                Ok(offset) => {
                    fx.event(Event::PositionSet {
                        consumer: self.node,
                        tp: tp.clone(),
                        from: p.position,
                        to: offset,
                        reason: if out_of_range {
                            PositionReason::OffsetOutOfRange
                        } else {
                            PositionReason::AutoOffsetReset
                        },
                        read_committed: self.spec.config.isolation_level
                            == IsolationLevel::ReadCommitted,
                    });
                    p.position = Some(offset);
                    p.last_epoch = None;
                    p.pending = Pending::None;
                }
                Err(_) => {
                    self.leaders.remove(&tp);
                    self.metadata_soon(now);
                }
            }
        }
    }

    pub(super) fn on_epoch_end(
        &mut self,
        now: Millis,
        correlation: u64,
        partitions: Vec<EpochEndOffset>,
        fx: &mut Effects,
    ) {
        if self.requests.remove(&correlation).is_none() {
            return;
        }
        let mut failure = None;
        for e in partitions {
            let Some(p) = self.partitions.get_mut(&e.tp) else {
                continue;
            };
            p.asked = false;
            if p.pending != Pending::Validate {
                continue;
            }
            match (e.error, e.end) {
                (Some(_), _) => {
                    self.leaders.remove(&e.tp);
                    self.metadata_soon(now);
                }
                (None, Some((epoch, end))) => {
                    let pos = p.position.unwrap_or(0);
                    if end < pos {
                        if self.spec.config.auto_offset_reset == OffsetReset::None {
                            failure.get_or_insert(format!(
                                "LogTruncationException: {} was truncated to {end} below the position {pos}",
                                e.tp
                            ));
                            continue;
                        }
                        fx.event(Event::PositionSet {
                            consumer: self.node,
                            tp: e.tp.clone(),
                            from: Some(pos),
                            to: end,
                            reason: PositionReason::LogTruncation,
                            read_committed: self.spec.config.isolation_level
                                == IsolationLevel::ReadCommitted,
                        });
                        p.position = Some(end);
                        p.last_epoch = Some(epoch);
                        p.buffer.clear();
                    }
                    p.seen_epoch = self.leaders.get(&e.tp).map(|l| l.1);
                    p.pending = Pending::None;
                }
                // The leader has no record of that epoch: the position cannot be trusted.
                (None, None) => {
                    p.buffer.clear();
                    p.pending = Pending::Reset { out_of_range: true };
                }
            }
        }
        if let Some(error) = failure {
            self.fail(now, error, fx);
        }
    }

    pub(super) fn on_offset_fetch(
        &mut self,
        now: Millis,
        correlation: u64,
        error: Option<ErrorCode>,
        offsets: Vec<OffsetAndEpoch>,
        fx: &mut Effects,
    ) {
        let Some(Request {
            kind: RequestKind::OffsetFetch(asked),
            ..
        }) = self.requests.remove(&correlation)
        else {
            return;
        };
        self.unask(&asked);
        if error == Some(ErrorCode::UnstableOffsetCommit) {
            // A transaction is still committing offsets for these partitions: ask again.
            self.stable_retry_at = now + self.spec.config.retry_backoff_ms;
            return;
        }
        if error.is_some() {
            self.membership.coordinator_lost(now, &self.spec.config);
            return;
        }
        for tp in asked {
            let Some(p) = self.partitions.get_mut(&tp) else {
                continue;
            };
            if p.pending != Pending::Committed {
                continue;
            }
            match offsets.iter().find(|o| o.tp == tp) {
                Some(o) => {
                    fx.event(Event::PositionSet {
                        consumer: self.node,
                        tp: tp.clone(),
                        from: p.position,
                        to: o.offset,
                        reason: PositionReason::Committed,
                        read_committed: self.spec.config.isolation_level
                            == IsolationLevel::ReadCommitted,
                    });
                    p.position = Some(o.offset);
                    p.last_epoch = o.leader_epoch;
                    let current = self.leaders.get(&tp).map(|l| l.1);
                    p.pending = match (o.leader_epoch, current) {
                        (Some(e), Some(c))
                            if self.spec.config.leader_epoch_validation && e != c =>
                        {
                            Pending::Validate
                        }
                        _ => Pending::None,
                    };
                }
                None => {
                    p.pending = Pending::Reset {
                        out_of_range: false,
                    }
                }
            }
        }
    }

    /// Requests whose answer did not come in time.
    pub(super) fn expire_requests(&mut self, now: Millis, fx: &mut Effects) {
        if self.metadata_in_flight.is_some_and(|(_, t)| t <= now) {
            self.metadata_in_flight = None;
            self.bootstrap_cursor += 1;
        }
        self.membership_timeouts(now);
        let expired: Vec<u64> = self
            .requests
            .iter()
            .filter(|(_, r)| r.deadline <= now)
            .map(|(c, _)| *c)
            .collect();
        for c in expired {
            self.request_failed(now, c, ErrorCode::RequestTimedOut, fx);
        }
    }

    fn request_failed(&mut self, now: Millis, c: u64, e: ErrorCode, fx: &mut Effects) {
        let Some(r) = self.requests.remove(&c) else {
            return;
        };
        match r.kind {
            RequestKind::Fetch => {
                self.fetches.remove(&r.broker);
                self.metadata_soon(now);
            }
            RequestKind::ListOffsets(tps) | RequestKind::Validate(tps) => {
                self.unask(&tps);
                self.metadata_soon(now);
            }
            RequestKind::OffsetFetch(tps) => {
                self.unask(&tps);
                self.membership.coordinator_lost(now, &self.spec.config);
            }
            RequestKind::Commit => self.commit_lost(now, c, e, fx),
        }
    }

    pub(super) fn on_disconnected(&mut self, now: Millis, from: NodeId, fx: &mut Effects) {
        let Some(b) = from.broker() else { return };
        if self.metadata_in_flight.is_some() {
            self.metadata_in_flight = None;
            self.bootstrap_cursor += 1;
        }
        self.metadata_soon(now);
        self.leaders.retain(|_, (l, _)| *l != b);
        self.membership_disconnected(now, b);
        let broken: Vec<u64> = self
            .requests
            .iter()
            .filter(|(_, r)| r.broker == b)
            .map(|(c, _)| *c)
            .collect();
        for c in broken {
            self.request_failed(now, c, ErrorCode::NetworkException, fx);
        }
    }
}

/// Which fetched records `poll()` never returns (Kafka's `CompletedFetch`): control records
/// (transaction markers), and the records of the aborted transactions a `read_committed`
/// fetch lists, from each one's first offset until its producer's ABORT marker.
fn skipped_records(records: &[Record], aborted: &[AbortedTxn]) -> Vec<bool> {
    let mut aborted: Vec<AbortedTxn> = aborted.to_vec();
    aborted.sort_by_key(|a| a.first_offset);
    let mut next = 0;
    let mut skipping: BTreeSet<u64> = BTreeSet::new();
    records
        .iter()
        .map(|r| {
            while next < aborted.len() && aborted[next].first_offset <= r.offset {
                skipping.insert(aborted[next].producer_id);
                next += 1;
            }
            let pid = r.producer.map(|p| p.producer_id);
            match (r.control, pid) {
                (Some(ControlType::Abort), Some(pid)) => {
                    skipping.remove(&pid);
                    true
                }
                (Some(_), _) => true,
                (None, Some(pid)) => {
                    r.producer.is_some_and(|p| p.transactional) && skipping.contains(&pid)
                }
                (None, None) => false,
            }
        })
        .collect()
}
