//! The broker driven message by message, without a runtime.

use super::*;
use crate::config::Acks;
use crate::log::{Record, RecordData};
use crate::protocol::{ErrorCode, FetchPartition, FetchRequest, IdempotentBatch, ProduceRequest};
use crate::trace::{CrashKind, TruncateReason};

pub(super) fn tp() -> TopicPartition {
    TopicPartition::new("orders", 0)
}

pub(super) fn state(leader: BrokerId, epoch: u32, isr: &[BrokerId]) -> PartitionState {
    PartitionState {
        tp: tp(),
        replicas: vec![1, 2, 3],
        leader: Some(leader),
        leader_epoch: epoch,
        isr: isr.to_vec(),
        partition_epoch: epoch,
        elr: Vec::new(),
    }
}

pub(super) fn broker(id: BrokerId, mode: TruncationMode, cfg: BrokerConfig) -> Broker {
    broker_with(id, mode, cfg, crate::config::ClusterFeatures::default())
}

fn zookeeper_era() -> crate::config::ClusterFeatures {
    crate::config::ClusterFeatures {
        metadata: crate::config::MetadataMode::Zookeeper,
        eligible_leader_replicas: false,
        transaction_version: 2,
    }
}

fn broker_with(
    id: BrokerId,
    mode: TruncationMode,
    cfg: BrokerConfig,
    features: crate::config::ClusterFeatures,
) -> Broker {
    let mut fx = Effects::default();
    let setup = BrokerSetup {
        id,
        config: cfg,
        topic_overrides: BTreeMap::new(),
        truncation: mode,
        features,
        disk: BrokerDisk::default(),
    };
    let mut b = Broker::start(setup, 0, &mut fx);
    // Registered: the controller's answer carries broker epoch 1.
    b.broker_epoch = Some(1);
    b
}

pub(super) fn metadata(b: &mut Broker, version: u64, st: PartitionState, now: Millis) -> Effects {
    let mut fx = Effects::default();
    b.handle_message(
        now,
        NodeId::Controller,
        Message::MetadataUpdate {
            metadata_version: version,
            partitions: vec![st],
            brokers: crate::broker::registered(&[1, 2, 3]),
        },
        &mut fx,
    );
    fx
}

pub(super) fn produce(
    b: &mut Broker,
    now: Millis,
    corr: u64,
    acks: Acks,
    values: &[&str],
    idem: Option<IdempotentBatch>,
) -> Effects {
    let mut fx = Effects::default();
    let records = values
        .iter()
        .map(|v| RecordData {
            payload: None,
            key: None,
            value: (*v).into(),
            timestamp: now,
            size: 10,
        })
        .collect();
    b.handle_message(
        now,
        NodeId::Producer(0),
        Message::Produce(ProduceRequest {
            correlation: corr,
            tp: tp(),
            acks,
            timeout_ms: 30_000,
            records,
            idempotent: idem,
            transactional_id: None,
        }),
        &mut fx,
    );
    fx
}

pub(super) fn fetch(
    b: &mut Broker,
    now: Millis,
    from: BrokerId,
    offset: u64,
    epoch: u32,
) -> Effects {
    let mut fx = Effects::default();
    b.handle_message(
        now,
        NodeId::Broker(from),
        Message::Fetch(FetchRequest {
            replica: Some(crate::protocol::ReplicaState {
                id: from,
                broker_epoch: Some(1),
            }),
            correlation: 1,
            max_wait_ms: 0,
            min_bytes: 1,
            partitions: vec![FetchPartition {
                tp: tp(),
                fetch_offset: offset,
                current_leader_epoch: Some(epoch),
                last_fetched_epoch: None,
            }],
            isolation: crate::config::IsolationLevel::ReadUncommitted,
        }),
        &mut fx,
    );
    fx
}

fn produce_responses(fx: &Effects) -> Vec<(Option<ErrorCode>, Option<u64>)> {
    fx.sends
        .iter()
        .filter_map(|(_, m)| match m {
            Message::ProduceResponse {
                error, base_offset, ..
            } => Some((*error, *base_offset)),
            _ => None,
        })
        .collect()
}

pub(super) fn fetched(fx: &Effects) -> Vec<crate::protocol::FetchedPartition> {
    fx.sends
        .iter()
        .filter_map(|(_, m)| match m {
            Message::FetchResponse { partitions, .. } => Some(partitions.clone()),
            _ => None,
        })
        .flatten()
        .collect()
}

