use super::*;
use crate::config::Acks;

/// The format's doc-comment example, completed.
const EXAMPLE: &str = r#"
[scenario]
name = "acks=1 and a leader crash"
description = "..."
seed = 7
duration = "30s"

[cluster]
brokers = 3
truncation = "leader-epoch"

[broker]
min.insync.replicas = 2
[brokers.2]
log.flush.interval.messages = 1

[[topics]]
name = "orders"
partitions = 1
replication.factor = 3
assignment = [[1, 2, 3]]

[[topics]]
name = "audit"
partitions = 4
"min.insync.replicas" = 1

[[producers]]
name = "a"
topic = "orders"
acks = "1"
rate = 100
start = "1s"
stop = "20s"
keys = 8
value_bytes = 100
sends = [{ at = "2s", value = "m1", key = "k" }]

[[producers]]
name = "b"
topic = "audit"
sends = [{ at = "1.5s", value = "m2", partition = 3 }, { at = 500, value = "m3" }]

[network]
latency = "1ms..3ms"
loss = 0.0
[[network.links]]
from = "producer-a"
to = "broker-1"
latency = "20ms"
both = true

[[faults]]
at = "5s"
action = "crash"
target = "leader of orders-0"
kind = "power-loss"

[[faults]]
at = "2s"
action = "partition"
between = [["broker-1"], ["broker-2", "broker-3"]]

[[faults]]
at = "8s"
action = "heal"

[expect]
lost_acknowledged = ">0"
duplicated = 0
no_lost_acknowledged = "violated"
"#;

fn errors(text: &str) -> String {
    match parse("test.toml", text) {
        Ok(_) => panic!("parsed:\n{text}"),
        Err(e) => e.to_string(),
    }
}

/// The example with `from` replaced by `to` (once).
fn example_with(from: &str, to: &str) -> String {
    assert!(EXAMPLE.contains(from), "{from}");
    EXAMPLE.replacen(from, to, 1)
}

#[test]
fn the_documented_example_parses() {
    let s = parse("example.toml", EXAMPLE).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.name, "acks=1 and a leader crash");
    assert_eq!((s.seed, s.duration, s.brokers), (7, 30_000, 3));
    assert_eq!(s.truncation, TruncationMode::LeaderEpoch);
    assert!(s.reader);

    // Dotted keys are Kafka names; [brokers.2] applies on top of [broker].
    assert_eq!(s.broker_configs.len(), 3);
    assert!(s.broker_configs.iter().all(|c| c.min_insync_replicas == 2));
    assert_eq!(s.broker_config(2).log_flush_interval_messages, 1);
    assert_eq!(s.broker_config(1).log_flush_interval_messages, u64::MAX);

    let orders = &s.topics[0];
    assert_eq!(
        (&*orders.name, orders.partitions, orders.replication_factor),
        ("orders", 1, 3)
    );
    assert_eq!(orders.assignment, vec![vec![1, 2, 3]]);
    let audit = &s.topics[1];
    assert_eq!(
        audit.overrides.min_insync_replicas,
        Some(1),
        "quoted dotted key"
    );
    assert_eq!(audit.replication_factor, 3);
    assert_eq!(
        audit.assignment,
        vec![vec![1, 2, 3], vec![2, 3, 1], vec![3, 1, 2], vec![1, 2, 3]]
    );

    let a = &s.producers[0];
    assert_eq!(a.config.acks, Acks::Leader);
    assert!(!a.idempotent, "acks=1 turns idempotence off implicitly");
    assert_eq!(
        (a.workload.rate, a.workload.start, a.workload.stop),
        (100.0, 1000, 20_000)
    );
    assert_eq!(a.workload.keys, KeySpec::Count(8));
    assert_eq!(a.workload.sends[0].key.as_deref(), Some("k"));
    let b = &s.producers[1];
    assert!(b.idempotent, "on by default");
    assert_eq!(b.workload.stop, 30_000, "stop defaults to the duration");
    let times: Vec<_> = b
        .workload
        .sends
        .iter()
        .map(|s| (s.at, s.partition))
        .collect();
    assert_eq!(times, vec![(500, None), (1500, Some(3))]);

    assert_eq!(
        s.network.default,
        LinkParams {
            latency_min_ms: 1,
            latency_max_ms: 3,
            loss: 0.0
        }
    );
    let link = LinkParams {
        latency_min_ms: 20,
        latency_max_ms: 20,
        loss: 0.0,
    };
    assert_eq!(
        s.network.links,
        vec![
            (NodeId::Producer(0), NodeId::Broker(1), link),
            (NodeId::Broker(1), NodeId::Producer(0), link)
        ]
    );

    let ats: Vec<_> = s.faults.iter().map(|f| f.at).collect();
    assert_eq!(ats, vec![2000, 5000, 8000], "sorted by time");
    assert_eq!(
        s.faults[1].command,
        Command::Crash {
            target: Target::LeaderOf(TopicPartition::new("orders", 0)),
            kind: CrashKind::PowerLoss
        }
    );
    assert_eq!(
        s.faults[0].command,
        Command::Partition {
            from: vec![Target::Node(NodeId::Broker(1))],
            to: vec![
                Target::Node(NodeId::Broker(2)),
                Target::Node(NodeId::Broker(3))
            ],
            one_way: false
        }
    );
    assert_eq!(s.faults[2].command, Command::Heal { between: None });

    assert_eq!(
        s.expect,
        vec![
            Expectation::Count {
                count: Count::LostAcknowledged,
                cmp: Cmp::Gt,
                value: 0
            },
            Expectation::Count {
                count: Count::Duplicated,
                cmp: Cmp::Eq,
                value: 0
            },
            Expectation::Checker {
                checker: CheckerId::NoLostAcknowledged,
                holds: false
            },
        ]
    );
}

