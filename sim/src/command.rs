//! Commands: the faults and interventions that change a running simulation.
//!
//! A scenario's `[[faults]]` table, the UI's buttons and an experiment's nemesis all produce
//! the same [`TimedCommand`]s, so anything done by hand can be saved as a scenario that replays
//! exactly.

use serde::Serialize;

use crate::ids::{Millis, NodeId, TopicPartition};
use crate::scenario::clients::{ConsumerDef, ProducerDef};
use crate::trace::CrashKind;

/// Which node a command acts on, resolved when the command runs.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum Target {
    Node(NodeId),
    /// The current leader of a partition, as the controller sees it at that moment.
    LeaderOf(TopicPartition),
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum Command {
    /// A broker or the controller dies.
    Crash {
        target: Target,
        kind: CrashKind,
    },
    /// A controlled shutdown: leadership moves away, logs are flushed, then the process stops.
    Shutdown {
        target: Target,
    },
    /// Starts a node that is down (crashed or shut down) from what its disk holds; a node that
    /// is running is left alone.
    Restart {
        target: Target,
    },
    /// The process stops running (a long GC pause) without losing anything.
    Pause {
        target: Target,
    },
    Resume {
        target: Target,
    },
    /// Cuts every link from each node of `from` to each node of `to` (and back unless `one_way`).
    Partition {
        from: Vec<Target>,
        to: Vec<Target>,
        one_way: bool,
    },
    /// Cuts a node off from every other node, both ways.
    Isolate {
        target: Target,
    },
    /// Heals the cuts between two groups (both ways), or all cuts when `between` is `None`.
    Heal {
        between: Option<(Vec<Target>, Vec<Target>)>,
    },
    /// Buffers messages on `from -> to` until released.
    Hold {
        from: Target,
        to: Target,
    },
    Release {
        from: Target,
        to: Target,
    },
    /// Changes a running producer: Kafka client settings (`acks`, `enable.idempotence`, ...)
    /// and/or its rate in records per second. Batches already made keep their settings.
    Producer {
        target: Target,
        settings: Vec<(String, crate::config::Value)>,
        rate: Option<f64>,
    },
    /// Crashes a consumer at the first moment at or after the command's time when it is in
    /// the middle of processing a poll's records (some processed, some not).
    CrashWhileProcessing {
        target: Target,
    },
    /// Creates a topic while the cluster runs (an admin client's `createTopics`).
    CreateTopic {
        name: std::sync::Arc<str>,
        partitions: u32,
        replication_factor: u32,
    },
    /// Grows a topic to `partitions` partitions (`kafka-topics --alter --partitions`).
    AddPartitions {
        topic: std::sync::Arc<str>,
        partitions: u32,
    },
    /// DeleteRecords (`kafka-delete-records`, `Admin.deleteRecords`) to a partition's leader:
    /// its log start offset moves to `offset`, or to the high watermark when `None` (-1).
    DeleteRecords {
        tp: TopicPartition,
        offset: Option<u64>,
    },
    /// Sets a link's latency range and loss (both directions if `both`).
    Link {
        from: Target,
        to: Target,
        latency_ms: (u64, u64),
        loss: f64,
        both: bool,
    },
    /// A consumer joins the running cluster (`add-consumer`): a new node,
    /// `NodeId::Consumer(n)` with `n` the next index after the scenario's consumers and those
    /// added before it. It starts at the command's time, whatever `start` says. (Boxed: a
    /// definition is large next to the other commands.)
    AddConsumer(Box<ConsumerDef>),
    /// A producer starts in the running cluster (`add-producer`): a new node,
    /// `NodeId::Producer(n)` with `n` the next index. Its workload starts at the command's
    /// time; named records (`sends`) keep their absolute times.
    AddProducer(Box<ProducerDef>),
    /// A real client opened a connection to `broker` (`kafkascope serve`): a new node,
    /// `NodeId::Client(client)`, numbered from 1 in the order connections open.
    ClientConnect {
        client: u16,
        broker: crate::ids::BrokerId,
        /// The `client.id` of its requests' headers.
        client_id: std::sync::Arc<str>,
    },
    /// The client's request number `request` on that connection, as the simulation's
    /// messages (the gateway's translation of the wire request).
    ClientRequest {
        client: u16,
        request: u64,
        messages: Vec<crate::protocol::Message>,
    },
    /// The client closed its connection (or vanished).
    ClientClose {
        client: u16,
    },
}

impl Command {
    /// Its `action` in a scenario file's `[[faults]]`, by which messages name a fault.
    pub fn action(&self) -> &'static str {
        match self {
            Command::Crash { .. } | Command::CrashWhileProcessing { .. } => "crash",
            Command::Shutdown { .. } => "shutdown",
            Command::Restart { .. } => "restart",
            Command::Pause { .. } => "pause",
            Command::Resume { .. } => "resume",
            Command::Partition { .. } => "partition",
            Command::Isolate { .. } => "isolate",
            Command::Heal { .. } => "heal",
            Command::Hold { .. } => "hold",
            Command::Release { .. } => "release",
            Command::Producer { .. } => "producer",
            Command::CreateTopic { .. } => "create-topic",
            Command::AddPartitions { .. } => "add-partitions",
            Command::DeleteRecords { .. } => "delete-records",
            Command::Link { .. } => "link",
            Command::AddConsumer(_) => "add-consumer",
            Command::AddProducer(_) => "add-producer",
            Command::ClientConnect { .. } => "client-connect",
            Command::ClientRequest { .. } => "client-request",
            Command::ClientClose { .. } => "client-close",
        }
    }

    /// The nodes the command names (not `leader of` targets, which resolve when it runs).
    pub fn nodes(&self) -> Vec<NodeId> {
        let ts: Vec<&Target> = match self {
            Command::Crash { target, .. }
            | Command::Shutdown { target }
            | Command::Restart { target }
            | Command::Pause { target }
            | Command::Resume { target }
            | Command::Isolate { target }
            | Command::Producer { target, .. }
            | Command::CrashWhileProcessing { target } => vec![target],
            Command::Partition { from, to, .. } => from.iter().chain(to).collect(),
            Command::Heal { between } => between
                .iter()
                .flat_map(|(a, b)| a.iter().chain(b))
                .collect(),
            Command::Hold { from, to }
            | Command::Release { from, to }
            | Command::Link { from, to, .. } => vec![from, to],
            Command::CreateTopic { .. }
            | Command::AddPartitions { .. }
            | Command::DeleteRecords { .. }
            | Command::AddConsumer(_)
            | Command::AddProducer(_)
            | Command::ClientConnect { .. }
            | Command::ClientRequest { .. }
            | Command::ClientClose { .. } => Vec::new(),
        };
        ts.into_iter()
            .filter_map(|t| match t {
                Target::Node(n) => Some(*n),
                Target::LeaderOf(_) => None,
            })
            .collect()
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TimedCommand {
    pub at: Millis,
    pub command: Command,
}
