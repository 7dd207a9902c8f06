//! `kafkascope learn`: the lessons as text, for SSH sessions, screen readers and tests.
//!
//! The same [`Player`] as the app drives it: a step's Markdown, the cluster view at the
//! step's moment ([`view`]), a prediction answered at the prompt before the simulation runs
//! on, a task done by typing the commands the app's buttons produce. Input and output are any
//! reader and writer, so a test is a scripted learner whose transcript is a snapshot.

pub mod markdown;
pub mod view;

use std::io::{BufRead, Write};

use kafkascope_sim::report::narrated;
use kafkascope_sim::trace::fmt_time;

use crate::command_line::{actions, Input};
use crate::course::Course;
use crate::lesson::Lesson;
use crate::player::{Outcome, Player};
use crate::progress::{status, Progress, Store};

/// How the terminal player writes.
#[derive(Clone, Copy, Debug)]
pub struct Style {
    pub width: usize,
    pub color: bool,
    /// Write each input line after its prompt, as a terminal would show it: for input that
    /// is not a terminal (a script, a test), so the transcript reads like a session.
    pub echo: bool,
}

impl Default for Style {
    fn default() -> Self {
        Style {
            width: 80,
            color: false,
            echo: false,
        }
    }
}

const HELP: &str = "\
  Enter, next, n   go on (play the step on, or the next step)
  back, b          the previous step          goto N   step N
  view             the cluster now            events   what happened in this step
  hint             a hint for the task        check    is the task done?
  reset            undo your commands in this step
  lessons          the list of lessons        quit, q  stop (progress is saved)
  1, 2, 3 …        answer a prediction
  a command        crash leader of orders-0, restart broker-2, run 2s … (help commands)";

const HELP_COMMANDS: &str = "\
  Commands act at your current time in the step; `run 2s` moves it on. They are a scenario's
  [[faults]] entries on one line: the action, the target, then key=value settings.
    crash leader of orders-0            crash broker-2 kind=power-loss
    crash consumer-billing-1 when=mid-batch
    shutdown broker-2   restart broker-2   pause broker-3   resume broker-3
    isolate broker-1    heal               partition from=broker-1 to=controller one_way=true
    link from=producer-a to=broker-1 latency=200ms loss=0.1
    producer producer-a acks=all enable.idempotence=true rate=50
    create-topic clicks partitions=3    add-partitions orders partitions=6
    run 2s";

/// What the loop does after a line.
enum Flow {
    Stay,
    Show,
    Quit,
    Lessons,
}

pub struct Terminal<'a, R: BufRead, W: Write> {
    pub course: &'a Course,
    pub input: R,
    pub out: W,
    pub style: Style,
    pub store: Option<Store>,
    pub progress: Progress,
}

impl<'a, R: BufRead, W: Write> Terminal<'a, R, W> {
    pub fn new(course: &'a Course, input: R, out: W, style: Style, store: Option<Store>) -> Self {
        let progress = store
            .as_ref()
            .map(|s| {
                let (p, note) = s.load();
                if let Some(n) = note {
                    eprintln!("note: {n}");
                }
                p
            })
            .unwrap_or_default();
        Terminal {
            course,
            input,
            out,
            style,
            store,
            progress,
        }
    }

    fn line(&mut self) -> std::io::Result<Option<String>> {
        let mut s = String::new();
        if self.input.read_line(&mut s)? == 0 {
            return Ok(None);
        }
        let s = s.trim().to_string();
        if self.style.echo {
            writeln!(self.out, "{s}")?;
        }
        Ok(Some(s))
    }

    fn md(&mut self, text: &str) -> std::io::Result<()> {
        let r = markdown::render(text, self.style.width, "  ", self.style.color);
        write!(self.out, "{r}")
    }

    fn rule(&mut self, title: &str) -> std::io::Result<()> {
        let fill = self.style.width.saturating_sub(title.chars().count() + 4);
        writeln!(self.out, "\n── {title} {}", "─".repeat(fill))
    }