#[test]
fn acks_all_waits_for_every_isr_follower_and_the_hw_moves_one_fetch_late() {
    let mut b = broker(1, TruncationMode::LeaderEpoch, BrokerConfig::default());
    metadata(&mut b, 2, state(1, 0, &[1, 2, 3]), 0);
    let fx = produce(&mut b, 10, 7, Acks::All, &["m1"], None);
    assert!(
        produce_responses(&fx).is_empty(),
        "not acknowledged before the followers have it"
    );
    // Followers fetch from offset 0: they get m1, and the HW cannot move yet.
    let r = fetched(&fetch(&mut b, 11, 2, 0, 0));
    assert_eq!(r[0].records.len(), 1);
    assert_eq!(r[0].high_watermark, 0);
    fetch(&mut b, 11, 3, 0, 0);
    // Their next fetch (offset 1) is what tells the leader they have it.
    fetch(&mut b, 13, 2, 1, 0);
    let fx = fetch(&mut b, 13, 3, 1, 0);
    assert_eq!(produce_responses(&fx), vec![(None, Some(0))]);
    assert_eq!(b.view(&tp()).unwrap().high_watermark, 1);
    // ...and the followers learn HW=1 only in the answer to that fetch.
    assert_eq!(fetched(&fx)[0].high_watermark, 1);
}

#[test]
fn acks_all_is_refused_before_the_append_when_the_isr_is_too_small() {
    let cfg = BrokerConfig {
        min_insync_replicas: 2,
        ..Default::default()
    };
    let mut b = broker(1, TruncationMode::LeaderEpoch, cfg);
    metadata(&mut b, 2, state(1, 0, &[1]), 0);
    let fx = produce(&mut b, 10, 7, Acks::All, &["m1"], None);
    assert_eq!(
        produce_responses(&fx),
        vec![(Some(ErrorCode::NotEnoughReplicas), None)]
    );
    assert_eq!(b.view(&tp()).unwrap().log_end_offset, 0, "nothing appended");
    // acks=1 does not care about min.insync.replicas.
    let fx = produce(&mut b, 11, 8, Acks::Leader, &["m2"], None);
    assert_eq!(produce_responses(&fx), vec![(None, Some(0))]);
}

/// ZooKeeper-era rule (before KIP-966's strict min ISR): the HW moves over whatever ISR there
/// is, and `checkEnoughReplicasReachOffset` then answers NOT_ENOUGH_REPLICAS_AFTER_APPEND.
#[test]
fn a_write_that_reaches_the_hw_after_the_isr_shrank_is_not_enough_replicas_after_append() {
    let cfg = BrokerConfig {
        min_insync_replicas: 2,
        ..Default::default()
    };
    let mut b = broker_with(1, TruncationMode::LeaderEpoch, cfg, zookeeper_era());
    metadata(&mut b, 2, state(1, 0, &[1, 2]), 0);
    produce(&mut b, 10, 7, Acks::All, &["m1"], None);
    // The controller shrinks the ISR to the leader alone: the HW passes m1 at once.
    let mut st = state(1, 0, &[1]);
    st.partition_epoch = 1;
    let fx = metadata(&mut b, 3, st, 20);
    assert_eq!(
        produce_responses(&fx),
        vec![(Some(ErrorCode::NotEnoughReplicasAfterAppend), None)]
    );
}

/// Kafka 4.1 (`Partition.maybeIncrementLeaderHW` returns early while `isUnderMinIsr`): the HW
/// stays below a write appended before the ISR shrank under `min.insync.replicas`, so the write
/// is never acknowledged by fewer copies; it times out unless the ISR grows back.
#[test]
fn under_strict_min_isr_the_hw_waits_and_the_write_times_out() {
    let cfg = BrokerConfig {
        min_insync_replicas: 2,
        ..Default::default()
    };
    let mut b = broker(1, TruncationMode::LeaderEpoch, cfg);
    metadata(&mut b, 2, state(1, 0, &[1, 2]), 0);
    produce(&mut b, 10, 7, Acks::All, &["m1"], None);
    let mut st = state(1, 0, &[1]);
    st.partition_epoch = 1;
    let fx = metadata(&mut b, 3, st, 20);
    assert!(produce_responses(&fx).is_empty(), "no answer yet");
    assert_eq!(
        b.view(&tp()).unwrap().high_watermark,
        0,
        "the HW does not move"
    );
    let mut fx = Effects::default();
    b.handle_timeout(10 + 30_000, &mut fx);
    assert_eq!(
        produce_responses(&fx),
        vec![(Some(ErrorCode::RequestTimedOut), None)]
    );
}

