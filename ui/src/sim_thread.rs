//! The simulation thread: the one place a `Simulation` (`kafkascope_sim::host`) lives.
//!
//! madsim's `Runtime` is bound to the thread that created it, so the simulation cannot be a bevy
//! resource (systems run on a thread pool). A dedicated thread owns it; the UI sends it
//! [`Request`]s and receives the trace in batches ([`Reply`]). The thread simulates ahead of
//! what is on screen, so playing, scrubbing and rewinding only read the recorded trace; only an
//! intervention asks for a new run (a branch), which re-simulates from zero and sends the entries
//! after the branch point (a run is a function of scenario, seed and commands, so the prefix is
//! the same and need not travel again).
//!
//! With `kafkascope ui --serve` the thread hosts a live session (`kafkascope_gateway::live::Live`) instead ([`Request::Live`]):
//! it polls it continuously, so real clients are answered at the wall clock's pace, and sends
//! the trace entries as they appear. Faults go to `Live::apply` at the current virtual time;
//! [`Request::LiveStop`] ends the session (the clients are disconnected) and sends its recording.
//! Live serving needs the `serve` feature (sockets); without it a live request is answered with
//! [`Reply::LiveFailed`] saying that it takes the desktop app.
//!
//! In the browser (wasm32) there is no thread to give the simulation: [`SimThread`] is then a
//! handle on a simulation that steps on the main thread, a few milliseconds of wall time each
//! time the app drains its replies (`sim_thread/stepped.rs`), with the same requests, replies
//! and supersede semantics.

use std::path::PathBuf;

use kafkascope_sim::checkers::Findings;
use kafkascope_sim::command::{Command, TimedCommand};
use kafkascope_sim::ids::Millis;
use kafkascope_sim::scenario::Scenario;
use kafkascope_sim::trace::TraceEntry;

mod run;
// The browser has no threads to spare: there the simulation steps on the main thread, a few
// milliseconds a frame, behind the same interface.
#[cfg(not(target_arch = "wasm32"))]
mod thread;
#[cfg(target_arch = "wasm32")]
#[path = "sim_thread/stepped.rs"]
mod thread;
// Live serving opens sockets (`kafkascope-gateway`): only with the `serve` feature.
#[cfg(feature = "serve")]
mod live;
#[cfg(not(feature = "serve"))]
#[path = "sim_thread/no_live.rs"]
mod live;

pub use thread::SimThread;

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