#[test]
fn a_minimal_file_takes_the_defaults() {
    let s = parse(
        "t.toml",
        "[scenario]\nname = \"x\"\nduration = 1000\n[cluster]\nbrokers = 2\n",
    )
    .unwrap();
    assert_eq!((s.seed, s.duration, s.reader), (1, 1000, true));
    assert_eq!(s.broker_configs, vec![BrokerConfig::default(); 2]);
    assert!(
        s.topics.is_empty() && s.producers.is_empty() && s.faults.is_empty() && s.expect.is_empty()
    );
}

#[test]
fn durations_and_comparisons() {
    assert_eq!(parse_duration("500ms"), Ok(500));
    assert_eq!(parse_duration("1.5s"), Ok(1500));
    assert_eq!(parse_duration("2m"), Ok(120_000));
    assert!(parse_duration("0.5ms").is_err());
    assert!(parse_duration("-1s").is_err());
    assert!(parse_duration("5").is_err());
    assert!(parse_duration("s").is_err());
    assert!(parse_duration(".s").is_err());
    assert_eq!(parse_latency("1..3ms"), Ok((1, 3)));
    assert_eq!(parse_latency("1ms..1s"), Ok((1, 1000)));
    assert_eq!(parse_comparison(">= 2"), Some((Cmp::Ge, 2)));
    assert_eq!(parse_comparison("0"), Some((Cmp::Eq, 0)));
    // The same operators as a lesson's conditions.
    assert_eq!(parse_comparison("!=0"), Some((Cmp::Ne, 0)));
    assert_eq!(parse_comparison("> -1"), None);
}

#[test]
fn misspelled_setting_gets_a_suggestion_at_its_position() {
    let e = errors(&example_with(
        "min.insync.replicas = 2",
        "min.insync.replica = 2",
    ));
    insta::assert_snapshot!(e);
}

#[test]
fn wrong_types() {
    let text = example_with("brokers = 3", "brokers = \"3\"");
    let text =
        text.replacen("acks = \"1\"", "acks = true", 1)
            .replacen("keys = 8", "keys = 1.5", 1);
    insta::assert_snapshot!(errors(&text));
}

