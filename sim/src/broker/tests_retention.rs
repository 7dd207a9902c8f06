//! Retention, DeleteRecords and the log start offset, driven message by message.

use super::tests::{broker, deliver, fetch, fetched, metadata, produce, state, tp};
use super::*;
use crate::config::Acks;
use crate::protocol::{ErrorCode, OffsetSpec};
use crate::trace::{DeletionReason, LogStartReason};

/// Segments roll every 10 ms of record time; records older than 100 ms go; the log manager
/// checks every 50 ms from the start.
fn short_retention() -> BrokerConfig {
    BrokerConfig {
        log_roll_ms: 10,
        log_retention_ms: Some(100),
        log_retention_check_interval_ms: 50,
        log_initial_task_delay_ms: 0,
        ..BrokerConfig::default()
    }
}

fn deletions(fx: &Effects) -> Vec<(DeletionReason, Vec<u64>, u64)> {
    fx.events
        .iter()
        .filter_map(|e| match e {
            Event::SegmentsDeleted {
                reason,
                segments,
                log_start_offset,
                ..
            } => Some((*reason, segments.clone(), *log_start_offset)),
            _ => None,
        })
        .collect()
}

fn log_starts(fx: &Effects) -> Vec<(u64, LogStartReason)> {
    fx.events
        .iter()
        .filter_map(|e| match e {
            Event::LogStartIncremented {
                log_start_offset,
                reason,
                ..
            } => Some((*log_start_offset, *reason)),
            _ => None,
        })
        .collect()
}

/// A single-replica leader holding `o0` (t=0), `o1` (t=20), `o2` (t=40): three segments.
fn leader_with_three_segments() -> Broker {
    let mut b = broker(1, TruncationMode::LeaderEpoch, short_retention());
    metadata(&mut b, 1, state(1, 0, &[1]), 0);
    for (i, now) in [0, 20, 40].into_iter().enumerate() {
        produce(
            &mut b,
            now,
            i as u64,
            Acks::Leader,
            &[&format!("o{i}")],
            None,
        );
    }
    assert_eq!(b.replicas[&tp()].log.segments().len(), 3);
    assert_eq!(b.replicas[&tp()].high_watermark, 3);
    b
}

/// `UnifiedLog.deleteRetentionMsBreachedSegments`: at 115 ms only the first segment's newest
/// record is over 100 ms old; at 150 ms every segment is, the active one included, so Kafka
/// rolls an empty segment first and the log starts at its end.
#[test]
fn retention_ms_deletes_old_segments_at_the_check_and_moves_the_log_start() {
    let mut b = leader_with_three_segments();
    let mut fx = Effects::default();
    b.handle_timeout(100, &mut fx);
    assert!(deletions(&fx).is_empty(), "nothing older than 100 ms yet");
    let mut fx = Effects::default();
    b.next_retention_check = 115;
    b.handle_timeout(115, &mut fx);
    assert_eq!(
        deletions(&fx),
        vec![(DeletionReason::RetentionMs, vec![0], 1)]
    );
    let mut fx = Effects::default();
    b.next_retention_check = 150;
    b.handle_timeout(150, &mut fx);
    assert_eq!(
        deletions(&fx),
        vec![(DeletionReason::RetentionMs, vec![1, 2], 3)]
    );
    assert!(fx.events.contains(&Event::SegmentRolled {
        broker: 1,
        tp: tp(),
        base_offset: 3
    }));
    let view = b.view(&tp()).unwrap();
    assert_eq!((view.log_start_offset, view.log_end_offset), (3, 3));
}

/// A fetch below the log start is OFFSET_OUT_OF_RANGE and says where the log starts;
/// ListOffsets EARLIEST answers the log start offset.
#[test]
fn below_the_log_start_a_fetch_is_out_of_range_and_earliest_is_the_log_start() {
    let mut b = leader_with_three_segments();
    b.delete_records(&tp(), Some(2), &mut Effects::default())
        .expect("below the HW");
    let f = fetched(&fetch(&mut b, 60, 2, 0, 0));
    assert_eq!(f[0].error, Some(ErrorCode::OffsetOutOfRange));
    assert_eq!(f[0].log_start_offset, 2);
    let f = fetched(&fetch(&mut b, 60, 2, 2, 0));
    assert_eq!(f[0].error, None);
    assert_eq!(f[0].records.len(), 1);
    let mut fx = Effects::default();
    b.handle_message(
        60,
        NodeId::Consumer(0),
        Message::ListOffsets {
            correlation: 7,
            partitions: vec![(tp(), Some(0), OffsetSpec::Earliest)],
        },
        &mut fx,
    );
    let answer = fx.sends.iter().find_map(|(_, m)| match m {
        Message::ListOffsetsResponse { partitions, .. } => Some(partitions[0].1),
        _ => None,
    });
    assert_eq!(answer, Some(Ok(2)));
}

