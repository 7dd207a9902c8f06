//! The codec driven as a client drives it: requests encoded with kafka-protocol's client side,
//! the simulation's answers encoded and decoded back with kafka-protocol's `ResponseKind`.

use std::collections::BTreeMap;

use bytes::{Buf, Bytes, BytesMut};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use kafkascope_sim::ids::TopicPartition;
use kafkascope_sim::protocol::{ErrorCode, Message, PartitionState};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::tests_records::{batch, client_records, fetch_request, produce_request};
use super::*;

pub(crate) fn listeners() -> Listeners {
    Listeners {
        host: "127.0.0.1".into(),
        ports: BTreeMap::from([(1, 19092), (2, 19093), (3, 19094)]),
        cluster_id: "kafkascope-test".into(),
    }
}

/// A request frame without its length prefix, as the server hands it to `decode`.
pub(crate) fn request<T: Encodable>(
    key: ApiKey,
    version: i16,
    correlation: i32,
    body: &T,
) -> Vec<u8> {
    let mut buf = BytesMut::new();
    RequestHeader::default()
        .with_request_api_key(key as i16)
        .with_request_api_version(version)
        .with_correlation_id(correlation)
        .with_client_id(Some(StrBytes::from_static_str("test-client")))
        .encode(&mut buf, key.request_header_version(version))
        .unwrap();
    body.encode(&mut buf, version).unwrap();
    buf.to_vec()
}

/// Decodes a response frame (with its length prefix) as a client does.
pub(crate) fn response(key: ApiKey, version: i16, frame: &[u8]) -> (i32, ResponseKind) {
    let mut buf = Bytes::copy_from_slice(frame);
    let len = buf.get_i32();
    assert_eq!(len as usize, buf.len(), "length prefix");
    let header = ResponseHeader::decode(&mut buf, key.response_header_version(version)).unwrap();
    let body = ResponseKind::decode(key, &mut buf, version).unwrap();
    assert!(
        buf.is_empty(),
        "{key:?} v{version}: {} bytes left over",
        buf.len()
    );
    (header.correlation_id, body)
}

pub(crate) fn simulate(d: Decoded) -> (Vec<Message>, Pending) {
    match d {
        Decoded::Simulate { messages, pending } => (messages, pending),
        other => panic!("expected Simulate, got {other:?}"),
    }
}

pub(crate) fn reply(d: Decoded) -> Vec<u8> {
    match d {
        Decoded::Reply(f) => f,
        other => panic!("expected Reply, got {other:?}"),
    }
}

pub(crate) fn name(s: &str) -> TopicName {
    TopicName(StrBytes::from_string(s.to_string()))
}

// ---- ApiVersions and the connection ----

fn api_versions(version: i16) -> ApiVersionsResponse {
    let mut c = Connection::new(1);
    let body = ApiVersionsRequest::default()
        .with_client_software_name(StrBytes::from_static_str("librdkafka"))
        .with_client_software_version(StrBytes::from_static_str("2.6.1"));
    let f = reply(c.decode(
        &request(ApiKey::ApiVersions, version, 7, &body),
        0,
        &listeners(),
    ));
    let (corr, r) = response(ApiKey::ApiVersions, version, &f);
    assert_eq!(corr, 7);
    assert_eq!(c.client_id(), Some("test-client"));
    match r {
        ResponseKind::ApiVersions(r) => r,
        other => panic!("{other:?}"),
    }
}

