//! A Kafka consumer and the application loop around it, as a sans-IO state machine.
//!
//! It follows the shape of Kafka's classic `KafkaConsumer`: the application thread calls
//! `poll()`, processes what it got, and commits where its code says (before processing, after,
//! or never by hand); auto-commit runs inside `poll()` and commits what the *previous* polls
//! returned; a background heartbeat thread keeps the membership alive and, when the
//! application has not called `poll()` for `max.poll.interval.ms`, leaves the group on its
//! behalf (the application is then a zombie: it finishes its batch, and its commit fails).
//! Rebalances happen inside `poll()`: with an eager assignor the member gives up everything
//! before it rejoins; with `cooperative-sticky` (KIP-429) it keeps what it owns and revokes only
//! what moves, which takes a second rebalance.
//!
//! The consumer keeps its *position* (the next offset `poll()` returns) apart from the group's
//! *committed offset*; it reads only below the high watermark (the broker enforces that); after a
//! leader change it validates its position against the new leader's log with the last consumed
//! record's epoch (KIP-320) unless `sim.leader.epoch.validation = false`.
//!
//! Pieces: [`membership`] (coordinator lookup, join, sync, heartbeat, leave), [`fetching`]
//! (metadata, positions, fetches, resets, validation), [`assignor`] (the leader's assignors),
//! [`stream`] (a stream processor's stateful transform).

pub mod assignor;
mod exactly_once;
mod fetching;
mod membership;
mod stream;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use crate::config::{ConsumerConfig, IsolationLevel, ProducerConfig};
use crate::effects::Effects;
use crate::ids::{BrokerId, Millis, NodeId, TopicPartition};
use crate::log::Record;
use crate::producer::{KeySpec, Producer, ProducerSpec, Workload};
use crate::protocol::{ErrorCode, Message, OffsetAndEpoch, PartitionState};
use crate::scenario::{CommitPoint, Processing, ProcessingGuarantee, StreamOutput};
use crate::trace::Event;

/// Everything a consumer needs to start.
#[derive(Clone, Debug)]
pub struct ConsumerSpec {
    pub index: u16,
    pub name: String,
    pub group: Option<Arc<str>>,
    pub topics: Vec<Arc<str>>,
    pub config: ConsumerConfig,
    pub processing: Processing,
    pub start: Millis,
    pub stop: Option<Millis>,
    pub output: Option<StreamOutput>,
    /// Partitions of the output topic at start (more are learnt from metadata).
    pub output_partitions: u32,
    pub bootstrap: Vec<BrokerId>,
    /// The cluster's `transaction.version` is 2 (for an exactly_once_v2 output producer).
    pub transactions_v2: bool,
}

/// Where the application is in its loop.
#[derive(Clone, Debug, PartialEq)]
enum App {
    /// Before `start`.
    NotStarted,
    /// Inside `poll()`, waiting for records (or for the group to be joined).
    Polling,
    /// `commitSync()` before processing (`commit = "before"`), holding the batch.
    CommittingBefore(Vec<(TopicPartition, Record)>),
    Processing {
        batch: Vec<(TopicPartition, Record)>,
        done: usize,
        started: Millis,
    },
    /// `commitSync()` after processing (`commit = "after"`).
    CommittingAfter,
    /// `processing.guarantee = exactly_once_v2`: the poll's outputs and its positions are
    /// committing in one transaction (`asked`: the producer has been told to commit).
    CommittingTransaction { asked: bool },
    /// `close()` returned, or the application failed.
    Stopped,
}

/// What a partition's position waits for before it can be fetched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pending {
    /// Fetchable.
    None,
    /// Waiting for the group's committed offset (OffsetFetch).
    Committed,
    /// `auto.offset.reset` by ListOffsets, because there was no committed offset (or it was out
    /// of range).
    Reset { out_of_range: bool },
    /// KIP-320: asking the new leader where the last consumed epoch ends.
    Validate,
}

