//! Kafka configuration, under Kafka's own property names and defaults.
//!
//! One table ([`KEYS`]) lists every key the simulator understands: its scope, type, allowed
//! range, default and meaning. The scenario parser validates against it, `kafkascope configs`
//! prints it, and the typed structs below are filled from it, so a key cannot be accepted by
//! one and ignored by another. Keys starting with `sim.` are the simulator's own (they model
//! something Kafka leaves to the operating system) and say so.

use crate::ids::Millis;

/// Where a key may be set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// `[broker]` (all brokers) or `[brokers.N]` (one broker).
    Broker,
    /// A topic's own table in `[[topics]]`.
    Topic,
    /// A `[[producers]]` entry (and a stream processor's `[consumers.output]`).
    Producer,
    /// A `[[consumers]]` entry.
    Consumer,
}

/// The type and allowed values of a key.
#[derive(Clone, Copy, Debug)]
pub enum Kind {
    Int {
        min: i64,
        max: i64,
    },
    Bool,
    Choice(&'static [&'static str]),
    /// Free text (a `transactional.id`).
    Text,
}

/// A configuration value as written in a scenario.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(untagged)]
pub enum Value {
    Int(i64),
    Bool(bool),
    Str(String),
}

pub struct Key {
    pub name: &'static str,
    pub scope: Scope,
    pub kind: Kind,
    pub default: &'static str,
    pub doc: &'static str,
}

const MAX: i64 = i64::MAX;
const fn int(min: i64, max: i64) -> Kind {
    Kind::Int { min, max }
}

