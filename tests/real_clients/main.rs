//! Real Kafka clients against `kafkascope serve`: kafka-python producers and consumers (the
//! scripts in `examples/` and `tests/clients/`), kcat and confluent-kafka connect over loopback
//! while the test types faults into serve's stdin, and a recorded session replays to the same
//! trace hash.
//!
//! The clients live in a Python virtual environment made by `.ci/clients-venv.sh`; its python is
//! named by `KAFKASCOPE_PYTHON`. Without it these tests skip with a reason, except under
//! `CI=true`, where they fail. Assertions are about outcomes, never timings: the timeouts only
//! keep a broken run from hanging.

mod harness;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use harness::*;

/// (a) An idempotent acks=all kafka-python producer keeps sending while the leader of a
/// partition crashes and comes back and another broker is cut off and healed; the example
/// feature consumer (a group, from the earliest offset) then reads every event exactly once.
#[test]
fn idempotent_producer_through_a_leader_crash_and_an_isolation_loses_and_duplicates_nothing() {
    let Some(python) = python() else { return };
    let mut serve = Serve::start();
    let b = serve.bootstrap.clone();
    let n: i64 = 300;
    let count = n.to_string();
    let mut producer = Proc::python(
        &python,
        "event_producer",
        "examples/event_producer.py",
        &[
            "--bootstrap",
            &b,
            "--count",
            &count,
            "--interval",
            "0.03",
            "--request-timeout-ms",
            "5000",
            "--timeout",
            "200",
        ],
    );
    let mut acked = 0;
    let patience = Duration::from_secs(30);

    acked_so_far(&producer, &mut acked, 40, STEP);
    let before = leaders(&python, &b);
    let echo = serve.command(&format!("crash leader of {TOPIC}-0"));
    let crashed = broker_named(&echo).unwrap_or(before[&0]);
    eprintln!(
        "crashed broker-{crashed} (the leader of {TOPIC}-0 was broker-{}), {acked} acknowledged",
        before[&0]
    );

    acked_so_far(&producer, &mut acked, 100, patience);
    serve.command(&format!("restart broker-{crashed}"));

    acked_so_far(&producer, &mut acked, 170, patience);
    let other = (1..=BROKERS as u32).find(|&id| id != crashed).unwrap();
    serve.command(&format!("isolate broker-{other}"));

    acked_so_far(&producer, &mut acked, 230, patience);
    serve.command("heal");

    let (status, out) = producer.finish(STEP * 3);
    let s = summary("event_producer", &out);
    let sent: Vec<i64> = (0..n).collect();
    assert_eq!(
        ids(&s, "sent"),
        sent,
        "expected the producer to send event ids 0..{n}"
    );
    assert_eq!(
        ids(&s, "acked"),
        sent,
        "expected every one of the {n} events acknowledged through the faults; failed: {}",
        s["failed"]
    );
    assert!(
        status.success(),
        "expected event_producer to exit 0; it exited with {status}"
    );

    let mut consumer = Proc::python(
        &python,
        "feature_consumer",
        "examples/feature_consumer.py",
        &[
            "--bootstrap",
            &b,
            "--count",
            &count,
            "--drain",
            "3",
            "--timeout",
            "150",
            "--json",
        ],
    );
    let (status, out) = consumer.finish(STEP * 2);
    assert!(
        status.success(),
        "expected feature_consumer to exit 0; it exited with {status}"
    );
    let read = ids(&summary("feature_consumer", &out), "event_ids");
    let unique: BTreeSet<i64> = read.iter().copied().collect();
    let missing: Vec<i64> = sent
        .iter()
        .filter(|id| !unique.contains(id))
        .copied()
        .collect();
    assert!(
        missing.is_empty(),
        "expected the consumer to read all {n} events; {} missing: {missing:?}",
        missing.len()
    );
    assert_eq!(
        read.len(),
        n as usize,
        "expected each event read exactly once; read {} records, {} distinct",
        read.len(),
        unique.len()
    );
    assert_eq!(
        unique,
        sent.iter().copied().collect(),
        "expected exactly the events sent, no others"
    );
    // The records carry the producer's JSON: the feature lines are computed from it.
    assert!(
        out.iter().any(|l| l.contains("rolling_mean=")),
        "expected feature lines from the consumer"
    );
    serve.stop();
}

