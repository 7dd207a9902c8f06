//! The group coordinator: Kafka's classic `GroupCoordinator` and `GroupMetadataManager`
//! (core/src/main/scala/kafka/coordinator/group/, Kafka 2.x–3.x), on the broker that leads a
//! group's `__consumer_offsets` partition.
//!
//! A group moves through Empty → PreparingRebalance (members (re)join) → CompletingRebalance
//! (the new generation waits for its leader's assignment) → Stable, and back to
//! PreparingRebalance whenever its membership changes. Nothing here is kept anywhere but in
//! memory and in `__consumer_offsets`: committed offsets and the group's metadata are records
//! appended through the leader's normal append path, acknowledged only once the HW passes them
//! (Kafka's `offsets.commit.required.acks=-1`), so they replicate, can be truncated, and
//! survive a coordinator's crash exactly as far as replication carried them. A broker that
//! becomes leader of such a partition rebuilds its groups from the log ([`records`]).

mod records;
mod state;
#[cfg(test)]
mod tests;
pub(super) mod txn_offsets;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::broker::append_waiter::{PendingWrite, Waiter};
use crate::broker::{Broker, Role};
use crate::config::Assignor;
use crate::effects::Effects;
use crate::ids::{group_partition, Millis, NodeId, TopicPartition, OFFSETS_TOPIC};
use crate::protocol::{CoordinatorType, ErrorCode, Message, OffsetAndEpoch};
use crate::trace::Event;
use records::{Stored, StoredGroup};
pub use state::GroupState;
use state::{
    commit_reply, group_error, join_error, offsets_error, sync_reply, Committed, Ctx, Group,
    Member, Write,
};

/// Kafka's `offsets.commit.timeout.ms` (default 5000): how long a commit, or the leader's
/// assignment, waits for the HW before the coordinator gives up on it.
const OFFSET_COMMIT_TIMEOUT_MS: Millis = 5_000;

#[derive(Debug, Default)]
pub(super) struct GroupCoordinator {
    /// The `__consumer_offsets` partitions this broker leads and has loaded.
    owned: BTreeSet<TopicPartition>,
    groups: BTreeMap<Arc<str>, Group>,
}

impl GroupCoordinator {
    /// The group's state, for tests and views.
    #[cfg(test)]
    fn state(&self, group: &str) -> Option<(GroupState, u32)> {
        self.groups.get(group).map(|g| (g.state, g.generation))
    }
}

impl Broker {
    fn group_ctx(&self, now: Millis) -> Ctx {
        Ctx {
            now,
            broker: self.id,
            initial_rebalance_delay_ms: self.config.group_initial_rebalance_delay_ms,
        }
    }

    /// The `__consumer_offsets` partition holding `group`, from the metadata cache.
    pub(super) fn offsets_partition(&self, group: &str) -> Option<TopicPartition> {
        let n = self
            .metadata
            .keys()
            .filter(|tp| &*tp.topic == OFFSETS_TOPIC)
            .count() as u32;
        (n > 0).then(|| TopicPartition::new(OFFSETS_TOPIC, group_partition(group, n)))
    }

    /// Kafka's `validateGroupStatus`: this broker must lead (and have loaded) the group's
    /// partition.
    fn coordinating(&self, group: &str) -> Result<TopicPartition, ErrorCode> {
        self.offsets_partition(group)
            .filter(|tp| self.coordinator.owned.contains(tp))
            .ok_or(ErrorCode::NotCoordinator)
    }