#[derive(Clone, Debug)]
struct Partition {
    position: Option<u64>,
    /// Leader epoch of the record before `position` (what a commit and a validation carry).
    last_epoch: Option<u32>,
    /// The leader epoch under which the position was last fetched or validated: a newer one in
    /// the metadata means the leader changed, and the position must be validated (KIP-320).
    seen_epoch: Option<u32>,
    pending: Pending,
    /// Fetched and not yet returned by `poll()`, each with whether `poll()` skips it (a
    /// transaction marker, or with read_committed a record of an aborted transaction): the
    /// position moves past it, the application never sees it.
    buffer: VecDeque<(Record, bool)>,
    /// A request for this partition is outstanding (so it is not asked for twice).
    asked: bool,
}

impl Partition {
    fn new(pending: Pending) -> Self {
        Partition {
            position: None,
            last_epoch: None,
            seen_epoch: None,
            pending,
            buffer: VecDeque::new(),
            asked: false,
        }
    }
}

/// A `commitSync()` the application is blocked in; retried on retriable errors.
#[derive(Clone, Debug)]
struct SyncCommit {
    offsets: Vec<OffsetAndEpoch>,
    in_flight: Option<u64>,
    retry_at: Millis,
}

/// A consumer node: the client, its application loop and, for a stream processor, the
/// producer it writes its results with.
pub struct Consumer {
    node: NodeId,
    spec: ConsumerSpec,
    app: App,
    // ---- metadata ----
    leaders: BTreeMap<TopicPartition, (BrokerId, u32)>,
    topic_partitions: BTreeMap<Arc<str>, u32>,
    metadata_in_flight: Option<(u64, Millis)>,
    metadata_at: Millis,
    bootstrap_cursor: usize,
    // ---- group membership ----
    membership: membership::Membership,
    // ---- positions and fetching ----
    partitions: BTreeMap<TopicPartition, Partition>,
    /// Partition → requests in flight, by correlation id.
    requests: BTreeMap<u64, fetching::Request>,
    fetches: BTreeMap<BrokerId, u64>,
    poll_cursor: usize,
    // ---- commits ----
    sync_commit: Option<SyncCommit>,
    /// Commits in flight: correlation → (offsets, sync).
    commits: BTreeMap<u64, (Vec<OffsetAndEpoch>, bool)>,
    last_committed: BTreeMap<TopicPartition, u64>,
    next_auto_commit: Millis,
    /// When the application last called `poll()` (for `max.poll.interval.ms`).
    last_poll: Millis,
    /// The last `commitSync()` failed (CommitFailedException): the application moves on.
    last_commit_failed: bool,
    /// After UNSTABLE_OFFSET_COMMIT, the next OffsetFetch waits until then.
    stable_retry_at: Millis,
    next_correlation: u64,
    // ---- a stream processor ----
    stream: Option<stream::StreamState>,
    output: Option<Box<Producer>>,
}

