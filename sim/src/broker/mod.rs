//! A Kafka broker as a sans-IO state machine.
//!
//! Inputs: a message from a peer ([`Broker::handle_message`]) or the passage of time
//! ([`Broker::handle_timeout`], called once [`Broker::next_deadline`] is reached). Outputs:
//! [`Effects`]. The broker never reads a clock or a random source, so a test can drive it
//! message by message.
//!
//! The pieces live in their own modules: [`replication`] (the leader serving fetches, HW and
//! ISR), [`follower`] (fetching and truncating), [`produce`] (appends and idempotence) and
//! [`durability`] (flush, the HW checkpoint, what survives which crash) and [`group`] (the
//! group coordinator, for the groups whose `__consumer_offsets` partition this broker leads).

mod append_waiter;
mod durability;
mod follower;
mod group;
mod produce;
pub mod producer_state;
mod replication;
mod retention;
mod txn;

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;

pub use durability::BrokerDisk;

use crate::config::{BrokerConfig, ClusterFeatures, LogConfig, TopicOverrides};
use crate::effects::Effects;
use crate::ids::{BrokerId, Millis, NodeId, TopicPartition};
use crate::log::PartitionLog;
use crate::protocol::{BrokerInfo, ErrorCode, Message, PartitionState, ReplicaState};
use crate::trace::Event;
use producer_state::ProducerStateTable;
use replication::{Fetcher, FollowerProgress, FollowerState, ParkedFetch, PendingIsr};

/// How a replica that becomes a follower decides what to truncate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TruncationMode {
    /// Kafka 2.7+ (KIP-595's truncation on fetch, 4.1's only way): every fetch carries the
    /// epoch of the follower's last record; the leader answers a fetch that is not a prefix of
    /// its log with a diverging epoch instead of records, and the follower truncates to the
    /// end of the largest epoch both have, fetching again until they agree.
    DivergingEpoch,
    /// Kafka 0.11 to 2.6 (KIP-101 with KIP-279): before fetching, ask the leader with
    /// OffsetsForLeaderEpoch where the follower's latest epoch ends, iterate.
    LeaderEpoch,
    /// Kafka before 0.11: truncate to the follower's own high watermark.
    HighWatermark,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Role {
    /// No leader known, or not a replica.
    None,
    Leader,
    Follower(BrokerId),
}

/// One replica of one partition on this broker.
#[derive(Debug)]
pub struct Replica {
    pub tp: TopicPartition,
    pub log: PartitionLog,
    pub config: LogConfig,
    pub state: Option<PartitionState>,
    pub role: Role,
    pub high_watermark: u64,
    // ---- as leader ----
    followers: BTreeMap<BrokerId, FollowerProgress>,
    /// An ISR change sent to the controller and not yet answered (one at a time, as in Kafka:
    /// `PendingExpandIsr`/`PendingShrinkIsr`). Only the answer or newer partition state ends it.
    pending_isr: Option<PendingIsr>,
    producers: ProducerStateTable,
    // ---- as follower ----
    follower: FollowerState,
    // ---- durability ----
    last_flush_at: Millis,
    /// `(end offset, append time)` of writes not yet flushed, oldest first.
    dirty: Vec<(u64, Millis)>,
}

impl Replica {
    fn new(
        tp: TopicPartition,
        mut log: PartitionLog,
        config: LogConfig,
        hw: u64,
        now: Millis,
    ) -> Self {
        log.set_roll_config(config.roll);
        let producers = ProducerStateTable::rebuild(&log);
        let dirty = if log.unflushed() > 0 {
            vec![(log.end_offset(), now)]
        } else {
            Vec::new()
        };
        Replica {
            high_watermark: hw.min(log.end_offset()),
            tp,
            log,
            config,
            state: None,
            role: Role::None,
            followers: BTreeMap::new(),
            pending_isr: None,
            producers,
            follower: FollowerState::Idle,
            last_flush_at: now,
            dirty,
        }
    }

    pub fn leader_epoch(&self) -> u32 {
        self.state.as_ref().map(|s| s.leader_epoch).unwrap_or(0)
    }

