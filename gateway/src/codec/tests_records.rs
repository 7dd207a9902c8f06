//! Produce, Fetch, ListOffsets, OffsetForLeaderEpoch and InitProducerId driven as a client
//! drives them.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use kafka_protocol::indexmap::IndexMap;
use kafka_protocol::messages::fetch_request::{FetchPartition as KFetchPartition, FetchTopic};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::offset_for_leader_epoch_request::{
    OffsetForLeaderPartition, OffsetForLeaderTopic,
};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{
    Compression, Record as KRecord, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions,
    TimestampType,
};
use kafkascope_sim::config::Acks;
use kafkascope_sim::ids::TopicPartition;
use kafkascope_sim::log::{ProducerStamp, Record, RecordData};
use kafkascope_sim::protocol::{EpochEndOffset, ErrorCode, FetchedPartition, Message, OffsetSpec};

use super::tests::{listeners, name, reply, request, response, simulate};
use super::*;

// ---- Produce and Fetch ----

pub(crate) fn client_records(producer_id: i64, base_sequence: i32) -> Vec<KRecord> {
    let headers: IndexMap<StrBytes, Option<Bytes>> = [
        (
            StrBytes::from_static_str("trace"),
            Some(Bytes::from_static(b"\x00\x01")),
        ),
        (StrBytes::from_static_str("empty"), None),
    ]
    .into_iter()
    .collect();
    let rec = |i: i64, key: Option<&'static [u8]>, value: Option<&'static [u8]>| KRecord {
        transactional: false,
        control: false,
        delete_horizon: false,
        partition_leader_epoch: -1,
        producer_id,
        producer_epoch: if producer_id >= 0 { 0 } else { -1 },
        timestamp_type: TimestampType::Creation,
        offset: i,
        // Without a producer id, sequences that keep offset − sequence constant keep the
        // records in one batch (base sequence -1), as a client sends them.
        sequence: if producer_id >= 0 {
            base_sequence + i as i32
        } else {
            i as i32 - 1
        },
        timestamp: 1_700_000_000_000 + i,
        key: key.map(Bytes::from_static),
        value: value.map(Bytes::from_static),
        headers: if i == 0 {
            headers.clone()
        } else {
            IndexMap::new()
        },
    };
    vec![
        rec(0, Some(b"user-\xff"), Some(b"{\"n\":1}")),
        rec(1, None, Some(&[0, 159, 146, 150])),
        rec(2, Some(b"k"), None),
    ]
}

pub(crate) fn batch(records: &[KRecord]) -> Bytes {
    let mut buf = BytesMut::new();
    let opts = RecordEncodeOptions {
        version: 2,
        compression: Compression::None,
    };
    RecordBatchEncoder::encode(&mut buf, records.iter(), &opts).unwrap();
    buf.freeze()
}

pub(crate) fn produce_request(acks: i16, parts: Vec<(&str, i32, Option<Bytes>)>) -> ProduceRequest {
    let mut topics: Vec<TopicProduceData> = Vec::new();
    for (t, p, records) in parts {
        let data = PartitionProduceData::default()
            .with_index(p)
            .with_records(records);
        match topics.iter_mut().find(|x| x.name.0.as_str() == t) {
            Some(x) => x.partition_data.push(data),
            None => topics.push(
                TopicProduceData::default()
                    .with_name(name(t))
                    .with_partition_data(vec![data]),
            ),
        }
    }
    ProduceRequest::default()
        .with_acks(acks)
        .with_timeout_ms(30_000)
        .with_topic_data(topics)
}

/// What the simulation stores for a produce: offsets from `base`, the leader's epoch, and the
/// producer stamp of an idempotent batch.
fn stored(data: &[RecordData], base: u64, idem: Option<(u64, u16, u32)>) -> Vec<Record> {
    let n = data.len() as u32;
    data.iter()
        .enumerate()
        .map(|(i, d)| Record {
            offset: base + i as u64,
            leader_epoch: 3,
            data: d.clone(),
            producer: idem.map(|(id, epoch, seq)| ProducerStamp {
                producer_id: id,
                producer_epoch: epoch,
                sequence: seq + i as u32,
                batch_first: seq,
                batch_last: seq + n - 1,
                transactional: false,
            }),
            control: None,
        })
        .collect()
}