impl Consumer {
    pub fn new(mut spec: ConsumerSpec, seed: u64, now: Millis) -> Self {
        let node = NodeId::Consumer(spec.index);
        let eos = spec
            .output
            .as_ref()
            .is_some_and(|o| o.guarantee == ProcessingGuarantee::ExactlyOnceV2);
        if eos {
            // Kafka Streams under exactly_once_v2: read_committed input, no auto-commit (the
            // offsets go into the transactions).
            spec.config.isolation_level = IsolationLevel::ReadCommitted;
            spec.config.enable_auto_commit = false;
        }
        let (stream, output) = match &spec.output {
            Some(o) => {
                let mut config = o.config.clone();
                if eos {
                    // One transactional producer per task (EOS v2: per stream thread), with a
                    // transactional.id that a restarted instance reuses, so that it fences its
                    // predecessor; Streams' default transaction.timeout.ms is 10 s.
                    let app = spec.group.as_deref().unwrap_or("app");
                    config.transactional_id = Some(format!("{app}-{}", spec.name).into());
                    if config.transaction_timeout_ms
                        == ProducerConfig::default().transaction_timeout_ms
                    {
                        config.transaction_timeout_ms = 10_000;
                    }
                }
                let pspec = ProducerSpec {
                    name: spec.name.clone(),
                    topic: o.topic.clone(),
                    partitions: spec.output_partitions.max(1),
                    idempotent: o.idempotent || eos,
                    config,
                    workload: Workload::new(0.0, 0, 0, KeySpec::None, 40, Vec::new()),
                    bootstrap: spec.bootstrap.clone(),
                    transactions_v2: spec.transactions_v2,
                };
                (
                    Some(stream::StreamState::new(o.transform.clone())),
                    Some(Box::new(Producer::embedded(
                        node,
                        2000 + spec.index as u64,
                        pspec,
                        seed,
                    ))),
                )
            }
            None => (None, None),
        };
        let cursor = spec.index as usize % spec.bootstrap.len().max(1);
        Consumer {
            node,
            app: App::NotStarted,
            leaders: BTreeMap::new(),
            topic_partitions: BTreeMap::new(),
            metadata_in_flight: None,
            metadata_at: now.max(spec.start),
            bootstrap_cursor: cursor,
            membership: membership::Membership::new(spec.start.max(now)),
            partitions: BTreeMap::new(),
            requests: BTreeMap::new(),
            fetches: BTreeMap::new(),
            poll_cursor: 0,
            sync_commit: None,
            commits: BTreeMap::new(),
            last_committed: BTreeMap::new(),
            next_auto_commit: 0,
            last_poll: now,
            last_commit_failed: false,
            stable_retry_at: 0,
            next_correlation: 0,
            stream,
            output,
            spec,
        }
    }

    pub fn spec(&self) -> &ConsumerSpec {
        &self.spec
    }

    /// Whether the application is part-way through a poll's records (some processed, some
    /// not): the moment `crash … when = "mid-batch"` waits for.
    pub fn is_mid_batch(&self) -> bool {
        matches!(&self.app, App::Processing { batch, done, .. } if *done > 0 && *done < batch.len())
    }

    /// A clean shutdown of the consumer's process: the application's `close()`.
    pub fn shutdown(&mut self, now: Millis, fx: &mut Effects) {
        if !matches!(self.app, App::Stopped | App::NotStarted) {
            self.close(now, fx);
        }
        self.app = App::Stopped;
    }

    pub fn is_stopped(&self) -> bool {
        self.app == App::Stopped
    }

    /// The partitions this consumer owns now, with their positions.
    pub fn positions(&self) -> BTreeMap<TopicPartition, Option<u64>> {
        self.partitions
            .iter()
            .map(|(tp, p)| (tp.clone(), p.position))
            .collect()
    }

    fn correlation(&mut self) -> u64 {
        self.next_correlation += 1;
        self.next_correlation
    }

    fn group(&self) -> Option<Arc<str>> {
        self.spec.group.clone()
    }

    pub fn next_deadline(&self) -> Option<Millis> {
        let mut d = self.output.as_ref().and_then(|p| p.next_deadline());
        let mut at = |t: Millis| d = Some(d.map_or(t, |x: Millis| x.min(t)));
        if self.app == App::Stopped {
            return d;
        }
        if self.app == App::NotStarted {
            at(self.spec.start);
            return d;
        }
        if let Some(stop) = self.spec.stop {
            at(stop);
        }
        match self.metadata_in_flight {
            Some((_, t)) => at(t),
            None => at(self.metadata_at),
        }
        for r in self.requests.values() {
            at(r.deadline);
        }
        if let Some(t) = self.membership.deadline(
            self.spec.group.is_some(),
            &self.spec.config,
            self.app == App::Polling,
            self.last_poll,
        ) {
            at(t);
        }
        if let Some(s) = &self.sync_commit {
            if s.in_flight.is_none() {
                at(s.retry_at);
            }
        }
        if self.stable_retry_at > 0
            && self
                .partitions
                .values()
                .any(|p| p.pending == Pending::Committed)
        {
            at(self.stable_retry_at);
        }
        if self.app == App::Polling
            && self.spec.config.enable_auto_commit
            && self.spec.group.is_some()
        {
            at(self.next_auto_commit);
        }
        if let App::Processing {
            batch,
            done,
            started,
        } = &self.app
        {
            at(self.finish_time(*started, *done));
            let _ = batch;
        }
        d
    }

