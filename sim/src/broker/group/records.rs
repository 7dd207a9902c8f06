//! The coordinator's records in `__consumer_offsets`: what it writes and how it reads them back.
//!
//! Kafka keeps two kinds of records there, both keyed so that the latest record per key wins:
//! an *offset commit* keyed by (group, topic, partition), and the *group metadata* keyed by the
//! group (generation, protocol, leader, and every member with its subscription, timeouts and
//! assignment). A new coordinator rebuilds the groups from nothing else, so everything it needs
//! to resume is in the value.
//!
//! Kafka serialises them in a binary schema; here they are text a learner can read in the trace:
//!
//! - key `offset:billing:orders-0`, value
//!   `offset:billing:orders-0 42 epoch 3 generation 5 at 12.345s` (epoch and generation `-1`
//!   when unknown, as Kafka writes them; `at` is Kafka's commit timestamp).
//! - key `group:billing`, value `group:billing generation 5 range leader consumer-0-1
//!   [consumer-0-1=orders-0,orders-1 consumer-1-2=orders-2] subscriptions
//!   [consumer-0-1=orders consumer-1-2=orders] owned [consumer-0-1= consumer-1-2=] timeouts
//!   [consumer-0-1=45000/300000 consumer-1-2=45000/300000]` (session/rebalance timeouts in ms),
//!   or `group:billing generation 6 empty`.
//!
//! The value repeats the key because the trace shows a record's value only.

use std::sync::Arc;

use crate::config::Assignor;
use crate::ids::{Millis, TopicPartition};
use crate::log::RecordData;
use crate::protocol::{OffsetAndEpoch, Subscription};
use crate::trace::fmt_time;

/// One member as the group metadata record stores it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredMember {
    pub id: Arc<str>,
    pub subscription: Subscription,
    pub session_timeout_ms: Millis,
    pub rebalance_timeout_ms: Millis,
    pub assignment: Vec<TopicPartition>,
}

/// Kafka's `GroupMetadataValue`: members in join order, the first being the oldest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredGroup {
    pub generation: u32,
    pub protocol: Option<Assignor>,
    pub leader: Option<Arc<str>>,
    pub members: Vec<StoredMember>,
}

/// What one record of `__consumer_offsets` says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stored {
    Offset {
        group: Arc<str>,
        offset: OffsetAndEpoch,
    },
    Group {
        group: Arc<str>,
        meta: StoredGroup,
    },
}

fn record(key: String, value: String, now: Millis) -> RecordData {
    RecordData {
        payload: None,
        size: (key.len() + value.len()) as u32 + 10,
        key: Some(key.into()),
        value: value.into(),
        timestamp: now,
    }
}

fn minus_one(v: Option<u32>) -> String {
    v.map(|v| v.to_string()).unwrap_or_else(|| "-1".into())
}

/// An offset commit: Kafka's `OffsetCommitKey` and `OffsetCommitValue`. The generation is not
/// in Kafka's value; it is here so the trace shows which generation committed.
pub fn offset_record(
    group: &str,
    o: &OffsetAndEpoch,
    generation: Option<u32>,
    now: Millis,
) -> RecordData {
    let key = format!("offset:{group}:{}", o.tp);
    let value = format!(
        "{key} {} epoch {} generation {} at {}",
        o.offset,
        minus_one(o.leader_epoch),
        minus_one(generation),
        fmt_time(now)
    );
    record(key, value, now)
}

fn list<'a>(members: &'a [StoredMember], f: impl Fn(&'a StoredMember) -> String) -> String {
    let s: Vec<String> = members
        .iter()
        .map(|m| format!("{}={}", m.id, f(m)))
        .collect();
    format!("[{}]", s.join(" "))
}

fn tps(v: &[TopicPartition]) -> String {
    let s: Vec<String> = v.iter().map(|tp| tp.to_string()).collect();
    s.join(",")
}

/// The group metadata record (`GroupMetadataKey`, `GroupMetadataValue`).
pub fn group_record(group: &str, g: &StoredGroup, now: Millis) -> RecordData {
    let key = format!("group:{group}");
    let value = match (g.protocol, &g.leader) {
        (Some(protocol), Some(leader)) if !g.members.is_empty() => format!(
            "{key} generation {} {protocol} leader {leader} {} subscriptions {} owned {} timeouts {}",
            g.generation,
            list(&g.members, |m| tps(&m.assignment)),
            list(&g.members, |m| m.subscription.topics.join(",")),
            list(&g.members, |m| tps(&m.subscription.owned)),
            list(&g.members, |m| format!(
                "{}/{}",
                m.session_timeout_ms, m.rebalance_timeout_ms
            )),
        ),
        _ => format!("{key} generation {} empty", g.generation),
    };
    record(key, value, now)
}

fn opt_u32(s: &str) -> Option<Option<u32>> {
    if s == "-1" {
        Some(None)
    } else {
        s.parse().ok().map(Some)
    }
}

fn parse_tps(s: &str) -> Option<Vec<TopicPartition>> {
    s.split(',')
        .filter(|x| !x.is_empty())
        .map(TopicPartition::parse)
        .collect()
}

/// The `id=value` entries of the bracketed list that follows `label` (the first list when
/// `label` is empty).
fn section<'a>(s: &'a str, label: &str) -> Option<Vec<(&'a str, &'a str)>> {
    let start = if label.is_empty() {
        s.find('[')?
    } else {
        s.find(&format!("{label} ["))? + label.len() + 1
    };
    let inner = &s[start + 1..];
    let inner = &inner[..inner.find(']')?];
    inner
        .split_whitespace()
        .map(|e| e.split_once('='))
        .collect()
}

