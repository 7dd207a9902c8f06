//! Reading lesson files.
//!
//! Like scenario files, lesson files are walked over toml's span-preserving tree so that every
//! problem names its line, and every problem of a file is reported at once: a teacher fixing a
//! lesson should not have to run the checker once per typo. Problems use the scenario parser's
//! [`ScenarioError`] so that both kinds of file read the same way (`file:line:col: message`).

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::Arc;

use kafkascope_sim::command::Command;
use kafkascope_sim::ids::{Millis, TopicPartition};
use kafkascope_sim::scenario::{self, parse_duration, Problem, Scenario, ScenarioError};
use toml::de::{DeTable, DeValue};
use toml::Spanned;

use crate::command_line::run_script;
use crate::condition::Condition;
use crate::lesson::{Lesson, Prediction, SimRef, Step, Task};

type Val<'i> = Spanned<DeValue<'i>>;

/// Finds a scenario a lesson names: `(file name for messages, text)`.
pub type Resolve<'r> = &'r dyn Fn(&str) -> Option<(String, String)>;

const LESSON_KEYS: &[&str] = &["title", "summary", "minutes"];
const STEP_KEYS: &[&str] = &[
    "title",
    "text",
    "scenario",
    "seed",
    "at",
    "until",
    "highlight",
    "shows",
    "after",
    "predict",
    "task",
];
const PREDICT_KEYS: &[&str] = &["question", "choices", "answer", "why"];
const TASK_KEYS: &[&str] = &["goal", "check", "solution", "hints"];

/// `01-the-log.toml` → `(1, "the-log")`.
pub fn id_of(file_name: &str) -> Option<(u32, String)> {
    let stem = file_name.strip_suffix(".toml")?;
    let (number, id) = stem.split_once('-')?;
    let n = number.parse().ok()?;
    (!id.is_empty()).then(|| (n, id.to_string()))
}

/// Parses one lesson file. `file` names it in problems (its file name must be `NN-id.toml`);
/// `resolve` finds the scenarios it names.
pub fn parse_lesson(file: &str, text: &str, resolve: Resolve<'_>) -> Result<Lesson, ScenarioError> {
    let mut p = Parser {
        text,
        problems: Vec::new(),
    };
    let lesson = p.document(file, resolve);
    match lesson {
        Some(l) if p.problems.is_empty() => Ok(l),
        _ => {
            let mut problems = p.problems;
            problems.sort_by_key(|p| p.span.start);
            problems.dedup();
            Err(ScenarioError {
                file: file.to_string(),
                text: text.to_string(),
                problems,
            })
        }
    }
}

struct Parser<'t> {
    text: &'t str,
    problems: Vec<Problem>,
}

/// A table being read: keys are taken as they are used, and whatever is left is unknown.
struct Table<'a, 'i> {
    span: Range<usize>,
    table: &'a DeTable<'i>,
    used: Vec<String>,
}

impl<'a, 'i> Table<'a, 'i> {
    fn new(table: &'a DeTable<'i>, span: Range<usize>) -> Self {
        Table {
            span,
            table,
            used: Vec::new(),
        }
    }

    fn take(&mut self, key: &str) -> Option<&'a Val<'i>> {
        self.used.push(key.to_string());
        self.table.get(key)
    }

    fn finish(self, p: &mut Parser<'_>, what: &str, allowed: &[&str]) {
        for (k, _) in self.table.iter() {
            let name = k.get_ref();
            if self.used.iter().any(|u| u == name.as_ref()) {
                continue;
            }
            let close = allowed
                .iter()
                .map(|a| (strsim::jaro_winkler(a, name), *a))
                .filter(|(s, _)| *s > 0.8)
                .max_by(|a, b| a.0.total_cmp(&b.0));
            let help = match close {
                Some((_, a)) => format!("did you mean `{a}`?"),
                None => format!("{what} takes: {}", allowed.join(", ")),
            };
            p.problem(
                k.span(),
                format!("unknown key `{name}` in {what}"),
                Some(help),
            );
        }
    }
}

