//! The coordinator driven message by message, without a runtime.

use super::*;
use crate::broker::{BrokerDisk, BrokerSetup, TruncationMode};
use crate::config::BrokerConfig;
use crate::ids::BrokerId;
use crate::log::RecordData;
use crate::protocol::{
    FetchPartition, FetchRequest, JoinGroupRequest, JoinGroupResponse, JoinedMember, OffsetSpec,
    PartitionState, ProduceRequest, Subscription, SyncGroupRequest,
};

const SESSION_MS: Millis = 10_000;
const REBALANCE_MS: Millis = 30_000;
const INITIAL_DELAY_MS: Millis = 100;

fn offsets_tp() -> TopicPartition {
    TopicPartition::new(OFFSETS_TOPIC, 0)
}

fn orders(p: u32) -> TopicPartition {
    TopicPartition::new("orders", p)
}

fn state(tp: TopicPartition, leader: BrokerId, epoch: u32, isr: &[BrokerId]) -> PartitionState {
    PartitionState {
        tp,
        replicas: vec![1, 2, 3],
        leader: Some(leader),
        leader_epoch: epoch,
        isr: isr.to_vec(),
        partition_epoch: epoch,
        elr: Vec::new(),
    }
}

fn broker_with(id: BrokerId, disk: BrokerDisk) -> Broker {
    let cfg = BrokerConfig {
        group_initial_rebalance_delay_ms: INITIAL_DELAY_MS,
        ..Default::default()
    };
    let mut fx = Effects::default();
    let setup = BrokerSetup {
        id,
        config: cfg,
        topic_overrides: BTreeMap::new(),
        truncation: TruncationMode::LeaderEpoch,
        features: crate::config::ClusterFeatures::default(),
        disk,
    };
    let mut b = Broker::start(setup, 0, &mut fx);
    // Registered: the controller's answer carries broker epoch 1.
    b.broker_epoch = Some(1);
    b
}

/// The controller makes `leader` lead `__consumer_offsets-0` (ISR `offsets_isr`) and both
/// partitions of `orders` (ISR {leader}).
fn metadata(
    b: &mut Broker,
    version: u64,
    leader: BrokerId,
    epoch: u32,
    offsets_isr: &[BrokerId],
    now: Millis,
) -> Effects {
    send(
        b,
        now,
        NodeId::Controller,
        Message::MetadataUpdate {
            metadata_version: version,
            partitions: vec![
                state(offsets_tp(), leader, epoch, offsets_isr),
                state(orders(0), leader, epoch, &[leader]),
                state(orders(1), leader, epoch, &[leader]),
            ],
            brokers: crate::broker::registered(&[1, 2, 3]),
        },
    )
}

/// Broker 1 coordinating, with `__consumer_offsets-0` replicated by `offsets_isr`.
fn coordinator(offsets_isr: &[BrokerId]) -> Broker {
    let mut b = broker_with(1, BrokerDisk::default());
    metadata(&mut b, 2, 1, 0, offsets_isr, 0);
    b
}

fn send(b: &mut Broker, now: Millis, from: NodeId, msg: Message) -> Effects {
    let mut fx = Effects::default();
    b.handle_message(now, from, msg, &mut fx);
    fx
}

fn tick(b: &mut Broker, now: Millis) -> Effects {
    let mut fx = Effects::default();
    b.handle_timeout(now, &mut fx);
    fx
}

fn consumer(i: u16) -> NodeId {
    NodeId::Consumer(i)
}

fn join(b: &mut Broker, now: Millis, c: u16, member: Option<&str>) -> Effects {
    send(
        b,
        now,
        consumer(c),
        Message::JoinGroup(JoinGroupRequest {
            correlation: 1,
            group: "billing".into(),
            member_id: member.map(Arc::from),
            session_timeout_ms: SESSION_MS,
            rebalance_timeout_ms: REBALANCE_MS,
            protocol: Assignor::Range,
            subscription: Subscription {
                topics: vec!["orders".into()],
                owned: Vec::new(),
            },
        }),
    )
}

fn sync(
    b: &mut Broker,
    now: Millis,
    c: u16,
    member: &str,
    generation: u32,
    assignments: Vec<(Arc<str>, Vec<TopicPartition>)>,
) -> Effects {
    send(
        b,
        now,
        consumer(c),
        Message::SyncGroup(SyncGroupRequest {
            correlation: 2,
            group: "billing".into(),
            generation,
            member_id: member.into(),
            assignments,
        }),
    )
}

