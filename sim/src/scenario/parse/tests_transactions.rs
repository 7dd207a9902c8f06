//! Transactions in a scenario file: `transactional.id` and its settings, `isolation.level`, the
//! brokers' `transaction.*` settings and `[cluster] transaction.version`, read, checked and
//! written back.

use super::*;
use crate::config::IsolationLevel;
use crate::scenario::edit::{apply, Place, SettingEdit};
use crate::scenario::to_toml;

const PAYMENTS: &str = r#"
[scenario]
name = "payments"
duration = "10s"

[cluster]
brokers = 3

[broker]
transaction.state.log.num.partitions = 2
transaction.max.timeout.ms = 120000
transaction.partition.verification.enable = false

[brokers.2]
transaction.abort.timed.out.transaction.cleanup.interval.ms = 500
transaction.state.log.replication.factor = 2
transaction.state.log.min.isr = 1

[[topics]]
name = "payments"
partitions = 2
replication.factor = 3

[[producers]]
name = "pay-a"
topic = "payments"
rate = 10
transactional.id = "pay-1"
transaction.timeout.ms = 30000
sim.transaction.interval.ms = 250

# The same transactional.id: the zombie the second one fences.
[[producers]]
name = "pay-b"
topic = "payments"
rate = 10
start = "5s"
"transactional.id" = "pay-1"

[[producers]]
name = "plain"
topic = "payments"
rate = 10

[[consumers]]
name = "ledger"
group = "ledger"
topics = ["payments"]
isolation.level = "read_committed"

[[consumers]]
name = "audit"
topics = ["payments"]
"#;

fn errors(text: &str) -> String {
    match parse("test.toml", text) {
        Ok(_) => panic!("parsed:\n{text}"),
        Err(e) => e.to_string(),
    }
}

fn payments_with(from: &str, to: &str) -> String {
    assert!(PAYMENTS.contains(from), "{from}");
    PAYMENTS.replacen(from, to, 1)
}

