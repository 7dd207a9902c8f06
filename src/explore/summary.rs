//! Per-configuration tables, and the files they are written to.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::runs::{RunResult, LATENCY_BUCKETS_MS};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConfigSummary {
    pub config: usize,
    pub label: String,
    pub runs: u64,
    pub runs_losing_acknowledged: u64,
    pub lost_acknowledged: u64,
    pub acknowledged: u64,
    pub runs_with_duplicates: u64,
    pub runs_with_reordering: u64,
    pub runs_with_divergence: u64,
    pub runs_violating_strong_isr: u64,
    pub mean_offline_ms: u64,
    pub latency_p50_ms: Option<u64>,
    pub latency_p99_ms: Option<u64>,
    pub latency_histogram: Vec<u64>,
}

/// The bucket bound at or below which `q` of the samples fall.
fn percentile(hist: &[u64], q: f64) -> Option<u64> {
    let total: u64 = hist.iter().sum();
    if total == 0 {
        return None;
    }
    let want = (q * total as f64).ceil().max(1.0) as u64;
    let mut seen = 0;
    for (i, n) in hist.iter().enumerate() {
        seen += n;
        if seen >= want {
            return Some(LATENCY_BUCKETS_MS[i]);
        }
    }
    None
}

pub fn summarise(labels: &[String], results: &[RunResult]) -> Vec<ConfigSummary> {
    labels
        .iter()
        .enumerate()
        .map(|(config, label)| {
            let rs: Vec<&RunResult> = results.iter().filter(|r| r.config == config).collect();
            let mut hist = vec![0u64; LATENCY_BUCKETS_MS.len()];
            for r in &rs {
                for (h, n) in hist.iter_mut().zip(&r.latency_histogram) {
                    *h += n;
                }
            }
            let count = |f: &dyn Fn(&RunResult) -> bool| rs.iter().filter(|r| f(r)).count() as u64;
            let violated =
                |name: &'static str| move |r: &RunResult| r.violated.iter().any(|v| v == name);
            ConfigSummary {
                config,
                label: label.clone(),
                runs: rs.len() as u64,
                runs_losing_acknowledged: count(&|r| r.lost_acknowledged > 0),
                lost_acknowledged: rs.iter().map(|r| r.lost_acknowledged).sum(),
                acknowledged: rs.iter().map(|r| r.acknowledged).sum(),
                runs_with_duplicates: count(&|r| r.duplicated > 0),
                runs_with_reordering: count(&|r| r.reordered > 0),
                runs_with_divergence: count(&violated("log_matching")),
                runs_violating_strong_isr: count(&violated("strong_isr")),
                mean_offline_ms: if rs.is_empty() {
                    0
                } else {
                    rs.iter().map(|r| r.offline_ms).sum::<u64>() / rs.len() as u64
                },
                latency_p50_ms: percentile(&hist, 0.5),
                latency_p99_ms: percentile(&hist, 0.99),
                latency_histogram: hist,
            }
        })
        .collect()
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn opt(v: Option<u64>) -> String {
    match v {
        Some(u64::MAX) => "more".into(),
        Some(v) => v.to_string(),
        None => String::new(),
    }
}

pub fn summary_csv(rows: &[ConfigSummary]) -> String {
    let mut s = String::from(
        "configuration,runs,runs_losing_acknowledged,lost_acknowledged,acknowledged,runs_with_duplicates,runs_with_reordering,runs_with_divergence,runs_violating_strong_isr,mean_offline_ms,latency_p50_ms,latency_p99_ms\n",
    );
    for r in rows {
        let _ = writeln!(
            s,
            "{},{},{},{},{},{},{},{},{},{},{},{}",
            csv_field(&r.label),
            r.runs,
            r.runs_losing_acknowledged,
            r.lost_acknowledged,
            r.acknowledged,
            r.runs_with_duplicates,
            r.runs_with_reordering,
            r.runs_with_divergence,
            r.runs_violating_strong_isr,
            r.mean_offline_ms,
            opt(r.latency_p50_ms),
            opt(r.latency_p99_ms)
        );
    }
    s
}

pub fn runs_csv(labels: &[String], results: &[RunResult]) -> String {
    let mut s = String::from("configuration,seed,produced,acknowledged,lost_acknowledged,duplicated,reordered,offline_ms,violated,trace_hash\n");
    for r in results {
        let _ = writeln!(
            s,
            "{},{},{},{},{},{},{},{},{},{}",
            csv_field(&labels[r.config]),
            r.seed,
            r.produced,
            r.acknowledged,
            r.lost_acknowledged,
            r.duplicated,
            r.reordered,
            r.offline_ms,
            csv_field(&r.violated.join(" ")),
            r.trace_hash
        );
    }
    s
}

/// The table printed at the end of a sweep.
pub fn table(rows: &[ConfigSummary]) -> String {
    let w = rows
        .iter()
        .map(|r| r.label.len())
        .max()
        .unwrap_or(13)
        .max(13);
    let mut s = format!(
        "{:<w$}  {:>5}  {:>10}  {:>6}  {:>6}  {:>9}  {:>9}  {:>8}  {:>8}\n",
        "configuration",
        "runs",
        "lost runs",
        "lost",
        "dup",
        "reorder",
        "diverge",
        "p50 ms",
        "p99 ms"
    );
    for r in rows {
        let _ = writeln!(
            s,
            "{:<w$}  {:>5}  {:>10}  {:>6}  {:>6}  {:>9}  {:>9}  {:>11}  {:>8}  {:>8}",
            r.label,
            r.runs,
            r.runs_losing_acknowledged,
            r.lost_acknowledged,
            r.runs_with_duplicates,
            r.runs_with_reordering,
            r.runs_with_divergence,
            r.mean_offline_ms,
            opt(r.latency_p50_ms),
            opt(r.latency_p99_ms)
        );
    }
    s
}