#[test]
fn min_insync_replicas_above_replication_factor() {
    let topic = example_with("\"min.insync.replicas\" = 1", "min.insync.replicas = 4");
    let broker = example_with("min.insync.replicas = 2", "min.insync.replicas = 3").replacen(
        "replication.factor = 3",
        "replication.factor = 2\nassignment = [[1, 2]]",
        1,
    );
    let broker = broker.replacen("assignment = [[1, 2, 3]]\n", "", 1);
    insta::assert_snapshot!(format!("{}\n---\n{}", errors(&topic), errors(&broker)));
}

#[test]
fn unknown_fault_action() {
    insta::assert_snapshot!(errors(&example_with(
        "action = \"crash\"",
        "action = \"crsh\""
    )));
}

#[test]
fn fault_targeting_a_broker_that_does_not_exist() {
    insta::assert_snapshot!(errors(&example_with(
        "target = \"leader of orders-0\"",
        "target = \"broker-9\""
    )));
}

#[test]
fn several_problems_at_once() {
    let text = r#"
[scenario]
name = "many"
duration = "30 seconds"
color = "blue"

[cluster]
brokers = 2

[[topics]]
name = "orders"
replication.factor = 3

[[producers]]
name = "a"
topic = "order"
acks = 2
enable.idempotence = true
retries = 0

[[producers]]
name = "b"
topic = "orders"
delivery.timeout.ms = 1000
sends = [{ at = "1s", value = "a-1" }]

[[faults]]
at = "1s"
action = "partition"
between = [["broker-1"], ["broker-1"]]
kind = "power-loss"

[[faults]]
at = "2s"
action = "shutdown"
target = "producer-a"

[expect]
lost_acknowleged = 0
no_duplicates = "yes"
"#;
    insta::assert_snapshot!(errors(text));
}

#[test]
fn toml_syntax_error() {
    insta::assert_snapshot!(errors(
        "[scenario]\nname = \"x\nduration = \"1s\"\n[cluster\nbrokers = 3\n"
    ));
}

#[test]
fn missing_tables_and_keys() {
    let no_scenario = errors("[cluster]\nbrokers = 3\n");
    let no_duration = errors("[scenario]\nname = \"x\"\n\n[cluster]\nbrokers = 3\n");
    let empty = errors("");
    insta::assert_snapshot!(format!("{no_scenario}\n---\n{no_duration}\n---\n{empty}"));
}

#[test]
fn misplaced_settings_say_where_they_belong() {
    let text = example_with(
        "min.insync.replicas = 2",
        "acks = \"all\"\nmin_insync_replicas = 2",
    );
    let text = text.replacen(
        "partitions = 4",
        "partitions = 4\nlog.flush.interval.ms = 10",
        1,
    );
    insta::assert_snapshot!(errors(&text));
}

#[test]
fn problems_render_with_miette() {
    let e = parse(
        "test.toml",
        &example_with("kind = \"power-loss\"", "kind = \"power_loss\""),
    )
    .unwrap_err();
    assert_eq!(e.problems.len(), 1);
    assert_eq!(e.line_col(&e.problems[0]), (57, 8));
    let mut out = String::new();
    miette::NarratableReportHandler::new()
        .render_report(&mut out, &e)
        .unwrap();
    assert!(out.contains("test.toml:57:8"), "{out}");
    assert!(out.contains("did you mean \"power-loss\"?"), "{out}");
}

/// Variants of a valid file, truncated and with values swapped for others of other types:
/// each must give a scenario or problems, never a panic.
#[test]
fn never_panics_on_mangled_input() {
    mangle(EXAMPLE, 200);
    mangle(CONSUMERS, 300);
}

