//! Every way of changing a scenario refuses the same mistake with the same words: a file, an
//! experiment's grid point, the app's "compare with a change", a learner's typed command and
//! the app's "add a client" form all reach `kafkascope_sim::scenario::validate`'s rules.

use kafkascope::explore::experiment::Experiment;
use kafkascope_lessons::command_line::parse_line;
use kafkascope_lessons::SimRef;
use kafkascope_sim::command::{Command, Target, TimedCommand};
use kafkascope_sim::ids::NodeId;
use kafkascope_sim::scenario::{self, edit, Scenario};

const BASE: &str = "acks1-leader-crash";

fn base_text() -> &'static str {
    kafkascope::library::find(BASE).unwrap()
}

fn base() -> Scenario {
    scenario::parse(BASE, base_text()).unwrap()
}

/// The base scenario's file with `line` added after `after`.
fn file_with(after: &str, line: &str) -> Result<Scenario, String> {
    let text = base_text().replacen(after, &format!("{after}\n{line}"), 1);
    scenario::parse("changed.toml", &text).map_err(|e| e.to_string())
}

fn experiment_with(grid: &str) -> Result<Experiment, String> {
    let text =
        format!("[experiment]\nname = \"x\"\nscenario = \"{BASE}\"\nseeds = 1\n[grid]\n{grid}\n");
    Experiment::load("x.toml", &text, kafkascope::library::find)
}

fn compare_with(spec: &str) -> Result<Scenario, String> {
    kafkascope_ui::change::parse_and_apply(&base(), &[spec.to_string()]).map(|(s, _)| s)
}

fn typed(line: &str) -> Result<(), String> {
    let sim = SimRef {
        name: BASE.into(),
        scenario: base(),
        text: base_text().into(),
        seed: 3,
    };
    parse_line(line, &sim, 2_000).map(|_| ())
}

/// Asserts that every result is an error containing `message`, and shows which is not.
fn all_say(message: &str, results: &[(&str, Result<(), String>)]) {
    for (path, r) in results {
        match r {
            Ok(()) => panic!("{path}: accepted, but should say {message:?}"),
            Err(e) => assert!(e.contains(message), "{path}: {e}\n  should say: {message}"),
        }
    }
}

#[test]
fn idempotence_with_acks_1_is_refused_alike_everywhere() {
    let message = "enable.idempotence = true needs acks = \"all\", retries > 0 and max.in.flight.requests.per.connection <= 5";
    let help = "this producer sets acks = \"1\"";
    let file = file_with("acks = \"1\"", "enable.idempotence = true").map(|_| ());
    let grid = experiment_with("\"producer.enable.idempotence\" = [true]").map(|_| ());
    let compare = compare_with("producer.a.enable.idempotence=true").map(|_| ());
    let line = typed("add-producer b topic=orders acks=1 enable.idempotence=true rate=5");
    let results = [
        ("file", file),
        ("experiment", grid),
        ("compare", compare),
        ("typed command", line),
    ];
    all_say(message, &results);
    all_say(help, &results);
}

#[test]
fn min_isr_above_the_replication_factor_is_refused_alike_everywhere() {
    let message = "min.insync.replicas 4 is more than replication.factor 3 of topic `orders`: acks=all writes could never succeed";
    let file = file_with("brokers = 3", "[broker]\nmin.insync.replicas = 4").map(|_| ());
    let grid = experiment_with("\"broker.min.insync.replicas\" = [2, 4]").map(|_| ());
    let compare = compare_with("broker.min.insync.replicas=4").map(|_| ());
    all_say(
        message,
        &[("file", file), ("experiment", grid), ("compare", compare)],
    );
}

#[test]
fn eligible_leader_replicas_without_kraft_are_refused_alike_everywhere() {
    let message = "eligible.leader.replicas.version = 1 needs a KRaft cluster";
    let file = file_with(
        "brokers = 3",
        "metadata = \"zookeeper\"\neligible.leader.replicas.version = 1",
    )
    .map(|_| ());
    let grid = experiment_with(
        "\"cluster.metadata\" = [\"zookeeper\"]\n\"cluster.eligible.leader.replicas.version\" = [1]",
    )
    .map(|_| ());
    let compare = kafkascope_ui::change::parse_and_apply(
        &base(),
        &[
            "cluster.metadata=zookeeper".into(),
            "cluster.eligible.leader.replicas.version=1".into(),
        ],
    )
    .map(|_| ());
    all_say(
        message,
        &[("file", file), ("experiment", grid), ("compare", compare)],
    );
}

