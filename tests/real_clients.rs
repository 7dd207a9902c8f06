//! Real Kafka clients against `kafkascope serve`: kafka-python producers and consumers (the
//! scripts in `examples/` and `tests/clients/`), kcat and confluent-kafka connect over loopback
//! while the test types faults into serve's stdin, and a recorded session replays to the same
//! trace hash.
//!
//! The clients live in a Python virtual environment made by `.ci/clients-venv.sh`; its python is
//! named by `KAFKASCOPE_PYTHON`. Without it these tests skip with a reason, except under
//! `CI=true`, where they fail. Assertions are about outcomes, never timings: the timeouts only
//! keep a broken run from hanging.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, TryRecvError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const BROKERS: u16 = 3;
const TOPIC: &str = "user-events";
/// Long enough for a slow shared machine; a healthy run takes a fraction of each.
const READY: Duration = Duration::from_secs(90);
const STEP: Duration = Duration::from_secs(120);

fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// The clients' python, or `None` (the test skips) when it is not set up outside CI.
fn python() -> Option<PathBuf> {
    match std::env::var_os("KAFKASCOPE_PYTHON") {
        Some(p) if !p.is_empty() => {
            let p = PathBuf::from(p);
            assert!(
                Command::new(&p).args(["-c", "import kafka"]).output().is_ok_and(|o| o.status.success()),
                "expected KAFKASCOPE_PYTHON={} to import kafka-python; it did not (run .ci/clients-venv.sh)",
                p.display()
            );
            Some(p)
        }
        _ if ci() => panic!(
            "expected KAFKASCOPE_PYTHON under CI=true (.ci/run exports it after .ci/clients-venv.sh); it is unset"
        ),
        _ => {
            eprintln!(
                "skipped: KAFKASCOPE_PYTHON is unset; run `.ci/clients-venv.sh` and export \
                 KAFKASCOPE_PYTHON=target/clients-venv/bin/python to run the real clients"
            );
            None
        }
    }
}

