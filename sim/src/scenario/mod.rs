//! Scenarios: a cluster, its clients, a network, a fault schedule, and what should happen.
//!
//! A scenario is a TOML file (format below, and in the README); [`parse`] turns one into a
//! [`Scenario`] or into a list of problems, each with its file, line and column, what is
//! wrong, and what is allowed. Configuration keys are Kafka's own names, checked against
//! [`crate::config::KEYS`].
//!
//! ```toml
//! [scenario]
//! name = "acks=1 and a leader crash"
//! description = "..."
//! seed = 7                       # optional (default 1); --seed overrides
//! duration = "30s"               # ms, s or m
//!
//! [cluster]
//! brokers = 3
//! truncation = "diverging-epoch" # Kafka 2.7+; "leader-epoch" (0.11 to 2.6), "high-watermark" (before 0.11)
//! metadata = "kraft"             # or "zookeeper" (the controller of the KIP-101 era)
//! eligible.leader.replicas.version = 1   # KIP-966's ELR: 1 on new Kafka 4.1 clusters, or 0
//!
//! [broker]                       # Kafka broker settings for every broker
//! min.insync.replicas = 2
//! [brokers.2]                    # ... or for one broker
//! log.flush.interval.messages = 1
//!
//! [[topics]]
//! name = "orders"
//! partitions = 1
//! replication.factor = 3
//! assignment = [[1, 2, 3]]       # optional; first replica is the initial leader
//!
//! [[producers]]
//! name = "a"                     # node `producer-a`
//! topic = "orders"
//! acks = "1"                     # any Kafka producer setting
//! rate = 100                     # records per second (optional)
//! start = "1s"                   # optional, default 0
//! stop = "20s"                   # optional, default the duration
//! keys = 8                       # 8 keys, or a list ["k1", "k2"], or absent for null keys
//! value_bytes = 100
//! sends = [{ at = "2s", value = "m1", key = "k" }]   # named records (optional)
//!
//! [[consumers]]
//! name = "billing-1"             # node `consumer-billing-1`; distinct from every producer's name
//! group = "billing"              # group.id; absent: the consumer assigns itself every partition
//!                                # of its topics and never commits (auto-commit off)
//! topics = ["orders"]            # or topic = "orders"; [[topics]] or created by a create-topic fault
//! auto.offset.reset = "earliest" # any Kafka consumer setting (`kafkascope configs`)
//! enable.auto.commit = false     # true needs a group, as in Kafka
//! max.poll.records = 50
//! process = "2ms"                # time per record: "250us", "2ms", "1s" (default 0)
//! commit = "after"               # "after": process, then commitSync (at-least-once);
//!                                # "after-async": process, then commitAsync; "before": commitSync,
//!                                # then process (at-most-once); "none" (default). Not "none" needs a group
//! start = "5s"                   # optional, default 0; before the end of the run
//! stop = "40s"                   # optional: close(), leaving the group
//!
//! [consumers.output]             # optional: the consumer is a stream processor
//! topic = "features"             # where it produces (not one of the topics it reads)
//! transform = "windowed-count"   # per key, counts in tumbling windows of record time
//! window = "1s"
//! threshold = 20                 # a count above it scores "high"
//! acks = "all"                   # any Kafka producer setting, for the processor's producer
//!
//! [network]
//! latency = "1ms..3ms"
//! loss = 0.0
//! [[network.links]]
//! from = "producer-a"            # any node: broker-N, controller, reader, producer-<name>,
//! to = "broker-1"                # consumer-<name>
//! latency = "20ms"
//! both = true
//!
//! [[faults]]
//! at = "5s"
//! action = "crash"               # crash shutdown restart pause resume partition isolate heal hold
//!                                # release link producer create-topic add-partitions add-consumer
//!                                # add-producer
//! target = "leader of orders-0"  # or "broker-2", "controller", "consumer-billing-1"
//! kind = "power-loss"            # crash only: "process" (default) or "power-loss"
//!
//! # crash, shutdown (a consumer's close()), restart, pause and resume act on brokers, the
//! # controller and consumers; isolate, partition, hold, release and link on any node.
//! [[faults]]
//! at = "10s"
//! action = "crash"
//! target = "consumer-billing-1"
//! when = "mid-batch"             # at the first moment after `at` when it has processed some of a
//!                                # poll's records and not all (consumers with a `process` time)
//!
//! [[faults]]
//! at = "15s"
//! action = "create-topic"        # an admin client's createTopics while the cluster runs
//! topic = "clicks"
//! partitions = 2                 # optional, default 1
//! replication.factor = 2         # optional, default min(brokers, 3)
//!
//! [[faults]]
//! at = "20s"
//! action = "add-partitions"      # kafka-topics --alter: only grows a topic that exists by then
//! topic = "orders"
//! partitions = 6                 # the new total
//!
//! [[faults]]
//! at = "25s"
//! action = "producer"            # changes a running producer
//! target = "producer-a"
//! acks = "all"                   # acks, enable.idempotence, linger.ms, retries,
//! rate = 50                      # max.in.flight.requests.per.connection, and/or rate
//!
//! [[faults]]
//! at = "30s"
//! action = "add-consumer"        # a consumer joins the running cluster: the keys of a
//! name = "billing-2"             # [[consumers]] table but `start` (it starts at `at`). Its node
//! group = "billing"              # (consumer-billing-2) takes the next consumer index; faults
//! topics = ["orders"]            # after it may name it, faults before it may not
//! process = "2ms"
//! commit = "after"
//!                                # a [faults.output] table makes it a stream processor
//! [[faults]]
//! at = "35s"
//! action = "add-producer"        # a producer starts: the keys of a [[producers]] table but
//! name = "web"                   # `start`; its topic must exist by `at`, and `sends` are at
//! topic = "orders"               # times of the run, not before `at`
//! rate = 20
//! stop = "50s"
//!
//! [expect]
//! lost_acknowledged = ">0"       # counts: 3, ">0", "<=2", "==0"
//! no_lost_acknowledged = "violated"  # checkers: "holds" or "violated"
//! ```

