//! Commands a learner types (and a task's solution lists): a scenario's `[[faults]]` entry on
//! one line.
//!
//! `crash leader of orders-0 kind=power-loss` is the action, then the target, then settings.
//! Rather than a second grammar with its own checks, the line is turned into a `[[faults]]`
//! table, appended to the scenario's own file and parsed with it: a command accepted here is
//! exactly a fault a scenario file accepts, with the same messages when it is wrong.

use kafkascope_sim::command::TimedCommand;
use kafkascope_sim::ids::Millis;
use kafkascope_sim::scenario::edit::{fault_table, read_fault_table};
use kafkascope_sim::scenario::{parse_duration, Scenario};

use crate::lesson::SimRef;

/// What one typed line asks for.
#[derive(Clone, Debug, PartialEq)]
pub enum Input {
    /// An intervention, at the learner's current time.
    Command(TimedCommand),
    /// Let this much virtual time pass.
    Run(Millis),
}

/// The actions a line may start with, as a scenario's `[[faults]]` names them, and which key
/// the words after the action fill when they are not `key=value`.
const ACTIONS: &[(&str, Option<&str>)] = &[
    ("crash", Some("target")),
    ("shutdown", Some("target")),
    ("restart", Some("target")),
    ("pause", Some("target")),
    ("resume", Some("target")),
    ("isolate", Some("target")),
    ("heal", None),
    ("partition", None),
    ("hold", None),
    ("release", None),
    ("link", None),
    ("producer", Some("target")),
    ("create-topic", Some("topic")),
    ("add-partitions", Some("topic")),
    ("add-consumer", Some("name")),
    ("add-producer", Some("name")),
];

/// The command words, for help texts.
pub fn actions() -> impl Iterator<Item = &'static str> {
    std::iter::once("run").chain(ACTIONS.iter().map(|(a, _)| *a))
}

/// Reads one line as a command at virtual time `now` in `sim`'s scenario. The error is one or
/// more lines a learner can act on.
pub fn parse_line(line: &str, sim: &SimRef, now: Millis) -> Result<Input, String> {
    parse_line_after(line, sim, &[], now)
}

/// [`parse_line`] after the `earlier` commands: the line is checked against the scenario with
/// them as its faults, so it may name a client an earlier `add-consumer` or `add-producer`
/// started (and may not take its name).
pub fn parse_line_after(
    line: &str,
    sim: &SimRef,
    earlier: &[TimedCommand],
    now: Millis,
) -> Result<Input, String> {
    let line = line.trim();
    let (action, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
    let rest = rest.trim();
    if action == "run" {
        return match parse_duration(rest) {
            Ok(ms) if ms > 0 => Ok(Input::Run(ms)),
            Ok(_) => Err("`run` needs a time to let pass, such as `run 2s`".into()),
            Err(help) => Err(format!(
                "`run` needs a time such as `run 500ms` or `run 2s`{}",
                help.map(|h| format!(": {h}")).unwrap_or_default()
            )),
        };
    }
    let Some(&(_, positional)) = ACTIONS.iter().find(|(a, _)| *a == action) else {
        let known: Vec<&str> = actions().collect();
        let close = kafkascope_sim::located::closest(action, known.iter().copied());
        return Err(match close {
            Some(k) => format!("unknown command `{action}`: did you mean `{k}`?"),
            None => format!(
                "unknown command `{action}`; the commands are: {}",
                known.join(", ")
            ),
        });
    };
    let mut words = Vec::new();
    let mut settings = Vec::new();
    for token in rest.split_whitespace() {
        match token.split_once('=') {
            Some((k, v)) if !k.is_empty() => settings.push((k.to_string(), v.to_string())),
            _ if settings.is_empty() => words.push(token),
            _ => {
                return Err(format!(
                    "`{token}` after the settings: write the target first, then key=value settings"
                ))
            }
        }
    }
    let mut table = format!(
        "\n[[faults]]\nat = {now}\naction = {}\n",
        toml_string(action)
    );
    if !words.is_empty() {
        let Some(key) = positional else {
            return Err(format!(
                "`{action}` takes only key=value settings (such as {}), not `{}`",
                example(action),
                words.join(" ")
            ));
        };
        table += &format!("{key} = {}\n", toml_string(&words.join(" ")));
    }
    for (k, v) in &settings {
        if !k
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        {
            return Err(format!("`{k}` is not a setting name"));
        }
        table += &format!("{k} = {}\n", toml_value(k, v));
    }
    read_fault_table(&sim.text, &sim.scenario, earlier, &table, now).map(Input::Command)
}

fn example(action: &str) -> &'static str {
    match action {
        "partition" => "`from=broker-1 to=broker-2,controller one_way=true`",
        "heal" => "`between=broker-1` or nothing",
        "link" => "`from=producer-a to=broker-1 latency=200ms loss=0.1`",
        _ => "`from=broker-1 to=broker-2`",
    }
}

