//! The log manager's retention task (`LogManager.cleanupLogs`, every
//! `log.retention.check.interval.ms`): on every replica this broker holds, leader or follower,
//! delete whole segments that `retention.ms` or `retention.bytes` has expired, or that lie below
//! the log start offset. Each replica decides alone, from its own segments and high watermark,
//! as in Kafka; followers also learn the leader's log start offset from fetch responses.

use crate::broker::{Broker, Role};
use crate::effects::Effects;
use crate::ids::{is_internal_topic, Millis, TopicPartition};
use crate::log::Deleted;
use crate::trace::{DeletionReason, Event, LogStartReason};

impl Broker {
    /// DeleteRecords on the leader (`Partition.deleteRecordsOnLeader`): the log start offset
    /// moves to `offset` (the high watermark when `None`, Kafka's -1). Above the high watermark
    /// is OFFSET_OUT_OF_RANGE. Followers follow from their next fetch; the segments go at the
    /// next retention check.
    pub fn delete_records(
        &mut self,
        tp: &TopicPartition,
        offset: Option<u64>,
        fx: &mut Effects,
    ) -> Result<u64, String> {
        let id = self.id;
        let r = self
            .replicas
            .get_mut(tp)
            .filter(|r| r.role == Role::Leader)
            .ok_or_else(|| format!("NOT_LEADER_OR_FOLLOWER: broker-{id} does not lead {tp}"))?;
        let hw = r.high_watermark;
        let offset = offset.unwrap_or(hw);
        if offset > hw {
            return Err(format!(
                "OFFSET_OUT_OF_RANGE: {offset} is above {tp}'s high watermark {hw}"
            ));
        }
        if r.log.increment_log_start(offset, hw) {
            fx.event(Event::LogStartIncremented {
                broker: id,
                tp: tp.clone(),
                log_start_offset: offset,
                reason: LogStartReason::ClientRecordDeletion,
            });
        }
        Ok(r.log.log_start_offset())
    }

    pub(super) fn retention_due(&mut self, now: Millis, fx: &mut Effects) {
        if now < self.next_retention_check {
            return;
        }
        self.next_retention_check = now + self.config.log_retention_check_interval_ms;
        let id = self.id;
        for r in self.replicas.values_mut() {
            // __consumer_offsets and __transaction_state are compacted in Kafka
            // (cleanup.policy=compact): retention never deletes their segments.
            let delete_policy = !is_internal_topic(&r.tp.topic);
            let hw = r.high_watermark;
            let mut passes: Vec<(DeletionReason, Deleted)> = Vec::new();
            // `UnifiedLog.deleteOldSegments`: the log start offset first, then size, then time.
            let start = r.log.log_start_offset();
            if let Some(d) = r.log.delete_segments(hw, now, |_, upper| upper <= start) {
                passes.push((DeletionReason::LogStartOffset, d));
            }
            if delete_policy {
                if let Some(limit) = r.config.retention_bytes {
                    let size = r.log.size();
                    if size >= limit {
                        let mut diff = size - limit;
                        let pass = r.log.delete_segments(hw, now, |seg, _| {
                            let ok = diff >= seg.bytes;
                            if ok {
                                diff -= seg.bytes;
                            }
                            ok
                        });
                        if let Some(d) = pass {
                            passes.push((DeletionReason::RetentionBytes, d));
                        }
                    }
                }
                if let Some(ms) = r.config.retention_ms {
                    let pass = r.log.delete_segments(hw, now, |seg, _| {
                        now.saturating_sub(seg.largest_timestamp) > ms
                    });
                    if let Some(d) = pass {
                        passes.push((DeletionReason::RetentionMs, d));
                    }
                }
            }
            for (reason, d) in passes {
                if let Some(base_offset) = d.rolled {
                    fx.event(Event::SegmentRolled {
                        broker: id,
                        tp: r.tp.clone(),
                        base_offset,
                    });
                }
                fx.event(Event::SegmentsDeleted {
                    broker: id,
                    tp: r.tp.clone(),
                    reason,
                    segments: d.segments,
                    records: d.records,
                    log_start_offset: d.log_start_offset,
                });
            }
        }
    }
}
