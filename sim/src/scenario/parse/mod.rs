//! Parsing scenario files.
//!
//! The file is walked by hand over toml's span-preserving tree rather than deserialized with
//! serde: that way every problem points at the key or value it is about, unknown keys get a
//! did-you-mean, and every problem in the file is reported in one go instead of the first one
//! only. Later sections are still checked when an earlier one is broken (with what could be
//! understood of it), so one typo does not hide the rest.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::{Deref, DerefMut, Range};
use std::sync::Arc;

use toml::de::{DeTable, DeValue};

use super::validate::{self, FaultRule, MinIsrFrom};
use super::{
    CheckerId, Cmp, CommitPoint, ConsumerDef, Count, Expectation, NetworkDef, Processing,
    ProcessingGuarantee, ProducerDef, Scenario, StreamOutput, TopicDef, Transform,
};
use crate::broker::TruncationMode;
use crate::command::{Command, Target, TimedCommand};
use crate::config::{
    self, BrokerConfig, ClusterFeatures, ConsumerConfig, Kind, MetadataMode, ProducerConfig, Scope,
    TopicOverrides, Value,
};
use crate::ids::{BrokerId, Millis, NodeId, NodeNames, TopicPartition, OFFSETS_TOPIC};
use crate::located::{closest as suggest, fmt_ms, int_value, plural, Entry, Reader, Section, Val};
pub use crate::located::{parse_duration, Problem, ScenarioError};
use crate::network::LinkParams;
use crate::producer::{KeySpec, ScheduledSend, Workload};
use crate::trace::CrashKind;

mod clients;
mod consumers;
mod faults;
mod network;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_clients;
#[cfg(test)]
mod tests_retention;
#[cfg(test)]
mod tests_transactions;
mod topics;

/// Parses a scenario file. `file` is only used to name the file in problems.
pub fn parse(file: &str, text: &str) -> Result<Scenario, ScenarioError> {
    let mut p = Parser(Reader::new(text));
    let scenario = p.document();
    p.0.finish(file)?;
    // A document is only missing when something was reported.
    scenario.ok_or_else(|| ScenarioError {
        file: file.to_string(),
        text: text.to_string(),
        problems: Vec::new(),
    })
}

/// The top-level tables, in the order the format documents them.
const SECTIONS: &[&str] = &[
    "scenario",
    "cluster",
    "broker",
    "brokers",
    "topics",
    "producers",
    "consumers",
    "network",
    "faults",
    "expect",
];

/// The longest scenario: runs are replayed and inspected, not soaked.
const MAX_DURATION: Millis = 3_600_000;
const MAX_BROKERS: i64 = 64;
/// Beyond this a producer would generate more records per virtual millisecond than any run
/// could usefully show, and the simulation would crawl.
const MAX_RATE: f64 = 1_000_000.0;
const MAX_VALUE_BYTES: i64 = 1_000_000;
/// Kafka's limit on topic name length.
const MAX_TOPIC_NAME: usize = 249;

/// The longest time a consumer may spend on one record (an hour, in microseconds).
const MAX_PROCESS_US: u64 = 3_600_000_000;

/// Fault actions and the keys each takes besides `at` and `action`.
const ACTIONS: &[(&str, &[&str])] = &[
    ("crash", &["target", "kind", "when"]),
    ("shutdown", &["target"]),
    ("restart", &["target"]),
    ("pause", &["target"]),
    ("resume", &["target"]),
    ("partition", &["between", "from", "to", "one_way"]),
    ("isolate", &["target"]),
    ("heal", &["between"]),
    ("hold", &["from", "to"]),
    ("release", &["from", "to"]),
    ("link", &["from", "to", "latency", "loss", "both"]),
    (
        "producer",
        &[
            "target",
            "rate",
            "acks",
            "enable.idempotence",
            "linger.ms",
            "max.in.flight.requests.per.connection",
            "retries",
        ],
    ),
    (
        "create-topic",
        &["topic", "partitions", "replication.factor"],
    ),
    ("add-partitions", &["topic", "partitions"]),
    // `kafka-delete-records`: the log start offset moves to `offset` (the high watermark if
    // left out, Kafka's -1).
    ("delete-records", &["partition", "offset"]),
    // A real client's session, as `kafkascope serve --record` writes it.
    ("client-connect", &["client", "broker", "client-id"]),
    ("client-request", &["client", "request", "messages"]),
    ("client-close", &["client"]),
    // And any Kafka producer or consumer setting.
    (
        "add-producer",
        &[
            "name",
            "topic",
            "rate",
            "stop",
            "keys",
            "value_bytes",
            "sends",
        ],
    ),
    (
        "add-consumer",
        &[
            "name", "group", "topics", "topic", "process", "commit", "stop", "output",
        ],
    ),
];

