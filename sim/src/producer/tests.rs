//! The producer driven without a runtime.

use super::*;
use crate::config::ProducerConfig;

fn spec(config: ProducerConfig, idempotent: bool, sends: &[(Millis, &str)]) -> ProducerSpec {
    let sends = sends
        .iter()
        .map(|(at, v)| ScheduledSend {
            at: *at,
            value: (*v).into(),
            key: None,
            partition: Some(0),
        })
        .collect();
    ProducerSpec {
        name: "p".into(),
        topic: "t".into(),
        partitions: 1,
        config,
        idempotent,
        workload: Workload::new(0.0, 0, 10_000, KeySpec::None, 10, sends),
        bootstrap: vec![1],
        transactions_v2: true,
    }
}

fn know_leader(p: &mut Producer) {
    let mut fx = Effects::default();
    p.handle_timeout(0, &mut fx);
    let c = fx
        .sends
        .iter()
        .find_map(|(_, m)| match m {
            Message::MetadataRequest { correlation } => Some(*correlation),
            _ => None,
        })
        .expect("asks for metadata first");
    let mut fx = Effects::default();
    p.handle_message(
        1,
        NodeId::Broker(1),
        Message::MetadataResponse {
            correlation: c,
            partitions: vec![crate::protocol::PartitionState::led_by(
                TopicPartition::new("t", 0),
                Some(1),
                0,
            )],
            brokers: vec![1],
        },
        &mut fx,
    );
}

fn produce_requests(fx: &Effects) -> Vec<(u64, Vec<String>, Option<u32>)> {
    fx.sends
        .iter()
        .filter_map(|(_, m)| match m {
            Message::Produce(ProduceRequest {
                correlation,
                records,
                idempotent,
                ..
            }) => Some((
                *correlation,
                records.iter().map(|r| r.value.to_string()).collect(),
                idempotent.map(|i| i.base_sequence),
            )),
            _ => None,
        })
        .collect()
}

fn run_to(p: &mut Producer, t: Millis) -> Effects {
    let mut fx = Effects::default();
    while let Some(d) = p.next_deadline().filter(|d| *d <= t) {
        p.handle_timeout(d, &mut fx);
    }
    fx
}

#[test]
fn linger_ms_holds_a_batch_so_records_travel_together() {
    let cfg = ProducerConfig {
        linger_ms: 10,
        ..Default::default()
    };
    let mut p = Producer::new(0, spec(cfg, true, &[(100, "a"), (105, "b"), (120, "c")]), 1);
    know_leader(&mut p);
    let fx = run_to(&mut p, 125);
    let reqs = produce_requests(&fx);
    assert_eq!(
        reqs[0].1,
        vec!["a", "b"],
        "b joined a's batch within linger.ms"
    );
    assert_eq!(reqs[0].2, Some(0));
}

#[test]
fn without_idempotence_a_failed_batch_goes_back_to_the_front_behind_later_ones_in_flight() {
    let cfg = ProducerConfig {
        linger_ms: 0,
        enable_idempotence: Some(false),
        ..Default::default()
    };
    let mut p = Producer::new(0, spec(cfg, false, &[(100, "m1"), (101, "m2")]), 1);
    know_leader(&mut p);
    let reqs = produce_requests(&run_to(&mut p, 101));
    assert_eq!(reqs.len(), 2, "two requests in flight at once");
    let mut fx = Effects::default();
    let tp = TopicPartition::new("t", 0);
    p.handle_message(
        102,
        NodeId::Broker(1),
        Message::ProduceResponse {
            correlation: reqs[0].0,
            tp: tp.clone(),
            error: Some(ErrorCode::NotEnoughReplicas),
            base_offset: None,
        },
        &mut fx,
    );
    p.handle_message(
        103,
        NodeId::Broker(1),
        Message::ProduceResponse {
            correlation: reqs[1].0,
            tp,
            error: None,
            base_offset: Some(0),
        },
        &mut fx,
    );
    let retry = produce_requests(&run_to(&mut p, 300));
    assert_eq!(
        retry[0].1,
        vec!["m1"],
        "m1 is resent after m2 was written: reordered"
    );
}

#[test]
fn delivery_timeout_expires_batches_that_never_get_a_leader() {
    let cfg = ProducerConfig {
        delivery_timeout_ms: 1_000,
        request_timeout_ms: 500,
        ..Default::default()
    };
    let mut p = Producer::new(0, spec(cfg, true, &[(100, "m1")]), 1);
    let fx = run_to(&mut p, 2_000);
    assert!(fx
        .events
        .iter()
        .any(|e| matches!(e, Event::Expired { values, .. } if &*values[0] == "m1")));
}

/// KIP-890/KIP-1050: a write refused with TRANSACTION_ABORTABLE is not retried and does not
/// fence the producer (Kafka's `TransactionManager.handleFailedBatch` →
/// `transitionToAbortableError`): the transaction ends with an abort, and the producer goes on.
#[test]
fn transaction_abortable_aborts_the_transaction_without_fencing() {
    let config = ProducerConfig {
        transactional_id: Some("pay-1".into()),
        ..Default::default()
    };
    let mut p = Producer::new(0, spec(config, true, &[(0, "a")]), 1);
    let mut end_txn = None;
    let mut refused = false;
    let mut events = Vec::new();
    for t in (0..2_000).step_by(5) {
        if end_txn.is_some() {
            break;
        }
        let mut fx = Effects::default();
        if p.next_deadline().is_some_and(|d| d <= t) {
            p.handle_timeout(t, &mut fx);
        }
        events.extend(fx.events);
        let mut queue = fx.sends;
        let mut answered = 0;
        while !queue.is_empty() {
            let (_, m) = queue.remove(0);
            answered += 1;
            assert!(answered < 100, "{m:?}");
            let answer = match m {
                Message::MetadataRequest { correlation } => Message::MetadataResponse {
                    correlation,
                    partitions: vec![crate::protocol::PartitionState::led_by(
                        TopicPartition::new("t", 0),
                        Some(1),
                        0,
                    )],
                    brokers: vec![1],
                },
                Message::FindCoordinator { correlation, .. } => Message::FindCoordinatorResponse {
                    correlation,
                    error: None,
                    coordinator: Some(1),
                },
                Message::InitProducerId { correlation, .. } => Message::InitProducerIdResponse {
                    correlation,
                    result: Ok((7, 0)),
                },
                Message::Produce(ProduceRequest { correlation, .. }) => {
                    let first = !refused;
                    refused = true;
                    Message::ProduceResponse {
                        correlation,
                        tp: TopicPartition::new("t", 0),
                        error: first.then_some(ErrorCode::TransactionAbortable),
                        base_offset: (!first).then_some(0),
                    }
                }
                Message::EndTxn { commit, .. } => {
                    end_txn.get_or_insert(commit);
                    continue;
                }
                _ => continue,
            };
            let mut fx = Effects::default();
            p.handle_message(t, NodeId::Broker(1), answer, &mut fx);
            events.extend(fx.events);
            queue.extend(fx.sends);
        }
    }
    assert!(refused, "the write was sent");
    assert!(events.iter().any(|e| matches!(
        e,
        Event::SendFailed {
            error: ErrorCode::TransactionAbortable,
            retry: false,
            ..
        }
    )));
    assert!(!events
        .iter()
        .any(|e| matches!(e, Event::ProducerFenced { .. })));
    assert_eq!(end_txn, Some(false), "the transaction aborts");
}