fn heartbeat(
    b: &mut Broker,
    now: Millis,
    c: u16,
    member: &str,
    generation: u32,
) -> Option<ErrorCode> {
    let fx = send(
        b,
        now,
        consumer(c),
        Message::Heartbeat {
            correlation: 3,
            group: "billing".into(),
            generation,
            member_id: member.into(),
        },
    );
    fx.sends
        .iter()
        .find_map(|(_, m)| match m {
            Message::HeartbeatResponse { error, .. } => Some(*error),
            _ => None,
        })
        .expect("heartbeat answered")
}

fn commit(
    b: &mut Broker,
    now: Millis,
    c: u16,
    member: Option<&str>,
    generation: Option<u32>,
    offset: u64,
) -> Effects {
    send(
        b,
        now,
        consumer(c),
        Message::OffsetCommit {
            correlation: 4,
            group: "billing".into(),
            generation,
            member_id: member.map(Arc::from),
            offsets: vec![OffsetAndEpoch {
                tp: orders(0),
                offset,
                leader_epoch: Some(3),
            }],
        },
    )
}

fn commit_errors(fx: &Effects) -> Vec<Option<ErrorCode>> {
    fx.sends
        .iter()
        .filter_map(|(_, m)| match m {
            Message::OffsetCommitResponse { error, .. } => Some(*error),
            _ => None,
        })
        .collect()
}

fn fetch_offsets(b: &mut Broker, now: Millis) -> Vec<OffsetAndEpoch> {
    let fx = send(
        b,
        now,
        consumer(0),
        Message::OffsetFetch {
            correlation: 5,
            group: "billing".into(),
            partitions: Some(vec![orders(0), orders(1)]),
            require_stable: false,
        },
    );
    fx.sends
        .iter()
        .find_map(|(_, m)| match m {
            Message::OffsetFetchResponse {
                error: None,
                offsets,
                ..
            } => Some(offsets.clone()),
            _ => None,
        })
        .expect("offsets")
}

/// `(to, generation, leader, member, members)` of every JoinGroupResponse without error.
type Joined = (NodeId, u32, Arc<str>, Arc<str>, Vec<JoinedMember>);

fn joined(fx: &Effects) -> Vec<Joined> {
    fx.sends
        .iter()
        .filter_map(|(to, m)| match m {
            Message::JoinGroupResponse(JoinGroupResponse {
                error: None,
                generation,
                leader: Some(l),
                member_id: Some(id),
                members,
                ..
            }) => Some((*to, *generation, l.clone(), id.clone(), members.clone())),
            _ => None,
        })
        .collect()
}

fn synced(fx: &Effects) -> Vec<(NodeId, Result<Vec<TopicPartition>, ErrorCode>)> {
    fx.sends
        .iter()
        .filter_map(|(to, m)| match m {
            Message::SyncGroupResponse {
                error, assignment, ..
            } => Some((*to, error.map_or(Ok(assignment.clone()), Err))),
            _ => None,
        })
        .collect()
}

fn events<'a>(fx: &'a Effects, f: impl Fn(&Event) -> bool + 'a) -> Vec<&'a Event> {
    fx.events.iter().filter(|e| f(e)).collect()
}

fn log_end(b: &Broker) -> u64 {
    b.view(&offsets_tp()).unwrap().log_end_offset
}

/// Two consumers joined and synced: generation 1, consumer-0-1 leads and owns orders-0,
/// consumer-1-2 owns orders-1. The clock is at 200.
fn stable_pair(b: &mut Broker) {
    join(b, 10, 0, None);
    join(b, 20, 1, None);
    tick(b, 10 + INITIAL_DELAY_MS);
    sync(b, 150, 1, "consumer-1-2", 1, Vec::new());
    let fx = sync(
        b,
        200,
        0,
        "consumer-0-1",
        1,
        vec![
            ("consumer-0-1".into(), vec![orders(0)]),
            ("consumer-1-2".into(), vec![orders(1)]),
        ],
    );
    assert_eq!(synced(&fx).len(), 2, "both syncs answered");
}

