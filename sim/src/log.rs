//! A partition replica's log: records, the leader-epoch cache, and the flushed prefix.
//!
//! Offsets start at the log start offset, which retention and DeleteRecords move up; the
//! records sit in segments that roll by size and age and are deleted whole. The leader-epoch
//! cache is Kafka's `leader-epoch-checkpoint`: for each
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

/// One segment of a replica's log: the unit Kafka rolls, deletes for retention, and flushes.
/// The records stay in [`PartitionLog`]'s one vector; a segment is where its range starts and
/// what retention needs to know of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Segment {
    pub base_offset: u64,
    /// The records' sizes summed (Kafka's `segment.size`, without batch headers).
    pub bytes: u64,
    /// The first record's timestamp: `segment.ms` counts from it (`rollingBasedTimestamp`).
    pub first_timestamp: Option<Millis>,
    /// The largest record timestamp, or the creation time while empty: `retention.ms` counts
    /// from it (`LogSegment.largestTimestamp`), so one recent record keeps a whole segment.
    pub largest_timestamp: Millis,
}

impl Segment {
    fn empty(base_offset: u64, now: Millis) -> Self {
        Segment {
            base_offset,
            bytes: 0,
            first_timestamp: None,
            largest_timestamp: now,
        }
    }

    fn add(&mut self, r: &Record) {
        let ts = r.data.timestamp;
        self.bytes += r.data.size as u64;
        // The first record replaces the creation time that stood for an empty segment.
        self.largest_timestamp = match self.first_timestamp {
            None => ts,
            Some(_) => self.largest_timestamp.max(ts),
        };
        self.first_timestamp.get_or_insert(ts);
    }
}

/// When the active segment rolls (`segment.bytes`, `segment.ms`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct RollConfig {
    pub segment_bytes: u64,
    pub segment_ms: Millis,
}

impl Default for RollConfig {
    fn default() -> Self {
        RollConfig {
            segment_bytes: 1 << 30,
            segment_ms: 7 * 24 * 3600 * 1000,
        }
    }
}

/// What a retention pass removed (`UnifiedLog.deleteSegments`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deleted {
    /// Base offsets of the deleted segments.
    pub segments: Vec<u64>,
    /// Records removed.
    pub records: u64,
    /// The log start offset afterwards.
    pub log_start_offset: u64,
    /// The base offset of a segment rolled first because every segment was to go (Kafka
    /// keeps at least one).
    pub rolled: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PartitionLog {
    /// The records still on disk, by increasing offset, from the first segment's base.
    records: Vec<Record>,
    /// Offsets below are gone: the first a consumer may read. Moved by segment deletion, by
    /// DeleteRecords, or (on a follower) by the leader's; it may lie inside the first segment.
    log_start_offset: u64,
    /// The next offset to write (LEO).
    end_offset: u64,
    /// Records `[.., flushed)` are on disk; the rest only in the page cache.
    flushed: u64,
    /// `(epoch, start offset)`, strictly increasing in both.
    epochs: Vec<(u32, u64)>,
    /// Never empty: the last is the active segment.
    segments: Vec<Segment>,
    roll: RollConfig,
}

impl Default for PartitionLog {
    fn default() -> Self {
        PartitionLog {
            records: Vec::new(),
            log_start_offset: 0,
            end_offset: 0,
            flushed: 0,
            epochs: Vec::new(),
            segments: vec![Segment::empty(0, 0)],
            roll: RollConfig::default(),
        }
    }
}

impl PartitionLog {
    /// An empty log whose segments roll by `roll`, created at `now`.
    pub fn new(roll: RollConfig, now: Millis) -> Self {
        PartitionLog {
            segments: vec![Segment::empty(0, now)],
            roll,
            ..Default::default()
        }
    }

    pub fn set_roll_config(&mut self, roll: RollConfig) {
        self.roll = roll;
    }

    pub fn end_offset(&self) -> u64 {
        self.end_offset
    }

    pub fn log_start_offset(&self) -> u64 {
        self.log_start_offset
    }

    /// Every record still on disk (some may lie below the log start offset until their
    /// segment is deleted).
    pub fn records(&self) -> &[Record] {
        &self.records
    }

    /// The records at `offset` and after.
    pub fn records_from(&self, offset: u64) -> &[Record] {
        let i = self.records.partition_point(|r| r.offset < offset);
        &self.records[i..]
    }

