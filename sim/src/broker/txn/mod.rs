//! The transaction coordinator: Kafka's `TransactionCoordinator`, `TransactionStateManager` and
//! `TransactionMarkerChannelManager` (core/src/main/scala/kafka/coordinator/transaction/), on
//! the broker that leads a `transactional.id`'s `__transaction_state` partition.
//!
//! A transaction moves Empty → Ongoing (its first partition is added) → PrepareCommit or
//! PrepareAbort (EndTxn, a timeout, or a newer producer fencing this one) → CompleteCommit or
//! CompleteAbort (every partition has its marker). Every change is a record appended to
//! `__transaction_state` through the leader's append path and applied only once the HW passes
//! it, so the coordinator's state replicates, can be lost with an unreplicated write, and
//! survives a crash exactly as far as replication carried it; a broker that becomes leader of
//! such a partition rebuilds the transactions from the log and finishes any that were prepared.
//!
//! With `transaction.version` 2 (KIP-890 part 2, Kafka 4.x) each commit or abort bumps the
//! producer's epoch, so a late write or a late EndTxn of a finished transaction is fenced; the
//! partition leaders add partitions to a transaction on their first write (see
//! [`partition`]).
//!
//! Simplifications: one marker request per partition (Kafka batches them per broker); no
//! `transactional.id.expiration.ms`; producer ids come from the broker's own block.

pub(super) mod partition;
mod records;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::broker::{Broker, Role};
use crate::effects::Effects;
use crate::ids::{txn_partition, Millis, NodeId, TopicPartition, TXN_STATE_TOPIC};
use crate::protocol::{ErrorCode, Message, TxnMarker, TxnState};
use crate::trace::Event;
use records::StoredTxn;

/// How long a coordinator's own write waits for the HW (Kafka's `request.timeout.ms` for
/// the transaction log append).
const TXN_WRITE_TIMEOUT_MS: Millis = 5_000;
/// How soon markers that failed (no leader, NOT_LEADER_OR_FOLLOWER) are sent again.
const MARKER_RETRY_MS: Millis = 100;
/// A marker request with no answer is sent again after this long.
const MARKER_TIMEOUT_MS: Millis = 5_000;

#[derive(Debug, Default)]
pub(super) struct TxnCoordinator {
    /// The `__transaction_state` partitions this broker leads and has loaded.
    owned: BTreeSet<TopicPartition>,
    txns: BTreeMap<Arc<str>, Txn>,
    /// Marker requests in flight: correlation → (transactional id, partition, deadline).
    markers: BTreeMap<u64, (Arc<str>, TopicPartition, Millis)>,
    next_abort_check: Option<Millis>,
}

#[derive(Debug)]
struct Txn {
    /// The state as the log holds it (below the HW).
    stored: StoredTxn,
    /// A new state is being written (Kafka's `pendingState`): other requests wait.
    writing: bool,
    /// In PrepareCommit/PrepareAbort: partitions whose marker is not yet acknowledged.
    pending_markers: BTreeSet<TopicPartition>,
    marker_retry_at: Option<Millis>,
}

/// What to do once a state write is durable.
#[derive(Clone, Debug)]
pub(super) enum TxnThen {
    InitProducerId {
        client: NodeId,
        correlation: u64,
    },
    /// Answer AddPartitionsToTxn, or AddOffsetsToTxn (`offsets`).
    AddPartitions {
        client: NodeId,
        correlation: u64,
        offsets: bool,
    },
    /// Answer the client's EndTxn (none when the coordinator aborts on its own), then write
    /// the markers.
    EndTxn {
        client: Option<(NodeId, u64)>,
    },
    Nothing,
}

/// A coordinator write waiting for the HW of its `__transaction_state` partition.
#[derive(Clone, Debug)]
pub(super) struct TxnWrite {
    next: StoredTxn,
    then: TxnThen,
    reason: String,
}

/// An AddPartitionsToTxn or AddOffsetsToTxn as the coordinator handles it.
struct AddRequest {
    from: NodeId,
    correlation: u64,
    producer_id: u64,
    producer_epoch: u16,
    partitions: Vec<TopicPartition>,
    verify_only: bool,
    /// AddOffsetsToTxn: answer with its response.
    offsets: bool,
}

