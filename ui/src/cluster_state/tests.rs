//! The fold's tests: checkpoints, branches, transactions and storage.

use super::*;
use crate::sim_thread::Reply;
use kafkascope_sim::command::{Command, Target, TimedCommand};
use kafkascope_sim::host::Simulation;
use kafkascope_sim::trace::CrashKind;
use kafkascope_sim::trace::TraceEntry;

fn recorded(name: &str, text: &str, extra: &[TimedCommand]) -> (Session, Vec<TraceEntry>) {
    let scenario = kafkascope_sim::scenario::parse(name, text).unwrap();
    let mut sim = Simulation::new(&scenario, scenario.seed);
    for c in extra {
        sim.schedule(c.clone());
    }
    sim.run_to_end();
    let entries = sim.into_trace().entries;
    let session = Session::new(name, scenario.clone(), scenario.seed);
    (session, entries)
}

fn absorb(session: &mut Session, entries: Vec<TraceEntry>) {
    let to = session.end();
    session.absorb(Reply::Entries {
        generation: session.generation,
        entries,
        simulated_to: to,
    });
}

/// `c` is the cluster a fold from the start gives at `t`.
fn assert_same_as_fresh(c: &ClusterAt, session: &Session, t: Millis) {
    let mut fresh = ClusterAt::default();
    fresh.seek(session, t, &mut Checkpoints::default());
    assert_eq!(c.applied, fresh.applied, "at {t}");
    assert_eq!(c.replay.replicas, fresh.replay.replicas, "at {t}");
    assert_eq!(c.replay.partitions, fresh.replay.partitions, "at {t}");
    assert_eq!(c.replay.nodes, fresh.replay.nodes, "at {t}");
    assert_eq!(c.in_flight, fresh.in_flight, "at {t}");
    assert_eq!(c.producers, fresh.producers, "at {t}");
    assert_eq!(c.consumers, fresh.consumers, "at {t}");
    assert_eq!(c.txns, fresh.txns, "at {t}");
    assert_eq!(c.start_moves, fresh.start_moves, "at {t}");
}

#[test]
fn seeking_through_checkpoints_folds_the_same_cluster_as_from_the_start() {
    let text = include_str!("../../../scenarios/acks1-leader-crash.toml");
    let (mut session, entries) = recorded("acks1", text, &[]);
    absorb(&mut session, entries);
    for every in [Checkpoints::EVERY, 500] {
        let mut checkpoints = Checkpoints::every(every);
        let mut c = ClusterAt::default();
        for t in [29_000, 3_000, 25_000, 24_000, 100, 29_999, 20_050] {
            c.seek(&session, t, &mut checkpoints);
            assert_same_as_fresh(&c, &session, t);
        }
        assert!(!checkpoints.is_empty());
    }
}

#[test]
fn checkpoints_after_a_branch_fold_the_new_future() {
    // acks1-leader-crash truncates broker-1's log when it comes back: appends and
    // truncations below earlier checkpoints. Rewinding, branching (a power loss) and
    // seeking across the new future must fold what a fresh fold does.
    let text = include_str!("../../../scenarios/acks1-leader-crash.toml");
    let (mut session, entries) = recorded("acks1", text, &[]);
    absorb(&mut session, entries);
    let mut checkpoints = Checkpoints::every(300);
    let mut c = ClusterAt::default();
    c.seek(&session, 29_999, &mut checkpoints);
    c.seek(&session, 9_000, &mut checkpoints);
    let crash = TimedCommand {
        at: 9_001,
        command: Command::Crash {
            target: Target::Node(NodeId::Broker(2)),
            kind: CrashKind::PowerLoss,
        },
    };
    session.branch(crash.clone());
    checkpoints.truncate(session.entries.len());
    let (_, branched) = recorded("acks1", text, std::slice::from_ref(&crash));
    let kept = session.entries.len();
    absorb(&mut session, branched[kept..].to_vec());
    for t in [29_999, 12_000, 9_500, 25_000, 2_000, 29_000] {
        c.seek(&session, t, &mut checkpoints);
        assert_same_as_fresh(&c, &session, t);
    }
}