/// Every key the simulator understands.
pub const KEYS: &[Key] = &[
    // ---- broker ----
    Key { name: "min.insync.replicas", scope: Scope::Broker, kind: int(1, 100), default: "1",
        doc: "Replicas that must be in the ISR for an acks=all write to be accepted and acknowledged." },
    Key { name: "unclean.leader.election.enable", scope: Scope::Broker, kind: Kind::Bool, default: "false",
        doc: "Allow the controller to elect a replica outside the ISR when no ISR member is alive (data loss)." },
    Key { name: "replica.lag.time.max.ms", scope: Scope::Broker, kind: int(1, MAX), default: "30000",
        doc: "A follower that has not caught up to the leader's log end for this long leaves the ISR." },
    Key { name: "replica.fetch.wait.max.ms", scope: Scope::Broker, kind: int(0, MAX), default: "500",
        doc: "How long the leader holds a follower's fetch when there is no new data (long poll)." },
    Key { name: "replica.fetch.backoff.ms", scope: Scope::Broker, kind: int(0, MAX), default: "1000",
        doc: "How long a follower waits before fetching again after an error." },
    Key { name: "replica.socket.timeout.ms", scope: Scope::Broker, kind: int(1, MAX), default: "30000",
        doc: "A follower gives up on a fetch that got no response after this long." },
    Key { name: "replica.high.watermark.checkpoint.interval.ms", scope: Scope::Broker, kind: int(1, MAX), default: "5000",
        doc: "How often each broker writes its high watermarks to disk (what a restarted broker remembers)." },
    Key { name: "log.flush.interval.messages", scope: Scope::Broker, kind: int(1, MAX), default: "9223372036854775807",
        doc: "Flush (fsync) a partition's log once this many messages are unflushed." },
    Key { name: "log.flush.interval.ms", scope: Scope::Broker, kind: int(1, MAX), default: "9223372036854775807",
        doc: "Flush a partition's log when its oldest unflushed message is this old." },
    Key { name: "broker.heartbeat.interval.ms", scope: Scope::Broker, kind: int(1, MAX), default: "2000",
        doc: "How often a broker heartbeats to the controller." },
    Key { name: "broker.session.timeout.ms", scope: Scope::Broker, kind: int(1, MAX), default: "9000",
        doc: "The controller fences a broker that has not heartbeated for this long." },
    Key { name: "sim.page.cache.writeback.ms", scope: Scope::Broker, kind: int(1, MAX), default: "30000",
        doc: "Simulator: the operating system writes dirty pages back after this long (Linux dirty_expire_centisecs). A power loss loses what was not yet written." },
    Key { name: "group.initial.rebalance.delay.ms", scope: Scope::Broker, kind: int(0, MAX), default: "3000",
        doc: "The coordinator waits this long for more members before the first rebalance of an empty group." },
    Key { name: "offsets.topic.num.partitions", scope: Scope::Broker, kind: int(1, 1000), default: "1",
        doc: "Partitions of __consumer_offsets; a group's coordinator leads partition hash(group.id) % this. Kafka's default is 50; the simulator's is 1 so the view stays readable." },
    Key { name: "offsets.topic.replication.factor", scope: Scope::Broker, kind: int(1, 100), default: "3",
        doc: "Replicas of each __consumer_offsets partition (capped at the number of brokers): how many broker failures committed offsets survive." },
    Key { name: "transaction.state.log.num.partitions", scope: Scope::Broker, kind: int(1, 1000), default: "1",
        doc: "Partitions of __transaction_state; a transactional.id's coordinator leads partition hash(transactional.id) % this. Kafka's default is 50; the simulator's is 1 so the view stays readable." },
    Key { name: "transaction.state.log.replication.factor", scope: Scope::Broker, kind: int(1, 100), default: "3",
        doc: "Replicas of each __transaction_state partition (capped at the number of brokers): whether a coordinator's crash loses transaction state." },
    Key { name: "transaction.state.log.min.isr", scope: Scope::Broker, kind: int(1, 100), default: "2",
        doc: "min.insync.replicas of __transaction_state: the coordinator's writes (and so InitProducerId and EndTxn) fail below it." },
    Key { name: "transaction.max.timeout.ms", scope: Scope::Broker, kind: int(1, MAX), default: "900000",
        doc: "The largest transaction.timeout.ms a producer may ask for (InitProducerId answers INVALID_TRANSACTION_TIMEOUT above it)." },
    Key { name: "transaction.abort.timed.out.transaction.cleanup.interval.ms", scope: Scope::Broker, kind: int(1, MAX), default: "10000",
        doc: "How often the transaction coordinator looks for transactions open longer than their transaction.timeout.ms, and aborts them (fencing the producer)." },
    Key { name: "transaction.partition.verification.enable", scope: Scope::Broker, kind: Kind::Bool, default: "true",
        doc: "KIP-890 part 1 (Kafka 3.6+): before the first transactional write to a partition, its leader asks the coordinator whether the producer's transaction is ongoing there, so a late write cannot start a transaction no marker will end. false shows Kafka before 3.6 (hanging transactions)." },
    Key { name: "log.segment.bytes", scope: Scope::Broker, kind: int(1_048_576, i32::MAX as i64), default: "1073741824",
        doc: "The active segment rolls (a new one starts) before it would exceed this many bytes. At least 1 MiB since Kafka 4.0 (KIP-1030); use log.roll.ms to see segments roll in a short run." },
    Key { name: "log.roll.ms", scope: Scope::Broker, kind: int(1, MAX), default: "604800000",
        doc: "The active segment rolls when a new record's timestamp is this far past the segment's first (Kafka's log.roll.hours = 168). Retention deletes whole segments, so this is also how finely it works." },
    Key { name: "log.retention.ms", scope: Scope::Broker, kind: int(-1, MAX), default: "604800000",
        doc: "Delete a segment once its newest record is older than this (Kafka's log.retention.hours = 168); -1 keeps records forever. Checked every log.retention.check.interval.ms, on every replica." },
    Key { name: "log.retention.bytes", scope: Scope::Broker, kind: int(-1, MAX), default: "-1",
        doc: "Delete the oldest segments while a partition's log is larger than this by at least a segment; -1: no size limit." },
    Key { name: "log.retention.check.interval.ms", scope: Scope::Broker, kind: int(1, MAX), default: "300000",
        doc: "How often each broker's log manager looks for segments to delete (retention.ms, retention.bytes, the log start offset)." },
    Key { name: "log.initial.task.delay.ms", scope: Scope::Broker, kind: int(0, MAX), default: "30000",
        doc: "The log manager's first retention check comes this long after the broker starts." },
    Key { name: "log.cleanup.policy", scope: Scope::Broker, kind: Kind::Choice(&["delete"]), default: "delete",
        doc: "delete: old segments are deleted by retention.ms and retention.bytes. (compact is not modelled yet.)" },
    Key { name: "log.message.timestamp.type", scope: Scope::Broker, kind: Kind::Choice(&["CreateTime", "LogAppendTime"]), default: "CreateTime",
        doc: "A record's timestamp, which retention.ms and segment.ms count from: the producer's (CreateTime) or the leader's clock when it appended (LogAppendTime)." },
    // ---- topic ----
    Key { name: "replication.factor", scope: Scope::Topic, kind: int(1, 100), default: "3",
        doc: "Replicas per partition (at most the number of brokers)." },
    Key { name: "partitions", scope: Scope::Topic, kind: int(1, 10_000), default: "1",
        doc: "Number of partitions." },
    Key { name: "min.insync.replicas", scope: Scope::Topic, kind: int(1, 100), default: "(broker)",
        doc: "Topic override of the broker setting." },
    Key { name: "unclean.leader.election.enable", scope: Scope::Topic, kind: Kind::Bool, default: "(broker)",
        doc: "Topic override of the broker setting." },
    Key { name: "flush.messages", scope: Scope::Topic, kind: int(1, MAX), default: "(broker)",
        doc: "Topic override of log.flush.interval.messages." },
    Key { name: "flush.ms", scope: Scope::Topic, kind: int(1, MAX), default: "(broker)",
        doc: "Topic override of log.flush.interval.ms." },
    Key { name: "segment.bytes", scope: Scope::Topic, kind: int(1_048_576, i32::MAX as i64), default: "(broker)",
        doc: "Topic override of log.segment.bytes." },
    Key { name: "segment.ms", scope: Scope::Topic, kind: int(1, MAX), default: "(broker)",
        doc: "Topic override of log.roll.ms." },
    Key { name: "retention.ms", scope: Scope::Topic, kind: int(-1, MAX), default: "(broker)",
        doc: "Topic override of log.retention.ms." },
    Key { name: "retention.bytes", scope: Scope::Topic, kind: int(-1, MAX), default: "(broker)",
        doc: "Topic override of log.retention.bytes (per partition)." },
    Key { name: "cleanup.policy", scope: Scope::Topic, kind: Kind::Choice(&["delete"]), default: "(broker)",
        doc: "Topic override of log.cleanup.policy." },
    Key { name: "message.timestamp.type", scope: Scope::Topic, kind: Kind::Choice(&["CreateTime", "LogAppendTime"]), default: "(broker)",
        doc: "Topic override of log.message.timestamp.type." },
    // ---- producer ----
    Key { name: "acks", scope: Scope::Producer, kind: Kind::Choice(&["0", "1", "all", "-1"]), default: "all",
        doc: "0: fire and forget; 1: the leader has appended; all: every ISR member has it (HW passed it)." },
    Key { name: "enable.idempotence", scope: Scope::Producer, kind: Kind::Bool, default: "true",
        doc: "Producer id and per-partition sequence numbers so the broker drops retried duplicates. On by default unless acks, retries or max.in.flight conflict." },
    Key { name: "retries", scope: Scope::Producer, kind: int(0, i32::MAX as i64), default: "2147483647",
        doc: "How many times a failed batch is resent (bounded by delivery.timeout.ms)." },
    Key { name: "retry.backoff.ms", scope: Scope::Producer, kind: int(0, MAX), default: "100",
        doc: "Wait before resending a failed batch or refreshing metadata." },
    Key { name: "request.timeout.ms", scope: Scope::Producer, kind: int(1, MAX), default: "30000",
        doc: "How long the producer waits for a response (the broker also gets it as the produce timeout)." },
    Key { name: "delivery.timeout.ms", scope: Scope::Producer, kind: int(1, MAX), default: "120000",
        doc: "Upper bound on reporting success or failure after send(); must be >= linger.ms + request.timeout.ms." },
    Key { name: "linger.ms", scope: Scope::Producer, kind: int(0, MAX), default: "5",
        doc: "How long a batch waits for more records before it is sent." },
    Key { name: "batch.size", scope: Scope::Producer, kind: int(1, MAX), default: "16384",
        doc: "A batch is sent as soon as it holds this many bytes." },
    Key { name: "max.in.flight.requests.per.connection", scope: Scope::Producer, kind: int(1, MAX), default: "5",
        doc: "Unacknowledged requests allowed per broker connection (at most 5 with idempotence)." },
    Key { name: "metadata.max.age.ms", scope: Scope::Producer, kind: int(1, MAX), default: "300000",
        doc: "Refresh metadata at least this often even without errors." },
    Key { name: "transactional.id", scope: Scope::Producer, kind: Kind::Text, default: "null",
        doc: "Makes the producer transactional: initTransactions() gets a producer id and a new epoch for this id from its transaction coordinator, fencing any older producer with the same id (a zombie); records then commit or abort together. Needs enable.idempotence." },
    Key { name: "transaction.timeout.ms", scope: Scope::Producer, kind: int(1, MAX), default: "60000",
        doc: "The coordinator aborts a transaction open longer than this (and fences the producer: its next request gets PRODUCER_FENCED)." },
    Key { name: "sim.transaction.interval.ms", scope: Scope::Producer, kind: int(1, MAX), default: "100",
        doc: "Simulator (the application): a transactional producer commits its open transaction this often, then begins the next. Kafka Streams commits every commit.interval.ms, 100 under exactly_once_v2." },
    // ---- consumer ----
    Key { name: "auto.offset.reset", scope: Scope::Consumer, kind: Kind::Choice(&["earliest", "latest", "none"]), default: "latest",
        doc: "Where to start when the group has no committed offset, or the position is out of range: the log start, the log end, or an error." },
    Key { name: "enable.auto.commit", scope: Scope::Consumer, kind: Kind::Bool, default: "true",
        doc: "Commit in the background every auto.commit.interval.ms: each poll() commits what the previous polls returned." },
    Key { name: "auto.commit.interval.ms", scope: Scope::Consumer, kind: int(0, MAX), default: "5000",
        doc: "How often auto-commit commits the positions." },
    Key { name: "max.poll.records", scope: Scope::Consumer, kind: int(1, MAX), default: "500",
        doc: "At most this many records per poll()." },
    Key { name: "max.poll.interval.ms", scope: Scope::Consumer, kind: int(1, MAX), default: "300000",
        doc: "If poll() is not called again within this long, the consumer leaves the group and its partitions move (it is a zombie until it polls again)." },
    Key { name: "session.timeout.ms", scope: Scope::Consumer, kind: int(1, MAX), default: "45000",
        doc: "The coordinator removes a member whose heartbeats stop for this long." },
    Key { name: "heartbeat.interval.ms", scope: Scope::Consumer, kind: int(1, MAX), default: "3000",
        doc: "How often the consumer's background thread heartbeats to the coordinator." },
    Key { name: "fetch.min.bytes", scope: Scope::Consumer, kind: int(0, MAX), default: "1",
        doc: "The broker holds a fetch until this many bytes are available (or fetch.max.wait.ms passes)." },
    Key { name: "fetch.max.wait.ms", scope: Scope::Consumer, kind: int(0, MAX), default: "500",
        doc: "The longest the broker holds a fetch waiting for fetch.min.bytes." },
    Key { name: "partition.assignment.strategy", scope: Scope::Consumer, kind: Kind::Choice(&["range", "roundrobin", "sticky", "cooperative-sticky"]), default: "range",
        doc: "How the group leader assigns partitions; cooperative-sticky rebalances incrementally (KIP-429), the others stop the world. (Kafka's default list is [range, cooperative-sticky], which uses range.)" },
    Key { name: "request.timeout.ms", scope: Scope::Consumer, kind: int(1, MAX), default: "30000",
        doc: "How long the consumer waits for a response before retrying." },
    Key { name: "retry.backoff.ms", scope: Scope::Consumer, kind: int(0, MAX), default: "100",
        doc: "Wait before retrying a failed request or looking up the coordinator again." },
    Key { name: "metadata.max.age.ms", scope: Scope::Consumer, kind: int(1, MAX), default: "300000",
        doc: "Refresh metadata at least this often: how soon the consumer notices new partitions (and the group rebalances)." },
    Key { name: "isolation.level", scope: Scope::Consumer, kind: Kind::Choice(&["read_uncommitted", "read_committed"]), default: "read_uncommitted",
        doc: "read_committed: fetch only up to the last stable offset (LSO: no open transaction below it) and skip aborted transactions' records; read_uncommitted: up to the high watermark, aborted records included." },
    Key { name: "sim.leader.epoch.validation", scope: Scope::Consumer, kind: Kind::Bool, default: "true",
        doc: "Simulator: after a leader change, check the position against the new leader's log with the last consumed record's epoch (KIP-320, Kafka clients since 2.3). false behaves like older clients, which can silently skip records after an unclean truncation." },
];