    pub fn isr(&self) -> &[BrokerId] {
        self.state.as_ref().map(|s| s.isr.as_slice()).unwrap_or(&[])
    }

    /// The ISR the leader must count on while a change is in flight (Kafka's `maximalIsr`):
    /// the committed ISR plus a pending addition; a pending removal still counts.
    fn maximal_isr(&self) -> Vec<BrokerId> {
        let mut isr = self.isr().to_vec();
        if let Some(p) = &self.pending_isr {
            for b in &p.isr {
                if !isr.contains(b) {
                    isr.push(*b);
                }
            }
        }
        isr
    }
}

/// A view of one replica for reports and the UI.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ReplicaView {
    pub broker: BrokerId,
    pub role: Role,
    pub leader_epoch: u32,
    pub high_watermark: u64,
    pub log_end_offset: u64,
    pub log_start_offset: u64,
    pub flushed: u64,
}

pub struct Broker {
    pub id: BrokerId,
    config: BrokerConfig,
    features: ClusterFeatures,
    /// The epoch of this incarnation's registration, once the controller has answered.
    broker_epoch: Option<u64>,
    /// Whether the previous incarnation shut down cleanly (told at registration, KIP-966).
    clean_shutdown: bool,
    topic_overrides: BTreeMap<Arc<str>, TopicOverrides>,
    truncation: TruncationMode,
    incarnation: u32,
    /// Producer ids this incarnation has handed out to real clients (`InitProducerId`).
    producer_ids_given: u64,
    pub replicas: BTreeMap<TopicPartition, Replica>,
    /// What the controller last told us (the broker's metadata cache).
    metadata_version: u64,
    metadata: BTreeMap<TopicPartition, PartitionState>,
    /// The brokers as the metadata image shows them (epochs, fenced, shutting down).
    brokers: BTreeMap<BrokerId, BrokerInfo>,
    next_heartbeat: Millis,
    next_hw_checkpoint: Millis,
    next_isr_check: Millis,
    /// The log manager's next retention check (`log.retention.check.interval.ms`).
    next_retention_check: Millis,
    hw_checkpoint: BTreeMap<TopicPartition, u64>,
    fetchers: BTreeMap<BrokerId, Fetcher>,
    parked: Vec<ParkedFetch>,
    pending_produce: Vec<produce::PendingProduce>,
    coordinator: group::GroupCoordinator,
    /// The transaction coordinator, for the transactional ids whose `__transaction_state`
    /// partition this broker leads.
    txn: txn::TxnCoordinator,
    /// Transactional writes held until their coordinator answers (KIP-890 verification).
    verifying: BTreeMap<u64, txn::partition::Verifying>,
    next_correlation: u64,
    next_isr_request: u64,
    shutdown: Option<Millis>,
    stopped: bool,
}

/// What a broker process starts from: the cluster's settings for it, and its disk.
pub struct BrokerSetup {
    pub id: BrokerId,
    pub config: BrokerConfig,
    pub topic_overrides: BTreeMap<Arc<str>, TopicOverrides>,
    pub truncation: TruncationMode,
    pub features: ClusterFeatures,
    pub disk: BrokerDisk,
}

/// Give up waiting for the controller during a controlled shutdown after this long.
const CONTROLLED_SHUTDOWN_TIMEOUT_MS: Millis = 5_000;