#[test]
fn two_members_join_one_generation_whose_leader_assigns_and_sync_makes_it_stable() {
    let mut b = coordinator(&[1]);
    let fx = join(&mut b, 10, 0, None);
    assert!(
        joined(&fx).is_empty(),
        "an empty group waits for more members"
    );
    assert!(matches!(
        events(&fx, |e| matches!(e, Event::RebalanceStarted { .. }))[..],
        [Event::RebalanceStarted { generation: 0, reason, .. }] if reason == "consumer-0-1 joined"
    ));
    let fx = join(&mut b, 20, 1, None);
    assert!(joined(&fx).is_empty());
    assert_eq!(
        b.next_deadline().map(|d| d <= 10 + INITIAL_DELAY_MS),
        Some(true)
    );

    // group.initial.rebalance.delay.ms later: one generation with both.
    let fx = tick(&mut b, 10 + INITIAL_DELAY_MS);
    let j = joined(&fx);
    assert_eq!(j.len(), 2);
    let (to, generation, leader, id, members) = &j[0];
    assert_eq!(
        (*to, *generation, &**leader, &**id),
        (consumer(0), 1, "consumer-0-1", "consumer-0-1")
    );
    let ids: Vec<&str> = members.iter().map(|m| &*m.member_id).collect();
    assert_eq!(
        ids,
        ["consumer-0-1", "consumer-1-2"],
        "the leader gets every subscription"
    );
    assert_eq!(members[1].subscription.topics, vec![Arc::from("orders")]);
    let (to, _, _, id, members) = &j[1];
    assert_eq!((*to, &**id), (consumer(1), "consumer-1-2"));
    assert!(members.is_empty(), "a follower gets no subscriptions");
    assert_eq!(
        b.coordinator.state("billing"),
        Some((GroupState::CompletingRebalance, 1))
    );

    // The follower's SyncGroup waits for the leader's.
    let fx = sync(&mut b, 150, 1, "consumer-1-2", 1, Vec::new());
    assert!(synced(&fx).is_empty());
    let fx = sync(
        &mut b,
        200,
        0,
        "consumer-0-1",
        1,
        vec![
            ("consumer-0-1".into(), vec![orders(0)]),
            ("consumer-1-2".into(), vec![orders(1)]),
        ],
    );
    // The assignment is a record in __consumer_offsets, stored once the HW passes it.
    assert!(fx.events.iter().any(|e| matches!(e,
        Event::Appended { tp, values, .. } if *tp == offsets_tp()
            && values[0].starts_with("group:billing generation 1 range leader consumer-0-1 [consumer-0-1=orders-0 consumer-1-2=orders-1]"))));
    assert!(fx
        .events
        .iter()
        .any(|e| matches!(e, Event::GroupStable { generation: 1, .. })));
    let mut s = synced(&fx);
    s.sort_by_key(|x| x.0);
    assert_eq!(
        s,
        vec![
            (consumer(0), Ok(vec![orders(0)])),
            (consumer(1), Ok(vec![orders(1)]))
        ]
    );
    assert_eq!(
        b.coordinator.state("billing"),
        Some((GroupState::Stable, 1))
    );
    // A member syncing after that gets its assignment at once.
    let fx = sync(&mut b, 210, 1, "consumer-1-2", 1, Vec::new());
    assert_eq!(synced(&fx), vec![(consumer(1), Ok(vec![orders(1)]))]);
}

