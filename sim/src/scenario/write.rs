//! Writing a scenario back as a file, so that a session changed by hand (the UI's Save) or a
//! shrunk counterexample replays exactly with `kafkascope run`.
//!
//! The output is explicit rather than pretty: every broker's non-default settings in its own
//! `[brokers.N]` table, every duration in milliseconds. `parse(to_toml(s)) == s` for every
//! scenario, which the tests check on every shipped file.

use std::fmt::Write as _;

use super::{Cmp, ConsumerDef, Expectation, ProcessingGuarantee, ProducerDef, Scenario, Transform};
use crate::broker::TruncationMode;
use crate::command::{Command, Target};
use crate::config::{
    BrokerConfig, ClusterFeatures, ConsumerConfig, MetadataMode, ProducerConfig, Value,
};
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

/// A processing time: microseconds where milliseconds would round it.
fn micros(us: u64) -> String {
    if us.is_multiple_of(1000) {
        ms(us / 1000)
    } else {
        q(&format!("{us}us"))
    }
}

/// A producer's settings that differ from the defaults, and always `acks` (so the file says
/// which guarantee it asks for).
fn producer_settings(o: &mut String, c: &ProducerConfig) {
    let defaults = ProducerConfig::default().entries();
    for e in c
        .entries()
        .into_iter()
        .filter(|e| !defaults.contains(e) || e.0 == "acks")
    {
        let _ = writeln!(o, "{} = {}", q(e.0), value(&e.1));
    }
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

/// A producer's keys, for a `[[producers]]` table or an `add-producer` fault (which starts at
/// its `at`, so `with_start` is false).
fn producer(o: &mut String, p: &ProducerDef, with_start: bool) {
    let _ = writeln!(o, "name = {}\ntopic = {}", q(&p.name), q(&p.topic));
    producer_settings(o, &p.config);
    let w = &p.workload;
    if w.rate > 0.0 {
        let _ = writeln!(o, "rate = {}", w.rate);
    }
    if with_start {
        let _ = writeln!(o, "start = {}", ms(w.start));
    }
    let _ = writeln!(o, "stop = {}", ms(w.stop));
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

/// A consumer's keys, for a `[[consumers]]` table or an `add-consumer` fault (`table` names
/// the array its `output` sub-table belongs to; an added consumer starts at its `at`).
fn consumer(o: &mut String, c: &ConsumerDef, table: &str, with_start: bool) {
    let _ = writeln!(o, "name = {}", q(&c.name));
    if let Some(g) = &c.group {
        let _ = writeln!(o, "group = {}", q(g));
    }
    let topics: Vec<String> = c.topics.iter().map(|t| q(t)).collect();
    let _ = writeln!(o, "topics = [{}]", topics.join(", "));
    // Without a group, auto-commit is off unless set (and setting it on is an error), so
    // the value written for it is always the one read back.
    let consumer_defaults = ConsumerConfig::default().entries();
    for (k, v) in c
        .config
        .entries()
        .into_iter()
        .filter(|e| !consumer_defaults.contains(e))
    {
        let _ = writeln!(o, "{} = {}", q(k), value(&v));
    }
    let _ = writeln!(
        o,
        "process = {}\ncommit = {}",
        micros(c.processing.per_record_us),
        q(c.processing.commit.name()),
    );
    if with_start {
        let _ = writeln!(o, "start = {}", ms(c.start));
    }
    if let Some(stop) = c.stop {
        let _ = writeln!(o, "stop = {}", ms(stop));
    }
    if let Some(out) = &c.output {
        let _ = writeln!(o, "\n[{table}.output]\ntopic = {}", q(&out.topic));
        match out.transform {
            Transform::WindowedCount {
                window_ms,
                threshold,
            } => {
                let _ = writeln!(
                    o,
                    "transform = {}\nwindow = {}\nthreshold = {threshold}",
                    q("windowed-count"),
                    ms(window_ms)
                );
            }
            Transform::Enrich => {
                let _ = writeln!(o, "transform = {}", q("enrich"));
            }
        }
        if out.guarantee != ProcessingGuarantee::AtLeastOnce {
            let _ = writeln!(o, "processing.guarantee = {}", q(out.guarantee.name()));
        }
        producer_settings(o, &out.config);
    }
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
        TruncationMode::DivergingEpoch => "diverging-epoch",
        TruncationMode::LeaderEpoch => "leader-epoch",
        TruncationMode::HighWatermark => "high-watermark",
    };
    let metadata = match s.features.metadata {
        MetadataMode::Kraft => "kraft",
        MetadataMode::Zookeeper => "zookeeper",
    };
    // `transaction.version` only when it is not Kafka 4.x's 2, so that a scenario without
    // transactions is written as it was before they were modelled.
    let transaction_version =
        if s.features.transaction_version != ClusterFeatures::default().transaction_version {
            format!("transaction.version = {}\n", s.features.transaction_version)
        } else {
            String::new()
        };
    let _ = writeln!(
        o,
        "\n[cluster]\nbrokers = {}\ntruncation = {}\nmetadata = {}\neligible.leader.replicas.version = {}\n{transaction_version}reader = {}",
        s.brokers,
        q(truncation),
        q(metadata),
        u8::from(s.features.eligible_leader_replicas),
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
    for p in &s.producers {
        let _ = writeln!(o, "\n[[producers]]");
        producer(&mut o, p, true);
    }
    for c in &s.consumers {
        let _ = writeln!(o, "\n[[consumers]]");
        consumer(&mut o, c, "consumers", true);
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
            Command::AddProducer(p) => {
                line(&mut o, "action", q("add-producer"));
                producer(&mut o, p, false);
            }
            Command::AddConsumer(c) => {
                line(&mut o, "action", q("add-consumer"));
                consumer(&mut o, c, "faults", false);
            }
            Command::CrashWhileProcessing { target: t } => {
                line(&mut o, "action", q("crash"));
                line(&mut o, "target", target(t, &names));
                line(&mut o, "when", q("mid-batch"));
            }
            Command::CreateTopic {
                name,
                partitions,
                replication_factor,
            } => {
                line(&mut o, "action", q("create-topic"));
                line(&mut o, "topic", q(name));
                line(&mut o, "partitions", partitions.to_string());
                line(
                    &mut o,
                    "\"replication.factor\"",
                    replication_factor.to_string(),
                );
            }
            Command::ClientConnect {
                client,
                broker,
                client_id,
            } => {
                line(&mut o, "action", q("client-connect"));
                line(&mut o, "client", client.to_string());
                line(&mut o, "broker", broker.to_string());
                line(&mut o, "client-id", q(client_id));
            }
            Command::ClientRequest {
                client,
                request,
                messages,
            } => {
                line(&mut o, "action", q("client-request"));
                line(&mut o, "client", client.to_string());
                line(&mut o, "request", request.to_string());
                // The simulation's own messages, as JSON: what the gateway made of the wire
                // request, so the file replays without the gateway.
                let json = serde_json::to_string(messages).expect("messages serialize");
                line(&mut o, "messages", q(&json));
            }
            Command::ClientClose { client } => {
                line(&mut o, "action", q("client-close"));
                line(&mut o, "client", client.to_string());
            }
            Command::DeleteRecords { tp, offset } => {
                line(&mut o, "action", q("delete-records"));
                line(&mut o, "partition", q(&tp.to_string()));
                if let Some(offset) = offset {
                    line(&mut o, "offset", offset.to_string());
                }
            }
            Command::AddPartitions { topic, partitions } => {
                line(&mut o, "action", q("add-partitions"));
                line(&mut o, "topic", q(topic));
                line(&mut o, "partitions", partitions.to_string());
            }
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
    use crate::config::{self, Scope};
    use crate::scenario::parse;

    /// Every consumer field and every fault that acts on consumers or topics.
    const CONSUMERS: &str = include_str!("../../../tests/fixtures/consumers.toml");

    fn round_trip(s: &Scenario) -> String {
        let text = to_toml(s);
        let back = parse("written.toml", &text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(&back, s, "changed on the way through:\n{text}");
        text
    }

    #[test]
    fn consumers_and_admin_faults_round_trip() {
        let s = parse("consumers.toml", CONSUMERS).unwrap_or_else(|e| panic!("{e}"));
        let text = round_trip(&s);
        for line in [
            "[[consumers]]\nname = \"billing-1\"\ngroup = \"billing\"\ntopics = [\"orders\"]",
            "process = \"250us\"\ncommit = \"none\"",
            "[consumers.output]\ntopic = \"features\"\ntransform = \"windowed-count\"\nwindow = \"1000ms\"\nthreshold = 20",
            "action = \"crash\"\ntarget = \"consumer-billing-1\"\nwhen = \"mid-batch\"",
            "action = \"create-topic\"\ntopic = \"clicks\"\npartitions = 2\n\"replication.factor\" = 2",
            "action = \"add-partitions\"\ntopic = \"orders\"\npartitions = 6",
        ] {
            assert!(text.contains(line), "missing {line:?} in:\n{text}");
        }
    }

    #[test]
    fn every_consumer_setting_and_processing_time_round_trips() {
        let mut s = parse("consumers.toml", CONSUMERS).unwrap_or_else(|e| panic!("{e}"));
        let changes = [
            ("auto.offset.reset", Value::Str("none".into())),
            ("enable.auto.commit", Value::Bool(true)),
            ("auto.commit.interval.ms", Value::Int(100)),
            ("max.poll.records", Value::Int(7)),
            ("max.poll.interval.ms", Value::Int(20_000)),
            ("session.timeout.ms", Value::Int(6_000)),
            ("heartbeat.interval.ms", Value::Int(2_000)),
            ("fetch.min.bytes", Value::Int(1_024)),
            ("fetch.max.wait.ms", Value::Int(100)),
            (
                "partition.assignment.strategy",
                Value::Str("roundrobin".into()),
            ),
            ("request.timeout.ms", Value::Int(1_000)),
            ("retry.backoff.ms", Value::Int(50)),
            ("metadata.max.age.ms", Value::Int(10_000)),
            ("sim.leader.epoch.validation", Value::Bool(false)),
            ("isolation.level", Value::Str("read_committed".into())),
        ];
        for key in config::names(Scope::Consumer) {
            assert!(
                changes.iter().any(|(k, _)| *k == key),
                "{key} is not exercised"
            );
        }
        let billing = &mut s.consumers[0];
        let before = billing.config.clone();
        for (k, v) in &changes {
            billing.config.set(k, v);
        }
        for ((k, a), (_, b)) in before.entries().iter().zip(billing.config.entries()) {
            assert!(*a != b || *k == "enable.auto.commit", "{k} unchanged");
        }
        billing.processing.per_record_us = 1;
        billing.stop = None;
        s.consumers[1].processing.per_record_us = 3_000_001;
        s.consumers[3].stop = Some(59_999);
        let out = s.consumers[2].output.as_mut().unwrap();
        out.config.set("enable.idempotence", &Value::Bool(false));
        out.config.set("acks", &Value::Str("all".into()));
        out.transform = Transform::WindowedCount {
            window_ms: 1_500,
            threshold: 0,
        };
        round_trip(&s);
    }

    #[test]
    fn added_clients_round_trip() {
        let s = parse("added.toml", crate::host::tests::ADDED).unwrap_or_else(|e| panic!("{e}"));
        let text = round_trip(&s);
        for line in [
            "action = \"add-producer\"\nname = \"web\"\ntopic = \"orders\"\n\"acks\" = \"all\"\nrate = 50\nstop = \"14000ms\"",
            "sends = [\n  { at = \"7000ms\", value = \"hello\" },\n]",
            "action = \"add-consumer\"\nname = \"billing-3\"\ngroup = \"billing\"\ntopics = [\"orders\"]",
            "commit = \"after\"\nstop = \"17000ms\"\n",
            "action = \"crash\"\ntarget = \"consumer-billing-3\"",
        ] {
            assert!(text.contains(line), "missing {line:?} in:\n{text}");
        }
        assert!(!text.contains("start = \"8000ms\""), "{text}");

        // A stream processor without a group, a producer of a topic created while running,
        // with keys, named records to a partition, and settings of its own.
        let more = crate::host::tests::more_added();
        let s = parse("more.toml", &more).unwrap_or_else(|e| panic!("{e}"));
        let text = round_trip(&s);
        assert!(
            text.contains("[faults.output]\ntopic = \"scores\"\ntransform = \"windowed-count\"\nwindow = \"2000ms\"\nthreshold = 7\n\"acks\" = \"1\""),
            "{text}"
        );
        assert_eq!(
            s.names().consumers,
            ["billing-1", "billing-2", "billing-3", "scorer"]
        );
        assert_eq!(s.names().producers, ["shop", "web", "late"]);
    }

    #[test]
    fn strings_survive_quoting() {
        let s = "a \"quoted\" \\ line\nand a tab\t";
        let text = format!("[t]\nv = {}\n", q(s));
        let v: toml::Table = toml::from_str(&text).expect("valid TOML");
        assert_eq!(v["t"]["v"].as_str(), Some(s));
    }
}
