//! Hosting the state machines on madsim, and driving virtual time.
//!
//! Every role is a madsim node (`controller`, `broker-1`, `producer-a`, `reader`) whose one
//! task waits to be told that its state machine has input due, then feeds it. madsim supplies
//! the nodes' lifecycles (kill, restart, pause, resume) and interleaves the nodes that are due
//! in the same millisecond in an order drawn from the run's seed.
//!
//! Virtual time is a millisecond counter owned by [`Simulation`], advanced one quantum at a
//! time; in each busy quantum the driver wakes the nodes with input due and lets madsim run
//! them (`block_on` of a 1 ms sleep). Idle milliseconds are skipped without entering madsim.
//! The model never reads madsim's clock: madsim adds 50 ns per timer event and a 1 ms floor
//! to sleeps, which would make "the same millisecond" depend on how many events came before.
//! Because the quantum is fixed and skipping is decided by the model's state alone, a run is
//! identical however the caller groups its calls to [`Simulation::run_until`].
//!
//! [`world`] holds what the nodes share, [`commands`] applies faults and interventions to it,
//! and [`simulation`] is the driver.

mod commands;
mod simulation;
mod world;

pub use commands::describe;
pub use simulation::Simulation;
pub use world::{Actor, NodeStatus, World};

#[cfg(test)]
pub(crate) mod tests;
