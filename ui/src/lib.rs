//! Kafkascope's window: watch, pause, rewind and break a simulated Kafka cluster.
//!
//! The app is a bevy shell around egui. bevy owns the window, the frame loop, time and the
//! screenshot machinery; everything drawn is egui (the cluster view is painted with egui's
//! painter), because the picture is mostly text and boxes whose layout depends on the window
//! size, which immediate-mode drawing gets right at any scale, and because egui gives hit
//! testing for the clickable brokers for free.
//!
//! The simulation runs on its own thread ([`sim_thread`]); the app holds the recorded trace
//! ([`session`]) and shows the cluster at the displayed moment ([`cluster_state`]).
//!
//! The same app runs in a browser (wasm32, `web/app`): there the simulation steps on the main
//! thread between frames, lesson checks run inline ([`background`]), Save and Open become a
//! download and an upload, free-play work is autosaved to the page's localStorage (`web`), and
//! live serving to real Kafka clients (the default `serve` feature) is left to the desktop.
//!
//! **Architecture Invariant:** the UI changes a simulation only through
//! `kafkascope_sim::command::TimedCommand`, the type scenario files' `[[faults]]` produce, so a
//! session saves as a scenario file that replays exactly.

pub mod app;
pub mod background;
pub mod change;
pub mod cluster_state;
mod cluster_view;
pub mod compare;
mod home;
pub mod intents;
pub mod lesson;
pub mod library;
pub mod markdown;
pub mod metrics;
pub mod page_status;
mod panels;
pub mod playback;
#[cfg(not(target_arch = "wasm32"))]
mod screenshot;
pub mod session;
pub mod shared_log;
mod shortcuts;
pub mod sim_thread;
pub mod state;
mod theme;
mod timeline;
pub mod transactions;
#[cfg(target_arch = "wasm32")]
mod web;

use std::path::PathBuf;

pub use app::{build_app, core_app};
pub use library::LibraryEntry;
pub use panels::add_client::{AddClient, ClientKind};
/// The window's layout without bevy's rendering: for the benchmark, which drives it through a
/// bare `egui::Context`.
pub use panels::link_sliders::LinkEdit;
pub use panels::node_menu::actions as node_actions;
pub use panels::producer_settings::ProducerEdit;
pub use panels::{lay_out, Shown};
pub use state::{SideTab, UiState};

/// How the window starts.
#[derive(Clone, Debug, Default)]
pub struct UiOptions {
    /// The scenarios the home screen lists (the root binary passes its shipped scenarios).
    pub library: Vec<LibraryEntry>,
    /// A scenario to open at once instead of the home screen: `(name or path, TOML text)`.
    pub open: Option<(String, String)>,
    /// A second scenario to show beside the first, with its seed, on one timeline (compare):
    /// `(name or path, TOML text)`.
    pub compare: Option<(String, String)>,
    /// Settings changed in the scenario on the right, `WHERE.KEY=VALUE` (see [`change`]):
    /// `producer.a.acks=all`, `broker.min.insync.replicas=2`. Without `compare`, the right is
    /// a copy of the opened scenario: the same scenario and seed under two configurations.
    pub compare_set: Vec<String>,
    /// Overrides the scenario's seed.
    pub seed: Option<u64>,
    /// Start in presenter mode (large type, high contrast).
    pub presenter: bool,
    /// The displayed time to start at, in virtual milliseconds (paused there).
    pub start_at_ms: Option<u64>,
    /// Render, save a screenshot, and exit.
    pub screenshot: Option<ScreenshotPlan>,
    /// A node to select at start, by name (`broker-2`, `controller`): opens its intervention
    /// menu. For screenshots and demonstrations.
    pub select: Option<String>,
    /// The side panel's tab to start on (the event log when `None`), and with the
    /// Interventions tab, an "add a client" form to open: see [`SideTab::parse`].
    pub tab: Option<(SideTab, Option<ClientKind>)>,
    /// The window's size in logical pixels; 1280×800 when `None`.
    pub window_size: Option<(u32, u32)>,
    /// The lessons the home screen lists; the shipped course when `None` (a teacher's folder
    /// is loaded with `kafkascope_lessons::Course::load_dir`).
    pub course: Option<kafkascope_lessons::Course>,
    /// A lesson to open at once (its id or number), where the learner's progress left off.
    pub lesson: Option<String>,
    /// The lesson's step to open on, 1-based as the lesson panel numbers them.
    pub lesson_step: Option<usize>,
    /// Where progress is kept (`progress.json`); the data directory when `None`
    /// (`$KAFKASCOPE_DATA_DIR`, else the platform's).
    pub data_dir: Option<PathBuf>,
    /// Serve `open`'s scenario live to real Kafka clients (`kafkascope ui --serve`).
    pub serve: Option<Serve>,
}

/// How `kafkascope ui --serve` serves: broker-1's port (broker-N's is `port + N - 1`; 0 gives
/// every broker a free port) and virtual seconds per wall second.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Serve {
    pub port: u16,
    pub speed: f64,
}

impl Default for Serve {
    fn default() -> Self {
        Serve {
            port: 9092,
            speed: 1.0,
        }
    }
}