pub mod clients;
pub mod edit;
mod parse;
pub mod validate;
mod write;

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;

pub use clients::{
    CommitPoint, ConsumerDef, Processing, ProcessingGuarantee, ProducerDef, StreamOutput, Transform,
};
pub use parse::{parse, parse_duration, Problem, ScenarioError};
pub use validate::{validate, Violation};
pub use write::to_toml;

use crate::broker::TruncationMode;
use crate::command::{Command, TimedCommand};
use crate::config::{BrokerConfig, ClusterFeatures, TopicOverrides};
use crate::ids::{BrokerId, Millis, NodeId, NodeNames};
use crate::network::LinkParams;

#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    pub name: String,
    pub description: String,
    pub reference: Option<String>,
    pub seed: u64,
    pub duration: Millis,
    pub brokers: u32,
    pub truncation: TruncationMode,
    /// The metadata mode and features: Kafka 4.1 (KRaft, ELR) unless the file says otherwise.
    pub features: ClusterFeatures,
    /// Whether the checking reader runs.
    pub reader: bool,
    /// Settings of every broker, with per-broker overrides applied (index = broker id - 1).
    pub broker_configs: Vec<BrokerConfig>,
    pub topics: Vec<TopicDef>,
    pub producers: Vec<ProducerDef>,
    pub consumers: Vec<ConsumerDef>,
    pub network: NetworkDef,
    pub faults: Vec<TimedCommand>,
    pub expect: Vec<Expectation>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct TopicDef {
    pub name: Arc<str>,
    pub partitions: u32,
    pub replication_factor: u32,
    pub overrides: TopicOverrides,
    /// Replicas of each partition, preferred leader first.
    pub assignment: Vec<Vec<BrokerId>>,
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct NetworkDef {
    pub default: LinkParams,
    /// Directed links with their own parameters.
    pub links: Vec<(NodeId, NodeId, LinkParams)>,
}

/// A count the run reports, which `[expect]` can constrain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Count {
    Produced,
    Acknowledged,
    Failed,
    LostAcknowledged,
    Duplicated,
    Reordered,
    Consumed,
    UncleanElections,
    Truncated,
    Processed,
    Reprocessed,
    Skipped,
    Rebalances,
    CommitFailures,
    MaxLag,
    TruncationsDetected,
    Output,
    TransactionsCommitted,
    TransactionsAborted,
    AbortedReads,
    HangingTransactions,
    ZombieWrites,
    DeletedByRetention,
    LostToRetention,
}

