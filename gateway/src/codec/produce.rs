//! Produce and InitProducerId.
//!
//! A Produce request is split per partition into simulation `Produce` messages; partitions the
//! simulation cannot take (compressed, transactional or malformed batches) are answered here
//! and joined with the simulation's answers in the request's order.

use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::{
    ApiKey, InitProducerIdRequest, InitProducerIdResponse, ProduceRequest, ProduceResponse,
    ProducerId, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{Compression, RecordBatchDecoder};
use kafkascope_sim::config::Acks;
use kafkascope_sim::ids::{Millis, TopicPartition};
use kafkascope_sim::log::RecordData;
use kafkascope_sim::payload::{Bytes as PBytes, Payload};
use kafkascope_sim::protocol::{IdempotentBatch, Message, ProduceRequest as SimProduce};

use super::errors;
use super::{guarded, next, wrong, Connection, DecodeResult, Out, State, Translated};

/// One partition of the request: sent to the simulation, or answered here.
#[derive(Clone, Debug)]
pub(crate) enum Slot {
    Sim,
    /// Kafka's error code and the message a v8+ response carries.
    Local(i16, &'static str),
}

#[derive(Clone, Debug)]
pub(crate) struct ProducePending {
    acks_none: bool,
    topics: Vec<(TopicName, Vec<(i32, Slot)>)>,
}

pub(crate) fn decode(
    c: &mut Connection,
    req: ProduceRequest,
    _version: i16,
    now: Millis,
) -> DecodeResult {
    let acks = match req.acks {
        -1 => Some(Acks::All),
        1 => Some(Acks::Leader),
        0 => Some(Acks::None),
        _ => None,
    };
    let transactional = req.transactional_id.is_some();
    let timeout_ms = u64::try_from(req.timeout_ms).unwrap_or(0);
    let mut messages = Vec::new();
    let mut topics = Vec::new();
    let mut refused = Vec::new();
    for t in req.topic_data {
        let mut parts = Vec::new();
        for p in t.partition_data {
            let slot = match (acks, u32::try_from(p.index)) {
                (None, _) => Slot::Local(errors::INVALID_REQUIRED_ACKS, "acks must be -1, 0 or 1"),
                (_, Err(_)) => Slot::Local(
                    errors::UNKNOWN_TOPIC_OR_PARTITION,
                    "negative partition index",
                ),
                (Some(_), Ok(_)) if transactional => Slot::Local(
                    errors::INVALID_TXN_STATE,
                    "transactions are not modelled by the simulation",
                ),
                (Some(acks), Ok(partition)) => match batch(c, p.records, now) {
                    Ok((records, idempotent)) => {
                        messages.push(Message::Produce(SimProduce {
                            correlation: c.correlation(),
                            tp: TopicPartition::new(t.name.0.as_str(), partition),
                            acks,
                            timeout_ms,
                            records,
                            idempotent,
                            transactional_id: None,
                        }));
                        Slot::Sim
                    }
                    Err((code, why)) => Slot::Local(code, why),
                },
            };
            if let Slot::Local(_, why) = &slot {
                refused.push(format!("{}-{}: {why}", t.name.0.as_str(), p.index));
            }
            parts.push((p.index, slot));
        }
        topics.push((t.name, parts));
    }
    if !refused.is_empty() {
        c.refuse(format!("Produce refused here: {}", refused.join(", ")));
    }
    if acks == Some(Acks::None) && !refused.is_empty() {
        // Kafka answers nothing with acks=0, so it closes the connection to tell the client.
        return Err(format!(
            "acks=0 produce refused ({}); Kafka closes the connection",
            refused.join(", ")
        ));
    }
    Ok(Translated {
        messages,
        state: State::Produce(ProducePending {
            acks_none: acks == Some(Acks::None),
            topics,
        }),
    })
}

type Refusal = (i16, &'static str);

/// One partition's records: exactly one uncompressed, non-transactional v2 batch.
fn batch(
    c: &mut Connection,
    raw: Option<Bytes>,
    now: Millis,
) -> Result<(Vec<RecordData>, Option<IdempotentBatch>), Refusal> {
    let Some(raw) = raw else {
        return Err((errors::CORRUPT_MESSAGE, "null records"));
    };
    // The headers first (their CRC checked), before anything is allocated by record count.
    let mut rest = raw.clone();
    let infos =
        guarded(|| RecordBatchDecoder::decode_batch_info(&mut rest).map_err(|e| e.to_string()))
            .map_err(|_| (errors::CORRUPT_MESSAGE, "corrupt record batch"))?;
    let info = match infos.as_slice() {
        // Anything after the batch (a legacy message set stops the scan) is refused too.
        [info] if rest.is_empty() => info,
        [] => return Err((errors::INVALID_RECORD, "no v2 record batch")),
        _ => return Err((errors::INVALID_RECORD, "more than one record batch")),
    };
    if info.compression != Compression::None {
        return Err((
            errors::UNSUPPORTED_COMPRESSION_TYPE,
            "the gateway takes uncompressed batches only",
        ));
    }
    if info.transactional {
        return Err((
            errors::INVALID_TXN_STATE,
            "transactions are not modelled by the simulation",
        ));
    }
    if info.control {
        return Err((errors::INVALID_RECORD, "control batch from a client"));
    }
    if info.record_count <= 0 || info.record_count as usize > raw.len() {
        return Err((errors::INVALID_RECORD, "bad record count"));
    }
    let idempotent = if info.producer_id >= 0 {
        match (
            u16::try_from(info.producer_epoch),
            u32::try_from(info.base_sequence),
        ) {
            (Ok(producer_epoch), Ok(base_sequence)) => Some(IdempotentBatch {
                producer_id: info.producer_id as u64,
                producer_epoch,
                base_sequence,
            }),
            _ => return Err((errors::INVALID_RECORD, "bad producer epoch or sequence")),
        }
    } else {
        None
    };
    let set = guarded(|| RecordBatchDecoder::decode(&mut raw.clone()).map_err(|e| e.to_string()))
        .map_err(|_| (errors::CORRUPT_MESSAGE, "corrupt records"))?;
    let records = set
        .records
        .into_iter()
        .map(|r| {
            let key_len = r.key.as_ref().map_or(0, |k| k.len());
            let value_len = r.value.as_ref().map_or(0, |v| v.len());
            let payload = Payload {
                key: r.key.as_deref().map(PBytes::new),
                value: r.value.as_deref().map(PBytes::new),
                headers: r
                    .headers
                    .iter()
                    .map(|(k, v)| (Arc::from(k.as_str()), v.as_deref().map(PBytes::new)))
                    .collect(),
                timestamp: r.timestamp,
            };
            RecordData {
                key: r
                    .key
                    .as_deref()
                    .map(|k| Arc::from(String::from_utf8_lossy(k).as_ref())),
                value: c.label(),
                timestamp: now,
                size: u32::try_from(key_len + value_len + 10).unwrap_or(u32::MAX),
                payload: Some(Arc::new(payload)),
            }
        })
        .collect();
    Ok((records, idempotent))
}

pub(crate) fn encode(
    out: Out,
    p: &ProducePending,
    responses: &[Message],
) -> Result<Option<Vec<u8>>, String> {
    if p.acks_none {
        return Ok(None);
    }
    let mut it = responses.iter();
    let mut topics = Vec::new();
    for (name, parts) in &p.topics {
        let mut rs = Vec::new();
        for (index, slot) in parts {
            let (code, base_offset, message) = match slot {
                Slot::Local(code, why) => (*code, -1, Some(*why)),
                Slot::Sim => {
                    let m = next(&mut it, "ProduceResponse")?;
                    let Message::ProduceResponse {
                        error, base_offset, ..
                    } = m
                    else {
                        return Err(wrong("ProduceResponse", m));
                    };
                    let offset = base_offset.map_or(-1, |o| i64::try_from(o).unwrap_or(-1));
                    (errors::opt(*error), offset, None)
                }
            };
            let mut r = PartitionProduceResponse::default()
                .with_index(*index)
                .with_error_code(code)
                .with_base_offset(base_offset)
                .with_log_append_time_ms(-1)
                .with_log_start_offset(0);
            if out.version >= 8 {
                r.error_message = message.map(StrBytes::from_static_str);
            }
            rs.push(r);
        }
        topics.push(
            TopicProduceResponse::default()
                .with_name(name.clone())
                .with_partition_responses(rs),
        );
    }
    let r = ProduceResponse::default().with_responses(topics);
    out.frame(ApiKey::Produce, &r).map(Some)
}

pub(crate) fn decode_init(c: &mut Connection, req: InitProducerIdRequest) -> DecodeResult {
    let local = match req.transactional_id {
        None => None,
        // Kafka: an empty transactional id is an invalid request.
        Some(t) if t.0.is_empty() => {
            c.refuse("InitProducerId with an empty transactional.id (INVALID_REQUEST)");
            Some(errors::INVALID_REQUEST)
        }
        Some(t) => {
            c.refuse(format!(
                "InitProducerId for transactional.id {:?}: transactions are not modelled \
                 (TRANSACTIONAL_ID_AUTHORIZATION_FAILED)",
                t.0.as_str()
            ));
            Some(errors::TRANSACTIONAL_ID_AUTHORIZATION_FAILED)
        }
    };
    let messages = match local {
        Some(_) => Vec::new(),
        None => vec![Message::InitProducerId {
            correlation: c.correlation(),
            transactional_id: None,
            transaction_timeout_ms: 0,
        }],
    };
    Ok(Translated {
        messages,
        state: State::InitProducerId(local),
    })
}

pub(crate) fn encode_init(
    out: Out,
    local: Option<i16>,
    responses: &[Message],
) -> Result<Vec<u8>, String> {
    let (code, id, epoch) = match local {
        Some(code) => (code, -1, -1),
        None => {
            let m = next(&mut responses.iter(), "InitProducerIdResponse")?;
            let Message::InitProducerIdResponse { result, .. } = m else {
                return Err(wrong("InitProducerIdResponse", m));
            };
            match result {
                Ok((id, epoch)) => (
                    errors::NONE,
                    i64::try_from(*id).unwrap_or(-1),
                    i16::try_from(*epoch).unwrap_or(-1),
                ),
                Err(e) => (errors::code(*e), -1, -1),
            }
        }
    };
    let r = InitProducerIdResponse::default()
        .with_error_code(code)
        .with_producer_id(ProducerId(id))
        .with_producer_epoch(epoch);
    out.frame(ApiKey::InitProducerId, &r)
}