/// The producer settings a `producer` fault may change while the producer runs.
const PRODUCER_CHANGES: [&str; 5] = [
    "acks",
    "enable.idempotence",
    "linger.ms",
    "max.in.flight.requests.per.connection",
    "retries",
];

/// What the names in faults, links and sends are checked against.
struct World {
    brokers: Option<u32>,
    reader: bool,
    names: NodeNames,
    /// Topic name to partition count (`None` when the count itself was invalid).
    topics: BTreeMap<String, Option<u32>>,
    /// What `create-topic` and `add-partitions` faults do to topics later in the run, and
    /// the clients `add-producer` and `add-consumer` faults add.
    admin: Planned,
    /// How many producers and consumers the `[[producers]]` and `[[consumers]]` tables declare;
    /// `names` lists them, then the added ones.
    declared_producers: usize,
    declared_consumers: usize,
    /// Each consumer's processing time per record (index = consumer index; `None` when the
    /// consumer's table was invalid).
    process_us: Vec<Option<u64>>,
    /// Partitions of `__consumer_offsets`, which exists when some consumer has a group.
    offsets_partitions: Option<u32>,
    duration: Option<Millis>,
    /// Every broker's settings (`[broker]`'s alone when the count is unknown), for the rules
    /// of the clients' settings against them.
    broker_configs: Vec<BrokerConfig>,
}

/// The topics that `create-topic` faults create and the most partitions `create-topic` and
/// `add-partitions` faults give a topic, read ahead of the faults themselves so that consumers
/// and `leader of` targets can name them. Whether each fault is valid at its time is checked
/// with the faults.
#[derive(Default)]
struct Planned {
    /// Topic name to the byte offset of the first `create-topic` fault that creates it.
    created: BTreeMap<String, usize>,
    /// Topic name to the largest partition count a fault gives it.
    partitions: BTreeMap<String, u32>,
    /// The producers and consumers that `add-producer` and `add-consumer` faults add, in the
    /// order the run adds them (by time, then file order): the next node indexes after the
    /// declared ones, so that links and other faults can name them.
    producers: Vec<PlannedClient>,
    consumers: Vec<PlannedClient>,
}

/// A client an `add-producer` or `add-consumer` fault adds, as read ahead.
struct PlannedClient {
    /// Empty when not a string (reported with the fault).
    name: String,
    /// `None` when the fault's `at` is invalid.
    at: Option<Millis>,
    /// Where the fault's table starts (it identifies the fault).
    table: usize,
    /// Whether it names a `group` (an added consumer).
    group: bool,
}

impl Planned {
    fn read(text: &str, faults: Option<&Val<'_>>) -> Self {
        let mut p = Planned::default();
        let Some(DeValue::Array(items)) = faults.map(|v| v.get_ref()) else {
            return p;
        };
        for item in items.iter() {
            let DeValue::Table(t) = item.get_ref() else {
                continue;
            };
            let str_of = |key: &str| raw(t, key).and_then(|v| v.get_ref().as_str());
            if let Some(action @ ("add-producer" | "add-consumer")) = str_of("action") {
                let at = raw(t, "at").and_then(|v| match v.get_ref() {
                    DeValue::String(s) => parse_duration(s).ok(),
                    DeValue::Integer(i) => int_value(i).and_then(|ms| u64::try_from(ms).ok()),
                    _ => None,
                });
                let client = PlannedClient {
                    name: str_of("name").unwrap_or_default().to_string(),
                    at,
                    table: item.span().start,
                    group: raw(t, "group").is_some(),
                };
                match action {
                    "add-producer" => p.producers.push(client),
                    _ => p.consumers.push(client),
                }
                continue;
            }
            let (Some(action), Some(topic)) = (str_of("action"), str_of("topic")) else {
                continue;
            };
            let partitions = raw(t, "partitions")
                .and_then(|v| v.get_ref().as_integer())
                .and_then(int_value)
                .and_then(|n| u32::try_from(n).ok());
            let at = raw(t, "topic").map_or(item.span(), |v| v.span()).start;
            match action {
                "create-topic" => {
                    p.created
                        .entry(topic.to_string())
                        .or_insert(at.min(text.len()));
                    let n = p.partitions.entry(topic.to_string()).or_insert(0);
                    *n = (*n).max(partitions.unwrap_or(1));
                }
                "add-partitions" => {
                    if let Some(partitions) = partitions {
                        let n = p.partitions.entry(topic.to_string()).or_insert(0);
                        *n = (*n).max(partitions);
                    }
                }
                _ => {}
            }
        }
        // As the run orders faults: by time, stable. A fault whose `at` is invalid is
        // reported with it; its place here does not matter then.
        p.producers.sort_by_key(|c| c.at.unwrap_or(Millis::MAX));
        p.consumers.sort_by_key(|c| c.at.unwrap_or(Millis::MAX));
        p
    }
}