impl Count {
    pub const ALL: [Count; 24] = [
        Count::Produced,
        Count::Acknowledged,
        Count::Failed,
        Count::LostAcknowledged,
        Count::Duplicated,
        Count::Reordered,
        Count::Consumed,
        Count::UncleanElections,
        Count::Truncated,
        Count::Processed,
        Count::Reprocessed,
        Count::Skipped,
        Count::Rebalances,
        Count::CommitFailures,
        Count::MaxLag,
        Count::TruncationsDetected,
        Count::Output,
        Count::TransactionsCommitted,
        Count::TransactionsAborted,
        Count::AbortedReads,
        Count::HangingTransactions,
        Count::ZombieWrites,
        Count::DeletedByRetention,
        Count::LostToRetention,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Count::Produced => "produced",
            Count::Acknowledged => "acknowledged",
            Count::Failed => "failed",
            Count::LostAcknowledged => "lost_acknowledged",
            Count::Duplicated => "duplicated",
            Count::Reordered => "reordered",
            Count::Consumed => "consumed",
            Count::UncleanElections => "unclean_elections",
            Count::Truncated => "truncated",
            Count::Processed => "processed",
            Count::Reprocessed => "reprocessed",
            Count::Skipped => "skipped",
            Count::Rebalances => "rebalances",
            Count::CommitFailures => "commit_failures",
            Count::MaxLag => "max_lag",
            Count::TruncationsDetected => "truncations_detected",
            Count::Output => "output",
            Count::TransactionsCommitted => "transactions_committed",
            Count::TransactionsAborted => "transactions_aborted",
            Count::AbortedReads => "aborted_reads",
            Count::HangingTransactions => "hanging_transactions",
            Count::DeletedByRetention => "deleted_by_retention",
            Count::LostToRetention => "lost_to_retention",
            Count::ZombieWrites => "zombie_writes",
        }
    }

    pub fn doc(self) -> &'static str {
        match self {
            Count::Produced => "records handed to a producer (send())",
            Count::Acknowledged => "records acknowledged with an offset (acks=1 or all)",
            Count::Failed => "records whose send finally failed or expired",
            Count::LostAcknowledged => "acknowledged records missing from the final log",
            Count::Duplicated => "records present more than once in the final log",
            Count::Reordered => {
                "records that appear after a later record of the same producer and partition"
            }
            Count::Consumed => "records the checking reader read",
            Count::UncleanElections => "leaders elected from outside the ISR",
            Count::Truncated => {
                "records of the scenario's topics removed from some replica by truncation or power loss"
            }
            Count::Processed => "records consumers finished processing (every time, repeats included)",
            Count::Reprocessed => {
                "records a group processed more than once (at-least-once redelivery, zombies)"
            }
            Count::Skipped => {
                "records of the committed log a group passed over without processing (at-most-once)"
            }
            Count::Rebalances => "generations started by group coordinators, the first join included",
            Count::CommitFailures => "offset commits that failed (CommitFailedException and others)",
            Count::MaxLag => {
                "records-lag-max: the largest HW - position of any group on any partition, at any time"
            }
            Count::TruncationsDetected => {
                "log truncations consumers detected under their position (KIP-320)"
            }
            Count::Output => "records stream processors produced to their output topics",
            Count::TransactionsCommitted => {
                "transactions their coordinator completed as committed (CompleteCommit)"
            }
            Count::TransactionsAborted => {
                "transactions their coordinator completed as aborted (CompleteAbort)"
            }
            Count::AbortedReads => {
                "records of aborted transactions consumers polled (every time; read_uncommitted does)"
            }
            Count::HangingTransactions => {
                "transactions a partition opened that its coordinator does not know (KIP-890's hanging transactions)"
            }
            Count::ZombieWrites => {
                "records a fenced producer instance sent that were committed anyway"
            }
            Count::DeletedByRetention => {
                "acknowledged records below the leader's log start offset at the end (retention or DeleteRecords deleted them, as configured: not lost)"
            }
            Count::LostToRetention => {
                "records a group never processed because they were deleted first (its position fell below the log start: OFFSET_OUT_OF_RANGE)"
            }
        }
    }
}