impl Broker {
    /// Starts a broker from what its disk holds (empty on first boot).
    pub fn start(setup: BrokerSetup, now: Millis, fx: &mut Effects) -> Self {
        let BrokerSetup {
            id,
            config,
            topic_overrides,
            truncation,
            features,
            disk,
        } = setup;
        let mut b = Broker {
            id,
            features,
            broker_epoch: None,
            clean_shutdown: disk.clean_shutdown,
            incarnation: disk.incarnation + 1,
            producer_ids_given: 0,
            replicas: BTreeMap::new(),
            metadata_version: 0,
            metadata: BTreeMap::new(),
            brokers: BTreeMap::new(),
            next_heartbeat: now,
            next_hw_checkpoint: now + config.hw_checkpoint_interval_ms,
            next_isr_check: now + config.replica_lag_time_max_ms / 2,
            next_retention_check: now + config.log_initial_task_delay_ms,
            hw_checkpoint: disk.hw_checkpoint.clone(),
            fetchers: BTreeMap::new(),
            parked: Vec::new(),
            pending_produce: Vec::new(),
            coordinator: group::GroupCoordinator::default(),
            txn: txn::TxnCoordinator::default(),
            verifying: BTreeMap::new(),
            next_correlation: 1,
            next_isr_request: 0,
            shutdown: None,
            stopped: false,
            config,
            topic_overrides,
            truncation,
        };
        let recovering = disk.incarnation > 0;
        for (tp, log) in disk.logs {
            let hw = b.hw_checkpoint.get(&tp).copied().unwrap_or(0);
            let cfg = b.log_config(&tp);
            let r = Replica::new(tp.clone(), log, cfg, hw, now);
            if recovering {
                fx.event(Event::Recovered {
                    broker: id,
                    tp: tp.clone(),
                    log_end_offset: r.log.end_offset(),
                    high_watermark: r.high_watermark,
                });
            }
            b.replicas.insert(tp, r);
        }
        b.heartbeat(now, fx);
        b
    }

    fn log_config(&self, tp: &TopicPartition) -> LogConfig {
        let over = self
            .topic_overrides
            .get(&tp.topic)
            .cloned()
            .unwrap_or_default();
        LogConfig::effective(&self.config, &over)
    }

    pub fn incarnation(&self) -> u32 {
        self.incarnation
    }

    pub fn is_stopped(&self) -> bool {
        self.stopped
    }

    pub fn metadata(&self) -> &BTreeMap<TopicPartition, PartitionState> {
        &self.metadata
    }

    pub fn view(&self, tp: &TopicPartition) -> Option<ReplicaView> {
        let r = self.replicas.get(tp)?;
        Some(ReplicaView {
            broker: self.id,
            role: r.role,
            leader_epoch: r.leader_epoch(),
            high_watermark: r.high_watermark,
            log_end_offset: r.log.end_offset(),
            log_start_offset: r.log.log_start_offset(),
            flushed: r.log.flushed(),
        })
    }

    fn correlation(&mut self) -> u64 {
        self.next_correlation += 1;
        self.next_correlation
    }

    pub fn next_deadline(&self) -> Option<Millis> {
        if self.stopped {
            return None;
        }
        let mut d = self
            .next_heartbeat
            .min(self.next_hw_checkpoint)
            .min(self.next_isr_check)
            .min(self.next_retention_check);
        if let Some(s) = self.shutdown {
            d = d.min(s);
        }
        for p in &self.parked {
            d = d.min(p.deadline);
        }
        for p in &self.pending_produce {
            d = d.min(p.deadline);
        }
        if let Some(t) = self.coordinator_deadline() {
            d = d.min(t);
        }
        if let Some(t) = self.txn_deadline() {
            d = d.min(t);
        }
        for v in self.verifying.values() {
            d = d.min(v.deadline);
        }
        for r in self.replicas.values() {
            if let Some(t) = r.pending_isr.as_ref().and_then(|p| p.resend_at) {
                d = d.min(t);
            }
        }
        for f in self.fetchers.values() {
            d = d.min(f.deadline());
        }
        for r in self.replicas.values() {
            if let Some(t) = r.follower.deadline() {
                d = d.min(t);
            }
            if let Some(t) = self.flush_deadline(r) {
                d = d.min(t);
            }
        }
        Some(d)
    }