    /// When record `i` (0-based) of a batch started at `started` is processed.
    fn finish_time(&self, started: Millis, i: usize) -> Millis {
        let us = self.spec.processing.per_record_us;
        started + ((i as u64 + 1) * us).div_ceil(1000)
    }

    pub fn handle_timeout(&mut self, now: Millis, fx: &mut Effects) {
        if let Some(p) = self.output.as_mut() {
            p.handle_timeout(now, fx);
        }
        if self.app == App::Stopped {
            return;
        }
        self.expire_requests(now, fx);
        self.run(now, fx);
    }

    pub fn handle_message(&mut self, now: Millis, from: NodeId, msg: Message, fx: &mut Effects) {
        // The output producer's own requests (its correlation ids start at 2^40).
        if let (Some(p), Some(c)) = (self.output.as_mut(), msg.correlation()) {
            if c >= 1 << 40 && !matches!(msg, Message::ProduceResponse { .. }) {
                p.handle_message(now, from, msg, fx);
                if self.app != App::Stopped {
                    self.run(now, fx);
                }
                return;
            }
        }
        if let Some(p) = self.output.as_mut() {
            if matches!(
                msg,
                Message::ProduceResponse { .. }
                    | Message::MetadataResponse { .. }
                    | Message::Disconnected
            ) {
                p.handle_message(now, from, msg.clone(), fx);
            }
        }
        if self.app == App::Stopped {
            return;
        }
        match msg {
            Message::MetadataResponse {
                correlation,
                partitions,
                ..
            } => self.on_metadata(
                now,
                correlation,
                partitions.iter().map(PartitionState::route).collect(),
                fx,
            ),
            Message::FetchResponse {
                correlation,
                partitions,
            } => self.on_fetch_response(now, from, correlation, partitions, fx),
            Message::ListOffsetsResponse {
                correlation,
                partitions,
            } => self.on_list_offsets(now, correlation, partitions, fx),
            Message::OffsetsForLeaderEpochResponse {
                correlation,
                partitions,
            } => self.on_epoch_end(now, correlation, partitions, fx),
            Message::OffsetFetchResponse {
                correlation,
                error,
                offsets,
            } => self.on_offset_fetch(now, correlation, error, offsets, fx),
            Message::OffsetCommitResponse { correlation, error } => {
                self.on_commit_response(now, correlation, error, fx)
            }
            Message::FindCoordinatorResponse {
                correlation,
                error,
                coordinator,
            } => self.on_find_coordinator(now, correlation, error, coordinator),
            Message::JoinGroupResponse(r) => self.on_join_response(now, r, fx),
            Message::SyncGroupResponse {
                correlation,
                error,
                assignment,
            } => self.on_sync_response(now, correlation, error, assignment, fx),
            Message::HeartbeatResponse { correlation, error } => {
                self.on_heartbeat_response(now, correlation, error, fx)
            }
            Message::LeaveGroupResponse { .. } => {}
            Message::Disconnected => self.on_disconnected(now, from, fx),
            _ => {}
        }
        self.run(now, fx);
    }

    /// Advances the application and sends what is due, until nothing changes.
    fn run(&mut self, now: Millis, fx: &mut Effects) {
        if self.app == App::NotStarted {
            if now < self.spec.start {
                return;
            }
            self.app = App::Polling;
            self.last_poll = now;
            self.next_auto_commit = now + self.spec.config.auto_commit_interval_ms;
        }
        for _ in 0..64 {
            let before = self.app.clone();
            self.step_app(now, fx);
            if self.app == before {
                break;
            }
        }
        if self.app == App::Stopped {
            return;
        }
        self.heartbeat_thread(now, fx);
        self.send_requests(now, fx);
    }

