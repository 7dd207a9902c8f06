//! A Kafka producer client as a sans-IO state machine.
//!
//! It follows the shape of Kafka's `RecordAccumulator` + `Sender`: records go into per-partition
//! batches; a batch is sent when it is full (`batch.size`) or has waited `linger.ms`; at most
//! `max.in.flight.requests.per.connection` requests are outstanding per broker; a failed batch
//! is retried after `retry.backoff.ms` until `retries` or `delivery.timeout.ms` run out. Without
//! idempotence a retried batch goes back to the *front* of its partition's queue while later
//! batches may already be in flight — which is how retries reorder records. With idempotence
//! each batch carries a sequence number, retries go out in sequence order, and the broker drops
//! duplicates.
//!
//! Simplifications (documented in ARCHITECTURE.md): one batch per produce request; the producer
//! id is assigned at start instead of through `InitProducerId`; the sticky partitioner switches
//! partition when its batch is sent (KIP-480), not by KIP-794's byte count.

pub mod partitioner;
mod transaction;
mod workload;

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub use transaction::TxnOffsets;
pub use workload::{KeySpec, ScheduledSend, Workload};

use crate::config::{Acks, ProducerConfig};
use crate::effects::Effects;
use crate::ids::{BrokerId, Millis, NodeId, TopicPartition};
use crate::log::RecordData;
use crate::protocol::{ErrorCode, IdempotentBatch, Message, PartitionState, ProduceRequest};
use crate::trace::Event;

/// What a producer's application had done when its process stopped: its settings as they were
/// then, and how far its workload had got. A restarted producer is a new client (a new
/// producer id, sequences from 0) whose application goes on from there.
#[derive(Clone, Debug)]
pub struct Progress {
    spec: ProducerSpec,
    generated: u64,
    next_scheduled: usize,
    incarnation: u64,
}

/// Everything a producer needs to start.
#[derive(Clone, Debug)]
pub struct ProducerSpec {
    pub name: String,
    pub topic: Arc<str>,
    pub partitions: u32,
    pub config: ProducerConfig,
    pub idempotent: bool,
    pub workload: Workload,
    pub bootstrap: Vec<BrokerId>,
    /// The cluster's `transaction.version` is 2 (KIP-890 part 2).
    pub transactions_v2: bool,
}

#[derive(Clone, Debug)]
struct Batch {
    partition: u32,
    records: Vec<RecordData>,
    bytes: u64,
    created: Millis,
    attempts: u32,
    sequence: Option<u32>,
    retry_at: Option<Millis>,
}

#[derive(Clone, Debug)]
struct InFlight {
    batch: Batch,
    broker: BrokerId,
    deadline: Millis,
}

pub struct Producer {
    node: NodeId,
    spec: ProducerSpec,
    rng: ChaCha8Rng,
    producer_id: u64,
    /// Bumped when a sequence gap is fatal for a batch, so later batches start afresh (KIP-360).
    producer_epoch: u16,
    leaders: BTreeMap<u32, (BrokerId, u32)>,
    metadata_in_flight: Option<(u64, Millis)>,
    metadata_refresh_at: Millis,
    bootstrap_cursor: usize,
    queues: BTreeMap<u32, VecDeque<Batch>>,
    in_flight: BTreeMap<u64, InFlight>,
    next_sequence: BTreeMap<u32, u32>,
    sticky: Option<u32>,
    generated: u64,
    next_scheduled: usize,
    next_correlation: u64,
    /// Set for a producer with a `transactional.id`.
    txn: Option<transaction::TransactionManager>,
    /// How many times its process restarted.
    incarnation: u64,
}

impl Producer {
    pub fn new(index: u16, spec: ProducerSpec, seed: u64) -> Self {
        Self::on_node(
            NodeId::Producer(index),
            index as u64,
            1000 + index as u64,
            spec,
            seed,
        )
    }

