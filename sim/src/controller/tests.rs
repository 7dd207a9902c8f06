use super::*;
use crate::config::MetadataMode;

fn tp() -> TopicPartition {
    TopicPartition::new("orders", 0)
}

fn controller_with(unclean: bool, min_isr: u32, features: ClusterFeatures) -> Controller {
    let topics = [TopicSpec {
        name: "orders".into(),
        assignment: vec![vec![1, 2, 3]],
        policy: TopicPolicy {
            unclean_leader_election_enable: unclean,
            min_insync_replicas: min_isr,
        },
    }];
    Controller::start(
        &[1, 2, 3],
        &topics,
        9_000,
        features,
        ControllerDisk::default(),
        0,
        &mut Effects::default(),
    )
}

fn controller(unclean: bool) -> Controller {
    controller_with(unclean, 1, ClusterFeatures::default())
}

fn epoch_of(c: &Controller, b: BrokerId) -> u64 {
    c.disk.registrations[&b].epoch
}

fn heartbeat(c: &mut Controller, b: BrokerId, now: Millis) -> Effects {
    let msg = Message::BrokerHeartbeat {
        broker: b,
        broker_epoch: epoch_of(c, b),
        metadata_version: 1_000,
    };
    let mut fx = Effects::default();
    c.handle_message(now, NodeId::Broker(b), msg, &mut fx);
    fx
}

fn register(
    c: &mut Controller,
    b: BrokerId,
    incarnation: u32,
    clean: bool,
    now: Millis,
) -> Result<u64, ErrorCode> {
    let mut fx = Effects::default();
    let msg = Message::BrokerRegistration {
        broker: b,
        incarnation,
        clean_shutdown: clean,
    };
    c.handle_message(now, NodeId::Broker(b), msg, &mut fx);
    fx.sends
        .iter()
        .find_map(|(_, m)| match m {
            Message::BrokerRegistrationResponse { result, .. } => Some(*result),
            _ => None,
        })
        .expect("answered")
}

fn alter(
    c: &mut Controller,
    from: BrokerId,
    partition_epoch: u32,
    isr: &[(BrokerId, Option<u64>)],
) -> Result<PartitionState, ErrorCode> {
    let msg = Message::AlterPartition {
        tp: tp(),
        request: 1,
        broker_epoch: Some(epoch_of(c, from)),
        leader_epoch: c.partitions()[&tp()].leader_epoch,
        partition_epoch,
        new_isr: isr.to_vec(),
    };
    let mut fx = Effects::default();
    c.handle_message(10, NodeId::Broker(from), msg, &mut fx);
    fx.sends
        .iter()
        .find_map(|(_, m)| match m {
            Message::AlterPartitionResponse { result, .. } => Some(result.clone()),
            _ => None,
        })
        .expect("answered")
}

fn shrink_isr_to_leader(c: &mut Controller) {
    let st = alter(c, 1, 0, &[(1, Some(1))]).expect("accepted");
    assert_eq!(st.isr, vec![1]);
}

fn keep_alive(c: &mut Controller, brokers: &[BrokerId], until: Millis) {
    for t in (2_000..=until).step_by(2_000) {
        for &b in brokers {
            heartbeat(c, b, t);
        }
    }
}

#[test]
fn a_silent_broker_is_fenced_at_its_session_timeout_and_an_isr_member_takes_over() {
    let mut c = controller(false);
    keep_alive(&mut c, &[2, 3], 8_000);
    assert_eq!(
        c.next_deadline(),
        Some(9_000),
        "broker-1 last heard of at 0"
    );
    let mut fx = Effects::default();
    c.handle_timeout(9_000, &mut fx);
    let st = &c.partitions()[&tp()];
    assert_eq!(
        (st.leader, st.leader_epoch, st.isr.clone()),
        (Some(2), 1, vec![2, 3])
    );
    assert!(fx.events.contains(&Event::BrokerFenced { broker: 1 }));
}

