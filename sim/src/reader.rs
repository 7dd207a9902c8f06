//! The checking reader: a minimal consumer that reads every partition from its log start up to
//! the high watermark, so a run shows what a consumer would have seen. (Consumer groups, commits
//! and rebalancing are a separate, fuller client.)

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::effects::Effects;
use crate::ids::{BrokerId, Millis, NodeId, TopicPartition};
use crate::protocol::{ErrorCode, FetchPartition, FetchRequest, Message, PartitionState};
use crate::trace::Event;

const FETCH_MAX_WAIT_MS: u64 = 500;
const REQUEST_TIMEOUT_MS: Millis = 30_000;
const RETRY_BACKOFF_MS: Millis = 100;

pub struct Reader {
    partitions: Vec<TopicPartition>,
    bootstrap: Vec<BrokerId>,
    cursor: usize,
    positions: BTreeMap<TopicPartition, u64>,
    leaders: BTreeMap<TopicPartition, (BrokerId, u32)>,
    in_flight: BTreeMap<BrokerId, (u64, Millis)>,
    metadata_in_flight: Option<(u64, Millis)>,
    metadata_at: Millis,
    next_correlation: u64,
}

impl Reader {
    pub fn new(partitions: Vec<TopicPartition>, bootstrap: Vec<BrokerId>) -> Self {
        let positions = partitions.iter().map(|tp| (tp.clone(), 0)).collect();
        Reader {
            partitions,
            bootstrap,
            cursor: 0,
            positions,
            leaders: BTreeMap::new(),
            in_flight: BTreeMap::new(),
            metadata_in_flight: None,
            metadata_at: 0,
            next_correlation: 0,
        }
    }

    /// Reads `topic`'s partitions `0..total` too, from offset 0, once metadata names their
    /// leaders (a topic created or grown while running).
    pub fn add_partitions(&mut self, topic: &Arc<str>, total: u32) {
        for p in 0..total {
            let tp = TopicPartition::new(topic.clone(), p);
            if !self.positions.contains_key(&tp) {
                self.positions.insert(tp.clone(), 0);
                self.partitions.push(tp);
            }
        }
    }

    pub fn positions(&self) -> &BTreeMap<TopicPartition, u64> {
        &self.positions
    }

    pub fn next_deadline(&self) -> Option<Millis> {
        let mut d = match self.metadata_in_flight {
            Some((_, t)) => t,
            None if self.leaders.len() < self.partitions.len() => self.metadata_at,
            None => Millis::MAX,
        };
        for (_, t) in self.in_flight.values() {
            d = d.min(*t);
        }
        (d != Millis::MAX).then_some(d)
    }

    pub fn handle_timeout(&mut self, now: Millis, fx: &mut Effects) {
        if self.metadata_in_flight.is_some_and(|(_, t)| t <= now) {
            self.metadata_in_flight = None;
            self.cursor += 1;
        }
        let timed_out: Vec<BrokerId> = self
            .in_flight
            .iter()
            .filter(|(_, (_, t))| *t <= now)
            .map(|(b, _)| *b)
            .collect();
        for b in timed_out {
            self.in_flight.remove(&b);
            self.leaders.retain(|_, (l, _)| *l != b);
        }
        self.poll(now, fx);
    }

    pub fn handle_message(&mut self, now: Millis, from: NodeId, msg: Message, fx: &mut Effects) {
        match msg {
            Message::MetadataResponse {
                correlation,
                partitions,
                ..
            } if self.metadata_in_flight.map(|m| m.0) == Some(correlation) => {
                self.metadata_in_flight = None;
                let partitions = partitions.iter().map(PartitionState::route);
                for (tp, leader, epoch) in partitions {
                    if let Some(l) = leader {
                        if self.positions.contains_key(&tp) {
                            self.leaders.insert(tp, (l, epoch));
                        }
                    }
                }
                if self.leaders.len() < self.partitions.len() {
                    self.cursor += 1;
                    self.metadata_at = now + RETRY_BACKOFF_MS;
                }
            }
            Message::FetchResponse {
                correlation,
                partitions,
            } => {
                let Some(b) = from.broker() else { return };
                if self.in_flight.get(&b).map(|x| x.0) != Some(correlation) {
                    return;
                }
                self.in_flight.remove(&b);
                for p in partitions {
                    let pos = self.positions.get_mut(&p.tp).expect("known partition");
                    match p.error {
                        None => {
                            for r in p.records {
                                if r.offset < *pos {
                                    continue;
                                }
                                // A transaction marker is no record to read.
                                if r.control.is_none() {
                                    fx.event(Event::Consumed {
                                        tp: p.tp.clone(),
                                        offset: r.offset,
                                        value: r.data.value.clone(),
                                    });
                                }
                                *pos = r.offset + 1;
                            }
                        }
                        Some(ErrorCode::OffsetOutOfRange) => {
                            // auto.offset.reset = earliest: the log start (retention may
                            // have moved it; a truncation may have cut below the position).
                            let to = p.log_start_offset;
                            fx.event(Event::ReaderReset {
                                tp: p.tp.clone(),
                                from: *pos,
                                to,
                            });
                            *pos = to;
                        }
                        Some(_) => {
                            self.leaders.remove(&p.tp);
                            self.metadata_at = self.metadata_at.min(now + RETRY_BACKOFF_MS);
                        }
                    }
                }
            }
            Message::Disconnected => {
                if let Some(b) = from.broker() {
                    self.in_flight.remove(&b);
                    self.leaders.retain(|_, (l, _)| *l != b);
                    if self.metadata_in_flight.is_some() {
                        self.metadata_in_flight = None;
                        self.cursor += 1;
                    }
                    self.metadata_at = now + RETRY_BACKOFF_MS;
                }
            }
            _ => {}
        }
        self.poll(now, fx);
    }

