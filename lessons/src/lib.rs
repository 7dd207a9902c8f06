//! Kafkascope's guided lessons.
//!
//! A lesson is a TOML file with Markdown text (the format is in `lessons/README.md`): steps
//! that each show a scenario at a moment, ask the learner to predict what happens next, or
//! give a task checked against the trace by a [`condition::Condition`]. The shipped course
//! lives in `lessons/course/` and is embedded in the binary ([`course`]).
//!
//! Everything here reads the simulation the same way the rest of Kafkascope does: a lesson
//! step is a scenario, a seed and a list of timed commands, simulated from the start
//! (deterministic, so going back a step is as cheap as going forward), and every claim and
//! task is a condition over the resulting trace.
//!
//! - [`parse`] reads a lesson file into a [`Lesson`], with located problems;
//! - [`course`] loads the shipped course or a teacher's folder;
//! - [`markdown`] splits a lesson's text into blocks for both front ends;
//! - [`player`] plays one: steps, predictions, tasks, the learner's commands;
//! - [`check`] plays each lesson's reference path for `kafkascope lessons check`;
//! - [`progress`] saves where each learner is, atomically;
//! - [`terminal`] is `kafkascope learn`: the same lessons as text.

pub mod check;
pub mod command_line;
pub mod condition;
pub mod course;
pub mod lesson;
pub mod markdown;
pub mod parse;
pub mod player;
pub mod progress;
pub mod terminal;

pub use course::Course;
pub use lesson::{Lesson, Prediction, SimRef, Step, Task};
pub use player::Player;
