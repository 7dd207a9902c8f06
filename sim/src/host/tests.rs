//! The host driven end to end: small clusters built in code, and nodes added while running.
//! `small`, `ADDED` and `more_added` also serve other modules' tests.

use std::collections::BTreeMap;

use super::*;
use crate::broker::TruncationMode;
use crate::command::{Command, Target, TimedCommand};
use crate::config::{BrokerConfig, ProducerConfig, TopicOverrides};
use crate::ids::{Millis, NodeId};
use crate::producer::{KeySpec, Workload};
use crate::scenario::Scenario;
use crate::scenario::{NetworkDef, ProducerDef, TopicDef};
use crate::trace::{CrashKind, Event, Trace, TraceEntry};

/// A small cluster built in code, so the host can be tested without the parser.
pub fn small(brokers: u32, rate: f64, faults: Vec<TimedCommand>) -> Scenario {
    Scenario {
        name: "test".into(),
        description: String::new(),
        reference: None,
        seed: 1,
        duration: 3_000,
        brokers,
        truncation: TruncationMode::LeaderEpoch,
        features: crate::config::ClusterFeatures::default(),
        reader: true,
        consumers: Vec::new(),
        broker_configs: vec![BrokerConfig::default(); brokers as usize],
        topics: vec![TopicDef {
            name: "orders".into(),
            partitions: 2,
            replication_factor: brokers.min(3),
            overrides: TopicOverrides::default(),
            assignment: (0..2)
                .map(|p| (0..brokers.min(3)).map(|i| (p + i) % brokers + 1).collect())
                .collect(),
        }],
        producers: vec![ProducerDef {
            name: "a".into(),
            topic: "orders".into(),
            config: ProducerConfig::default(),
            idempotent: true,
            workload: Workload::new(rate, 100, 2_000, KeySpec::Count(4), 100, vec![]),
        }],
        network: NetworkDef::default(),
        faults,
        expect: vec![],
    }
}

#[test]
fn a_healthy_cluster_acknowledges_everything_and_the_reader_sees_it() {
    let sc = small(3, 200.0, vec![]);
    let run = crate::report::run(&sc, 1);
    let f = &run.findings;
    let produced = f.count(crate::scenario::Count::Produced);
    assert!(produced > 300, "{produced}");
    assert_eq!(f.count(crate::scenario::Count::Acknowledged), produced);
    assert_eq!(f.count(crate::scenario::Count::Consumed), produced);
    assert!(f.verdicts.iter().all(|v| v.holds()), "{:?}", f.verdicts);
}

/// Partitions added while running are read by the checking reader too: every acknowledged
/// record is consumed, those written to the new partitions included.
#[test]
fn the_reader_reads_partitions_added_while_running() {
    let grow = TimedCommand {
        at: 800,
        command: Command::AddPartitions {
            topic: "orders".into(),
            partitions: 4,
        },
    };
    let mut sc = small(3, 200.0, vec![grow]);
    // The producer uses the new partitions from its next metadata refresh.
    sc.producers[0].config.metadata_max_age_ms = 300;
    let run = crate::report::run(&sc, 1);
    let consumed_new = run
        .trace
        .entries
        .iter()
        .any(|e| matches!(&e.event, Event::Consumed { tp, .. } if tp.partition >= 2));
    assert!(consumed_new, "the reader never read orders-2 or orders-3");
    let f = &run.findings;
    let acked = f.count(crate::scenario::Count::Acknowledged);
    assert!(acked > 300, "{acked}");
    assert_eq!(f.count(crate::scenario::Count::Consumed), acked);
}

/// Two members of `billing` from the start; a third joins at 8s (and is crashed and
/// restarted later, by name), and a second producer starts at 6s.
pub const ADDED: &str = r#"
[scenario]
name = "a consumer and a producer join a running cluster"
duration = "20s"

[cluster]
brokers = 3

[broker]
group.initial.rebalance.delay.ms = 0

[[topics]]
name = "orders"
partitions = 4
replication.factor = 3

[[producers]]
name = "shop"
topic = "orders"
rate = 100
keys = 8

[[consumers]]
name = "billing-1"
group = "billing"
topics = ["orders"]
auto.offset.reset = "earliest"
enable.auto.commit = false
process = "1ms"
commit = "after"

[[consumers]]
name = "billing-2"
group = "billing"
topic = "orders"
auto.offset.reset = "earliest"
enable.auto.commit = false
process = "1ms"
commit = "after"

[[faults]]
at = "12s"
action = "crash"
target = "consumer-billing-3"

[[faults]]
at = "8s"
action = "add-consumer"
name = "billing-3"
group = "billing"
topic = "orders"
auto.offset.reset = "earliest"
enable.auto.commit = false
process = "1ms"
commit = "after"
stop = "17s"

[[faults]]
at = "13s"
action = "restart"
target = "consumer-billing-3"

[[faults]]
at = "6s"
action = "add-producer"
name = "web"
topic = "orders"
acks = "all"
rate = 50
stop = "14s"
sends = [{ at = "7s", value = "hello" }]
"#;