    pub fn get(&self, offset: u64) -> Option<&Record> {
        let i = self.records.partition_point(|r| r.offset < offset);
        self.records.get(i).filter(|r| r.offset == offset)
    }

    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// The bytes of every segment (`UnifiedLog.size`).
    pub fn size(&self) -> u64 {
        self.segments.iter().map(|s| s.bytes).sum()
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

    /// Appends records as the leader: offsets from the log end. Returns the base offset and,
    /// if the active segment rolled first, the new segment's base.
    pub fn append(&mut self, mut records: Vec<Record>) -> (u64, Option<u64>) {
        let base = self.end_offset;
        for (i, r) in records.iter_mut().enumerate() {
            r.offset = base + i as u64;
        }
        let rolled = self.append_with_offsets(records);
        (base, rolled)
    }

    /// Appends records whose offsets are set (a follower copying its leader's, which may have
    /// gaps). Rolls the active segment first if this batch would overflow `segment.bytes` or
    /// its timestamps are `segment.ms` past the segment's first (`UnifiedLog.maybeRoll`).
    /// Returns the base offset of a segment rolled.
    pub fn append_with_offsets(&mut self, records: Vec<Record>) -> Option<u64> {
        let (Some(first), Some(last)) = (records.first(), records.last()) else {
            return None;
        };
        let first_offset = first.offset;
        debug_assert!(first_offset >= self.end_offset, "append below the log end");
        let bytes: u64 = records.iter().map(|r| r.data.size as u64).sum();
        let max_ts = records.iter().map(|r| r.data.timestamp).max().unwrap_or(0);
        let active = self.segments.last().expect("an active segment");
        let full = active.bytes > 0 && active.bytes + bytes > self.roll.segment_bytes;
        let old = active
            .first_timestamp
            .is_some_and(|t| max_ts.saturating_sub(t) > self.roll.segment_ms);
        let rolled = (full || old).then(|| {
            self.segments
                .push(Segment::empty(first_offset, last.data.timestamp));
            first_offset
        });
        for r in &records {
            self.segments.last_mut().expect("an active segment").add(r);
            self.assign_epoch(r.leader_epoch, r.offset);
        }
        self.end_offset = last.offset + 1;
        self.records.extend(records);
        rolled
    }

    /// Removes `[offset, end)`, and the epochs that started there (`UnifiedLog.truncateTo`).
    /// Truncating to the log start or below empties the log and starts it at `offset`.
    pub fn truncate_to(&mut self, offset: u64) -> u64 {
        if offset >= self.end_offset {
            // Kafka still truncates the epoch cache from the log end: an epoch this replica
            // assigned as leader but never wrote in must not stay its latest (a follower
            // fetching with it would be told it diverges again and again).
            let end = self.end_offset;
            self.epochs.retain(|&(_, start)| start < end);
            return 0;
        }
        let removed = self.records_from(offset).len() as u64;
        if offset < self.segments[0].base_offset {
            let now = self.segments[0].largest_timestamp;
            self.reset_at(offset, now);
            return removed;
        }
        let keep = self.records.partition_point(|r| r.offset < offset);
        self.records.truncate(keep);
        self.end_offset = offset;
        self.flushed = self.flushed.min(offset);
        self.log_start_offset = self.log_start_offset.min(offset);
        self.epochs.retain(|&(_, start)| start < offset);
        self.segments.retain(|s| s.base_offset <= offset);
        self.recount_active();
        removed
    }

    /// Empties the log and starts it at `offset` (`UnifiedLog.truncateFullyAndStartAt`): a
    /// follower whose log ends below the leader's log start copies from there.
    pub fn reset_at(&mut self, offset: u64, now: Millis) {
        self.records.clear();
        self.epochs.clear();
        self.segments = vec![Segment::empty(offset, now)];
        self.log_start_offset = offset;
        self.end_offset = offset;
        self.flushed = offset;
    }

    /// Recomputes the last segment's size and timestamps from its records (after truncation).
    fn recount_active(&mut self) {
        let base = self.segments.last().expect("an active segment").base_offset;
        let from = self.records.partition_point(|r| r.offset < base);
        let mut seg = Segment::empty(
            base,
            self.segments.last().expect("active").largest_timestamp,
        );
        for r in &self.records[from..] {
            seg.add(r);
        }
        *self.segments.last_mut().expect("an active segment") = seg;
    }

    /// Moves the log start offset up (`UnifiedLog.maybeIncrementLogStartOffset`): DeleteRecords
    /// on a leader, or a follower learning its leader's. The records below stay on disk until
    /// their segment is deleted, but no fetch reaches them. Never above `high_watermark`.
    pub fn increment_log_start(&mut self, offset: u64, high_watermark: u64) -> bool {
        let offset = offset.min(high_watermark).min(self.end_offset);
        if offset <= self.log_start_offset {
            return false;
        }
        self.log_start_offset = offset;
        self.truncate_epochs_from_start(offset);
        true
    }

    /// `LeaderEpochFileCache.truncateFromStart`: entries wholly below the new start go; the
    /// one that spans it now starts there.
    fn truncate_epochs_from_start(&mut self, offset: u64) {
        let spanning = self.epochs.iter().rposition(|&(_, s)| s <= offset);
        if let Some(i) = spanning {
            self.epochs.drain(..i);
            self.epochs[0].1 = offset;
        }
    }

    /// Deletes segments from the oldest while `delete(segment, next segment's base or the log
    /// end)` says so, as `UnifiedLog.deletableSegments` and `deleteSegments` do: only segments
    /// wholly below the high watermark, never a last empty one, and when every segment goes a
    /// new active one is rolled first. The log start offset moves to the first kept segment.
    pub fn delete_segments(
        &mut self,
        high_watermark: u64,
        now: Millis,
        mut delete: impl FnMut(&Segment, u64) -> bool,
    ) -> Option<Deleted> {
        let mut n = 0;
        for (i, seg) in self.segments.iter().enumerate() {
            let next = self.segments.get(i + 1).map(|s| s.base_offset);
            let upper = next.unwrap_or(self.end_offset);
            let last_and_empty = next.is_none() && seg.bytes == 0;
            if high_watermark >= upper && !last_and_empty && delete(seg, upper) {
                n += 1;
            } else {
                break;
            }
        }
        if n == 0 {
            return None;
        }
        let mut rolled = None;
        if n == self.segments.len() {
            self.segments.push(Segment::empty(self.end_offset, now));
            rolled = Some(self.end_offset);
        }
        let gone: Vec<Segment> = self.segments.drain(..n).collect();
        let new_start = self.segments[0].base_offset;
        let keep_from = self.records.partition_point(|r| r.offset < new_start);
        let records = keep_from as u64;
        self.records.drain(..keep_from);
        if new_start > self.log_start_offset {
            self.log_start_offset = new_start;
            self.truncate_epochs_from_start(new_start);
        }
        self.flushed = self.flushed.max(new_start);
        Some(Deleted {
            segments: gone.iter().map(|s| s.base_offset).collect(),
            records,
            log_start_offset: self.log_start_offset,
            rolled,
        })
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

    fn at(epoch: u32, v: &str, ts: Millis, size: u32) -> Record {
        let mut r = rec(epoch, v);
        r.data.timestamp = ts;
        r.data.size = size;
        r
    }

    fn bases(log: &PartitionLog) -> Vec<u64> {
        log.segments().iter().map(|s| s.base_offset).collect()
    }

    /// `UnifiedLog.maybeRoll`: a batch rolls the active segment when it would overflow
    /// `segment.bytes`, or when its timestamp is more than `segment.ms` past the segment's
    /// first record's; never an empty segment.
    #[test]
    fn segments_roll_by_size_and_by_the_first_records_age() {
        let roll = RollConfig {
            segment_bytes: 100,
            segment_ms: 1_000,
        };
        let mut log = PartitionLog::new(roll, 0);
        assert_eq!(log.append(vec![at(0, "a", 0, 60)]), (0, None));
        assert_eq!(
            log.append(vec![at(0, "b", 10, 30)]),
            (1, None),
            "90 bytes fit"
        );
        assert_eq!(
            log.append(vec![at(0, "c", 20, 30)]),
            (2, Some(2)),
            "120 would not"
        );
        assert_eq!(
            log.append(vec![at(0, "d", 1_020, 1)]),
            (3, None),
            "exactly segment.ms"
        );
        assert_eq!(
            log.append(vec![at(0, "e", 1_021, 1)]),
            (4, Some(4)),
            "past segment.ms"
        );
        assert_eq!(bases(&log), vec![0, 2, 4]);
        assert_eq!(log.segments()[1].bytes, 31);
        assert_eq!(log.segments()[1].largest_timestamp, 1_020);
        assert_eq!(log.size(), 90 + 31 + 1);
    }

    /// `UnifiedLog.deletableSegments`/`deleteSegments`: oldest first while the predicate
    /// holds, only below the high watermark, the log start moves to the first kept segment.
    #[test]
    fn retention_deletes_whole_segments_below_the_high_watermark() {
        let roll = RollConfig {
            segment_bytes: 1 << 20,
            segment_ms: 10,
        };
        let mut log = PartitionLog::new(roll, 0);
        for (i, ts) in [0, 5, 20, 25, 40].into_iter().enumerate() {
            log.append(vec![at(0, &format!("m{i}"), ts, 10)]);
        }
        assert_eq!(bases(&log), vec![0, 2, 4]);
        // The HW is in the second segment: only the first may go.
        let d = log.delete_segments(3, 100, |_, _| true).expect("one");
        assert_eq!(d.segments, vec![0]);
        assert_eq!(d.records, 2);
        assert_eq!(d.log_start_offset, 2);
        assert_eq!(log.log_start_offset(), 2);
        assert_eq!(log.get(1), None);
        assert_eq!(log.get(2).map(|r| &*r.data.value), Some("m2"));
        assert_eq!(
            log.epochs(),
            &[(0, 2)],
            "the epoch cache starts at the log start"
        );
        // A predicate that stops at the first segment it refuses.
        assert_eq!(log.delete_segments(5, 100, |s, _| s.base_offset > 2), None);
    }

    /// When every segment is to go, Kafka rolls a new empty active segment first, and never
    /// deletes a last segment that is empty.
    #[test]
    fn deleting_every_segment_rolls_an_empty_one_first() {
        let mut log = PartitionLog::new(RollConfig::default(), 0);
        log.append(vec![at(0, "a", 0, 10), at(0, "b", 1, 10)]);
        let d = log.delete_segments(2, 50, |_, _| true).expect("all");
        assert_eq!(d.segments, vec![0]);
        assert_eq!(d.rolled, Some(2));
        assert_eq!(log.log_start_offset(), 2);
        assert_eq!(log.end_offset(), 2);
        assert!(log.records().is_empty());
        assert_eq!(bases(&log), vec![2]);
        assert_eq!(
            log.delete_segments(2, 60, |_, _| true),
            None,
            "last and empty"
        );
        assert_eq!(log.append(vec![at(1, "c", 70, 10)]), (2, None));
    }

    /// DeleteRecords and a follower learning its leader's start: the start moves (never above
    /// the HW), records below stay on disk until their segment goes.
    #[test]
    fn the_log_start_moves_up_to_the_high_watermark_only() {
        let mut log = PartitionLog::new(RollConfig::default(), 0);
        log.append(vec![rec(0, "a"), rec(0, "b"), rec(1, "c"), rec(1, "d")]);
        assert!(log.increment_log_start(3, 2), "moves, but to the HW");
        assert_eq!(log.log_start_offset(), 2);
        assert_eq!(log.epochs(), &[(1, 2)]);
        assert!(!log.increment_log_start(1, 4), "never down");
        assert_eq!(log.records().len(), 4, "the segment still holds them");
        let d = log.delete_segments(4, 0, |_, upper| upper <= 2).is_none();
        assert!(d, "the only segment reaches past the start: kept");
    }

    /// `truncateFullyAndStartAt`: a follower behind its leader's log start empties its log.
    #[test]
    fn reset_empties_the_log_at_an_offset() {
        let mut log = PartitionLog::new(RollConfig::default(), 0);
        log.append(vec![rec(0, "a"), rec(0, "b")]);
        log.flush();
        log.reset_at(40, 9);
        assert_eq!(
            (log.log_start_offset(), log.end_offset(), log.flushed()),
            (40, 40, 40)
        );
        assert!(log.epochs().is_empty());
        let mut r = rec(3, "x");
        r.offset = 40;
        assert_eq!(log.append_with_offsets(vec![r]), None);
        assert_eq!(log.end_offset(), 41);
        assert_eq!(log.epochs(), &[(3, 40)]);
        assert_eq!(log.truncate_to(40), 1);
        assert_eq!(log.end_offset(), 40);
        assert_eq!(log.log_start_offset(), 40);
    }
}