fn is_prepare(s: TxnState) -> bool {
    matches!(s, TxnState::PrepareCommit | TxnState::PrepareAbort)
}

impl Broker {
    /// The `__transaction_state` partition of `id`, from the metadata cache.
    fn txn_state_partition(&self, id: &str) -> Option<TopicPartition> {
        let n = self
            .metadata
            .keys()
            .filter(|tp| &*tp.topic == TXN_STATE_TOPIC)
            .count() as u32;
        (n > 0).then(|| TopicPartition::new(TXN_STATE_TOPIC, txn_partition(id, n)))
    }

    /// The broker that coordinates `id`, as the metadata cache says.
    pub(super) fn txn_coordinator_of(&self, id: &str) -> Option<crate::ids::BrokerId> {
        self.txn_state_partition(id)
            .and_then(|tp| self.metadata.get(&tp))
            .and_then(|st| st.leader)
    }

    /// NOT_COORDINATOR unless this broker leads (and has loaded) `id`'s partition.
    /// The transaction `id` names, if this broker coordinates it and `producer_id` is its
    /// producer (NOT_COORDINATOR, INVALID_PRODUCER_ID_MAPPING otherwise), with its
    /// `__transaction_state` partition.
    fn txn_of(&self, id: &str, producer_id: u64) -> Result<(TopicPartition, &Txn), ErrorCode> {
        let tp = self.txn_coordinating(id)?;
        match self.txn.txns.get(id) {
            Some(t) if t.stored.producer_id == producer_id => Ok((tp, t)),
            _ => Err(ErrorCode::InvalidProducerIdMapping),
        }
    }

    fn txn_coordinating(&self, id: &str) -> Result<TopicPartition, ErrorCode> {
        self.txn_state_partition(id)
            .filter(|tp| self.txn.owned.contains(tp))
            .ok_or(ErrorCode::NotCoordinator)
    }

    /// InitProducerId with a `transactional.id` (`handleInitProducerId`).
    pub(super) fn handle_init_transactions(
        &mut self,
        now: Millis,
        from: NodeId,
        correlation: u64,
        id: Arc<str>,
        timeout_ms: Millis,
        fx: &mut Effects,
    ) {
        let reply = |fx: &mut Effects, result| {
            fx.send(
                from,
                Message::InitProducerIdResponse {
                    correlation,
                    result,
                },
            )
        };
        let tp = match self.txn_coordinating(&id) {
            Ok(tp) => tp,
            Err(e) => return reply(fx, Err(e)),
        };
        if timeout_ms > self.config.transaction_max_timeout_ms || timeout_ms == 0 {
            return reply(fx, Err(ErrorCode::InvalidTransactionTimeout));
        }
        let then = TxnThen::InitProducerId {
            client: from,
            correlation,
        };
        let Some(t) = self.txn.txns.get(&id) else {
            let (producer_id, _) = match self.allocate_producer_id() {
                Ok(p) => p,
                Err(e) => return reply(fx, Err(e)),
            };
            let next = StoredTxn {
                transactional_id: id.clone(),
                producer_id,
                producer_epoch: 0,
                state: TxnState::Empty,
                partitions: Vec::new(),
                timeout_ms,
                started_at: now,
            };
            self.txn.txns.insert(
                id.clone(),
                Txn {
                    stored: next.clone(),
                    writing: false,
                    pending_markers: BTreeSet::new(),
                    marker_retry_at: None,
                },
            );
            let reason = "new transactional.id: a producer id is assigned".to_string();
            return self.write_txn(now, &tp, next, then, reason, fx);
        };
        if t.writing || is_prepare(t.stored.state) {
            return reply(fx, Err(ErrorCode::ConcurrentTransactions));
        }
        let mut next = t.stored.clone();
        next.producer_epoch = next.producer_epoch.wrapping_add(1);
        next.timeout_ms = timeout_ms;
        if t.stored.state == TxnState::Ongoing {
            // A new producer with the same id: fence the old one by bumping the epoch and abort
            // its transaction; the new producer retries (CONCURRENT_TRANSACTIONS) until done.
            next.state = TxnState::PrepareAbort;
            let reason =
                "a new producer with this transactional.id fenced the ongoing one".to_string();
            self.write_txn(now, &tp, next, TxnThen::EndTxn { client: None }, reason, fx);
            return reply(fx, Err(ErrorCode::ConcurrentTransactions));
        }
        next.state = TxnState::Empty;
        next.partitions.clear();
        let reason = format!(
            "initTransactions: epoch bumped to {}, fencing older producers",
            next.producer_epoch
        );
        self.write_txn(now, &tp, next, then, reason, fx);
    }