pub(crate) fn fetch_request(parts: Vec<(&str, i32, i64)>) -> FetchRequest {
    let topics = parts
        .into_iter()
        .map(|(t, p, offset)| {
            FetchTopic::default()
                .with_topic(name(t))
                .with_partitions(vec![KFetchPartition::default()
                    .with_partition(p)
                    .with_fetch_offset(offset)
                    .with_current_leader_epoch(-1)
                    .with_partition_max_bytes(1 << 20)])
        })
        .collect();
    FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_wait_ms(500)
        .with_min_bytes(1)
        .with_max_bytes(50 << 20)
        .with_topics(topics)
}

#[test]
fn produce_then_fetch_returns_the_exact_bytes() {
    let l = listeners();
    for (pv, fv) in [(3i16, 4i16), (7, 10), (9, 11), (12, 12)] {
        let mut c = Connection::new(7);
        let sent = client_records(42, 5);
        let req = produce_request(-1, vec![("orders", 0, Some(batch(&sent)))]);
        let (msgs, pending) = simulate(c.decode(&request(ApiKey::Produce, pv, 11, &req), 1234, &l));
        let [Message::Produce(p)] = &msgs[..] else {
            panic!("{msgs:?}")
        };
        assert_eq!(p.correlation, 1);
        assert_eq!(p.tp, TopicPartition::new("orders", 0));
        assert_eq!(p.acks, Acks::All);
        assert_eq!(p.timeout_ms, 30_000);
        let idem = p.idempotent.unwrap();
        assert_eq!(
            (idem.producer_id, idem.producer_epoch, idem.base_sequence),
            (42, 0, 5)
        );
        let labels: Vec<&str> = p.records.iter().map(|r| &*r.value).collect();
        assert_eq!(labels, ["c7-1", "c7-2", "c7-3"]);
        assert_eq!(p.records[0].key.as_deref(), Some("user-\u{fffd}"));
        assert_eq!(p.records[0].timestamp, 1234);
        assert_eq!(p.records[0].size, 6 + 7 + 10);
        let payload = p.records[0].payload.as_ref().unwrap();
        assert_eq!(payload.timestamp, 1_700_000_000_000);
        assert_eq!(payload.headers.len(), 2);

        let answer = Message::ProduceResponse {
            correlation: 1,
            tp: p.tp.clone(),
            error: None,
            base_offset: Some(10),
        };
        let f = c.encode(&pending, &[answer], &l).unwrap();
        let (corr, ResponseKind::Produce(r)) = response(ApiKey::Produce, pv, &f) else {
            panic!()
        };
        assert_eq!(corr, 11);
        let pr = &r.responses[0].partition_responses[0];
        assert_eq!(
            (
                pr.index,
                pr.error_code,
                pr.base_offset,
                pr.log_append_time_ms
            ),
            (0, 0, 10, -1)
        );

        // The log: a simulated producer's record, then the client's batch.
        let sim = RecordData {
            key: Some("k9".into()),
            value: "a-1".into(),
            timestamp: 77,
            size: 13,
            payload: None,
        };
        let mut log = stored(&[sim], 9, None);
        log.extend(stored(&p.records, 10, Some((42, 0, 5))));
        let (msgs, pending) = simulate(c.decode(
            &request(
                ApiKey::Fetch,
                fv,
                12,
                &fetch_request(vec![("orders", 0, 9)]),
            ),
            2000,
            &l,
        ));
        let [Message::Fetch(fr)] = &msgs[..] else {
            panic!()
        };
        assert_eq!(fr.correlation, 2);
        assert!(fr.replica.is_none());
        assert_eq!((fr.max_wait_ms, fr.min_bytes), (500, 1));
        assert_eq!(fr.partitions[0].fetch_offset, 9);
        assert_eq!(fr.partitions[0].current_leader_epoch, None);
        let answer = Message::FetchResponse {
            correlation: 2,
            partitions: vec![FetchedPartition {
                tp: TopicPartition::new("orders", 0),
                error: None,
                high_watermark: 13,
                log_end_offset: 13,
                log_start_offset: 0,
                records: log,
                aborted: Vec::new(),
                diverging_epoch: None,
                last_stable_offset: 13,
            }],
        };
        let f = c.encode(&pending, &[answer], &l).unwrap();
        let (_, ResponseKind::Fetch(r)) = response(ApiKey::Fetch, fv, &f) else {
            panic!()
        };
        let pd = &r.responses[0].partitions[0];
        assert_eq!(
            (pd.error_code, pd.high_watermark, pd.last_stable_offset),
            (0, 13, 13)
        );
        if fv >= 7 {
            assert_eq!(r.session_id, 0);
        }
        let mut raw = pd.records.clone().unwrap();
        let info = RecordBatchDecoder::decode_batch_info(&mut raw.clone()).unwrap();
        assert_eq!(info.len(), 2, "one batch per producer batch");
        assert_eq!(
            (
                info[1].producer_id,
                info[1].base_sequence,
                info[1].min_offset
            ),
            (42, 5, 10)
        );
        assert_eq!((info[0].producer_id, info[0].base_sequence), (-1, -1));
        assert_eq!(info[1].partition_leader_epoch, 3);
        let sets = RecordBatchDecoder::decode_all(&mut raw).unwrap();
        let got: Vec<&KRecord> = sets.iter().flat_map(|s| &s.records).collect();
        assert_eq!(got[0].key.as_deref(), Some(&b"k9"[..]));
        assert_eq!(got[0].value.as_deref(), Some(&b"a-1"[..]));
        assert_eq!(got[0].timestamp, 77);
        for (g, s) in got[1..].iter().zip(&sent) {
            assert_eq!(
                (&g.key, &g.value, &g.headers, g.timestamp),
                (&s.key, &s.value, &s.headers, s.timestamp)
            );
        }
        assert_eq!(got[3].offset, 12);
    }
}

