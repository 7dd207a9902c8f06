//! `kafkascope explore`: a scenario or an experiment over many seeds and configurations, in
//! parallel, with tables, plots, an HTML report, and shrunk counterexamples.
//!
//! Results depend only on (experiment, configuration, seed): each run is independent and the
//! results are sorted before anything is aggregated, so `--jobs` and `--shard` change how fast
//! a sweep goes, never what it finds.

pub mod experiment;
pub mod nemesis;
pub mod plots;
pub mod runs;
pub mod shrink;
pub mod spacetime;
pub mod summary;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use experiment::Experiment;
use runs::RunResult;
use summary::ConfigSummary;

/// What `explore` was asked to do.
#[derive(Clone, Debug)]
pub struct Options {
    pub seeds: std::ops::Range<u64>,
    pub jobs: usize,
    /// `(i, n)`: run only the runs whose index is `i` modulo `n`.
    pub shard: Option<(u64, u64)>,
    pub out: PathBuf,
    /// Directories of earlier (sharded) sweeps to combine instead of running.
    pub merge: Vec<PathBuf>,
    pub shrink: bool,
    pub progress: bool,
}

/// `runs.json`: everything needed to merge shards and rebuild every table.
#[derive(Debug, Serialize, Deserialize)]
pub struct RunsFile {
    pub experiment: String,
    pub configurations: Vec<String>,
    pub seeds: (u64, u64),
    pub shard: Option<(u64, u64)>,
    pub complete: bool,
    pub runs: Vec<RunResult>,
}

/// A counterexample written for a configuration.
#[derive(Debug)]
pub struct Counterexample {
    pub label: String,
    pub seed: u64,
    pub checker: String,
    pub file: PathBuf,
    pub diagram: PathBuf,
    pub faults: (usize, usize),
}

pub struct Outcome {
    pub summary: Vec<ConfigSummary>,
    pub runs: Vec<RunResult>,
    pub planned: usize,
    pub counterexamples: Vec<Counterexample>,
}

