//! The shipped course, played as learners would.
//!
//! `every_lesson_agrees_with_the_simulation` is `kafkascope lessons check`: every claim a
//! lesson makes holds in its simulation, every task fails before its solution and passes
//! after. The scripted learner then plays each lesson through the terminal player, as a
//! person at the prompt would: answers every prediction (right on some steps and wrong on
//! others, to see both explanations), tries each task's `check` before doing anything, types
//! the reference solution, checks again, and goes on to the end. Key steps' transcripts are
//! insta snapshots.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use kafkascope_lessons::check::check_lesson;
use kafkascope_lessons::progress::Store;
use kafkascope_lessons::terminal::{Style, Terminal};
use kafkascope_lessons::{Course, Lesson};

fn course() -> Course {
    Course::shipped().unwrap_or_else(|e| panic!("the shipped course does not load:\n{e}"))
}

/// Runs `f` over the lessons on every core, results in course order.
fn each_lesson<T: Send>(lessons: &[Lesson], f: impl Fn(&Lesson) -> T + Sync) -> Vec<T> {
    let next = AtomicUsize::new(0);
    let out = Mutex::new(Vec::new());
    let jobs = std::thread::available_parallelism().map_or(2, |n| n.get());
    std::thread::scope(|s| {
        for _ in 0..jobs {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(l) = lessons.get(i) else { break };
                let r = f(l);
                out.lock().unwrap().push((i, r));
            });
        }
    });
    let mut out = out.into_inner().unwrap();
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, r)| r).collect()
}

#[test]
fn the_course_has_the_thirteen_lessons_of_the_curriculum() {
    let c = course();
    let ids: Vec<&str> = c.lessons.iter().map(|l| l.id.as_str()).collect();
    assert_eq!(ids.len(), 13, "{ids:?}");
    for (i, l) in c.lessons.iter().enumerate() {
        assert_eq!(l.number as usize, i + 1, "{}", l.file);
        let (predictions, tasks, claims) = l.counts();
        assert!(predictions >= 2, "{}: {predictions} predictions", l.id);
        assert!(
            tasks >= 1 && l.steps.last().unwrap().task.is_some(),
            "{}",
            l.id
        );
        assert!(claims >= l.steps.len(), "{}: {claims} claims", l.id);
    }
}

#[test]
fn every_lesson_agrees_with_the_simulation() {
    let c = course();
    let findings: Vec<String> = each_lesson(&c.lessons, check_lesson)
        .into_iter()
        .flatten()
        .map(|f| f.to_string())
        .collect();
    assert!(findings.is_empty(), "{}", findings.join("\n"));
}

/// What a learner types to go through `lesson`: the right answer on odd-numbered steps and
/// the first wrong one on even-numbered ones; `check`, the solution and `check` again on tasks.
fn script(lesson: &Lesson) -> String {
    let mut s = String::new();
    for (i, step) in lesson.steps.iter().enumerate() {
        if let Some(p) = &step.predict {
            let choice = if i % 2 == 0 {
                p.answer
            } else {
                (0..p.choices.len()).find(|&c| c != p.answer).unwrap()
            };
            s += &format!("{}\n", choice + 1);
        }
        if let Some(t) = &step.task {
            s += "check\nhint\n";
            for l in &t.solution {
                s += &format!("{l}\n");
            }
            s += "check\n";
        }
        if step.until.is_some() && step.predict.is_none() && step.task.is_none() {
            s += "\n";
        }
        s += "\n";
    }
    s
}

fn play(course: &Course, lesson: &Lesson, store: Option<Store>) -> String {
    let input = script(lesson);
    let mut out = Vec::new();
    let style = Style {
        width: 80,
        color: false,
        echo: true,
    };
    let mut t = Terminal::new(course, input.as_bytes(), &mut out, style, store);
    t.run(Some(&lesson.id)).unwrap();
    String::from_utf8(out).unwrap()
}

/// The transcript from step `n`'s heading (1-based) to the next one.
fn step_transcript(transcript: &str, n: usize, total: usize) -> String {
    let start = transcript
        .find(&format!(" · step {n}/{total}: "))
        .and_then(|i| transcript[..i].rfind("\n──"))
        .expect("step heading");
    let end = transcript[start + 1..]
        .find("\n──")
        .map_or(transcript.len(), |i| start + 1 + i);
    transcript[start..end].trim().to_string()
}

#[test]
fn a_scripted_learner_finishes_every_lesson() {
    let c = course();
    let dir = tempfile::tempdir().unwrap();
    let results = each_lesson(&c.lessons, |l| {
        let store = Store::in_dir(&dir.path().join(&l.id));
        play(&c, l, Some(store))
    });
    for (transcript, l) in results.iter().zip(&c.lessons) {
        let (_, tasks, _) = l.counts();
        let says = |s: &str| transcript.matches(s).count();
        assert_eq!(
            says("\n  Not yet (checked at"),
            tasks,
            "{}:\n{transcript}",
            l.id
        );
        assert_eq!(
            says("\n  Done: checked at"),
            tasks,
            "{}:\n{transcript}",
            l.id
        );
        for wrong in [
            "Unknown input",
            "First, your prediction",
            "does not work",
            "not done yet",
        ] {
            assert_eq!(says(wrong), 0, "{}: `{wrong}` in\n{transcript}", l.id);
        }
        assert!(
            transcript.contains(&format!("Tasks done: {tasks} of {tasks}")),
            "{}:\n{transcript}",
            l.id
        );
        // The progress file says the lesson is finished.
        let (p, _) = Store::in_dir(&dir.path().join(&l.id)).load();
        assert!(p.lessons[&l.id].finished, "{}", l.id);
    }
    // The final challenge of every lesson, as the learner saw it.
    for (transcript, l) in results.iter().zip(&c.lessons) {
        let n = l.steps.len();
        insta::assert_snapshot!(
            format!("{:02}-{}-final-challenge", l.number, l.id),
            step_transcript(transcript, n, n)
        );
    }
    // The first lesson whole: what a newcomer reads first.
    insta::assert_snapshot!("01-first-lesson-transcript", results[0]);
}

#[test]
fn progress_resumes_where_the_learner_left_off() {
    let c = course();
    let l = &c.lessons[0];
    let dir = tempfile::tempdir().unwrap();
    let store = || Some(Store::in_dir(dir.path()));
    // Two steps in, then the input ends (the terminal closed).
    let mut out = Vec::new();
    let style = Style {
        echo: true,
        ..Style::default()
    };
    let first = l.steps[0]
        .predict
        .as_ref()
        .map(|p| format!("{}\n", p.answer + 1));
    let input = format!("{}\n", first.unwrap_or_default());
    Terminal::new(&c, input.as_bytes(), &mut out, style, store())
        .run(Some(&l.id))
        .unwrap();
    let (p, _) = Store::in_dir(dir.path()).load();
    assert_eq!(p.lessons[&l.id].step, 1);
    let mut out = Vec::new();
    Terminal::new(&c, "q\n".as_bytes(), &mut out, style, store())
        .run(Some(&l.id))
        .unwrap();
    let out = String::from_utf8(out).unwrap();
    assert!(out.contains("(resuming at step 2)"), "{out}");
    assert!(out.contains(" · step 2/"), "{out}");
}

#[test]
fn a_broken_lesson_gets_every_problem_with_its_line() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/broken");
    let e = Course::load_dir(&dir).unwrap_err().to_string();
    let e = e.replace(&dir.display().to_string(), "fixtures/broken");
    insta::assert_snapshot!(e);
}