#[test]
fn api_versions_advertise_what_librdkafka_and_kafka_python_need() {
    for v in 0..=4 {
        let r = api_versions(v);
        assert_eq!(r.error_code, 0);
        let ranges: BTreeMap<i16, (i16, i16)> = r
            .api_keys
            .iter()
            .map(|a| (a.api_key, (a.min_version, a.max_version)))
            .collect();
        let has = |k: ApiKey, v: i16| {
            let (lo, hi) = ranges[&(k as i16)];
            lo <= v && v <= hi
        };
        // librdkafka's MsgVer2 feature: Produce v3 and Fetch v4.
        assert!(has(ApiKey::Produce, 3) && has(ApiKey::Fetch, 4));
        // kafka-python 3.0 infers the broker version from ListOffsets v10 (4.0).
        assert!(has(ApiKey::ListOffsets, 10));
        assert!(has(ApiKey::Metadata, 12) && !has(ApiKey::Fetch, 13));
        // librdkafka's feature map (rdkafka_feature.c): each dependency must overlap.
        let overlaps = |k: ApiKey, lo: i16, hi: i16| {
            let (a, b) = ranges[&(k as i16)];
            lo <= b && a <= hi
        };
        let balanced_consumer = [
            (ApiKey::FindCoordinator, 0, 0),
            (ApiKey::OffsetCommit, 1, 2),
            (ApiKey::OffsetFetch, 1, 1),
            (ApiKey::JoinGroup, 0, 0),
            (ApiKey::SyncGroup, 0, 0),
            (ApiKey::Heartbeat, 0, 0),
            (ApiKey::LeaveGroup, 0, 0),
        ];
        assert!(balanced_consumer
            .iter()
            .all(|(k, lo, hi)| overlaps(*k, *lo, *hi)));
        assert!(overlaps(ApiKey::InitProducerId, 0, 0)); // IdempotentProducer
        assert!(overlaps(ApiKey::ListOffsets, 1, 1)); // OffsetTime
        assert!(overlaps(ApiKey::ApiVersions, 0, 0));
        for (key, range) in versions::SUPPORTED {
            let (lo, hi) = ranges[&(*key as i16)];
            assert_eq!((lo, hi), (*range.start(), *range.end()));
            let valid = key.valid_versions();
            assert!(
                valid.min <= lo && hi <= valid.max,
                "{key:?} beyond kafka-protocol"
            );
        }
    }
}

#[test]
fn a_too_new_api_versions_gets_error_35_at_v0() {
    let mut c = Connection::new(1);
    // A v9 body we cannot parse: only the header is read, as Kafka does.
    let mut frame = request(ApiKey::ApiVersions, 4, 42, &ApiVersionsRequest::default());
    frame[2..4].copy_from_slice(&9i16.to_be_bytes());
    frame.extend_from_slice(&[1, 2, 3]);
    let f = reply(c.decode(&frame, 0, &listeners()));
    let (corr, r) = response(ApiKey::ApiVersions, 0, &f);
    assert_eq!(corr, 42);
    let ResponseKind::ApiVersions(r) = r else {
        panic!()
    };
    assert_eq!(r.error_code, 35);
    assert_eq!(r.api_keys.len(), 1);
    assert_eq!(
        (
            r.api_keys[0].api_key,
            r.api_keys[0].min_version,
            r.api_keys[0].max_version
        ),
        (18, 0, 4)
    );
}

#[test]
fn unknown_keys_unsupported_versions_and_short_frames_close() {
    let mut c = Connection::new(1);
    let l = listeners();
    let close = |d: Decoded| match d {
        Decoded::Close(why) => why,
        other => panic!("expected Close, got {other:?}"),
    };
    let mut unknown = request(ApiKey::Metadata, 1, 1, &MetadataRequest::default());
    unknown[0..2].copy_from_slice(&999i16.to_be_bytes());
    assert!(close(c.decode(&unknown, 0, &l)).contains("unknown API key 999"));
    // Frames encoded at a version kafka-protocol knows, then relabelled.
    let relabel = |mut f: Vec<u8>, v: i16| {
        f[2..4].copy_from_slice(&v.to_be_bytes());
        f
    };
    let old = relabel(
        request(ApiKey::Produce, 3, 1, &ProduceRequest::default()),
        2,
    );
    assert!(close(c.decode(&old, 0, &l)).contains("Produce v2"));
    let topic_ids = relabel(request(ApiKey::Fetch, 12, 1, &FetchRequest::default()), 13);
    assert!(close(c.decode(&topic_ids, 0, &l)).contains("Fetch v13"));
    let list_groups = request(ApiKey::ListGroups, 3, 1, &ListGroupsRequest::default());
    assert!(close(c.decode(&list_groups, 0, &l)).contains("ListGroups"));
    assert!(close(c.decode(&[0, 3, 0], 0, &l)).contains("malformed request header"));
    let mut truncated = request(ApiKey::Metadata, 4, 1, &MetadataRequest::default());
    truncated.truncate(truncated.len() - 2);
    assert!(close(c.decode(&truncated, 0, &l)).contains("Metadata v4"));
}