/// The invariants checked over every trace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckerId {
    NoLostAcknowledged,
    NoDuplicates,
    NoReordering,
    LogMatching,
    StrongIsr,
    LeaderInIsr,
    ValidHighWatermark,
    WeakIsr,
    ElrDisjointFromIsr,
    NoSkippedRecords,
    NoReprocessing,
    MonotonicPolls,
    NoCommitRegression,
    NoDoubleAssignment,
    NoReadAboveHw,
    NoAbortedReads,
    NoZombieWrites,
    NoHangingTransactions,
}

impl CheckerId {
    pub const ALL: [CheckerId; 18] = [
        CheckerId::NoLostAcknowledged,
        CheckerId::NoDuplicates,
        CheckerId::NoReordering,
        CheckerId::LogMatching,
        CheckerId::StrongIsr,
        CheckerId::LeaderInIsr,
        CheckerId::ValidHighWatermark,
        CheckerId::WeakIsr,
        CheckerId::ElrDisjointFromIsr,
        CheckerId::NoSkippedRecords,
        CheckerId::NoReprocessing,
        CheckerId::MonotonicPolls,
        CheckerId::NoCommitRegression,
        CheckerId::NoDoubleAssignment,
        CheckerId::NoReadAboveHw,
        CheckerId::NoAbortedReads,
        CheckerId::NoZombieWrites,
        CheckerId::NoHangingTransactions,
    ];

    pub fn name(self) -> &'static str {
        match self {
            CheckerId::NoLostAcknowledged => "no_lost_acknowledged",
            CheckerId::NoDuplicates => "no_duplicates",
            CheckerId::NoReordering => "no_reordering",
            CheckerId::LogMatching => "log_matching",
            CheckerId::StrongIsr => "strong_isr",
            CheckerId::LeaderInIsr => "leader_in_isr",
            CheckerId::ValidHighWatermark => "valid_high_watermark",
            CheckerId::WeakIsr => "weak_isr",
            CheckerId::ElrDisjointFromIsr => "elr_disjoint_from_isr",
            CheckerId::NoSkippedRecords => "no_skipped_records",
            CheckerId::NoReprocessing => "no_reprocessing",
            CheckerId::MonotonicPolls => "monotonic_polls",
            CheckerId::NoCommitRegression => "no_commit_regression",
            CheckerId::NoDoubleAssignment => "no_double_assignment",
            CheckerId::NoReadAboveHw => "no_read_above_hw",
            CheckerId::NoAbortedReads => "no_aborted_reads",
            CheckerId::NoZombieWrites => "no_zombie_writes",
            CheckerId::NoHangingTransactions => "no_hanging_transactions",
        }
    }

    pub fn doc(self) -> &'static str {
        match self {
            CheckerId::NoLostAcknowledged => "every acknowledged record is in the final log",
            CheckerId::NoDuplicates => "no record is in a partition's log twice",
            CheckerId::NoReordering => {
                "each producer's records keep their send order within a partition"
            }
            CheckerId::LogMatching => {
                "two replicas never hold different records at an offset below both HWs"
            }
            CheckerId::StrongIsr => {
                "a new leader holds every record that was below the HW (committed)"
            }
            CheckerId::LeaderInIsr => "the controller's leader is always a member of the ISR",
            CheckerId::ValidHighWatermark => {
                "a leader's HW never passes the log end of a running member of its maximal ISR (AsyncIsr.tla)"
            }
            CheckerId::WeakIsr => {
                "a replica joins the ISR only holding the leader's records below the HW (KafkaReplication.tla)"
            }
            CheckerId::ElrDisjointFromIsr => {
                "no replica is in both the ISR and the Eligible Leader Replicas (KIP-966)"
            }
            CheckerId::NoSkippedRecords => {
                "each group processed every committed record between where it started and the last offset it processed"
            }
            CheckerId::NoReprocessing => "no group processes the same record twice",
            CheckerId::MonotonicPolls => {
                "while a consumer owns a partition, each poll starts where the previous one ended"
            }
            CheckerId::NoCommitRegression => "a group's committed offset never moves backwards",
            CheckerId::NoDoubleAssignment => {
                "no two live members of a group's current generation own one partition at once"
            }
            CheckerId::NoReadAboveHw => {
                "no consumer reads a record at or above the highest HW a leader announced"
            }
            CheckerId::NoAbortedReads => {
                "no consumer polls a record of a transaction that aborted (read_uncommitted does)"
            }
            CheckerId::NoZombieWrites => {
                "no record a producer sent after a newer instance initialized its transactional.id is committed"
            }
            CheckerId::NoHangingTransactions => {
                "every transaction a partition opens is one its coordinator has ongoing with that partition (KIP-890)"
            }
        }
    }
}

