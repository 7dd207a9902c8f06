//! Playing a lesson: which simulation a step shows, at what moment, and what the learner has
//! done so far.
//!
//! Nothing here draws: the terminal player and the app both drive a [`Player`] and show the
//! [`Outcome`]s it simulates. A step's view is always simulated from the start of its
//! scenario (the scenario, its seed, the reference solutions of the earlier tasks on the same
//! simulation, and the learner's own commands in this step), so going back or forward is the
//! same operation and gives the same picture every time.

use kafkascope_sim::checkers::{check_to, Findings};
use kafkascope_sim::command::TimedCommand;
use kafkascope_sim::host::Simulation;
use kafkascope_sim::ids::Millis;
use kafkascope_sim::trace::Trace;

use crate::command_line::{parse_line_after, run_script, Input};
use crate::condition::{Evidence, Verdict};
use crate::lesson::{Lesson, SimRef, Step};

/// A run simulated up to (and including) a moment.
pub struct Outcome {
    pub at: Millis,
    pub trace: Trace,
    pub findings: Findings,
}

impl Outcome {
    pub fn evidence<'a>(&'a self, sim: &'a SimRef) -> Evidence<'a> {
        Evidence {
            scenario: &sim.scenario,
            trace: &self.trace,
            findings: &self.findings,
            at: self.at,
        }
    }
}

/// Simulates `sim` with `commands` up to `at`, events at `at` included.
pub fn simulate(sim: &SimRef, commands: &[TimedCommand], at: Millis) -> Outcome {
    let mut s = Simulation::new(&sim.scenario, sim.seed);
    for c in commands {
        s.schedule(c.clone());
    }
    s.run_until(at + 1);
    let trace = s.into_trace();
    let findings = check_to(&trace, at);
    Outcome {
        at,
        trace,
        findings,
    }
}

impl Lesson {
    /// The commands of step `i`'s reference solution, from the step's `at`.
    pub fn solution_commands(&self, i: usize) -> Vec<TimedCommand> {
        let step = &self.steps[i];
        match &step.task {
            Some(t) => run_script(&t.solution, &step.sim, step.at)
                .map(|(c, _)| c)
                .unwrap_or_default(),
            None => Vec::new(),
        }
    }

    /// What the lesson has done to step `i`'s simulation before the step opens: the reference
    /// solutions of the earlier tasks on it.
    pub fn reference_commands(&self, i: usize) -> Vec<TimedCommand> {
        let start = self.steps[i].chain_start;
        (start..i).flat_map(|j| self.solution_commands(j)).collect()
    }

    /// Every prediction, task and claim, for summaries.
    pub fn counts(&self) -> (usize, usize, usize) {
        let predictions = self.steps.iter().filter(|s| s.predict.is_some()).count();
        let tasks = self.steps.iter().filter(|s| s.task.is_some()).count();
        let claims = self.steps.iter().map(|s| s.shows.len()).sum();
        (predictions, tasks, claims)
    }
}

/// What the learner did in one step.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StepState {
    /// The choice they predicted (0-based).
    pub answer: Option<usize>,
    /// Commands and `run`s as typed, in order; `commands` is what they scheduled.
    pub typed: Vec<String>,
    pub commands: Vec<TimedCommand>,
    /// The learner's virtual time in this step (the step's `at` until they `run`).
    pub now: Option<Millis>,
    /// The task's check passed.
    pub done: bool,
    /// The simulation was played on to `until`.
    pub played: bool,
    /// Hints shown so far.
    pub hints: usize,
}

/// How a learner did in a lesson, for its end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Score {
    pub right: usize,
    pub predictions: usize,
    pub done: usize,
    pub tasks: usize,
}

/// What answering a prediction gives back.
#[derive(Clone, Debug)]
pub struct Answered {
    pub correct: bool,
    /// The explanation of the chosen answer, then (when it was wrong) of the right one.
    pub why: Vec<String>,
}

#[derive(Clone)]
pub struct Player {
    pub lesson: Lesson,
    pub step: usize,
    pub states: Vec<StepState>,
}

impl Player {
    pub fn new(lesson: Lesson) -> Player {
        let states = vec![StepState::default(); lesson.steps.len()];
        Player {
            lesson,
            step: 0,
            states,
        }
    }

    pub fn current(&self) -> &Step {
        &self.lesson.steps[self.step]
    }

    pub fn state(&self) -> &StepState {
        &self.states[self.step]
    }

    /// Predictions answered right (each is answered once) and tasks done.
    pub fn score(&self) -> Score {
        let mut sc = Score {
            right: 0,
            predictions: 0,
            done: 0,
            tasks: 0,
        };
        for (step, state) in self.lesson.steps.iter().zip(&self.states) {
            if let Some(p) = &step.predict {
                sc.predictions += 1;
                sc.right += usize::from(state.answer == Some(p.answer));
            }
            if step.task.is_some() {
                sc.tasks += 1;
                sc.done += usize::from(state.done);
            }
        }
        sc
    }

    /// Moves to step `i` (any step: the simulation is replayed, not remembered).
    pub fn go(&mut self, i: usize) -> bool {
        if i < self.lesson.steps.len() {
            self.step = i;
            true
        } else {
            false
        }
    }

    pub fn next_step(&mut self) -> bool {
        self.go(self.step + 1)
    }

    pub fn previous_step(&mut self) -> bool {
        self.step > 0 && self.go(self.step - 1)
    }

