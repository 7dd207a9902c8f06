//! The consumer-group APIs driven as a client drives them.

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::consumer_protocol_assignment::TopicPartition as AssignedTp;
use kafka_protocol::messages::consumer_protocol_subscription::TopicPartition as OwnedTp;
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::leave_group_request::MemberIdentity;
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestTopic;
use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use kafkascope_sim::config::Assignor;
use kafkascope_sim::ids::TopicPartition;
use kafkascope_sim::protocol::{
    ErrorCode, JoinGroupResponse as SimJoined, JoinedMember, Message, OffsetAndEpoch, Subscription,
};

use super::tests::{listeners, name, reply, request, response, simulate};
use super::*;

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

fn subscription_bytes(version: i16, topics: &[&str], owned: &[(&str, i32)]) -> Bytes {
    let mut sub = ConsumerProtocolSubscription::default()
        .with_topics(topics.iter().map(|t| s(t)).collect())
        .with_user_data(Some(Bytes::from_static(b"ud")));
    if version >= 1 {
        sub.owned_partitions = owned
            .iter()
            .map(|(t, p)| {
                OwnedTp::default()
                    .with_topic(name(t))
                    .with_partitions(vec![*p])
            })
            .collect();
    }
    if version >= 2 {
        sub.generation_id = 4;
    }
    let mut buf = BytesMut::new();
    buf.put_i16(version);
    sub.encode(&mut buf, version).unwrap();
    buf.freeze()
}

fn join_request(protocols: Vec<(&str, Bytes)>) -> JoinGroupRequest {
    JoinGroupRequest::default()
        .with_group_id(GroupId(s("g1")))
        .with_session_timeout_ms(45_000)
        .with_rebalance_timeout_ms(300_000)
        .with_member_id(StrBytes::default())
        .with_protocol_type(s("consumer"))
        .with_protocols(
            protocols
                .into_iter()
                .map(|(n, m)| {
                    JoinGroupRequestProtocol::default()
                        .with_name(s(n))
                        .with_metadata(m)
                })
                .collect(),
        )
}

fn assignment_bytes(parts: &[(&str, i32)]) -> Bytes {
    let mut buf = BytesMut::new();
    buf.put_i16(1);
    ConsumerProtocolAssignment::default()
        .with_assigned_partitions(
            parts
                .iter()
                .map(|(t, p)| {
                    AssignedTp::default()
                        .with_topic(name(t))
                        .with_partitions(vec![*p])
                })
                .collect(),
        )
        .encode(&mut buf, 1)
        .unwrap();
    buf.freeze()
}

pub(crate) fn corpus() -> Vec<Vec<u8>> {
    let join = join_request(vec![(
        "cooperative-sticky",
        subscription_bytes(1, &["orders"], &[("orders", 0)]),
    )]);
    vec![
        request(
            ApiKey::FindCoordinator,
            3,
            1,
            &FindCoordinatorRequest::default().with_key(s("g1")),
        ),
        request(
            ApiKey::FindCoordinator,
            4,
            1,
            &FindCoordinatorRequest::default().with_coordinator_keys(vec![s("g1"), s("g2")]),
        ),
        request(ApiKey::JoinGroup, 5, 1, &join),
        request(ApiKey::JoinGroup, 9, 1, &join),
        request(
            ApiKey::SyncGroup,
            5,
            1,
            &SyncGroupRequest::default()
                .with_group_id(GroupId(s("g1")))
                .with_generation_id(1)
                .with_member_id(s("m1"))
                .with_assignments(vec![SyncGroupRequestAssignment::default()
                    .with_member_id(s("m1"))
                    .with_assignment(assignment_bytes(&[("orders", 0)]))]),
        ),
        request(
            ApiKey::Heartbeat,
            4,
            1,
            &HeartbeatRequest::default()
                .with_group_id(GroupId(s("g1")))
                .with_generation_id(1)
                .with_member_id(s("m1")),
        ),
        request(
            ApiKey::LeaveGroup,
            5,
            1,
            &LeaveGroupRequest::default()
                .with_group_id(GroupId(s("g1")))
                .with_members(vec![MemberIdentity::default().with_member_id(s("m1"))]),
        ),
        request(ApiKey::OffsetCommit, 8, 1, &commit_request(1, "m1")),
        request(
            ApiKey::OffsetFetch,
            7,
            1,
            &OffsetFetchRequest::default()
                .with_group_id(GroupId(s("g1")))
                .with_topics(Some(vec![OffsetFetchRequestTopic::default()
                    .with_name(name("orders"))
                    .with_partition_indexes(vec![0, 1])])),
        ),
        request(ApiKey::ListOffsets, 7, 1, &ListOffsetsRequest::default()),
        request(
            ApiKey::OffsetForLeaderEpoch,
            4,
            1,
            &OffsetForLeaderEpochRequest::default(),
        ),
    ]
}