/// Where a producer or consumer comes from.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// A `[[producers]]` or `[[consumers]]` table.
    Declared,
    /// An `add-producer` or `add-consumer` fault at this time (`None`: its `at` is invalid).
    Added(Option<Millis>),
}

/// The names (and named records) of every client, declared or added, for the checks that
/// each is given once.
#[derive(Default)]
struct Clients {
    /// Name to the byte offset where it is first given.
    producers: BTreeMap<String, usize>,
    consumers: BTreeMap<String, usize>,
    /// Named record values to where they are first sent, and by which producer.
    values: BTreeMap<String, (usize, String)>,
}

/// Where the parts of a fault's table are, for the problems of the rules over the faults in
/// time order ([`validate::admin_faults`], [`validate::added_clients`]).
struct FaultSpans {
    /// Its `topic`, `partitions`, and node (`target`, `from`, ...) values, or the table.
    topic: Range<usize>,
    partitions: Range<usize>,
    targets: Range<usize>,
    /// Where another fault's problem points at it: the `name` of the client it adds, or its
    /// `topic` (or the table).
    named_at: usize,
}

/// A key of a table as written (no flattening), for reading ahead.
fn raw<'a, 'i>(t: &'a DeTable<'i>, key: &str) -> Option<&'a Val<'i>> {
    t.iter().find(|(k, _)| k.get_ref() == key).map(|(_, v)| v)
}

struct Meta {
    name: String,
    description: String,
    reference: Option<String>,
    seed: u64,
    duration: Option<Millis>,
}

struct Cluster {
    brokers: Option<u32>,
    truncation: TruncationMode,
    features: ClusterFeatures,
    reader: bool,
}

struct Brokers {
    configs: Vec<BrokerConfig>,
    /// Per broker: the value that set its `min.insync.replicas`, so a topic that cannot satisfy
    /// it can point there.
    min_isr_from: Vec<Option<Range<usize>>>,
    /// `[broker]`'s settings, which stand in for every broker when the count is unknown.
    base: BrokerConfig,
    base_min_isr_from: Option<Range<usize>>,
}

/// The scenario reader: a [`Reader`] of the file, with the scenario's own readers as methods
/// (one file per part of the format).
struct Parser<'t>(Reader<'t>);

impl<'t> Deref for Parser<'t> {
    type Target = Reader<'t>;
    fn deref(&self) -> &Reader<'t> {
        &self.0
    }
}

