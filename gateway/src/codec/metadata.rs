//! Metadata: the simulation's metadata cache, with the listeners' addresses.

use std::collections::BTreeMap;

use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{ApiKey, BrokerId as KBrokerId, MetadataRequest, MetadataResponse};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::ResponseError;
use kafkascope_sim::ids::{BrokerId, OFFSETS_TOPIC};
use kafkascope_sim::protocol::{Message, PartitionState};
use uuid::Uuid;

use super::{errors, next, wrong, Connection, DecodeResult, Listeners, Out, State, Translated};

/// A topic as the request named it.
#[derive(Clone, Debug)]
pub(crate) enum Requested {
    Name(String),
    /// v10+ may name a topic by id alone: resolved against the names' hashes.
    Id(Uuid),
}

#[derive(Clone, Debug)]
pub(crate) struct MetadataPending {
    /// `None`: every topic.
    requested: Option<Vec<Requested>>,
}

/// The topic id of `name`: a version-8 (custom) UUID from two FNV-1a hashes of the name, the
/// same in every run, never Kafka's zero id.
pub fn topic_id(name: &str) -> Uuid {
    fn fnv(seed: u64, s: &str) -> u64 {
        s.bytes().fold(seed, |h, b| {
            (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3)
        })
    }
    let hi = fnv(0xcbf2_9ce4_8422_2325, name);
    let lo = fnv(0x6c62_272e_07bb_0142, name);
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&hi.to_be_bytes());
    b[8..].copy_from_slice(&lo.to_be_bytes());
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    Uuid::from_bytes(b)
}

pub(crate) fn decode(c: &mut Connection, req: MetadataRequest, version: i16) -> DecodeResult {
    let requested = match req.topics {
        None => None,
        // v0 has no null list: an empty one means every topic.
        Some(ts) if ts.is_empty() && version == 0 => None,
        Some(ts) => Some(
            ts.into_iter()
                .map(|t| match t.name {
                    Some(n) => Requested::Name(n.0.to_string()),
                    None => Requested::Id(t.topic_id),
                })
                .collect(),
        ),
    };
    Ok(Translated {
        messages: vec![Message::MetadataRequest {
            correlation: c.correlation(),
        }],
        state: State::Metadata(MetadataPending { requested }),
    })
}

/// The brokers a client is told about: registered, unfenced and with a listener.
pub(crate) fn listed(brokers: &[BrokerId], listeners: &Listeners) -> Vec<BrokerId> {
    let mut v: Vec<BrokerId> = brokers
        .iter()
        .copied()
        .filter(|b| listeners.ports.contains_key(b))
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

fn kb(b: BrokerId) -> KBrokerId {
    KBrokerId(i32::try_from(b).unwrap_or(i32::MAX))
}

pub(crate) fn encode(
    out: Out,
    p: &MetadataPending,
    responses: &[Message],
    listeners: &Listeners,
) -> Result<Vec<u8>, String> {
    let mut it = responses.iter();
    let m = next(&mut it, "MetadataResponse")?;
    let Message::MetadataResponse {
        partitions,
        brokers,
        ..
    } = m
    else {
        return Err(wrong("MetadataResponse", m));
    };
    let live = listed(brokers, listeners);
    let mut by_topic: BTreeMap<&str, Vec<&PartitionState>> = BTreeMap::new();
    for st in partitions {
        by_topic.entry(&st.tp.topic).or_default().push(st);
    }
    let topic = |name: &str, sts: &[&PartitionState]| {
        let mut sts = sts.to_vec();
        sts.sort_by_key(|s| s.tp.partition);
        MetadataResponseTopic::default()
            .with_name(Some(StrBytes::from_string(name.to_string()).into()))
            .with_topic_id(if out.version >= 10 {
                topic_id(name)
            } else {
                Uuid::nil()
            })
            .with_is_internal(name == OFFSETS_TOPIC)
            .with_partitions(sts.iter().map(|s| partition(s, &live)).collect())
    };
    let topics: Vec<MetadataResponseTopic> = match &p.requested {
        None => by_topic.iter().map(|(n, sts)| topic(n, sts)).collect(),
        Some(req) => req
            .iter()
            .map(|r| match r {
                Requested::Name(n) => match by_topic.get(n.as_str()) {
                    Some(sts) => topic(n, sts),
                    None => MetadataResponseTopic::default()
                        .with_error_code(errors::UNKNOWN_TOPIC_OR_PARTITION)
                        .with_name(Some(StrBytes::from_string(n.clone()).into())),
                },
                Requested::Id(id) => match by_topic.iter().find(|(n, _)| topic_id(n) == *id) {
                    Some((n, sts)) => topic(n, sts),
                    None => MetadataResponseTopic::default()
                        .with_error_code(ResponseError::UnknownTopicId.code())
                        .with_topic_id(*id),
                },
            })
            .collect(),
    };
    let mut r = MetadataResponse::default()
        .with_brokers(
            live.iter()
                .map(|b| {
                    MetadataResponseBroker::default()
                        .with_node_id(kb(*b))
                        .with_host(StrBytes::from_string(listeners.host.clone()))
                        .with_port(listeners.ports.get(b).copied().map_or(-1, i32::from))
                })
                .collect(),
        )
        .with_controller_id(live.first().map_or(KBrokerId(-1), |b| kb(*b)))
        .with_topics(topics);
    if out.version >= 2 {
        r.cluster_id = Some(StrBytes::from_string(listeners.cluster_id.clone()));
    }
    out.frame(ApiKey::Metadata, &r)
}

fn partition(st: &PartitionState, live: &[BrokerId]) -> MetadataResponsePartition {
    let leader = st.leader.filter(|l| live.contains(l));
    MetadataResponsePartition::default()
        .with_error_code(if leader.is_some() {
            errors::NONE
        } else {
            errors::LEADER_NOT_AVAILABLE
        })
        .with_partition_index(i32::try_from(st.tp.partition).unwrap_or(i32::MAX))
        .with_leader_id(leader.map_or(KBrokerId(-1), kb))
        .with_leader_epoch(i32::try_from(st.leader_epoch).unwrap_or(i32::MAX))
        .with_replica_nodes(st.replicas.iter().map(|b| kb(*b)).collect())
        .with_isr_nodes(st.isr.iter().map(|b| kb(*b)).collect())
        .with_offline_replicas(
            st.replicas
                .iter()
                .filter(|b| !live.contains(b))
                .map(|b| kb(*b))
                .collect(),
        )
}
