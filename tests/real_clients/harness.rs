//! What the real-client tests share: finding the clients, starting `serve` on free ports,
//! running Python scripts and reading what they print, replaying a recording.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, TryRecvError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub(crate) const ROOT: &str = env!("CARGO_MANIFEST_DIR");
pub(crate) const BROKERS: u16 = 3;
pub(crate) const TOPIC: &str = "user-events";
/// Long enough for a slow shared machine; a healthy run takes a fraction of each.
pub(crate) const READY: Duration = Duration::from_secs(90);
pub(crate) const STEP: Duration = Duration::from_secs(120);

pub(crate) fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// The clients' python, or `None` (the test skips) when it is not set up outside CI.
pub(crate) fn python() -> Option<PathBuf> {
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

pub(crate) fn has_module(python: &Path, module: &str) -> bool {
    Command::new(python)
        .args(["-c", &format!("import {module}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

pub(crate) fn unique() -> u64 {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u64;
    let n = N.fetch_add(1, Ordering::Relaxed) as u64;
    (std::process::id() as u64) << 32 ^ n << 24 ^ nanos
}

/// A base port with `BROKERS` free ports from it, spread so parallel tests do not collide.
pub(crate) fn free_base() -> u16 {
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
pub(crate) struct TempDir(PathBuf);

impl TempDir {
    pub(crate) fn new() -> TempDir {
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
pub(crate) struct Proc {
    pub(crate) name: String,
    pub(crate) child: Child,
    pub(crate) stdin: Option<ChildStdin>,
    pub(crate) lines: Receiver<String>,
    pub(crate) out: Arc<Mutex<Vec<String>>>,
    pub(crate) err: Arc<Mutex<String>>,
}

impl Proc {
    pub(crate) fn spawn(name: &str, mut cmd: Command) -> Proc {
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

    pub(crate) fn python(python: &Path, name: &str, script: &str, args: &[&str]) -> Proc {
        let mut cmd = Command::new(python);
        cmd.arg(Path::new(ROOT).join(script))
            .args(args)
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env("PYTHONUNBUFFERED", "1");
        Proc::spawn(name, cmd)
    }

    /// The next stdout line, `Ok(None)` on timeout, `Err` once stdout is closed.
    pub(crate) fn next_line(&self, timeout: Duration) -> Result<Option<String>, ()> {
        match self.lines.recv_timeout(timeout) {
            Ok(l) => Ok(Some(l)),
            Err(RecvTimeoutError::Timeout) => Ok(None),
            Err(RecvTimeoutError::Disconnected) => Err(()),
        }
    }

    /// The lines printed since the last call, without waiting; `Err` once stdout is closed and
    /// every line was taken.
    pub(crate) fn take_lines(&self) -> Result<Vec<String>, Vec<String>> {
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
    pub(crate) fn wait_for(
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

    pub(crate) fn send(&mut self, line: &str) {
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

    pub(crate) fn wait(&mut self, timeout: Duration) -> Option<ExitStatus> {
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
    pub(crate) fn finish(&mut self, timeout: Duration) -> (ExitStatus, Vec<String>) {
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

    pub(crate) fn stderr(&self) -> String {
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
pub(crate) struct Serve {
    pub(crate) proc: Proc,
    pub(crate) bootstrap: String,
    pub(crate) record: PathBuf,
    pub(crate) dir: TempDir,
}

/// What serve said when it stopped.
pub(crate) struct Stopped {
    pub(crate) trace_hash: String,
    pub(crate) recorded: PathBuf,
    pub(crate) dir: TempDir,
}

impl Serve {
    pub(crate) fn start() -> Serve {
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

    pub(crate) fn first_broker(&self) -> &str {
        self.bootstrap.split(',').next().unwrap()
    }

    /// Types a command into serve and returns its `at <time>: <command>` echo.
    pub(crate) fn command(&mut self, cmd: &str) -> String {
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
    pub(crate) fn stop(mut self) -> Stopped {
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
pub(crate) fn summary(name: &str, out: &[String]) -> serde_json::Value {
    let line = out
        .iter()
        .rev()
        .find_map(|l| l.strip_prefix("summary "))
        .unwrap_or_else(|| panic!("expected a `summary` line from {name}; it printed none"));
    serde_json::from_str(line)
        .unwrap_or_else(|e| panic!("expected {name}'s summary to be JSON ({e}): {line}"))
}

pub(crate) fn ids(v: &serde_json::Value, key: &str) -> Vec<i64> {
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
pub(crate) fn produce(python: &Path, bootstrap: &str, first: i64, count: i64) -> Vec<i64> {
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
pub(crate) fn leaders(python: &Path, bootstrap: &str) -> BTreeMap<u32, u32> {
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
pub(crate) fn broker_named(line: &str) -> Option<u32> {
    let i = line.find("broker-")?;
    let digits: String = line[i + 7..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// Replays serve's recording with `kafkascope run FILE --json` and returns its trace hash.
pub(crate) fn replay_hash(recorded: &Path) -> String {
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
pub(crate) fn acked_so_far(
    producer: &Proc,
    acked: &mut u64,
    at_least: u64,
    patience: Duration,
) -> u64 {
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