/// A cluster-wide behaviour in `[cluster]`: which Kafka the scenario shows. (Read by the
/// scenario parser's `[cluster]` reader; listed here so `kafkascope configs` shows them.)
pub struct ClusterKey {
    pub name: &'static str,
    pub kind: Kind,
    pub default: &'static str,
    pub doc: &'static str,
}

pub const CLUSTER_KEYS: &[ClusterKey] = &[
    ClusterKey { name: "metadata", kind: Kind::Choice(&["kraft", "zookeeper"]), default: "kraft",
        doc: "kraft: Kafka 4.x. Every broker start registers a new incarnation with a new broker epoch, fenced until it has caught up; fetches and AlterPartition carry broker epochs (KIP-903); the HW stops while the ISR is below min.insync.replicas (strict min ISR). zookeeper: the controller of the KIP-101 era: a restart within broker.session.timeout.ms keeps its registration and ISR place, no broker epochs, the HW moves whatever the ISR size, no ELR." },
    ClusterKey { name: "eligible.leader.replicas.version", kind: Kind::Int { min: 0, max: 1 }, default: "1",
        doc: "KIP-966 (a cluster feature, set with kafka-features; 1 on new 4.1 clusters): replicas leaving an ISR below min.insync.replicas join the Eligible Leader Replicas, the ISR may empty, and elections go ISR, ELR, last known leader, then unclean. 0: the last ISR member stays in the ISR. KRaft only." },
    ClusterKey { name: "transaction.version", kind: Kind::Int { min: 0, max: 2 }, default: "2",
        doc: "A cluster feature (kafka-features; 2 on new 4.x clusters): 2 is KIP-890 part 2: the producer's epoch is bumped at every commit or abort, so a late write or marker from a finished transaction is fenced, and a partition joins a transaction on its first write (no AddPartitionsToTxn from the client). 0 and 1: the client adds partitions with AddPartitionsToTxn and keeps one epoch across transactions." },
    ClusterKey { name: "truncation", kind: Kind::Choice(&["diverging-epoch", "leader-epoch", "high-watermark"]), default: "diverging-epoch",
        doc: "How a follower finds what to truncate. diverging-epoch (Kafka 2.7+, KIP-595's truncation on fetch): every fetch carries the epoch of the follower's last record, and the leader answers a fetch that does not match its log with a diverging epoch (where that epoch ends on the leader) instead of records; the follower truncates there and fetches again until the logs agree. leader-epoch (Kafka 0.11 to 2.6, KIP-101, KIP-279): before fetching, the follower asks the leader where its latest epoch ends with an OffsetsForLeaderEpoch request, and asks again until they agree. high-watermark (before 0.11): to its own high watermark." },
];

pub fn key(scope: Scope, name: &str) -> Option<&'static Key> {
    KEYS.iter().find(|k| k.scope == scope && k.name == name)
}

pub fn names(scope: Scope) -> impl Iterator<Item = &'static str> {
    KEYS.iter()
        .filter(move |k| k.scope == scope)
        .map(|k| k.name)
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Int(i) => write!(f, "{i}"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Str(s) => f.write_str(s),
        }
    }
}

