//! Transactions at the displayed moment, folded from the trace: per partition, the open
//! transactions (for the last stable offset), the markers and the records of aborted
//! transactions; per `transactional.id`, what its coordinator says about it and which of its
//! producers were fenced.
//!
//! Part of [`crate::cluster_state::ClusterAt`]'s fold; kept apart so that the rules (the LSO
//! above all) are tested on hand-made events.

use std::collections::BTreeMap;
use std::sync::Arc;

use kafkascope_sim::ids::{BrokerId, NodeId, TopicPartition};
use kafkascope_sim::protocol::TxnState;
use kafkascope_sim::trace::Event;

/// A transaction marker read off a log cell's label (`[COMMIT 1010000.6]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Marker {
    pub commit: bool,
    pub producer_id: u64,
    pub producer_epoch: u16,
}

impl Marker {
    /// The marker a label stands for, if it is one (see `kafkascope_sim::log::marker_label`).
    pub fn parse(label: &str) -> Option<Marker> {
        if !kafkascope_sim::log::is_marker_label(label) {
            return None;
        }
        let inner = label.strip_prefix('[')?.strip_suffix(']')?;
        let (kind, stamp) = inner.split_once(' ')?;
        let (id, epoch) = stamp.split_once('.')?;
        Some(Marker {
            commit: kind == "COMMIT",
            producer_id: id.parse().ok()?,
            producer_epoch: epoch.parse().ok()?,
        })
    }

    /// What a tooltip says: `COMMIT marker of producer 1010000 epoch 6`.
    pub fn describe(&self) -> String {
        format!(
            "{} marker of producer {} epoch {}",
            if self.commit { "COMMIT" } else { "ABORT" },
            self.producer_id,
            self.producer_epoch
        )
    }
}

/// One partition's transactions, as its leaders reported them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TxnPartition {
    /// Open transactions: producer id → the offset of its first record here.
    open: BTreeMap<u64, u64>,
    /// Closed transactions whose marker may not be below every replica's HW yet: (first
    /// offset, marker offset).
    closed: Vec<(u64, u64)>,
    /// Records of aborted transactions: offset → value and the ABORT marker's offset (a cell is
    /// aborted when its value at that offset is this one, so a truncated and rewritten offset
    /// is not, and its replica holds the marker).
    aborted: BTreeMap<u64, (Arc<str>, u64)>,
}

impl TxnPartition {
    /// The last stable offset for a replica with high watermark `hw`: `read_committed`
    /// consumers read below it. The HW, or lower: the first offset of a transaction that is
    /// open, or whose marker is not below the HW yet.
    pub fn last_stable_offset(&self, hw: u64) -> u64 {
        let pending = self
            .closed
            .iter()
            .filter(|&&(_, marker)| marker >= hw)
            .map(|&(first, _)| first);
        self.open
            .values()
            .copied()
            .chain(pending)
            .fold(hw, u64::min)
    }

    /// Whether the record `value` at `offset` of a replica whose log ends at `leo` belongs to
    /// an aborted transaction whose ABORT marker that replica holds.
    pub fn is_aborted(&self, offset: u64, value: &str, leo: u64) -> bool {
        self.aborted
            .get(&offset)
            .is_some_and(|(v, marker)| &**v == value && *marker < leo)
    }

    /// Open transactions: producer id and first offset.
    pub fn open(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.open.iter().map(|(&p, &o)| (p, o))
    }
}

/// One `transactional.id` at the displayed moment.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TxnIdAt {
    /// The broker whose coordinator last changed its state.
    pub coordinator: Option<BrokerId>,
    pub producer_id: Option<u64>,
    pub producer_epoch: Option<u16>,
    /// The coordinator's state, once it has recorded one.
    pub state: Option<TxnState>,
    /// The partitions in the transaction (the coordinator's list).
    pub partitions: Vec<TopicPartition>,
    /// Why it last changed (`TxnStateChanged`'s reason).
    pub reason: String,
    /// The producer whose `initTransactions()` last returned for this id.
    pub producer: Option<NodeId>,
    /// Producers fenced under this id, with the error, until they initialize again.
    pub fenced: BTreeMap<NodeId, String>,
}

/// Everything transactional, folded from the trace.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Transactions {
    /// Partitions that have had a transaction (a `TxnStarted`).
    pub partitions: BTreeMap<TopicPartition, TxnPartition>,
    pub ids: BTreeMap<Arc<str>, TxnIdAt>,
}

impl Transactions {
    /// Most closed transactions kept per partition, however slowly the HW moves.
    const KEEP_CLOSED: usize = 256;

