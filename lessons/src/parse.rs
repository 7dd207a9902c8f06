//! Reading lesson files.
//!
//! Like scenario files, lesson files are walked over toml's span-preserving tree so that every
//! problem names its line, and every problem of a file is reported at once: a teacher fixing a
//! lesson should not have to run the checker once per typo. Both kinds of file are read with
//! the simulator's [`kafkascope_sim::located`] reader, so their problems read the same way
//! (`file:line:col: message`) and the same mistake (a misspelt key, a string for a number) gets
//! the same words.

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::Arc;

use kafkascope_sim::command::Command;
use kafkascope_sim::ids::{Millis, TopicPartition};
use kafkascope_sim::located::{Reader, Section, Val};
use kafkascope_sim::scenario::{self, Scenario, ScenarioError};
use std::ops::{Deref, DerefMut};
use toml::de::{DeTable, DeValue};

use crate::command_line::run_script;
use crate::condition::Condition;
use crate::lesson::{Lesson, Prediction, SimRef, Step, Task};

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
    let mut p = Parser(Reader::new(text));
    let lesson = p.document(file, resolve);
    p.0.finish(file)?;
    // A lesson is only missing when something was reported.
    lesson.ok_or_else(|| ScenarioError {
        file: file.to_string(),
        text: text.to_string(),
        problems: Vec::new(),
    })
}

/// The lesson reader: a [`Reader`] of the file, with the lesson format's readers as methods.
struct Parser<'t>(Reader<'t>);

impl<'t> Deref for Parser<'t> {
    type Target = Reader<'t>;
    fn deref(&self) -> &Reader<'t> {
        &self.0
    }
}

