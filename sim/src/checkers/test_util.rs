//! Small hand-written traces for the checkers', metrics' and report's unit tests.

use std::sync::Arc;

use crate::config::Assignor;
use crate::ids::{Millis, NodeId, NodeNames, TopicPartition};
use crate::log::{marker_label, ControlType};
use crate::protocol::TxnState;
use crate::trace::{ChangeReason, Event, PositionReason, Trace, TraceEntry};

pub const GROUP: &str = "billing";

pub fn tp() -> TopicPartition {
    TopicPartition::new("orders", 0)
}

pub fn tp1() -> TopicPartition {
    TopicPartition::new("orders", 1)
}

pub fn v(s: &str) -> Arc<str> {
    s.into()
}

pub fn c(i: u16) -> NodeId {
    NodeId::Consumer(i)
}

/// Builds a trace event by event, at a time it is told.
pub struct T {
    pub at: Millis,
    pub trace: Trace,
    /// When each value was produced.
    sent: std::collections::BTreeMap<String, Millis>,
}

impl T {
    /// Consumers `consumer-a`, `consumer-b`, `consumer-c`; producer `producer-p`.
    pub fn new() -> T {
        T {
            at: 0,
            sent: Default::default(),
            trace: Trace {
                entries: Vec::new(),
                names: NodeNames {
                    producers: vec!["p".into()],
                    consumers: vec!["a".into(), "b".into(), "c".into()],
                },
            },
        }
    }

    pub fn at(&mut self, at: Millis) -> &mut T {
        self.at = at;
        self
    }

    pub fn e(&mut self, event: Event) -> &mut T {
        self.trace.entries.push(TraceEntry { at: self.at, event });
        self
    }

    pub fn index(&self) -> usize {
        self.trace.entries.len() - 1
    }

    /// `tp` created with replicas `isr`, broker `isr[0]` leading in epoch 0.
    pub fn partition(&mut self, tp: &TopicPartition, isr: &[u32]) -> &mut T {
        self.e(Event::PartitionChanged {
            tp: tp.clone(),
            leader: Some(isr[0]),
            leader_epoch: 0,
            partition_epoch: 0,
            isr: isr.to_vec(),
            elr: Vec::new(),
            reason: ChangeReason::Created,
        })
        .e(Event::BecameLeader {
            broker: isr[0],
            tp: tp.clone(),
            leader_epoch: 0,
            log_end_offset: 0,
            high_watermark: 0,
        })
    }

    /// The producer sends `values`; broker 1 appends them at `base` and its HW moves past them.
    pub fn write(&mut self, tp: &TopicPartition, base: u64, values: &[&str]) -> &mut T {
        for x in values {
            self.sent.insert(x.to_string(), self.at);
            self.e(Event::Produced {
                producer: NodeId::Producer(0),
                value: v(x),
                key: None,
                tp: tp.clone(),
            });
        }
        self.e(Event::Appended {
            broker: 1,
            tp: tp.clone(),
            base_offset: base,
            leader_epoch: 0,
            values: values.iter().map(|x| v(x)).collect(),
            leader: true,
        })
        .hw(tp, base + values.len() as u64)
    }

    pub fn hw(&mut self, tp: &TopicPartition, hw: u64) -> &mut T {
        self.e(Event::HighWatermark {
            broker: 1,
            tp: tp.clone(),
            high_watermark: hw,
        })
    }

    pub fn generation(&mut self, generation: u32, members: &[&str]) -> &mut T {
        self.e(Event::GenerationStarted {
            broker: 1,
            group: v(GROUP),
            generation,
            protocol: Assignor::Range,
            leader: v(members[0]),
            members: members.iter().map(|m| v(m)).collect(),
        })
    }

    pub fn joined(&mut self, consumer: u16, generation: u32, member: &str) -> &mut T {
        self.e(Event::JoinedGroup {
            consumer: c(consumer),
            group: v(GROUP),
            generation,
            member: v(member),
            leader: false,
        })
    }

    pub fn assigned(
        &mut self,
        consumer: u16,
        generation: u32,
        added: &[TopicPartition],
        owned: &[TopicPartition],
    ) -> &mut T {
        self.e(Event::PartitionsAssigned {
            consumer: c(consumer),
            group: v(GROUP),
            generation,
            added: added.to_vec(),
            owned: owned.to_vec(),
        })
    }

