//! Per-partition producer state: the last five batches of each producer id, and the
//! transactions open on this partition.
//!
//! This is Kafka's `ProducerStateManager` in miniature. It is rebuilt from the log whenever
//! the log is truncated, because the log is the only source of truth a replica has: a new
//! leader must recognise a retried batch that the old leader appended, and must know which
//! transactions are still open to compute the last stable offset. Every replica (leader or
//! follower) keeps it as it appends, as Kafka's followers do.

use std::collections::{BTreeMap, VecDeque};

use crate::log::{ControlType, PartitionLog, Record};
use crate::protocol::AbortedTxn;

/// How many recent batches Kafka remembers per producer (`NUM_BATCHES_TO_RETAIN`).
pub const BATCHES_TO_RETAIN: usize = 5;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct BatchMeta {
    first_seq: u32,
    last_seq: u32,
    base_offset: u64,
}

#[derive(Clone, Debug, Default)]
struct ProducerEntry {
    epoch: u16,
    batches: VecDeque<BatchMeta>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SequenceCheck {
    /// Append it.
    Accept,
    /// Already in the log at this base offset: acknowledge without appending.
    Duplicate(u64),
    /// A gap: an earlier batch is missing (`OUT_OF_ORDER_SEQUENCE_NUMBER`).
    OutOfOrder,
}

#[derive(Clone, Debug, Default)]
pub struct ProducerStateTable {
    producers: BTreeMap<u64, ProducerEntry>,
    /// Transactions open on this partition: producer id → (epoch, first offset).
    ongoing: BTreeMap<u64, (u16, u64)>,
    /// Transactions whose marker is in the log but maybe not yet below the HW:
    /// (first offset, marker offset). Until the HW passes the marker they still hold the LSO
    /// back (Kafka's `unreplicatedTxns`).
    completing: Vec<(u64, u64)>,
    /// Aborted transactions in offset order (Kafka's aborted-transaction index):
    /// (producer id, first offset, marker offset).
    aborted: Vec<(u64, u64, u64)>,
}

/// What an appended record did to the transactions open on this partition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxnChange {
    /// The producer's first transactional record here since its last marker.
    Opened {
        producer_id: u64,
        producer_epoch: u16,
    },
    /// A marker closed the producer's transaction (opened at `first_offset`, if one was open).
    Closed {
        producer_id: u64,
        first_offset: Option<u64>,
    },
}

impl ProducerStateTable {
    pub fn check(
        &self,
        producer_id: u64,
        epoch: u16,
        first_seq: u32,
        last_seq: u32,
    ) -> SequenceCheck {
        let Some(entry) = self.producers.get(&producer_id) else {
            // A producer the partition has never seen must start at sequence 0.
            return if first_seq == 0 {
                SequenceCheck::Accept
            } else {
                SequenceCheck::OutOfOrder
            };
        };
        if epoch > entry.epoch {
            return if first_seq == 0 {
                SequenceCheck::Accept
            } else {
                SequenceCheck::OutOfOrder
            };
        }
        if let Some(b) = entry
            .batches
            .iter()
            .find(|b| b.first_seq == first_seq && b.last_seq == last_seq)
        {
            return SequenceCheck::Duplicate(b.base_offset);
        }
        match entry.batches.back() {
            Some(last) if first_seq == last.last_seq.wrapping_add(1) => SequenceCheck::Accept,
            // A marker started a new epoch (transaction.version 2): sequences start again at 0.
            None if first_seq == 0 => SequenceCheck::Accept,
            None => SequenceCheck::OutOfOrder,
            Some(_) => SequenceCheck::OutOfOrder,
        }
    }

    pub fn record(
        &mut self,
        producer_id: u64,
        epoch: u16,
        first_seq: u32,
        last_seq: u32,
        base_offset: u64,
    ) {
        let entry = self.producers.entry(producer_id).or_default();
        if epoch > entry.epoch {
            entry.batches.clear();
            entry.epoch = epoch;
        }
        entry.batches.push_back(BatchMeta {
            first_seq,
            last_seq,
            base_offset,
        });
        while entry.batches.len() > BATCHES_TO_RETAIN {
            entry.batches.pop_front();
        }
    }

    /// Rebuilds the table from the batches in `log`, as a replica does after truncation.
    pub fn rebuild(log: &PartitionLog) -> Self {
        let mut t = ProducerStateTable::default();
        for r in log.records() {
            let last_of_batch = r.producer.filter(|p| p.sequence == p.batch_last);
            if let Some(p) = last_of_batch.filter(|_| r.control.is_none()) {
                let base = r.offset - (p.batch_last - p.batch_first) as u64;
                t.record(
                    p.producer_id,
                    p.producer_epoch,
                    p.batch_first,
                    p.batch_last,
                    base,
                );
            }
            t.observe(r);
        }
        t
    }

    /// The newest epoch this partition has seen for `producer_id` (from its batches and
    /// markers): a transactional write with an older one is INVALID_PRODUCER_EPOCH.
    pub fn epoch(&self, producer_id: u64) -> Option<u16> {
        self.producers.get(&producer_id).map(|e| e.epoch)
    }

    /// Whether `producer_id` has a transaction open here in `epoch` (so a write needs no
    /// verification with the coordinator).
    pub fn in_transaction(&self, producer_id: u64, epoch: u16) -> bool {
        self.ongoing
            .get(&producer_id)
            .is_some_and(|&(e, _)| e == epoch)
    }

    /// The first offset of `producer_id`'s transaction open on this partition.
    pub fn first_offset_of(&self, producer_id: u64) -> Option<u64> {
        self.ongoing.get(&producer_id).map(|&(_, f)| f)
    }

