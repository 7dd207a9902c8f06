//! The rules over a scenario's faults in the order the run applies them (by time, and in list
//! order within a millisecond): a topic exists from its `create-topic` on and only grows, and a
//! client exists from the `add-producer` or `add-consumer` fault that adds it.
//!
//! Unlike the settings rules, these are about when: whether a fault is right depends on the
//! faults before it. A broken rule names its fault, and any other fault it refers to, by the
//! fault's index in the list given, so that each path can say which fault it means in its own
//! terms: the file reader by line ("the `create-topic` fault on line 41"), a typed edit by time
//! and action ("the `create-topic` fault at 15s").

use std::collections::BTreeMap;

use crate::command::{Command, TimedCommand};
use crate::ids::{NodeId, NodeNames};
use crate::located::{fmt_ms, plural};

use super::Broken;

/// A fault that breaks a rule of the run's timeline: its index in the faults given, and how.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaultBroken {
    pub fault: usize,
    pub rule: FaultRule,
}

/// How a fault breaks the timeline. `by` is the index of the other fault involved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FaultRule {
    /// A `create-topic` of a topic that exists at its time: one of `[[topics]]` (`by` is
    /// `None`) or one fault `by` created. Kafka answers TOPIC_ALREADY_EXISTS.
    TopicExists { topic: String, by: Option<usize> },
    /// An `add-partitions` or `add-producer` of a topic that fault `by` creates only later.
    TopicNotYet { topic: String, by: usize },
    /// An `add-partitions` or `add-producer` of a topic that is neither defined nor created.
    NoTopic { topic: String },
    /// An `add-partitions` that gives a topic no more partitions than the `has` it has then:
    /// Kafka adds partitions but never removes them.
    NotMorePartitions { topic: String, has: u32 },
    /// A fault that names `node` before fault `by`, the `add-*` fault that adds it.
    ClientNotYet { node: NodeId, by: usize },
}

/// The indices of `faults` in the order the run applies them: by time, and in list order
/// within a millisecond (as [`super::Scenario::faults_in_order`]).
fn in_order(faults: &[TimedCommand]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..faults.len()).collect();
    order.sort_by_key(|&i| faults[i].at);
    order
}

/// The state of one topic as the admin faults find it.
struct TopicState {
    /// `None` when a file gave an invalid count (already reported): any growth is then taken.
    partitions: Option<u32>,
    /// The fault that created it, or `None` for a topic of `[[topics]]`.
    created_by: Option<usize>,
}

/// Replays the `create-topic` and `add-partitions` faults in time order against `topics` (name
/// and partition count at the start of the run): a topic is created once, grown only while it
/// exists, and only grown; an `add-producer` writes to a topic that exists by then.
pub fn admin_faults<'a>(
    topics: impl IntoIterator<Item = (&'a str, Option<u32>)>,
    faults: &[TimedCommand],
) -> Vec<FaultBroken> {
    let order = in_order(faults);
    let mut state: BTreeMap<&str, TopicState> = topics
        .into_iter()
        .map(|(name, partitions)| {
            let s = TopicState {
                partitions,
                created_by: None,
            };
            (name, s)
        })
        .collect();
    // A topic missing at a fault's time is created later, if at all: by the first
    // `create-topic` of it (an earlier one would have made it exist).
    let creator = |topic: &str| {
        order.iter().copied().find(
            |&i| matches!(&faults[i].command, Command::CreateTopic { name, .. } if &**name == topic),
        )
    };
    let missing = |fault: usize, topic: &str| {
        let topic = topic.to_string();
        let rule = match creator(&topic) {
            Some(by) => FaultRule::TopicNotYet { topic, by },
            None => FaultRule::NoTopic { topic },
        };
        FaultBroken { fault, rule }
    };
    let mut out = Vec::new();
    for &i in &order {
        match &faults[i].command {
            Command::AddProducer(p) if !state.contains_key(&*p.topic) => {
                out.push(missing(i, &p.topic));
            }
            Command::CreateTopic {
                name, partitions, ..
            } => {
                if let Some(existing) = state.get(&**name) {
                    let rule = FaultRule::TopicExists {
                        topic: name.to_string(),
                        by: existing.created_by,
                    };
                    out.push(FaultBroken { fault: i, rule });
                    continue;
                }
                let s = TopicState {
                    partitions: Some(*partitions),
                    created_by: Some(i),
                };
                state.insert(name, s);
            }
            Command::AddPartitions {
                topic,
                partitions: new,
            } => match state.get_mut(&**topic) {
                None => out.push(missing(i, topic)),
                Some(TopicState {
                    partitions: Some(has),
                    ..
                }) if new <= has => {
                    let rule = FaultRule::NotMorePartitions {
                        topic: topic.to_string(),
                        has: *has,
                    };
                    out.push(FaultBroken { fault: i, rule });
                }
                Some(s) => s.partitions = Some(*new),
            },
            _ => {}
        }
    }
    out
}