#[test]
fn error_codes_are_kafkas_numbers() {
    use super::errors::code;
    // Numbers from Kafka's Errors.java.
    assert_eq!(code(ErrorCode::OffsetOutOfRange), 1);
    assert_eq!(code(ErrorCode::UnknownTopicOrPartition), 3);
    assert_eq!(code(ErrorCode::NotLeaderOrFollower), 6);
    assert_eq!(code(ErrorCode::RequestTimedOut), 7);
    assert_eq!(code(ErrorCode::NetworkException), 13);
    assert_eq!(code(ErrorCode::CoordinatorNotAvailable), 15);
    assert_eq!(code(ErrorCode::NotCoordinator), 16);
    assert_eq!(code(ErrorCode::NotEnoughReplicas), 19);
    assert_eq!(code(ErrorCode::NotEnoughReplicasAfterAppend), 20);
    assert_eq!(code(ErrorCode::IllegalGeneration), 22);
    assert_eq!(code(ErrorCode::UnknownMemberId), 25);
    assert_eq!(code(ErrorCode::RebalanceInProgress), 27);
    assert_eq!(code(ErrorCode::NotController), 41);
    assert_eq!(code(ErrorCode::InvalidRequest), 42);
    assert_eq!(code(ErrorCode::OutOfOrderSequenceNumber), 45);
    assert_eq!(code(ErrorCode::FencedLeaderEpoch), 74);
    assert_eq!(code(ErrorCode::UnknownLeaderEpoch), 75);
    assert_eq!(code(ErrorCode::StaleBrokerEpoch), 77);
    assert_eq!(code(ErrorCode::OffsetNotAvailable), 78);
    assert_eq!(code(ErrorCode::InvalidUpdateVersion), 95);
    assert_eq!(code(ErrorCode::DuplicateBrokerRegistration), 101);
    assert_eq!(code(ErrorCode::IneligibleReplica), 107);
    assert_eq!(super::errors::UNSUPPORTED_COMPRESSION_TYPE, 76);
    assert_eq!(super::errors::UNSUPPORTED_FOR_MESSAGE_FORMAT, 43);
    assert_eq!(super::errors::INVALID_TXN_STATE, 48);
    assert_eq!(super::errors::TRANSACTIONAL_ID_AUTHORIZATION_FAILED, 53);
}

// ---- Metadata ----

fn cluster() -> Message {
    let st = |topic: &str, p, leader, replicas: Vec<u32>| PartitionState {
        tp: TopicPartition::new(topic, p),
        isr: replicas.clone(),
        replicas,
        leader,
        leader_epoch: 3,
        partition_epoch: 5,
        elr: Vec::new(),
    };
    Message::MetadataResponse {
        correlation: 1,
        partitions: vec![
            st("orders", 1, Some(2), vec![2, 3]),
            st("orders", 0, Some(1), vec![1, 2]),
            st("__consumer_offsets", 0, Some(3), vec![3, 1]),
            st("audit", 0, Some(4), vec![4, 1]),
        ],
        // Broker 4 is registered but has no listener: not listed.
        brokers: vec![3, 1, 2, 4],
    }
}

