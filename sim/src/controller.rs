//! The controller: broker sessions, fencing, leader election, ISR changes.
//!
//! It stands in for KRaft's controller quorum as a single node whose metadata survives its
//! crashes (the quorum's log is durable and replicated; the quorum itself is not modelled).
//! Brokers heartbeat to it; it fences a broker whose session expires, elects leaders from the
//! ISR (or, with `unclean.leader.election.enable`, from any live replica), bumps the leader
//! epoch on every leader change and the partition epoch on every change, and pushes the new
//! metadata to every broker.
//!
//! A restarted broker that heartbeats again before its session expires is re-registered
//! without being fenced (the ZooKeeper-era behaviour the KIP-101 scenarios assume).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::effects::Effects;
use crate::ids::{BrokerId, Millis, NodeId, TopicPartition};
use crate::protocol::{ErrorCode, Message, PartitionState};
use crate::trace::{ChangeReason, Event};

/// The controller's durable state (the metadata log).
#[derive(Clone, Debug, Default)]
pub struct ControllerDisk {
    pub partitions: BTreeMap<TopicPartition, PartitionState>,
    pub metadata_version: u64,
    pub fenced: BTreeSet<BrokerId>,
    pub started: bool,
    /// `unclean.leader.election.enable` of topics created while running.
    pub created_topics: BTreeMap<Arc<str>, bool>,
}

#[derive(Clone, Copy, Debug)]
struct Session {
    last_heartbeat: Millis,
    incarnation: u32,
    fenced: bool,
}

pub struct Controller {
    session_timeout_ms: Millis,
    unclean: BTreeMap<Arc<str>, bool>,
    sessions: BTreeMap<BrokerId, Session>,
    pub disk: ControllerDisk,
}

/// A topic as the controller creates it at start.
#[derive(Clone, Debug)]
pub struct TopicSpec {
    pub name: Arc<str>,
    /// Replica assignment per partition; the first replica is the preferred leader.
    pub assignment: Vec<Vec<BrokerId>>,
    pub unclean_leader_election_enable: bool,
}

impl Controller {
    pub fn start(
        brokers: &[BrokerId],
        topics: &[TopicSpec],
        session_timeout_ms: Millis,
        mut disk: ControllerDisk,
        now: Millis,
        fx: &mut Effects,
    ) -> Self {
        if !disk.started {
            disk.started = true;
            for t in topics {
                for (p, replicas) in t.assignment.iter().enumerate() {
                    let tp = TopicPartition::new(t.name.clone(), p as u32);
                    let st = PartitionState {
                        tp: tp.clone(),
                        replicas: replicas.clone(),
                        leader: replicas.first().copied(),
                        leader_epoch: 0,
                        isr: replicas.clone(),
                        partition_epoch: 0,
                    };
                    fx.event(changed(&st, ChangeReason::Created));
                    disk.partitions.insert(tp, st);
                }
            }
            disk.metadata_version = 1;
        }
        // A new controller gives every broker a full session before fencing it.
        let sessions = brokers
            .iter()
            .map(|&b| {
                (
                    b,
                    Session {
                        last_heartbeat: now,
                        incarnation: 0,
                        fenced: disk.fenced.contains(&b),
                    },
                )
            })
            .collect();
        let mut unclean: BTreeMap<Arc<str>, bool> = topics
            .iter()
            .map(|t| (t.name.clone(), t.unclean_leader_election_enable))
            .collect();
        unclean.extend(disk.created_topics.clone());
        let mut c = Controller {
            session_timeout_ms,
            unclean,
            sessions,
            disk,
        };
        c.push_metadata(fx);
        c
    }

    pub fn crash(self) -> ControllerDisk {
        self.disk
    }

    pub fn next_deadline(&self) -> Option<Millis> {
        self.sessions
            .values()
            .filter(|s| !s.fenced)
            .map(|s| s.last_heartbeat + self.session_timeout_ms)
            .min()
    }

