//! The consumer driven through the host: whole runs, read back from the trace.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::config::{ConsumerConfig, Value};
use crate::host::tests::small;
use crate::host::Simulation;
use crate::ids::{NodeId, TopicPartition};
use crate::scenario::{CommitPoint, ConsumerDef, Processing, Scenario};
use crate::trace::{Event, Trace};

pub(crate) fn consumer(name: &str, group: Option<&str>, settings: &[(&str, Value)]) -> ConsumerDef {
    let mut config = ConsumerConfig::default();
    for (k, v) in settings {
        config.set(k, v);
    }
    ConsumerDef {
        name: name.into(),
        group: group.map(Arc::from),
        topics: vec!["orders".into()],
        config,
        processing: Processing::default(),
        start: 0,
        stop: None,
        output: None,
    }
}

fn run(sc: &Scenario) -> Trace {
    let mut sim = Simulation::new(sc, 1);
    sim.run_to_end();
    sim.into_trace()
}

/// (tp, offset) → how many times the consumer processed it.
fn processed(t: &Trace, who: NodeId) -> BTreeMap<(TopicPartition, u64), u32> {
    let mut m = BTreeMap::new();
    for e in &t.entries {
        if let Event::Processed {
            consumer,
            tp,
            offset,
            ..
        } = &e.event
        {
            if *consumer == who {
                *m.entry((tp.clone(), *offset)).or_default() += 1;
            }
        }
    }
    m
}

fn acked(t: &Trace) -> BTreeSet<(TopicPartition, u64)> {
    let mut s = BTreeSet::new();
    for e in &t.entries {
        if let Event::Acked {
            tp,
            base_offset: Some(b),
            values,
            ..
        } = &e.event
        {
            for i in 0..values.len() as u64 {
                s.insert((tp.clone(), b + i));
            }
        }
    }
    s
}

#[test]
fn a_consumer_without_a_group_reads_every_partition_from_the_earliest_offset() {
    let mut sc = small(3, 200.0, vec![]);
    sc.consumers = vec![consumer(
        "audit",
        None,
        &[("auto.offset.reset", Value::Str("earliest".into()))],
    )];
    let t = run(&sc);
    let seen = processed(&t, NodeId::Consumer(0));
    let acked = acked(&t);
    assert!(acked.len() > 300);
    // Everything acknowledged early enough to be fetched before the end was processed once.
    let end = sc.duration;
    let late: BTreeSet<_> = t
        .entries
        .iter()
        .filter(|e| e.at + 600 > end)
        .filter_map(|e| match &e.event {
            Event::Acked {
                tp,
                base_offset: Some(b),
                values,
                ..
            } => Some((0..values.len() as u64).map(move |i| (tp.clone(), b + i))),
            _ => None,
        })
        .flatten()
        .collect();
    for k in acked.difference(&late) {
        assert_eq!(seen.get(k), Some(&1), "{k:?} processed once");
    }
    assert!(seen.values().all(|n| *n == 1));
}

#[test]
fn a_group_member_commits_after_processing_and_a_successor_resumes_from_the_commit() {
    let mut sc = small(3, 200.0, vec![]);
    sc.duration = 20_000;
    sc.producers[0].workload = crate::producer::Workload::new(
        200.0,
        100,
        18_000,
        crate::producer::KeySpec::Count(4),
        100,
        vec![],
    );
    let settings = [
        ("auto.offset.reset", Value::Str("earliest".into())),
        ("enable.auto.commit", Value::Bool(false)),
        ("session.timeout.ms", Value::Int(6000)),
        ("heartbeat.interval.ms", Value::Int(1000)),
    ];
    let mut a = consumer("a", Some("billing"), &settings);
    a.processing = Processing {
        per_record_us: 500,
        commit: CommitPoint::After,
    };
    a.stop = Some(8_000);
    let mut b = consumer("b", Some("billing"), &settings);
    b.processing = a.processing.clone();
    b.start = 10_000;
    sc.consumers = vec![a, b];
    let t = run(&sc);
    let pa = processed(&t, NodeId::Consumer(0));
    let pb = processed(&t, NodeId::Consumer(1));
    assert!(
        !pa.is_empty() && !pb.is_empty(),
        "both worked: {} {}",
        pa.len(),
        pb.len()
    );
    // a closed cleanly after committing what it processed: b starts where a stopped.
    for k in pb.keys() {
        assert!(!pa.contains_key(k), "{k:?} processed by both");
    }
    assert!(t
        .entries
        .iter()
        .any(|e| matches!(&e.event, Event::GroupStable { .. })));
}

#[test]
fn fetch_min_bytes_makes_the_broker_wait_and_the_polls_fewer_and_larger() {
    let polls = |min_bytes: i64| {
        let mut sc = small(3, 200.0, vec![]);
        sc.consumers = vec![consumer(
            "audit",
            None,
            &[
                ("auto.offset.reset", Value::Str("earliest".into())),
                ("fetch.min.bytes", Value::Int(min_bytes)),
                ("fetch.max.wait.ms", Value::Int(400)),
            ],
        )];
        let t = run(&sc);
        let n = t
            .entries
            .iter()
            .filter(|e| matches!(e.event, Event::Polled { .. }))
            .count();
        (n, processed(&t, NodeId::Consumer(0)).len())
    };
    let (eager, read_eager) = polls(1);
    let (patient, read_patient) = polls(5_000);
    assert!(
        patient * 3 < eager,
        "with fetch.min.bytes=5000 the broker holds fetches: {patient} polls vs {eager}"
    );
    assert_eq!(read_patient, read_eager, "both read everything in the end");
}