/// `Partition.deleteRecordsOnLeader`: never above the high watermark; the segments below the
/// new start go at the next check (`deleteLogStartOffsetBreachedSegments`).
#[test]
fn delete_records_moves_the_start_at_once_and_the_segments_go_at_the_next_check() {
    let mut b = leader_with_three_segments();
    assert!(b
        .delete_records(&tp(), Some(9), &mut Effects::default())
        .unwrap_err()
        .starts_with("OFFSET_OUT_OF_RANGE"));
    let mut fx = Effects::default();
    assert_eq!(b.delete_records(&tp(), Some(2), &mut fx), Ok(2));
    assert_eq!(
        log_starts(&fx),
        vec![(2, LogStartReason::ClientRecordDeletion)]
    );
    let mut fx = Effects::default();
    b.handle_timeout(50, &mut fx);
    assert_eq!(
        deletions(&fx),
        vec![(DeletionReason::LogStartOffset, vec![0, 1], 2)]
    );
}

/// The follower's side: the fetch response carries the leader's log start, which the follower
/// adopts (`LeaderOffsetIncremented`); a follower whose log ends below it empties its log and
/// copies from there (`truncateFullyAndStartAt`).
#[test]
fn followers_follow_the_leaders_log_start_and_one_behind_it_starts_over_there() {
    let mut leader = broker(1, TruncationMode::LeaderEpoch, short_retention());
    metadata(&mut leader, 1, state(1, 0, &[1, 2]), 0);
    let mut follower = broker(2, TruncationMode::LeaderEpoch, short_retention());
    let first = metadata(&mut follower, 1, state(1, 0, &[1, 2]), 0);
    // The follower's first fetch, held: the leader writes and deletes without it.
    for (i, now) in [0, 20, 40].into_iter().enumerate() {
        produce(
            &mut leader,
            now,
            i as u64,
            Acks::Leader,
            &[&format!("o{i}")],
            None,
        );
    }
    leader
        .replicas
        .get_mut(&tp())
        .expect("leader")
        .high_watermark = 3;
    leader
        .delete_records(&tp(), Some(2), &mut Effects::default())
        .unwrap();
    let answer = deliver(&first, 2, &mut leader, 50);
    let fx = deliver(&answer, 1, &mut follower, 50);
    assert_eq!(log_starts(&fx), vec![(2, LogStartReason::TruncatedFully)]);
    let view = follower.view(&tp()).unwrap();
    assert_eq!((view.log_start_offset, view.log_end_offset), (2, 2));
    // Its next fetch (sent at once) asks from the leader's start and gets `o2`.
    let answer = deliver(&fx, 2, &mut leader, 60);
    let fx = deliver(&answer, 1, &mut follower, 60);
    let r = &follower.replicas[&tp()];
    assert_eq!(r.log.end_offset(), 3);
    assert_eq!(r.log.get(2).map(|r| &*r.data.value), Some("o2"));
    // The leader deletes more; the follower learns the new start from the next fetch.
    leader
        .delete_records(&tp(), Some(3), &mut Effects::default())
        .unwrap();
    // Caught up, the follower's fetch waits at the leader (replica.fetch.wait.max.ms) and
    // brings the new start when it is answered.
    let parked = deliver(&fx, 2, &mut leader, 70);
    assert!(fetched(&parked).is_empty(), "nothing new: the fetch waits");
    let mut answer = Effects::default();
    leader.handle_timeout(570, &mut answer);
    let fx = deliver(&answer, 1, &mut follower, 570);
    assert_eq!(
        log_starts(&fx),
        vec![(3, LogStartReason::LeaderOffsetIncremented)]
    );
}