    /// The list of lessons with where the learner is in each.
    pub fn list(&mut self) -> std::io::Result<()> {
        writeln!(self.out, "Lessons ({}):", self.course.origin)?;
        for l in &self.course.lessons {
            let st = status(l, self.progress.lessons.get(&l.id));
            let minutes = l.minutes.map(|m| format!(" · {m} min")).unwrap_or_default();
            writeln!(
                self.out,
                "  {:>2}. {:<28} {:<11} {}{minutes}",
                l.number, l.id, st, l.title
            )?;
        }
        Ok(())
    }

    /// The first lesson not finished.
    fn next_lesson(&self) -> Option<&'a Lesson> {
        self.course
            .lessons
            .iter()
            .find(|l| !self.progress.lessons.get(&l.id).is_some_and(|p| p.finished))
    }

    /// Runs the player: on `lesson` (an id or number) or, without one, asks which.
    pub fn run(&mut self, lesson: Option<&str>) -> std::io::Result<()> {
        let mut chosen = match lesson {
            Some(key) => match self.course.find(key) {
                Some(l) => Some(l),
                None => {
                    let hint = self
                        .course
                        .suggest(key)
                        .map(|s| format!(": did you mean `{s}`?"))
                        .unwrap_or_default();
                    writeln!(self.out, "There is no lesson `{key}`{hint}")?;
                    self.list()?;
                    return Ok(());
                }
            },
            None => None,
        };
        loop {
            let lesson = match chosen.take() {
                Some(l) => l,
                None => {
                    self.list()?;
                    let next = self.next_lesson();
                    match next {
                        Some(n) => write!(
                            self.out,
                            "Which lesson? (number or name; Enter for {}. {}, q to quit) ",
                            n.number, n.id
                        )?,
                        None => write!(self.out, "Which lesson? (number or name, q to quit) ")?,
                    }
                    self.out.flush()?;
                    let Some(answer) = self.line()? else {
                        return Ok(());
                    };
                    match answer.as_str() {
                        "q" | "quit" => return Ok(()),
                        "" => match next {
                            Some(n) => n,
                            None => continue,
                        },
                        key => match self.course.find(key) {
                            Some(l) => l,
                            None => {
                                writeln!(self.out, "There is no lesson `{key}`.")?;
                                continue;
                            }
                        },
                    }
                }
            };
            match self.play(lesson)? {
                Flow::Lessons => continue,
                _ => return Ok(()),
            }
        }
    }

    fn save(&mut self, p: &Player) {
        let lp = p.progress();
        self.progress
            .lessons
            .insert(p.lesson.id.clone(), lp.clone());
        if let Some(store) = &self.store {
            if let Err(e) = store.save_lesson(&p.lesson.id, lp) {
                eprintln!(
                    "warning: progress not saved to {}: {e}",
                    store.path.display()
                );
            }
        }
    }

    fn play(&mut self, lesson: &Lesson) -> std::io::Result<Flow> {
        let mut p = match self.progress.lessons.get(&lesson.id) {
            Some(lp) if !lp.finished => {
                let p = Player::resume(lesson.clone(), lp);
                if p.step > 0 {
                    writeln!(self.out, "(resuming at step {})", p.step + 1)?;
                }
                p
            }
            _ => Player::new(lesson.clone()),
        };
        let (predictions, tasks, _) = lesson.counts();
        writeln!(
            self.out,
            "\nLesson {}: {}\n  {}\n  {} steps, {} predictions, {} tasks. Type `help` at any prompt.",
            lesson.number,
            lesson.title,
            lesson.summary,
            lesson.steps.len(),
            predictions,
            tasks
        )?;
        self.show(&p)?;
        loop {
            self.prompt(&p)?;
            let Some(line) = self.line()? else {
                self.save(&p);
                writeln!(self.out)?;
                return Ok(Flow::Quit);
            };
            let flow = self.handle(&mut p, &line)?;
            self.save(&p);
            match flow {
                Flow::Stay => {}
                Flow::Show => self.show(&p)?,
                Flow::Quit => return Ok(Flow::Quit),
                Flow::Lessons => return Ok(Flow::Lessons),
            }
        }
    }

    fn prompt(&mut self, p: &Player) -> std::io::Result<()> {
        let step = p.current();
        let s = p.state();
        let text = if step.predict.is_some() && s.answer.is_none() {
            let n = step.predict.as_ref().map_or(0, |x| x.choices.len());
            format!("Your prediction (1-{n}) > ")
        } else if step.task.is_some() && !s.done {
            format!("[{}] task > ", fmt_time(p.now()))
        } else if step.until.is_some() && !(s.played || s.done || s.answer.is_some()) {
            "Enter to play on > ".to_string()
        } else if p.is_last() {
            "Enter to finish > ".to_string()
        } else {
            "Enter for the next step > ".to_string()
        };
        write!(self.out, "{text}")?;
        self.out.flush()
    }

    /// The current step: its text, the view at its moment, and what it asks.
    fn show(&mut self, p: &Player) -> std::io::Result<()> {
        let step = p.current().clone();
        let n = p.lesson.steps.len();
        self.rule(&format!(
            "{} · step {}/{n}: {}",
            p.lesson.title,
            p.step + 1,
            step.title
        ))?;
        self.md(&step.text)?;
        let s = p.state().clone();
        let before = step.until.is_some()
            && !(s.played || s.done || s.answer.is_some() && step.task.is_none());
        if before || step.until.is_none() {
            let o = p.view();
            self.view(&o, &step.highlight)?;
        }
        if let Some(pr) = &step.predict {
            writeln!(self.out, "\n  Predict: {}", pr.question)?;
            for (i, c) in pr.choices.iter().enumerate() {
                writeln!(self.out, "    {}. {c}", i + 1)?;
            }
            if let Some(a) = s.answer {
                writeln!(self.out, "  (you answered {})", a + 1)?;
            }
        }
        if let Some(t) = &step.task {
            writeln!(self.out, "\n  Task: {}", t.goal)?;
            if s.done {
                writeln!(self.out, "  (done)")?;
            } else {
                writeln!(
                    self.out,
                    "  You are at {}; the task is checked at {}. Type commands, `hint`, or `check`.",
                    fmt_time(p.now()),
                    fmt_time(step.end())
                )?;
            }
        }
        if !before && step.until.is_some() {
            self.played_on(p)?;
        }
        Ok(())
    }

    fn view(&mut self, o: &Outcome, highlight: &[String]) -> std::io::Result<()> {
        writeln!(self.out)?;
        for l in view::render(o, highlight).lines() {
            writeln!(self.out, "  {l}")?;
        }
        Ok(())
    }

    /// After the prediction, the task or Enter: the simulation at `until` and the step's
    /// `after` text.
    fn played_on(&mut self, p: &Player) -> std::io::Result<()> {
        let step = p.current().clone();
        let o = p.view();
        writeln!(
            self.out,
            "\n  … the simulation runs on to {}:",
            fmt_time(o.at)
        )?;
        self.events(&o, step.at, o.at, 12)?;
        self.view(&o, &step.highlight)?;
        if let Some(after) = &step.after {
            writeln!(self.out)?;
            self.md(after)?;
        }
        Ok(())
    }

    /// The narrated events in `(from, to]`, the last `max` of them.
    fn events(&mut self, o: &Outcome, from: u64, to: u64, max: usize) -> std::io::Result<()> {
        let names = &o.trace.names;
        let lines: Vec<String> = o
            .trace
            .entries
            .iter()
            .filter(|e| e.at > from && e.at <= to && narrated(&e.event, false))
            .map(|e| e.line(names))
            .collect();
        let skip = lines.len().saturating_sub(max);
        if skip > 0 {
            writeln!(
                self.out,
                "    ({skip} earlier events; `events` shows them all)"
            )?;
        }
        for l in &lines[skip..] {
            writeln!(self.out, "  {l}")?;
        }
        Ok(())
    }

    fn handle(&mut self, p: &mut Player, line: &str) -> std::io::Result<Flow> {
        let step = p.current().clone();
        let s = p.state().clone();
        let lower = line.to_ascii_lowercase();
        let word = lower.split_whitespace().next().unwrap_or("");
        match word {
            "" | "n" | "next" => {
                if step.predict.is_some() && s.answer.is_none() {
                    writeln!(
                        self.out,
                        "  First, your prediction: a number from the list."
                    )?;
                    return Ok(Flow::Stay);
                }
                if step.until.is_some()
                    && !(s.played || s.done || s.answer.is_some())
                    && word.is_empty()
                {
                    p.play_on();
                    self.played_on(p)?;
                    return Ok(Flow::Stay);
                }
                if step.task.is_some() && !s.done && word.is_empty() {
                    writeln!(self.out, "  The task is not done yet: type commands and `check` (or `next` to skip it, `hint` for help).")?;
                    return Ok(Flow::Stay);
                }
                if p.next_step() {
                    Ok(Flow::Show)
                } else {
                    self.finish(p)
                }
            }
            "b" | "back" => {
                if !p.previous_step() {
                    writeln!(self.out, "  This is the first step.")?;
                    return Ok(Flow::Stay);
                }
                Ok(Flow::Show)
            }
            "goto" => {
                let n: Option<usize> = lower.split_whitespace().nth(1).and_then(|x| x.parse().ok());
                match n {
                    Some(n) if n >= 1 && p.go(n - 1) => Ok(Flow::Show),
                    _ => {
                        writeln!(
                            self.out,
                            "  goto N, with N from 1 to {}",
                            p.lesson.steps.len()
                        )?;
                        Ok(Flow::Stay)
                    }
                }
            }
            "view" => {
                let o = p.view();
                self.view(&o, &step.highlight)?;
                Ok(Flow::Stay)
            }
            "events" => {
                let o = p.view();
                let from = if step.chain_start == p.step {
                    0
                } else {
                    step.at
                };
                writeln!(
                    self.out,
                    "  Events from {} to {}:",
                    fmt_time(from),
                    fmt_time(o.at)
                )?;
                self.events(&o, from, o.at, usize::MAX)?;
                Ok(Flow::Stay)
            }
            "help" | "h" | "?" => {
                if lower.contains("command") {
                    writeln!(self.out, "{HELP_COMMANDS}")?;
                } else {
                    writeln!(self.out, "{HELP}")?;
                }
                Ok(Flow::Stay)
            }
            "q" | "quit" | "exit" => {
                writeln!(
                    self.out,
                    "  Progress saved. `kafkascope learn {}` resumes here.",
                    p.lesson.id
                )?;
                Ok(Flow::Quit)
            }
            "lessons" => Ok(Flow::Lessons),
            "hint" => {
                match (&step.task, p.hint()) {
                    (None, _) => writeln!(self.out, "  This step has no task.")?,
                    (Some(_), Some(h)) => writeln!(self.out, "  Hint: {h}")?,
                    (Some(t), None) if t.hints.is_empty() => {
                        writeln!(self.out, "  This task has no hints.")?
                    }
                    (Some(_), None) => writeln!(
                        self.out,
                        "  No more hints. `solution` shows the reference solution."
                    )?,
                }
                Ok(Flow::Stay)
            }
            "solution" => {
                match &step.task {
                    Some(t) => {
                        writeln!(self.out, "  The reference solution:")?;
                        for l in &t.solution {
                            writeln!(self.out, "    {l}")?;
                        }
                    }
                    None => writeln!(self.out, "  This step has no task.")?,
                }
                Ok(Flow::Stay)
            }
            "reset" => {
                p.reset();
                writeln!(
                    self.out,
                    "  Your commands in this step are undone; you are back at {}.",
                    fmt_time(p.now())
                )?;
                Ok(Flow::Stay)
            }
            "check" => self.check(p),
            _ if step.predict.is_some() && s.answer.is_none() => {
                let n = step.predict.as_ref().map_or(0, |x| x.choices.len());
                match line.parse::<usize>() {
                    Ok(k) if (1..=n).contains(&k) => {
                        let a = p.answer(k - 1).expect("checked range");
                        if a.correct {
                            writeln!(self.out, "\n  Right.")?;
                            self.md(&a.why[0])?;
                        } else {
                            writeln!(self.out, "\n  Not quite.")?;
                            self.md(&a.why[0])?;
                            let right = step.predict.as_ref().map_or(0, |x| x.answer) + 1;
                            writeln!(self.out, "\n  The answer is {right}:")?;
                            self.md(&a.why[1])?;
                        }
                        if step.until.is_some() && step.task.is_none() {
                            self.played_on(p)?;
                        }
                        Ok(Flow::Stay)
                    }
                    _ => {
                        writeln!(
                            self.out,
                            "  Answer with a number from 1 to {n} (or `help`)."
                        )?;
                        Ok(Flow::Stay)
                    }
                }
            }
            _ => {
                if step.task.is_none() {
                    if actions().any(|a| a == word) {
                        writeln!(
                            self.out,
                            "  This step has no task; commands are for steps with one."
                        )?;
                    } else {
                        writeln!(self.out, "  Unknown input `{line}`. Type `help`.")?;
                    }
                    return Ok(Flow::Stay);
                }
                match p.input(line) {
                    Ok(Input::Run(_)) => {
                        let o = p.view();
                        writeln!(self.out, "  Now at {}.", fmt_time(o.at))?;
                        self.events(&o, s.now.unwrap_or(step.at), o.at, 12)?;
                        self.view(&o, &step.highlight)?;
                    }
                    Ok(Input::Command(c)) => {
                        let names = step.sim.scenario.names();
                        writeln!(
                            self.out,
                            "  At {}: {}. (`run 1s` to see what follows, `check` when ready)",
                            fmt_time(c.at),
                            kafkascope_sim::host::describe(&c.command, &names)
                        )?;
                    }
                    Err(e) => {
                        for l in e.lines() {
                            writeln!(self.out, "  {l}")?;
                        }
                    }
                }
                Ok(Flow::Stay)
            }
        }
    }

    fn check(&mut self, p: &mut Player) -> std::io::Result<Flow> {
        let Some((verdict, _)) = p.check_task() else {
            writeln!(self.out, "  This step has no task to check.")?;
            return Ok(Flow::Stay);
        };
        let end = p.current().end();
        if verdict.holds {
            writeln!(self.out, "\n  Done: checked at {}.", fmt_time(end))?;
            for l in &verdict.explanation {
                writeln!(self.out, "    {l}")?;
            }
            self.played_on(p)?;
        } else {
            writeln!(self.out, "\n  Not yet (checked at {}):", fmt_time(end))?;
            for l in &verdict.explanation {
                writeln!(self.out, "    {l}")?;
            }
            writeln!(
                self.out,
                "  `hint` for a hint, `reset` to start the step over."
            )?;
        }
        Ok(Flow::Stay)
    }

    fn finish(&mut self, p: &Player) -> std::io::Result<Flow> {
        let l = &p.lesson;
        let sc = p.score();
        self.rule(&format!("End of lesson {}: {}", l.number, l.title))?;
        writeln!(
            self.out,
            "  Predictions right the first time: {} of {}. Tasks done: {} of {}.",
            sc.right, sc.predictions, sc.done, sc.tasks
        )?;
        let next = self.course.lessons.iter().find(|x| x.number > l.number);
        match next {
            Some(n) => writeln!(
                self.out,
                "  Next: `kafkascope learn {}` ({}).",
                n.id, n.title
            )?,
            None => writeln!(self.out, "  That was the last lesson of the course.")?,
        }
        Ok(Flow::Quit)
    }
}