fn toml_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out += "\\\"",
            '\\' => out += "\\\\",
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A typed value as TOML: numbers and booleans as such, lists (for `from`, `to`, `between`,
/// an added consumer's `topics` and an added producer's `keys`) where there are commas, and
/// strings otherwise.
fn toml_value(key: &str, v: &str) -> String {
    if matches!(key, "from" | "to" | "between" | "topics" | "keys") && v.contains(',') {
        let items: Vec<String> = v
            .split(',')
            .filter(|s| !s.is_empty())
            .map(toml_string)
            .collect();
        return format!("[{}]", items.join(", "));
    }
    let is_number = v.parse::<i64>().is_ok() || (v.parse::<f64>().is_ok() && v.contains('.'));
    if is_number && key != "acks" || v == "true" || v == "false" {
        v.to_string()
    } else {
        toml_string(v)
    }
}

/// The line that types `c` (the inverse of [`parse_line`]): how the app shows and saves what
/// a learner did with its buttons, and teaches the terminal's syntax on the way.
pub fn to_line(c: &TimedCommand, scenario: &Scenario) -> String {
    // The scenario writer already knows how every command is spelled as a fault table.
    let toml = fault_table(c, scenario);
    let table = toml.strip_prefix("[[faults]]").unwrap_or_default();
    let mut action = String::new();
    let mut words = Vec::new();
    let mut settings = Vec::new();
    for line in table.lines().take_while(|l| !l.starts_with('[')) {
        let Some((k, v)) = line.split_once(" = ") else {
            continue;
        };
        let v = flat(v.trim());
        match k.trim().trim_matches('"') {
            "at" => {}
            "action" => action = v,
            k if ACTIONS.iter().any(|(a, p)| *a == action && *p == Some(k)) => words.push(v),
            k => settings.push(format!("{k}={v}")),
        }
    }
    let mut out = action;
    for w in words.into_iter().chain(settings) {
        out.push(' ');
        out += &w;
    }
    out
}

/// A TOML value as typed: strings unquoted, lists joined with commas.
fn flat(v: &str) -> String {
    if let Some(inner) = v.strip_prefix('[').and_then(|x| x.strip_suffix(']')) {
        return inner
            .split(',')
            .map(|x| flat(x.trim()))
            .filter(|x| !x.is_empty())
            .collect::<Vec<_>>()
            .join(",");
    }
    match v.strip_prefix('"').and_then(|x| x.strip_suffix('"')) {
        Some(s) => s.replace("\\\"", "\"").replace("\\\\", "\\"),
        None => v.to_string(),
    }
}

/// Runs a list of lines (a task's solution) from `start`: the commands it gives, and the time
/// it ends at.
pub fn run_script(
    lines: &[String],
    sim: &SimRef,
    start: Millis,
) -> Result<(Vec<TimedCommand>, Millis), (usize, String)> {
    let mut now = start;
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        match parse_line_after(line, sim, &out, now).map_err(|e| (i, e))? {
            Input::Command(c) => out.push(c),
            Input::Run(ms) => now += ms,
        }
    }
    Ok((out, now))
}

#[cfg(test)]
mod tests {
    use kafkascope_sim::command::{Command, Target};
    use kafkascope_sim::ids::{NodeId, TopicPartition};
    use kafkascope_sim::trace::CrashKind;

    use super::*;

    fn sim() -> SimRef {
        let text = kafkascope_sim::library::find("acks1-leader-crash").unwrap();
        SimRef {
            name: "acks1-leader-crash".into(),
            scenario: kafkascope_sim::scenario::parse("x.toml", text).unwrap(),
            text: text.into(),
            seed: 1,
        }
    }

    fn command(line: &str) -> Result<Command, String> {
        match parse_line(line, &sim(), 4000)? {
            Input::Command(c) => {
                assert_eq!(c.at, 4000);
                Ok(c.command)
            }
            Input::Run(_) => panic!("{line} is not a command"),
        }
    }

    /// A script may name the client an earlier line of it added, and may not reuse its name;
    /// a lone line cannot name a client nobody added.
    #[test]
    fn a_later_line_names_a_client_an_earlier_one_added() {
        let script = |lines: &[&str]| {
            let lines: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
            run_script(&lines, &sim(), 1000)
        };
        let (commands, end) = script(&[
            "add-consumer audit group=audit topics=orders",
            "run 1s",
            "crash consumer-audit",
        ])
        .unwrap();
        assert_eq!(end, 2000);
        assert_eq!(
            commands[1].command,
            Command::Crash {
                target: Target::Node(NodeId::Consumer(0)),
                kind: CrashKind::Process,
            }
        );
        let (i, e) = script(&[
            "add-producer web topic=orders rate=5",
            "add-producer web topic=orders rate=5",
        ])
        .unwrap_err();
        assert_eq!(i, 1, "{e}");
        assert!(e.contains("web"), "{e}");
        assert!(command("crash consumer-audit").is_err());
    }