/// A copy of `b` whose attributes say gzip, with the CRC recomputed.
fn as_gzip(b: &Bytes) -> Bytes {
    let mut v = b.to_vec();
    v[22] |= 1;
    let crc = crc32c::crc32c(&v[21..]);
    v[17..21].copy_from_slice(&crc.to_be_bytes());
    Bytes::from(v)
}

#[test]
fn produce_refusals_are_answered_here_and_joined() {
    let l = listeners();
    let mut c = Connection::new(2);
    let ok = batch(&client_records(-1, 0));
    let mut txn = client_records(9, 0);
    txn.iter_mut().for_each(|r| r.transactional = true);
    let req = produce_request(
        1,
        vec![
            ("orders", 0, Some(as_gzip(&ok))),
            ("orders", 1, Some(ok.clone())),
            ("audit", 0, Some(batch(&txn))),
            ("audit", 1, Some(Bytes::from_static(b"garbage"))),
            ("audit", 2, Some([ok.clone(), ok.clone()].concat().into())),
        ],
    );
    let (msgs, pending) = simulate(c.decode(&request(ApiKey::Produce, 9, 3, &req), 0, &l));
    let [Message::Produce(p)] = &msgs[..] else {
        panic!("{msgs:?}")
    };
    assert_eq!(p.acks, Acks::Leader);
    assert_eq!(p.idempotent, None);
    assert_eq!(p.tp.partition, 1);
    let answer = Message::ProduceResponse {
        correlation: p.correlation,
        tp: p.tp.clone(),
        error: Some(ErrorCode::NotEnoughReplicas),
        base_offset: None,
    };
    let f = c.encode(&pending, &[answer], &l).unwrap();
    let (_, ResponseKind::Produce(r)) = response(ApiKey::Produce, 9, &f) else {
        panic!()
    };
    let codes: Vec<(i32, i16)> = r
        .responses
        .iter()
        .flat_map(|t| {
            t.partition_responses
                .iter()
                .map(|p| (p.index, p.error_code))
        })
        .collect();
    assert_eq!(codes, [(0, 76), (1, 19), (0, 48), (1, 2), (2, 87)]);
    let note = c.note().unwrap();
    assert!(note.contains("orders-0") && note.contains("audit-1") && !note.contains("orders-1"));
    assert!(r.responses[0].partition_responses[0]
        .error_message
        .is_some());

    // Everything refused: answered at once.
    let req = produce_request(-1, vec![("orders", 0, Some(as_gzip(&ok)))]);
    let f = reply(c.decode(&request(ApiKey::Produce, 3, 4, &req), 0, &l));
    let (_, ResponseKind::Produce(r)) = response(ApiKey::Produce, 3, &f) else {
        panic!()
    };
    assert_eq!(r.responses[0].partition_responses[0].error_code, 76);
    let bad_acks = produce_request(2, vec![("orders", 0, Some(ok.clone()))]);
    let f = reply(c.decode(&request(ApiKey::Produce, 8, 5, &bad_acks), 0, &l));
    let (_, ResponseKind::Produce(r)) = response(ApiKey::Produce, 8, &f) else {
        panic!()
    };
    assert_eq!(r.responses[0].partition_responses[0].error_code, 21);
    // A transactional id: transactions are not modelled.
    let txn_req = produce_request(-1, vec![("orders", 0, Some(ok.clone()))])
        .with_transactional_id(Some(TransactionalId(StrBytes::from_static_str("tx"))));
    let f = reply(c.decode(&request(ApiKey::Produce, 9, 6, &txn_req), 0, &l));
    let (_, ResponseKind::Produce(r)) = response(ApiKey::Produce, 9, &f) else {
        panic!()
    };
    assert_eq!(r.responses[0].partition_responses[0].error_code, 48);
}

