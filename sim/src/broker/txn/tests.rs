//! The transaction coordinator and the partition side of transactions, driven message by
//! message on one broker that leads `__transaction_state-0` and `payments-0` alone (so every
//! append is at once below the HW).

use std::collections::BTreeMap;

use super::*;
use crate::broker::{BrokerDisk, BrokerSetup, TruncationMode};
use crate::config::{BrokerConfig, ClusterFeatures, IsolationLevel};
use crate::log::{ControlType, RecordData};
use crate::protocol::{
    FetchPartition, FetchRequest, FetchedPartition, IdempotentBatch, PartitionState, ProduceRequest,
};

const CLIENT: NodeId = NodeId::Producer(0);
const ME: NodeId = NodeId::Broker(1);

fn payments() -> TopicPartition {
    TopicPartition::new("payments", 0)
}

fn broker(features: ClusterFeatures, config: BrokerConfig) -> Broker {
    let mut fx = Effects::default();
    let setup = BrokerSetup {
        id: 1,
        config,
        topic_overrides: BTreeMap::new(),
        truncation: TruncationMode::LeaderEpoch,
        features,
        disk: BrokerDisk::default(),
    };
    let mut b = Broker::start(setup, 0, &mut fx);
    b.broker_epoch = Some(1);
    let st = |tp| PartitionState::led_by(tp, Some(1), 0);
    let mut fx = Effects::default();
    b.handle_message(
        0,
        NodeId::Controller,
        Message::MetadataUpdate {
            metadata_version: 2,
            partitions: vec![
                st(TopicPartition::new(TXN_STATE_TOPIC, 0)),
                st(TopicPartition::new(crate::ids::OFFSETS_TOPIC, 0)),
                st(payments()),
            ],
            brokers: crate::broker::registered(&[1]),
        },
        &mut fx,
    );
    b
}

/// Delivers `msg`, then every message the broker sends itself, until none is left; returns
/// what went elsewhere, and the events.
fn deliver(b: &mut Broker, now: Millis, from: NodeId, msg: Message) -> (Vec<Message>, Vec<Event>) {
    let mut queue = vec![(from, msg)];
    let (mut out, mut events) = (Vec::new(), Vec::new());
    while let Some((from, msg)) = queue.pop() {
        let mut fx = Effects::default();
        b.handle_message(now, from, msg, &mut fx);
        events.extend(fx.events);
        for (to, m) in fx.sends {
            if to == ME {
                queue.insert(0, (ME, m));
            } else {
                out.push(m);
            }
        }
    }
    (out, events)
}

fn init(b: &mut Broker, now: Millis) -> Result<(u64, u16), ErrorCode> {
    let (out, _) = deliver(
        b,
        now,
        CLIENT,
        Message::InitProducerId {
            correlation: 1,
            transactional_id: Some("pay-1".into()),
            transaction_timeout_ms: 10_000,
        },
    );
    match out.as_slice() {
        [Message::InitProducerIdResponse { result, .. }] => *result,
        other => panic!("one InitProducerIdResponse expected, got {other:?}"),
    }
}

fn produce(
    b: &mut Broker,
    now: Millis,
    pid: u64,
    epoch: u16,
    seq: u32,
    v: &str,
) -> Option<ErrorCode> {
    let (out, _) = deliver(
        b,
        now,
        CLIENT,
        Message::Produce(ProduceRequest {
            correlation: 2,
            tp: payments(),
            acks: crate::config::Acks::All,
            timeout_ms: 5_000,
            records: vec![RecordData {
                key: None,
                value: v.into(),
                timestamp: now,
                size: 10,
                payload: None,
            }],
            idempotent: Some(IdempotentBatch {
                producer_id: pid,
                producer_epoch: epoch,
                base_sequence: seq,
            }),
            transactional_id: Some("pay-1".into()),
        }),
    );
    match out.as_slice() {
        [Message::ProduceResponse { error, .. }] => *error,
        other => panic!("one ProduceResponse expected, got {other:?}"),
    }
}

fn end(b: &mut Broker, now: Millis, pid: u64, epoch: u16, commit: bool) -> (Message, Vec<Event>) {
    let (mut out, events) = deliver(
        b,
        now,
        CLIENT,
        Message::EndTxn {
            correlation: 3,
            transactional_id: "pay-1".into(),
            producer_id: pid,
            producer_epoch: epoch,
            commit,
        },
    );
    assert_eq!(out.len(), 1, "{out:?}");
    (out.remove(0), events)
}