    pub fn is_last(&self) -> bool {
        self.step + 1 == self.lesson.steps.len()
    }

    /// The learner's time in this step.
    pub fn now(&self) -> Millis {
        self.state().now.unwrap_or(self.current().at)
    }

    /// The moment the view shows: the step's `at` (or later, after `run`), or its `until`
    /// once the prediction is answered, the task done, or the step played on.
    pub fn view_time(&self) -> Millis {
        let s = self.state();
        let step = self.current();
        match step.until {
            Some(u) if s.played || s.done || s.answer.is_some() && step.task.is_none() => u,
            _ => self.now(),
        }
    }

    /// The commands of the current step's simulation: the lesson's, then the learner's.
    pub fn commands(&self) -> Vec<TimedCommand> {
        let mut c = self.lesson.reference_commands(self.step);
        c.extend(self.state().commands.iter().cloned());
        c
    }

    /// The current step's simulation at its view time.
    pub fn view(&self) -> Outcome {
        simulate(&self.current().sim, &self.commands(), self.view_time())
    }

    /// Whether the step is waiting for the learner: an unanswered prediction or an undone
    /// task.
    pub fn waiting(&self) -> bool {
        let step = self.current();
        let s = self.state();
        step.predict.is_some() && s.answer.is_none() || step.task.is_some() && !s.done
    }

    /// A typed command or `run`, at the learner's current time.
    pub fn input(&mut self, line: &str) -> Result<Input, String> {
        let step = self.current();
        let end = step.end();
        let now = self.now();
        if step.task.is_none() {
            return Err("this step has no task: there is nothing to do but read, predict and go on (`next`)".into());
        }
        let input = parse_line_after(line, &step.sim, &self.commands(), now)?;
        let s = &mut self.states[self.step];
        // A command after the task passed changes the run: it must be checked again.
        s.done = false;
        match &input {
            Input::Command(c) => s.commands.push(c.clone()),
            Input::Run(ms) => {
                if now >= end {
                    return Err(format!(
                        "the task is checked at {}, and that is where you are: type `check`",
                        kafkascope_sim::trace::fmt_time(end)
                    ));
                }
                s.now = Some((now + ms).min(end));
            }
        }
        s.typed.push(line.trim().to_string());
        Ok(input)
    }

    /// A command the learner gave another way than typing (the app's buttons), at its own
    /// time: it counts like a typed one, and the learner's time moves to it.
    pub fn push_command(&mut self, c: TimedCommand) -> Result<(), String> {
        let step = self.current();
        let line = crate::command_line::to_line(&c, &step.sim.scenario);
        if step.task.is_none() {
            return Err("this step has no task".into());
        }
        if c.at < step.at || c.at > step.end() {
            return Err(format!(
                "this step's task runs from {} to {}",
                kafkascope_sim::trace::fmt_time(step.at),
                kafkascope_sim::trace::fmt_time(step.end())
            ));
        }
        let step_at = |st: &Step| st.at;
        let at = step_at(step);
        let s = &mut self.states[self.step];
        // Saved as the line that types it, after a `run` to its time, so that resuming
        // replays it exactly.
        let now = s.now.unwrap_or(at);
        if c.at > now {
            s.typed.push(format!("run {}ms", c.at - now));
        }
        s.now = Some(c.at);
        s.done = false;
        s.commands.push(c);
        s.typed.push(line);
        Ok(())
    }

    /// Undoes the learner's commands in this step.
    pub fn reset(&mut self) {
        let s = &mut self.states[self.step];
        s.commands.clear();
        s.typed.clear();
        s.now = None;
        s.done = false;
    }

    pub fn answer(&mut self, choice: usize) -> Option<Answered> {
        let p = self.current().predict.clone()?;
        if choice >= p.choices.len() {
            return None;
        }
        self.states[self.step].answer = Some(choice);
        let mut why = vec![p.why.get(choice).cloned().unwrap_or_default()];
        if choice != p.answer {
            why.push(p.why.get(p.answer).cloned().unwrap_or_default());
        }
        Some(Answered {
            correct: choice == p.answer,
            why,
        })
    }

    /// Plays a step without a task on to its `until`.
    pub fn play_on(&mut self) {
        self.states[self.step].played = true;
    }

    /// Runs the step's simulation with the learner's commands to the moment the task is
    /// checked, and checks it.
    pub fn check_task(&mut self) -> Option<(Verdict, Outcome)> {
        let step = self.current();
        let task = step.task.as_ref()?;
        let outcome = simulate(&step.sim, &self.commands(), step.end());
        let verdict = task.check.eval(&outcome.evidence(&step.sim));
        if verdict.holds {
            self.states[self.step].done = true;
        }
        Some((verdict, outcome))
    }

    /// The next hint of the current task, if any is left.
    pub fn hint(&mut self) -> Option<String> {
        let shown = self.state().hints;
        let h = self.current().task.as_ref()?.hints.get(shown).cloned()?;
        let s = &mut self.states[self.step];
        s.hints += 1;
        Some(h)
    }

    /// Replays typed lines (from saved progress) into step `i`; lines the lesson no longer
    /// accepts are dropped.
    pub fn restore(&mut self, i: usize, typed: &[String]) {
        let here = self.step;
        if !self.go(i) {
            return;
        }
        for line in typed {
            let _ = self.input(line);
        }
        self.step = here;
    }
}