#[test]
fn a_follower_that_stops_catching_up_is_proposed_out_of_the_isr() {
    let cfg = BrokerConfig {
        replica_lag_time_max_ms: 1_000,
        ..Default::default()
    };
    let mut b = broker(1, TruncationMode::LeaderEpoch, cfg);
    metadata(&mut b, 2, state(1, 0, &[1, 2, 3]), 0);
    produce(&mut b, 10, 7, Acks::Leader, &["m1"], None);
    for t in (100..3_000).step_by(100) {
        fetch(&mut b, t, 2, 1, 0); // broker-2 keeps up; broker-3 never fetches
        let mut fx = Effects::default();
        b.handle_timeout(t, &mut fx);
        if let Some(isr) = fx.sends.iter().find_map(|(_, m)| match m {
            Message::AlterPartition { new_isr, .. } => {
                Some(new_isr.iter().map(|m| m.0).collect::<Vec<_>>())
            }
            _ => None,
        }) {
            assert_eq!(isr, vec![1, 2]);
            assert!(t > 1_000, "not before replica.lag.time.max.ms ({t})");
            return;
        }
    }
    panic!("the lagging follower was never removed");
}

#[test]
fn stale_leader_epochs_are_fenced() {
    let mut b = broker(1, TruncationMode::LeaderEpoch, BrokerConfig::default());
    metadata(&mut b, 2, state(1, 3, &[1, 2, 3]), 0);
    let r = fetched(&fetch(&mut b, 5, 2, 0, 2));
    assert_eq!(r[0].error, Some(ErrorCode::FencedLeaderEpoch));
    let r = fetched(&fetch(&mut b, 5, 2, 0, 4));
    assert_eq!(r[0].error, Some(ErrorCode::UnknownLeaderEpoch));
}

#[test]
fn a_retried_idempotent_batch_gets_its_original_offset_and_a_gap_is_refused() {
    let mut b = broker(1, TruncationMode::LeaderEpoch, BrokerConfig::default());
    metadata(&mut b, 2, state(1, 0, &[1]), 0);
    let idem = |s| {
        Some(IdempotentBatch {
            producer_id: 9,
            producer_epoch: 0,
            base_sequence: s,
        })
    };
    assert_eq!(
        produce_responses(&produce(&mut b, 1, 1, Acks::Leader, &["a", "b"], idem(0))),
        vec![(None, Some(0))]
    );
    assert_eq!(
        produce_responses(&produce(&mut b, 2, 2, Acks::Leader, &["a", "b"], idem(0))),
        vec![(None, Some(0))]
    );
    assert_eq!(
        b.view(&tp()).unwrap().log_end_offset,
        2,
        "the duplicate was not appended"
    );
    assert_eq!(
        produce_responses(&produce(&mut b, 3, 3, Acks::Leader, &["d"], idem(3))),
        vec![(Some(ErrorCode::OutOfOrderSequenceNumber), None)]
    );
}

fn follower_with(b: &mut Broker, records: &[(u32, &str)], hw: u64) {
    // Give the replica a log directly, as if replicated earlier.
    let r = b.replicas.entry(tp()).or_insert_with(|| {
        Replica::new(
            tp(),
            PartitionLog::default(),
            LogConfig::effective(&BrokerConfig::default(), &Default::default()),
            0,
            0,
        )
    });
    let recs = records
        .iter()
        .map(|(e, v)| Record {
            offset: 0,
            leader_epoch: *e,
            data: RecordData {
                payload: None,
                key: None,
                value: (*v).into(),
                timestamp: 0,
                size: 10,
            },
            producer: None,
            control: None,
        })
        .collect();
    r.log.append(recs);
    r.high_watermark = hw;
}

/// The leader's OffsetsForLeaderEpoch answer: `(epoch, end offset)`.
fn epoch_answer(b: &mut Broker, now: Millis, correlation: u64, end: (u32, u64)) -> Effects {
    let mut fx = Effects::default();
    let partitions = vec![crate::protocol::EpochEndOffset {
        tp: tp(),
        error: None,
        end: Some(end),
    }];
    b.handle_message(
        now,
        NodeId::Broker(1),
        Message::OffsetsForLeaderEpochResponse {
            correlation,
            partitions,
        },
        &mut fx,
    );
    fx
}

fn truncations(fx: &Effects) -> Vec<(u64, u64)> {
    fx.events
        .iter()
        .filter_map(|e| match e {
            Event::Truncated { from, to, .. } => Some((*from, *to)),
            _ => None,
        })
        .collect()
}

#[test]
fn high_watermark_truncation_drops_everything_above_the_followers_hw() {
    let mut b = broker(2, TruncationMode::HighWatermark, BrokerConfig::default());
    follower_with(&mut b, &[(0, "m1"), (0, "m2")], 1);
    let fx = metadata(&mut b, 2, state(1, 1, &[1, 2]), 0);
    assert_eq!(truncations(&fx), vec![(2, 1)]);
}

