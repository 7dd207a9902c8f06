//! The simulation thread: the one place a [`Simulation`] lives.
//!
//! madsim's `Runtime` is bound to the thread that created it, so the simulation cannot be a bevy
//! resource (systems run on a thread pool). A dedicated thread owns it; the UI sends it
//! [`Request`]s and receives the trace in batches ([`Reply`]). The thread simulates ahead of
//! what is on screen, so playing, scrubbing and rewinding only read the recorded trace; only an
//! intervention asks for a new run (a branch), which re-simulates from zero and sends the entries
//! after the branch point (a run is a function of scenario, seed and commands, so the prefix is
//! the same and need not travel again).
//!
//! With `kafkascope ui --serve` the thread hosts a [`Live`] session instead ([`Request::Live`]):
//! it polls it continuously, so real clients are answered at the wall clock's pace, and sends
//! the trace entries as they appear. Faults go to [`Live::apply`] at the current virtual time;
//! [`Request::LiveStop`] ends the session (the clients are disconnected) and sends its recording.

use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::sync::Mutex;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use kafkascope_gateway::live::{Live, LiveOptions};
use kafkascope_sim::checkers::{check, Findings};
use kafkascope_sim::command::{Command, TimedCommand};
use kafkascope_sim::host::Simulation;
use kafkascope_sim::ids::Millis;
use kafkascope_sim::scenario::Scenario;
use kafkascope_sim::trace::{Trace, TraceEntry};

/// Virtual milliseconds simulated between two batches: small enough that the first frames
/// arrive at once, large enough that a batch is not mostly overhead.
const CHUNK_MS: Millis = 250;

/// What the UI asks of the simulation thread.
pub enum Request {
    /// Simulate `scenario` with `seed` and the extra `commands` up to `until`, sending the trace
    /// entries from index `skip` on, tagged with `generation`.
    Run {
        generation: u64,
        scenario: Box<Scenario>,
        seed: u64,
        commands: Vec<TimedCommand>,
        skip: usize,
        until: Millis,
    },
    /// Start a live session (`kafkascope ui --serve`): real clients connect to its ports.
    Live {
        generation: u64,
        start: Box<LiveStart>,
    },
    /// A fault in the live session, applied at its current virtual time.
    LiveApply(Command),
    /// Write the live session so far as a scenario file (`Live::recording`).
    LiveSave(PathBuf),
    /// End the live session (its clients are disconnected) and send its recording.
    LiveStop,
}

/// What a live session starts from.
#[derive(Clone, Debug)]
pub struct LiveStart {
    pub scenario: Scenario,
    pub text: String,
    pub name: String,
    pub seed: u64,
    /// broker-1's port (0: free ports).
    pub port: u16,
    /// Virtual seconds per wall second.
    pub speed: f64,
}

/// What the simulation thread sends back.
pub enum Reply {
    /// New trace entries; `[0, simulated_to)` is now complete.
    Entries {
        generation: u64,
        entries: Vec<TraceEntry>,
        simulated_to: Millis,
    },
    /// The run reached its end; the checkers' findings over the whole trace.
    Done {
        generation: u64,
        findings: Box<Findings>,
        /// The canonical hash, the one `kafkascope run --json` prints.
        trace_hash: u64,
    },
    /// The live session is serving: its clients' `bootstrap.servers`.
    LiveStarted { generation: u64, bootstrap: String },
    /// The live session could not start (a port in use).
    LiveFailed { generation: u64, error: String },
    /// The live session ended; the session so far as a scenario that replays to its trace.
    LiveEnded {
        generation: u64,
        recording: Box<Scenario>,
    },
    /// What a [`Request::LiveSave`] did, for the status line.
    Saved(Result<String, String>),
}

/// The UI's end of the channel pair, plus the thread handle so the thread ends with the app.
pub struct SimThread {
    requests: Option<Sender<Request>>,
    replies: Mutex<Receiver<Reply>>,
    handle: Option<JoinHandle<()>>,
}

impl SimThread {
    pub fn spawn() -> Self {
        let (req_tx, req_rx) = mpsc::channel::<Request>();
        let (rep_tx, rep_rx) = mpsc::channel::<Reply>();
        let handle = std::thread::Builder::new()
            .name("kafkascope-sim".into())
            .spawn(move || serve(req_rx, rep_tx))
            .expect("spawning the simulation thread");
        SimThread {
            requests: Some(req_tx),
            replies: Mutex::new(rep_rx),
            handle: Some(handle),
        }
    }

    pub fn send(&self, r: Request) {
        if let Some(tx) = &self.requests {
            // The thread only stops when the sender is dropped, so this cannot fail in practice.
            let _ = tx.send(r);
        }
    }

    /// Every reply that has arrived, without waiting.
    pub fn drain(&self) -> Vec<Reply> {
        let rx = self.replies.lock().expect("reply lock");
        let mut out = Vec::new();
        loop {
            match rx.try_recv() {
                Ok(r) => out.push(r),
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => return out,
            }
        }
    }

    /// Waits for the next reply (tests, and the screenshot mode that needs a complete run).
    pub fn recv_timeout(&self, d: std::time::Duration) -> Option<Reply> {
        self.replies
            .lock()
            .expect("reply lock")
            .recv_timeout(d)
            .ok()
    }
}