    fn step_app(&mut self, now: Millis, fx: &mut Effects) {
        match std::mem::replace(&mut self.app, App::Stopped) {
            App::NotStarted => self.app = App::NotStarted,
            App::Stopped => {}
            App::Polling => {
                self.last_poll = now;
                if self.spec.stop.is_some_and(|s| now >= s) {
                    self.close(now, fx);
                    return;
                }
                self.app = App::Polling;
                self.poll(now, fx);
            }
            App::CommittingBefore(batch) => {
                self.app = match &self.sync_commit {
                    Some(_) => App::CommittingBefore(batch),
                    None if self.last_commit_failed => {
                        // CommitFailedException: the application drops the batch and polls
                        // again (its partitions have moved; the new owner reads them).
                        App::Polling
                    }
                    None => App::Processing {
                        batch,
                        done: 0,
                        started: now,
                    },
                };
                self.last_commit_failed = false;
            }
            App::Processing {
                batch,
                mut done,
                started,
            } => {
                while done < batch.len() && self.finish_time(started, done) <= now {
                    let (tp, r) = &batch[done];
                    fx.event(Event::Processed {
                        consumer: self.node,
                        tp: tp.clone(),
                        offset: r.offset,
                        value: r.data.value.clone(),
                        produced_at: r.data.timestamp,
                    });
                    if let Some(s) = self.stream.as_mut() {
                        if let Some((key, value)) = s.process(r) {
                            if let Some(p) = self.output.as_mut() {
                                p.send_record(now, value, key, fx);
                            }
                        }
                    }
                    done += 1;
                }
                if done < batch.len() {
                    self.app = App::Processing {
                        batch,
                        done,
                        started,
                    };
                    return;
                }
                if self.exactly_once() {
                    self.app = App::CommittingTransaction { asked: false };
                    return;
                }
                self.app = match self.spec.processing.commit {
                    CommitPoint::After => {
                        self.commit_sync(now, fx);
                        App::CommittingAfter
                    }
                    CommitPoint::AfterAsync => {
                        self.commit_async(now, fx);
                        App::Polling
                    }
                    CommitPoint::Before | CommitPoint::None => App::Polling,
                };
            }
            App::CommittingTransaction { asked } => {
                self.app = self.step_transaction(now, asked, fx);
            }
            App::CommittingAfter => {
                self.app = if self.sync_commit.is_some() {
                    App::CommittingAfter
                } else {
                    self.last_commit_failed = false;
                    App::Polling
                };
            }
        }
    }

    /// `poll()`: rebalance if needed, auto-commit if due, and return buffered records.
    fn poll(&mut self, now: Millis, fx: &mut Effects) {
        if self.spec.group.is_some() {
            if self.spec.config.enable_auto_commit && now >= self.next_auto_commit {
                self.next_auto_commit = now + self.spec.config.auto_commit_interval_ms;
                self.commit_async(now, fx);
            }
            if !self.ensure_active_group(now, fx) {
                return;
            }
        } else {
            self.assign_all(now, fx);
        }
        let batch = self.take_records(now, fx);
        if batch.is_empty() {
            return;
        }
        self.app = match self.spec.processing.commit {
            CommitPoint::Before => {
                self.commit_sync(now, fx);
                App::CommittingBefore(batch)
            }
            _ => App::Processing {
                batch,
                done: 0,
                started: now,
            },
        };
    }

