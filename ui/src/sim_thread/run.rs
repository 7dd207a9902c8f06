//! One run being simulated: the part of serving a [`Request::Run`] that the desktop thread and
//! the browser's main-thread stepping share, so both send the same batches and the same end.

use kafkascope_sim::checkers::check;
use kafkascope_sim::command::TimedCommand;
use kafkascope_sim::host::Simulation;
use kafkascope_sim::ids::Millis;
use kafkascope_sim::scenario::Scenario;

use super::Reply;
#[cfg(doc)]
use super::Request;

/// A simulation on its way to `until`, and how much of its trace has been sent.
pub(super) struct Running {
    generation: u64,
    sim: Simulation,
    sent: usize,
    until: Millis,
}

impl Running {
    pub fn start(
        generation: u64,
        scenario: &Scenario,
        seed: u64,
        commands: Vec<TimedCommand>,
        skip: usize,
        until: Millis,
    ) -> Self {
        let mut sim = Simulation::new(scenario, seed);
        for c in commands {
            sim.schedule(c);
        }
        Running {
            generation,
            sim,
            sent: skip,
            until,
        }
    }

    /// Whether the run has reached `until` (then [`Running::finish`] gives its end).
    pub fn reached(&self) -> bool {
        self.sim.now() >= self.until
    }

    /// Simulates up to `chunk` virtual milliseconds more (not past `until`) and returns the
    /// entries that appeared, as the batch to send.
    pub fn step(&mut self, chunk: Millis) -> Reply {
        let t = (self.sim.now() + chunk).min(self.until);
        self.sim.run_until(t);
        let entries = {
            let w = self.sim.world();
            w.trace
                .entries
                .get(self.sent..)
                .unwrap_or_default()
                .to_vec()
        };
        self.sent += entries.len();
        Reply::Entries {
            generation: self.generation,
            entries,
            simulated_to: self.sim.now(),
        }
    }

    /// The run's end: the checkers' findings over the whole trace, and its hash.
    pub fn finish(self) -> Reply {
        let trace = self.sim.into_trace();
        let findings = check(&trace);
        Reply::Done {
            generation: self.generation,
            findings: Box::new(findings),
            trace_hash: trace.hash(),
        }
    }
}
