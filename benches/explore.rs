//! Sweep speed: seeds per minute of the shipped experiment with 1 and 2 jobs (printed, not
//! asserted). One "seed" is one run of every configuration of the grid.

use std::sync::atomic::AtomicBool;
use std::time::Instant;

use kafkascope::explore::{self, Experiment};

fn main() {
    let quick = !std::env::args().any(|a| a == "--bench");
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/experiments/acks-and-min-insync.toml"
    );
    let text = std::fs::read_to_string(path).expect("shipped experiment");
    let exp = Experiment::load(path, &text, kafkascope::library::find).expect("valid");
    let configs = exp.points();
    let seeds = if quick { 1 } else { 8 };
    println!(
        "experiment: {} ({} configurations, {seeds} seeds each)",
        exp.name,
        configs.len()
    );
    for jobs in [1, 2] {
        let plan = explore::plan(configs.len(), &(0..seeds), None);
        let stop = AtomicBool::new(false);
        let start = Instant::now();
        let results = explore::runs::run_all(&exp, &configs, &plan, jobs, &stop, &|| {});
        let wall = start.elapsed().as_secs_f64();
        assert_eq!(results.len(), plan.len());
        println!(
            "  {jobs} job{}: {:>6.2} s for {} runs  =  {:>7.1} seeds per minute ({:.0} runs per minute)",
            if jobs == 1 { " " } else { "s" },
            wall,
            plan.len(),
            seeds as f64 * 60.0 / wall,
            plan.len() as f64 * 60.0 / wall
        );
    }
}
