//! The group leader's partition assignors (`partition.assignment.strategy`).
//!
//! The group coordinator never assigns partitions: the leader member computes the assignment
//! from every member's subscription and sends it in its SyncGroup. These are Kafka's four
//! client-side assignors. `cooperative-sticky` (KIP-429) computes the sticky assignment and then
//! holds back every partition that would move from one owner to another: the owner first
//! revokes it, and the follow-up rebalance hands it to its new owner. The eager assignors give
//! out everything at once, because every member revoked everything before joining.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::config::Assignor;
use crate::ids::TopicPartition;
use crate::protocol::JoinedMember;

/// Member id → the partitions it is assigned.
pub type Assignment = BTreeMap<Arc<str>, Vec<TopicPartition>>;

/// Computes the assignment for `members` given the partition count of each topic.
pub fn assign(
    assignor: Assignor,
    members: &[JoinedMember],
    partitions: &BTreeMap<Arc<str>, u32>,
) -> Assignment {
    let mut out: Assignment = members
        .iter()
        .map(|m| (m.member_id.clone(), Vec::new()))
        .collect();
    match assignor {
        Assignor::Range => range(members, partitions, &mut out),
        Assignor::RoundRobin => round_robin(members, partitions, &mut out),
        Assignor::Sticky => sticky(members, partitions, &mut out),
        Assignor::CooperativeSticky => {
            sticky(members, partitions, &mut out);
            hold_back_moving(members, &mut out);
        }
    }
    for v in out.values_mut() {
        v.sort();
    }
    out
}

fn subscribers<'a>(members: &'a [JoinedMember], topic: &str) -> Vec<&'a Arc<str>> {
    let mut v: Vec<&Arc<str>> = members
        .iter()
        .filter(|m| m.subscription.topics.iter().any(|t| &**t == topic))
        .map(|m| &m.member_id)
        .collect();
    v.sort();
    v
}

fn all_partitions(
    members: &[JoinedMember],
    partitions: &BTreeMap<Arc<str>, u32>,
) -> Vec<TopicPartition> {
    let topics: BTreeSet<&Arc<str>> = members
        .iter()
        .flat_map(|m| m.subscription.topics.iter())
        .collect();
    topics
        .into_iter()
        .flat_map(|t| {
            let n = partitions.get(t).copied().unwrap_or(0);
            (0..n).map(move |p| TopicPartition::new(t.clone(), p))
        })
        .collect()
}

/// `RangeAssignor`: per topic, consecutive ranges; the first `n % members` get one more.
fn range(members: &[JoinedMember], partitions: &BTreeMap<Arc<str>, u32>, out: &mut Assignment) {
    let topics: BTreeSet<&Arc<str>> = members
        .iter()
        .flat_map(|m| m.subscription.topics.iter())
        .collect();
    for t in topics {
        let n = partitions.get(t).copied().unwrap_or(0);
        let subs = subscribers(members, t);
        if subs.is_empty() {
            continue;
        }
        let per = n / subs.len() as u32;
        let extra = n % subs.len() as u32;
        let mut next = 0;
        for (i, m) in subs.into_iter().enumerate() {
            let count = per + u32::from((i as u32) < extra);
            let v = out.get_mut(m).expect("member");
            for p in next..next + count {
                v.push(TopicPartition::new(t.clone(), p));
            }
            next += count;
        }
    }
}

/// `RoundRobinAssignor`: every partition in order, dealt to the subscribed members in turn.
fn round_robin(
    members: &[JoinedMember],
    partitions: &BTreeMap<Arc<str>, u32>,
    out: &mut Assignment,
) {
    let mut ids: Vec<&JoinedMember> = members.iter().collect();
    ids.sort_by(|a, b| a.member_id.cmp(&b.member_id));
    if ids.is_empty() {
        return;
    }
    let mut cursor = 0;
    for tp in all_partitions(members, partitions) {
        for _ in 0..ids.len() {
            let m = ids[cursor % ids.len()];
            cursor += 1;
            if m.subscription.topics.contains(&tp.topic) {
                out.get_mut(&m.member_id).expect("member").push(tp);
                break;
            }
        }
    }
}

/// `StickyAssignor`: keep what each member owns (if it still exists, is still subscribed and
/// nobody else claims it), give unowned partitions to the least loaded, then move partitions
/// from the most to the least loaded until the counts differ by at most one.
fn sticky(members: &[JoinedMember], partitions: &BTreeMap<Arc<str>, u32>, out: &mut Assignment) {
    let all: BTreeSet<TopicPartition> = all_partitions(members, partitions).into_iter().collect();
    let mut claims: BTreeMap<&TopicPartition, usize> = BTreeMap::new();
    for m in members {
        for tp in &m.subscription.owned {
            *claims.entry(tp).or_default() += 1;
        }
    }
    let mut taken: BTreeSet<TopicPartition> = BTreeSet::new();
    for m in members {
        for tp in &m.subscription.owned {
            if all.contains(tp)
                && claims[tp] == 1
                && m.subscription.topics.contains(&tp.topic)
                && taken.insert(tp.clone())
            {
                out.get_mut(&m.member_id).expect("member").push(tp.clone());
            }
        }
    }
    let subscribed = |id: &Arc<str>, tp: &TopicPartition| {
        members
            .iter()
            .any(|m| &m.member_id == id && m.subscription.topics.contains(&tp.topic))
    };
    for tp in all.iter().filter(|tp| !taken.contains(*tp)) {
        let least = out
            .iter()
            .filter(|(id, _)| subscribed(id, tp))
            .min_by_key(|(id, v)| (v.len(), (*id).clone()))
            .map(|(id, _)| id.clone());
        if let Some(id) = least {
            out.get_mut(&id).expect("member").push(tp.clone());
        }
    }
    // Rebalance: move the highest-numbered partitions off the most loaded member.
    loop {
        let most = out
            .iter()
            .max_by_key(|(id, v)| (v.len(), std::cmp::Reverse((*id).clone())))
            .map(|(id, v)| (id.clone(), v.len()));
        let Some((from, hi)) = most else { return };
        let moved = {
            let v = &out[&from];
            let mut candidates: Vec<&TopicPartition> = v.iter().collect();
            candidates.sort();
            candidates.into_iter().rev().find_map(|tp| {
                out.iter()
                    .filter(|(id, w)| **id != from && w.len() + 1 < hi && subscribed(id, tp))
                    .min_by_key(|(id, w)| (w.len(), (*id).clone()))
                    .map(|(id, _)| (tp.clone(), id.clone()))
            })
        };
        let Some((tp, to)) = moved else { return };
        out.get_mut(&from).expect("member").retain(|x| *x != tp);
        out.get_mut(&to).expect("member").push(tp);
    }
}