#[test]
fn find_coordinator_single_and_batched() {
    let l = listeners();
    for v in 0..=6i16 {
        let mut c = Connection::new(1);
        let req = if v >= 4 {
            FindCoordinatorRequest::default().with_coordinator_keys(vec![s("g1"), s("g2")])
        } else {
            FindCoordinatorRequest::default().with_key(s("g1"))
        };
        let (msgs, pending) =
            simulate(c.decode(&request(ApiKey::FindCoordinator, v, 3, &req), 0, &l));
        let answers: Vec<Message> = msgs
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let Message::FindCoordinator {
                    correlation, group, ..
                } = m
                else {
                    panic!()
                };
                assert_eq!(&**group, ["g1", "g2"][i]);
                Message::FindCoordinatorResponse {
                    correlation: *correlation,
                    error: (i == 1).then_some(ErrorCode::CoordinatorNotAvailable),
                    coordinator: (i == 0).then_some(2),
                }
            })
            .collect();
        let f = c.encode(&pending, &answers, &l).unwrap();
        let (_, ResponseKind::FindCoordinator(r)) = response(ApiKey::FindCoordinator, v, &f) else {
            panic!()
        };
        if v >= 4 {
            let got: Vec<(&str, i16, i32, i32)> = r
                .coordinators
                .iter()
                .map(|c| (c.key.as_str(), c.error_code, c.node_id.0, c.port))
                .collect();
            assert_eq!(got, [("g1", 0, 2, 19093), ("g2", 15, -1, -1)]);
        } else {
            assert_eq!(
                (r.error_code, r.node_id.0, r.host.as_str(), r.port),
                (0, 2, "127.0.0.1", 19093)
            );
        }
    }
    // Transactions have no coordinator.
    let mut c = Connection::new(1);
    let txn = FindCoordinatorRequest::default()
        .with_key(s("tx"))
        .with_key_type(1);
    let f = reply(c.decode(&request(ApiKey::FindCoordinator, 2, 1, &txn), 0, &l));
    let (_, ResponseKind::FindCoordinator(r)) = response(ApiKey::FindCoordinator, 2, &f) else {
        panic!()
    };
    assert_eq!(r.error_code, 15);
}