    pub fn handle_timeout(&mut self, now: Millis, fx: &mut Effects) {
        let expired: Vec<BrokerId> = self
            .sessions
            .iter()
            .filter(|(_, s)| !s.fenced && s.last_heartbeat + self.session_timeout_ms <= now)
            .map(|(b, _)| *b)
            .collect();
        if expired.is_empty() {
            return;
        }
        for b in expired {
            self.fence(b, ChangeReason::Fenced, fx);
        }
        self.push_metadata(fx);
    }

    pub fn handle_message(&mut self, now: Millis, from: NodeId, msg: Message, fx: &mut Effects) {
        match msg {
            Message::BrokerHeartbeat {
                broker,
                incarnation,
                metadata_version,
            } => {
                let Some(s) = self.sessions.get_mut(&broker) else {
                    return;
                };
                s.last_heartbeat = now;
                let mut changed = false;
                if s.incarnation != incarnation {
                    s.incarnation = incarnation;
                    fx.event(Event::BrokerRegistered {
                        broker,
                        incarnation,
                    });
                }
                if s.fenced {
                    s.fenced = false;
                    self.disk.fenced.remove(&broker);
                    fx.event(Event::BrokerUnfenced { broker });
                    changed = self.elect_offline(fx);
                }
                if changed {
                    self.push_metadata(fx);
                } else if metadata_version < self.disk.metadata_version {
                    fx.send(from, self.metadata_message());
                }
            }
            Message::AlterPartition {
                tp,
                leader_epoch,
                partition_epoch,
                new_isr,
            } => {
                let error =
                    self.alter_partition(from, &tp, leader_epoch, partition_epoch, new_isr, fx);
                if error.is_none() {
                    self.push_metadata(fx);
                }
                fx.send(from, Message::AlterPartitionResponse { tp, error });
            }
            Message::ControlledShutdown { broker } => {
                if self.sessions.contains_key(&broker) {
                    self.fence(broker, ChangeReason::ControlledShutdown, fx);
                    self.push_metadata(fx);
                }
                fx.send(from, Message::ControlledShutdownResponse);
            }
            _ => {}
        }
    }

    fn alter_partition(
        &mut self,
        from: NodeId,
        tp: &TopicPartition,
        leader_epoch: u32,
        partition_epoch: u32,
        new_isr: Vec<BrokerId>,
        fx: &mut Effects,
    ) -> Option<ErrorCode> {
        let sessions = &self.sessions;
        let Some(st) = self.disk.partitions.get_mut(tp) else {
            return Some(ErrorCode::UnknownTopicOrPartition);
        };
        if st.leader != from.broker() || st.leader_epoch != leader_epoch {
            return Some(ErrorCode::FencedLeaderEpoch);
        }
        if st.partition_epoch != partition_epoch {
            return Some(ErrorCode::InvalidUpdateVersion);
        }
        let added_ineligible = new_isr
            .iter()
            .any(|b| !st.isr.contains(b) && sessions.get(b).is_none_or(|s| s.fenced));
        if added_ineligible || new_isr.is_empty() {
            return Some(ErrorCode::IneligibleReplica);
        }
        let reason = if new_isr.len() < st.isr.len() {
            ChangeReason::IsrShrink
        } else {
            ChangeReason::IsrExpand
        };
        st.isr = new_isr;
        st.partition_epoch += 1;
        fx.event(changed(st, reason));
        None
    }