/// A transactional producer that crashes mid-transaction and restarts: its open
/// transaction is aborted when it initializes again.
const TRANSACTIONAL: &str = r#"
[scenario]
name = "txn"
seed = 1
duration = "8s"

[cluster]
brokers = 3

[[topics]]
name = "payments"
partitions = 2
replication.factor = 3

[[producers]]
name = "pay"
topic = "payments"
rate = 20
keys = 4
start = "1s"
stop = "7s"
transactional.id = "pay-1"
sim.transaction.interval.ms = 500

[network]
latency = "1ms..3ms"

[[faults]]
at = "4200ms"
action = "crash"
target = "producer-pay"

[[faults]]
at = "5s"
action = "restart"
target = "producer-pay"
"#;

#[test]
fn a_transactional_run_folds_markers_aborted_records_and_the_lso() {
    let (mut session, entries) = recorded("txn", TRANSACTIONAL, &[]);
    absorb(&mut session, entries);
    let mut checkpoints = Checkpoints::every(500);
    let mut c = ClusterAt::default();
    let mut held_back = false;
    for t in (1_000..8_000).step_by(37) {
        c.seek(&session, t, &mut checkpoints);
        for ((tp, _), r) in &c.replay.replicas {
            if let Some(lso) = c.txns.lso(tp, r.high_watermark) {
                assert!(lso <= r.high_watermark, "{tp} at {t}");
                held_back |= lso < r.high_watermark;
            }
        }
    }
    assert!(
        held_back,
        "an open transaction never held an LSO below the HW"
    );
    c.seek(&session, session.end(), &mut checkpoints);
    assert_same_as_fresh(&c, &session, session.end());
    let payments: Vec<_> = c
        .replay
        .replicas
        .iter()
        .filter(|((tp, _), _)| &*tp.topic == "payments")
        .collect();
    // Markers are cells of every replica's log, and the crash left an aborted transaction.
    let markers = |commit: bool| {
        payments
            .iter()
            .flat_map(|(_, r)| r.log.iter())
            .filter_map(|v| crate::transactions::Marker::parse(v))
            .filter(|m| m.commit == commit)
            .count()
    };
    assert!(markers(true) > 0 && markers(false) > 0);
    let aborted = payments.iter().any(|((tp, _), r)| {
        let p = c.txns.partition(tp).unwrap();
        r.log
            .iter()
            .enumerate()
            .any(|(o, v)| p.is_aborted(o as u64, v, r.log.len() as u64))
    });
    assert!(aborted, "no record of the aborted transaction is marked");
    // Every transaction ended: the LSO is the HW again.
    for ((tp, _), r) in &payments {
        assert_eq!(c.txns.lso(tp, r.high_watermark), Some(r.high_watermark));
    }
    let pay = &c.txns.ids["pay-1"];
    assert!(pay.coordinator.is_some() && pay.producer_id.is_some());
    assert_eq!(pay.producer, Some(NodeId::Producer(0)));
    // `__transaction_state` is there, but has no LSO of its own.
    assert!(c
        .replay
        .partitions
        .keys()
        .any(|tp| &*tp.topic == "__transaction_state"));
    assert!(c.txns.partitions.keys().all(|tp| &*tp.topic == "payments"));
}