    /// A producer hosted on `node` (a stream processor's output producer lives on its
    /// consumer's node). Its correlation ids start high so that they never collide with its
    /// host's own requests on the same connections.
    pub fn embedded(node: NodeId, producer_id: u64, spec: ProducerSpec, seed: u64) -> Self {
        let mut p = Self::on_node(node, producer_id, producer_id, spec, seed);
        p.next_correlation = 1 << 40;
        p
    }

    fn on_node(node: NodeId, index: u64, producer_id: u64, spec: ProducerSpec, seed: u64) -> Self {
        let cursor = index as usize % spec.bootstrap.len().max(1);
        let txn = spec.config.transactional_id.clone().map(|id| {
            // initTransactions() when the application starts.
            let t =
                transaction::TransactionManager::new(id, spec.transactions_v2, spec.workload.start);
            // A stream processor's producer (hosted on its consumer's node) commits when the
            // processor says so.
            if matches!(node, NodeId::Consumer(_)) {
                t.driven_by_app()
            } else {
                t
            }
        });
        Producer {
            txn,
            incarnation: 0,
            node,
            rng: ChaCha8Rng::seed_from_u64(
                seed ^ (0x9e37_79b9_7f4a_7c15u64.wrapping_mul(index + 1)),
            ),
            producer_id,
            producer_epoch: 0,
            leaders: BTreeMap::new(),
            metadata_in_flight: None,
            metadata_refresh_at: 0,
            bootstrap_cursor: cursor,
            queues: BTreeMap::new(),
            in_flight: BTreeMap::new(),
            next_sequence: BTreeMap::new(),
            sticky: None,
            generated: 0,
            next_scheduled: 0,
            next_correlation: 0,
            spec,
        }
    }

    /// A producer whose process stopped and started again: a new producer id (as a new
    /// `InitProducerId` would give), the workload going on at its rate from `now` (what was due
    /// while it was down was never sent).
    pub fn restarted(index: u16, progress: Progress, seed: u64, now: Millis) -> Self {
        let incarnation = progress.incarnation + 1;
        let producer_id = 1000 + index as u64 + 100_000 * incarnation;
        let mut p = Self::on_node(
            NodeId::Producer(index),
            index as u64,
            producer_id,
            progress.spec,
            seed,
        );
        p.incarnation = incarnation;
        p.restart_transactions(now);
        p.generated = progress.generated;
        p.next_scheduled = progress.next_scheduled;
        let rate = p.spec.workload.rate;
        p.spec.workload.restart_rate(rate, now, p.generated);
        p
    }

    /// What a restart goes on from.
    pub fn progress(&self) -> Progress {
        Progress {
            spec: self.spec.clone(),
            generated: self.generated,
            next_scheduled: self.next_scheduled,
            incarnation: self.incarnation,
        }
    }

    pub fn spec(&self) -> &ProducerSpec {
        &self.spec
    }

    fn tp(&self, p: u32) -> TopicPartition {
        TopicPartition::new(self.spec.topic.clone(), p)
    }

    /// `KafkaProducer.send` from the application that hosts this producer.
    pub fn send_record(
        &mut self,
        now: Millis,
        value: Arc<str>,
        key: Option<Arc<str>>,
        fx: &mut Effects,
    ) {
        self.send(now, value, key, None, fx);
        self.poll(now, fx);
    }

    /// Changes client settings while running (an intervention). Batches already made keep theirs.
    pub fn reconfigure(&mut self, config: ProducerConfig, idempotent: bool) {
        self.spec.config = config;
        self.spec.idempotent = idempotent;
    }

    pub fn set_rate(&mut self, rate: f64, now: Millis) {
        self.spec.workload.restart_rate(rate, now, self.generated);
    }

