//! A setting changed in a copy of a scenario, for comparing the same scenario and seed under two
//! configurations (acks=1 against acks=all, `min.insync.replicas` 1 against 2).
//!
//! A change is written `WHERE.KEY=VALUE` with Kafka's key names:
//!
//! - `producer.a.acks=all`: a producer (by its name in the scenario),
//! - `broker.min.insync.replicas=2`: every broker; `broker.2.log.flush.interval.messages=1`: one,
//! - `topic.orders.min.insync.replicas=2`: a topic's override,
//! - `cluster.metadata=zookeeper`: a `[cluster]` key.
//!
//! This module only reads that text into a typed [`SettingEdit`]; checking and applying it is
//! the simulator's [`kafkascope_sim::scenario::edit`], the one path every edit of a scenario
//! takes, so a value the simulator would refuse in a file (`acks=2`, `enable.idempotence=true`
//! with `acks=1`) is refused here with the same message.

use kafkascope_sim::ids::BrokerId;
pub use kafkascope_sim::scenario::edit::{Place, SettingEdit};
use kafkascope_sim::scenario::{edit, Scenario};

/// Every place of `scenario` the compare dialog offers, in the order it lists them:
/// producers, every broker, each broker, topics.
pub fn places(scenario: &Scenario) -> Vec<Place> {
    let mut v: Vec<Place> = scenario
        .producers
        .iter()
        .map(|p| Place::Producer(p.name.clone()))
        .collect();
    v.push(Place::AllBrokers);
    v.extend(scenario.broker_ids().into_iter().map(Place::Broker));
    v.extend(
        scenario
            .topics
            .iter()
            .map(|t| Place::Topic(t.name.to_string())),
    );
    v
}

/// The value `key` has at `place` in `scenario`, as a scenario file would write it; `None`
/// when it is left to a default (a topic's override, implicit idempotence).
pub fn current(place: &Place, scenario: &Scenario, key: &str) -> Option<String> {
    let find = |entries: Vec<(&'static str, kafkascope_sim::config::Value)>| {
        entries
            .into_iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.to_string())
    };
    match place {
        Place::AllBrokers => {
            let values: Vec<Option<String>> = scenario
                .broker_configs
                .iter()
                .map(|c| find(c.entries()))
                .collect();
            let first = values.first().cloned().flatten();
            if values.iter().all(|v| *v == first) {
                first
            } else {
                Some("(differs by broker)".into())
            }
        }
        Place::Broker(b) => scenario
            .broker_configs
            .get((*b as usize).wrapping_sub(1))
            .and_then(|c| find(c.entries())),
        Place::Topic(t) => scenario
            .topics
            .iter()
            .find(|d| &*d.name == t)
            .and_then(|d| find(d.overrides.entries())),
        Place::Producer(p) => scenario
            .producers
            .iter()
            .find(|d| &d.name == p)
            .and_then(|d| find(d.config.entries())),
        Place::Cluster | Place::AllTopics | Place::AllProducers => None,
    }
}