/// A consumer-group member's view, from its `assigned` and `record` lines.
#[derive(Default)]
struct Member {
    assigned: Option<BTreeSet<u32>>,
    read: BTreeSet<i64>,
    closed: bool,
}

impl Member {
    fn pump(&mut self, p: &Proc) {
        let lines = match p.take_lines() {
            Ok(v) => v,
            Err(v) => {
                self.closed = true;
                v
            }
        };
        for l in lines {
            if let Some(j) = l.strip_prefix("assigned ") {
                self.assigned = Some(serde_json::from_str(j).expect("assigned list"));
            } else if let Some(j) = l.strip_prefix("record ") {
                let v: serde_json::Value = serde_json::from_str(j).expect("record json");
                self.read.insert(v["event_id"].as_i64().expect("event_id"));
            } else if l == "closed" {
                self.closed = true;
            }
        }
    }
}

/// Polls the members until `done` holds, or fails with `what` and their state.
fn until(
    what: &str,
    procs: &[&Proc],
    members: &mut [&mut Member],
    mut done: impl FnMut(&[&mut Member]) -> bool,
) {
    let deadline = Instant::now() + STEP;
    loop {
        for (p, m) in procs.iter().zip(members.iter_mut()) {
            m.pump(p);
        }
        if done(members) {
            return;
        }
        if Instant::now() >= deadline {
            let state: Vec<String> = members
                .iter()
                .zip(procs)
                .map(|(m, p)| {
                    format!(
                        "{}: assigned {:?}, read {} events, closed {}",
                        p.name,
                        m.assigned,
                        m.read.len(),
                        m.closed
                    )
                })
                .collect();
            panic!(
                "expected {what} within {STEP:?}; it did not happen: {}",
                state.join("; ")
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// (b) Two kafka-python consumers in one group share the three partitions; when one closes,
/// the other is given all three and reads what is produced afterwards.
#[test]
fn a_consumer_group_rebalances_when_a_member_leaves() {
    let Some(python) = python() else { return };
    let serve = Serve::start();
    let b = serve.bootstrap.clone();
    let member = |name: &str| {
        Proc::python(
            &python,
            name,
            "tests/clients/group_member.py",
            &[
                "--bootstrap",
                &b,
                "--group",
                "rebalance",
                "--name",
                name,
                "--timeout",
                "400",
            ],
        )
    };
    let mut pa = member("member-a");
    let pb = member("member-b");
    let (mut a, mut bm) = (Member::default(), Member::default());
    let all: BTreeSet<u32> = (0..3).collect();

    until(
        "the two members to split the 3 partitions between them",
        &[&pa, &pb],
        &mut [&mut a, &mut bm],
        |m| match (&m[0].assigned, &m[1].assigned) {
            (Some(x), Some(y)) => {
                !x.is_empty()
                    && !y.is_empty()
                    && x.is_disjoint(y)
                    && x.union(y).copied().collect::<BTreeSet<_>>() == all
            }
            _ => false,
        },
    );
    eprintln!(
        "member-a has {:?}, member-b has {:?}",
        a.assigned, bm.assigned
    );

    let first: BTreeSet<i64> = produce(&python, &b, 0, 30).into_iter().collect();
    until(
        "the members to read the first 30 events between them",
        &[&pa, &pb],
        &mut [&mut a, &mut bm],
        |m| first.is_subset(&m[0].read.union(&m[1].read).copied().collect()),
    );

    pa.send("stop");
    until(
        "member-a to close and member-b to be given all 3 partitions",
        &[&pa, &pb],
        &mut [&mut a, &mut bm],
        |m| m[0].closed && m[1].assigned.as_ref() == Some(&all),
    );
    pa.finish(STEP);

    let second: BTreeSet<i64> = produce(&python, &b, 1000, 30).into_iter().collect();
    until(
        "member-b alone to read the 30 events produced after the rebalance",
        &[&pb],
        &mut [&mut bm],
        |m| second.is_subset(&m[0].read),
    );
    let missed: Vec<_> = second.iter().filter(|id| a.read.contains(id)).collect();
    assert!(
        missed.is_empty(),
        "expected the closed member-a to read nothing more; it read {missed:?}"
    );
    let mut pb = pb;
    pb.send("stop");
    pb.finish(STEP);
    serve.stop();
}

/// The path of an installed program, if any.
fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

fn numbers(s: &str) -> BTreeSet<u32> {
    s.split(',').filter_map(|x| x.trim().parse().ok()).collect()
}

/// (c) kcat lists the three brokers and the topic's partitions with their leaders, replicas
/// and in-sync replicas; a confluent-kafka (librdkafka) producer delivers with acks=all, and
/// kcat reads back what it wrote.
#[test]
fn kcat_lists_the_cluster_and_confluent_kafka_delivers() {
    let Some(python) = python() else { return };
    let Some(kcat) = which("kcat") else {
        assert!(
            !ci(),
            "expected kcat on PATH under CI=true (.ci/clients-venv.sh installs it); it is missing"
        );
        eprintln!("skipped: no kcat on PATH (apt-get install kcat)");
        return;
    };
    let serve = Serve::start();
    let b = serve.bootstrap.clone();

    let o = Command::new(&kcat)
        .args(["-b", serve.first_broker(), "-L", "-m", "30"])
        .output()
        .expect("kcat runs");
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        o.status.success(),
        "expected `kcat -L` to list the metadata; it exited {:?}:\n{text}\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stderr)
    );
    eprintln!("{text}");
    assert!(
        text.contains(&format!("{BROKERS} brokers:")),
        "expected `{BROKERS} brokers:` in kcat -L:\n{text}"
    );
    for (k, addr) in b.split(',').enumerate() {
        let line = format!("broker {} at {addr}", k + 1);
        assert!(
            text.contains(&line),
            "expected `{line}` in kcat -L:\n{text}"
        );
    }
    assert!(
        text.contains(&format!("topic \"{TOPIC}\" with 3 partitions:")),
        "expected `topic \"{TOPIC}\" with 3 partitions:` in kcat -L:\n{text}"
    );
    // `    partition 0, leader 2, replicas: 2,3,1, isrs: 2,3,1`, in the topic's section.
    let section: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.contains(&format!("topic \"{TOPIC}\"")))
        .skip(1)
        .take_while(|l| l.trim_start().starts_with("partition"))
        .collect();
    assert_eq!(
        section.len(),
        3,
        "expected 3 partition lines under {TOPIC}; got {section:?}"
    );
    let brokers: BTreeSet<u32> = (1..=BROKERS as u32).collect();
    let mut seen = BTreeSet::new();
    for line in &section {
        let parse = || {
            let rest = line.trim().strip_prefix("partition ")?;
            let (p, rest) = rest.split_once(", leader ")?;
            let (leader, rest) = rest.split_once(", replicas: ")?;
            let (replicas, isrs) = rest.split_once(", isrs: ")?;
            Some((
                p.parse::<u32>().ok()?,
                leader.parse::<u32>().ok()?,
                replicas,
                isrs,
            ))
        };
        let (p, leader, replicas, isrs) = parse().unwrap_or_else(|| {
            panic!("expected `partition P, leader L, replicas: .., isrs: ..`; got `{line}`")
        });
        seen.insert(p);
        let (replicas, isrs) = (numbers(replicas), numbers(isrs));
        assert_eq!(
            replicas, brokers,
            "expected partition {p} on all three brokers (RF 3); `{line}`"
        );
        assert!(
            isrs.len() >= 2 && isrs.is_subset(&replicas),
            "expected partition {p}'s ISR within its replicas, at least min.insync.replicas=2 of them; `{line}`"
        );
        assert!(
            isrs.contains(&leader),
            "expected partition {p}'s leader in its ISR; `{line}`"
        );
    }
    assert_eq!(
        seen,
        (0..3).collect(),
        "expected partitions 0, 1 and 2 of {TOPIC}; got {section:?}"
    );

    if !has_module(&python, "confluent_kafka") {
        assert!(
            !ci(),
            "expected confluent-kafka in the clients' venv under CI=true; it does not import"
        );
        eprintln!(
            "skipped the confluent-kafka half: it does not import in {}",
            python.display()
        );
        serve.stop();
        return;
    }
    let mut p = Proc::python(
        &python,
        "confluent_produce",
        "tests/clients/confluent_produce.py",
        &["--bootstrap", &b, "--count", "20"],
    );
    let (status, out) = p.finish(STEP);
    let s = summary("confluent_produce", &out);
    let expected: Vec<i64> = (0..20).collect();
    assert_eq!(
        ids(&s, "delivered"),
        expected,
        "expected all 20 delivered with acks=all; errors: {}",
        s["errors"]
    );
    assert!(
        status.success(),
        "expected confluent_produce to exit 0; it exited with {status}"
    );

    // kcat reads them back to the end of every partition.
    let o = Command::new(&kcat)
        .args([
            "-b",
            &b,
            "-C",
            "-t",
            TOPIC,
            "-o",
            "beginning",
            "-e",
            "-q",
            "-f",
            "%s\\n",
        ])
        .output()
        .expect("kcat runs");
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "expected kcat -C to read {TOPIC}; it exited {:?}: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stderr)
    );
    let mut read: Vec<i64> = text
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l)
                .ok()
                .and_then(|v| v["event_id"].as_i64())
                .unwrap_or(-1)
        })
        .collect();
    read.sort();
    assert_eq!(
        read, expected,
        "expected kcat to read back exactly the 20 events confluent-kafka wrote:\n{text}"
    );
    serve.stop();
}