    pub fn position(&mut self, consumer: u16, tp: &TopicPartition, to: u64) -> &mut T {
        self.e(Event::PositionSet {
            consumer: c(consumer),
            tp: tp.clone(),
            from: None,
            to,
            reason: PositionReason::Committed,
            read_committed: false,
        })
    }

    pub fn polled(
        &mut self,
        consumer: u16,
        tp: &TopicPartition,
        offset: u64,
        values: &[&str],
    ) -> &mut T {
        self.e(Event::Polled {
            consumer: c(consumer),
            tp: tp.clone(),
            offset,
            values: values.iter().map(|x| v(x)).collect(),
        })
    }

    pub fn processed(
        &mut self,
        consumer: u16,
        tp: &TopicPartition,
        offset: u64,
        value: &str,
    ) -> &mut T {
        self.e(Event::Processed {
            consumer: c(consumer),
            tp: tp.clone(),
            offset,
            value: v(value),
            produced_at: self.sent.get(value).copied().unwrap_or(0),
        })
    }

    pub fn stored(&mut self, tp: &TopicPartition, offset: u64) -> &mut T {
        self.e(Event::OffsetsCommitted {
            broker: 1,
            group: v(GROUP),
            generation: Some(1),
            member: None,
            offsets: vec![(tp.clone(), offset)],
        })
    }

    // ---- transactions (producer id 7, transactional id `tx`) ----

    /// The coordinator (broker 1) records producer 7's transaction as `state` over `parts`.
    pub fn txn_state(&mut self, epoch: u16, state: TxnState, parts: &[TopicPartition]) -> &mut T {
        self.e(Event::TxnStateChanged {
            broker: 1,
            transactional_id: v("tx"),
            producer_id: 7,
            producer_epoch: epoch,
            state,
            partitions: parts.to_vec(),
            reason: "test".into(),
        })
    }

    /// Broker 1 appends the first record of producer 7's transaction on `tp` at `offset`.
    pub fn txn_started(&mut self, tp: &TopicPartition, offset: u64, epoch: u16) -> &mut T {
        self.e(Event::TxnStarted {
            broker: 1,
            tp: tp.clone(),
            offset,
            producer_id: 7,
            producer_epoch: epoch,
        })
    }

    /// Broker 1 appends producer 7's marker at `offset`, closing `records` (offset, value);
    /// its HW moves past the marker.
    pub fn marker(
        &mut self,
        tp: &TopicPartition,
        offset: u64,
        epoch: u16,
        commit: bool,
        records: &[(u64, &str)],
    ) -> &mut T {
        let kind = if commit {
            ControlType::Commit
        } else {
            ControlType::Abort
        };
        self.e(Event::Appended {
            broker: 1,
            tp: tp.clone(),
            base_offset: offset,
            leader_epoch: 0,
            values: vec![marker_label(kind, 7, epoch)],
            leader: true,
        })
        .e(Event::TxnMarkerWritten {
            broker: 1,
            tp: tp.clone(),
            offset,
            producer_id: 7,
            producer_epoch: epoch,
            commit,
            records: records.iter().map(|(o, x)| (*o, v(x))).collect(),
        })
        .hw(tp, offset + 1)
    }
}

/// orders-0: t0 t1 aborted (0, 1), their ABORT marker (2), t0 t1 sent again and committed
/// (3, 4), their COMMIT marker (5), then m6 (6); one group with member m-a.
pub fn transactional_log() -> T {
    let mut t = T::new();
    t.partition(&tp(), &[1])
        .txn_state(1, TxnState::Ongoing, &[tp()])
        .txn_started(&tp(), 0, 1)
        .write(&tp(), 0, &["t0", "t1"])
        .txn_state(2, TxnState::PrepareAbort, &[tp()])
        .marker(&tp(), 2, 2, false, &[(0, "t0"), (1, "t1")])
        .txn_state(2, TxnState::CompleteAbort, &[tp()])
        .txn_state(2, TxnState::Ongoing, &[tp()])
        .txn_started(&tp(), 3, 2)
        .write(&tp(), 3, &["t0", "t1"])
        .txn_state(3, TxnState::PrepareCommit, &[tp()])
        .marker(&tp(), 5, 3, true, &[(3, "t0"), (4, "t1")])
        .txn_state(3, TxnState::CompleteCommit, &[tp()])
        .write(&tp(), 6, &["m6"])
        .generation(1, &["m-a"])
        .joined(0, 1, "m-a")
        .assigned(0, 1, &[tp()], &[tp()])
        .position(0, &tp(), 0);
    t
}
