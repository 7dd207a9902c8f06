//! The leader's produce path: `acks`, `min.insync.replicas`, and idempotent sequence checks.

use std::ops::Range;

use crate::broker::append_waiter::Waiter;
use crate::broker::producer_state::{SequenceCheck, TxnChange};
use crate::broker::txn::partition::TxnCheck;
use crate::broker::{Broker, Role};
use crate::config::{Acks, TimestampType};
use crate::effects::Effects;
use crate::ids::{Millis, NodeId, TopicPartition};
use crate::log::{ControlType, ProducerStamp, Record, RecordData};
use crate::protocol::{ErrorCode, Message, ProduceRequest};
use crate::trace::Event;

/// An acks=all append waiting for the HW to pass it (Kafka's `DelayedProduce`).
#[derive(Clone, Debug)]
pub(super) struct PendingProduce {
    waiter: Waiter,
    tp: TopicPartition,
    base_offset: u64,
    required_offset: u64,
    pub deadline: Millis,
}

impl PendingProduce {
    /// Whether this is a request from `peer` (which dies with the peer's connection).
    pub fn is_request_from(&self, peer: NodeId) -> bool {
        matches!(self.waiter, Waiter::Producer { from, .. } if from == peer)
    }
}

fn respond(
    fx: &mut Effects,
    to: NodeId,
    correlation: u64,
    tp: &TopicPartition,
    r: Result<u64, ErrorCode>,
) {
    let (error, base_offset) = match r {
        Ok(o) => (None, Some(o)),
        Err(e) => (Some(e), None),
    };
    fx.send(
        to,
        Message::ProduceResponse {
            correlation,
            tp: tp.clone(),
            error,
            base_offset,
        },
    );
}

impl Broker {
    pub(super) fn handle_produce(
        &mut self,
        now: Millis,
        from: NodeId,
        req: ProduceRequest,
        fx: &mut Effects,
    ) {
        self.produce(now, from, req, false, fx);
    }

    /// Answers a produce request (nothing for acks=0).
    pub(super) fn answer_produce(
        &self,
        from: NodeId,
        req: &ProduceRequest,
        r: Result<u64, ErrorCode>,
        fx: &mut Effects,
    ) {
        if req.acks != Acks::None {
            respond(fx, from, req.correlation, &req.tp, r)
        }
    }

    /// The produce path; `verified`: the coordinator has confirmed this transactional write.
    pub(super) fn produce(
        &mut self,
        now: Millis,
        from: NodeId,
        req: ProduceRequest,
        verified: bool,
        fx: &mut Effects,
    ) {
        let leads = self
            .replicas
            .get(&req.tp)
            .is_some_and(|r| r.role == Role::Leader);
        if leads && self.shutdown.is_none() {
            match self.check_transactional_write(&req, verified) {
                TxnCheck::Go => {}
                TxnCheck::Refuse(e) => return self.answer_produce(from, &req, Err(e), fx),
                TxnCheck::Verify => return self.verify_transactional_write(now, from, req, fx),
            }
        }
        let ProduceRequest {
            correlation,
            tp,
            acks,
            timeout_ms,
            records,
            idempotent,
            transactional_id,
        } = req;
        let id = self.id;
        let reply = |fx: &mut Effects, r| {
            // acks=0 requests get no response at all, not even an error.
            if acks != Acks::None {
                respond(fx, from, correlation, &tp, r)
            }
        };
        let Some(r) = self
            .replicas
            .get_mut(&tp)
            .filter(|r| r.role == Role::Leader)
        else {
            return reply(fx, Err(ErrorCode::NotLeaderOrFollower));
        };
        if self.shutdown.is_some() {
            return reply(fx, Err(ErrorCode::NotLeaderOrFollower));
        }
        if acks == Acks::All && (r.isr().len() as u32) < r.config.min_insync_replicas {
            return reply(fx, Err(ErrorCode::NotEnoughReplicas));
        }
        let n = records.len() as u64;
        let mut duplicate_of = None;
        if let Some(b) = idempotent {
            let last_seq = b.base_sequence + n as u32 - 1;
            match r
                .producers
                .check(b.producer_id, b.producer_epoch, b.base_sequence, last_seq)
            {
                SequenceCheck::Accept => {}
                SequenceCheck::Duplicate(base) => duplicate_of = Some(base),
                SequenceCheck::OutOfOrder => {
                    return reply(fx, Err(ErrorCode::OutOfOrderSequenceNumber))
                }
            }
        }
        let base = match duplicate_of {
            Some(base) => {
                let b = idempotent.expect("duplicate implies idempotent");
                fx.event(Event::DuplicateBatch {
                    broker: id,
                    tp: tp.clone(),
                    producer_id: b.producer_id,
                    base_sequence: b.base_sequence,
                    base_offset: base,
                });
                base
            }
            None => {
                let data = records
                    .into_iter()
                    .enumerate()
                    .map(|(i, data)| {
                        let stamp = idempotent.map(|b| ProducerStamp {
                            producer_id: b.producer_id,
                            producer_epoch: b.producer_epoch,
                            sequence: b.base_sequence + i as u32,
                            batch_first: b.base_sequence,
                            batch_last: b.base_sequence + n as u32 - 1,
                            transactional: transactional_id.is_some(),
                        });
                        (data, stamp)
                    })
                    .collect();
                let base = self.append_as_leader(now, &tp, data, fx);
                if let Some(b) = idempotent {
                    let r = self.replicas.get_mut(&tp).expect("leader replica");
                    r.producers.record(
                        b.producer_id,
                        b.producer_epoch,
                        b.base_sequence,
                        b.base_sequence + n as u32 - 1,
                        base,
                    );
                }
                base
            }
        };
        match acks {
            Acks::None => {}
            Acks::Leader => respond(fx, from, correlation, &tp, Ok(base)),
            Acks::All => self.await_high_watermark(
                now,
                &tp,
                base..base + n,
                timeout_ms,
                Waiter::Producer { from, correlation },
                fx,
            ),
        }
    }