#[test]
fn join_group_translates_subscriptions_both_ways() {
    let l = listeners();
    for v in [0i16, 1, 2, 5, 6, 7, 9] {
        for sub_v in [0i16, 1, 3] {
            let mut c = Connection::new(1);
            let req = join_request(vec![
                ("my-custom", Bytes::from_static(b"??")),
                (
                    "roundrobin",
                    subscription_bytes(sub_v, &["orders", "audit"], &[("orders", 1)]),
                ),
                ("range", subscription_bytes(0, &["x"], &[])),
            ]);
            let (msgs, pending) =
                simulate(c.decode(&request(ApiKey::JoinGroup, v, 8, &req), 0, &l));
            let [Message::JoinGroup(j)] = &msgs[..] else {
                panic!()
            };
            assert_eq!(j.protocol, Assignor::RoundRobin);
            assert_eq!(j.member_id, None);
            // v0 has no rebalance timeout: the session timeout stands in.
            let rebalance = if v == 0 { 45_000 } else { 300_000 };
            assert_eq!(
                (j.session_timeout_ms, j.rebalance_timeout_ms),
                (45_000, rebalance)
            );
            let owned = if sub_v >= 1 {
                vec![TopicPartition::new("orders", 1)]
            } else {
                vec![]
            };
            assert_eq!(
                j.subscription,
                Subscription {
                    topics: vec!["orders".into(), "audit".into()],
                    owned: owned.clone()
                }
            );
            let answer = Message::JoinGroupResponse(SimJoined {
                correlation: j.correlation,
                error: None,
                generation: 3,
                protocol: Some(Assignor::RoundRobin),
                leader: Some("m-1".into()),
                member_id: Some("m-1".into()),
                members: vec![
                    JoinedMember {
                        member_id: "m-1".into(),
                        subscription: j.subscription.clone(),
                    },
                    JoinedMember {
                        member_id: "m-2".into(),
                        subscription: Subscription {
                            topics: vec!["orders".into()],
                            owned: vec![],
                        },
                    },
                ],
            });
            let f = c.encode(&pending, &[answer], &l).unwrap();
            let (_, ResponseKind::JoinGroup(r)) = response(ApiKey::JoinGroup, v, &f) else {
                panic!()
            };
            assert_eq!((r.error_code, r.generation_id), (0, 3));
            assert_eq!(
                r.protocol_name.as_ref().map(|p| p.as_str()),
                Some("roundrobin")
            );
            assert_eq!((r.leader.as_str(), r.member_id.as_str()), ("m-1", "m-1"));
            // The leader reads each member's subscription as a Kafka client does.
            for (m, want_owned) in r.members.iter().zip([owned.len(), 0]) {
                let mut b = m.metadata.clone();
                let mv = bytes::Buf::get_i16(&mut b);
                assert_eq!(mv, if want_owned > 0 { 1 } else { 0 });
                let sub = ConsumerProtocolSubscription::decode(&mut b, mv).unwrap();
                assert_eq!(sub.owned_partitions.len(), want_owned);
            }
        }
    }
}

#[test]
fn join_group_refusals_are_answered_here() {
    let l = listeners();
    let mut c = Connection::new(1);
    let sub = subscription_bytes(0, &["orders"], &[]);
    let cases = [
        (join_request(vec![("my-custom", sub.clone())]), 23),
        (
            join_request(vec![("range", sub.clone())]).with_protocol_type(s("connect")),
            23,
        ),
        (
            join_request(vec![("range", sub.clone())]).with_session_timeout_ms(10),
            26,
        ),
        (
            join_request(vec![("range", sub)]).with_group_id(GroupId(s(""))),
            24,
        ),
    ];
    for (req, code) in cases {
        for v in [2i16, 7] {
            let f = reply(c.decode(&request(ApiKey::JoinGroup, v, 1, &req), 0, &l));
            let (_, ResponseKind::JoinGroup(r)) = response(ApiKey::JoinGroup, v, &f) else {
                panic!()
            };
            assert_eq!(r.error_code, code);
        }
    }
}

