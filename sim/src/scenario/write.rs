//! Writing a scenario back as a file, so that a session changed by hand (the UI's Save) or a
//! shrunk counterexample replays exactly with `kafkascope run`.
//!
//! The output is explicit rather than pretty: every broker's non-default settings in its own
//! `[brokers.N]` table, every duration in milliseconds. `parse(to_toml(s)) == s` for every
//! scenario, which the tests check on every shipped file.

use std::fmt::Write as _;

use super::{Cmp, Expectation, Scenario};
use crate::broker::TruncationMode;
use crate::command::{Command, Target};
use crate::config::{BrokerConfig, ProducerConfig, Value};
use crate::ids::NodeNames;
use crate::network::LinkParams;
use crate::producer::KeySpec;
use crate::trace::CrashKind;

/// A TOML basic string.
fn q(s: &str) -> String {
    let mut out = String::from('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn value(v: &Value) -> String {
    match v {
        Value::Int(i) => i.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Str(s) => q(s),
    }
}

fn ms(t: u64) -> String {
    q(&format!("{t}ms"))
}

fn latency(p: &LinkParams) -> String {
    if p.latency_min_ms == p.latency_max_ms {
        ms(p.latency_min_ms)
    } else {
        q(&format!("{}ms..{}ms", p.latency_min_ms, p.latency_max_ms))
    }
}

fn target(t: &Target, names: &NodeNames) -> String {
    match t {
        Target::Node(n) => q(&names.name(*n)),
        Target::LeaderOf(tp) => q(&format!("leader of {tp}")),
    }
}

fn targets(ts: &[Target], names: &NodeNames) -> String {
    format!(
        "[{}]",
        ts.iter()
            .map(|t| target(t, names))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// The scenario as a file `parse` reads back to an equal scenario.
pub fn to_toml(s: &Scenario) -> String {
    let names = s.names();
    let mut o = String::new();
    let _ = writeln!(o, "[scenario]\nname = {}", q(&s.name));
    if !s.description.is_empty() {
        let _ = writeln!(o, "description = {}", q(&s.description));
    }
    if let Some(r) = &s.reference {
        let _ = writeln!(o, "reference = {}", q(r));
    }
    let _ = writeln!(o, "seed = {}\nduration = {}", s.seed, ms(s.duration));
    let truncation = match s.truncation {
        TruncationMode::HighWatermark => "high-watermark",
        TruncationMode::LeaderEpoch => "leader-epoch",
    };
    let _ = writeln!(
        o,
        "\n[cluster]\nbrokers = {}\ntruncation = {}\nreader = {}",
        s.brokers,
        q(truncation),
        s.reader
    );
    let defaults = BrokerConfig::default().entries();
    for (i, c) in s.broker_configs.iter().enumerate() {
        let changed: Vec<_> = c
            .entries()
            .into_iter()
            .filter(|e| !defaults.contains(e))
            .collect();
        if !changed.is_empty() {
            let _ = writeln!(o, "\n[brokers.{}]", i + 1);
            for (k, v) in changed {
                let _ = writeln!(o, "{} = {}", q(k), value(&v));
            }
        }
    }
    for t in &s.topics {
        let _ = writeln!(
            o,
            "\n[[topics]]\nname = {}\npartitions = {}",
            q(&t.name),
            t.partitions
        );
        let _ = writeln!(o, "\"replication.factor\" = {}", t.replication_factor);
        let rows: Vec<String> = t
            .assignment
            .iter()
            .map(|r| {
                format!(
                    "[{}]",
                    r.iter()
                        .map(|b| b.to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
            .collect();
        let _ = writeln!(o, "assignment = [{}]", rows.join(", "));
        for (k, v) in t.overrides.entries() {
            let _ = writeln!(o, "{} = {}", q(k), value(&v));
        }
    }
    let producer_defaults = ProducerConfig::default().entries();
    for p in &s.producers {
        let _ = writeln!(
            o,
            "\n[[producers]]\nname = {}\ntopic = {}",
            q(&p.name),
            q(&p.topic)
        );
        for e in p
            .config
            .entries()
            .into_iter()
            .filter(|e| !producer_defaults.contains(e) || e.0 == "acks")
        {
            let _ = writeln!(o, "{} = {}", q(e.0), value(&e.1));
        }
        let w = &p.workload;
        if w.rate > 0.0 {
            let _ = writeln!(o, "rate = {}", w.rate);
        }
        let _ = writeln!(o, "start = {}\nstop = {}", ms(w.start), ms(w.stop));
        match &w.keys {
            KeySpec::None => {}
            KeySpec::Count(n) => {
                let _ = writeln!(o, "keys = {n}");
            }
            KeySpec::List(keys) => {
                let ks: Vec<String> = keys.iter().map(|k| q(k)).collect();
                let _ = writeln!(o, "keys = [{}]", ks.join(", "));
            }
        }
        let _ = writeln!(o, "value_bytes = {}", w.value_bytes);
        if !w.sends.is_empty() {
            let _ = writeln!(o, "sends = [");
            for send in &w.sends {
                let mut fields = vec![
                    format!("at = {}", ms(send.at)),
                    format!("value = {}", q(&send.value)),
                ];
                if let Some(k) = &send.key {
                    fields.push(format!("key = {}", q(k)));
                }
                if let Some(p) = send.partition {
                    fields.push(format!("partition = {p}"));
                }
                let _ = writeln!(o, "  {{ {} }},", fields.join(", "));
            }
            let _ = writeln!(o, "]");
        }
    }
    let d = &s.network.default;
    let _ = writeln!(
        o,
        "\n[network]\nlatency = {}\nloss = {}",
        latency(d),
        d.loss
    );
    for (from, to, p) in &s.network.links {
        let _ = writeln!(
            o,
            "\n[[network.links]]\nfrom = {}\nto = {}\nlatency = {}\nloss = {}",
            q(&names.name(*from)),
            q(&names.name(*to)),
            latency(p),
            p.loss
        );
    }
    for f in &s.faults {
        let _ = writeln!(o, "\n[[faults]]\nat = {}", ms(f.at));
        let line = |o: &mut String, k: &str, v: String| {
            let _ = writeln!(o, "{k} = {v}");
        };
        match &f.command {
            // Written by the consumers' scenario support (in progress).
            Command::CrashWhileProcessing { .. }
            | Command::CreateTopic { .. }
            | Command::AddPartitions { .. } => {}
            Command::Crash { target: t, kind } => {
                line(&mut o, "action", q("crash"));
                line(&mut o, "target", target(t, &names));
                let kind = match kind {
                    CrashKind::Process => "process",
                    CrashKind::PowerLoss => "power-loss",
                };
                line(&mut o, "kind", q(kind));
            }
            Command::Shutdown { target: t }
            | Command::Restart { target: t }
            | Command::Pause { target: t }
            | Command::Resume { target: t }
            | Command::Isolate { target: t } => {
                let action = match &f.command {
                    Command::Shutdown { .. } => "shutdown",
                    Command::Restart { .. } => "restart",
                    Command::Pause { .. } => "pause",
                    Command::Resume { .. } => "resume",
                    _ => "isolate",
                };
                line(&mut o, "action", q(action));
                line(&mut o, "target", target(t, &names));
            }
            Command::Partition { from, to, one_way } => {
                line(&mut o, "action", q("partition"));
                line(&mut o, "from", targets(from, &names));
                line(&mut o, "to", targets(to, &names));
                line(&mut o, "one_way", one_way.to_string());
            }
            Command::Heal { between } => {
                line(&mut o, "action", q("heal"));
                if let Some((a, b)) = between {
                    line(
                        &mut o,
                        "between",
                        format!("[{}, {}]", targets(a, &names), targets(b, &names)),
                    );
                }
            }
            Command::Hold { from, to } | Command::Release { from, to } => {
                let action = if matches!(f.command, Command::Hold { .. }) {
                    "hold"
                } else {
                    "release"
                };
                line(&mut o, "action", q(action));
                line(&mut o, "from", target(from, &names));
                line(&mut o, "to", target(to, &names));
            }
            Command::Producer {
                target: t,
                settings,
                rate,
            } => {
                line(&mut o, "action", q("producer"));
                line(&mut o, "target", target(t, &names));
                for (k, v) in settings {
                    line(&mut o, &q(k), value(v));
                }
                if let Some(r) = rate {
                    line(&mut o, "rate", r.to_string());
                }
            }
            Command::Link {
                from,
                to,
                latency_ms,
                loss,
                both,
            } => {
                line(&mut o, "action", q("link"));
                line(&mut o, "from", target(from, &names));
                line(&mut o, "to", target(to, &names));
                let p = LinkParams {
                    latency_min_ms: latency_ms.0,
                    latency_max_ms: latency_ms.1,
                    loss: *loss,
                };
                line(&mut o, "latency", latency(&p));
                line(&mut o, "loss", loss.to_string());
                line(&mut o, "both", both.to_string());
            }
        }
    }
    if !s.expect.is_empty() {
        let _ = writeln!(o, "\n[expect]");
        for e in &s.expect {
            match e {
                Expectation::Count { count, cmp, value } => {
                    let v = match cmp {
                        Cmp::Eq => value.to_string(),
                        c => q(&format!("{}{value}", c.symbol())),
                    };
                    let _ = writeln!(o, "{} = {v}", count.name());
                }
                Expectation::Checker { checker, holds } => {
                    let _ = writeln!(
                        o,
                        "{} = {}",
                        checker.name(),
                        q(if *holds { "holds" } else { "violated" })
                    );
                }
            }
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_survive_quoting() {
        let s = "a \"quoted\" \\ line\nand a tab\t";
        let text = format!("[t]\nv = {}\n", q(s));
        let v: toml::Table = toml::from_str(&text).expect("valid TOML");
        assert_eq!(v["t"]["v"].as_str(), Some(s));
    }
}