impl DerefMut for Parser<'_> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl Parser<'_> {
    fn document(&mut self, file: &str, resolve: Resolve<'_>) -> Option<Lesson> {
        let name = file.rsplit(['/', '\\']).next().unwrap_or(file);
        let (number, id) = match id_of(name) {
            Some(x) => x,
            None => {
                self.push(
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
                self.push(span, format!("invalid TOML: {}", e.message()), None);
                return None;
            }
        };
        let mut top = Section::new(self, root.get_ref(), 0..0, &["lesson"]);
        let header = top.take("lesson").map(|e| e.value);
        let steps = top.take("steps").map(|e| e.value);
        top.finish(self, "a lesson file", &["lesson", "steps"], false);

        let (mut title, mut summary, mut minutes) = (String::new(), String::new(), None);
        match header {
            None => self.push(
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
                        .map(|e| e.value)
                        .and_then(|v| self.int("minutes", v, 1, 240))
                        .map(|m| m as u32);
                    t.finish(self, "[lesson]", LESSON_KEYS, false);
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
                        self.push(
                            item.span(),
                            "the last step has no task".into(),
                            Some("every lesson ends with a final challenge: give its last step a [steps.task]".into()),
                        );
                    }
                }
            }
            Some((span, _)) => self.push(
                span,
                "`steps` must be a list of [[steps]] tables".into(),
                None,
            ),
            None => self.push(
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
        let scenario = t.take("scenario").map(|e| e.value);
        let seed = t.take("seed").map(|e| e.value);
        let new_chain = match (scenario, &chain) {
            (Some(v), _) => {
                let name = self.owned_string(v, "scenario")?;
                let sim = self.scenario(v, &name, seed, resolve)?;
                Some((Arc::new(sim), index, 0))
            }
            (None, Some(_)) => {
                if let Some(v) = seed {
                    self.push(
                        v.span(),
                        "`seed` only goes with `scenario`".into(),
                        Some("a step without `scenario` continues the previous step's simulation, seed included".into()),
                    );
                }
                None
            }
            (None, None) => {
                self.push(
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
        let at = match t.take("at").map(|e| e.value) {
            Some(v) => self.time(v, "at", duration)?,
            None => previous_end,
        };
        let until = match t.take("until").map(|e| e.value) {
            Some(v) => self.time(v, "until", duration).inspect(|&u| {
                if u <= at {
                    self.push(
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
                self.push(
                    v.span(),
                    format!(
                        "this step continues the previous one, which ended at {}; it cannot go back in time",
                        fmt(previous_end)
                    ),
                    Some("start a new simulation with `scenario` to show an earlier moment".into()),
                );
            }
        }
        let highlight = match t.take("highlight").map(|e| e.value) {
            Some(v) => self.highlight(v, &sim.scenario),
            None => Vec::new(),
        };
        let shows = match t.take("shows").map(|e| e.value) {
            Some(v) => self.conditions(v, "shows", &sim.scenario),
            None => Vec::new(),
        };
        let after = match t.take("after").map(|e| e.value) {
            Some(v) => self.owned_string(v, "after"),
            None => None,
        };
        let predict = t
            .take("predict")
            .map(|e| e.value)
            .and_then(|v| self.prediction(v));
        let task = t
            .take("task")
            .map(|e| e.value)
            .and_then(|v| self.task(v, &sim, at, until.unwrap_or(duration)));
        t.finish(self, &what, STEP_KEYS, false);
        if after.is_some() && until.is_none() && task.is_none() {
            if let Some(v) = item.get_ref().as_table().and_then(|t| t.get("after")) {
                self.push(
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
            self.push(
                v.span(),
                format!("no scenario `{name}`"),
                Some("name a file of the lesson folder's scenarios/ (without .toml) or a shipped scenario (kafkascope scenarios)".into()),
            );
            return None;
        };
        let scenario = match scenario::parse(&file, &text) {
            Ok(s) => s,
            Err(e) => {
                self.push(
                    v.span(),
                    format!("scenario `{name}` has problems"),
                    Some(e.to_string()),
                );
                return None;
            }
        };
        let seed = match seed {
            Some(s) => self.int("seed", s, 0, i64::MAX)? as u64,
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
                self.push(
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
        let source = self.text;
        let inner = |r: Range<usize>| {
            let literal = &source[span.clone()];
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
                    self.push(at, e.message, e.help);
                }
                None
            }
            Err(e) => {
                let at = inner(e.span.clone());
                self.push(at, e.message, e.help);
                None
            }
        }
    }

    fn prediction(&mut self, v: &Val<'_>) -> Option<Prediction> {
        let mut t = self.table(v, "[steps.predict]")?;
        let question = self.required_string(&mut t, "question", "[steps.predict]");
        let choices_v = t.take("choices").map(|e| e.value);
        let answer_v = t.take("answer").map(|e| e.value);
        let why_v = t.take("why").map(|e| e.value);
        t.finish(self, "[steps.predict]", PREDICT_KEYS, false);
        let Some(cv) = choices_v else {
            self.push(
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
            self.push(
                cv.span(),
                format!("a prediction offers 2 to 5 choices, not {}", choices.len()),
                None,
            );
        }
        let answer = match answer_v {
            Some(a) => self
                .int("answer", a, 1, choices.len().max(1) as i64)
                .map(|n| n as usize - 1),
            None => {
                self.push(
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
                    self.push(
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
                self.push(
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
        let check = match t.take("check").map(|e| e.value) {
            Some(c) => {
                let text = self.owned_string(c, "check");
                text.and_then(|text| self.condition(c.span(), &text, &sim.scenario))
            }
            None => {
                self.push(
                    t_span(v),
                    "[steps.task] needs `check`: the condition that says the task is done".into(),
                    None,
                );
                None
            }
        };
        let solution: Vec<String> = match t.take("solution").map(|e| e.value) {
            Some(s) => {
                let lines = self.strings(s, "solution");
                let texts: Vec<String> = lines.iter().map(|x| x.1.clone()).collect();
                match run_script(&texts, sim, at) {
                    Ok((_, finish)) if finish > end => self.push(
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
                        self.push(span, format!("this command does not work: {e}"), None)
                    }
                }
                texts
            }
            None => {
                self.push(
                    t_span(v),
                    "[steps.task] needs `solution`: the commands that do it".into(),
                    Some("lessons check runs it to prove the task can be done".into()),
                );
                Vec::new()
            }
        };
        let hints = match t.take("hints").map(|e| e.value) {
            Some(h) => self.strings(h, "hints").into_iter().map(|x| x.1).collect(),
            None => Vec::new(),
        };
        t.finish(self, "[steps.task]", TASK_KEYS, false);
        Some(Task {
            goal,
            check: check?,
            solution,
            hints,
        })
    }

    /// A table of the lesson; `[steps.predict]` and `[steps.task]` are read as tables of
    /// their own, not as dotted keys of the step.
    fn table<'a, 'i>(&mut self, v: &'a Val<'i>, what: &str) -> Option<Section<'a, 'i>> {
        match v.get_ref() {
            DeValue::Table(t) => Some(Section::new(self, t, v.span(), &["predict", "task"])),
            _ => {
                self.push(v.span(), format!("{what} must be a table"), None);
                None
            }
        }
    }

    fn required_string(&mut self, t: &mut Section<'_, '_>, key: &str, what: &str) -> String {
        match t.take(key) {
            Some(e) => self.owned_string(e.value, key).unwrap_or_default(),
            None => {
                self.push(t.span.clone(), format!("{what} needs `{key}`"), None);
                String::new()
            }
        }
    }

    fn owned_string(&mut self, v: &Val<'_>, key: &str) -> Option<String> {
        self.nonempty_string(key, v).map(str::to_string)
    }

    /// A string or a list of strings, each with its span.
    fn strings(&mut self, v: &Val<'_>, key: &str) -> Vec<(Range<usize>, String)> {
        match v.get_ref() {
            DeValue::String(_) => self
                .owned_string(v, key)
                .map(|s| vec![(v.span(), s)])
                .unwrap_or_default(),
            DeValue::Array(items) => items
                .iter()
                .filter_map(|i| self.owned_string(i, key).map(|s| (i.span(), s)))
                .collect(),
            _ => {
                self.push(v.span(), format!("`{key}` must be a list of strings"), None);
                Vec::new()
            }
        }
    }

    fn time(&mut self, v: &Val<'_>, key: &str, duration: Millis) -> Option<Millis> {
        let ms = self.duration(key, v)?;
        if ms > duration {
            self.push(
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
