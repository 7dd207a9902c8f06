//! Group membership, client side (Kafka's `AbstractCoordinator` + `ConsumerCoordinator`):
//! find the coordinator, join, sync, heartbeat, leave.
//!
//! As in Kafka, joining happens only inside `poll()`, while heartbeats come from a background
//! thread: a member busy processing keeps its session alive, but cannot rejoin a rebalance until
//! it polls again, and the coordinator waits for it at most `max.poll.interval.ms`. The same
//! thread notices when the application has not polled for `max.poll.interval.ms` and leaves
//! the group for it.

use std::sync::Arc;

use crate::config::ConsumerConfig;
use crate::consumer::{assignor, set, Consumer, Partition, Pending};
use crate::effects::Effects;
use crate::ids::{BrokerId, Millis, NodeId, TopicPartition};
use crate::protocol::{
    ErrorCode, JoinGroupRequest, JoinGroupResponse, Message, Subscription, SyncGroupRequest,
};
use crate::trace::Event;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Coordinator {
    Unknown { lookup_at: Millis },
    Looking { correlation: u64, deadline: Millis },
    Known(BrokerId),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Not in a generation: joins at the next `poll()`.
    Unjoined,
    Joining {
        correlation: u64,
        deadline: Millis,
    },
    Syncing {
        correlation: u64,
        deadline: Millis,
    },
    Stable,
}

pub(super) struct Membership {
    coordinator: Coordinator,
    state: State,
    member_id: Option<Arc<str>>,
    generation: Option<u32>,
    /// A heartbeat said the group is rebalancing, or the assignment or metadata changed.
    rejoin_needed: bool,
    /// What this member was last assigned (the sticky assignors' memory).
    previous: Vec<TopicPartition>,
    heartbeat: Option<(u64, Millis)>,
    next_heartbeat: Millis,
}

impl Membership {
    pub(super) fn new(now: Millis) -> Self {
        Membership {
            coordinator: Coordinator::Unknown { lookup_at: now },
            state: State::Unjoined,
            member_id: None,
            generation: None,
            rejoin_needed: false,
            previous: Vec::new(),
            heartbeat: None,
            next_heartbeat: now,
        }
    }

    pub(super) fn generation(&self) -> Option<u32> {
        self.generation
    }

    pub(super) fn member_id(&self) -> Option<Arc<str>> {
        self.member_id.clone()
    }

    pub(super) fn coordinator(&self) -> Option<BrokerId> {
        match self.coordinator {
            Coordinator::Known(b) => Some(b),
            _ => None,
        }
    }

    pub(super) fn coordinator_lost(&mut self, now: Millis, cfg: &ConsumerConfig) {
        if matches!(self.coordinator, Coordinator::Known(_)) {
            self.coordinator = Coordinator::Unknown {
                lookup_at: now + cfg.retry_backoff_ms,
            };
        }
        self.heartbeat = None;
    }

    /// The coordinator no longer knows this member (`UNKNOWN_MEMBER_ID`) or its generation
    /// (`ILLEGAL_GENERATION`): the next `poll()` treats its partitions as lost and rejoins.
    pub(super) fn member_lost(&mut self, e: ErrorCode) {
        self.generation = None;
        if e == ErrorCode::UnknownMemberId {
            self.member_id = None;
        }
        self.state = State::Unjoined;
        self.heartbeat = None;
    }

    fn in_generation(&self) -> bool {
        self.generation.is_some() && matches!(self.state, State::Syncing { .. } | State::Stable)
    }

    pub(super) fn deadline(
        &self,
        grouped: bool,
        cfg: &ConsumerConfig,
        polling: bool,
        last_poll: Millis,
    ) -> Option<Millis> {
        if !grouped {
            return None;
        }
        let mut d = match self.coordinator {
            Coordinator::Unknown { lookup_at } => lookup_at,
            Coordinator::Looking { deadline, .. } => deadline,
            Coordinator::Known(_) => Millis::MAX,
        };
        match self.state {
            State::Joining { deadline, .. } | State::Syncing { deadline, .. } => {
                d = d.min(deadline)
            }
            State::Unjoined | State::Stable => {}
        }
        if self.in_generation() {
            d = d.min(match self.heartbeat {
                Some((_, t)) => t,
                None => self.next_heartbeat,
            });
            if !polling {
                d = d.min(last_poll + cfg.max_poll_interval_ms);
            }
        }
        (d != Millis::MAX).then_some(d)
    }
}