#[test]
fn a_commit_from_a_stale_generation_is_refused_and_nothing_is_stored() {
    let mut b = coordinator(&[1]);
    stable_pair(&mut b);
    // consumer-1-2 leaves; consumer-0-1 rejoins alone: generation 2.
    send(
        &mut b,
        300,
        consumer(1),
        Message::LeaveGroup {
            correlation: 6,
            group: "billing".into(),
            member_id: "consumer-1-2".into(),
            reason: "close()".into(),
        },
    );
    assert_eq!(
        heartbeat(&mut b, 310, 0, "consumer-0-1", 1),
        Some(ErrorCode::RebalanceInProgress)
    );
    let fx = join(&mut b, 320, 0, Some("consumer-0-1"));
    assert_eq!(
        joined(&fx)[0].1,
        2,
        "everyone rejoined: the generation completes at once"
    );
    sync(
        &mut b,
        330,
        0,
        "consumer-0-1",
        2,
        vec![("consumer-0-1".into(), vec![orders(0), orders(1)])],
    );

    let end = log_end(&b);
    // The zombie: the member that left commits with its old generation and id.
    let fx = commit(&mut b, 400, 1, Some("consumer-1-2"), Some(1), 42);
    assert_eq!(commit_errors(&fx), vec![Some(ErrorCode::UnknownMemberId)]);
    // A current member with a stale generation.
    let fx = commit(&mut b, 400, 0, Some("consumer-0-1"), Some(1), 42);
    assert_eq!(commit_errors(&fx), vec![Some(ErrorCode::IllegalGeneration)]);
    // A consumer outside group management may not write into a live group's offsets.
    let fx = commit(&mut b, 400, 2, None, None, 42);
    assert_eq!(commit_errors(&fx), vec![Some(ErrorCode::UnknownMemberId)]);
    assert_eq!(log_end(&b), end, "nothing appended");
    assert!(fetch_offsets(&mut b, 410).is_empty());
    // The right generation commits.
    let fx = commit(&mut b, 420, 0, Some("consumer-0-1"), Some(2), 42);
    assert_eq!(commit_errors(&fx), vec![None]);
    assert_eq!(fetch_offsets(&mut b, 430)[0].offset, 42);
}

#[test]
fn a_commit_is_visible_and_acknowledged_only_once_the_hw_passes_its_record() {
    let mut b = coordinator(&[1, 2]);
    // A consumer outside group management, on an empty group.
    let fx = commit(&mut b, 10, 0, None, None, 42);
    assert!(commit_errors(&fx).is_empty(), "waits for the follower");
    assert!(fx.events.iter().any(|e| matches!(e,
        Event::Appended { values, .. } if &*values[0] == "offset:billing:orders-0 42 epoch 3 generation -1 at 0.010s")));
    assert!(
        fetch_offsets(&mut b, 11).is_empty(),
        "not visible below the HW"
    );
    let follower_fetch = |b: &mut Broker, now, offset| {
        send(
            b,
            now,
            NodeId::Broker(2),
            Message::Fetch(FetchRequest {
                replica: Some(crate::protocol::ReplicaState {
                    id: 2,
                    broker_epoch: Some(1),
                }),
                correlation: 9,
                max_wait_ms: 0,
                min_bytes: 1,
                partitions: vec![FetchPartition {
                    tp: offsets_tp(),
                    fetch_offset: offset,
                    current_leader_epoch: Some(0),
                    last_fetched_epoch: None,
                }],
                isolation: crate::config::IsolationLevel::ReadUncommitted,
            }),
        )
    };
    let fx = follower_fetch(&mut b, 12, 0);
    assert!(
        commit_errors(&fx).is_empty(),
        "the follower has it, the leader does not know yet"
    );
    assert!(fetch_offsets(&mut b, 13).is_empty());
    let fx = follower_fetch(&mut b, 14, 1);
    assert_eq!(commit_errors(&fx), vec![None]);
    assert!(fx.events.iter().any(|e| matches!(
        e,
        Event::OffsetsCommitted {
            generation: None,
            ..
        }
    )));
    assert_eq!(
        fetch_offsets(&mut b, 15),
        vec![OffsetAndEpoch {
            tp: orders(0),
            offset: 42,
            leader_epoch: Some(3)
        }]
    );
}

#[test]
fn a_commit_times_out_when_the_hw_does_not_pass_it_and_is_refused_without_enough_replicas() {
    let mut b = coordinator(&[1, 2]);
    commit(&mut b, 10, 0, None, None, 42);
    let fx = tick(&mut b, 10 + OFFSET_COMMIT_TIMEOUT_MS);
    assert_eq!(commit_errors(&fx), vec![Some(ErrorCode::RequestTimedOut)]);
    assert!(fetch_offsets(&mut b, 5_020).is_empty());

    let mut b = broker_with(1, BrokerDisk::default());
    b.config.min_insync_replicas = 2;
    metadata(&mut b, 2, 1, 0, &[1], 0);
    let fx = commit(&mut b, 10, 0, None, None, 42);
    assert_eq!(
        commit_errors(&fx),
        vec![Some(ErrorCode::CoordinatorNotAvailable)]
    );
    assert_eq!(log_end(&b), 0, "refused before the append");
}

