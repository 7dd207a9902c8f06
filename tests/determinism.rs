//! Same scenario + seed = same trace, bit for bit: on fresh threads, and in separate processes.

use std::process::Command;

use kafkascope::library::SCENARIOS;
use kafkascope_sim::report;
use kafkascope_sim::scenario;

fn hash_on_fresh_thread(name: &'static str, text: &'static str, seed: u64) -> u64 {
    std::thread::spawn(move || {
        let sc = scenario::parse(name, text).expect("parses");
        report::run(&sc, seed).trace.hash()
    })
    .join()
    .expect("run does not panic")
}

#[test]
fn every_shipped_scenario_gives_the_same_trace_twice() {
    for (name, text) in SCENARIOS {
        let seed = scenario::parse(name, text).unwrap().seed;
        let a = hash_on_fresh_thread(name, text, seed);
        let b = hash_on_fresh_thread(name, text, seed);
        assert_eq!(a, b, "{name} is not deterministic");
    }
}

#[test]
fn different_seeds_give_different_runs_where_randomness_is_involved() {
    let text = kafkascope::library::find("classroom").unwrap();
    let a = hash_on_fresh_thread("classroom", text, 1);
    let b = hash_on_fresh_thread("classroom", text, 2);
    assert_ne!(
        a, b,
        "latency draws and madsim's scheduling depend on the seed"
    );
}

fn cli_hash(name: &str, seed: u64) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_kafkascope"))
        .args(["run", name, "--json", "--seed", &seed.to_string()])
        .output()
        .expect("runs");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    v["trace_hash"].as_str().expect("has a hash").to_string()
}

#[test]
fn two_processes_agree_on_the_trace_hash() {
    for (name, _) in SCENARIOS {
        let a = cli_hash(name, 7);
        let b = cli_hash(name, 7);
        assert_eq!(a, b, "{name}");
        let sc = scenario::parse(name, kafkascope::library::find(name).unwrap()).unwrap();
        assert_eq!(
            a,
            format!("{:016x}", report::run(&sc, 7).trace.hash()),
            "{name}: CLI and library differ"
        );
    }
}