impl Kind {
    /// Checks a value against this kind; the error says what is allowed.
    pub fn check(&self, v: &Value) -> Result<(), String> {
        match (self, v) {
            (Kind::Int { min, max }, Value::Int(i)) => {
                if i < min || i > max {
                    Err(format!("must be between {min} and {}", fmt_int(*max)))
                } else {
                    Ok(())
                }
            }
            (Kind::Int { .. }, _) => Err("expected an integer".into()),
            (Kind::Bool, Value::Bool(_)) => Ok(()),
            (Kind::Bool, _) => Err("expected true or false".into()),
            (Kind::Choice(c), Value::Str(s)) if c.contains(&s.as_str()) => Ok(()),
            (Kind::Choice(c), Value::Int(i)) if c.contains(&i.to_string().as_str()) => Ok(()),
            (Kind::Text, Value::Str(s)) if !s.trim().is_empty() => Ok(()),
            (Kind::Text, _) => Err("expected a non-empty string".into()),
            (Kind::Choice(c), _) => Err(format!(
                "expected one of {}",
                c.iter()
                    .map(|c| format!("\"{c}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Kind::Int { min, max } => format!("integer {min}..={}", fmt_int(*max)),
            Kind::Bool => "true | false".into(),
            Kind::Choice(c) => c.join(" | "),
            Kind::Text => "string".into(),
        }
    }
}

fn fmt_int(i: i64) -> String {
    if i == i64::MAX {
        "Long.MAX_VALUE".into()
    } else {
        i.to_string()
    }
}

fn as_u64(v: &Value) -> u64 {
    match v {
        Value::Int(i) => (*i).max(0) as u64,
        _ => 0,
    }
}

fn as_bool(v: &Value) -> bool {
    matches!(v, Value::Bool(true))
}

/// Where the cluster keeps its metadata, and so which controller behaviour it has.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MetadataMode {
    /// KRaft (Kafka 4.x): every broker start registers a new incarnation with a new broker
    /// epoch and stays fenced until it has caught up with the metadata; follower fetches and
    /// AlterPartition carry broker epochs (KIP-903); the HW does not advance while the ISR is
    /// smaller than `min.insync.replicas` (KIP-966's strict min ISR).
    Kraft,
    /// The ZooKeeper-era controller the KIP-101 and Jepsen 2013 scenarios assume: a broker that
    /// restarts within its session timeout keeps its registration and ISR membership, nothing
    /// checks broker epochs, and the HW moves whatever the ISR size.
    Zookeeper,
}

/// The cluster-wide behaviour a scenario selects (`[cluster]`): Kafka 4.1 unless it says
/// otherwise.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ClusterFeatures {
    pub metadata: MetadataMode,
    /// `eligible.leader.replicas.version` (KIP-966): 1 on new Kafka 4.1 clusters.
    pub eligible_leader_replicas: bool,
    /// `transaction.version`: 2 on new Kafka 4.x clusters (KIP-890 part 2).
    pub transaction_version: u8,
}

impl Default for ClusterFeatures {
    fn default() -> Self {
        ClusterFeatures {
            metadata: MetadataMode::Kraft,
            eligible_leader_replicas: true,
            transaction_version: 2,
        }
    }
}

impl ClusterFeatures {
    pub fn kraft(&self) -> bool {
        self.metadata == MetadataMode::Kraft
    }

    /// KIP-890 part 2: an epoch bump at every transaction's end, partitions added implicitly.
    pub fn transactions_v2(&self) -> bool {
        self.transaction_version >= 2
    }
}

/// Settings of one broker.
#[derive(Clone, Debug, PartialEq)]
pub struct BrokerConfig {
    pub min_insync_replicas: u32,
    pub unclean_leader_election_enable: bool,
    pub replica_lag_time_max_ms: Millis,
    pub replica_fetch_wait_max_ms: Millis,
    pub replica_fetch_backoff_ms: Millis,
    pub replica_socket_timeout_ms: Millis,
    pub hw_checkpoint_interval_ms: Millis,
    pub log_flush_interval_messages: u64,
    pub log_flush_interval_ms: Millis,
    pub heartbeat_interval_ms: Millis,
    pub session_timeout_ms: Millis,
    pub page_cache_writeback_ms: Millis,
    pub group_initial_rebalance_delay_ms: Millis,
    pub offsets_topic_num_partitions: u32,
    pub offsets_topic_replication_factor: u32,
    pub transaction_state_log_num_partitions: u32,
    pub transaction_state_log_replication_factor: u32,
    pub transaction_state_log_min_isr: u32,
    pub transaction_max_timeout_ms: Millis,
    pub transaction_abort_interval_ms: Millis,
    pub transaction_partition_verification: bool,
    pub log_segment_bytes: u64,
    pub log_roll_ms: Millis,
    /// `None`: -1, no limit.
    pub log_retention_ms: Option<Millis>,
    pub log_retention_bytes: Option<u64>,
    pub log_retention_check_interval_ms: Millis,
    pub log_initial_task_delay_ms: Millis,
    pub log_message_timestamp_type: TimestampType,
}

/// Whose clock a record's timestamp is (`message.timestamp.type`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub enum TimestampType {
    #[default]
    CreateTime,
    LogAppendTime,
}

impl TimestampType {
    pub fn name(self) -> &'static str {
        match self {
            TimestampType::CreateTime => "CreateTime",
            TimestampType::LogAppendTime => "LogAppendTime",
        }
    }

    fn parse(v: &Value) -> Self {
        match v {
            Value::Str(s) if s == "LogAppendTime" => TimestampType::LogAppendTime,
            _ => TimestampType::CreateTime,
        }
    }
}

/// `-1` (no limit) as `None`.
fn limit(v: &Value) -> Option<u64> {
    match v {
        Value::Int(i) if *i >= 0 => Some(*i as u64),
        _ => None,
    }
}

fn limit_value(v: Option<u64>) -> Value {
    Value::Int(v.map_or(-1, |v| v.min(i64::MAX as u64) as i64))
}

impl Default for BrokerConfig {
    fn default() -> Self {
        BrokerConfig {
            min_insync_replicas: 1,
            unclean_leader_election_enable: false,
            replica_lag_time_max_ms: 30_000,
            replica_fetch_wait_max_ms: 500,
            replica_fetch_backoff_ms: 1_000,
            replica_socket_timeout_ms: 30_000,
            hw_checkpoint_interval_ms: 5_000,
            log_flush_interval_messages: u64::MAX,
            log_flush_interval_ms: u64::MAX,
            heartbeat_interval_ms: 2_000,
            session_timeout_ms: 9_000,
            page_cache_writeback_ms: 30_000,
            group_initial_rebalance_delay_ms: 3_000,
            offsets_topic_num_partitions: 1,
            offsets_topic_replication_factor: 3,
            transaction_state_log_num_partitions: 1,
            transaction_state_log_replication_factor: 3,
            transaction_state_log_min_isr: 2,
            transaction_max_timeout_ms: 900_000,
            transaction_abort_interval_ms: 10_000,
            transaction_partition_verification: true,
            log_segment_bytes: 1 << 30,
            log_roll_ms: 604_800_000,
            log_retention_ms: Some(604_800_000),
            log_retention_bytes: None,
            log_retention_check_interval_ms: 300_000,
            log_initial_task_delay_ms: 30_000,
            log_message_timestamp_type: TimestampType::CreateTime,
        }
    }
}

