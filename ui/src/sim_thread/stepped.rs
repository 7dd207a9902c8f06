//! The browser's simulation "thread": the main thread, a few milliseconds at a time.
//!
//! wasm32 in a page has one thread, and madsim's `Simulation` is not `Send`, so the simulations
//! live in a thread-local table keyed by each [`SimThread`]'s id, and the handle (a bevy
//! resource, which must be `Send + Sync`) holds only the key. Stepping happens when the app
//! drains its replies, once a frame: runs advance until [`FRAME_BUDGET_MS`] of wall time is
//! spent, then the frame is drawn, so the page stays responsive while a long run fills in.
//! Requests keep the desktop thread's semantics: a newer run supersedes the one in progress,
//! and a finished run sends its checkers' findings and trace hash.

use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};

use bevy::platform::time::Instant;
use kafkascope_sim::ids::Millis;

use super::live::NEEDS_DESKTOP;
use super::run::Running;
use super::{Reply, Request};

/// Wall time one handle may spend simulating per frame, at least: enough to fill in a typical
/// run in a second or two, little enough that the page keeps 30+ frames a second while it does.
const FRAME_BUDGET_MS: f64 = 8.0;
/// Where frames are slow to draw anyway (software WebGL, a slow machine), the budget grows to
/// half the time between two frames, up to this: the run fills in at a similar wall-clock pace
/// while drawing keeps at least half of the time.
const MAX_FRAME_BUDGET_MS: f64 = 40.0;

/// Virtual milliseconds per step inside the budget: smaller than the desktop's batches, so
/// that a step rarely overruns the budget by much.
const STEP_MS: Millis = 50;

/// One handle's simulation: the run in progress, a request waiting to replace it, and the
/// replies not yet drained.
#[derive(Default)]
struct Driver {
    running: Option<Running>,
    next: Option<Request>,
    replies: VecDeque<Reply>,
    /// When the app last drained this handle (the time between two frames).
    last_drain: Option<Instant>,
}

thread_local! {
    static DRIVERS: RefCell<BTreeMap<u64, Driver>> = const { RefCell::new(BTreeMap::new()) };
}

static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// The app's handle on a simulation stepped on this thread (see the module doc).
pub struct SimThread {
    id: u64,
}

impl SimThread {
    pub fn spawn() -> Self {
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        DRIVERS.with_borrow_mut(|d| d.insert(id, Driver::default()));
        SimThread { id }
    }

    pub fn send(&self, r: Request) {
        self.with(|d| match r {
            // A newer run makes the one in progress moot (as on the desktop thread).
            r @ Request::Run { .. } => d.next = Some(r),
            Request::Live { generation, .. } => d.replies.push_back(Reply::LiveFailed {
                generation,
                error: NEEDS_DESKTOP.into(),
            }),
            Request::LiveApply(_) | Request::LiveStop => {}
            Request::LiveSave(_) => d.replies.push_back(Reply::Saved(Err(NEEDS_DESKTOP.into()))),
        });
    }

    /// Simulates for this frame's budget, then returns every reply so far.
    pub fn drain(&self) -> Vec<Reply> {
        self.with(|d| {
            let started = Instant::now();
            let frame_ms = d
                .last_drain
                .map_or(0.0, |t| (started - t).as_secs_f64() * 1000.0);
            d.last_drain = Some(started);
            let budget = (frame_ms / 2.0).clamp(FRAME_BUDGET_MS, MAX_FRAME_BUDGET_MS);
            while d.busy() && started.elapsed().as_secs_f64() * 1000.0 < budget {
                d.step();
            }
            d.merge_batches();
            d.replies.drain(..).collect()
        })
    }

    /// Simulates until a reply is there or `timeout` has passed (tests).
    pub fn recv_timeout(&self, timeout: std::time::Duration) -> Option<Reply> {
        self.with(|d| {
            let started = Instant::now();
            while d.replies.is_empty() && d.busy() && started.elapsed() < timeout {
                d.step();
            }
            d.replies.pop_front()
        })
    }

    fn with<T>(&self, f: impl FnOnce(&mut Driver) -> T) -> T {
        DRIVERS.with_borrow_mut(|drivers| f(drivers.entry(self.id).or_default()))
    }
}

impl Drop for SimThread {
    fn drop(&mut self) {
        // `try_with`: at thread exit the table may already be gone.
        let _ = DRIVERS.try_with(|d| d.borrow_mut().remove(&self.id));
    }
}

impl Driver {
    fn busy(&self) -> bool {
        self.running.is_some() || self.next.is_some()
    }

    /// One step: start the waiting run (dropping the current one), or advance the current
    /// one, or finish it.
    fn step(&mut self) {
        if let Some(Request::Run {
            generation,
            scenario,
            seed,
            commands,
            skip,
            until,
        }) = self.next.take()
        {
            self.running = Some(Running::start(
                generation, &scenario, seed, commands, skip, until,
            ));
        }
        let Some(run) = self.running.as_mut() else {
            return;
        };
        if run.reached() {
            if let Some(run) = self.running.take() {
                self.replies.push_back(run.finish());
            }
        } else {
            let batch = run.step(STEP_MS);
            self.replies.push_back(batch);
        }
    }

    /// Joins consecutive batches of one run into one (a frame's steps are one batch to the
    /// app, as a desktop chunk is).
    fn merge_batches(&mut self) {
        let mut merged: VecDeque<Reply> = VecDeque::with_capacity(self.replies.len());
        for r in self.replies.drain(..) {
            let r = match (merged.back_mut(), r) {
                (
                    Some(Reply::Entries {
                        generation: g0,
                        entries: e0,
                        simulated_to: t0,
                    }),
                    Reply::Entries {
                        generation,
                        mut entries,
                        simulated_to,
                    },
                ) if *g0 == generation => {
                    e0.append(&mut entries);
                    *t0 = simulated_to;
                    continue;
                }
                (_, r) => r,
            };
            merged.push_back(r);
        }
        self.replies = merged;
    }
}