fn states(events: &[Event]) -> Vec<(TxnState, u16)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::TxnStateChanged {
                state,
                producer_epoch,
                ..
            } => Some((*state, *producer_epoch)),
            _ => None,
        })
        .collect()
}

fn fetch(b: &mut Broker, isolation: IsolationLevel) -> FetchedPartition {
    let (mut out, _) = deliver(
        b,
        50_000,
        NodeId::Consumer(0),
        Message::Fetch(FetchRequest {
            replica: None,
            correlation: 9,
            max_wait_ms: 0,
            min_bytes: 1,
            partitions: vec![FetchPartition {
                tp: payments(),
                fetch_offset: 0,
                current_leader_epoch: None,
                last_fetched_epoch: None,
            }],
            isolation,
        }),
    );
    match out.pop() {
        Some(Message::FetchResponse { mut partitions, .. }) => partitions.remove(0),
        other => panic!("a FetchResponse expected, got {other:?}"),
    }
}

/// transaction.version 2: the leader adds the partition on the first write, EndTxn bumps the
/// epoch and answers with it, the marker carries it, and a late write of the finished
/// transaction is fenced at the partition.
#[test]
fn a_committed_transaction_bumps_the_epoch_and_fences_its_late_writes() {
    let mut b = broker(ClusterFeatures::default(), BrokerConfig::default());
    let (pid, epoch) = init(&mut b, 0).expect("a producer id");
    assert_eq!(epoch, 0);
    assert_eq!(produce(&mut b, 10, pid, epoch, 0, "m1"), None);
    let (resp, events) = end(&mut b, 20, pid, epoch, true);
    assert_eq!(
        resp,
        Message::EndTxnResponse {
            correlation: 3,
            error: None,
            producer_epoch: Some(1)
        }
    );
    assert_eq!(
        states(&events),
        vec![(TxnState::PrepareCommit, 1), (TxnState::CompleteCommit, 1)]
    );
    let marker = b.replicas[&payments()].log.get(1).expect("the marker");
    assert_eq!(marker.control, Some(ControlType::Commit));
    assert_eq!(marker.producer.map(|p| p.producer_epoch), Some(1));
    assert_eq!(
        produce(&mut b, 30, pid, epoch, 1, "late"),
        Some(ErrorCode::InvalidProducerEpoch),
        "a write of the finished transaction"
    );
    // The next transaction, in the new epoch, starts its sequences at 0.
    assert_eq!(produce(&mut b, 40, pid, 1, 0, "m2"), None);
}

/// A second initTransactions() with the same transactional.id fences the first producer: its
/// open transaction is aborted with a bumped epoch, the new one retries until that is done.
#[test]
fn a_new_producer_fences_the_old_one_and_aborts_its_transaction() {
    let mut b = broker(ClusterFeatures::default(), BrokerConfig::default());
    let (pid, epoch) = init(&mut b, 0).expect("a producer id");
    assert_eq!(produce(&mut b, 10, pid, epoch, 0, "m1"), None);
    assert_eq!(init(&mut b, 20), Err(ErrorCode::ConcurrentTransactions));
    let t = &b.txn.txns["pay-1"];
    assert_eq!(
        t.stored.state,
        TxnState::CompleteAbort,
        "markers written at once here"
    );
    assert_eq!(init(&mut b, 30), Ok((pid, 2)), "fence bump, then init bump");
    let (resp, _) = end(&mut b, 40, pid, epoch, true);
    assert!(
        matches!(
            resp,
            Message::EndTxnResponse {
                error: Some(ErrorCode::ProducerFenced),
                ..
            }
        ),
        "{resp:?}"
    );
    let f = fetch(&mut b, IsolationLevel::ReadCommitted);
    assert_eq!(
        f.last_stable_offset, 2,
        "m1 and its ABORT marker are stable"
    );
    assert_eq!(
        f.aborted.len(),
        1,
        "the fenced producer's transaction is listed"
    );
    let f = fetch(&mut b, IsolationLevel::ReadUncommitted);
    assert_eq!(
        f.records.len(),
        2,
        "read_uncommitted gets the aborted record too"
    );
}