fn has_module(python: &Path, module: &str) -> bool {
    Command::new(python)
        .args(["-c", &format!("import {module}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn unique() -> u64 {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u64;
    let n = N.fetch_add(1, Ordering::Relaxed) as u64;
    (std::process::id() as u64) << 32 ^ n << 24 ^ nanos
}

/// A base port with `BROKERS` free ports from it, spread so parallel tests do not collide.
fn free_base() -> u16 {
    let mut x = unique() | 1;
    for _ in 0..500 {
        // xorshift: a new candidate each try.
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let base = 20_000 + (x % 40_000) as u16;
        let held: Vec<_> = (0..BROKERS)
            .map_while(|k| TcpListener::bind(("127.0.0.1", base + k)).ok())
            .collect();
        if held.len() == BROKERS as usize {
            return base;
        }
    }
    panic!("expected a free range of {BROKERS} ports on 127.0.0.1; found none in 500 tries")
}

/// A scratch folder, removed when the test passes and kept (and named) when it fails.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        let p = std::env::temp_dir().join(format!("kafkascope-clients-{:x}", unique()));
        std::fs::create_dir_all(&p).expect("temp dir");
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("kept {} for a look", self.0.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// A child process whose stdout arrives line by line; everything it printed is kept, and shown
/// when the test fails.
struct Proc {
    name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    out: Arc<Mutex<Vec<String>>>,
    err: Arc<Mutex<String>>,
}

impl Proc {
    fn spawn(name: &str, mut cmd: Command) -> Proc {
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("expected to start {name} ({cmd:?}); it failed: {e}"));
        let (tx, lines) = channel();
        let out = Arc::new(Mutex::new(Vec::new()));
        let err = Arc::new(Mutex::new(String::new()));
        let stdout = child.stdout.take().unwrap();
        let kept = out.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                kept.lock().unwrap().push(line.clone());
                let _ = tx.send(line);
            }
        });
        let mut stderr = child.stderr.take().unwrap();
        let kept = err.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stderr.read(&mut buf) {
                if n == 0 {
                    break;
                }
                kept.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let stdin = child.stdin.take();
        Proc {
            name: name.to_string(),
            child,
            stdin,
            lines,
            out,
            err,
        }
    }

    fn python(python: &Path, name: &str, script: &str, args: &[&str]) -> Proc {
        let mut cmd = Command::new(python);
        cmd.arg(Path::new(ROOT).join(script))
            .args(args)
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env("PYTHONUNBUFFERED", "1");
        Proc::spawn(name, cmd)
    }

    /// The next stdout line, `Ok(None)` on timeout, `Err` once stdout is closed.
    fn next_line(&self, timeout: Duration) -> Result<Option<String>, ()> {
        match self.lines.recv_timeout(timeout) {
            Ok(l) => Ok(Some(l)),
            Err(RecvTimeoutError::Timeout) => Ok(None),
            Err(RecvTimeoutError::Disconnected) => Err(()),
        }
    }

    /// The lines printed since the last call, without waiting; `Err` once stdout is closed and
    /// every line was taken.
    fn take_lines(&self) -> Result<Vec<String>, Vec<String>> {
        let mut v = Vec::new();
        loop {
            match self.lines.try_recv() {
                Ok(l) => v.push(l),
                Err(TryRecvError::Empty) => return Ok(v),
                Err(TryRecvError::Disconnected) => return Err(v),
            }
        }
    }

    /// Waits for a stdout line that `want` accepts and returns it.
    fn wait_for(
        &mut self,
        what: &str,
        timeout: Duration,
        mut want: impl FnMut(&str) -> bool,
    ) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next_line(left.min(Duration::from_millis(500))) {
                Ok(Some(l)) if want(&l) => return l,
                Ok(Some(_)) => {}
                Ok(None) if Instant::now() >= deadline => {
                    panic!(
                        "expected {what} from {} within {timeout:?}; it did not come",
                        self.name
                    )
                }
                Ok(None) => {}
                Err(()) => {
                    let status = self.wait(Duration::from_secs(10));
                    panic!(
                        "expected {what} from {}; it closed its output first (exit: {status:?})",
                        self.name
                    )
                }
            }
        }
    }

    fn send(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{line}")
            .and_then(|_| stdin.flush())
            .unwrap_or_else(|e| {
                panic!(
                    "expected {} to read `{line}`; writing failed: {e}",
                    self.name
                )
            });
    }

    fn wait(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(s)) = self.child.try_wait() {
                return Some(s);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits for the process to end and returns everything it printed on stdout.
    fn finish(&mut self, timeout: Duration) -> (ExitStatus, Vec<String>) {
        drop(self.stdin.take());
        let status = self.wait(timeout).unwrap_or_else(|| {
            panic!(
                "expected {} to exit within {timeout:?}; it is still running",
                self.name
            )
        });
        // The reader thread ends with stdout; give it a moment to hand over the last lines.
        let deadline = Instant::now() + Duration::from_secs(10);
        while !matches!(self.lines.try_recv(), Err(TryRecvError::Disconnected))
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(20));
        }
        (status, self.out.lock().unwrap().clone())
    }

    fn stderr(&self) -> String {
        self.err.lock().unwrap().clone()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if std::thread::panicking() {
            eprintln!(
                "---- {} stdout ----\n{}\n---- {} stderr ----\n{}",
                self.name,
                self.out.lock().unwrap().join("\n"),
                self.name,
                self.stderr()
            );
        }
    }
}

/// `kafkascope serve` on a free port range, recording into a scratch folder.
struct Serve {
    proc: Proc,
    bootstrap: String,
    record: PathBuf,
    dir: TempDir,
}

/// What serve said when it stopped.
struct Stopped {
    trace_hash: String,
    recorded: PathBuf,
    dir: TempDir,
}