/// A comparison of two counts, as `[expect]` and a lesson's conditions write them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Cmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Cmp {
    pub fn holds(self, actual: u64, expected: u64) -> bool {
        match self {
            Cmp::Eq => actual == expected,
            Cmp::Ne => actual != expected,
            Cmp::Lt => actual < expected,
            Cmp::Le => actual <= expected,
            Cmp::Gt => actual > expected,
            Cmp::Ge => actual >= expected,
        }
    }

    pub fn symbol(self) -> &'static str {
        match self {
            Cmp::Eq => "==",
            Cmp::Ne => "!=",
            Cmp::Lt => "<",
            Cmp::Le => "<=",
            Cmp::Gt => ">",
            Cmp::Ge => ">=",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum Expectation {
    Count { count: Count, cmp: Cmp, value: u64 },
    Checker { checker: CheckerId, holds: bool },
}

impl Scenario {
    pub fn broker_ids(&self) -> Vec<BrokerId> {
        (1..=self.brokers).collect()
    }

    pub fn broker_config(&self, id: BrokerId) -> &BrokerConfig {
        &self.broker_configs[(id - 1) as usize]
    }

    pub fn topic_overrides(&self) -> BTreeMap<Arc<str>, TopicOverrides> {
        self.topics
            .iter()
            .chain(self.transaction_topic().as_ref())
            .map(|t| (t.name.clone(), t.overrides.clone()))
            .collect()
    }

    /// Every node's name: the declared producers and consumers, then those the `add-producer`
    /// and `add-consumer` faults add (so that faults, lessons and the writer can name them).
    pub fn names(&self) -> NodeNames {
        NodeNames {
            producers: self.all_producers().map(|p| p.name.clone()).collect(),
            consumers: self.all_consumers().map(|c| c.name.clone()).collect(),
        }
    }

    /// The faults in the order a simulation applies them: by time, and in list order within
    /// a millisecond.
    pub fn faults_in_order(&self) -> Vec<&TimedCommand> {
        let mut f: Vec<&TimedCommand> = self.faults.iter().collect();
        f.sort_by_key(|c| c.at);
        f
    }

    /// Producers by node index (`NodeId::Producer(i)` is the `i`-th): the `[[producers]]`,
    /// then those `add-producer` faults start, in the order they run.
    pub fn all_producers(&self) -> impl Iterator<Item = &ProducerDef> {
        let added = self
            .faults_in_order()
            .into_iter()
            .filter_map(|c| match &c.command {
                Command::AddProducer(p) => Some(&**p),
                _ => None,
            });
        self.producers.iter().chain(added)
    }

    /// Consumers by node index, declared then added (see [`Scenario::all_producers`]).
    pub fn all_consumers(&self) -> impl Iterator<Item = &ConsumerDef> {
        let added = self
            .faults_in_order()
            .into_iter()
            .filter_map(|c| match &c.command {
                Command::AddConsumer(c) => Some(&**c),
                _ => None,
            });
        self.consumers.iter().chain(added)
    }

    /// The producer `NodeId::Producer(i)`, declared or added by a fault.
    pub fn producer(&self, i: u16) -> Option<&ProducerDef> {
        self.all_producers().nth(usize::from(i))
    }

    /// The consumer `NodeId::Consumer(i)`, declared or added by a fault.
    pub fn consumer(&self, i: u16) -> Option<&ConsumerDef> {
        self.all_consumers().nth(usize::from(i))
    }

    /// `__consumer_offsets`, when some `[[consumers]]` entry belongs to a group: created with
    /// the cluster (Kafka creates it on the first FindCoordinator), partitions and replicas from
    /// the `offsets.topic.*` broker settings, replicas spread round-robin. Without one, the host
    /// creates it when the first consumer with a group is added (`add-consumer`), so that a
    /// consumer added by hand and the same consumer in a saved file run alike.
    pub fn offsets_topic(&self) -> Option<TopicDef> {
        if !self.consumers.iter().any(|c| c.group.is_some()) {
            return None;
        }
        let cfg = &self.broker_configs[0];
        let partitions = cfg.offsets_topic_num_partitions.max(1);
        let rf = cfg
            .offsets_topic_replication_factor
            .clamp(1, self.brokers.max(1));
        let assignment = (0..partitions)
            .map(|p| {
                (0..rf)
                    .map(|r| (p + r) % self.brokers + 1)
                    .collect::<Vec<BrokerId>>()
            })
            .collect();
        Some(TopicDef {
            name: crate::ids::OFFSETS_TOPIC.into(),
            partitions,
            replication_factor: rf,
            overrides: TopicOverrides::default(),
            assignment,
        })
    }

    /// `__transaction_state`, when some producer (declared or added by a fault) has a
    /// `transactional.id`: created with the cluster (Kafka creates it on the first
    /// FindCoordinator for a transaction), partitions, replicas and min ISR from the
    /// `transaction.state.log.*` broker settings, replicas spread round-robin.
    pub fn transaction_topic(&self) -> Option<TopicDef> {
        let eos = |c: &ConsumerDef| {
            c.output
                .as_ref()
                .is_some_and(|o| o.guarantee == ProcessingGuarantee::ExactlyOnceV2)
        };
        if !self
            .all_producers()
            .any(|p| p.config.transactional_id.is_some())
            && !self.all_consumers().any(eos)
        {
            return None;
        }
        let cfg = &self.broker_configs[0];
        let partitions = cfg.transaction_state_log_num_partitions.max(1);
        let rf = cfg
            .transaction_state_log_replication_factor
            .clamp(1, self.brokers.max(1));
        let assignment = (0..partitions)
            .map(|p| {
                (0..rf)
                    .map(|r| (p + r) % self.brokers + 1)
                    .collect::<Vec<BrokerId>>()
            })
            .collect();
        Some(TopicDef {
            name: crate::ids::TXN_STATE_TOPIC.into(),
            partitions,
            replication_factor: rf,
            overrides: TopicOverrides {
                min_insync_replicas: Some(cfg.transaction_state_log_min_isr.min(rf)),
                unclean_leader_election_enable: Some(false),
                ..TopicOverrides::default()
            },
            assignment,
        })
    }

    /// The scenario's topics followed by the internal ones.
    pub fn all_topics(&self) -> Vec<TopicDef> {
        let mut t = self.topics.clone();
        t.extend(self.offsets_topic());
        t.extend(self.transaction_topic());
        t
    }
}
