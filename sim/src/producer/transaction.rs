//! A transactional producer: Kafka's `TransactionManager` with the application loop that drives
//! it (`initTransactions()`, then `beginTransaction()`, sends, `commitTransaction()` every
//! `sim.transaction.interval.ms`).
//!
//! The producer finds its coordinator (FindCoordinator with the `transactional.id`), gets its
//! producer id and epoch (InitProducerId, which fences any older producer with the same id),
//! and sends its records in transactions. With transaction.version 2 the partition leaders add
//! partitions to the transaction on the first write; before, the producer sends
//! AddPartitionsToTxn for each new partition first. `commitTransaction()` waits for every record
//! of the transaction to be acknowledged, then sends EndTxn; if a record could not be written
//! the transaction is aborted instead and its records are sent again in the next one (as an
//! application that re-processes its input would). PRODUCER_FENCED and INVALID_PRODUCER_EPOCH
//! are fatal: the application must close the producer, and this one stops.
//!
//! Simplifications: one coordinator request at a time; the application does not block while a
//! transaction ends, its new records wait for the next transaction.

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::effects::Effects;
use crate::ids::{BrokerId, Millis, NodeId};
use crate::protocol::{CoordinatorType, ErrorCode, Message, OffsetAndEpoch};
use crate::trace::Event;

use super::Producer;

/// Where the transactional client is.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Phase {
    /// Looking up the transaction coordinator.
    FindCoordinator,
    /// InitProducerId (`initTransactions()`).
    Init,
    /// Sending the current transaction's records.
    InTransaction,
    /// `commitTransaction()` (or `abortTransaction()`): waiting for the records to be
    /// acknowledged, then for EndTxn.
    Ending { commit: bool },
    /// Fenced: closed for good.
    Fenced,
}

/// `sendOffsetsToTransaction(offsets, groupMetadata)`: the consumed positions a stream
/// processor commits in its transaction, and where it is in sending them.
#[derive(Clone, Debug)]
pub struct TxnOffsets {
    pub group: Arc<str>,
    pub generation: Option<u32>,
    pub member: Option<Arc<str>>,
    /// The group's coordinator, as the consumer knows it.
    pub coordinator: BrokerId,
    pub offsets: Vec<OffsetAndEpoch>,
    /// AddOffsetsToTxn answered: TxnOffsetCommit is next.
    added: bool,
}

impl TxnOffsets {
    pub fn new(
        group: Arc<str>,
        generation: Option<u32>,
        member: Option<Arc<str>>,
        coordinator: BrokerId,
        offsets: Vec<OffsetAndEpoch>,
    ) -> Self {
        TxnOffsets {
            group,
            generation,
            member,
            coordinator,
            offsets,
            added: false,
        }
    }
}

/// A record the application sent while no transaction could take it.
#[derive(Clone, Debug)]
pub(super) struct Held {
    pub value: Arc<str>,
    pub key: Option<Arc<str>>,
    pub partition: Option<u32>,
}

#[derive(Clone, Debug)]
pub(super) struct TransactionManager {
    pub id: Arc<str>,
    v2: bool,
    coordinator: Option<BrokerId>,
    phase: Phase,
    /// The coordinator request in flight: (correlation, deadline).
    in_flight: Option<(u64, Millis, BrokerId)>,
    retry_at: Millis,
    /// Records sent in the current transaction, in send order.
    values: Vec<Held>,
    /// A record of this transaction could not be written: it must abort.
    abortable: bool,
    /// Partitions added to the current transaction (transaction.version < 2).
    added: BTreeSet<u32>,
    adding: Vec<u32>,
    next_commit_at: Millis,
    pub held: Vec<Held>,
    /// A stream processor drives the transactions (commit per poll, with its offsets); no
    /// timer commits, and an aborted transaction's records are not sent again (the processor
    /// re-reads its input from the committed offsets instead).
    app_driven: bool,
    offsets: Option<TxnOffsets>,
    /// The group's offsets partition joined this transaction (so EndTxn has work to do).
    offsets_added: bool,
    /// How the last transaction ended (`true`: committed), until the host takes it.
    outcome: Option<bool>,
}

impl TransactionManager {
    pub fn new(id: Arc<str>, v2: bool, now: Millis) -> Self {
        TransactionManager {
            id,
            v2,
            coordinator: None,
            phase: Phase::FindCoordinator,
            in_flight: None,
            retry_at: now,
            values: Vec::new(),
            abortable: false,
            added: BTreeSet::new(),
            adding: Vec::new(),
            next_commit_at: now,
            held: Vec::new(),
            app_driven: false,
            offsets: None,
            offsets_added: false,
            outcome: None,
        }
    }