    /// Up to `max.poll.records` buffered records, taking partitions in turn.
    fn take_records(&mut self, _now: Millis, fx: &mut Effects) -> Vec<(TopicPartition, Record)> {
        let max = self.spec.config.max_poll_records as usize;
        let mut out = Vec::new();
        let tps: Vec<TopicPartition> = self.partitions.keys().cloned().collect();
        if tps.is_empty() {
            return out;
        }
        let n = tps.len();
        for k in 0..n {
            if out.len() >= max {
                break;
            }
            let tp = &tps[(self.poll_cursor + k) % n];
            let p = self.partitions.get_mut(tp).expect("listed");
            if p.pending != Pending::None || p.buffer.is_empty() {
                continue;
            }
            // One Polled event per run of consecutive offsets returned.
            let mut runs: Vec<(u64, Vec<Arc<str>>)> = Vec::new();
            while out.len() < max {
                let Some((r, skip)) = p.buffer.pop_front() else {
                    break;
                };
                p.position = Some(r.offset + 1);
                p.last_epoch = Some(r.leader_epoch);
                if skip {
                    continue;
                }
                match runs.last_mut() {
                    Some((first, vs)) if *first + vs.len() as u64 == r.offset => {
                        vs.push(r.data.value.clone())
                    }
                    _ => runs.push((r.offset, vec![r.data.value.clone()])),
                }
                out.push((tp.clone(), r));
            }
            for (offset, values) in runs {
                fx.event(Event::Polled {
                    consumer: self.node,
                    tp: tp.clone(),
                    offset,
                    values,
                });
            }
        }
        self.poll_cursor = (self.poll_cursor + 1) % n;
        out
    }

    /// The positions of every owned partition, as a commit carries them.
    fn consumed_offsets(&self) -> Vec<OffsetAndEpoch> {
        self.partitions
            .iter()
            .filter_map(|(tp, p)| {
                p.position.map(|offset| OffsetAndEpoch {
                    tp: tp.clone(),
                    offset,
                    leader_epoch: p.last_epoch,
                })
            })
            .collect()
    }

    /// `commitAsync()`: fire and forget; a failure is reported, not retried. Positions that
    /// have not moved since the last successful commit are not sent again.
    fn commit_async(&mut self, now: Millis, fx: &mut Effects) {
        let offsets: Vec<OffsetAndEpoch> = self
            .consumed_offsets()
            .into_iter()
            .filter(|o| self.last_committed.get(&o.tp) != Some(&o.offset))
            .collect();
        if offsets.is_empty() {
            return;
        }
        if let Err(reason) = self.check_can_commit() {
            self.commit_failed(&offsets, reason, fx);
            return;
        }
        self.send_commit(now, offsets, false, fx);
    }

    /// `commitSync()`: the application waits; retriable errors are retried.
    fn commit_sync(&mut self, now: Millis, fx: &mut Effects) {
        let offsets = self.consumed_offsets();
        if offsets.is_empty() {
            return;
        }
        if let Err(reason) = self.check_can_commit() {
            self.commit_failed(&offsets, reason, fx);
            self.last_commit_failed = true;
            return;
        }
        self.sync_commit = Some(SyncCommit {
            offsets,
            in_flight: None,
            retry_at: now,
        });
        self.send_requests(now, fx);
    }

    /// Kafka fails a commit on the client when the member is not in an active generation.
    fn check_can_commit(&self) -> Result<(), String> {
        if self.membership.generation().is_none() {
            return Err(
                "CommitFailedException: the consumer is not part of an active group (it left after max.poll.interval.ms or was removed); its partitions may have moved"
                    .into(),
            );
        }
        Ok(())
    }

    fn commit_failed(&mut self, offsets: &[OffsetAndEpoch], reason: String, fx: &mut Effects) {
        let Some(group) = self.group() else { return };
        fx.event(Event::CommitFailed {
            consumer: self.node,
            group,
            offsets: offsets.iter().map(|o| (o.tp.clone(), o.offset)).collect(),
            reason,
        });
    }

    /// Sends an OffsetCommit to the coordinator; `None` if it is not known yet.
    fn send_commit(
        &mut self,
        now: Millis,
        offsets: Vec<OffsetAndEpoch>,
        sync: bool,
        fx: &mut Effects,
    ) -> Option<u64> {
        let (Some(group), Some(coordinator)) = (self.group(), self.membership.coordinator()) else {
            return None;
        };
        let c = self.correlation();
        fx.send(
            NodeId::Broker(coordinator),
            Message::OffsetCommit {
                correlation: c,
                group,
                generation: self.membership.generation(),
                member_id: self.membership.member_id(),
                offsets: offsets.clone(),
            },
        );
        self.commits.insert(c, (offsets, sync));
        self.requests.insert(
            c,
            fetching::Request {
                deadline: now + self.spec.config.request_timeout_ms,
                broker: coordinator,
                kind: fetching::RequestKind::Commit,
            },
        );
        Some(c)
    }

