//! Kafka's wire protocol in front of the simulated cluster (`kafkascope serve`).
//!
//! `codec/` translates: a decoded request becomes the simulation's own messages (or is answered
//! here, like ApiVersions), and the simulation's answers become the response frame. It does no
//! I/O and keeps no clock. `server.rs` owns the sockets and `live.rs` paces the simulation to
//! the wall clock; the simulation sees a connected client only as timed commands, so a recorded
//! session replays without it.

pub mod codec;
pub mod live;
pub mod server;

pub use live::{serve, Outcome, ServeOptions};