#[test]
fn acks_zero_sends_nothing_back_and_closes_on_refusal() {
    let l = listeners();
    let mut c = Connection::new(3);
    let ok = batch(&client_records(-1, 0));
    let req = produce_request(0, vec![("orders", 0, Some(ok.clone()))]);
    let (msgs, pending) = simulate(c.decode(&request(ApiKey::Produce, 7, 1, &req), 0, &l));
    let [Message::Produce(p)] = &msgs[..] else {
        panic!()
    };
    assert_eq!(p.acks, Acks::None);
    assert_eq!(c.encode(&pending, &[], &l), None);
    let req = produce_request(0, vec![("orders", 0, Some(as_gzip(&ok)))]);
    assert!(matches!(
        c.decode(&request(ApiKey::Produce, 7, 2, &req), 0, &l),
        Decoded::Close(_)
    ));
}

#[test]
fn followers_and_fetch_sessions_are_refused() {
    let l = listeners();
    let mut c = Connection::new(1);
    let follower = fetch_request(vec![("orders", 0, 0)]).with_replica_id(BrokerId(2));
    assert!(matches!(
        c.decode(&request(ApiKey::Fetch, 11, 1, &follower), 0, &l),
        Decoded::Close(_)
    ));
    let session = fetch_request(vec![("orders", 0, 0)])
        .with_session_id(77)
        .with_session_epoch(3);
    let f = reply(c.decode(&request(ApiKey::Fetch, 12, 2, &session), 0, &l));
    let (_, ResponseKind::Fetch(r)) = response(ApiKey::Fetch, 12, &f) else {
        panic!()
    };
    assert_eq!(r.error_code, 70);
    // A negative offset is answered here; the other partition goes to the simulation.
    let mixed = fetch_request(vec![("orders", 0, -5), ("orders", 1, 0)]);
    let (msgs, pending) = simulate(c.decode(&request(ApiKey::Fetch, 12, 3, &mixed), 0, &l));
    let [Message::Fetch(fr)] = &msgs[..] else {
        panic!()
    };
    assert_eq!(fr.partitions.len(), 1);
    let answer = Message::FetchResponse {
        correlation: fr.correlation,
        partitions: vec![FetchedPartition {
            tp: TopicPartition::new("orders", 1),
            error: Some(ErrorCode::FencedLeaderEpoch),
            high_watermark: 0,
            log_end_offset: 0,
            log_start_offset: 0,
            records: Vec::new(),
            aborted: Vec::new(),
            diverging_epoch: None,
            last_stable_offset: 0,
        }],
    };
    let f = c.encode(&pending, &[answer], &l).unwrap();
    let (_, ResponseKind::Fetch(r)) = response(ApiKey::Fetch, 12, &f) else {
        panic!()
    };
    let codes: Vec<i16> = r
        .responses
        .iter()
        .map(|t| t.partitions[0].error_code)
        .collect();
    assert_eq!(codes, [1, 74]);
}

