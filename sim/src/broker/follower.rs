//! Replication on the follower: fetching from each leader, learning the HW one round trip
//! late, and truncating by `TruncationMode`: on a fetch response's diverging epoch (KIP-595,
//! Kafka 2.7+), after leader-epoch queries (KIP-101/279), or to the high watermark.

use crate::broker::replication::{truncate, FollowerState};
use crate::broker::{Broker, TruncationMode};
use crate::effects::Effects;
use crate::ids::{BrokerId, Millis, NodeId};
use crate::protocol::{
    EpochEndOffset, EpochQuery, ErrorCode, FetchPartition, FetchRequest, FetchedPartition, Message,
};
use crate::trace::{Event, LogStartReason, TruncateReason};

impl Broker {
    /// Sends what followers need: leader-epoch queries and one fetch per leader.
    pub(super) fn send_fetches(&mut self, now: Millis, fx: &mut Effects) {
        // A broker replicates once its incarnation is registered (its fetches carry the epoch).
        if self.shutdown.is_some() || self.broker_epoch.is_none() {
            return;
        }
        let timeout = self.config.replica_socket_timeout_ms;
        // Leader-epoch queries, one request per leader.
        let mut queries: std::collections::BTreeMap<BrokerId, Vec<EpochQuery>> = Default::default();
        for r in self.replicas.values() {
            if let FollowerState::Truncating {
                leader,
                epoch,
                in_flight: None,
                retry_at: None,
            } = r.follower
            {
                queries.entry(leader).or_default().push(EpochQuery {
                    tp: r.tp.clone(),
                    current_leader_epoch: Some(r.leader_epoch()),
                    leader_epoch: epoch,
                });
            }
        }
        for (leader, partitions) in queries {
            let correlation = self.correlation();
            for q in &partitions {
                let r = self.replicas.get_mut(&q.tp).expect("replica");
                if let FollowerState::Truncating { in_flight, .. } = &mut r.follower {
                    *in_flight = Some((correlation, now + timeout));
                }
            }
            fx.send(
                NodeId::Broker(leader),
                Message::OffsetsForLeaderEpoch {
                    correlation,
                    partitions,
                },
            );
        }
        // Fetches. With truncation on fetch each partition carries the epoch of the log's last
        // record (`PartitionFetchState.lastFetchedEpoch`: the latest epoch after every append
        // or truncation; older Kafka sent none).
        let on_fetch = self.truncation == TruncationMode::DivergingEpoch;
        let mut by_leader: std::collections::BTreeMap<BrokerId, Vec<FetchPartition>> =
            Default::default();
        for r in self.replicas.values() {
            if let FollowerState::Fetching {
                leader,
                backoff_until: None,
            } = r.follower
            {
                by_leader.entry(leader).or_default().push(FetchPartition {
                    tp: r.tp.clone(),
                    fetch_offset: r.log.end_offset(),
                    current_leader_epoch: Some(r.leader_epoch()),
                    last_fetched_epoch: r.log.latest_epoch().filter(|_| on_fetch),
                });
            }
        }
        let wait = self.config.replica_fetch_wait_max_ms;
        let me = self.replica_state();
        for (leader, partitions) in by_leader {
            let f = self.fetchers.entry(leader).or_default();
            if f.in_flight.is_some() || f.backoff_until.is_some() {
                continue;
            }
            self.next_correlation += 1;
            let correlation = self.next_correlation;
            f.in_flight = Some((correlation, now + timeout));
            f.fetch_offsets = partitions
                .iter()
                .map(|p| (p.tp.clone(), p.fetch_offset))
                .collect();
            fx.send(
                NodeId::Broker(leader),
                Message::Fetch(FetchRequest {
                    replica: Some(me),
                    correlation,
                    max_wait_ms: wait,
                    min_bytes: 1,
                    partitions,
                    isolation: crate::config::IsolationLevel::ReadUncommitted,
                }),
            );
        }
    }