fn mangle(example: &str, at_least: usize) {
    let replacements = [
        "\"x\"",
        "0",
        "-1",
        "99999999999999999999",
        "1.5e300",
        "[]",
        "[[1]]",
        "{}",
        "true",
        "\"\"",
        "\"leader of x-9\"",
    ];
    let mut variants = Vec::new();
    let step = example.len() / 60;
    for cut in (0..example.len()).step_by(step) {
        variants.push(example[..cut].to_string());
    }
    // Every value (the text after each " = ") swapped for each replacement in turn.
    let values: Vec<usize> = example.match_indices(" = ").map(|(i, _)| i + 3).collect();
    for (n, start) in values.iter().enumerate() {
        let end = example[*start..]
            .find('\n')
            .map_or(example.len(), |e| start + e);
        let with = replacements[n % replacements.len()];
        variants.push(format!("{}{with}{}", &example[..*start], &example[end..]));
        let with = replacements[(n + 5) % replacements.len()];
        variants.push(format!("{}{with}{}", &example[..*start], &example[end..]));
    }
    for line in example.lines().filter(|l| !l.is_empty()) {
        variants.push(example.replacen(line, "", 1));
    }
    assert!(variants.len() >= at_least, "{}", variants.len());
    for v in &variants {
        if let Err(e) = parse("fuzz.toml", v) {
            assert!(!e.problems.is_empty());
            let _ = e.to_string();
            for p in &e.problems {
                assert!(
                    p.span.end <= v.len()
                        && v.is_char_boundary(p.span.start)
                        && v.is_char_boundary(p.span.end)
                );
            }
        }
    }
}

// ---- consumers ----

/// Every consumer field and every fault that acts on consumers or topics.
const CONSUMERS: &str = include_str!("../../../../tests/fixtures/consumers.toml");

/// The consumers' example with `from` replaced by `to` (once).
fn consumers_with(from: &str, to: &str) -> String {
    assert!(CONSUMERS.contains(from), "{from}");
    CONSUMERS.replacen(from, to, 1)
}

#[test]
fn consumers_and_their_faults_parse() {
    use crate::config::{Assignor, OffsetReset};
    let s = parse("consumers.toml", CONSUMERS).unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<&str> = s.consumers.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["billing-1", "audit", "scorer", "late"]);
    assert_eq!(s.names().name(NodeId::Consumer(0)), "consumer-billing-1");

    let billing = &s.consumers[0];
    assert_eq!(billing.group.as_deref(), Some("billing"));
    assert_eq!(billing.topics, vec![Arc::<str>::from("orders")]);
    assert_eq!(billing.config.auto_offset_reset, OffsetReset::Earliest);
    assert!(!billing.config.enable_auto_commit);
    assert_eq!(billing.config.max_poll_records, 50);
    assert_eq!(billing.config.assignor, Assignor::CooperativeSticky);
    assert_eq!(
        (
            billing.config.session_timeout_ms,
            billing.config.heartbeat_interval_ms
        ),
        (10_000, 1_000)
    );
    assert_eq!(
        billing.processing,
        Processing {
            per_record_us: 2_000,
            commit: CommitPoint::After
        }
    );
    assert_eq!((billing.start, billing.stop), (5_000, Some(40_000)));
    assert!(billing.output.is_none());

    let audit = &s.consumers[1];
    assert_eq!(audit.group, None);
    assert_eq!(
        audit.topics,
        vec![Arc::<str>::from("orders")],
        "topic = ..."
    );
    assert!(
        !audit.config.enable_auto_commit,
        "Kafka turns auto-commit off without a group.id"
    );
    assert_eq!(audit.config.auto_offset_reset, OffsetReset::Latest);
    assert_eq!(
        audit.processing,
        Processing {
            per_record_us: 250,
            commit: CommitPoint::None
        }
    );
    assert_eq!((audit.start, audit.stop), (0, None));

    let scorer = &s.consumers[2];
    assert!(scorer.config.enable_auto_commit, "on by default in a group");
    assert_eq!(scorer.processing.per_record_us, 1_500);
    assert_eq!(scorer.processing.commit, CommitPoint::AfterAsync);
    let out = scorer.output.as_ref().expect("a stream processor");
    assert_eq!(&*out.topic, "features");
    assert_eq!(
        out.transform,
        Transform::WindowedCount {
            window_ms: 1_000,
            threshold: 20
        }
    );
    assert_eq!((out.config.acks, out.config.linger_ms), (Acks::Leader, 10));
    assert!(!out.idempotent, "acks=1 turns idempotence off implicitly");

    let late = &s.consumers[3];
    assert_eq!(
        late.topics,
        vec![Arc::<str>::from("clicks")],
        "a topic a fault creates"
    );
    assert_eq!(late.processing.commit, CommitPoint::Before);

    assert_eq!(s.network.links[0].0, NodeId::Consumer(0));
    let offsets = s.offsets_topic().expect("groups need __consumer_offsets");
    assert_eq!(offsets.replication_factor, 2);

    let node = |i| Target::Node(NodeId::Consumer(i));
    let commands: Vec<(Millis, Command)> =
        s.faults.iter().map(|f| (f.at, f.command.clone())).collect();
    let expected = vec![
        (10_000, Command::CrashWhileProcessing { target: node(0) }),
        (12_000, Command::Restart { target: node(0) }),
        (
            15_000,
            Command::CreateTopic {
                name: "clicks".into(),
                partitions: 2,
                replication_factor: 2,
            },
        ),
        (
            20_000,
            Command::AddPartitions {
                topic: "orders".into(),
                partitions: 6,
            },
        ),
        (
            25_000,
            Command::Crash {
                target: Target::LeaderOf(TopicPartition::new("orders", 5)),
                kind: CrashKind::Process,
            },
        ),
        (30_000, Command::Pause { target: node(2) }),
        (31_000, Command::Resume { target: node(2) }),
        (32_000, Command::Shutdown { target: node(1) }),
        (33_000, Command::Isolate { target: node(3) }),
        (
            34_000,
            Command::Partition {
                from: vec![node(2)],
                to: vec![
                    Target::Node(NodeId::Broker(1)),
                    Target::Node(NodeId::Broker(2)),
                ],
                one_way: false,
            },
        ),
        (35_000, Command::Heal { between: None }),
        (
            36_000,
            Command::Hold {
                from: Target::Node(NodeId::Broker(1)),
                to: node(2),
            },
        ),
        (
            37_000,
            Command::Release {
                from: Target::Node(NodeId::Broker(1)),
                to: node(2),
            },
        ),
        (
            38_000,
            Command::Link {
                from: node(1),
                to: Target::Node(NodeId::Broker(2)),
                latency_ms: (50, 50),
                loss: 0.0,
                both: true,
            },
        ),
        (
            39_000,
            Command::Crash {
                target: node(3),
                kind: CrashKind::PowerLoss,
            },
        ),
        (
            45_000,
            Command::AddPartitions {
                topic: "clicks".into(),
                partitions: 4,
            },
        ),
    ];
    assert_eq!(commands, expected);
}

