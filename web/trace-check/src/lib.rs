//! The simulation built for wasm32-unknown-unknown, called from node by `web/trace-check/run.mjs`:
//! a shipped scenario's trace hash, to compare with the native build's (`tests/web/`).
//!
//! std's `HashMap` keys are not seeded by madsim on wasm32, and madsim there runs with the
//! change in `web/madsim-wasm32.patch`: equal hashes are what shows that neither reaches a trace.

use wasm_bindgen::prelude::*;

/// The names of the shipped scenarios, one per line.
#[wasm_bindgen]
pub fn scenario_names() -> String {
    kafkascope_sim::library::SCENARIOS
        .iter()
        .map(|(n, _)| *n)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Runs shipped scenario `name` with `seed` (its own seed when `undefined`) and returns
/// `NAME SEED HASH EVENTS`, the fields `kafkascope run NAME --json` prints as `scenario`,
/// `seed`, `trace_hash` and `events`.
#[wasm_bindgen]
pub fn trace_hash(name: &str, seed: Option<u64>) -> Result<String, String> {
    // A panic (an `unreachable` trap under node) prints its message and place.
    console_error_panic_hook::set_once();
    let text = kafkascope_sim::library::find(name)
        .ok_or_else(|| format!("no shipped scenario `{name}`"))?;
    let scenario = kafkascope_sim::scenario::parse(name, text).map_err(|e| e.to_string())?;
    let seed = seed.unwrap_or(scenario.seed);
    let run = kafkascope_sim::report::run(&scenario, seed);
    Ok(format!(
        "{name} {seed} {} {}",
        run.report.trace_hash, run.report.events
    ))
}
