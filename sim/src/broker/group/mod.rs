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
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::broker::append_waiter::{PendingWrite, Waiter};
use crate::broker::{Broker, Role};
use crate::config::Assignor;
use crate::effects::Effects;
use crate::ids::{group_partition, BrokerId, Millis, NodeId, TopicPartition, OFFSETS_TOPIC};
use crate::log::RecordData;
use crate::protocol::{
    ErrorCode, JoinGroupRequest, JoinGroupResponse, JoinedMember, Message, OffsetAndEpoch,
    Subscription, SyncGroupRequest,
};
use crate::trace::Event;
use records::{Stored, StoredGroup, StoredMember};

/// Kafka's `offsets.commit.timeout.ms` (default 5000): how long a commit, or the leader's
/// assignment, waits for the HW before the coordinator gives up on it.
const OFFSET_COMMIT_TIMEOUT_MS: Millis = 5_000;

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
struct Committed {
    offset: u64,
    leader_epoch: Option<u32>,
}

/// Kafka's `MemberMetadata`.
#[derive(Clone, Debug)]
struct Member {
    protocol: Assignor,
    subscription: Subscription,
    session_timeout_ms: Millis,
    /// The client's `max.poll.interval.ms`: how long a rebalance waits for it to rejoin.
    rebalance_timeout_ms: Millis,
    assignment: Vec<TopicPartition>,
    /// A JoinGroup held until the join phase ends: `(client, correlation)`.
    awaiting_join: Option<(NodeId, u64)>,
    /// A SyncGroup held until the leader's assignment is stored.
    awaiting_sync: Option<(NodeId, u64)>,
    last_heartbeat: Millis,
    /// Position in the group: the oldest member leads when the leader is gone.
    join_order: u64,
}

impl Member {
    /// Kafka's `shouldKeepAlive`: a member whose JoinGroup or SyncGroup the coordinator is
    /// holding cannot heartbeat, so its session does not run meanwhile.
    fn session_deadline(&self) -> Option<Millis> {
        if self.awaiting_join.is_some() || self.awaiting_sync.is_some() {
            None
        } else {
            Some(self.last_heartbeat.saturating_add(self.session_timeout_ms))
        }
    }
}

/// What a group needs from its broker while it changes.
struct Ctx {
    now: Millis,
    broker: BrokerId,
    initial_rebalance_delay_ms: Millis,
}

/// A record the coordinator asks its broker to append (after the group's state is updated, so
/// a write that completes at once finds the group consistent).
pub(super) struct Write {
    tp: TopicPartition,
    records: Vec<RecordData>,
    waiter: Option<PendingWrite>,
}

/// Kafka's `GroupMetadata`.
#[derive(Debug)]
struct Group {
    name: Arc<str>,
    /// The `__consumer_offsets` partition holding it.
    tp: TopicPartition,
    state: GroupState,
    generation: u32,
    protocol: Option<Assignor>,
    leader: Option<Arc<str>>,
    members: BTreeMap<Arc<str>, Member>,
    /// The number in the next member id handed out.
    next_member: u64,
    next_join_order: u64,
    offsets: BTreeMap<TopicPartition, Committed>,
    /// When the join phase ends at the latest (PreparingRebalance only).
    join_deadline: Option<Millis>,
    /// The join phase of an Empty group: it waits out `group.initial.rebalance.delay.ms` even
    /// if every member has joined, to gather the members of a group starting together.
    initial_join: bool,
    /// The generation whose assignment is being written.
    storing: Option<u32>,
}

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

/// A member id: Kafka's is `{client.id}-{UUID}`; here it is the client node and a per-group
/// counter (`consumer-0-3` for `Consumer(0)`'s membership, the group's third), readable and
/// deterministic. Scoping it by client node means a counter restarting on a new coordinator can
/// only ever hand a client an id that client (one process at a time) held before.
fn new_member_id(client: NodeId, n: u64) -> Arc<str> {
    match client {
        NodeId::Consumer(i) => format!("consumer-{i}-{n}").into(),
        _ => format!("client-{n}").into(),
    }
}

