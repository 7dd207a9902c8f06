//! Lessons in the app: the course the home screen lists, the learner's saved progress, and the
//! lesson being played, driven through a [`kafkascope_lessons::Player`] exactly as the terminal
//! player (`kafkascope learn`) drives one.
//!
//! A step shows its simulation in the ordinary session: on every step change the session is
//! loaded with the step's scenario, seed and commands ([`Player::commands`]) and the playback
//! is parked at [`Player::view_time`]. Answering a prediction (or pressing Play on, or passing
//! a task) plays the session on to the step's `until` with the ordinary playback, so the
//! learner sees it happen. In a task step the app's interventions become the learner's
//! commands ([`Player::push_command`]). Progress is saved after every change.
//!
//! Nothing here draws: the panel (`panels/lesson.rs`) and the home screen push
//! [`LessonIntent`]s, and tests push the same ones.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use bevy::prelude::*;
use kafkascope_lessons::command_line::Input;
use kafkascope_lessons::progress::{LessonProgress, Progress, Store};
use kafkascope_lessons::{Course, Lesson, Player, SimRef};
use kafkascope_sim::command::TimedCommand;
use kafkascope_sim::ids::Millis;

use crate::background::Background;
use crate::compare::Compare;
use crate::playback::{Playback, MAX_SPEED, MIN_SPEED};
use crate::session::Session;
use crate::state::{Sim, Watch};

/// How long, in wall time, playing on to a step's `until` takes (whatever the span): long
/// enough to see it happen, short enough not to wait.
pub const PLAY_ON_WALL_MS: f64 = 5_000.0;

/// What the learner asks of the lesson: the panel's buttons and keys, and the home screen.
#[derive(Clone, Debug, PartialEq)]
pub enum LessonIntent {
    /// Open a lesson (by id or number) where its saved progress left off, or at `step`
    /// (0-based).
    Open {
        id: String,
        step: Option<usize>,
    },
    /// Any step (0-based).
    Go(usize),
    Next,
    Back,
    /// Lock in a prediction (0-based choice).
    Answer(usize),
    /// Play a step without a task on to its `until`.
    PlayOn,
    /// Jump to where playing on is going.
    SkipPlay,
    Hint,
    /// Check the task (on another thread: it simulates to the step's end).
    Check,
    /// Undo the learner's commands in this step.
    Reset,
    /// A command typed as at the `kafkascope learn` prompt (`crash broker-2`, `run 2s`).
    Type(String),
}

/// The lessons: the course, where progress is kept, and the lesson open now.
#[derive(Resource)]
pub struct Learning {
    /// The course the home screen lists, or why it could not be loaded.
    pub course: Result<Course, String>,
    pub store: Option<Store>,
    /// Every lesson's saved progress (kept in step with the file).
    pub progress: Progress,
    pub open: Option<LessonRun>,
}

impl Default for Learning {
    fn default() -> Self {
        Learning {
            course: Err("no course loaded".into()),
            store: None,
            progress: Progress::default(),
            open: None,
        }
    }
}

/// The result of checking a task.
#[derive(Clone, Debug, PartialEq)]
pub struct Checked {
    pub done: bool,
    /// Each part of the condition with the values it saw.
    pub explanation: Vec<String>,
    /// The moment it was checked at.
    pub at: Millis,
}

/// A task check running on another thread.
pub struct Checking {
    pub step: usize,
    /// The commands it checks: a result for other commands (the learner went on) is dropped.
    commands: Vec<TimedCommand>,
    handle: Background<Option<Checked>>,
}

/// The lesson being played.
pub struct LessonRun {
    pub player: Player,
    /// The last check of each step's task.
    pub checked: BTreeMap<usize, Checked>,
    /// A message for the learner: a command the step did not take, a save that failed.
    pub message: Option<String>,
    pub checking: Option<Checking>,
    /// Playing on to this moment, with the playback's speed to restore when it gets there.
    pub playing_to: Option<(Millis, f64)>,
    /// The end-of-lesson summary is showing (after Next on the last step).
    pub finished: bool,
    /// The simulation and commands the session holds, so that a step that shows the same run
    /// (the next step of the same simulation, with no task in between) does not re-simulate.
    loaded: Option<(Arc<SimRef>, Vec<TimedCommand>)>,
}

