//! The controller: broker registrations and sessions, fencing, leader election, ISR changes.
//!
//! It stands in for KRaft's controller quorum as a single node whose metadata survives its
//! crashes (the quorum's log is durable and replicated; the quorum itself is not modelled).
//! What it does follows Kafka 4.1's `ClusterControlManager` (registrations),
//! `ReplicationControlManager` (AlterPartition, fencing) and `PartitionChangeBuilder` (every
//! partition change: the ELR, then the election, then the ISR):
//! - every start of a broker registers a new incarnation with a new broker epoch, refused
//!   (DUPLICATE_BROKER_REGISTRATION) while the previous incarnation's session is still valid; a
//!   new registration is fenced until the broker's heartbeat shows it has caught up with the
//!   metadata; an unclean previous shutdown takes the broker out of every ISR and ELR;
//! - a broker whose session expires is fenced and leaves every ISR;
//! - elections choose from the ISR, then (ISR empty) the ELR, then the last known leader, then,
//!   only with `unclean.leader.election.enable`, any live replica;
//! - the leader epoch changes with the leader, the partition epoch with every change.
//!
//! With `metadata = "zookeeper"` it behaves as the ZooKeeper-era controller instead: a broker
//! that restarts within its session timeout keeps its registration and its place in the ISR,
//! and broker epochs are not checked.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::config::ClusterFeatures;
use crate::effects::Effects;
use crate::ids::{BrokerId, Millis, NodeId, TopicPartition};
use crate::protocol::{BrokerInfo, ErrorCode, Message, PartitionState};
use crate::trace::{ChangeReason, Event};

/// A broker's registration (KRaft's `BrokerRegistration`), part of the durable metadata.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Registration {
    pub incarnation: u32,
    pub epoch: u64,
    pub fenced: bool,
    pub in_controlled_shutdown: bool,
    /// The metadata version of the registration: the broker is unfenced once it has it.
    pub registered_at: u64,
}

/// The controller's durable state (the metadata log).
#[derive(Clone, Debug, Default)]
pub struct ControllerDisk {
    pub partitions: BTreeMap<TopicPartition, PartitionState>,
    /// KIP-966's `lastKnownElr`: the last leader of a partition whose ISR and ELR emptied.
    pub last_known_leader: BTreeMap<TopicPartition, BrokerId>,
    pub metadata_version: u64,
    pub registrations: BTreeMap<BrokerId, Registration>,
    pub started: bool,
    /// Policies of topics created while running.
    pub created_topics: BTreeMap<Arc<str>, TopicPolicy>,
}

/// What the controller needs to know of a topic's configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TopicPolicy {
    pub unclean_leader_election_enable: bool,
    pub min_insync_replicas: u32,
}

pub struct Controller {
    session_timeout_ms: Millis,
    features: ClusterFeatures,
    policies: BTreeMap<Arc<str>, TopicPolicy>,
    /// Last heartbeat per registered broker (in memory: a new controller starts them afresh).
    sessions: BTreeMap<BrokerId, Millis>,
    pub disk: ControllerDisk,
}

/// A topic as the controller creates it at start.
#[derive(Clone, Debug)]
pub struct TopicSpec {
    pub name: Arc<str>,
    /// Replica assignment per partition; the first replica is the preferred leader.
    pub assignment: Vec<Vec<BrokerId>>,
    pub policy: TopicPolicy,
}

/// What one partition change does to one broker (`generateLeaderAndIsrUpdates`' arguments).
#[derive(Clone, Copy, Debug, Default)]
struct Change {
    /// Leaves the ISR and may not lead (fenced, shutting down).
    remove: Option<BrokerId>,
    /// May lead although the registrations still show it fenced (being unfenced).
    add: Option<BrokerId>,
    /// Leaves the ISR and the ELR and may not lead (KIP-966's unclean shutdown).
    unclean_shutdown: Option<BrokerId>,
}