    /// AddOffsetsToTxn: the group's `__consumer_offsets` partition joins the transaction, so
    /// that its marker settles the offsets the transaction commits there.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn handle_add_offsets_to_txn(
        &mut self,
        now: Millis,
        from: NodeId,
        correlation: u64,
        id: Arc<str>,
        producer_id: u64,
        producer_epoch: u16,
        group: Arc<str>,
        fx: &mut Effects,
    ) {
        let Some(tp) = self.offsets_partition(&group) else {
            return fx.send(
                from,
                Message::AddOffsetsToTxnResponse {
                    correlation,
                    error: Some(ErrorCode::CoordinatorNotAvailable),
                },
            );
        };
        let req = AddRequest {
            from,
            correlation,
            producer_id,
            producer_epoch,
            partitions: vec![tp],
            verify_only: false,
            offsets: true,
        };
        self.add_to_txn(now, id, req, fx);
    }

    /// AddPartitionsToTxn, from a client (transaction.version < 2) or from a partition leader
    /// verifying, or implicitly adding, a transactional write (KIP-890).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn handle_add_partitions_to_txn(
        &mut self,
        now: Millis,
        from: NodeId,
        correlation: u64,
        id: Arc<str>,
        producer_id: u64,
        producer_epoch: u16,
        partitions: Vec<TopicPartition>,
        verify_only: bool,
        fx: &mut Effects,
    ) {
        let req = AddRequest {
            from,
            correlation,
            producer_id,
            producer_epoch,
            partitions,
            verify_only,
            offsets: false,
        };
        self.add_to_txn(now, id, req, fx);
    }

    fn add_to_txn(&mut self, now: Millis, id: Arc<str>, req: AddRequest, fx: &mut Effects) {
        let AddRequest {
            from,
            correlation,
            producer_id,
            producer_epoch,
            partitions,
            verify_only,
            offsets,
        } = req;
        let reply = |fx: &mut Effects, error| {
            let msg = if offsets {
                Message::AddOffsetsToTxnResponse { correlation, error }
            } else {
                Message::AddPartitionsToTxnResponse { correlation, error }
            };
            fx.send(from, msg)
        };
        let (tp, t) = match self.txn_of(&id, producer_id) {
            Ok(found) => found,
            Err(e) => return reply(fx, Some(e)),
        };
        let s = &t.stored;
        if producer_epoch < s.producer_epoch {
            return reply(fx, Some(ErrorCode::ProducerFenced));
        }
        if producer_epoch > s.producer_epoch {
            return reply(fx, Some(ErrorCode::InvalidProducerEpoch));
        }
        if t.writing || is_prepare(s.state) {
            return reply(fx, Some(ErrorCode::ConcurrentTransactions));
        }
        let all_in =
            s.state == TxnState::Ongoing && partitions.iter().all(|p| s.partitions.contains(p));
        if verify_only || all_in {
            // KIP-890 part 1: the write may go ahead only into an ongoing transaction that
            // already holds the partition. Kafka's coordinator answers a partition not in it
            // TRANSACTION_ABORTABLE (`TransactionCoordinator.handleVerifyPartitionsInTransaction`);
            // the partition leader tells a client that predates that error INVALID_TXN_STATE.
            return reply(fx, (!all_in).then_some(ErrorCode::TransactionAbortable));
        }
        let mut next = s.clone();
        if s.state != TxnState::Ongoing {
            next.state = TxnState::Ongoing;
            next.partitions.clear();
            next.started_at = now;
        }
        for p in partitions {
            if !next.partitions.contains(&p) {
                next.partitions.push(p);
            }
        }
        let reason = if offsets {
            "AddOffsetsToTxn: the group's offsets partition joins"
        } else if matches!(from, NodeId::Broker(_)) {
            "a partition leader added its partition on the first write (KIP-890)"
        } else {
            "AddPartitionsToTxn"
        }
        .to_string();
        let then = TxnThen::AddPartitions {
            client: from,
            correlation,
            offsets,
        };
        self.write_txn(now, &tp, next, then, reason, fx);
    }

    /// EndTxn: `commitTransaction`/`abortTransaction` (`handleEndTransaction`).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn handle_end_txn(
        &mut self,
        now: Millis,
        from: NodeId,
        correlation: u64,
        id: Arc<str>,
        producer_id: u64,
        producer_epoch: u16,
        commit: bool,
        fx: &mut Effects,
    ) {
        let v2 = self.features.transactions_v2();
        let reply = |fx: &mut Effects, r: Result<u16, ErrorCode>| {
            let (error, epoch) = match r {
                Ok(e) => (None, v2.then_some(e)),
                Err(e) => (Some(e), None),
            };
            fx.send(
                from,
                Message::EndTxnResponse {
                    correlation,
                    error,
                    producer_epoch: epoch,
                },
            )
        };
        let (tp, t) = match self.txn_of(&id, producer_id) {
            Ok(found) => found,
            Err(e) => return reply(fx, Err(e)),
        };
        let s = &t.stored;
        if t.writing {
            return reply(fx, Err(ErrorCode::ConcurrentTransactions));
        }
        let (prepared, completed) = if commit {
            (TxnState::PrepareCommit, TxnState::CompleteCommit)
        } else {
            (TxnState::PrepareAbort, TxnState::CompleteAbort)
        };
        // A retry of an EndTxn the coordinator already took (its answer was lost): with
        // transaction.version 2 the stored epoch is the client's plus one.
        let retried_epoch = if v2 {
            producer_epoch.wrapping_add(1)
        } else {
            producer_epoch
        };
        if (s.state == prepared || s.state == completed) && s.producer_epoch == retried_epoch {
            return reply(fx, Ok(s.producer_epoch));
        }
        if producer_epoch < s.producer_epoch {
            return reply(fx, Err(ErrorCode::ProducerFenced));
        }
        if producer_epoch > s.producer_epoch {
            return reply(fx, Err(ErrorCode::InvalidProducerEpoch));
        }
        match s.state {
            TxnState::Ongoing => {}
            TxnState::PrepareCommit | TxnState::PrepareAbort => {
                return reply(fx, Err(ErrorCode::ConcurrentTransactions))
            }
            // Nothing was written in this transaction (no partition was added): nothing to end.
            TxnState::Empty | TxnState::CompleteCommit | TxnState::CompleteAbort => {
                return reply(fx, Err(ErrorCode::InvalidTxnState))
            }
        }
        let mut next = s.clone();
        next.state = prepared;
        if v2 {
            next.producer_epoch = next.producer_epoch.wrapping_add(1);
        }
        let reason = if commit {
            "commitTransaction"
        } else {
            "abortTransaction"
        }
        .to_string();
        let then = TxnThen::EndTxn {
            client: Some((from, correlation)),
        };
        self.write_txn(now, &tp, next, then, reason, fx);
    }

    /// Appends the next state to `__transaction_state`; it applies once the HW passes it.
    fn write_txn(
        &mut self,
        now: Millis,
        tp: &TopicPartition,
        next: StoredTxn,
        then: TxnThen,
        reason: String,
        fx: &mut Effects,
    ) {
        let refused = match self.replicas.get(tp) {
            Some(r) if r.role == Role::Leader && self.shutdown.is_none() => {
                ((r.isr().len() as u32) < r.config.min_insync_replicas)
                    .then_some(ErrorCode::NotEnoughReplicas)
            }
            _ => Some(ErrorCode::NotLeaderOrFollower),
        };
        let write = TxnWrite { next, then, reason };
        if let Some(e) = refused {
            return self.txn_write_done(now, write, Err(e), fx);
        }
        if let Some(t) = self.txn.txns.get_mut(&write.next.transactional_id) {
            t.writing = true;
        }
        let data = records::record(&write.next, now);
        let base = self.append_as_leader(now, tp, vec![(data, None)], fx);
        self.await_txn_write(now, tp, base..base + 1, TXN_WRITE_TIMEOUT_MS, write, fx);
    }

    /// A state write reached the HW (`Ok`) or failed: apply it and carry on, or tell the
    /// client why not.
    pub(super) fn txn_write_done(
        &mut self,
        now: Millis,
        write: TxnWrite,
        result: Result<u64, ErrorCode>,
        fx: &mut Effects,
    ) {
        let TxnWrite { next, then, reason } = write;
        let id = next.transactional_id.clone();
        let Some(t) = self.txn.txns.get_mut(&id) else {
            // Unloaded meanwhile (this broker no longer leads the partition).
            return reply_failed(fx, &then, ErrorCode::NotCoordinator);
        };
        t.writing = false;
        if let Err(e) = result {
            // Kafka answers a client whose coordinator write failed with a retriable error
            // (NOT_COORDINATOR when leadership moved, else COORDINATOR_NOT_AVAILABLE).
            let e = match e {
                ErrorCode::NotLeaderOrFollower => ErrorCode::NotCoordinator,
                _ => ErrorCode::CoordinatorNotAvailable,
            };
            return reply_failed(fx, &then, e);
        }
        t.stored = next.clone();
        fx.event(Event::TxnStateChanged {
            broker: self.id,
            transactional_id: id.clone(),
            producer_id: next.producer_id,
            producer_epoch: next.producer_epoch,
            state: next.state,
            partitions: next.partitions.clone(),
            reason,
        });
        match then {
            TxnThen::InitProducerId {
                client,
                correlation,
            } => fx.send(
                client,
                Message::InitProducerIdResponse {
                    correlation,
                    result: Ok((next.producer_id, next.producer_epoch)),
                },
            ),
            TxnThen::AddPartitions {
                client,
                correlation,
                offsets,
            } => fx.send(
                client,
                if offsets {
                    Message::AddOffsetsToTxnResponse {
                        correlation,
                        error: None,
                    }
                } else {
                    Message::AddPartitionsToTxnResponse {
                        correlation,
                        error: None,
                    }
                },
            ),
            TxnThen::EndTxn { client } => {
                if let Some((client, correlation)) = client {
                    let v2 = self.features.transactions_v2();
                    fx.send(
                        client,
                        Message::EndTxnResponse {
                            correlation,
                            error: None,
                            producer_epoch: v2.then_some(next.producer_epoch),
                        },
                    );
                }
                let t = self.txn.txns.get_mut(&id).expect("present");
                t.pending_markers = next.partitions.iter().cloned().collect();
                self.send_markers(now, &id, fx);
            }
            TxnThen::Nothing => {}
        }
    }

    /// Sends a marker to the leader of every partition still without one; once none is left,
    /// writes CompleteCommit/CompleteAbort.
    fn send_markers(&mut self, now: Millis, id: &Arc<str>, fx: &mut Effects) {
        let Some(t) = self.txn.txns.get(id) else {
            return;
        };
        if !is_prepare(t.stored.state) || t.writing {
            return;
        }
        if t.pending_markers.is_empty() {
            let mut next = t.stored.clone();
            next.state = if next.state == TxnState::PrepareCommit {
                TxnState::CompleteCommit
            } else {
                TxnState::CompleteAbort
            };
            let Ok(tp) = self.txn_coordinating(id) else {
                return;
            };
            let reason = "every partition has its marker".to_string();
            return self.write_txn(now, &tp, next, TxnThen::Nothing, reason, fx);
        }
        let in_flight: BTreeSet<TopicPartition> = self
            .txn
            .markers
            .values()
            .filter(|(i, _, _)| i == id)
            .map(|(_, tp, _)| tp.clone())
            .collect();
        let marker = |tp: &TopicPartition| TxnMarker {
            producer_id: t.stored.producer_id,
            producer_epoch: t.stored.producer_epoch,
            commit: t.stored.state == TxnState::PrepareCommit,
            partitions: vec![tp.clone()],
        };
        let mut sends = Vec::new();
        let mut missing_leader = false;
        for tp in t
            .pending_markers
            .iter()
            .filter(|tp| !in_flight.contains(*tp))
        {
            match self.metadata.get(tp).and_then(|st| st.leader) {
                Some(leader) => sends.push((leader, tp.clone(), marker(tp))),
                None => missing_leader = true,
            }
        }
        for (leader, tp, m) in sends {
            let c = self.correlation();
            self.txn
                .markers
                .insert(c, (id.clone(), tp, now + MARKER_TIMEOUT_MS));
            fx.send(
                NodeId::Broker(leader),
                Message::WriteTxnMarkers {
                    correlation: c,
                    markers: vec![m],
                },
            );
        }
        let t = self.txn.txns.get_mut(id).expect("present");
        t.marker_retry_at = missing_leader.then_some(now + MARKER_RETRY_MS);
    }

    /// A partition leader's answer to a marker request.
    pub(super) fn handle_markers_response(
        &mut self,
        now: Millis,
        correlation: u64,
        results: Vec<(u64, TopicPartition, Option<ErrorCode>)>,
        fx: &mut Effects,
    ) {
        let Some((id, _, _)) = self.txn.markers.remove(&correlation) else {
            return;
        };
        let Some(t) = self.txn.txns.get_mut(&id) else {
            return;
        };
        let mut failed = false;
        for (_, tp, error) in results {
            match error {
                None => {
                    t.pending_markers.remove(&tp);
                }
                // A marker older than the partition's producer epoch: a newer transaction has
                // already written there, so this one is long complete on it.
                Some(ErrorCode::InvalidProducerEpoch) => {
                    t.pending_markers.remove(&tp);
                }
                Some(_) => failed = true,
            }
        }
        if failed {
            t.marker_retry_at = Some(now + MARKER_RETRY_MS);
        } else {
            self.send_markers(now, &id, fx);
        }
    }

    pub(super) fn txn_deadline(&self) -> Option<Millis> {
        let retries = self.txn.txns.values().filter_map(|t| t.marker_retry_at);
        let markers = self.txn.markers.values().map(|m| m.2);
        retries
            .chain(markers)
            .chain(self.txn.next_abort_check)
            .min()
    }

    /// Marker retries, marker requests that got no answer, and (every
    /// `transaction.abort.timed.out.transaction.cleanup.interval.ms`) transactions open longer
    /// than their `transaction.timeout.ms`, which are aborted with a bumped epoch so that the
    /// producer is fenced (`abortTimedOutTransactions`).
    pub(super) fn txn_timeouts(&mut self, now: Millis, fx: &mut Effects) {
        let expired: Vec<u64> = self
            .txn
            .markers
            .iter()
            .filter(|(_, m)| m.2 <= now)
            .map(|(c, _)| *c)
            .collect();
        let mut resend: BTreeSet<Arc<str>> = BTreeSet::new();
        for c in expired {
            if let Some((id, _, _)) = self.txn.markers.remove(&c) {
                resend.insert(id);
            }
        }
        for (id, t) in self.txn.txns.iter_mut() {
            if t.marker_retry_at.is_some_and(|r| r <= now) {
                t.marker_retry_at = None;
                resend.insert(id.clone());
            }
        }
        for id in resend {
            self.send_markers(now, &id, fx);
        }
        if self.txn.next_abort_check.is_some_and(|c| c <= now) {
            self.txn.next_abort_check = Some(now + self.config.transaction_abort_interval_ms);
            let timed_out: Vec<(Arc<str>, StoredTxn)> = self
                .txn
                .txns
                .iter()
                .filter(|(_, t)| {
                    !t.writing
                        && t.stored.state == TxnState::Ongoing
                        && t.stored.started_at + t.stored.timeout_ms <= now
                })
                .map(|(id, t)| (id.clone(), t.stored.clone()))
                .collect();
            for (id, s) in timed_out {
                let Ok(tp) = self.txn_coordinating(&id) else {
                    continue;
                };
                let mut next = s;
                next.state = TxnState::PrepareAbort;
                next.producer_epoch = next.producer_epoch.wrapping_add(1);
                let reason = format!(
                    "open longer than transaction.timeout.ms ({} ms): aborted, producer fenced",
                    next.timeout_ms
                );
                self.write_txn(now, &tp, next, TxnThen::EndTxn { client: None }, reason, fx);
            }
        }
    }

    /// This broker now leads a `__transaction_state` partition: load its transactions (the
    /// latest record per id) and finish those that were prepared.
    pub(super) fn txn_load(&mut self, now: Millis, tp: &TopicPartition, fx: &mut Effects) {
        if self.txn.owned.contains(tp) {
            return;
        }
        let Some(r) = self.replicas.get(tp) else {
            return;
        };
        let mut latest: BTreeMap<Arc<str>, StoredTxn> = BTreeMap::new();
        for rec in r.log.records() {
            if let Some(s) = records::parse(&rec.data) {
                latest.insert(s.transactional_id.clone(), s);
            }
        }
        self.txn.owned.insert(tp.clone());
        if self.txn.next_abort_check.is_none() {
            self.txn.next_abort_check = Some(now + self.config.transaction_abort_interval_ms);
        }
        let mut prepared = Vec::new();
        for (id, stored) in latest {
            let pending_markers = if is_prepare(stored.state) {
                prepared.push(id.clone());
                stored.partitions.iter().cloned().collect()
            } else {
                BTreeSet::new()
            };
            // The trace learns the state the new coordinator starts from: it may be a change no
            // event announced yet (a write the old coordinator made but never saw below its HW).
            fx.event(Event::TxnStateChanged {
                broker: self.id,
                transactional_id: id.clone(),
                producer_id: stored.producer_id,
                producer_epoch: stored.producer_epoch,
                state: stored.state,
                partitions: stored.partitions.clone(),
                reason: format!("loaded from {tp} by its new leader"),
            });
            self.txn.txns.insert(
                id,
                Txn {
                    stored,
                    writing: false,
                    pending_markers,
                    marker_retry_at: None,
                },
            );
        }
        for id in prepared {
            self.send_markers(now, &id, fx);
        }
    }

    /// This broker no longer leads the partition: forget its transactions (the next leader
    /// loads them from the log).
    pub(super) fn txn_unload(&mut self, tp: &TopicPartition) {
        if !self.txn.owned.remove(tp) {
            return;
        }
        let ids: Vec<Arc<str>> = self
            .txn
            .txns
            .keys()
            .filter(|id| self.txn_state_partition(id).as_ref() == Some(tp))
            .cloned()
            .collect();
        for id in ids {
            self.txn.txns.remove(&id);
            self.txn.markers.retain(|_, m| m.0 != id);
        }
        if self.txn.owned.is_empty() {
            self.txn.next_abort_check = None;
        }
    }
}

/// Tells the client of a failed write why (a coordinator-initiated change has none).
fn reply_failed(fx: &mut Effects, then: &TxnThen, e: ErrorCode) {
    match *then {
        TxnThen::InitProducerId {
            client,
            correlation,
        } => fx.send(
            client,
            Message::InitProducerIdResponse {
                correlation,
                result: Err(e),
            },
        ),
        TxnThen::AddPartitions {
            client,
            correlation,
            offsets,
        } => fx.send(
            client,
            if offsets {
                Message::AddOffsetsToTxnResponse {
                    correlation,
                    error: Some(e),
                }
            } else {
                Message::AddPartitionsToTxnResponse {
                    correlation,
                    error: Some(e),
                }
            },
        ),
        TxnThen::EndTxn {
            client: Some((client, correlation)),
        } => fx.send(
            client,
            Message::EndTxnResponse {
                correlation,
                error: Some(e),
                producer_epoch: None,
            },
        ),
        TxnThen::EndTxn { client: None } | TxnThen::Nothing => {}
    }
}

#[cfg(test)]
mod tests;