fn lookup<'a>(v: &[(&'a str, &'a str)], id: &str) -> Option<&'a str> {
    v.iter().find(|e| e.0 == id).map(|e| e.1)
}

/// Reads a record the coordinator wrote; `None` for anything else.
pub fn parse(data: &RecordData) -> Option<Stored> {
    let key = data.key.as_deref()?;
    let rest = data.value.strip_prefix(key)?.trim_start();
    if let Some(k) = key.strip_prefix("offset:") {
        let (group, tp) = k.rsplit_once(':')?;
        let t: Vec<&str> = rest.split_whitespace().collect();
        if t.len() < 5 || t[1] != "epoch" || t[3] != "generation" {
            return None;
        }
        return Some(Stored::Offset {
            group: group.into(),
            offset: OffsetAndEpoch {
                tp: TopicPartition::parse(tp)?,
                offset: t[0].parse().ok()?,
                leader_epoch: opt_u32(t[2])?,
            },
        });
    }
    let group = key.strip_prefix("group:")?;
    let rest = rest.strip_prefix("generation ")?;
    let (generation, rest) = rest.split_once(' ')?;
    let generation = generation.parse().ok()?;
    if rest == "empty" {
        return Some(Stored::Group {
            group: group.into(),
            meta: StoredGroup {
                generation,
                protocol: None,
                leader: None,
                members: Vec::new(),
            },
        });
    }
    let (protocol, rest) = rest.split_once(' ')?;
    let protocol = Assignor::parse(protocol)?;
    let (leader, rest) = rest.strip_prefix("leader ")?.split_once(' ')?;
    let assignments = section(rest, "")?;
    let subscriptions = section(rest, "subscriptions")?;
    let owned = section(rest, "owned")?;
    let timeouts = section(rest, "timeouts")?;
    let mut members = Vec::new();
    for (id, assigned) in assignments {
        let topics = lookup(&subscriptions, id)?
            .split(',')
            .filter(|t| !t.is_empty())
            .map(Arc::from)
            .collect();
        let (session, rebalance) = lookup(&timeouts, id)?.split_once('/')?;
        members.push(StoredMember {
            id: id.into(),
            subscription: Subscription {
                topics,
                owned: parse_tps(lookup(&owned, id)?)?,
            },
            session_timeout_ms: session.parse().ok()?,
            rebalance_timeout_ms: rebalance.parse().ok()?,
            assignment: parse_tps(assigned)?,
        });
    }
    Some(Stored::Group {
        group: group.into(),
        meta: StoredGroup {
            generation,
            protocol: Some(protocol),
            leader: Some(leader.into()),
            members,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(id: &str, assignment: &[u32], owned: &[u32]) -> StoredMember {
        StoredMember {
            id: id.into(),
            subscription: Subscription {
                topics: vec!["orders".into(), "payments".into()],
                owned: owned
                    .iter()
                    .map(|p| TopicPartition::new("orders", *p))
                    .collect(),
            },
            session_timeout_ms: 45_000,
            rebalance_timeout_ms: 300_000,
            assignment: assignment
                .iter()
                .map(|p| TopicPartition::new("orders", *p))
                .collect(),
        }
    }

    #[test]
    fn records_read_back_as_written() {
        let g = StoredGroup {
            generation: 5,
            protocol: Some(Assignor::CooperativeSticky),
            leader: Some("consumer-0-1".into()),
            members: vec![
                member("consumer-0-1", &[0, 1], &[0]),
                member("consumer-1-2", &[], &[]),
            ],
        };
        let rec = group_record("billing", &g, 7);
        assert_eq!(rec.key.as_deref(), Some("group:billing"));
        assert!(rec.value.starts_with(
            "group:billing generation 5 cooperative-sticky leader consumer-0-1 \
             [consumer-0-1=orders-0,orders-1 consumer-1-2=]"
        ));
        assert_eq!(
            parse(&rec),
            Some(Stored::Group {
                group: "billing".into(),
                meta: g
            })
        );

        let empty = StoredGroup {
            generation: 6,
            protocol: None,
            leader: None,
            members: Vec::new(),
        };
        let rec = group_record("billing", &empty, 7);
        assert_eq!(&*rec.value, "group:billing generation 6 empty");
        assert_eq!(
            parse(&rec),
            Some(Stored::Group {
                group: "billing".into(),
                meta: empty
            })
        );

        let o = OffsetAndEpoch {
            tp: TopicPartition::new("orders", 0),
            offset: 42,
            leader_epoch: Some(3),
        };
        let rec = offset_record("a:b", &o, Some(5), 12_345);
        assert_eq!(
            &*rec.value,
            "offset:a:b:orders-0 42 epoch 3 generation 5 at 12.345s"
        );
        assert_eq!(
            parse(&rec),
            Some(Stored::Offset {
                group: "a:b".into(),
                offset: o
            })
        );
        let none = OffsetAndEpoch {
            tp: TopicPartition::new("orders", 1),
            offset: 0,
            leader_epoch: None,
        };
        let rec = offset_record("g", &none, None, 0);
        assert!(rec.value.contains("0 epoch -1 generation -1"));
        assert!(matches!(parse(&rec), Some(Stored::Offset { offset, .. }) if offset == none));
    }
}