impl BrokerConfig {
    /// Sets a key already checked against [`KEYS`].
    pub fn set(&mut self, name: &str, v: &Value) {
        match name {
            "min.insync.replicas" => self.min_insync_replicas = as_u64(v) as u32,
            "unclean.leader.election.enable" => self.unclean_leader_election_enable = as_bool(v),
            "replica.lag.time.max.ms" => self.replica_lag_time_max_ms = as_u64(v),
            "replica.fetch.wait.max.ms" => self.replica_fetch_wait_max_ms = as_u64(v),
            "replica.fetch.backoff.ms" => self.replica_fetch_backoff_ms = as_u64(v),
            "replica.socket.timeout.ms" => self.replica_socket_timeout_ms = as_u64(v),
            "replica.high.watermark.checkpoint.interval.ms" => {
                self.hw_checkpoint_interval_ms = as_u64(v)
            }
            "log.flush.interval.messages" => self.log_flush_interval_messages = as_u64(v),
            "log.flush.interval.ms" => self.log_flush_interval_ms = as_u64(v),
            "broker.heartbeat.interval.ms" => self.heartbeat_interval_ms = as_u64(v),
            "broker.session.timeout.ms" => self.session_timeout_ms = as_u64(v),
            "sim.page.cache.writeback.ms" => self.page_cache_writeback_ms = as_u64(v),
            "group.initial.rebalance.delay.ms" => self.group_initial_rebalance_delay_ms = as_u64(v),
            "offsets.topic.num.partitions" => self.offsets_topic_num_partitions = as_u64(v) as u32,
            "offsets.topic.replication.factor" => {
                self.offsets_topic_replication_factor = as_u64(v) as u32
            }
            "transaction.state.log.num.partitions" => {
                self.transaction_state_log_num_partitions = as_u64(v) as u32
            }
            "transaction.state.log.replication.factor" => {
                self.transaction_state_log_replication_factor = as_u64(v) as u32
            }
            "transaction.state.log.min.isr" => {
                self.transaction_state_log_min_isr = as_u64(v) as u32
            }
            "transaction.max.timeout.ms" => self.transaction_max_timeout_ms = as_u64(v),
            "transaction.abort.timed.out.transaction.cleanup.interval.ms" => {
                self.transaction_abort_interval_ms = as_u64(v)
            }
            "transaction.partition.verification.enable" => {
                self.transaction_partition_verification = as_bool(v)
            }
            "log.segment.bytes" => self.log_segment_bytes = as_u64(v),
            "log.roll.ms" => self.log_roll_ms = as_u64(v),
            "log.retention.ms" => self.log_retention_ms = limit(v),
            "log.retention.bytes" => self.log_retention_bytes = limit(v),
            "log.retention.check.interval.ms" => self.log_retention_check_interval_ms = as_u64(v),
            "log.initial.task.delay.ms" => self.log_initial_task_delay_ms = as_u64(v),
            "log.message.timestamp.type" => {
                self.log_message_timestamp_type = TimestampType::parse(v)
            }
            _ => {}
        }
    }
}

impl BrokerConfig {
    /// Every setting with its value, under Kafka's names: the inverse of [`BrokerConfig::set`].
    pub fn entries(&self) -> Vec<(&'static str, Value)> {
        let i = |v: u64| Value::Int(v.min(i64::MAX as u64) as i64);
        vec![
            ("min.insync.replicas", i(self.min_insync_replicas as u64)),
            (
                "unclean.leader.election.enable",
                Value::Bool(self.unclean_leader_election_enable),
            ),
            ("replica.lag.time.max.ms", i(self.replica_lag_time_max_ms)),
            (
                "replica.fetch.wait.max.ms",
                i(self.replica_fetch_wait_max_ms),
            ),
            ("replica.fetch.backoff.ms", i(self.replica_fetch_backoff_ms)),
            (
                "replica.socket.timeout.ms",
                i(self.replica_socket_timeout_ms),
            ),
            (
                "replica.high.watermark.checkpoint.interval.ms",
                i(self.hw_checkpoint_interval_ms),
            ),
            (
                "log.flush.interval.messages",
                i(self.log_flush_interval_messages),
            ),
            ("log.flush.interval.ms", i(self.log_flush_interval_ms)),
            (
                "broker.heartbeat.interval.ms",
                i(self.heartbeat_interval_ms),
            ),
            ("broker.session.timeout.ms", i(self.session_timeout_ms)),
            (
                "sim.page.cache.writeback.ms",
                i(self.page_cache_writeback_ms),
            ),
            (
                "group.initial.rebalance.delay.ms",
                i(self.group_initial_rebalance_delay_ms),
            ),
            (
                "offsets.topic.num.partitions",
                i(self.offsets_topic_num_partitions as u64),
            ),
            (
                "offsets.topic.replication.factor",
                i(self.offsets_topic_replication_factor as u64),
            ),
            (
                "transaction.state.log.num.partitions",
                i(self.transaction_state_log_num_partitions as u64),
            ),
            (
                "transaction.state.log.replication.factor",
                i(self.transaction_state_log_replication_factor as u64),
            ),
            (
                "transaction.state.log.min.isr",
                i(self.transaction_state_log_min_isr as u64),
            ),
            (
                "transaction.max.timeout.ms",
                i(self.transaction_max_timeout_ms),
            ),
            (
                "transaction.abort.timed.out.transaction.cleanup.interval.ms",
                i(self.transaction_abort_interval_ms),
            ),
            (
                "transaction.partition.verification.enable",
                Value::Bool(self.transaction_partition_verification),
            ),
            ("log.segment.bytes", i(self.log_segment_bytes)),
            ("log.roll.ms", i(self.log_roll_ms)),
            ("log.retention.ms", limit_value(self.log_retention_ms)),
            ("log.retention.bytes", limit_value(self.log_retention_bytes)),
            (
                "log.retention.check.interval.ms",
                i(self.log_retention_check_interval_ms),
            ),
            (
                "log.initial.task.delay.ms",
                i(self.log_initial_task_delay_ms),
            ),
            ("log.cleanup.policy", Value::Str("delete".into())),
            (
                "log.message.timestamp.type",
                Value::Str(self.log_message_timestamp_type.name().into()),
            ),
        ]
    }
}

/// Topic-level overrides; `None` means "use the broker's setting".
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TopicOverrides {
    pub min_insync_replicas: Option<u32>,
    pub unclean_leader_election_enable: Option<bool>,
    pub flush_messages: Option<u64>,
    pub flush_ms: Option<Millis>,
    pub segment_bytes: Option<u64>,
    pub segment_ms: Option<Millis>,
    /// `Some(None)`: set to -1 (no limit).
    pub retention_ms: Option<Option<Millis>>,
    pub retention_bytes: Option<Option<u64>>,
    /// Only `delete` is modelled; kept so a scenario round-trips what it set.
    pub cleanup_policy: Option<String>,
    pub message_timestamp_type: Option<TimestampType>,
}

impl TopicOverrides {
    pub fn set(&mut self, name: &str, v: &Value) {
        match name {
            "min.insync.replicas" => self.min_insync_replicas = Some(as_u64(v) as u32),
            "unclean.leader.election.enable" => {
                self.unclean_leader_election_enable = Some(as_bool(v))
            }
            "flush.messages" => self.flush_messages = Some(as_u64(v)),
            "flush.ms" => self.flush_ms = Some(as_u64(v)),
            "segment.bytes" => self.segment_bytes = Some(as_u64(v)),
            "segment.ms" => self.segment_ms = Some(as_u64(v)),
            "retention.ms" => self.retention_ms = Some(limit(v)),
            "retention.bytes" => self.retention_bytes = Some(limit(v)),
            "cleanup.policy" => self.cleanup_policy = Some(v.to_string()),
            "message.timestamp.type" => self.message_timestamp_type = Some(TimestampType::parse(v)),
            _ => {}
        }
    }
}

