//! Opens the window on the scenarios in `scenarios/` (what the root binary passes in from its
//! embedded library), for working on the UI without building the root crate.
//!
//! ```sh
//! cargo run -p kafkascope-ui --bin kafkascope-ui -- [SCENARIO] [--at MS] [--presenter]
//!     [--seed N] [--size WxH] [--select NODE] [--tab TAB] [--compare SCENARIO]
//!     [--compare-set WHERE.KEY=VALUE]...
//!     [--screenshot PATH [--frames N]]
//!     [--lesson ID [--step N]] [--lessons DIR] [--data-dir DIR]
//! ```
//!
//! `--tab` starts on a side-panel tab: log, metrics, configuration, interventions, or
//! add-consumer / add-producer (the Interventions tab with that form open).
//! `--lessons DIR` lists (and `--lesson` opens) the lessons of a folder instead of the shipped
//! course; `--data-dir` keeps progress there instead of in the user's data directory.

use std::path::{Path, PathBuf};

use kafkascope_ui::{LibraryEntry, ScreenshotPlan, SideTab, UiOptions};

fn library(dir: &Path) -> Vec<LibraryEntry> {
    let mut v: Vec<LibraryEntry> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .filter_map(|p| {
            let name = p.file_stem()?.to_str()?.to_string();
            Some(LibraryEntry::new(name, std::fs::read_to_string(&p).ok()?))
        })
        .collect();
    v.sort_by(|a, b| a.name.cmp(&b.name));
    v
}

/// A shipped scenario's text by name, or a file's.
fn scenario_text(library: &[LibraryEntry], name: &str) -> Option<String> {
    library
        .iter()
        .find(|e| e.name == name)
        .map(|e| e.text.clone())
        .or_else(|| std::fs::read_to_string(name).ok())
}

/// Stops with a message naming the flag: a dropped `--at` would silently open the start.
fn fail(message: String) -> ! {
    eprintln!("kafkascope-ui: {message}");
    std::process::exit(2);
}

/// The value after `flag`, parsed as `what` says.
fn value<T: std::str::FromStr>(flag: &str, what: &str, v: Option<String>) -> T {
    match v {
        Some(v) => v
            .parse()
            .unwrap_or_else(|_| fail(format!("{flag} needs {what}, not `{v}`"))),
        None => fail(format!("{flag} needs {what}")),
    }
}

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
    let mut options = UiOptions {
        library: library(&dir),
        ..Default::default()
    };
    let mut args = std::env::args().skip(1);
    let mut frames = 5;
    let mut shot: Option<PathBuf> = None;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--at" => options.start_at_ms = Some(value(&a, "a time in ms", args.next())),
            "--seed" => options.seed = Some(value(&a, "a number", args.next())),
            "--presenter" => options.presenter = true,
            "--select" => options.select = Some(value(&a, "a node's name", args.next())),
            "--compare" => {
                let name: String = value(&a, "a scenario", args.next());
                match scenario_text(&options.library, &name) {
                    Some(t) => options.compare = Some((name, t)),
                    None => fail(format!("no scenario or file `{name}`")),
                }
            }
            "--compare-set" => options.compare_set.push(value(
                &a,
                "a change, e.g. producer.a.acks=all",
                args.next(),
            )),
            "--screenshot" => shot = Some(value(&a, "a file name", args.next())),
            "--lesson" => options.lesson = Some(value(&a, "a lesson's id", args.next())),
            "--step" => options.lesson_step = Some(value(&a, "a step number", args.next())),
            "--data-dir" => options.data_dir = Some(value(&a, "a folder", args.next())),
            "--lessons" => {
                let dir: PathBuf = value(&a, "a folder", args.next());
                match kafkascope_lessons::Course::load_dir(&dir) {
                    Ok(c) => options.course = Some(c),
                    Err(e) => fail(e.to_string()),
                }
            }
            "--frames" => frames = value(&a, "a number of frames", args.next()),
            "--tab" => {
                let name: String = value(&a, "a tab's name", args.next());
                match SideTab::parse(&name) {
                    Some(t) => options.tab = Some(t),
                    None => fail(format!(
                        "--tab `{name}` is not a tab; the tabs are {}",
                        SideTab::NAMES.join(", ")
                    )),
                }
            }
            "--size" => {
                let v: String = value(&a, "a size such as 1280x720", args.next());
                let size = v
                    .split_once('x')
                    .and_then(|(w, h)| Some((w.parse().ok()?, h.parse().ok()?)));
                match size {
                    Some(s) => options.window_size = Some(s),
                    None => fail(format!("--size needs a size such as 1280x720, not `{v}`")),
                }
            }
            flag if flag.starts_with("--") => fail(format!(
                "unknown option {flag} (the options are listed in this binary's doc comment)"
            )),
            name => match scenario_text(&options.library, name) {
                Some(t) => options.open = Some((name.to_string(), t)),
                None if name == "sandbox" => {
                    options.open = Some((name.into(), kafkascope_ui::library::SANDBOX.into()))
                }
                None => fail(format!("no scenario or file `{name}`")),
            },
        }
    }
    options.screenshot = shot.map(|path| ScreenshotPlan { path, frames });
    if let Err(e) = kafkascope_ui::run(options) {
        eprintln!("kafkascope: {e}");
        std::process::exit(1);
    }
}