/// KIP-429: a partition still owned by another member is not assigned in this round.
fn hold_back_moving(members: &[JoinedMember], out: &mut Assignment) {
    let mut owner: BTreeMap<&TopicPartition, &Arc<str>> = BTreeMap::new();
    for m in members {
        for tp in &m.subscription.owned {
            owner.insert(tp, &m.member_id);
        }
    }
    for (id, v) in out.iter_mut() {
        v.retain(|tp| owner.get(tp).is_none_or(|o| *o == id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Subscription;

    fn member(id: &str, owned: &[(&str, u32)]) -> JoinedMember {
        JoinedMember {
            member_id: id.into(),
            subscription: Subscription {
                topics: vec!["orders".into()],
                owned: owned
                    .iter()
                    .map(|(t, p)| TopicPartition::new(*t, *p))
                    .collect(),
            },
        }
    }

    fn parts(n: u32) -> BTreeMap<Arc<str>, u32> {
        [("orders".into(), n)].into_iter().collect()
    }

    fn names(a: &Assignment, id: &str) -> Vec<u32> {
        a[id].iter().map(|tp| tp.partition).collect()
    }

    #[test]
    fn range_gives_consecutive_runs_and_the_extra_to_the_first_members() {
        let a = assign(
            Assignor::Range,
            &[member("a", &[]), member("b", &[])],
            &parts(5),
        );
        assert_eq!(names(&a, "a"), vec![0, 1, 2]);
        assert_eq!(names(&a, "b"), vec![3, 4]);
    }

    #[test]
    fn roundrobin_deals_partitions_in_turn() {
        let a = assign(
            Assignor::RoundRobin,
            &[member("a", &[]), member("b", &[])],
            &parts(5),
        );
        assert_eq!(names(&a, "a"), vec![0, 2, 4]);
        assert_eq!(names(&a, "b"), vec![1, 3]);
    }

    #[test]
    fn more_members_than_partitions_leaves_some_idle() {
        let ms = [member("a", &[]), member("b", &[]), member("c", &[])];
        for assignor in [
            Assignor::Range,
            Assignor::RoundRobin,
            Assignor::Sticky,
            Assignor::CooperativeSticky,
        ] {
            let a = assign(assignor, &ms, &parts(2));
            let total: usize = a.values().map(|v| v.len()).sum();
            assert_eq!(total, 2, "{assignor}: every partition once");
            assert_eq!(a.values().filter(|v| v.is_empty()).count(), 1, "{assignor}");
        }
    }

    #[test]
    fn sticky_keeps_what_members_own_and_moves_only_what_balance_needs() {
        // a owned everything; b joins: sticky moves the minimum (2 of 4), range would too but
        // not necessarily the same ones; sticky keeps a's lowest partitions.
        let ms = [
            member(
                "a",
                &[("orders", 0), ("orders", 1), ("orders", 2), ("orders", 3)],
            ),
            member("b", &[]),
        ];
        let a = assign(Assignor::Sticky, &ms, &parts(4));
        assert_eq!(names(&a, "a"), vec![0, 1]);
        assert_eq!(names(&a, "b"), vec![2, 3]);
    }

    #[test]
    fn cooperative_sticky_holds_back_partitions_until_their_owner_revoked_them() {
        let ms = [
            member(
                "a",
                &[("orders", 0), ("orders", 1), ("orders", 2), ("orders", 3)],
            ),
            member("b", &[]),
        ];
        let first = assign(Assignor::CooperativeSticky, &ms, &parts(4));
        assert_eq!(
            names(&first, "a"),
            vec![0, 1],
            "a keeps 0 and 1, revokes 2 and 3"
        );
        assert!(
            first["b"].is_empty(),
            "b gets nothing while a still owns them"
        );
        // The follow-up rebalance: a now owns only 0 and 1.
        let ms = [
            member("a", &[("orders", 0), ("orders", 1)]),
            member("b", &[]),
        ];
        let second = assign(Assignor::CooperativeSticky, &ms, &parts(4));
        assert_eq!(names(&second, "a"), vec![0, 1]);
        assert_eq!(names(&second, "b"), vec![2, 3]);
    }
}