#[test]
fn a_silent_member_is_removed_after_its_session_timeout_and_the_group_rebalances() {
    let mut b = coordinator(&[1]);
    stable_pair(&mut b);
    // consumer-0-1 keeps heartbeating; consumer-1-2 has been silent since its sync at 200.
    for t in (1_000..10_200).step_by(1_000) {
        assert_eq!(heartbeat(&mut b, t, 0, "consumer-0-1", 1), None);
        assert!(events(&tick(&mut b, t), |e| matches!(
            e,
            Event::MemberRemoved { .. }
        ))
        .is_empty());
    }
    assert_eq!(b.next_deadline().map(|d| d <= 200 + SESSION_MS), Some(true));
    let fx = tick(&mut b, 200 + SESSION_MS);
    assert!(matches!(
        events(&fx, |e| matches!(e, Event::MemberRemoved { .. }))[..],
        [Event::MemberRemoved { member, reason, .. }] if &**member == "consumer-1-2" && reason.starts_with("session timeout")
    ));
    assert!(fx.events.iter().any(|e| matches!(e,
        Event::RebalanceStarted { generation: 1, reason, .. } if reason == "consumer-1-2's session timed out")));
    assert_eq!(
        b.coordinator.state("billing"),
        Some((GroupState::PreparingRebalance, 1))
    );
}

#[test]
fn a_heartbeat_during_a_rebalance_is_told_to_rejoin_and_one_that_does_not_is_dropped() {
    let mut b = coordinator(&[1]);
    stable_pair(&mut b);
    // A third consumer joins: everyone must rejoin.
    let fx = join(&mut b, 1_000, 2, None);
    assert!(fx.events.iter().any(|e| matches!(e,
        Event::RebalanceStarted { reason, .. } if reason == "consumer-2-3 joined")));
    assert_eq!(
        heartbeat(&mut b, 1_100, 0, "consumer-0-1", 1),
        Some(ErrorCode::RebalanceInProgress)
    );
    assert_eq!(
        heartbeat(&mut b, 1_100, 1, "consumer-1-2", 1),
        Some(ErrorCode::RebalanceInProgress)
    );
    assert_eq!(
        heartbeat(&mut b, 1_100, 1, "consumer-1-2", 0),
        Some(ErrorCode::IllegalGeneration)
    );
    assert_eq!(
        heartbeat(&mut b, 1_100, 1, "nobody", 1),
        Some(ErrorCode::UnknownMemberId)
    );
    assert!(joined(&join(&mut b, 1_200, 0, Some("consumer-0-1"))).is_empty());
    // consumer-1-2 keeps heartbeating (so its session lives) but never rejoins: after the
    // rebalance timeout (its max.poll.interval.ms) the generation goes on without it.
    for t in (2_000..1_000 + REBALANCE_MS).step_by(2_000) {
        heartbeat(&mut b, t, 1, "consumer-1-2", 1);
        assert!(joined(&tick(&mut b, t)).is_empty());
    }
    let fx = tick(&mut b, 1_000 + REBALANCE_MS);
    assert!(matches!(
        events(&fx, |e| matches!(e, Event::MemberRemoved { .. }))[..],
        [Event::MemberRemoved { member, reason, .. }] if &**member == "consumer-1-2" && reason.contains("max.poll.interval.ms")
    ));
    let j = joined(&fx);
    assert_eq!(j.len(), 2);
    assert!(
        j.iter().all(|x| x.1 == 2 && &*x.2 == "consumer-0-1"),
        "the old leader still leads"
    );
    assert_eq!(
        heartbeat(&mut b, 31_100, 1, "consumer-1-2", 1),
        Some(ErrorCode::UnknownMemberId)
    );
}