/// (d) A live session with real clients and faults is recorded; `kafkascope run` on the
/// recording gives the trace hash serve printed when it stopped.
#[test]
fn a_recorded_session_replays_to_the_same_trace_hash() {
    let Some(python) = python() else { return };
    let mut serve = Serve::start();
    let b = serve.bootstrap.clone();
    produce(&python, &b, 0, 20);
    serve.command("crash broker-2");
    produce(&python, &b, 100, 20);
    serve.command("restart broker-2");
    let mut consumer = Proc::python(
        &python,
        "feature_consumer",
        "examples/feature_consumer.py",
        &["--bootstrap", &b, "--count", "40", "--timeout", "120"],
    );
    let (status, out) = consumer.finish(STEP * 2);
    assert!(
        status.success(),
        "expected feature_consumer to exit 0; it exited with {status}"
    );
    let read = ids(&summary("feature_consumer", &out), "event_ids");
    assert_eq!(
        read.len(),
        40,
        "expected the consumer to read the 40 events; it read {read:?}"
    );

    let stopped = serve.stop();
    let text = std::fs::read_to_string(&stopped.recorded).unwrap_or_else(|e| {
        panic!(
            "expected the recording at {}; {e}",
            stopped.recorded.display()
        )
    });
    assert!(
        !text.trim().is_empty(),
        "expected a recording at {}; it is empty",
        stopped.recorded.display()
    );
    let replayed = replay_hash(&stopped.recorded);
    assert_eq!(
        replayed,
        stopped.trace_hash,
        "expected `kafkascope run {} --json` to give serve's trace hash; it gave another",
        stopped.recorded.display()
    );
    drop(stopped.dir);
}

