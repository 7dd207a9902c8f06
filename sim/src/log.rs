//! A partition replica's log: records, the leader-epoch cache, and the flushed prefix.
//!
//! Offsets start at 0 and are dense (no retention or compaction is modelled), so a record's
//! offset is its index. The leader-epoch cache is Kafka's `leader-epoch-checkpoint`: for each
//! epoch, the first offset written in it. It is what lets a follower find where its log and the
//! leader's diverge (KIP-101/KIP-279) instead of trusting its own high watermark.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::ids::Millis;

/// Producer identity and sequence of an idempotent batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProducerStamp {
    pub producer_id: u64,
    pub producer_epoch: u16,
    pub sequence: u32,
    /// The sequence range of the batch this record came in. Kafka replicates whole batches, so
    /// a follower (and later a new leader) knows batch boundaries and can recognise a retried
    /// batch as a duplicate.
    pub batch_first: u32,
    pub batch_last: u32,
    /// Written inside a transaction: invisible to `read_committed` consumers until a COMMIT
    /// marker for this producer follows it, and for good if an ABORT marker does.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub transactional: bool,
}

/// A control record's type: the transaction markers the coordinator writes (Kafka's
/// `ControlRecordType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ControlType {
    Commit,
    Abort,
}

impl ControlType {
    pub fn name(self) -> &'static str {
        match self {
            ControlType::Commit => "COMMIT",
            ControlType::Abort => "ABORT",
        }
    }
}

/// The label a marker carries in the trace and the views: `[COMMIT 1000.3]` (producer id and
/// epoch). Record labels written by producers never start with `[`.
pub fn marker_label(kind: ControlType, producer_id: u64, producer_epoch: u16) -> Arc<str> {
    format!("[{} {producer_id}.{producer_epoch}]", kind.name()).into()
}

/// Whether a label in the trace is a transaction marker's (see [`marker_label`]).
pub fn is_marker_label(label: &str) -> bool {
    label.starts_with("[COMMIT ") || label.starts_with("[ABORT ")
}

/// What a producer sent, before a leader gives it an offset.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordData {
    pub key: Option<Arc<str>>,
    /// The record's value: a label unique in the run (`a-17`, or a scenario's `m1`), so
    /// checkers can follow every record from send to acknowledgement to the final log.
    pub value: Arc<str>,
    pub timestamp: Millis,
    pub size: u32,
    /// The bytes a real client sent (`kafkascope serve`); `None` for simulated producers,
    /// whose records are their labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<Arc<crate::payload::Payload>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub offset: u64,
    pub leader_epoch: u32,
    pub data: RecordData,
    /// Set when the producer is idempotent.
    pub producer: Option<ProducerStamp>,
    /// A transaction marker (a control record: consumers never return it to the application).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control: Option<ControlType>,
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

    /// Kafka's `LeaderEpochFileCache.endOffsetFor(requestedEpoch, logEndOffset)`, case by
    /// case, as a leader answers OffsetsForLeaderEpoch and a follower looks up its own log:
    /// - the latest epoch in the cache (a leader's current one): that epoch and the log end;
    /// - an epoch with a higher one after it: the largest cached epoch `<=` the requested one
    ///   and the start offset of the first epoch above it;
    /// - an epoch older than every entry: the requested epoch and the first entry's start
    ///   offset (what came before was removed, so the follower replicates from there);
    /// - an epoch newer than every entry, or an empty cache: `None` (UNDEFINED_EPOCH_OFFSET).
    pub fn end_offset_for_epoch(&self, epoch: u32) -> Option<(u32, u64)> {
        if self.latest_epoch() == Some(epoch) {
            return Some((epoch, self.end_offset()));
        }
        let higher = self.epochs.iter().find(|&&(e, _)| e > epoch)?;
        match self.epochs.iter().rev().find(|&&(e, _)| e <= epoch) {
            Some(&(floor, _)) => Some((floor, higher.1)),
            None => Some((epoch, higher.1)),
        }
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
                payload: None,
                key: None,
                value: v.into(),
                timestamp: 0,
                size: 10,
            },
            producer: None,
            control: None,
        }
    }

    /// Every branch of `LeaderEpochFileCache.endOffsetFor`, with a cache of epochs 2 and 4.
    #[test]
    fn epoch_end_offsets_follow_leader_epoch_file_cache_end_offset_for() {
        let mut log = PartitionLog::default();
        log.assign_epoch(2, 0);
        log.append(vec![rec(2, "m1"), rec(2, "m2")]);
        log.assign_epoch(4, 2);
        log.append(vec![rec(4, "m3")]);
        assert_eq!(
            log.end_offset_for_epoch(4),
            Some((4, 3)),
            "latest: the log end"
        );
        assert_eq!(
            log.end_offset_for_epoch(2),
            Some((2, 2)),
            "cached: next epoch's start"
        );
        assert_eq!(
            log.end_offset_for_epoch(3),
            Some((2, 2)),
            "between two entries: the floor epoch, the next start"
        );
        assert_eq!(
            log.end_offset_for_epoch(1),
            Some((1, 0)),
            "older than every entry: the requested epoch and the first start"
        );
        assert_eq!(
            log.end_offset_for_epoch(7),
            None,
            "newer than all: undefined"
        );
        assert_eq!(
            PartitionLog::default().end_offset_for_epoch(0),
            None,
            "empty cache"
        );
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
        assert_eq!(log.end_offset_for_epoch(0), Some((0, 1)));
        assert_eq!(log.end_offset_for_epoch(5), None);
    }
}
