//! Intents: what the user asked for this frame, applied after the UI is laid out.
//!
//! Buttons, keys and clicks only push an [`Intent`]; one system applies them all. That keeps
//! egui code free of simulation logic, and lets tests drive the app exactly as a user would.

use std::path::PathBuf;

use bevy::prelude::*;
use kafkascope_sim::command::{Command, TimedCommand};
use kafkascope_sim::ids::Millis;

use crate::compare::Compare;
use crate::lesson::{Learning, LessonIntent};
use crate::playback::Playback;
use crate::session::Session;
use crate::sim_thread::Request;
use crate::state::{Sim, Status, Watch};

#[cfg(target_arch = "wasm32")]
use crate::web::files::download as write_scenario;
/// Where Save writes: the file on the desktop; in the browser, a download of that name.
#[cfg(not(target_arch = "wasm32"))]
use std::fs::write as write_scenario;

// A few intents a frame at most: a large command inline costs nothing worth a box.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum Intent {
    /// Open a scenario: its name or path, and its TOML text.
    Open {
        source: String,
        text: String,
        seed: Option<u64>,
    },
    /// Open a scenario as a live session (`kafkascope ui --serve`): real clients connect to
    /// broker-1 on `port` (broker-N on `port + N - 1`; 0 for free ports), virtual time runs at
    /// `speed` × the wall clock.
    Serve {
        source: String,
        text: String,
        seed: Option<u64>,
        port: u16,
        speed: f64,
    },
    /// The play head back on the newest moment of the live session, following it.
    BackToLive,
    /// End the live session (its clients are disconnected) and go on as an ordinary session of
    /// its recording, where interventions branch ("Branch from here: stops serving").
    StopServing,
    /// Read a scenario file and open it.
    OpenFile(PathBuf),
    /// Write the session (scenario, seed, interventions) as a scenario file.
    Save(PathBuf),
    Home,
    TogglePlay,
    Seek(f64),
    /// Move by this many milliseconds (negative rewinds).
    Step(i64),
    /// Jump to the next (or previous) trace entry's time.
    StepEvent {
        forward: bool,
    },
    SetSpeed(f64),
    /// Apply a command just after the displayed moment; the future after it is re-simulated.
    Intervene(Command),
    /// Show another scenario beside this one, with this session's seed, on the same timeline,
    /// with `changes` made to its settings (`producer.a.acks=all`; see [`crate::change`]).
    Compare {
        source: String,
        text: String,
        changes: Vec<String>,
    },
    /// Show this session's scenario (with its interventions) beside it, same seed, with
    /// `changes` made to its settings: the same run under two configurations.
    CompareChanged {
        changes: Vec<String>,
    },
    CloseCompare,
    /// Something for the open lesson (or opening one): see [`crate::lesson`].
    Lesson(LessonIntent),
}

#[derive(Resource, Default, Debug)]
pub struct Intents(pub Vec<Intent>);

impl Intents {
    pub fn push(&mut self, i: Intent) {
        self.0.push(i);
    }
}

pub fn apply_intents(
    mut intents: ResMut<Intents>,
    mut watch: ResMut<Watch>,
    mut playback: ResMut<Playback>,
    mut status: ResMut<Status>,
    mut compare: ResMut<Compare>,
    mut learning: ResMut<Learning>,
    sim: Res<Sim>,
) {
    for intent in std::mem::take(&mut intents.0) {
        apply(
            intent,
            &mut watch,
            &mut playback,
            &mut status,
            &mut compare,
            &mut learning,
            &sim,
        );
    }
}

