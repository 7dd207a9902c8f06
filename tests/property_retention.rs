//! Random faults against a topic with short retention.
//!
//! Retention deletes segments on every replica independently, followers learn the leader's
//! log start from fetch responses, and a broker that was down longer than the retention
//! window comes back behind its leader's log start and must empty its log and copy from
//! there. Under crashes, pauses and partitions of brokers (acks=all, min.insync.replicas=2,
//! RF 3) no acknowledged record may be lost other than by retention, replicas keep matching,
//! and a group that falls behind retention jumps forward without a skip counted against it.
//! Some seed must exercise each path: a follower starting over at the leader's log start, and
//! a group losing records to retention.
//!
//! Each schedule is written as a scenario file, so a failing seed is saved and replayed with
//! the printed command. `PROPERTY_SEEDS=n` runs more seeds.

mod property_support;

use std::fmt::Write as _;

use kafkascope::explore::nemesis::{FaultKind, Nemesis, NemesisFault};
use kafkascope_sim::command::{Command, Target, TimedCommand};
use kafkascope_sim::ids::NodeId;
use kafkascope_sim::report;
use kafkascope_sim::scenario::{self, CheckerId, Count, Scenario};
use kafkascope_sim::trace::{Event, LogStartReason};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn seeds() -> u64 {
    property_support::seeds(8)
}

fn nemesis() -> Nemesis {
    let fault = |kind, every, lasts| NemesisFault { kind, every, lasts };
    Nemesis {
        from: 2_000,
        until: 20_000,
        faults: vec![
            fault(FaultKind::CrashBroker, 8_000, 7_000),
            fault(FaultKind::CrashLeader, 10_000, 3_000),
            fault(FaultKind::Pause, 12_000, 3_000),
            fault(FaultKind::Partition, 12_000, 4_000),
        ],
    }
}

fn schedule(seed: u64) -> Scenario {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"[scenario]
name = "property: retention under random faults, seed {seed}"
seed = {seed}
duration = "35s"

[cluster]
brokers = 3

[broker]
min.insync.replicas = 2
replica.lag.time.max.ms = 3000
broker.session.timeout.ms = 3000
broker.heartbeat.interval.ms = 1000
log.retention.check.interval.ms = 500
log.initial.task.delay.ms = 500

[[topics]]
name = "clicks"
partitions = 2
replication.factor = 3
segment.ms = {segment}
retention.ms = {retention}

[[producers]]
name = "web"
topic = "clicks"
rate = 60
keys = 8
value_bytes = 3000
start = "1s"
stop = "28s"

[[consumers]]
name = "reports"
group = "reports"
topic = "clicks"
auto.offset.reset = "earliest"
enable.auto.commit = false
commit = "after"
max.poll.records = 10
process = "{process}ms"

[network]
latency = "1ms..4ms"
"#,
        segment = rng.gen_range(500..1_500),
        retention = rng.gen_range(2_000..5_000),
        process = rng.gen_range(10..40),
    );
    let mut sc = scenario::parse("property", &s)
        .unwrap_or_else(|e| panic!("generated file is invalid:\n{e}\n{s}"));
    let mut faults = nemesis().schedule(&sc, seed);
    for b in 1..=3 {
        let target = Target::Node(NodeId::Broker(b));
        faults.push(TimedCommand {
            at: 24_000,
            command: Command::Resume {
                target: target.clone(),
            },
        });
        faults.push(TimedCommand {
            at: 24_000,
            command: Command::Restart { target },
        });
    }
    faults.push(TimedCommand {
        at: 24_000,
        command: Command::Heal { between: None },
    });
    sc.faults = faults;
    sc
}

#[test]
fn retention_under_random_faults_loses_nothing_it_should_keep() {
    let mut failures = Vec::new();
    let (mut started_over, mut lost_to_retention) = (0, 0);
    for seed in 0..seeds() {
        let sc = schedule(seed);
        let text = scenario::to_toml(&sc);
        let run = report::run(&sc, seed);
        // At-least-once consumers reprocess after crashes; everything else must hold.
        let broken: Vec<&str> = run
            .findings
            .verdicts
            .iter()
            .filter(|v| !v.holds() && v.checker != CheckerId::NoReprocessing)
            .map(|v| v.checker.name())
            .collect();
        if !broken.is_empty() {
            failures.push(format!(
                "seed {seed}: {} violated\n  reproduce: {}",
                broken.join(", "),
                property_support::save(&format!("retention-{seed}"), &text)
            ));
        }
        if run.trace.entries.iter().any(|e| {
            matches!(
                e.event,
                Event::LogStartIncremented {
                    reason: LogStartReason::TruncatedFully,
                    ..
                }
            )
        }) {
            started_over += 1;
        }
        if run.findings.count(Count::LostToRetention) > 0 {
            lost_to_retention += 1;
        }
        assert!(
            run.findings.count(Count::DeletedByRetention) > 0,
            "seed {seed}: retention deleted nothing"
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        started_over > 0,
        "no seed of {} had a follower start over at its leader's log start",
        seeds()
    );
    assert!(
        lost_to_retention > 0,
        "no seed of {} had a group fall behind retention",
        seeds()
    );
    eprintln!(
        "{started_over} of {} seeds had a follower start over; {lost_to_retention} lost records to retention",
        seeds()
    );
}
