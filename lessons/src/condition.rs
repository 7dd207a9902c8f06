//! Conditions: the small language a lesson's `check` and `shows` are written in
//! (lessons/README.md, "Conditions").
//!
//! A condition is parsed once, when its lesson is read ([`Condition::parse`] knows every count,
//! checker and function without a scenario, so a typo is caught with the lesson file's line),
//! then checked against the scenario it runs on ([`Condition::check_names`]: partitions, nodes
//! and groups), and finally evaluated against a run ([`Condition::eval`]). Evaluation never
//! fails: a name the run does not know reads as 0 or "no", and the explanation says why,
//! because learners read the explanation when a task is "not yet" done.
//!
//! `parse.rs` holds the syntax and the name checks, `eval.rs` what each function means in a
//! trace.

mod eval;
mod parse;

use std::fmt;
use std::ops::Range;

use kafkascope_sim::checkers::Findings;
use kafkascope_sim::ids::{Millis, TopicPartition};
use kafkascope_sim::scenario::{CheckerId, Cmp, Count, Scenario};
use kafkascope_sim::trace::Trace;

/// A parsed condition, with its source text.
#[derive(Clone, Debug)]
pub struct Condition {
    /// What the lesson wrote, unchanged (spans of errors point into it).
    pub text: String,
    expr: Expr,
}

/// What is wrong with a condition: `span` is a byte range within the condition's text.
#[derive(Clone, Debug, PartialEq)]
pub struct ConditionError {
    pub span: Range<usize>,
    pub message: String,
    pub help: Option<String>,
}

impl ConditionError {
    fn new(span: Range<usize>, message: impl Into<String>, help: Option<String>) -> Self {
        ConditionError {
            span,
            message: message.into(),
            help,
        }
    }
}

impl fmt::Display for ConditionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.message)?;
        if let Some(h) = &self.help {
            write!(f, " (help: {h})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConditionError {}

/// What a condition is evaluated against: a run (scenario, trace) up to the moment `at`.
///
/// "At `at`" means after the milliseconds `[0, at]`, the state `Simulation::run_until(at + 1)`
/// leaves (what [`crate::player::simulate`] runs): a crash scheduled at 5s has happened at 5s,
/// as a lesson's text says. Entries of the trace after `at` are ignored, so a condition reads
/// the same whether the trace stops at `at` or runs on.
pub struct Evidence<'a> {
    pub scenario: &'a Scenario,
    pub trace: &'a Trace,
    /// `checkers::check_to(trace, at)`. When the trace runs past `at`, these findings describe
    /// its end, not `at`; [`Condition::eval`] then checks the prefix itself.
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
        let expr = parse::parse(text)?;
        Ok(Condition {
            text: text.to_string(),
            expr,
        })
    }

    /// Partitions, nodes and groups the condition names that the scenario does not have (or
    /// will not have: topics created and partitions added by its faults count). Counts,
    /// checkers and functions are known without a scenario and checked by [`Condition::parse`].
    pub fn check_names(&self, scenario: &Scenario) -> Vec<ConditionError> {
        parse::check_names(&self.expr, scenario)
    }

    /// Every leaf is evaluated (no short-circuit), so the explanation shows all of them.
    pub fn eval(&self, ev: &Evidence<'_>) -> Verdict {
        eval::eval(&self.expr, ev)
    }
}

/// The canonical spelling: single spaces, parentheses only where precedence needs them.
impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.expr)
    }
}

// ---- the syntax tree (shared by parse.rs and eval.rs) ----

#[derive(Clone, Debug, PartialEq)]
enum Expr {
    Or(Vec<Expr>),
    And(Vec<Expr>),
    Not(Box<Expr>),
    Compare(Num, Cmp, Num),
    /// A boolean function.
    Call(Func, Vec<Arg>),
}

#[derive(Clone, Debug, PartialEq)]
enum Num {
    Int(u64),
    Count(Count),
    /// A numeric function.
    Call(Func, Vec<Arg>),
}