#[test]
fn list_offsets_answers_latest_and_earliest_and_refuses_lookups_by_time() {
    let l = listeners();
    for v in [1i16, 4, 7, 10] {
        let mut c = Connection::new(1);
        let part = |p, ts| {
            ListOffsetsPartition::default()
                .with_partition_index(p)
                .with_timestamp(ts)
                .with_current_leader_epoch(if v >= 4 { 3 } else { -1 })
        };
        let req = ListOffsetsRequest::default()
            .with_replica_id(BrokerId(-1))
            .with_topics(vec![ListOffsetsTopic::default()
                .with_name(name("orders"))
                .with_partitions(vec![
                    part(0, -1),
                    part(1, -2),
                    part(2, 1_700_000_000_000),
                ])]);
        let (msgs, pending) = simulate(c.decode(&request(ApiKey::ListOffsets, v, 1, &req), 0, &l));
        let [Message::ListOffsets {
            partitions,
            correlation,
        }] = &msgs[..]
        else {
            panic!()
        };
        let epoch = if v >= 4 { Some(3) } else { None };
        assert_eq!(
            partitions,
            &vec![
                (TopicPartition::new("orders", 0), epoch, OffsetSpec::Latest),
                (
                    TopicPartition::new("orders", 1),
                    epoch,
                    OffsetSpec::Earliest
                ),
            ]
        );
        let answer = Message::ListOffsetsResponse {
            correlation: *correlation,
            partitions: vec![
                (TopicPartition::new("orders", 0), Ok(40)),
                (
                    TopicPartition::new("orders", 1),
                    Err(ErrorCode::NotLeaderOrFollower),
                ),
            ],
        };
        let f = c.encode(&pending, &[answer], &l).unwrap();
        let (_, ResponseKind::ListOffsets(r)) = response(ApiKey::ListOffsets, v, &f) else {
            panic!()
        };
        let got: Vec<(i16, i64)> = r.topics[0]
            .partitions
            .iter()
            .map(|p| (p.error_code, p.offset))
            .collect();
        assert_eq!(got, [(0, 40), (6, -1), (43, -1)], "v{v}");
    }
}