#[test]
fn checkpoints_share_the_log_prefix_they_have_in_common() {
    // Nine brokers with 2000 records/s: one checkpoint every 2000 entries.
    let text = include_str!("../../tests/fixtures/nine-brokers.toml");
    let (mut session, entries) = recorded("nine", text, &[]);
    absorb(&mut session, entries);
    let mut checkpoints = Checkpoints::every(2_000);
    let mut c = ClusterAt::default();
    c.seek(&session, session.end(), &mut checkpoints);
    let n = checkpoints.len();
    assert!(n >= 20, "{n} checkpoints");
    // Two consecutive checkpoints hold the same nodes for a log's common prefix.
    let (a, b) = (
        checkpoints.logs(n - 2).unwrap(),
        checkpoints.logs(n - 1).unwrap(),
    );
    let shared = a
        .iter()
        .filter(|(k, l)| l.len() > 2 * crate::shared_log::WIDTH && b[*k].shares_first_leaf_with(l))
        .count();
    // 90 replicas, of 25 partitions that have records (the fixture's 64 keys miss 5).
    assert!(shared >= 70, "{shared} of {} replica logs shared", a.len());
    // All of them hold little more than one copy of the final logs, where full copies
    // would hold about n / 2 of them.
    let live: usize = c
        .replay
        .replicas
        .values()
        .map(|r| r.log.len() * size_of::<Arc<str>>())
        .sum();
    let bytes = checkpoints.heap_bytes();
    // What they hold is the records once, plus per checkpoint and replica the few nodes
    // on the path to the log's end (at most a leaf and a branch per level, < 2 kB), however
    // long the logs are; full copies would hold about n / 2 times the final logs.
    let replicas = a.len();
    assert!(
        bytes.logs < 2 * live + n * replicas * 2048,
        "checkpoints' logs hold {} bytes, the final logs {live}",
        bytes.logs
    );
    assert!(
        bytes.logs_unshared > 4 * bytes.logs,
        "copies would hold {}, shared {}",
        bytes.logs_unshared,
        bytes.logs
    );
    assert!(bytes.logs_unshared > n / 4 * live);
    // And rewinding through them still gives the cluster a fold from the start gives.
    for t in [7_000, 4_100, 300, 7_999] {
        c.seek(&session, t, &mut checkpoints);
        assert_same_as_fresh(&c, &session, t);
    }
}

fn appended(broker: BrokerId, tp: &TopicPartition, base: u64, n: u64) -> Event {
    Event::Appended {
        broker,
        tp: tp.clone(),
        base_offset: base,
        leader_epoch: 0,
        values: (base..base + n)
            .map(|o| Arc::from(format!("a-{o}")))
            .collect(),
        leader: broker == 1,
    }
}