/// An open transaction holds the LSO back; the coordinator aborts it once it is older than its
/// transaction.timeout.ms, at its next check.
#[test]
fn a_timed_out_transaction_is_aborted_and_the_lso_moves_on() {
    let cfg = BrokerConfig {
        transaction_abort_interval_ms: 1_000,
        ..Default::default()
    };
    let mut b = broker(ClusterFeatures::default(), cfg);
    let (pid, epoch) = init(&mut b, 0).expect("a producer id");
    assert_eq!(produce(&mut b, 10, pid, epoch, 0, "m1"), None);
    assert_eq!(
        fetch(&mut b, IsolationLevel::ReadCommitted).last_stable_offset,
        0
    );
    let mut events = Vec::new();
    for now in (1_000..=12_000).step_by(1_000) {
        let mut fx = Effects::default();
        b.handle_timeout(now, &mut fx);
        events.extend(fx.events);
        // Markers go to the leader, itself here (heartbeats go to the controller).
        for (_, m) in fx.sends.into_iter().filter(|(to, _)| *to == ME) {
            events.extend(deliver(&mut b, now, ME, m).1);
        }
    }
    assert_eq!(
        states(&events),
        vec![(TxnState::PrepareAbort, 1), (TxnState::CompleteAbort, 1)]
    );
    assert_eq!(
        fetch(&mut b, IsolationLevel::ReadCommitted).last_stable_offset,
        2
    );
}

/// Before KIP-890 (transaction.version 0, no verification), nothing stops a write that
/// arrives after its transaction was aborted: it opens a transaction no marker will close.
#[test]
fn without_kip_890_a_late_write_hangs_the_partition() {
    let features = ClusterFeatures {
        transaction_version: 0,
        ..Default::default()
    };
    let cfg = BrokerConfig {
        transaction_partition_verification: false,
        ..Default::default()
    };
    let mut b = broker(features, cfg);
    let (pid, epoch) = init(&mut b, 0).expect("a producer id");
    let (out, _) = deliver(
        &mut b,
        5,
        CLIENT,
        Message::AddPartitionsToTxn {
            correlation: 4,
            transactional_id: "pay-1".into(),
            producer_id: pid,
            producer_epoch: epoch,
            partitions: vec![payments()],
            verify_only: false,
        },
    );
    assert!(matches!(
        out.as_slice(),
        [Message::AddPartitionsToTxnResponse { error: None, .. }]
    ));
    assert_eq!(produce(&mut b, 10, pid, epoch, 0, "m1"), None);
    let (resp, _) = end(&mut b, 20, pid, epoch, false);
    assert!(
        matches!(
            resp,
            Message::EndTxnResponse {
                error: None,
                producer_epoch: None,
                ..
            }
        ),
        "no epoch bump with transaction.version 0: {resp:?}"
    );
    assert_eq!(produce(&mut b, 30, pid, epoch, 1, "late"), None, "accepted");
    assert_eq!(
        fetch(&mut b, IsolationLevel::ReadCommitted).last_stable_offset,
        2,
        "stuck below the late write"
    );
    assert_eq!(b.txn.txns["pay-1"].stored.state, TxnState::CompleteAbort);
}

/// Handles one message and returns what the broker sent (to itself too).
fn step(b: &mut Broker, now: Millis, from: NodeId, msg: Message) -> Vec<(NodeId, Message)> {
    let mut fx = Effects::default();
    b.handle_message(now, from, msg, &mut fx);
    fx.sends
}