#[test]
fn processing_times_have_microsecond_precision() {
    assert_eq!(parse_micros("250us"), Ok(250));
    assert_eq!(parse_micros("250µs"), Ok(250));
    assert_eq!(parse_micros("1.5ms"), Ok(1_500));
    assert_eq!(parse_micros("2s"), Ok(2_000_000));
    assert!(parse_micros("0.5us").is_err());
    assert!(parse_micros("2").is_err());
    assert!(parse_micros("-1ms").is_err());
    assert!(parse_micros("2 msec").is_err());
    let with = |process: &str| {
        parse(
            "t.toml",
            &consumers_with("process = \"250us\"", &format!("process = {process}")),
        )
        .map(|s| s.consumers[1].processing.per_record_us)
    };
    assert_eq!(with("3").unwrap(), 3_000, "an integer is milliseconds");
    assert_eq!(with("\"0.25ms\"").unwrap(), 250);
    let e = with("\"2 msec\"").unwrap_err().to_string();
    assert!(e.contains("the units are us, ms, s, m and h"), "{e}");
}

#[test]
fn misspelled_and_misplaced_consumer_settings() {
    let text = consumers_with("max.poll.records = 50", "max.poll.record = 50")
        .replacen("group = \"ml\"", "group.id = \"ml\"", 1)
        .replacen(
            "process = \"250us\"",
            "process = \"250us\"\nacks = \"all\"",
            1,
        )
        .replacen("linger.ms = 10", "linger.ms = 10\nmax.poll.records = 5", 1);
    insta::assert_snapshot!(errors(&text));
}

#[test]
fn commit_without_a_group() {
    let text = consumers_with(
        "process = \"250us\"",
        "process = \"250us\"\ncommit = \"after\"\nenable.auto.commit = true",
    );
    insta::assert_snapshot!(errors(&text));
}