/// [`ADDED`] with a stream processor without a group, added at 10s, writing to a topic
/// created at 9s, and a producer of that topic added at 11s with keys, named records (one
/// to a partition the topic has only since it was created) and settings of its own.
pub fn more_added() -> String {
    ADDED.replacen(
        "[[faults]]\nat = \"12s\"",
        r#"[[faults]]
at = "9s"
action = "create-topic"
topic = "scores"
partitions = 3

[[faults]]
at = "10s"
action = "add-consumer"
name = "scorer"
topic = "orders"
process = "250us"
max.poll.records = 20

[faults.output]
topic = "scores"
transform = "windowed-count"
window = "2s"
threshold = 7
acks = "1"
linger.ms = 20

[[faults]]
at = "11s"
action = "add-producer"
name = "late"
topic = "scores"
rate = 20
keys = ["k1", "k2", "k3"]
value_bytes = 30
enable.idempotence = false
acks = "1"
max.in.flight.requests.per.connection = 10
sends = [{ at = "11s", value = "m1", key = "k9", partition = 2 }, { at = "15s", value = "m2" }]

[[faults]]
at = "12s""#,
        1,
    )
}

fn events_of(t: &Trace, node: NodeId) -> impl Iterator<Item = &TraceEntry> {
    t.entries.iter().filter(move |e| match &e.event {
        Event::Processed { consumer, .. } => *consumer == node,
        Event::Acked { producer, .. } => *producer == node,
        _ => false,
    })
}

#[test]
fn an_added_consumer_joins_its_group_and_an_added_producer_is_acknowledged() {
    let sc = crate::scenario::parse("added.toml", ADDED).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(sc.names().name(NodeId::Consumer(2)), "consumer-billing-3");
    let run = crate::report::run(&sc, 1);
    let t = &run.trace;
    let lines: Vec<String> = t.lines().collect();
    let added = |needle: &str| lines.iter().any(|l| l.contains(needle));
    assert!(
        added("   6.000s producer-web started (added) writing to orders (acks=all, 50 records/s, 1 named record)"),
        "{lines:#?}"
    );
    assert!(added(
        "   8.000s consumer-billing-3 started (added) in group billing, reading orders"
    ));
    assert!(added("consumer-billing-3 crashed (process crash)"));
    assert!(added("consumer-billing-3 restarted"));
    // The narrative tells it too.
    let text = crate::report::narrative(&sc, &run);
    assert!(
        text.contains("consumer-billing-3 started (added) in group billing"),
        "{text}"
    );

    // A rebalance that takes the new member in: one more member than the generation before.
    let generations: Vec<(Millis, usize)> = t
        .entries
        .iter()
        .filter_map(|e| match &e.event {
            Event::GenerationStarted { members, .. } => Some((e.at, members.len())),
            _ => None,
        })
        .collect();
    let joined = generations
        .windows(2)
        .find(|w| w[1].0 >= 8_000)
        .unwrap_or_else(|| panic!("{generations:?}"));
    assert_eq!(joined[1].1, joined[0].1 + 1, "{generations:?}");
    assert_eq!(joined[1].1, 3);
    assert!(events_of(t, NodeId::Consumer(2)).count() > 50);
    assert!(events_of(t, NodeId::Consumer(2)).all(|e| e.at >= 8_000));

    // The added producer's records are acknowledged and checked like the others.
    let web: Vec<&TraceEntry> = events_of(t, NodeId::Producer(1)).collect();
    assert!(web.iter().all(|e| e.at >= 6_000));
    let values: Vec<&str> = web
        .iter()
        .flat_map(|e| match &e.event {
            Event::Acked { values, .. } => values.iter().map(|v| &**v).collect(),
            _ => Vec::new(),
        })
        .collect();
    assert!(
        values.contains(&"hello") && values.contains(&"web-1"),
        "{values:?}"
    );
    assert!(values.len() > 300, "{}", values.len());
    let f = &run.findings;
    let acked_before_end = f.count(crate::scenario::Count::Acknowledged);
    assert!(acked_before_end > values.len() as u64 + 1_000);
    assert_eq!(f.count(crate::scenario::Count::LostAcknowledged), 0);
    assert!(f.verdicts.iter().all(|v| v.holds()), "{:?}", f.verdicts);
    // What billing-3 processed counts for its group.
    let processed: usize = (0..3)
        .map(|i| events_of(t, NodeId::Consumer(i)).count())
        .sum();
    assert_eq!(f.count(crate::scenario::Count::Processed), processed as u64);
}