impl TopicOverrides {
    /// The overrides that are set, under Kafka's names.
    pub fn entries(&self) -> Vec<(&'static str, Value)> {
        let i = |v: u64| Value::Int(v.min(i64::MAX as u64) as i64);
        let mut e = Vec::new();
        if let Some(v) = self.min_insync_replicas {
            e.push(("min.insync.replicas", i(v as u64)));
        }
        if let Some(v) = self.unclean_leader_election_enable {
            e.push(("unclean.leader.election.enable", Value::Bool(v)));
        }
        if let Some(v) = self.flush_messages {
            e.push(("flush.messages", i(v)));
        }
        if let Some(v) = self.flush_ms {
            e.push(("flush.ms", i(v)));
        }
        if let Some(v) = self.segment_bytes {
            e.push(("segment.bytes", i(v)));
        }
        if let Some(v) = self.segment_ms {
            e.push(("segment.ms", i(v)));
        }
        if let Some(v) = self.retention_ms {
            e.push(("retention.ms", limit_value(v)));
        }
        if let Some(v) = self.retention_bytes {
            e.push(("retention.bytes", limit_value(v)));
        }
        if let Some(v) = &self.cleanup_policy {
            e.push(("cleanup.policy", Value::Str(v.clone())));
        }
        if let Some(v) = self.message_timestamp_type {
            e.push(("message.timestamp.type", Value::Str(v.name().into())));
        }
        e
    }
}

/// The settings that govern one partition on one broker: the broker's, overridden by the topic's.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LogConfig {
    pub min_insync_replicas: u32,
    pub unclean_leader_election_enable: bool,
    pub flush_messages: u64,
    pub flush_ms: Millis,
    pub roll: crate::log::RollConfig,
    pub retention_ms: Option<Millis>,
    pub retention_bytes: Option<u64>,
    pub timestamp_type: TimestampType,
}

impl LogConfig {
    pub fn effective(broker: &BrokerConfig, topic: &TopicOverrides) -> Self {
        LogConfig {
            min_insync_replicas: topic
                .min_insync_replicas
                .unwrap_or(broker.min_insync_replicas),
            unclean_leader_election_enable: topic
                .unclean_leader_election_enable
                .unwrap_or(broker.unclean_leader_election_enable),
            flush_messages: topic
                .flush_messages
                .unwrap_or(broker.log_flush_interval_messages),
            flush_ms: topic.flush_ms.unwrap_or(broker.log_flush_interval_ms),
            roll: crate::log::RollConfig {
                segment_bytes: topic.segment_bytes.unwrap_or(broker.log_segment_bytes),
                segment_ms: topic.segment_ms.unwrap_or(broker.log_roll_ms),
            },
            retention_ms: topic.retention_ms.unwrap_or(broker.log_retention_ms),
            retention_bytes: topic.retention_bytes.unwrap_or(broker.log_retention_bytes),
            timestamp_type: topic
                .message_timestamp_type
                .unwrap_or(broker.log_message_timestamp_type),
        }
    }
}

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum Acks {
    None,
    Leader,
    All,
}

impl std::fmt::Display for Acks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Acks::None => "0",
            Acks::Leader => "1",
            Acks::All => "all",
        })
    }
}

/// A producer's client settings (Kafka 3.x/4.x defaults).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ProducerConfig {
    pub acks: Acks,
    /// `None` until resolved: Kafka enables idempotence by default unless a conflicting
    /// setting was given explicitly.
    pub enable_idempotence: Option<bool>,
    pub retries: u32,
    pub retry_backoff_ms: Millis,
    pub request_timeout_ms: Millis,
    pub delivery_timeout_ms: Millis,
    pub linger_ms: Millis,
    pub batch_size: u64,
    pub max_in_flight: u32,
    pub metadata_max_age_ms: Millis,
    /// `transactional.id`: `None` (Kafka's null) for a producer outside transactions.
    pub transactional_id: Option<std::sync::Arc<str>>,
    pub transaction_timeout_ms: Millis,
    /// The application's commit interval (`sim.transaction.interval.ms`).
    pub transaction_interval_ms: Millis,
}

impl Default for ProducerConfig {
    fn default() -> Self {
        ProducerConfig {
            acks: Acks::All,
            enable_idempotence: None,
            retries: i32::MAX as u32,
            retry_backoff_ms: 100,
            request_timeout_ms: 30_000,
            delivery_timeout_ms: 120_000,
            linger_ms: 5,
            batch_size: 16_384,
            max_in_flight: 5,
            metadata_max_age_ms: 300_000,
            transactional_id: None,
            transaction_timeout_ms: 60_000,
            transaction_interval_ms: 100,
        }
    }
}

impl ProducerConfig {
    pub fn set(&mut self, name: &str, v: &Value) {
        match name {
            "acks" => {
                self.acks = match v {
                    Value::Int(0) => Acks::None,
                    Value::Str(s) if s == "0" => Acks::None,
                    Value::Int(1) => Acks::Leader,
                    Value::Str(s) if s == "1" => Acks::Leader,
                    _ => Acks::All,
                }
            }
            "enable.idempotence" => self.enable_idempotence = Some(as_bool(v)),
            "retries" => self.retries = as_u64(v) as u32,
            "retry.backoff.ms" => self.retry_backoff_ms = as_u64(v),
            "request.timeout.ms" => self.request_timeout_ms = as_u64(v),
            "delivery.timeout.ms" => self.delivery_timeout_ms = as_u64(v),
            "linger.ms" => self.linger_ms = as_u64(v),
            "batch.size" => self.batch_size = as_u64(v),
            "max.in.flight.requests.per.connection" => self.max_in_flight = as_u64(v) as u32,
            "metadata.max.age.ms" => self.metadata_max_age_ms = as_u64(v),
            "transactional.id" => {
                if let Value::Str(s) = v {
                    self.transactional_id = Some(s.as_str().into());
                }
            }
            "transaction.timeout.ms" => self.transaction_timeout_ms = as_u64(v),
            "sim.transaction.interval.ms" => self.transaction_interval_ms = as_u64(v),
            _ => {}
        }
    }

