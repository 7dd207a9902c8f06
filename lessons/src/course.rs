//! A course: the lessons of one folder, in order, with the scenarios they name resolved.
//!
//! The shipped course is compiled in (see `build.rs`) so `kafkascope learn` works on a fresh
//! machine without a checkout; a teacher's folder is read from disk with the same rules, so
//! what `lessons check DIR` accepts is what `learn --dir DIR` plays.

use std::path::Path;

use kafkascope_sim::scenario::ScenarioError;

use crate::lesson::Lesson;
use crate::parse::{id_of, parse_lesson};

mod shipped {
    include!(concat!(env!("OUT_DIR"), "/course.rs"));
}

/// The shipped lesson files, `(file name, text)`.
pub use shipped::LESSONS as SHIPPED_LESSONS;
/// Scenarios of the shipped course's own, `(name, text)`.
pub use shipped::SCENARIOS as SHIPPED_SCENARIOS;

#[derive(Clone, Debug)]
pub struct Course {
    /// Where it comes from: "the shipped course" or a folder's path.
    pub origin: String,
    pub lessons: Vec<Lesson>,
}

/// Why a course could not be loaded: each lesson file's problems, or a folder that cannot be
/// read.
#[derive(Debug)]
pub enum CourseError {
    Io(String),
    Lessons(Vec<ScenarioError>),
}

impl std::fmt::Display for CourseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CourseError::Io(e) => write!(f, "{e}"),
            CourseError::Lessons(errors) => {
                for (i, e) in errors.iter().enumerate() {
                    if i > 0 {
                        writeln!(f)?;
                    }
                    write!(f, "{e}")?;
                }
                Ok(())
            }
        }
    }
}

impl Course {
    /// The course built into the binary.
    pub fn shipped() -> Result<Course, CourseError> {
        let files: Vec<(String, String)> = SHIPPED_LESSONS
            .iter()
            .map(|(n, t)| (format!("lessons/course/{n}"), t.to_string()))
            .collect();
        let resolve = |name: &str| {
            SHIPPED_SCENARIOS
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(n, t)| (format!("lessons/course/scenarios/{n}.toml"), t.to_string()))
                .or_else(|| shipped_scenario(name))
        };
        Course::build("the shipped course", files, &resolve)
    }

    /// The lessons of a folder: its `NN-id.toml` files, and scenarios from its `scenarios/`
    /// subfolder or the shipped library.
    pub fn load_dir(dir: &Path) -> Result<Course, CourseError> {
        let entries = std::fs::read_dir(dir).map_err(|e| {
            CourseError::Io(format!(
                "cannot read the lesson folder {}: {e}",
                dir.display()
            ))
        })?;
        let mut files = Vec::new();
        for e in entries.filter_map(|e| e.ok()) {
            let name = e.file_name().to_string_lossy().into_owned();
            if !name.ends_with(".toml") || !e.path().is_file() {
                continue;
            }
            let text = std::fs::read_to_string(e.path()).map_err(|err| {
                CourseError::Io(format!("cannot read {}: {err}", e.path().display()))
            })?;
            files.push((e.path().display().to_string(), text));
        }
        if files.is_empty() {
            return Err(CourseError::Io(format!(
                "{} holds no lesson files (NN-id.toml, such as 01-the-log.toml)",
                dir.display()
            )));
        }
        let scenarios = dir.join("scenarios");
        let resolve = |name: &str| {
            let p = scenarios.join(format!("{name}.toml"));
            match std::fs::read_to_string(&p) {
                Ok(t) => Some((p.display().to_string(), t)),
                Err(_) => shipped_scenario(name),
            }
        };
        Course::build(&dir.display().to_string(), files, &resolve)
    }

    fn build(
        origin: &str,
        mut files: Vec<(String, String)>,
        resolve: &dyn Fn(&str) -> Option<(String, String)>,
    ) -> Result<Course, CourseError> {
        files.sort_by_key(|(f, _)| {
            let name = f.rsplit(['/', '\\']).next().unwrap_or(f).to_string();
            (id_of(&name).map(|x| x.0).unwrap_or(u32::MAX), name)
        });
        let mut lessons = Vec::new();
        let mut errors = Vec::new();
        for (file, text) in &files {
            match parse_lesson(file, text, resolve) {
                Ok(l) => lessons.push(l),
                Err(e) => errors.push(e),
            }
        }
        let mut seen = std::collections::BTreeMap::new();
        for l in &lessons {
            if let Some(first) = seen.insert(l.id.clone(), l.file.clone()) {
                errors.push(ScenarioError {
                    file: l.file.clone(),
                    text: String::new(),
                    problems: vec![kafkascope_sim::scenario::Problem {
                        span: 0..0,
                        message: format!("lesson id `{}` is also used by {first}", l.id),
                        help: Some(
                            "ids are the file names without the number: make them distinct".into(),
                        ),
                    }],
                });
            }
        }
        if errors.is_empty() {
            Ok(Course {
                origin: origin.to_string(),
                lessons,
            })
        } else {
            Err(CourseError::Lessons(errors))
        }
    }

    /// A lesson by id (`the-log`), number (`1`) or file name.
    pub fn find(&self, key: &str) -> Option<&Lesson> {
        let key = key.trim_end_matches(".toml");
        self.lessons.iter().find(|l| {
            l.id == key
                || key.parse::<u32>().is_ok_and(|n| n == l.number)
                || l.file
                    .rsplit(['/', '\\'])
                    .next()
                    .is_some_and(|f| f.trim_end_matches(".toml") == key)
        })
    }

    /// The closest lesson id, for "did you mean".
    pub fn suggest(&self, key: &str) -> Option<&str> {
        kafkascope_sim::located::closest(key, self.lessons.iter().map(|l| l.id.as_str()))
    }
}

fn shipped_scenario(name: &str) -> Option<(String, String)> {
    kafkascope_sim::library::find(name).map(|t| (format!("scenarios/{name}.toml"), t.to_string()))
}