impl DerefMut for Parser<'_> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl<'t> Parser<'t> {
    /// A duration that must fall within the run.
    fn instant(&mut self, name: &str, v: &Val<'_>, w: &World) -> Option<Millis> {
        let at = self.duration(name, v)?;
        if let Some(d) = w.duration {
            if at > d {
                self.error_help(
                    v.span(),
                    format!(
                        "`{name}` is {} but the scenario ends at {}",
                        fmt_ms(at),
                        fmt_ms(d)
                    ),
                    "lengthen `duration` in [scenario] or move this earlier",
                );
                return None;
            }
        }
        Some(at)
    }

    /// A latency: one duration, or a range `"1ms..3ms"` from which each message draws.
    fn latency(&mut self, name: &str, v: &Val<'_>) -> Option<(u64, u64)> {
        const EXPECTED: &str =
            "expected a duration such as \"2ms\" or a range such as \"1ms..3ms\"";
        let range = match v.get_ref() {
            DeValue::Integer(i) => int_value(i)
                .filter(|ms| *ms >= 0)
                .map(|ms| (ms as u64, ms as u64))
                .ok_or(None),
            DeValue::String(s) => parse_latency(s),
            _ => Err(None),
        };
        match range {
            Err(help) => {
                self.invalid(name, v, EXPECTED, help.map(str::to_string));
                None
            }
            Ok((min, _)) if min < 1 => {
                self.invalid(
                    name,
                    v,
                    "must be at least 1ms",
                    Some("a message cannot arrive in the same millisecond it was sent".into()),
                );
                None
            }
            Ok((min, max)) if max < min => {
                self.invalid(
                    name,
                    v,
                    "the range is backwards",
                    Some(format!("write \"{}..{}\"", fmt_ms(max), fmt_ms(min))),
                );
                None
            }
            Ok(range) => Some(range),
        }
    }

    fn loss(&mut self, name: &str, v: &Val<'_>) -> Option<f64> {
        self.number(name, v, 0.0, 1.0, "expected a probability from 0.0 to 1.0")
    }

    // ---- Kafka settings ----

    /// A Kafka setting, checked against [`config::KEYS`]. `extras` are the table's other keys,
    /// offered as suggestions too.
    fn setting(
        &mut self,
        scope: Scope,
        e: &Entry<'_, '_>,
        extras: &[&str],
    ) -> Option<(&'static str, Value)> {
        let Some(key) = config::key(scope, &e.name) else {
            self.unknown_setting(scope, e, extras);
            return None;
        };
        let value = match e.value.get_ref() {
            DeValue::Integer(i) => match int_value(i) {
                Some(i) => Value::Int(i),
                None => {
                    self.invalid(&e.name, e.value, "is too large", None);
                    return None;
                }
            },
            DeValue::Boolean(b) => Value::Bool(*b),
            DeValue::String(s) => Value::Str(s.to_string()),
            // Of the wrong TOML type: an empty string matches no kind, so check() says what
            // the key takes.
            _ => Value::Str(String::new()),
        };
        if let Err(expected) = key.kind.check(&value) {
            let help = match (&key.kind, &value) {
                (Kind::Int { .. }, Value::Str(s)) if s.trim().parse::<i64>().is_ok() => {
                    Some(format!("remove the quotes: {}", s.trim()))
                }
                (Kind::Int { .. }, Value::Str(s)) if key.name.ends_with(".ms") => parse_duration(s)
                    .ok()
                    .map(|ms| format!("Kafka's .ms settings are integers of milliseconds: {ms}")),
                (Kind::Bool, Value::Str(s)) if s == "true" || s == "false" => {
                    Some(format!("remove the quotes: {s}"))
                }
                (Kind::Text, Value::Int(i)) => Some(format!("quote it: \"{i}\"")),
                _ => None,
            };
            self.invalid(&e.name, e.value, &expected, help);
            return None;
        }
        Some((key.name, value))
    }

    fn unknown_setting(&mut self, scope: Scope, e: &Entry<'_, '_>, extras: &[&str]) {
        let name = e.name.as_str();
        // A Kafka key, but one the simulator leaves out ([`config::UNMODELLED`]): say so,
        // and why, rather than suggest a near name.
        if let Some((of, why)) = config::unmodelled(scope, name) {
            let kind = if of == scope {
                String::new()
            } else {
                format!("{} ", scope_name(of))
            };
            self.error_help(
                e.key.clone(),
                format!("`{name}` is a Kafka {kind}setting the simulator does not model"),
                why,
            );
            return;
        }
        let topic_equivalent = [
            ("log.flush.interval.messages", "flush.messages"),
            ("log.flush.interval.ms", "flush.ms"),
        ]
        .into_iter()
        .find(|(broker, _)| *broker == name)
        .map(|(_, topic)| topic);
        let elsewhere = [
            Scope::Broker,
            Scope::Topic,
            Scope::Producer,
            Scope::Consumer,
        ]
        .into_iter()
        .find(|s| *s != scope && config::key(*s, name).is_some());
        let help = match (scope, topic_equivalent, elsewhere) {
            (Scope::Topic, Some(t), _) => {
                format!("`{name}` is a broker setting; a topic overrides it with `{t}`")
            }
            (Scope::Consumer, _, _) if name == "group.id" => {
                "a consumer's group.id is its `group`: write `group = \"...\"`".into()
            }
            (Scope::Consumer, _, Some(Scope::Producer)) => format!(
                "`{name}` is a producer setting: a stream processor's producer takes it under [consumers.output]"
            ),
            (_, _, Some(other)) => format!(
                "`{name}` is a {} setting: set it {}",
                scope_name(other),
                scope_place(other)
            ),
            _ => match suggest(
                name,
                config::names(scope)
                    .map(|n| -> &str { n })
                    .chain(extras.iter().copied()),
            ) {
                Some(s) => format!("did you mean `{s}`?"),
                None => "run `kafkascope configs` to list the settings".into(),
            },
        };
        self.error_help(
            e.key.clone(),
            format!("unknown {} setting `{name}`", scope_name(scope)),
            help,
        );
    }

    // ---- the document ----

    fn document(&mut self) -> Option<Scenario> {
        let (root, errors) = DeTable::parse_recoverable(self.text);
        if !errors.is_empty() {
            // The tree of a file that is not TOML is a guess; checking it would report
            // problems that are not there.
            for e in &errors {
                let span = e.span().unwrap_or(self.text.len()..self.text.len());
                let message = format!("invalid TOML: {}", e.message());
                if e.message().starts_with("duplicate key") {
                    let help = "a key or table can be defined once; each [[double-bracket]] header adds one entry to a list";
                    self.error_help(span, message, help);
                } else {
                    self.error(span, message);
                }
            }
            return None;
        }
        let root = root.get_ref();
        for (k, v) in root.iter() {
            if !SECTIONS.contains(&k.get_ref().as_ref()) {
                self.unknown_top_level(k.get_ref(), k.span(), v);
            }
        }
        let get = |name: &str| {
            root.iter()
                .find(|(k, _)| k.get_ref() == name)
                .map(|(_, v)| v)
        };

        let meta = self.meta(get("scenario"));
        let cluster = self.cluster(get("cluster"));
        let brokers = self.brokers(get("broker"), get("brokers"), cluster.brokers);
        let topics = self.topics(get("topics"), cluster.brokers, &brokers);

        let producer_tables = match get("producers") {
            Some(v) => self.tables("producers", v, "[[producers]]"),
            None => Vec::new(),
        };
        if producer_tables.len() > usize::from(u16::MAX) {
            self.error(
                get("producers").map_or(0..0, |v| v.span()),
                format!("too many producers: at most {}", u16::MAX),
            );
        }
        let consumer_tables = match get("consumers") {
            Some(v) => self.tables("consumers", v, "[[consumers]]"),
            None => Vec::new(),
        };
        if consumer_tables.len() > usize::from(u16::MAX) {
            self.error(
                get("consumers").map_or(0..0, |v| v.span()),
                format!("too many consumers: at most {}", u16::MAX),
            );
        }
        // Names first: links, faults and the check on send values refer to any client.
        let names_of = |tables: &[(&DeTable<'_>, Range<usize>)]| -> Vec<String> {
            tables
                .iter()
                .map(|(t, _)| {
                    raw(t, "name")
                        .and_then(|v| v.get_ref().as_str())
                        .unwrap_or_default()
                        .to_string()
                })
                .collect()
        };
        let admin = Planned::read(self.text, get("faults"));
        let mut producer_names = names_of(&producer_tables);
        let mut consumer_names = names_of(&consumer_tables);
        let (declared_producers, declared_consumers) = (producer_names.len(), consumer_names.len());
        producer_names.extend(admin.producers.iter().map(|c| c.name.clone()));
        consumer_names.extend(admin.consumers.iter().map(|c| c.name.clone()));
        for (kind, n, declared) in [
            ("producers", producer_names.len(), declared_producers),
            ("consumers", consumer_names.len(), declared_consumers),
        ] {
            if n > declared && n > usize::from(u16::MAX) {
                self.error(
                    get("faults").map_or(0..0, |v| v.span()),
                    format!("too many {kind}, declared and added: at most {}", u16::MAX),
                );
            }
        }
        let added_group = admin.consumers.iter().any(|c| c.group);
        let mut world = World {
            brokers: cluster.brokers,
            reader: cluster.reader,
            names: NodeNames {
                producers: producer_names,
                consumers: consumer_names,
            },
            topics: topics
                .iter()
                .map(|(t, partitions)| (t.name.to_string(), *partitions))
                .collect(),
            admin,
            declared_producers,
            declared_consumers,
            process_us: Vec::new(),
            offsets_partitions: None,
            duration: meta.duration,
            broker_configs: if brokers.configs.is_empty() {
                vec![brokers.base.clone()]
            } else {
                brokers.configs.clone()
            },
        };
        let mut clients = Clients::default();
        let producers = self.producers(&producer_tables, &world, &topics, &mut clients);
        let consumers = self.consumers(&consumer_tables, &world, &mut clients);
        world.process_us = consumers
            .iter()
            .map(|c| c.as_ref().map(|c| c.processing.per_record_us))
            .collect();
        let consumers: Vec<ConsumerDef> = consumers.into_iter().flatten().collect();
        if consumers.iter().any(|c| c.group.is_some()) || added_group {
            let n = brokers
                .configs
                .first()
                .map(|c| c.offsets_topic_num_partitions)
                .unwrap_or(1);
            world.offsets_partitions = Some(n.max(1));
        }
        let network = self.network(get("network"), &world);
        let faults = self.faults(get("faults"), &mut world, &network, &topics, &mut clients);
        let expect = self.expect(get("expect"));

        Some(Scenario {
            name: meta.name,
            description: meta.description,
            reference: meta.reference,
            seed: meta.seed,
            duration: meta.duration.unwrap_or(0),
            brokers: cluster.brokers.unwrap_or(0),
            truncation: cluster.truncation,
            features: cluster.features,
            reader: cluster.reader,
            consumers,
            broker_configs: brokers.configs,
            topics: topics.into_iter().map(|(t, _)| t).collect(),
            producers,
            network,
            faults,
            expect,
        })
    }

    fn unknown_top_level(&mut self, name: &str, span: Range<usize>, v: &Val<'_>) {
        let headers = SECTIONS.iter().map(|s| header(s)).collect::<Vec<_>>();
        let suggestion =
            suggest(name, SECTIONS.iter().copied()).map(|s| format!("did you mean {}?", header(s)));
        match v.get_ref() {
            DeValue::Table(_) | DeValue::Array(_) => {
                let help =
                    suggestion.unwrap_or_else(|| format!("the tables are {}", headers.join(", ")));
                self.error_help(span, format!("unknown table `{name}`"), help);
            }
            _ => {
                let home = [
                    ("[scenario]", &["name", "description", "reference", "seed", "duration"][..]),
                    ("[cluster]", &["truncation", "metadata", "eligible.leader.replicas.version", "transaction.version", "reader"][..]),
                    ("[network]", &["latency", "loss"][..]),
                ]
                .into_iter()
                .find(|(_, keys)| keys.contains(&name))
                .map(|(table, _)| format!("`{name}` belongs in {table}: keys above the first [table] header are top-level"));
                let help = home
                    .or(suggestion)
                    .unwrap_or_else(|| format!("settings go in tables: {}", headers.join(", ")));
                self.error_help(span, format!("unknown top-level key `{name}`"), help);
            }
        }
    }

    fn meta(&mut self, v: Option<&Val<'_>>) -> Meta {
        let mut m = Meta {
            name: String::new(),
            description: String::new(),
            reference: None,
            seed: 1,
            duration: None,
        };
        let Some(v) = v else {
            self.error_help(
                0..0,
                "missing [scenario] table",
                "start the file with [scenario], giving its `name` and `duration`",
            );
            return m;
        };
        let Some(t) = self.table("scenario", v, "write it as a [scenario] table") else {
            return m;
        };
        let mut s = Section::new(self, t, v.span(), &[]);
        if let Some(e) = s.require(self, "name", "[scenario]", "\"...\"") {
            if let Some(n) = self.nonempty_string(&e.name, e.value) {
                m.name = n.to_string();
            }
        }
        if let Some(e) = s.take("description") {
            if let Some(d) = self.string(&e.name, e.value) {
                m.description = d.to_string();
            }
        }
        if let Some(e) = s.take("reference") {
            m.reference = self.string(&e.name, e.value).map(str::to_string);
        }
        if let Some(e) = s.take("seed") {
            if let Some(seed) = self.int(&e.name, e.value, 0, i64::MAX) {
                m.seed = seed as u64;
            }
        }
        if let Some(e) = s.require(self, "duration", "[scenario]", "\"30s\"") {
            m.duration = match self.duration(&e.name, e.value) {
                Some(0) => {
                    self.error(e.value.span(), "`duration` must be more than 0");
                    None
                }
                Some(d) if d > MAX_DURATION => {
                    self.invalid(&e.name, e.value, "must be at most 1 hour (\"60m\")", None);
                    None
                }
                d => d,
            };
        }
        s.finish(
            self,
            "[scenario]",
            &["name", "description", "reference", "seed", "duration"],
            false,
        );
        m
    }
}

