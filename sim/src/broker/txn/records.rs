//! The transaction coordinator's records in `__transaction_state`: one per change, keyed by the
//! `transactional.id`, the latest winning (Kafka's `TransactionLogKey`/`TransactionLogValue`).
//!
//! Kafka serialises them in a binary schema; here they are text a learner can read in the trace:
//! key `txn:pay-1`, value `txn:pay-1 producer 1000 epoch 3 Ongoing [orders-0 orders-1]
//! timeout 60000 started 12.345`. The value repeats the key because the trace shows a
//! record's value only.

use std::sync::Arc;

use crate::ids::{Millis, TopicPartition};
use crate::log::RecordData;
use crate::protocol::TxnState;

/// What one record of `__transaction_state` says about a transactional id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredTxn {
    pub transactional_id: Arc<str>,
    pub producer_id: u64,
    pub producer_epoch: u16,
    pub state: TxnState,
    pub partitions: Vec<TopicPartition>,
    pub timeout_ms: Millis,
    /// When the transaction became Ongoing (its timeout counts from here).
    pub started_at: Millis,
}

const STATES: [TxnState; 6] = [
    TxnState::Empty,
    TxnState::Ongoing,
    TxnState::PrepareCommit,
    TxnState::PrepareAbort,
    TxnState::CompleteCommit,
    TxnState::CompleteAbort,
];

pub fn record(t: &StoredTxn, now: Millis) -> RecordData {
    let key = format!("txn:{}", t.transactional_id);
    let tps: Vec<String> = t.partitions.iter().map(|tp| tp.to_string()).collect();
    let value = format!(
        "{key} producer {} epoch {} {} [{}] timeout {} started {}",
        t.producer_id,
        t.producer_epoch,
        t.state.name(),
        tps.join(" "),
        t.timeout_ms,
        t.started_at
    );
    RecordData {
        payload: None,
        size: (key.len() + value.len()) as u32 + 10,
        key: Some(key.into()),
        value: value.into(),
        timestamp: now,
    }
}

/// Reads a record back; `None` for anything else.
pub fn parse(d: &RecordData) -> Option<StoredTxn> {
    let v = d.value.strip_prefix("txn:")?;
    let (id, rest) = v.split_once(" producer ")?;
    let (producer_id, rest) = rest.split_once(" epoch ")?;
    let (epoch, rest) = rest.split_once(' ')?;
    let (state, rest) = rest.split_once(" [")?;
    let (tps, rest) = rest.split_once("] timeout ")?;
    let (timeout, started) = rest.split_once(" started ")?;
    Some(StoredTxn {
        transactional_id: id.into(),
        producer_id: producer_id.parse().ok()?,
        producer_epoch: epoch.parse().ok()?,
        state: *STATES.iter().find(|s| s.name() == state)?,
        partitions: tps
            .split_whitespace()
            .map(|s| {
                let (topic, p) = s.rsplit_once('-')?;
                Some(TopicPartition::new(topic, p.parse().ok()?))
            })
            .collect::<Option<Vec<_>>>()?,
        timeout_ms: timeout.parse().ok()?,
        started_at: started.parse().ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_transaction_reads_back_the_same() {
        let t = StoredTxn {
            transactional_id: "pay-1".into(),
            producer_id: 1_010_000,
            producer_epoch: 3,
            state: TxnState::PrepareCommit,
            partitions: vec![
                TopicPartition::new("orders", 0),
                TopicPartition::new("my-topic", 11),
            ],
            timeout_ms: 60_000,
            started_at: 12_345,
        };
        let d = record(&t, 0);
        assert_eq!(
            &*d.value,
            "txn:pay-1 producer 1010000 epoch 3 PrepareCommit [orders-0 my-topic-11] timeout 60000 started 12345"
        );
        assert_eq!(parse(&d), Some(t));
    }
}
