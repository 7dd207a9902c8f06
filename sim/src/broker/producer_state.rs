//! Per-partition idempotent-producer state: the last five batches of each producer id.
//!
//! This is Kafka's `ProducerStateManager` in miniature. It is rebuilt from the log whenever
//! the log is truncated, because the log is the only source of truth a replica has: a new
//! leader must recognise a retried batch that the old leader appended.

use std::collections::{BTreeMap, VecDeque};

use crate::log::PartitionLog;

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
            None => SequenceCheck::Accept,
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
            if let Some(p) = r.producer.filter(|p| p.sequence == p.batch_last) {
                let base = r.offset - (p.batch_last - p.batch_first) as u64;
                t.record(
                    p.producer_id,
                    p.producer_epoch,
                    p.batch_first,
                    p.batch_last,
                    base,
                );
            }
        }
        t
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