    pub fn next_deadline(&self) -> Option<Millis> {
        let cfg = &self.spec.config;
        let mut d = Millis::MAX;
        if let Some(t) = self.spec.workload.next_record_at(self.generated) {
            d = d.min(t);
        }
        if let Some(s) = self.spec.workload.sends.get(self.next_scheduled) {
            d = d.min(s.at);
        }
        if let Some(t) = self.txn.as_ref().and_then(|t| t.deadline()) {
            d = d.min(t);
        }
        match self.metadata_in_flight {
            Some((_, t)) => d = d.min(t),
            None => d = d.min(self.metadata_refresh_at),
        }
        for (&p, q) in &self.queues {
            for b in q {
                d = d.min(b.created.saturating_add(cfg.delivery_timeout_ms));
            }
            // Only a batch that could go out once ready needs a wake-up; otherwise a response
            // or new metadata will wake us.
            if let (Some(b), false) = (q.front(), self.send_blocked(p)) {
                let ready_at = match b.retry_at {
                    Some(t) => t,
                    None if b.bytes >= cfg.batch_size || q.len() > 1 => b.created,
                    None => b.created + cfg.linger_ms,
                };
                d = d.min(ready_at);
            }
        }
        for f in self.in_flight.values() {
            d = d.min(f.deadline);
        }
        (d != Millis::MAX).then_some(d)
    }

    fn needs_metadata(&self) -> bool {
        self.leaders.len() < self.spec.partitions as usize
    }

    /// Whether partition `p`'s next batch must wait for something other than time: an unknown
    /// leader, a full connection, or (idempotent) an earlier sequence still unacknowledged.
    fn send_blocked(&self, p: u32) -> bool {
        let Some(&(leader, _)) = self.leaders.get(&p) else {
            return true;
        };
        if self.txn.as_ref().is_some_and(|t| !t.may_send(p)) {
            return true;
        }
        let to_leader = self
            .in_flight
            .values()
            .filter(|f| f.broker == leader)
            .count() as u32;
        if to_leader >= self.spec.config.max_in_flight {
            return true;
        }
        let retrying = self
            .queues
            .get(&p)
            .and_then(|q| q.front())
            .is_some_and(|b| b.attempts > 0);
        self.spec.idempotent && retrying && self.in_flight.values().any(|f| f.batch.partition == p)
    }

    pub fn handle_timeout(&mut self, now: Millis, fx: &mut Effects) {
        self.generate(now, fx);
        self.expire(now, fx);
        if let Some((_, t)) = self.metadata_in_flight {
            if t <= now {
                self.metadata_in_flight = None;
                self.bootstrap_cursor += 1;
            }
        }
        let timed_out: Vec<u64> = self
            .in_flight
            .iter()
            .filter(|(_, f)| f.deadline <= now)
            .map(|(c, _)| *c)
            .collect();
        for c in timed_out {
            let f = self.in_flight.remove(&c).expect("listed");
            self.failed(now, f.batch, ErrorCode::RequestTimedOut, fx);
            self.request_metadata_soon(now);
        }
        self.poll(now, fx);
    }