/// Without any client (and without Python): serve accepts typed faults, refuses a bad one
/// with `error:` and changes nothing, and the recording of the session replays to the hash
/// serve printed.
#[test]
fn typed_faults_are_recorded_and_replay_to_the_same_trace_hash() {
    let mut serve = Serve::start();
    serve.command(&format!("crash leader of {TOPIC}-0"));
    serve.command("isolate broker-3");
    serve.command("heal");
    serve.proc.send("crash broker-9");
    let refused = serve
        .proc
        .wait_for("an `error:` for `crash broker-9`", STEP, |l| {
            l.starts_with("error:") || l.ends_with(": crash broker-9")
        });
    assert!(
        refused.starts_with("error:"),
        "expected serve to refuse `crash broker-9` (there are 3 brokers) with `error:`; it said `{refused}`"
    );
    serve.command("pause broker-2");
    serve.command("resume broker-2");
    let stopped = serve.stop();
    let text = std::fs::read_to_string(&stopped.recorded).unwrap_or_else(|e| {
        panic!(
            "expected the recording at {}; {e}",
            stopped.recorded.display()
        )
    });
    // (The last typed command may fall at the very millisecond serve stops, and out of it.)
    for fault in ["isolate", "heal", "pause"] {
        assert!(
            text.contains(&format!("\"{fault}\"")),
            "expected the recording to hold the typed `{fault}`; it is:\n{text}"
        );
    }
    assert!(
        !text.contains("broker-9"),
        "expected the refused `crash broker-9` left out of the recording; it is:\n{text}"
    );
    let replayed = replay_hash(&stopped.recorded);
    assert_eq!(
        replayed,
        stopped.trace_hash,
        "expected `kafkascope run {} --json` to give serve's trace hash; it gave another",
        stopped.recorded.display()
    );
}