#[test]
fn an_added_node_runs_the_same_from_a_file_and_from_a_command_given_while_running() {
    let sc = crate::scenario::parse("added.toml", ADDED).unwrap_or_else(|e| panic!("{e}"));
    let mut whole = Simulation::new(&sc, 4);
    whole.run_to_end();
    let whole = whole.into_trace();

    // The same commands, given one by one while it runs, in chunks.
    let mut bare = sc.clone();
    bare.faults.clear();
    let mut live = Simulation::new(&bare, 4);
    for c in sc.faults_in_order() {
        live.run_until(c.at.saturating_sub(333));
        live.schedule(c.clone());
    }
    live.run_to_end();
    let live = live.into_trace();
    assert_eq!(whole.hash(), live.hash());
    assert_eq!(
        whole.names.consumers,
        ["billing-1", "billing-2", "billing-3"]
    );
    assert_eq!(whole.names.producers, ["shop", "web"]);

    // Saved with the commands as faults, the file replays to the same trace.
    let text = crate::scenario::to_toml(&sc);
    let back =
        crate::scenario::parse("saved.toml", &text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(back, sc);
    let mut again = Simulation::new(&back, 4);
    again.run_to_end();
    assert_eq!(again.into_trace().hash(), whole.hash());
}

#[test]
fn the_first_consumer_group_added_creates_the_offsets_topic() {
    let mut sc = crate::scenario::parse("added.toml", ADDED).unwrap_or_else(|e| panic!("{e}"));
    sc.consumers.clear();
    sc.faults
        .retain(|f| matches!(f.command, Command::AddConsumer(_)));
    assert!(sc.offsets_topic().is_none());
    // Added while the controller is down: the topic waits for it.
    let mut sim = Simulation::new(&sc, 2);
    sim.schedule(TimedCommand {
        at: 7_000,
        command: Command::Crash {
            target: Target::Node(NodeId::Controller),
            kind: CrashKind::Process,
        },
    });
    sim.schedule(TimedCommand {
        at: 9_000,
        command: Command::Restart {
            target: Target::Node(NodeId::Controller),
        },
    });
    sim.run_to_end();
    let t = sim.into_trace();
    let lines: Vec<String> = t.lines().collect();
    let created: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains("__consumer_offsets-0 leader=") && l.contains("(Created)"))
        .collect();
    assert_eq!(created.len(), 1, "{lines:#?}");
    assert!(created[0].starts_with("   9.000s"), "{}", created[0]);
    assert!(lines.iter().any(|l| l.contains(
        "8.000s skipped create __consumer_offsets for the first consumer group: the controller is not running"
    )));
    // The consumer found its coordinator and worked.
    assert_eq!(
        events_of(&t, NodeId::Consumer(0))
            .next()
            .map(|e| e.at >= 9_000),
        Some(true)
    );
    assert!(events_of(&t, NodeId::Consumer(0)).count() > 100);
}

#[test]
fn commands_on_a_node_not_added_yet_are_skipped_and_names_stay_unique() {
    let sc = crate::scenario::parse("added.toml", ADDED).unwrap_or_else(|e| panic!("{e}"));
    let mut bare = sc.clone();
    bare.faults.clear();
    let mut sim = Simulation::new(&bare, 1);
    let billing3 = sc.consumer(2).expect("added").clone();
    sim.schedule(TimedCommand {
        at: 1_000,
        command: Command::Pause {
            target: Target::Node(NodeId::Consumer(2)),
        },
    });
    let mut dup = billing3.clone();
    dup.name = "billing-1".into();
    sim.schedule(TimedCommand {
        at: 2_000,
        command: Command::AddConsumer(Box::new(dup)),
    });
    sim.run_until(3_000);
    let lines: Vec<String> = sim.world().trace.lines().collect();
    assert!(
        lines
            .iter()
            .any(|l| l.ends_with("skipped pause consumer-2: consumer-2 does not exist yet")),
        "{lines:#?}"
    );
    assert!(lines.iter().any(|l| l.contains("skipped add consumer-billing-1 in group billing, reading orders: consumer-billing-1 already exists")));
    assert!(sim.world().consumer(2).is_none());
}

#[test]
fn added_stream_processors_and_producers_use_the_topics_as_they_are_then() {
    let sc = crate::scenario::parse("more.toml", &more_added()).unwrap_or_else(|e| panic!("{e}"));
    let run = crate::report::run(&sc, 3);
    let t = &run.trace;
    let lines: Vec<String> = t.lines().collect();
    assert!(lines.iter().any(|l| {
        l.ends_with(
        "10.000s consumer-scorer started (added) without a group, reading orders, writing to scores"
    )
    }));
    // The producer knows the created topic's 3 partitions from the start: its keys spread.
    let late_tps: BTreeMap<String, usize> = t
        .entries
        .iter()
        .filter_map(|e| match &e.event {
            Event::Acked {
                producer: NodeId::Producer(2),
                tp,
                values,
                ..
            } => Some((tp.to_string(), values.len())),
            _ => None,
        })
        .fold(BTreeMap::new(), |mut m, (tp, n)| {
            *m.entry(tp).or_default() += n;
            m
        });
    assert!(late_tps.len() > 1, "{late_tps:?}");
    assert!(lines
        .iter()
        .any(|l| l.contains("producer-late acknowledged scores-2@0 [m1 ")));
    // The stream processor read and wrote.
    assert!(events_of(t, NodeId::Consumer(3)).count() > 100);
    assert!(run.findings.count(crate::scenario::Count::Output) > 0);
    assert!(
        run.findings.verdicts.iter().all(|v| v.holds()),
        "{:?}",
        run.findings.verdicts
    );
}