#[test]
fn leader_epoch_truncation_iterates_to_the_common_prefix() {
    // KIP-279's case: the follower has epochs 0,1,3; the leader knows 0 and 2.
    let mut b = broker(2, TruncationMode::LeaderEpoch, BrokerConfig::default());
    follower_with(&mut b, &[(0, "a"), (1, "b"), (1, "c"), (3, "x")], 4);
    let fx = metadata(&mut b, 2, state(1, 4, &[1, 2]), 0);
    assert!(
        truncations(&fx).is_empty(),
        "nothing is cut before asking the leader"
    );
    let ask = |fx: &Effects| {
        fx.sends
            .iter()
            .find_map(|(_, m)| match m {
                Message::OffsetsForLeaderEpoch {
                    correlation,
                    partitions,
                } => Some((*correlation, partitions[0].leader_epoch)),
                _ => None,
            })
            .expect("asks the leader")
    };
    let (c, epoch) = ask(&fx);
    assert_eq!(epoch, 3);
    // Leader: the largest epoch <= 3 it knows is 2, which ends at offset 5.
    let fx = epoch_answer(&mut b, 1, c, (2, 5));
    // We never had epoch 2: cut to where our epoch 1 ends (3) and ask again about epoch 1.
    assert_eq!(truncations(&fx), vec![(4, 3)]);
    let (c, epoch) = ask(&fx);
    assert_eq!(epoch, 1);
    let fx = epoch_answer(&mut b, 2, c, (1, 2));
    assert_eq!(truncations(&fx), vec![(3, 2)]);
    assert!(fx.sends.iter().any(
        |(_, m)| matches!(m, Message::Fetch(FetchRequest { partitions, .. }) if partitions[0].fetch_offset == 2)
    ));
}

#[test]
fn a_power_loss_loses_the_unflushed_suffix_and_a_process_crash_does_not() {
    for (kind, expected) in [(CrashKind::Process, 3), (CrashKind::PowerLoss, 1)] {
        let cfg = BrokerConfig {
            log_flush_interval_ms: 1_000,
            ..Default::default()
        };
        let mut b = broker(1, TruncationMode::LeaderEpoch, cfg);
        metadata(&mut b, 2, state(1, 0, &[1]), 0);
        produce(&mut b, 1_500, 1, Acks::Leader, &["m1"], None);
        let mut fx = Effects::default();
        b.handle_timeout(1_500, &mut fx); // flush.ms has passed since the last flush (at 0)
        produce(&mut b, 1_600, 2, Acks::Leader, &["m2", "m3"], None);
        let mut fx = Effects::default();
        let disk = b.crash(kind, &mut fx);
        assert_eq!(disk.logs[&tp()].end_offset(), expected, "{kind:?}");
    }
}

/// The AlterPartition requests in `fx`: (request id, proposed ISR).
fn alter_requests(fx: &Effects) -> Vec<(u64, Vec<BrokerId>)> {
    fx.sends
        .iter()
        .filter_map(|(_, m)| match m {
            Message::AlterPartition {
                request, new_isr, ..
            } => Some((*request, new_isr.iter().map(|m| m.0).collect())),
            _ => None,
        })
        .collect()
}

fn alter_answer(
    b: &mut Broker,
    now: Millis,
    request: u64,
    result: Result<PartitionState, ErrorCode>,
) -> Effects {
    let mut fx = Effects::default();
    let msg = Message::AlterPartitionResponse {
        tp: tp(),
        request,
        result,
    };
    b.handle_message(now, NodeId::Controller, msg, &mut fx);
    fx
}

/// `Partition.prepareIsrExpand` and `maximalIsr`: while an expansion is pending the HW already
/// waits for the new member, and a metadata push that does not change the partition (same
/// partition epoch) leaves the proposal pending (`makeLeader` skips it).
#[test]
fn a_pending_isr_expansion_counts_in_the_hw_and_survives_an_unchanged_metadata_push() {
    let mut b = broker(1, TruncationMode::LeaderEpoch, BrokerConfig::default());
    metadata(&mut b, 2, state(1, 0, &[1]), 0);
    let fx = fetch(&mut b, 5, 2, 0, 0);
    assert_eq!(alter_requests(&fx), vec![(1, vec![1, 2])]);
    metadata(&mut b, 3, state(1, 0, &[1]), 6);
    produce(&mut b, 10, 7, Acks::Leader, &["m1"], None);
    assert_eq!(
        b.view(&tp()).unwrap().high_watermark,
        0,
        "broker-2 is in the maximal ISR and does not have m1 yet"
    );
    let fx = fetch(&mut b, 12, 2, 1, 0);
    assert!(
        alter_requests(&fx).is_empty(),
        "one change in flight at a time"
    );
    assert_eq!(b.view(&tp()).unwrap().high_watermark, 1);
}

