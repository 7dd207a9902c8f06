//! Settings changed in a copy of a scenario, typed all the way (an experiment's grid point,
//! the app's "compare with a change"), and commands added to one (the app's "add a client"
//! form, a lesson's typed commands).
//!
//! A change never goes back through TOML text. Its key is checked against the simulator's
//! table of keys ([`crate::config::KEYS`], [`crate::config::CLUSTER_KEYS`]), its value against
//! the key's kind, it is set with the model's own setters, and the changed scenario goes
//! through [`super::validate`], the rules a file's reader applies too: the same mistake gets
//! the same message whichever way it was made.
//!
//! A command is checked by [`add_command`] against the scenario and the commands before it,
//! with the rules a file's `[[faults]]` meet. The rules over the faults' timeline (a topic
//! exists from its `create-topic`, a client from its `add-*`) are typed in
//! [`super::validate`], so [`apply`] refuses a scenario whose faults break them too. What a
//! single fault's table must say (a target that exists and fits the action, values in range)
//! is still read only by the file reader: `add_command` writes the command as the fault table
//! the scenario writer spells and reads it back in one place, and reports only the problems of
//! that table, without the lines of a file nobody wrote.

use crate::broker::TruncationMode;
use crate::config::{self, Kind, MetadataMode, Scope, Value};
use crate::ids::{BrokerId, Millis};

use super::{parse, to_toml, validate, Scenario};
use crate::command::TimedCommand;

/// Which part of a scenario a change applies to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Place {
    /// `[cluster]`: the keys of [`config::CLUSTER_KEYS`].
    Cluster,
    AllBrokers,
    Broker(BrokerId),
    AllTopics,
    Topic(String),
    AllProducers,
    Producer(String),
}

impl Place {
    /// The scope of the keys this place takes (`None`: the cluster's own keys).
    pub fn scope(&self) -> Option<Scope> {
        match self {
            Place::Cluster => None,
            Place::AllBrokers | Place::Broker(_) => Some(Scope::Broker),
            Place::AllTopics | Place::Topic(_) => Some(Scope::Topic),
            Place::AllProducers | Place::Producer(_) => Some(Scope::Producer),
        }
    }

    /// The prefix of a change's text: `cluster`, `broker`, `broker.2`, `topic`,
    /// `topic.orders`, `producer`, `producer.a`.
    pub fn prefix(&self) -> String {
        match self {
            Place::Cluster => "cluster".into(),
            Place::AllBrokers => "broker".into(),
            Place::Broker(b) => format!("broker.{b}"),
            Place::AllTopics => "topic".into(),
            Place::Topic(t) => format!("topic.{t}"),
            Place::AllProducers => "producer".into(),
            Place::Producer(p) => format!("producer.{p}"),
        }
    }

    /// How a view names it: `producer-a`, `every broker`, `broker-2`, `topic orders`.
    pub fn label(&self) -> String {
        match self {
            Place::Cluster => "the cluster".into(),
            Place::AllBrokers => "every broker".into(),
            Place::Broker(b) => format!("broker-{b}"),
            Place::AllTopics => "every topic".into(),
            Place::Topic(t) => format!("topic {t}"),
            Place::AllProducers => "every producer".into(),
            Place::Producer(p) => format!("producer-{p}"),
        }
    }

    /// The keys this place takes, in the order `kafkascope configs` lists them.
    pub fn keys(&self) -> Vec<&'static str> {
        match self.scope() {
            Some(scope) => config::names(scope).collect(),
            None => config::CLUSTER_KEYS.iter().map(|k| k.name).collect(),
        }
    }

    fn kind(&self, key: &str) -> Option<(&'static str, &'static Kind)> {
        match self.scope() {
            Some(scope) => config::key(scope, key).map(|k| (k.name, &k.kind)),
            None => config::CLUSTER_KEYS
                .iter()
                .find(|k| k.name == key)
                .map(|k| (k.name, &k.kind)),
        }
    }
}

/// One setting, changed: where, which Kafka key, and the new value.
#[derive(Clone, Debug, PartialEq)]
pub struct SettingEdit {
    pub place: Place,
    pub key: &'static str,
    pub value: Value,
}

impl SettingEdit {
    /// A change of `key` at `place`, if the place takes that key and the value fits it.
    pub fn new(place: Place, key: &str, value: Value) -> Result<SettingEdit, String> {
        let (name, kind) = place.kind(key).ok_or_else(|| {
            format!(
                "`{key}` is not a setting of {}; the keys are {}",
                place.label(),
                place.keys().join(", ")
            )
        })?;
        kind.check(&value)
            .map_err(|e| format!("{name}={value}: {e}"))?;
        Ok(SettingEdit {
            place,
            key: name,
            value,
        })
    }

