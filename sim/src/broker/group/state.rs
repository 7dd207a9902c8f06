//! One group's state machine (Kafka's `GroupMetadata` and the transitions
//! `GroupCoordinator` makes on it): members, generations, the join and sync phases, and the
//! committed offsets. It changes only through calls from the coordinator on the broker, and
//! asks that broker, through [`Write`]s, for the records that make each change durable.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::records::{self, StoredGroup, StoredMember};
use crate::broker::append_waiter::PendingWrite;
use crate::config::Assignor;
use crate::effects::Effects;
use crate::ids::{BrokerId, Millis, NodeId, TopicPartition};
use crate::log::RecordData;
use crate::protocol::{
    ErrorCode, JoinGroupRequest, JoinGroupResponse, JoinedMember, Message, Subscription,
    SyncGroupRequest,
};
use crate::trace::Event;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupState {
    /// No members (only committed offsets, if any).
    Empty,
    /// Waiting for every member to (re)join.
    PreparingRebalance,
    /// A new generation exists; waiting for its leader's assignment (SyncGroup).
    CompletingRebalance,
    Stable,
}

/// A committed position, as `OffsetFetch` returns it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Committed {
    pub(super) offset: u64,
    pub(super) leader_epoch: Option<u32>,
}

/// Kafka's `MemberMetadata`.
#[derive(Clone, Debug)]
pub(super) struct Member {
    pub(super) protocol: Assignor,
    pub(super) subscription: Subscription,
    pub(super) session_timeout_ms: Millis,
    /// The client's `max.poll.interval.ms`: how long a rebalance waits for it to rejoin.
    pub(super) rebalance_timeout_ms: Millis,
    pub(super) assignment: Vec<TopicPartition>,
    /// A JoinGroup held until the join phase ends: `(client, correlation)`.
    pub(super) awaiting_join: Option<(NodeId, u64)>,
    /// A SyncGroup held until the leader's assignment is stored.
    pub(super) awaiting_sync: Option<(NodeId, u64)>,
    pub(super) last_heartbeat: Millis,
    /// Position in the group: the oldest member leads when the leader is gone.
    pub(super) join_order: u64,
}

impl Member {
    /// Kafka's `shouldKeepAlive`: a member whose JoinGroup or SyncGroup the coordinator is
    /// holding cannot heartbeat, so its session does not run meanwhile.
    pub(super) fn session_deadline(&self) -> Option<Millis> {
        if self.awaiting_join.is_some() || self.awaiting_sync.is_some() {
            None
        } else {
            Some(self.last_heartbeat.saturating_add(self.session_timeout_ms))
        }
    }
}

/// What a group needs from its broker while it changes.
pub(super) struct Ctx {
    pub(super) now: Millis,
    pub(super) broker: BrokerId,
    pub(super) initial_rebalance_delay_ms: Millis,
}

/// A record the coordinator asks its broker to append (after the group's state is updated, so
/// a write that completes at once finds the group consistent).
pub(super) struct Write {
    pub(super) tp: TopicPartition,
    pub(super) records: Vec<RecordData>,
    pub(super) waiter: Option<PendingWrite>,
}

/// Kafka's `GroupMetadata`.
#[derive(Debug)]
pub(super) struct Group {
    pub(super) name: Arc<str>,
    /// The `__consumer_offsets` partition holding it.
    pub(super) tp: TopicPartition,
    pub(super) state: GroupState,
    pub(super) generation: u32,
    pub(super) protocol: Option<Assignor>,
    pub(super) leader: Option<Arc<str>>,
    pub(super) members: BTreeMap<Arc<str>, Member>,
    /// The number in the next member id handed out.
    pub(super) next_member: u64,
    pub(super) next_join_order: u64,
    pub(super) offsets: BTreeMap<TopicPartition, Committed>,
    /// When the join phase ends at the latest (PreparingRebalance only).
    pub(super) join_deadline: Option<Millis>,
    /// The join phase of an Empty group: it waits out `group.initial.rebalance.delay.ms` even
    /// if every member has joined, to gather the members of a group starting together.
    pub(super) initial_join: bool,
    /// The generation whose assignment is being written.
    pub(super) storing: Option<u32>,
    /// Offsets written by a transaction still open: producer id → partition → offset. They
    /// become `offsets` when its COMMIT marker is below the HW ([`super::txn_offsets`]).
    pub(super) pending_txn: BTreeMap<u64, BTreeMap<TopicPartition, Committed>>,
}