    pub fn handle_timeout(&mut self, now: Millis, fx: &mut Effects) {
        if self.stopped {
            return;
        }
        if let Some(deadline) = self.shutdown {
            if now >= deadline {
                self.finish_shutdown(now, fx);
                return;
            }
        }
        if now >= self.next_heartbeat {
            self.heartbeat(now, fx);
        }
        if now >= self.next_hw_checkpoint {
            self.checkpoint_high_watermarks();
            self.next_hw_checkpoint = now + self.config.hw_checkpoint_interval_ms;
        }
        if now >= self.next_isr_check {
            self.check_isr_expiry(now, fx);
            self.next_isr_check = now + (self.config.replica_lag_time_max_ms / 2).max(1);
        }
        self.resend_isr_changes(now, fx);
        self.expire_parked_fetches(now, fx);
        self.expire_produce(now, fx);
        self.coordinator_timeouts(now, fx);
        self.txn_timeouts(now, fx);
        self.expire_verifications(now, fx);
        self.flush_due(now, fx);
        self.retention_due(now, fx);
        self.follower_timeouts(now, fx);
        self.send_fetches(now, fx);
    }

    pub fn handle_message(&mut self, now: Millis, from: NodeId, msg: Message, fx: &mut Effects) {
        if self.stopped {
            return;
        }
        match msg {
            Message::MetadataUpdate {
                metadata_version,
                partitions,
                brokers,
            } => self.apply_metadata(now, metadata_version, partitions, brokers, fx),
            Message::BrokerRegistrationResponse {
                incarnation,
                result,
            } => {
                if incarnation == self.incarnation && self.broker_epoch.is_none() {
                    if let Ok(epoch) = result {
                        self.broker_epoch = Some(epoch);
                        // Heartbeat at once: the controller unfences us when we have caught up.
                        self.next_heartbeat = now;
                    }
                }
            }
            Message::AlterPartitionResponse {
                tp,
                request,
                result,
            } => self.handle_alter_partition_response(now, tp, request, result, fx),
            Message::ControlledShutdownResponse => {
                if self.shutdown.is_some() {
                    self.finish_shutdown(now, fx);
                }
            }
            Message::Fetch(req) => self.handle_fetch(now, from, req, fx),
            Message::FetchResponse {
                correlation,
                partitions,
            } => self.handle_fetch_response(now, from, correlation, partitions, fx),
            Message::OffsetsForLeaderEpoch {
                correlation,
                partitions,
            } => self.handle_offsets_for_leader_epoch(from, correlation, partitions, fx),
            Message::OffsetsForLeaderEpochResponse {
                correlation,
                partitions,
            } => self.handle_epoch_response(now, correlation, partitions, fx),
            Message::MetadataRequest { correlation } => {
                let partitions = self.metadata.values().cloned().collect();
                let brokers = self
                    .brokers
                    .values()
                    .filter(|b| !b.fenced)
                    .map(|b| b.id)
                    .collect();
                fx.send(
                    from,
                    Message::MetadataResponse {
                        correlation,
                        partitions,
                        brokers,
                    },
                );
            }
            Message::Produce(req) => self.handle_produce(now, from, req, fx),
            Message::InitProducerId {
                correlation,
                transactional_id: Some(id),
                transaction_timeout_ms,
            } => self.handle_init_transactions(
                now,
                from,
                correlation,
                id,
                transaction_timeout_ms,
                fx,
            ),
            Message::InitProducerId {
                correlation,
                transactional_id: None,
                ..
            } => {
                let result = self.allocate_producer_id();
                fx.send(
                    from,
                    Message::InitProducerIdResponse {
                        correlation,
                        result,
                    },
                );
            }
            Message::AddPartitionsToTxn {
                correlation,
                transactional_id,
                producer_id,
                producer_epoch,
                partitions,
                verify_only,
            } => self.handle_add_partitions_to_txn(
                now,
                from,
                correlation,
                transactional_id,
                producer_id,
                producer_epoch,
                partitions,
                verify_only,
                fx,
            ),
            Message::AddOffsetsToTxn {
                correlation,
                transactional_id,
                producer_id,
                producer_epoch,
                group,
            } => self.handle_add_offsets_to_txn(
                now,
                from,
                correlation,
                transactional_id,
                producer_id,
                producer_epoch,
                group,
                fx,
            ),
            Message::TxnOffsetCommit {
                correlation,
                transactional_id: _,
                group,
                producer_id,
                producer_epoch,
                generation,
                member_id,
                offsets,
            } => self.handle_txn_offset_commit(
                now,
                from,
                group::txn_offsets::TxnOffsets {
                    correlation,
                    group,
                    producer_id,
                    producer_epoch,
                    generation,
                    member_id,
                    offsets,
                },
                fx,
            ),
            Message::AddPartitionsToTxnResponse { correlation, error } => {
                self.handle_verification(now, correlation, error, fx)
            }
            Message::EndTxn {
                correlation,
                transactional_id,
                producer_id,
                producer_epoch,
                commit,
            } => self.handle_end_txn(
                now,
                from,
                correlation,
                transactional_id,
                producer_id,
                producer_epoch,
                commit,
                fx,
            ),
            Message::WriteTxnMarkers {
                correlation,
                markers,
            } => self.handle_write_txn_markers(now, from, correlation, markers, fx),
            Message::WriteTxnMarkersResponse {
                correlation,
                results,
            } => self.handle_markers_response(now, correlation, results, fx),
            Message::Disconnected => self.peer_disconnected(now, from),
            // Messages only the controller or clients handle.
            Message::BrokerHeartbeat { .. }
            | Message::BrokerRegistration { .. }
            | Message::AlterPartition { .. }
            | Message::ControlledShutdown { .. }
            | Message::MetadataResponse { .. }
            | Message::ProduceResponse { .. }
            | Message::ListOffsetsResponse { .. }
            | Message::FindCoordinatorResponse { .. }
            | Message::JoinGroupResponse(_)
            | Message::SyncGroupResponse { .. }
            | Message::HeartbeatResponse { .. }
            | Message::LeaveGroupResponse { .. }
            | Message::OffsetCommitResponse { .. }
            | Message::OffsetFetchResponse { .. }
            | Message::InitProducerIdResponse { .. }
            | Message::EndTxnResponse { .. }
            | Message::AddOffsetsToTxnResponse { .. }
            | Message::TxnOffsetCommitResponse { .. } => {}
            Message::ListOffsets {
                correlation,
                partitions,
            } => self.handle_list_offsets(from, correlation, partitions, fx),
            m @ (Message::FindCoordinator { .. }
            | Message::JoinGroup(_)
            | Message::SyncGroup(_)
            | Message::Heartbeat { .. }
            | Message::LeaveGroup { .. }
            | Message::OffsetCommit { .. }
            | Message::OffsetFetch { .. }) => self.handle_group_request(now, from, m, fx),
        }
        self.send_fetches(now, fx);
    }