    pub(super) fn handle_fetch_response(
        &mut self,
        now: Millis,
        from: NodeId,
        correlation: u64,
        partitions: Vec<FetchedPartition>,
        fx: &mut Effects,
    ) {
        let Some(leader) = from.broker() else {
            return;
        };
        let f = self.fetchers.entry(leader).or_default();
        if f.in_flight.map(|x| x.0) != Some(correlation) {
            return;
        }
        f.in_flight = None;
        let fetch_offsets = std::mem::take(&mut f.fetch_offsets);
        let id = self.id;
        let backoff = self.config.replica_fetch_backoff_ms;
        for p in partitions {
            let Some(r) = self.replicas.get_mut(&p.tp) else {
                continue;
            };
            if r.follower
                != (FollowerState::Fetching {
                    leader,
                    backoff_until: None,
                })
            {
                continue;
            }
            if let (None, Some(diverging)) = (p.error, p.diverging_epoch) {
                // `processFetchRequest`: only while the partition still fetches from the
                // offset it asked for; then `truncateOnFetchResponse`, no records, no HW. The
                // next fetch carries the new latest epoch: if the logs still differ, the
                // leader answers with an older diverging epoch, and so on to the common prefix.
                if fetch_offsets.get(&p.tp) == Some(&r.log.end_offset()) {
                    let (to, _) = offset_truncation_state(r, diverging);
                    truncate(id, r, to, TruncateReason::DivergingEpoch, fx);
                }
                continue;
            }
            match p.error {
                None => {
                    if let Some(first) = p.records.first() {
                        // Records may have gaps (a compacted leader), never overlap.
                        if first.offset >= r.log.end_offset() {
                            let base = first.offset;
                            let epoch = p.records.last().map(|x| x.leader_epoch).unwrap_or(0);
                            let values = p.records.iter().map(|x| x.data.value.clone()).collect();
                            for rec in &p.records {
                                r.producers.observe(rec);
                                let last_of_batch =
                                    rec.producer.filter(|s| s.sequence == s.batch_last);
                                if let Some(s) = last_of_batch.filter(|_| rec.control.is_none()) {
                                    let base = rec.offset - (s.batch_last - s.batch_first) as u64;
                                    r.producers.record(
                                        s.producer_id,
                                        s.producer_epoch,
                                        s.batch_first,
                                        s.batch_last,
                                        base,
                                    );
                                }
                            }
                            if let Some(base_offset) = r.log.append_with_offsets(p.records) {
                                fx.event(Event::SegmentRolled {
                                    broker: id,
                                    tp: p.tp.clone(),
                                    base_offset,
                                });
                            }
                            fx.event(Event::Appended {
                                broker: id,
                                tp: p.tp.clone(),
                                base_offset: base,
                                leader_epoch: epoch,
                                values,
                                leader: false,
                            });
                            self.after_append(now, &p.tp, fx);
                        }
                    }
                    let r = self.replicas.get_mut(&p.tp).expect("replica");
                    let hw = p.high_watermark.min(r.log.end_offset());
                    if hw > r.high_watermark {
                        r.high_watermark = hw;
                        fx.event(Event::HighWatermark {
                            broker: id,
                            tp: p.tp.clone(),
                            high_watermark: hw,
                        });
                    }
                    // `maybeIncrementLogStartOffset(leaderLogStartOffset, LeaderOffsetIncremented)`:
                    // what the leader deleted, the follower stops serving too; its own retention
                    // check deletes the segments.
                    let hw = r.high_watermark;
                    if r.log.increment_log_start(p.log_start_offset, hw) {
                        fx.event(Event::LogStartIncremented {
                            broker: id,
                            tp: p.tp.clone(),
                            log_start_offset: r.log.log_start_offset(),
                            reason: LogStartReason::LeaderOffsetIncremented,
                        });
                    }
                }
                Some(ErrorCode::OffsetOutOfRange) if p.log_end_offset < r.log.end_offset() => {
                    // We are ahead of the leader: cut back to its log end (pre-KIP-101 behaviour,
                    // and the fallback after it).
                    let to = p.log_end_offset.min(r.log.end_offset());
                    truncate(id, r, to, TruncateReason::OffsetOutOfRange, fx);
                }
                Some(ErrorCode::OffsetOutOfRange) => {
                    // Behind the leader's log start: what we lack was deleted there, so empty
                    // the log and copy from the leader's start
                    // (`AbstractFetcherThread.fetchOffsetAndTruncate`, `truncateFullyAndStartAt`).
                    let start = p.log_start_offset;
                    if start > r.log.end_offset() {
                        r.log.reset_at(start, now);
                        r.producers = super::ProducerStateTable::rebuild(&r.log);
                        r.dirty.clear();
                        r.high_watermark = start;
                        fx.event(Event::LogStartIncremented {
                            broker: id,
                            tp: p.tp.clone(),
                            log_start_offset: start,
                            reason: LogStartReason::TruncatedFully,
                        });
                        fx.event(Event::HighWatermark {
                            broker: id,
                            tp: p.tp.clone(),
                            high_watermark: start,
                        });
                    } else {
                        r.follower = FollowerState::Fetching {
                            leader,
                            backoff_until: Some(now + backoff),
                        };
                    }
                }
                Some(_) => {
                    r.follower = FollowerState::Fetching {
                        leader,
                        backoff_until: Some(now + backoff),
                    };
                }
            }
        }
    }