/// `submitAlterPartition`'s completion: an answer to another proposal is ignored, the answer
/// to this one commits the controller's ISR and partition epoch.
#[test]
fn only_the_answer_to_the_pending_proposal_commits_it() {
    let mut b = broker(1, TruncationMode::LeaderEpoch, BrokerConfig::default());
    metadata(&mut b, 2, state(1, 0, &[1]), 0);
    let (request, _) = alter_requests(&fetch(&mut b, 5, 2, 0, 0))[0].clone();
    let mut committed = state(1, 0, &[1, 2]);
    committed.partition_epoch = 1;
    alter_answer(&mut b, 6, request + 7, Ok(committed.clone()));
    assert_eq!(b.replicas[&tp()].isr(), &[1]);
    assert!(b.replicas[&tp()].pending_isr.is_some(), "still pending");
    alter_answer(&mut b, 7, request, Ok(committed));
    assert_eq!(b.replicas[&tp()].isr(), &[1, 2]);
    assert!(b.replicas[&tp()].pending_isr.is_none());
}

/// `handleAlterPartitionError`: INELIGIBLE_REPLICA reverts to the committed ISR (the request
/// was not applied); INVALID_UPDATE_VERSION keeps the proposal until newer metadata arrives.
#[test]
fn an_ineligible_replica_reverts_and_a_stale_version_waits_for_metadata() {
    let mut b = broker(1, TruncationMode::LeaderEpoch, BrokerConfig::default());
    metadata(&mut b, 2, state(1, 0, &[1]), 0);
    let (request, _) = alter_requests(&fetch(&mut b, 5, 2, 0, 0))[0].clone();
    alter_answer(&mut b, 6, request, Err(ErrorCode::InvalidUpdateVersion));
    assert!(b.replicas[&tp()].pending_isr.is_some());
    let mut newer = state(1, 0, &[1]);
    newer.partition_epoch = 1;
    metadata(&mut b, 3, newer, 7);
    assert!(
        b.replicas[&tp()].pending_isr.is_none(),
        "newer state ends it"
    );
    let (request, _) = alter_requests(&fetch(&mut b, 8, 2, 0, 0))[0].clone();
    alter_answer(&mut b, 9, request, Err(ErrorCode::IneligibleReplica));
    assert!(b.replicas[&tp()].pending_isr.is_none());
    assert_eq!(b.replicas[&tp()].isr(), &[1]);
}

/// `AlterPartitionManager`: a proposal whose connection to the controller broke is sent again,
/// unchanged (same request id), 50 ms later.
#[test]
fn a_proposal_lost_with_the_controller_connection_is_sent_again() {
    let mut b = broker(1, TruncationMode::LeaderEpoch, BrokerConfig::default());
    metadata(&mut b, 2, state(1, 0, &[1]), 0);
    let first = alter_requests(&fetch(&mut b, 5, 2, 0, 0));
    b.handle_message(
        6,
        NodeId::Controller,
        Message::Disconnected,
        &mut Effects::default(),
    );
    let mut fx = Effects::default();
    b.handle_timeout(56, &mut fx);
    assert_eq!(alter_requests(&fx), first);
}

/// KIP-903 (`Replica.updateFetchStateOrThrow`, `Partition.isReplicaIsrEligible`): a fetch
/// carrying an older broker epoch than the follower's registration is refused, and a follower
/// whose fetches carry a stale epoch is not proposed for the ISR.
#[test]
fn fetches_from_an_earlier_incarnation_are_refused_and_cannot_join_the_isr() {
    let mut b = broker(1, TruncationMode::LeaderEpoch, BrokerConfig::default());
    let mut brokers = crate::broker::registered(&[1, 2, 3]);
    brokers[1].epoch = 5;
    let mut fx = Effects::default();
    b.handle_message(
        0,
        NodeId::Controller,
        Message::MetadataUpdate {
            metadata_version: 2,
            partitions: vec![state(1, 0, &[1])],
            brokers,
        },
        &mut fx,
    );
    let fx = fetch(&mut b, 5, 2, 0, 0);
    assert_eq!(fetched(&fx)[0].error, Some(ErrorCode::NotLeaderOrFollower));
    assert!(alter_requests(&fx).is_empty());
}