    fn poll(&mut self, now: Millis, fx: &mut Effects) {
        if self.metadata_in_flight.is_none()
            && self.leaders.len() < self.partitions.len()
            && now >= self.metadata_at
        {
            let b = self.bootstrap[self.cursor % self.bootstrap.len()];
            self.next_correlation += 1;
            self.metadata_in_flight = Some((self.next_correlation, now + REQUEST_TIMEOUT_MS));
            self.metadata_at = now + RETRY_BACKOFF_MS;
            fx.send(
                NodeId::Broker(b),
                Message::MetadataRequest {
                    correlation: self.next_correlation,
                },
            );
        }
        let mut by_leader: BTreeMap<BrokerId, Vec<FetchPartition>> = BTreeMap::new();
        for (tp, &(leader, epoch)) in &self.leaders {
            by_leader.entry(leader).or_default().push(FetchPartition {
                tp: tp.clone(),
                fetch_offset: self.positions[tp],
                current_leader_epoch: Some(epoch),
                last_fetched_epoch: None,
            });
        }
        for (leader, partitions) in by_leader {
            if self.in_flight.contains_key(&leader) {
                continue;
            }
            self.next_correlation += 1;
            let c = self.next_correlation;
            self.in_flight.insert(leader, (c, now + REQUEST_TIMEOUT_MS));
            fx.send(
                NodeId::Broker(leader),
                Message::Fetch(FetchRequest {
                    replica: None,
                    correlation: c,
                    max_wait_ms: FETCH_MAX_WAIT_MS,
                    min_bytes: 1,
                    partitions,
                    isolation: crate::config::IsolationLevel::ReadUncommitted,
                }),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::{Record, RecordData};
    use crate::protocol::FetchedPartition;

    fn tp() -> TopicPartition {
        TopicPartition::new("orders", 0)
    }

    fn sent_fetch(fx: &Effects) -> Option<(u64, u64)> {
        fx.sends.iter().find_map(|(_, m)| match m {
            Message::Fetch(FetchRequest {
                correlation,
                partitions,
                replica: None,
                ..
            }) => Some((*correlation, partitions[0].fetch_offset)),
            _ => None,
        })
    }

    fn record(offset: u64, v: &str) -> Record {
        Record {
            offset,
            leader_epoch: 0,
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

    #[test]
    fn reads_what_the_leader_returns_in_order_and_resets_when_its_position_is_gone() {
        let mut r = Reader::new(vec![tp()], vec![1]);
        let mut fx = Effects::default();
        r.handle_timeout(0, &mut fx);
        let metadata = fx.sends.iter().find_map(|(_, m)| match m {
            Message::MetadataRequest { correlation } => Some(*correlation),
            _ => None,
        });
        let mut fx = Effects::default();
        let partitions = vec![PartitionState::led_by(tp(), Some(1), 0)];
        r.handle_message(
            1,
            NodeId::Broker(1),
            Message::MetadataResponse {
                correlation: metadata.unwrap(),
                partitions,
                brokers: vec![1],
            },
            &mut fx,
        );
        let (c, offset) = sent_fetch(&fx).expect("fetches from the leader");
        assert_eq!(offset, 0);
        let mut fx = Effects::default();
        let fetched = FetchedPartition {
            tp: tp(),
            error: None,
            high_watermark: 2,
            log_end_offset: 3,
            log_start_offset: 0,
            records: vec![record(0, "a"), record(1, "b")],
            aborted: Vec::new(),
            diverging_epoch: None,
            last_stable_offset: 0,
        };
        r.handle_message(
            2,
            NodeId::Broker(1),
            Message::FetchResponse {
                correlation: c,
                partitions: vec![fetched],
            },
            &mut fx,
        );
        let consumed: Vec<u64> = fx
            .events
            .iter()
            .filter_map(|e| match e {
                Event::Consumed { offset, .. } => Some(*offset),
                _ => None,
            })
            .collect();
        assert_eq!(consumed, vec![0, 1]);
        let (c, offset) = sent_fetch(&fx).expect("fetches again");
        assert_eq!(offset, 2, "the position moved past what was read");
        // The log was truncated under the reader: auto.offset.reset = earliest.
        let mut fx = Effects::default();
        let gone = FetchedPartition {
            tp: tp(),
            error: Some(ErrorCode::OffsetOutOfRange),
            high_watermark: 0,
            log_end_offset: 1,
            log_start_offset: 0,
            records: vec![],
            aborted: Vec::new(),
            diverging_epoch: None,
            last_stable_offset: 0,
        };
        r.handle_message(
            3,
            NodeId::Broker(1),
            Message::FetchResponse {
                correlation: c,
                partitions: vec![gone],
            },
            &mut fx,
        );
        assert!(fx.events.contains(&Event::ReaderReset {
            tp: tp(),
            from: 2,
            to: 0
        }));
        assert_eq!(r.positions()[&tp()], 0);
    }
}
