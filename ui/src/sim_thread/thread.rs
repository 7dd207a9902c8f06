//! The desktop's simulation thread (see the parent module): it owns the [`Simulation`]s, one
//! run at a time, and a newer request supersedes the run in progress after its current chunk.

use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::sync::Mutex;
use std::thread::JoinHandle;

#[cfg(doc)]
use kafkascope_sim::host::Simulation;

use super::live::{self, LiveEnd};
use super::run::Running;
use kafkascope_sim::ids::Millis;

use super::{Reply, Request};

/// Virtual milliseconds simulated between two batches: small enough that the first frames
/// arrive at once, large enough that a batch is not mostly overhead.
const CHUNK_MS: Millis = 250;

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
                match live::serve_live(generation, *start, &requests, &replies) {
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
        let mut run = Running::start(generation, &scenario, seed, commands, skip, until);
        let mut superseded = false;
        while !run.reached() {
            if replies.send(run.step(CHUNK_MS)).is_err() {
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
        let _ = replies.send(run.finish());
    }
}

/// The newest queued request, dropping older ones.
pub(super) fn latest(requests: &Receiver<Request>) -> Option<Request> {
    let mut last = None;
    while let Ok(r) = requests.try_recv() {
        last = Some(r);
    }
    last
}
