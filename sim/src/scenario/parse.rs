//! Parsing scenario files.
//!
//! The file is walked by hand over toml's span-preserving tree rather than deserialized with
//! serde: that way every problem points at the key or value it is about, unknown keys get a
//! did-you-mean, and every problem in the file is reported in one go instead of the first one
//! only. Later sections are still checked when an earlier one is broken (with what could be
//! understood of it), so one typo does not hide the rest.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use miette::{
    Diagnostic, LabeledSpan, MietteError, MietteSpanContents, SourceCode, SourceSpan, SpanContents,
};
use toml::de::{DeInteger, DeTable, DeValue};
use toml::Spanned;

use super::validate::{self, MinIsrFrom};
use super::{
    CheckerId, Cmp, CommitPoint, ConsumerDef, Count, Expectation, NetworkDef, Processing,
    ProducerDef, Scenario, StreamOutput, TopicDef, Transform,
};
use crate::broker::TruncationMode;
use crate::command::{Command, Target, TimedCommand};
use crate::config::{
    self, BrokerConfig, ClusterFeatures, ConsumerConfig, Kind, MetadataMode, ProducerConfig, Scope,
    TopicOverrides, Value,
};
use crate::ids::{BrokerId, Millis, NodeId, NodeNames, TopicPartition, OFFSETS_TOPIC};
use crate::network::LinkParams;
use crate::producer::{KeySpec, ScheduledSend, Workload};
use crate::trace::CrashKind;

/// One thing wrong with a scenario file.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// Byte range in the file of the key or value at fault.
    pub span: Range<usize>,
    pub message: String,
    /// What would fix it, when something specific can be said.
    pub help: Option<String>,
}

/// Everything wrong with a scenario file. Keeps the file's name and text so the problems can be
/// shown with line numbers (`Display`) or as annotated source (`miette`).
#[derive(Debug)]
pub struct ScenarioError {
    pub file: String,
    pub text: String,
    pub problems: Vec<Problem>,
}

impl ScenarioError {
    /// 1-based line and column (in characters) where a problem starts.
    pub fn line_col(&self, p: &Problem) -> (usize, usize) {
        line_col(&self.text, p.span.start)
    }
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.problems.is_empty() {
            return write!(f, "{}: invalid scenario", self.file);
        }
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            let (line, col) = self.line_col(p);
            write!(f, "{}:{line}:{col}: {}", self.file, p.message)?;
            if let Some(help) = &p.help {
                write!(f, "\n  help: {help}")?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for ScenarioError {}

/// Each problem is a related diagnostic so miette shows it with its own snippet and help; they
/// all read their source from the parent.
impl Diagnostic for ScenarioError {
    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(self)
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        Some(Box::new(self.problems.iter().map(|p| p as &dyn Diagnostic)))
    }
}

/// The file's text under the file's name: what `miette::NamedSource::new(file, text)` gives,
/// without keeping a second copy of the text in the error.
impl SourceCode for ScenarioError {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let inner = self
            .text
            .read_span(span, context_lines_before, context_lines_after)?;
        Ok(Box::new(MietteSpanContents::new_named(
            self.file.clone(),
            inner.data(),
            *inner.span(),
            inner.line(),
            inner.column(),
            inner.line_count(),
        )))
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Problem {}

impl Diagnostic for Problem {
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let span = LabeledSpan::new_with_span(None, self.span.clone());
        Some(Box::new(std::iter::once(span)))
    }
}

/// Parses a scenario file. `file` is only used to name the file in problems.
pub fn parse(file: &str, text: &str) -> Result<Scenario, ScenarioError> {
    let mut p = Parser {
        text,
        problems: Vec::new(),
    };
    let scenario = p.document();
    match scenario {
        Some(s) if p.problems.is_empty() => Ok(s),
        _ => {
            let mut problems = p.problems;
            // Reported in file order, which is how a reader fixes them.
            problems.sort_by_key(|p| p.span.start);
            problems.dedup();
            Err(ScenarioError {
                file: file.to_string(),
                text: text.to_string(),
                problems,
            })
        }
    }
}

type Val<'i> = Spanned<DeValue<'i>>;

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

const DURATION_EXAMPLES: &str = "expected a duration such as \"500ms\", \"5s\" or \"2m\"";
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

/// A key of a table, with dotted names flattened (`min.insync.replicas = 2` is three nested
/// tables to TOML, one Kafka setting to us).
#[derive(Clone)]
struct Entry<'a, 'i> {
    name: String,
    /// The whole dotted key where it is on one line, else its last part.
    key: Range<usize>,
    value: &'a Val<'i>,
}

/// A table being read: keys are taken as they are understood, and whatever is left at the end
/// is reported as unknown.
struct Section<'a, 'i> {
    /// The table's header (or inline table), where "missing key" problems point.
    span: Range<usize>,
    entries: Vec<Entry<'a, 'i>>,
    used: Vec<bool>,
}

impl<'a, 'i> Section<'a, 'i> {
    /// `whole` names keys whose table values are read as such rather than flattened.
    fn new(p: &mut Parser<'_>, table: &'a DeTable<'i>, span: Range<usize>, whole: &[&str]) -> Self {
        let mut entries = Vec::new();
        flatten(p.text, table, None, whole, &mut entries);
        entries.sort_by_key(|e| e.key.start);
        // `"a.b" = 1` and `a.b = 2` are different keys to TOML but the same setting here.
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        entries.retain(|e| match seen.get(&e.name) {
            Some(&first) => {
                let (line, _) = line_col(p.text, first);
                p.error_help(
                    e.key.clone(),
                    format!("`{}` is set twice", e.name),
                    format!("it is first set on line {line}"),
                );
                false
            }
            None => {
                seen.insert(e.name.clone(), e.key.start);
                true
            }
        });
        let used = vec![false; entries.len()];
        Section {
            span,
            entries,
            used,
        }
    }

    fn take(&mut self, name: &str) -> Option<Entry<'a, 'i>> {
        let i = self.entries.iter().position(|e| e.name == name)?;
        self.used[i] = true;
        Some(self.entries[i].clone())
    }

    fn require(
        &mut self,
        p: &mut Parser<'_>,
        name: &str,
        what: &str,
        example: &str,
    ) -> Option<Entry<'a, 'i>> {
        let e = self.take(name);
        if e.is_none() {
            p.error_help(
                self.span.clone(),
                format!("missing `{name}` in {what}"),
                format!("add `{name} = {example}`"),
            );
        }
        e
    }

    /// The entries not taken yet (taking them).
    fn rest(&mut self) -> Vec<Entry<'a, 'i>> {
        let rest = self
            .entries
            .iter()
            .zip(&self.used)
            .filter(|(_, u)| !**u)
            .map(|(e, _)| e.clone())
            .collect();
        self.used.iter_mut().for_each(|u| *u = true);
        rest
    }

    /// Reports every key not taken. `list` adds the allowed keys to the help even when there is
    /// a suggestion (for tables whose keys depend on another key, like a fault's action).
    fn finish(mut self, p: &mut Parser<'_>, what: &str, allowed: &[&str], list: bool) {
        // Allowed keys left over were understood but not needed (a fault whose action is
        // invalid): not worth a second problem.
        for e in self
            .rest()
            .into_iter()
            .filter(|e| !allowed.contains(&e.name.as_str()))
        {
            let takes = format!("{what} takes {}", allowed.join(", "));
            let help = match suggest(&e.name, allowed.iter().copied()) {
                Some(s) if list => format!("did you mean `{s}`? ({takes})"),
                Some(s) => format!("did you mean `{s}`?"),
                None => takes,
            };
            p.error_help(
                e.key.clone(),
                format!("unknown key `{}` in {what}", e.name),
                help,
            );
        }
    }
}

fn flatten<'a, 'i>(
    text: &str,
    table: &'a DeTable<'i>,
    prefix: Option<(&str, usize)>,
    whole: &[&str],
    out: &mut Vec<Entry<'a, 'i>>,
) {
    for (k, v) in table.iter() {
        let (name, start) = match prefix {
            Some((pre, start)) => (format!("{pre}.{}", k.get_ref()), start),
            None => (k.get_ref().to_string(), k.span().start),
        };
        if let DeValue::Table(t) = v.get_ref() {
            // An empty table stays an entry so that it is reported rather than ignored.
            if !t.is_empty() && !whole.contains(&name.as_str()) {
                flatten(text, t, Some((&name, start)), whole, out);
                continue;
            }
        }
        let end = k.span().end;
        let one_line = start <= end && text.get(start..end).is_some_and(|s| !s.contains('\n'));
        let key = if one_line { start..end } else { k.span() };
        out.push(Entry {
            name,
            key,
            value: v,
        });
    }
}

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
    /// Where the fault's table starts (it identifies the fault), and where its name is.
    table: usize,
    name_at: usize,
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
                    name_at: raw(t, "name").map_or(item.span(), |v| v.span()).start,
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