    /// FindCoordinator, JoinGroup, SyncGroup, Heartbeat, LeaveGroup, OffsetCommit, OffsetFetch.
    pub(super) fn handle_group_request(
        &mut self,
        now: Millis,
        from: NodeId,
        msg: Message,
        fx: &mut Effects,
    ) {
        let c = self.group_ctx(now);
        let mut w = Vec::new();
        match msg {
            Message::FindCoordinator {
                correlation,
                group,
                key_type,
            } => {
                // Any broker answers, from its metadata cache.
                let leader = match key_type {
                    CoordinatorType::Group => self
                        .offsets_partition(&group)
                        .and_then(|tp| self.metadata.get(&tp))
                        .and_then(|st| st.leader),
                    CoordinatorType::Transaction => self.txn_coordinator_of(&group),
                };
                fx.send(
                    from,
                    Message::FindCoordinatorResponse {
                        correlation,
                        error: leader
                            .is_none()
                            .then_some(ErrorCode::CoordinatorNotAvailable),
                        coordinator: leader,
                    },
                );
            }
            Message::JoinGroup(req) => {
                let group = req.group.clone();
                let tp = match self.coordinating(&group) {
                    Ok(tp) => tp,
                    Err(e) => return join_error(fx, from, req.correlation, req.member_id, e),
                };
                if !self.coordinator.groups.contains_key(&group) {
                    // Only a new member creates a group.
                    if req.member_id.is_some() {
                        return join_error(
                            fx,
                            from,
                            req.correlation,
                            req.member_id,
                            ErrorCode::UnknownMemberId,
                        );
                    }
                    self.coordinator
                        .groups
                        .insert(group.clone(), Group::new(group.clone(), tp));
                }
                let g = self.coordinator.groups.get_mut(&group).expect("group");
                g.join(&c, from, req, fx, &mut w);
            }
            Message::SyncGroup(req) => {
                let correlation = req.correlation;
                if let Err(e) = self.coordinating(&req.group) {
                    return sync_reply(fx, from, correlation, Err(e));
                }
                match self.coordinator.groups.get_mut(&req.group) {
                    None => sync_reply(fx, from, correlation, Err(ErrorCode::UnknownMemberId)),
                    Some(g) => g.sync(&c, from, req, &mut w, fx),
                }
            }
            Message::Heartbeat {
                correlation,
                group,
                generation,
                member_id,
            } => {
                let error = match self.coordinating(&group) {
                    Err(e) => Some(e),
                    Ok(_) => match self.coordinator.groups.get_mut(&group) {
                        None => Some(ErrorCode::UnknownMemberId),
                        Some(g) => g.heartbeat(&c, generation, &member_id),
                    },
                };
                fx.send(from, Message::HeartbeatResponse { correlation, error });
            }
            Message::LeaveGroup {
                correlation,
                group,
                member_id,
                reason,
            } => {
                let error = match self.coordinating(&group) {
                    Err(e) => Some(e),
                    Ok(_) => match self.coordinator.groups.get_mut(&group) {
                        Some(g) if g.members.contains_key(&member_id) => {
                            let why = format!("{member_id} left the group: {reason}");
                            g.remove_member(&c, &member_id, reason, why, fx, &mut w);
                            None
                        }
                        _ => Some(ErrorCode::UnknownMemberId),
                    },
                };
                fx.send(from, Message::LeaveGroupResponse { correlation, error });
            }
            Message::OffsetCommit {
                correlation,
                group,
                generation,
                member_id,
                offsets,
            } => {
                let tp = match self.coordinating(&group) {
                    Ok(tp) => tp,
                    Err(e) => return commit_reply(fx, from, correlation, Some(e)),
                };
                let g = match self.coordinator.groups.get_mut(&group) {
                    Some(g) => g,
                    // An unknown group is created only by a consumer outside group management;
                    // otherwise the request comes from a generation this coordinator never saw.
                    None if generation.is_none() => self
                        .coordinator
                        .groups
                        .entry(group.clone())
                        .or_insert_with(|| Group::new(group.clone(), tp)),
                    None => {
                        return commit_reply(
                            fx,
                            from,
                            correlation,
                            Some(ErrorCode::IllegalGeneration),
                        )
                    }
                };
                if let Err(e) = g.check_commit(&c, generation, &member_id) {
                    return commit_reply(fx, from, correlation, Some(e));
                }
                if offsets.is_empty() {
                    return commit_reply(fx, from, correlation, None);
                }
                let records = offsets
                    .iter()
                    .map(|o| records::offset_record(&group, o, generation, now))
                    .collect();
                w.push(Write {
                    tp: g.tp.clone(),
                    records,
                    waiter: Some(PendingWrite::Offsets {
                        group,
                        client: from,
                        correlation,
                        generation,
                        member: member_id,
                        offsets,
                    }),
                });
            }
            Message::OffsetFetch {
                correlation,
                group,
                partitions,
                require_stable,
            } => {
                let unstable = require_stable
                    && match (&partitions, self.coordinator.groups.get(&group)) {
                        (Some(ps), Some(g)) => txn_offsets::unstable(g, ps),
                        _ => false,
                    };
                let (error, offsets) = match self.coordinating(&group) {
                    Err(e) => (Some(e), Vec::new()),
                    Ok(_) if unstable => (Some(ErrorCode::UnstableOffsetCommit), Vec::new()),
                    Ok(_) => {
                        let committed = self.coordinator.groups.get(&group).map(|g| &g.offsets);
                        let partitions = match partitions {
                            Some(ps) => ps,
                            None => committed
                                .into_iter()
                                .flat_map(|c| c.keys().cloned())
                                .collect(),
                        };
                        let offsets = partitions
                            .into_iter()
                            .filter_map(|tp| {
                                let o = committed?.get(&tp)?;
                                Some(OffsetAndEpoch {
                                    tp,
                                    offset: o.offset,
                                    leader_epoch: o.leader_epoch,
                                })
                            })
                            .collect();
                        (None, offsets)
                    }
                };
                fx.send(
                    from,
                    Message::OffsetFetchResponse {
                        correlation,
                        error,
                        offsets,
                    },
                );
            }
            _ => {}
        }
        self.run_group_writes(now, w, fx);
    }