#[test]
fn metadata_lists_brokers_topics_and_partitions_at_every_version() {
    let l = listeners();
    for v in [0i16, 1, 4, 5, 7, 9, 10, 12] {
        let mut c = Connection::new(1);
        let all = if v == 0 {
            MetadataRequest::default().with_topics(Some(Vec::new()))
        } else {
            MetadataRequest::default().with_topics(None)
        };
        let (msgs, pending) = simulate(c.decode(&request(ApiKey::Metadata, v, 5, &all), 0, &l));
        assert!(matches!(
            msgs[..],
            [Message::MetadataRequest { correlation: 1 }]
        ));
        assert_eq!(c.note(), None);
        let f = c.encode(&pending, &[cluster()], &l).unwrap();
        let (corr, ResponseKind::Metadata(r)) = response(ApiKey::Metadata, v, &f) else {
            panic!()
        };
        assert_eq!(corr, 5);
        let ids: Vec<i32> = r.brokers.iter().map(|b| b.node_id.0).collect();
        assert_eq!(ids, vec![1, 2, 3], "v{v}");
        assert_eq!(r.brokers[1].port, 19093);
        if v >= 1 {
            assert_eq!(r.controller_id.0, 1);
        }
        if v >= 2 {
            assert_eq!(r.cluster_id.as_deref(), Some("kafkascope-test"));
        }
        let names: Vec<&str> = r
            .topics
            .iter()
            .map(|t| t.name.as_ref().unwrap().0.as_str())
            .collect();
        assert_eq!(names, vec!["__consumer_offsets", "audit", "orders"]);
        if v >= 1 {
            assert!(r.topics[0].is_internal && !r.topics[2].is_internal);
        }
        let audit = &r.topics[1].partitions[0];
        assert_eq!((audit.leader_id.0, audit.error_code), (-1, 5));
        let orders = &r.topics[2];
        assert_eq!(orders.partitions[0].partition_index, 0);
        assert_eq!(orders.partitions[1].leader_id.0, 2);
        if v >= 5 {
            assert_eq!(
                audit
                    .offline_replicas
                    .iter()
                    .map(|b| b.0)
                    .collect::<Vec<_>>(),
                [4]
            );
        }
        if v >= 7 {
            assert_eq!(orders.partitions[1].leader_epoch, 3);
        }
        if v >= 10 {
            assert_eq!(orders.topic_id, metadata::topic_id("orders"));
            assert!(!orders.topic_id.is_nil());
        }
    }
}

#[test]
fn metadata_for_named_topics_has_no_auto_creation() {
    let l = listeners();
    let mut c = Connection::new(1);
    let want = MetadataRequest::default()
        .with_topics(Some(vec![
            MetadataRequestTopic::default().with_name(Some(name("missing"))),
            MetadataRequestTopic::default().with_name(Some(name("orders"))),
        ]))
        .with_allow_auto_topic_creation(true);
    let (_, pending) = simulate(c.decode(&request(ApiKey::Metadata, 9, 1, &want), 0, &l));
    let f = c.encode(&pending, &[cluster()], &l).unwrap();
    let (_, ResponseKind::Metadata(r)) = response(ApiKey::Metadata, 9, &f) else {
        panic!()
    };
    assert_eq!(r.topics.len(), 2);
    assert_eq!(r.topics[0].error_code, 3);
    assert_eq!(r.topics[1].partitions.len(), 2);
    // Ids are the same in every run and differ between names.
    assert_eq!(metadata::topic_id("orders"), metadata::topic_id("orders"));
    assert_ne!(metadata::topic_id("orders"), metadata::topic_id("audit"));
}

// ---- Fuzz ----