#[test]
fn consumer_of_a_topic_that_does_not_exist() {
    let text = consumers_with("topics = [\"orders\"]", "topics = [\"order\", \"clicks\"]")
        .replacen("topic = \"features\"", "topic = \"feature\"", 1);
    insta::assert_snapshot!(errors(&text));
}

#[test]
fn bad_commit_values() {
    let text = consumers_with("commit = \"after\"", "commit = \"sync\"").replacen(
        "commit = \"after-async\"",
        "commit = \"after-sync\"",
        1,
    );
    insta::assert_snapshot!(errors(&text));
}

#[test]
fn mid_batch_crash_of_a_broker() {
    let text = consumers_with("target = \"consumer-billing-1\"", "target = \"broker-2\"");
    insta::assert_snapshot!(errors(&text));
}

#[test]
fn mid_batch_crash_needs_processing_time_and_a_process_crash() {
    let text = consumers_with("process = \"2ms\"", "process = 0");
    let e = errors(&text);
    assert!(
        e.contains("consumer-billing-1 processes records in no time"),
        "{e}"
    );
    let text = consumers_with(
        "when = \"mid-batch\"",
        "when = \"mid-batch\"\nkind = \"power-loss\"",
    );
    let e = errors(&text);
    assert!(
        e.contains("a crash `when = \"mid-batch\"` is a process crash"),
        "{e}"
    );
    let e = errors(&consumers_with(
        "when = \"mid-batch\"",
        "when = \"midbatch\"",
    ));
    assert!(e.contains("did you mean \"mid-batch\"?"), "{e}");
}

#[test]
fn admin_faults_follow_the_topics_through_time() {
    // Shrinking, creating what exists, growing what does not exist yet, the internal topic.
    let text = consumers_with("topic = \"orders\"\npartitions = 6", "topic = \"orders\"\npartitions = 2")
            .replacen(
                "[[faults]]\nat = \"45s\"",
                "[[faults]]\nat = \"14s\"\naction = \"add-partitions\"\ntopic = \"clicks\"\npartitions = 3\n\n[[faults]]\nat = \"16s\"\naction = \"create-topic\"\ntopic = \"features\"\n\n[[faults]]\nat = \"17s\"\naction = \"create-topic\"\ntopic = \"clicks\"\n\n[[faults]]\nat = \"18s\"\naction = \"create-topic\"\ntopic = \"__consumer_offsets\"\n\n[[faults]]\nat = \"45s\"",
                1,
            );
    insta::assert_snapshot!(errors(&text));
}

#[test]
fn consumer_table_mistakes() {
    let text = consumers_with(
            "start = \"5s\"\nstop = \"40s\"",
            "start = \"5s\"\nstop = \"5s\"",
        )
        .replacen("topic = \"features\"", "topic = \"orders\"", 1)
        .replacen(
            "start = \"16s\"",
            "start = \"60s\"\nsession.timeout.ms = 3000",
            1,
        )
        .replacen(
            "[[network.links]]",
            "[[consumers]]\nname = \"shop\"\ntopic = \"orders\"\n\n[[consumers]]\nname = \"billing-1\"\ntopics = [\"orders\"]\ntopic = \"orders\"\nprocess = \"2 msec\"\n\n[[consumers]]\nname = \"Reports\"\ntopics = []\n\n[[network.links]]",
            1,
        );
    insta::assert_snapshot!(errors(&text));
}

#[test]
fn a_producer_cannot_write_to_a_topic_created_later() {
    let text = consumers_with(
        "name = \"shop\"\ntopic = \"orders\"",
        "name = \"shop\"\ntopic = \"clicks\"",
    );
    let e = errors(&text);
    assert!(
            e.contains("topic `clicks` does not exist when the producer starts: a `create-topic` fault creates it (line 99)"),
            "{e}"
        );
}

// ---- clients added while running ----

use crate::host::tests::ADDED;

/// The added-clients example with `from` replaced by `to` (once).
fn added_with(from: &str, to: &str) -> String {
    assert!(ADDED.contains(from), "{from}");
    ADDED.replacen(from, to, 1)
}