    /// Appends records as the partition's leader, in its current epoch: the log, the trace,
    /// the flush policy, and waking the followers' parked fetches. Producers and the group
    /// coordinator both write through here. Returns the base offset.
    pub(super) fn append_as_leader(
        &mut self,
        now: Millis,
        tp: &TopicPartition,
        data: Vec<(RecordData, Option<ProducerStamp>)>,
        fx: &mut Effects,
    ) -> u64 {
        let data = data.into_iter().map(|(d, p)| (d, p, None)).collect();
        self.append_records_as_leader(now, tp, data, fx)
    }

    /// [`Broker::append_as_leader`] for records that may be control records (markers).
    pub(super) fn append_records_as_leader(
        &mut self,
        now: Millis,
        tp: &TopicPartition,
        data: Vec<(RecordData, Option<ProducerStamp>, Option<ControlType>)>,
        fx: &mut Effects,
    ) -> u64 {
        let id = self.id;
        let r = self.replicas.get_mut(tp).expect("leader replica");
        let epoch = r.leader_epoch();
        let values = data.iter().map(|(d, _, _)| d.value.clone()).collect();
        let log_append_time = r.config.timestamp_type == TimestampType::LogAppendTime;
        let recs: Vec<Record> = data
            .into_iter()
            .map(|(mut data, producer, control)| {
                if log_append_time {
                    data.timestamp = now;
                }
                Record {
                    offset: 0,
                    leader_epoch: epoch,
                    data,
                    producer,
                    control,
                }
            })
            .collect();
        let (base, rolled) = r.log.append(recs);
        if let Some(base_offset) = rolled {
            fx.event(Event::SegmentRolled {
                broker: id,
                tp: tp.clone(),
                base_offset,
            });
        }
        for rec in r.log.records_from(base) {
            if let Some(TxnChange::Opened {
                producer_id,
                producer_epoch,
            }) = r.producers.observe(rec)
            {
                fx.event(Event::TxnStarted {
                    broker: id,
                    tp: tp.clone(),
                    offset: rec.offset,
                    producer_id,
                    producer_epoch,
                });
            }
        }
        fx.event(Event::Appended {
            broker: id,
            tp: tp.clone(),
            base_offset: base,
            leader_epoch: epoch,
            values,
            leader: true,
        });
        self.after_append(now, tp, fx);
        self.wake_parked(tp, super::replication::Wake::LogGrew, fx);
        // Kafka's appendRecordsToLeader tries to move the HW after every append, whatever the
        // acks: with the leader alone in the ISR that is the only thing that moves it.
        self.maybe_advance_hw(now, tp, fx);
        base
    }

