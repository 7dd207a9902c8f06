//! Where each learner is in each lesson, kept in the user's data directory.
//!
//! A learner's work must survive the program being killed at any moment, so every save
//! writes a new file beside the old one, flushes it to disk, and renames it over the old one:
//! a reader sees the old progress or the new, never half a file. A file that cannot be read
//! (edited by hand, from a future version) is moved aside, not overwritten.
//!
//! In the browser (wasm32) there are no files: the same JSON is kept in the page's
//! `localStorage` under the path as its key (`kafkascope/progress.json`), which a reload finds
//! again (`progress/local_storage.rs`; one `setItem` is as atomic as the rename).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::player::Player;
use crate::Lesson;

/// The environment variable that moves the data directory (tests, portable installs).
pub const DATA_DIR_ENV: &str = "KAFKASCOPE_DATA_DIR";

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    pub version: u32,
    /// By lesson id.
    pub lessons: BTreeMap<String, LessonProgress>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LessonProgress {
    /// The step the learner was on (0-based).
    pub step: usize,
    /// Predictions answered: step → choice (0-based).
    #[serde(default)]
    pub answers: BTreeMap<usize, usize>,
    /// Commands typed in each step, replayed on resume.
    #[serde(default)]
    pub typed: BTreeMap<usize, Vec<String>>,
    /// Steps whose task is done.
    #[serde(default)]
    pub done: BTreeSet<usize>,
    /// Steps played on to their `until`.
    #[serde(default)]
    pub played: BTreeSet<usize>,
    /// Every task done, the final challenge included.
    #[serde(default)]
    pub finished: bool,
}

// Where the bytes go: files on the desktop, the page's localStorage in the browser.
#[cfg(not(target_arch = "wasm32"))]
mod storage {
    use std::path::{Path, PathBuf};

    pub use super::write_atomic as write;
    pub use std::fs::{read_to_string, rename};

    /// Where an unreadable file is moved.
    pub fn aside(path: &Path) -> PathBuf {
        path.with_extension(format!("json.unreadable-{}", std::process::id()))
    }
}
#[cfg(target_arch = "wasm32")]
#[path = "progress/local_storage.rs"]
mod storage;

/// The data directory: `$KAFKASCOPE_DATA_DIR`, else the platform's (`~/.local/share/kafkascope`
/// on Linux). In the browser, the prefix of the page's localStorage keys.
#[cfg(target_arch = "wasm32")]
pub fn data_dir() -> Option<PathBuf> {
    Some(PathBuf::from("kafkascope"))
}

/// The data directory: `$KAFKASCOPE_DATA_DIR`, else the platform's (`~/.local/share/kafkascope`
/// on Linux).
#[cfg(not(target_arch = "wasm32"))]
pub fn data_dir() -> Option<PathBuf> {
    match std::env::var_os(DATA_DIR_ENV) {
        Some(d) if !d.is_empty() => Some(PathBuf::from(d)),
        _ => dirs::data_dir().map(|d| d.join("kafkascope")),
    }
}

/// Writes `bytes` to `path` so that the file holds either its old contents or all of the new
/// ones, whenever the process dies.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// The progress file.
pub struct Store {
    pub path: PathBuf,
}

impl Store {
    pub fn in_dir(dir: &Path) -> Store {
        Store {
            path: dir.join("progress.json"),
        }
    }

    /// The store in the data directory, if the platform has one.
    pub fn default_location() -> Option<Store> {
        data_dir().map(|d| Store::in_dir(&d))
    }

