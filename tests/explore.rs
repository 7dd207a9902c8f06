//! Sweeps give the same results however they are split, and their counterexamples replay.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use kafkascope::explore::{self, Experiment, Options, RunsFile};
use kafkascope_sim::{report, scenario};

fn experiment() -> Experiment {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/small-experiment.toml"
    );
    let text = std::fs::read_to_string(path).unwrap();
    Experiment::load(path, &text, kafkascope::library::find).unwrap_or_else(|e| panic!("{e}"))
}

fn out(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("explore")
        .join(name);
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn opts(
    out: PathBuf,
    jobs: usize,
    shard: Option<(u64, u64)>,
    merge: Vec<PathBuf>,
    shrink: bool,
) -> Options {
    Options {
        seeds: 0..3,
        jobs,
        shard,
        out,
        merge,
        shrink,
        progress: false,
    }
}

fn runs(dir: &std::path::Path) -> RunsFile {
    serde_json::from_str(&std::fs::read_to_string(dir.join("runs.json")).unwrap()).unwrap()
}

#[test]
fn results_do_not_depend_on_jobs_or_sharding() {
    let exp = experiment();
    let stop = || Arc::new(AtomicBool::new(false));
    let one = explore::explore(&exp, &opts(out("jobs1"), 1, None, vec![], false), stop()).unwrap();
    let two = explore::explore(&exp, &opts(out("jobs2"), 2, None, vec![], false), stop()).unwrap();
    assert_eq!(one.runs, two.runs);
    assert_eq!(one.summary, two.summary);
    assert_eq!(one.runs.len(), 6, "2 configurations x 3 seeds");

    let (a, b) = (out("shard0"), out("shard1"));
    explore::explore(
        &exp,
        &opts(a.clone(), 1, Some((0, 2)), vec![], false),
        stop(),
    )
    .unwrap();
    explore::explore(
        &exp,
        &opts(b.clone(), 2, Some((1, 2)), vec![], false),
        stop(),
    )
    .unwrap();
    assert_eq!(runs(&a).runs.len() + runs(&b).runs.len(), 6);
    let merged = explore::explore(
        &exp,
        &opts(out("merged"), 1, None, vec![a, b], false),
        stop(),
    )
    .unwrap();
    assert_eq!(merged.runs, one.runs);
    assert_eq!(merged.summary, one.summary);
    assert_eq!(
        std::fs::read_to_string(out_path("jobs1").join("summary.csv")).unwrap(),
        std::fs::read_to_string(out_path("merged").join("summary.csv")).unwrap()
    );
}

fn out_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("explore")
        .join(name)
}

#[test]
fn failing_runs_shrink_to_counterexamples_that_replay() {
    let exp = experiment();
    let dir = out("shrink");
    let o = explore::explore(
        &exp,
        &opts(dir.clone(), 2, None, vec![], true),
        Arc::new(AtomicBool::new(false)),
    )
    .unwrap();
    let failing_configs = (0..o.summary.len())
        .filter(|c| o.runs.iter().any(|r| r.config == *c && r.failed()))
        .count();
    assert!(
        failing_configs > 0,
        "acks=1 under leader crashes should break some checker"
    );
    assert_eq!(
        o.counterexamples.len(),
        failing_configs,
        "one counterexample per failing configuration"
    );
    for c in &o.counterexamples {
        let text = std::fs::read_to_string(&c.file).unwrap();
        let sc =
            scenario::parse(&c.file.display().to_string(), &text).unwrap_or_else(|e| panic!("{e}"));
        assert!(c.faults.0 <= c.faults.1);
        let run = report::run(&sc, sc.seed);
        assert!(
            run.report.expectations_hold(),
            "{} does not reproduce its violation",
            c.file.display()
        );
        let svg = std::fs::read_to_string(&c.diagram).unwrap();
        assert!(
            svg.starts_with("<svg") && svg.contains("✗"),
            "the diagram marks the violation"
        );
    }
    for f in [
        "report.html",
        "summary.csv",
        "summary.json",
        "runs.csv",
        "loss.svg",
        "loss.png",
        "latency.svg",
        "latency.png",
    ] {
        let meta = std::fs::metadata(dir.join(f)).unwrap_or_else(|_| panic!("{f} written"));
        assert!(meta.len() > 100, "{f} is not empty");
    }
}

