//! Transactions (KIP-98, KIP-890): no consumer returns a record of an aborted transaction
//! (Jepsen's "aborted read"), no record a fenced producer instance sent becomes visible (a
//! zombie's write), and no partition opens a transaction its coordinator does not have
//! ongoing with that partition (a hanging transaction: no marker will close it).
//!
//! [`Outcomes`] is what the other checkers need to know about transactions: which offsets hold
//! a marker (consumers never return it) and which hold a record of an aborted transaction
//! (`read_committed` consumers skip it; it is in the log but was never written, so it is
//! neither a duplicate nor out of order).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::{note, Verdict, Violation};
use crate::ids::{Millis, NodeId, NodeNames, TopicPartition};
use crate::log::is_marker_label;
use crate::protocol::TxnState;
use crate::scenario::{CheckerId, Count};
use crate::trace::{fmt_time, Event};

/// Markers and aborted records, by offset, as the trace showed them so far.
#[derive(Default)]
pub(super) struct Outcomes {
    markers: BTreeSet<(TopicPartition, u64)>,
    aborted: BTreeMap<(TopicPartition, u64), BTreeSet<Arc<str>>>,
}

impl Outcomes {
    pub fn observe(&mut self, e: &Event) {
        match e {
            Event::Appended {
                tp,
                base_offset,
                values,
                ..
            } => {
                for (k, v) in values.iter().enumerate() {
                    if is_marker_label(v) {
                        self.markers.insert((tp.clone(), base_offset + k as u64));
                    }
                }
            }
            Event::TxnMarkerWritten {
                tp,
                commit: false,
                records,
                ..
            } => {
                for (o, v) in records {
                    self.aborted
                        .entry((tp.clone(), *o))
                        .or_default()
                        .insert(v.clone());
                }
            }
            _ => {}
        }
    }

    /// Whether offset `o` of `tp` held a marker or a record of an aborted transaction: a
    /// consumer may pass over it.
    pub fn passable(&self, tp: &TopicPartition, o: u64) -> bool {
        let key = (tp.clone(), o);
        self.markers.contains(&key) || self.aborted.contains_key(&key)
    }

    /// Whether `v` at offset `o` of `tp` is a marker or a record of an aborted transaction:
    /// not a record any producer wrote for good.
    pub fn excluded(&self, tp: &TopicPartition, o: u64, v: &Arc<str>) -> bool {
        is_marker_label(v)
            || self
                .aborted
                .get(&(tp.clone(), o))
                .is_some_and(|s| s.contains(v))
    }
}

/// The first poll of one record by one consumer, and how often it was polled.
struct Read {
    index: usize,
    at: Millis,
    consumer: NodeId,
    times: u64,
}

/// An ABORT marker: who aborted, where the marker is, when.
struct Abort {
    value: Arc<str>,
    producer_id: u64,
    producer_epoch: u16,
    marker: u64,
}

/// A record a superseded producer instance sent.
struct ZombieSend {
    zombie: NodeId,
    newer: NodeId,
    transactional_id: Arc<str>,
    initialized_at: Millis,
}

pub(super) struct Transactions {
    names: NodeNames,

    // no_aborted_reads
    /// Partitions where some transaction started: only their polls can be aborted reads.
    txn_partitions: BTreeSet<TopicPartition>,
    reads: BTreeMap<(TopicPartition, u64, Arc<str>, NodeId), Read>,
    aborts: BTreeMap<(TopicPartition, u64), Vec<Abort>>,

    // no_zombie_writes
    /// The latest instance that initialized each transactional id, and when.
    initialized: BTreeMap<Arc<str>, (NodeId, Millis)>,
    transactional_id: BTreeMap<NodeId, Arc<str>>,
    zombie_sends: BTreeMap<(TopicPartition, Arc<str>), ZombieSend>,
    zombie_written: BTreeSet<(TopicPartition, Arc<str>)>,
    zombie: Option<Violation>,

    // no_hanging_transactions
    /// Each producer id's latest transaction state at its coordinator.
    coordinator: BTreeMap<u64, (TxnState, Vec<TopicPartition>)>,
    hanging: Option<Violation>,
    hanging_count: u64,

    /// Each transactional id's latest state, so that a state seen twice counts once.
    last_state: BTreeMap<Arc<str>, (u64, u16, TxnState)>,
    committed: u64,
    aborted: u64,
}

impl Transactions {
    pub fn new(names: NodeNames) -> Transactions {
        Transactions {
            names,
            txn_partitions: BTreeSet::new(),
            reads: BTreeMap::new(),
            aborts: BTreeMap::new(),
            initialized: BTreeMap::new(),
            transactional_id: BTreeMap::new(),
            zombie_sends: BTreeMap::new(),
            zombie_written: BTreeSet::new(),
            zombie: None,
            coordinator: BTreeMap::new(),
            hanging: None,
            hanging_count: 0,
            last_state: BTreeMap::new(),
            committed: 0,
            aborted: 0,
        }
    }

