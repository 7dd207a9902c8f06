//! A stream processor with `processing.guarantee = exactly_once_v2` (Kafka Streams, KIP-447):
//! after each poll's records are processed, its outputs and its input positions commit in one
//! transaction of its output producer (`sendOffsetsToTransaction` with the group's metadata,
//! then `commitTransaction`). If the transaction aborts (its producer was fenced, or the group
//! moved on from this member), the task starts again from the committed positions: what it
//! read since is read, and its outputs produced, again, in a new transaction, while the
//! aborted outputs stay invisible to read_committed readers.

use super::{App, Consumer, Pending};
use crate::effects::Effects;
use crate::ids::Millis;
use crate::producer::TxnOffsets;
use crate::scenario::ProcessingGuarantee;
use crate::trace::Event;

impl Consumer {
    pub(super) fn exactly_once(&self) -> bool {
        self.spec
            .output
            .as_ref()
            .is_some_and(|o| o.guarantee == ProcessingGuarantee::ExactlyOnceV2)
    }

    /// One step of committing the poll's transaction.
    pub(super) fn step_transaction(&mut self, now: Millis, asked: bool, fx: &mut Effects) -> App {
        let Some(p) = self.output.as_mut() else {
            return App::Polling;
        };
        if asked {
            return match p.take_transaction_outcome() {
                None => App::CommittingTransaction { asked: true },
                Some(committed) => {
                    self.transaction_ended(now, committed, fx);
                    App::Polling
                }
            };
        }
        // A producer that was fenced (or not yet initialised) first gets its id; the task
        // restarts from the committed positions when it was fenced.
        if let Some(false) = p.take_transaction_outcome() {
            self.transaction_ended(now, false, fx);
            return App::Polling;
        }
        let p = self.output.as_mut().expect("checked");
        if !p.transaction_ready() {
            return App::CommittingTransaction { asked: false };
        }
        let offsets = self.consumed_offsets();
        let meta = match (self.group(), self.membership.coordinator()) {
            (Some(group), Some(coordinator)) if !offsets.is_empty() => Some(TxnOffsets::new(
                group,
                self.membership.generation(),
                self.membership.member_id(),
                coordinator,
                offsets,
            )),
            _ => None,
        };
        let p = self.output.as_mut().expect("checked");
        p.commit_transaction(now, meta, fx);
        App::CommittingTransaction { asked: true }
    }

    /// The transaction ended: committed positions are the new base; after an abort the task
    /// goes back to the committed positions (and its in-memory state is gone).
    pub(super) fn transaction_ended(&mut self, now: Millis, committed: bool, fx: &mut Effects) {
        let _ = now;
        if committed {
            let offsets = self.consumed_offsets();
            if let (Some(group), false) = (self.group(), offsets.is_empty()) {
                for o in &offsets {
                    self.last_committed.insert(o.tp.clone(), o.offset);
                }
                fx.event(Event::Committed {
                    consumer: self.node,
                    group,
                    generation: self.membership.generation(),
                    offsets: offsets.into_iter().map(|o| (o.tp, o.offset)).collect(),
                });
            }
            return;
        }
        if let Some(s) = self.stream.as_mut() {
            s.reset();
        }
        // OffsetFetch again: the position moves back to the committed offset (PositionSet).
        for p in self.partitions.values_mut() {
            p.buffer.clear();
            if p.pending == Pending::None {
                p.pending = Pending::Committed;
            }
        }
    }
}
