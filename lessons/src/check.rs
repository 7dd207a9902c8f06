//! `lessons check`: a lesson is only as good as the simulation agrees with it.
//!
//! Parsing already proves that references resolve and conditions parse. This plays each
//! lesson as a learner who follows the reference solutions: every claim (`shows`) must hold
//! where the step ends, and every task's check must fail without its solution (or the task
//! teaches nothing) and pass with it (or it cannot be done).

use kafkascope_sim::trace::fmt_time;

use crate::lesson::Lesson;
use crate::player::simulate;

/// One thing the simulation disagrees with.
#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    pub file: String,
    pub line: usize,
    pub step: usize,
    pub message: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}: step {}: {}",
            self.file, self.line, self.step, self.message
        )
    }
}

/// Plays `lesson`'s reference path and returns what does not hold (empty: all is well).
pub fn check_lesson(lesson: &Lesson) -> Vec<Finding> {
    let mut out = Vec::new();
    for (i, step) in lesson.steps.iter().enumerate() {
        let finding = |message: String| Finding {
            file: lesson.file.clone(),
            line: step.line,
            step: i + 1,
            message,
        };
        let before = lesson.reference_commands(i);
        let mut with = before.clone();
        with.extend(lesson.solution_commands(i));
        let end = step.end();
        let done = simulate(&step.sim, &with, end);
        let ev = done.evidence(&step.sim);
        for claim in &step.shows {
            let v = claim.eval(&ev);
            if !v.holds {
                out.push(finding(format!(
                    "claim `{}` does not hold at {}: {}",
                    claim.text,
                    fmt_time(end),
                    v.explanation.join("; ")
                )));
            }
        }
        if let Some(task) = &step.task {
            let v = task.check.eval(&ev);
            if !v.holds {
                out.push(finding(format!(
                    "the solution does not complete the task: `{}` at {}: {}",
                    task.check.text,
                    fmt_time(end),
                    v.explanation.join("; ")
                )));
            }
            let idle = simulate(&step.sim, &before, end);
            if task.check.eval(&idle.evidence(&step.sim)).holds {
                out.push(finding(format!(
                    "the task is done before the learner does anything: `{}` already holds at {} without the solution",
                    task.check.text,
                    fmt_time(end)
                )));
            }
        }
    }
    out
}
