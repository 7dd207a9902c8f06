//! The bevy app: which resources and systems each kind of app runs, and in what order.
//!
//! [`core_app`] is the app without a window (bevy's `MinimalPlugins`): sessions, playback and
//! interventions, for tests. [`build_app`] adds the window, egui, the views and the panels.

use bevy::prelude::*;
use bevy_egui::{EguiPlugin, EguiPrimaryContextPass};

use crate::compare::{pump_compare, seek_compare, Compare};
use crate::intents::{apply_intents, Intent, Intents};
use crate::lesson::{pump_lesson, Learning, LessonIntent};
use crate::library::{sandbox, Library};
use crate::playback::Playback;
use crate::sim_thread::SimThread;
use crate::state::{FrameCost, Sim, Status, UiState, Watch};
use crate::UiOptions;

/// Sessions, playback and interventions: everything but drawing.
pub struct CorePlugin {
    pub options: UiOptions,
}

impl Plugin for CorePlugin {
    fn build(&self, app: &mut App) {
        let mut library = self.options.library.clone();
        library.push(sandbox());
        let mut intents = Intents::default();
        match (&self.options.open, self.options.serve) {
            (Some((source, text)), Some(serve)) => intents.push(Intent::Serve {
                source: source.clone(),
                text: text.clone(),
                seed: self.options.seed,
                port: serve.port,
                speed: serve.speed,
            }),
            (Some((source, text)), None) => intents.push(Intent::Open {
                source: source.clone(),
                text: text.clone(),
                seed: self.options.seed,
            }),
            (None, _) => {}
        }
        match &self.options.compare {
            Some((source, text)) => intents.push(Intent::Compare {
                source: source.clone(),
                text: text.clone(),
                changes: self.options.compare_set.clone(),
            }),
            None if !self.options.compare_set.is_empty() => intents.push(Intent::CompareChanged {
                changes: self.options.compare_set.clone(),
            }),
            None => {}
        }
        if let Some(t) = self.options.start_at_ms {
            intents.push(Intent::Seek(t as f64));
        }
        let (learning, note) =
            Learning::new(self.options.course.clone(), self.options.data_dir.clone());
        if let Some(id) = &self.options.lesson {
            intents.push(Intent::Lesson(LessonIntent::Open {
                id: id.clone(),
                step: self.options.lesson_step.map(|n| n.saturating_sub(1)),
            }));
        }
        let mut status = Status::default();
        if let Some(note) = note {
            status.set(note);
        }
        app.insert_resource(Sim(SimThread::spawn()))
            .insert_resource(learning)
            .insert_resource(status)
            .insert_resource(Library::new(library))
            .insert_resource(intents)
            .init_resource::<Watch>()
            .init_resource::<Playback>()
            .init_resource::<Compare>()
            .add_systems(
                Update,
                (
                    apply_intents,
                    pump_replies,
                    pump_compare,
                    advance_playback,
                    pump_lesson,
                    seek_cluster,
                    seek_compare,
                )
                    .chain(),
            );
    }
}

/// Takes in whatever the simulation thread has sent since the last frame.
fn pump_replies(sim: Res<Sim>, mut watch: ResMut<Watch>, mut status: ResMut<Status>) {
    let replies = sim.0.drain();
    let Watch {
        session,
        checkpoints,
        ..
    } = &mut *watch;
    for r in replies {
        if let crate::sim_thread::Reply::Saved(result) = &r {
            match result {
                Ok(path) => status.set(format!(
                    "saved the live session as {path}: `kafkascope run {path}` replays it \
                     without the clients"
                )),
                Err(e) => status.set(e.clone()),
            }
            continue;
        }
        if let Some(s) = session {
            // A live session that ended goes on as an ordinary one: its recording re-simulated.
            if let Some(next) = s.absorb(r) {
                checkpoints.truncate(s.entries.len());
                sim.0.send(next);
            }
        }
    }
}

fn advance_playback(time: Res<Time>, watch: Res<Watch>, mut pb: ResMut<Playback>) {
    if let Some(s) = &watch.session {
        pb.advance(time.delta_secs_f64(), s);
    }
}

fn seek_cluster(mut watch: ResMut<Watch>, pb: Res<Playback>) {
    let Watch {
        session,
        cluster,
        checkpoints,
    } = &mut *watch;
    if let Some(s) = session {
        cluster.seek(s, pb.shown(s), checkpoints);
    }
}

/// The app without a window, for tests: `app.update()` runs one frame.
pub fn core_app(options: UiOptions) -> App {
    let mut app = App::new();
    app.add_plugins(MinimalPlugins)
        .add_plugins(CorePlugin { options });
    app
}

/// The full app: a window, egui, the cluster view, the timeline and the panels.
pub fn build_app(options: UiOptions) -> App {
    let (w, h) = options.window_size.unwrap_or((1280, 800));
    let mut app = App::new();
    app.add_plugins(
        DefaultPlugins
            .set(WindowPlugin {
                primary_window: Some(Window {
                    title: "Kafkascope".into(),
                    resolution: (w, h).into(),
                    // In the browser: the page's canvas, sized by the page.
                    #[cfg(target_arch = "wasm32")]
                    canvas: Some("#kafkascope".into()),
                    #[cfg(target_arch = "wasm32")]
                    fit_canvas_to_parent: true,
                    ..default()
                }),
                ..default()
            })
            .set(bevy::log::LogPlugin {
                filter: "warn,kafkascope_ui=info,bevy_render::view::window::screenshot=info".into(),
                ..default()
            }),
    )
    .add_plugins(EguiPlugin::default())
    .insert_resource(ClearColor(Color::srgb(0.09, 0.1, 0.12)))
    .add_systems(Startup, |mut commands: Commands| {
        commands.spawn(Camera2d);
    })
    .insert_resource({
        let mut state = UiState::new(options.presenter);
        // Node names as the scenario spells them (`broker-2`, `controller`, `producer-a`).
        let names = options
            .open
            .as_ref()
            .and_then(|(name, text)| kafkascope_sim::scenario::parse(name, text).ok())
            .map(|sc| sc.names())
            .unwrap_or_default();
        state.selected = options.select.as_deref().and_then(|n| names.parse(n));
        if let Some((tab, adding)) = options.tab {
            state.tab = tab;
            state.adding = adding;
        }
        state
    })
    .init_resource::<FrameCost>()
    .add_systems(EguiPrimaryContextPass, crate::panels::draw);
    // The page's status for the browser test's hook (`web/app`): built each frame only where
    // something reads it.
    #[cfg(target_arch = "wasm32")]
    app.add_systems(
        EguiPrimaryContextPass,
        crate::page_status::update.after(crate::panels::draw),
    );
    #[cfg(not(target_arch = "wasm32"))]
    if let Some(plan) = options.screenshot.clone() {
        app.add_plugins(crate::screenshot::ScreenshotPlugin { plan });
    }
    #[cfg(target_arch = "wasm32")]
    add_web(&mut app);
    app.add_plugins(CorePlugin { options });
    app
}

/// The browser's stand-ins for files: uploads picked up, free-play work autosaved and offered
/// back after a reload.
#[cfg(target_arch = "wasm32")]
fn add_web(app: &mut App) {
    use crate::web::autosave;
    if let Some(saved) = autosave::load() {
        app.world_mut().resource_mut::<UiState>().resume = Some(saved);
    }
    app.add_systems(Update, crate::intents::pick_up.before(apply_intents))
        .add_systems(Update, autosave::autosave.after(apply_intents));
}