    /// A producer id no other producer has: Kafka's brokers take blocks of ids from the
    /// controller (KIP-730's `AllocateProducerIds`); here each broker incarnation owns a block
    /// of 10 000 in its own range, above the ids of simulated producers (1000 + index). Not yet
    /// registered, the broker cannot get a block: Kafka answers COORDINATOR_LOAD_IN_PROGRESS
    /// and the client retries; here the same retriable COORDINATOR_NOT_AVAILABLE.
    fn allocate_producer_id(&mut self) -> Result<(u64, u16), ErrorCode> {
        if self.broker_epoch.is_none() || self.producer_ids_given >= 10_000 {
            return Err(ErrorCode::CoordinatorNotAvailable);
        }
        let block = 1_000_000 * u64::from(self.id) + 10_000 * u64::from(self.incarnation);
        let id = block + self.producer_ids_given;
        self.producer_ids_given += 1;
        Ok((id, 0))
    }

    /// Registers this incarnation until the controller accepts it, then heartbeats with its
    /// broker epoch (`BrokerLifecycleManager`).
    fn heartbeat(&mut self, now: Millis, fx: &mut Effects) {
        let msg = match self.broker_epoch {
            None => Message::BrokerRegistration {
                broker: self.id,
                incarnation: self.incarnation,
                clean_shutdown: self.clean_shutdown,
            },
            Some(broker_epoch) => Message::BrokerHeartbeat {
                broker: self.id,
                broker_epoch,
                metadata_version: self.metadata_version,
            },
        };
        fx.send(NodeId::Controller, msg);
        self.next_heartbeat = now + self.config.heartbeat_interval_ms;
    }

