//! What survives a crash: the flushed prefix of each log, the leader-epoch cache, and the
//! last HW checkpoint.
//!
//! Kafka acknowledges writes from the page cache and leaves flushing to the operating system
//! unless `flush.messages`/`flush.ms` say otherwise. A process crash keeps the page cache, so
//! nothing acknowledged is lost locally; a power loss drops every unflushed record. This is the
//! difference KIP-101's second scenario turns on.

use std::collections::BTreeMap;

use crate::broker::Broker;
use crate::effects::Effects;
use crate::ids::{Millis, NodeId, TopicPartition};
use crate::log::PartitionLog;
use crate::protocol::Message;
use crate::trace::{CrashKind, Event, TruncateReason};

/// A broker's disk: outlives the process.
#[derive(Clone, Debug, Default)]
pub struct BrokerDisk {
    pub logs: BTreeMap<TopicPartition, PartitionLog>,
    /// `replication-offset-checkpoint`: each partition's HW as of the last checkpoint.
    pub hw_checkpoint: BTreeMap<TopicPartition, u64>,
    /// How many times this broker has started.
    pub incarnation: u32,
    /// Whether the last incarnation finished a controlled shutdown (Kafka's clean-shutdown
    /// file, which KIP-966's registration reports).
    pub clean_shutdown: bool,
}

impl Broker {
    /// The process dies (or the machine loses power): what the disk holds afterwards.
    pub fn crash(self, kind: CrashKind, fx: &mut Effects) -> BrokerDisk {
        let id = self.id;
        let mut logs = BTreeMap::new();
        for (tp, mut r) in self.replicas {
            if kind == CrashKind::PowerLoss && r.log.unflushed() > 0 {
                let from = r.log.end_offset();
                let to = r.log.flushed();
                let removed = r
                    .log
                    .records_from(to)
                    .iter()
                    .map(|x| x.data.value.clone())
                    .collect();
                r.log.truncate_to(to);
                fx.event(Event::Truncated {
                    broker: id,
                    tp: tp.clone(),
                    from,
                    to,
                    reason: TruncateReason::PowerLoss,
                    removed,
                });
            }
            logs.insert(tp, r.log);
        }
        BrokerDisk {
            logs,
            hw_checkpoint: self.hw_checkpoint,
            incarnation: self.incarnation,
            clean_shutdown: self.stopped,
        }
    }

    /// Controlled shutdown: hand leadership away, then flush and stop.
    pub fn begin_shutdown(&mut self, now: Millis, fx: &mut Effects) {
        if self.shutdown.is_none() && !self.stopped {
            self.shutdown = Some(now + super::CONTROLLED_SHUTDOWN_TIMEOUT_MS);
            fx.send(
                NodeId::Controller,
                Message::ControlledShutdown { broker: self.id },
            );
        }
    }

    pub(super) fn finish_shutdown(&mut self, _now: Millis, fx: &mut Effects) {
        let id = self.id;
        for (tp, r) in self.replicas.iter_mut() {
            if r.log.flush() {
                fx.event(Event::Flushed {
                    broker: id,
                    tp: tp.clone(),
                    up_to: r.log.end_offset(),
                });
            }
            r.dirty.clear();
        }
        self.checkpoint_high_watermarks();
        self.shutdown = None;
        self.stopped = true;
    }

    pub(super) fn checkpoint_high_watermarks(&mut self) {
        for (tp, r) in &self.replicas {
            self.hw_checkpoint.insert(tp.clone(), r.high_watermark);
        }
    }

    /// Called after every append, leader or follower.
    pub(super) fn after_append(&mut self, now: Millis, tp: &TopicPartition, fx: &mut Effects) {
        let id = self.id;
        let r = self.replicas.get_mut(tp).expect("replica");
        if r.log.unflushed() >= r.config.flush_messages {
            r.log.flush();
            r.last_flush_at = now;
            r.dirty.clear();
            fx.event(Event::Flushed {
                broker: id,
                tp: tp.clone(),
                up_to: r.log.end_offset(),
            });
        } else {
            r.dirty.push((r.log.end_offset(), now));
        }
    }

    pub(super) fn flush_deadline(&self, r: &super::Replica) -> Option<Millis> {
        if r.log.unflushed() == 0 {
            return None;
        }
        let by_config = r.last_flush_at.saturating_add(r.config.flush_ms);
        let by_os = r
            .dirty
            .first()
            .map(|d| d.1.saturating_add(self.config.page_cache_writeback_ms));
        Some(by_os.map_or(by_config, |o| o.min(by_config)))
    }

    pub(super) fn flush_due(&mut self, now: Millis, fx: &mut Effects) {
        let id = self.id;
        let writeback = self.config.page_cache_writeback_ms;
        for (tp, r) in self.replicas.iter_mut() {
            if r.log.unflushed() == 0 {
                continue;
            }
            let upto = if now >= r.last_flush_at.saturating_add(r.config.flush_ms) {
                r.last_flush_at = now;
                r.log.end_offset()
            } else {
                // The OS writes back pages that have been dirty for long enough.
                r.dirty
                    .iter()
                    .filter(|d| d.1.saturating_add(writeback) <= now)
                    .map(|d| d.0)
                    .max()
                    .unwrap_or(0)
            };
            if upto > r.log.flushed() {
                r.log.flush_to(upto);
                r.dirty.retain(|d| d.0 > upto);
                fx.event(Event::Flushed {
                    broker: id,
                    tp: tp.clone(),
                    up_to: upto,
                });
            }
            if r.log.unflushed() > 0 && r.dirty.is_empty() {
                r.dirty.push((r.log.end_offset(), now));
            }
        }
    }
}