/// `PartitionChangeBuilder` without the ELR (`eligible.leader.replicas.version=0`): the ISR
/// never empties, so the fenced last member stays in it and the partition is offline
/// until it returns.
#[test]
fn without_the_elr_the_last_isr_member_stays_and_the_partition_waits_for_it() {
    let features = ClusterFeatures {
        eligible_leader_replicas: false,
        ..ClusterFeatures::default()
    };
    let mut c = controller_with(false, 1, features);
    shrink_isr_to_leader(&mut c);
    keep_alive(&mut c, &[2, 3], 8_000);
    c.handle_timeout(9_000, &mut Effects::default());
    let st = &c.partitions()[&tp()];
    assert_eq!(
        (st.leader, st.isr.clone()),
        (None, vec![1]),
        "the last ISR member stays"
    );
    heartbeat(&mut c, 1, 12_000);
    assert_eq!(c.partitions()[&tp()].leader, Some(1));
    assert_eq!(
        c.partitions()[&tp()].leader_epoch,
        2,
        "one bump to offline, one to the new leader"
    );
}

#[test]
fn with_unclean_election_a_live_replica_outside_the_isr_is_elected() {
    let mut c = controller(true);
    shrink_isr_to_leader(&mut c);
    keep_alive(&mut c, &[2, 3], 8_000);
    let mut fx = Effects::default();
    c.handle_timeout(9_000, &mut fx);
    let st = &c.partitions()[&tp()];
    assert_eq!((st.leader, st.isr.clone()), (Some(2), vec![2]));
    assert!(fx.events.iter().any(|e| matches!(
        e,
        Event::PartitionChanged {
            reason: ChangeReason::UncleanElection,
            ..
        }
    )));
}

/// `ReplicationControlManager.validateAlterPartitionData`, in Kafka's order.
#[test]
fn an_isr_change_is_checked_in_kafkas_order() {
    let mut c = controller(false);
    assert_eq!(
        alter(&mut c, 1, 7, &[(1, Some(1))]),
        Err(ErrorCode::NotController),
        "a partition epoch from the future"
    );
    assert_eq!(
        alter(&mut c, 2, 0, &[(2, Some(1))]),
        Err(ErrorCode::InvalidRequest),
        "not the leader"
    );
    shrink_isr_to_leader(&mut c);
    assert_eq!(
        alter(&mut c, 1, 0, &[(1, Some(1)), (2, Some(1))]),
        Err(ErrorCode::InvalidUpdateVersion),
        "a stale partition epoch"
    );
    assert_eq!(
        alter(&mut c, 1, 1, &[(1, Some(1)), (2, Some(0))]),
        Err(ErrorCode::IneligibleReplica),
        "KIP-903: a member's broker epoch from an earlier incarnation"
    );
    assert_eq!(
        alter(&mut c, 1, 1, &[(1, Some(1)), (2, Some(1))]).map(|s| s.isr),
        Ok(vec![1, 2])
    );
    let stale_sender = Message::AlterPartition {
        tp: tp(),
        request: 9,
        broker_epoch: Some(0),
        leader_epoch: 0,
        partition_epoch: 2,
        new_isr: vec![(1, Some(1))],
    };
    let mut fx = Effects::default();
    c.handle_message(20, NodeId::Broker(1), stale_sender, &mut fx);
    assert!(fx.sends.iter().any(|(_, m)| matches!(
        m,
        Message::AlterPartitionResponse {
            result: Err(ErrorCode::StaleBrokerEpoch),
            ..
        }
    )));
}

/// `ClusterControlManager.registerBroker`: a new incarnation waits while the old one's
/// session is valid, then gets a new broker epoch and stays fenced until it has caught up.
#[test]
fn a_restarted_broker_registers_anew_and_is_fenced_until_caught_up() {
    let mut c = controller(false);
    assert_eq!(
        register(&mut c, 2, 2, false, 1_000),
        Err(ErrorCode::DuplicateBrokerRegistration)
    );
    keep_alive(&mut c, &[1, 3], 8_000);
    c.handle_timeout(9_000, &mut Effects::default());
    let epoch = register(&mut c, 2, 2, false, 9_500).expect("the old session expired");
    assert!(epoch > 1, "a new broker epoch");
    assert!(c.disk.registrations[&2].fenced, "fenced until caught up");
    let behind = Message::BrokerHeartbeat {
        broker: 2,
        broker_epoch: epoch,
        metadata_version: epoch - 1,
    };
    c.handle_message(9_600, NodeId::Broker(2), behind, &mut Effects::default());
    assert!(c.disk.registrations[&2].fenced);
    let old = Message::BrokerHeartbeat {
        broker: 2,
        broker_epoch: 1,
        metadata_version: 1_000,
    };
    c.handle_message(9_700, NodeId::Broker(2), old, &mut Effects::default());
    assert!(
        c.disk.registrations[&2].fenced,
        "a heartbeat of the old incarnation is stale"
    );
    heartbeat(&mut c, 2, 9_800);
    assert!(!c.disk.registrations[&2].fenced);
}