impl Consumer {
    fn subscription(&self) -> Subscription {
        let owned: Vec<TopicPartition> = if self.spec.config.assignor.is_cooperative() {
            self.partitions.keys().cloned().collect()
        } else if self.spec.config.assignor == crate::config::Assignor::Sticky {
            self.membership.previous.clone()
        } else {
            Vec::new()
        };
        Subscription {
            topics: self.spec.topics.clone(),
            owned,
        }
    }

    /// Inside `poll()`: whether the member is in a stable generation; if not, moves it along
    /// (`onJoinPrepare` and JoinGroup).
    pub(super) fn ensure_active_group(&mut self, now: Millis, fx: &mut Effects) -> bool {
        let m = &self.membership;
        match m.state {
            State::Stable if !m.rejoin_needed => return true,
            State::Joining { .. } | State::Syncing { .. } => return false,
            State::Stable | State::Unjoined => {}
        }
        let Some(coordinator) = m.coordinator() else {
            return false;
        };
        let group = self.group().expect("grouped");
        // onJoinPrepare.
        if self.spec.config.enable_auto_commit && self.membership.generation.is_some() {
            self.commit_async(now, fx);
        }
        let owned: Vec<TopicPartition> = self.partitions.keys().cloned().collect();
        if self.membership.generation.is_none() && !owned.is_empty() {
            fx.event(Event::PartitionsRevoked {
                consumer: self.node,
                group: group.clone(),
                revoked: owned,
                lost: true,
            });
            self.partitions.clear();
        } else if !self.spec.config.assignor.is_cooperative() && !owned.is_empty() {
            fx.event(Event::PartitionsRevoked {
                consumer: self.node,
                group: group.clone(),
                revoked: owned,
                lost: false,
            });
            self.partitions.clear();
        }
        let c = self.correlation();
        let cfg = &self.spec.config;
        fx.send(
            NodeId::Broker(coordinator),
            Message::JoinGroup(JoinGroupRequest {
                correlation: c,
                group,
                member_id: self.membership.member_id.clone(),
                session_timeout_ms: cfg.session_timeout_ms,
                rebalance_timeout_ms: cfg.max_poll_interval_ms,
                protocol: cfg.assignor,
                subscription: self.subscription(),
            }),
        );
        // Kafka's join request timeout: the rebalance timeout plus five seconds.
        self.membership.state = State::Joining {
            correlation: c,
            deadline: now + cfg.max_poll_interval_ms + 5_000,
        };
        self.membership.rejoin_needed = false;
        false
    }

    pub(super) fn send_find_coordinator(&mut self, now: Millis, fx: &mut Effects) {
        let Some(group) = self.group() else { return };
        let Coordinator::Unknown { lookup_at } = self.membership.coordinator else {
            return;
        };
        if now < lookup_at || self.spec.bootstrap.is_empty() {
            return;
        }
        let b = self.spec.bootstrap[self.bootstrap_cursor % self.spec.bootstrap.len()];
        let c = self.correlation();
        fx.send(
            NodeId::Broker(b),
            Message::FindCoordinator {
                correlation: c,
                group,
                key_type: crate::protocol::CoordinatorType::Group,
            },
        );
        self.membership.coordinator = Coordinator::Looking {
            correlation: c,
            deadline: now + self.spec.config.request_timeout_ms,
        };
    }

    pub(super) fn on_find_coordinator(
        &mut self,
        now: Millis,
        correlation: u64,
        error: Option<ErrorCode>,
        coordinator: Option<BrokerId>,
    ) {
        let Coordinator::Looking { correlation: c, .. } = self.membership.coordinator else {
            return;
        };
        if c != correlation {
            return;
        }
        self.membership.coordinator = match (error, coordinator) {
            (None, Some(b)) => Coordinator::Known(b),
            _ => {
                self.bootstrap_cursor += 1;
                Coordinator::Unknown {
                    lookup_at: now + self.spec.config.retry_backoff_ms,
                }
            }
        };
    }