impl LessonRun {
    fn new(player: Player) -> Self {
        LessonRun {
            player,
            checked: BTreeMap::new(),
            message: None,
            checking: None,
            playing_to: None,
            finished: false,
            loaded: None,
        }
    }

    /// Whether the step has reached its `until` and is not still playing there: its `after`
    /// text shows.
    pub fn reached_until(&self) -> bool {
        let step = self.player.current();
        step.until
            .is_some_and(|u| self.player.view_time() == u && self.playing_to.is_none())
    }
}

impl Learning {
    /// The course (`None`: the shipped one) and the progress store (`None`: the data
    /// directory, `$KAFKASCOPE_DATA_DIR`). A progress file that cannot be read is reported in
    /// the returned note.
    pub fn new(course: Option<Course>, data_dir: Option<PathBuf>) -> (Self, Option<String>) {
        let course = match course {
            Some(c) => Ok(c),
            None => Course::shipped().map_err(|e| e.to_string()),
        };
        let store = match data_dir {
            Some(d) => Some(Store::in_dir(&d)),
            None => Store::default_location(),
        };
        let (progress, note) = store
            .as_ref()
            .map(|s| s.load())
            .unwrap_or_else(|| (Progress::default(), None));
        (
            Learning {
                course,
                store,
                progress,
                open: None,
            },
            note,
        )
    }

    pub fn find(&self, key: &str) -> Option<&Lesson> {
        self.course.as_ref().ok()?.find(key)
    }

    /// Leaves the lesson (its progress is already saved).
    pub fn close(&mut self, pb: &mut Playback) {
        if let Some(run) = &mut self.open {
            stop_playing(run, pb);
        }
        self.open = None;
    }
}

/// `new`, `step 3 of 7` or `finished`.
pub fn status(lesson: &Lesson, lp: Option<&LessonProgress>) -> String {
    match lp {
        None => "new".into(),
        Some(lp) if lp.finished => "finished".into(),
        Some(lp) => format!(
            "step {} of {}",
            (lp.step + 1).min(lesson.steps.len()),
            lesson.steps.len()
        ),
    }
}