    pub fn observe(&mut self, i: usize, at: Millis, e: &Event) {
        match e {
            Event::TxnStateChanged {
                transactional_id,
                producer_id,
                producer_epoch,
                state,
                partitions,
                ..
            } => {
                self.coordinator
                    .insert(*producer_id, (*state, partitions.clone()));
                let now = (*producer_id, *producer_epoch, *state);
                if self.last_state.insert(transactional_id.clone(), now) != Some(now) {
                    match state {
                        TxnState::CompleteCommit => self.committed += 1,
                        TxnState::CompleteAbort => self.aborted += 1,
                        _ => {}
                    }
                }
            }
            Event::TxnStarted {
                broker,
                tp,
                offset,
                producer_id,
                producer_epoch,
            } => {
                self.txn_partitions.insert(tp.clone());
                let has = match self.coordinator.get(producer_id) {
                    Some((TxnState::Ongoing, parts)) if parts.contains(tp) => None,
                    Some((state, parts)) => {
                        let parts: Vec<String> = parts.iter().map(|p| p.to_string()).collect();
                        Some(format!("has it {} [{}]", state.name(), parts.join(" ")))
                    }
                    None => Some("has no transaction for it".to_string()),
                };
                if let Some(has) = has {
                    self.hanging_count += 1;
                    note(&mut self.hanging, i, at, || {
                        format!(
                            "broker-{broker} {tp}@{offset}: a transaction of producer {producer_id} (epoch {producer_epoch}) opened here while its coordinator {has}: no marker will close it; read_committed consumers of {tp} are stuck below offset {offset} (hanging transaction)"
                        )
                    });
                }
            }
            Event::TxnMarkerWritten {
                tp,
                offset,
                producer_id,
                producer_epoch,
                commit,
                records,
                ..
            } => {
                if !commit {
                    for (o, v) in records {
                        self.aborts
                            .entry((tp.clone(), *o))
                            .or_default()
                            .push(Abort {
                                value: v.clone(),
                                producer_id: *producer_id,
                                producer_epoch: *producer_epoch,
                                marker: *offset,
                            });
                    }
                    return;
                }
                for (_, v) in records {
                    let key = (tp.clone(), v.clone());
                    let Some(z) = self.zombie_sends.get(&key) else {
                        continue;
                    };
                    if !self.zombie_written.insert(key) {
                        continue;
                    }
                    let (zombie, newer) = (self.names.name(z.zombie), self.names.name(z.newer));
                    let (tid, when) = (&z.transactional_id, fmt_time(z.initialized_at));
                    note(&mut self.zombie, i, at, || {
                        format!(
                            "{zombie} sent {v} to {tp} after {newer} initialized {tid} (at {when}); the COMMIT marker at {tp}@{offset} made it visible (zombie write)"
                        )
                    });
                }
            }
            Event::TxnInitialized {
                producer,
                transactional_id,
                ..
            } => {
                self.initialized
                    .insert(transactional_id.clone(), (*producer, at));
                self.transactional_id
                    .insert(*producer, transactional_id.clone());
            }
            Event::BatchSent {
                producer,
                tp,
                values,
                ..
            } => {
                let Some(tid) = self.transactional_id.get(producer) else {
                    return;
                };
                let Some(&(latest, initialized_at)) = self.initialized.get(tid) else {
                    return;
                };
                for v in values {
                    let key = (tp.clone(), v.clone());
                    if latest == *producer {
                        // The newest instance sent this value itself (again): its copy.
                        self.zombie_sends.remove(&key);
                    } else {
                        self.zombie_sends.insert(
                            key,
                            ZombieSend {
                                zombie: *producer,
                                newer: latest,
                                transactional_id: tid.clone(),
                                initialized_at,
                            },
                        );
                    }
                }
            }
            Event::Polled {
                consumer,
                tp,
                offset,
                values,
            } if self.txn_partitions.contains(tp) => {
                for (k, v) in values.iter().enumerate() {
                    self.reads
                        .entry((tp.clone(), offset + k as u64, v.clone(), *consumer))
                        .and_modify(|r| r.times += 1)
                        .or_insert(Read {
                            index: i,
                            at,
                            consumer: *consumer,
                            times: 1,
                        });
                }
            }
            _ => {}
        }
    }