/// The (configuration, seed) pairs of a sweep, in canonical order, restricted to a shard.
pub fn plan(
    configs: usize,
    seeds: &std::ops::Range<u64>,
    shard: Option<(u64, u64)>,
) -> Vec<(usize, u64)> {
    let mut all = Vec::new();
    for c in 0..configs {
        for s in seeds.clone() {
            all.push((c, s));
        }
    }
    match shard {
        None => all,
        Some((i, n)) => all
            .into_iter()
            .enumerate()
            .filter(|(k, _)| *k as u64 % n == i)
            .map(|(_, x)| x)
            .collect(),
    }
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Runs (or merges) a sweep and writes its files into `opts.out`.
pub fn explore(exp: &Experiment, opts: &Options, stop: Arc<AtomicBool>) -> Result<Outcome, String> {
    std::fs::create_dir_all(&opts.out)
        .map_err(|e| format!("cannot create {}: {e}", opts.out.display()))?;
    let points = exp.points();
    let labels: Vec<String> = points.iter().map(|p| p.label()).collect();
    let (results, planned, complete) = if opts.merge.is_empty() {
        let plan = plan(points.len(), &opts.seeds, opts.shard);
        let bar = if opts.progress {
            let b = indicatif::ProgressBar::new(plan.len() as u64);
            b.set_style(
                indicatif::ProgressStyle::with_template(
                    "{bar:40} {pos}/{len} runs  {elapsed} (eta {eta})",
                )
                .expect("valid template"),
            );
            b
        } else {
            indicatif::ProgressBar::hidden()
        };
        let results = runs::run_all(exp, &points, &plan, opts.jobs, &stop, &|| bar.inc(1));
        bar.finish_and_clear();
        let complete = results.len() == plan.len();
        (results, plan.len(), complete)
    } else {
        let mut all: Vec<RunResult> = Vec::new();
        let mut complete = true;
        for dir in &opts.merge {
            let path = dir.join("runs.json");
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let f: RunsFile =
                serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
            if f.configurations != labels {
                return Err(format!(
                    "{} comes from a different experiment (its configurations differ)",
                    path.display()
                ));
            }
            complete &= f.complete;
            all.extend(f.runs);
        }
        all.sort_by_key(|r| (r.config, r.seed));
        all.dedup_by_key(|r| (r.config, r.seed));
        let n = all.len();
        (all, n, complete)
    };
    let interrupted = stop.load(Ordering::SeqCst);
    let summary = summary::summarise(&labels, &results);
    let runs_file = RunsFile {
        experiment: exp.name.clone(),
        configurations: labels.clone(),
        seeds: (opts.seeds.start, opts.seeds.end),
        shard: opts.shard,
        complete: complete && !interrupted,
        runs: results.clone(),
    };
    write(
        &opts.out.join("runs.json"),
        &serde_json::to_string_pretty(&runs_file).expect("serialises"),
    )?;
    write(
        &opts.out.join("runs.csv"),
        &summary::runs_csv(&labels, &results),
    )?;
    write(
        &opts.out.join("summary.csv"),
        &summary::summary_csv(&summary),
    )?;
    write(
        &opts.out.join("summary.json"),
        &serde_json::to_string_pretty(&summary).expect("serialises"),
    )?;
    plots::write_all(&opts.out, &summary)?;

    let mut counterexamples = Vec::new();
    if opts.shrink && !interrupted {
        for (c, point) in points.iter().enumerate() {
            let Some(r) = results.iter().find(|r| r.config == c && r.failed()) else {
                continue;
            };
            let sc = exp.scenario_for(point, r.seed)?;
            let Some(s) = shrink::shrink(sc, r.seed, 80) else {
                continue;
            };
            let mut sc = s.scenario;
            sc.name = format!(
                "Counterexample: {} ({}), seed {}",
                exp.name,
                point.label(),
                r.seed
            );
            sc.description = format!(
                "Shrunk by `kafkascope explore` from a failing run of \"{}\": configuration {}, seed {}. \
                 {} of the run's {} fault commands remain, and {} still reports a violation.",
                exp.name,
                point.label(),
                r.seed,
                sc.faults.len(),
                s.faults_before,
                s.checker.name()
            );
            let file = opts
                .out
                .join(format!("counterexample-{}.toml", point.slug()));
            write(&file, &kafkascope_sim::scenario::to_toml(&sc))?;
            let trace = kafkascope_sim::report::run(&sc, r.seed).trace;
            let diagram = opts
                .out
                .join(format!("counterexample-{}.svg", point.slug()));
            let from = s.violation_at.saturating_sub(2_500);
            let title = format!(
                "{}: {} violated (seed {})",
                point.label(),
                s.checker.name(),
                r.seed
            );
            write(
                &diagram,
                &spacetime::svg(
                    &trace,
                    from,
                    s.violation_at + 500,
                    Some(s.violation_index),
                    &title,
                ),
            )?;
            counterexamples.push(Counterexample {
                label: point.label(),
                seed: r.seed,
                checker: s.checker.name().to_string(),
                file,
                diagram,
                faults: (sc.faults.len(), s.faults_before),
            });
        }
    }
    write(
        &opts.out.join("report.html"),
        &html(
            exp,
            &summary,
            &counterexamples,
            results.len(),
            planned,
            interrupted,
        ),
    )?;
    Ok(Outcome {
        summary,
        runs: results,
        planned,
        counterexamples,
    })
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn html(
    exp: &Experiment,
    rows: &[ConfigSummary],
    cx: &[Counterexample],
    done: usize,
    planned: usize,
    interrupted: bool,
) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{t}</title>\
         <style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}}\
         table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right}}\
         td:first-child,th:first-child{{text-align:left}}.bad{{background:#fdd}}.good{{background:#dfd}}</style></head><body>\
         <h1>{t}</h1><p>{d}</p><p>{done} of {planned} runs{i}. Every run is reproducible: \
         <code>kafkascope run counterexample-….toml</code>, or the seed and configuration in runs.csv.</p>",
        t = esc(&exp.name),
        d = esc(&exp.description),
        i = if interrupted { " (interrupted)" } else { "" }
    );
    s.push_str("<table><tr><th>configuration</th><th>runs</th><th>runs losing acknowledged records</th><th>records lost</th><th>runs with duplicates</th><th>runs with reordering</th><th>runs diverging</th><th>mean offline ms</th><th>p50 ms</th><th>p99 ms</th></tr>");
    for r in rows {
        let class = if r.runs_losing_acknowledged > 0 {
            "bad"
        } else {
            "good"
        };
        let p = |v: Option<u64>| {
            v.map(|v| {
                if v == u64::MAX {
                    "more".to_string()
                } else {
                    format!("≤{v}")
                }
            })
            .unwrap_or_default()
        };
        let _ = write!(
            s,
            "<tr class=\"{class}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&r.label),
            r.runs,
            r.runs_losing_acknowledged,
            r.lost_acknowledged,
            r.runs_with_duplicates,
            r.runs_with_reordering,
            r.runs_with_divergence,
            r.mean_offline_ms,
            p(r.latency_p50_ms),
            p(r.latency_p99_ms)
        );
    }
    s.push_str("</table><h2>Loss</h2><img src=\"loss.svg\" alt=\"loss per configuration\"><h2>Latency</h2><img src=\"latency.svg\" alt=\"latency per configuration\">");
    if !cx.is_empty() {
        s.push_str("<h2>Counterexamples</h2>");
        for c in cx {
            let f = c
                .file
                .file_name()
                .map(|f| f.to_string_lossy().to_string())
                .unwrap_or_default();
            let d = c
                .diagram
                .file_name()
                .map(|f| f.to_string_lossy().to_string())
                .unwrap_or_default();
            let _ = write!(
                s,
                "<h3>{}</h3><p>seed {}: {} violated; shrunk to {} of {} fault commands. Replay: <code>kafkascope run {}</code></p><img src=\"{}\" style=\"max-width:100%\">",
                esc(&c.label),
                c.seed,
                esc(&c.checker),
                c.faults.0,
                c.faults.1,
                esc(&f),
                esc(&d)
            );
        }
    }
    s.push_str("</body></html>\n");
    s
}

/// Parses `A..B`.
pub fn parse_range(s: &str) -> Result<std::ops::Range<u64>, String> {
    let (a, b) = s
        .split_once("..")
        .ok_or_else(|| format!("--seed-range {s:?}: expected A..B, such as 100..200"))?;
    let a: u64 = a
        .trim()
        .parse()
        .map_err(|_| format!("--seed-range: {a:?} is not a number"))?;
    let b: u64 = b
        .trim()
        .parse()
        .map_err(|_| format!("--seed-range: {b:?} is not a number"))?;
    if a >= b {
        return Err(format!("--seed-range {s}: the range is empty"));
    }
    Ok(a..b)
}

/// Parses `i/n` (0-based `i`).
pub fn parse_shard(s: &str) -> Result<(u64, u64), String> {
    let (i, n) = s
        .split_once('/')
        .ok_or_else(|| format!("--shard {s:?}: expected i/n, such as 0/4"))?;
    let i: u64 = i
        .trim()
        .parse()
        .map_err(|_| format!("--shard: {i:?} is not a number"))?;
    let n: u64 = n
        .trim()
        .parse()
        .map_err(|_| format!("--shard: {n:?} is not a number"))?;
    if n == 0 || i >= n {
        return Err(format!("--shard {s}: need 0 <= i < n"));
    }
    Ok((i, n))
}