    /// A change whose value is written as text (`all`, `2`, `true`), read by the key's kind.
    pub fn from_text(place: Place, key: &str, text: &str) -> Result<SettingEdit, String> {
        let (name, kind) = place.kind(key).ok_or_else(|| {
            format!(
                "`{key}` is not a setting of {}; the keys are {}",
                place.label(),
                place.keys().join(", ")
            )
        })?;
        let text = text.trim().trim_matches('"');
        let value = match kind {
            Kind::Int { .. } => Value::Int(
                text.replace('_', "")
                    .parse()
                    .map_err(|_| format!("{name}: `{text}` is not an integer"))?,
            ),
            Kind::Bool => match text {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                _ => return Err(format!("{name}: expected true or false, not `{text}`")),
            },
            Kind::Choice(_) | Kind::Text => Value::Str(text.to_string()),
        };
        SettingEdit::new(place, name, value)
    }

    /// `producer.a.acks=all`.
    pub fn spec(&self) -> String {
        format!("{}.{}={}", self.place.prefix(), self.key, self.value)
    }

    /// `producer-a acks=all`: for a title.
    pub fn label(&self) -> String {
        format!("{} {}={}", self.place.label(), self.key, self.value)
    }
}

/// `scenario` with every change made, then checked by the scenario rules as a file is.
pub fn apply(scenario: &Scenario, edits: &[SettingEdit]) -> Result<Scenario, String> {
    let mut s = scenario.clone();
    // As a file is read: `metadata` before the cluster keys that depend on it, whatever order
    // the edits come in (an experiment's grid keys are sorted).
    let (first, rest): (Vec<_>, Vec<_>) = edits
        .iter()
        .partition(|e| e.place == Place::Cluster && e.key == "metadata");
    for e in first.into_iter().chain(rest) {
        set(&mut s, e)?;
    }
    validate::validate(&s).map_err(|v| validate::describe(&v))?;
    Ok(s)
}

fn set(s: &mut Scenario, e: &SettingEdit) -> Result<(), String> {
    let v = &e.value;
    match &e.place {
        Place::Cluster => set_cluster(s, e.key, v),
        Place::AllBrokers => s.broker_configs.iter_mut().for_each(|b| b.set(e.key, v)),
        Place::Broker(b) => s
            .broker_configs
            .get_mut((*b as usize).wrapping_sub(1))
            .ok_or_else(|| format!("no broker-{b}; the scenario has brokers 1 to {}", s.brokers))?
            .set(e.key, v),
        Place::AllTopics => s.topics.iter_mut().for_each(|t| t.overrides.set(e.key, v)),
        Place::Topic(t) => s
            .topics
            .iter_mut()
            .find(|d| &*d.name == t)
            .ok_or_else(|| format!("no topic {t}"))?
            .overrides
            .set(e.key, v),
        Place::AllProducers | Place::Producer(_) => {
            let mut found = false;
            for p in &mut s.producers {
                if matches!(&e.place, Place::Producer(n) if *n != p.name) {
                    continue;
                }
                found = true;
                p.config.set(e.key, v);
                // Kafka's defaulting rule again: idempotence is on unless a setting it needs
                // is off; an explicit `true` that conflicts is a rule `validate` reports.
                p.idempotent = p.config.idempotence().unwrap_or(false);
            }
            if let (false, Place::Producer(n)) = (found, &e.place) {
                return Err(format!("no producer {n}"));
            }
        }
    }
    Ok(())
}

/// `[cluster]`'s keys as the file reader reads them: `metadata = "zookeeper"` turns Eligible
/// Leader Replicas off with it (they exist only in KRaft) unless a later change sets them.
fn set_cluster(s: &mut Scenario, key: &str, v: &Value) {
    match (key, v) {
        ("truncation", Value::Str(t)) => {
            s.truncation = match t.as_str() {
                "high-watermark" => TruncationMode::HighWatermark,
                "leader-epoch" => TruncationMode::LeaderEpoch,
                _ => TruncationMode::DivergingEpoch,
            }
        }
        ("metadata", Value::Str(m)) => {
            if m == "zookeeper" {
                s.features.metadata = MetadataMode::Zookeeper;
                s.features.eligible_leader_replicas = false;
            } else {
                s.features.metadata = MetadataMode::Kraft;
            }
        }
        ("eligible.leader.replicas.version", Value::Int(n)) => {
            s.features.eligible_leader_replicas = *n == 1
        }
        ("transaction.version", Value::Int(n)) => {
            // Checked against the key's range (0..=2) before it is set.
            s.features.transaction_version = u8::try_from(*n).unwrap_or(2)
        }
        _ => {}
    }
}

/// `command` as a scenario file's `[[faults]]` table (with its `[faults.output]`, if any), as
/// the scenario writer spells it.
pub fn fault_table(command: &TimedCommand, scenario: &Scenario) -> String {
    let mut s = scenario.clone();
    s.faults = vec![command.clone()];
    s.expect.clear();
    let toml = to_toml(&s);
    match toml.rfind("[[faults]]") {
        Some(i) => toml[i..].to_string(),
        None => String::new(),
    }
}