    /// The saved progress; none yet is empty progress. When the file cannot be read it is
    /// renamed aside and the message says where.
    pub fn load(&self) -> (Progress, Option<String>) {
        let text = match storage::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return (Progress::default(), None)
            }
            Err(e) => {
                return (
                    Progress::default(),
                    Some(format!(
                        "cannot read {}: {e}; progress will not be saved over it",
                        self.path.display()
                    )),
                )
            }
        };
        match serde_json::from_str::<Progress>(&text) {
            Ok(p) => (p, None),
            Err(e) => {
                let aside = storage::aside(&self.path);
                let moved = storage::rename(&self.path, &aside).is_ok();
                let note = if moved {
                    format!(
                        "{} could not be read ({e}); it was moved to {} and progress starts afresh",
                        self.path.display(),
                        aside.display()
                    )
                } else {
                    format!("{} could not be read ({e})", self.path.display())
                };
                (Progress::default(), Some(note))
            }
        }
    }

    pub fn save(&self, p: &Progress) -> std::io::Result<()> {
        let json = serde_json::to_string_pretty(p).map_err(std::io::Error::other)?;
        storage::write(&self.path, json.as_bytes())
    }

    /// Records one lesson's progress (reading the file first, so two windows on different
    /// lessons do not undo each other).
    pub fn save_lesson(&self, id: &str, lp: LessonProgress) -> std::io::Result<()> {
        let (mut p, _) = self.load();
        p.version = 1;
        p.lessons.insert(id.to_string(), lp);
        self.save(&p)
    }
}

impl Player {
    /// Where the learner is, to save.
    pub fn progress(&self) -> LessonProgress {
        let mut lp = LessonProgress {
            step: self.step,
            ..Default::default()
        };
        for (i, s) in self.states.iter().enumerate() {
            if let Some(a) = s.answer {
                lp.answers.insert(i, a);
            }
            if !s.typed.is_empty() {
                lp.typed.insert(i, s.typed.clone());
            }
            if s.done {
                lp.done.insert(i);
            }
            if s.played {
                lp.played.insert(i);
            }
        }
        lp.finished = self
            .lesson
            .steps
            .iter()
            .enumerate()
            .all(|(i, st)| st.task.is_none() || self.states[i].done);
        lp
    }

    /// A player where saved progress left off. Commands are typed again (so a lesson edited
    /// since only loses what no longer applies); a task counts as done only if its check
    /// still passes with them.
    pub fn resume(lesson: Lesson, lp: &LessonProgress) -> Player {
        let mut p = Player::new(lesson);
        let n = p.lesson.steps.len();
        for (&i, &a) in &lp.answers {
            if i < n
                && a < p.lesson.steps[i]
                    .predict
                    .as_ref()
                    .map_or(0, |x| x.choices.len())
            {
                p.states[i].answer = Some(a);
            }
        }
        for (&i, typed) in &lp.typed {
            p.restore(i, typed);
        }
        for &i in lp.played.iter().filter(|&&i| i < n) {
            p.states[i].played = true;
        }
        for &i in lp.done.iter().filter(|&&i| i < n) {
            p.step = i;
            // Tasks done by typed commands are re-checked; ones with nothing typed cannot be
            // done, so a stale mark is dropped.
            if !p.states[i].commands.is_empty() {
                let _ = p.check_task();
            }
        }
        p.step = lp.step.min(n.saturating_sub(1));
        p
    }
}

/// A lesson's status for lists: not started, on step N, or finished.
pub fn status(lesson: &Lesson, lp: Option<&LessonProgress>) -> String {
    match lp {
        None => "new".into(),
        Some(lp) if lp.finished => "finished".into(),
        Some(lp) => format!("step {}/{}", lp.step + 1, lesson.steps.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_save_replaces_the_file_whole_and_a_bad_file_is_kept_aside() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::in_dir(&dir.path().join("nested"));
        assert_eq!(store.load(), (Progress::default(), None));
        let lp = LessonProgress {
            step: 3,
            answers: [(1, 2)].into(),
            typed: [(3, vec!["crash broker-1".to_string()])].into(),
            ..Default::default()
        };
        store.save_lesson("the-log", lp.clone()).unwrap();
        store
            .save_lesson("replication", LessonProgress::default())
            .unwrap();
        let (p, note) = store.load();
        assert_eq!(note, None);
        assert_eq!(p.lessons["the-log"], lp);
        assert_eq!(p.lessons.len(), 2);
        // Nothing but the file itself is left in the folder (no temporary files).
        let names: Vec<_> = std::fs::read_dir(dir.path().join("nested"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["progress.json"]);

        std::fs::write(&store.path, "{ not json").unwrap();
        let (p, note) = store.load();
        assert_eq!(p, Progress::default());
        let note = note.unwrap();
        assert!(note.contains("moved to"), "{note}");
        let kept = std::fs::read_dir(dir.path().join("nested"))
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .contains("unreadable")
            })
            .count();
        assert_eq!(kept, 1);
    }
}