/// A member id: Kafka's is `{client.id}-{UUID}`; here it is the client node and a per-group
/// counter (`consumer-0-3` for `Consumer(0)`'s membership, the group's third), readable and
/// deterministic. Scoping it by client node means a counter restarting on a new coordinator can
/// only ever hand a client an id that client (one process at a time) held before.
pub(super) fn new_member_id(client: NodeId, n: u64) -> Arc<str> {
    match client {
        NodeId::Consumer(i) => format!("consumer-{i}-{n}").into(),
        _ => format!("client-{n}").into(),
    }
}

pub(super) fn join_error(
    fx: &mut Effects,
    to: NodeId,
    correlation: u64,
    member: Option<Arc<str>>,
    e: ErrorCode,
) {
    fx.send(
        to,
        Message::JoinGroupResponse(JoinGroupResponse {
            correlation,
            error: Some(e),
            generation: 0,
            protocol: None,
            leader: None,
            member_id: member,
            members: Vec::new(),
        }),
    );
}

pub(super) fn sync_reply(
    fx: &mut Effects,
    to: NodeId,
    correlation: u64,
    r: Result<Vec<TopicPartition>, ErrorCode>,
) {
    let (error, assignment) = match r {
        Ok(a) => (None, a),
        Err(e) => (Some(e), Vec::new()),
    };
    fx.send(
        to,
        Message::SyncGroupResponse {
            correlation,
            error,
            assignment,
        },
    );
}

pub(super) fn commit_reply(
    fx: &mut Effects,
    to: NodeId,
    correlation: u64,
    error: Option<ErrorCode>,
) {
    fx.send(to, Message::OffsetCommitResponse { correlation, error });
}

/// `GroupMetadataManager.storeOffsets`' translation of append errors for the client.
pub(super) fn offsets_error(e: ErrorCode) -> ErrorCode {
    match e {
        ErrorCode::NotEnoughReplicas
        | ErrorCode::NotEnoughReplicasAfterAppend
        | ErrorCode::UnknownTopicOrPartition => ErrorCode::CoordinatorNotAvailable,
        ErrorCode::NotLeaderOrFollower => ErrorCode::NotCoordinator,
        e => e,
    }
}

/// `storeGroup`'s translation: a timed-out write also means "coordinator not available".
pub(super) fn group_error(e: ErrorCode) -> ErrorCode {
    match e {
        ErrorCode::RequestTimedOut => ErrorCode::CoordinatorNotAvailable,
        e => offsets_error(e),
    }
}

impl Group {
    pub(super) fn new(name: Arc<str>, tp: TopicPartition) -> Self {
        Group {
            name,
            tp,
            state: GroupState::Empty,
            generation: 0,
            protocol: None,
            leader: None,
            members: BTreeMap::new(),
            next_member: 1,
            next_join_order: 0,
            offsets: BTreeMap::new(),
            join_deadline: None,
            initial_join: false,
            storing: None,
            pending_txn: BTreeMap::new(),
        }
    }

    /// Members, oldest first.
    pub(super) fn in_join_order(&self) -> Vec<(&Arc<str>, &Member)> {
        let mut v: Vec<_> = self.members.iter().collect();
        v.sort_by_key(|(_, m)| m.join_order);
        v
    }

    pub(super) fn deadline(&self) -> Option<Millis> {
        let join = self
            .join_deadline
            .filter(|_| self.state == GroupState::PreparingRebalance);
        self.members
            .values()
            .filter_map(Member::session_deadline)
            .chain(join)
            .min()
    }

    pub(super) fn stored(&self, assignment: &[(Arc<str>, Vec<TopicPartition>)]) -> StoredGroup {
        let members = self
            .in_join_order()
            .into_iter()
            .map(|(id, m)| StoredMember {
                id: id.clone(),
                subscription: m.subscription.clone(),
                session_timeout_ms: m.session_timeout_ms,
                rebalance_timeout_ms: m.rebalance_timeout_ms,
                assignment: assignment
                    .iter()
                    .find(|a| &a.0 == id)
                    .map(|a| a.1.clone())
                    .unwrap_or_default(),
            })
            .collect();
        StoredGroup {
            generation: self.generation,
            protocol: self.protocol,
            leader: self.leader.clone(),
            members,
        }
    }