/// KIP-207 (`Partition.fetchOffsetForTimestamp`): a new leader whose HW is still below the start
/// of its epoch answers "latest" with OFFSET_NOT_AVAILABLE, "earliest" as usual.
#[test]
fn a_new_leader_has_no_latest_offset_until_its_hw_reaches_its_epoch_start() {
    let mut b = broker(2, TruncationMode::LeaderEpoch, BrokerConfig::default());
    metadata(&mut b, 2, state(1, 0, &[1, 2]), 0);
    let rec = |o: u64, v: &str| Record {
        offset: o,
        leader_epoch: 0,
        data: RecordData {
            payload: None,
            key: None,
            value: v.into(),
            timestamp: 0,
            size: 10,
        },
        producer: None,
        control: None,
    };
    b.replicas
        .get_mut(&tp())
        .unwrap()
        .log
        .append(vec![rec(0, "m1"), rec(1, "m2")]);
    metadata(&mut b, 3, state(2, 1, &[2, 3]), 10);
    let ask = |b: &mut Broker, spec| {
        let mut fx = Effects::default();
        let msg = Message::ListOffsets {
            correlation: 1,
            partitions: vec![(tp(), Some(1), spec)],
        };
        b.handle_message(11, NodeId::Consumer(0), msg, &mut fx);
        fx.sends
            .iter()
            .find_map(|(_, m)| match m {
                Message::ListOffsetsResponse { partitions, .. } => Some(partitions[0].1),
                _ => None,
            })
            .expect("answered")
    };
    assert_eq!(
        ask(&mut b, crate::protocol::OffsetSpec::Latest),
        Err(ErrorCode::OffsetNotAvailable)
    );
    assert_eq!(ask(&mut b, crate::protocol::OffsetSpec::Earliest), Ok(0));
}

// ---- Truncation on fetch (KIP-595, Kafka 2.7+): the diverging epoch ----

/// Hands `to` the messages `fx` addresses to it (as sent by broker `from`), and returns what
/// it sends in turn.
pub(super) fn deliver(fx: &Effects, from: BrokerId, to: &mut Broker, now: Millis) -> Effects {
    let mut out = Effects::default();
    for (dest, m) in &fx.sends {
        if *dest == NodeId::Broker(to.id) {
            to.handle_message(now, NodeId::Broker(from), m.clone(), &mut out);
        }
    }
    out
}

/// Leader `leader` and follower `follower` answer each other, starting from the follower's
/// effects `first`, until neither sends the other anything (a fetch the leader parks ends
/// it). Returns every effect of both, in order.
fn exchange(leader: &mut Broker, follower: &mut Broker, first: Effects) -> Vec<Effects> {
    let mut all = vec![first];
    for now in 1..20 {
        let to_leader = deliver(all.last().expect("some"), follower.id, leader, now);
        let to_follower = deliver(&to_leader, leader.id, follower, now);
        let quiet = !to_follower
            .sends
            .iter()
            .any(|(d, _)| *d == NodeId::Broker(leader.id));
        all.push(to_leader);
        all.push(to_follower);
        if quiet {
            return all;
        }
    }
    panic!("the follower and the leader never stop exchanging messages");
}

/// The follower's fetches in `all`: `(fetch offset, last fetched epoch)`.
fn follower_fetches(all: &[Effects]) -> Vec<(u64, Option<u32>)> {
    all.iter()
        .flat_map(|fx| &fx.sends)
        .filter_map(|(_, m)| match m {
            Message::Fetch(FetchRequest { partitions, .. }) => {
                Some((partitions[0].fetch_offset, partitions[0].last_fetched_epoch))
            }
            _ => None,
        })
        .collect()
}

/// The diverging epochs the leader answered with in `all`.
fn diverging_epochs(all: &[Effects]) -> Vec<(u32, u64)> {
    all.iter()
        .flat_map(fetched)
        .filter_map(|p| p.diverging_epoch)
        .collect()
}

fn asked_offsets_for_leader_epoch(all: &[Effects]) -> bool {
    all.iter()
        .flat_map(|fx| &fx.sends)
        .any(|(_, m)| matches!(m, Message::OffsetsForLeaderEpoch { .. }))
}

fn all_truncations(all: &[Effects]) -> Vec<(u64, u64, TruncateReason)> {
    all.iter()
        .flat_map(|fx| &fx.events)
        .filter_map(|e| match e {
            Event::Truncated {
                from, to, reason, ..
            } => Some((*from, *to, *reason)),
            _ => None,
        })
        .collect()
}

fn values(b: &Broker) -> Vec<String> {
    b.replicas[&tp()]
        .log
        .records()
        .iter()
        .map(|r| r.data.value.to_string())
        .collect()
}

