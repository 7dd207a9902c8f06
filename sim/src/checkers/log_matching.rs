//! LogMatching: two replicas never hold different records at an offset below both their HWs.
//!
//! Also judged on the final logs ([`LogMatching::finish`]): every running follower must hold
//! the leader's records below the leader's HW, so a divergence that never moved an HW (a
//! follower that kept a record the leader does not have) is still caught.
//!
//! Checked incrementally: when a replica's HW rises, the newly covered offsets are compared
//! with every other *active* replica. A replica becomes active once it has a role and has
//! fetched since (a restarted follower may legitimately hold a divergent suffix until it has
//! truncated; what matters is what it holds once it serves as a replica again).

use std::collections::BTreeSet;

use super::{note, Violation};
use crate::ids::{BrokerId, Millis, TopicPartition};
use crate::replay::{agrees, Replay, ReplayRole};
use crate::trace::Event;

#[derive(Default)]
pub(super) struct LogMatching {
    active: BTreeSet<(TopicPartition, BrokerId)>,
    /// HW up to which each active replica has been compared.
    checked: std::collections::BTreeMap<(TopicPartition, BrokerId), u64>,
    pub violation: Option<Violation>,
}

impl LogMatching {
    pub fn observe(&mut self, i: usize, at: Millis, e: &Event, replay: &Replay) {
        let (tp, b) = match e {
            Event::BecameLeader { broker, tp, .. } => (tp, *broker),
            Event::Appended {
                broker,
                tp,
                leader: false,
                ..
            }
            | Event::HighWatermark { broker, tp, .. } => (tp, *broker),
            Event::BecameFollower { broker, tp, .. } => {
                self.active.remove(&(tp.clone(), *broker));
                self.checked.remove(&(tp.clone(), *broker));
                return;
            }
            Event::Truncated { broker, tp, to, .. } => {
                if let Some(c) = self.checked.get_mut(&(tp.clone(), *broker)) {
                    *c = (*c).min(*to);
                }
                return;
            }
            Event::Crashed { node, .. } | Event::ShutDown { node } => {
                if let Some(b) = node.broker() {
                    self.active.retain(|(_, x)| *x != b);
                    self.checked.retain(|(_, x), _| *x != b);
                }
                return;
            }
            _ => return,
        };
        let Some(r) = replay.replica(tp, b) else {
            return;
        };
        if r.role == ReplayRole::None {
            return;
        }
        let key = (tp.clone(), b);
        self.active.insert(key.clone());
        let from = self.checked.get(&key).copied().unwrap_or(0);
        let hw = r.high_watermark.min(r.log.len() as u64);
        if hw <= from {
            self.checked.insert(key, hw);
            return;
        }
        for other in self.active.iter().filter(|(t, x)| t == tp && *x != b) {
            let Some(o) = replay.replica(tp, other.1) else {
                continue;
            };
            let upto = hw.min(o.high_watermark).min(o.log.len() as u64);
            for off in from..upto {
                let (mine, theirs) = (&r.log[off as usize], &o.log[off as usize]);
                if !agrees(Some(mine), Some(theirs)) {
                    let ob = other.1;
                    note(&mut self.violation, i, at, || {
                        format!("{tp}@{off}: broker-{b} holds {mine} but broker-{ob} holds {theirs}, both below their HW")
                    });
                }
            }
        }
        self.checked.insert(key, hw);
    }

    /// The final logs: each running follower against its leader, below the leader's HW.
    pub fn finish(&mut self, i: usize, at: Millis, replay: &Replay) {
        for ((tp, b), r) in &replay.replicas {
            if r.role != ReplayRole::Leader || !r.up {
                continue;
            }
            let hw = (r.high_watermark as usize).min(r.log.len());
            for ((tp2, f), fr) in &replay.replicas {
                if tp2 != tp || f == b || !fr.up || fr.role != ReplayRole::Follower {
                    continue;
                }
                let upto = hw.min(fr.log.len());
                if let Some(off) = (0..upto).find(|&o| !agrees(fr.log.get(o), r.log.get(o))) {
                    let (mine, theirs) = (&r.log[off], &fr.log[off]);
                    note(&mut self.violation, i, at, || {
                        format!("{tp}@{off}: at the end broker-{f} holds {theirs} but the leader broker-{b} holds {mine}, below its HW")
                    });
                }
            }
        }
    }
}
