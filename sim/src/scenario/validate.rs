//! The rules that relate one setting of a scenario to another, in one place.
//!
//! A scenario changes in several ways: a file is read, an experiment sets a grid point, the
//! app compares a run with a changed setting. Each must refuse the same mistakes with the same
//! words, so the rules live here, over typed values, and every path calls them: [`validate`]
//! checks a whole [`Scenario`] (what an edit calls), and the file reader calls the rule
//! functions one table at a time, pointing each broken rule at the first of its
//! [`Broken::keys`] that the file sets.
//!
//! The rules over the faults' timeline (a topic exists from its `create-topic`, a client from
//! its `add-*` fault) are in [`timeline`]: they judge each fault against those before it, and
//! name faults by index so that a file can point at lines and a typed edit at times.

use std::fmt;

use crate::config::{Acks, BrokerConfig, ClusterFeatures, MetadataMode, ProducerConfig};
use crate::ids::{BrokerId, Millis};
use crate::located::fmt_ms;

use super::Scenario;

mod timeline;

pub use timeline::{added_clients, admin_faults, topic_not_yet, FaultBroken, FaultRule};

/// A rule a scenario breaks: what is wrong and what would fix it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Broken {
    /// The settings involved, most telling first: a located problem points at the first one
    /// given.
    pub keys: &'static [&'static str],
    pub message: String,
    pub help: String,
}

/// Whose settings break a rule, in the scenario's own names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Subject {
    Cluster,
    Broker(BrokerId),
    Topic(String),
    Producer(String),
    /// The embedded producer of a stream processor (a consumer with an output).
    StreamOutput(String),
    /// A fault, by its time and action: a typed scenario's faults have no lines.
    Fault {
        at: Millis,
        action: &'static str,
    },
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subject::Cluster => f.write_str("[cluster]"),
            Subject::Broker(b) => write!(f, "broker-{b}"),
            Subject::Topic(t) => write!(f, "topic `{t}`"),
            Subject::Producer(p) => write!(f, "producer `{p}`"),
            Subject::StreamOutput(c) => write!(f, "the output of consumer `{c}`"),
            Subject::Fault { at, action } => write!(f, "the `{action}` fault at {}", fmt_ms(*at)),
        }
    }
}

/// A broken rule and whose it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    pub subject: Subject,
    pub broken: Broken,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} ({})",
            self.subject, self.broken.message, self.broken.help
        )
    }
}

/// Eligible Leader Replicas (KIP-966) exist only in KRaft.
pub fn cluster_features(features: &ClusterFeatures) -> Option<Broken> {
    (features.eligible_leader_replicas && features.metadata == MetadataMode::Zookeeper).then(|| Broken {
        keys: &["eligible.leader.replicas.version", "metadata"],
        message: "eligible.leader.replicas.version = 1 needs a KRaft cluster".into(),
        help: "Eligible Leader Replicas (KIP-966) exist only in KRaft: remove `metadata = \"zookeeper\"` or set this to 0".into(),
    })
}

/// Where a partition's `min.insync.replicas` comes from: the topic's own setting wins over
/// its replicas' broker settings, as in Kafka.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MinIsrFrom {
    Topic,
    Broker,
}

/// `min.insync.replicas` above the replication factor: an acks=all write could never
/// succeed, so Kafka would refuse every one with NOT_ENOUGH_REPLICAS.
pub fn min_isr_fits(topic: &str, rf: u32, min_isr: u32, from: MinIsrFrom) -> Option<Broken> {
    if min_isr <= rf {
        return None;
    }
    let (message, help) = match from {
        MinIsrFrom::Topic => (
            format!("min.insync.replicas {min_isr} is more than replication.factor {rf}: acks=all writes could never succeed"),
            format!("lower min.insync.replicas to at most {rf}, or raise replication.factor"),
        ),
        MinIsrFrom::Broker => (
            format!("min.insync.replicas {min_isr} is more than replication.factor {rf} of topic `{topic}`: acks=all writes could never succeed"),
            format!("give topic `{topic}` its own min.insync.replicas (at most {rf}), or raise its replication.factor"),
        ),
    };
    Some(Broken {
        keys: &["min.insync.replicas"],
        message,
        help,
    })
}