    pub(super) fn write_group(
        &self,
        c: &Ctx,
        stored: &StoredGroup,
        waiter: Option<PendingWrite>,
    ) -> Write {
        Write {
            tp: self.tp.clone(),
            records: vec![records::group_record(&self.name, stored, c.now)],
            waiter,
        }
    }

    /// What a member's JoinGroup is answered with: the generation, and for the leader alone
    /// every member's subscription (it computes the assignment).
    pub(super) fn join_response(&self, id: &Arc<str>, correlation: u64) -> Message {
        let members = if self.leader.as_ref() == Some(id) {
            self.in_join_order()
                .into_iter()
                .map(|(id, m)| JoinedMember {
                    member_id: id.clone(),
                    subscription: m.subscription.clone(),
                })
                .collect()
        } else {
            Vec::new()
        };
        Message::JoinGroupResponse(JoinGroupResponse {
            correlation,
            error: None,
            generation: self.generation,
            protocol: self.protocol,
            leader: self.leader.clone(),
            member_id: Some(id.clone()),
            members,
        })
    }

    /// Kafka's `maybePrepareRebalance`.
    pub(super) fn maybe_prepare_rebalance(
        &mut self,
        c: &Ctx,
        reason: String,
        fx: &mut Effects,
        w: &mut Vec<Write>,
    ) {
        if self.state != GroupState::PreparingRebalance {
            self.prepare_rebalance(c, reason, fx, w);
        }
    }

    /// Kafka's `prepareRebalance`: held SyncGroups are answered REBALANCE_IN_PROGRESS, and the
    /// join phase lasts until everyone has rejoined or the longest `max.poll.interval.ms` of
    /// the members has passed (an Empty group waits `group.initial.rebalance.delay.ms` instead:
    /// Kafka's `InitialDelayedJoin`, here one delay without its extensions).
    pub(super) fn prepare_rebalance(
        &mut self,
        c: &Ctx,
        reason: String,
        fx: &mut Effects,
        w: &mut Vec<Write>,
    ) {
        if self.state == GroupState::CompletingRebalance {
            self.propagate_assignment(c, Err(ErrorCode::RebalanceInProgress), fx);
        }
        self.initial_join = self.state == GroupState::Empty;
        let delay = if self.initial_join {
            c.initial_rebalance_delay_ms
        } else {
            self.members
                .values()
                .map(|m| m.rebalance_timeout_ms)
                .max()
                .unwrap_or(0)
        };
        self.join_deadline = Some(c.now.saturating_add(delay));
        self.state = GroupState::PreparingRebalance;
        fx.event(Event::RebalanceStarted {
            broker: c.broker,
            group: self.name.clone(),
            generation: self.generation,
            reason,
        });
        self.try_complete_join(c, fx, w);
    }

    pub(super) fn try_complete_join(&mut self, c: &Ctx, fx: &mut Effects, w: &mut Vec<Write>) {
        if self.state != GroupState::PreparingRebalance {
            return;
        }
        let everyone = self.members.values().all(|m| m.awaiting_join.is_some());
        let due = self.join_deadline.is_some_and(|d| c.now >= d);
        if due || (everyone && !self.initial_join) {
            self.complete_join(c, fx, w);
        }
    }

