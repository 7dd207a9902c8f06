//! Real clients against the codec over TCP: kafka-python 3.0 and kcat (librdkafka) produce
//! records and read them back, through `Connection::decode`/`encode` and a stand-in for the
//! simulation (one broker, one partition, an in-memory log, a group of one).
//!
//! Ignored by default: they need the clients. Run them with
//! `KAFKA_PYTHON_PATH=/tmp/kp3 cargo test -p kafkascope-gateway --test clients_smoke -- --ignored`
//! (`KAFKA_PYTHON_PATH`: a directory holding the unpacked kafka-python wheel; kcat on PATH).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::sync::{Arc, Mutex};

use kafkascope_gateway::codec::{Connection, Decoded, Listeners};
use kafkascope_sim::ids::TopicPartition;
use kafkascope_sim::log::Record;
use kafkascope_sim::protocol::{
    EpochEndOffset, FetchedPartition, JoinGroupResponse, JoinedMember, Message, OffsetSpec,
    PartitionState,
};

/// The simulation's part: answers each request message.
fn answer(log: &Mutex<Vec<Record>>, m: Message) -> Message {
    if std::env::var_os("SMOKE_TRACE").is_some() {
        eprintln!("{}", m.summary());
    }
    let tp = TopicPartition::new("orders", 0);
    let mut log = log.lock().unwrap();
    match m {
        Message::MetadataRequest { correlation } => Message::MetadataResponse {
            correlation,
            partitions: vec![PartitionState {
                tp,
                replicas: vec![1],
                leader: Some(1),
                leader_epoch: 0,
                isr: vec![1],
                partition_epoch: 0,
                elr: vec![],
            }],
            brokers: vec![1],
        },
        Message::InitProducerId { correlation } => Message::InitProducerIdResponse {
            correlation,
            result: Ok((1000, 0)),
        },
        Message::Produce(p) => {
            let base = log.len() as u64;
            for (i, d) in p.records.into_iter().enumerate() {
                log.push(Record {
                    offset: base + i as u64,
                    leader_epoch: 0,
                    data: d,
                    producer: None,
                });
            }
            Message::ProduceResponse {
                correlation: p.correlation,
                tp: p.tp,
                error: None,
                base_offset: Some(base),
            }
        }
        Message::Fetch(f) => Message::FetchResponse {
            correlation: f.correlation,
            partitions: f
                .partitions
                .iter()
                .map(|p| FetchedPartition {
                    tp: p.tp.clone(),
                    error: None,
                    high_watermark: log.len() as u64,
                    log_end_offset: log.len() as u64,
                    records: log.iter().skip(p.fetch_offset as usize).cloned().collect(),
                })
                .collect(),
        },
        Message::ListOffsets {
            correlation,
            partitions,
        } => Message::ListOffsetsResponse {
            correlation,
            partitions: partitions
                .into_iter()
                .map(|(tp, _, spec)| {
                    let o = match spec {
                        OffsetSpec::Earliest => 0,
                        OffsetSpec::Latest => log.len() as u64,
                    };
                    (tp, Ok(o))
                })
                .collect(),
        },
        Message::OffsetsForLeaderEpoch {
            correlation,
            partitions,
        } => Message::OffsetsForLeaderEpochResponse {
            correlation,
            partitions: partitions
                .into_iter()
                .map(|q| EpochEndOffset {
                    tp: q.tp,
                    error: None,
                    end: Some((0, log.len() as u64)),
                })
                .collect(),
        },
        // A group of one: the member leads, and its own assignment is what it gets.
        Message::FindCoordinator { correlation, .. } => Message::FindCoordinatorResponse {
            correlation,
            error: None,
            coordinator: Some(1),
        },
        Message::JoinGroup(j) => Message::JoinGroupResponse(JoinGroupResponse {
            correlation: j.correlation,
            error: None,
            generation: 1,
            protocol: Some(j.protocol),
            leader: Some("m-1".into()),
            member_id: Some("m-1".into()),
            members: vec![JoinedMember {
                member_id: "m-1".into(),
                subscription: j.subscription,
            }],
        }),
        Message::SyncGroup(s) => Message::SyncGroupResponse {
            correlation: s.correlation,
            error: None,
            assignment: s
                .assignments
                .into_iter()
                .find(|(m, _)| **m == *s.member_id)
                .map(|(_, a)| a)
                .unwrap_or_default(),
        },
        Message::Heartbeat { correlation, .. } => Message::HeartbeatResponse {
            correlation,
            error: None,
        },
        Message::LeaveGroup { correlation, .. } => Message::LeaveGroupResponse {
            correlation,
            error: None,
        },
        Message::OffsetFetch { correlation, .. } => Message::OffsetFetchResponse {
            correlation,
            error: None,
            offsets: vec![],
        },
        Message::OffsetCommit { correlation, .. } => Message::OffsetCommitResponse {
            correlation,
            error: None,
        },
        other => panic!("the stand-in does not answer {}", other.summary()),
    }
}

