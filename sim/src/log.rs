//! A partition replica's log: records, the leader-epoch cache, and the flushed prefix.
//!
//! Offsets start at 0 and are dense (no retention or compaction is modelled), so a record's
//! offset is its index. The leader-epoch cache is Kafka's `leader-epoch-checkpoint`: for each
//! epoch, the first offset written in it. It is what lets a follower find where its log and the
//! leader's diverge (KIP-101/KIP-279) instead of trusting its own high watermark.

use std::sync::Arc;

use serde::Serialize;

use crate::ids::Millis;

/// Producer identity and sequence of an idempotent batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ProducerStamp {
    pub producer_id: u64,
    pub producer_epoch: u16,
    pub sequence: u32,
    /// The sequence range of the batch this record came in. Kafka replicates whole batches, so
    /// a follower (and later a new leader) knows batch boundaries and can recognise a retried
    /// batch as a duplicate.
    pub batch_first: u32,
    pub batch_last: u32,
}

/// What a producer sent, before a leader gives it an offset.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RecordData {
    pub key: Option<Arc<str>>,
    /// The record's value: a label unique in the run (`a-17`, or a scenario's `m1`), so
    /// checkers can follow every record from send to acknowledgement to the final log.
    pub value: Arc<str>,
    pub timestamp: Millis,
    pub size: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Record {
    pub offset: u64,
    pub leader_epoch: u32,
    pub data: RecordData,
    /// Set when the producer is idempotent.
    pub producer: Option<ProducerStamp>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct PartitionLog {
    records: Vec<Record>,
    /// Records `[0, flushed)` are on disk; the rest only in the page cache.
    flushed: u64,
    /// `(epoch, start offset)`, strictly increasing in both.
    epochs: Vec<(u32, u64)>,
}

impl PartitionLog {
    pub fn end_offset(&self) -> u64 {
        self.records.len() as u64
    }

    pub fn records(&self) -> &[Record] {
        &self.records
    }

    pub fn get(&self, offset: u64) -> Option<&Record> {
        self.records.get(offset as usize)
    }

    pub fn flushed(&self) -> u64 {
        self.flushed
    }

    pub fn epochs(&self) -> &[(u32, u64)] {
        &self.epochs
    }

    pub fn latest_epoch(&self) -> Option<u32> {
        self.epochs.last().map(|e| e.0)
    }

    /// Records an epoch start, as a leader does when elected (`LeaderEpochFileCache.assign`).
    pub fn assign_epoch(&mut self, epoch: u32, start_offset: u64) {
        if let Some(&(last, _)) = self.epochs.last() {
            if epoch <= last {
                return;
            }
        }
        self.epochs.push((epoch, start_offset));
    }

    /// Appends records whose offset and epoch are already set (follower) or are set here
    /// (leader, with `leader_epoch`). Returns the base offset.
    pub fn append(&mut self, mut records: Vec<Record>) -> u64 {
        let base = self.end_offset();
        for (i, r) in records.iter_mut().enumerate() {
            r.offset = base + i as u64;
            self.assign_epoch(r.leader_epoch, r.offset);
        }
        self.records.extend(records);
        base
    }

    /// Removes `[offset, end)`, and the epochs that started there.
    pub fn truncate_to(&mut self, offset: u64) -> u64 {
        let removed = self.end_offset().saturating_sub(offset);
        self.records.truncate(offset as usize);
        self.flushed = self.flushed.min(offset);
        self.epochs.retain(|&(_, start)| start < offset);
        removed
    }

    pub fn flush(&mut self) -> bool {
        let changed = self.flushed != self.end_offset();
        self.flushed = self.end_offset();
        changed
    }

    pub fn flush_to(&mut self, offset: u64) {
        self.flushed = self.flushed.max(offset.min(self.end_offset()));
    }

    pub fn unflushed(&self) -> u64 {
        self.end_offset() - self.flushed
    }

    /// Kafka's `endOffsetForEpoch`: for the largest epoch `<= epoch` in the cache, that epoch and
    /// the offset where the next epoch starts (or the log end). `None` when no such epoch exists
    /// (Kafka's UNDEFINED_EPOCH).
    pub fn end_offset_for_epoch(&self, epoch: u32) -> Option<(u32, u64)> {
        let idx = self.epochs.iter().rposition(|&(e, _)| e <= epoch)?;
        let found = self.epochs[idx].0;
        let end = match self.epochs.get(idx + 1) {
            Some(&(_, next_start)) => next_start,
            None => self.end_offset(),
        };
        Some((found, end))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(epoch: u32, v: &str) -> Record {
        Record {
            offset: 0,
            leader_epoch: epoch,
            data: RecordData {
                key: None,
                value: v.into(),
                timestamp: 0,
                size: 10,
            },
            producer: None,
        }
    }

    #[test]
    fn epoch_end_offsets_follow_offsets_for_leader_epoch_semantics() {
        let mut log = PartitionLog::default();
        log.assign_epoch(0, 0);
        log.append(vec![rec(0, "m1"), rec(0, "m2")]);
        log.assign_epoch(2, 2);
        log.append(vec![rec(2, "m3")]);
        assert_eq!(log.end_offset_for_epoch(0), Some((0, 2)));
        // Epoch 1 never existed here: the answer is the largest epoch below it.
        assert_eq!(log.end_offset_for_epoch(1), Some((0, 2)));
        assert_eq!(log.end_offset_for_epoch(2), Some((2, 3)));
        assert_eq!(log.end_offset_for_epoch(7), Some((2, 3)));
    }

    #[test]
    fn truncation_drops_records_epochs_and_flushed_marker() {
        let mut log = PartitionLog::default();
        log.append(vec![rec(0, "m1"), rec(1, "m2"), rec(1, "m3")]);
        log.flush();
        assert_eq!(log.epochs(), &[(0, 0), (1, 1)]);
        assert_eq!(log.truncate_to(1), 2);
        assert_eq!(log.end_offset(), 1);
        assert_eq!(log.flushed(), 1);
        assert_eq!(log.epochs(), &[(0, 0)]);
        assert_eq!(log.end_offset_for_epoch(5), Some((0, 1)));
    }
}