    pub(super) fn on_join_response(
        &mut self,
        now: Millis,
        response: JoinGroupResponse,
        fx: &mut Effects,
    ) {
        let JoinGroupResponse {
            correlation,
            error,
            generation,
            protocol,
            leader,
            member_id,
            members,
        } = response;
        let State::Joining { correlation: c, .. } = self.membership.state else {
            return;
        };
        if c != correlation {
            return;
        }
        let group = self.group().expect("grouped");
        match (error, member_id) {
            (None, Some(id)) => {
                self.membership.generation = Some(generation);
                self.membership.member_id = Some(id.clone());
                let is_leader = leader.as_ref() == Some(&id);
                fx.event(Event::JoinedGroup {
                    consumer: self.node,
                    group: group.clone(),
                    generation,
                    member: id.clone(),
                    leader: is_leader,
                });
                let assignments = if is_leader {
                    let assignor = protocol.unwrap_or(self.spec.config.assignor);
                    assignor::assign(assignor, &members, &self.topic_partitions)
                        .into_iter()
                        .collect()
                } else {
                    Vec::new()
                };
                let Some(coordinator) = self.membership.coordinator() else {
                    self.membership.state = State::Unjoined;
                    return;
                };
                let c = self.correlation();
                fx.send(
                    NodeId::Broker(coordinator),
                    Message::SyncGroup(SyncGroupRequest {
                        correlation: c,
                        group,
                        generation,
                        member_id: id,
                        assignments,
                    }),
                );
                self.membership.state = State::Syncing {
                    correlation: c,
                    deadline: now + self.spec.config.request_timeout_ms,
                };
                self.membership.next_heartbeat = now + self.spec.config.heartbeat_interval_ms;
            }
            (Some(e), _) => self.group_error(now, e),
            (None, None) => self.membership.state = State::Unjoined,
        }
    }

    /// A JoinGroup/SyncGroup error: look the coordinator up again or forget the membership,
    /// then rejoin at the next poll.
    fn group_error(&mut self, now: Millis, e: ErrorCode) {
        match e {
            ErrorCode::UnknownMemberId | ErrorCode::IllegalGeneration => {
                self.membership.member_lost(e)
            }
            ErrorCode::NotCoordinator | ErrorCode::CoordinatorNotAvailable => {
                self.membership.coordinator_lost(now, &self.spec.config);
            }
            _ => {}
        }
        self.membership.state = State::Unjoined;
    }

    pub(super) fn on_sync_response(
        &mut self,
        now: Millis,
        correlation: u64,
        error: Option<ErrorCode>,
        assignment: Vec<TopicPartition>,
        fx: &mut Effects,
    ) {
        let State::Syncing { correlation: c, .. } = self.membership.state else {
            return;
        };
        if c != correlation {
            return;
        }
        if let Some(e) = error {
            self.group_error(now, e);
            return;
        }
        let group = self.group().expect("grouped");
        let generation = self.membership.generation.expect("joined");
        let new = set(&assignment);
        let owned = set(&self.partitions.keys().cloned().collect::<Vec<_>>());
        let revoked: Vec<TopicPartition> = owned.difference(&new).cloned().collect();
        let added: Vec<TopicPartition> = new.difference(&owned).cloned().collect();
        if !revoked.is_empty() {
            // KIP-429: give up what moved, then rejoin so that its new owner gets it.
            fx.event(Event::PartitionsRevoked {
                consumer: self.node,
                group: group.clone(),
                revoked: revoked.clone(),
                lost: false,
            });
            for tp in &revoked {
                self.partitions.remove(tp);
            }
            self.membership.rejoin_needed = true;
        }
        for tp in &added {
            self.partitions
                .insert(tp.clone(), Partition::new(Pending::Committed));
        }
        self.membership.previous = assignment.clone();
        fx.event(Event::PartitionsAssigned {
            consumer: self.node,
            group,
            generation,
            added,
            owned: new.into_iter().collect(),
        });
        self.membership.state = State::Stable;
        self.membership.next_heartbeat = now + self.spec.config.heartbeat_interval_ms;
    }

