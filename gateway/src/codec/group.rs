//! The classic consumer-group protocol: FindCoordinator, JoinGroup, SyncGroup, Heartbeat,
//! LeaveGroup, OffsetCommit and OffsetFetch.
//!
//! The broker does not read a consumer's subscription or assignment bytes, but the simulation's
//! coordinator and assignors work on them typed, so they are decoded here
//! (`ConsumerProtocolSubscription`/`ConsumerProtocolAssignment`, whose version is their first
//! two bytes) and re-encoded on the way back.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::consumer_protocol_assignment::TopicPartition as AssignedTp;
use kafka_protocol::messages::consumer_protocol_subscription::TopicPartition as OwnedTp;
use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::join_group_response::JoinGroupResponseMember;
use kafka_protocol::messages::leave_group_response::MemberResponse;
use kafka_protocol::messages::{
    ApiKey, BrokerId as KBrokerId, ConsumerProtocolAssignment, ConsumerProtocolSubscription,
    FindCoordinatorRequest, FindCoordinatorResponse, HeartbeatRequest, HeartbeatResponse,
    JoinGroupRequest, JoinGroupResponse, LeaveGroupRequest, LeaveGroupResponse, SyncGroupRequest,
    SyncGroupResponse, TopicName,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use kafkascope_sim::config::Assignor;
use kafkascope_sim::ids::TopicPartition;
use kafkascope_sim::protocol::{
    JoinGroupRequest as SimJoin, JoinGroupResponse as SimJoined, Message, Subscription,
    SyncGroupRequest as SimSync,
};

use super::errors;
use super::{guarded, next, wrong, Connection, DecodeResult, Listeners, Out, State, Translated};

pub(crate) fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

pub(crate) fn arc(v: &StrBytes) -> Arc<str> {
    Arc::from(v.as_str())
}

/// Kafka's `group.min.session.timeout.ms` and `group.max.session.timeout.ms` defaults.
const SESSION_TIMEOUT_MS: std::ops::RangeInclusive<i32> = 6_000..=1_800_000;

pub(crate) fn local(state: State) -> DecodeResult {
    Ok(Translated {
        messages: Vec::new(),
        state,
    })
}

// ---- FindCoordinator ----

#[derive(Clone, Debug)]
pub(crate) struct FindCoordinatorPending {
    batched: bool,
    /// Each key with the error answered here (`None`: the simulation answers).
    keys: Vec<(StrBytes, Option<i16>)>,
}

pub(crate) fn decode_find(
    c: &mut Connection,
    req: FindCoordinatorRequest,
    version: i16,
) -> DecodeResult {
    let batched = version >= 4;
    let keys = if batched {
        req.coordinator_keys
    } else {
        vec![req.key]
    };
    let mut messages = Vec::new();
    let keys = keys
        .into_iter()
        .map(|key| {
            let local = match req.key_type {
                0 => {
                    messages.push(Message::FindCoordinator {
                        key_type: kafkascope_sim::protocol::CoordinatorType::Group,
                        correlation: c.correlation(),
                        group: arc(&key),
                    });
                    None
                }
                // Transactions are not modelled: no transaction coordinator.
                1 => {
                    c.refuse(format!(
                        "FindCoordinator for transaction {:?}: transactions are not modelled \
                         (COORDINATOR_NOT_AVAILABLE)",
                        key.as_str()
                    ));
                    Some(errors::COORDINATOR_NOT_AVAILABLE)
                }
                t => {
                    c.refuse(format!(
                        "FindCoordinator key type {t}: only consumer groups are modelled"
                    ));
                    Some(errors::INVALID_REQUEST)
                }
            };
            (key, local)
        })
        .collect();
    Ok(Translated {
        messages,
        state: State::FindCoordinator(FindCoordinatorPending { batched, keys }),
    })
}

pub(crate) fn encode_find(
    out: Out,
    p: &FindCoordinatorPending,
    responses: &[Message],
    listeners: &Listeners,
) -> Result<Vec<u8>, String> {
    let mut it = responses.iter();
    let mut found = Vec::new();
    for (key, local) in &p.keys {
        let (code, node) = match local {
            Some(code) => (*code, None),
            None => {
                let m = next(&mut it, "FindCoordinatorResponse")?;
                let Message::FindCoordinatorResponse {
                    error, coordinator, ..
                } = m
                else {
                    return Err(wrong("FindCoordinatorResponse", m));
                };
                match (
                    error,
                    coordinator.and_then(|b| Some((b, listeners.ports.get(&b)?))),
                ) {
                    (Some(e), _) => (errors::code(*e), None),
                    (None, Some((b, port))) => (errors::NONE, Some((b, *port))),
                    (None, None) => (errors::COORDINATOR_NOT_AVAILABLE, None),
                }
            }
        };
        let (id, host, port) = match node {
            Some((b, port)) => (
                i32::try_from(b).unwrap_or(-1),
                s(&listeners.host),
                i32::from(port),
            ),
            None => (-1, StrBytes::default(), -1),
        };
        found.push((key.clone(), code, id, host, port));
    }
    let r = if p.batched {
        FindCoordinatorResponse::default().with_coordinators(
            found
                .into_iter()
                .map(|(key, code, id, host, port)| {
                    Coordinator::default()
                        .with_key(key)
                        .with_node_id(KBrokerId(id))
                        .with_host(host)
                        .with_port(port)
                        .with_error_code(code)
                })
                .collect(),
        )
    } else {
        let (_, code, id, host, port) = found
            .into_iter()
            .next()
            .ok_or("FindCoordinator without a key")?;
        FindCoordinatorResponse::default()
            .with_error_code(code)
            .with_node_id(KBrokerId(id))
            .with_host(host)
            .with_port(port)
    };
    out.frame(ApiKey::FindCoordinator, &r)
}

// ---- JoinGroup ----

/// A member's subscription, from `ConsumerProtocolSubscription` bytes.
pub(crate) fn subscription(metadata: &Bytes) -> Option<Subscription> {
    let mut b = metadata.clone();
    if b.len() < 2 {
        return None;
    }
    let version = i16::from_be_bytes([b[0], b[1]]);
    if version < 0 {
        return None;
    }
    let _ = b.split_to(2);
    // A newer version than we know is read as the newest we know, as Kafka's ConsumerProtocol
    // does (fields are only ever appended).
    let sub = guarded(|| {
        ConsumerProtocolSubscription::decode(&mut b, version.min(3)).map_err(|e| e.to_string())
    })
    .ok()?;
    Some(Subscription {
        topics: sub.topics.iter().map(arc).collect(),
        owned: sub
            .owned_partitions
            .iter()
            .flat_map(|t| {
                t.partitions.iter().filter_map(|p| {
                    Some(TopicPartition::new(
                        arc(&t.topic.0),
                        u32::try_from(*p).ok()?,
                    ))
                })
            })
            .collect(),
    })
}

/// Topic-partitions grouped by topic, in order.
pub(crate) fn by_topic(tps: &[TopicPartition]) -> BTreeMap<&str, Vec<i32>> {
    let mut m: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
    for tp in tps {
        m.entry(&tp.topic)
            .or_default()
            .push(i32::try_from(tp.partition).unwrap_or(i32::MAX));
    }
    m
}

/// `ConsumerProtocolSubscription` bytes: version 0, or 1 when the member owns partitions.
pub(crate) fn encode_subscription(sub: &Subscription) -> Result<Bytes, String> {
    let version: i16 = if sub.owned.is_empty() { 0 } else { 1 };
    let owned = by_topic(&sub.owned)
        .into_iter()
        .map(|(t, ps)| {
            OwnedTp::default()
                .with_topic(TopicName(s(t)))
                .with_partitions(ps)
        })
        .collect();
    let msg = ConsumerProtocolSubscription::default()
        .with_topics(sub.topics.iter().map(|t| s(t)).collect())
        .with_owned_partitions(owned);
    let mut buf = BytesMut::new();
    buf.put_i16(version);
    msg.encode(&mut buf, version)
        .map_err(|e| format!("encoding a subscription: {e:#}"))?;
    Ok(buf.freeze())
}

/// An assignment from `ConsumerProtocolAssignment` bytes (empty bytes: nothing assigned).
pub(crate) fn assignment(bytes: &Bytes) -> Option<Vec<TopicPartition>> {
    let mut b = bytes.clone();
    if b.is_empty() {
        return Some(Vec::new());
    }
    if b.len() < 2 {
        return None;
    }
    let version = i16::from_be_bytes([b[0], b[1]]);
    if version < 0 {
        return None;
    }
    let _ = b.split_to(2);
    let a = guarded(|| {
        ConsumerProtocolAssignment::decode(&mut b, version.min(3)).map_err(|e| e.to_string())
    })
    .ok()?;
    Some(
        a.assigned_partitions
            .iter()
            .flat_map(|t| {
                t.partitions.iter().filter_map(|p| {
                    Some(TopicPartition::new(
                        arc(&t.topic.0),
                        u32::try_from(*p).ok()?,
                    ))
                })
            })
            .collect(),
    )
}

/// `ConsumerProtocolAssignment` bytes at version 0, without user data.
pub(crate) fn encode_assignment(tps: &[TopicPartition]) -> Result<Bytes, String> {
    let assigned = by_topic(tps)
        .into_iter()
        .map(|(t, ps)| {
            AssignedTp::default()
                .with_topic(TopicName(s(t)))
                .with_partitions(ps)
        })
        .collect();
    let mut buf = BytesMut::new();
    buf.put_i16(0);
    ConsumerProtocolAssignment::default()
        .with_assigned_partitions(assigned)
        .encode(&mut buf, 0)
        .map_err(|e| format!("encoding an assignment: {e:#}"))?;
    Ok(buf.freeze())
}

pub(crate) fn decode_join(c: &mut Connection, req: JoinGroupRequest, version: i16) -> DecodeResult {
    let refuse = |c: &mut Connection, code, why: String| {
        c.refuse(format!("JoinGroup {:?}: {why}", req.group_id.0.as_str()));
        local(State::JoinGroup(Some(code)))
    };
    if req.group_id.0.is_empty() {
        return refuse(c, errors::INVALID_GROUP_ID, "empty group id".into());
    }
    if req.protocol_type.as_str() != "consumer" {
        let why = format!(
            "protocol type {:?}: only \"consumer\" groups are modelled",
            req.protocol_type.as_str()
        );
        return refuse(c, errors::INCONSISTENT_GROUP_PROTOCOL, why);
    }
    if !SESSION_TIMEOUT_MS.contains(&req.session_timeout_ms) {
        let why = format!(
            "session timeout {} ms outside Kafka's default [6000, 1800000]",
            req.session_timeout_ms
        );
        return refuse(c, errors::INVALID_SESSION_TIMEOUT, why);
    }
    let Some((protocol, sub)) = req.protocols.iter().find_map(|p| {
        Some((
            Assignor::parse(p.name.as_str())?,
            subscription(&p.metadata)?,
        ))
    }) else {
        let names: Vec<&str> = req.protocols.iter().map(|p| p.name.as_str()).collect();
        let why = format!(
            "no protocol among {names:?} is a modelled assignor (range, roundrobin, sticky, \
             cooperative-sticky) with a readable subscription"
        );
        return refuse(c, errors::INCONSISTENT_GROUP_PROTOCOL, why);
    };
    let rebalance = if version >= 1 && req.rebalance_timeout_ms > 0 {
        req.rebalance_timeout_ms
    } else {
        req.session_timeout_ms
    };
    Ok(Translated {
        messages: vec![Message::JoinGroup(SimJoin {
            correlation: c.correlation(),
            group: arc(&req.group_id.0),
            member_id: (!req.member_id.is_empty()).then(|| arc(&req.member_id)),
            session_timeout_ms: req.session_timeout_ms as u64,
            rebalance_timeout_ms: rebalance as u64,
            protocol,
            subscription: sub,
        })],
        state: State::JoinGroup(None),
    })
}

pub(crate) fn encode_join(
    out: Out,
    local: Option<i16>,
    responses: &[Message],
) -> Result<Vec<u8>, String> {
    // Before v7 the protocol name is not nullable.
    let nothing = || (out.version < 7).then(StrBytes::default);
    let mut r = JoinGroupResponse::default()
        .with_generation_id(-1)
        .with_protocol_name(nothing());
    if out.version >= 7 {
        r.protocol_type = Some(StrBytes::from_static_str("consumer"));
    }
    match local {
        Some(code) => r.error_code = code,
        None => {
            let m = next(&mut responses.iter(), "JoinGroupResponse")?;
            let Message::JoinGroupResponse(j) = m else {
                return Err(wrong("JoinGroupResponse", m));
            };
            let SimJoined {
                error,
                generation,
                protocol,
                leader,
                member_id,
                members,
                ..
            } = j;
            r.error_code = errors::opt(*error);
            if error.is_none() {
                r.generation_id = i32::try_from(*generation).unwrap_or(i32::MAX);
            }
            if let Some(p) = protocol {
                r.protocol_name = Some(StrBytes::from_static_str(p.name()));
            }
            r.leader = leader.as_deref().map(s).unwrap_or_default();
            r.member_id = member_id.as_deref().map(s).unwrap_or_default();
            r.members = members
                .iter()
                .map(|m| {
                    Ok(JoinGroupResponseMember::default()
                        .with_member_id(s(&m.member_id))
                        .with_metadata(encode_subscription(&m.subscription)?))
                })
                .collect::<Result<_, String>>()?;
        }
    }
    out.frame(ApiKey::JoinGroup, &r)
}

// ---- SyncGroup and Heartbeat ----

#[derive(Clone, Debug)]
pub(crate) struct SyncPending {
    local: Option<i16>,
    protocol_type: Option<StrBytes>,
    protocol_name: Option<StrBytes>,
}

pub(crate) fn decode_sync(c: &mut Connection, req: SyncGroupRequest) -> DecodeResult {
    let mut p = SyncPending {
        local: None,
        protocol_type: req.protocol_type.clone(),
        protocol_name: req.protocol_name.clone(),
    };
    let local_err = if req.group_id.0.is_empty() {
        Some(errors::INVALID_GROUP_ID)
    } else if req.member_id.is_empty() {
        Some(errors::UNKNOWN_MEMBER_ID)
    } else if req.generation_id < 0 {
        Some(errors::ILLEGAL_GENERATION)
    } else if req
        .protocol_type
        .as_ref()
        .is_some_and(|t| t.as_str() != "consumer")
    {
        Some(errors::INCONSISTENT_GROUP_PROTOCOL)
    } else {
        None
    };
    let assignments: Option<Vec<_>> = req
        .assignments
        .iter()
        .map(|a| Some((arc(&a.member_id), assignment(&a.assignment)?)))
        .collect();
    p.local = local_err.or(assignments
        .is_none()
        .then_some(errors::INCONSISTENT_GROUP_PROTOCOL));
    if p.local.is_some() {
        return local(State::SyncGroup(p));
    }
    Ok(Translated {
        messages: vec![Message::SyncGroup(SimSync {
            correlation: c.correlation(),
            group: arc(&req.group_id.0),
            generation: req.generation_id as u32,
            member_id: arc(&req.member_id),
            assignments: assignments.unwrap_or_default(),
        })],
        state: State::SyncGroup(p),
    })
}

pub(crate) fn encode_sync(
    out: Out,
    p: &SyncPending,
    responses: &[Message],
) -> Result<Vec<u8>, String> {
    let mut r = SyncGroupResponse::default();
    if out.version >= 5 {
        r.protocol_type = p.protocol_type.clone();
        r.protocol_name = p.protocol_name.clone();
    }
    match p.local {
        Some(code) => r.error_code = code,
        None => {
            let m = next(&mut responses.iter(), "SyncGroupResponse")?;
            let Message::SyncGroupResponse {
                error, assignment, ..
            } = m
            else {
                return Err(wrong("SyncGroupResponse", m));
            };
            r.error_code = errors::opt(*error);
            if error.is_none() {
                r.assignment = encode_assignment(assignment)?;
            }
        }
    }
    out.frame(ApiKey::SyncGroup, &r)
}

pub(crate) fn decode_heartbeat(c: &mut Connection, req: HeartbeatRequest) -> DecodeResult {
    let refuse = |code| local(State::Heartbeat(Some(code)));
    if req.group_id.0.is_empty() {
        return refuse(errors::INVALID_GROUP_ID);
    }
    if req.member_id.is_empty() {
        return refuse(errors::UNKNOWN_MEMBER_ID);
    }
    let Ok(generation) = u32::try_from(req.generation_id) else {
        return refuse(errors::ILLEGAL_GENERATION);
    };
    Ok(Translated {
        messages: vec![Message::Heartbeat {
            correlation: c.correlation(),
            group: arc(&req.group_id.0),
            generation,
            member_id: arc(&req.member_id),
        }],
        state: State::Heartbeat(None),
    })
}

pub(crate) fn encode_heartbeat(
    out: Out,
    local: Option<i16>,
    responses: &[Message],
) -> Result<Vec<u8>, String> {
    let code = match local {
        Some(code) => code,
        None => {
            let m = next(&mut responses.iter(), "HeartbeatResponse")?;
            let Message::HeartbeatResponse { error, .. } = m else {
                return Err(wrong("HeartbeatResponse", m));
            };
            errors::opt(*error)
        }
    };
    out.frame(
        ApiKey::Heartbeat,
        &HeartbeatResponse::default().with_error_code(code),
    )
}

// ---- LeaveGroup ----

#[derive(Clone, Debug)]
pub(crate) struct LeavePending {
    batched: bool,
    top: Option<i16>,
    /// Each leaving member, its static instance id and the error answered here.
    members: Vec<(StrBytes, Option<StrBytes>, Option<i16>)>,
}

pub(crate) fn decode_leave(
    c: &mut Connection,
    req: LeaveGroupRequest,
    version: i16,
) -> DecodeResult {
    let batched = version >= 3;
    let leaving: Vec<(StrBytes, Option<StrBytes>, Option<StrBytes>)> = if batched {
        req.members
            .into_iter()
            .map(|m| (m.member_id, m.group_instance_id, m.reason))
            .collect()
    } else {
        vec![(req.member_id, None, None)]
    };
    let mut p = LeavePending {
        batched,
        top: req
            .group_id
            .0
            .is_empty()
            .then_some(errors::INVALID_GROUP_ID),
        members: Vec::new(),
    };
    let mut messages = Vec::new();
    for (member, instance, reason) in leaving {
        let local = if member.is_empty() {
            Some(errors::UNKNOWN_MEMBER_ID)
        } else if p.top.is_some() {
            p.top
        } else {
            messages.push(Message::LeaveGroup {
                correlation: c.correlation(),
                group: arc(&req.group_id.0),
                member_id: arc(&member),
                reason: reason.map_or("not provided".to_string(), |r| r.to_string()),
            });
            None
        };
        p.members.push((member, instance, local));
    }
    Ok(Translated {
        messages,
        state: State::LeaveGroup(p),
    })
}

pub(crate) fn encode_leave(
    out: Out,
    p: &LeavePending,
    responses: &[Message],
) -> Result<Vec<u8>, String> {
    let mut it = responses.iter();
    let mut top = p.top;
    let mut members = Vec::new();
    for (member, instance, local) in &p.members {
        let code = match local {
            Some(code) => *code,
            None => {
                let m = next(&mut it, "LeaveGroupResponse")?;
                let Message::LeaveGroupResponse { error, .. } = m else {
                    return Err(wrong("LeaveGroupResponse", m));
                };
                if let Some(e) = error.filter(|e| errors::is_group_level(*e)) {
                    top.get_or_insert(errors::code(e));
                }
                errors::opt(*error)
            }
        };
        members.push(
            MemberResponse::default()
                .with_member_id(member.clone())
                .with_group_instance_id(instance.clone())
                .with_error_code(code),
        );
    }
    let r = if p.batched {
        match top {
            Some(code) => LeaveGroupResponse::default().with_error_code(code),
            None => LeaveGroupResponse::default().with_members(members),
        }
    } else {
        let code = members.first().map_or(errors::NONE, |m| m.error_code);
        LeaveGroupResponse::default().with_error_code(top.unwrap_or(code))
    };
    out.frame(ApiKey::LeaveGroup, &r)
}