    /// Kafka's `onCompleteJoin`: members that did not rejoin are dropped, the generation
    /// advances, and every member gets its JoinGroup answer.
    pub(super) fn complete_join(&mut self, c: &Ctx, fx: &mut Effects, w: &mut Vec<Write>) {
        let gone: Vec<Arc<str>> = self
            .members
            .iter()
            .filter(|(_, m)| m.awaiting_join.is_none())
            .map(|(id, _)| id.clone())
            .collect();
        for id in gone {
            let m = self.members.remove(&id).expect("member");
            fx.event(Event::MemberRemoved {
                broker: c.broker,
                group: self.name.clone(),
                member: id,
                reason: format!(
                    "did not rejoin within max.poll.interval.ms ({} ms)",
                    m.rebalance_timeout_ms
                ),
            });
        }
        self.join_deadline = None;
        self.initial_join = false;
        self.generation += 1;
        if self.members.is_empty() {
            self.state = GroupState::Empty;
            self.protocol = None;
            self.leader = None;
            // Kafka writes the empty generation too (and only warns if that fails).
            let stored = self.stored(&[]);
            w.push(self.write_group(c, &stored, None));
            return;
        }
        let order = self.in_join_order();
        let leader = match &self.leader {
            Some(l) if self.members.contains_key(l) => l.clone(),
            _ => order[0].0.clone(),
        };
        // Kafka picks the protocol every member supports (INCONSISTENT_GROUP_PROTOCOL rejects a
        // member that shares none); each member here names one assignor, and if they differ the
        // leader's wins.
        let protocol = self.members[&leader].protocol;
        let ids: Vec<Arc<str>> = order.into_iter().map(|(id, _)| id.clone()).collect();
        self.leader = Some(leader.clone());
        self.protocol = Some(protocol);
        self.state = GroupState::CompletingRebalance;
        fx.event(Event::GenerationStarted {
            broker: c.broker,
            group: self.name.clone(),
            generation: self.generation,
            protocol,
            leader,
            members: ids.clone(),
        });
        for id in ids {
            let waiting = self.members[&id].awaiting_join;
            if let Some((to, correlation)) = waiting {
                fx.send(to, self.join_response(&id, correlation));
            }
            let m = self.members.get_mut(&id).expect("member");
            m.awaiting_join = None;
            m.assignment.clear();
            m.last_heartbeat = c.now;
        }
    }

    /// Kafka's `removeMemberAndUpdateGroup`.
    pub(super) fn remove_member(
        &mut self,
        c: &Ctx,
        id: &Arc<str>,
        why_removed: String,
        why_rebalance: String,
        fx: &mut Effects,
        w: &mut Vec<Write>,
    ) {
        let Some(m) = self.members.remove(id) else {
            return;
        };
        if let Some((to, correlation)) = m.awaiting_join {
            join_error(fx, to, correlation, None, ErrorCode::UnknownMemberId);
        }
        fx.event(Event::MemberRemoved {
            broker: c.broker,
            group: self.name.clone(),
            member: id.clone(),
            reason: why_removed,
        });
        if self.leader.as_ref() == Some(id) {
            self.leader = self.in_join_order().first().map(|(id, _)| (*id).clone());
        }
        match self.state {
            GroupState::Stable | GroupState::CompletingRebalance => {
                self.maybe_prepare_rebalance(c, why_rebalance, fx, w)
            }
            GroupState::PreparingRebalance => self.try_complete_join(c, fx, w),
            GroupState::Empty => {}
        }
    }

    /// Answers every held SyncGroup (Kafka's `propagateAssignment`); on an error the members'
    /// assignments are reset first.
    pub(super) fn propagate_assignment(
        &mut self,
        c: &Ctx,
        r: Result<(), ErrorCode>,
        fx: &mut Effects,
    ) {
        for m in self.members.values_mut() {
            if r.is_err() {
                m.assignment.clear();
            }
            if let Some((to, correlation)) = m.awaiting_sync.take() {
                sync_reply(fx, to, correlation, r.map(|_| m.assignment.clone()));
                m.last_heartbeat = c.now;
            }
        }
    }