/// An argument, with where it was written (for [`Condition::check_names`]).
#[derive(Clone, Debug, PartialEq)]
struct Arg {
    value: ArgValue,
    span: Range<usize>,
}

#[derive(Clone, Debug, PartialEq)]
enum ArgValue {
    Partition(TopicPartition),
    /// A node as the scenario names it (`broker-2`, `consumer-billing-1`); whether the
    /// scenario has it is for `check_names`, so that its did-you-mean can use the real names.
    Node(String),
    /// `leader of orders-0`: whichever broker led the partition when something happened.
    LeaderOf(TopicPartition),
    Group(String),
    Checker(CheckerId),
}

/// What a function takes, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Param {
    Partition,
    /// A replica's broker (the optional second argument of `hw` and `leo`).
    Broker,
    /// A group, or a consumer without a group.
    Group,
    Consumer,
    Checker,
    /// A node, or `leader of <partition>`.
    Subject,
}

/// The functions. State functions read the cluster at the moment (the controller's view for
/// leader, epoch and ISR; the leader's log, or for an offline partition that of the ISR member
/// that would lead it, for hw and leo); event functions ask whether something happened before
/// it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Func {
    /// The leader's broker id, 0 when there is none.
    Leader,
    Epoch,
    /// The ISR's size.
    Isr,
    Hw,
    Leo,
    /// The group's backlog: per partition, the HW minus the first offset past the highest the
    /// group processed (`PartitionLag::unprocessed` in the metrics), summed over the
    /// partitions it consumed. Not the committed-offset lag of `kafka-consumer-groups`: a
    /// learner asks "how much is left to process", and commits trail processing.
    Lag,
    /// Members of the current generation still in the group (the coordinator's view).
    Members,
    Generation,
    /// Partitions the consumer owns, as its rebalance listener was told.
    Owned,
    /// Records the group processed, repeats included.
    Processed,
    Holds,
    Violated,
    /// Any crash: a process crash or a power loss.
    Crashed,
    Restarted,
    Paused,
    /// Cut off from every other node, both ways, at some moment.
    Isolated,
    /// The leader became a different broker at least once after the first.
    Elected,
    Up,
}

impl Func {
    const ALL: [Func; 18] = [
        Func::Leader,
        Func::Epoch,
        Func::Isr,
        Func::Hw,
        Func::Leo,
        Func::Lag,
        Func::Members,
        Func::Generation,
        Func::Owned,
        Func::Processed,
        Func::Holds,
        Func::Violated,
        Func::Crashed,
        Func::Restarted,
        Func::Paused,
        Func::Isolated,
        Func::Elected,
        Func::Up,
    ];

