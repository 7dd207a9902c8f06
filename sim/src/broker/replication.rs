//! Replication on the leader: serving fetches (follower progress, HW, ISR changes), and the
//! replication state both sides keep. The follower's side is in [`super::follower`].

use std::collections::BTreeMap;

use crate::broker::{Broker, Replica, Role, TruncationMode};
use crate::config::IsolationLevel;
use crate::effects::Effects;
use crate::ids::{BrokerId, Millis, NodeId, TopicPartition, OFFSETS_TOPIC, TXN_STATE_TOPIC};
use crate::log::Record;
use crate::protocol::{
    ErrorCode, FetchPartition, FetchRequest, FetchedPartition, Message, OffsetSpec, PartitionState,
    ReplicaState,
};
use crate::trace::{Event, TruncateReason};

/// Per-partition cap on one fetch response (Kafka's `replica.fetch.max.bytes`, default 1 MiB).
const FETCH_MAX_BYTES: u64 = 1 << 20;

/// How soon `AlterPartitionManager` sends a proposal again after its connection to the
/// controller broke (it retries top-level failures after 50 ms).
const ALTER_PARTITION_RETRY_MS: Millis = 50;

/// How long a proposal may go unanswered before it is sent again (the controller channel's
/// request timeout, `controller.socket.timeout.ms`).
const ALTER_PARTITION_TIMEOUT_MS: Millis = 30_000;

/// A proposed ISR change awaiting the controller (Kafka's `PendingExpandIsr` /
/// `PendingShrinkIsr`): kept until the controller answers or newer partition state arrives.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct PendingIsr {
    /// The proposed ISR.
    pub isr: Vec<BrokerId>,
    /// Identifies this proposal: an answer to another one is stale.
    pub request: u64,
    /// The request as sent, to send again unchanged after a failure.
    leader_epoch: u32,
    partition_epoch: u32,
    with_epochs: Vec<(BrokerId, Option<u64>)>,
    /// When to send it again (no answer yet).
    pub resend_at: Option<Millis>,
}

/// What the leader knows about one follower (Kafka's `Replica` state).
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct FollowerProgress {
    pub log_end_offset: u64,
    pub last_caught_up_ms: Millis,
    pub last_fetch_ms: Millis,
    pub last_fetch_leader_leo: u64,
    /// The broker epoch its last fetch carried (KIP-903).
    pub broker_epoch: Option<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum FollowerState {
    Idle,
    /// Leader-epoch truncation: waiting to learn where our log and the leader's diverge.
    Truncating {
        leader: BrokerId,
        epoch: u32,
        in_flight: Option<(u64, Millis)>,
        retry_at: Option<Millis>,
    },
    Fetching {
        leader: BrokerId,
        backoff_until: Option<Millis>,
    },
}

impl FollowerState {
    pub fn deadline(&self) -> Option<Millis> {
        match *self {
            FollowerState::Truncating {
                in_flight: Some((_, t)),
                ..
            } => Some(t),
            FollowerState::Truncating {
                retry_at: Some(t), ..
            } => Some(t),
            FollowerState::Fetching {
                backoff_until: Some(t),
                ..
            } => Some(t),
            _ => None,
        }
    }
}

/// One outstanding fetch to a leader: Kafka's fetcher thread sends one request at a time.
#[derive(Clone, Debug, Default)]
pub(super) struct Fetcher {
    pub(super) in_flight: Option<(u64, Millis)>,
    pub(super) backoff_until: Option<Millis>,
    /// The fetch offset of each partition in the request in flight: its answer applies only
    /// while the partition still fetches from there (`processFetchRequest`'s check).
    pub(super) fetch_offsets: BTreeMap<TopicPartition, u64>,
}

impl Fetcher {
    pub fn deadline(&self) -> Millis {
        match (self.in_flight, self.backoff_until) {
            (Some((_, t)), _) => t,
            (None, Some(t)) => t,
            (None, None) => Millis::MAX,
        }
    }
}

/// What can make a parked fetch worth answering.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Wake {
    LogGrew,
    HighWatermark,
    RoleChanged,
}