impl Drop for SimThread {
    fn drop(&mut self) {
        self.requests.take();
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

fn serve(requests: Receiver<Request>, replies: Sender<Reply>) {
    let mut pending: Option<Request> = None;
    loop {
        let req = match pending.take() {
            Some(r) => r,
            None => match requests.recv() {
                Ok(r) => r,
                Err(_) => return,
            },
        };
        let (generation, scenario, seed, commands, skip, until) = match req {
            Request::Run {
                generation,
                scenario,
                seed,
                commands,
                skip,
                until,
            } => (generation, scenario, seed, commands, skip, until),
            Request::Live { generation, start } => {
                match serve_live(generation, *start, &requests, &replies) {
                    LiveEnd::Next(r) => pending = Some(r),
                    LiveEnd::Idle => {}
                    LiveEnd::Quit => return,
                }
                continue;
            }
            // Live requests without a live session: nothing to do.
            Request::LiveApply(_) | Request::LiveStop => continue,
            Request::LiveSave(_) => {
                let _ = replies.send(Reply::Saved(Err("not serving".into())));
                continue;
            }
        };
        let mut sim = Simulation::new(&scenario, seed);
        for c in commands {
            sim.schedule(c);
        }
        let mut sent = skip;
        let mut superseded = false;
        while sim.now() < until {
            let t = (sim.now() + CHUNK_MS).min(until);
            sim.run_until(t);
            let entries = {
                let w = sim.world();
                w.trace.entries.get(sent..).unwrap_or_default().to_vec()
            };
            sent += entries.len();
            let simulated_to = sim.now();
            if replies
                .send(Reply::Entries {
                    generation,
                    entries,
                    simulated_to,
                })
                .is_err()
            {
                return;
            }
            // A newer request (a branch) makes this run moot: start it at once.
            if let Some(r) = latest(&requests) {
                pending = Some(r);
                superseded = true;
                break;
            }
        }
        if superseded {
            continue;
        }
        let trace: Trace = sim.into_trace();
        let findings = check(&trace);
        let _ = replies.send(Reply::Done {
            generation,
            findings: Box::new(findings),
            trace_hash: trace.hash(),
        });
    }
}

/// How a live session ended: a request to start next (a `Run`), nothing, or the app is gone.
enum LiveEnd {
    Next(Request),
    Idle,
    Quit,
}

/// Wall time between two batches of a live session's entries.
const LIVE_BATCH: Duration = Duration::from_millis(30);

/// Hosts a live session until it is stopped: polls it (answering the clients), sends its new
/// trace entries, and takes the app's faults, saves and stop.
fn serve_live(
    generation: u64,
    start: LiveStart,
    requests: &Receiver<Request>,
    replies: &Sender<Reply>,
) -> LiveEnd {
    let started = Live::start(LiveOptions {
        scenario: start.scenario,
        text: start.text,
        name: start.name,
        seed: start.seed,
        bind: "127.0.0.1".into(),
        port: start.port,
        speed: start.speed,
        narrate: false,
        stdin: false,
    });
    let mut live = match started {
        Ok(l) => l,
        Err(error) => {
            let _ = replies.send(Reply::LiveFailed { generation, error });
            return LiveEnd::Idle;
        }
    };
    let bootstrap = live.bootstrap();
    if replies
        .send(Reply::LiveStarted {
            generation,
            bootstrap,
        })
        .is_err()
    {
        return LiveEnd::Quit;
    }
    let mut sent = 0;
    let mut last_batch = Instant::now();
    let mut sent_to = 0;
    loop {
        live.poll(Duration::from_millis(2), None);
        loop {
            match requests.try_recv() {
                Ok(Request::LiveApply(c)) => live.apply(c),
                Ok(Request::LiveSave(path)) => {
                    let text = kafkascope_sim::scenario::to_toml(&live.recording());
                    let r = std::fs::write(&path, text)
                        .map(|()| path.display().to_string())
                        .map_err(|e| format!("cannot write {}: {e}", path.display()));
                    let _ = replies.send(Reply::Saved(r));
                }
                Ok(Request::LiveStop) => {
                    let recording = Box::new(live.recording());
                    let _ = live.finish(None);
                    let _ = replies.send(Reply::LiveEnded {
                        generation,
                        recording,
                    });
                    return LiveEnd::Idle;
                }
                Ok(r @ (Request::Run { .. } | Request::Live { .. })) => {
                    let _ = live.finish(None);
                    return LiveEnd::Next(r);
                }
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => {
                    let _ = live.finish(None);
                    return LiveEnd::Quit;
                }
            }
        }
        if last_batch.elapsed() < LIVE_BATCH {
            continue;
        }
        last_batch = Instant::now();
        let sim = live.simulation();
        let now = sim.now();
        let entries = {
            let w = sim.world();
            w.trace.entries.get(sent..).unwrap_or_default().to_vec()
        };
        if entries.is_empty() && now == sent_to {
            continue;
        }
        sent += entries.len();
        sent_to = now;
        let batch = Reply::Entries {
            generation,
            entries,
            // Entries at `now` may still come (a client's request applied at it).
            simulated_to: now,
        };
        if replies.send(batch).is_err() {
            let _ = live.finish(None);
            return LiveEnd::Quit;
        }
    }
}

/// The newest queued request, dropping older ones.
fn latest(requests: &Receiver<Request>) -> Option<Request> {
    let mut last = None;
    while let Ok(r) = requests.try_recv() {
        last = Some(r);
    }
    last
}