#[test]
fn a_new_leader_of_the_offsets_partition_loads_offsets_and_generation_from_its_log() {
    let mut b1 = coordinator(&[1]);
    stable_pair(&mut b1);
    commit(&mut b1, 300, 0, Some("consumer-0-1"), Some(1), 42);
    let replicated = b1.replicas[&offsets_tp()].log.clone();
    assert_eq!(replicated.end_offset(), 2, "group record, then the commit");

    // Broker 2 holds what replication gave it, and is elected.
    let mut logs = BTreeMap::new();
    logs.insert(offsets_tp(), replicated.clone());
    let mut b2 = broker_with(
        2,
        BrokerDisk {
            logs,
            ..Default::default()
        },
    );
    let fx = metadata(&mut b2, 3, 2, 1, &[2], 1_000);
    assert!(fx.events.iter().any(|e| matches!(e,
        Event::CoordinatorLoaded { broker: 2, groups, .. } if groups == &vec![(Arc::from("billing"), 1)])));
    assert_eq!(fetch_offsets(&mut b2, 1_001)[0].offset, 42);
    assert_eq!(fetch_offsets(&mut b2, 1_001)[0].leader_epoch, Some(3));
    // The members carry on in their generation, with their assignments.
    assert_eq!(heartbeat(&mut b2, 1_002, 0, "consumer-0-1", 1), None);
    let fx = sync(&mut b2, 1_003, 1, "consumer-1-2", 1, Vec::new());
    assert_eq!(synced(&fx), vec![(consumer(1), Ok(vec![orders(1)]))]);
    // A follower rejoining with the same subscription gets the current generation back.
    let fx = join(&mut b2, 1_004, 1, Some("consumer-1-2"));
    assert_eq!(joined(&fx)[0].1, 1);
    // Restored members have fresh sessions: consumer-1-2 expires a session after its last
    // sign of life on this broker, not on the old one.
    assert!(events(&tick(&mut b2, 1_002 + SESSION_MS - 1), |e| matches!(
        e,
        Event::MemberRemoved { .. }
    ))
    .is_empty());
    assert!(!events(&tick(&mut b2, 1_004 + SESSION_MS), |e| matches!(
        e,
        Event::MemberRemoved { .. }
    ))
    .is_empty());
    // A new member's id does not repeat one the log knows.
    let fx = join(&mut b2, 20_000, 3, None);
    assert!(fx.events.iter().any(|e| matches!(e,
        Event::RebalanceStarted { reason, .. } if reason == "consumer-3-3 joined")));

    // What replication did not carry is gone: without the commit's record, no offset.
    let mut short = replicated;
    short.truncate_to(1);
    let mut logs = BTreeMap::new();
    logs.insert(offsets_tp(), short);
    let mut b3 = broker_with(
        3,
        BrokerDisk {
            logs,
            ..Default::default()
        },
    );
    metadata(&mut b3, 3, 3, 1, &[3], 1_000);
    assert!(fetch_offsets(&mut b3, 1_001).is_empty());
    assert_eq!(heartbeat(&mut b3, 1_002, 0, "consumer-0-1", 1), None);
}

#[test]
fn losing_the_offsets_partition_unloads_the_groups_and_answers_not_coordinator() {
    let mut b = coordinator(&[1, 2]);
    join(&mut b, 10, 0, None);
    // Commits are allowed while the group prepares a rebalance; this one waits for the HW.
    let pending_commit = commit(&mut b, 20, 0, Some("consumer-0-1"), Some(0), 7);
    assert!(commit_errors(&pending_commit).is_empty());
    // Broker 2 is elected leader of __consumer_offsets-0.
    let fx = metadata(&mut b, 3, 2, 1, &[2], 30);
    assert!(fx
        .events
        .iter()
        .any(|e| matches!(e, Event::CoordinatorUnloaded { broker: 1, .. })));
    let join_errors: Vec<_> = fx
        .sends
        .iter()
        .filter_map(|(_, m)| match m {
            Message::JoinGroupResponse(JoinGroupResponse { error, .. }) => Some(*error),
            _ => None,
        })
        .collect();
    assert_eq!(join_errors, vec![Some(ErrorCode::NotCoordinator)]);
    assert_eq!(commit_errors(&fx), vec![Some(ErrorCode::NotCoordinator)]);
    assert_eq!(
        heartbeat(&mut b, 40, 0, "consumer-0-1", 0),
        Some(ErrorCode::NotCoordinator)
    );
    assert_eq!(b.coordinator_deadline(), None, "no timers left behind");
    // Any broker still names the coordinator from its metadata.
    let fx = send(
        &mut b,
        50,
        consumer(0),
        Message::FindCoordinator {
            correlation: 8,
            group: "billing".into(),
            key_type: crate::protocol::CoordinatorType::Group,
        },
    );
    assert!(fx.sends.iter().any(|(_, m)| matches!(
        m,
        Message::FindCoordinatorResponse {
            error: None,
            coordinator: Some(2),
            ..
        }
    )));
}