#[test]
fn shards_split_the_plan_without_overlap() {
    let all = explore::plan(3, &(0..7), None);
    let mut parts: Vec<(usize, u64)> = (0..3)
        .flat_map(|i| explore::plan(3, &(0..7), Some((i, 3))))
        .collect();
    parts.sort();
    assert_eq!(parts, all);
    assert!(explore::parse_shard("3/3").is_err());
    assert_eq!(explore::parse_range("5..9").unwrap(), 5..9);
}

/// The shipped experiment's claim: under its nemesis the unsafe configurations lose
/// acknowledged records and the safe one (acks=all, min.insync.replicas=2, no unclean
/// election) does not.
#[test]
fn the_shipped_experiment_separates_safe_from_unsafe_configurations() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/experiments/acks-and-min-insync.toml"
    );
    let exp = Experiment::load(
        path,
        &std::fs::read_to_string(path).unwrap(),
        kafkascope::library::find,
    )
    .unwrap();
    let mut o = opts(out("shipped"), 2, None, vec![], false);
    o.seeds = 0..6;
    let r = explore::explore(&exp, &o, Arc::new(AtomicBool::new(false))).unwrap();
    let row = |acks: &str, min_isr: &str, unclean: &str| {
        r.summary
            .iter()
            .find(|s| {
                s.label.contains(&format!("acks={acks}"))
                    && s.label.contains(&format!("min.insync.replicas={min_isr}"))
                    && s.label
                        .contains(&format!("unclean.leader.election.enable={unclean}"))
            })
            .unwrap()
    };
    let safe = row("all", "2", "false");
    assert_eq!(safe.runs_losing_acknowledged, 0, "{safe:?}");
    assert!(
        row("1", "1", "true").runs_losing_acknowledged > 0,
        "acks=1 loses data under this nemesis"
    );
}

#[test]
fn an_interrupted_sweep_keeps_what_it_has_and_says_so() {
    let exp = experiment();
    let dir = out("interrupted");
    let stop = Arc::new(AtomicBool::new(true));
    let o = explore::explore(&exp, &opts(dir.clone(), 2, None, vec![], true), stop).unwrap();
    assert_eq!((o.runs.len(), o.planned), (0, 6));
    assert!(!runs(&dir).complete);
    assert!(std::fs::read_to_string(dir.join("report.html"))
        .unwrap()
        .contains("(interrupted)"));
}

#[test]
fn every_nemesis_fault_kind_yields_valid_commands_that_run() {
    let exp = experiment();
    let mut base = exp.base.clone();
    base.duration = 12_000;
    for p in &mut base.producers {
        p.workload.stop = 10_000;
    }
    let grouped_name = "commit-after-processing";
    let mut grouped = scenario::parse(
        grouped_name,
        kafkascope::library::find(grouped_name).expect("shipped"),
    )
    .expect("valid");
    grouped.faults.clear();
    grouped.duration = 12_000;
    for kind in explore::nemesis::FaultKind::ALL {
        let name = kind.name();
        assert_eq!(explore::nemesis::FaultKind::parse(name), Some(kind));
        let n = explore::nemesis::Nemesis {
            from: 1_000,
            until: 9_000,
            faults: vec![explore::nemesis::NemesisFault {
                kind,
                every: 1_500,
                lasts: 2_000,
            }],
        };
        let mut sc = if kind.needs_a_group() {
            grouped.clone()
        } else {
            base.clone()
        };
        sc.faults = n.schedule(&sc, 3);
        assert!(sc.faults.len() > 1, "{name} scheduled nothing");
        let text = scenario::to_toml(&sc);
        let back = scenario::parse(name, &text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let run = report::run(&back, 3);
        assert!(run.report.events > 0, "{name}");
    }
}

#[test]
fn a_misspelt_grid_key_gets_a_suggestion_and_any_cluster_key_is_an_axis() {
    let load = |grid: &str| {
        let text = format!(
            "[experiment]\nname = \"x\"\nscenario = \"acks1-leader-crash\"\n[grid]\n{grid}\n"
        );
        Experiment::load("x.toml", &text, kafkascope::library::find)
    };
    let e = load("\"broker.min.insync.replica\" = [2]").unwrap_err();
    assert!(
        e.ends_with("did you mean `broker.min.insync.replicas`?"),
        "{e}"
    );
    let exp = load("\"cluster.metadata\" = [\"kraft\", \"zookeeper\"]").unwrap();
    let zk = exp.scenario_for(&exp.points()[1], 1).unwrap();
    assert!(!zk.features.kraft() && !zk.features.eligible_leader_replicas);
}