/// A fetch held until data arrives or `max_wait_ms` passes (Kafka's `DelayedFetch`).
#[derive(Clone, Debug)]
pub(super) struct ParkedFetch {
    from: NodeId,
    replica: Option<ReplicaState>,
    isolation: FetchIsolation,
    correlation: u64,
    min_bytes: u64,
    partitions: Vec<FetchPartition>,
    pub deadline: Millis,
}

/// How far a fetch may read (Kafka's `FetchIsolation`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum FetchIsolation {
    /// A follower: to the log end.
    LogEnd,
    /// A `read_uncommitted` consumer: to the high watermark.
    HighWatermark,
    /// A `read_committed` consumer: to the last stable offset.
    TxnCommitted,
}

impl FetchIsolation {
    fn of(replica: bool, level: IsolationLevel) -> Self {
        match (replica, level) {
            (true, _) => FetchIsolation::LogEnd,
            (false, IsolationLevel::ReadUncommitted) => FetchIsolation::HighWatermark,
            (false, IsolationLevel::ReadCommitted) => FetchIsolation::TxnCommitted,
        }
    }
}

impl Broker {
    pub(super) fn become_leader(&mut self, now: Millis, tp: &TopicPartition, fx: &mut Effects) {
        let id = self.id;
        let r = self.replicas.get_mut(tp).expect("replica");
        let st = r.state.clone().expect("state");
        r.role = Role::Leader;
        r.follower = FollowerState::Idle;
        r.pending_isr = None;
        let leo = r.log.end_offset();
        r.log.assign_epoch(st.leader_epoch, leo);
        r.followers.clear();
        for &b in st.replicas.iter().filter(|&&b| b != id) {
            let caught_up = if st.isr.contains(&b) { now } else { 0 };
            r.followers.insert(
                b,
                FollowerProgress {
                    last_caught_up_ms: caught_up,
                    ..Default::default()
                },
            );
        }
        fx.event(Event::BecameLeader {
            broker: id,
            tp: tp.clone(),
            leader_epoch: st.leader_epoch,
            log_end_offset: leo,
            high_watermark: r.high_watermark,
        });
        self.wake_parked(tp, Wake::RoleChanged, fx);
        self.maybe_advance_hw(now, tp, fx);
        if &*tp.topic == OFFSETS_TOPIC {
            self.coordinator_load(now, tp, fx);
        }
        if &*tp.topic == TXN_STATE_TOPIC {
            self.txn_load(now, tp, fx);
        }
    }

    pub(super) fn become_follower(
        &mut self,
        now: Millis,
        tp: &TopicPartition,
        leader: BrokerId,
        fx: &mut Effects,
    ) {
        let id = self.id;
        let mode = self.truncation;
        let r = self.replicas.get_mut(tp).expect("replica");
        let was_leader = r.role == Role::Leader;
        r.role = Role::Follower(leader);
        r.followers.clear();
        r.pending_isr = None;
        fx.event(Event::BecameFollower {
            broker: id,
            tp: tp.clone(),
            leader,
            leader_epoch: r.leader_epoch(),
        });
        match mode {
            TruncationMode::HighWatermark => {
                let hw = r.high_watermark;
                truncate(id, r, hw, TruncateReason::HighWatermark, fx);
                r.follower = FollowerState::Fetching {
                    leader,
                    backoff_until: None,
                };
            }
            TruncationMode::DivergingEpoch => {
                // `ReplicaManager.initialFetchOffset` and `AbstractFetcherThread.
                // partitionFetchState`: with an epoch in its log the follower fetches from its
                // log end at once, the epoch in the fetch (the leader says if it diverges);
                // without one, it truncates to its high watermark first.
                if r.log.latest_epoch().is_none() {
                    let hw = r.high_watermark;
                    truncate(id, r, hw, TruncateReason::HighWatermark, fx);
                }
                r.follower = FollowerState::Fetching {
                    leader,
                    backoff_until: None,
                };
            }
            TruncationMode::LeaderEpoch => {
                r.follower = match r.log.latest_epoch() {
                    Some(epoch) => FollowerState::Truncating {
                        leader,
                        epoch,
                        in_flight: None,
                        retry_at: None,
                    },
                    None => FollowerState::Fetching {
                        leader,
                        backoff_until: None,
                    },
                };
            }
        }
        if was_leader {
            self.lost_leadership(now, tp, fx);
        }
    }