    /// [`Broker::await_high_watermark`] for the transaction coordinator's state write, which
    /// [`Broker::txn_write_done`] finishes.
    pub(super) fn await_txn_write(
        &mut self,
        now: Millis,
        tp: &TopicPartition,
        appended: Range<u64>,
        timeout_ms: Millis,
        write: crate::broker::txn::TxnWrite,
        fx: &mut Effects,
    ) {
        let waiter = Waiter::Txn(Box::new(write));
        self.await_high_watermark(now, tp, appended, timeout_ms, waiter, fx);
    }

    /// Holds the `appended` offsets until the HW passes them or `timeout_ms` elapses, then
    /// tells `waiter` (acks=all, `offsets.commit.required.acks=-1`).
    pub(super) fn await_high_watermark(
        &mut self,
        now: Millis,
        tp: &TopicPartition,
        appended: Range<u64>,
        timeout_ms: Millis,
        waiter: Waiter,
        fx: &mut Effects,
    ) {
        self.pending_produce.push(PendingProduce {
            waiter,
            tp: tp.clone(),
            base_offset: appended.start,
            required_offset: appended.end,
            deadline: now + timeout_ms,
        });
        self.complete_produce(now, tp, fx);
        self.maybe_advance_hw(now, tp, fx);
    }

    /// Tells a waiter how its append ended: the base offset, or why it failed.
    fn finish_pending(
        &mut self,
        now: Millis,
        p: PendingProduce,
        result: Result<u64, ErrorCode>,
        fx: &mut Effects,
    ) {
        match p.waiter {
            Waiter::Producer { from, correlation } => respond(fx, from, correlation, &p.tp, result),
            Waiter::Coordinator(w) => self.coordinator_write_done(now, w, result, fx),
            Waiter::Txn(w) => self.txn_write_done(now, *w, result, fx),
            Waiter::Marker {
                coordinator,
                correlation,
                producer_id,
                commit,
            } => {
                if result.is_ok() && &*p.tp.topic == crate::ids::OFFSETS_TOPIC {
                    self.txn_offsets_completed(&p.tp, producer_id, commit, fx);
                }
                fx.send(
                    coordinator,
                    Message::WriteTxnMarkersResponse {
                        correlation,
                        results: vec![(producer_id, p.tp.clone(), result.err())],
                    },
                )
            }
        }
    }

    /// Takes out the pending appends `done` selects, keeping the others in order.
    fn take_pending(
        &mut self,
        mut done: impl FnMut(&PendingProduce) -> bool,
    ) -> Vec<PendingProduce> {
        let (out, keep) = std::mem::take(&mut self.pending_produce)
            .into_iter()
            .partition(|p| done(p));
        self.pending_produce = keep;
        out
    }

    /// Answers acks=all requests the HW has passed (`checkEnoughReplicasReachOffset`).
    pub(super) fn complete_produce(&mut self, now: Millis, tp: &TopicPartition, fx: &mut Effects) {
        let Some(r) = self.replicas.get(tp) else {
            return;
        };
        let hw = r.high_watermark;
        let enough = r.maximal_isr().len() as u32 >= r.config.min_insync_replicas;
        // Waiters are told only once the list is consistent again: a coordinator callback may
        // append (and so complete) more.
        for p in self.take_pending(|p| &p.tp == tp && p.required_offset <= hw) {
            let result = if enough {
                Ok(p.base_offset)
            } else {
                Err(ErrorCode::NotEnoughReplicasAfterAppend)
            };
            self.finish_pending(now, p, result, fx);
        }
    }

    pub(super) fn fail_pending_produce(
        &mut self,
        now: Millis,
        tp: &TopicPartition,
        e: ErrorCode,
        fx: &mut Effects,
    ) {
        for p in self.take_pending(|p| &p.tp == tp) {
            self.finish_pending(now, p, Err(e), fx);
        }
    }

    pub(super) fn expire_produce(&mut self, now: Millis, fx: &mut Effects) {
        for p in self.take_pending(|p| p.deadline <= now) {
            self.finish_pending(now, p, Err(ErrorCode::RequestTimedOut), fx);
        }
    }
}