    pub fn apply(&mut self, e: &Event) {
        match e {
            Event::TxnStarted {
                tp,
                offset,
                producer_id,
                ..
            } => {
                let p = self.partitions.entry(tp.clone()).or_default();
                let first = p.open.entry(*producer_id).or_insert(*offset);
                *first = (*first).min(*offset);
            }
            Event::TxnMarkerWritten {
                tp,
                offset,
                producer_id,
                commit,
                records,
                ..
            } => {
                let p = self.partitions.entry(tp.clone()).or_default();
                let first = p
                    .open
                    .remove(producer_id)
                    .or_else(|| records.iter().map(|(o, _)| *o).min())
                    .unwrap_or(*offset);
                p.closed.push((first, *offset));
                if p.closed.len() > Self::KEEP_CLOSED {
                    p.closed.remove(0);
                }
                if !commit {
                    for (o, v) in records {
                        p.aborted.insert(*o, (v.clone(), *offset));
                    }
                }
            }
            Event::TxnStateChanged {
                broker,
                transactional_id,
                producer_id,
                producer_epoch,
                state,
                partitions,
                reason,
            } => {
                let t = self.ids.entry(transactional_id.clone()).or_default();
                t.coordinator = Some(*broker);
                t.producer_id = Some(*producer_id);
                t.producer_epoch = Some(*producer_epoch);
                t.state = Some(*state);
                t.partitions = partitions.clone();
                t.reason = reason.clone();
            }
            Event::TxnInitialized {
                producer,
                transactional_id,
                producer_id,
                producer_epoch,
            } => {
                let t = self.ids.entry(transactional_id.clone()).or_default();
                t.producer = Some(*producer);
                t.fenced.remove(producer);
                // The coordinator's record comes first; the client's view fills in before it.
                if t.producer_id.is_none() {
                    t.producer_id = Some(*producer_id);
                    t.producer_epoch = Some(*producer_epoch);
                }
            }
            Event::ProducerFenced {
                producer,
                transactional_id,
                error,
            } => {
                let t = self.ids.entry(transactional_id.clone()).or_default();
                t.fenced.insert(*producer, error.to_string());
            }
            _ => {}
        }
    }

    /// Forgets `tp`'s closed transactions whose marker is below `hw` (the lowest HW of its
    /// replicas): they no longer hold any replica's LSO back.
    pub fn forget_stable(&mut self, tp: &TopicPartition, hw: u64) {
        if let Some(p) = self.partitions.get_mut(tp) {
            p.closed.retain(|&(_, marker)| marker >= hw);
        }
    }

    /// The last stable offset of a replica of `tp` with high watermark `hw`; `None` when `tp`
    /// never had a transaction (its LSO is its HW and is not drawn).
    pub fn lso(&self, tp: &TopicPartition, hw: u64) -> Option<u64> {
        Some(self.partitions.get(tp)?.last_stable_offset(hw))
    }

    pub fn partition(&self, tp: &TopicPartition) -> Option<&TxnPartition> {
        self.partitions.get(tp)
    }

    /// The producer `node`'s transactional id and its state, if it has one.
    pub fn of_producer(&self, node: NodeId) -> Option<(&Arc<str>, &TxnIdAt)> {
        self.ids
            .iter()
            .find(|(_, t)| t.producer == Some(node) || t.fenced.contains_key(&node))
    }