    pub(super) fn lost_leadership(&mut self, now: Millis, tp: &TopicPartition, fx: &mut Effects) {
        // The groups go first, so that failing their pending writes answers the clients
        // (NOT_COORDINATOR) without starting rebalances on a coordinator that is leaving.
        if &*tp.topic == OFFSETS_TOPIC {
            self.coordinator_unload(tp, fx);
        }
        if &*tp.topic == TXN_STATE_TOPIC {
            self.txn_unload(tp);
        }
        self.fail_pending_produce(now, tp, ErrorCode::NotLeaderOrFollower, fx);
        self.wake_parked(tp, Wake::RoleChanged, fx);
    }

    /// Serves a fetch from a follower (`replica` set) or a consumer.
    pub(super) fn handle_fetch(
        &mut self,
        now: Millis,
        from: NodeId,
        req: FetchRequest,
        fx: &mut Effects,
    ) {
        let FetchRequest {
            replica,
            correlation,
            max_wait_ms,
            min_bytes,
            partitions,
            isolation,
        } = req;
        let isolation = FetchIsolation::of(replica.is_some(), isolation);
        if let Some(f) = replica {
            if self.is_stale_fetch(f) {
                // `Replica.updateFetchStateOrThrow`: a fetch from an earlier incarnation of
                // the follower (its broker epoch is older than the registration we know).
                let partitions = partitions
                    .iter()
                    .map(|p| FetchedPartition {
                        tp: p.tp.clone(),
                        error: Some(ErrorCode::NotLeaderOrFollower),
                        high_watermark: 0,
                        log_end_offset: 0,
                        log_start_offset: 0,
                        records: Vec::new(),
                        last_stable_offset: 0,
                        aborted: Vec::new(),
                        diverging_epoch: None,
                    })
                    .collect();
                fx.send(
                    from,
                    Message::FetchResponse {
                        correlation,
                        partitions,
                    },
                );
                return;
            }
            for p in &partitions {
                self.update_follower(now, f, p, fx);
            }
        }
        let resp: Vec<FetchedPartition> =
            partitions.iter().map(|p| self.read(p, isolation)).collect();
        let has_data = resp
            .iter()
            .any(|p| p.error.is_some() || p.diverging_epoch.is_some())
            || readable_bytes(&resp) >= min_bytes.max(1);
        if has_data || max_wait_ms == 0 {
            fx.send(
                from,
                Message::FetchResponse {
                    correlation,
                    partitions: resp,
                },
            );
        } else {
            self.parked.push(ParkedFetch {
                from,
                replica,
                isolation,
                correlation,
                min_bytes,
                partitions,
                deadline: now + max_wait_ms,
            });
        }
    }

    fn is_stale_fetch(&self, f: ReplicaState) -> bool {
        match (f.broker_epoch, self.brokers.get(&f.id)) {
            (Some(e), Some(info)) => self.features.kraft() && info.epoch > e,
            _ => false,
        }
    }

    /// `Partition.isReplicaIsrEligible`: in KRaft a follower may join the ISR only if it is
    /// unfenced, not shutting down, and its fetches carry its current broker epoch (KIP-903).
    fn is_isr_eligible(&self, r: &Replica, f: BrokerId) -> bool {
        if !self.features.kraft() {
            return true;
        }
        let stored = r.followers.get(&f).and_then(|p| p.broker_epoch);
        match self.brokers.get(&f) {
            Some(info) => {
                !info.fenced && !info.in_controlled_shutdown && stored == Some(info.epoch)
            }
            None => false,
        }
    }

    pub(super) fn check_leader(&self, p: &FetchPartition) -> Result<&Replica, ErrorCode> {
        let r = self
            .replicas
            .get(&p.tp)
            .ok_or(ErrorCode::NotLeaderOrFollower)?;
        if r.role != Role::Leader {
            return Err(ErrorCode::NotLeaderOrFollower);
        }
        match p.current_leader_epoch {
            Some(e) if e < r.leader_epoch() => return Err(ErrorCode::FencedLeaderEpoch),
            Some(e) if e > r.leader_epoch() => return Err(ErrorCode::UnknownLeaderEpoch),
            _ => {}
        }
        Ok(r)
    }