    /// The background heartbeat thread: the poll timeout first, then a heartbeat if due.
    pub(super) fn heartbeat_thread(&mut self, now: Millis, fx: &mut Effects) {
        if self.spec.group.is_none() || !self.membership.in_generation() {
            return;
        }
        let polling = self.app == super::App::Polling;
        if !polling && now >= self.last_poll + self.spec.config.max_poll_interval_ms {
            self.leave_group(
                now,
                "consumer poll timeout has expired: the time between poll() calls exceeded max.poll.interval.ms",
                fx,
            );
            return;
        }
        if self.membership.heartbeat.is_some() || now < self.membership.next_heartbeat {
            return;
        }
        let Some(coordinator) = self.membership.coordinator() else {
            return;
        };
        let c = self.correlation();
        fx.send(
            NodeId::Broker(coordinator),
            Message::Heartbeat {
                correlation: c,
                group: self.group().expect("grouped"),
                generation: self.membership.generation.expect("in a generation"),
                member_id: self.membership.member_id.clone().expect("joined"),
            },
        );
        self.membership.heartbeat = Some((c, now + self.spec.config.request_timeout_ms));
        self.membership.next_heartbeat = now + self.spec.config.heartbeat_interval_ms;
    }

    pub(super) fn on_heartbeat_response(
        &mut self,
        now: Millis,
        correlation: u64,
        error: Option<ErrorCode>,
        _fx: &mut Effects,
    ) {
        if self.membership.heartbeat.map(|h| h.0) != Some(correlation) {
            return;
        }
        self.membership.heartbeat = None;
        match error {
            None => {}
            Some(ErrorCode::RebalanceInProgress) if self.membership.state == State::Stable => {
                self.membership.rejoin_needed = true;
            }
            Some(ErrorCode::RebalanceInProgress) => {}
            Some(e @ (ErrorCode::IllegalGeneration | ErrorCode::UnknownMemberId)) => {
                self.membership.member_lost(e)
            }
            Some(_) => self.membership.coordinator_lost(now, &self.spec.config),
        }
    }

    /// Sends LeaveGroup (if the coordinator is known) and forgets the membership; the
    /// application still believes it owns its partitions until its next `poll()`.
    pub(super) fn leave_group(&mut self, _now: Millis, reason: &str, fx: &mut Effects) {
        let (Some(group), Some(member)) = (self.group(), self.membership.member_id.clone()) else {
            return;
        };
        if let Some(coordinator) = self.membership.coordinator() {
            let c = self.correlation();
            fx.send(
                NodeId::Broker(coordinator),
                Message::LeaveGroup {
                    correlation: c,
                    group: group.clone(),
                    member_id: member.clone(),
                    reason: reason.to_string(),
                },
            );
        }
        fx.event(Event::LeftGroup {
            consumer: self.node,
            group,
            member,
            reason: reason.to_string(),
        });
        self.membership.member_id = None;
        self.membership.generation = None;
        self.membership.state = State::Unjoined;
        self.membership.heartbeat = None;
    }

    /// Request timeouts and broken connections on the membership's requests.
    pub(super) fn membership_timeouts(&mut self, now: Millis) {
        let m = &mut self.membership;
        if let Coordinator::Looking { deadline, .. } = m.coordinator {
            if deadline <= now {
                self.bootstrap_cursor += 1;
                m.coordinator = Coordinator::Unknown { lookup_at: now };
            }
        }
        if let State::Joining { deadline, .. } | State::Syncing { deadline, .. } = m.state {
            if deadline <= now {
                m.state = State::Unjoined;
                m.coordinator_lost(now, &self.spec.config);
            }
        }
        if m.heartbeat.is_some_and(|(_, t)| t <= now) {
            m.heartbeat = None;
            m.coordinator_lost(now, &self.spec.config);
        }
    }

    pub(super) fn membership_disconnected(&mut self, now: Millis, b: BrokerId) {
        let m = &mut self.membership;
        if let Coordinator::Looking { .. } = m.coordinator {
            self.bootstrap_cursor += 1;
            m.coordinator = Coordinator::Unknown {
                lookup_at: now + self.spec.config.retry_backoff_ms,
            };
        }
        if m.coordinator() == Some(b) {
            if matches!(m.state, State::Joining { .. } | State::Syncing { .. }) {
                m.state = State::Unjoined;
            }
            m.coordinator_lost(now, &self.spec.config);
        }
    }

    /// New partitions for a subscribed topic: rejoin so the leader assigns them.
    pub(super) fn subscription_changed(&mut self) {
        if self.membership.state == State::Stable {
            self.membership.rejoin_needed = true;
        }
    }
}