/// Applies one lesson intent.
pub fn apply(
    intent: LessonIntent,
    learning: &mut Learning,
    watch: &mut Watch,
    pb: &mut Playback,
    compare: &mut Compare,
    sim: &Sim,
) -> Result<(), String> {
    if let LessonIntent::Open { id, step } = intent {
        let Some(lesson) = learning.find(&id).cloned() else {
            let why = match &learning.course {
                Ok(c) => format!("there is no lesson `{id}` in {}", c.origin),
                Err(e) => format!("the lessons could not be loaded: {e}"),
            };
            return Err(why);
        };
        let mut player = match learning.progress.lessons.get(&lesson.id) {
            Some(lp) => {
                let finished = lp.finished;
                let mut p = Player::resume(lesson, lp);
                // A finished lesson opens at its start, its answers and tasks kept.
                if finished {
                    p.step = 0;
                }
                p
            }
            None => Player::new(lesson),
        };
        if let Some(i) = step {
            if !player.go(i) {
                return Err(format!(
                    "lesson `{id}` has {} steps",
                    player.lesson.steps.len()
                ));
            }
        }
        learning.close(pb);
        let mut run = LessonRun::new(player);
        load_step(&mut run, watch, pb, compare, sim);
        learning.open = Some(run);
        return Ok(());
    }
    let Learning {
        store,
        progress,
        open,
        ..
    } = learning;
    let Some(run) = open.as_mut() else {
        return Ok(());
    };
    let mut changed = true;
    match intent {
        LessonIntent::Open { .. } => unreachable!("handled above"),
        LessonIntent::Go(i) => {
            if run.player.go(i) {
                run.finished = false;
                load_step(run, watch, pb, compare, sim);
            }
        }
        LessonIntent::Next => {
            let step = run.player.current();
            if step.predict.is_some() && run.player.state().answer.is_none() {
                run.message =
                    Some("First, your prediction: choose an answer and lock it in.".into());
                changed = false;
            } else if run.player.next_step() {
                load_step(run, watch, pb, compare, sim);
            } else {
                stop_playing(run, pb);
                run.finished = true;
                run.message = None;
            }
        }
        LessonIntent::Back => {
            if run.finished {
                run.finished = false;
            } else if run.player.previous_step() {
                load_step(run, watch, pb, compare, sim);
            } else {
                changed = false;
            }
        }
        LessonIntent::Answer(choice) => {
            if run.player.state().answer.is_some() || run.player.answer(choice).is_none() {
                changed = false;
            } else {
                run.message = None;
                let step = run.player.current();
                if let (Some(u), false) = (step.until, step.task.is_some()) {
                    play_to(run, u, watch, pb);
                }
            }
        }
        LessonIntent::PlayOn => match (
            run.player.current().until,
            run.player.current().task.is_none(),
        ) {
            (Some(u), true) => {
                run.player.play_on();
                play_to(run, u, watch, pb);
            }
            _ => changed = false,
        },
        LessonIntent::SkipPlay => {
            changed = false;
            if let Some((u, _)) = run.playing_to {
                stop_playing(run, pb);
                pb.time_ms = u as f64;
            }
        }
        LessonIntent::Hint => {
            changed = run.player.hint().is_some();
            if !changed {
                run.message = Some(match &run.player.current().task {
                    Some(t) if t.hints.is_empty() => "This task has no hints.".into(),
                    Some(_) => "No more hints.".into(),
                    None => "This step has no task.".into(),
                });
            }
        }
        LessonIntent::Check => {
            changed = false;
            if run.player.current().task.is_some() && run.checking.is_none() {
                let step = run.player.step;
                let mut p = Player {
                    lesson: run.player.lesson.clone(),
                    step,
                    states: run.player.states.clone(),
                };
                let at = run.player.current().end();
                let handle = Background::spawn("kafkascope-check", move || {
                    p.check_task().map(|(v, _)| Checked {
                        done: v.holds,
                        explanation: v.explanation,
                        at,
                    })
                })
                .map_err(|e| format!("cannot start the check: {e}"))?;
                run.checking = Some(Checking {
                    step,
                    commands: run.player.state().commands.clone(),
                    handle,
                });
                run.message = None;
            }
        }
        LessonIntent::Reset => {
            run.player.reset();
            run.checked.remove(&run.player.step);
            run.message = None;
            load_step(run, watch, pb, compare, sim);
        }
        LessonIntent::Type(line) => match run.player.input(&line) {
            Ok(Input::Command(c)) => {
                run.message = None;
                follow_commands(run, c.at, watch, sim);
                stop_playing(run, pb);
                pb.playing = false;
                pb.time_ms = c.at as f64;
            }
            Ok(Input::Run(_)) => {
                run.message = None;
                let to = run.player.now();
                play_to(run, to, watch, pb);
            }
            Err(e) => {
                run.message = Some(e);
                changed = false;
            }
        },
    }
    if changed {
        save(run, store.as_ref(), progress);
    }
    Ok(())
}

/// An intervention made with the app's buttons while a lesson is open: in a task step it is
/// one of the learner's commands (at its own time, inside the step's window); elsewhere it is
/// refused, so that the view keeps showing what the lesson's text describes.
pub fn intervene(learning: &mut Learning, c: TimedCommand, watch: &mut Watch, sim: &Sim) {
    let Learning {
        store,
        progress,
        open,
        ..
    } = learning;
    let Some(run) = open.as_mut() else { return };
    match run.player.push_command(c.clone()) {
        Ok(()) => {
            run.message = None;
            follow_commands(run, c.at, watch, sim);
            save(run, store.as_ref(), progress);
        }
        Err(e) if run.player.current().task.is_none() => {
            run.message = Some(format!(
                "{e}: interventions count in a task step. To experiment freely, open the \
                 scenario `{}` from the home screen.",
                run.player.current().sim.name
            ));
        }
        Err(e) => run.message = Some(e),
    }
}