    /// [`Broker::check_leader`], and the fetch offset within `[log start, log end]`: below
    /// the log start (retention deleted it) or past the end is OFFSET_OUT_OF_RANGE.
    pub(super) fn check_fetch(&self, p: &FetchPartition) -> Result<&Replica, ErrorCode> {
        let r = self.check_leader(p)?;
        if p.fetch_offset > r.log.end_offset() || p.fetch_offset < r.log.log_start_offset() {
            return Err(ErrorCode::OffsetOutOfRange);
        }
        Ok(r)
    }

    /// KIP-595's check of a follower's `last_fetched_epoch`, which `Partition.readRecords`
    /// makes before reading: the end of that epoch in this leader's log
    /// (`lastOffsetForLeaderEpoch`; unknown is OFFSET_OUT_OF_RANGE, as is a fetch offset below
    /// the log start); if the leader's largest epoch `<=` it is smaller, or that epoch ends
    /// before the fetch offset, the fetch diverges: `Some((epoch, end offset))`, answered
    /// without records. `Ok(None)`: no epoch in the fetch, or its log is a prefix of ours.
    fn check_last_fetched_epoch(
        &self,
        p: &FetchPartition,
    ) -> Result<Option<(u32, u64)>, ErrorCode> {
        let Some(fetch_epoch) = p.last_fetched_epoch else {
            return Ok(None);
        };
        let r = self.check_leader(p)?;
        let Some((epoch, end)) = r.log.end_offset_for_epoch(fetch_epoch) else {
            return Err(ErrorCode::OffsetOutOfRange);
        };
        if p.fetch_offset < r.log.log_start_offset() {
            return Err(ErrorCode::OffsetOutOfRange);
        }
        Ok((epoch < fetch_epoch || end < p.fetch_offset).then_some((epoch, end)))
    }

    /// ListOffsets, as a consumer's `auto.offset.reset` uses it: the leader (in the epoch the
    /// client believes in) answers with the log start offset or the HW,
    /// the end of what consumers may read. While a new leader's HW is still below the start of
    /// its epoch, "latest" is OFFSET_NOT_AVAILABLE (KIP-207), so the end a client sees never
    /// goes backwards across an election.
    pub(super) fn handle_list_offsets(
        &self,
        from: NodeId,
        correlation: u64,
        partitions: Vec<(TopicPartition, Option<u32>, OffsetSpec)>,
        fx: &mut Effects,
    ) {
        let partitions = partitions
            .into_iter()
            .map(|(tp, epoch, spec)| {
                let p = FetchPartition {
                    tp: tp.clone(),
                    fetch_offset: 0,
                    current_leader_epoch: epoch,
                    last_fetched_epoch: None,
                };
                let r = self.check_leader(&p).and_then(|r| match spec {
                    OffsetSpec::Earliest => Ok(r.log.log_start_offset()),
                    OffsetSpec::Latest => {
                        let start = r
                            .log
                            .epochs()
                            .last()
                            .filter(|e| e.0 == r.leader_epoch())
                            .map_or(0, |e| e.1);
                        if start > r.high_watermark {
                            Err(ErrorCode::OffsetNotAvailable)
                        } else {
                            Ok(r.high_watermark)
                        }
                    }
                });
                (tp, r)
            })
            .collect();
        fx.send(
            from,
            Message::ListOffsetsResponse {
                correlation,
                partitions,
            },
        );
    }

