//! Random group membership changes and faults against consumer groups.
//!
//! Kafka's promises for a group whose members process, then commit (at-least-once): no two
//! members of the current generation own a partition at once, no committed record a member
//! reached is skipped, polls within an assignment never go back or jump, committed offsets never
//! move backwards, and nobody reads above the high watermark. Duplicates are allowed (that is
//! what at-least-once means) and are not checked. The nemesis (the one `kafkascope explore`
//! uses) stops, crashes (also in the middle of a batch), pauses and restarts members, and
//! crashes brokers, including the group coordinator; two members also join late; the cluster itself runs the safe configuration (acks=all,
//! min.insync.replicas=2, no unclean election).
//!
//! The same schedules with commit-then-process (at-most-once) must skip records in some
//! seeds, or the nemesis would prove nothing.
//!
//! Each schedule is written as a scenario file, so a failing seed is saved and replayed with
//! the printed command. `PROPERTY_SEEDS=n` runs more seeds.

mod property_support;

use std::fmt::Write as _;

use kafkascope::explore::nemesis::{FaultKind, Nemesis, NemesisFault};
use kafkascope_sim::command::{Command, Target, TimedCommand};
use kafkascope_sim::ids::NodeId;
use kafkascope_sim::report;
use kafkascope_sim::scenario::{self, CheckerId, Scenario};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const CONSUMERS: u32 = 4;

/// The checkers that must hold for process-then-commit under any schedule.
const MUST_HOLD: [&str; 5] = [
    "no_double_assignment",
    "no_skipped_records",
    "monotonic_polls",
    "no_commit_regression",
    "no_read_above_hw",
];

fn seeds() -> u64 {
    property_support::seeds(16)
}

/// The nemesis `kafkascope explore` uses, with the membership faults (members crash, crash
/// mid-batch, close, stall, and come back) and crashes of partition leaders and of the group
/// coordinator.
fn nemesis() -> Nemesis {
    let fault = |kind, every, lasts| NemesisFault { kind, every, lasts };
    Nemesis {
        from: 3_000,
        until: 33_000,
        faults: vec![
            fault(FaultKind::CrashConsumer, 20_000, 6_000),
            fault(FaultKind::CrashConsumerMidBatch, 20_000, 6_000),
            fault(FaultKind::StopConsumer, 25_000, 6_000),
            fault(FaultKind::PauseConsumer, 25_000, 10_000),
            fault(FaultKind::CrashLeader, 30_000, 6_000),
            fault(FaultKind::CrashCoordinator, 40_000, 6_000),
        ],
    }
}

fn schedule(seed: u64, commit: &str) -> Scenario {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let assignor = ["range", "roundrobin", "sticky", "cooperative-sticky"][rng.gen_range(0..4)];
    let mut s = String::new();
    let _ = write!(
        s,
        r#"[scenario]
name = "property: a process-then-commit group under random membership changes, seed {seed}"
seed = {seed}
duration = "50s"

[cluster]
brokers = 3

[broker]
min.insync.replicas = 2
replica.lag.time.max.ms = 5000

[[topics]]
name = "orders"
partitions = 5
replication.factor = 3

[[producers]]
name = "shop"
topic = "orders"
rate = 60
keys = 10
start = "1s"
stop = "35s"
"#
    );
    for c in 1..=CONSUMERS {
        let start = if c <= 2 {
            0
        } else {
            rng.gen_range(2_000..20_000)
        };
        let _ = write!(
            s,
            r#"
[[consumers]]
name = "c{c}"
group = "billing"
topic = "orders"
auto.offset.reset = "earliest"
enable.auto.commit = false
partition.assignment.strategy = "{assignor}"
session.timeout.ms = 6000
heartbeat.interval.ms = 1000
max.poll.interval.ms = 8000
max.poll.records = {mpr}
process = "{us}us"
commit = "{commit}"
start = "{start}ms"
"#,
            mpr = rng.gen_range(5..60),
            us = rng.gen_range(200..6_000),
        );
    }
    s.push_str("\n[network]\nlatency = \"1ms..5ms\"\n");
    let mut sc = scenario::parse("property", &s)
        .unwrap_or_else(|e| panic!("generated file is invalid:\n{e}\n{s}"));
    let mut faults = nemesis().schedule(&sc, seed);
    // Everyone comes back, so that the group can finish the log.
    for b in 1..=3 {
        faults.push(TimedCommand {
            at: 36_000,
            command: Command::Restart {
                target: Target::Node(NodeId::Broker(b)),
            },
        });
    }
    for c in 0..CONSUMERS as u16 {
        let target = Target::Node(NodeId::Consumer(c));
        faults.push(TimedCommand {
            at: 36_000,
            command: Command::Resume {
                target: target.clone(),
            },
        });
        faults.push(TimedCommand {
            at: 37_000,
            command: Command::Restart { target },
        });
    }
    sc.faults = faults;
    sc
}

fn checker(name: &str) -> CheckerId {
    CheckerId::ALL
        .into_iter()
        .find(|c| c.name() == name)
        .unwrap_or_else(|| panic!("no checker named {name}"))
}

#[test]
fn a_process_then_commit_group_never_skips_or_double_assigns_under_random_membership_changes() {
    let mut failures = Vec::new();
    let mut rebalanced = 0;
    for seed in 0..seeds() {
        let sc = schedule(seed, "after");
        let text = scenario::to_toml(&sc);
        let run = report::run(&sc, seed);
        let broken: Vec<&str> = MUST_HOLD
            .into_iter()
            .filter(|n| !run.findings.verdict(checker(n)).holds())
            .collect();
        if !broken.is_empty() {
            failures.push(format!(
                "seed {seed}: {} violated\n  reproduce: {}",
                broken.join(", "),
                property_support::save(&format!("groups-{seed}"), &text)
            ));
        }
        let generations = run
            .trace
            .entries
            .iter()
            .filter(|e| {
                matches!(
                    e.event,
                    kafkascope_sim::trace::Event::GenerationStarted { .. }
                )
            })
            .count();
        if generations > 2 {
            rebalanced += 1;
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        rebalanced * 2 > seeds(),
        "the nemesis should make most groups rebalance; only {rebalanced} of {} did",
        seeds()
    );
}

#[test]
fn the_same_nemesis_makes_a_commit_then_process_group_skip_records() {
    let mut skipping = 0;
    for seed in 0..seeds() {
        let sc = schedule(seed, "before");
        let text = scenario::to_toml(&sc);
        let run = report::run(&sc, seed);
        if !run.findings.verdict(checker("no_skipped_records")).holds() {
            skipping += 1;
        }
        assert!(
            run.findings
                .verdict(checker("no_double_assignment"))
                .holds(),
            "seed {seed}: double assignment\n  reproduce: {}",
            property_support::save(&format!("groups-before-{seed}"), &text)
        );
    }
    assert!(
        skipping > 0,
        "no seed out of {} skipped a record with commit-then-process",
        seeds()
    );
    eprintln!(
        "commit-then-process skipped records in {skipping} of {} seeds",
        seeds()
    );
}