    /// Who this broker is in its follower fetches: id and broker epoch (KIP-903), or no epoch
    /// where the ZooKeeper-era model checks none.
    fn replica_state(&self) -> ReplicaState {
        ReplicaState {
            id: self.id,
            broker_epoch: self.broker_epoch.filter(|_| self.features.kraft()),
        }
    }

    /// Applies the controller's view: this is where a replica becomes leader or follower
    /// (Kafka's `ReplicaManager.applyDelta`).
    fn apply_metadata(
        &mut self,
        now: Millis,
        version: u64,
        partitions: Vec<PartitionState>,
        brokers: Vec<BrokerInfo>,
        fx: &mut Effects,
    ) {
        if version <= self.metadata_version {
            return;
        }
        if self.features.kraft() && self.broker_epoch.is_none() && self.incarnation > 1 {
            // A restarted KRaft broker serves nothing before its new incarnation is registered:
            // the image may still name its previous incarnation as a leader. (The first
            // incarnations are registered when the cluster is formed.)
            return;
        }
        self.metadata_version = version;
        self.brokers = brokers.into_iter().map(|b| (b.id, b)).collect();
        if self.broker_epoch.is_some() && self.brokers.get(&self.id).is_some_and(|b| b.fenced) {
            // Caught up while fenced: tell the controller at once (`BrokerLifecycleManager`
            // heartbeats as soon as the broker is ready to be unfenced).
            self.next_heartbeat = now;
        }
        for st in partitions {
            self.metadata.insert(st.tp.clone(), st.clone());
            if !st.replicas.contains(&self.id) {
                continue;
            }
            if !self.replicas.contains_key(&st.tp) {
                let cfg = self.log_config(&st.tp);
                self.replicas.insert(
                    st.tp.clone(),
                    Replica::new(st.tp.clone(), PartitionLog::new(cfg.roll, now), cfg, 0, now),
                );
            }
            self.apply_partition_state(now, st, fx);
        }
    }

    /// One partition's new state. The image holds every partition, so only a state with a
    /// newer partition epoch (or a new leader epoch) changes anything: like Kafka's
    /// `makeLeader`/`makeFollower`, older state is ignored, and newer state ends a pending ISR
    /// change whatever its answer.
    fn apply_partition_state(&mut self, now: Millis, st: PartitionState, fx: &mut Effects) {
        let id = self.id;
        let tp = st.tp.clone();
        let r = self.replicas.get_mut(&tp).expect("replica exists");
        let (old_epoch, old_partition_epoch) = match &r.state {
            Some(s) => (Some(s.leader_epoch), s.partition_epoch),
            None => (None, 0),
        };
        let epoch_changed = old_epoch != Some(st.leader_epoch);
        if !epoch_changed && st.partition_epoch <= old_partition_epoch && r.state.is_some() {
            return;
        }
        match st.leader {
            Some(l) if l == id => {
                let was_leader = r.role == Role::Leader;
                r.state = Some(st);
                r.pending_isr = None;
                if !was_leader || epoch_changed {
                    self.become_leader(now, &tp, fx);
                } else {
                    self.maybe_advance_hw(now, &tp, fx);
                }
            }
            Some(l) => {
                let was = r.role;
                r.state = Some(st);
                if was != Role::Follower(l) || epoch_changed {
                    self.become_follower(now, &tp, l, fx);
                }
            }
            None => {
                let was_leader = r.role == Role::Leader;
                r.state = Some(st);
                r.role = Role::None;
                r.follower = FollowerState::Idle;
                r.pending_isr = None;
                if was_leader {
                    self.lost_leadership(now, &tp, fx);
                }
            }
        }
    }
}

/// Brokers `ids`, registered with broker epoch 1 and unfenced, as a metadata image lists them
/// (for tests that drive a broker message by message).
#[cfg(test)]
pub(crate) fn registered(ids: &[BrokerId]) -> Vec<BrokerInfo> {
    ids.iter()
        .map(|&id| BrokerInfo {
            id,
            epoch: 1,
            fenced: false,
            in_controlled_shutdown: false,
        })
        .collect()
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_retention;