fn as_int(v: &Value) -> Option<i64> {
    match v {
        Value::Int(i) => Some(*i),
        _ => None,
    }
}

fn header(section: &str) -> String {
    match section {
        "topics" | "producers" | "consumers" | "faults" => format!("[[{section}]]"),
        _ => format!("[{section}]"),
    }
}

fn scope_name(scope: Scope) -> &'static str {
    match scope {
        Scope::Broker => "broker",
        Scope::Topic => "topic",
        Scope::Producer => "producer",
        Scope::Consumer => "consumer",
    }
}

fn scope_place(scope: Scope) -> &'static str {
    match scope {
        Scope::Broker => "under [broker] (every broker) or [brokers.N] (broker N)",
        Scope::Topic => "in the topic's [[topics]] table",
        Scope::Producer => "in a [[producers]] table",
        Scope::Consumer => "in a [[consumers]] table",
    }
}

/// "a `crash` fault", "an `isolate` fault".
fn fault_name(action: &str) -> String {
    let article = if action.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} `{action}` fault")
}

/// `"2ms"` or `"1ms..3ms"`; in a range, a bare lower bound takes the upper bound's unit (`"1..3ms"`).
fn parse_latency(s: &str) -> Result<(u64, u64), Option<&'static str>> {
    let Some((lo, hi)) = s.split_once("..") else {
        let ms = parse_duration(s)?;
        return Ok((ms, ms));
    };
    let (lo, hi) = (lo.trim(), hi.trim());
    let max = parse_duration(hi)?;
    let min = if !lo.is_empty() && lo.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        let unit = hi.trim_start_matches(|c: char| c.is_ascii_digit() || c == '.');
        parse_duration(&format!("{lo}{unit}"))?
    } else {
        parse_duration(lo)?
    };
    Ok((min, max))
}