fn join_error(
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

fn sync_reply(
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

fn commit_reply(fx: &mut Effects, to: NodeId, correlation: u64, error: Option<ErrorCode>) {
    fx.send(to, Message::OffsetCommitResponse { correlation, error });
}

/// `GroupMetadataManager.storeOffsets`' translation of append errors for the client.
fn offsets_error(e: ErrorCode) -> ErrorCode {
    match e {
        ErrorCode::NotEnoughReplicas
        | ErrorCode::NotEnoughReplicasAfterAppend
        | ErrorCode::UnknownTopicOrPartition => ErrorCode::CoordinatorNotAvailable,
        ErrorCode::NotLeaderOrFollower => ErrorCode::NotCoordinator,
        e => e,
    }
}

/// `storeGroup`'s translation: a timed-out write also means "coordinator not available".
fn group_error(e: ErrorCode) -> ErrorCode {
    match e {
        ErrorCode::RequestTimedOut => ErrorCode::CoordinatorNotAvailable,
        e => offsets_error(e),
    }
}

impl Group {
    fn new(name: Arc<str>, tp: TopicPartition) -> Self {
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
        }
    }

    /// Members, oldest first.
    fn in_join_order(&self) -> Vec<(&Arc<str>, &Member)> {
        let mut v: Vec<_> = self.members.iter().collect();
        v.sort_by_key(|(_, m)| m.join_order);
        v
    }

    fn deadline(&self) -> Option<Millis> {
        let join = self
            .join_deadline
            .filter(|_| self.state == GroupState::PreparingRebalance);
        self.members
            .values()
            .filter_map(Member::session_deadline)
            .chain(join)
            .min()
    }

    fn stored(&self, assignment: &[(Arc<str>, Vec<TopicPartition>)]) -> StoredGroup {
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

    fn write_group(&self, c: &Ctx, stored: &StoredGroup, waiter: Option<PendingWrite>) -> Write {
        Write {
            tp: self.tp.clone(),
            records: vec![records::group_record(&self.name, stored, c.now)],
            waiter,
        }
    }

    /// What a member's JoinGroup is answered with: the generation, and for the leader alone
    /// every member's subscription (it computes the assignment).
    fn join_response(&self, id: &Arc<str>, correlation: u64) -> Message {
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
    fn maybe_prepare_rebalance(
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
    fn prepare_rebalance(&mut self, c: &Ctx, reason: String, fx: &mut Effects, w: &mut Vec<Write>) {
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

    fn try_complete_join(&mut self, c: &Ctx, fx: &mut Effects, w: &mut Vec<Write>) {
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
    fn complete_join(&mut self, c: &Ctx, fx: &mut Effects, w: &mut Vec<Write>) {
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
    fn remove_member(
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
    fn propagate_assignment(&mut self, c: &Ctx, r: Result<(), ErrorCode>, fx: &mut Effects) {
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

    fn join(
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

    fn sync(
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
    fn assignment_stored(
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

    fn heartbeat(&mut self, c: &Ctx, generation: u32, id: &Arc<str>) -> Option<ErrorCode> {
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
    fn check_commit(
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
    fn tick(&mut self, c: &Ctx, fx: &mut Effects, w: &mut Vec<Write>) {
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

impl Broker {
    fn group_ctx(&self, now: Millis) -> Ctx {
        Ctx {
            now,
            broker: self.id,
            initial_rebalance_delay_ms: self.config.group_initial_rebalance_delay_ms,
        }
    }

    /// The `__consumer_offsets` partition holding `group`, from the metadata cache.
    fn offsets_partition(&self, group: &str) -> Option<TopicPartition> {
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
            Message::FindCoordinator { correlation, group } => {
                // Any broker answers, from its metadata cache.
                let leader = self
                    .offsets_partition(&group)
                    .and_then(|tp| self.metadata.get(&tp))
                    .and_then(|st| st.leader);
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
            } => {
                let (error, offsets) = match self.coordinating(&group) {
                    Err(e) => (Some(e), Vec::new()),
                    Ok(_) => {
                        let committed = self.coordinator.groups.get(&group).map(|g| &g.offsets);
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
        for rec in r.log.records() {
            match records::parse(&rec.data) {
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
        let names: BTreeSet<Arc<str>> = metas.keys().chain(offsets.keys()).cloned().collect();
        let mut loaded = Vec::new();
        for name in names {
            let mut g = Group::new(name.clone(), tp.clone());
            g.offsets = offsets.remove(&name).unwrap_or_default();
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