#[test]
fn segment_events_move_the_log_start_and_the_segments() {
    let tp = TopicPartition::new("events", 0);
    let mut c = ClusterAt::default();
    c.apply(100, &appended(1, &tp, 0, 10));
    c.apply(
        200,
        &Event::SegmentRolled {
            broker: 1,
            tp: tp.clone(),
            base_offset: 4,
        },
    );
    c.apply(
        300,
        &Event::SegmentRolled {
            broker: 1,
            tp: tp.clone(),
            base_offset: 8,
        },
    );
    let r = c.replay.replica(&tp, 1).unwrap();
    assert_eq!((r.segments.clone(), r.log_start_offset), (vec![0, 4, 8], 0));
    assert!(c.start_move(&tp, 1).is_none());

    // Retention deletes the oldest segment: the log start is the next one's base, and the
    // deleted records stay in the log as history.
    c.apply(
        400,
        &Event::SegmentsDeleted {
            broker: 1,
            tp: tp.clone(),
            reason: DeletionReason::RetentionMs,
            segments: vec![0],
            records: 4,
            log_start_offset: 4,
        },
    );
    let r = c.replay.replica(&tp, 1).unwrap();
    assert_eq!((r.segments.clone(), r.log_start_offset), (vec![4, 8], 4));
    assert_eq!(r.log.len(), 10);
    assert_eq!(
        c.start_move(&tp, 1),
        Some(&StartMove {
            at: 400,
            from: 0,
            to: 4,
            cause: StartCause::Deleted(DeletionReason::RetentionMs),
            segments: 1,
            records: 4,
        })
    );

    // DeleteRecords moves the start inside a segment, which stays until retention's next
    // check deletes it without moving the start again.
    c.apply(
        500,
        &Event::LogStartIncremented {
            broker: 1,
            tp: tp.clone(),
            log_start_offset: 6,
            reason: LogStartReason::ClientRecordDeletion,
        },
    );
    let m = *c.start_move(&tp, 1).unwrap();
    assert_eq!(
        (m.from, m.to, m.cause, m.segments),
        (
            4,
            6,
            StartCause::Moved(LogStartReason::ClientRecordDeletion),
            0
        )
    );
    assert_eq!(c.replay.replica(&tp, 1).unwrap().segments, vec![4, 8]);
    c.apply(
        600,
        &Event::SegmentsDeleted {
            broker: 1,
            tp: tp.clone(),
            reason: DeletionReason::LogStartOffset,
            segments: vec![4],
            records: 4,
            log_start_offset: 6,
        },
    );
    let r = c.replay.replica(&tp, 1).unwrap();
    assert_eq!((r.segments.clone(), r.log_start_offset), (vec![8], 6));
    let m = *c.start_move(&tp, 1).unwrap();
    assert_eq!((m.at, m.from, m.to, m.segments), (600, 6, 6, 1));

    // A follower far behind starts over at its leader's log start: the offsets it never
    // held are blanks, its one segment begins there, and the fold knows the log changed
    // from its old end.
    c.apply(700, &appended(2, &tp, 0, 2));
    c.dirty = Dirty::default();
    c.apply(
        800,
        &Event::LogStartIncremented {
            broker: 2,
            tp: tp.clone(),
            log_start_offset: 6,
            reason: LogStartReason::TruncatedFully,
        },
    );
    let r = c.replay.replica(&tp, 2).unwrap();
    assert_eq!((r.segments.clone(), r.log_start_offset), (vec![6], 6));
    assert_eq!(r.log.len(), 6);
    assert_eq!(&*r.log[1], "a-1");
    assert_eq!(&*r.log[2], "");
    assert_eq!(c.dirty.low.get(&(tp.clone(), 2)), Some(&2));
    let m = *c.start_move(&tp, 2).unwrap();
    assert_eq!(
        (m.from, m.to, m.cause),
        (0, 6, StartCause::Moved(LogStartReason::TruncatedFully))
    );
    // Other replicas are untouched.
    assert_eq!(c.start_move(&tp, 3), None);
}

#[test]
fn a_retention_run_folds_segments_and_log_starts_through_checkpoints() {
    let text = kafkascope_sim::library::find("retention-replay").unwrap();
    let (mut session, entries) = recorded("retention", text, &[]);
    absorb(&mut session, entries);
    let mut checkpoints = Checkpoints::every(2_000);
    let mut c = ClusterAt::default();
    let tp = TopicPartition::new("events", 0);
    // Segments roll every 5 s; retention has deleted the oldest on every replica by 30 s.
    c.seek(&session, 30_000, &mut checkpoints);
    for b in 1..=3 {
        let r = c.replay.replica(&tp, b).unwrap();
        assert!(r.log_start_offset > 0, "broker-{b} at 30 s");
        assert_eq!(r.segments.first(), Some(&r.log_start_offset), "broker-{b}");
        let m = c.start_move(&tp, b).unwrap();
        assert_eq!(m.cause, StartCause::Deleted(DeletionReason::RetentionMs));
        assert!(m.segments > 0 && m.records > 0 && m.to > m.from);
    }
    // DeleteRecords at 50 s moved every replica's start to the leader's HW then, and the
    // segments below it went; a new one rolled at about 55 s.
    c.seek(&session, 56_000, &mut checkpoints);
    let leader = c.replay.authoritative(&tp).unwrap().1.clone();
    assert!(leader.log_start_offset > 900, "{}", leader.log_start_offset);
    assert_eq!(leader.segments.len(), 2, "{:?}", leader.segments);
    for b in 1..=3 {
        let r = c.replay.replica(&tp, b).unwrap();
        assert_eq!(r.log_start_offset, leader.log_start_offset, "broker-{b}");
    }
    for t in [55_000, 12_000, 41_000, 69_999, 50_010] {
        c.seek(&session, t, &mut checkpoints);
        assert_same_as_fresh(&c, &session, t);
    }
}