    /// Every setting under Kafka's names (`enable.idempotence` only when given explicitly):
    /// the inverse of [`ProducerConfig::set`].
    pub fn entries(&self) -> Vec<(&'static str, Value)> {
        let i = |v: u64| Value::Int(v.min(i64::MAX as u64) as i64);
        let mut e = vec![("acks", Value::Str(self.acks.to_string()))];
        if let Some(v) = self.enable_idempotence {
            e.push(("enable.idempotence", Value::Bool(v)));
        }
        e.extend([
            ("retries", i(self.retries as u64)),
            ("retry.backoff.ms", i(self.retry_backoff_ms)),
            ("request.timeout.ms", i(self.request_timeout_ms)),
            ("delivery.timeout.ms", i(self.delivery_timeout_ms)),
            ("linger.ms", i(self.linger_ms)),
            ("batch.size", i(self.batch_size)),
            (
                "max.in.flight.requests.per.connection",
                i(self.max_in_flight as u64),
            ),
            ("metadata.max.age.ms", i(self.metadata_max_age_ms)),
        ]);
        if let Some(id) = &self.transactional_id {
            e.extend([
                ("transactional.id", Value::Str(id.to_string())),
                ("transaction.timeout.ms", i(self.transaction_timeout_ms)),
                (
                    "sim.transaction.interval.ms",
                    i(self.transaction_interval_ms),
                ),
            ]);
        }
        e
    }

    /// Whether the producer runs idempotently, following `ProducerConfig`'s rule: on by default,
    /// silently off when a conflicting setting is explicit, an error when both are explicit.
    pub fn idempotence(&self) -> Result<bool, String> {
        let conflicts = self.acks != Acks::All || self.retries == 0 || self.max_in_flight > 5;
        if self.transactional_id.is_some() {
            // `ProducerConfig`: "Cannot set a transactional.id without also enabling
            // idempotence", and a transactional producer needs the idempotent settings.
            return match self.enable_idempotence {
                Some(false) => Err("transactional.id needs enable.idempotence = true (Kafka: \"Cannot set a transactional.id without also enabling idempotence\")".into()),
                _ if conflicts => Err("transactional.id needs acks = \"all\", retries > 0 and max.in.flight.requests.per.connection <= 5 (the settings of idempotence)".into()),
                _ => Ok(true),
            };
        }
        match self.enable_idempotence {
            Some(true) if conflicts => Err(
                "enable.idempotence = true needs acks = \"all\", retries > 0 and max.in.flight.requests.per.connection <= 5"
                    .into(),
            ),
            Some(v) => Ok(v),
            None => Ok(!conflicts),
        }
    }
}

/// Where a consumer starts without a committed offset (`auto.offset.reset`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum OffsetReset {
    Earliest,
    Latest,
    None,
}

impl std::fmt::Display for OffsetReset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            OffsetReset::Earliest => "earliest",
            OffsetReset::Latest => "latest",
            OffsetReset::None => "none",
        })
    }
}

/// `partition.assignment.strategy`.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Assignor {
    Range,
    RoundRobin,
    Sticky,
    CooperativeSticky,
}

impl Assignor {
    pub fn name(self) -> &'static str {
        match self {
            Assignor::Range => "range",
            Assignor::RoundRobin => "roundrobin",
            Assignor::Sticky => "sticky",
            Assignor::CooperativeSticky => "cooperative-sticky",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Assignor::Range,
            Assignor::RoundRobin,
            Assignor::Sticky,
            Assignor::CooperativeSticky,
        ]
        .into_iter()
        .find(|a| a.name() == s)
    }

    /// KIP-429: members keep what they own through a rebalance and give up only what moves.
    pub fn is_cooperative(self) -> bool {
        self == Assignor::CooperativeSticky
    }
}

impl std::fmt::Display for Assignor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A consumer's client settings (Kafka 3.x/4.x defaults).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ConsumerConfig {
    pub auto_offset_reset: OffsetReset,
    pub enable_auto_commit: bool,
    pub auto_commit_interval_ms: Millis,
    pub max_poll_records: u32,
    pub max_poll_interval_ms: Millis,
    pub session_timeout_ms: Millis,
    pub heartbeat_interval_ms: Millis,
    pub fetch_min_bytes: u64,
    pub fetch_max_wait_ms: Millis,
    pub assignor: Assignor,
    pub request_timeout_ms: Millis,
    pub retry_backoff_ms: Millis,
    pub metadata_max_age_ms: Millis,
    pub leader_epoch_validation: bool,
    pub isolation_level: IsolationLevel,
}

/// `isolation.level`: what a consumer may read of transactional data.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IsolationLevel {
    /// Everything below the high watermark, aborted transactions' records included.
    #[default]
    ReadUncommitted,
    /// Only below the last stable offset, without aborted transactions' records.
    ReadCommitted,
}

impl IsolationLevel {
    pub fn name(self) -> &'static str {
        match self {
            IsolationLevel::ReadUncommitted => "read_uncommitted",
            IsolationLevel::ReadCommitted => "read_committed",
        }
    }
}

impl Default for ConsumerConfig {
    fn default() -> Self {
        ConsumerConfig {
            auto_offset_reset: OffsetReset::Latest,
            enable_auto_commit: true,
            auto_commit_interval_ms: 5_000,
            max_poll_records: 500,
            max_poll_interval_ms: 300_000,
            session_timeout_ms: 45_000,
            heartbeat_interval_ms: 3_000,
            fetch_min_bytes: 1,
            fetch_max_wait_ms: 500,
            assignor: Assignor::Range,
            request_timeout_ms: 30_000,
            retry_backoff_ms: 100,
            metadata_max_age_ms: 300_000,
            leader_epoch_validation: true,
            isolation_level: IsolationLevel::ReadUncommitted,
        }
    }
}

impl ConsumerConfig {
    /// Sets a key already checked against [`KEYS`].
    pub fn set(&mut self, name: &str, v: &Value) {
        match name {
            "auto.offset.reset" => {
                self.auto_offset_reset = match v {
                    Value::Str(s) if s == "earliest" => OffsetReset::Earliest,
                    Value::Str(s) if s == "none" => OffsetReset::None,
                    _ => OffsetReset::Latest,
                }
            }
            "enable.auto.commit" => self.enable_auto_commit = as_bool(v),
            "auto.commit.interval.ms" => self.auto_commit_interval_ms = as_u64(v),
            "max.poll.records" => self.max_poll_records = as_u64(v).min(u32::MAX as u64) as u32,
            "max.poll.interval.ms" => self.max_poll_interval_ms = as_u64(v),
            "session.timeout.ms" => self.session_timeout_ms = as_u64(v),
            "heartbeat.interval.ms" => self.heartbeat_interval_ms = as_u64(v),
            "fetch.min.bytes" => self.fetch_min_bytes = as_u64(v),
            "fetch.max.wait.ms" => self.fetch_max_wait_ms = as_u64(v),
            "partition.assignment.strategy" => {
                if let Value::Str(s) = v {
                    self.assignor = Assignor::parse(s).unwrap_or(Assignor::Range);
                }
            }
            "request.timeout.ms" => self.request_timeout_ms = as_u64(v),
            "retry.backoff.ms" => self.retry_backoff_ms = as_u64(v),
            "metadata.max.age.ms" => self.metadata_max_age_ms = as_u64(v),
            "sim.leader.epoch.validation" => self.leader_epoch_validation = as_bool(v),
            "isolation.level" => {
                self.isolation_level = match v {
                    Value::Str(s) if s == "read_committed" => IsolationLevel::ReadCommitted,
                    _ => IsolationLevel::ReadUncommitted,
                }
            }
            _ => {}
        }
    }