    pub fn handle_message(&mut self, now: Millis, from: NodeId, msg: Message, fx: &mut Effects) {
        match msg {
            Message::MetadataResponse {
                correlation,
                partitions,
                ..
            } if self.metadata_in_flight.map(|m| m.0) == Some(correlation) => {
                self.metadata_in_flight = None;
                let partitions: Vec<_> = partitions.iter().map(PartitionState::route).collect();
                let mut any = false;
                // Partitions added while running (`add-partitions`) are used from the next
                // metadata refresh on, so keyed records can move to a different partition.
                let count = partitions
                    .iter()
                    .filter(|(tp, _, _)| tp.topic == self.spec.topic)
                    .count() as u32;
                self.spec.partitions = self.spec.partitions.max(count);
                for (tp, leader, epoch) in partitions {
                    if tp.topic != self.spec.topic {
                        continue;
                    }
                    any = true;
                    match leader {
                        Some(l) => {
                            self.leaders.insert(tp.partition, (l, epoch));
                        }
                        None => {
                            self.leaders.remove(&tp.partition);
                        }
                    }
                }
                if any && !self.needs_metadata() {
                    self.metadata_refresh_at = now + self.spec.config.metadata_max_age_ms;
                } else {
                    // This broker knows nothing useful yet: ask another one.
                    self.bootstrap_cursor += 1;
                    self.metadata_refresh_at = now + self.spec.config.retry_backoff_ms;
                }
            }
            Message::ProduceResponse {
                correlation,
                tp,
                error,
                base_offset,
            } => {
                if let Some(f) = self.in_flight.remove(&correlation) {
                    match error {
                        None => {
                            let values = f.batch.records.iter().map(|r| r.value.clone()).collect();
                            fx.event(Event::Acked {
                                producer: self.node,
                                tp,
                                base_offset,
                                values,
                            });
                        }
                        Some(ErrorCode::InvalidProducerEpoch | ErrorCode::ProducerFenced)
                            if self.txn.is_some() =>
                        {
                            let e = error.expect("matched");
                            let values = f.batch.records.iter().map(|r| r.value.clone()).collect();
                            fx.event(Event::SendFailed {
                                producer: self.node,
                                tp,
                                error: e,
                                retry: false,
                                values,
                            });
                            self.fence(e, fx);
                        }
                        Some(e) => {
                            if matches!(
                                e,
                                ErrorCode::NotLeaderOrFollower
                                    | ErrorCode::FencedLeaderEpoch
                                    | ErrorCode::UnknownTopicOrPartition
                            ) {
                                self.leaders.remove(&tp.partition);
                                self.request_metadata_soon(now);
                            }
                            self.failed(now, f.batch, e, fx);
                        }
                    }
                }
            }
            Message::Disconnected => {
                if let NodeId::Broker(b) = from {
                    self.transaction_disconnected(now, b);
                    let lost: Vec<u64> = self
                        .in_flight
                        .iter()
                        .filter(|(_, f)| f.broker == b)
                        .map(|(c, _)| *c)
                        .collect();
                    for c in lost {
                        let f = self.in_flight.remove(&c).expect("listed");
                        self.failed(now, f.batch, ErrorCode::NetworkException, fx);
                    }
                    self.leaders.retain(|_, (l, _)| *l != b);
                    if self.metadata_in_flight.is_some() {
                        self.metadata_in_flight = None;
                        self.bootstrap_cursor += 1;
                    }
                    self.request_metadata_soon(now);
                }
            }
            m => {
                self.transaction_message(now, &m, fx);
            }
        }
        self.poll(now, fx);
    }

    fn request_metadata_soon(&mut self, now: Millis) {
        self.metadata_refresh_at = self
            .metadata_refresh_at
            .min(now + self.spec.config.retry_backoff_ms);
    }

    /// Creates the workload's records that are due.
    fn generate(&mut self, now: Millis, fx: &mut Effects) {
        while let Some(s) = self
            .spec
            .workload
            .sends
            .get(self.next_scheduled)
            .filter(|s| s.at <= now)
            .cloned()
        {
            self.next_scheduled += 1;
            self.send(now, s.value.clone(), s.key.clone(), s.partition, fx);
        }
        while self
            .spec
            .workload
            .next_record_at(self.generated)
            .is_some_and(|t| t <= now)
        {
            self.generated += 1;
            let value: Arc<str> = format!("{}-{}", self.spec.name, self.generated).into();
            let key = self.spec.workload.keys.key_for(self.generated);
            self.send(now, value, key, None, fx);
        }
    }