    pub(super) fn handle_offsets_for_leader_epoch(
        &mut self,
        from: NodeId,
        correlation: u64,
        partitions: Vec<EpochQuery>,
        fx: &mut Effects,
    ) {
        let partitions = partitions
            .into_iter()
            .map(|q| {
                let fake = FetchPartition {
                    tp: q.tp.clone(),
                    fetch_offset: 0,
                    current_leader_epoch: q.current_leader_epoch,
                    last_fetched_epoch: None,
                };
                match self.check_leader(&fake) {
                    Err(e) => EpochEndOffset {
                        tp: q.tp,
                        error: Some(e),
                        end: None,
                    },
                    Ok(r) => EpochEndOffset {
                        tp: q.tp,
                        error: None,
                        end: r.log.end_offset_for_epoch(q.leader_epoch),
                    },
                }
            })
            .collect();
        fx.send(
            from,
            Message::OffsetsForLeaderEpochResponse {
                correlation,
                partitions,
            },
        );
    }

    /// KIP-279: truncate to the end of the largest epoch both sides know, asking again when
    /// the leader answered with an epoch this replica never had.
    pub(super) fn handle_epoch_response(
        &mut self,
        now: Millis,
        correlation: u64,
        partitions: Vec<EpochEndOffset>,
        fx: &mut Effects,
    ) {
        let id = self.id;
        let backoff = self.config.replica_fetch_backoff_ms;
        for p in partitions {
            let Some(r) = self.replicas.get_mut(&p.tp) else {
                continue;
            };
            let FollowerState::Truncating {
                leader,
                epoch,
                in_flight: Some((c, _)),
                ..
            } = r.follower
            else {
                continue;
            };
            if c != correlation {
                continue;
            }
            if p.error.is_some() {
                r.follower = FollowerState::Truncating {
                    leader,
                    epoch,
                    in_flight: None,
                    retry_at: Some(now + backoff),
                };
                continue;
            }
            match p.end {
                None => {
                    let hw = r.high_watermark;
                    truncate(id, r, hw, TruncateReason::LeaderEpoch, fx);
                    r.follower = FollowerState::Fetching {
                        leader,
                        backoff_until: None,
                    };
                }
                Some(end) => {
                    let (to, completed) = offset_truncation_state(r, end);
                    truncate(id, r, to, TruncateReason::LeaderEpoch, fx);
                    // Not completed: ask again about the epoch now latest.
                    r.follower = match r.log.latest_epoch().filter(|_| !completed) {
                        Some(e) => FollowerState::Truncating {
                            leader,
                            epoch: e,
                            in_flight: None,
                            retry_at: None,
                        },
                        None => FollowerState::Fetching {
                            leader,
                            backoff_until: None,
                        },
                    };
                }
            }
        }
    }

    pub(super) fn follower_timeouts(&mut self, now: Millis, _fx: &mut Effects) {
        let backoff = self.config.replica_fetch_backoff_ms;
        for f in self.fetchers.values_mut() {
            if f.in_flight.is_some_and(|(_, t)| t <= now) {
                f.in_flight = None;
                f.backoff_until = Some(now + backoff);
            } else if f.backoff_until.is_some_and(|t| t <= now) {
                f.backoff_until = None;
            }
        }
        for r in self.replicas.values_mut() {
            match &mut r.follower {
                FollowerState::Truncating {
                    in_flight,
                    retry_at,
                    ..
                } => {
                    if in_flight.is_some_and(|(_, t)| t <= now) {
                        *in_flight = None;
                        *retry_at = Some(now + backoff);
                    } else if retry_at.is_some_and(|t| t <= now) {
                        *retry_at = None;
                    }
                }
                FollowerState::Fetching { backoff_until, .. } => {
                    if backoff_until.is_some_and(|t| t <= now) {
                        *backoff_until = None;
                    }
                }
                FollowerState::Idle => {}
            }
        }
    }
}

/// `AbstractFetcherThread.getOffsetTruncationState` for a leader's `(epoch, end offset)`, from
/// an OffsetsForLeaderEpoch answer or a fetch's diverging epoch: where the follower truncates,
/// and whether that is the final point (KIP-279).
/// - The follower has that epoch: the smaller of its end and the leader's (final).
/// - It does not: the end of its largest epoch below it, not final; the next question (or
///   fetch) carries the epoch now latest, walking back one epoch per round.
/// - It has no epoch that old: the leader's end offset (final).
fn offset_truncation_state(
    r: &super::Replica,
    (leader_epoch, leader_end): (u32, u64),
) -> (u64, bool) {
    let leo = r.log.end_offset();
    match r.log.end_offset_for_epoch(leader_epoch) {
        None => (leader_end.min(leo), true),
        Some((mine, my_end)) if mine != leader_epoch => (my_end.min(leo), false),
        Some((_, my_end)) => (my_end.min(leader_end).min(leo), true),
    }
}
