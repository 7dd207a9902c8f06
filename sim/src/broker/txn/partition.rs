//! A partition leader's side of transactions: fencing stale producer epochs, verifying a
//! transactional write with the coordinator before it opens a transaction here (KIP-890), and
//! appending the coordinator's markers (`WriteTxnMarkers`).

use std::sync::Arc;

use crate::broker::append_waiter::Waiter;
use crate::broker::{Broker, Role};
use crate::effects::Effects;
use crate::ids::{Millis, NodeId, TopicPartition};
use crate::log::{marker_label, ControlType, ProducerStamp, Record, RecordData};
use crate::protocol::{ErrorCode, Message, ProduceRequest, TxnMarker};
use crate::trace::Event;

/// How long a marker append waits for the HW before the coordinator is told it failed.
const MARKER_WRITE_TIMEOUT_MS: Millis = 5_000;

/// A transactional produce held while the coordinator is asked about it.
#[derive(Clone, Debug)]
pub(in crate::broker) struct Verifying {
    pub from: NodeId,
    pub request: ProduceRequest,
    pub deadline: Millis,
}

/// What the leader decides about a transactional write before appending it.
pub(in crate::broker) enum TxnCheck {
    /// Append it.
    Go,
    /// Refuse it with this error.
    Refuse(ErrorCode),
    /// Ask the coordinator first (the request is held).
    Verify,
}

impl Broker {
    /// The checks a transactional write passes on the leader: its epoch is not older than the
    /// partition has seen (a marker of a later transaction, or a newer producer, fenced it),
    /// and, unless its transaction is already open here, the coordinator confirms it
    /// (`transaction.partition.verification.enable`, on since 3.6) or, with
    /// transaction.version 2, adds the partition to it.
    pub(in crate::broker) fn check_transactional_write(
        &self,
        req: &ProduceRequest,
        verified: bool,
    ) -> TxnCheck {
        let (Some(b), Some(_)) = (req.idempotent, &req.transactional_id) else {
            return TxnCheck::Go;
        };
        let Some(r) = self.replicas.get(&req.tp) else {
            return TxnCheck::Go;
        };
        if r.producers
            .epoch(b.producer_id)
            .is_some_and(|e| b.producer_epoch < e)
        {
            return TxnCheck::Refuse(ErrorCode::InvalidProducerEpoch);
        }
        let verify =
            self.features.transactions_v2() || self.config.transaction_partition_verification;
        if verify && !verified && !r.producers.in_transaction(b.producer_id, b.producer_epoch) {
            return TxnCheck::Verify;
        }
        TxnCheck::Go
    }

    /// Holds `req` and asks its coordinator whether (or, with transaction.version 2, that) its
    /// partition is in the producer's ongoing transaction.
    pub(in crate::broker) fn verify_transactional_write(
        &mut self,
        now: Millis,
        from: NodeId,
        req: ProduceRequest,
        fx: &mut Effects,
    ) {
        let id = req.transactional_id.clone().expect("transactional");
        let b = req.idempotent.expect("transactional implies idempotent");
        let Some(coordinator) = self.txn_coordinator_of(&id) else {
            return self.answer_produce(from, &req, Err(ErrorCode::CoordinatorNotAvailable), fx);
        };
        let c = self.correlation();
        let verify_only = !self.features.transactions_v2();
        fx.send(
            NodeId::Broker(coordinator),
            Message::AddPartitionsToTxn {
                correlation: c,
                transactional_id: id,
                producer_id: b.producer_id,
                producer_epoch: b.producer_epoch,
                partitions: vec![req.tp.clone()],
                verify_only,
            },
        );
        let deadline = now + req.timeout_ms;
        self.verifying.insert(
            c,
            Verifying {
                from,
                request: req,
                deadline,
            },
        );
    }

    /// The coordinator's answer about a held write: append it, or refuse it.
    pub(in crate::broker) fn handle_verification(
        &mut self,
        now: Millis,
        correlation: u64,
        error: Option<ErrorCode>,
        fx: &mut Effects,
    ) {
        let Some(v) = self.verifying.remove(&correlation) else {
            return;
        };
        match error {
            None => self.produce(now, v.from, v.request, true, fx),
            Some(e) => {
                // Kafka's `AddPartitionsToTxnManager` (its response handler): TRANSACTION_ABORTABLE
                // reaches only clients that know it (Produce v11+, Kafka 3.8+); an older one
                // (`TransactionSupportedOperation.DEFAULT_ERROR`) gets INVALID_TXN_STATE, as
                // before KIP-890's new error. Here transaction.version < 2 stands for the clients
                // of Kafka before 4.0 (3.5 to 3.7, when verification came without the new error);
                // with transaction.version 2 the coordinator adds the partition instead of
                // verifying it, and never answers TRANSACTION_ABORTABLE.
                let e = match e {
                    ErrorCode::TransactionAbortable if !self.features.transactions_v2() => {
                        ErrorCode::InvalidTxnState
                    }
                    e => e,
                };
                self.answer_produce(v.from, &v.request, Err(e), fx)
            }
        }
    }