    /// `KafkaProducer.send`: pick the partition, append to its batch.
    fn send(
        &mut self,
        now: Millis,
        value: Arc<str>,
        key: Option<Arc<str>>,
        partition: Option<u32>,
        fx: &mut Effects,
    ) {
        if let Some(t) = self.txn.as_mut() {
            if t.is_fenced() {
                // send() on a closed producer: the application has stopped.
                return;
            }
            if !t.accepting() {
                t.held.push(transaction::Held {
                    value,
                    key,
                    partition,
                });
                return;
            }
            let record = transaction::Held {
                value: value.clone(),
                key: key.clone(),
                partition,
            };
            t.sent(now, self.spec.config.transaction_interval_ms, record);
        }
        let n = self.spec.partitions;
        let p = match (partition, &key) {
            (Some(p), _) => p,
            (None, Some(k)) => partitioner::partition_for_key(k, n),
            (None, None) => *self.sticky.get_or_insert_with(|| self.rng.gen_range(0..n)),
        };
        fx.event(Event::Produced {
            producer: self.node,
            value: value.clone(),
            key: key.clone(),
            tp: self.tp(p),
        });
        let size = self.spec.workload.value_bytes + key.as_ref().map_or(0, |k| k.len() as u32) + 10;
        let data = RecordData {
            payload: None,
            key,
            value,
            timestamp: now,
            size,
        };
        let batch_size = self.spec.config.batch_size;
        let q = self.queues.entry(p).or_default();
        match q.back_mut() {
            Some(b)
                if b.retry_at.is_none()
                    && b.attempts == 0
                    && b.bytes + size as u64 <= batch_size =>
            {
                b.bytes += size as u64;
                b.records.push(data);
            }
            _ => q.push_back(Batch {
                partition: p,
                bytes: size as u64,
                records: vec![data],
                created: now,
                attempts: 0,
                sequence: None,
                retry_at: None,
            }),
        }
    }

    /// `delivery.timeout.ms`: batches that waited too long are failed without being sent.
    fn expire(&mut self, now: Millis, fx: &mut Effects) {
        let limit = self.spec.config.delivery_timeout_ms;
        let node = self.node;
        for (&p, q) in self.queues.iter_mut() {
            while q
                .front()
                .is_some_and(|b| b.created.saturating_add(limit) <= now)
            {
                let b = q.pop_front().expect("checked");
                if let Some(t) = self.txn.as_mut() {
                    t.record_failed();
                }
                let values = b.records.iter().map(|r| r.value.clone()).collect();
                fx.event(Event::Expired {
                    producer: node,
                    tp: TopicPartition::new(self.spec.topic.clone(), p),
                    values,
                });
            }
        }
    }

    fn failed(&mut self, now: Millis, mut b: Batch, e: ErrorCode, fx: &mut Effects) {
        let cfg = &self.spec.config;
        let p = b.partition;
        // With idempotence, a gap behind an earlier failed batch heals once that batch is resent.
        let earlier_pending = b.sequence.is_some_and(|s| {
            self.queues
                .get(&p)
                .is_some_and(|q| q.iter().any(|x| x.sequence.is_some_and(|xs| xs < s)))
                || self
                    .in_flight
                    .values()
                    .any(|f| f.batch.partition == p && f.batch.sequence.is_some_and(|fs| fs < s))
        });
        // KIP-360 (Kafka 2.5+, `TransactionManager.canRetry`): the idempotent producer retries
        // every OUT_OF_ORDER_SEQUENCE_NUMBER. Behind an earlier batch still outstanding the gap
        // heals once that batch is resent; with none, the broker has lost the sequence this
        // batch follows (its log was truncated), so the producer first bumps its epoch and
        // restarts its sequences at 0, and the batch is sent again under the new epoch.
        let oos = e == ErrorCode::OutOfOrderSequenceNumber;
        let retriable = e.is_retriable() || oos;
        let in_time = now < b.created.saturating_add(cfg.delivery_timeout_ms);
        let retry = retriable && b.attempts <= cfg.retries && in_time;
        let values = b.records.iter().map(|r| r.value.clone()).collect();
        fx.event(Event::SendFailed {
            producer: self.node,
            tp: self.tp(p),
            error: e,
            retry,
            values,
        });
        if let (Some(t), false) = (self.txn.as_mut(), retry) {
            // A record of the transaction is lost: commitTransaction() would fail, so abort.
            t.record_failed();
        }
        if oos && !earlier_pending && self.txn.is_some() {
            // A transactional producer's epoch belongs to its coordinator: the transaction
            // aborts, and the records are sent again in the next one.
            if let Some(t) = self.txn.as_mut() {
                t.record_failed();
            }
            return;
        } else if oos && !earlier_pending {
            self.producer_epoch += 1;
            self.next_sequence.clear();
            for q in self.queues.values_mut() {
                for b in q.iter_mut() {
                    b.sequence = None;
                }
            }
            b.sequence = None;
        }
        if !retry {
            return;
        }
        b.retry_at = Some(now + cfg.retry_backoff_ms);
        let q = self.queues.entry(p).or_default();
        match b.sequence {
            // Kafka re-enqueues a failed batch at the head of its partition's deque.
            None => q.push_front(b),
            Some(s) => {
                let pos = q
                    .iter()
                    .position(|x| x.sequence.is_none_or(|xs| xs > s))
                    .unwrap_or(q.len());
                q.insert(pos, b);
            }
        }
    }