impl Serve {
    fn start() -> Serve {
        let dir = TempDir::new();
        let record = dir.0.join("session.toml");
        let speed = std::env::var("KAFKASCOPE_SERVE_SPEED").unwrap_or_else(|_| "2".into());
        for attempt in 1..=5 {
            let base = free_base();
            let mut cmd = Command::new(env!("CARGO_BIN_EXE_kafkascope"));
            cmd.args(["serve", "real-clients", "--bind", "127.0.0.1"])
                .args([
                    "--port",
                    &base.to_string(),
                    "--speed",
                    &speed,
                    "--seed",
                    "7",
                ])
                .arg("--record")
                .arg(&record)
                .current_dir(ROOT)
                .env("NO_COLOR", "1");
            let mut proc = Proc::spawn("kafkascope serve", cmd);
            let deadline = Instant::now() + READY;
            loop {
                match proc.next_line(Duration::from_millis(500)) {
                    Ok(Some(l)) => {
                        if let Some(list) = l.strip_prefix("ready: bootstrap.servers=") {
                            let bootstrap = list.trim().to_string();
                            let expected: Vec<String> = (0..BROKERS)
                                .map(|k| format!("127.0.0.1:{}", base + k))
                                .collect();
                            assert_eq!(
                                bootstrap.split(',').collect::<Vec<_>>(),
                                expected,
                                "expected serve's ready line to list the brokers on --port {base} and up; it said `{l}`"
                            );
                            return Serve {
                                proc,
                                bootstrap,
                                record,
                                dir,
                            };
                        }
                    }
                    Ok(None) if Instant::now() < deadline => {}
                    Ok(None) => {
                        panic!("expected serve's `ready:` line within {READY:?}; it did not come")
                    }
                    Err(()) => {
                        let status = proc.wait(Duration::from_secs(10));
                        let err = proc.stderr();
                        // Another process took a port between our check and serve's bind.
                        if attempt < 5 && (err.contains("in use") || err.contains("AddrInUse")) {
                            eprintln!(
                                "serve could not bind from port {base} ({}); trying another range",
                                err.trim()
                            );
                            drop(proc);
                            break;
                        }
                        panic!("expected serve to print `ready:`; it exited first ({status:?})");
                    }
                }
            }
        }
        panic!("expected serve to bind a free port range; five ranges were taken")
    }

    fn first_broker(&self) -> &str {
        self.bootstrap.split(',').next().unwrap()
    }

    /// Types a command into serve and returns its `at <time>: <command>` echo.
    fn command(&mut self, cmd: &str) -> String {
        self.proc.send(cmd);
        let verb = cmd.split_whitespace().next().unwrap_or(cmd);
        let line = self
            .proc
            .wait_for(&format!("serve to accept `{cmd}`"), STEP, |l| {
                l.starts_with("error:")
                    || (l.starts_with("at ")
                        && (l.ends_with(cmd) || l.contains(&format!(": {verb}"))))
            });
        assert!(
            !line.starts_with("error:"),
            "expected serve to accept `{cmd}`; it said `{line}`"
        );
        eprintln!("serve: {line}");
        line
    }

    /// `quit`, then the trace hash and the recording serve names.
    fn stop(mut self) -> Stopped {
        self.proc.send("quit");
        let (status, out) = self.proc.finish(STEP);
        assert!(
            status.success(),
            "expected serve to exit 0 after `quit`; it exited with {status}"
        );
        let trace_hash = out
            .iter()
            // `trace hash: <hex>`, alone or after `stopped at <time>: `.
            .find_map(|l| l.split_once("trace hash: ").map(|(_, h)| h))
            .unwrap_or_else(|| {
                panic!("expected a `trace hash: ` line from serve on quit; it printed none")
            })
            .trim()
            .to_string();
        assert!(
            trace_hash.len() == 16 && trace_hash.chars().all(|c| c.is_ascii_hexdigit()),
            "expected the trace hash to be 16 hex digits; it is `{trace_hash}`"
        );
        let recorded = out
            .iter()
            .find_map(|l| l.strip_prefix("recorded: kafkascope run "))
            .unwrap_or_else(|| {
                panic!("expected a `recorded: kafkascope run FILE` line with --record; none")
            })
            .trim();
        let recorded = PathBuf::from(recorded);
        assert_eq!(
            recorded.canonicalize().ok(),
            self.record.canonicalize().ok(),
            "expected the recording at --record {}; serve named {}",
            self.record.display(),
            recorded.display()
        );
        let Serve { dir, .. } = self;
        Stopped {
            trace_hash,
            recorded,
            dir,
        }
    }
}

/// A `summary {json}` line from one of the scripts.
fn summary(name: &str, out: &[String]) -> serde_json::Value {
    let line = out
        .iter()
        .rev()
        .find_map(|l| l.strip_prefix("summary "))
        .unwrap_or_else(|| panic!("expected a `summary` line from {name}; it printed none"));
    serde_json::from_str(line)
        .unwrap_or_else(|e| panic!("expected {name}'s summary to be JSON ({e}): {line}"))
}

fn ids(v: &serde_json::Value, key: &str) -> Vec<i64> {
    v[key]
        .as_array()
        .unwrap_or_else(|| panic!("expected `{key}` to be a list in {v}"))
        .iter()
        .map(|x| {
            x.as_i64()
                .unwrap_or_else(|| panic!("expected an event id in `{key}`, got {x}"))
        })
        .collect()
}