    /// Appends the coordinator's records as Kafka's `appendForGroup` does: through the
    /// leader's append path with acks=-1, so `min.insync.replicas` applies before the append
    /// and the waiter is told once the HW passes the records.
    fn run_group_writes(&mut self, now: Millis, writes: Vec<Write>, fx: &mut Effects) {
        for write in writes {
            let refused = match self.replicas.get(&write.tp) {
                Some(r) if r.role == Role::Leader && self.shutdown.is_none() => {
                    ((r.isr().len() as u32) < r.config.min_insync_replicas)
                        .then_some(ErrorCode::NotEnoughReplicas)
                }
                _ => Some(ErrorCode::NotLeaderOrFollower),
            };
            if let Some(e) = refused {
                if let Some(waiter) = write.waiter {
                    self.coordinator_write_done(now, waiter, Err(e), fx);
                }
                continue;
            }
            let n = write.records.len() as u64;
            let data = write.records.into_iter().map(|d| (d, None)).collect();
            let base = self.append_as_leader(now, &write.tp, data, fx);
            match write.waiter {
                Some(waiter) => self.await_high_watermark(
                    now,
                    &write.tp,
                    base..base + n,
                    OFFSET_COMMIT_TIMEOUT_MS,
                    Waiter::Coordinator(waiter),
                    fx,
                ),
                None => self.maybe_advance_hw(now, &write.tp, fx),
            }
        }
    }

    /// A coordinator write reached the HW (`Ok`) or failed.
    pub(super) fn coordinator_write_done(
        &mut self,
        now: Millis,
        write: PendingWrite,
        result: Result<u64, ErrorCode>,
        fx: &mut Effects,
    ) {
        let c = self.group_ctx(now);
        let mut w = Vec::new();
        match write {
            PendingWrite::Offsets {
                group,
                client,
                correlation,
                generation,
                member,
                offsets,
            } => match result {
                Ok(_) => {
                    if let Some(g) = self.coordinator.groups.get_mut(&group) {
                        for o in &offsets {
                            g.offsets.insert(
                                o.tp.clone(),
                                Committed {
                                    offset: o.offset,
                                    leader_epoch: o.leader_epoch,
                                },
                            );
                        }
                    }
                    fx.event(Event::OffsetsCommitted {
                        broker: self.id,
                        group,
                        generation,
                        member,
                        offsets: offsets.into_iter().map(|o| (o.tp, o.offset)).collect(),
                    });
                    commit_reply(fx, client, correlation, None);
                }
                Err(e) => commit_reply(fx, client, correlation, Some(offsets_error(e))),
            },
            PendingWrite::TxnOffsets(w) => self.txn_offsets_written(w, result, fx),
            PendingWrite::Assignment {
                group,
                generation,
                assignment,
            } => {
                if let Some(g) = self.coordinator.groups.get_mut(&group) {
                    let r = result.map(|_| ()).map_err(group_error);
                    g.assignment_stored(&c, generation, assignment, r, fx, &mut w);
                }
            }
        }
        self.run_group_writes(now, w, fx);
    }