    fn name(self) -> &'static str {
        match self {
            Func::Leader => "leader",
            Func::Epoch => "epoch",
            Func::Isr => "isr",
            Func::Hw => "hw",
            Func::Leo => "leo",
            Func::Lag => "lag",
            Func::Members => "members",
            Func::Generation => "generation",
            Func::Owned => "owned",
            Func::Processed => "processed",
            Func::Holds => "holds",
            Func::Violated => "violated",
            Func::Crashed => "crashed",
            Func::Restarted => "restarted",
            Func::Paused => "paused",
            Func::Isolated => "isolated",
            Func::Elected => "elected",
            Func::Up => "up",
        }
    }

    fn by_name(name: &str) -> Option<Func> {
        Func::ALL.into_iter().find(|f| f.name() == name)
    }

    /// True or false (rather than a number).
    fn boolean(self) -> bool {
        matches!(
            self,
            Func::Holds
                | Func::Violated
                | Func::Crashed
                | Func::Restarted
                | Func::Paused
                | Func::Isolated
                | Func::Elected
                | Func::Up
        )
    }

    /// The parameters it requires, and those it may take after them.
    fn params(self) -> (&'static [Param], &'static [Param]) {
        match self {
            Func::Leader | Func::Epoch | Func::Isr | Func::Elected => (&[Param::Partition], &[]),
            Func::Hw | Func::Leo => (&[Param::Partition], &[Param::Broker]),
            Func::Lag | Func::Members | Func::Generation | Func::Processed => {
                (&[Param::Group], &[])
            }
            Func::Owned => (&[Param::Consumer], &[]),
            Func::Holds | Func::Violated => (&[Param::Checker], &[]),
            Func::Crashed | Func::Restarted | Func::Paused | Func::Isolated | Func::Up => {
                (&[Param::Subject], &[])
            }
        }
    }

    /// How to call it, for help messages.
    fn example(self) -> &'static str {
        match self {
            Func::Leader => "leader(orders-0)",
            Func::Epoch => "epoch(orders-0)",
            Func::Isr => "isr(orders-0)",
            Func::Hw => "hw(orders-0) or hw(orders-0, broker-2)",
            Func::Leo => "leo(orders-0) or leo(orders-0, broker-2)",
            Func::Lag => "lag(billing)",
            Func::Members => "members(billing)",
            Func::Generation => "generation(billing)",
            Func::Owned => "owned(consumer-billing-1)",
            Func::Processed => "processed(billing)",
            Func::Holds => "holds(no_lost_acknowledged)",
            Func::Violated => "violated(log_matching)",
            Func::Crashed => "crashed(broker-1) or crashed(leader of orders-0)",
            Func::Restarted => "restarted(broker-1)",
            Func::Paused => "paused(broker-3)",
            Func::Isolated => "isolated(leader of orders-0)",
            Func::Elected => "elected(orders-0)",
            Func::Up => "up(broker-2)",
        }
    }
}

/// The closest of `candidates` to `name`, if close enough to be a typo: the same judgement
/// as every other did-you-mean (the scenario and lesson readers').
fn suggest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    kafkascope_sim::located::closest(name, candidates)
}

impl fmt::Display for Arg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            ArgValue::Partition(tp) => write!(f, "{tp}"),
            ArgValue::Node(n) | ArgValue::Group(n) => write!(f, "{n}"),
            ArgValue::LeaderOf(tp) => write!(f, "leader of {tp}"),
            ArgValue::Checker(c) => write!(f, "{}", c.name()),
        }
    }
}

fn fmt_call(f: &mut fmt::Formatter<'_>, func: Func, args: &[Arg]) -> fmt::Result {
    write!(f, "{}(", func.name())?;
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            write!(f, ", ")?;
        }
        write!(f, "{a}")?;
    }
    write!(f, ")")
}

impl fmt::Display for Num {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Num::Int(n) => write!(f, "{n}"),
            Num::Count(c) => write!(f, "{}", c.name()),
            Num::Call(func, args) => fmt_call(f, *func, args),
        }
    }
}

impl Expr {
    /// Binding strength, for parentheses: `or` < `and` < everything else.
    fn precedence(&self) -> u8 {
        match self {
            Expr::Or(_) => 0,
            Expr::And(_) => 1,
            _ => 2,
        }
    }

    fn fmt_operand(&self, f: &mut fmt::Formatter<'_>, min: u8) -> fmt::Result {
        if self.precedence() < min {
            write!(f, "({self})")
        } else {
            write!(f, "{self}")
        }
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Or(xs) | Expr::And(xs) => {
                let (word, min) = match self {
                    Expr::Or(_) => (" or ", 1),
                    _ => (" and ", 2),
                };
                for (i, x) in xs.iter().enumerate() {
                    if i > 0 {
                        write!(f, "{word}")?;
                    }
                    x.fmt_operand(f, min)?;
                }
                Ok(())
            }
            Expr::Not(x) => {
                write!(f, "not ")?;
                x.fmt_operand(f, 2)
            }
            Expr::Compare(a, op, b) => write!(f, "{a} {} {b}", op.symbol()),
            Expr::Call(func, args) => fmt_call(f, *func, args),
        }
    }
}