    pub(super) fn join(
        &mut self,
        c: &Ctx,
        client: NodeId,
        req: JoinGroupRequest,
        fx: &mut Effects,
        w: &mut Vec<Write>,
    ) {
        let JoinGroupRequest {
            correlation,
            member_id,
            session_timeout_ms,
            rebalance_timeout_ms,
            protocol,
            subscription,
            ..
        } = req;
        let Some(id) = member_id else {
            // A new member. Kafka (since 2.2, KIP-394) first answers MEMBER_ID_REQUIRED with
            // the new id and waits for a second JoinGroup carrying it; this skips that round.
            let id = new_member_id(client, self.next_member);
            self.next_member += 1;
            self.members.insert(
                id.clone(),
                Member {
                    protocol,
                    subscription,
                    session_timeout_ms,
                    rebalance_timeout_ms,
                    assignment: Vec::new(),
                    awaiting_join: Some((client, correlation)),
                    awaiting_sync: None,
                    last_heartbeat: c.now,
                    join_order: self.next_join_order,
                },
            );
            self.next_join_order += 1;
            if self.leader.is_none() {
                self.leader = Some(id.clone());
            }
            match self.state {
                GroupState::PreparingRebalance => self.try_complete_join(c, fx, w),
                _ => self.prepare_rebalance(c, format!("{id} joined"), fx, w),
            }
            return;
        };
        let is_leader = self.leader.as_ref() == Some(&id);
        let Some(m) = self.members.get_mut(&id) else {
            return join_error(
                fx,
                client,
                correlation,
                Some(id),
                ErrorCode::UnknownMemberId,
            );
        };
        let changed = m.protocol != protocol || m.subscription != subscription;
        // Why it rejoins, as Kafka's JoinGroup `reason` (KIP-800) would say: with
        // cooperative-sticky, the second rebalance comes from members that revoked partitions
        // and rejoin owning fewer; their topics are the same.
        let why = if m.subscription.topics != subscription.topics {
            "with a changed subscription"
        } else if m.protocol != protocol {
            "with another assignor"
        } else {
            "after revoking partitions"
        };
        let leader_rejoins_stable = is_leader && self.state == GroupState::Stable;
        let update = |m: &mut Member| {
            m.protocol = protocol;
            m.subscription = subscription;
            m.session_timeout_ms = session_timeout_ms;
            m.rebalance_timeout_ms = rebalance_timeout_ms;
            m.awaiting_join = Some((client, correlation));
            m.last_heartbeat = c.now;
        };
        match self.state {
            GroupState::PreparingRebalance => {
                update(m);
                self.try_complete_join(c, fx, w);
            }
            // The same metadata again (the member may have missed its answer): the current
            // generation, without a rebalance. Kafka also rebalances when the leader rejoins a
            // Stable group, which lets it react to topic changes.
            GroupState::CompletingRebalance | GroupState::Stable
                if !changed && !leader_rejoins_stable =>
            {
                m.last_heartbeat = c.now;
                let resp = self.join_response(&id, correlation);
                fx.send(client, resp);
            }
            GroupState::CompletingRebalance | GroupState::Stable => {
                update(m);
                let reason = if changed {
                    format!("{id} rejoined {why}")
                } else {
                    format!("leader {id} rejoined")
                };
                self.prepare_rebalance(c, reason, fx, w);
            }
            GroupState::Empty => join_error(
                fx,
                client,
                correlation,
                Some(id),
                ErrorCode::UnknownMemberId,
            ),
        }
    }

    pub(super) fn sync(
        &mut self,
        c: &Ctx,
        client: NodeId,
        req: SyncGroupRequest,
        w: &mut Vec<Write>,
        fx: &mut Effects,
    ) {
        let SyncGroupRequest {
            correlation,
            generation,
            member_id: id,
            assignments,
            ..
        } = req;
        let is_leader = self.leader.as_ref() == Some(&id);
        let Some(m) = self.members.get_mut(&id) else {
            return sync_reply(fx, client, correlation, Err(ErrorCode::UnknownMemberId));
        };
        if generation != self.generation {
            return sync_reply(fx, client, correlation, Err(ErrorCode::IllegalGeneration));
        }
        match self.state {
            GroupState::Empty => {
                sync_reply(fx, client, correlation, Err(ErrorCode::UnknownMemberId))
            }
            GroupState::PreparingRebalance => {
                sync_reply(fx, client, correlation, Err(ErrorCode::RebalanceInProgress))
            }
            GroupState::Stable => {
                m.last_heartbeat = c.now;
                sync_reply(fx, client, correlation, Ok(m.assignment.clone()));
            }
            GroupState::CompletingRebalance => {
                m.awaiting_sync = Some((client, correlation));
                if is_leader && self.storing != Some(self.generation) {
                    // Members the leader left out get an empty assignment; ids it invented are
                    // ignored.
                    let assignment: Vec<(Arc<str>, Vec<TopicPartition>)> = self
                        .in_join_order()
                        .into_iter()
                        .map(|(id, _)| {
                            let a = assignments
                                .iter()
                                .find(|a| &a.0 == id)
                                .map(|a| a.1.clone())
                                .unwrap_or_default();
                            (id.clone(), a)
                        })
                        .collect();
                    self.storing = Some(self.generation);
                    let stored = self.stored(&assignment);
                    let waiter = PendingWrite::Assignment {
                        group: self.name.clone(),
                        generation: self.generation,
                        assignment,
                    };
                    w.push(self.write_group(c, &stored, Some(waiter)));
                }
            }
        }
    }