#[test]
fn sync_group_heartbeat_and_leave() {
    let l = listeners();
    for v in [0i16, 3, 4, 5] {
        let mut c = Connection::new(1);
        let mut req = SyncGroupRequest::default()
            .with_group_id(GroupId(s("g1")))
            .with_generation_id(3)
            .with_member_id(s("m-1"))
            .with_assignments(vec![
                SyncGroupRequestAssignment::default()
                    .with_member_id(s("m-1"))
                    .with_assignment(assignment_bytes(&[("orders", 0), ("orders", 2)])),
                SyncGroupRequestAssignment::default()
                    .with_member_id(s("m-2"))
                    .with_assignment(assignment_bytes(&[("orders", 1)])),
            ]);
        if v >= 5 {
            req.protocol_type = Some(s("consumer"));
            req.protocol_name = Some(s("range"));
        }
        let (msgs, pending) = simulate(c.decode(&request(ApiKey::SyncGroup, v, 1, &req), 0, &l));
        let [Message::SyncGroup(sg)] = &msgs[..] else {
            panic!()
        };
        assert_eq!(sg.generation, 3);
        assert_eq!(
            sg.assignments[0].1,
            vec![
                TopicPartition::new("orders", 0),
                TopicPartition::new("orders", 2)
            ]
        );
        assert_eq!(&*sg.assignments[1].0, "m-2");
        let answer = Message::SyncGroupResponse {
            correlation: sg.correlation,
            error: None,
            assignment: vec![
                TopicPartition::new("orders", 2),
                TopicPartition::new("orders", 0),
            ],
        };
        let f = c.encode(&pending, &[answer], &l).unwrap();
        let (_, ResponseKind::SyncGroup(r)) = response(ApiKey::SyncGroup, v, &f) else {
            panic!()
        };
        let mut b = r.assignment.clone();
        let av = bytes::Buf::get_i16(&mut b);
        let a = ConsumerProtocolAssignment::decode(&mut b, av).unwrap();
        assert_eq!(a.assigned_partitions[0].partitions, vec![2, 0]);
        if v >= 5 {
            assert_eq!(r.protocol_name.as_ref().map(|p| p.as_str()), Some("range"));
        }
    }
    let mut c = Connection::new(1);
    let hb = HeartbeatRequest::default()
        .with_group_id(GroupId(s("g1")))
        .with_generation_id(3)
        .with_member_id(s("m-1"));
    let (msgs, pending) = simulate(c.decode(&request(ApiKey::Heartbeat, 4, 1, &hb), 0, &l));
    assert!(matches!(
        &msgs[..],
        [Message::Heartbeat { generation: 3, .. }]
    ));
    let f = c
        .encode(
            &pending,
            &[Message::HeartbeatResponse {
                correlation: 1,
                error: Some(ErrorCode::RebalanceInProgress),
            }],
            &l,
        )
        .unwrap();
    let (_, ResponseKind::Heartbeat(r)) = response(ApiKey::Heartbeat, 4, &f) else {
        panic!()
    };
    assert_eq!(r.error_code, 27);

    // LeaveGroup v5 with two members: one simulation message each, joined.
    let leave = LeaveGroupRequest::default()
        .with_group_id(GroupId(s("g1")))
        .with_members(vec![
            MemberIdentity::default()
                .with_member_id(s("m-1"))
                .with_reason(Some(s("shutting down"))),
            MemberIdentity::default().with_member_id(s("m-2")),
        ]);
    let (msgs, pending) = simulate(c.decode(&request(ApiKey::LeaveGroup, 5, 2, &leave), 0, &l));
    assert_eq!(msgs.len(), 2);
    let Message::LeaveGroup { reason, .. } = &msgs[0] else {
        panic!()
    };
    assert_eq!(reason, "shutting down");
    let answers = [
        Message::LeaveGroupResponse {
            correlation: 2,
            error: None,
        },
        Message::LeaveGroupResponse {
            correlation: 3,
            error: Some(ErrorCode::UnknownMemberId),
        },
    ];
    let f = c.encode(&pending, &answers, &l).unwrap();
    let (_, ResponseKind::LeaveGroup(r)) = response(ApiKey::LeaveGroup, 5, &f) else {
        panic!()
    };
    assert_eq!(r.error_code, 0);
    assert_eq!(
        r.members.iter().map(|m| m.error_code).collect::<Vec<_>>(),
        [0, 25]
    );
    let old = LeaveGroupRequest::default()
        .with_group_id(GroupId(s("g1")))
        .with_member_id(s("m-1"));
    let (msgs, pending) = simulate(c.decode(&request(ApiKey::LeaveGroup, 1, 3, &old), 0, &l));
    assert_eq!(msgs.len(), 1);
    let f = c
        .encode(
            &pending,
            &[Message::LeaveGroupResponse {
                correlation: 4,
                error: Some(ErrorCode::NotCoordinator),
            }],
            &l,
        )
        .unwrap();
    let (_, ResponseKind::LeaveGroup(r)) = response(ApiKey::LeaveGroup, 1, &f) else {
        panic!()
    };
    assert_eq!(r.error_code, 16);
}