    fn on_commit_response(
        &mut self,
        now: Millis,
        correlation: u64,
        error: Option<ErrorCode>,
        fx: &mut Effects,
    ) {
        self.requests.remove(&correlation);
        let Some((offsets, sync)) = self.commits.remove(&correlation) else {
            return;
        };
        self.commit_result(now, correlation, offsets, sync, error, fx);
    }

    /// A commit got no answer (timeout, or the connection broke).
    fn commit_lost(&mut self, now: Millis, correlation: u64, error: ErrorCode, fx: &mut Effects) {
        if let Some((offsets, sync)) = self.commits.remove(&correlation) {
            self.commit_result(now, correlation, offsets, sync, Some(error), fx);
        }
    }

    fn commit_result(
        &mut self,
        now: Millis,
        correlation: u64,
        offsets: Vec<OffsetAndEpoch>,
        sync: bool,
        error: Option<ErrorCode>,
        fx: &mut Effects,
    ) {
        let is_current_sync = sync
            && self
                .sync_commit
                .as_ref()
                .is_some_and(|s| s.in_flight == Some(correlation));
        let Some(group) = self.group() else { return };
        match error {
            None => {
                for o in &offsets {
                    self.last_committed.insert(o.tp.clone(), o.offset);
                }
                fx.event(Event::Committed {
                    consumer: self.node,
                    group,
                    generation: self.membership.generation(),
                    offsets: offsets.iter().map(|o| (o.tp.clone(), o.offset)).collect(),
                });
                if is_current_sync {
                    self.sync_commit = None;
                }
            }
            Some(e) => {
                let retriable = matches!(
                    e,
                    ErrorCode::NotCoordinator
                        | ErrorCode::CoordinatorNotAvailable
                        | ErrorCode::RequestTimedOut
                        | ErrorCode::NetworkException
                );
                if retriable {
                    self.membership.coordinator_lost(now, &self.spec.config);
                }
                if retriable && is_current_sync {
                    let s = self.sync_commit.as_mut().expect("current");
                    s.in_flight = None;
                    s.retry_at = now + self.spec.config.retry_backoff_ms;
                    return;
                }
                let reason = match e {
                    ErrorCode::IllegalGeneration | ErrorCode::UnknownMemberId => format!(
                        "CommitFailedException ({e}): the group has rebalanced and this member's generation is over; its partitions may have moved"
                    ),
                    ErrorCode::RebalanceInProgress => format!(
                        "RebalanceInProgressException ({e}): commit again after the rebalance"
                    ),
                    e => format!("{e}"),
                };
                if matches!(e, ErrorCode::IllegalGeneration | ErrorCode::UnknownMemberId) {
                    self.membership.member_lost(e);
                }
                self.commit_failed(&offsets, reason, fx);
                if is_current_sync {
                    self.sync_commit = None;
                    self.last_commit_failed = true;
                }
            }
        }
    }

    /// `close()`: commit (with auto-commit), leave the group, stop.
    fn close(&mut self, now: Millis, fx: &mut Effects) {
        if self.spec.config.enable_auto_commit && self.membership.generation().is_some() {
            self.commit_async(now, fx);
        }
        self.leave_group(now, "close()", fx);
        self.app = App::Stopped;
    }

    /// The application got an exception it does not handle: it stops, and its `finally`
    /// closes the consumer (leaving the group, without committing).
    fn fail(&mut self, now: Millis, error: String, fx: &mut Effects) {
        fx.event(Event::ConsumerFailed {
            consumer: self.node,
            error,
        });
        self.leave_group(now, "the application stopped after an exception", fx);
        self.app = App::Stopped;
    }
}

/// Topic-partitions as a set, for assignment arithmetic.
fn set(v: &[TopicPartition]) -> BTreeSet<TopicPartition> {
    v.iter().cloned().collect()
}
