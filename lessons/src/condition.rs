//! Conditions: the small language a lesson's `check` and `shows` are written in.
//!
//! (Skeleton: the implementation is being written; see lessons/README.md "Conditions".)

use std::ops::Range;

use kafkascope_sim::checkers::Findings;
use kafkascope_sim::ids::Millis;
use kafkascope_sim::scenario::Scenario;
use kafkascope_sim::trace::Trace;

/// A parsed condition, with its source text.
#[derive(Clone, Debug)]
pub struct Condition {
    pub text: String,
}

/// What is wrong with a condition: `span` is a byte range within the condition's text.
#[derive(Clone, Debug, PartialEq)]
pub struct ConditionError {
    pub span: Range<usize>,
    pub message: String,
    pub help: Option<String>,
}

/// What a condition is evaluated against: a run (scenario, trace) up to the moment `at`.
pub struct Evidence<'a> {
    pub scenario: &'a Scenario,
    pub trace: &'a Trace,
    /// `checkers::check_to(trace, at)`.
    pub findings: &'a Findings,
    pub at: Millis,
}

/// The outcome of evaluating a condition, with what the learner is told.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    pub holds: bool,
    /// Each comparison and predicate with the values it saw, e.g.
    /// `lost_acknowledged == 0: lost_acknowledged is 12` or `crashed(leader of orders-0): no`.
    pub explanation: Vec<String>,
}

impl Condition {
    /// Parses the syntax only (names are checked by [`Condition::check_names`]).
    pub fn parse(text: &str) -> Result<Condition, ConditionError> {
        todo!("{text}")
    }

    /// Partitions, nodes, groups, counts and checkers the condition names that the scenario
    /// does not have.
    pub fn check_names(&self, scenario: &Scenario) -> Vec<ConditionError> {
        todo!("{scenario:?}")
    }

    pub fn eval(&self, ev: &Evidence<'_>) -> Verdict {
        todo!("{}", ev.at)
    }
}