    fn read(&self, p: &FetchPartition, isolation: FetchIsolation) -> FetchedPartition {
        let checked = match self.check_last_fetched_epoch(p) {
            Ok(Some(diverging)) => {
                // No records, and the leader's offsets as `readRecords` took them.
                let r = &self.replicas[&p.tp];
                return FetchedPartition {
                    tp: p.tp.clone(),
                    error: None,
                    high_watermark: r.high_watermark,
                    log_end_offset: r.log.end_offset(),
                    log_start_offset: r.log.log_start_offset(),
                    records: Vec::new(),
                    last_stable_offset: r.producers.last_stable_offset(r.high_watermark),
                    aborted: Vec::new(),
                    diverging_epoch: Some(diverging),
                };
            }
            Ok(None) => self.check_fetch(p),
            Err(e) => Err(e),
        };
        match checked {
            Err(e) => FetchedPartition {
                tp: p.tp.clone(),
                error: Some(e),
                high_watermark: 0,
                // With OFFSET_OUT_OF_RANGE the follower needs the leader's log end to truncate to,
                // or its log start to start from (Kafka's follower asks for them with
                // ListOffsets requests; here they come along).
                log_end_offset: self
                    .replicas
                    .get(&p.tp)
                    .map(|r| r.log.end_offset())
                    .unwrap_or(0),
                log_start_offset: self
                    .replicas
                    .get(&p.tp)
                    .map(|r| r.log.log_start_offset())
                    .unwrap_or(0),
                records: Vec::new(),
                last_stable_offset: 0,
                aborted: Vec::new(),
                diverging_epoch: None,
            },
            Ok(r) => {
                // Consumers see only committed records: those below the high watermark, and
                // with read_committed only those below the last stable offset.
                let lso = r.producers.last_stable_offset(r.high_watermark);
                let upto = match isolation {
                    FetchIsolation::LogEnd => r.log.end_offset(),
                    FetchIsolation::HighWatermark => r.high_watermark,
                    FetchIsolation::TxnCommitted => lso,
                };
                let mut records: Vec<Record> = Vec::new();
                let mut bytes = 0u64;
                let mut o = p.fetch_offset;
                for rec in r.log.records_from(p.fetch_offset) {
                    if rec.offset >= upto
                        || (!records.is_empty() && bytes + rec.data.size as u64 > FETCH_MAX_BYTES)
                    {
                        break;
                    }
                    bytes += rec.data.size as u64;
                    records.push(rec.clone());
                    o = rec.offset + 1;
                }
                let aborted = match isolation {
                    FetchIsolation::TxnCommitted if !records.is_empty() => {
                        r.producers.aborted_in(p.fetch_offset, o)
                    }
                    _ => Vec::new(),
                };
                FetchedPartition {
                    tp: p.tp.clone(),
                    error: None,
                    high_watermark: r.high_watermark,
                    log_end_offset: r.log.end_offset(),
                    log_start_offset: r.log.log_start_offset(),
                    records,
                    last_stable_offset: lso,
                    aborted,
                    diverging_epoch: None,
                }
            }
        }
    }

    /// Kafka's `updateFollowerFetchState`: the fetch offset is the follower's LEO, and the
    /// follower counts as caught up if it asked for everything the leader had.
    fn update_follower(
        &mut self,
        now: Millis,
        f: ReplicaState,
        p: &FetchPartition,
        fx: &mut Effects,
    ) {
        // `Partition.fetchRecords`: a diverging fetch does not move the follower's state.
        if self.check_last_fetched_epoch(p) != Ok(None) || self.check_fetch(p).is_err() {
            return;
        }
        let r = self.replicas.get_mut(&p.tp).expect("checked");
        let leo = r.log.end_offset();
        let Some(fp) = r.followers.get_mut(&f.id) else {
            return;
        };
        if p.fetch_offset >= leo {
            fp.last_caught_up_ms = now;
        } else if p.fetch_offset >= fp.last_fetch_leader_leo {
            fp.last_caught_up_ms = fp.last_fetch_ms;
        }
        fp.last_fetch_leader_leo = leo;
        fp.last_fetch_ms = now;
        fp.log_end_offset = p.fetch_offset;
        fp.broker_epoch = f.broker_epoch;
        self.maybe_expand_isr(now, &p.tp, f.id, fx);
        self.maybe_advance_hw(now, &p.tp, fx);
    }

    /// `Partition.maybeExpandIsr`: no change in flight, not yet in the ISR, ISR-eligible, and
    /// caught up to the HW and to the start of the leader's epoch.
    fn maybe_expand_isr(
        &mut self,
        now: Millis,
        tp: &TopicPartition,
        f: BrokerId,
        fx: &mut Effects,
    ) {
        let r = &self.replicas[tp];
        if r.pending_isr.is_some() || r.isr().contains(&f) || !self.is_isr_eligible(r, f) {
            return;
        }
        let st = r.state.as_ref().expect("leader has state");
        let epoch_start = r.log.epochs().last().map(|e| e.1).unwrap_or(0);
        let fleo = r.followers[&f].log_end_offset;
        if fleo >= r.high_watermark && fleo >= epoch_start {
            let mut isr = st.isr.clone();
            isr.push(f);
            isr.sort_by_key(|b| st.replicas.iter().position(|x| x == b));
            self.request_isr_change(now, tp, isr, fx);
        }
    }

