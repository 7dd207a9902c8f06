//! Offsets committed inside a transaction (KIP-98's `TxnOffsetCommit`, KIP-447's fencing by
//! generation): the group coordinator writes them to `__consumer_offsets` with the producer's
//! id, keeps them *pending*, and makes them the group's committed offsets only when the
//! transaction's COMMIT marker on that partition is below the HW (an ABORT marker drops them).
//! Until then a read_committed consumer's OffsetFetch (`require_stable`) gets
//! UNSTABLE_OFFSET_COMMIT, so a new owner of the partition waits for the transaction to end
//! instead of starting from offsets that are about to change.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::records;
use super::state::{offsets_error, Committed, Group};
use crate::broker::append_waiter::{PendingWrite, TxnOffsetsWrite, Waiter};
use crate::broker::{Broker, Role};
use crate::effects::Effects;
use crate::ids::{Millis, NodeId, TopicPartition};
use crate::log::{ProducerStamp, RecordData};
use crate::protocol::{ErrorCode, Message, OffsetAndEpoch};
use crate::trace::Event;

/// As the group coordinator's other writes (`offsets.commit.timeout.ms`).
const TXN_OFFSET_COMMIT_TIMEOUT_MS: Millis = 5_000;

/// A TxnOffsetCommit as the coordinator handles it.
pub(in crate::broker) struct TxnOffsets {
    pub correlation: u64,
    pub group: Arc<str>,
    pub producer_id: u64,
    pub producer_epoch: u16,
    pub generation: Option<u32>,
    pub member_id: Option<Arc<str>>,
    pub offsets: Vec<OffsetAndEpoch>,
}

fn reply(fx: &mut Effects, to: NodeId, correlation: u64, error: Option<ErrorCode>) {
    fx.send(to, Message::TxnOffsetCommitResponse { correlation, error });
}

impl Broker {
    pub(in crate::broker) fn handle_txn_offset_commit(
        &mut self,
        now: Millis,
        from: NodeId,
        req: TxnOffsets,
        fx: &mut Effects,
    ) {
        let c = self.group_ctx(now);
        let correlation = req.correlation;
        let tp = match self.coordinating(&req.group) {
            Ok(tp) => tp,
            Err(e) => return reply(fx, from, correlation, Some(e)),
        };
        let g = match self.coordinator.groups.get_mut(&req.group) {
            Some(g) => g,
            None if req.generation.is_none() => self
                .coordinator
                .groups
                .entry(req.group.clone())
                .or_insert_with(|| Group::new(req.group.clone(), tp.clone())),
            None => return reply(fx, from, correlation, Some(ErrorCode::IllegalGeneration)),
        };
        // KIP-447: the group metadata fences a zombie whose generation has moved on.
        if let Err(e) = g.check_commit(&c, req.generation, &req.member_id) {
            return reply(fx, from, correlation, Some(e));
        }
        let refused = match self.replicas.get(&tp) {
            Some(r) if r.role == Role::Leader && self.shutdown.is_none() => {
                ((r.isr().len() as u32) < r.config.min_insync_replicas)
                    .then_some(ErrorCode::NotEnoughReplicas)
            }
            _ => Some(ErrorCode::NotLeaderOrFollower),
        };
        if let Some(e) = refused {
            return reply(fx, from, correlation, Some(offsets_error(e)));
        }
        let stamp = ProducerStamp {
            producer_id: req.producer_id,
            producer_epoch: req.producer_epoch,
            sequence: 0,
            batch_first: 0,
            batch_last: 0,
            transactional: true,
        };
        let data: Vec<(RecordData, Option<ProducerStamp>, _)> = req
            .offsets
            .iter()
            .map(|o| {
                (
                    records::offset_record(&req.group, o, req.generation, now),
                    Some(stamp),
                    None,
                )
            })
            .collect();
        let n = data.len() as u64;
        let base = self.append_records_as_leader(now, &tp, data, fx);
        self.await_high_watermark(
            now,
            &tp,
            base..base + n,
            TXN_OFFSET_COMMIT_TIMEOUT_MS,
            Waiter::Coordinator(PendingWrite::TxnOffsets(TxnOffsetsWrite {
                group: req.group,
                client: from,
                correlation,
                producer_id: req.producer_id,
                offsets: req.offsets,
            })),
            fx,
        );
    }

    /// The TxnOffsetCommit's records are below the HW (or failed): keep the offsets pending.
    pub(in crate::broker) fn txn_offsets_written(
        &mut self,
        w: TxnOffsetsWrite,
        result: Result<u64, ErrorCode>,
        fx: &mut Effects,
    ) {
        let TxnOffsetsWrite {
            group,
            client,
            correlation,
            producer_id,
            offsets,
        } = w;
        if let Err(e) = result {
            return reply(fx, client, correlation, Some(offsets_error(e)));
        }
        if let Some(g) = self.coordinator.groups.get_mut(&group) {
            let pending = g.pending_txn.entry(producer_id).or_default();
            for o in offsets {
                pending.insert(
                    o.tp,
                    Committed {
                        offset: o.offset,
                        leader_epoch: o.leader_epoch,
                    },
                );
            }
        }
        reply(fx, client, correlation, None);
    }

    /// A transaction marker on `tp` (a `__consumer_offsets` partition) is below the HW: the
    /// producer's pending offsets become committed (COMMIT) or are dropped (ABORT)
    /// (`GroupMetadataManager.handleTxnCompletion`).
    pub(in crate::broker) fn txn_offsets_completed(
        &mut self,
        tp: &TopicPartition,
        producer_id: u64,
        commit: bool,
        fx: &mut Effects,
    ) {
        let id = self.id;
        for g in self.coordinator.groups.values_mut().filter(|g| &g.tp == tp) {
            let Some(pending) = g.pending_txn.remove(&producer_id) else {
                continue;
            };
            if !commit {
                continue;
            }
            let offsets: Vec<(TopicPartition, u64)> = pending
                .iter()
                .map(|(tp, c)| (tp.clone(), c.offset))
                .collect();
            g.offsets.extend(pending);
            fx.event(Event::OffsetsCommitted {
                broker: id,
                group: g.name.clone(),
                generation: None,
                member: Some(format!("transaction of producer {producer_id}").into()),
                offsets,
            });
        }
    }
}

/// Pending transactional offsets found while loading a partition: producer id → group →
/// partition → offset. A marker later in the log settles them.
pub(super) type PendingLoad =
    BTreeMap<u64, BTreeMap<Arc<str>, BTreeMap<TopicPartition, Committed>>>;

/// Whether an OffsetFetch that requires stable offsets must wait for `g`'s pending ones.
pub(super) fn unstable(g: &Group, partitions: &[TopicPartition]) -> bool {
    g.pending_txn
        .values()
        .any(|p| partitions.iter().any(|tp| p.contains_key(tp)))
}