fn commit_request(generation: i32, member: &str) -> OffsetCommitRequest {
    OffsetCommitRequest::default()
        .with_group_id(GroupId(s("g1")))
        .with_generation_id_or_member_epoch(generation)
        .with_member_id(s(member))
        .with_topics(vec![OffsetCommitRequestTopic::default()
            .with_name(name("orders"))
            .with_partitions(vec![
                OffsetCommitRequestPartition::default()
                    .with_partition_index(0)
                    .with_committed_offset(17)
                    .with_committed_leader_epoch(2),
                OffsetCommitRequestPartition::default()
                    .with_partition_index(1)
                    .with_committed_offset(5)
                    .with_committed_leader_epoch(-1),
            ])])
}

#[test]
fn offset_commit_and_fetch() {
    let l = listeners();
    for v in [2i16, 6, 8, 9] {
        let mut c = Connection::new(1);
        let (msgs, pending) = simulate(c.decode(
            &request(ApiKey::OffsetCommit, v, 1, &commit_request(-1, "")),
            0,
            &l,
        ));
        let [Message::OffsetCommit {
            generation,
            member_id,
            offsets,
            ..
        }] = &msgs[..]
        else {
            panic!()
        };
        assert_eq!((generation, member_id), (&None, &None));
        let epochs: Vec<Option<u32>> = offsets.iter().map(|o| o.leader_epoch).collect();
        assert_eq!(
            epochs,
            if v >= 6 {
                vec![Some(2), None]
            } else {
                vec![None, None]
            }
        );
        let answer = Message::OffsetCommitResponse {
            correlation: 1,
            error: Some(ErrorCode::IllegalGeneration),
        };
        let f = c.encode(&pending, &[answer], &l).unwrap();
        let (_, ResponseKind::OffsetCommit(r)) = response(ApiKey::OffsetCommit, v, &f) else {
            panic!()
        };
        assert_eq!(
            r.topics[0]
                .partitions
                .iter()
                .map(|p| p.error_code)
                .collect::<Vec<_>>(),
            [22, 22]
        );
    }
    for v in [1i16, 2, 5, 7] {
        let mut c = Connection::new(1);
        let req = OffsetFetchRequest::default()
            .with_group_id(GroupId(s("g1")))
            .with_topics(Some(vec![OffsetFetchRequestTopic::default()
                .with_name(name("orders"))
                .with_partition_indexes(vec![0, 1])]));
        let (msgs, pending) = simulate(c.decode(&request(ApiKey::OffsetFetch, v, 1, &req), 0, &l));
        let [Message::OffsetFetch { partitions, .. }] = &msgs[..] else {
            panic!()
        };
        assert_eq!(partitions.as_ref().map(Vec::len), Some(2));
        let answer = Message::OffsetFetchResponse {
            correlation: 1,
            error: None,
            offsets: vec![OffsetAndEpoch {
                tp: TopicPartition::new("orders", 1),
                offset: 9,
                leader_epoch: Some(4),
            }],
        };
        let f = c.encode(&pending, &[answer], &l).unwrap();
        let (_, ResponseKind::OffsetFetch(r)) = response(ApiKey::OffsetFetch, v, &f) else {
            panic!()
        };
        let got: Vec<(i64, i32)> = r.topics[0]
            .partitions
            .iter()
            .map(|p| (p.committed_offset, p.committed_leader_epoch))
            .collect();
        let epoch = if v >= 5 { 4 } else { -1 };
        assert_eq!(got, [(-1, -1), (9, epoch)]);
    }
    // A null topic list ("all") still gets an answer.
    let mut c = Connection::new(1);
    let all = OffsetFetchRequest::default()
        .with_group_id(GroupId(s("g1")))
        .with_topics(None);
    let (msgs, pending) = simulate(c.decode(&request(ApiKey::OffsetFetch, 7, 1, &all), 0, &l));
    assert!(matches!(
        &msgs[..],
        [Message::OffsetFetch {
            partitions: None,
            ..
        }]
    ));
    let answer = Message::OffsetFetchResponse {
        correlation: 1,
        error: Some(ErrorCode::NotCoordinator),
        offsets: vec![],
    };
    let f = c.encode(&pending, &[answer], &l).unwrap();
    let (_, ResponseKind::OffsetFetch(r)) = response(ApiKey::OffsetFetch, 7, &f) else {
        panic!()
    };
    assert_eq!(r.error_code, 16);
}