    /// The application (re)starts at `now`: initTransactions() then.
    pub fn starting_at(&mut self, now: Millis) {
        self.retry_at = self.retry_at.max(now);
    }

    /// A stream processor's producer (see `app_driven`).
    pub fn driven_by_app(mut self) -> Self {
        self.app_driven = true;
        self
    }

    /// Whether new records may join the current transaction.
    pub fn accepting(&self) -> bool {
        self.phase == Phase::InTransaction
    }

    /// Whether queued batches may be sent now (they belong to the current transaction).
    pub fn may_send(&self, partition: u32) -> bool {
        matches!(self.phase, Phase::InTransaction | Phase::Ending { .. })
            && (self.v2 || self.added.contains(&partition))
    }

    pub fn is_fenced(&self) -> bool {
        self.phase == Phase::Fenced
    }

    /// A record joins the transaction; the first one starts the commit interval.
    pub fn sent(&mut self, now: Millis, interval: Millis, record: Held) {
        if self.values.is_empty() {
            self.next_commit_at = now + interval;
        }
        self.values.push(record);
    }

    /// A record of the transaction failed for good: abort rather than commit.
    pub fn record_failed(&mut self) {
        self.abortable = true;
    }

    pub fn deadline(&self) -> Option<Millis> {
        match self.phase {
            Phase::Fenced => None,
            _ => {
                let mut d = match self.in_flight {
                    Some((_, t, _)) => t,
                    None => self.retry_at,
                };
                if self.phase == Phase::InTransaction {
                    d = if self.app_driven || (self.values.is_empty() && self.held.is_empty()) {
                        // Nothing to commit: only a request or a retry wakes us.
                        match self.in_flight {
                            Some((_, t, _)) => t,
                            None if self.adding.is_empty() => Millis::MAX,
                            None => self.retry_at,
                        }
                    } else {
                        d.min(self.next_commit_at)
                    };
                }
                (d != Millis::MAX).then_some(d)
            }
        }
    }
}

impl Producer {
    fn txn_request(&mut self, now: Millis, to: BrokerId, msg: Message, fx: &mut Effects) {
        let c = match msg.correlation() {
            Some(c) => c,
            None => return,
        };
        let timeout = self.spec.config.request_timeout_ms;
        if let Some(t) = self.txn.as_mut() {
            t.in_flight = Some((c, now + timeout, to));
        }
        fx.send(NodeId::Broker(to), msg);
    }

    fn next_txn_correlation(&mut self) -> u64 {
        self.next_correlation += 1;
        self.next_correlation
    }