#[test]
fn the_add_client_form_is_checked_as_a_typed_line() {
    use kafkascope_ui::session::Session;
    use kafkascope_ui::{AddClient, ClientKind};
    let session = Session::new(BASE, base(), 3);
    let mut form = AddClient::new(ClientKind::Producer, &session);
    // A name already taken: the form, the typed line and a file say the same.
    form.name = "a".into();
    let from_form = form.command(&session, 2_000).unwrap_err();
    let from_line = typed("add-producer a topic=orders rate=5").unwrap_err();
    // The line a file names differs (the form checks the session written out as a file).
    let first_line = |e: &str| e.lines().next().unwrap_or_default().to_string();
    assert_eq!(first_line(&from_form), first_line(&from_line));
    assert_eq!(first_line(&from_form), "producer `a` is defined twice");
}

#[test]
fn a_valid_change_is_the_same_scenario_by_every_path() {
    let grid = experiment_with("\"broker.min.insync.replicas\" = [2]").unwrap();
    let point = &grid.points()[0];
    let from_grid = grid.scenario_for(point, 3).unwrap();
    let from_compare = compare_with("broker.min.insync.replicas=2").unwrap();
    let from_file = file_with("brokers = 3", "[broker]\nmin.insync.replicas = 2").unwrap();
    assert_eq!(from_grid.broker_configs, from_compare.broker_configs);
    assert_eq!(from_file.broker_configs, from_compare.broker_configs);
}

/// The base scenario with `faults` added to its own, typed: as an edit makes them.
fn with_faults(faults: &[TimedCommand]) -> Result<(), String> {
    let mut s = base();
    s.faults.extend(faults.iter().cloned());
    edit::apply(&s, &[]).map(|_| ())
}

#[test]
fn growing_a_topic_to_fewer_partitions_is_refused_alike_everywhere() {
    // Rules over the faults' timeline: `orders` has 1 partition when the fault comes.
    let message =
        "topic `orders` has 1 partition at 2s: `partitions` is the new total and must be more";
    let help = "Kafka adds partitions but never removes them; write partitions = 2 or more";
    let file = file_with(
        "target = \"broker-1\"",
        "\n[[faults]]\nat = \"2s\"\naction = \"add-partitions\"\ntopic = \"orders\"\npartitions = 1",
    )
    .map(|_| ());
    let grow = TimedCommand {
        at: 2_000,
        command: Command::AddPartitions {
            topic: "orders".into(),
            partitions: 1,
        },
    };
    let edited = with_faults(std::slice::from_ref(&grow));
    let validated = {
        let mut s = base();
        s.faults.push(grow.clone());
        scenario::validate(&s).map_err(|v| scenario::validate::describe(&v))
    };
    let added = edit::add_command(&base(), &grow).map(|_| ());
    let line = typed("add-partitions orders partitions=1");
    let results = [
        ("file", file),
        ("edit", edited),
        ("validate", validated),
        ("add_command", added),
        ("typed command", line),
    ];
    all_say(message, &results);
    all_say(help, &results);
}

#[test]
fn naming_a_client_before_it_is_added_is_refused_alike_by_a_file_and_an_edit() {
    let message = "producer-b does not exist yet at 6s: the `add-producer` fault";
    let help = "move this fault to 8s or later";
    let file = file_with(
        "target = \"broker-1\"",
        "\n[[faults]]\nat = \"8s\"\naction = \"add-producer\"\nname = \"b\"\ntopic = \"orders\"\nrate = 5\n\n\
         [[faults]]\nat = \"6s\"\naction = \"producer\"\ntarget = \"producer-b\"\nrate = 10",
    )
    .map(|_| ());
    let mut b = base().producers[0].clone();
    b.name = "b".into();
    let edited = with_faults(&[
        TimedCommand {
            at: 8_000,
            command: Command::AddProducer(Box::new(b)),
        },
        TimedCommand {
            at: 6_000,
            command: Command::Producer {
                target: Target::Node(NodeId::Producer(1)),
                settings: Vec::new(),
                rate: Some(10.0),
            },
        },
    ]);
    // A file points at the other fault by line, an edit by its time.
    assert!(
        matches!(&file, Err(e) if e.contains("`add-producer` fault on line")),
        "{file:?}"
    );
    assert!(
        matches!(&edited, Err(e) if e.contains("`add-producer` fault at 8s adds it at 8s")),
        "{edited:?}"
    );
    let results = [("file", file), ("edit", edited)];
    all_say(message, &results);
    all_say(help, &results);
}