    /// The client an `add-*` fault adds as `node`, if `node` is added rather than declared.
    fn added(&self, w: &World, node: NodeId) -> Option<&PlannedClient> {
        match node {
            NodeId::Producer(i) => self
                .producers
                .get(usize::from(i).checked_sub(w.declared_producers)?),
            NodeId::Consumer(i) => self
                .consumers
                .get(usize::from(i).checked_sub(w.declared_consumers)?),
            _ => None,
        }
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

/// A fault as read, with where its parts are for the checks made in time order.
struct ParsedFault {
    command: TimedCommand,
    /// Where its table starts.
    table: usize,
    /// Its `topic`, `partitions`, and node (`target`, `from`, ...) values, or the table.
    topic: Range<usize>,
    partitions: Range<usize>,
    targets: Range<usize>,
}

/// A topic as the admin faults find it at some time of the run.
struct TopicState {
    /// `None` when the count given was invalid.
    partitions: Option<u32>,
    /// The line of the `create-topic` fault that made it and when it did, or `None` for a
    /// topic of [[topics]].
    created: Option<(usize, Millis)>,
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

struct Parser<'t> {
    text: &'t str,
    problems: Vec<Problem>,
}

impl<'t> Parser<'t> {
    fn error(&mut self, span: Range<usize>, message: impl Into<String>) {
        self.push(span, message.into(), None);
    }

    fn error_help(
        &mut self,
        span: Range<usize>,
        message: impl Into<String>,
        help: impl Into<String>,
    ) {
        self.push(span, message.into(), Some(help.into()));
    }

    fn push(&mut self, span: Range<usize>, message: String, help: Option<String>) {
        // Spans are made to fit the text so that nothing downstream (miette) slices off it.
        let start = floor_char_boundary(self.text, span.start);
        let end = floor_char_boundary(self.text, span.end.max(start));
        self.problems.push(Problem {
            span: start..end,
            message,
            help,
        });
    }

    fn line(&self, offset: usize) -> usize {
        line_col(self.text, offset).0
    }

    /// A value as a message shows it: scalars as written, containers by kind.
    fn found(&self, v: &Val<'_>) -> String {
        match v.get_ref() {
            DeValue::String(s) => quote(s),
            DeValue::Array(_) => "an array".into(),
            DeValue::Table(_) => "a table".into(),
            other => match self.text.get(v.span()).map(str::trim) {
                Some(src) if !src.is_empty() && src.len() <= 40 && !src.contains('\n') => {
                    src.to_string()
                }
                _ if other.is_integer() => "an integer".into(),
                _ => format!("a {}", other.type_str()),
            },
        }
    }

    fn invalid(&mut self, name: &str, v: &Val<'_>, expected: &str, help: Option<String>) {
        let message = format!("`{name}`: {expected}, found {}", self.found(v));
        self.push(v.span(), message, help);
    }

    // ---- values ----

    fn string<'a>(&mut self, name: &str, v: &'a Val<'_>) -> Option<&'a str> {
        match v.get_ref() {
            DeValue::String(s) => Some(s),
            other => {
                let help = match other {
                    DeValue::Array(_) | DeValue::Table(_) => None,
                    _ => Some(format!("put it in quotes: \"{}\"", self.found(v))),
                };
                self.invalid(name, v, "expected a string", help);
                None
            }
        }
    }

    fn nonempty_string<'a>(&mut self, name: &str, v: &'a Val<'_>) -> Option<&'a str> {
        let s = self.string(name, v)?;
        if s.trim().is_empty() {
            self.error(v.span(), format!("`{name}` must not be empty"));
            return None;
        }
        Some(s)
    }

    fn int(&mut self, name: &str, v: &Val<'_>, min: i64, max: i64) -> Option<i64> {
        let range = if max == i64::MAX {
            format!("at least {min}")
        } else {
            format!("between {min} and {max}")
        };
        match v.get_ref() {
            DeValue::Integer(i) => match int_value(i) {
                Some(i) if (min..=max).contains(&i) => Some(i),
                _ => {
                    self.invalid(name, v, &format!("must be {range}"), None);
                    None
                }
            },
            other => {
                let help = match other {
                    DeValue::String(s) if s.trim().parse::<i64>().is_ok() => {
                        Some(format!("remove the quotes: {}", s.trim()))
                    }
                    _ => None,
                };
                self.invalid(name, v, &format!("expected an integer {range}"), help);
                None
            }
        }
    }

    fn bool(&mut self, name: &str, v: &Val<'_>) -> Option<bool> {
        match v.get_ref() {
            DeValue::Boolean(b) => Some(*b),
            other => {
                let help = match other {
                    DeValue::String(s) if s == "true" || s == "false" => {
                        Some(format!("remove the quotes: {s}"))
                    }
                    _ => None,
                };
                self.invalid(name, v, "expected true or false", help);
                None
            }
        }
    }

    /// A number that may be written as a TOML integer or float.
    fn number(
        &mut self,
        name: &str,
        v: &Val<'_>,
        min: f64,
        max: f64,
        expected: &str,
    ) -> Option<f64> {
        let n = match v.get_ref() {
            DeValue::Integer(i) => int_value(i).map(|i| i as f64),
            DeValue::Float(f) => f.as_str().parse::<f64>().ok(),
            _ => None,
        };
        match n {
            Some(n) if n.is_finite() && n >= min && n <= max => Some(n),
            _ => {
                self.invalid(name, v, expected, None);
                None
            }
        }
    }

    fn choice<'c>(&mut self, name: &str, v: &Val<'_>, options: &[&'c str]) -> Option<&'c str> {
        let expected = format!(
            "expected one of {}",
            options
                .iter()
                .map(|o| quote(o))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let DeValue::String(s) = v.get_ref() else {
            self.invalid(name, v, &expected, None);
            return None;
        };
        if let Some(o) = options.iter().find(|o| **o == s.as_ref()) {
            return Some(o);
        }
        let help = suggest(s, options.iter().copied()).map(|o| format!("did you mean \"{o}\"?"));
        self.invalid(name, v, &expected, help);
        None
    }

    fn duration(&mut self, name: &str, v: &Val<'_>) -> Option<Millis> {
        let result = match v.get_ref() {
            DeValue::Integer(i) => match int_value(i) {
                Some(ms) if ms >= 0 => Ok(ms as Millis),
                Some(_) => Err(Some("durations cannot be negative".to_string())),
                None => Err(Some("that is far too long".to_string())),
            },
            DeValue::String(s) => parse_duration(s).map_err(|h| h.map(str::to_string)),
            DeValue::Float(_) => Err(Some(
                "a bare number is whole milliseconds; write \"1.5s\" for fractions".into(),
            )),
            _ => Err(None),
        };
        match result {
            Ok(ms) => Some(ms),
            Err(help) => {
                self.invalid(name, v, DURATION_EXAMPLES, help);
                None
            }
        }
    }

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

    fn table<'a, 'i>(&mut self, name: &str, v: &'a Val<'i>, help: &str) -> Option<&'a DeTable<'i>> {
        match v.get_ref() {
            DeValue::Table(t) => Some(t),
            _ => {
                self.invalid(name, v, "expected a table", Some(help.to_string()));
                None
            }
        }
    }

    /// An array of tables: `[[topics]]` sections or an inline `[{...}, {...}]`.
    fn tables<'a, 'i>(
        &mut self,
        name: &str,
        v: &'a Val<'i>,
        header: &str,
    ) -> Vec<(&'a DeTable<'i>, Range<usize>)> {
        let DeValue::Array(items) = v.get_ref() else {
            self.invalid(
                name,
                v,
                "expected an array of tables",
                Some(format!(
                    "write {header} (double brackets) before each entry"
                )),
            );
            return Vec::new();
        };
        let mut out = Vec::new();
        for item in items.iter() {
            match item.get_ref() {
                DeValue::Table(t) => out.push((t, item.span())),
                _ => self.invalid(name, item, "expected a table", None),
            }
        }
        out
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
                _ => None,
            };
            self.invalid(&e.name, e.value, &expected, help);
            return None;
        }
        Some((key.name, value))
    }

    fn unknown_setting(&mut self, scope: Scope, e: &Entry<'_, '_>, extras: &[&str]) {
        let name = e.name.as_str();
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
                    ("[cluster]", &["truncation", "metadata", "eligible.leader.replicas.version", "reader"][..]),
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

    fn cluster(&mut self, v: Option<&Val<'_>>) -> Cluster {
        let mut c = Cluster {
            brokers: None,
            truncation: TruncationMode::LeaderEpoch,
            features: ClusterFeatures::default(),
            reader: true,
        };
        let Some(v) = v else {
            self.error_help(
                0..0,
                "missing [cluster] table",
                "add a [cluster] table with `brokers = 3`",
            );
            return c;
        };
        let Some(t) = self.table("cluster", v, "write it as a [cluster] table") else {
            return c;
        };
        let mut s = Section::new(self, t, v.span(), &[]);
        if let Some(e) = s.require(self, "brokers", "[cluster]", "3") {
            c.brokers = self.int(&e.name, e.value, 1, MAX_BROKERS).map(|n| n as u32);
        }
        if let Some(e) = s.take("truncation") {
            c.truncation = match self.choice(&e.name, e.value, &["leader-epoch", "high-watermark"])
            {
                Some("high-watermark") => TruncationMode::HighWatermark,
                _ => TruncationMode::LeaderEpoch,
            };
        }
        if let Some(e) = s.take("metadata") {
            if self.choice(&e.name, e.value, &["kraft", "zookeeper"]) == Some("zookeeper") {
                c.features.metadata = MetadataMode::Zookeeper;
                c.features.eligible_leader_replicas = false;
            }
        }
        if let Some(e) = s.take("eligible.leader.replicas.version") {
            if let Some(v) = self.int(&e.name, e.value, 0, 1) {
                c.features.eligible_leader_replicas = v == 1;
                if let Some(b) = validate::cluster_features(&c.features) {
                    self.error_help(e.value.span(), b.message, b.help);
                }
            }
        }
        if let Some(e) = s.take("reader") {
            c.reader = self.bool(&e.name, e.value).unwrap_or(true);
        }
        s.finish(
            self,
            "[cluster]",
            &[
                "brokers",
                "truncation",
                "metadata",
                "eligible.leader.replicas.version",
                "reader",
            ],
            false,
        );
        c
    }

    /// Broker settings from `[broker]` (every broker) and `[brokers.N]` (broker N, on top).
    fn brokers(
        &mut self,
        all: Option<&Val<'_>>,
        each: Option<&Val<'_>>,
        n: Option<u32>,
    ) -> Brokers {
        let mut base = BrokerConfig::default();
        let mut base_min_isr_from = None;
        if let Some(v) = all {
            let help = "write the settings for every broker under a [broker] table";
            if let Some(t) = self.table("broker", v, help) {
                let mut s = Section::new(self, t, v.span(), &[]);
                for e in s.rest() {
                    if let Some((name, value)) = self.setting(Scope::Broker, &e, &[]) {
                        base.set(name, &value);
                        if name == "min.insync.replicas" {
                            base_min_isr_from = Some(e.value.span());
                        }
                    }
                }
            }
        }
        let count = n.unwrap_or(0) as usize;
        let mut configs = vec![base.clone(); count];
        let mut min_isr_from = vec![base_min_isr_from.clone(); count];
        if let Some(v) = each {
            let help = "per-broker settings go under [brokers.N] (N a broker id); the number of brokers is `brokers` in [cluster]";
            for (k, v) in self
                .table("brokers", v, help)
                .into_iter()
                .flat_map(|t| t.iter())
            {
                let id = k.get_ref().parse::<u32>().ok();
                let Some(id) = id.filter(|id| *id >= 1) else {
                    self.error_help(
                        k.span(),
                        format!("`{}` is not a broker id", k.get_ref()),
                        "[brokers.N] holds broker N's settings (N from 1); settings for every broker go under [broker]",
                    );
                    continue;
                };
                if let Some(n) = n.filter(|n| id > *n) {
                    self.error(
                        k.span(),
                        format!(
                            "there is no broker {id}: the cluster has {}",
                            plural(n, "broker")
                        ),
                    );
                    continue;
                }
                let Some(t) = self.table(
                    &format!("brokers.{id}"),
                    v,
                    &format!("write broker {id}'s settings under [brokers.{id}]"),
                ) else {
                    continue;
                };
                let mut s = Section::new(self, t, v.span(), &[]);
                for e in s.rest() {
                    if let Some((name, value)) = self.setting(Scope::Broker, &e, &[]) {
                        if let Some(c) = configs.get_mut(id as usize - 1) {
                            c.set(name, &value);
                            if name == "min.insync.replicas" {
                                min_isr_from[id as usize - 1] = Some(e.value.span());
                            }
                        }
                    }
                }
            }
        }
        Brokers {
            configs,
            min_isr_from,
            base,
            base_min_isr_from,
        }
    }

    /// The topics, each with its partition count if that was valid.
    fn topics(
        &mut self,
        v: Option<&Val<'_>>,
        n: Option<u32>,
        brokers: &Brokers,
    ) -> Vec<(TopicDef, Option<u32>)> {
        let Some(v) = v else { return Vec::new() };
        let mut out: Vec<(TopicDef, Option<u32>)> = Vec::new();
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        for (t, span) in self.tables("topics", v, "[[topics]]") {
            let Some((def, partitions, name_span)) = self.topic(t, span, n, brokers) else {
                continue;
            };
            if let Some(first) = seen.get(&*def.name) {
                let line = self.line(*first);
                self.error_help(
                    name_span,
                    format!("topic `{}` is defined twice", def.name),
                    format!("it is first defined on line {line}"),
                );
                continue;
            }
            seen.insert(def.name.to_string(), name_span.start);
            out.push((def, partitions));
        }
        out
    }

    fn topic(
        &mut self,
        t: &DeTable<'_>,
        span: Range<usize>,
        n: Option<u32>,
        brokers: &Brokers,
    ) -> Option<(TopicDef, Option<u32>, Range<usize>)> {
        let mut s = Section::new(self, t, span, &[]);
        let name_e = s.require(self, "name", "[[topics]]", "\"orders\"");
        let name = name_e
            .as_ref()
            .and_then(|e| self.topic_name(&e.name, e.value));
        let partitions_e = s.take("partitions");
        let mut partitions_ok = true;
        let partitions = partitions_e.as_ref().and_then(|e| {
            let v = self
                .setting(Scope::Topic, e, &[])
                .and_then(|(_, v)| as_int(&v));
            partitions_ok = v.is_some();
            v.map(|v| v as u32)
        });
        let rf_e = s.take("replication.factor");
        let mut rf_ok = true;
        let rf = rf_e.as_ref().and_then(|e| {
            let rf = self
                .setting(Scope::Topic, e, &[])
                .and_then(|(_, v)| as_int(&v))
                .map(|v| v as u32);
            match (rf, n) {
                (Some(rf), Some(n)) if rf > n => {
                    self.error_help(
                        e.value.span(),
                        format!(
                            "replication.factor {rf} is more than the {}",
                            plural(n, "broker")
                        ),
                        "add brokers in [cluster] or lower replication.factor",
                    );
                    rf_ok = false;
                    None
                }
                (None, _) => {
                    rf_ok = false;
                    None
                }
                (rf, _) => rf,
            }
        });
        let assignment_e = s.take("assignment");
        let assignment = assignment_e.as_ref().and_then(|e| self.assignment(e, n));
        // Counts read off an invalid assignment, or defaulted from an unknown broker count,
        // would only lead to problems that are not there.
        if assignment_e.is_some() && assignment.is_none() {
            partitions_ok &= partitions_e.is_some();
            rf_ok &= rf_e.is_some();
        }
        if n.is_none() && rf_e.is_none() && assignment.is_none() {
            rf_ok = false;
        }

        let mut overrides = TopicOverrides::default();
        let mut min_isr_override = None;
        for e in s.rest() {
            if let Some((key, value)) = self.setting(Scope::Topic, &e, &["name", "assignment"]) {
                overrides.set(key, &value);
                if key == "min.insync.replicas" {
                    min_isr_override = Some(e.value.span());
                }
            }
        }

        // Counts not given are read off an explicit assignment.
        let partitions = partitions
            .or(assignment.as_ref().map(|a| a.len() as u32))
            .unwrap_or(1);
        let rf = rf
            .or(assignment
                .as_ref()
                .and_then(|a| a.first())
                .map(|r| r.len() as u32))
            .unwrap_or_else(|| n.unwrap_or(1).min(3));
        let assignment = match (assignment, assignment_e) {
            (Some(a), Some(e)) => {
                let mut ok = true;
                if a.len() as u32 != partitions && partitions_ok {
                    self.invalid(
                        "assignment",
                        e.value,
                        &format!("expected one list of replicas per partition ({partitions})"),
                        Some(format!("it lists {}", plural(a.len() as u32, "partition"))),
                    );
                    ok = false;
                }
                if rf_ok {
                    for (row, item) in a.iter().zip(
                        e.value
                            .get_ref()
                            .as_array()
                            .into_iter()
                            .flat_map(|a| a.iter()),
                    ) {
                        if row.len() as u32 != rf {
                            self.error_help(
                                item.span(),
                                format!("every partition needs replication.factor ({rf}) replicas; this one lists {}", row.len()),
                                "set replication.factor to match, or fix the list",
                            );
                            ok = false;
                        }
                    }
                }
                ok.then_some(a)
            }
            _ => None,
        };
        let assignment = assignment.unwrap_or_else(|| match n {
            Some(n) if rf <= n => (0..partitions)
                .map(|p| (0..rf).map(|i| (p + i) % n + 1).collect())
                .collect(),
            _ => Vec::new(),
        });

        if rf_ok {
            self.check_min_isr(
                name.unwrap_or("?"),
                rf,
                &overrides,
                min_isr_override,
                &assignment,
                brokers,
            );
        }

        let name = name?;
        let name_span = name_e.map(|e| e.value.span()).unwrap_or_default();
        let def = TopicDef {
            name: name.into(),
            partitions,
            replication_factor: rf,
            overrides,
            assignment,
        };
        Some((def, partitions_ok.then_some(partitions), name_span))
    }

    fn topic_name<'a>(&mut self, key: &str, v: &'a Val<'_>) -> Option<&'a str> {
        let name = self.string(key, v)?;
        let valid = !name.is_empty()
            && name.len() <= MAX_TOPIC_NAME
            && name != "."
            && name != ".."
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if !valid {
            self.invalid(
                key,
                v,
                "expected a topic name",
                Some(format!("Kafka topic names are 1 to {MAX_TOPIC_NAME} of the characters A-Z a-z 0-9 . _ -")),
            );
            return None;
        }
        if name == OFFSETS_TOPIC {
            self.error_help(
                v.span(),
                format!("`{OFFSETS_TOPIC}` is Kafka's internal topic of committed offsets"),
                "the cluster creates it for consumer groups (see offsets.topic.* in [broker]); pick another name",
            );
            return None;
        }
        Some(name)
    }

    /// An explicit replica assignment, each list checked on its own (lengths are checked by the
    /// caller, which knows the topic's counts).
    fn assignment(&mut self, e: &Entry<'_, '_>, n: Option<u32>) -> Option<Vec<Vec<BrokerId>>> {
        const EXPECTED: &str =
            "expected a list of replica lists, one per partition, such as [[1, 2, 3]]";
        let Some(rows) = e.value.get_ref().as_array() else {
            self.invalid(&e.name, e.value, EXPECTED, None);
            return None;
        };
        if rows.is_empty() {
            self.invalid(&e.name, e.value, EXPECTED, None);
            return None;
        }
        let max = n.map_or(i64::from(u32::MAX), i64::from);
        let mut ok = true;
        let mut out = Vec::new();
        for row in rows.iter() {
            let Some(ids) = row.get_ref().as_array() else {
                self.invalid(
                    "assignment",
                    row,
                    "expected a list of broker ids such as [1, 2, 3]",
                    None,
                );
                ok = false;
                continue;
            };
            if ids.is_empty() {
                self.error(row.span(), "a partition needs at least one replica");
                ok = false;
                continue;
            }
            let mut replicas = Vec::new();
            for id in ids.iter() {
                let valid = matches!(id.get_ref(), DeValue::Integer(i) if int_value(i).is_some_and(|i| (1..=max).contains(&i)));
                let Some(b) = valid
                    .then(|| id.get_ref().as_integer().and_then(int_value))
                    .flatten()
                else {
                    let expected = match n {
                        Some(n) => format!("expected a broker id from 1 to {n}"),
                        None => "expected a broker id".into(),
                    };
                    self.invalid("assignment", id, &expected, None);
                    ok = false;
                    continue;
                };
                let b = b as BrokerId;
                if replicas.contains(&b) {
                    self.error(
                        id.span(),
                        format!("broker {b} is listed twice for this partition"),
                    );
                    ok = false;
                }
                replicas.push(b);
            }
            out.push(replicas);
        }
        ok.then_some(out)
    }

    /// acks=all needs min.insync.replicas replicas in the ISR, which can never hold more than
    /// replication.factor: such a topic rejects every acks=all write.
    /// [`validate::min_isr_fits`] for one topic, pointing at the setting that gave each
    /// replica its minimum (the topic's own, or its brokers' when it has none).
    fn check_min_isr(
        &mut self,
        topic: &str,
        rf: u32,
        overrides: &TopicOverrides,
        override_span: Option<Range<usize>>,
        assignment: &[Vec<BrokerId>],
        brokers: &Brokers,
    ) {
        if let (Some(m), Some(span)) = (overrides.min_insync_replicas, override_span) {
            if let Some(b) = validate::min_isr_fits(topic, rf, m, MinIsrFrom::Topic) {
                self.error_help(span, b.message, b.help);
            }
            return;
        }
        let replicas: BTreeSet<BrokerId> = assignment.iter().flatten().copied().collect();
        let mut sources: Vec<(u32, Range<usize>)> = replicas
            .iter()
            .filter_map(|b| {
                let i = (*b as usize).checked_sub(1)?;
                let m = brokers.configs.get(i)?.min_insync_replicas;
                Some((m, brokers.min_isr_from.get(i)?.clone()?))
            })
            .collect();
        if brokers.configs.is_empty() {
            sources.extend(
                brokers
                    .base_min_isr_from
                    .clone()
                    .map(|s| (brokers.base.min_insync_replicas, s)),
            );
        }
        sources.sort_by_key(|(_, s)| s.start);
        sources.dedup_by_key(|(_, s)| s.start);
        for (m, span) in sources {
            if let Some(b) = validate::min_isr_fits(topic, rf, m, MinIsrFrom::Broker) {
                self.error_help(span, b.message, b.help);
            }
        }
    }

    fn producers(
        &mut self,
        tables: &[(&DeTable<'_>, Range<usize>)],
        w: &World,
        topics: &[(TopicDef, Option<u32>)],
        clients: &mut Clients,
    ) -> Vec<ProducerDef> {
        let mut out = Vec::new();
        for (t, span) in tables {
            let mut s = Section::new(self, t, span.clone(), &[]);
            let p = self.producer(&mut s, span.clone(), w, topics, clients, Origin::Declared);
            out.extend(p);
        }
        out
    }

    /// A `[[producers]]` table, or the keys of an `add-producer` fault (which starts the
    /// producer at its `at`). Takes every key of `s`.
    fn producer(
        &mut self,
        s: &mut Section<'_, '_>,
        span: Range<usize>,
        w: &World,
        topics: &[(TopicDef, Option<u32>)],
        clients: &mut Clients,
        origin: Origin,
    ) -> Option<ProducerDef> {
        const WORKLOAD: &[&str] = &[
            "name",
            "topic",
            "rate",
            "start",
            "stop",
            "keys",
            "value_bytes",
            "sends",
        ];
        let what = match origin {
            Origin::Declared => "[[producers]]".to_string(),
            Origin::Added(_) => fault_name("add-producer"),
        };
        let name = s.require(self, "name", &what, "\"a\"").and_then(|e| {
            let name = self.client_name("producer", &e, &mut clients.producers)?;
            // A declared consumer of that name is reported at the consumer.
            if origin != Origin::Declared && w.names.consumers.iter().any(|c| c == name) {
                self.error_help(
                    e.value.span(),
                    format!("`{name}` is already the name of a consumer"),
                    "give each client a name of its own, so that traces and checks tell them apart",
                );
                return None;
            }
            Some(name)
        });
        let topic = s
            .require(self, "topic", &what, "\"orders\"")
            .and_then(|e| {
                let topic = self.string(&e.name, e.value)?;
                if !w.topics.contains_key(topic) {
                    match (w.admin.created.get(topic), origin) {
                        // Whether it exists by then is checked with the faults, in time order.
                        (Some(_), Origin::Added(_)) => return Some(topic),
                        (Some(at), Origin::Declared) => {
                            let line = self.line(*at);
                            self.error_help(
                                e.value.span(),
                                format!("topic `{topic}` does not exist when the producer starts: a `create-topic` fault creates it (line {line})"),
                                "a producer's topic must be defined in [[topics]] (or created before an `add-producer` fault adds it); consumers may read topics created later",
                            );
                        }
                        (None, _) => self.no_topic(w, topic, e.value.span()),
                    }
                    return None;
                }
                Some(topic)
            });
        let partitions = topic.and_then(|t| {
            let declared = w.topics.get(t).copied().flatten();
            match origin {
                Origin::Declared => declared,
                // Named records may go to partitions added before they are sent.
                Origin::Added(_) => {
                    let later = w.admin.partitions.get(t).copied();
                    declared.max(later)
                }
            }
        });

        let rate = match s.take("rate") {
            Some(e) => self.number(
                &e.name,
                e.value,
                0.0,
                MAX_RATE,
                &format!("expected records per second, from 0 to {MAX_RATE}"),
            ),
            None => Some(0.0),
        };
        let start_e = s.take("start");
        let start = match (origin, &start_e) {
            (Origin::Declared, Some(e)) => self.instant(&e.name, e.value, w),
            (Origin::Declared, None) => Some(0),
            (Origin::Added(at), Some(e)) => {
                self.started_by_at(e, "producer");
                at
            }
            (Origin::Added(at), None) => at,
        };
        let stop_e = s.take("stop");
        let stop = match &stop_e {
            Some(e) => self.duration(&e.name, e.value),
            None => Some(w.duration.unwrap_or(0)),
        };
        if let (Some(start), Some(stop), Some(e)) = (start, stop, &stop_e) {
            if stop <= start {
                let from = match origin {
                    Origin::Declared => "start",
                    Origin::Added(_) => "at",
                };
                self.error(
                    e.value.span(),
                    format!(
                        "`stop` ({}) must be after `{from}` ({})",
                        fmt_ms(stop),
                        fmt_ms(start)
                    ),
                );
            }
        }
        let keys = match s.take("keys") {
            Some(e) => self.keys(&e),
            None => Some(KeySpec::None),
        };
        let value_bytes = match s.take("value_bytes") {
            Some(e) => self
                .int(&e.name, e.value, 1, MAX_VALUE_BYTES)
                .map(|b| b as u32),
            None => Some(100),
        };
        let not_before = match origin {
            Origin::Declared => None,
            Origin::Added(at) => at,
        };
        let sends = match s.take("sends") {
            Some(e) => self.sends(
                &e,
                name.unwrap_or_default(),
                partitions,
                w,
                &mut clients.values,
                not_before,
            ),
            None => Some(Vec::new()),
        };

        let mut config = ProducerConfig::default();
        let mut spans: BTreeMap<&'static str, Range<usize>> = BTreeMap::new();
        let mut settings_ok = true;
        for e in s.rest() {
            match self.setting(Scope::Producer, &e, WORKLOAD) {
                Some((key, value)) => {
                    config.set(key, &value);
                    spans.insert(key, e.key.clone());
                }
                None => settings_ok = false,
            }
        }
        let idempotent = self.producer_config_checks(&config, &spans, &span, settings_ok);
        if let (Some(name), Some(rate), Some(sends)) = (name, rate, &sends) {
            if rate == 0.0 && sends.is_empty() {
                self.error(
                    span.clone(),
                    format!("producer `{name}` sends nothing: give it a rate or sends"),
                );
            }
        }

        let topic = topic?;
        let topic = topics
            .iter()
            .find(|(t, _)| &*t.name == topic)
            .map_or_else(|| Arc::from(topic), |(t, _)| t.name.clone());
        let workload = Workload::new(rate?, start?, stop?, keys?, value_bytes?, sends?);
        Some(ProducerDef {
            name: name?.to_string(),
            topic,
            config,
            idempotent,
            workload,
        })
    }

    /// `start` in an `add-producer` or `add-consumer` fault: the fault's `at` is the start.
    fn started_by_at(&mut self, e: &Entry<'_, '_>, kind: &str) {
        self.error_help(
            e.key.clone(),
            format!("an added {kind} starts at the fault's `at`; it takes no `start`"),
            "remove `start`, and set `at` to when it should start",
        );
    }

    /// A producer's or consumer's name: the node is `<kind>-<name>`.
    fn client_name<'v>(
        &mut self,
        kind: &str,
        e: &Entry<'v, '_>,
        names: &mut BTreeMap<String, usize>,
    ) -> Option<&'v str> {
        let name = self.string(&e.name, e.value)?;
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
        {
            self.invalid(
                &e.name,
                e.value,
                &format!("expected a {kind} name"),
                Some(format!(
                    "{kind} names use a-z 0-9 _ - (the node is `{kind}-<name>`)"
                )),
            );
            return None;
        }
        if let Some(first) = names.get(name) {
            let line = self.line(*first);
            self.error_help(
                e.value.span(),
                format!("{kind} `{name}` is defined twice"),
                format!("it is first defined on line {line}"),
            );
            return None;
        }
        names.insert(name.to_string(), e.value.span().start);
        Some(name)
    }

    /// [`validate::producer_settings`], pointing at the first setting of each broken rule
    /// that the table gives (`spans`), else at the table (`span`). Returns whether the
    /// producer is idempotent.
    fn producer_config_checks(
        &mut self,
        config: &ProducerConfig,
        spans: &BTreeMap<&'static str, Range<usize>>,
        span: &Range<usize>,
        settings_ok: bool,
    ) -> bool {
        for b in validate::producer_settings(config, settings_ok) {
            let at = b
                .keys
                .iter()
                .find_map(|k| spans.get(k).cloned())
                .unwrap_or(span.clone());
            self.error_help(at, b.message, b.help);
        }
        config.idempotence().unwrap_or(false)
    }

    fn keys(&mut self, e: &Entry<'_, '_>) -> Option<KeySpec> {
        const EXPECTED: &str =
            "expected a number of keys, or a list of keys such as [\"k1\", \"k2\"]";
        match e.value.get_ref() {
            DeValue::Integer(_) => self
                .int(&e.name, e.value, 1, i64::from(u32::MAX))
                .map(|n| KeySpec::Count(n as u32)),
            DeValue::Array(items) if !items.is_empty() => {
                let keys: Vec<Option<Arc<str>>> = items
                    .iter()
                    .map(|k| self.string("keys", k).map(Arc::from))
                    .collect();
                keys.into_iter()
                    .collect::<Option<Vec<_>>>()
                    .map(KeySpec::List)
            }
            _ => {
                self.invalid(
                    &e.name,
                    e.value,
                    EXPECTED,
                    Some("leave `keys` out for null keys".into()),
                );
                None
            }
        }
    }

    /// Named records. Their values identify them in traces and checks, so they must be unique and
    /// must not be mistaken for generated records (`<producer>-<n>`).
    fn sends(
        &mut self,
        e: &Entry<'_, '_>,
        producer: &str,
        partitions: Option<u32>,
        w: &World,
        values: &mut BTreeMap<String, (usize, String)>,
        not_before: Option<Millis>,
    ) -> Option<Vec<ScheduledSend>> {
        let mut ok = true;
        let mut out = Vec::new();
        for (t, span) in self.tables(&e.name, e.value, "[[producers.sends]]") {
            let mut s = Section::new(self, t, span, &[]);
            let at = s
                .require(self, "at", "this send", "\"2s\"")
                .and_then(|e| {
                    let at = self.instant(&e.name, e.value, w)?;
                    match not_before {
                        Some(added) if at < added => {
                            self.error_help(
                                e.value.span(),
                                format!(
                                    "this record is sent at {}, before the producer is added at {}",
                                    fmt_ms(at),
                                    fmt_ms(added)
                                ),
                                "the times of an added producer's sends are times of the run, not counted from its `at`",
                            );
                            None
                        }
                        _ => Some(at),
                    }
                });
            let value = s.require(self, "value", "this send", "\"m1\"").and_then(|e| {
                let value = self.nonempty_string(&e.name, e.value)?;
                if let Some((first, by)) = values.get(value) {
                    let line = self.line(*first);
                    self.error_help(
                        e.value.span(),
                        format!("record value `{value}` is already sent by producer `{by}` (line {line})"),
                        "named records must be unique so that checks can tell them apart",
                    );
                    return None;
                }
                let generated_by = w.names.producers.iter().filter(|p| !p.is_empty()).find(|p| {
                    value
                        .strip_prefix(p.as_str())
                        .and_then(|rest| rest.strip_prefix('-'))
                        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
                });
                if let Some(p) = generated_by {
                    self.error_help(
                        e.value.span(),
                        format!("record value `{value}` looks like a record generated by producer `{p}`"),
                        "generated records are named <producer>-<n>; pick another value, such as \"m1\"",
                    );
                    return None;
                }
                values.insert(value.to_string(), (e.value.span().start, producer.to_string()));
                Some(value)
            });
            // Outer `None`: invalid (already reported); inner `None`: not given.
            let key = match s.take("key") {
                Some(e) => self.string(&e.name, e.value).map(|k| Some(Arc::from(k))),
                None => Some(None),
            };
            let partition = match s.take("partition") {
                Some(e) => {
                    let max = partitions.map_or(i64::from(u32::MAX), |p| i64::from(p) - 1);
                    let p = self.int(&e.name, e.value, 0, max).map(|p| Some(p as u32));
                    if let (None, Some(n)) = (p, partitions) {
                        if let Some(last) = self.problems.last_mut() {
                            last.help
                                .get_or_insert(format!("the topic has {}", plural(n, "partition")));
                        }
                    }
                    p
                }
                None => Some(None),
            };
            s.finish(self, "a send", &["at", "value", "key", "partition"], false);
            match (at, value, key, partition) {
                (Some(at), Some(value), Some(key), Some(partition)) => out.push(ScheduledSend {
                    at,
                    value: value.into(),
                    key,
                    partition,
                }),
                _ => ok = false,
            }
        }
        ok.then_some(out)
    }

    // ---- consumers ----

    /// Every consumer, `None` where its table was invalid (so indexes stay node indexes).
    fn consumers(
        &mut self,
        tables: &[(&DeTable<'_>, Range<usize>)],
        w: &World,
        clients: &mut Clients,
    ) -> Vec<Option<ConsumerDef>> {
        tables
            .iter()
            .map(|(t, span)| {
                let mut s = Section::new(self, t, span.clone(), &["output"]);
                self.consumer(&mut s, span.clone(), w, clients, Origin::Declared)
            })
            .collect()
    }

    /// A `[[consumers]]` table, or the keys of an `add-consumer` fault (which starts the
    /// consumer at its `at`). Takes every key of `s`.
    fn consumer(
        &mut self,
        s: &mut Section<'_, '_>,
        span: Range<usize>,
        w: &World,
        clients: &mut Clients,
        origin: Origin,
    ) -> Option<ConsumerDef> {
        const APP: &[&str] = &[
            "name", "group", "topics", "topic", "process", "commit", "start", "stop", "output",
        ];
        let what = match origin {
            Origin::Declared => "[[consumers]]".to_string(),
            Origin::Added(_) => fault_name("add-consumer"),
        };
        // A declared consumer is compared with the declared producers; an added one with
        // every producer (so that a clash is reported where the added client is).
        let producers = match origin {
            Origin::Declared => &w.names.producers[..w.declared_producers],
            Origin::Added(_) => &w.names.producers[..],
        };
        let name = s
            .require(self, "name", &what, "\"billing-1\"")
            .and_then(|e| {
                let name = self.client_name("consumer", &e, &mut clients.consumers)?;
                if producers.iter().any(|p| p == name) {
                    self.error_help(
                        e.value.span(),
                        format!("`{name}` is already the name of a producer"),
                        "give each client a name of its own, so that traces and checks tell them apart",
                    );
                    return None;
                }
                Some(name)
            });
        // Outer `None`: invalid (already reported); inner `None`: not given.
        let group = match s.take("group") {
            Some(e) => self
                .nonempty_string(&e.name, e.value)
                .map(|g| Some(Arc::from(g))),
            None => Some(None),
        };
        let topics_e = s.take("topics");
        let topic_e = s.take("topic");
        let topics = match (&topics_e, &topic_e) {
            (Some(_), Some(t)) => {
                self.error_help(
                    t.key.clone(),
                    "give either `topic` or `topics`, not both",
                    "`topics` takes a list: topics = [\"orders\", \"audit\"]",
                );
                None
            }
            (None, None) => {
                self.error_help(
                    span.clone(),
                    format!("missing `topics` in {what}"),
                    "add `topics = [\"orders\"]` (or `topic = \"orders\"`): the topics it subscribes to",
                );
                None
            }
            (Some(e), None) | (None, Some(e)) => self.consumer_topics(w, e),
        };
        let process = match s.take("process") {
            Some(e) => self.process_time(&e.name, e.value),
            None => Some(0),
        };
        let commit_e = s.take("commit");
        let commit = match &commit_e {
            Some(e) => self.commit_point(e),
            None => Some(CommitPoint::None),
        };
        let start = match (origin, s.take("start")) {
            (Origin::Added(at), Some(e)) => {
                self.started_by_at(&e, "consumer");
                at
            }
            (Origin::Added(at), None) => at,
            (Origin::Declared, Some(e)) => {
                self.duration(&e.name, e.value)
                    .and_then(|at| match w.duration {
                        Some(d) if at >= d => {
                            self.error_help(
                                e.value.span(),
                                format!(
                                    "`start` is {} but the scenario ends at {}",
                                    fmt_ms(at),
                                    fmt_ms(d)
                                ),
                                "lengthen `duration` in [scenario] or start the consumer earlier",
                            );
                            None
                        }
                        _ => Some(at),
                    })
            }
            (Origin::Declared, None) => Some(0),
        };
        let stop = match s.take("stop") {
            Some(e) => {
                let stop = self.instant(&e.name, e.value, w);
                match (start, stop) {
                    (Some(start), Some(stop)) if stop <= start => {
                        let from = match origin {
                            Origin::Declared => "start",
                            Origin::Added(_) => "at",
                        };
                        self.error(
                            e.value.span(),
                            format!(
                                "`stop` ({}) must be after `{from}` ({})",
                                fmt_ms(stop),
                                fmt_ms(start)
                            ),
                        );
                        None
                    }
                    (_, stop) => stop.map(Some),
                }
            }
            None => Some(None),
        };
        let output_e = s.take("output");

        let mut config = ConsumerConfig::default();
        // Where each setting's value is, for problems about combinations.
        let mut spans: BTreeMap<&'static str, Range<usize>> = BTreeMap::new();
        // `group.id` where `group` belongs is reported as such; the checks that need a group
        // would only repeat it.
        let mut group_id_given = false;
        for e in s.rest() {
            group_id_given |= e.name == "group.id";
            if let Some((key, value)) = self.setting(Scope::Consumer, &e, APP) {
                config.set(key, &value);
                spans.insert(key, e.value.span());
            }
        }
        let output = match &output_e {
            Some(e) => {
                let table = match origin {
                    Origin::Declared => "consumers",
                    Origin::Added(_) => "faults",
                };
                self.stream_output(e, w, topics.as_deref(), table).map(Some)
            }
            None => Some(None),
        };

        let group = if group_id_given { None } else { group };
        if let (Some(None), Some(e), Some(commit)) = (&group, &commit_e, commit) {
            if commit != CommitPoint::None {
                self.error_help(
                    e.value.span(),
                    format!(
                        "`commit = \"{}\"` needs a `group`: a consumer without a group.id has no committed offsets",
                        commit.name()
                    ),
                    "add `group = \"...\"`, or commit = \"none\" (Kafka: \"To use group management or offset commit APIs, you must provide a valid group.id in the consumer configuration.\")",
                );
            }
        }
        if let Some(None) = &group {
            // Kafka's ConsumerConfig: without a group.id, auto-commit defaults to off, and
            // turning it on is an error.
            match spans.get("enable.auto.commit") {
                Some(at) if config.enable_auto_commit => self.error_help(
                    at.clone(),
                    "`enable.auto.commit = true` needs a `group`: a consumer without a group.id has no committed offsets",
                    "add `group = \"...\"`, or leave enable.auto.commit out (without a group it is off) (Kafka: \"enable.auto.commit cannot be set to true when default group id (null) is used.\")",
                ),
                Some(_) => {}
                None => config.enable_auto_commit = false,
            }
        }
        if let Some(Some(_)) = &group {
            if config.heartbeat_interval_ms >= config.session_timeout_ms {
                let at = ["heartbeat.interval.ms", "session.timeout.ms"]
                    .iter()
                    .find_map(|k| spans.get(k).cloned())
                    .unwrap_or(span.clone());
                self.error_help(
                    at,
                    "heartbeat.interval.ms must be lower than session.timeout.ms",
                    format!(
                        "heartbeat.interval.ms is {} and session.timeout.ms is {}; Kafka advises a third of it (Kafka: \"Heartbeat must be set lower than the session timeout\")",
                        config.heartbeat_interval_ms, config.session_timeout_ms
                    ),
                );
            }
        }

        Some(ConsumerDef {
            name: name?.to_string(),
            group: group?,
            topics: topics?,
            config,
            processing: Processing {
                per_record_us: process?,
                commit: commit?,
            },
            start: start?,
            stop: stop?,
            output: output?,
        })
    }

    /// `topics = ["a", "b"]` or `topic = "a"`: topics of the scenario, or created by a
    /// `create-topic` fault (a consumer waits for a topic it subscribes to).
    fn consumer_topics(&mut self, w: &World, e: &Entry<'_, '_>) -> Option<Vec<Arc<str>>> {
        let items: Vec<&Val<'_>> = match e.value.get_ref() {
            DeValue::String(_) => vec![e.value],
            DeValue::Array(a) if !a.is_empty() => a.iter().collect(),
            DeValue::Array(_) => {
                self.error_help(
                    e.value.span(),
                    "a consumer subscribes to at least one topic",
                    "name its topics, as in topics = [\"orders\"]",
                );
                return None;
            }
            _ => {
                self.invalid(
                    &e.name,
                    e.value,
                    "expected a list of topics such as [\"orders\"]",
                    None,
                );
                return None;
            }
        };
        let mut ok = true;
        let mut out: Vec<Arc<str>> = Vec::new();
        for v in items {
            let Some(topic) = self.string(&e.name, v) else {
                ok = false;
                continue;
            };
            if !self.topic_exists_sometime(w, topic, v.span()) {
                ok = false;
            } else if out.iter().any(|t| &**t == topic) {
                self.error(v.span(), format!("topic `{topic}` is listed twice"));
                ok = false;
            } else {
                out.push(topic.into());
            }
        }
        ok.then_some(out)
    }

    /// Whether a topic is defined in [[topics]] or created by a fault; reports it if not.
    fn topic_exists_sometime(&mut self, w: &World, topic: &str, span: Range<usize>) -> bool {
        if w.topics.contains_key(topic) || w.admin.created.contains_key(topic) {
            return true;
        }
        if topic == OFFSETS_TOPIC {
            self.error_help(
                span,
                format!("`{OFFSETS_TOPIC}` is Kafka's internal topic of committed offsets"),
                "consumers here read the scenario's own topics; the trace shows every commit",
            );
        } else {
            self.no_topic(w, topic, span);
        }
        false
    }

    fn commit_point(&mut self, e: &Entry<'_, '_>) -> Option<CommitPoint> {
        let names = CommitPoint::ALL.map(CommitPoint::name);
        let Some(c) = self.choice(&e.name, e.value, &names) else {
            if let Some(last) = self.problems.last_mut() {
                last.help.get_or_insert(
                    "\"after\": process, then commitSync() (at-least-once); \"after-async\": process, then commitAsync(); \"before\": commitSync(), then process (at-most-once); \"none\": no commit by hand".into(),
                );
            }
            return None;
        };
        CommitPoint::ALL.into_iter().find(|p| p.name() == c)
    }

    /// Time to process one record: `"250us"`, `"2ms"`, `"1s"`, or an integer of milliseconds.
    fn process_time(&mut self, name: &str, v: &Val<'_>) -> Option<u64> {
        const EXPECTED: &str = "expected a time per record such as \"250us\", \"2ms\" or \"1s\"";
        let result = match v.get_ref() {
            DeValue::Integer(i) => match int_value(i) {
                Some(ms) if ms >= 0 => (ms as u64)
                    .checked_mul(1000)
                    .ok_or(Some("that is far too long")),
                Some(_) => Err(Some("durations cannot be negative")),
                None => Err(Some("that is far too long")),
            },
            DeValue::String(s) => parse_micros(s),
            DeValue::Float(_) => Err(Some(
                "a bare number is whole milliseconds; write \"1.5ms\" or \"250us\" for fractions",
            )),
            _ => Err(None),
        };
        match result {
            Ok(us) if us > MAX_PROCESS_US => {
                self.invalid(
                    name,
                    v,
                    "must be at most an hour (\"60m\") per record",
                    None,
                );
                None
            }
            Ok(us) => Some(us),
            Err(help) => {
                self.invalid(name, v, EXPECTED, help.map(str::to_string));
                None
            }
        }
    }

    /// `[consumers.output]`: what a stream processor produces, and its producer's settings.
    fn stream_output(
        &mut self,
        e: &Entry<'_, '_>,
        w: &World,
        inputs: Option<&[Arc<str>]>,
        table: &str,
    ) -> Option<StreamOutput> {
        const OUTPUT: &[&str] = &["topic", "transform", "window", "threshold"];
        let what = format!("[{table}.output]");
        let what = what.as_str();
        let t = self.table(
            &e.name,
            e.value,
            &format!("write the stream processor's output under [{table}.output], after its [[{table}]] entry"),
        )?;
        let span = e.value.span();
        let mut s = Section::new(self, t, span.clone(), &[]);
        let topic = s
            .require(self, "topic", what, "\"features\"")
            .and_then(|e| {
                let topic = self.string(&e.name, e.value)?;
                if !self.topic_exists_sometime(w, topic, e.value.span()) {
                    return None;
                }
                if inputs.is_some_and(|i| i.iter().any(|t| &**t == topic)) {
                    self.error_help(
                        e.value.span(),
                        format!("the stream processor reads `{topic}`: writing its results there would feed them back to it"),
                        "write the results to a topic of their own, such as \"features\"",
                    );
                    return None;
                }
                Some(topic)
            });
        let transform = s
            .require(self, "transform", what, "\"windowed-count\"")
            .and_then(|e| self.choice(&e.name, e.value, &["windowed-count"]));
        let window = s.require(self, "window", what, "\"1s\"").and_then(|e| {
            match self.duration(&e.name, e.value)? {
                0 => {
                    self.error(e.value.span(), "`window` must be more than 0");
                    None
                }
                ms => Some(ms),
            }
        });
        let threshold = s
            .require(self, "threshold", what, "20")
            .and_then(|e| self.int(&e.name, e.value, 0, i64::MAX))
            .map(|n| n as u64);

        let mut config = ProducerConfig::default();
        let mut spans: BTreeMap<&'static str, Range<usize>> = BTreeMap::new();
        let mut settings_ok = true;
        for e in s.rest() {
            match self.setting(Scope::Producer, &e, OUTPUT) {
                Some((key, value)) => {
                    config.set(key, &value);
                    spans.insert(key, e.key.clone());
                }
                None => settings_ok = false,
            }
        }
        let idempotent = self.producer_config_checks(&config, &spans, &span, settings_ok);
        let transform = match transform? {
            "windowed-count" => Transform::WindowedCount {
                window_ms: window?,
                threshold: threshold?,
            },
            // choice() gives only the options listed.
            _ => return None,
        };
        Some(StreamOutput {
            topic: topic?.into(),
            transform,
            config,
            idempotent,
        })
    }

    // ---- network ----

    fn network(&mut self, v: Option<&Val<'_>>, w: &World) -> NetworkDef {
        let mut net = NetworkDef::default();
        let Some(v) = v else { return net };
        let Some(t) = self.table("network", v, "write it as a [network] table") else {
            return net;
        };
        let mut s = Section::new(self, t, v.span(), &["links"]);
        if let Some(e) = s.take("latency") {
            if let Some((min, max)) = self.latency(&e.name, e.value) {
                net.default.latency_min_ms = min;
                net.default.latency_max_ms = max;
            }
        }
        if let Some(e) = s.take("loss") {
            if let Some(loss) = self.loss(&e.name, e.value) {
                net.default.loss = loss;
            }
        }
        if let Some(e) = s.take("links") {
            for (t, span) in self.tables(&e.name, e.value, "[[network.links]]") {
                let mut l = Section::new(self, t, span, &[]);
                let from = l.require(self, "from", "[[network.links]]", "\"producer-a\"");
                let to = l.require(self, "to", "[[network.links]]", "\"broker-1\"");
                let latency = l.take("latency");
                let loss = l.take("loss");
                let both = l.take("both");
                l.finish(
                    self,
                    "[[network.links]]",
                    &["from", "to", "latency", "loss", "both"],
                    false,
                );

                let from = from.and_then(|e| self.link_end(w, &e));
                let to = to.and_then(|e| self.link_end(w, &e).map(|n| (n, e.value.span())));
                let latency = match latency {
                    Some(e) => self.latency(&e.name, e.value),
                    None => Some((net.default.latency_min_ms, net.default.latency_max_ms)),
                };
                let loss = match loss {
                    Some(e) => self.loss(&e.name, e.value),
                    None => Some(net.default.loss),
                };
                let both = match both {
                    Some(e) => self.bool(&e.name, e.value),
                    None => Some(false),
                };
                let (Some(from), Some((to, to_span)), Some((min, max)), Some(loss), Some(both)) =
                    (from, to, latency, loss, both)
                else {
                    continue;
                };
                if from == to {
                    self.error(
                        to_span,
                        "a link joins two different nodes; `from` and `to` are the same",
                    );
                    continue;
                }
                let params = LinkParams {
                    latency_min_ms: min,
                    latency_max_ms: max,
                    loss,
                };
                net.links.push((from, to, params));
                if both {
                    net.links.push((to, from, params));
                }
            }
        }
        s.finish(self, "[network]", &["latency", "loss", "links"], false);
        net
    }

    /// An end of a configured link: a node, since links exist before any leader does.
    fn link_end(&mut self, w: &World, e: &Entry<'_, '_>) -> Option<NodeId> {
        let s = self.string(&e.name, e.value)?;
        if s.starts_with("leader of") {
            self.error_help(
                e.value.span(),
                "a link joins two nodes, not a partition's leader",
                "`leader of` targets are for [[faults]]; name a node such as \"broker-1\"",
            );
            return None;
        }
        self.node(w, s, e.value.span(), false)
    }

    fn node(&mut self, w: &World, s: &str, span: Range<usize>, leader_ok: bool) -> Option<NodeId> {
        match w.names.parse(s) {
            Some(NodeId::Broker(b)) => match w.brokers {
                Some(n) if b == 0 || b > n => {
                    let help = if n == 1 {
                        "the only broker is broker-1".to_string()
                    } else {
                        format!("the brokers are broker-1 to broker-{n}")
                    };
                    self.error_help(
                        span,
                        format!(
                            "there is no broker-{b}: the cluster has {}",
                            plural(n, "broker")
                        ),
                        help,
                    );
                    None
                }
                None if b == 0 => {
                    self.error_help(span, "there is no broker-0", "brokers are numbered from 1");
                    None
                }
                _ => Some(NodeId::Broker(b)),
            },
            Some(NodeId::Reader) if !w.reader => {
                self.error(
                    span,
                    "the reader is disabled: [cluster] sets reader = false",
                );
                None
            }
            Some(node) => Some(node),
            None => {
                self.unknown_node(w, s, span, leader_ok);
                None
            }
        }
    }

    fn unknown_node(&mut self, w: &World, s: &str, span: Range<usize>, leader_ok: bool) {
        // A client's name is compared with the names of its kind: "consumer-" alone would
        // make every consumer look like a good guess.
        let kinds = [
            ("producer", &w.names.producers),
            ("consumer", &w.names.consumers),
        ];
        let client = kinds.iter().find_map(|(kind, names)| {
            let n = s.strip_prefix(kind)?.strip_prefix('-')?;
            Some((*kind, *names, n))
        });
        if let Some((kind, names, n)) = client {
            let named: Vec<&str> = names
                .iter()
                .filter(|c| !c.is_empty())
                .map(String::as_str)
                .collect();
            let other = kinds
                .iter()
                .find(|(k, names)| *k != kind && names.iter().any(|c| c == n))
                .map(|(k, _)| *k);
            let help = match (other, suggest(n, named.iter().copied())) {
                (Some(other), _) => format!("did you mean \"{other}-{n}\"?"),
                (None, Some(c)) => format!("did you mean \"{kind}-{c}\"?"),
                (None, None) if named.is_empty() => {
                    format!("there are no {kind}s: define one in a [[{kind}s]] table")
                }
                (None, None) => format!(
                    "the {kind}s are {}",
                    named
                        .iter()
                        .map(|c| format!("{kind}-{c}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            self.error_help(span, format!("there is no {kind} `{n}`"), help);
            return;
        }
        let producers = w.names.producers.iter().filter(|p| !p.is_empty());
        let mut candidates: Vec<String> = (1..=w.brokers.unwrap_or(0))
            .map(|b| format!("broker-{b}"))
            .collect();
        candidates.push("controller".into());
        if w.reader {
            candidates.push("reader".into());
        }
        candidates.extend(producers.map(|p| format!("producer-{p}")));
        let consumers = w.names.consumers.iter().filter(|c| !c.is_empty());
        candidates.extend(consumers.map(|c| format!("consumer-{c}")));
        let help = match suggest(s, candidates.iter().map(String::as_str)) {
            Some(c) => format!("did you mean \"{c}\"?"),
            None => {
                let brokers = match w.brokers {
                    Some(1) => "broker-1".to_string(),
                    Some(n) => format!("broker-1 to broker-{n}"),
                    None => "broker-<id>".to_string(),
                };
                let leader = if leader_ok {
                    ", or \"leader of <topic>-<partition>\""
                } else {
                    ""
                };
                format!("nodes are named {brokers}, controller, reader, producer-<name> and consumer-<name>{leader}")
            }
        };
        self.error_help(span, format!("unknown node `{s}`"), help);
    }

    fn no_topic(&mut self, w: &World, topic: &str, span: Range<usize>) {
        let mut known: Vec<&str> = w.topics.keys().map(String::as_str).collect();
        known.extend(
            w.admin
                .created
                .keys()
                .map(String::as_str)
                .filter(|t| !w.topics.contains_key(*t)),
        );
        let help = match suggest(topic, known.iter().copied()) {
            Some(t) => format!("did you mean `{t}`?"),
            None if known.is_empty() => "define it in a [[topics]] table".into(),
            None => format!(
                "the topics are {}",
                known
                    .iter()
                    .map(|t| format!("`{t}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        self.error_help(span, format!("there is no topic `{topic}`"), help);
    }

    // ---- faults ----

    /// A node, or `"leader of <topic>-<partition>"` resolved when the fault happens.
    fn target(&mut self, w: &World, name: &str, v: &Val<'_>) -> Option<Target> {
        let Some(s) = v.get_ref().as_str() else {
            self.invalid(
                name,
                v,
                "expected a node such as \"broker-1\", \"controller\" or \"leader of orders-0\"",
                None,
            );
            return None;
        };
        let span = v.span();
        let Some(rest) = s.strip_prefix("leader of") else {
            return self.node(w, s, span, true).map(Target::Node);
        };
        let rest = rest.trim();
        let Some(tp) = TopicPartition::parse(rest) else {
            let help = if w.topics.contains_key(rest) {
                format!("add the partition: \"leader of {rest}-0\"")
            } else {
                "write \"leader of <topic>-<partition>\", such as \"leader of orders-0\"".into()
            };
            self.error_help(span, format!("\"{s}\" does not name a partition"), help);
            return None;
        };
        // The most partitions the topic has at any time of the run; whether the partition
        // exists when the fault happens is up to the run.
        let offsets = (&*tp.topic == crate::ids::OFFSETS_TOPIC)
            .then_some(w.offsets_partitions)
            .flatten()
            .map(Some);
        let initial = w.topics.get(&*tp.topic).or(offsets.as_ref());
        let later = w.admin.partitions.get(&*tp.topic);
        let most = match (initial, later) {
            (None, None) => {
                self.no_topic(w, &tp.topic, span);
                return None;
            }
            (Some(None), _) => None,
            (Some(Some(n)), later) => Some((*n).max(later.copied().unwrap_or(0))),
            (None, later) => later.copied(),
        };
        match most {
            Some(n) if tp.partition >= n => {
                let last = format!("{}-{}", tp.topic, n - 1);
                let help = if n == 1 {
                    format!("its only partition is {last}")
                } else {
                    format!("its partitions are {}-0 to {last}", tp.topic)
                };
                self.error_help(
                    span,
                    format!("topic `{}` has no partition {}", tp.topic, tp.partition),
                    help,
                );
                None
            }
            _ => Some(Target::LeaderOf(tp)),
        }
    }

    /// One target, or a list of them.
    fn group(&mut self, w: &World, name: &str, v: &Val<'_>) -> Option<Vec<Target>> {
        match v.get_ref() {
            DeValue::String(_) => self.target(w, name, v).map(|t| vec![t]),
            DeValue::Array(items) if !items.is_empty() => {
                let targets: Vec<Option<Target>> =
                    items.iter().map(|t| self.target(w, name, t)).collect();
                targets.into_iter().collect()
            }
            _ => {
                self.invalid(
                    name,
                    v,
                    "expected a node or a list of nodes such as [\"broker-1\", \"broker-2\"]",
                    None,
                );
                None
            }
        }
    }

    fn two_groups(&mut self, w: &World, e: &Entry<'_, '_>) -> Option<(Vec<Target>, Vec<Target>)> {
        match e.value.get_ref().as_array().map(|a| &a[..]) {
            Some([a, b]) => {
                let a = self.group(w, &e.name, a);
                let b = self.group(w, &e.name, b);
                let (a, b) = (a?, b?);
                self.disjoint(w, &a, &b, e.value.span()).then_some((a, b))
            }
            _ => {
                let expected = "expected two groups of nodes, such as [[\"broker-1\"], [\"broker-2\", \"broker-3\"]]";
                self.invalid(&e.name, e.value, expected, None);
                None
            }
        }
    }

    fn disjoint(&mut self, w: &World, a: &[Target], b: &[Target], span: Range<usize>) -> bool {
        let Some(both) = a.iter().find(|t| b.contains(t)) else {
            return true;
        };
        let name = match both {
            Target::Node(n) => w.names.name(*n),
            Target::LeaderOf(tp) => format!("leader of {tp}"),
        };
        self.error(
            span,
            format!("\"{name}\" is on both sides of the partition"),
        );
        false
    }

    fn faults(
        &mut self,
        v: Option<&Val<'_>>,
        w: &mut World,
        net: &NetworkDef,
        topics: &[(TopicDef, Option<u32>)],
        clients: &mut Clients,
    ) -> Vec<TimedCommand> {
        let Some(v) = v else { return Vec::new() };
        let tables = self.tables("faults", v, "[[faults]]");
        // The faults that add clients first, so that the others know them (a mid-batch crash
        // needs its consumer's processing time); then back in file order.
        let adds = |t: &DeTable<'_>| {
            let action = raw(t, "action").and_then(|v| v.get_ref().as_str());
            matches!(action, Some("add-producer" | "add-consumer"))
        };
        let mut parsed: Vec<Option<ParsedFault>> = (0..tables.len()).map(|_| None).collect();
        for first in [true, false] {
            for (k, (t, span)) in tables.iter().enumerate() {
                if adds(t) != first {
                    continue;
                }
                let Some(c) = self.fault(t, span.clone(), w, net, topics, clients) else {
                    continue;
                };
                if let Command::AddConsumer(def) = &c.command {
                    let planned = w.admin.consumers.iter().position(|p| p.table == span.start);
                    if let Some(i) = planned.map(|p| w.declared_consumers + p) {
                        if w.process_us.len() <= i {
                            w.process_us.resize(i + 1, None);
                        }
                        w.process_us[i] = Some(def.processing.per_record_us);
                    }
                }
                let key = |k: &str| raw(t, k).map(|v| v.span());
                let topic = key("topic").unwrap_or(span.clone());
                let partitions = key("partitions").unwrap_or(topic.clone());
                let targets = ["target", "from", "to", "between"]
                    .into_iter()
                    .find_map(key)
                    .unwrap_or(span.clone());
                parsed[k] = Some(ParsedFault {
                    command: c,
                    table: span.start,
                    topic,
                    partitions,
                    targets,
                });
            }
        }
        let mut out: Vec<ParsedFault> = parsed.into_iter().flatten().collect();
        // Stable: faults at the same time keep the file's order.
        out.sort_by_key(|f| f.command.at);
        self.check_admin(w, &out);
        self.check_added_targets(w, &out);
        out.into_iter().map(|f| f.command).collect()
    }

    /// A fault that names a producer or consumer an `add-*` fault adds must come after it
    /// (the run applies faults by time, and in file order within a millisecond).
    fn check_added_targets(&mut self, w: &World, faults: &[ParsedFault]) {
        for f in faults {
            for node in f.command.command.nodes() {
                let Some(added) = w.admin.added(w, node) else {
                    continue;
                };
                let Some(at) = added.at else { continue };
                if at < f.command.at || (at == f.command.at && added.table < f.table) {
                    continue;
                }
                let action = match node {
                    NodeId::Producer(_) => "add-producer",
                    _ => "add-consumer",
                };
                let line = self.line(added.name_at);
                let help = if at == f.command.at {
                    format!(
                        "both happen at {}: list this fault after the `{action}` fault",
                        fmt_ms(at)
                    )
                } else {
                    format!("move this fault to {} or later", fmt_ms(at))
                };
                self.error_help(
                    f.targets.clone(),
                    format!(
                        "{} does not exist yet at {}: the `{action}` fault on line {line} adds it at {}",
                        w.names.name(node),
                        fmt_ms(f.command.at),
                        fmt_ms(at)
                    ),
                    help,
                );
            }
        }
    }

    fn fault(
        &mut self,
        t: &DeTable<'_>,
        span: Range<usize>,
        w: &World,
        net: &NetworkDef,
        topics: &[(TopicDef, Option<u32>)],
        clients: &mut Clients,
    ) -> Option<TimedCommand> {
        // `output` is an added stream processor's table, read whole.
        let mut s = Section::new(self, t, span, &["output"]);
        let at = s.require(self, "at", "[[faults]]", "\"5s\"");
        let at = at.and_then(|e| self.instant(&e.name, e.value, w));
        let action = s
            .require(self, "action", "[[faults]]", "\"crash\"")
            .and_then(|e| {
                let a = self.string(&e.name, e.value)?;
                let found = ACTIONS.iter().find(|(name, _)| *name == a);
                if found.is_none() {
                    let help = match suggest(a, ACTIONS.iter().map(|(n, _)| *n)) {
                        Some(n) => format!("did you mean \"{n}\"?"),
                        None => format!(
                            "the actions are {}",
                            ACTIONS
                                .iter()
                                .map(|(n, _)| *n)
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    };
                    self.error_help(
                        e.value.span(),
                        format!("unknown fault action \"{a}\""),
                        help,
                    );
                }
                found.copied()
            });
        let Some((action, keys)) = action else {
            // Misspelled keys are still worth reporting, against every key some action takes.
            let mut all = vec!["at", "action"];
            for k in ACTIONS.iter().flat_map(|(_, keys)| keys.iter()) {
                if !all.contains(k) {
                    all.push(k);
                }
            }
            // `add-producer` and `add-consumer` also take client settings: not misspelled.
            for k in config::names(Scope::Producer).chain(config::names(Scope::Consumer)) {
                s.take(k);
            }
            s.finish(self, "[[faults]]", &all, false);
            return None;
        };
        let table = s.span.clone();
        let command = match action {
            "add-producer" => self
                .producer(&mut s, table, w, topics, clients, Origin::Added(at))
                .map(|p| Command::AddProducer(Box::new(p))),
            "add-consumer" => self
                .consumer(&mut s, table, w, clients, Origin::Added(at))
                .map(|c| Command::AddConsumer(Box::new(c))),
            _ => self.command(action, &mut s, w, net),
        };
        let allowed: Vec<&str> = ["at", "action"]
            .into_iter()
            .chain(keys.iter().copied())
            .collect();
        s.finish(self, &fault_name(action), &allowed, true);
        Some(TimedCommand {
            at: at?,
            command: command?,
        })
    }

    /// Takes every key the action uses before giving up on any, so that none of them is then
    /// reported as unknown.
    fn command(
        &mut self,
        action: &str,
        s: &mut Section<'_, '_>,
        w: &World,
        net: &NetworkDef,
    ) -> Option<Command> {
        let what = fault_name(action);
        match action {
            "crash" | "shutdown" | "restart" | "pause" | "resume" | "isolate" => {
                let target = s.require(self, "target", &what, "\"broker-1\"");
                let (kind, when) = if action == "crash" {
                    (s.take("kind"), s.take("when"))
                } else {
                    (None, None)
                };
                let mid_batch = match &when {
                    Some(e) => self.choice(&e.name, e.value, &["mid-batch"]).map(|_| true),
                    None => Some(false),
                };
                let target = target.and_then(|e| {
                    let t = self.target(w, &e.name, e.value)?;
                    let name = e.value.get_ref().as_str().unwrap_or_default();
                    if mid_batch == Some(true) {
                        return self.mid_batch_target(w, t, name, e.value.span());
                    }
                    if action != "isolate" && matches!(t, Target::Node(NodeId::Producer(_) | NodeId::Reader)) {
                        self.error_help(
                            e.value.span(),
                            format!("`{action}` acts on brokers, the controller and consumers, not {name}"),
                            "target \"broker-<id>\", \"controller\", \"consumer-<name>\" or \"leader of <topic>-<partition>\"",
                        );
                        return None;
                    }
                    Some(t)
                });
                let kind = match kind {
                    Some(e) => match self.choice(&e.name, e.value, &["process", "power-loss"])? {
                        "power-loss" if mid_batch == Some(true) => {
                            self.error_help(
                                e.value.span(),
                                "a crash `when = \"mid-batch\"` is a process crash",
                                "remove `kind`, or remove `when` to cut the power at once",
                            );
                            return None;
                        }
                        "power-loss" => CrashKind::PowerLoss,
                        _ => CrashKind::Process,
                    },
                    None => CrashKind::Process,
                };
                let (target, mid_batch) = (target?, mid_batch?);
                Some(match action {
                    "crash" if mid_batch => Command::CrashWhileProcessing { target },
                    "crash" => Command::Crash { target, kind },
                    "shutdown" => Command::Shutdown { target },
                    "restart" => Command::Restart { target },
                    "pause" => Command::Pause { target },
                    "resume" => Command::Resume { target },
                    _ => Command::Isolate { target },
                })
            }
            "partition" => {
                let between = s.take("between");
                let from = s.take("from");
                let to = s.take("to");
                let one_way = match s.take("one_way") {
                    Some(e) => self.bool(&e.name, e.value),
                    None => Some(false),
                };
                let (from, to) = match (between, from, to) {
                    (Some(b), None, None) => self.two_groups(w, &b)?,
                    (None, Some(f), Some(t)) => {
                        let from = self.group(w, &f.name, f.value);
                        let to = self.group(w, &t.name, t.value);
                        let (from, to) = (from?, to?);
                        if !self.disjoint(w, &from, &to, t.value.span()) {
                            return None;
                        }
                        (from, to)
                    }
                    (Some(b), _, _) => {
                        self.error(
                            b.key.clone(),
                            "give either `between` or `from` and `to`, not both",
                        );
                        return None;
                    }
                    (None, _, _) => {
                        self.error_help(
                            s.span.clone(),
                            "a `partition` fault needs `between`, or both `from` and `to`",
                            "for example between = [[\"broker-1\"], [\"broker-2\", \"broker-3\"]]",
                        );
                        return None;
                    }
                };
                Some(Command::Partition {
                    from,
                    to,
                    one_way: one_way?,
                })
            }
            "heal" => match s.take("between") {
                Some(e) => Some(Command::Heal {
                    between: Some(self.two_groups(w, &e)?),
                }),
                None => Some(Command::Heal { between: None }),
            },
            "hold" | "release" | "link" => {
                let from = s.require(self, "from", &what, "\"broker-1\"");
                let to = s.require(self, "to", &what, "\"broker-2\"");
                let (latency, loss, both) = if action == "link" {
                    (s.take("latency"), s.take("loss"), s.take("both"))
                } else {
                    (None, None, None)
                };
                let from = from.and_then(|e| self.target(w, &e.name, e.value));
                let to = to.and_then(|e| {
                    self.target(w, &e.name, e.value)
                        .map(|t| (t, e.value.span()))
                });
                let latency = match latency {
                    Some(e) => self.latency(&e.name, e.value),
                    None => Some((net.default.latency_min_ms, net.default.latency_max_ms)),
                };
                let loss = match loss {
                    Some(e) => self.loss(&e.name, e.value),
                    None => Some(net.default.loss),
                };
                let both = match both {
                    Some(e) => self.bool(&e.name, e.value),
                    None => Some(false),
                };
                let (from, (to, to_span)) = (from?, to?);
                if from == to {
                    self.error(to_span, "`from` and `to` are the same node");
                    return None;
                }
                Some(match action {
                    "hold" => Command::Hold { from, to },
                    "release" => Command::Release { from, to },
                    _ => Command::Link {
                        from,
                        to,
                        latency_ms: latency?,
                        loss: loss?,
                        both: both?,
                    },
                })
            }
            "producer" => {
                let target = s.require(self, "target", &what, "\"producer-a\"");
                let rate = s.take("rate");
                let changes: Vec<_> = PRODUCER_CHANGES.iter().filter_map(|k| s.take(k)).collect();
                let target = target.and_then(|e| {
                    let t = self.target(w, &e.name, e.value)?;
                    if !matches!(t, Target::Node(NodeId::Producer(_))) {
                        let name = e.value.get_ref().as_str().unwrap_or_default();
                        self.error_help(
                            e.value.span(),
                            format!("`producer` changes a producer, not {name}"),
                            "target \"producer-<name>\"",
                        );
                        return None;
                    }
                    Some(t)
                });
                let rate = match rate {
                    Some(e) => Some(self.number(
                        &e.name,
                        e.value,
                        0.0,
                        MAX_RATE,
                        &format!("expected records per second, from 0 to {MAX_RATE}"),
                    )?),
                    None => None,
                };
                let mut settings = Vec::new();
                for e in &changes {
                    let (name, v) = self.setting(Scope::Producer, e, &[])?;
                    settings.push((name.to_string(), v));
                }
                if settings.is_empty() && rate.is_none() {
                    self.error_help(
                        s.span.clone(),
                        "a `producer` fault changes nothing",
                        format!("give it a rate, or one of {}", PRODUCER_CHANGES.join(", ")),
                    );
                    return None;
                }
                Some(Command::Producer {
                    target: target?,
                    settings,
                    rate,
                })
            }
            "create-topic" => {
                let topic = s.require(self, "topic", &what, "\"features\"");
                let partitions = s.take("partitions");
                let rf = s.take("replication.factor");
                let name = topic.and_then(|e| self.topic_name(&e.name, e.value));
                let partitions = match partitions {
                    Some(e) => self.partition_count(&e),
                    None => Some(1),
                };
                let rf = match rf {
                    Some(e) => self
                        .setting(Scope::Topic, &e, &[])
                        .and_then(|(_, v)| as_int(&v))
                        .map(|rf| rf as u32)
                        .and_then(|rf| match w.brokers {
                            Some(n) if rf > n => {
                                self.error_help(
                                    e.value.span(),
                                    format!(
                                        "replication.factor {rf} is more than the {}",
                                        plural(n, "broker")
                                    ),
                                    "add brokers in [cluster] or lower replication.factor",
                                );
                                None
                            }
                            _ => Some(rf),
                        }),
                    // As for [[topics]].
                    None => Some(w.brokers.unwrap_or(1).min(3)),
                };
                Some(Command::CreateTopic {
                    name: name?.into(),
                    partitions: partitions?,
                    replication_factor: rf?,
                })
            }
            "add-partitions" => {
                let topic = s.require(self, "topic", &what, "\"orders\"");
                let partitions = s.require(self, "partitions", &what, "6");
                let topic = topic.and_then(|e| self.string(&e.name, e.value));
                let partitions = partitions.and_then(|e| self.partition_count(&e));
                Some(Command::AddPartitions {
                    topic: topic?.into(),
                    partitions: partitions?,
                })
            }
            _ => None,
        }
    }

    /// A partition count, within Kafka's range for `partitions`.
    fn partition_count(&mut self, e: &Entry<'_, '_>) -> Option<u32> {
        self.setting(Scope::Topic, e, &[])
            .and_then(|(_, v)| as_int(&v))
            .map(|n| n as u32)
    }

    /// The target of a crash `when = "mid-batch"`: a consumer that takes time to process.
    fn mid_batch_target(
        &mut self,
        w: &World,
        t: Target,
        name: &str,
        span: Range<usize>,
    ) -> Option<Target> {
        let Target::Node(NodeId::Consumer(i)) = t else {
            let consumers: Vec<String> = w
                .names
                .consumers
                .iter()
                .filter(|c| !c.is_empty())
                .map(|c| format!("\"consumer-{c}\""))
                .collect();
            let help = if consumers.is_empty() {
                format!("define a consumer in [[consumers]] and target it, or remove `when` to crash {name} at once")
            } else {
                format!(
                    "target a consumer ({}), or remove `when` to crash {name} at once",
                    consumers.join(", ")
                )
            };
            self.error_help(
                span,
                format!("`when = \"mid-batch\"` crashes a consumer while it processes a poll's records; {name} is not a consumer"),
                help,
            );
            return None;
        };
        if let Some(Some(0)) = w.process_us.get(usize::from(i)) {
            self.error_help(
                span,
                format!(
                    "{name} processes records in no time, so it is never in the middle of a batch"
                ),
                "give the consumer a processing time, such as `process = \"2ms\"`",
            );
            return None;
        }
        Some(t)
    }

    /// Replays the `create-topic` and `add-partitions` faults in time order against the
    /// topics: a topic is created once, grown only while it exists, and only grown.
    fn check_admin(&mut self, w: &World, faults: &[ParsedFault]) {
        let mut topics: BTreeMap<&str, TopicState> = w
            .topics
            .iter()
            .map(|(t, n)| {
                let state = TopicState {
                    partitions: *n,
                    created: None,
                };
                (t.as_str(), state)
            })
            .collect();
        for ParsedFault {
            command: f,
            topic: topic_span,
            partitions: partitions_span,
            ..
        } in faults
        {
            match &f.command {
                Command::AddProducer(p) if !topics.contains_key(&*p.topic) => {
                    // The producer's own check found the topic among those created.
                    if let Some(at) = w.admin.created.get(&*p.topic) {
                        let line = self.line(*at);
                        self.error_help(
                            topic_span.clone(),
                            format!(
                                "topic `{}` does not exist yet at {}",
                                p.topic,
                                fmt_ms(f.at)
                            ),
                            format!("the `create-topic` fault on line {line} creates it later; add the producer after that"),
                        );
                    }
                }
                Command::CreateTopic {
                    name, partitions, ..
                } => {
                    if let Some(existing) = topics.get(&**name) {
                        let help = match existing.created {
                            None => "it is defined in [[topics]] (Kafka answers TOPIC_ALREADY_EXISTS)".to_string(),
                            Some((line, at)) => format!(
                                "the `create-topic` fault on line {line} creates it at {} (Kafka answers TOPIC_ALREADY_EXISTS)",
                                fmt_ms(at)
                            ),
                        };
                        self.error_help(
                            topic_span.clone(),
                            format!("topic `{name}` already exists at {}", fmt_ms(f.at)),
                            help,
                        );
                        continue;
                    }
                    let line = self.line(topic_span.start);
                    let state = TopicState {
                        partitions: Some(*partitions),
                        created: Some((line, f.at)),
                    };
                    topics.insert(name, state);
                }
                Command::AddPartitions {
                    topic,
                    partitions: new,
                } => {
                    let Some(TopicState {
                        partitions: count, ..
                    }) = topics.get_mut(&**topic)
                    else {
                        match w.admin.created.get(&**topic) {
                            Some(at) => {
                                let line = self.line(*at);
                                self.error_help(
                                    topic_span.clone(),
                                    format!(
                                        "topic `{topic}` does not exist yet at {}",
                                        fmt_ms(f.at)
                                    ),
                                    format!(
                                        "the `create-topic` fault on line {line} creates it later"
                                    ),
                                );
                            }
                            None => self.no_topic(w, topic, topic_span.clone()),
                        }
                        continue;
                    };
                    match count {
                        Some(current) if new <= current => {
                            self.error_help(
                                partitions_span.clone(),
                                format!(
                                    "topic `{topic}` has {} at {}: `partitions` is the new total and must be more",
                                    plural(*current, "partition"),
                                    fmt_ms(f.at)
                                ),
                                format!(
                                    "Kafka adds partitions but never removes them; write partitions = {} or more",
                                    *current + 1
                                ),
                            );
                        }
                        _ => *count = Some(*new),
                    }
                }
                _ => {}
            }
        }
    }

    // ---- expectations ----

    fn expect(&mut self, v: Option<&Val<'_>>) -> Vec<Expectation> {
        let Some(v) = v else { return Vec::new() };
        let Some(t) = self.table("expect", v, "write it as an [expect] table") else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for e in Section::new(self, t, v.span(), &[]).rest() {
            if let Some(count) = Count::ALL.into_iter().find(|c| c.name() == e.name) {
                if let Some((cmp, value)) = self.count_expectation(&e) {
                    out.push(Expectation::Count { count, cmp, value });
                }
            } else if let Some(checker) = CheckerId::ALL.into_iter().find(|c| c.name() == e.name) {
                if let Some(h) = self.choice(&e.name, e.value, &["holds", "violated"]) {
                    out.push(Expectation::Checker {
                        checker,
                        holds: h == "holds",
                    });
                }
            } else {
                let counts = Count::ALL.map(Count::name);
                let checkers = CheckerId::ALL.map(CheckerId::name);
                let help = match suggest(&e.name, counts.into_iter().chain(checkers)) {
                    Some(n) => format!("did you mean `{n}`?"),
                    None => format!(
                        "counts are {}; checkers are {}",
                        counts.join(", "),
                        checkers.join(", ")
                    ),
                };
                self.error_help(
                    e.key.clone(),
                    format!("unknown expectation `{}`", e.name),
                    help,
                );
            }
        }
        out
    }

    fn count_expectation(&mut self, e: &Entry<'_, '_>) -> Option<(Cmp, u64)> {
        const EXPECTED: &str = "expected a count such as 3, \">0\", \"<=2\" or \"==0\"";
        let parsed = match e.value.get_ref() {
            DeValue::Integer(i) => int_value(i)
                .and_then(|n| u64::try_from(n).ok())
                .map(|n| (Cmp::Eq, n)),
            DeValue::String(s) => parse_comparison(s),
            _ => None,
        };
        match parsed {
            None => {
                self.invalid(&e.name, e.value, EXPECTED, None);
                None
            }
            Some((Cmp::Lt, 0)) => {
                self.error_help(
                    e.value.span(),
                    format!("`{}` < 0 can never hold", e.name),
                    "counts are never negative",
                );
                None
            }
            Some(c) => Some(c),
        }
    }
}

/// Byte offset to 1-based line and character column.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..floor_char_boundary(text, offset)];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    (line, col)
}

fn floor_char_boundary(text: &str, offset: usize) -> usize {
    let mut i = offset.min(text.len());
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn int_value(i: &DeInteger<'_>) -> Option<i64> {
    i64::from_str_radix(i.as_str(), i.radix()).ok()
}

fn as_int(v: &Value) -> Option<i64> {
    match v {
        Value::Int(i) => Some(*i),
        _ => None,
    }
}

fn quote(s: &str) -> String {
    const MAX: usize = 40;
    if s.chars().count() > MAX {
        let cut: String = s.chars().take(MAX - 3).collect();
        format!("{:?}", cut + "...")
    } else {
        format!("{s:?}")
    }
}

fn plural(n: u32, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
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

/// Renders milliseconds the way a scenario would write them.
fn fmt_ms(ms: Millis) -> String {
    if ms > 0 && ms.is_multiple_of(60_000) {
        format!("{}m", ms / 60_000)
    } else if ms > 0 && ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

/// `"500ms"`, `"5s"`, `"1.5s"`, `"2m"`, `"1h"` to milliseconds. The error is a help text when
/// something more specific than the expected forms can be said.
pub fn parse_duration(s: &str) -> Result<Millis, Option<&'static str>> {
    let s = s.trim();
    if s.starts_with('-') {
        return Err(Some("durations cannot be negative"));
    }
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let factor = match unit.trim() {
        "ms" => 1.0,
        "s" => 1000.0,
        "m" | "min" => 60_000.0,
        "h" => 3_600_000.0,
        "" if !number.is_empty() => {
            return Err(Some(
                "add a unit, as in \"500ms\"; an integer without quotes is milliseconds",
            ))
        }
        _ if !number.is_empty() => return Err(Some("the units are ms, s, m and h")),
        _ => return Err(None),
    };
    if !number.bytes().any(|b| b.is_ascii_digit()) {
        return Err(None);
    }
    let n: f64 = number.parse().map_err(|_| None)?;
    let ms = n * factor;
    if !ms.is_finite() || ms > 1e15 {
        return Err(Some("that is far too long"));
    }
    if (ms - ms.round()).abs() > 1e-6 {
        return Err(Some("durations are whole milliseconds"));
    }
    Ok(ms.round() as Millis)
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

/// The candidate closest to `word`, if close enough to be what was meant. Separators and case
/// are ignored first, so `min_insync_replicas` finds `min.insync.replicas`.
fn suggest<'c>(word: &str, candidates: impl IntoIterator<Item = &'c str>) -> Option<&'c str> {
    let norm = |s: &str| s.to_ascii_lowercase().replace(['_', '-', ' '], ".");
    let w = norm(word);
    let mut best: Option<(f64, &str)> = None;
    for c in candidates {
        let n = norm(c);
        let score = if n == w {
            2.0
        } else {
            strsim::jaro_winkler(&w, &n)
        };
        if best.is_none_or(|(b, _)| score > b) {
            best = Some((score, c));
        }
    }
    best.filter(|(score, _)| *score >= 0.85).map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
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
            s.topics.is_empty()
                && s.producers.is_empty()
                && s.faults.is_empty()
                && s.expect.is_empty()
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
action = "crash"
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
    const CONSUMERS: &str = include_str!("../../../tests/fixtures/consumers.toml");

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
        let text = added_with("stop = \"17s\"", "stop = \"7s\"\nstart = \"8s\"\nsession.timeot.ms = 6000")
            .replacen("sends = [{ at = \"7s\"", "sends = [{ at = \"5s\"", 1)
            .replacen("action = \"add-producer\"\nname = \"web\"\n", "action = \"add-producer\"\n", 1)
            .replacen("at = \"12s\"\naction = \"crash\"\ntarget = \"consumer-billing-3\"", "at = \"12s\"\naction = \"crash\"\ntarget = \"consumer-billing-3\"\nwhen = \"mid-batch\"", 1)
            .replacen("process = \"1ms\"\ncommit = \"after\"\nstop", "commit = \"after\"\nstop", 1);
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
}