    /// Sends what can be sent: metadata first, then ready batches within the in-flight limit.
    fn poll(&mut self, now: Millis, fx: &mut Effects) {
        self.drive_transaction(now, fx);
        let cfg = self.spec.config.clone();
        if self.metadata_in_flight.is_none()
            && now >= self.metadata_refresh_at
            && !self.spec.bootstrap.is_empty()
        {
            let b = self.spec.bootstrap[self.bootstrap_cursor % self.spec.bootstrap.len()];
            self.next_correlation += 1;
            let c = self.next_correlation;
            self.metadata_in_flight = Some((c, now + cfg.request_timeout_ms));
            // Until the answer comes, retry at the backoff; a good answer pushes this out.
            self.metadata_refresh_at = now + cfg.retry_backoff_ms;
            fx.send(
                NodeId::Broker(b),
                Message::MetadataRequest { correlation: c },
            );
        }
        let partitions: Vec<u32> = self.queues.keys().copied().collect();
        for p in partitions {
            loop {
                if self.send_blocked(p) {
                    break;
                }
                let leader = self.leaders[&p].0;
                let q = self.queues.get_mut(&p).expect("listed");
                let Some(b) = q.front() else {
                    break;
                };
                let ready = match b.retry_at {
                    Some(t) => t <= now,
                    None => {
                        b.bytes >= cfg.batch_size || now >= b.created + cfg.linger_ms || q.len() > 1
                    }
                };
                if !ready {
                    break;
                }
                let mut b = q.pop_front().expect("checked");
                if self.spec.idempotent && b.sequence.is_none() {
                    let s = self.next_sequence.entry(p).or_insert(0);
                    b.sequence = Some(*s);
                    *s += b.records.len() as u32;
                }
                if self.sticky == Some(p) {
                    self.sticky = None;
                }
                b.attempts += 1;
                b.retry_at = None;
                self.next_correlation += 1;
                let correlation = self.next_correlation;
                let tp = self.tp(p);
                fx.event(Event::BatchSent {
                    producer: self.node,
                    tp: tp.clone(),
                    broker: leader,
                    values: b.records.iter().map(|r| r.value.clone()).collect(),
                    attempt: b.attempts,
                    sequence: b.sequence,
                });
                let idempotent = b.sequence.map(|s| IdempotentBatch {
                    producer_id: self.producer_id,
                    producer_epoch: self.producer_epoch,
                    base_sequence: s,
                });
                fx.send(
                    NodeId::Broker(leader),
                    Message::Produce(ProduceRequest {
                        correlation,
                        tp: tp.clone(),
                        acks: cfg.acks,
                        timeout_ms: cfg.request_timeout_ms,
                        records: b.records.clone(),
                        idempotent,
                        transactional_id: self.txn.as_ref().map(|t| t.id.clone()),
                    }),
                );
                if cfg.acks == Acks::None {
                    let values = b.records.iter().map(|r| r.value.clone()).collect();
                    fx.event(Event::Acked {
                        producer: self.node,
                        tp,
                        base_offset: None,
                        values,
                    });
                } else {
                    self.in_flight.insert(
                        correlation,
                        InFlight {
                            batch: b,
                            broker: leader,
                            deadline: now + cfg.request_timeout_ms,
                        },
                    );
                }
            }
        }
        self.queues.retain(|_, q| !q.is_empty());
    }
}

#[cfg(test)]
mod tests;
