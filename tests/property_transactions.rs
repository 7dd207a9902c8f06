//! Random faults against a consume-transform-produce pipeline.
//!
//! With `processing.guarantee = "exactly_once_v2"` Kafka promises that each input record's
//! output is visible once to read_committed readers, whatever crashes: no feature is in the
//! output twice (aborted copies do not count), no read_committed reader returns an aborted
//! record, no transaction is left hanging, and no fenced producer's write commits. The nemesis
//! (the one `kafkascope explore` uses) crashes, pauses and restarts the processors (also in
//! the middle of a batch) and crashes brokers, including the transaction and group
//! coordinators.
//!
//! The same schedules with at_least_once must write some features twice in some seeds, or
//! the nemesis would prove nothing.
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
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const PROCESSORS: u16 = 3;

/// What exactly_once_v2 must keep under any schedule.
const MUST_HOLD: [CheckerId; 4] = [
    CheckerId::NoDuplicates,
    CheckerId::NoAbortedReads,
    CheckerId::NoHangingTransactions,
    CheckerId::NoZombieWrites,
];

fn seeds() -> u64 {
    property_support::seeds(10)
}

fn nemesis() -> Nemesis {
    let fault = |kind, every, lasts| NemesisFault { kind, every, lasts };
    Nemesis {
        from: 3_000,
        until: 28_000,
        faults: vec![
            fault(FaultKind::CrashConsumer, 12_000, 5_000),
            fault(FaultKind::CrashConsumerMidBatch, 12_000, 5_000),
            fault(FaultKind::PauseConsumer, 20_000, 9_000),
            fault(FaultKind::CrashLeader, 20_000, 5_000),
            fault(FaultKind::CrashCoordinator, 25_000, 5_000),
        ],
    }
}

fn schedule(seed: u64, guarantee: &str) -> Scenario {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"[scenario]
name = "property: a {guarantee} stream processor under random faults, seed {seed}"
seed = {seed}
duration = "45s"

[cluster]
brokers = 3

[broker]
min.insync.replicas = 2
replica.lag.time.max.ms = 5000
broker.session.timeout.ms = 4000
broker.heartbeat.interval.ms = 1000

[[topics]]
name = "clicks"
partitions = 4
replication.factor = 3

[[topics]]
name = "features"
partitions = 2
replication.factor = 3

[[producers]]
name = "web"
topic = "clicks"
rate = 50
keys = 12
start = "1s"
stop = "25s"

[[consumers]]
name = "model"
group = "model"
topic = "features"
auto.offset.reset = "earliest"
isolation.level = "read_committed"
"#
    );
    for c in 1..=PROCESSORS {
        let _ = write!(
            s,
            r#"
[[consumers]]
name = "p{c}"
group = "features"
topic = "clicks"
auto.offset.reset = "earliest"
session.timeout.ms = 6000
heartbeat.interval.ms = 1000
max.poll.interval.ms = 8000
max.poll.records = {mpr}
process = "{us}us"
auto.commit.interval.ms = 2000

[consumers.output]
topic = "features"
transform = "enrich"
processing.guarantee = "{guarantee}"
"#,
            mpr = rng.gen_range(5..50),
            us = rng.gen_range(500..6_000),
        );
    }
    s.push_str("\n[network]\nlatency = \"1ms..5ms\"\n");
    let mut sc = scenario::parse("property", &s)
        .unwrap_or_else(|e| panic!("generated file is invalid:\n{e}\n{s}"));
    let mut faults = nemesis().schedule(&sc, seed);
    // Everyone comes back, so that the pipeline can finish its input.
    for b in 1..=3 {
        faults.push(TimedCommand {
            at: 30_000,
            command: Command::Restart {
                target: Target::Node(NodeId::Broker(b)),
            },
        });
    }
    for c in 0..=PROCESSORS {
        let target = Target::Node(NodeId::Consumer(c));
        faults.push(TimedCommand {
            at: 30_000,
            command: Command::Resume {
                target: target.clone(),
            },
        });
        faults.push(TimedCommand {
            at: 31_000,
            command: Command::Restart { target },
        });
    }
    sc.faults = faults;
    sc
}

#[test]
fn an_exactly_once_pipeline_writes_every_output_once_under_random_faults() {
    let mut failures = Vec::new();
    let mut aborted = 0;
    for seed in 0..seeds() {
        let sc = schedule(seed, "exactly_once_v2");
        let text = scenario::to_toml(&sc);
        let run = report::run(&sc, seed);
        let broken: Vec<&str> = MUST_HOLD
            .into_iter()
            .filter(|c| !run.findings.verdict(*c).holds())
            .map(|c| c.name())
            .collect();
        if !broken.is_empty() {
            failures.push(format!(
                "seed {seed}: {} violated\n  reproduce: {}",
                broken.join(", "),
                property_support::save(&format!("eos-{seed}"), &text)
            ));
        }
        if run.findings.count(Count::TransactionsAborted) > 0 {
            aborted += 1;
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        aborted * 2 > seeds(),
        "the nemesis should abort transactions in most runs; only {aborted} of {} did",
        seeds()
    );
}

#[test]
fn the_same_nemesis_makes_an_at_least_once_pipeline_write_outputs_twice() {
    let mut duplicating = 0;
    for seed in 0..seeds() {
        let sc = schedule(seed, "at_least_once");
        let run = report::run(&sc, seed);
        if !run.findings.verdict(CheckerId::NoDuplicates).holds() {
            duplicating += 1;
        }
    }
    assert!(
        duplicating > 0,
        "no seed out of {} wrote an output twice with at_least_once",
        seeds()
    );
    eprintln!(
        "at_least_once wrote outputs twice in {duplicating} of {} seeds",
        seeds()
    );
}
