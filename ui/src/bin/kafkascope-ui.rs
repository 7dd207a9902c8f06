//! Opens the window on the scenarios in `scenarios/` (what the root binary passes in from its
//! embedded library), for working on the UI without building the root crate.
//!
//! ```sh
//! cargo run -p kafkascope-ui --bin kafkascope-ui -- [SCENARIO] [--at MS] [--presenter]
//!     [--seed N] [--size WxH] [--select NODE] [--compare SCENARIO] [--compare-set WHERE.KEY=VALUE]...
//!     [--screenshot PATH [--frames N]]
//!     [--lesson ID [--step N]] [--lessons DIR] [--data-dir DIR]
//! ```
//!
//! `--lessons DIR` lists (and `--lesson` opens) the lessons of a folder instead of the shipped
//! course; `--data-dir` keeps progress there instead of in the user's data directory.

use std::path::{Path, PathBuf};

use kafkascope_ui::{LibraryEntry, ScreenshotPlan, UiOptions};

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
            "--at" => options.start_at_ms = args.next().and_then(|v| v.parse().ok()),
            "--seed" => options.seed = args.next().and_then(|v| v.parse().ok()),
            "--presenter" => options.presenter = true,
            "--select" => options.select = args.next(),
            "--compare" => {
                let name = args.next().unwrap_or_default();
                match scenario_text(&options.library, &name) {
                    Some(t) => options.compare = Some((name, t)),
                    None => {
                        eprintln!("no scenario {name}");
                        std::process::exit(2);
                    }
                }
            }
            "--compare-set" => match args.next() {
                Some(spec) => options.compare_set.push(spec),
                None => {
                    eprintln!("--compare-set needs a change, e.g. producer.a.acks=all");
                    std::process::exit(2);
                }
            },
            "--screenshot" => shot = args.next().map(PathBuf::from),
            "--lesson" => options.lesson = args.next(),
            "--step" => options.lesson_step = args.next().and_then(|v| v.parse().ok()),
            "--data-dir" => options.data_dir = args.next().map(PathBuf::from),
            "--lessons" => {
                let dir = PathBuf::from(args.next().unwrap_or_default());
                match kafkascope_lessons::Course::load_dir(&dir) {
                    Ok(c) => options.course = Some(c),
                    Err(e) => {
                        eprintln!("{e}");
                        std::process::exit(2);
                    }
                }
            }
            "--frames" => frames = args.next().and_then(|v| v.parse().ok()).unwrap_or(5),
            "--size" => {
                options.window_size = args.next().and_then(|v| {
                    let (w, h) = v.split_once('x')?;
                    Some((w.parse().ok()?, h.parse().ok()?))
                })
            }
            name => match scenario_text(&options.library, name) {
                Some(t) => options.open = Some((name.to_string(), t)),
                None if name == "sandbox" => {
                    options.open = Some((name.into(), kafkascope_ui::library::SANDBOX.into()))
                }
                None => {
                    eprintln!("no scenario {name}");
                    std::process::exit(2);
                }
            },
        }
    }
    options.screenshot = shot.map(|path| ScreenshotPlan { path, frames });
    if let Err(e) = kafkascope_ui::run(options) {
        eprintln!("kafkascope: {e}");
        std::process::exit(1);
    }
}