/// Kafka's checks of a producer's settings, as `KafkaProducer`'s constructor makes them:
/// `enable.idempotence` against the settings it needs, and `delivery.timeout.ms` against
/// `linger.ms + request.timeout.ms`. `timeouts_known` is false when a file gave one of the
/// timeouts an invalid value (already reported), so comparing them would mislead.
pub fn producer_settings(config: &ProducerConfig, timeouts_known: bool) -> Vec<Broken> {
    let mut broken = Vec::new();
    if let Err(message) = config.idempotence() {
        let mut conflicts = Vec::new();
        if config.acks != Acks::All {
            conflicts.push(format!("acks = \"{}\"", config.acks));
        }
        if config.retries == 0 {
            conflicts.push("retries = 0".to_string());
        }
        if config.max_in_flight > 5 {
            conflicts.push(format!(
                "max.in.flight.requests.per.connection = {}",
                config.max_in_flight
            ));
        }
        // A transactional producer is idempotent whatever it says: its problem is at its
        // `transactional.id`, with `enable.idempotence = false` among what it conflicts with.
        let keys: &'static [&'static str] = if config.transactional_id.is_some() {
            if config.enable_idempotence == Some(false) {
                conflicts.insert(0, "enable.idempotence = false".to_string());
            }
            &["transactional.id", "enable.idempotence"]
        } else {
            &["enable.idempotence"]
        };
        broken.push(Broken {
            keys,
            message,
            help: format!("this producer sets {}", conflicts.join(" and ")),
        });
    }
    if timeouts_known
        && config.delivery_timeout_ms < config.linger_ms.saturating_add(config.request_timeout_ms)
    {
        broken.push(Broken {
            keys: &["delivery.timeout.ms", "request.timeout.ms", "linger.ms"],
            message:
                "delivery.timeout.ms should be equal to or larger than linger.ms + request.timeout.ms"
                    .into(),
            help: format!(
                "delivery.timeout.ms is {} but linger.ms + request.timeout.ms is {} + {}",
                config.delivery_timeout_ms, config.linger_ms, config.request_timeout_ms
            ),
        });
    }
    broken
}

/// Kafka's checks of a producer's transaction settings against the brokers (`brokers`: every
/// broker's settings; any broker may become the transaction coordinator): `InitProducerId`
/// answers INVALID_TRANSACTION_TIMEOUT for a `transaction.timeout.ms` above the coordinator's
/// `transaction.max.timeout.ms`. The other transaction settings mean something only with a
/// `transactional.id` (and a file that set them without one would not be written back as
/// it was read). `output` is true for a stream processor's producer, whose transactions are
/// its `processing.guarantee`, not a `transactional.id`. `settings_known` is false when a file
/// gave one of the producer's settings an invalid value (already reported): the other rules
/// would judge a default in its place.
pub fn transaction_settings(
    config: &ProducerConfig,
    brokers: &[BrokerConfig],
    output: bool,
    settings_known: bool,
) -> Vec<Broken> {
    let mut broken = Vec::new();
    let defaults = ProducerConfig::default();
    if output && config.transactional_id.is_some() {
        broken.push(Broken {
            keys: &["transactional.id"],
            message: "a stream processor's producer takes no transactional.id".into(),
            help: "a stream processor's transactions are set with `processing.guarantee = \"exactly_once_v2\"` in its output table (Kafka Streams names its producers' transactional ids itself)".into(),
        });
        return broken;
    }
    if !settings_known {
        return broken;
    }
    if config.transactional_id.is_none() {
        let unused: [(&'static [&'static str], bool); 2] = [
            (
                &["transaction.timeout.ms"],
                config.transaction_timeout_ms != defaults.transaction_timeout_ms,
            ),
            (
                &["sim.transaction.interval.ms"],
                config.transaction_interval_ms != defaults.transaction_interval_ms,
            ),
        ];
        for (keys, set) in unused {
            if !set {
                continue;
            }
            broken.push(Broken {
                keys,
                message: format!("{} applies only to a transactional producer", keys[0]),
                help: if output {
                    "remove it: a stream processor's transactions are set with `processing.guarantee`".into()
                } else {
                    "give the producer a transactional.id, or remove this".into()
                },
            });
        }
        return broken;
    }
    let strictest = brokers
        .iter()
        .enumerate()
        .min_by_key(|(_, b)| b.transaction_max_timeout_ms);
    if let Some((i, b)) = strictest {
        let max = b.transaction_max_timeout_ms;
        if config.transaction_timeout_ms > max {
            let (whose, table) = if brokers.iter().all(|o| o.transaction_max_timeout_ms == max) {
                ("the brokers'".to_string(), "[broker]".to_string())
            } else {
                (
                    format!("broker-{}'s", i + 1),
                    format!("[brokers.{}]", i + 1),
                )
            };
            broken.push(Broken {
                keys: &["transaction.timeout.ms", "transactional.id"],
                message: format!(
                    "transaction.timeout.ms {} is more than {whose} transaction.max.timeout.ms {max}: initTransactions() would fail with INVALID_TRANSACTION_TIMEOUT",
                    config.transaction_timeout_ms
                ),
                help: format!(
                    "lower transaction.timeout.ms to at most {max}, or raise transaction.max.timeout.ms under {table} (any broker may become the transaction coordinator)"
                ),
            });
        }
    }
    broken
}

