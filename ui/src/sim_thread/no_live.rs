//! Without the `serve` feature (the browser build) there are no sockets: a live session is
//! refused with a message that points to the desktop app, which serves real Kafka clients.

/// Why a live session cannot start in this build.
pub const NEEDS_DESKTOP: &str = "serving a scenario to real Kafka clients needs the desktop \
    app (`kafkascope serve NAME`, or `kafkascope ui --serve NAME`): a browser page cannot open \
    the ports they connect to";

#[cfg(not(target_arch = "wasm32"))]
pub(super) use on_thread::*;

/// The simulation thread's side, as `live.rs` has it with the feature.
#[cfg(not(target_arch = "wasm32"))]
mod on_thread {
    use std::sync::mpsc::{Receiver, Sender};

    use super::super::{LiveStart, Reply, Request};
    use super::NEEDS_DESKTOP;

    /// How a live session ended (here: at once, never started).
    pub enum LiveEnd {
        #[allow(dead_code)]
        Next(Request),
        Idle,
        Quit,
    }

    /// Answers a live request with [`Reply::LiveFailed`].
    pub fn serve_live(
        generation: u64,
        _start: LiveStart,
        _requests: &Receiver<Request>,
        replies: &Sender<Reply>,
    ) -> LiveEnd {
        let reply = Reply::LiveFailed {
            generation,
            error: NEEDS_DESKTOP.into(),
        };
        match replies.send(reply) {
            Ok(()) => LiveEnd::Idle,
            Err(_) => LiveEnd::Quit,
        }
    }
}