    /// Shrinks the ISR of followers that have not caught up within `replica.lag.time.max.ms`
    /// (`Partition.maybeShrinkIsr`; nothing while a change is in flight).
    pub(super) fn check_isr_expiry(&mut self, now: Millis, fx: &mut Effects) {
        let id = self.id;
        let lag_max = self.config.replica_lag_time_max_ms;
        let mut shrinks = Vec::new();
        for r in self.replicas.values() {
            if r.role != Role::Leader || r.pending_isr.is_some() {
                continue;
            }
            let leo = r.log.end_offset();
            let isr = r.isr().to_vec();
            let out: Vec<BrokerId> = isr
                .iter()
                .copied()
                .filter(|b| *b != id)
                .filter(|b| {
                    r.followers.get(b).is_none_or(|fp| {
                        fp.log_end_offset != leo
                            && now.saturating_sub(fp.last_caught_up_ms) > lag_max
                    })
                })
                .collect();
            if !out.is_empty() {
                let new_isr: Vec<BrokerId> = isr.into_iter().filter(|b| !out.contains(b)).collect();
                shrinks.push((r.tp.clone(), new_isr));
            }
        }
        for (tp, isr) in shrinks {
            self.request_isr_change(now, &tp, isr, fx);
        }
    }

    /// `min.insync.replicas`, capped at the replica count (`Partition.effectiveMinIsr`).
    fn effective_min_isr(r: &Replica) -> usize {
        let replicas = r.state.as_ref().map_or(1, |s| s.replicas.len());
        (r.config.min_insync_replicas as usize).min(replicas)
    }

    /// `Partition.maybeIncrementLeaderHW`: the minimum LEO over the maximal ISR and, in KRaft,
    /// over followers caught up and eligible to join it; never while the committed ISR is
    /// smaller than `min.insync.replicas` (KIP-966's strict min ISR, Kafka 3.7+). Only ever
    /// moves forward.
    pub(super) fn maybe_advance_hw(&mut self, now: Millis, tp: &TopicPartition, fx: &mut Effects) {
        let id = self.id;
        let kraft = self.features.kraft();
        let lag_max = self.config.replica_lag_time_max_ms;
        let Some(r) = self.replicas.get(tp) else {
            return;
        };
        if r.role != Role::Leader {
            return;
        }
        if kraft && r.isr().len() < Self::effective_min_isr(r) {
            return;
        }
        let leo = r.log.end_offset();
        let maximal = r.maximal_isr();
        let mut hw = leo;
        for (&b, fp) in &r.followers {
            let counts = maximal.contains(&b)
                || (kraft
                    && (fp.log_end_offset == leo
                        || now.saturating_sub(fp.last_caught_up_ms) <= lag_max)
                    && self.is_isr_eligible(r, b));
            if counts {
                hw = hw.min(fp.log_end_offset);
            }
        }
        let r = self.replicas.get_mut(tp).expect("checked");
        if hw > r.high_watermark {
            r.high_watermark = hw;
            r.producers.prune(hw);
            fx.event(Event::HighWatermark {
                broker: id,
                tp: tp.clone(),
                high_watermark: hw,
            });
            self.complete_produce(now, tp, fx);
            self.wake_parked(tp, Wake::HighWatermark, fx);
        }
    }

    /// Proposes an ISR change to the controller (`prepareIsrExpand`/`prepareIsrShrink` and
    /// `submitAlterPartition`): each member with the broker epoch its fetches carried.
    fn request_isr_change(
        &mut self,
        now: Millis,
        tp: &TopicPartition,
        isr: Vec<BrokerId>,
        fx: &mut Effects,
    ) {
        let id = self.id;
        let own = self.replica_state().broker_epoch;
        self.next_isr_request += 1;
        let request = self.next_isr_request;
        let r = self.replicas.get_mut(tp).expect("leader replica");
        let st = r.state.as_ref().expect("leader has state");
        let with_epochs = isr
            .iter()
            .map(|&b| {
                let e = if b == id {
                    own
                } else {
                    r.followers.get(&b).and_then(|f| f.broker_epoch)
                };
                (b, e)
            })
            .collect();
        r.pending_isr = Some(PendingIsr {
            isr: isr.clone(),
            request,
            leader_epoch: st.leader_epoch,
            partition_epoch: st.partition_epoch,
            with_epochs,
            resend_at: None,
        });
        fx.event(Event::IsrChangeRequested {
            broker: id,
            tp: tp.clone(),
            isr,
        });
        self.send_isr_change(now, tp, fx);
    }