#[test]
fn added_clients_take_the_next_node_ids_and_later_faults_name_them() {
    let s = parse("added.toml", ADDED).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.producers.len(), 1);
    assert_eq!(s.consumers.len(), 2);
    let names = s.names();
    assert_eq!(names.producers, ["shop", "web"]);
    assert_eq!(names.consumers, ["billing-1", "billing-2", "billing-3"]);
    let actions: Vec<(Millis, String)> = s
        .faults
        .iter()
        .map(|f| (f.at, crate::host::describe(&f.command, &names)))
        .collect();
    assert_eq!(
        actions,
        [
            (
                6_000,
                "add producer-web writing to orders (acks=all, 50 records/s, 1 named record)"
                    .into()
            ),
            (
                8_000,
                "add consumer-billing-3 in group billing, reading orders".into()
            ),
            (12_000, "crash consumer-billing-3 (process)".into()),
            (13_000, "restart consumer-billing-3".into()),
        ]
    );
    let web = s.producer(1).expect("web");
    assert_eq!((web.workload.start, web.workload.stop), (6_000, 14_000));
    assert_eq!(web.workload.sends[0].at, 7_000);
    assert_eq!(web.config.acks, crate::config::Acks::All);
    let billing = s.consumer(2).expect("billing-3");
    assert_eq!((billing.start, billing.stop), (8_000, Some(17_000)));
    assert_eq!(billing.group.as_deref(), Some("billing"));
    assert!(!billing.config.enable_auto_commit);
    assert_eq!(billing.processing.commit, CommitPoint::After);
    assert!(matches!(
        s.faults[2].command,
        Command::Crash {
            target: Target::Node(NodeId::Consumer(2)),
            ..
        }
    ));
    // An added group is enough for `__consumer_offsets` targets.
    let text = added_with(
        "target = \"consumer-billing-3\"",
        "target = \"leader of __consumer_offsets-0\"",
    );
    parse("added.toml", &text).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn added_stream_processors_and_producers_of_created_topics() {
    let text = added_with(
            "stop = \"17s\"",
            "stop = \"17s\"\n\n[faults.output]\ntopic = \"scores\"\ntransform = \"windowed-count\"\nwindow = \"1s\"\nthreshold = 5\nacks = \"1\"",
        )
        .replacen(
            "[[faults]]\nat = \"12s\"",
            "[[faults]]\nat = \"5s\"\naction = \"create-topic\"\ntopic = \"scores\"\npartitions = 2\n\n[[faults]]\nat = \"12s\"",
            1,
        )
        .replacen("name = \"web\"\ntopic = \"orders\"", "name = \"web\"\ntopic = \"scores\"", 1);
    let s = parse("added.toml", &text).unwrap_or_else(|e| panic!("{e}"));
    let out = s
        .consumer(2)
        .and_then(|c| c.output.as_ref())
        .expect("output");
    assert_eq!(&*out.topic, "scores");
    assert_eq!(&*s.producer(1).expect("web").topic, "scores");
    // But not before the topic exists.
    let early = text.replacen(
        "at = \"5s\"\naction = \"create-topic\"",
        "at = \"7s\"\naction = \"create-topic\"",
        1,
    );
    let e = errors(&early);
    assert!(e.contains("topic `scores` does not exist yet at 6s"), "{e}");
    assert!(
        e.contains("creates it later; add the producer after that"),
        "{e}"
    );
}

#[test]
fn added_clients_need_names_of_their_own() {
    let e = errors(&added_with("name = \"billing-3\"", "name = \"billing-1\""));
    assert!(e.contains("consumer `billing-1` is defined twice"), "{e}");
    assert!(e.contains("it is first defined on line 24"), "{e}");
    let e = errors(&added_with("name = \"web\"", "name = \"billing-2\""));
    assert!(
        e.contains("`billing-2` is already the name of a consumer"),
        "{e}"
    );
    let e = errors(&added_with("name = \"web\"", "name = \"shop\""));
    assert!(e.contains("producer `shop` is defined twice"), "{e}");
    let e = errors(&added_with("name = \"billing-3\"", "name = \"web\""));
    assert!(e.contains("`web` is already the name of a producer"), "{e}");
}