    /// Moves the transactional client on: lookups, InitProducerId, AddPartitionsToTxn,
    /// commits. Called on every timeout and message.
    pub(super) fn drive_transaction(&mut self, now: Millis, fx: &mut Effects) {
        let Some(t) = self.txn.as_ref() else {
            return;
        };
        if let Some((_, deadline, _)) = t.in_flight {
            if deadline > now {
                return;
            }
            // No answer: look the coordinator up again.
            let t = self.txn.as_mut().expect("checked");
            t.in_flight = None;
            t.coordinator = None;
            if t.phase == Phase::Init {
                t.phase = Phase::FindCoordinator;
            }
        }
        let t = self.txn.as_ref().expect("checked");
        if t.retry_at > now {
            return;
        }
        let id = t.id.clone();
        let lookup = t.coordinator.is_none() && t.phase != Phase::Fenced;
        match t.phase.clone() {
            Phase::Fenced => {}
            _ if lookup => {
                if self.spec.bootstrap.is_empty() {
                    return;
                }
                let b = self.spec.bootstrap[self.bootstrap_cursor % self.spec.bootstrap.len()];
                let c = self.next_txn_correlation();
                let msg = Message::FindCoordinator {
                    correlation: c,
                    group: id,
                    key_type: CoordinatorType::Transaction,
                };
                self.txn_request(now, b, msg, fx);
            }
            // Found: the answer moved the phase on to Init.
            Phase::FindCoordinator => {}
            Phase::Init => {
                let Some(coord) = t.coordinator else {
                    return self.rediscover(now);
                };
                let c = self.next_txn_correlation();
                let msg = Message::InitProducerId {
                    correlation: c,
                    transactional_id: Some(id),
                    transaction_timeout_ms: self.spec.config.transaction_timeout_ms,
                };
                self.txn_request(now, coord, msg, fx);
            }
            Phase::InTransaction => {
                let Some(coord) = t.coordinator else {
                    return self.rediscover(now);
                };
                if !t.v2 {
                    // AddPartitionsToTxn for the partitions with queued records not yet added.
                    let missing: Vec<u32> = self
                        .queues
                        .keys()
                        .copied()
                        .filter(|p| !t.added.contains(p))
                        .collect();
                    if !missing.is_empty() {
                        let c = self.next_txn_correlation();
                        let partitions = missing.iter().map(|&p| self.tp(p)).collect();
                        let msg = Message::AddPartitionsToTxn {
                            correlation: c,
                            transactional_id: id,
                            producer_id: self.producer_id,
                            producer_epoch: self.producer_epoch,
                            partitions,
                            verify_only: false,
                        };
                        self.txn.as_mut().expect("checked").adding = missing;
                        return self.txn_request(now, coord, msg, fx);
                    }
                }
                let t = self.txn.as_ref().expect("checked");
                if !t.app_driven && now >= t.next_commit_at && !t.values.is_empty() {
                    let commit = !t.abortable;
                    self.txn.as_mut().expect("checked").phase = Phase::Ending { commit };
                    self.drive_transaction(now, fx);
                }
            }
            Phase::Ending { commit } => {
                let Some(coord) = t.coordinator else {
                    return self.rediscover(now);
                };
                // commitTransaction() flushes first: every record sent must be acknowledged
                // (or have failed, which turns the commit into an abort).
                let unsent = self.queues.values().any(|q| !q.is_empty());
                if !self.in_flight.is_empty() || (commit && unsent) {
                    return;
                }
                let commit = commit && !t.abortable;
                if let (true, Some(o)) = (commit, t.offsets.clone()) {
                    // sendOffsetsToTransaction: AddOffsetsToTxn, then TxnOffsetCommit.
                    let c = self.next_txn_correlation();
                    let (to, msg) = if o.added {
                        let msg = Message::TxnOffsetCommit {
                            correlation: c,
                            transactional_id: id,
                            group: o.group,
                            producer_id: self.producer_id,
                            producer_epoch: self.producer_epoch,
                            generation: o.generation,
                            member_id: o.member,
                            offsets: o.offsets,
                        };
                        (o.coordinator, msg)
                    } else {
                        let msg = Message::AddOffsetsToTxn {
                            correlation: c,
                            transactional_id: id,
                            producer_id: self.producer_id,
                            producer_epoch: self.producer_epoch,
                            group: o.group,
                        };
                        (coord, msg)
                    };
                    return self.txn_request(now, to, msg, fx);
                }
                if t.values.is_empty() && !t.offsets_added {
                    // Nothing reached a broker in this transaction: it ends on the client.
                    let t = self.txn.as_mut().expect("checked");
                    t.offsets = None;
                    t.phase = Phase::InTransaction;
                    t.abortable = false;
                    t.outcome = Some(commit);
                    return;
                }
                let c = self.next_txn_correlation();
                let msg = Message::EndTxn {
                    correlation: c,
                    transactional_id: id,
                    producer_id: self.producer_id,
                    producer_epoch: self.producer_epoch,
                    commit,
                };
                self.txn.as_mut().expect("checked").phase = Phase::Ending { commit };
                self.txn_request(now, coord, msg, fx);
            }
        }
    }

    fn rediscover(&mut self, now: Millis) {
        let backoff = self.spec.config.retry_backoff_ms;
        if let Some(t) = self.txn.as_mut() {
            t.coordinator = None;
            t.retry_at = now + backoff;
            if t.phase == Phase::Init {
                t.phase = Phase::FindCoordinator;
            }
        }
        self.bootstrap_cursor += 1;
    }

    /// A restarted process initialises its transactions when it starts.
    pub(super) fn restart_transactions(&mut self, now: Millis) {
        if let Some(t) = self.txn.as_mut() {
            t.starting_at(now);
        }
    }

    /// The connection to `broker` broke: a coordinator request to it will get no answer.
    pub(super) fn transaction_disconnected(&mut self, now: Millis, broker: BrokerId) {
        let lost = self
            .txn
            .as_ref()
            .and_then(|t| t.in_flight)
            .is_some_and(|(_, _, to)| to == broker);
        if lost {
            if let Some(t) = self.txn.as_mut() {
                t.in_flight = None;
            }
            self.rediscover(now);
        }
    }