/// A fault that names a producer or consumer an `add-*` fault adds must come after that fault.
/// `declared` is how many producers and consumers the scenario declares: the `n`-th client
/// the faults add is node `declared + n`, in the order the run adds them.
pub fn added_clients(declared: (usize, usize), faults: &[TimedCommand]) -> Vec<FaultBroken> {
    let order = in_order(faults);
    let mut position = vec![0; faults.len()];
    for (p, &i) in order.iter().enumerate() {
        position[i] = p;
    }
    let adders = |adds: fn(&Command) -> bool| -> Vec<usize> {
        order
            .iter()
            .copied()
            .filter(|&i| adds(&faults[i].command))
            .collect()
    };
    let producers = adders(|c| matches!(c, Command::AddProducer(_)));
    let consumers = adders(|c| matches!(c, Command::AddConsumer(_)));
    let mut out = Vec::new();
    for &i in &order {
        for node in faults[i].command.nodes() {
            let by = match node {
                NodeId::Producer(n) => usize::from(n)
                    .checked_sub(declared.0)
                    .and_then(|k| producers.get(k)),
                NodeId::Consumer(n) => usize::from(n)
                    .checked_sub(declared.1)
                    .and_then(|k| consumers.get(k)),
                _ => None,
            };
            match by {
                Some(&by) if position[by] >= position[i] => out.push(FaultBroken {
                    fault: i,
                    rule: FaultRule::ClientNotYet { node, by },
                }),
                _ => {}
            }
        }
    }
    out
}

impl FaultBroken {
    /// What is wrong and what would fix it. `names` names the nodes (declared, then added);
    /// `refer` names another fault by its index, as the path reporting it can point at it.
    /// The keys are those of the fault's own table: a file locates the problem there.
    pub fn broken(
        &self,
        faults: &[TimedCommand],
        names: &NodeNames,
        refer: impl Fn(usize) -> String,
    ) -> Broken {
        let fault = &faults[self.fault];
        let at = fmt_ms(fault.at);
        match &self.rule {
            FaultRule::TopicExists { topic, by } => Broken {
                keys: &["topic"],
                message: format!("topic `{topic}` already exists at {at}"),
                help: match by {
                    None => "it is defined in [[topics]] (Kafka answers TOPIC_ALREADY_EXISTS)"
                        .to_string(),
                    Some(by) => format!(
                        "{} creates it at {} (Kafka answers TOPIC_ALREADY_EXISTS)",
                        refer(*by),
                        fmt_ms(faults[*by].at)
                    ),
                },
            },
            FaultRule::TopicNotYet { topic, by } => topic_not_yet(topic, fault, &refer(*by)),
            FaultRule::NoTopic { topic } => Broken {
                keys: &["topic"],
                message: format!("there is no topic `{topic}`"),
                help: "define it in [[topics]], or create it with a `create-topic` fault before this one".into(),
            },
            FaultRule::NotMorePartitions { topic, has } => Broken {
                keys: &["partitions", "topic"],
                message: format!(
                    "topic `{topic}` has {} at {at}: `partitions` is the new total and must be more",
                    plural(*has, "partition"),
                ),
                help: format!(
                    "Kafka adds partitions but never removes them; write partitions = {} or more",
                    has + 1
                ),
            },
            FaultRule::ClientNotYet { node, by } => {
                let adder = &faults[*by];
                let added_at = fmt_ms(adder.at);
                Broken {
                    keys: &["target", "from", "to", "between"],
                    message: format!(
                        "{} does not exist yet at {at}: {} adds it at {added_at}",
                        names.name(*node),
                        refer(*by)
                    ),
                    help: if adder.at == fault.at {
                        format!(
                            "both happen at {added_at}: list this fault after the `{}` fault",
                            adder.command.action()
                        )
                    } else {
                        format!("move this fault to {added_at} or later")
                    },
                }
            }
        }
    }
}

/// `fault` (an `add-partitions` or `add-producer`) names `topic`, which `creator` (a phrase
/// naming the `create-topic` fault) creates only later.
pub fn topic_not_yet(topic: &str, fault: &TimedCommand, creator: &str) -> Broken {
    let then = match fault.command {
        Command::AddProducer(_) => "; add the producer after that",
        _ => "",
    };
    Broken {
        keys: &["topic"],
        message: format!("topic `{topic}` does not exist yet at {}", fmt_ms(fault.at)),
        help: format!("{creator} creates it later{then}"),
    }
}
