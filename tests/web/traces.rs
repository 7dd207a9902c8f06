//! Same traces everywhere: every shipped scenario, run in the simulation built for wasm32
//! under node (`web/check.sh`), gives the trace hash and event count of the native build.
//! std's HashMap is not seeded by madsim on wasm32 and madsim runs there with
//! `web/madsim-wasm32.patch`: this is the check that guards determinism in the browser.

use kafkascope_sim::library::SCENARIOS;

use crate::harness::{script, tools_ready, wasm_bindgen};

#[test]
fn wasm_traces_equal_native_traces() {
    if !tools_ready(
        "the wasm trace check",
        &[&wasm_bindgen()],
        "bash web/tools.sh",
    ) {
        return;
    }
    let out = script("web/check.sh", &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let wasm: Vec<(&str, u64, &str, usize)> = stdout
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            assert_eq!(f.len(), 4, "expected `NAME SEED HASH EVENTS`, got `{l}`");
            (f[0], f[1].parse().unwrap(), f[2], f[3].parse().unwrap())
        })
        .collect();
    let names: Vec<&str> = wasm.iter().map(|w| w.0).collect();
    let shipped: Vec<&str> = SCENARIOS.iter().map(|(n, _)| *n).collect();
    assert_eq!(names, shipped, "node ran a different list of scenarios");
    let mut differ = Vec::new();
    for (name, seed, hash, events) in wasm {
        let text = kafkascope_sim::library::find(name).unwrap();
        let scenario = kafkascope_sim::scenario::parse(name, text).unwrap();
        assert_eq!(seed, scenario.seed, "{name}: node used another seed");
        let native = kafkascope_sim::report::run(&scenario, seed).report;
        if (native.trace_hash.as_str(), native.events) != (hash, events) {
            differ.push(format!(
                "{name} seed {seed}: native {} ({} events), wasm {hash} ({events} events); \
                 reproduce: `bash web/check.sh {name}@{seed}` and `kafkascope run {name} --seed {seed} --json`",
                native.trace_hash, native.events
            ));
        }
    }
    assert!(
        differ.is_empty(),
        "traces differ on wasm32:\n{}",
        differ.join("\n")
    );
}