    /// The transactional client's share of incoming messages; returns whether it took it.
    pub(super) fn transaction_message(
        &mut self,
        now: Millis,
        msg: &Message,
        fx: &mut Effects,
    ) -> bool {
        let Some(t) = self.txn.as_ref() else {
            return false;
        };
        let Some(c) = msg.correlation() else {
            return false;
        };
        if t.in_flight.map(|f| f.0) != Some(c) {
            return matches!(
                msg,
                Message::FindCoordinatorResponse { .. }
                    | Message::InitProducerIdResponse { .. }
                    | Message::AddPartitionsToTxnResponse { .. }
                    | Message::AddOffsetsToTxnResponse { .. }
                    | Message::TxnOffsetCommitResponse { .. }
                    | Message::EndTxnResponse { .. }
            );
        }
        let backoff = self.spec.config.retry_backoff_ms;
        let node = self.node;
        let t = self.txn.as_mut().expect("checked");
        t.in_flight = None;
        match msg {
            Message::FindCoordinatorResponse {
                error, coordinator, ..
            } => match (error, coordinator) {
                (None, Some(b)) => {
                    t.coordinator = Some(*b);
                    if t.phase == Phase::FindCoordinator {
                        t.phase = Phase::Init;
                    }
                    t.retry_at = now;
                }
                _ => self.rediscover(now),
            },
            Message::InitProducerIdResponse { result, .. } => match result {
                Ok((id, epoch)) => {
                    self.producer_id = *id;
                    self.producer_epoch = *epoch;
                    self.next_sequence.clear();
                    t.phase = Phase::InTransaction;
                    t.next_commit_at = now + self.spec.config.transaction_interval_ms;
                    fx.event(Event::TxnInitialized {
                        producer: node,
                        transactional_id: t.id.clone(),
                        producer_id: *id,
                        producer_epoch: *epoch,
                    });
                    self.release_held(now, fx);
                }
                Err(e) => self.coordinator_error(now, *e, fx),
            },
            Message::AddPartitionsToTxnResponse { error, .. } => match error {
                None => {
                    let adding = std::mem::take(&mut t.adding);
                    t.added.extend(adding);
                    t.retry_at = now;
                }
                Some(e) => {
                    t.adding.clear();
                    self.coordinator_error(now, *e, fx)
                }
            },
            Message::AddOffsetsToTxnResponse { error, .. } => match error {
                None => {
                    t.offsets_added = true;
                    if let Some(o) = t.offsets.as_mut() {
                        o.added = true;
                    }
                    t.retry_at = now;
                }
                Some(e) => self.coordinator_error(now, *e, fx),
            },
            Message::TxnOffsetCommitResponse { error, .. } => match error {
                None => {
                    t.offsets = None;
                    t.retry_at = now;
                }
                Some(ErrorCode::ProducerFenced | ErrorCode::InvalidProducerEpoch) => {
                    let e = error.expect("matched");
                    self.fence(e, fx)
                }
                Some(_) => {
                    // The group moved on (a zombie's generation, KIP-447) or its coordinator
                    // did: these offsets cannot commit, so the transaction aborts.
                    t.offsets = None;
                    t.abortable = true;
                    t.retry_at = now;
                }
            },
            Message::EndTxnResponse {
                error,
                producer_epoch,
                ..
            } => match error {
                None => {
                    let Phase::Ending { commit } = t.phase else {
                        return true;
                    };
                    let sent = std::mem::take(&mut t.values);
                    fx.event(Event::TxnEnded {
                        producer: node,
                        transactional_id: t.id.clone(),
                        commit,
                        values: sent.iter().map(|h| h.value.clone()).collect(),
                    });
                    t.phase = Phase::InTransaction;
                    t.abortable = false;
                    t.added.clear();
                    t.offsets = None;
                    t.offsets_added = false;
                    t.outcome = Some(commit);
                    let app_driven = t.app_driven;
                    t.next_commit_at = now + self.spec.config.transaction_interval_ms;
                    if let Some(e) = producer_epoch {
                        // transaction.version 2: every transaction has its own epoch, and
                        // sequences start again at 0.
                        self.producer_epoch = *e;
                        self.next_sequence.clear();
                    }
                    let stopped = now >= self.spec.workload.stop;
                    if !commit && !app_driven && !stopped {
                        // The application sends the aborted records again, ahead of newer ones
                        // (what re-processing the same input would produce); after its `stop`
                        // it sends nothing more.
                        let mut again = sent;
                        let t = self.txn.as_mut().expect("checked");
                        again.append(&mut t.held);
                        t.held = again;
                    }
                    self.release_held(now, fx);
                }
                Some(e) => {
                    let _ = backoff;
                    self.coordinator_error(now, *e, fx)
                }
            },
            _ => return false,
        }
        true
    }