/// Save a PNG of the window after the scenario has been simulated up to the displayed time
/// and `frames` more frames have been drawn, then exit.
#[derive(Clone, Debug)]
pub struct ScreenshotPlan {
    pub path: PathBuf,
    pub frames: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum UiError {
    #[error(
        "no display to open a window on (neither DISPLAY nor WAYLAND_DISPLAY is set); \
         the terminal commands work without one: `kafkascope run NAME`, `kafkascope scenarios`"
    )]
    NoDisplay,
    #[error("{0}")]
    Scenario(String),
    #[error("{0}")]
    Lesson(String),
    #[error(
        "the window could not be opened: {0}; the terminal commands work without one: \
         `kafkascope run NAME`, `kafkascope scenarios`"
    )]
    Window(String),
}

/// Opens the window and runs until it is closed.
///
/// Returns an error instead of panicking when there is no display, when the graphics stack
/// cannot start, or when the scenario to open does not parse.
pub fn run(options: UiOptions) -> Result<(), UiError> {
    if let Some((name, text)) = &options.open {
        kafkascope_sim::scenario::parse(name, text)
            .map_err(|e| UiError::Scenario(e.to_string()))?;
    }
    check_compare_set(&options)?;
    let options = check_lesson(options)?;
    if !has_display() {
        return Err(UiError::NoDisplay);
    }
    run_app(options)
}

/// [`run`] in the browser: the app runs on after this returns (bevy hands its loop to the
/// page's animation frames), and a panic aborts: the page shows it (see `web/app`).
#[cfg(target_arch = "wasm32")]
fn run_app(options: UiOptions) -> Result<(), UiError> {
    build_app(options).run();
    Ok(())
}

/// [`run`] on the desktop: winit and wgpu failures become errors.
#[cfg(not(target_arch = "wasm32"))]
fn run_app(options: UiOptions) -> Result<(), UiError> {
    // winit and wgpu report some failures (an X server that refuses us, no GPU adapter at all)
    // by panicking; the caller asked for an error it can print.
    // The default hook would print the panic with a backtrace before the caller prints the
    // error; the message travels in the error instead.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
        let mut app = build_app(options);
        app.run()
    }));
    std::panic::set_hook(hook);
    match result {
        Ok(bevy::app::AppExit::Success) => Ok(()),
        Ok(bevy::app::AppExit::Error(code)) => {
            Err(UiError::Window(format!("the app exited with code {code}")))
        }
        Err(panic) => {
            let msg = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown failure".into());
            Err(UiError::Window(msg))
        }
    }
}

/// The `compare_set` changes apply to the scenario on the right (checked before a window
/// opens, so that a bad key or value is an error message, not a status line).
fn check_compare_set(options: &UiOptions) -> Result<(), UiError> {
    if options.compare_set.is_empty() {
        return Ok(());
    }
    let Some((name, text)) = options.compare.as_ref().or(options.open.as_ref()) else {
        return Err(UiError::Scenario(
            "changed settings to compare need a scenario to change".into(),
        ));
    };
    let scenario = kafkascope_sim::scenario::parse(name, text)
        .map_err(|e| UiError::Scenario(e.to_string()))?;
    change::parse_and_apply(&scenario, &options.compare_set)
        .map(|_| ())
        .map_err(UiError::Scenario)
}

/// The lesson to open exists, and so does its step (checked before a window opens). The
/// course loaded for the check is the one the app then uses.
fn check_lesson(mut options: UiOptions) -> Result<UiOptions, UiError> {
    let Some(key) = options.lesson.clone() else {
        return Ok(options);
    };
    let course = match options.course.take() {
        Some(c) => c,
        None => kafkascope_lessons::Course::shipped()
            .map_err(|e| UiError::Lesson(format!("the lessons could not be loaded:\n{e}")))?,
    };
    let Some(lesson) = course.find(&key) else {
        let hint = course
            .suggest(&key)
            .map(|s| format!(" (did you mean `{s}`?)"))
            .unwrap_or_default();
        let ids: Vec<&str> = course.lessons.iter().map(|l| l.id.as_str()).collect();
        return Err(UiError::Lesson(format!(
            "there is no lesson `{key}` in {}{hint}; the lessons are: {}",
            course.origin,
            ids.join(", ")
        )));
    };
    if let Some(n) = options.lesson_step {
        if n == 0 || n > lesson.steps.len() {
            return Err(UiError::Lesson(format!(
                "lesson `{}` has steps 1 to {}, not {n}",
                lesson.id,
                lesson.steps.len()
            )));
        }
    }
    options.course = Some(course);
    Ok(options)
}

/// Whether a window system is reachable (checked before winit, which panics without one). A
/// browser page always has its canvas.
fn has_display() -> bool {
    if cfg!(any(
        target_os = "windows",
        target_os = "macos",
        target_arch = "wasm32"
    )) {
        return true;
    }
    let set = |v: &str| std::env::var_os(v).is_some_and(|s| !s.is_empty());
    set("DISPLAY") || set("WAYLAND_DISPLAY")
}