#[test]
fn in_zookeeper_mode_a_quick_restart_keeps_its_registration() {
    let features = ClusterFeatures {
        metadata: MetadataMode::Zookeeper,
        eligible_leader_replicas: false,
        transaction_version: 2,
    };
    let mut c = controller_with(false, 1, features);
    assert!(register(&mut c, 2, 2, false, 1_000).is_ok());
    assert!(!c.disk.registrations[&2].fenced);
    assert_eq!(c.partitions()[&tp()].isr, vec![1, 2, 3]);
}

/// KIP-966 (`PartitionChangeBuilder.maybePopulateTargetElr`, `electAnyLeader`): below
/// min ISR, who leaves the ISR joins the ELR; with the ISR empty, an ELR member that
/// returns is elected cleanly.
#[test]
fn replicas_leaving_a_small_isr_join_the_elr_and_can_lead_again() {
    let mut c = controller_with(false, 2, ClusterFeatures::default());
    keep_alive(&mut c, &[1, 2], 8_000);
    c.handle_timeout(9_000, &mut Effects::default());
    let st = c.partitions()[&tp()].clone();
    assert_eq!(
        (st.isr, st.elr),
        (vec![1, 2], vec![]),
        "ISR at min ISR: no ELR"
    );
    keep_alive(&mut c, &[1], 16_000);
    c.handle_timeout(17_000, &mut Effects::default());
    let st = c.partitions()[&tp()].clone();
    assert_eq!((st.leader, st.isr, st.elr), (Some(1), vec![1], vec![2]));
    c.handle_timeout(25_000, &mut Effects::default());
    let st = c.partitions()[&tp()].clone();
    assert_eq!(
        (st.leader, st.isr, st.elr.clone()),
        (None, vec![], vec![1, 2]),
        "the ISR may empty"
    );
    heartbeat(&mut c, 2, 26_000);
    let st = c.partitions()[&tp()].clone();
    assert_eq!(
        (st.leader, st.isr, st.elr),
        (Some(2), vec![2], vec![1]),
        "a clean election from the ELR"
    );
}

/// `handleBrokerShutdown(id, isClean=false)`: a broker that registers again after an
/// unclean shutdown leaves the ELR too (it may have lost unflushed records), so the
/// partition waits for a replica that is still eligible rather than elect it.
#[test]
fn an_unclean_restart_leaves_the_elr_and_the_partition_waits_for_an_eligible_replica() {
    let mut c = controller_with(false, 2, ClusterFeatures::default());
    keep_alive(&mut c, &[1], 16_000);
    c.handle_timeout(9_000, &mut Effects::default());
    let st = c.partitions()[&tp()].clone();
    assert_eq!(
        (st.isr, st.elr),
        (vec![1], vec![3]),
        "only who left below min ISR joins"
    );
    c.handle_timeout(25_000, &mut Effects::default());
    let st = c.partitions()[&tp()].clone();
    assert_eq!((st.leader, st.isr, st.elr), (None, vec![], vec![1, 3]));
    let epoch = register(&mut c, 1, 2, false, 26_000).expect("its session expired");
    assert_eq!(c.partitions()[&tp()].elr, vec![3], "out of the ELR");
    let hb = Message::BrokerHeartbeat {
        broker: 1,
        broker_epoch: epoch,
        metadata_version: 1_000,
    };
    c.handle_message(26_100, NodeId::Broker(1), hb, &mut Effects::default());
    assert_eq!(
        c.partitions()[&tp()].leader,
        None,
        "broker-1 may have lost records: wait"
    );
    heartbeat(&mut c, 3, 27_000);
    let st = c.partitions()[&tp()].clone();
    assert_eq!((st.leader, st.isr, st.elr), (Some(3), vec![3], vec![]));
    assert!(st.leader_epoch >= 2);
}