fn apply(
    intent: Intent,
    watch: &mut Watch,
    pb: &mut Playback,
    status: &mut Status,
    compare: &mut Compare,
    learning: &mut Learning,
    sim: &Sim,
) {
    match intent {
        Intent::Lesson(i) => match crate::lesson::apply(i, learning, watch, pb, compare, sim) {
            Ok(()) => {
                if learning.open.is_some() {
                    status.set("");
                }
            }
            Err(e) => status.set(e),
        },
        Intent::Open { source, text, seed } => {
            match kafkascope_sim::scenario::parse(&source, &text) {
                Ok(scenario) => {
                    learning.close(pb);
                    let seed = seed.unwrap_or(scenario.seed);
                    let session = Session::new(source, scenario, seed);
                    sim.0.send(session.request());
                    watch.open(session);
                    compare.close();
                    *pb = Playback {
                        speed: pb.speed,
                        ..Default::default()
                    };
                    status.set("");
                }
                Err(e) => status.set(e.to_string()),
            }
        }
        Intent::Serve {
            source,
            text,
            seed,
            port,
            speed,
        } => match kafkascope_sim::scenario::parse(&source, &text) {
            Ok(scenario) => {
                learning.close(pb);
                let seed = seed.unwrap_or(scenario.seed);
                let mut session = Session::new(source, scenario, seed);
                sim.0.send(session.start_live(text, port, speed));
                watch.open(session);
                compare.close();
                *pb = Playback {
                    speed: pb.speed,
                    playing: true,
                    follow: true,
                    ..Default::default()
                };
                status.set("");
            }
            Err(e) => status.set(e.to_string()),
        },
        Intent::BackToLive => {
            if let Some(s) = &watch.session {
                pb.back_to_live(s);
            }
        }
        Intent::StopServing => {
            if let Some(s) = &mut watch.session {
                if let Some(l) = s.live.as_mut().filter(|l| !l.stopping) {
                    l.stopping = true;
                    pb.leave_live();
                    pb.playing = false;
                    sim.0.send(Request::LiveStop);
                    status.set(
                        "stopped serving: the clients were disconnected; interventions now \
                         branch from the displayed moment",
                    );
                }
            }
        }
        Intent::OpenFile(path) => match std::fs::read_to_string(&path) {
            Ok(text) => apply(
                Intent::Open {
                    source: path.display().to_string(),
                    text,
                    seed: None,
                },
                watch,
                pb,
                status,
                compare,
                learning,
                sim,
            ),
            Err(e) => status.set(format!("cannot read {}: {e}", path.display())),
        },
        Intent::Save(path) => {
            let Some(s) = &watch.session else { return };
            if s.serving() {
                // The live session writes its recording; the reply sets the status.
                sim.0.send(Request::LiveSave(path));
                return;
            }
            let text = kafkascope_sim::scenario::to_toml(&s.as_scenario());
            match write_scenario(&path, text) {
                Ok(()) => status.set(format!(
                    "saved {} (seed {}, {} interventions): `kafkascope run {}` replays it",
                    path.display(),
                    s.seed,
                    s.interventions.len(),
                    path.display()
                )),
                Err(e) => status.set(format!("cannot write {}: {e}", path.display())),
            }
        }
        Intent::Home => {
            if watch.session.as_ref().is_some_and(|s| s.live.is_some()) {
                sim.0.send(Request::LiveStop);
            }
            learning.close(pb);
            watch.close();
            compare.close();
            pb.playing = false;
        }
        Intent::TogglePlay => {
            if let Some(s) = &watch.session {
                if !pb.playing && pb.time_ms >= s.end() as f64 {
                    pb.time_ms = 0.0;
                }
                pb.playing = !pb.playing;
                pb.stop_at = None;
                pb.leave_live();
            }
        }
        Intent::Seek(t) => {
            if let Some(s) = &watch.session {
                pb.stop_at = None;
                pb.leave_live();
                pb.seek(t, s);
            }
        }
        Intent::Step(d) => {
            if let Some(s) = &watch.session {
                pb.playing = false;
                pb.stop_at = None;
                pb.leave_live();
                let t = pb.shown(s) as f64 + d as f64;
                pb.seek(t, s);
            }
        }
        Intent::StepEvent { forward } => {
            if let Some(s) = &watch.session {
                pb.playing = false;
                pb.stop_at = None;
                pb.leave_live();
                let now = pb.shown(s);
                let target = if forward {
                    s.entries.get(s.entries_through(now)).map(|e| e.at)
                } else {
                    let i = s.entries.partition_point(|e| e.at < now);
                    i.checked_sub(1).map(|i| s.entries[i].at)
                };
                if let Some(t) = target {
                    pb.seek(t as f64, s);
                }
            }
        }
        Intent::SetSpeed(v) => pb.set_speed(v),
        Intent::Compare {
            source,
            text,
            changes,
        } => {
            let Some(seed) = watch.session.as_ref().map(|s| s.seed) else {
                return;
            };
            let changed = kafkascope_sim::scenario::parse(&source, &text)
                .map_err(|e| e.to_string())
                .and_then(|scenario| crate::change::parse_and_apply(&scenario, &changes));
            match changed {
                Ok((scenario, label)) => {
                    let label = (!changes.is_empty()).then_some(label);
                    compare.open(Session::new(source, scenario, seed), label);
                }
                Err(e) => status.set(e),
            }
        }
        Intent::CompareChanged { changes } => {
            let Some(s) = &watch.session else { return };
            if changes.is_empty() {
                status.set("compare with a change: no change given");
                return;
            }
            match crate::change::parse_and_apply(&s.as_scenario(), &changes) {
                Ok((scenario, label)) => {
                    status.set(format!("comparing with {label}"));
                    compare.open(
                        Session::new(s.source.clone(), scenario, s.seed),
                        Some(label),
                    );
                }
                Err(e) => status.set(e),
            }
        }
        Intent::CloseCompare => compare.close(),
        Intent::Intervene(command) if learning.open.is_some() => {
            let Some(s) = &watch.session else { return };
            let at: Millis = (pb.shown(s) + 1).min(s.end());
            crate::lesson::intervene(learning, TimedCommand { at, command }, watch, sim);
        }
        Intent::Intervene(command) if watch.session.as_ref().is_some_and(Session::serving) => {
            // Live: the fault happens now, in the session the clients are connected to.
            let now = watch.session.as_ref().map_or(0, |s| s.simulated_to);
            status.set(format!(
                "applied now, at {} in the live session",
                crate::playback::fmt_ms(now as f64)
            ));
            sim.0.send(Request::LiveApply(command));
        }
        Intent::Intervene(_) if watch.session.as_ref().is_some_and(|s| s.live.is_some()) => {
            status.set("the live session is stopping: intervene once its recording is loaded");
        }
        Intent::Intervene(command) => {
            let Watch {
                session: Some(s),
                checkpoints,
                ..
            } = watch
            else {
                return;
            };
            let at: Millis = (pb.shown(s) + 1).min(s.end());
            let request = s.branch(TimedCommand { at, command });
            checkpoints.truncate(s.entries.len());
            sim.0.send(request);
        }
    }
}

/// Opens the file the learner uploaded, as Open opens a path on the desktop (a file that does
/// not parse gets the same message in the status line).
#[cfg(target_arch = "wasm32")]
pub fn pick_up(mut intents: ResMut<Intents>, mut status: ResMut<Status>) {
    match crate::web::files::take_picked() {
        Some((source, Ok(text))) => intents.push(Intent::Open {
            source,
            text,
            seed: None,
        }),
        Some((_, Err(e))) => status.set(e),
        None => {}
    }
}