/// `"250us"`, `"2ms"`, `"1.5s"` to microseconds. The error is a help text when something more
/// specific than the expected forms can be said.
fn parse_micros(s: &str) -> Result<u64, Option<&'static str>> {
    let s = s.trim();
    if s.starts_with('-') {
        return Err(Some("durations cannot be negative"));
    }
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let factor =
        match unit.trim() {
            "us" | "µs" => 1.0,
            "ms" => 1000.0,
            "s" => 1e6,
            "m" | "min" => 6e7,
            "h" => 3.6e9,
            "" if !number.is_empty() => return Err(Some(
                "add a unit, as in \"250us\" or \"2ms\"; an integer without quotes is milliseconds",
            )),
            _ if !number.is_empty() => return Err(Some("the units are us, ms, s, m and h")),
            _ => return Err(None),
        };
    if !number.bytes().any(|b| b.is_ascii_digit()) {
        return Err(None);
    }
    let n: f64 = number.parse().map_err(|_| None)?;
    let us = n * factor;
    if !us.is_finite() || us > 1e15 {
        return Err(Some("that is far too long"));
    }
    if (us - us.round()).abs() > 1e-6 {
        return Err(Some("processing times are whole microseconds"));
    }
    Ok(us.round() as u64)
}

/// `">0"`, `">= 2"`, `"==0"` or a bare `"3"` (meaning ==).
fn parse_comparison(s: &str) -> Option<(Cmp, u64)> {
    let s = s.trim();
    let ops = [
        (">=", Cmp::Ge),
        ("<=", Cmp::Le),
        ("==", Cmp::Eq),
        ("!=", Cmp::Ne),
        (">", Cmp::Gt),
        ("<", Cmp::Lt),
        ("=", Cmp::Eq),
    ];
    let (cmp, number) = ops
        .into_iter()
        .find_map(|(op, cmp)| s.strip_prefix(op).map(|rest| (cmp, rest)))
        .unwrap_or((Cmp::Eq, s));
    Some((cmp, number.trim().parse().ok()?))
}