#[test]
fn find_coordinator_without_a_leader_is_coordinator_not_available() {
    let mut b = broker_with(1, BrokerDisk::default());
    let find = |b: &mut Broker| {
        let fx = send(
            b,
            5,
            consumer(0),
            Message::FindCoordinator {
                correlation: 8,
                group: "billing".into(),
                key_type: crate::protocol::CoordinatorType::Group,
            },
        );
        match &fx.sends[..] {
            [(
                _,
                Message::FindCoordinatorResponse {
                    error, coordinator, ..
                },
            )] => (*error, *coordinator),
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(
        find(&mut b),
        (Some(ErrorCode::CoordinatorNotAvailable), None),
        "no __consumer_offsets yet"
    );
    let mut st = state(offsets_tp(), 1, 0, &[1]);
    st.leader = None;
    send(
        &mut b,
        0,
        NodeId::Controller,
        Message::MetadataUpdate {
            metadata_version: 2,
            partitions: vec![st],
            brokers: crate::broker::registered(&[1]),
        },
    );
    assert_eq!(
        find(&mut b),
        (Some(ErrorCode::CoordinatorNotAvailable), None),
        "offline"
    );
}

#[test]
fn list_offsets_answers_the_log_start_or_the_hw_from_the_current_leader() {
    let mut b = coordinator(&[1, 2]);
    let mut st = state(orders(0), 1, 0, &[1, 2]);
    st.partition_epoch = 1;
    send(
        &mut b,
        1,
        NodeId::Controller,
        Message::MetadataUpdate {
            metadata_version: 3,
            partitions: vec![st],
            brokers: crate::broker::registered(&[1, 2, 3]),
        },
    );
    for (i, v) in ["a", "b", "c"].iter().enumerate() {
        send(
            &mut b,
            2,
            NodeId::Producer(0),
            Message::Produce(ProduceRequest {
                correlation: i as u64,
                tp: orders(0),
                acks: crate::config::Acks::Leader,
                timeout_ms: 1_000,
                records: vec![RecordData {
                    payload: None,
                    key: None,
                    value: (*v).into(),
                    timestamp: 2,
                    size: 10,
                }],
                idempotent: None,
                transactional_id: None,
            }),
        );
    }
    // Broker 2 has fetched two of the three: HW 2, log end 3.
    for o in [0, 2] {
        send(
            &mut b,
            3,
            NodeId::Broker(2),
            Message::Fetch(FetchRequest {
                replica: Some(crate::protocol::ReplicaState {
                    id: 2,
                    broker_epoch: Some(1),
                }),
                correlation: 1,
                max_wait_ms: 0,
                min_bytes: 1,
                partitions: vec![FetchPartition {
                    tp: orders(0),
                    fetch_offset: o,
                    current_leader_epoch: Some(0),
                    last_fetched_epoch: None,
                }],
                isolation: crate::config::IsolationLevel::ReadUncommitted,
            }),
        );
    }
    let list = |b: &mut Broker, epoch, spec| {
        let fx = send(
            b,
            4,
            consumer(0),
            Message::ListOffsets {
                correlation: 1,
                partitions: vec![(orders(0), Some(epoch), spec)],
            },
        );
        fx.sends
            .iter()
            .find_map(|(_, m)| match m {
                Message::ListOffsetsResponse { partitions, .. } => Some(partitions[0].1),
                _ => None,
            })
            .expect("answered")
    };
    assert_eq!(list(&mut b, 0, OffsetSpec::Earliest), Ok(0));
    assert_eq!(
        list(&mut b, 0, OffsetSpec::Latest),
        Ok(2),
        "the HW, not the log end"
    );
    assert_eq!(
        list(&mut b, 1, OffsetSpec::Latest),
        Err(ErrorCode::UnknownLeaderEpoch)
    );
    let mut b2 = broker_with(2, BrokerDisk::default());
    metadata(&mut b2, 2, 1, 0, &[1], 0);
    assert_eq!(
        list(&mut b2, 0, OffsetSpec::Latest),
        Err(ErrorCode::NotLeaderOrFollower)
    );
}