    /// Becoming leader of a `__consumer_offsets` partition: Kafka's `loadGroupsForPartition`
    /// reads the whole log (to its end, not the HW: this leader's log is the partition's history
    /// from now on), the latest record per key winning. Restored members get fresh session
    /// timers, as Kafka's `onGroupLoaded` schedules them.
    ///
    /// Loading is instantaneous here; Kafka loads in the background and answers the group's
    /// requests with COORDINATOR_LOAD_IN_PROGRESS meanwhile.
    pub(super) fn coordinator_load(&mut self, now: Millis, tp: &TopicPartition, fx: &mut Effects) {
        if self.coordinator.owned.contains(tp) {
            // Re-elected in a new epoch: Kafka keeps the groups it has in memory.
            return;
        }
        let Some(r) = self.replicas.get(tp) else {
            return;
        };
        let mut metas: BTreeMap<Arc<str>, StoredGroup> = BTreeMap::new();
        let mut offsets: BTreeMap<Arc<str>, BTreeMap<TopicPartition, Committed>> = BTreeMap::new();
        let mut counters: BTreeMap<Arc<str>, u64> = BTreeMap::new();
        let mut pending: txn_offsets::PendingLoad = BTreeMap::new();
        for rec in r.log.records() {
            // Transactional offsets wait for their marker.
            if let (Some(kind), Some(p)) = (rec.control, rec.producer) {
                for (group, ps) in pending.remove(&p.producer_id).unwrap_or_default() {
                    if kind == crate::log::ControlType::Commit {
                        offsets.entry(group).or_default().extend(ps);
                    }
                }
                continue;
            }
            let txn = rec.producer.filter(|p| p.transactional);
            match records::parse(&rec.data) {
                Some(Stored::Offset { group, offset }) if txn.is_some() => {
                    let pid = txn.expect("checked").producer_id;
                    pending
                        .entry(pid)
                        .or_default()
                        .entry(group)
                        .or_default()
                        .insert(
                            offset.tp,
                            Committed {
                                offset: offset.offset,
                                leader_epoch: offset.leader_epoch,
                            },
                        );
                }
                Some(Stored::Offset { group, offset }) => {
                    offsets.entry(group).or_default().insert(
                        offset.tp,
                        Committed {
                            offset: offset.offset,
                            leader_epoch: offset.leader_epoch,
                        },
                    );
                }
                Some(Stored::Group { group, meta }) => {
                    let max = meta
                        .members
                        .iter()
                        .filter_map(|m| m.id.rsplit_once('-')?.1.parse::<u64>().ok())
                        .max()
                        .unwrap_or(0);
                    let c = counters.entry(group.clone()).or_default();
                    *c = (*c).max(max);
                    metas.insert(group, meta);
                }
                None => {}
            }
        }
        let mut names: BTreeSet<Arc<str>> = metas.keys().chain(offsets.keys()).cloned().collect();
        names.extend(pending.values().flat_map(|gs| gs.keys().cloned()));
        let mut loaded = Vec::new();
        for name in names {
            let mut g = Group::new(name.clone(), tp.clone());
            g.offsets = offsets.remove(&name).unwrap_or_default();
            for (pid, gs) in &pending {
                if let Some(ps) = gs.get(&name) {
                    g.pending_txn.insert(*pid, ps.clone());
                }
            }
            g.next_member = counters.get(&name).copied().unwrap_or(0) + 1;
            if let Some(meta) = metas.remove(&name) {
                g.generation = meta.generation;
                g.protocol = meta.protocol;
                g.leader = meta.leader;
                for m in meta.members {
                    g.members.insert(
                        m.id,
                        Member {
                            protocol: meta.protocol.unwrap_or(Assignor::Range),
                            subscription: m.subscription,
                            session_timeout_ms: m.session_timeout_ms,
                            rebalance_timeout_ms: m.rebalance_timeout_ms,
                            assignment: m.assignment,
                            awaiting_join: None,
                            awaiting_sync: None,
                            last_heartbeat: now,
                            join_order: g.next_join_order,
                        },
                    );
                    g.next_join_order += 1;
                }
                if !g.members.is_empty() {
                    g.state = GroupState::Stable;
                }
            }
            loaded.push((name.clone(), g.generation));
            self.coordinator.groups.insert(name, g);
        }
        self.coordinator.owned.insert(tp.clone());
        fx.event(Event::CoordinatorLoaded {
            broker: self.id,
            tp: tp.clone(),
            groups: loaded,
        });
    }

    /// Losing the leadership of a `__consumer_offsets` partition (Kafka's `onGroupUnloaded`):
    /// held JoinGroups and SyncGroups are answered NOT_COORDINATOR and the groups are dropped;
    /// their members find the new coordinator.
    pub(super) fn coordinator_unload(&mut self, tp: &TopicPartition, fx: &mut Effects) {
        if !self.coordinator.owned.remove(tp) {
            return;
        }
        let names: Vec<Arc<str>> = self
            .coordinator
            .groups
            .iter()
            .filter(|(_, g)| &g.tp == tp)
            .map(|(n, _)| n.clone())
            .collect();
        for name in names {
            let g = self.coordinator.groups.remove(&name).expect("group");
            for (id, m) in g.members {
                if let Some((to, correlation)) = m.awaiting_join {
                    join_error(
                        fx,
                        to,
                        correlation,
                        Some(id.clone()),
                        ErrorCode::NotCoordinator,
                    );
                }
                if let Some((to, correlation)) = m.awaiting_sync {
                    sync_reply(fx, to, correlation, Err(ErrorCode::NotCoordinator));
                }
            }
        }
        fx.event(Event::CoordinatorUnloaded {
            broker: self.id,
            tp: tp.clone(),
        });
    }

    pub(super) fn coordinator_deadline(&self) -> Option<Millis> {
        self.coordinator
            .groups
            .values()
            .filter_map(Group::deadline)
            .min()
    }

    /// Session expiries and join phases that ran out of time.
    pub(super) fn coordinator_timeouts(&mut self, now: Millis, fx: &mut Effects) {
        let c = self.group_ctx(now);
        let mut w = Vec::new();
        for g in self.coordinator.groups.values_mut() {
            g.tick(&c, fx, &mut w);
        }
        self.run_group_writes(now, w, fx);
    }
}