fn serve(mut s: TcpStream, index: u16, listeners: Listeners, log: Arc<Mutex<Vec<Record>>>) {
    let mut c = Connection::new(index);
    loop {
        let mut len = [0u8; 4];
        if s.read_exact(&mut len).is_err() {
            return;
        }
        let mut frame = vec![0u8; i32::from_be_bytes(len) as usize];
        if s.read_exact(&mut frame).is_err() {
            return;
        }
        let out = match c.decode(&frame, 0, &listeners) {
            Decoded::Reply(f) => Some(f),
            Decoded::Close(why) => panic!("closed: {why}"),
            Decoded::Simulate { messages, pending } => {
                let answers: Vec<Message> = messages.into_iter().map(|m| answer(&log, m)).collect();
                c.try_encode(&pending, &answers, &listeners).unwrap()
            }
        };
        if let Some(f) = out {
            if s.write_all(&f).is_err() {
                return;
            }
        }
    }
}

const SCRIPT: &str = r#"
import sys
from kafka import KafkaProducer, KafkaConsumer, TopicPartition
boot = sys.argv[1]
p = KafkaProducer(bootstrap_servers=boot, acks='all')
for i in range(3):
    p.send('orders', key=b'k%d' % i, value=b'\x00value-%d' % i, partition=0,
           headers=[('h', b'%d' % i)], timestamp_ms=1700000000000 + i)
p.flush()
p.close()
if sys.argv[2] == 'group':
    c = KafkaConsumer('orders', bootstrap_servers=boot, group_id='g1', enable_auto_commit=False,
                      auto_offset_reset='earliest')
else:
    c = KafkaConsumer(bootstrap_servers=boot, enable_auto_commit=False, group_id=None)
    tp = TopicPartition('orders', 0)
    c.assign([tp])
    c.seek_to_beginning(tp)
got = []
for _ in range(20):
    for recs in c.poll(timeout_ms=500).values():
        got.extend(recs)
    if len(got) >= 3:
        break
for r in got:
    print(r.offset, r.key, r.value, r.headers, r.timestamp)
if sys.argv[2] == 'group':
    c.commit()
c.close()
"#;

#[test]
#[ignore]
fn kafka_python_produces_and_consumes_through_the_codec() {
    run("assign");
}

#[test]
#[ignore]
fn kafka_python_consumes_as_a_group_through_the_codec() {
    run("group");
}

/// Starts a gateway on a loopback port, with an empty log; returns the port.
fn start() -> u16 {
    let server = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = server.local_addr().unwrap().port();
    let listeners = Listeners {
        host: "127.0.0.1".into(),
        ports: BTreeMap::from([(1, port)]),
        cluster_id: "smoke".into(),
    };
    let log = Arc::new(Mutex::new(Vec::new()));
    std::thread::spawn(move || {
        for (i, s) in server.incoming().enumerate() {
            let (l, log) = (listeners.clone(), log.clone());
            std::thread::spawn(move || serve(s.unwrap(), i as u16, l, log));
        }
    });
    port
}

fn run(mode: &str) {
    let path = std::env::var("KAFKA_PYTHON_PATH").expect("KAFKA_PYTHON_PATH");
    let port = start();
    let out = Command::new("python3")
        .args(["-c", SCRIPT, &format!("127.0.0.1:{port}"), mode])
        .env("PYTHONPATH", path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines,
        [
            r"0 b'k0' b'\x00value-0' [('h', b'0')] 1700000000000",
            r"1 b'k1' b'\x00value-1' [('h', b'1')] 1700000000001",
            r"2 b'k2' b'\x00value-2' [('h', b'2')] 1700000000002",
        ]
    );
}

/// Runs kcat with a time limit; returns its standard output.
fn kcat(args: &[&str], stdin: &str) -> String {
    use std::process::Stdio;
    let mut child = Command::new("timeout")
        .arg("30")
        .arg("kcat")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "kcat {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
#[ignore]
fn kcat_lists_produces_and_consumes_through_the_codec() {
    let port = start();
    let b = format!("127.0.0.1:{port}");
    let listing = kcat(&["-L", "-b", &b], "");
    assert!(
        listing.contains("topic \"orders\" with 1 partitions"),
        "{listing}"
    );
    kcat(
        &[
            "-P", "-b", &b, "-t", "orders", "-p", "0", "-K", ":", "-H", "h=1",
        ],
        "k1:v1\nk2:v2\n",
    );
    let fmt = "%o %k=%s %h\n";
    let read = kcat(
        &[
            "-C",
            "-b",
            &b,
            "-t",
            "orders",
            "-p",
            "0",
            "-o",
            "beginning",
            "-e",
            "-f",
            fmt,
        ],
        "",
    );
    assert_eq!(read, "0 k1=v1 h=1\n1 k2=v2 h=1\n");
    // A balanced consumer: librdkafka's feature check, JoinGroup, SyncGroup, commits.
    let group = kcat(
        &[
            "-b",
            &b,
            "-G",
            "g1",
            "-o",
            "beginning",
            "-c",
            "2",
            "-f",
            fmt,
            "orders",
        ],
        "",
    );
    assert_eq!(group, "0 k1=v1 h=1\n1 k2=v2 h=1\n");
}