/// Every rule over `scenario`'s settings, in the order a file lists them (brokers' settings
/// are judged through the topics they hold), then over its faults in time order. Every edit
/// of a scenario calls this.
pub fn validate(scenario: &Scenario) -> Result<(), Vec<Violation>> {
    let mut out = Vec::new();
    if let Some(b) = cluster_features(&scenario.features) {
        out.push(Violation {
            subject: Subject::Cluster,
            broken: b,
        });
    }
    for t in &scenario.topics {
        let subject = || Subject::Topic(t.name.to_string());
        if let Some(m) = t.overrides.min_insync_replicas {
            if let Some(b) = min_isr_fits(&t.name, t.replication_factor, m, MinIsrFrom::Topic) {
                out.push(Violation {
                    subject: subject(),
                    broken: b,
                });
            }
            continue;
        }
        let mut replicas: Vec<BrokerId> = t.assignment.iter().flatten().copied().collect();
        replicas.sort_unstable();
        replicas.dedup();
        for r in replicas {
            let Some(config) = scenario.broker_configs.get((r as usize).wrapping_sub(1)) else {
                continue;
            };
            let broken = min_isr_fits(
                &t.name,
                t.replication_factor,
                config.min_insync_replicas,
                MinIsrFrom::Broker,
            );
            if let Some(b) = broken {
                let v = Violation {
                    subject: Subject::Broker(r),
                    broken: b,
                };
                // Brokers that share a setting share the problem: say it once.
                if !out.iter().any(|o: &Violation| o.broken == v.broken) {
                    out.push(v);
                }
            }
        }
    }
    // Added clients too: a broker setting changed by an edit can break their rules.
    let brokers = &scenario.broker_configs;
    for p in scenario.all_producers() {
        out.extend(
            producer_settings(&p.config, true)
                .into_iter()
                .chain(transaction_settings(&p.config, brokers, false, true))
                .map(|b| Violation {
                    subject: Subject::Producer(p.name.clone()),
                    broken: b,
                }),
        );
    }
    for c in scenario.all_consumers() {
        if let Some(o) = &c.output {
            out.extend(
                producer_settings(&o.config, true)
                    .into_iter()
                    .chain(transaction_settings(&o.config, brokers, true, true))
                    .map(|b| Violation {
                        subject: Subject::StreamOutput(c.name.clone()),
                        broken: b,
                    }),
            );
        }
    }
    out.extend(faults(scenario));
    if out.is_empty() {
        Ok(())
    } else {
        Err(out)
    }
}

/// The timeline rules over `scenario`'s faults, each naming the faults involved by time and
/// action.
fn faults(scenario: &Scenario) -> Vec<Violation> {
    let faults = &scenario.faults;
    let topics = scenario
        .topics
        .iter()
        .map(|t| (&*t.name, Some(t.partitions)));
    let declared = (scenario.producers.len(), scenario.consumers.len());
    let mut broken = admin_faults(topics, faults);
    broken.extend(added_clients(declared, faults));
    let names = scenario.names();
    let subject = |i: usize| Subject::Fault {
        at: faults[i].at,
        action: faults[i].command.action(),
    };
    broken
        .into_iter()
        .map(|b| Violation {
            subject: subject(b.fault),
            broken: b.broken(faults, &names, |i| subject(i).to_string()),
        })
        .collect()
}