    pub fn finish(self) -> (Vec<Verdict>, BTreeMap<Count, u64>) {
        let mut aborted_reads = 0u64;
        let mut first: Option<Violation> = None;
        for ((tp, o, v, _), r) in &self.reads {
            let Some(a) = self
                .aborts
                .get(&(tp.clone(), *o))
                .and_then(|xs| xs.iter().find(|a| &a.value == v))
            else {
                continue;
            };
            aborted_reads += r.times;
            if first.as_ref().is_some_and(|f| f.index <= r.index) {
                continue;
            }
            let who = self.names.name(r.consumer);
            first = Some(Violation {
                index: r.index,
                at: r.at,
                message: format!(
                    "{who} polled {tp}@{o} {v}, a record of a transaction of producer {} (epoch {}) that aborted (ABORT marker at {tp}@{}): an aborted read",
                    a.producer_id, a.producer_epoch, a.marker
                ),
            });
        }
        let counts = BTreeMap::from([
            (Count::TransactionsCommitted, self.committed),
            (Count::TransactionsAborted, self.aborted),
            (Count::AbortedReads, aborted_reads),
            (Count::HangingTransactions, self.hanging_count),
            (Count::ZombieWrites, self.zombie_written.len() as u64),
        ]);
        let verdicts = vec![
            Verdict {
                checker: CheckerId::NoAbortedReads,
                violation: first,
            },
            Verdict {
                checker: CheckerId::NoZombieWrites,
                violation: self.zombie,
            },
            Verdict {
                checker: CheckerId::NoHangingTransactions,
                violation: self.hanging,
            },
        ];
        (verdicts, counts)
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use super::super::{check, Violation};
    use crate::ids::NodeId;
    use crate::protocol::{ErrorCode, TxnState};
    use crate::scenario::{CheckerId, Count};
    use crate::trace::Event;

    fn broken(t: &T, c: CheckerId) -> Option<Violation> {
        check(&t.trace).verdict(c).violation.clone()
    }

    #[test]
    fn polling_a_record_of_an_aborted_transaction_is_an_aborted_read() {
        // consumer-a reads committed: t0 t1 at 3, never the aborted copies at 0 and 1.
        let mut t = transactional_log();
        t.polled(0, &tp(), 3, &["t0", "t1"])
            .polled(0, &tp(), 6, &["m6"]);
        assert_eq!(broken(&t, CheckerId::NoAbortedReads), None);
        // consumer-c reads uncommitted: it polls the aborted t0 t1, then the committed ones.
        t.position(2, &tp(), 0).polled(2, &tp(), 0, &["t0", "t1"]);
        let at = t.index();
        t.polled(2, &tp(), 3, &["t0", "t1"]);
        let x = broken(&t, CheckerId::NoAbortedReads).expect("t0 was aborted");
        assert_eq!(x.index, at);
        assert_eq!(
            x.message,
            "consumer-c polled orders-0@0 t0, a record of a transaction of producer 7 (epoch 2) that aborted (ABORT marker at orders-0@2): an aborted read"
        );
        let f = check(&t.trace);
        assert_eq!(f.count(Count::AbortedReads), 2, "t0 and t1 at 0 and 1");
        assert_eq!(f.count(Count::TransactionsCommitted), 1);
        assert_eq!(f.count(Count::TransactionsAborted), 1);
    }

    #[test]
    fn an_abort_decided_after_the_poll_still_makes_it_an_aborted_read() {
        let mut t = T::new();
        t.partition(&tp(), &[1])
            .txn_state(1, TxnState::Ongoing, &[tp()])
            .txn_started(&tp(), 0, 1)
            .write(&tp(), 0, &["t0"])
            .polled(2, &tp(), 0, &["t0"]);
        let at = t.index();
        assert_eq!(broken(&t, CheckerId::NoAbortedReads), None, "not decided");
        t.marker(&tp(), 1, 2, false, &[(0, "t0")]);
        assert_eq!(
            broken(&t, CheckerId::NoAbortedReads).map(|x| x.index),
            Some(at)
        );
    }

    /// Producer `p` initialized `tx`; then producer `q` (another node) did too.
    fn two_instances() -> T {
        let mut t = T::new();
        t.trace.names.producers.push("q".into());
        t.partition(&tp(), &[1]).e(Event::TxnInitialized {
            producer: NodeId::Producer(0),
            transactional_id: v("tx"),
            producer_id: 7,
            producer_epoch: 0,
        });
        t
    }

    fn sent(t: &mut T, producer: u16, value: &str) {
        t.e(Event::BatchSent {
            producer: NodeId::Producer(producer),
            tp: tp(),
            broker: 1,
            values: vec![v(value)],
            attempt: 0,
            sequence: Some(0),
        });
    }

    #[test]
    fn a_record_a_superseded_instance_sent_must_not_be_committed() {
        let mut t = two_instances();
        sent(&mut t, 0, "p0");
        t.at(1_000).e(Event::TxnInitialized {
            producer: NodeId::Producer(1),
            transactional_id: v("tx"),
            producer_id: 7,
            producer_epoch: 1,
        });
        sent(&mut t, 1, "q0");
        // p sent before q took over; p1 after: a zombie's, aborted here.
        sent(&mut t, 0, "p1");
        t.marker(&tp(), 0, 1, true, &[(0, "p0")])
            .marker(&tp(), 1, 2, false, &[(2, "p1")])
            .marker(&tp(), 3, 2, true, &[(4, "q0")]);
        assert_eq!(broken(&t, CheckerId::NoZombieWrites), None);
        assert_eq!(check(&t.trace).count(Count::ZombieWrites), 0);
        // The zombie's p1 becomes visible.
        t.marker(&tp(), 5, 2, true, &[(2, "p1")]);
        let at = t.index() - 1;
        let x = broken(&t, CheckerId::NoZombieWrites).expect("p1 committed");
        assert_eq!(x.index, at);
        assert_eq!(
            x.message,
            "producer-p sent p1 to orders-0 after producer-q initialized tx (at 1.000s); the COMMIT marker at orders-0@5 made it visible (zombie write)"
        );
        assert_eq!(check(&t.trace).count(Count::ZombieWrites), 1);
    }

    #[test]
    fn a_restarted_instance_is_no_zombie_of_itself() {
        let mut t = two_instances();
        t.e(Event::ProducerFenced {
            producer: NodeId::Producer(0),
            transactional_id: v("tx"),
            error: ErrorCode::ProducerFenced,
        })
        .e(Event::TxnInitialized {
            producer: NodeId::Producer(0),
            transactional_id: v("tx"),
            producer_id: 7,
            producer_epoch: 1,
        });
        sent(&mut t, 0, "p0");
        t.marker(&tp(), 0, 1, true, &[(0, "p0")]);
        assert_eq!(broken(&t, CheckerId::NoZombieWrites), None);
    }

    #[test]
    fn a_transaction_its_coordinator_does_not_have_ongoing_hangs() {
        let mut t = T::new();
        t.partition(&tp(), &[1])
            .partition(&tp1(), &[1])
            .txn_state(0, TxnState::Ongoing, &[tp()])
            .txn_started(&tp(), 0, 0)
            .write(&tp(), 0, &["t0"])
            .txn_state(1, TxnState::PrepareAbort, &[tp()])
            .marker(&tp(), 1, 1, false, &[(0, "t0")])
            .txn_state(1, TxnState::CompleteAbort, &[tp()]);
        let f = check(&t.trace);
        assert!(f.verdict(CheckerId::NoHangingTransactions).holds());
        assert_eq!(f.count(Count::HangingTransactions), 0);
        // A late write of the aborted transaction opens one on orders-1 (KIP-890's case).
        t.txn_started(&tp1(), 40, 1);
        let at = t.index();
        let x = broken(&t, CheckerId::NoHangingTransactions).expect("hanging");
        assert_eq!(x.index, at);
        assert_eq!(
            x.message,
            "broker-1 orders-1@40: a transaction of producer 7 (epoch 1) opened here while its coordinator has it CompleteAbort [orders-0]: no marker will close it; read_committed consumers of orders-1 are stuck below offset 40 (hanging transaction)"
        );
        // Ongoing, but without the partition, hangs too; so does an unknown producer id.
        t.txn_state(2, TxnState::Ongoing, &[tp()])
            .txn_started(&tp1(), 41, 2)
            .e(Event::TxnStarted {
                broker: 1,
                tp: tp(),
                offset: 2,
                producer_id: 9,
                producer_epoch: 0,
            });
        assert_eq!(check(&t.trace).count(Count::HangingTransactions), 3);
        let mut unknown = T::new();
        unknown.partition(&tp(), &[1]).txn_started(&tp(), 0, 0);
        let x = broken(&unknown, CheckerId::NoHangingTransactions).expect("no state");
        assert!(
            x.message
                .contains("while its coordinator has no transaction for it"),
            "{}",
            x.message
        );
    }

    #[test]
    fn a_state_seen_twice_counts_once() {
        let mut t = T::new();
        t.txn_state(1, TxnState::CompleteCommit, &[tp()])
            .txn_state(1, TxnState::CompleteCommit, &[tp()])
            .txn_state(1, TxnState::Ongoing, &[tp()])
            .txn_state(1, TxnState::CompleteCommit, &[tp()]);
        assert_eq!(check(&t.trace).count(Count::TransactionsCommitted), 2);
    }
}