    fn send_isr_change(&mut self, now: Millis, tp: &TopicPartition, fx: &mut Effects) {
        let broker_epoch = self.replica_state().broker_epoch;
        let r = self.replicas.get_mut(tp).expect("leader replica");
        let Some(p) = r.pending_isr.as_mut() else {
            return;
        };
        p.resend_at = Some(now + ALTER_PARTITION_TIMEOUT_MS);
        fx.send(
            NodeId::Controller,
            Message::AlterPartition {
                tp: tp.clone(),
                request: p.request,
                broker_epoch,
                leader_epoch: p.leader_epoch,
                partition_epoch: p.partition_epoch,
                new_isr: p.with_epochs.clone(),
            },
        );
    }

    /// Sends again the proposals whose answer is overdue or whose connection broke.
    pub(super) fn resend_isr_changes(&mut self, now: Millis, fx: &mut Effects) {
        let due: Vec<TopicPartition> = self
            .replicas
            .values()
            .filter(|r| {
                r.pending_isr
                    .as_ref()
                    .is_some_and(|p| p.resend_at.is_some_and(|t| t <= now))
            })
            .map(|r| r.tp.clone())
            .collect();
        for tp in due {
            self.send_isr_change(now, &tp, fx);
        }
    }

    /// The controller's answer to a proposal (`Partition.submitAlterPartition`'s completion,
    /// `handleAlterPartitionUpdate` and `handleAlterPartitionError`).
    pub(super) fn handle_alter_partition_response(
        &mut self,
        now: Millis,
        tp: TopicPartition,
        request: u64,
        result: Result<PartitionState, ErrorCode>,
        fx: &mut Effects,
    ) {
        let Some(r) = self.replicas.get_mut(&tp) else {
            return;
        };
        if r.pending_isr.as_ref().map(|p| p.request) != Some(request) {
            // An answer to a proposal that newer state has already replaced.
            return;
        }
        match result {
            Ok(st) => {
                if st.leader_epoch != r.leader_epoch()
                    || r.state
                        .as_ref()
                        .is_some_and(|s| st.partition_epoch < s.partition_epoch)
                {
                    // Stale: stay pending until the metadata says more.
                    if let Some(p) = r.pending_isr.as_mut() {
                        p.resend_at = None;
                    }
                    return;
                }
                r.state = Some(st);
                r.pending_isr = None;
                self.maybe_advance_hw(now, &tp, fx);
            }
            Err(ErrorCode::IneligibleReplica) => {
                // The controller says the request was not applied: back to the committed ISR.
                r.pending_isr = None;
            }
            Err(
                ErrorCode::UnknownTopicOrPartition
                | ErrorCode::FencedLeaderEpoch
                | ErrorCode::InvalidUpdateVersion
                | ErrorCode::InvalidRequest,
            ) => {
                // The controller knows newer state: stay pending until it arrives.
                if let Some(p) = r.pending_isr.as_mut() {
                    p.resend_at = None;
                }
            }
            Err(_) => {
                if let Some(p) = r.pending_isr.as_mut() {
                    p.resend_at = Some(now + ALTER_PARTITION_RETRY_MS);
                }
            }
        }
    }