/// One line per violation, for the edit paths that report in text.
pub fn describe(violations: &[Violation]) -> String {
    violations
        .iter()
        .map(Violation::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Value;

    fn example() -> Scenario {
        super::super::parse(
            "x.toml",
            r#"
[scenario]
name = "x"
duration = "10s"
[cluster]
brokers = 3
[broker]
min.insync.replicas = 2
[[topics]]
name = "orders"
replication.factor = 3
[[producers]]
name = "a"
topic = "orders"
rate = 10
"#,
        )
        .unwrap()
    }

    #[test]
    fn a_valid_scenario_passes() {
        assert_eq!(validate(&example()), Ok(()));
    }

    #[test]
    fn broker_min_isr_above_a_topics_replication_factor_is_reported_once() {
        let mut s = example();
        for b in &mut s.broker_configs {
            b.set("min.insync.replicas", &Value::Int(4));
        }
        let v = validate(&s).unwrap_err();
        assert_eq!(v.len(), 1, "{v:?}");
        assert_eq!(v[0].subject, Subject::Broker(1));
        assert!(v[0].broken.message.contains("of topic `orders`"));
    }

    #[test]
    fn a_topics_own_min_isr_wins_over_the_brokers() {
        let mut s = example();
        for b in &mut s.broker_configs {
            b.set("min.insync.replicas", &Value::Int(4));
        }
        s.topics[0]
            .overrides
            .set("min.insync.replicas", &Value::Int(2));
        assert_eq!(validate(&s), Ok(()));
        s.topics[0]
            .overrides
            .set("min.insync.replicas", &Value::Int(5));
        let v = validate(&s).unwrap_err();
        assert_eq!(v[0].subject, Subject::Topic("orders".into()));
    }

    #[test]
    fn producer_rules_name_the_settings_involved() {
        let mut s = example();
        let c = &mut s.producers[0].config;
        c.set("enable.idempotence", &Value::Bool(true));
        c.set("acks", &Value::Str("1".into()));
        c.set("delivery.timeout.ms", &Value::Int(10));
        let v = validate(&s).unwrap_err();
        let keys: Vec<_> = v.iter().map(|v| v.broken.keys[0]).collect();
        assert_eq!(keys, ["enable.idempotence", "delivery.timeout.ms"]);
        assert_eq!(v[0].broken.help, "this producer sets acks = \"1\"");
        assert!(describe(&v).starts_with("producer `a`: enable.idempotence = true needs"));
    }

    #[test]
    fn faults_are_judged_in_time_order_and_named_by_time() {
        use crate::command::{Command, TimedCommand};
        let mut s = example();
        // Listed out of time order: the run applies the `create-topic` first.
        let create = Command::CreateTopic {
            name: "clicks".into(),
            partitions: 2,
            replication_factor: 3,
        };
        let grow = |partitions| Command::AddPartitions {
            topic: "clicks".into(),
            partitions,
        };
        s.faults = vec![
            TimedCommand {
                at: 9_000,
                command: grow(2),
            },
            TimedCommand {
                at: 4_000,
                command: create,
            },
            TimedCommand {
                at: 2_000,
                command: grow(3),
            },
        ];
        let v = validate(&s).unwrap_err();
        assert_eq!(v.len(), 2, "{v:?}");
        assert_eq!(
            v[0].to_string(),
            "the `add-partitions` fault at 2s: topic `clicks` does not exist yet at 2s \
             (the `create-topic` fault at 4s creates it later)"
        );
        assert_eq!(
            v[1].broken.message,
            "topic `clicks` has 2 partitions at 9s: `partitions` is the new total and must be more"
        );
        s.faults.remove(2);
        s.faults[0].command = grow(3);
        assert_eq!(validate(&s), Ok(()));
    }

    #[test]
    fn a_fault_names_an_added_client_after_it_is_added() {
        use crate::command::{Command, Target, TimedCommand};
        use crate::ids::NodeId;
        let mut s = example();
        let mut b = s.producers[0].clone();
        b.name = "b".into();
        let change = Command::Producer {
            target: Target::Node(NodeId::Producer(1)),
            settings: Vec::new(),
            rate: Some(5.0),
        };
        s.faults = vec![
            TimedCommand {
                at: 3_000,
                command: change,
            },
            TimedCommand {
                at: 3_000,
                command: Command::AddProducer(Box::new(b)),
            },
        ];
        let v = validate(&s).unwrap_err();
        assert_eq!(
            describe(&v),
            "the `producer` fault at 3s: producer-b does not exist yet at 3s: the `add-producer` \
             fault at 3s adds it at 3s (both happen at 3s: list this fault after the \
             `add-producer` fault)"
        );
        s.faults.swap(0, 1);
        assert_eq!(validate(&s), Ok(()));
    }
}
