//! Every shipped scenario reproduces its documented outcome, and its narrative is pinned.

use kafkascope::library::SCENARIOS;
use kafkascope_sim::report;
use kafkascope_sim::scenario;

#[test]
fn every_shipped_scenario_meets_its_expectations() {
    let mut failures = Vec::new();
    for (name, text) in SCENARIOS {
        let sc =
            scenario::parse(name, text).unwrap_or_else(|e| panic!("{name} does not parse:\n{e}"));
        assert!(
            !sc.expect.is_empty(),
            "{name} has no [expect]: it would pin nothing"
        );
        let run = report::run(&sc, sc.seed);
        for e in run.report.expectations.iter().filter(|e| !e.holds) {
            failures.push(format!(
                "{name}: expected {} but got {}\n  reproduce: cargo run -- run {name} --seed {}",
                e.expectation, e.actual, sc.seed
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn narratives() {
    for (name, text) in SCENARIOS {
        let sc = scenario::parse(name, text).expect("parses");
        let run = report::run(&sc, sc.seed);
        insta::assert_snapshot!(*name, report::narrative(&sc, &run));
    }
}

/// A fix is only a fix if it changes the outcome on the same schedule: each failing scenario
/// and its fixed twin share everything but the setting that matters.
#[test]
fn each_failure_has_a_fix_that_differs_only_in_configuration() {
    let pairs = [
        ("acks1-leader-crash", "acks-all-leader-crash"),
        ("isr-shrink-min-insync-1", "isr-shrink-min-insync-2"),
        ("isr-shrink-min-insync-1", "isr-shrink-kafka-4-1"),
        ("unclean-election-on", "unclean-election-off"),
        ("power-loss-last-known-leader", "power-loss-flushed"),
        ("kip101-1-high-watermark", "kip101-1-leader-epoch"),
        ("kip101-2-high-watermark", "kip101-2-leader-epoch"),
        ("retries-duplicate", "retries-idempotent"),
        ("retries-reorder", "retries-reorder-idempotent"),
        ("txn-read-uncommitted", "txn-read-committed"),
        ("txn-hanging-kafka-3-5", "txn-hanging-kafka-4-1"),
        ("eos-crash-at-least-once", "eos-crash-exactly-once"),
        // txn-zombie-* and txn-coordinator-* differ in what their expectations count
        // (invoices read, transactions committed), not in a checker's verdict.
    ];
    for (bad, good) in pairs {
        let b = scenario::parse(bad, kafkascope::library::find(bad).unwrap()).unwrap();
        let g = scenario::parse(good, kafkascope::library::find(good).unwrap()).unwrap();
        assert_eq!(
            b.faults, g.faults,
            "{bad} and {good} must share their fault schedule"
        );
        assert_eq!(b.seed, g.seed);
        assert_eq!(b.topics.len(), g.topics.len());
        let rb = report::run(&b, b.seed).findings;
        let rg = report::run(&g, g.seed).findings;
        assert_ne!(
            rb.verdicts.iter().map(|v| v.holds()).collect::<Vec<_>>(),
            rg.verdicts.iter().map(|v| v.holds()).collect::<Vec<_>>(),
            "{bad} and {good} should end differently"
        );
    }
}

/// What the UI saves and the explorer writes must replay exactly: writing a scenario and
/// reading it back gives the same scenario, hence the same run.
#[test]
fn every_shipped_scenario_round_trips_through_its_file_form() {
    for (name, text) in SCENARIOS {
        let sc = scenario::parse(name, text).unwrap();
        let written = scenario::to_toml(&sc);
        let back = scenario::parse(name, &written)
            .unwrap_or_else(|e| panic!("{name}: written form does not parse:\n{e}\n{written}"));
        assert_eq!(back, sc, "{name} changed on the way through:\n{written}");
    }
}

/// An intervention on a running producer is a command like any fault: switching the acks=1
/// producer to acks=all (and idempotence) before the leader crash prevents the loss, and the
/// scenario file with that command replays exactly.
#[test]
fn switching_a_running_producer_to_acks_all_prevents_the_loss() {
    let text = kafkascope::library::find("acks1-leader-crash").unwrap().replace(
        "[expect]",
        "[[faults]]\nat = \"2s\"\naction = \"producer\"\ntarget = \"producer-a\"\nacks = \"all\"\nenable.idempotence = true\nrate = 50\n\n[expect]",
    );
    let mut sc = scenario::parse("switch.toml", &text).unwrap_or_else(|e| panic!("{e}"));
    sc.expect.clear();
    let run = report::run(&sc, sc.seed);
    assert_eq!(
        run.findings
            .count(kafkascope_sim::scenario::Count::LostAcknowledged),
        0
    );
    assert!(
        run.trace
            .lines()
            .any(|l| l
                .contains("producer-a reconfigured: acks=all enable.idempotence=true rate=50/s"))
    );
    let back = scenario::parse("switch.toml", &scenario::to_toml(&sc)).unwrap();
    assert_eq!(back, sc);
    assert_eq!(report::run(&back, sc.seed).trace.hash(), run.trace.hash());

    let bad = text.replace(
        "target = \"producer-a\"\nacks",
        "target = \"broker-1\"\nacks",
    );
    let err = scenario::parse("bad.toml", &bad).unwrap_err().to_string();
    assert!(
        err.contains("`producer` changes a producer, not broker-1"),
        "{err}"
    );
}
