//! What a producer sends and when: a steady rate of generated records, and/or records the
//! scenario names one by one (KIP-101's `m1`, `m2`).

use std::sync::Arc;

use crate::ids::Millis;

#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub enum KeySpec {
    /// Null keys: the sticky partitioner spreads batches.
    None,
    /// Cycle through these keys.
    List(Vec<Arc<str>>),
    /// `key-0` .. `key-(n-1)`, cycling.
    Count(u32),
}

impl KeySpec {
    /// The key of the `i`-th generated record (1-based).
    pub fn key_for(&self, i: u64) -> Option<Arc<str>> {
        match self {
            KeySpec::None => None,
            KeySpec::List(keys) => Some(keys[((i - 1) % keys.len() as u64) as usize].clone()),
            KeySpec::Count(n) => Some(format!("key-{}", (i - 1) % *n as u64).into()),
        }
    }
}

#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ScheduledSend {
    pub at: Millis,
    pub value: Arc<str>,
    pub key: Option<Arc<str>>,
    pub partition: Option<u32>,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Workload {
    /// Records per second; 0 means none.
    pub rate: f64,
    pub start: Millis,
    pub stop: Millis,
    pub keys: KeySpec,
    pub value_bytes: u32,
    /// Sorted by time.
    pub sends: Vec<ScheduledSend>,
    /// `(time, records generated before it)` the current rate counts from.
    origin: (Millis, u64),
}

impl Workload {
    pub fn new(
        rate: f64,
        start: Millis,
        stop: Millis,
        keys: KeySpec,
        value_bytes: u32,
        mut sends: Vec<ScheduledSend>,
    ) -> Self {
        sends.sort_by_key(|s| s.at);
        Workload {
            rate,
            start,
            stop,
            keys,
            value_bytes,
            sends,
            origin: (start, 0),
        }
    }

    /// When the next generated record (after `generated` so far) is due.
    pub fn next_record_at(&self, generated: u64) -> Option<Millis> {
        if self.rate <= 0.0 {
            return None;
        }
        let (t0, n0) = self.origin;
        let k = generated - n0;
        let t = t0 + ((k as f64) * 1000.0 / self.rate).ceil() as Millis;
        (t < self.stop).then_some(t)
    }

    /// Changes the rate from `now` on, keeping what was generated.
    pub fn restart_rate(&mut self, rate: f64, now: Millis, generated: u64) {
        self.rate = rate;
        self.origin = (now.max(self.start), generated);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_steady_rate_spaces_records_evenly_and_stops() {
        let w = Workload::new(500.0, 100, 110, KeySpec::None, 10, vec![]);
        let times: Vec<Millis> = (0..).map_while(|g| w.next_record_at(g)).collect();
        assert_eq!(times, vec![100, 102, 104, 106, 108]);
    }

    #[test]
    fn keys_cycle() {
        let k = KeySpec::Count(2);
        assert_eq!(k.key_for(1).as_deref(), Some("key-0"));
        assert_eq!(k.key_for(4).as_deref(), Some("key-1"));
    }
}
