//! The simulation thread: the one place a [`Simulation`] lives.
//!
//! madsim's `Runtime` is bound to the thread that created it, so the simulation cannot be a bevy
//! resource (systems run on a thread pool). A dedicated thread owns it; the UI sends it
//! [`Request`]s and receives the trace in batches ([`Reply`]). The thread simulates ahead of
//! what is on screen, so playing, scrubbing and rewinding only read the recorded trace; only an
//! intervention asks for a new run (a branch), which re-simulates from zero and sends the entries
//! after the branch point (a run is a function of scenario, seed and commands, so the prefix is
//! the same and need not travel again).

use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::sync::Mutex;
use std::thread::JoinHandle;

use kafkascope_sim::checkers::{check, Findings};
use kafkascope_sim::command::TimedCommand;
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
        let Request::Run {
            generation,
            scenario,
            seed,
            commands,
            skip,
            until,
        } = req;
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

/// The newest queued request, dropping older ones.
fn latest(requests: &Receiver<Request>) -> Option<Request> {
    let mut last = None;
    while let Ok(r) = requests.try_recv() {
        last = Some(r);
    }
    last
}