/// Reads `WHERE.KEY=VALUE` (see the module's documentation) against `scenario`, whose
/// producers, brokers and topics it may name.
pub fn parse_spec(spec: &str, scenario: &Scenario) -> Result<SettingEdit, String> {
    let (lhs, value) = spec.split_once('=').ok_or_else(|| {
        format!(
            "`{spec}`: a change is WHERE.KEY=VALUE, e.g. producer.a.acks=all or \
             broker.min.insync.replicas=2"
        )
    })?;
    let (lhs, value) = (lhs.trim(), value.trim());
    let (kind, rest) = lhs.split_once('.').ok_or_else(|| {
        format!(
            "`{spec}`: expected producer.NAME.KEY, broker[.N].KEY, topic.NAME.KEY or cluster.KEY"
        )
    })?;
    let (place, key) = match kind {
        "producer" => {
            let names = scenario.producers.iter().map(|p| p.name.clone());
            named(rest, names, "producer", spec).map(|(n, k)| (Place::Producer(n), k))?
        }
        "topic" => {
            let names = scenario.topics.iter().map(|t| t.name.to_string());
            named(rest, names, "topic", spec).map(|(n, k)| (Place::Topic(n), k))?
        }
        "broker" => match rest.split_once('.') {
            Some((n, key)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => {
                let b: BrokerId = n.parse().map_err(|_| format!("`{spec}`: no broker {n}"))?;
                if !(1..=scenario.brokers).contains(&b) {
                    return Err(format!(
                        "`{spec}`: no broker-{b}; the scenario has brokers 1 to {}",
                        scenario.brokers
                    ));
                }
                (Place::Broker(b), key)
            }
            _ => (Place::AllBrokers, rest),
        },
        "cluster" => (Place::Cluster, rest),
        other => {
            return Err(format!(
                "`{spec}`: `{other}` is not producer, broker, topic or cluster"
            ))
        }
    };
    SettingEdit::from_text(place, key, value).map_err(|e| format!("`{spec}`: {e}"))
}

/// `scenario` with every change made, checked by the simulator's scenario rules.
pub fn apply_all(scenario: &Scenario, changes: &[SettingEdit]) -> Result<Scenario, String> {
    edit::apply(scenario, changes).map_err(|e| {
        let changes: Vec<String> = changes.iter().map(SettingEdit::spec).collect();
        format!("with {}: {e}", changes.join(", "))
    })
}

/// Parses every spec and applies them all to `scenario`.
pub fn parse_and_apply(
    scenario: &Scenario,
    specs: &[String],
) -> Result<(Scenario, String), String> {
    let changes = specs
        .iter()
        .map(|s| parse_spec(s, scenario))
        .collect::<Result<Vec<_>, _>>()?;
    let changed = apply_all(scenario, &changes)?;
    let label = changes
        .iter()
        .map(SettingEdit::label)
        .collect::<Vec<_>>()
        .join(", ");
    Ok((changed, label))
}

/// Splits `NAME.KEY` where NAME is one of `names` (which may contain dots themselves).
fn named<'a>(
    rest: &'a str,
    names: impl Iterator<Item = String>,
    what: &str,
    spec: &str,
) -> Result<(String, &'a str), String> {
    let names: Vec<String> = names.collect();
    // The longest name that prefixes `rest` followed by a dot.
    names
        .iter()
        .filter(|n| rest.len() > n.len() + 1 && rest.starts_with(n.as_str()))
        .filter(|n| rest.as_bytes()[n.len()] == b'.')
        .max_by_key(|n| n.len())
        .map(|n| (n.clone(), &rest[n.len() + 1..]))
        .ok_or_else(|| {
            format!(
                "`{spec}`: no {what} named in it; the scenario's {what}s are {}",
                if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                }
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafkascope_sim::config::Acks;

    const ACKS1: &str = include_str!("../../scenarios/acks1-leader-crash.toml");

    fn acks1() -> Scenario {
        kafkascope_sim::scenario::parse("acks1", ACKS1).unwrap()
    }

    #[test]
    fn a_producer_broker_or_topic_setting_changes_in_the_copy_only() {
        let s = acks1();
        let (changed, label) = parse_and_apply(&s, &["producer.a.acks=all".into()]).unwrap();
        assert_eq!(s.producers[0].config.acks, Acks::Leader);
        assert_eq!(changed.producers[0].config.acks, Acks::All);
        // Idempotence follows Kafka's defaulting rule again: on with acks=all.
        assert!(changed.producers[0].idempotent);
        assert_eq!(label, "producer-a acks=all");

        let (changed, _) = parse_and_apply(&s, &["broker.min.insync.replicas=2".into()]).unwrap();
        assert!(changed
            .broker_configs
            .iter()
            .all(|c| c.min_insync_replicas == 2));
        let (changed, label) =
            parse_and_apply(&s, &["broker.2.log.flush.interval.messages=1".into()]).unwrap();
        assert_eq!(changed.broker_configs[1].log_flush_interval_messages, 1);
        assert_eq!(changed.broker_configs[0], s.broker_configs[0]);
        assert_eq!(label, "broker-2 log.flush.interval.messages=1");
        let (changed, _) =
            parse_and_apply(&s, &["topic.orders.min.insync.replicas=2".into()]).unwrap();
        assert_eq!(changed.topics[0].overrides.min_insync_replicas, Some(2));
        // Everything else is the same scenario.
        assert_eq!(changed.seed, s.seed);
        assert_eq!(changed.faults, s.faults);
    }

    #[test]
    fn bad_changes_say_what_is_wrong() {
        let s = acks1();
        let err = |spec: &str| parse_and_apply(&s, &[spec.to_string()]).unwrap_err();
        assert!(
            err("producer.a.acks=2").contains("\"all\""),
            "{}",
            err("producer.a.acks=2")
        );
        assert!(err("broker.min.insync.replicas=0").contains("between 1 and 100"));
        assert!(err("broker.min.insync.replicas=two").contains("not an integer"));
        assert!(err("producer.z.acks=all").contains("producers are a"));
        assert!(err("broker.7.min.insync.replicas=2").contains("brokers 1 to 3"));
        assert!(err("producer.a.linger=5").contains("linger.ms"));
        assert!(err("acks").contains("WHERE.KEY=VALUE"));
        assert!(err("consumer.x.acks=1").contains("not producer, broker, topic or cluster"));
        // Explicit idempotence with acks=1 is the conflict Kafka refuses.
        let e = err("producer.a.enable.idempotence=true");
        assert!(e.contains("acks"), "{e}");
    }

    #[test]
    fn a_change_reads_back_from_its_spec() {
        let s = acks1();
        for place in places(&s) {
            let key = place.keys()[0];
            let spec = format!("{}.{key}=1", place.prefix());
            let c = parse_spec(&spec, &s).unwrap();
            assert_eq!(c.place, place);
            assert_eq!(c.spec(), spec);
        }
    }
}
