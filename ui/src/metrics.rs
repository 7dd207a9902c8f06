//! Metrics over time, computed from the recorded trace: acknowledged records per second,
//! under-replicated and offline partitions, and the reader's lag.
//!
//! What a partition's health means is the sim's ([`kafkascope_sim::metrics`]); this module
//! only buckets it for the plots as the trace streams in. The sim's `Recorder` is not run
//! here: it keeps every record's produce time and every group latency for the report's
//! percentiles, which the app would hold for the whole session, and it measures consumer
//! groups' lag, while the app's plot shows the checking reader's (the reader box's number,
//! [`ReaderProgress`], which the sim derives too).
//!
//! The series is built as the trace arrives (the session feeds it every entry), one point per
//! fixed bucket of virtual time, so drawing it costs nothing per frame however long the run;
//! the panel shows the points up to the displayed moment. A branch rebuilds it from the kept
//! prefix. Plain data, no bevy or egui, so the computation is unit-tested.

use kafkascope_sim::ids::Millis;
use kafkascope_sim::metrics;
pub use kafkascope_sim::metrics::ReaderProgress;
use kafkascope_sim::replay::Replay;
use kafkascope_sim::trace::{Event, TraceEntry};

/// The state of the run at the end of one bucket, and what happened during it.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Point {
    /// Records acknowledged to producers during the bucket, per second.
    pub acked_per_s: f64,
    /// Partitions whose ISR is smaller than their replica set.
    pub under_replicated: u32,
    /// Partitions with no leader.
    pub offline: u32,
    /// Records below the high watermarks (of the partitions' authoritative leaders) that the
    /// reader has not read yet: what the cluster view's reader box shows.
    pub lag: u64,
}

#[derive(Clone, Debug)]
pub struct Metrics {
    /// The width of a point, in virtual milliseconds.
    pub bucket_ms: Millis,
    /// Complete buckets: point `i` covers `[i * bucket_ms, (i + 1) * bucket_ms)`.
    pub points: Vec<Point>,
    replay: Replay,
    reader: ReaderProgress,
    acked_in_bucket: u64,
}

impl Metrics {
    /// About 300 points over the run, at least 50 ms each.
    pub fn new(duration: Millis) -> Self {
        Metrics {
            bucket_ms: (duration / 300).max(50),
            points: Vec::new(),
            replay: Replay::default(),
            reader: ReaderProgress::default(),
            acked_in_bucket: 0,
        }
    }

    /// The series of the given entries (a branch's kept prefix), complete up to `until`.
    pub fn from_entries(duration: Millis, entries: &[TraceEntry], until: Millis) -> Self {
        let mut m = Metrics::new(duration);
        for e in entries {
            m.absorb(e.at, &e.event);
        }
        m.close_until(until);
        m
    }

    /// Takes in one trace entry (entries arrive in time order).
    pub fn absorb(&mut self, at: Millis, e: &Event) {
        self.close_until(at);
        self.replay.apply(e);
        self.reader.absorb(e);
        if let Event::Acked { values, .. } = e {
            self.acked_in_bucket += values.len() as u64;
        }
    }

    /// Closes every bucket that ends at or before `t`: the trace is complete for `[0, t)`.
    pub fn close_until(&mut self, t: Millis) {
        while (self.points.len() as Millis + 1) * self.bucket_ms <= t {
            let p = self.snapshot();
            self.points.push(p);
            self.acked_in_bucket = 0;
        }
    }

    fn snapshot(&self) -> Point {
        let r = &self.replay;
        Point {
            acked_per_s: self.acked_in_bucket as f64 * 1000.0 / self.bucket_ms as f64,
            under_replicated: metrics::under_replicated(r),
            offline: metrics::offline(r),
            lag: self.reader.lag(r),
        }
    }

    /// The points that end at or before the displayed millisecond `t`.
    pub fn upto(&self, t: Millis) -> &[Point] {
        let n = ((t + 1) / self.bucket_ms) as usize;
        &self.points[..n.min(self.points.len())]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafkascope_sim::host::Simulation;

    #[test]
    fn the_series_counts_every_acknowledgement_and_sees_the_crash() {
        let text = include_str!("../../scenarios/acks1-leader-crash.toml");
        let scenario = kafkascope_sim::scenario::parse("acks1", text).unwrap();
        let mut sim = Simulation::new(&scenario, scenario.seed);
        sim.run_to_end();
        let trace = sim.into_trace();
        let end = scenario.duration;
        let m = Metrics::from_entries(end, &trace.entries, end);
        assert_eq!(m.points.len() as Millis, end / m.bucket_ms);

        // Every acknowledgement before the last complete bucket's end is in some bucket.
        let covered = m.points.len() as Millis * m.bucket_ms;
        let acked: u64 = trace
            .entries
            .iter()
            .filter(|e| e.at < covered)
            .map(|e| match &e.event {
                Event::Acked { values, .. } => values.len() as u64,
                _ => 0,
            })
            .sum();
        let summed: f64 = m
            .points
            .iter()
            .map(|p| p.acked_per_s * m.bucket_ms as f64 / 1000.0)
            .sum();
        assert!(acked > 0);
        assert!((summed - acked as f64).abs() < 1e-6, "{summed} vs {acked}");

        // The leader (broker-1) crashes at 5 s: healthy before, under-replicated after its
        // session expires and the controller shrinks the ISRs.
        let at = |t: Millis| m.points[(t / m.bucket_ms) as usize];
        assert_eq!(at(4_000).under_replicated, 0);
        assert_eq!(at(4_000).offline, 0);
        assert!(
            m.points.iter().any(|p| p.under_replicated > 0),
            "no under-replicated partition after the crash"
        );

        // Built incrementally as the session receives it, the series is the same.
        let mut inc = Metrics::new(end);
        for chunk in trace.entries.chunks(97) {
            for e in chunk {
                inc.absorb(e.at, &e.event);
            }
        }
        inc.close_until(end);
        assert_eq!(inc.points, m.points);
        // Only complete buckets up to the displayed moment are shown.
        assert_eq!(m.upto(m.bucket_ms - 2).len(), 0);
        assert_eq!(m.upto(m.bucket_ms - 1).len(), 1);
        assert_eq!(m.upto(end).len(), m.points.len());
    }

    /// The reader does not read `__consumer_offsets`, so its commits are no lag: once the
    /// producer has stopped and the reader has caught up, the lag is 0 though the offsets
    /// topic holds records.
    #[test]
    fn the_reader_lag_leaves_out_the_offsets_topic() {
        let text = include_str!("../../scenarios/rebalance-cooperative.toml");
        let scenario = kafkascope_sim::scenario::parse("coop", text).unwrap();
        let mut sim = Simulation::new(&scenario, scenario.seed);
        sim.run_to_end();
        let trace = sim.into_trace();
        let (mut replay, mut reader) = (Replay::default(), ReaderProgress::default());
        for e in &trace.entries {
            replay.apply(&e.event);
            reader.absorb(&e.event);
        }
        let offsets_hw: u64 = replay
            .partitions
            .keys()
            .filter(|tp| metrics::is_internal(tp))
            .filter_map(|tp| replay.authoritative(tp))
            .map(|(_, r)| r.high_watermark)
            .sum();
        assert!(offsets_hw > 0, "the group committed nothing");
        assert!(reader.consumed > 1000);
        assert_eq!(reader.lag(&replay), 0);
    }
}
