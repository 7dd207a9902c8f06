//! What a lesson is, once its file has been read and checked.
//!
//! The file format is described in `lessons/README.md`; [`crate::parse`] turns a file into a
//! [`Lesson`] whose scenarios are resolved and whose conditions parsed, so that playing one
//! never meets a reference that does not exist.

use std::sync::Arc;

use kafkascope_sim::ids::Millis;
use kafkascope_sim::scenario::Scenario;

use crate::condition::Condition;

#[derive(Clone, Debug)]
pub struct Lesson {
    /// The file name without the leading number and `.toml`: `01-the-log.toml` is `the-log`.
    pub id: String,
    /// The number in front of the file name, which orders the course.
    pub number: u32,
    /// Where it was read from (a path, or `course/01-the-log.toml` for a shipped one).
    pub file: String,
    pub title: String,
    pub summary: String,
    pub minutes: Option<u32>,
    pub steps: Vec<Step>,
}

#[derive(Clone, Debug)]
pub struct Step {
    pub title: String,
    /// Markdown.
    pub text: String,
    /// The simulation this step shows. Steps that continue a simulation share its `Arc`.
    pub sim: Arc<SimRef>,
    /// Index, in [`Lesson::steps`], of the first step of this step's simulation.
    pub chain_start: usize,
    pub at: Millis,
    pub until: Option<Millis>,
    pub highlight: Vec<String>,
    pub shows: Vec<Condition>,
    /// Markdown shown once the simulation reached `until`.
    pub after: Option<String>,
    pub predict: Option<Prediction>,
    pub task: Option<Task>,
    /// 1-based line of the step's `[[steps]]` header, for messages.
    pub line: usize,
}

impl Step {
    /// The moment the step ends: where the next step of the same simulation starts, and where
    /// its claims and its task are checked.
    pub fn end(&self) -> Millis {
        match (&self.task, self.until) {
            (_, Some(u)) => u,
            (Some(_), None) => self.sim.scenario.duration,
            (None, None) => self.at,
        }
    }
}

/// A scenario with the seed a lesson runs it with.
#[derive(Clone, Debug)]
pub struct SimRef {
    /// The scenario's name as the lesson gave it.
    pub name: String,
    pub scenario: Scenario,
    /// The scenario file's text: a learner's commands are checked by appending them to it as
    /// `[[faults]]` entries, so they get exactly the scenario format's checks and messages.
    pub text: String,
    pub seed: u64,
}

#[derive(Clone, Debug)]
pub struct Prediction {
    pub question: String,
    pub choices: Vec<String>,
    /// 0-based index into `choices`.
    pub answer: usize,
    /// One explanation per choice.
    pub why: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct Task {
    pub goal: String,
    pub check: Condition,
    /// Commands, as a learner types them (see [`crate::command_line`]).
    pub solution: Vec<String>,
    pub hints: Vec<String>,
}