    #[test]
    fn lines_become_the_faults_a_scenario_would_hold() {
        assert_eq!(
            command("crash leader of orders-0 kind=power-loss").unwrap(),
            Command::Crash {
                target: Target::LeaderOf(TopicPartition::new("orders", 0)),
                kind: CrashKind::PowerLoss,
            }
        );
        assert_eq!(
            command("restart broker-2").unwrap(),
            Command::Restart {
                target: Target::Node(NodeId::Broker(2))
            }
        );
        assert!(matches!(
            command("partition from=broker-1 to=broker-2,controller one_way=true").unwrap(),
            Command::Partition { one_way: true, ref to, .. } if to.len() == 2
        ));
        assert!(matches!(
            command("producer producer-a acks=all rate=50").unwrap(),
            Command::Producer { rate: Some(r), .. } if r == 50.0
        ));
        assert!(matches!(
            command("heal").unwrap(),
            Command::Heal { between: None }
        ));
        assert_eq!(parse_line("run 1.5s", &sim(), 0), Ok(Input::Run(1500)));
    }

    #[test]
    fn mistakes_say_what_is_wrong_and_what_is_allowed() {
        let e = command("crsh broker-1").unwrap_err();
        assert_eq!(e, "unknown command `crsh`: did you mean `crash`?");
        let e = command("crash broker-9").unwrap_err();
        assert!(e.contains("broker-9"), "{e}");
        let e = command("crash broker-1 kind=gentle").unwrap_err();
        assert!(e.contains("gentle") && e.contains("power-loss"), "{e}");
        let e = parse_line("run soon", &sim(), 0).unwrap_err();
        assert!(e.contains("run 2s"), "{e}");
        let e = command("heal broker-1").unwrap_err();
        assert!(e.contains("key=value"), "{e}");
    }

    #[test]
    fn a_command_is_typed_back_as_the_line_that_makes_it() {
        for line in [
            "crash leader of orders-0 kind=power-loss",
            "restart broker-2",
            "partition from=broker-1 to=broker-2,controller one_way=true",
            "producer producer-a acks=all rate=50",
            "heal",
            "link from=producer-a to=broker-1 latency=200ms loss=0.1",
        ] {
            let Ok(Input::Command(c)) = parse_line(line, &sim(), 4000) else {
                panic!("{line}")
            };
            let typed = to_line(&c, &sim().scenario);
            assert_eq!(
                parse_line(&typed, &sim(), 4000),
                Ok(Input::Command(c)),
                "{line} → {typed}"
            );
        }
    }

    #[test]
    fn a_learner_adds_a_consumer_or_a_producer() {
        let Command::AddConsumer(c) =
            command("add-consumer billing-3 group=billing topic=orders commit=after process=2ms")
                .unwrap()
        else {
            panic!("not an add-consumer")
        };
        assert_eq!(c.name, "billing-3");
        assert_eq!(c.group.as_deref(), Some("billing"));
        assert_eq!(c.topics, vec![std::sync::Arc::<str>::from("orders")]);
        assert_eq!(c.processing.per_record_us, 2_000);
        assert_eq!(
            c.processing.commit,
            kafkascope_sim::scenario::CommitPoint::After
        );
        assert_eq!((c.start, c.stop), (4000, None));
        let Command::AddProducer(p) =
            command("add-producer web topic=orders acks=1 rate=20 keys=k1,k2 stop=9s").unwrap()
        else {
            panic!("not an add-producer")
        };
        assert_eq!((p.name.as_str(), &*p.topic), ("web", "orders"));
        assert_eq!((p.workload.start, p.workload.stop), (4000, 9000));
        assert_eq!(p.workload.rate, 20.0);
        assert!(!p.idempotent);
        // Typed back, they are the same commands.
        for line in [
            "add-consumer billing-3 group=billing topics=orders commit=after process=2ms",
            "add-producer web topic=orders acks=1 rate=20 keys=k1,k2 stop=9s",
        ] {
            let Ok(Input::Command(c)) = parse_line(line, &sim(), 4000) else {
                panic!("{line}")
            };
            let typed = to_line(&c, &sim().scenario);
            assert_eq!(
                parse_line(&typed, &sim(), 4000),
                Ok(Input::Command(c)),
                "{line} → {typed}"
            );
        }
        let e = command("add-consumer billing-3 group=billing").unwrap_err();
        assert!(e.contains("missing `topics`"), "{e}");
        let e = command("add-producer a topic=orders rate=5").unwrap_err();
        assert!(e.contains("producer `a` is defined twice"), "{e}");
    }

    #[test]
    fn a_script_advances_time_between_commands() {
        let lines = ["crash broker-1", "run 2s", "restart broker-1"].map(String::from);
        let (cmds, end) = run_script(&lines, &sim(), 1000).unwrap();
        assert_eq!(cmds.iter().map(|c| c.at).collect::<Vec<_>>(), [1000, 3000]);
        assert_eq!(end, 3000);
        let bad = ["run 1s", "explode"].map(String::from);
        assert_eq!(run_script(&bad, &sim(), 0).unwrap_err().0, 1);
    }
}