    /// A coordinator's error: retry, look it up again, or (fenced) stop.
    fn coordinator_error(&mut self, now: Millis, e: ErrorCode, fx: &mut Effects) {
        let backoff = self.spec.config.retry_backoff_ms;
        match e {
            ErrorCode::NotCoordinator | ErrorCode::CoordinatorNotAvailable => self.rediscover(now),
            // KIP-890/KIP-1050: abortable, not fatal (TransactionManager's handlers call
            // transitionToAbortableError): the transaction aborts and the next one begins.
            // During abortTransaction() itself it is fatal (KAFKA-19250, Kafka 4.1).
            ErrorCode::TransactionAbortable
                if !matches!(
                    self.txn.as_ref().map(|t| &t.phase),
                    Some(Phase::Ending { commit: false })
                ) =>
            {
                if let Some(t) = self.txn.as_mut() {
                    t.abortable = true;
                    t.retry_at = now + backoff;
                }
            }
            ErrorCode::ProducerFenced
            | ErrorCode::InvalidProducerEpoch
            | ErrorCode::InvalidProducerIdMapping
            | ErrorCode::InvalidTxnState
            | ErrorCode::TransactionAbortable
            | ErrorCode::InvalidTransactionTimeout => self.fence(e, fx),
            _ => {
                if let Some(t) = self.txn.as_mut() {
                    t.retry_at = now + backoff;
                }
            }
        }
    }

    /// A fatal error: the application closes the producer; nothing more is sent. A stream
    /// processor (Kafka Streams) instead creates a new producer, which initialises again (its
    /// task re-reads its input from the committed offsets).
    pub(super) fn fence(&mut self, e: ErrorCode, fx: &mut Effects) {
        let Some(t) = self.txn.as_mut() else {
            return;
        };
        if t.phase == Phase::Fenced {
            return;
        }
        fx.event(Event::ProducerFenced {
            producer: self.node,
            transactional_id: t.id.clone(),
            error: e,
        });
        t.in_flight = None;
        t.held.clear();
        if t.app_driven {
            t.phase = Phase::FindCoordinator;
            t.values.clear();
            t.offsets = None;
            t.offsets_added = false;
            t.abortable = false;
            t.added.clear();
            t.outcome = Some(false);
        } else {
            t.phase = Phase::Fenced;
        }
        self.queues.clear();
        self.in_flight.clear();
    }

    /// `sendOffsetsToTransaction` + `commitTransaction()` from a stream processor; the outcome
    /// comes back through [`Producer::take_transaction_outcome`].
    pub fn commit_transaction(
        &mut self,
        now: Millis,
        offsets: Option<TxnOffsets>,
        fx: &mut Effects,
    ) {
        if let Some(t) = self.txn.as_mut() {
            if t.phase == Phase::InTransaction {
                t.offsets = offsets;
                t.phase = Phase::Ending { commit: true };
                t.retry_at = now;
            }
        }
        self.drive_transaction(now, fx);
    }

    /// Whether the producer can take part in a transaction now (initialised, none ending).
    pub fn transaction_ready(&self) -> bool {
        self.txn
            .as_ref()
            .is_some_and(|t| t.phase == Phase::InTransaction && t.outcome.is_none())
    }

    /// How the transaction the host asked to commit ended (`Some(true)`: committed).
    pub fn take_transaction_outcome(&mut self) -> Option<bool> {
        self.txn.as_mut().and_then(|t| t.outcome.take())
    }

    /// Records that waited for a transaction join the current one.
    fn release_held(&mut self, now: Millis, fx: &mut Effects) {
        let Some(t) = self.txn.as_mut() else {
            return;
        };
        if !t.accepting() {
            return;
        }
        let held = std::mem::take(&mut t.held);
        for h in held {
            self.send(now, h.value, h.key, h.partition, fx);
        }
    }
}