    /// Fences a broker: it leaves every ISR it can leave, and loses its leaderships.
    fn fence(&mut self, b: BrokerId, reason: ChangeReason, fx: &mut Effects) {
        if let Some(s) = self.sessions.get_mut(&b) {
            if s.fenced {
                return;
            }
            s.fenced = true;
        }
        self.disk.fenced.insert(b);
        fx.event(Event::BrokerFenced { broker: b });
        let tps: Vec<TopicPartition> = self.disk.partitions.keys().cloned().collect();
        for tp in tps {
            let st = self.disk.partitions.get_mut(&tp).expect("listed");
            if !st.replicas.contains(&b) {
                continue;
            }
            // KRaft keeps the last ISR member in the ISR: it is the one that has everything.
            let was_leader = st.leader == Some(b);
            let mut touched = false;
            if st.isr.contains(&b) && st.isr.len() > 1 {
                st.isr.retain(|x| *x != b);
                touched = true;
            }
            if was_leader {
                self.elect(&tp, Some(b), fx);
            } else if touched {
                let st = self.disk.partitions.get_mut(&tp).expect("listed");
                st.partition_epoch += 1;
                fx.event(changed(st, reason));
            }
        }
    }

    fn eligible(&self, b: BrokerId, excluding: Option<BrokerId>) -> bool {
        Some(b) != excluding && self.sessions.get(&b).is_some_and(|s| !s.fenced)
    }

    /// Elects a leader for `tp`: the first live ISR member in assignment order, else (if the
    /// topic allows unclean election) the first live replica, else nobody (offline).
    fn elect(&mut self, tp: &TopicPartition, excluding: Option<BrokerId>, fx: &mut Effects) {
        let st = self.disk.partitions[tp].clone();
        let clean = st
            .replicas
            .iter()
            .copied()
            .find(|&r| st.isr.contains(&r) && self.eligible(r, excluding));
        let unclean_allowed = self.unclean.get(&tp.topic).copied().unwrap_or(false);
        let (leader, isr, reason) = match clean {
            Some(l) => (Some(l), st.isr.clone(), ChangeReason::Election),
            None => match st
                .replicas
                .iter()
                .copied()
                .find(|&r| unclean_allowed && self.eligible(r, excluding))
            {
                Some(l) => (Some(l), vec![l], ChangeReason::UncleanElection),
                None => (None, st.isr.clone(), ChangeReason::Offline),
            },
        };
        if leader == st.leader && isr == st.isr {
            return;
        }
        let st = self.disk.partitions.get_mut(tp).expect("exists");
        if leader != st.leader {
            st.leader_epoch += 1;
        }
        st.leader = leader;
        st.isr = isr;
        st.partition_epoch += 1;
        fx.event(changed(st, reason));
    }

    /// After a broker comes back: elect leaders for partitions that have none.
    fn elect_offline(&mut self, fx: &mut Effects) -> bool {
        let offline: Vec<TopicPartition> = self
            .disk
            .partitions
            .iter()
            .filter(|(_, s)| s.leader.is_none())
            .map(|(tp, _)| tp.clone())
            .collect();
        let mut any = false;
        for tp in offline {
            self.elect(&tp, None, fx);
            any |= self.disk.partitions[&tp].leader.is_some();
        }
        any
    }

    fn metadata_message(&self) -> Message {
        Message::MetadataUpdate {
            metadata_version: self.disk.metadata_version,
            partitions: self.disk.partitions.values().cloned().collect(),
            live_brokers: self
                .sessions
                .iter()
                .filter(|(_, s)| !s.fenced)
                .map(|(b, _)| *b)
                .collect(),
        }
    }

    /// Publishes a new metadata version to every broker. Fenced brokers get it too: in KRaft
    /// every broker follows the metadata log, fenced or not, and that is how a broker that was
    /// paused learns, when it resumes, that it no longer leads.
    fn push_metadata(&mut self, fx: &mut Effects) {
        self.disk.metadata_version += 1;
        let msg = self.metadata_message();
        for &b in self.sessions.keys() {
            fx.send(NodeId::Broker(b), msg.clone());
        }
    }

    pub fn partitions(&self) -> &BTreeMap<TopicPartition, PartitionState> {
        &self.disk.partitions
    }

    /// Partitions of `topic` the controller knows.
    pub fn partition_count(&self, topic: &str) -> u32 {
        self.disk
            .partitions
            .keys()
            .filter(|tp| &*tp.topic == topic)
            .count() as u32
    }