    pub(in crate::broker) fn expire_verifications(&mut self, now: Millis, fx: &mut Effects) {
        let due: Vec<u64> = self
            .verifying
            .iter()
            .filter(|(_, v)| v.deadline <= now)
            .map(|(c, _)| *c)
            .collect();
        for c in due {
            let v = self.verifying.remove(&c).expect("listed");
            self.answer_produce(v.from, &v.request, Err(ErrorCode::RequestTimedOut), fx);
        }
    }

    /// WriteTxnMarkers: append each marker as a control record and answer once it is below the
    /// HW (Kafka appends markers with acks=-1).
    pub(in crate::broker) fn handle_write_txn_markers(
        &mut self,
        now: Millis,
        from: NodeId,
        correlation: u64,
        markers: Vec<TxnMarker>,
        fx: &mut Effects,
    ) {
        for m in markers {
            for tp in &m.partitions {
                let answer = |fx: &mut Effects, e: Option<ErrorCode>| {
                    fx.send(
                        from,
                        Message::WriteTxnMarkersResponse {
                            correlation,
                            results: vec![(m.producer_id, tp.clone(), e)],
                        },
                    )
                };
                let refused = match self.replicas.get(tp) {
                    Some(r) if r.role == Role::Leader && self.shutdown.is_none() => {
                        if r.producers
                            .epoch(m.producer_id)
                            .is_some_and(|e| m.producer_epoch < e)
                        {
                            Some(ErrorCode::InvalidProducerEpoch)
                        } else {
                            ((r.isr().len() as u32) < r.config.min_insync_replicas)
                                .then_some(ErrorCode::NotEnoughReplicas)
                        }
                    }
                    _ => Some(ErrorCode::NotLeaderOrFollower),
                };
                if let Some(e) = refused {
                    answer(fx, Some(e));
                    continue;
                }
                let base = self.append_marker(now, tp, &m, fx);
                self.await_high_watermark(
                    now,
                    tp,
                    base..base + 1,
                    MARKER_WRITE_TIMEOUT_MS,
                    Waiter::Marker {
                        coordinator: from,
                        correlation,
                        producer_id: m.producer_id,
                        commit: m.commit,
                    },
                    fx,
                );
            }
        }
    }

    /// Appends one marker and reports the transaction it closed with its records here.
    fn append_marker(
        &mut self,
        now: Millis,
        tp: &TopicPartition,
        m: &TxnMarker,
        fx: &mut Effects,
    ) -> u64 {
        let kind = if m.commit {
            ControlType::Commit
        } else {
            ControlType::Abort
        };
        let label: Arc<str> = marker_label(kind, m.producer_id, m.producer_epoch);
        let data = RecordData {
            payload: None,
            key: None,
            size: label.len() as u32 + 10,
            value: label,
            timestamp: now,
        };
        let stamp = ProducerStamp {
            producer_id: m.producer_id,
            producer_epoch: m.producer_epoch,
            sequence: 0,
            batch_first: 0,
            batch_last: 0,
            transactional: true,
        };
        let r = self.replicas.get(tp).expect("leader replica");
        let first = r
            .producers
            .first_offset_of(m.producer_id)
            .unwrap_or(r.log.end_offset());
        let records = transaction_records(r.log.records(), first, m.producer_id);
        let base =
            self.append_records_as_leader(now, tp, vec![(data, Some(stamp), Some(kind))], fx);
        fx.event(Event::TxnMarkerWritten {
            broker: self.id,
            tp: tp.clone(),
            offset: base,
            producer_id: m.producer_id,
            producer_epoch: m.producer_epoch,
            commit: m.commit,
            records,
        });
        base
    }
}

/// The records `producer_id` wrote from `first` on (its open transaction here).
fn transaction_records(records: &[Record], first: u64, producer_id: u64) -> Vec<(u64, Arc<str>)> {
    records
        .iter()
        .skip(first as usize)
        .filter(|r| r.control.is_none())
        .filter(|r| r.producer.is_some_and(|p| p.producer_id == producer_id))
        .map(|r| (r.offset, r.data.value.clone()))
        .collect()
}
