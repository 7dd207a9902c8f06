//! The leader's produce path: `acks`, `min.insync.replicas`, and idempotent sequence checks.

use crate::broker::producer_state::SequenceCheck;
use crate::broker::{Broker, Role};
use crate::config::Acks;
use crate::effects::Effects;
use crate::ids::{Millis, NodeId, TopicPartition};
use crate::log::{ProducerStamp, Record, RecordData};
use crate::protocol::{ErrorCode, IdempotentBatch, Message};
use crate::trace::Event;

/// An acks=all request waiting for the HW to pass it (Kafka's `DelayedProduce`).
#[derive(Clone, Debug)]
pub(super) struct PendingProduce {
    pub from: NodeId,
    correlation: u64,
    tp: TopicPartition,
    base_offset: u64,
    required_offset: u64,
    pub deadline: Millis,
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
    #[allow(clippy::too_many_arguments)]
    pub(super) fn handle_produce(
        &mut self,
        now: Millis,
        from: NodeId,
        correlation: u64,
        tp: TopicPartition,
        acks: Acks,
        timeout_ms: u64,
        records: Vec<RecordData>,
        idempotent: Option<IdempotentBatch>,
        fx: &mut Effects,
    ) {
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
                let epoch = r.leader_epoch();
                let values = records.iter().map(|d| d.value.clone()).collect();
                let recs: Vec<Record> = records
                    .into_iter()
                    .enumerate()
                    .map(|(i, data)| Record {
                        offset: 0,
                        leader_epoch: epoch,
                        data,
                        producer: idempotent.map(|b| ProducerStamp {
                            producer_id: b.producer_id,
                            producer_epoch: b.producer_epoch,
                            sequence: b.base_sequence + i as u32,
                            batch_first: b.base_sequence,
                            batch_last: b.base_sequence + n as u32 - 1,
                        }),
                    })
                    .collect();
                let base = r.log.append(recs);
                if let Some(b) = idempotent {
                    r.producers.record(
                        b.producer_id,
                        b.producer_epoch,
                        b.base_sequence,
                        b.base_sequence + n as u32 - 1,
                        base,
                    );
                }
                fx.event(Event::Appended {
                    broker: id,
                    tp: tp.clone(),
                    base_offset: base,
                    leader_epoch: epoch,
                    values,
                    leader: true,
                });
                self.after_append(now, &tp, fx);
                self.wake_parked(&tp, super::replication::Wake::LogGrew, fx);
                base
            }
        };
        match acks {
            Acks::None => {}
            Acks::Leader => respond(fx, from, correlation, &tp, Ok(base)),
            Acks::All => {
                self.pending_produce.push(PendingProduce {
                    from,
                    correlation,
                    tp: tp.clone(),
                    base_offset: base,
                    required_offset: base + n,
                    deadline: now + timeout_ms,
                });
                self.complete_produce(&tp, fx);
                self.maybe_advance_hw(&tp, fx);
            }
        }
    }

    /// Answers acks=all requests the HW has passed (`checkEnoughReplicasReachOffset`).
    pub(super) fn complete_produce(&mut self, tp: &TopicPartition, fx: &mut Effects) {
        let Some(r) = self.replicas.get(tp) else {
            return;
        };
        let hw = r.high_watermark;
        let enough = r.maximal_isr().len() as u32 >= r.config.min_insync_replicas;
        let pending = std::mem::take(&mut self.pending_produce);
        for p in pending {
            if &p.tp == tp && p.required_offset <= hw {
                let result = if enough {
                    Ok(p.base_offset)
                } else {
                    Err(ErrorCode::NotEnoughReplicasAfterAppend)
                };
                respond(fx, p.from, p.correlation, &p.tp, result);
            } else {
                self.pending_produce.push(p);
            }
        }
    }

    pub(super) fn fail_pending_produce(
        &mut self,
        tp: &TopicPartition,
        e: ErrorCode,
        fx: &mut Effects,
    ) {
        let pending = std::mem::take(&mut self.pending_produce);
        for p in pending {
            if &p.tp == tp {
                respond(fx, p.from, p.correlation, &p.tp, Err(e));
            } else {
                self.pending_produce.push(p);
            }
        }
    }

    pub(super) fn expire_produce(&mut self, now: Millis, fx: &mut Effects) {
        let pending = std::mem::take(&mut self.pending_produce);
        for p in pending {
            if p.deadline <= now {
                respond(
                    fx,
                    p.from,
                    p.correlation,
                    &p.tp,
                    Err(ErrorCode::RequestTimedOut),
                );
            } else {
                self.pending_produce.push(p);
            }
        }
    }
}
