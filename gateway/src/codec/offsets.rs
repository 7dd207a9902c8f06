//! OffsetCommit and OffsetFetch: a group's committed positions.

use std::collections::BTreeMap;

use kafka_protocol::messages::offset_commit_response::{
    OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponsePartition, OffsetFetchResponseTopic,
};
use kafka_protocol::messages::{
    ApiKey, OffsetCommitRequest, OffsetCommitResponse, OffsetFetchRequest, OffsetFetchResponse,
    TopicName,
};
use kafka_protocol::protocol::StrBytes;
use kafkascope_sim::ids::TopicPartition;
use kafkascope_sim::protocol::{Message, OffsetAndEpoch};

use super::errors;
use super::fetch::Slots;
use super::group::{arc, by_topic, local, s};
use super::{next, wrong, Connection, DecodeResult, Out, State, Translated};

#[derive(Clone, Debug)]
pub(crate) struct CommitPending {
    slots: Slots,
}

pub(crate) fn decode_commit(c: &mut Connection, req: OffsetCommitRequest) -> DecodeResult {
    let group_error = if req.group_id.0.is_empty() {
        Some(errors::INVALID_GROUP_ID)
    } else if req.generation_id_or_member_epoch < -1 {
        Some(errors::ILLEGAL_GENERATION)
    } else {
        None
    };
    let mut offsets = Vec::new();
    let mut slots = Vec::new();
    for t in req.topics {
        let mut ps = Vec::new();
        for p in t.partitions {
            let tp = u32::try_from(p.partition_index)
                .ok()
                .map(|i| TopicPartition::new(t.name.0.as_str(), i));
            let local = match (group_error, tp, u64::try_from(p.committed_offset)) {
                (Some(e), _, _) => Some(e),
                (None, None, _) => Some(errors::UNKNOWN_TOPIC_OR_PARTITION),
                (None, _, Err(_)) => Some(errors::INVALID_REQUEST),
                (None, Some(tp), Ok(offset)) => {
                    offsets.push(OffsetAndEpoch {
                        tp,
                        offset,
                        leader_epoch: u32::try_from(p.committed_leader_epoch).ok(),
                    });
                    None
                }
            };
            ps.push((p.partition_index, local));
        }
        slots.push((t.name, ps));
    }
    let messages = if offsets.is_empty() {
        Vec::new()
    } else {
        vec![Message::OffsetCommit {
            correlation: c.correlation(),
            group: arc(&req.group_id.0),
            generation: u32::try_from(req.generation_id_or_member_epoch).ok(),
            member_id: (!req.member_id.is_empty()).then(|| arc(&req.member_id)),
            offsets,
        }]
    };
    Ok(Translated {
        messages,
        state: State::OffsetCommit(CommitPending { slots }),
    })
}

pub(crate) fn encode_commit(
    out: Out,
    p: &CommitPending,
    responses: &[Message],
) -> Result<Vec<u8>, String> {
    let sim = p
        .slots
        .iter()
        .any(|(_, ps)| ps.iter().any(|(_, l)| l.is_none()));
    let sim_code = if sim {
        let m = next(&mut responses.iter(), "OffsetCommitResponse")?;
        let Message::OffsetCommitResponse { error, .. } = m else {
            return Err(wrong("OffsetCommitResponse", m));
        };
        errors::opt(*error)
    } else {
        errors::NONE
    };
    let topics = p
        .slots
        .iter()
        .map(|(name, ps)| {
            OffsetCommitResponseTopic::default()
                .with_name(name.clone())
                .with_partitions(
                    ps.iter()
                        .map(|(i, l)| {
                            OffsetCommitResponsePartition::default()
                                .with_partition_index(*i)
                                .with_error_code(l.unwrap_or(sim_code))
                        })
                        .collect(),
                )
        })
        .collect();
    out.frame(
        ApiKey::OffsetCommit,
        &OffsetCommitResponse::default().with_topics(topics),
    )
}

#[derive(Clone, Debug)]
pub(crate) struct OffsetFetchPending {
    local: Option<i16>,
    /// `None`: every partition with a committed offset.
    requested: Option<Vec<(TopicName, Vec<i32>)>>,
}

pub(crate) fn decode_offset_fetch(c: &mut Connection, req: OffsetFetchRequest) -> DecodeResult {
    let requested: Option<Vec<(TopicName, Vec<i32>)>> = req.topics.map(|ts| {
        ts.into_iter()
            .map(|t| (t.name, t.partition_indexes))
            .collect()
    });
    if req.group_id.0.is_empty() {
        return local(State::OffsetFetch(OffsetFetchPending {
            local: Some(errors::INVALID_GROUP_ID),
            requested,
        }));
    }
    // `None` (Kafka's null list) asks for every partition with a committed offset.
    let partitions = requested.as_ref().map(|r| {
        r.iter()
            .flat_map(|(t, ps)| {
                ps.iter().filter_map(|p| {
                    Some(TopicPartition::new(t.0.as_str(), u32::try_from(*p).ok()?))
                })
            })
            .collect()
    });
    Ok(Translated {
        messages: vec![Message::OffsetFetch {
            correlation: c.correlation(),
            group: arc(&req.group_id.0),
            partitions,
            require_stable: req.require_stable,
        }],
        state: State::OffsetFetch(OffsetFetchPending {
            local: None,
            requested,
        }),
    })
}

pub(crate) fn encode_offset_fetch(
    out: Out,
    p: &OffsetFetchPending,
    responses: &[Message],
) -> Result<Vec<u8>, String> {
    let (code, offsets): (i16, &[OffsetAndEpoch]) = match p.local {
        Some(code) => (code, &[]),
        None => {
            let m = next(&mut responses.iter(), "OffsetFetchResponse")?;
            let Message::OffsetFetchResponse { error, offsets, .. } = m else {
                return Err(wrong("OffsetFetchResponse", m));
            };
            (errors::opt(*error), offsets)
        }
    };
    let committed: BTreeMap<(&str, i32), &OffsetAndEpoch> = offsets
        .iter()
        .map(|o| ((&*o.tp.topic, o.tp.partition as i32), o))
        .collect();
    let requested: Vec<(TopicName, Vec<i32>)> = match &p.requested {
        Some(r) => r.clone(),
        None => by_topic(&offsets.iter().map(|o| o.tp.clone()).collect::<Vec<_>>())
            .into_iter()
            .map(|(t, ps)| (TopicName(s(t)), ps))
            .collect(),
    };
    let topics = requested
        .into_iter()
        .map(|(name, ps)| {
            let parts = ps
                .iter()
                .map(|i| {
                    let o = committed.get(&(name.0.as_str(), *i));
                    let bad = *i < 0 && code == errors::NONE;
                    OffsetFetchResponsePartition::default()
                        .with_partition_index(*i)
                        .with_committed_offset(o.map_or(-1, |o| o.offset as i64))
                        .with_committed_leader_epoch(
                            o.and_then(|o| o.leader_epoch).map_or(-1, |e| e as i32),
                        )
                        .with_metadata(Some(StrBytes::default()))
                        .with_error_code(if bad {
                            errors::UNKNOWN_TOPIC_OR_PARTITION
                        } else {
                            code
                        })
                })
                .collect();
            OffsetFetchResponseTopic::default()
                .with_name(name)
                .with_partitions(parts)
        })
        .collect();
    let mut r = OffsetFetchResponse::default().with_topics(topics);
    if out.version >= 2 {
        r.error_code = code;
    }
    out.frame(ApiKey::OffsetFetch, &r)
}