    /// An admin request (`createTopics`, `createPartitions`): grows `topic` to `total`
    /// partitions, creating it if it is new. New partitions get `replication_factor` replicas
    /// (for an existing topic, its own) spread round-robin over the unfenced brokers, as Kafka's
    /// assignment without racks does; the first replica leads. Refusals come back as Kafka's
    /// error text.
    pub fn create_partitions(
        &mut self,
        topic: &Arc<str>,
        total: u32,
        replication_factor: Option<u32>,
        unclean_leader_election_enable: bool,
        fx: &mut Effects,
    ) -> Result<(), String> {
        let existing = self.partition_count(topic);
        let rf = match (existing, replication_factor) {
            (0, Some(rf)) => rf,
            (0, None) => {
                return Err(format!(
                    "UNKNOWN_TOPIC_OR_PARTITION: topic {topic} does not exist"
                ))
            }
            (_, Some(_)) => {
                return Err(format!(
                    "TOPIC_ALREADY_EXISTS: topic {topic} already exists"
                ))
            }
            (_, None) => self.disk.partitions[&TopicPartition::new(topic.clone(), 0)]
                .replicas
                .len() as u32,
        };
        if total <= existing {
            return Err(format!(
                "INVALID_PARTITIONS: topic {topic} has {existing} partitions; the new count must be larger"
            ));
        }
        let live: Vec<BrokerId> = self
            .sessions
            .iter()
            .filter(|(_, s)| !s.fenced)
            .map(|(b, _)| *b)
            .collect();
        if (live.len() as u32) < rf {
            return Err(format!(
                "INVALID_REPLICATION_FACTOR: replication factor {rf} is larger than the {} available brokers",
                live.len()
            ));
        }
        if existing == 0 {
            self.unclean
                .insert(topic.clone(), unclean_leader_election_enable);
            self.disk
                .created_topics
                .insert(topic.clone(), unclean_leader_election_enable);
        }
        for p in existing..total {
            let replicas: Vec<BrokerId> = (0..rf as usize)
                .map(|r| live[(p as usize + r) % live.len()])
                .collect();
            let tp = TopicPartition::new(topic.clone(), p);
            let st = PartitionState {
                tp: tp.clone(),
                leader: replicas.first().copied(),
                isr: replicas.clone(),
                replicas,
                leader_epoch: 0,
                partition_epoch: 0,
            };
            fx.event(changed(&st, ChangeReason::Created));
            self.disk.partitions.insert(tp, st);
        }
        self.push_metadata(fx);
        Ok(())
    }
}