    /// Answers parked fetches touching `tp` that `why` gives something new: followers want
    /// new records, consumers records below a higher HW, and everyone hears of a new role.
    pub(super) fn wake_parked(&mut self, tp: &TopicPartition, why: Wake, fx: &mut Effects) {
        let parked = std::mem::take(&mut self.parked);
        for p in parked {
            let touches = p.partitions.iter().any(|fp| &fp.tp == tp);
            let wakes = touches
                && match why {
                    Wake::LogGrew => p.replica.is_some(),
                    Wake::HighWatermark => p.replica.is_none(),
                    Wake::RoleChanged => true,
                };
            // A consumer's fetch waits for fetch.min.bytes below the HW.
            let enough = || {
                p.min_bytes <= 1 || {
                    let resp: Vec<FetchedPartition> = p
                        .partitions
                        .iter()
                        .map(|fp| self.read(fp, p.isolation))
                        .collect();
                    resp.iter()
                        .any(|r| r.error.is_some() || r.diverging_epoch.is_some())
                        || readable_bytes(&resp) >= p.min_bytes
                }
            };
            if wakes && (why == Wake::RoleChanged || enough()) {
                self.answer_parked(p, fx);
            } else {
                self.parked.push(p);
            }
        }
    }

    fn answer_parked(&self, p: ParkedFetch, fx: &mut Effects) {
        let partitions = p
            .partitions
            .iter()
            .map(|fp| self.read(fp, p.isolation))
            .collect();
        fx.send(
            p.from,
            Message::FetchResponse {
                correlation: p.correlation,
                partitions,
            },
        );
    }

    pub(super) fn expire_parked_fetches(&mut self, now: Millis, fx: &mut Effects) {
        let parked = std::mem::take(&mut self.parked);
        for p in parked {
            if p.deadline <= now {
                self.answer_parked(p, fx);
            } else {
                self.parked.push(p);
            }
        }
    }

    /// The peer's process is gone: its requests die with the connection, ours to it fail.
    pub(super) fn peer_disconnected(&mut self, now: Millis, from: NodeId) {
        let backoff = self.config.replica_fetch_backoff_ms;
        self.parked.retain(|p| p.from != from);
        self.pending_produce.retain(|p| !p.is_request_from(from));
        match from {
            NodeId::Broker(l) => {
                if let Some(f) = self.fetchers.get_mut(&l) {
                    if f.in_flight.take().is_some() {
                        f.backoff_until = Some(now + backoff);
                    }
                }
                for r in self.replicas.values_mut() {
                    if let FollowerState::Truncating {
                        leader,
                        in_flight,
                        retry_at,
                        ..
                    } = &mut r.follower
                    {
                        if *leader == l && in_flight.is_some() {
                            *in_flight = None;
                            *retry_at = Some(now + backoff);
                        }
                    }
                }
            }
            NodeId::Controller => {
                // The requests on that connection are lost: `AlterPartitionManager` sends
                // them again (the same proposals, so an answer to either is recognised).
                for r in self.replicas.values_mut() {
                    if let Some(p) = r.pending_isr.as_mut() {
                        p.resend_at = Some(now + ALTER_PARTITION_RETRY_MS);
                    }
                }
                if self.broker_epoch.is_none() {
                    self.next_heartbeat = self.next_heartbeat.min(now + ALTER_PARTITION_RETRY_MS);
                }
            }
            _ => {}
        }
    }
}

/// Truncates a replica's log (and what depends on it), tracing what was removed.
pub(super) fn truncate(
    id: BrokerId,
    r: &mut Replica,
    to: u64,
    reason: TruncateReason,
    fx: &mut Effects,
) {
    let from = r.log.end_offset();
    if to >= from {
        // No record goes, but `UnifiedLog.truncateTo` still drops epochs starting at the end.
        r.log.truncate_to(to);
        return;
    }
    let removed = r
        .log
        .records_from(to)
        .iter()
        .map(|x| x.data.value.clone())
        .collect();
    r.log.truncate_to(to);
    r.high_watermark = r.high_watermark.min(to);
    r.producers = super::ProducerStateTable::rebuild(&r.log);
    r.dirty.retain(|d| d.0 <= to);
    if r.log.unflushed() > 0 && r.dirty.last().is_none_or(|d| d.0 < to) {
        let t = r.dirty.last().map(|d| d.1).unwrap_or(r.last_flush_at);
        r.dirty.push((to, t));
    }
    fx.event(Event::Truncated {
        broker: id,
        tp: r.tp.clone(),
        from,
        to,
        reason,
        removed,
    });
}

/// Bytes of the records a fetch response carries (what `fetch.min.bytes` counts).
fn readable_bytes(resp: &[FetchedPartition]) -> u64 {
    resp.iter()
        .flat_map(|p| p.records.iter())
        .map(|r| r.data.size as u64)
        .sum()
}