#[test]
fn offset_for_leader_epoch_translates_undefined_ends() {
    let l = listeners();
    let mut c = Connection::new(1);
    let req = OffsetForLeaderEpochRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_topics(vec![OffsetForLeaderTopic::default()
            .with_topic(name("orders"))
            .with_partitions(vec![
                OffsetForLeaderPartition::default()
                    .with_partition(0)
                    .with_current_leader_epoch(4)
                    .with_leader_epoch(2),
                OffsetForLeaderPartition::default()
                    .with_partition(1)
                    .with_current_leader_epoch(-1)
                    .with_leader_epoch(1),
            ])]);
    let (msgs, pending) =
        simulate(c.decode(&request(ApiKey::OffsetForLeaderEpoch, 4, 1, &req), 0, &l));
    let [Message::OffsetsForLeaderEpoch { partitions, .. }] = &msgs[..] else {
        panic!()
    };
    assert_eq!(partitions[0].current_leader_epoch, Some(4));
    assert_eq!(partitions[1].current_leader_epoch, None);
    let answer = Message::OffsetsForLeaderEpochResponse {
        correlation: 1,
        partitions: vec![
            EpochEndOffset {
                tp: TopicPartition::new("orders", 0),
                error: None,
                end: Some((2, 17)),
            },
            EpochEndOffset {
                tp: TopicPartition::new("orders", 1),
                error: None,
                end: None,
            },
        ],
    };
    let f = c.encode(&pending, &[answer], &l).unwrap();
    let (_, ResponseKind::OffsetForLeaderEpoch(r)) = response(ApiKey::OffsetForLeaderEpoch, 4, &f)
    else {
        panic!()
    };
    let got: Vec<(i32, i64)> = r.topics[0]
        .partitions
        .iter()
        .map(|p| (p.leader_epoch, p.end_offset))
        .collect();
    assert_eq!(got, [(2, 17), (-1, -1)]);
    let follower = req.with_replica_id(BrokerId(1));
    assert!(matches!(
        c.decode(
            &request(ApiKey::OffsetForLeaderEpoch, 3, 2, &follower),
            0,
            &l
        ),
        Decoded::Close(_)
    ));
}

#[test]
fn init_producer_id_without_and_with_a_transactional_id() {
    let l = listeners();
    let mut c = Connection::new(1);
    let (msgs, pending) = simulate(
        c.decode(
            &request(
                ApiKey::InitProducerId,
                4,
                1,
                &InitProducerIdRequest::default()
                    .with_transactional_id(None)
                    .with_producer_id(ProducerId(-1))
                    .with_producer_epoch(-1),
            ),
            0,
            &l,
        ),
    );
    assert!(matches!(
        msgs[..],
        [Message::InitProducerId {
            correlation: 1,
            transactional_id: None,
            ..
        }]
    ));
    let answer = Message::InitProducerIdResponse {
        correlation: 1,
        result: Ok((1000, 0)),
    };
    let f = c.encode(&pending, &[answer], &l).unwrap();
    let (_, ResponseKind::InitProducerId(r)) = response(ApiKey::InitProducerId, 4, &f) else {
        panic!()
    };
    assert_eq!(
        (r.error_code, r.producer_id.0, r.producer_epoch),
        (0, 1000, 0)
    );
    let txn = InitProducerIdRequest::default()
        .with_transactional_id(Some(TransactionalId(StrBytes::from_static_str("tx-1"))))
        .with_transaction_timeout_ms(60_000);
    let f = reply(c.decode(&request(ApiKey::InitProducerId, 1, 2, &txn), 0, &l));
    let (_, ResponseKind::InitProducerId(r)) = response(ApiKey::InitProducerId, 1, &f) else {
        panic!()
    };
    assert_eq!((r.error_code, r.producer_id.0), (53, -1));
    assert!(c.note().unwrap().contains("transactions are not modelled"));
}

#[test]
fn records_stay_payload_exact_through_encode_records() {
    let data = RecordData {
        key: None,
        value: "c1-1".into(),
        timestamp: 5,
        size: 10,
        payload: Some(Arc::new(kafkascope_sim::payload::Payload {
            key: None,
            value: None,
            headers: Vec::new(),
            timestamp: -1,
        })),
    };
    let recs = stored(&[data.clone(), data], 0, None);
    let mut raw = fetch::encode_records(&recs).unwrap();
    let sets = RecordBatchDecoder::decode_all(&mut raw).unwrap();
    assert_eq!(
        sets.len(),
        1,
        "non-idempotent records of one epoch share a batch"
    );
    assert_eq!(sets[0].records.len(), 2);
    assert!(sets[0]
        .records
        .iter()
        .all(|r| r.key.is_none() && r.value.is_none()));
}