fn changed(st: &PartitionState, reason: ChangeReason) -> Event {
    Event::PartitionChanged {
        tp: st.tp.clone(),
        leader: st.leader,
        leader_epoch: st.leader_epoch,
        partition_epoch: st.partition_epoch,
        isr: st.isr.clone(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tp() -> TopicPartition {
        TopicPartition::new("orders", 0)
    }

    fn controller(unclean: bool) -> Controller {
        let topics = [TopicSpec {
            name: "orders".into(),
            assignment: vec![vec![1, 2, 3]],
            unclean_leader_election_enable: unclean,
        }];
        Controller::start(
            &[1, 2, 3],
            &topics,
            9_000,
            ControllerDisk::default(),
            0,
            &mut Effects::default(),
        )
    }

    fn heartbeat(c: &mut Controller, b: BrokerId, now: Millis) {
        let msg = Message::BrokerHeartbeat {
            broker: b,
            incarnation: 1,
            metadata_version: 99,
        };
        c.handle_message(now, NodeId::Broker(b), msg, &mut Effects::default());
    }

    fn shrink_isr_to_leader(c: &mut Controller) {
        let msg = Message::AlterPartition {
            tp: tp(),
            leader_epoch: 0,
            partition_epoch: 0,
            new_isr: vec![1],
        };
        let mut fx = Effects::default();
        c.handle_message(10, NodeId::Broker(1), msg, &mut fx);
        assert!(fx
            .sends
            .iter()
            .any(|(_, m)| matches!(m, Message::AlterPartitionResponse { error: None, .. })));
    }

    #[test]
    fn a_silent_broker_is_fenced_at_its_session_timeout_and_an_isr_member_takes_over() {
        let mut c = controller(false);
        for t in [2_000, 4_000, 6_000, 8_000] {
            heartbeat(&mut c, 2, t);
            heartbeat(&mut c, 3, t);
        }
        assert_eq!(
            c.next_deadline(),
            Some(9_000),
            "broker-1 last heard of at 0"
        );
        let mut fx = Effects::default();
        c.handle_timeout(9_000, &mut fx);
        let st = &c.partitions()[&tp()];
        assert_eq!(
            (st.leader, st.leader_epoch, st.isr.clone()),
            (Some(2), 1, vec![2, 3])
        );
        assert!(fx.events.contains(&Event::BrokerFenced { broker: 1 }));
    }

    #[test]
    fn without_unclean_election_a_partition_whose_isr_is_gone_goes_offline_until_it_returns() {
        let mut c = controller(false);
        shrink_isr_to_leader(&mut c);
        for t in [2_000, 4_000, 6_000, 8_000] {
            heartbeat(&mut c, 2, t);
            heartbeat(&mut c, 3, t);
        }
        c.handle_timeout(9_000, &mut Effects::default());
        let st = &c.partitions()[&tp()];
        assert_eq!(
            (st.leader, st.isr.clone()),
            (None, vec![1]),
            "the last ISR member stays in the ISR"
        );
        heartbeat(&mut c, 1, 12_000);
        assert_eq!(c.partitions()[&tp()].leader, Some(1));
        assert_eq!(
            c.partitions()[&tp()].leader_epoch,
            2,
            "one bump to offline, one to the new leader"
        );
    }

    #[test]
    fn with_unclean_election_a_live_replica_outside_the_isr_is_elected() {
        let mut c = controller(true);
        shrink_isr_to_leader(&mut c);
        for t in [2_000, 4_000, 6_000, 8_000] {
            heartbeat(&mut c, 2, t);
            heartbeat(&mut c, 3, t);
        }
        let mut fx = Effects::default();
        c.handle_timeout(9_000, &mut fx);
        let st = &c.partitions()[&tp()];
        assert_eq!((st.leader, st.isr.clone()), (Some(2), vec![2]));
        assert!(fx.events.iter().any(|e| matches!(
            e,
            Event::PartitionChanged {
                reason: ChangeReason::UncleanElection,
                ..
            }
        )));
    }

    #[test]
    fn an_isr_change_from_a_stale_leader_or_version_is_refused() {
        let mut c = controller(false);
        let mut fx = Effects::default();
        let stale = Message::AlterPartition {
            tp: tp(),
            leader_epoch: 0,
            partition_epoch: 7,
            new_isr: vec![1],
        };
        c.handle_message(10, NodeId::Broker(1), stale, &mut fx);
        let not_leader = Message::AlterPartition {
            tp: tp(),
            leader_epoch: 0,
            partition_epoch: 0,
            new_isr: vec![2],
        };
        c.handle_message(10, NodeId::Broker(2), not_leader, &mut fx);
        let errors: Vec<Option<ErrorCode>> = fx
            .sends
            .iter()
            .filter_map(|(_, m)| match m {
                Message::AlterPartitionResponse { error, .. } => Some(*error),
                _ => None,
            })
            .collect();
        assert_eq!(
            errors,
            vec![
                Some(ErrorCode::InvalidUpdateVersion),
                Some(ErrorCode::FencedLeaderEpoch)
            ]
        );
        assert_eq!(c.partitions()[&tp()].isr, vec![1, 2, 3]);
    }
}