    /// The leader's assignment reached the HW (or failed): Stable, and every held SyncGroup
    /// is answered; on failure the group rebalances again.
    pub(super) fn assignment_stored(
        &mut self,
        c: &Ctx,
        generation: u32,
        assignment: Vec<(Arc<str>, Vec<TopicPartition>)>,
        r: Result<(), ErrorCode>,
        fx: &mut Effects,
        w: &mut Vec<Write>,
    ) {
        if self.storing == Some(generation) {
            self.storing = None;
        }
        // The group may have moved on while the record was replicating.
        if self.state != GroupState::CompletingRebalance || generation != self.generation {
            return;
        }
        match r {
            Ok(()) => {
                for (id, a) in &assignment {
                    if let Some(m) = self.members.get_mut(id) {
                        m.assignment = a.clone();
                    }
                }
                self.state = GroupState::Stable;
                fx.event(Event::GroupStable {
                    broker: c.broker,
                    group: self.name.clone(),
                    generation,
                    assignment,
                });
                self.propagate_assignment(c, Ok(()), fx);
            }
            Err(e) => {
                self.propagate_assignment(c, Err(e), fx);
                let reason =
                    format!("storing the assignment of generation {generation} failed ({e})");
                self.maybe_prepare_rebalance(c, reason, fx, w);
            }
        }
    }

    pub(super) fn heartbeat(
        &mut self,
        c: &Ctx,
        generation: u32,
        id: &Arc<str>,
    ) -> Option<ErrorCode> {
        let state = self.state;
        let Some(m) = self.members.get_mut(id) else {
            return Some(ErrorCode::UnknownMemberId);
        };
        if generation != self.generation {
            return Some(ErrorCode::IllegalGeneration);
        }
        match state {
            GroupState::Empty => Some(ErrorCode::UnknownMemberId),
            GroupState::PreparingRebalance => {
                m.last_heartbeat = c.now;
                Some(ErrorCode::RebalanceInProgress)
            }
            // A member may heartbeat between its JoinGroup answer and its SyncGroup answer.
            GroupState::CompletingRebalance | GroupState::Stable => {
                m.last_heartbeat = c.now;
                None
            }
        }
    }

    /// Kafka's `doCommitOffsets` checks; `Ok` means "append the offsets".
    pub(super) fn check_commit(
        &mut self,
        c: &Ctx,
        generation: Option<u32>,
        member: &Option<Arc<str>>,
    ) -> Result<(), ErrorCode> {
        // A consumer outside group management (generation -1) may use an empty group's storage.
        if generation.is_none() && self.state == GroupState::Empty {
            return Ok(());
        }
        let state = self.state;
        let Some(m) = member.as_ref().and_then(|id| self.members.get_mut(id)) else {
            return Err(ErrorCode::UnknownMemberId);
        };
        if generation != Some(self.generation) {
            return Err(ErrorCode::IllegalGeneration);
        }
        match state {
            // The member has its new generation from JoinGroup but no assignment yet.
            GroupState::CompletingRebalance => Err(ErrorCode::RebalanceInProgress),
            // During PreparingRebalance the commit is allowed: the member learns of the
            // rebalance from its next heartbeat.
            GroupState::Stable | GroupState::PreparingRebalance => {
                m.last_heartbeat = c.now;
                Ok(())
            }
            GroupState::Empty => Err(ErrorCode::UnknownMemberId),
        }
    }

    /// Expired sessions, and a join phase past its deadline.
    pub(super) fn tick(&mut self, c: &Ctx, fx: &mut Effects, w: &mut Vec<Write>) {
        let expired: Vec<(Arc<str>, Millis)> = self
            .members
            .iter()
            .filter(|(_, m)| m.session_deadline().is_some_and(|d| d <= c.now))
            .map(|(id, m)| (id.clone(), m.session_timeout_ms))
            .collect();
        for (id, timeout) in expired {
            self.remove_member(
                c,
                &id,
                format!("session timeout ({timeout} ms without a heartbeat)"),
                format!("{id}'s session timed out"),
                fx,
                w,
            );
        }
        self.try_complete_join(c, fx, w);
    }
}