/// Takes in a finished task check and ends a play-on that got there (or was stopped): each
/// frame, after the playback moved.
pub fn pump_lesson(mut learning: ResMut<Learning>, mut pb: ResMut<Playback>, watch: Res<Watch>) {
    let Learning {
        store,
        progress,
        open,
        ..
    } = &mut *learning;
    let Some(run) = open.as_mut() else { return };
    if run.playing_to.is_some() && !pb.playing {
        stop_playing(run, &mut pb);
    }
    if !run
        .checking
        .as_ref()
        .is_some_and(|c| c.handle.is_finished())
    {
        return;
    }
    let Some(checking) = run.checking.take() else {
        return;
    };
    let result = checking.handle.join().flatten();
    let current =
        run.player.step == checking.step && run.player.state().commands == checking.commands;
    let Some(checked) = result.filter(|_| current) else {
        return;
    };
    if checked.done {
        run.player.states[checking.step].done = true;
    }
    let done = checked.done;
    run.checked.insert(checking.step, checked);
    save(run, store.as_ref(), progress);
    if done {
        if let Some(u) = run.player.current().until {
            play_to(run, u, &watch, &mut pb);
        }
    }
}

/// Loads the current step's simulation into the session (unless it holds that run already)
/// and parks the playback at the step's view time.
fn load_step(
    run: &mut LessonRun,
    watch: &mut Watch,
    pb: &mut Playback,
    compare: &mut Compare,
    sim: &Sim,
) {
    stop_playing(run, pb);
    run.message = None;
    let step = run.player.current();
    let commands = run.player.commands();
    let same = watch.session.is_some()
        && run
            .loaded
            .as_ref()
            .is_some_and(|(s, c)| Arc::ptr_eq(s, &step.sim) && *c == commands);
    if !same {
        let session = Session::new(
            format!("{} (lesson {})", step.sim.name, run.player.lesson.id),
            step.sim.scenario.clone(),
            step.sim.seed,
        )
        .with_interventions(commands.clone());
        sim.0.send(session.request());
        watch.open(session);
        compare.close();
        run.loaded = Some((step.sim.clone(), commands));
    }
    pb.playing = false;
    pb.stop_at = None;
    pb.time_ms = run.player.view_time() as f64;
}

/// Makes the session's interventions the player's commands, re-simulating from `at`.
fn follow_commands(run: &mut LessonRun, at: Millis, watch: &mut Watch, sim: &Sim) {
    let commands = run.player.commands();
    let Watch {
        session: Some(s),
        checkpoints,
        ..
    } = watch
    else {
        return;
    };
    let request = s.branch_to(commands.clone(), at);
    checkpoints.truncate(s.entries.len());
    sim.0.send(request);
    run.loaded = Some((run.player.current().sim.clone(), commands));
}

/// Plays the session from the displayed moment on to `until`, in about
/// [`PLAY_ON_WALL_MS`] of wall time, and stops there.
fn play_to(run: &mut LessonRun, until: Millis, watch: &Watch, pb: &mut Playback) {
    let Some(s) = &watch.session else { return };
    let from = pb.shown(s);
    if until <= from {
        stop_playing(run, pb);
        pb.time_ms = until as f64;
        return;
    }
    let before = run.playing_to.map_or(pb.speed, |(_, speed)| speed);
    pb.speed = ((until - from) as f64 / PLAY_ON_WALL_MS).clamp(MIN_SPEED, MAX_SPEED);
    pb.stop_at = Some(until as f64);
    pb.playing = true;
    run.playing_to = Some((until, before));
}

fn stop_playing(run: &mut LessonRun, pb: &mut Playback) {
    if let Some((u, speed)) = run.playing_to.take() {
        pb.speed = speed;
        if pb.stop_at == Some(u as f64) {
            pb.stop_at = None;
            pb.playing = false;
        }
    }
}

fn save(run: &mut LessonRun, store: Option<&Store>, progress: &mut Progress) {
    let lp = run.player.progress();
    let id = run.player.lesson.id.clone();
    progress.lessons.insert(id.clone(), lp.clone());
    if let Some(store) = store {
        if let Err(e) = store.save_lesson(&id, lp) {
            run.message = Some(format!(
                "progress not saved to {}: {e}",
                store.path.display()
            ));
        }
    }
}
