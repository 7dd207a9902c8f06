//! Random fault schedules against a safe and an unsafe configuration.
//!
//! Kafka's promise: with acks=all, min.insync.replicas=2, no unclean election (and, for the
//! historical bugs, leader-epoch truncation), a committed record survives as long as one
//! in-sync replica does. The nemesis here crashes processes, shuts brokers down, pauses them,
//! restarts them, crashes the controller and partitions the network, and the safe
//! configuration must never lose an acknowledged record, duplicate, reorder or diverge. The
//! same schedules must find losses in an unsafe configuration (acks=1, unclean election,
//! high-watermark truncation), or the nemesis would prove nothing.
//!
//! Power loss is left out on purpose: Kafka acknowledges from the page cache, so losing power
//! on every replica that holds a record loses it whatever the configuration (KIP-101's second
//! scenario and KIP-966 are about exactly that); the shipped kip101-2 scenarios show it.
//!
//! Each schedule is written as a scenario file, so a failing seed is saved and replayed with
//! the printed command. `PROPERTY_SEEDS=n` runs more seeds.

use std::fmt::Write as _;

use kafkascope_sim::report;
use kafkascope_sim::scenario::{self, CheckerId, Count};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const BROKERS: u32 = 3;

fn seeds() -> u64 {
    std::env::var("PROPERTY_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(40)
}

/// A scenario file with a random fault schedule drawn from `seed`.
fn schedule(seed: u64, safe: bool) -> String {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"[scenario]
name = "property: {kind} configuration, random faults, seed {seed}"
seed = {seed}
duration = "45s"

[cluster]
brokers = {BROKERS}
truncation = "{truncation}"

[broker]
min.insync.replicas = {min_isr}
unclean.leader.election.enable = {unclean}
replica.lag.time.max.ms = 5000

[[topics]]
name = "orders"
partitions = 3
replication.factor = 3

[[producers]]
name = "a"
topic = "orders"
acks = "{acks}"
request.timeout.ms = 3000
rate = 40
keys = 6
start = "1s"
stop = "30s"

[network]
latency = "1ms..5ms"
"#,
        kind = if safe { "safe" } else { "unsafe" },
        truncation = if safe {
            "leader-epoch"
        } else {
            "high-watermark"
        },
        min_isr = if safe { 2 } else { 1 },
        unclean = !safe,
        acks = if safe { "all" } else { "1" },
    );
    let node = |rng: &mut ChaCha8Rng| format!("broker-{}", rng.gen_range(1..=BROKERS));
    let mut t = 2_000u64;
    let n = rng.gen_range(3..=9);
    for _ in 0..n {
        t += rng.gen_range(300..4_000);
        if t > 28_000 {
            break;
        }
        let fault = match rng.gen_range(0..9) {
            0 | 1 => format!(
                "action = \"crash\"\ntarget = \"leader of orders-{}\"",
                rng.gen_range(0..3)
            ),
            2 => format!("action = \"crash\"\ntarget = \"{}\"", node(&mut rng)),
            3 => format!("action = \"restart\"\ntarget = \"{}\"", node(&mut rng)),
            4 => format!("action = \"shutdown\"\ntarget = \"{}\"", node(&mut rng)),
            5 => format!("action = \"isolate\"\ntarget = \"{}\"", node(&mut rng)),
            6 => {
                let a = rng.gen_range(1..=BROKERS);
                let b = (a + rng.gen_range(0..BROKERS - 1)) % BROKERS + 1;
                let (a, b) = (format!("broker-{a}"), format!("broker-{b}"));
                format!(
                    "action = \"partition\"\nfrom = \"{a}\"\nto = \"{b}\"\none_way = {}",
                    rng.gen_bool(0.5)
                )
            }
            7 => format!("action = \"pause\"\ntarget = \"{}\"", node(&mut rng)),
            _ => "action = \"restart\"\ntarget = \"controller\"".to_string(),
        };
        let _ = write!(s, "\n[[faults]]\nat = \"{t}ms\"\n{fault}\n");
    }
    // Then everything comes back, so the end state is comparable.
    let _ = write!(s, "\n[[faults]]\nat = \"31s\"\naction = \"heal\"\n");
    for b in 1..=BROKERS {
        let _ = write!(
            s,
            "\n[[faults]]\nat = \"31s\"\naction = \"resume\"\ntarget = \"broker-{b}\"\n"
        );
        let _ = write!(
            s,
            "\n[[faults]]\nat = \"{}s\"\naction = \"restart\"\ntarget = \"broker-{b}\"\n",
            31 + b
        );
    }
    let _ = write!(s, "\n[expect]\nno_lost_acknowledged = \"holds\"\n");
    s
}

/// Saves a failing schedule where a person can replay it, and says how.
fn save(name: &str, text: &str) -> String {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("property-failures");
    std::fs::create_dir_all(&dir).expect("target dir is writable");
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).expect("writable");
    format!("cargo run -- run {}", path.display())
}

#[test]
fn the_safe_configuration_survives_random_faults() {
    let mut failures = Vec::new();
    for seed in 0..seeds() {
        let text = schedule(seed, true);
        let sc = scenario::parse("property", &text)
            .unwrap_or_else(|e| panic!("generated file is invalid:\n{e}\n{text}"));
        let run = report::run(&sc, seed);
        let broken: Vec<&str> = CheckerId::ALL
            .into_iter()
            .filter(|c| !run.findings.verdict(*c).holds())
            .map(|c| c.name())
            .collect();
        if !broken.is_empty() {
            failures.push(format!(
                "seed {seed}: {} violated\n  reproduce: {}",
                broken.join(", "),
                save(&format!("safe-{seed}"), &text)
            ));
        }
        assert!(
            run.findings.count(Count::Acknowledged) > 0,
            "seed {seed}: nothing was acknowledged at all"
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_same_nemesis_finds_losses_in_the_unsafe_configuration() {
    let mut lossy = 0;
    for seed in 0..seeds() {
        let text = schedule(seed, false);
        let sc = scenario::parse("property", &text).expect("generated file is valid");
        if report::run(&sc, seed)
            .findings
            .count(Count::LostAcknowledged)
            > 0
        {
            lossy += 1;
        }
    }
    assert!(
        lossy > 0,
        "no seed out of {} lost anything with acks=1 and unclean election",
        seeds()
    );
    eprintln!(
        "unsafe configuration lost acknowledged records in {lossy} of {} seeds",
        seeds()
    );
}