impl Parser<'_> {
    fn problem(&mut self, span: Range<usize>, message: String, help: Option<String>) {
        self.problems.push(Problem {
            span,
            message,
            help,
        });
    }

    fn document(&mut self, file: &str, resolve: Resolve<'_>) -> Option<Lesson> {
        let name = file.rsplit(['/', '\\']).next().unwrap_or(file);
        let (number, id) = match id_of(name) {
            Some(x) => x,
            None => {
                self.problem(
                    0..0,
                    format!(
                        "the file name `{name}` does not say where the lesson goes in the course"
                    ),
                    Some("name lesson files NN-id.toml, such as 01-the-log.toml".into()),
                );
                (0, String::new())
            }
        };
        let root = match DeTable::parse(self.text) {
            Ok(r) => r,
            Err(e) => {
                let span = e.span().unwrap_or(0..0);
                self.problem(span, format!("invalid TOML: {}", e.message()), None);
                return None;
            }
        };
        let mut top = Table::new(root.get_ref(), 0..0);
        let header = top.take("lesson");
        let steps = top.take("steps");
        top.finish(self, "a lesson file", &["lesson", "steps"]);

        let (mut title, mut summary, mut minutes) = (String::new(), String::new(), None);
        match header {
            None => self.problem(
                0..0,
                "missing [lesson] table".into(),
                Some("start with [lesson] title = \"…\" summary = \"…\"".into()),
            ),
            Some(h) => {
                if let Some(mut t) = self.table(h, "[lesson]") {
                    title = self.required_string(&mut t, "title", "[lesson]");
                    summary = self.required_string(&mut t, "summary", "[lesson]");
                    minutes = t
                        .take("minutes")
                        .and_then(|v| self.int(v, "minutes", 1, 240))
                        .map(|m| m as u32);
                    t.finish(self, "[lesson]", LESSON_KEYS);
                }
            }
        }

        let mut out = Vec::new();
        match steps.map(|v| (v.span(), v.get_ref())) {
            Some((_, DeValue::Array(items))) if !items.is_empty() => {
                let mut chain: Option<(Arc<SimRef>, usize, Millis)> = None;
                for (i, item) in items.iter().enumerate() {
                    if let Some(step) = self.step(i, item, &mut chain, resolve) {
                        out.push(step);
                    }
                }
                if let (Some(last), Some(item)) = (out.last(), items.last()) {
                    if last.task.is_none() && out.len() == items.len() {
                        self.problem(
                            item.span(),
                            "the last step has no task".into(),
                            Some("every lesson ends with a final challenge: give its last step a [steps.task]".into()),
                        );
                    }
                }
            }
            Some((span, _)) => self.problem(
                span,
                "`steps` must be a list of [[steps]] tables".into(),
                None,
            ),
            None => self.problem(
                0..0,
                "the lesson has no steps".into(),
                Some("add [[steps]] tables with a title, a text and a scenario".into()),
            ),
        }
        if !self.problems.is_empty() {
            return None;
        }
        Some(Lesson {
            id,
            number,
            file: file.to_string(),
            title,
            summary,
            minutes,
            steps: out,
        })
    }

    fn step(
        &mut self,
        index: usize,
        item: &Val<'_>,
        chain: &mut Option<(Arc<SimRef>, usize, Millis)>,
        resolve: Resolve<'_>,
    ) -> Option<Step> {
        let what = format!("step {}", index + 1);
        let mut t = self.table(item, &what)?;
        let line = line_of(self.text, t.span.start);
        let title = self.required_string(&mut t, "title", &what);
        let text = self.required_string(&mut t, "text", &what);
        let scenario = t.take("scenario");
        let seed = t.take("seed");
        let new_chain = match (scenario, &chain) {
            (Some(v), _) => {
                let name = self.string(v, "scenario")?;
                let sim = self.scenario(v, &name, seed, resolve)?;
                Some((Arc::new(sim), index, 0))
            }
            (None, Some(_)) => {
                if let Some(v) = seed {
                    self.problem(
                        v.span(),
                        "`seed` only goes with `scenario`".into(),
                        Some("a step without `scenario` continues the previous step's simulation, seed included".into()),
                    );
                }
                None
            }
            (None, None) => {
                self.problem(
                    t.span.clone(),
                    format!("{what} has no scenario to show"),
                    Some(
                        "the first step names one: scenario = \"the-log\" (a file in the lesson folder's scenarios/) or a shipped one (kafkascope scenarios)"
                            .into(),
                    ),
                );
                return None;
            }
        };
        if let Some(c) = new_chain {
            *chain = Some(c);
        }
        let (sim, chain_start, previous_end) = chain.clone()?;
        let duration = sim.scenario.duration;
        let at = match t.take("at") {
            Some(v) => self.time(v, "at", duration)?,
            None => previous_end,
        };
        let until = match t.take("until") {
            Some(v) => self.time(v, "until", duration).inspect(|&u| {
                if u <= at {
                    self.problem(
                        v.span(),
                        format!("`until` must be later than the step's `at` ({})", fmt(at)),
                        None,
                    );
                }
            }),
            None => None,
        };
        if at < previous_end && index > chain_start {
            if let Some(v) = item.get_ref().as_table().and_then(|t| t.get("at")) {
                self.problem(
                    v.span(),
                    format!(
                        "this step continues the previous one, which ended at {}; it cannot go back in time",
                        fmt(previous_end)
                    ),
                    Some("start a new simulation with `scenario` to show an earlier moment".into()),
                );
            }
        }
        let highlight = match t.take("highlight") {
            Some(v) => self.highlight(v, &sim.scenario),
            None => Vec::new(),
        };
        let shows = match t.take("shows") {
            Some(v) => self.conditions(v, "shows", &sim.scenario),
            None => Vec::new(),
        };
        let after = match t.take("after") {
            Some(v) => self.string(v, "after"),
            None => None,
        };
        let predict = t.take("predict").and_then(|v| self.prediction(v));
        let task = t
            .take("task")
            .and_then(|v| self.task(v, &sim, at, until.unwrap_or(duration)));
        t.finish(self, &what, STEP_KEYS);
        if after.is_some() && until.is_none() && task.is_none() {
            if let Some(v) = item.get_ref().as_table().and_then(|t| t.get("after")) {
                self.problem(
                    v.span(),
                    "`after` is shown when the simulation reaches `until`, and this step has none"
                        .into(),
                    Some("add until = \"…\" (a time after `at`)".into()),
                );
            }
        }
        let step = Step {
            title,
            text,
            sim: sim.clone(),
            chain_start,
            at,
            until,
            highlight,
            shows,
            after,
            predict,
            task,
            line,
        };
        *chain = Some((sim, chain_start, step.end()));
        Some(step)
    }

    fn scenario(
        &mut self,
        v: &Val<'_>,
        name: &str,
        seed: Option<&Val<'_>>,
        resolve: Resolve<'_>,
    ) -> Option<SimRef> {
        let Some((file, text)) = resolve(name) else {
            self.problem(
                v.span(),
                format!("no scenario `{name}`"),
                Some("name a file of the lesson folder's scenarios/ (without .toml) or a shipped scenario (kafkascope scenarios)".into()),
            );
            return None;
        };
        let scenario = match scenario::parse(&file, &text) {
            Ok(s) => s,
            Err(e) => {
                self.problem(
                    v.span(),
                    format!("scenario `{name}` has problems"),
                    Some(e.to_string()),
                );
                return None;
            }
        };
        let seed = match seed {
            Some(s) => self.int(s, "seed", 0, i64::MAX)? as u64,
            None => scenario.seed,
        };
        Some(SimRef {
            name: name.to_string(),
            scenario,
            text,
            seed,
        })
    }

    fn highlight(&mut self, v: &Val<'_>, s: &Scenario) -> Vec<String> {
        let names = s.names();
        let brokers = s.broker_ids();
        let topics = topic_sizes(s);
        let mut out = Vec::new();
        for item in self.strings(v, "highlight") {
            let (span, name) = item;
            let known = names
                .parse(&name)
                .is_some_and(|n| n.broker().is_none_or(|b| brokers.contains(&b)))
                || TopicPartition::parse(&name).is_some_and(|tp| {
                    topics
                        .get(tp.topic.as_ref())
                        .is_some_and(|&n| tp.partition < n)
                });
            if known {
                out.push(name);
            } else {
                self.problem(
                    span,
                    format!("`{name}` is neither a node nor a partition of the scenario"),
                    Some("nodes: broker-1, controller, producer-a, consumer-billing-1; partitions: orders-0".into()),
                );
            }
        }
        out
    }

    fn conditions(&mut self, v: &Val<'_>, what: &str, s: &Scenario) -> Vec<Condition> {
        let mut out = Vec::new();
        for (span, text) in self.strings(v, what) {
            if let Some(c) = self.condition(span, &text, s) {
                out.push(c);
            }
        }
        out
    }

    fn condition(&mut self, span: Range<usize>, text: &str, s: &Scenario) -> Option<Condition> {
        // A problem inside the condition points into the string when the string is written
        // plainly (no escapes), which is how conditions are written.
        let inner = |r: Range<usize>| {
            let literal = &self.text[span.clone()];
            if literal.len() == text.len() + 2 && &literal[1..literal.len() - 1] == text {
                span.start + 1 + r.start..span.start + 1 + r.end.max(r.start)
            } else {
                span.clone()
            }
        };
        match Condition::parse(text) {
            Ok(c) => {
                let errors = c.check_names(s);
                if errors.is_empty() {
                    return Some(c);
                }
                for e in errors {
                    let at = inner(e.span.clone());
                    self.problem(at, e.message, e.help);
                }
                None
            }
            Err(e) => {
                let at = inner(e.span.clone());
                self.problem(at, e.message, e.help);
                None
            }
        }
    }

    fn prediction(&mut self, v: &Val<'_>) -> Option<Prediction> {
        let mut t = self.table(v, "[steps.predict]")?;
        let question = self.required_string(&mut t, "question", "[steps.predict]");
        let choices_v = t.take("choices");
        let answer_v = t.take("answer");
        let why_v = t.take("why");
        t.finish(self, "[steps.predict]", PREDICT_KEYS);
        let Some(cv) = choices_v else {
            self.problem(
                t_span(v),
                "[steps.predict] needs `choices`".into(),
                Some("choices = [\"…\", \"…\"]".into()),
            );
            return None;
        };
        let choices: Vec<String> = self
            .strings(cv, "choices")
            .into_iter()
            .map(|x| x.1)
            .collect();
        if !(2..=5).contains(&choices.len()) {
            self.problem(
                cv.span(),
                format!("a prediction offers 2 to 5 choices, not {}", choices.len()),
                None,
            );
        }
        let answer = match answer_v {
            Some(a) => self
                .int(a, "answer", 1, choices.len().max(1) as i64)
                .map(|n| n as usize - 1),
            None => {
                self.problem(
                    t_span(v),
                    "[steps.predict] needs `answer`".into(),
                    Some("answer = 2 (the right choice, counting from 1)".into()),
                );
                None
            }
        };
        let why: Vec<String> = match why_v {
            Some(w) => {
                let why: Vec<String> = self.strings(w, "why").into_iter().map(|x| x.1).collect();
                if why.len() != choices.len() {
                    self.problem(
                        w.span(),
                        format!(
                            "`why` explains each choice: {} choices, {} explanations",
                            choices.len(),
                            why.len()
                        ),
                        Some("learners who pick a wrong answer read its explanation".into()),
                    );
                }
                why
            }
            None => {
                self.problem(
                    t_span(v),
                    "[steps.predict] needs `why`: one explanation per choice".into(),
                    None,
                );
                Vec::new()
            }
        };
        Some(Prediction {
            question,
            choices,
            answer: answer?,
            why,
        })
    }

    fn task(&mut self, v: &Val<'_>, sim: &SimRef, at: Millis, end: Millis) -> Option<Task> {
        let mut t = self.table(v, "[steps.task]")?;
        let goal = self.required_string(&mut t, "goal", "[steps.task]");
        let check = match t.take("check") {
            Some(c) => {
                let text = self.string(c, "check");
                text.and_then(|text| self.condition(c.span(), &text, &sim.scenario))
            }
            None => {
                self.problem(
                    t_span(v),
                    "[steps.task] needs `check`: the condition that says the task is done".into(),
                    None,
                );
                None
            }
        };
        let solution: Vec<String> = match t.take("solution") {
            Some(s) => {
                let lines = self.strings(s, "solution");
                let texts: Vec<String> = lines.iter().map(|x| x.1.clone()).collect();
                match run_script(&texts, sim, at) {
                    Ok((_, finish)) if finish > end => self.problem(
                        s.span(),
                        format!(
                            "the solution runs to {}, after the task is checked at {}",
                            fmt(finish),
                            fmt(end)
                        ),
                        None,
                    ),
                    Ok(_) => {}
                    Err((i, e)) => {
                        let span = lines.get(i).map(|x| x.0.clone()).unwrap_or(s.span());
                        self.problem(span, format!("this command does not work: {e}"), None)
                    }
                }
                texts
            }
            None => {
                self.problem(
                    t_span(v),
                    "[steps.task] needs `solution`: the commands that do it".into(),
                    Some("lessons check runs it to prove the task can be done".into()),
                );
                Vec::new()
            }
        };
        let hints = match t.take("hints") {
            Some(h) => self.strings(h, "hints").into_iter().map(|x| x.1).collect(),
            None => Vec::new(),
        };
        t.finish(self, "[steps.task]", TASK_KEYS);
        Some(Task {
            goal,
            check: check?,
            solution,
            hints,
        })
    }

    fn table<'a, 'i>(&mut self, v: &'a Val<'i>, what: &str) -> Option<Table<'a, 'i>> {
        match v.get_ref() {
            DeValue::Table(t) => Some(Table::new(t, v.span())),
            _ => {
                self.problem(v.span(), format!("{what} must be a table"), None);
                None
            }
        }
    }

    fn required_string(&mut self, t: &mut Table<'_, '_>, key: &str, what: &str) -> String {
        match t.take(key) {
            Some(v) => self.string(v, key).unwrap_or_default(),
            None => {
                self.problem(t.span.clone(), format!("{what} needs `{key}`"), None);
                String::new()
            }
        }
    }

    fn string(&mut self, v: &Val<'_>, key: &str) -> Option<String> {
        match v.get_ref() {
            DeValue::String(s) if !s.trim().is_empty() => Some(s.to_string()),
            DeValue::String(_) => {
                self.problem(v.span(), format!("`{key}` is empty"), None);
                None
            }
            _ => {
                self.problem(v.span(), format!("`{key}` must be a string"), None);
                None
            }
        }
    }

    /// A string or a list of strings, each with its span.
    fn strings(&mut self, v: &Val<'_>, key: &str) -> Vec<(Range<usize>, String)> {
        match v.get_ref() {
            DeValue::String(_) => self
                .string(v, key)
                .map(|s| vec![(v.span(), s)])
                .unwrap_or_default(),
            DeValue::Array(items) => items
                .iter()
                .filter_map(|i| self.string(i, key).map(|s| (i.span(), s)))
                .collect(),
            _ => {
                self.problem(v.span(), format!("`{key}` must be a list of strings"), None);
                Vec::new()
            }
        }
    }

    fn int(&mut self, v: &Val<'_>, key: &str, min: i64, max: i64) -> Option<i64> {
        let n = match v.get_ref() {
            DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix()).ok(),
            _ => None,
        };
        match n {
            Some(n) if (min..=max).contains(&n) => Some(n),
            _ => {
                let range = if max == i64::MAX {
                    format!("at least {min}")
                } else {
                    format!("from {min} to {max}")
                };
                self.problem(
                    v.span(),
                    format!("`{key}` must be an integer {range}"),
                    None,
                );
                None
            }
        }
    }

    fn time(&mut self, v: &Val<'_>, key: &str, duration: Millis) -> Option<Millis> {
        let ms = match v.get_ref() {
            DeValue::String(s) => match parse_duration(s) {
                Ok(ms) => ms,
                Err(help) => {
                    self.problem(
                        v.span(),
                        format!("`{key}` must be a time such as \"500ms\", \"5s\" or \"1m\""),
                        help.map(str::to_string),
                    );
                    return None;
                }
            },
            DeValue::Integer(_) => self.int(v, key, 0, i64::MAX)? as Millis,
            _ => {
                self.problem(
                    v.span(),
                    format!("`{key}` must be a time such as \"5s\""),
                    None,
                );
                return None;
            }
        };
        if ms > duration {
            self.problem(
                v.span(),
                format!(
                    "{} is after the end of the scenario ({})",
                    fmt(ms),
                    fmt(duration)
                ),
                None,
            );
            return None;
        }
        Some(ms)
    }
}

fn t_span(v: &Val<'_>) -> Range<usize> {
    v.span()
}

/// Topic name to partition count, topics created and grown by admin faults included (at
/// their largest).
fn topic_sizes(s: &Scenario) -> BTreeMap<String, u32> {
    let mut out: BTreeMap<String, u32> = s
        .all_topics()
        .iter()
        .map(|t| (t.name.to_string(), t.partitions))
        .collect();
    for f in &s.faults {
        match &f.command {
            Command::CreateTopic {
                name, partitions, ..
            } => {
                out.insert(name.to_string(), *partitions);
            }
            Command::AddPartitions { topic, partitions } => {
                let n = out.entry(topic.to_string()).or_default();
                *n = (*n).max(*partitions);
            }
            _ => {}
        }
    }
    out
}

fn fmt(ms: Millis) -> String {
    kafkascope_sim::trace::fmt_time(ms)
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}