impl Controller {
    pub fn start(
        brokers: &[BrokerId],
        topics: &[TopicSpec],
        session_timeout_ms: Millis,
        features: ClusterFeatures,
        mut disk: ControllerDisk,
        now: Millis,
        fx: &mut Effects,
    ) -> Self {
        if !disk.started {
            disk.started = true;
            disk.metadata_version = 1;
            // The cluster as formatted: every broker's first incarnation is registered.
            for &b in brokers {
                disk.registrations.insert(
                    b,
                    Registration {
                        incarnation: 1,
                        epoch: 1,
                        fenced: false,
                        in_controlled_shutdown: false,
                        registered_at: 1,
                    },
                );
            }
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
                        elr: Vec::new(),
                    };
                    fx.event(changed(&st, ChangeReason::Created));
                    disk.partitions.insert(tp, st);
                }
            }
        }
        // A new controller gives every registered broker a full session before fencing it.
        let sessions = disk.registrations.keys().map(|&b| (b, now)).collect();
        let mut policies: BTreeMap<Arc<str>, TopicPolicy> =
            topics.iter().map(|t| (t.name.clone(), t.policy)).collect();
        policies.extend(disk.created_topics.clone());
        let mut c = Controller {
            session_timeout_ms,
            features,
            policies,
            sessions,
            disk,
        };
        c.push_metadata(fx);
        c
    }

    pub fn crash(self) -> ControllerDisk {
        self.disk
    }

    fn unfenced(&self, b: BrokerId) -> bool {
        self.disk.registrations.get(&b).is_some_and(|r| !r.fenced)
    }

    /// `BrokerHeartbeatManager.hasValidSession`: unfenced and heard from within the timeout.
    fn has_valid_session(&self, b: BrokerId, now: Millis) -> bool {
        self.unfenced(b)
            && self
                .sessions
                .get(&b)
                .is_some_and(|&t| t + self.session_timeout_ms > now)
    }

    /// `ClusterControlManager.isActive`: registered, unfenced and not shutting down.
    fn is_active(&self, b: BrokerId) -> bool {
        self.disk
            .registrations
            .get(&b)
            .is_some_and(|r| !r.fenced && !r.in_controlled_shutdown)
    }

    pub fn next_deadline(&self) -> Option<Millis> {
        self.sessions
            .iter()
            .filter(|(b, _)| self.unfenced(**b))
            .map(|(_, t)| t + self.session_timeout_ms)
            .min()
    }

    pub fn handle_timeout(&mut self, now: Millis, fx: &mut Effects) {
        let expired: Vec<BrokerId> = self
            .sessions
            .iter()
            .filter(|(b, t)| self.unfenced(**b) && **t + self.session_timeout_ms <= now)
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
            Message::BrokerRegistration {
                broker,
                incarnation,
                clean_shutdown,
            } => {
                let known = self.disk.registrations.get(&broker).map(|r| r.incarnation);
                let result = self.register(now, broker, incarnation, clean_shutdown, fx);
                if result.is_err() || known == Some(incarnation) {
                    // (A new registration has been answered already, ahead of its image.)
                    fx.send(
                        from,
                        Message::BrokerRegistrationResponse {
                            incarnation,
                            result,
                        },
                    );
                }
            }
            Message::BrokerHeartbeat {
                broker,
                broker_epoch,
                metadata_version,
            } => self.heartbeat(now, from, broker, broker_epoch, metadata_version, fx),
            Message::AlterPartition {
                tp,
                request,
                broker_epoch,
                leader_epoch,
                partition_epoch,
                new_isr,
            } => {
                let result = self.alter_partition(
                    from,
                    &tp,
                    broker_epoch,
                    (leader_epoch, partition_epoch),
                    &new_isr,
                    fx,
                );
                if result.as_ref().is_ok_and(|(changed, _)| *changed) {
                    self.push_metadata(fx);
                }
                fx.send(
                    from,
                    Message::AlterPartitionResponse {
                        tp,
                        request,
                        result: result.map(|(_, st)| st),
                    },
                );
            }
            Message::ControlledShutdown { broker } => {
                if self.disk.registrations.contains_key(&broker) {
                    self.fence(broker, ChangeReason::ControlledShutdown, fx);
                    self.push_metadata(fx);
                }
                fx.send(from, Message::ControlledShutdownResponse);
            }
            _ => {}
        }
    }

    /// `ClusterControlManager.registerBroker`, and the shutdown handling of the previous
    /// incarnation that goes with it.
    fn register(
        &mut self,
        now: Millis,
        broker: BrokerId,
        incarnation: u32,
        clean_shutdown: bool,
        fx: &mut Effects,
    ) -> Result<u64, ErrorCode> {
        let kraft = self.features.kraft();
        let existing = self.disk.registrations.get(&broker).copied();
        if let Some(ex) = existing {
            if ex.incarnation == incarnation {
                // The same process registering again: its epoch and state stand.
                return Ok(ex.epoch);
            }
            if kraft && self.has_valid_session(broker, now) {
                return Err(ErrorCode::DuplicateBrokerRegistration);
            }
        }
        if existing.is_some() && kraft {
            // `handleBrokerShutdown(id, isClean)`: an unclean one leaves every ISR and ELR
            // (its unflushed records may be gone); a clean one leaves the ISR as on fencing.
            let change = if self.features.eligible_leader_replicas && !clean_shutdown {
                Change {
                    unclean_shutdown: Some(broker),
                    ..Change::default()
                }
            } else {
                Change {
                    remove: Some(broker),
                    ..Change::default()
                }
            };
            let reason = if change.unclean_shutdown.is_some() {
                ChangeReason::UncleanShutdown
            } else {
                ChangeReason::Fenced
            };
            for tp in self.partitions_with(broker, true) {
                self.change(&tp, None, change, reason, fx);
            }
        }
        self.disk.metadata_version += 1;
        let epoch = self.disk.metadata_version;
        let fenced = match existing {
            // KRaft: a new registration is fenced until it has caught up with the metadata.
            _ if kraft => true,
            // ZooKeeper era: the broker keeps whatever state its session had.
            Some(ex) => ex.fenced,
            None => false,
        };
        self.disk.registrations.insert(
            broker,
            Registration {
                incarnation,
                epoch,
                fenced,
                in_controlled_shutdown: false,
                registered_at: epoch,
            },
        );
        self.sessions.insert(broker, now);
        fx.event(Event::BrokerRegistered {
            broker,
            incarnation,
            broker_epoch: epoch,
        });
        // The answer goes first, so the broker knows its epoch when the new image arrives.
        fx.send(
            NodeId::Broker(broker),
            Message::BrokerRegistrationResponse {
                incarnation,
                result: Ok(epoch),
            },
        );
        self.push_metadata(fx);
        Ok(epoch)
    }

    fn heartbeat(
        &mut self,
        now: Millis,
        from: NodeId,
        broker: BrokerId,
        broker_epoch: u64,
        metadata_version: u64,
        fx: &mut Effects,
    ) {
        let Some(reg) = self.disk.registrations.get(&broker).copied() else {
            return;
        };
        if reg.epoch != broker_epoch {
            // STALE_BROKER_EPOCH: an earlier incarnation, or a heartbeat that outlived it.
            return;
        }
        self.sessions.insert(broker, now);
        let caught_up = !self.features.kraft() || metadata_version >= reg.registered_at;
        if reg.fenced && !reg.in_controlled_shutdown && caught_up {
            self.unfence(broker, fx);
            self.push_metadata(fx);
        } else if metadata_version < self.disk.metadata_version {
            fx.send(from, self.metadata_message());
        }
    }

    /// `ReplicationControlManager.alterPartition` for one partition: the checks of
    /// `validateAlterPartitionData` in Kafka's order, then the change. Returns whether the
    /// partition changed, and the partition as it now is.
    fn alter_partition(
        &mut self,
        from: NodeId,
        tp: &TopicPartition,
        broker_epoch: Option<u64>,
        (leader_epoch, partition_epoch): (u32, u32),
        new_isr: &[(BrokerId, Option<u64>)],
        fx: &mut Effects,
    ) -> Result<(bool, PartitionState), ErrorCode> {
        let kraft = self.features.kraft();
        let sender = from.broker().ok_or(ErrorCode::InvalidRequest)?;
        if kraft {
            let current = self.disk.registrations.get(&sender).map(|r| r.epoch);
            if current != broker_epoch {
                return Err(ErrorCode::StaleBrokerEpoch);
            }
        }
        let st = self
            .disk
            .partitions
            .get(tp)
            .ok_or(ErrorCode::UnknownTopicOrPartition)?
            .clone();
        if leader_epoch > st.leader_epoch || partition_epoch > st.partition_epoch {
            return Err(ErrorCode::NotController);
        }
        if leader_epoch < st.leader_epoch {
            return Err(ErrorCode::FencedLeaderEpoch);
        }
        if st.leader != Some(sender) {
            return Err(ErrorCode::InvalidRequest);
        }
        if partition_epoch < st.partition_epoch {
            return Err(ErrorCode::InvalidUpdateVersion);
        }
        let ids: Vec<BrokerId> = new_isr.iter().map(|m| m.0).collect();
        if !ids.contains(&sender) || ids.iter().any(|b| !st.replicas.contains(b)) {
            return Err(ErrorCode::InvalidRequest);
        }
        let ineligible = new_isr
            .iter()
            .any(|&(b, e)| match self.disk.registrations.get(&b) {
                None => true,
                Some(r) => {
                    r.in_controlled_shutdown
                        || r.fenced
                        || (kraft && e.is_some_and(|e| e != r.epoch))
                }
            });
        if ineligible {
            return Err(ErrorCode::IneligibleReplica);
        }
        let reason = if ids.len() < st.isr.len() {
            ChangeReason::IsrShrink
        } else {
            ChangeReason::IsrExpand
        };
        let changed = self.change(tp, Some(ids), Change::default(), reason, fx);
        Ok((changed, self.disk.partitions[tp].clone()))
    }

    /// Partitions where `b` is in the ISR (or, with `elr`, the ELR too).
    fn partitions_with(&self, b: BrokerId, elr: bool) -> Vec<TopicPartition> {
        self.disk
            .partitions
            .iter()
            .filter(|(_, st)| {
                st.isr.contains(&b) || st.leader == Some(b) || (elr && st.elr.contains(&b))
            })
            .map(|(tp, _)| tp.clone())
            .collect()
    }

    /// Fences a broker (`handleBrokerFenced`, or `handleBrokerInControlledShutdown` then
    /// fencing): it leaves every ISR, and its partitions elect new leaders.
    fn fence(&mut self, b: BrokerId, reason: ChangeReason, fx: &mut Effects) {
        match self.disk.registrations.get_mut(&b) {
            Some(r) if !r.fenced => r.fenced = true,
            _ => return,
        }
        fx.event(Event::BrokerFenced { broker: b });
        let change = Change {
            remove: Some(b),
            ..Change::default()
        };
        for tp in self.partitions_with(b, false) {
            self.change(&tp, None, change, reason, fx);
        }
    }

    /// `handleBrokerUnfenced`: partitions without a leader try an election with `b` back.
    fn unfence(&mut self, b: BrokerId, fx: &mut Effects) {
        if let Some(r) = self.disk.registrations.get_mut(&b) {
            r.fenced = false;
        }
        fx.event(Event::BrokerUnfenced { broker: b });
        let leaderless: Vec<TopicPartition> = self
            .disk
            .partitions
            .iter()
            .filter(|(_, s)| s.leader.is_none())
            .map(|(tp, _)| tp.clone())
            .collect();
        let change = Change {
            add: Some(b),
            ..Change::default()
        };
        for tp in leaderless {
            self.change(&tp, None, change, ChangeReason::Election, fx);
        }
    }

    fn min_isr(&self, st: &PartitionState) -> usize {
        let m = self
            .policies
            .get(&st.tp.topic)
            .map_or(1, |p| p.min_insync_replicas);
        (m as usize).min(st.replicas.len())
    }

    /// One partition change, as `PartitionChangeBuilder.build` makes it: the target ISR (the
    /// current one without removed brokers, or an AlterPartition's), the ELR, the election, the
    /// last known leader. Returns whether anything changed.
    fn change(
        &mut self,
        tp: &TopicPartition,
        target_isr: Option<Vec<BrokerId>>,
        c: Change,
        mut reason: ChangeReason,
        fx: &mut Effects,
    ) -> bool {
        let st = self.disk.partitions[tp].clone();
        let elr_on = self.features.eligible_leader_replicas;
        let unclean_allowed = self
            .policies
            .get(&tp.topic)
            .is_some_and(|p| p.unclean_leader_election_enable);
        let gone = |r: BrokerId| Some(r) == c.remove || Some(r) == c.unclean_shutdown;
        let acceptable = |r: BrokerId| !gone(r) && (Some(r) == c.add || self.is_active(r));
        let mut isr: Vec<BrokerId> = target_isr
            .unwrap_or_else(|| st.isr.clone())
            .into_iter()
            .filter(|r| !gone(*r))
            .collect();
        let by_assignment = |set: BTreeSet<BrokerId>| -> Vec<BrokerId> {
            st.replicas
                .iter()
                .copied()
                .filter(|r| set.contains(r))
                .collect()
        };
        // maybePopulateTargetElr: below min ISR, who leaves the ISR joins the ELR.
        let mut elr: Vec<BrokerId> = Vec::new();
        if elr_on && isr.len() < self.min_isr(&st) {
            let candidates: BTreeSet<BrokerId> = st
                .elr
                .iter()
                .chain(&st.isr)
                .copied()
                .filter(|r| !isr.contains(r) && Some(*r) != c.unclean_shutdown)
                .collect();
            elr = by_assignment(candidates);
        }
        // electAnyLeader.
        let valid = |r: BrokerId| {
            (isr.contains(&r) || (isr.is_empty() && elr.contains(&r))) && acceptable(r)
        };
        let last_known = self.disk.last_known_leader.get(tp).copied();
        let (leader, how) = if st.leader.is_some_and(valid) {
            (st.leader, None)
        } else if let Some(r) = st.replicas.iter().copied().find(|r| valid(*r)) {
            (Some(r), Some(ChangeReason::Election))
        } else if let Some(r) =
            last_known.filter(|r| elr_on && isr.is_empty() && elr.is_empty() && acceptable(*r))
        {
            (Some(r), Some(ChangeReason::LastKnownLeader))
        } else if let Some(r) = st
            .replicas
            .iter()
            .copied()
            .find(|r| unclean_allowed && acceptable(*r))
        {
            (Some(r), Some(ChangeReason::UncleanElection))
        } else {
            (None, Some(ChangeReason::Offline))
        };
        let mut isr_forced = false;
        if leader != st.leader {
            reason = how.unwrap_or(reason);
            if let Some(l) = leader {
                if elr.contains(&l) {
                    isr = vec![l];
                    elr.retain(|r| *r != l);
                    reason = ChangeReason::ElrElection;
                } else if how != Some(ChangeReason::Election) {
                    // Unclean, or the last known leader: the ISR is the new leader alone.
                    isr = vec![l];
                    isr_forced = true;
                }
            }
        }
        if isr_forced || !elr_on {
            elr.clear();
        }
        // Without the ELR the ISR never empties: its last member stays (KRaft's rule).
        if isr.is_empty() && !elr_on {
            isr = st.isr.clone();
        }
        // maybeUpdateLastKnownLeader.
        if elr_on && isr.is_empty() && !st.isr.is_empty() {
            if let Some(l) = st.leader {
                self.disk.last_known_leader.insert(tp.clone(), l);
            }
        } else if leader.is_some() {
            self.disk.last_known_leader.remove(tp);
        }
        if leader == st.leader && isr == st.isr && elr == st.elr {
            return false;
        }
        let st = self.disk.partitions.get_mut(tp).expect("exists");
        if leader != st.leader {
            st.leader_epoch += 1;
        }
        st.leader = leader;
        st.isr = isr;
        st.elr = elr;
        st.partition_epoch += 1;
        fx.event(changed(st, reason));
        true
    }

    fn metadata_message(&self) -> Message {
        Message::MetadataUpdate {
            metadata_version: self.disk.metadata_version,
            partitions: self.disk.partitions.values().cloned().collect(),
            brokers: self
                .disk
                .registrations
                .iter()
                .map(|(&id, r)| BrokerInfo {
                    id,
                    epoch: r.epoch,
                    fenced: r.fenced,
                    in_controlled_shutdown: r.in_controlled_shutdown,
                })
                .collect(),
        }
    }

    /// Publishes a new metadata version to every broker. Fenced brokers get it too: in KRaft
    /// every broker follows the metadata log, fenced or not, and that is how a broker that was
    /// paused learns, when it resumes, that it no longer leads.
    fn push_metadata(&mut self, fx: &mut Effects) {
        self.disk.metadata_version += 1;
        let msg = self.metadata_message();
        for &b in self.disk.registrations.keys() {
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
        policy: TopicPolicy,
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
            .disk
            .registrations
            .keys()
            .copied()
            .filter(|b| self.unfenced(*b))
            .collect();
        if (live.len() as u32) < rf {
            return Err(format!(
                "INVALID_REPLICATION_FACTOR: replication factor {rf} is larger than the {} available brokers",
                live.len()
            ));
        }
        if existing == 0 {
            self.policies.insert(topic.clone(), policy);
            self.disk.created_topics.insert(topic.clone(), policy);
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
                elr: Vec::new(),
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
        elr: st.elr.clone(),
        reason,
    }
}

#[cfg(test)]
mod tests;