/// `table` (one `[[faults]]` table, at `at`) read after `scenario`'s text and the `earlier`
/// commands:
/// the command it makes, or its problems as lines a person can act on (`message` and an
/// indented `help:`).
pub fn read_fault_table(
    scenario_text: &str,
    scenario: &Scenario,
    earlier: &[TimedCommand],
    table: &str,
    at: Millis,
) -> Result<TimedCommand, String> {
    let mut base = scenario_text.trim_end().to_string();
    for c in earlier {
        base.push_str("\n\n");
        base.push_str(fault_table(c, scenario).trim_end());
    }
    let text = format!("{base}\n{table}");
    let offset = base.len() + 1;
    match parse("command", &text) {
        // The table is the last `[[faults]]` entry at its time: faults are ordered by time,
        // and by file order within one.
        Ok(s) => s
            .faults
            .iter()
            .rev()
            .find(|c| c.at == at)
            .cloned()
            .ok_or_else(|| "the command was not understood".to_string()),
        Err(e) => {
            let ours: Vec<String> = e
                .problems
                .iter()
                .filter(|p| p.span.start >= offset)
                .map(|p| match &p.help {
                    Some(h) => format!("{}\n  help: {h}", p.message),
                    None => p.message.clone(),
                })
                .collect();
            if ours.is_empty() {
                Err(format!("the scenario does not parse: {e}"))
            } else {
                Err(ours.join("\n"))
            }
        }
    }
}

/// `command` checked against `scenario` (with every fault it has) by the rules a file's
/// faults meet: the command as the reader understands it, or what is wrong with it.
pub fn add_command(scenario: &Scenario, command: &TimedCommand) -> Result<TimedCommand, String> {
    let text = to_toml(scenario);
    read_fault_table(
        &text,
        scenario,
        &[],
        &fault_table(command, scenario),
        command.at,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Acks;

    fn example() -> Scenario {
        super::super::parse(
            "x.toml",
            r#"
[scenario]
name = "x"
duration = "10s"
[cluster]
brokers = 3
[[topics]]
name = "orders"
replication.factor = 2
[[producers]]
name = "a"
topic = "orders"
acks = "1"
rate = 10
"#,
        )
        .unwrap()
    }

    fn edit(place: Place, key: &str, text: &str) -> Result<Scenario, String> {
        apply(&example(), &[SettingEdit::from_text(place, key, text)?])
    }

    #[test]
    fn a_change_applies_to_the_copy_only() {
        let s = example();
        let changed = edit(Place::Producer("a".into()), "acks", "all").unwrap();
        assert_eq!(s.producers[0].config.acks, Acks::Leader);
        assert_eq!(changed.producers[0].config.acks, Acks::All);
        assert!(
            changed.producers[0].idempotent,
            "Kafka's default follows acks"
        );
        let changed = edit(Place::Broker(2), "log.flush.interval.messages", "1").unwrap();
        assert_eq!(changed.broker_configs[1].log_flush_interval_messages, 1);
        assert_eq!(changed.broker_configs[0], s.broker_configs[0]);
        let changed = edit(Place::Cluster, "metadata", "zookeeper").unwrap();
        assert!(!changed.features.kraft() && !changed.features.eligible_leader_replicas);
    }

    #[test]
    fn mistakes_say_what_is_wrong_and_what_is_allowed() {
        let err = |place: Place, key: &str, text: &str| edit(place, key, text).unwrap_err();
        let a = || Place::Producer("a".into());
        assert!(err(a(), "acks", "2").contains("\"all\""));
        assert!(err(Place::AllBrokers, "min.insync.replicas", "0").contains("between 1 and"));
        assert!(err(Place::AllBrokers, "min.insync.replicas", "two").contains("not an integer"));
        assert!(err(a(), "linger", "5").contains("linger.ms"));
        assert!(err(Place::Producer("z".into()), "acks", "all").contains("no producer z"));
        assert!(err(Place::Broker(7), "min.insync.replicas", "1").contains("brokers 1 to 3"));
        // The rules across settings are the file reader's, word for word.
        let e = err(Place::AllBrokers, "min.insync.replicas", "3");
        assert!(
            e.contains("min.insync.replicas 3 is more than replication.factor 2 of topic `orders`"),
            "{e}"
        );
        let e = err(a(), "enable.idempotence", "true");
        assert!(
            e.starts_with("producer `a`: enable.idempotence = true needs"),
            "{e}"
        );
        let e = apply(
            &example(),
            &[
                SettingEdit::from_text(Place::Cluster, "metadata", "zookeeper").unwrap(),
                SettingEdit::from_text(Place::Cluster, "eligible.leader.replicas.version", "1")
                    .unwrap(),
            ],
        )
        .unwrap_err();
        assert!(e.contains("needs a KRaft cluster"), "{e}");
    }
}