    /// Every setting under Kafka's names: the inverse of [`ConsumerConfig::set`].
    pub fn entries(&self) -> Vec<(&'static str, Value)> {
        let i = |v: u64| Value::Int(v.min(i64::MAX as u64) as i64);
        vec![
            (
                "auto.offset.reset",
                Value::Str(self.auto_offset_reset.to_string()),
            ),
            ("enable.auto.commit", Value::Bool(self.enable_auto_commit)),
            ("auto.commit.interval.ms", i(self.auto_commit_interval_ms)),
            ("max.poll.records", i(self.max_poll_records as u64)),
            ("max.poll.interval.ms", i(self.max_poll_interval_ms)),
            ("session.timeout.ms", i(self.session_timeout_ms)),
            ("heartbeat.interval.ms", i(self.heartbeat_interval_ms)),
            ("fetch.min.bytes", i(self.fetch_min_bytes)),
            ("fetch.max.wait.ms", i(self.fetch_max_wait_ms)),
            (
                "partition.assignment.strategy",
                Value::Str(self.assignor.name().to_string()),
            ),
            ("request.timeout.ms", i(self.request_timeout_ms)),
            ("retry.backoff.ms", i(self.retry_backoff_ms)),
            ("metadata.max.age.ms", i(self.metadata_max_age_ms)),
            (
                "sim.leader.epoch.validation",
                Value::Bool(self.leader_epoch_validation),
            ),
            (
                "isolation.level",
                Value::Str(self.isolation_level.name().to_string()),
            ),
        ]
    }
}

/// Kafka keys the simulator knows but does not model, with why: a scenario that sets one is
/// told so (rather than "unknown setting"), with the reason as the help. None of them is in
/// [`KEYS`].
pub const UNMODELLED: &[(&str, Scope, &str)] = &[
    (
        "transactional.id.expiration.ms",
        Scope::Broker,
        "transactional ids never expire here",
    ),
    (
        "transaction.remove.expired.transaction.cleanup.interval.ms",
        Scope::Broker,
        "transactional ids never expire here, so there is nothing to remove",
    ),
    (
        "producer.id.expiration.ms",
        Scope::Broker,
        "idle producer ids never expire here (the broker keeps every producer's state)",
    ),
    (
        "producer.id.expiration.check.interval.ms",
        Scope::Broker,
        "idle producer ids never expire here (the broker keeps every producer's state)",
    ),
    (
        "transaction.state.log.segment.bytes",
        Scope::Broker,
        "__transaction_state rolls by the broker's log.segment.bytes and log.roll.ms here, and is not compacted",
    ),
    (
        "transaction.state.log.load.buffer.size",
        Scope::Broker,
        "a new transaction coordinator reads __transaction_state in one go here",
    ),
    (
        "transaction.two.phase.commit.enable",
        Scope::Broker,
        "KIP-939's two-phase commit with an external transaction manager is not modelled",
    ),
    (
        "transaction.two.phase.commit.enable",
        Scope::Producer,
        "KIP-939's two-phase commit with an external transaction manager is not modelled",
    ),
];

/// Why the simulator does not model `name`, a Kafka key of `scope` (or, failing that, of
/// another scope, which is returned with it).
pub fn unmodelled(scope: Scope, name: &str) -> Option<(Scope, &'static str)> {
    let find = |same: bool| {
        UNMODELLED
            .iter()
            .find(|(n, s, _)| *n == name && (*s == scope) == same)
            .map(|(_, s, why)| (*s, *why))
    };
    find(true).or_else(|| find(false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consumer_entries_are_the_inverse_of_set() {
        let mut c = ConsumerConfig::default();
        c.set(
            "partition.assignment.strategy",
            &Value::Str("cooperative-sticky".into()),
        );
        c.set("auto.offset.reset", &Value::Str("earliest".into()));
        c.set("max.poll.records", &Value::Int(7));
        let mut d = ConsumerConfig::default();
        for (k, v) in c.entries() {
            assert!(key(Scope::Consumer, k).is_some(), "{k} is a known key");
            d.set(k, &v);
        }
        assert_eq!(c, d);
    }

    #[test]
    fn idempotence_follows_kafkas_defaulting_rule() {
        let mut c = ProducerConfig::default();
        assert_eq!(c.idempotence(), Ok(true));
        c.set("acks", &Value::Str("1".into()));
        assert_eq!(c.idempotence(), Ok(false), "implicitly disabled by acks=1");
        c.set("enable.idempotence", &Value::Bool(true));
        assert!(c.idempotence().is_err(), "explicit conflict is an error");
    }

    #[test]
    fn every_key_has_a_unique_name_within_its_scope() {
        for (i, a) in KEYS.iter().enumerate() {
            for b in &KEYS[i + 1..] {
                assert!(
                    !(a.scope == b.scope && a.name == b.name),
                    "{} twice",
                    a.name
                );
            }
        }
    }

    #[test]
    fn kinds_explain_what_is_allowed() {
        let k = key(Scope::Producer, "acks").unwrap();
        assert!(k.kind.check(&Value::Str("all".into())).is_ok());
        assert!(k.kind.check(&Value::Int(1)).is_ok());
        let e = k.kind.check(&Value::Str("two".into())).unwrap_err();
        assert!(e.contains("\"all\""), "{e}");
        let k = key(Scope::Broker, "min.insync.replicas").unwrap();
        assert_eq!(
            k.kind.check(&Value::Int(0)).unwrap_err(),
            "must be between 1 and 100"
        );
    }

    #[test]
    fn unmodelled_keys_are_not_keys_and_say_why() {
        for (i, (name, scope, why)) in UNMODELLED.iter().enumerate() {
            assert!(
                KEYS.iter().all(|k| k.name != *name),
                "{name} is modelled: it is in KEYS"
            );
            assert!(
                CLUSTER_KEYS.iter().all(|k| k.name != *name),
                "{name} is a cluster key"
            );
            assert!(!why.is_empty() && !why.ends_with('.'), "{name}: {why:?}");
            assert!(
                UNMODELLED[i + 1..]
                    .iter()
                    .all(|(n, s, _)| !(n == name && s == scope)),
                "{name} twice"
            );
        }
        assert_eq!(
            unmodelled(Scope::Broker, "transactional.id.expiration.ms"),
            Some((Scope::Broker, "transactional ids never expire here"))
        );
        // Set in the wrong table, it is still known, with its own scope.
        assert_eq!(
            unmodelled(Scope::Consumer, "producer.id.expiration.ms").map(|(s, _)| s),
            Some(Scope::Broker)
        );
        assert_eq!(
            unmodelled(Scope::Producer, "transaction.two.phase.commit.enable").map(|(s, _)| s),
            Some(Scope::Producer)
        );
        // Modelled transactional keys are not refused.
        for (scope, name) in [
            (Scope::Broker, "transaction.partition.verification.enable"),
            (Scope::Consumer, "isolation.level"),
            (Scope::Producer, "transactional.id"),
        ] {
            assert!(key(scope, name).is_some() && unmodelled(scope, name).is_none());
        }
    }
}
