//! Fetch, ListOffsets and OffsetForLeaderEpoch: a consumer reading a partition.

use std::collections::BTreeMap;

use bytes::{Bytes, BytesMut};
use kafka_protocol::indexmap::IndexMap;
use kafka_protocol::messages::fetch_response::{
    AbortedTransaction, FetchableTopicResponse, PartitionData,
};
use kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use kafka_protocol::messages::offset_for_leader_epoch_response::{
    EpochEndOffset as KEpochEndOffset, OffsetForLeaderTopicResult,
};
use kafka_protocol::messages::{
    ApiKey, FetchRequest, FetchResponse, ListOffsetsRequest, ListOffsetsResponse,
    OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse, ProducerId, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{
    Compression, Record as KRecord, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use kafkascope_sim::config::IsolationLevel;
use kafkascope_sim::ids::TopicPartition;
use kafkascope_sim::log::{ControlType, Record};
use kafkascope_sim::protocol::{
    EpochQuery, FetchPartition, FetchRequest as SimFetch, FetchedPartition, Message, OffsetSpec,
};

use super::errors;
use super::{next, wrong, Connection, DecodeResult, Out, State, Translated};

/// The request's topics and partitions in order, each with the error it was answered with
/// here (`None`: the simulation answers it).
pub(crate) type Slots = Vec<(TopicName, Vec<(i32, Option<i16>)>)>;

fn tp(topic: &TopicName, partition: i32) -> Option<TopicPartition> {
    Some(TopicPartition::new(
        topic.0.as_str(),
        u32::try_from(partition).ok()?,
    ))
}

fn has_sim(slots: &Slots) -> bool {
    slots
        .iter()
        .any(|(_, ps)| ps.iter().any(|(_, e)| e.is_none()))
}

fn i64_of(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

#[derive(Clone, Debug)]
pub(crate) struct FetchPending {
    top_error: i16,
    slots: Slots,
    sim: bool,
}

pub(crate) fn decode(c: &mut Connection, req: FetchRequest, version: i16) -> DecodeResult {
    let replica = req.replica_id.0.max(req.replica_state.replica_id.0);
    if replica >= 0 {
        return Err(format!(
            "a fetch from replica {replica} (a follower): the gateway serves clients only"
        ));
    }
    if version >= 7 && req.session_id != 0 {
        // We never create a fetch session, so the client names one we do not know.
        c.refuse(format!(
            "Fetch names session {}: the gateway creates no fetch sessions",
            req.session_id
        ));
        return Ok(Translated {
            messages: Vec::new(),
            state: State::Fetch(FetchPending {
                top_error: errors::FETCH_SESSION_ID_NOT_FOUND,
                slots: Vec::new(),
                sim: false,
            }),
        });
    }
    let mut partitions = Vec::new();
    let mut slots = Vec::new();
    for t in req.topics {
        let mut ps = Vec::new();
        for p in t.partitions {
            let local = match tp(&t.topic, p.partition) {
                None => Some(errors::UNKNOWN_TOPIC_OR_PARTITION),
                Some(_) if p.fetch_offset < 0 => Some(errors::OFFSET_OUT_OF_RANGE),
                Some(tp) => {
                    partitions.push(FetchPartition {
                        tp,
                        fetch_offset: p.fetch_offset as u64,
                        current_leader_epoch: u32::try_from(p.current_leader_epoch).ok(),
                        // Clients send -1: the field is for followers (KIP-595).
                        last_fetched_epoch: None,
                    });
                    None
                }
            };
            ps.push((p.partition, local));
        }
        slots.push((t.topic, ps));
    }
    let mut messages = Vec::new();
    if !partitions.is_empty() {
        messages.push(Message::Fetch(SimFetch {
            replica: None,
            correlation: c.correlation(),
            max_wait_ms: u64::try_from(req.max_wait_ms).unwrap_or(0),
            min_bytes: u64::try_from(req.min_bytes).unwrap_or(0),
            partitions,
            isolation: if req.isolation_level == 1 {
                IsolationLevel::ReadCommitted
            } else {
                IsolationLevel::ReadUncommitted
            },
        }));
    }
    let sim = !messages.is_empty();
    Ok(Translated {
        messages,
        state: State::Fetch(FetchPending {
            top_error: errors::NONE,
            slots,
            sim,
        }),
    })
}

pub(crate) fn encode(out: Out, p: &FetchPending, responses: &[Message]) -> Result<Vec<u8>, String> {
    let mut fetched: BTreeMap<&TopicPartition, &FetchedPartition> = BTreeMap::new();
    if p.sim {
        let m = next(&mut responses.iter(), "FetchResponse")?;
        let Message::FetchResponse { partitions, .. } = m else {
            return Err(wrong("FetchResponse", m));
        };
        for f in partitions {
            fetched.entry(&f.tp).or_insert(f);
        }
    }
    let mut topics = Vec::new();
    for (topic, ps) in &p.slots {
        let mut datas = Vec::new();
        for (partition, local) in ps {
            let d = PartitionData::default()
                .with_partition_index(*partition)
                .with_aborted_transactions(Some(Vec::new()))
                .with_records(Some(Bytes::new()));
            let found = tp(topic, *partition).and_then(|tp| fetched.get(&tp).copied());
            let d = match (local, found) {
                (Some(code), _) => d.with_error_code(*code),
                (None, None) => d.with_error_code(errors::UNKNOWN_TOPIC_OR_PARTITION),
                (None, Some(f)) => d
                    .with_error_code(errors::opt(f.error))
                    .with_high_watermark(i64_of(f.high_watermark))
                    .with_last_stable_offset(i64_of(f.last_stable_offset))
                    .with_aborted_transactions(Some(
                        f.aborted
                            .iter()
                            .map(|a| {
                                AbortedTransaction::default()
                                    .with_producer_id(ProducerId(
                                        i64::try_from(a.producer_id).unwrap_or(-1),
                                    ))
                                    .with_first_offset(i64_of(a.first_offset))
                            })
                            .collect(),
                    ))
                    .with_log_start_offset(i64_of(f.log_start_offset))
                    .with_records(Some(encode_records(&f.records)?)),
            };
            datas.push(d);
        }
        topics.push(
            FetchableTopicResponse::default()
                .with_topic(topic.clone())
                .with_partitions(datas),
        );
    }
    let r = FetchResponse::default()
        .with_error_code(p.top_error)
        .with_session_id(0)
        .with_responses(topics);
    out.frame(ApiKey::Fetch, &r)
}

/// Which records share a v2 batch: the same leader epoch and the same producer batch (a
/// transaction marker is a control batch of its own).
type BatchKey = (u32, Option<(u64, u16, u32, u32)>, bool);

fn batch_key(r: &Record) -> BatchKey {
    (
        r.leader_epoch,
        r.producer
            .map(|s| (s.producer_id, s.producer_epoch, s.batch_first, s.batch_last)),
        r.control.is_some(),
    )
}

/// Encodes records as uncompressed v2 batches: a real client's record with exactly its bytes,
/// a simulated producer's with its labels.
pub(crate) fn encode_records(records: &[Record]) -> Result<Bytes, String> {
    let mut buf = BytesMut::new();
    let options = RecordEncodeOptions {
        version: 2,
        compression: Compression::None,
    };
    let mut i = 0;
    while i < records.len() {
        let key = batch_key(&records[i]);
        let mut j = i + 1;
        while j < records.len()
            && batch_key(&records[j]) == key
            && records[j].offset == records[j - 1].offset + 1
        {
            j += 1;
        }
        let group: Vec<KRecord> = records[i..j]
            .iter()
            .enumerate()
            .map(|(k, r)| wire_record(r, k))
            .collect();
        RecordBatchEncoder::encode(&mut buf, group.iter(), &options)
            .map_err(|e| format!("encoding records: {e:#}"))?;
        i = j;
    }
    Ok(buf.freeze())
}

/// The `k`-th record of its batch as kafka-protocol encodes it. Without a producer stamp the
/// sequence is `k - 1`, which keeps the batch together with base sequence -1 (the encoder
/// splits batches where offset − sequence changes).
fn wire_record(r: &Record, k: usize) -> KRecord {
    let b = |s: &[u8]| Bytes::copy_from_slice(s);
    let (key, value, headers, timestamp) = match &r.data.payload {
        Some(p) => (
            p.key.as_ref().map(|k| b(k.as_slice())),
            p.value.as_ref().map(|v| b(v.as_slice())),
            p.headers
                .iter()
                .map(|(k, v)| {
                    (
                        StrBytes::from_string(k.to_string()),
                        v.as_ref().map(|v| b(v.as_slice())),
                    )
                })
                .collect::<IndexMap<_, _>>(),
            p.timestamp,
        ),
        None => match r.control {
            // Kafka's control record: key (version 0, type 0 = ABORT, 1 = COMMIT), value
            // (version 0, coordinator epoch 0).
            Some(kind) => (
                Some(b(&[0, 0, 0, u8::from(kind == ControlType::Commit)])),
                Some(b(&[0, 0, 0, 0, 0, 0])),
                IndexMap::new(),
                i64_of(r.data.timestamp),
            ),
            None => (
                r.data.key.as_ref().map(|k| b(k.as_bytes())),
                Some(b(r.data.value.as_bytes())),
                IndexMap::new(),
                i64_of(r.data.timestamp),
            ),
        },
    };
    KRecord {
        transactional: r.producer.is_some_and(|s| s.transactional),
        control: r.control.is_some(),
        delete_horizon: false,
        partition_leader_epoch: i32::try_from(r.leader_epoch).unwrap_or(i32::MAX),
        producer_id: r
            .producer
            .map_or(-1, |s| i64::try_from(s.producer_id).unwrap_or(-1)),
        producer_epoch: r.producer.map_or(-1, |s| s.producer_epoch as i16),
        timestamp_type: TimestampType::Creation,
        offset: i64_of(r.offset),
        sequence: match (r.producer, r.control) {
            (Some(s), None) => s.sequence as i32,
            _ => k as i32 - 1,
        },
        timestamp,
        key,
        value,
        headers,
    }
}

#[derive(Clone, Debug)]
pub(crate) struct ListOffsetsPending {
    slots: Slots,
}

pub(crate) fn decode_list_offsets(c: &mut Connection, req: ListOffsetsRequest) -> DecodeResult {
    let mut partitions = Vec::new();
    let mut slots = Vec::new();
    for t in req.topics {
        let mut ps = Vec::new();
        for p in t.partitions {
            let spec = match p.timestamp {
                -1 => Some(OffsetSpec::Latest),
                // -4 is the earliest local offset (KIP-1005): the log start without tiered
                // storage.
                -2 | -4 => Some(OffsetSpec::Earliest),
                _ => None,
            };
            let local = match (tp(&t.name, p.partition_index), spec) {
                (None, _) => Some(errors::UNKNOWN_TOPIC_OR_PARTITION),
                (_, None) => {
                    c.refuse(format!(
                        "ListOffsets for {}-{} at timestamp {}: only latest (-1) and earliest \
                         (-2, -4) are modelled (UNSUPPORTED_FOR_MESSAGE_FORMAT)",
                        t.name.0.as_str(),
                        p.partition_index,
                        p.timestamp
                    ));
                    Some(errors::UNSUPPORTED_FOR_MESSAGE_FORMAT)
                }
                (Some(tp), Some(spec)) => {
                    partitions.push((tp, u32::try_from(p.current_leader_epoch).ok(), spec));
                    None
                }
            };
            ps.push((p.partition_index, local));
        }
        slots.push((t.name, ps));
    }
    let messages = if partitions.is_empty() {
        Vec::new()
    } else {
        vec![Message::ListOffsets {
            correlation: c.correlation(),
            partitions,
        }]
    };
    Ok(Translated {
        messages,
        state: State::ListOffsets(ListOffsetsPending { slots }),
    })
}

pub(crate) fn encode_list_offsets(
    out: Out,
    p: &ListOffsetsPending,
    responses: &[Message],
) -> Result<Vec<u8>, String> {
    let mut answers = BTreeMap::new();
    if has_sim(&p.slots) {
        let m = next(&mut responses.iter(), "ListOffsetsResponse")?;
        let Message::ListOffsetsResponse { partitions, .. } = m else {
            return Err(wrong("ListOffsetsResponse", m));
        };
        for (tp, r) in partitions {
            answers.entry(tp).or_insert(r);
        }
    }
    let topics = p
        .slots
        .iter()
        .map(|(topic, ps)| {
            let parts = ps
                .iter()
                .map(|(partition, local)| {
                    let answer = tp(topic, *partition).and_then(|tp| answers.get(&tp).copied());
                    let (code, offset) = match (local, answer) {
                        (Some(code), _) => (*code, -1),
                        (None, None) => (errors::UNKNOWN_TOPIC_OR_PARTITION, -1),
                        (None, Some(Ok(o))) => (errors::NONE, i64_of(*o)),
                        (None, Some(Err(e))) => (errors::code(*e), -1),
                    };
                    ListOffsetsPartitionResponse::default()
                        .with_partition_index(*partition)
                        .with_error_code(code)
                        .with_timestamp(-1)
                        .with_offset(offset)
                        .with_leader_epoch(-1)
                })
                .collect();
            ListOffsetsTopicResponse::default()
                .with_name(topic.clone())
                .with_partitions(parts)
        })
        .collect();
    out.frame(
        ApiKey::ListOffsets,
        &ListOffsetsResponse::default().with_topics(topics),
    )
}

/// A partition answered here: (error, leader epoch, end offset).
type EpochSlots = Vec<(TopicName, Vec<(i32, Option<(i16, i32, i64)>)>)>;

#[derive(Clone, Debug)]
pub(crate) struct EpochPending {
    slots: EpochSlots,
}

pub(crate) fn decode_epochs(c: &mut Connection, req: OffsetForLeaderEpochRequest) -> DecodeResult {
    if req.replica_id.0 >= 0 {
        return Err(format!(
            "OffsetForLeaderEpoch from replica {} (a follower): the gateway serves clients only",
            req.replica_id.0
        ));
    }
    let mut queries = Vec::new();
    let mut slots = Vec::new();
    for t in req.topics {
        let mut ps = Vec::new();
        for p in t.partitions {
            let local = match (tp(&t.topic, p.partition), u32::try_from(p.leader_epoch)) {
                (None, _) => Some((errors::UNKNOWN_TOPIC_OR_PARTITION, -1, -1)),
                // An undefined epoch has an undefined end (Kafka's UNDEFINED_EPOCH_OFFSET).
                (_, Err(_)) => Some((errors::NONE, -1, -1)),
                (Some(tp), Ok(leader_epoch)) => {
                    queries.push(EpochQuery {
                        tp,
                        current_leader_epoch: u32::try_from(p.current_leader_epoch).ok(),
                        leader_epoch,
                    });
                    None
                }
            };
            ps.push((p.partition, local));
        }
        slots.push((t.topic, ps));
    }
    let messages = if queries.is_empty() {
        Vec::new()
    } else {
        vec![Message::OffsetsForLeaderEpoch {
            correlation: c.correlation(),
            partitions: queries,
        }]
    };
    Ok(Translated {
        messages,
        state: State::OffsetForLeaderEpoch(EpochPending { slots }),
    })
}

pub(crate) fn encode_epochs(
    out: Out,
    p: &EpochPending,
    responses: &[Message],
) -> Result<Vec<u8>, String> {
    let mut answers = BTreeMap::new();
    if p.slots
        .iter()
        .any(|(_, ps)| ps.iter().any(|(_, l)| l.is_none()))
    {
        let m = next(&mut responses.iter(), "OffsetsForLeaderEpochResponse")?;
        let Message::OffsetsForLeaderEpochResponse { partitions, .. } = m else {
            return Err(wrong("OffsetsForLeaderEpochResponse", m));
        };
        for e in partitions {
            answers.entry(&e.tp).or_insert(e);
        }
    }
    let topics = p
        .slots
        .iter()
        .map(|(topic, ps)| {
            let parts = ps
                .iter()
                .map(|(partition, local)| {
                    let answer = tp(topic, *partition).and_then(|tp| answers.get(&tp).copied());
                    let (code, epoch, end) = match (local, answer) {
                        (Some(l), _) => *l,
                        (None, None) => (errors::UNKNOWN_TOPIC_OR_PARTITION, -1, -1),
                        (None, Some(a)) => match (a.error, a.end) {
                            (Some(e), _) => (errors::code(e), -1, -1),
                            (None, Some((e, o))) => (
                                errors::NONE,
                                i32::try_from(e).unwrap_or(i32::MAX),
                                i64_of(o),
                            ),
                            (None, None) => (errors::NONE, -1, -1),
                        },
                    };
                    KEpochEndOffset::default()
                        .with_partition(*partition)
                        .with_error_code(code)
                        .with_leader_epoch(epoch)
                        .with_end_offset(end)
                })
                .collect();
            OffsetForLeaderTopicResult::default()
                .with_topic(topic.clone())
                .with_partitions(parts)
        })
        .collect();
    out.frame(
        ApiKey::OffsetForLeaderEpoch,
        &OffsetForLeaderEpochResponse::default().with_topics(topics),
    )
}