    /// Follows transactions as records are appended (on the leader and on followers alike):
    /// a transactional record opens its producer's transaction here if none is open; a marker
    /// closes it.
    pub fn observe(&mut self, r: &Record) -> Option<TxnChange> {
        let p = r.producer?;
        if let Some(kind) = r.control {
            let entry = self.producers.entry(p.producer_id).or_default();
            if p.producer_epoch > entry.epoch {
                entry.epoch = p.producer_epoch;
                entry.batches.clear();
            }
            let first = self.ongoing.remove(&p.producer_id).map(|(_, f)| f);
            if let Some(f) = first {
                self.completing.push((f, r.offset));
                if kind == ControlType::Abort {
                    self.aborted.push((p.producer_id, f, r.offset));
                }
            }
            return Some(TxnChange::Closed {
                producer_id: p.producer_id,
                first_offset: first,
            });
        }
        if p.transactional && !self.ongoing.contains_key(&p.producer_id) {
            self.ongoing
                .insert(p.producer_id, (p.producer_epoch, r.offset));
            return Some(TxnChange::Opened {
                producer_id: p.producer_id,
                producer_epoch: p.producer_epoch,
            });
        }
        None
    }

    /// The first offset of a transaction still open, or closed by a marker the HW has not
    /// passed (Kafka's `firstUnstableOffset`).
    pub fn first_unstable(&self, hw: u64) -> Option<u64> {
        let open = self.ongoing.values().map(|&(_, f)| f);
        let closing = self
            .completing
            .iter()
            .filter(|&&(_, marker)| marker >= hw)
            .map(|&(f, _)| f);
        open.chain(closing).min()
    }

    /// The last stable offset: the HW, or the first unstable offset below it.
    pub fn last_stable_offset(&self, hw: u64) -> u64 {
        self.first_unstable(hw).map_or(hw, |f| f.min(hw))
    }

    /// Forgets closed transactions whose markers the HW has passed.
    pub fn prune(&mut self, hw: u64) {
        self.completing.retain(|&(_, marker)| marker >= hw);
    }

    /// The aborted transactions a `read_committed` fetch of `[from, to)` must skip.
    pub fn aborted_in(&self, from: u64, to: u64) -> Vec<AbortedTxn> {
        self.aborted
            .iter()
            .filter(|&&(_, first, last)| last >= from && first < to)
            .map(|&(producer_id, first_offset, _)| AbortedTxn {
                producer_id,
                first_offset,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retried_batch_is_a_duplicate_and_a_gap_is_out_of_order() {
        let mut t = ProducerStateTable::default();
        assert_eq!(t.check(7, 0, 0, 2), SequenceCheck::Accept);
        t.record(7, 0, 0, 2, 10);
        assert_eq!(t.check(7, 0, 0, 2), SequenceCheck::Duplicate(10));
        assert_eq!(t.check(7, 0, 5, 6), SequenceCheck::OutOfOrder);
        assert_eq!(t.check(7, 0, 3, 4), SequenceCheck::Accept);
        assert_eq!(
            t.check(8, 0, 4, 4),
            SequenceCheck::OutOfOrder,
            "unknown producer must start at 0"
        );
    }

    fn txn_record(offset: u64, pid: u64, epoch: u16, control: Option<ControlType>) -> Record {
        Record {
            offset,
            leader_epoch: 0,
            data: crate::log::RecordData {
                key: None,
                value: "v".into(),
                timestamp: 0,
                size: 1,
                payload: None,
            },
            producer: Some(crate::log::ProducerStamp {
                producer_id: pid,
                producer_epoch: epoch,
                sequence: 0,
                batch_first: 0,
                batch_last: 0,
                transactional: true,
            }),
            control,
        }
    }

    /// The LSO stops at the first open transaction, and stays there until the HW passes the
    /// marker that closes it; an aborted transaction is listed for read_committed fetches.
    #[test]
    fn last_stable_offset_and_aborted_index_follow_markers() {
        let mut t = ProducerStateTable::default();
        t.observe(&txn_record(0, 1, 0, None));
        t.observe(&txn_record(1, 2, 0, None));
        t.observe(&txn_record(2, 1, 0, None));
        assert_eq!(
            t.last_stable_offset(3),
            0,
            "producer 1's transaction is open"
        );
        let closed = t.observe(&txn_record(3, 1, 1, Some(ControlType::Abort)));
        assert_eq!(
            closed,
            Some(TxnChange::Closed {
                producer_id: 1,
                first_offset: Some(0)
            })
        );
        assert_eq!(
            t.epoch(1),
            Some(1),
            "the marker's epoch fences older writes"
        );
        assert_eq!(
            t.last_stable_offset(3),
            0,
            "the marker is not below the HW yet"
        );
        assert_eq!(t.last_stable_offset(4), 1, "producer 2 is still open");
        t.observe(&txn_record(4, 2, 1, Some(ControlType::Commit)));
        assert_eq!(t.last_stable_offset(5), 5);
        assert_eq!(
            t.aborted_in(0, 5),
            vec![AbortedTxn {
                producer_id: 1,
                first_offset: 0
            }]
        );
        assert!(t.aborted_in(4, 5).is_empty(), "the abort ended at 3");
    }

    #[test]
    fn only_the_last_five_batches_are_remembered() {
        let mut t = ProducerStateTable::default();
        for i in 0..7u32 {
            t.record(1, 0, i, i, i as u64);
        }
        assert_eq!(t.check(1, 0, 1, 1), SequenceCheck::OutOfOrder, "evicted");
        assert_eq!(t.check(1, 0, 2, 2), SequenceCheck::Duplicate(2));
    }
}