/// Runs the example producer to the end and asserts every event was acknowledged.
fn produce(python: &Path, bootstrap: &str, first: i64, count: i64) -> Vec<i64> {
    let (first_s, count_s) = (first.to_string(), count.to_string());
    let args = [
        "--bootstrap",
        bootstrap,
        "--count",
        &count_s,
        "--first-id",
        &first_s,
        "--interval",
        "0",
        "--quiet",
    ];
    let mut p = Proc::python(
        python,
        "event_producer",
        "examples/event_producer.py",
        &args,
    );
    let (status, out) = p.finish(STEP * 2);
    let s = summary("event_producer", &out);
    let expected: Vec<i64> = (first..first + count).collect();
    assert_eq!(
        ids(&s, "acked"),
        expected,
        "expected every event acknowledged; failed: {}",
        s["failed"]
    );
    assert!(
        status.success(),
        "expected event_producer to exit 0; it exited with {status}"
    );
    expected
}

/// The partitions' leaders as a kafka-python client sees them.
fn leaders(python: &Path, bootstrap: &str) -> BTreeMap<u32, u32> {
    let mut p = Proc::python(
        python,
        "leaders",
        "tests/clients/leaders.py",
        &["--bootstrap", bootstrap],
    );
    let (status, out) = p.finish(STEP);
    assert!(
        status.success(),
        "expected leaders.py to print the leaders; it exited with {status}"
    );
    let m: BTreeMap<String, u32> =
        serde_json::from_str(out.last().map(String::as_str).unwrap_or("")).unwrap_or_else(|e| {
            panic!("expected a JSON map of leaders from leaders.py ({e}); got {out:?}")
        });
    m.into_iter()
        .map(|(k, v)| (k.parse().unwrap(), v))
        .collect()
}

/// The first `broker-N` a serve echo names, if any.
fn broker_named(line: &str) -> Option<u32> {
    let i = line.find("broker-")?;
    let digits: String = line[i + 7..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// Replays serve's recording with `kafkascope run FILE --json` and returns its trace hash.
fn replay_hash(recorded: &Path) -> String {
    let o = Command::new(env!("CARGO_BIN_EXE_kafkascope"))
        .arg("run")
        .arg(recorded)
        .arg("--json")
        .current_dir(ROOT)
        .env("NO_COLOR", "1")
        .output()
        .expect("the binary runs");
    let stdout = String::from_utf8_lossy(&o.stdout);
    let stderr = String::from_utf8_lossy(&o.stderr);
    // Exit 1 says an expectation of the scenario failed; the report is printed all the same.
    assert!(
        matches!(o.status.code(), Some(0 | 1)),
        "expected `kafkascope run {} --json` to run the recording; it exited {:?}:\n{stderr}",
        recorded.display(),
        o.status.code()
    );
    let v: serde_json::Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("expected a JSON report ({e}); got:\n{stdout}\n{stderr}"));
    v["trace_hash"]
        .as_str()
        .unwrap_or_else(|| {
            panic!(
                "expected a `trace_hash` string in the report; got {}",
                v["trace_hash"]
            )
        })
        .to_string()
}

/// Waits until the producer has printed `acked <n>` with n >= `at_least`, or `patience` has
/// passed (a fault may stall it: the next fault or the heal goes in anyway). Returns the count.
fn acked_so_far(producer: &Proc, acked: &mut u64, at_least: u64, patience: Duration) -> u64 {
    let deadline = Instant::now() + patience;
    while *acked < at_least && Instant::now() < deadline {
        match producer.next_line(Duration::from_millis(200)) {
            Ok(Some(l)) => {
                if let Some(n) = l
                    .strip_prefix("acked ")
                    .and_then(|r| r.split_whitespace().next())
                {
                    *acked = (*acked).max(n.parse().unwrap_or(0));
                }
            }
            Ok(None) => {}
            Err(()) => break,
        }
    }
    *acked
}

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
///
/// Known failure, so ignored until it is understood: the rebalance happens and the remaining
/// member is assigned all three partitions, but when a fetch to a partition it keeps is in
/// flight during the rebalance, kafka-python 3.0.0 never fetches that partition again (the
/// trace shows its connection to that leader idle after the fetch's answer; the partitions it
/// newly gets are read). Whether the gateway's answer or kafka-python's preserved partition
/// state is at fault is open (issue 14's note). Run it with `--include-ignored`.
#[test]
#[ignore = "known failure: a kept partition stalls after an eager rebalance (issue 14)"]
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