#[test]
fn a_fault_cannot_name_a_client_before_it_is_added() {
    let e = errors(&added_with("at = \"12s\"", "at = \"7s\""));
    assert!(
            e.contains("consumer-billing-3 does not exist yet at 7s: the `add-consumer` fault on line 49 adds it at 8s"),
            "{e}"
        );
    assert!(e.contains("move this fault to 8s or later"), "{e}");
    // The crash is listed before the add: at the same moment, it would run first.
    let e = errors(&added_with("at = \"12s\"", "at = \"8s\""));
    assert!(
        e.contains("list this fault after the `add-consumer` fault"),
        "{e}"
    );
    // A mid-batch crash needs the added consumer's processing time.
    let mid = added_with(
        "target = \"consumer-billing-3\"",
        "target = \"consumer-billing-3\"\nwhen = \"mid-batch\"",
    );
    parse("added.toml", &mid).unwrap_or_else(|e| panic!("{e}"));
    let e = errors(&mid.replacen(
        "process = \"1ms\"\ncommit = \"after\"\nstop",
        "commit = \"after\"\nstop",
        1,
    ));
    assert!(
        e.contains("consumer-billing-3 processes records in no time"),
        "{e}"
    );
    let ok = added_with("at = \"12s\"", "at = \"8s\"")
            .replacen("[[faults]]\nat = \"8s\"\naction = \"crash\"\ntarget = \"consumer-billing-3\"\n", "", 1)
            .replacen("[[faults]]\nat = \"13s\"", "[[faults]]\nat = \"8s\"\naction = \"crash\"\ntarget = \"consumer-billing-3\"\n\n[[faults]]\nat = \"13s\"", 1);
    parse("added.toml", &ok).unwrap_or_else(|e| panic!("{e}\n{ok}"));
}

#[test]
fn a_misspelled_add_action_does_not_make_its_settings_unknown() {
    let e = errors(&added_with(
        "action = \"add-consumer\"",
        "action = \"add-consumr\"",
    ));
    assert!(
            e.contains("test.toml:48:10: unknown fault action \"add-consumr\"\n  help: did you mean \"add-consumer\"?"),
            "{e}"
        );
    assert!(!e.contains("unknown key"), "{e}");
}

#[test]
fn added_client_mistakes() {
    let text = added_with(
        "stop = \"17s\"",
        "stop = \"7s\"\nstart = \"8s\"\nsession.timeot.ms = 6000",
    )
    .replacen("sends = [{ at = \"7s\"", "sends = [{ at = \"5s\"", 1)
    .replacen(
        "action = \"add-producer\"\nname = \"web\"\n",
        "action = \"add-producer\"\n",
        1,
    )
    .replacen(
        "at = \"12s\"\naction = \"crash\"\ntarget = \"consumer-billing-3\"",
        "at = \"12s\"\naction = \"crash\"\ntarget = \"consumer-billing-3\"\nwhen = \"mid-batch\"",
        1,
    )
    .replacen(
        "process = \"1ms\"\ncommit = \"after\"\nstop",
        "commit = \"after\"\nstop",
        1,
    );
    insta::assert_snapshot!(errors(&text));
}

#[test]
fn consumer_nodes_are_named_in_links_and_suggestions() {
    let e = errors(&consumers_with(
        "from = \"consumer-billing-1\"",
        "from = \"consumer-biling-1\"",
    ));
    assert!(e.contains("there is no consumer `biling-1`"), "{e}");
    assert!(e.contains("did you mean \"consumer-billing-1\"?"), "{e}");
    let e = errors(&consumers_with(
        "target = \"consumer-scorer\"",
        "target = \"consumer-x\"",
    ));
    assert!(e.contains("there is no consumer `x`"), "{e}");
    assert!(
        e.contains(
            "the consumers are consumer-billing-1, consumer-audit, consumer-scorer, consumer-late"
        ),
        "{e}"
    );
    let e = errors(&consumers_with(
        "target = \"consumer-scorer\"",
        "target = \"producer-scorer\"",
    ));
    assert!(e.contains("did you mean \"consumer-scorer\"?"), "{e}");
}