/// A fetch from broker 2 carrying `last_fetched_epoch`.
fn fetch_with_epoch(b: &mut Broker, leader_epoch: u32, offset: u64, last: u32) -> Effects {
    let mut fx = Effects::default();
    let msg = Message::Fetch(FetchRequest {
        replica: Some(crate::protocol::ReplicaState {
            id: 2,
            broker_epoch: Some(1),
        }),
        correlation: 1,
        max_wait_ms: 500,
        min_bytes: 1,
        partitions: vec![FetchPartition {
            tp: tp(),
            fetch_offset: offset,
            current_leader_epoch: Some(leader_epoch),
            last_fetched_epoch: Some(last),
        }],
        isolation: crate::config::IsolationLevel::ReadUncommitted,
    });
    b.handle_message(10, NodeId::Broker(2), msg, &mut fx);
    fx
}

/// `Partition.readRecords` (with `lastOffsetForLeaderEpoch`), the leader's side: a fetch whose
/// last fetched epoch the leader never had, or whose offset is past the end of that epoch on
/// the leader, is answered at once with the diverging epoch and no records (even past the
/// leader's log end: no OFFSET_OUT_OF_RANGE), and does not count as the follower's progress
/// (`fetchRecords` skips `updateFollowerFetchState`); a matching one reads as usual.
#[test]
fn a_leader_answers_a_fetch_that_is_not_a_prefix_of_its_log_with_the_diverging_epoch() {
    let mut b = broker(1, TruncationMode::DivergingEpoch, BrokerConfig::default());
    follower_with(&mut b, &[(0, "a"), (0, "b"), (1, "c")], 3);
    metadata(&mut b, 2, state(1, 3, &[1]), 0);
    produce(&mut b, 5, 7, Acks::Leader, &["d"], None);
    // The leader's epochs: 0 from 0, 1 from 2, 3 from 3; its log end is 4.
    let p = &fetched(&fetch_with_epoch(&mut b, 3, 3, 2))[0];
    assert_eq!(
        (p.error, p.diverging_epoch, p.records.len()),
        (None, Some((1, 3)), 0),
        "epoch 2 is unknown: the largest below it is 1, which ends at 3"
    );
    let p = &fetched(&fetch_with_epoch(&mut b, 3, 6, 3))[0];
    assert_eq!(
        (p.error, p.diverging_epoch),
        (None, Some((3, 4))),
        "past the leader's end of its own epoch"
    );
    assert_eq!(
        b.replicas[&tp()].followers[&2].log_end_offset,
        0,
        "a diverging fetch says nothing about the follower's log end"
    );
    let p = &fetched(&fetch_with_epoch(&mut b, 3, 3, 1))[0];
    assert_eq!(
        (p.diverging_epoch, p.records.len()),
        (None, 1),
        "epoch 1 ends at 3 here too: the follower's log is a prefix, it gets d"
    );
    assert_eq!(b.replicas[&tp()].followers[&2].log_end_offset, 3);
}

/// `AbstractFetcherThread.processFetchRequest` → `truncateOnFetchResponse` →
/// `getOffsetTruncationState`: a follower whose tail the leader never had fetches from its log
/// end with its latest epoch, is told where that epoch ends on the leader, truncates there
/// (nothing before asking) and fetches the leader's records: no OffsetsForLeaderEpoch.
#[test]
fn a_follower_truncates_its_diverged_tail_on_the_fetch_responses_diverging_epoch() {
    // broker-2 led epoch 1 and wrote c and y; broker-1 fetched only c before it was elected
    // in epoch 2 and wrote n.
    let mut leader = broker(1, TruncationMode::DivergingEpoch, BrokerConfig::default());
    follower_with(&mut leader, &[(0, "a"), (0, "b"), (1, "c")], 2);
    metadata(&mut leader, 2, state(1, 2, &[1, 2]), 0);
    produce(&mut leader, 0, 7, Acks::Leader, &["n"], None);
    let mut follower = broker(2, TruncationMode::DivergingEpoch, BrokerConfig::default());
    follower_with(&mut follower, &[(0, "a"), (0, "b"), (1, "c"), (1, "y")], 2);
    let first = metadata(&mut follower, 2, state(1, 2, &[1, 2]), 0);
    assert!(all_truncations(std::slice::from_ref(&first)).is_empty());
    let all = exchange(&mut leader, &mut follower, first);
    assert_eq!(follower_fetches(&all)[..2], [(4, Some(1)), (3, Some(1))]);
    assert_eq!(diverging_epochs(&all), vec![(1, 3)], "epoch 1 ends at 3");
    assert_eq!(
        all_truncations(&all),
        vec![(4, 3, TruncateReason::DivergingEpoch)]
    );
    assert!(!asked_offsets_for_leader_epoch(&all));
    assert_eq!(values(&follower), values(&leader));
}