/// KIP-890 part 1 (transaction.version 0 with `transaction.partition.verification.enable`): a
/// write to a partition not in the producer's ongoing transaction (here: no transaction at all)
/// is held while its leader asks the coordinator, which answers TRANSACTION_ABORTABLE, as
/// Kafka's `TransactionCoordinator.handleVerifyPartitionsInTransaction` does; the leader, as
/// `AddPartitionsToTxnManager` does for a client older than the error
/// (`TransactionSupportedOperation.DEFAULT_ERROR`), refuses the write with INVALID_TXN_STATE.
#[test]
fn a_failed_verification_is_transaction_abortable_at_the_coordinator() {
    let features = ClusterFeatures {
        transaction_version: 0,
        ..Default::default()
    };
    let mut b = broker(features, BrokerConfig::default());
    let (pid, epoch) = init(&mut b, 0).expect("a producer id");
    let write = Message::Produce(ProduceRequest {
        correlation: 2,
        tp: payments(),
        acks: crate::config::Acks::All,
        timeout_ms: 5_000,
        records: vec![RecordData {
            key: None,
            value: "late".into(),
            timestamp: 10,
            size: 10,
            payload: None,
        }],
        idempotent: Some(IdempotentBatch {
            producer_id: pid,
            producer_epoch: epoch,
            base_sequence: 0,
        }),
        transactional_id: Some("pay-1".into()),
    });
    // 1. The leader holds the write and asks the coordinator (itself) to verify only.
    let sent = step(&mut b, 10, CLIENT, write);
    let verify = match sent.as_slice() {
        [(
            ME,
            m @ Message::AddPartitionsToTxn {
                verify_only: true,
                partitions,
                ..
            },
        )] if partitions == &vec![payments()] => m.clone(),
        other => panic!("one verify-only AddPartitionsToTxn expected, got {other:?}"),
    };
    // 2. The coordinator: the partition is not in an ongoing transaction.
    let sent = step(&mut b, 11, ME, verify);
    let answer = match sent.as_slice() {
        [(ME, m @ Message::AddPartitionsToTxnResponse { error, .. })] => {
            assert_eq!(*error, Some(ErrorCode::TransactionAbortable));
            m.clone()
        }
        other => panic!("one AddPartitionsToTxnResponse expected, got {other:?}"),
    };
    // 3. The leader answers the held write, in the error its (pre-3.8) client knows.
    let sent = step(&mut b, 12, ME, answer);
    assert!(
        matches!(
            sent.as_slice(),
            [(
                CLIENT,
                Message::ProduceResponse {
                    error: Some(ErrorCode::InvalidTxnState),
                    ..
                }
            )]
        ),
        "{sent:?}"
    );
    assert_eq!(
        b.replicas[&payments()].log.end_offset(),
        0,
        "nothing appended"
    );
}

fn offset_fetch(b: &mut Broker, require_stable: bool) -> Message {
    let (mut out, _) = deliver(
        b,
        60,
        NodeId::Consumer(0),
        Message::OffsetFetch {
            correlation: 7,
            group: "g".into(),
            partitions: Some(vec![payments()]),
            require_stable,
        },
    );
    out.pop().expect("an OffsetFetchResponse")
}

/// sendOffsetsToTransaction: the offsets wait for the transaction's marker on
/// `__consumer_offsets`; until then a read_committed consumer (require_stable) is told to wait
/// (KIP-447), and a plain OffsetFetch does not see them.
#[test]
fn transactional_offsets_become_committed_with_the_commit_marker() {
    let mut b = broker(ClusterFeatures::default(), BrokerConfig::default());
    let (pid, epoch) = init(&mut b, 0).expect("a producer id");
    let (out, _) = deliver(
        &mut b,
        10,
        CLIENT,
        Message::AddOffsetsToTxn {
            correlation: 5,
            transactional_id: "pay-1".into(),
            producer_id: pid,
            producer_epoch: epoch,
            group: "g".into(),
        },
    );
    assert!(matches!(
        out.as_slice(),
        [Message::AddOffsetsToTxnResponse { error: None, .. }]
    ));
    let (out, _) = deliver(
        &mut b,
        20,
        CLIENT,
        Message::TxnOffsetCommit {
            correlation: 6,
            transactional_id: "pay-1".into(),
            group: "g".into(),
            producer_id: pid,
            producer_epoch: epoch,
            generation: None,
            member_id: None,
            offsets: vec![crate::protocol::OffsetAndEpoch {
                tp: payments(),
                offset: 5,
                leader_epoch: None,
            }],
        },
    );
    assert!(matches!(
        out.as_slice(),
        [Message::TxnOffsetCommitResponse { error: None, .. }]
    ));
    assert!(matches!(
        offset_fetch(&mut b, true),
        Message::OffsetFetchResponse {
            error: Some(ErrorCode::UnstableOffsetCommit),
            ..
        }
    ));
    assert!(matches!(
        offset_fetch(&mut b, false),
        Message::OffsetFetchResponse { error: None, ref offsets, .. } if offsets.is_empty()
    ));
    let (resp, _) = end(&mut b, 30, pid, epoch, true);
    assert!(
        matches!(resp, Message::EndTxnResponse { error: None, .. }),
        "{resp:?}"
    );
    match offset_fetch(&mut b, true) {
        Message::OffsetFetchResponse {
            error: None,
            offsets,
            ..
        } => assert_eq!(
            offsets.iter().map(|o| o.offset).collect::<Vec<_>>(),
            vec![5]
        ),
        other => panic!("committed offsets expected, got {other:?}"),
    }
}
