//! Names of the things in a cluster: nodes, brokers, topic-partitions.
//!
//! Identifiers are small `Copy`/`Ord` values so that every map in the model can be a
//! `BTreeMap` (deterministic iteration order is part of the determinism contract).

use std::fmt;
use std::sync::Arc;

use serde::Serialize;

/// Virtual time in milliseconds since the start of the run.
pub type Millis = u64;

/// Kafka's internal topic of committed offsets and group metadata.
pub const OFFSETS_TOPIC: &str = "__consumer_offsets";

/// Which `__consumer_offsets` partition holds a group: Kafka's
/// `Utils.abs(groupId.hashCode) % offsets.topic.num.partitions`, with Java's `String.hashCode`.
pub fn group_partition(group: &str, partitions: u32) -> u32 {
    let mut h: i32 = 0;
    for c in group.encode_utf16() {
        h = h.wrapping_mul(31).wrapping_add(c as i32);
    }
    // Kafka's Utils.abs maps Integer.MIN_VALUE to 0.
    let abs = if h == i32::MIN { 0 } else { h.unsigned_abs() };
    abs % partitions.max(1)
}

/// The internal topic that holds the transaction coordinators' state.
pub const TXN_STATE_TOPIC: &str = "__transaction_state";

/// Whether a topic is one of Kafka's internal topics (written by coordinators, not producers).
pub fn is_internal_topic(topic: &str) -> bool {
    topic == OFFSETS_TOPIC || topic == TXN_STATE_TOPIC
}

/// Which `__transaction_state` partition holds a `transactional.id`: Kafka's
/// `partitionFor(transactionalId)`, the same hash as a group's.
pub fn txn_partition(transactional_id: &str, partitions: u32) -> u32 {
    group_partition(transactional_id, partitions)
}

/// A broker id, as in Kafka's `node.id` (1-based in scenarios).
pub type BrokerId = u32;

/// A simulated machine. One per role, as the scenario names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum NodeId {
    Controller,
    Broker(BrokerId),
    /// Index into the scenario's producer list.
    Producer(u16),
    /// The checking reader that consumes every partition up to the HW.
    Reader,
    /// Index into the scenario's consumer list (a group member, or a stream processor).
    Consumer(u16),
    /// A real Kafka client's connection to one broker (`kafkascope serve`), numbered from 1 in
    /// the order they connected.
    Client(u16),
}

impl NodeId {
    pub fn broker(self) -> Option<BrokerId> {
        match self {
            NodeId::Broker(b) => Some(b),
            _ => None,
        }
    }
}

/// A topic-partition, rendered the way Kafka's tools render it: `orders-0`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize)]
pub struct TopicPartition {
    pub topic: Arc<str>,
    pub partition: u32,
}

impl TopicPartition {
    pub fn new(topic: impl Into<Arc<str>>, partition: u32) -> Self {
        TopicPartition {
            topic: topic.into(),
            partition,
        }
    }

    /// Parses `orders-0` (the partition is the number after the last dash).
    pub fn parse(s: &str) -> Option<Self> {
        let (topic, p) = s.rsplit_once('-')?;
        if topic.is_empty() {
            return None;
        }
        Some(TopicPartition::new(topic, p.parse().ok()?))
    }
}

impl fmt::Display for TopicPartition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.topic, self.partition)
    }
}

/// Names for nodes, taken from the scenario so traces read `producer-a`, not `Producer(0)`.
#[derive(Clone, Debug, Default)]
pub struct NodeNames {
    pub producers: Vec<String>,
    pub consumers: Vec<String>,
}

impl NodeNames {
    pub fn name(&self, node: NodeId) -> String {
        match node {
            NodeId::Controller => "controller".to_string(),
            NodeId::Broker(b) => format!("broker-{b}"),
            NodeId::Producer(i) => match self.producers.get(i as usize) {
                Some(n) => format!("producer-{n}"),
                None => format!("producer-{i}"),
            },
            NodeId::Reader => "reader".to_string(),
            NodeId::Client(i) => format!("client-{i}"),
            NodeId::Consumer(i) => match self.consumers.get(i as usize) {
                Some(n) => format!("consumer-{n}"),
                None => format!("consumer-{i}"),
            },
        }
    }

    /// Names a producer or consumer added while the cluster runs (`name` without its
    /// `producer-`/`consumer-` prefix). Other nodes have fixed names.
    pub fn add(&mut self, node: NodeId, name: &str) {
        let (list, i) = match node {
            NodeId::Producer(i) => (&mut self.producers, i as usize),
            NodeId::Consumer(i) => (&mut self.consumers, i as usize),
            _ => return,
        };
        while list.len() < i {
            list.push(list.len().to_string());
        }
        if i < list.len() {
            list[i] = name.to_string();
        } else {
            list.push(name.to_string());
        }
    }

    /// The inverse of [`NodeNames::name`].
    pub fn parse(&self, s: &str) -> Option<NodeId> {
        if s == "controller" {
            return Some(NodeId::Controller);
        }
        if s == "reader" {
            return Some(NodeId::Reader);
        }
        if let Some(b) = s.strip_prefix("broker-") {
            return b.parse().ok().map(NodeId::Broker);
        }
        if let Some(c) = s.strip_prefix("client-") {
            return c.parse().ok().filter(|i| *i > 0).map(NodeId::Client);
        }
        if let Some(p) = s.strip_prefix("producer-") {
            return self
                .producers
                .iter()
                .position(|n| n == p)
                .map(|i| NodeId::Producer(i as u16));
        }
        if let Some(c) = s.strip_prefix("consumer-") {
            return self
                .consumers
                .iter()
                .position(|n| n == c)
                .map(|i| NodeId::Consumer(i as u16));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_partition_round_trips_through_its_kafka_spelling() {
        let tp = TopicPartition::parse("my-orders-12").unwrap();
        assert_eq!(&*tp.topic, "my-orders");
        assert_eq!(tp.partition, 12);
        assert_eq!(tp.to_string(), "my-orders-12");
        assert!(TopicPartition::parse("orders").is_none());
        assert!(TopicPartition::parse("-3").is_none());
    }

    #[test]
    fn groups_map_to_offsets_partitions_as_in_kafka() {
        // "my-group".hashCode() == -1906497762 in Java; 1906497762 % 50 == 12.
        assert_eq!(group_partition("my-group", 50), 12);
        assert_eq!(group_partition("anything", 1), 0);
    }
}