/// KIP-279's case through diverging epochs (`getOffsetTruncationState` when the follower does
/// not know the leader's epoch: truncate to the end of its largest epoch below it, not final):
/// the follower has epochs 0, 1, 3 and the leader 0, 2, 4. Each fetch carries the epoch now
/// latest, and the follower walks back one epoch per round to the common prefix.
#[test]
fn a_follower_with_epochs_the_leader_never_had_walks_back_over_several_fetches() {
    let mut leader = broker(1, TruncationMode::DivergingEpoch, BrokerConfig::default());
    follower_with(&mut leader, &[(0, "a"), (2, "p"), (2, "q"), (2, "r")], 4);
    metadata(&mut leader, 2, state(1, 4, &[1, 2]), 0);
    let mut follower = broker(2, TruncationMode::DivergingEpoch, BrokerConfig::default());
    follower_with(&mut follower, &[(0, "a"), (1, "b"), (1, "c"), (3, "x")], 1);
    let first = metadata(&mut follower, 2, state(1, 4, &[1, 2]), 0);
    let all = exchange(&mut leader, &mut follower, first);
    assert_eq!(
        diverging_epochs(&all),
        vec![(2, 4), (0, 1)],
        "epoch 3 is unknown to the leader (its 2 ends at 4), then epoch 1 (its 0 ends at 1)"
    );
    assert_eq!(
        all_truncations(&all),
        vec![
            (4, 3, TruncateReason::DivergingEpoch),
            (3, 1, TruncateReason::DivergingEpoch)
        ],
        "first to where the follower's epoch 1 ends, then to the leader's end of epoch 0"
    );
    assert_eq!(
        follower_fetches(&all)[..3],
        [(4, Some(3)), (3, Some(1)), (1, Some(0))]
    );
    assert!(!asked_offsets_for_leader_epoch(&all));
    assert_eq!(values(&follower), vec!["a", "p", "q", "r"]);
}

/// A follower whose log is a prefix of the leader's is never told it diverges: it fetches from
/// its log end with its latest epoch and gets the leader's records, with no truncation and no
/// OffsetsForLeaderEpoch (`ReplicaManager.initialFetchOffset`: the log end, when the log has
/// an epoch).
#[test]
fn a_follower_whose_log_matches_fetches_normally_without_offsets_for_leader_epoch() {
    let mut leader = broker(1, TruncationMode::DivergingEpoch, BrokerConfig::default());
    follower_with(&mut leader, &[(0, "a"), (0, "b"), (1, "c")], 2);
    metadata(&mut leader, 2, state(1, 1, &[1, 2]), 0);
    let mut follower = broker(2, TruncationMode::DivergingEpoch, BrokerConfig::default());
    follower_with(&mut follower, &[(0, "a"), (0, "b")], 2);
    let first = metadata(&mut follower, 2, state(1, 1, &[1, 2]), 0);
    let all = exchange(&mut leader, &mut follower, first);
    assert_eq!(follower_fetches(&all)[..2], [(2, Some(0)), (3, Some(1))]);
    assert!(diverging_epochs(&all).is_empty());
    assert!(all_truncations(&all).is_empty());
    assert!(!asked_offsets_for_leader_epoch(&all));
    assert_eq!(values(&follower), vec!["a", "b", "c"]);
}

/// `UnifiedLog.truncateTo` at or past the log end still truncates the epoch cache from the
/// end: a follower that was elected in epoch 1 but wrote nothing drops that empty epoch when
/// the leader says epoch 0 ends at its log end, and its next fetch (with epoch 0) matches.
/// Keeping it would be answered with the same diverging epoch for ever.
#[test]
fn an_epoch_a_follower_never_wrote_in_is_dropped_on_a_diverging_epoch_at_its_log_end() {
    let mut leader = broker(1, TruncationMode::DivergingEpoch, BrokerConfig::default());
    follower_with(&mut leader, &[(0, "a"), (0, "b"), (2, "c")], 2);
    metadata(&mut leader, 2, state(1, 2, &[1, 2]), 0);
    let mut follower = broker(2, TruncationMode::DivergingEpoch, BrokerConfig::default());
    follower_with(&mut follower, &[(0, "a"), (0, "b")], 2);
    follower
        .replicas
        .get_mut(&tp())
        .expect("replica")
        .log
        .assign_epoch(1, 2);
    let first = metadata(&mut follower, 2, state(1, 2, &[1, 2]), 0);
    let all = exchange(&mut leader, &mut follower, first);
    assert_eq!(diverging_epochs(&all), vec![(0, 2)]);
    assert!(all_truncations(&all).is_empty(), "no record goes");
    assert_eq!(follower_fetches(&all)[..2], [(2, Some(1)), (2, Some(0))]);
    assert_eq!(values(&follower), vec!["a", "b", "c"]);
}
