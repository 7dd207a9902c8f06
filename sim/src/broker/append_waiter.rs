//! Who waits for an acks=all append to reach the HW. The produce path parks the appends and
//! the group coordinator makes some of them, so the waiters live apart from both.

use std::sync::Arc;

use crate::ids::{NodeId, TopicPartition};
use crate::protocol::OffsetAndEpoch;

/// Who waits for an acks=all append to reach the HW.
#[derive(Clone, Debug)]
pub(super) enum Waiter {
    /// A producer's request, answered with a `ProduceResponse`.
    Producer { from: NodeId, correlation: u64 },
    /// The group coordinator's own write to `__consumer_offsets`: Kafka's `appendForGroup`
    /// goes through the same `ReplicaManager.appendRecords` with acks=-1 and the same
    /// `DelayedProduce`, so commits and group metadata become durable exactly like records.
    Coordinator(PendingWrite),
    /// The transaction coordinator's write of a transaction's next state.
    Txn(Box<super::txn::TxnWrite>),
    /// A transaction marker the coordinator asked for (`WriteTxnMarkers`, acks=-1).
    Marker {
        coordinator: NodeId,
        correlation: u64,
        producer_id: u64,
        commit: bool,
    },
}

/// A coordinator write waiting for the HW, with what to do once it passes or fails.
#[derive(Clone, Debug)]
pub(super) enum PendingWrite {
    /// An OffsetCommit: the offsets become visible, and the client is answered, only then.
    Offsets {
        group: Arc<str>,
        client: NodeId,
        correlation: u64,
        generation: Option<u32>,
        member: Option<Arc<str>>,
        offsets: Vec<OffsetAndEpoch>,
    },
    /// A TxnOffsetCommit: the offsets stay pending until the transaction's marker.
    TxnOffsets(TxnOffsetsWrite),
    /// The leader's assignment for `generation` (Kafka's `storeGroup` from SyncGroup).
    Assignment {
        group: Arc<str>,
        generation: u32,
        assignment: Vec<(Arc<str>, Vec<TopicPartition>)>,
    },
}

/// A TxnOffsetCommit's write to `__consumer_offsets`.
#[derive(Clone, Debug)]
pub(super) struct TxnOffsetsWrite {
    pub group: Arc<str>,
    pub client: NodeId,
    pub correlation: u64,
    pub producer_id: u64,
    pub offsets: Vec<OffsetAndEpoch>,
}
