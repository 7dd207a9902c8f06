//! The ISR invariants of Kafka's TLA+ models, checked at the events that can break them:
//! `AsyncIsr.tla`'s ValidHighWatermark (a leader's HW never passes the log end of a member of
//! its maximal ISR), `KafkaReplication.tla`'s WeakIsr (a replica joins the ISR only holding the
//! leader's records below the HW), and KIP-966's "the ELR and the ISR are disjoint".

use std::collections::{BTreeMap, BTreeSet};

use super::{note, Violation};
use crate::ids::{BrokerId, Millis, TopicPartition};
use crate::replay::{agrees, Replay, ReplayRole};
use crate::trace::{ChangeReason, CrashKind, Event};

#[derive(Default)]
pub(super) struct IsrInvariants {
    /// The ISR the leader last proposed, until the controller's next change (KIP-497's pending
    /// change, whose additions count in the maximal ISR).
    proposed: BTreeMap<(TopicPartition, BrokerId), Vec<BrokerId>>,
    /// Brokers that lost power and have not registered again: their stale place in an ISR is
    /// what KIP-966's unclean-shutdown detection clears at registration.
    power_lost: BTreeSet<BrokerId>,
    pub valid_high_watermark: Option<Violation>,
    pub weak_isr: Option<Violation>,
    pub elr_disjoint: Option<Violation>,
}

/// An ISR that grew, with the ISR it grew from.
struct IsrExpansion<'a> {
    tp: &'a TopicPartition,
    leader: BrokerId,
    isr: &'a [BrokerId],
    before: &'a [BrokerId],
}

impl IsrInvariants {
    /// Called after `replay` has applied `e`; `before` is the ISR the controller had before.
    pub fn observe(
        &mut self,
        i: usize,
        at: Millis,
        e: &Event,
        replay: &Replay,
        before: &[BrokerId],
    ) {
        match e {
            Event::Crashed {
                node,
                kind: CrashKind::PowerLoss,
            } => {
                if let Some(b) = node.broker() {
                    self.power_lost.insert(b);
                }
            }
            Event::BrokerRegistered { broker, .. } => {
                self.power_lost.remove(broker);
            }
            Event::IsrChangeRequested { broker, tp, isr } => {
                self.proposed.insert((tp.clone(), *broker), isr.clone());
            }
            Event::PartitionChanged {
                tp,
                leader,
                isr,
                elr,
                reason,
                ..
            } => {
                self.proposed.retain(|(t, _), _| t != tp);
                if let Some(b) = elr.iter().find(|b| isr.contains(b)) {
                    note(&mut self.elr_disjoint, i, at, || {
                        format!("{tp}: broker-{b} is in both the ISR {isr:?} and the ELR {elr:?}")
                    });
                }
                if *reason == ChangeReason::IsrExpand {
                    if let Some(l) = leader {
                        let expansion = IsrExpansion {
                            tp,
                            leader: *l,
                            isr,
                            before,
                        };
                        self.check_joiners(i, at, expansion, replay);
                    }
                }
            }
            Event::HighWatermark {
                broker,
                tp,
                high_watermark,
            } => {
                let Some(r) = replay.replica(tp, *broker) else {
                    return;
                };
                if r.role != ReplayRole::Leader {
                    return;
                }
                let Some(meta) = replay.partitions.get(tp) else {
                    return;
                };
                let mut maximal: Vec<BrokerId> = meta.isr.clone();
                maximal.extend(
                    self.proposed
                        .get(&(tp.clone(), *broker))
                        .into_iter()
                        .flatten()
                        .copied(),
                );
                for m in maximal {
                    if m == *broker || self.power_lost.contains(&m) {
                        continue;
                    }
                    let Some(f) = replay.replica(tp, m) else {
                        continue;
                    };
                    if f.up && (f.log.len() as u64) < *high_watermark {
                        note(&mut self.valid_high_watermark, i, at, || {
                            format!(
                                "{tp}: broker-{broker} moved the HW to {high_watermark} but ISR member broker-{m} ends at {}",
                                f.log.len()
                            )
                        });
                    }
                }
            }
            _ => {}
        }
    }

    /// WeakIsr: a replica added to the ISR holds the leader's records below the leader's HW.
    fn check_joiners(&mut self, i: usize, at: Millis, expansion: IsrExpansion, replay: &Replay) {
        let IsrExpansion {
            tp,
            leader,
            isr,
            before,
        } = expansion;
        let Some(l) = replay.replica(tp, leader) else {
            return;
        };
        let hw = (l.high_watermark as usize).min(l.log.len());
        for &m in isr.iter().filter(|m| !before.contains(m) && **m != leader) {
            let Some(f) = replay.replica(tp, m) else {
                continue;
            };
            let differs = (0..hw).find(|&o| !agrees(f.log.get(o), l.log.get(o)));
            if let Some(o) = differs {
                note(&mut self.weak_isr, i, at, || {
                    format!(
                        "{tp}: broker-{m} joined the ISR without the leader's record at offset {o} (below HW {hw})"
                    )
                });
            }
        }
    }
}