/// Valid frames of every served API, for mutation.
fn corpus() -> Vec<Vec<u8>> {
    let ok = batch(&client_records(42, 0));
    let mut v = vec![
        request(ApiKey::ApiVersions, 3, 1, &ApiVersionsRequest::default()),
        request(
            ApiKey::Metadata,
            12,
            1,
            &MetadataRequest::default().with_topics(Some(vec![
                MetadataRequestTopic::default().with_name(Some(name("orders")))
            ])),
        ),
        request(
            ApiKey::Metadata,
            1,
            1,
            &MetadataRequest::default().with_topics(None),
        ),
        request(
            ApiKey::Produce,
            3,
            1,
            &produce_request(-1, vec![("orders", 0, Some(ok.clone()))]),
        ),
        request(
            ApiKey::Produce,
            9,
            1,
            &produce_request(1, vec![("orders", 0, Some(ok.clone())), ("a", 1, None)]),
        ),
        request(ApiKey::Fetch, 4, 1, &fetch_request(vec![("orders", 0, 3)])),
        request(
            ApiKey::Fetch,
            12,
            1,
            &fetch_request(vec![("orders", 0, 3), ("b", 2, 0)]),
        ),
        request(
            ApiKey::InitProducerId,
            2,
            1,
            &InitProducerIdRequest::default().with_transactional_id(None),
        ),
    ];
    v.extend(super::tests_group::corpus());
    v
}

#[test]
fn fuzzed_frames_never_panic() {
    let l = listeners();
    let mut rng = ChaCha8Rng::seed_from_u64(0x006b_6166_6b61);
    let corpus = corpus();
    let mut c = Connection::new(9);
    let mut seen = [0usize; 3];
    for i in 0..40_000 {
        let frame: Vec<u8> = match i % 4 {
            3 => {
                // Anything at all.
                let n = rng.gen_range(0..64);
                (0..n).map(|_| rng.gen::<u8>()).collect()
            }
            0 => {
                // Random bytes after a real API key and a version near its range.
                let (key, range) =
                    &versions::SUPPORTED[rng.gen_range(0..versions::SUPPORTED.len())];
                let mut f = Vec::new();
                f.extend_from_slice(&(*key as i16).to_be_bytes());
                let v = rng.gen_range(range.start() - 1..=range.end() + 1);
                f.extend_from_slice(&v.to_be_bytes());
                let n = rng.gen_range(0..120);
                f.extend((0..n).map(|_| rng.gen::<u8>()));
                f
            }
            _ => {
                let mut f = corpus[rng.gen_range(0..corpus.len())].clone();
                for _ in 0..rng.gen_range(1..6) {
                    match rng.gen_range(0..5) {
                        0 if !f.is_empty() => {
                            let at = rng.gen_range(0..f.len());
                            f[at] ^= 1 << rng.gen_range(0..8);
                        }
                        1 if !f.is_empty() => {
                            let at = rng.gen_range(0..f.len());
                            f[at] = rng.gen();
                        }
                        2 => {
                            let at = rng.gen_range(0..=f.len());
                            f.truncate(at);
                        }
                        3 => {
                            let at = rng.gen_range(0..=f.len());
                            f.insert(at, rng.gen());
                        }
                        _ if f.len() > 8 => {
                            // A plausible small length or count somewhere.
                            let at = rng.gen_range(4..f.len() - 3);
                            f[at..at + 4].copy_from_slice(&rng.gen_range(-2i32..40).to_be_bytes());
                        }
                        _ => {}
                    }
                }
                f
            }
        };
        match c.decode(&frame, i as u64, &l) {
            Decoded::Reply(r) => {
                assert!(r.len() >= 8);
                seen[0] += 1;
            }
            Decoded::Simulate { pending, .. } => {
                // Missing answers are an error, never a panic.
                let _ = c.try_encode(&pending, &[], &l);
                let _ = c.try_encode(&pending, &[Message::Disconnected], &l);
                seen[1] += 1;
            }
            Decoded::Close(why) => {
                assert!(!why.is_empty());
                seen[2] += 1;
            }
        }
    }
    // The mutations reach every outcome.
    assert!(seen.iter().all(|n| *n > 100), "{seen:?}");
}