    pub fn heap_bytes(&self) -> usize {
        use std::mem::size_of;
        self.partitions
            .values()
            .map(|p| {
                size_of::<(TopicPartition, TxnPartition)>()
                    + p.open.len() * 16
                    + p.closed.capacity() * 16
                    + p.aborted.len() * (16 + size_of::<Arc<str>>())
            })
            .sum::<usize>()
            + self.ids.len() * size_of::<TxnIdAt>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafkascope_sim::protocol::ErrorCode;

    fn tp() -> TopicPartition {
        TopicPartition::new("payments", 0)
    }

    fn started(offset: u64, pid: u64) -> Event {
        Event::TxnStarted {
            broker: 1,
            tp: tp(),
            offset,
            producer_id: pid,
            producer_epoch: 0,
        }
    }

    fn marker(offset: u64, pid: u64, commit: bool, records: &[(u64, &str)]) -> Event {
        Event::TxnMarkerWritten {
            broker: 1,
            tp: tp(),
            offset,
            producer_id: pid,
            producer_epoch: 0,
            commit,
            records: records.iter().map(|(o, v)| (*o, (*v).into())).collect(),
        }
    }

    fn fold(events: &[Event]) -> Transactions {
        let mut t = Transactions::default();
        for e in events {
            t.apply(e);
        }
        t
    }

    #[test]
    fn a_partition_without_transactions_has_no_lso() {
        let t = fold(&[]);
        assert_eq!(t.lso(&tp(), 7), None);
    }

    #[test]
    fn an_open_transaction_holds_the_lso_at_its_first_record() {
        let t = fold(&[started(3, 1000)]);
        assert_eq!(t.lso(&tp(), 6), Some(3));
        // A replica whose HW has not reached the transaction: its HW.
        assert_eq!(t.lso(&tp(), 2), Some(2));
    }

    #[test]
    fn a_marker_releases_the_lso_once_it_is_below_the_hw() {
        let t = fold(&[
            started(3, 1000),
            marker(6, 1000, true, &[(3, "a"), (5, "b")]),
        ]);
        // The marker at 6 is not below HW 6: still held at 3.
        assert_eq!(t.lso(&tp(), 6), Some(3));
        assert_eq!(t.lso(&tp(), 7), Some(7));
    }

    #[test]
    fn the_earliest_open_transaction_of_several_producers_wins() {
        let t = fold(&[
            started(2, 1000),
            started(4, 2000),
            marker(5, 1000, true, &[(2, "a")]),
        ]);
        assert_eq!(t.lso(&tp(), 9), Some(4));
        let t = fold(&[
            started(2, 1000),
            started(4, 2000),
            marker(5, 2000, true, &[(4, "x")]),
        ]);
        assert_eq!(t.lso(&tp(), 9), Some(2));
    }

    #[test]
    fn a_later_transaction_of_the_same_producer_opens_again() {
        let mut t = fold(&[
            started(0, 1000),
            marker(2, 1000, true, &[(0, "a"), (1, "b")]),
            started(3, 1000),
        ]);
        assert_eq!(t.lso(&tp(), 5), Some(3));
        t.forget_stable(&tp(), 5);
        assert_eq!(t.lso(&tp(), 5), Some(3));
        t.apply(&marker(5, 1000, false, &[(3, "c"), (4, "d")]));
        assert_eq!(t.lso(&tp(), 6), Some(6));
        assert_eq!(t.lso(&tp(), 5), Some(3));
    }

    #[test]
    fn aborted_records_are_known_by_offset_and_value() {
        let t = fold(&[
            started(0, 1000),
            marker(2, 1000, false, &[(0, "a"), (1, "b")]),
            started(3, 1000),
            marker(4, 1000, true, &[(3, "c")]),
        ]);
        let p = t.partition(&tp()).unwrap();
        assert!(p.is_aborted(0, "a", 5) && p.is_aborted(1, "b", 3));
        assert!(!p.is_aborted(3, "c", 5));
        // The same offset rewritten with another record after a truncation is not aborted.
        assert!(!p.is_aborted(1, "z", 5));
        // A follower that has not fetched the ABORT marker yet does not know.
        assert!(!p.is_aborted(1, "b", 2));
    }

    #[test]
    fn markers_are_read_off_their_labels() {
        let m = Marker::parse("[COMMIT 1010000.6]").unwrap();
        assert_eq!(
            m,
            Marker {
                commit: true,
                producer_id: 1010000,
                producer_epoch: 6
            }
        );
        assert_eq!(m.describe(), "COMMIT marker of producer 1010000 epoch 6");
        assert!(!Marker::parse("[ABORT 7.8]").unwrap().commit);
        assert_eq!(Marker::parse("pay-17"), None);
        let label =
            kafkascope_sim::log::marker_label(kafkascope_sim::log::ControlType::Abort, 1010000, 8);
        assert_eq!(
            Marker::parse(&label),
            Some(Marker {
                commit: false,
                producer_id: 1010000,
                producer_epoch: 8
            })
        );
    }

    #[test]
    fn the_coordinator_state_and_fencing_are_folded_per_transactional_id() {
        let id: Arc<str> = "pay-1".into();
        let p = NodeId::Producer(0);
        let mut t = fold(&[
            Event::TxnInitialized {
                producer: p,
                transactional_id: id.clone(),
                producer_id: 1000,
                producer_epoch: 0,
            },
            Event::TxnStateChanged {
                broker: 2,
                transactional_id: id.clone(),
                producer_id: 1000,
                producer_epoch: 0,
                state: TxnState::Ongoing,
                partitions: vec![tp()],
                reason: "AddPartitionsToTxn".into(),
            },
        ]);
        let s = &t.ids[&id];
        assert_eq!(s.coordinator, Some(2));
        assert_eq!(s.state, Some(TxnState::Ongoing));
        assert_eq!(s.partitions, vec![tp()]);
        assert_eq!(t.of_producer(p).map(|(i, _)| i.clone()), Some(id.clone()));
        t.apply(&Event::ProducerFenced {
            producer: p,
            transactional_id: id.clone(),
            error: ErrorCode::ProducerFenced,
        });
        assert!(t.ids[&id].fenced.contains_key(&p));
        t.apply(&Event::TxnInitialized {
            producer: p,
            transactional_id: id.clone(),
            producer_id: 1000,
            producer_epoch: 2,
        });
        assert!(t.ids[&id].fenced.is_empty());
    }
}