/// `s` written and read back: equal, and the text written.
fn round_trip(s: &Scenario) -> String {
    let text = to_toml(s);
    let back = parse("written.toml", &text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(&back, s, "changed on the way through:\n{text}");
    text
}

#[test]
fn transactional_producers_and_read_committed_consumers_parse_and_round_trip() {
    let s = parse("payments.toml", PAYMENTS).unwrap_or_else(|e| panic!("{e}"));
    let (a, b, plain) = (&s.producers[0], &s.producers[1], &s.producers[2]);
    assert_eq!(a.config.transactional_id.as_deref(), Some("pay-1"));
    assert_eq!(
        (
            a.config.transaction_timeout_ms,
            a.config.transaction_interval_ms
        ),
        (30_000, 250)
    );
    assert!(a.idempotent, "a transactional producer is idempotent");
    // Two producers with one transactional.id are allowed: that is zombie fencing.
    assert_eq!(b.config.transactional_id.as_deref(), Some("pay-1"));
    assert_eq!(
        (
            b.config.transaction_timeout_ms,
            b.config.transaction_interval_ms
        ),
        (60_000, 100),
        "Kafka's default timeout, the simulator's interval"
    );
    assert_eq!(plain.config.transactional_id, None);
    assert_eq!(
        s.consumers[0].config.isolation_level,
        IsolationLevel::ReadCommitted
    );
    assert_eq!(
        s.consumers[1].config.isolation_level,
        IsolationLevel::ReadUncommitted
    );
    let (b1, b2) = (&s.broker_configs[0], &s.broker_configs[1]);
    assert_eq!(b1.transaction_state_log_num_partitions, 2);
    assert_eq!(b1.transaction_max_timeout_ms, 120_000);
    assert!(!b1.transaction_partition_verification);
    assert_eq!(b1.transaction_abort_interval_ms, 10_000);
    assert_eq!(b2.transaction_abort_interval_ms, 500);
    assert_eq!(
        (
            b2.transaction_state_log_replication_factor,
            b2.transaction_state_log_min_isr
        ),
        (2, 1)
    );
    assert_eq!(s.features.transaction_version, 2);
    assert!(s.transaction_topic().is_some());

    let text = round_trip(&s);
    for line in [
        "\"transactional.id\" = \"pay-1\"\n\"transaction.timeout.ms\" = 30000\n\"sim.transaction.interval.ms\" = 250\n",
        "\"isolation.level\" = \"read_committed\"\n",
        "\"transaction.partition.verification.enable\" = false\n",
        "\"transaction.abort.timed.out.transaction.cleanup.interval.ms\" = 500\n",
    ] {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }
    // Defaults stay unwritten: no `transaction.version`, no `isolation.level` for the
    // consumer that reads uncommitted, no transaction settings for the plain producer.
    assert!(!text.contains("transaction.version"), "{text}");
    assert_eq!(text.matches("isolation.level").count(), 1, "{text}");
    assert_eq!(text.matches("transactional.id").count(), 2, "{text}");
}

#[test]
fn transaction_version_parses_and_round_trips() {
    let text = payments_with("brokers = 3", "brokers = 3\ntransaction.version = 0");
    let s = parse("v0.toml", &text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.features.transaction_version, 0);
    assert!(!s.features.transactions_v2());
    let written = round_trip(&s);
    assert!(
        written.contains(
            "eligible.leader.replicas.version = 1\ntransaction.version = 0\nreader = true\n"
        ),
        "{written}"
    );

    // A feature level, whatever the controller: allowed with ZooKeeper too.
    let text = payments_with(
        "brokers = 3",
        "brokers = 3\nmetadata = \"zookeeper\"\ntransaction.version = 1",
    );
    let s = parse("zk.toml", &text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.features.transaction_version, 1);
    round_trip(&s);

    // A change of `[cluster]` reads it as a file does.
    let base = parse("payments.toml", PAYMENTS).unwrap();
    let edit = SettingEdit::from_text(Place::Cluster, "transaction.version", "1").unwrap();
    assert_eq!(
        apply(&base, &[edit]).unwrap().features.transaction_version,
        1
    );
    let e = SettingEdit::from_text(Place::Cluster, "transaction.version", "3").unwrap_err();
    assert!(e.contains("between 0 and 2"), "{e}");
}

#[test]
fn transaction_version_out_of_range() {
    let three = errors(&payments_with(
        "brokers = 3",
        "brokers = 3\ntransaction.version = 3",
    ));
    let quoted = errors(&payments_with(
        "brokers = 3",
        "brokers = 3\ntransaction.version = \"2\"",
    ));
    insta::assert_snapshot!(format!("{three}\n---\n{quoted}"));
}

#[test]
fn transaction_timeout_above_the_brokers_maximum() {
    // Every broker's maximum, then one broker's, then Kafka's default timeout over a low
    // maximum (pointed at the transactional.id, the table does not set the timeout).
    let every = errors(&payments_with(
        "transaction.timeout.ms = 30000",
        "transaction.timeout.ms = 300000",
    ));
    let one = errors(&payments_with(
        "[brokers.2]\n",
        "[brokers.2]\ntransaction.max.timeout.ms = 20000\n",
    ));
    let default = errors(&payments_with(
        "transaction.max.timeout.ms = 120000",
        "transaction.max.timeout.ms = 45000",
    ));
    insta::assert_snapshot!(format!("{every}\n---\n{one}\n---\n{default}"));

    // An edit is refused by the same rule, with the same words.
    let base = parse("payments.toml", PAYMENTS).unwrap();
    let edit =
        SettingEdit::from_text(Place::AllBrokers, "transaction.max.timeout.ms", "10000").unwrap();
    let e = apply(&base, &[edit]).unwrap_err();
    assert!(
        e.starts_with("producer `pay-a`: transaction.timeout.ms 30000 is more than the brokers' transaction.max.timeout.ms 10000"),
        "{e}"
    );
}

#[test]
fn transactional_id_needs_idempotence() {
    let off = errors(&payments_with(
        "transactional.id = \"pay-1\"",
        "transactional.id = \"pay-1\"\nenable.idempotence = false",
    ));
    let acks = errors(&payments_with(
        "transactional.id = \"pay-1\"",
        "transactional.id = \"pay-1\"\nacks = \"1\"\nmax.in.flight.requests.per.connection = 6",
    ));
    insta::assert_snapshot!(format!("{off}\n---\n{acks}"));
}

#[test]
fn transaction_settings_without_a_transactional_id() {
    let e = errors(&payments_with(
        "name = \"plain\"\ntopic = \"payments\"\nrate = 10\n",
        "name = \"plain\"\ntopic = \"payments\"\nrate = 10\ntransaction.timeout.ms = 5000\nsim.transaction.interval.ms = 50\n",
    ));
    insta::assert_snapshot!(e);
}

#[test]
fn transactional_id_values() {
    let int = errors(&payments_with(
        "transactional.id = \"pay-1\"",
        "transactional.id = 7",
    ));
    let empty = errors(&payments_with(
        "transactional.id = \"pay-1\"",
        "transactional.id = \" \"",
    ));
    let level = errors(&payments_with(
        "isolation.level = \"read_committed\"",
        "isolation.level = \"committed\"",
    ));
    insta::assert_snapshot!(format!("{int}\n---\n{empty}\n---\n{level}"));
}

#[test]
fn unmodelled_kafka_settings_say_so() {
    let text = payments_with(
        "transaction.max.timeout.ms = 120000",
        "transaction.max.timeout.ms = 120000\ntransactional.id.expiration.ms = 604800000\ntransaction.state.log.segment.bytes = 104857600",
    );
    let text = text.replacen(
        "sim.transaction.interval.ms = 250",
        "sim.transaction.interval.ms = 250\ntransaction.two.phase.commit.enable = true",
        1,
    );
    // In the wrong table, it says whose setting it is.
    let text = text.replacen(
        "isolation.level = \"read_committed\"",
        "isolation.level = \"read_committed\"\nproducer.id.expiration.ms = 86400000",
        1,
    );
    insta::assert_snapshot!(errors(&text));
}

const STREAM: &str = r#"
[scenario]
name = "a stream processor"
duration = "10s"

[cluster]
brokers = 3

[[topics]]
name = "orders"

[[topics]]
name = "features"

[[producers]]
name = "shop"
topic = "orders"
rate = 10

[[consumers]]
name = "scorer"
group = "ml"
topics = ["orders"]

[consumers.output]
topic = "features"
transform = "windowed-count"
window = "1s"
threshold = 20
"#;

#[test]
fn a_stream_processors_producer_takes_no_transactional_id() {
    let id = errors(&format!("{STREAM}transactional.id = \"scorer-1\"\n"));
    let timeout = errors(&format!("{STREAM}transaction.timeout.ms = 5000\n"));
    insta::assert_snapshot!(format!("{id}\n---\n{timeout}"));
    // Other producer settings are still the output's to set.
    let s =
        parse("stream.toml", &format!("{STREAM}acks = \"1\"\n")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        s.consumers[0]
            .output
            .as_ref()
            .unwrap()
            .config
            .transactional_id,
        None
    );
    assert!(s.transaction_topic().is_none());
}
