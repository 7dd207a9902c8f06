//! A real client's session as `kafkascope serve --record` writes it: the `client-*` faults.

use super::*;
use crate::command::{Command, TimedCommand};
use crate::config::Acks;
use crate::host::Simulation;
use crate::log::RecordData;
use crate::payload::{Bytes, Payload};
use crate::protocol::{Message, ProduceRequest};
use crate::scenario::to_toml;
use crate::trace::Event;

const CLUSTER: &str = r#"
[scenario]
name = "a recorded session"
duration = "3s"

[cluster]
brokers = 3

[[topics]]
name = "user-events"
partitions = 1
replication.factor = 3
"#;

fn produce(correlation: u64) -> Message {
    Message::Produce(ProduceRequest {
        correlation,
        tp: crate::ids::TopicPartition::new("user-events", 0),
        acks: Acks::All,
        timeout_ms: 30_000,
        records: vec![RecordData {
            key: Some("u1".into()),
            value: "c1-1".into(),
            timestamp: 1_200,
            size: 16,
            payload: Some(std::sync::Arc::new(Payload {
                key: Some(Bytes::new(b"u1")),
                value: Some(Bytes::new(&[0, 1, 0xfe])),
                headers: vec![("source".into(), Some(Bytes::new(b"test \"quoted\"")))],
                timestamp: 1_765_000_000_000,
            })),
        }],
        idempotent: None,
        transactional_id: None,
    })
}

fn session() -> Vec<TimedCommand> {
    let at = |at, command| TimedCommand { at, command };
    vec![
        at(
            1_000,
            Command::ClientConnect {
                client: 1,
                broker: 1,
                client_id: "kafka-python-3.0.0".into(),
            },
        ),
        at(
            1_000,
            Command::ClientRequest {
                client: 1,
                request: 1,
                messages: vec![Message::MetadataRequest { correlation: 1 }],
            },
        ),
        at(
            1_200,
            Command::ClientRequest {
                client: 1,
                request: 2,
                messages: vec![produce(2)],
            },
        ),
        at(2_000, Command::ClientClose { client: 1 }),
    ]
}

#[test]
fn a_recorded_session_reads_back_and_replays_to_the_same_trace() {
    let mut s = parse("cluster.toml", CLUSTER).unwrap_or_else(|e| panic!("{e}"));
    s.faults = session();
    let text = to_toml(&s);
    let back = parse("recorded.toml", &text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(
        back.faults, s.faults,
        "the writer and the reader agree:\n{text}"
    );

    let trace = |s: &Scenario| {
        let mut sim = Simulation::new(s, 1);
        sim.run_to_end();
        sim.into_trace()
    };
    let (a, b) = (trace(&s), trace(&back));
    assert_eq!(a.hash(), b.hash());
    // The broker answered both requests, and the client's bytes are in the log as sent.
    let answers: Vec<u64> = a
        .entries
        .iter()
        .filter_map(|e| match &e.event {
            Event::ClientAnswered { request, .. } => Some(*request),
            _ => None,
        })
        .collect();
    assert_eq!(answers, vec![1, 2]);
    let lines: Vec<String> = a.lines().collect();
    assert!(
        lines
            .iter()
            .any(|l| l
                .contains("client-1 request 2 answered: ProduceResponse user-events-0 offset 0")),
        "{}",
        lines.join("\n")
    );
    assert!(lines
        .iter()
        .any(|l| l.contains("client-1 connection closed by the client")));
}

#[test]
fn a_damaged_recording_says_where_and_what() {
    let bad = format!(
        "{CLUSTER}\n[[faults]]\nat = \"1s\"\naction = \"client-request\"\nclient = 1\nrequest = 1\nmessages = '[{{\"Produce\": 3}}]'\n"
    );
    let e = errors(&bad);
    assert!(
        e.contains("`messages` is not a list of the simulation's messages"),
        "{e}"
    );
    assert!(e.contains("test.toml:"), "located: {e}");
    let zero =
        format!("{CLUSTER}\n[[faults]]\nat = \"1s\"\naction = \"client-close\"\nclient = 0\n");
    assert!(errors(&zero).contains("client"), "{}", errors(&zero));
}

fn errors(text: &str) -> String {
    match parse("test.toml", text) {
        Ok(_) => panic!("parsed:\n{text}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_request_for_a_client_that_never_connected_is_skipped_and_said() {
    let mut s = parse("cluster.toml", CLUSTER).unwrap_or_else(|e| panic!("{e}"));
    s.faults = session().split_off(1);
    let mut sim = Simulation::new(&s, 1);
    sim.run_to_end();
    let t = sim.into_trace();
    assert!(t.entries.iter().any(|e| matches!(
        &e.event,
        Event::Skipped { reason, .. } if reason == "client-1 is not connected"
    )));
}
