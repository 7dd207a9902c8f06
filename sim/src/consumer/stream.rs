//! A stream processor's stateful computation: the "real-time feature engineering and model
//! inference" loop. Per key it counts records in tumbling windows of *record* time (event time,
//! the producer's timestamp), and when a later record of the key closes a window it scores the
//! count with a threshold model and emits one output record.
//!
//! The state lives in the processor's memory only: a crash loses the windows in progress
//! (Kafka Streams would restore them from a changelog topic; the simulator does not model one).

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::ids::Millis;
use crate::log::Record;
use crate::scenario::Transform;

pub struct StreamState {
    transform: Transform,
    /// Key → (window start, count so far).
    windows: BTreeMap<Arc<str>, (Millis, u64)>,
}

impl StreamState {
    pub fn new(transform: Transform) -> Self {
        StreamState {
            transform,
            windows: BTreeMap::new(),
        }
    }

    /// Forgets the state (a task re-initialised after its transaction aborted: Kafka Streams
    /// would restore it from its changelog, which the simulator does not model).
    pub fn reset(&mut self) {
        self.windows.clear();
    }

    /// Feeds one record; returns the output records (key, value) it completes.
    pub fn process(&mut self, r: &Record) -> Option<(Option<Arc<str>>, Arc<str>)> {
        match self.transform {
            Transform::Enrich => Some((r.data.key.clone(), format!("f({})", r.data.value).into())),
            Transform::WindowedCount {
                window_ms,
                threshold,
            } => {
                let key: Arc<str> = r.data.key.clone().unwrap_or_else(|| "null".into());
                let w = window_ms.max(1);
                let start = r.data.timestamp - r.data.timestamp % w;
                let slot = self.windows.entry(key.clone()).or_insert((start, 0));
                if slot.0 == start {
                    slot.1 += 1;
                    return None;
                }
                if start < slot.0 {
                    // A late record for a window already closed: dropped, as a stream processor
                    // without a grace period drops it.
                    return None;
                }
                let (closed, count) = *slot;
                *slot = (start, 1);
                let score = if count > threshold { "high" } else { "normal" };
                let value = format!(
                    "{key}@{}..{} count={count} score={score}",
                    crate::trace::fmt_time(closed),
                    crate::trace::fmt_time(closed + w)
                );
                Some((Some(key), value.into()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::RecordData;

    fn rec(key: &str, ts: Millis) -> Record {
        Record {
            offset: 0,
            leader_epoch: 0,
            data: RecordData {
                payload: None,
                key: Some(key.into()),
                value: "v".into(),
                timestamp: ts,
                size: 10,
            },
            producer: None,
            control: None,
        }
    }

    #[test]
    fn a_window_closes_when_a_later_record_of_its_key_arrives() {
        let mut s = StreamState::new(Transform::WindowedCount {
            window_ms: 1000,
            threshold: 2,
        });
        assert_eq!(s.process(&rec("k", 100)), None);
        assert_eq!(s.process(&rec("k", 900)), None);
        assert_eq!(
            s.process(&rec("j", 950)),
            None,
            "other keys have their own windows"
        );
        assert_eq!(s.process(&rec("k", 999)), None);
        let out = s.process(&rec("k", 1500)).expect("window [0, 1s) closed");
        assert_eq!(out.0.as_deref(), Some("k"));
        assert_eq!(&*out.1, "k@0.000s..1.000s count=3 score=high");
        assert_eq!(s.process(&rec("k", 200)), None, "late records are dropped");
    }
}
