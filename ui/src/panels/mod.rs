//! The egui layer: the one system that lays out every panel in order.
//!
//! egui 0.36 panels are laid out inside a parent `Ui`, each taking its edge of what is left, so
//! the order matters (top bar, timeline, side panel, then the cluster view in the middle) and
//! one system draws them all. Each panel lives in its own file and only pushes [`Intent`]s.

pub mod add_client;
mod checkers;
pub mod compare_change;
mod config;
mod event_log;
// Save and Open: a path field on the desktop; a download and the browser's file picker in the
// browser.
#[cfg_attr(target_arch = "wasm32", path = "files_web.rs")]
mod files;
mod help;
mod interventions;
mod lesson;
pub(crate) mod link_sliders;
mod metrics;
pub(crate) mod node_menu;
pub mod producer_settings;
mod time_link;
mod top_bar;
mod transactions;

use bevy::ecs::system::SystemParam;
use bevy::prelude::*;
use bevy_egui::{egui, EguiContexts};

use crate::compare::Compare;
use crate::intents::Intents;
use crate::lesson::Learning;
use crate::library::Library;
use crate::playback::Playback;
use crate::state::{FrameCost, SideTab, Status, UiState, Watch};
use crate::{cluster_view, home, shortcuts, theme, timeline};

/// Everything the window shows, read-only: the sessions, the lessons, the playback position
/// and the status line.
pub struct Shown<'a> {
    pub watch: &'a Watch,
    pub compare: &'a Compare,
    pub library: &'a Library,
    pub learning: &'a Learning,
    pub pb: &'a Playback,
    pub status: &'a str,
}

/// The resources behind [`Shown`], as one system parameter.
#[derive(SystemParam)]
pub struct ShownRes<'w> {
    watch: Res<'w, Watch>,
    compare: Res<'w, Compare>,
    library: Res<'w, Library>,
    learning: Res<'w, Learning>,
    pb: Res<'w, Playback>,
    status: Res<'w, Status>,
}

impl ShownRes<'_> {
    fn shown(&self) -> Shown<'_> {
        Shown {
            watch: &self.watch,
            compare: &self.compare,
            library: &self.library,
            learning: &self.learning,
            pb: &self.pb,
            status: &self.status.0,
        }
    }
}

/// Lays out the whole window for this frame (the bevy system around [`lay_out`]).
pub fn draw(
    mut contexts: EguiContexts,
    shown: ShownRes,
    mut state: ResMut<UiState>,
    mut intents: ResMut<Intents>,
    mut cost: ResMut<FrameCost>,
) -> Result {
    // `std::time::Instant` panics in the browser; bevy's works everywhere.
    let started = bevy::platform::time::Instant::now();
    let ctx = contexts.ctx_mut()?.clone();
    crate::page_status::begin_frame();
    lay_out(&ctx, shown.shown(), &mut state, &mut intents);
    cost.record(started.elapsed().as_secs_f64() * 1000.0);
    Ok(())
}

/// Lays out every panel of the window into `ctx`, inside the context's current pass.
///
/// Separate from the bevy system so that the benchmark (`benches/ui.rs`) can drive the very
/// same layout through a bare `egui::Context`, without a window or a GPU.
pub fn lay_out(ctx: &egui::Context, shown: Shown, state: &mut UiState, intents: &mut Intents) {
    let Shown {
        watch,
        compare,
        library,
        learning,
        pb,
        status,
    } = shown;
    let lesson = learning.open.as_ref().filter(|_| watch.session.is_some());
    let lesson_id = lesson.map(|r| r.player.lesson.id.clone());
    if lesson_id != state.lesson_seen {
        if state.lesson_seen.is_none() {
            state.side_panel_before = state.side_panel;
            state.side_panel = false;
        } else if lesson_id.is_none() {
            state.side_panel = state.side_panel_before;
        }
        state.lesson_seen = lesson_id;
    }
    if state.applied_presenter != Some(state.presenter) {
        theme::apply(ctx, state.presenter);
        state.applied_presenter = Some(state.presenter);
    }
    // Readable from 1280×720 to 4K: everything scales with the window.
    theme::fit_zoom(ctx, state.presenter);
    shortcuts::read(ctx, watch, lesson, pb, state, intents);
    let mut root = egui::Ui::new(
        ctx.clone(),
        "kafkascope-root".into(),
        egui::UiBuilder::new()
            .layer_id(egui::LayerId::background())
            .max_rect(ctx.viewport_rect()),
    );
    match &watch.session {
        None => home::show(&mut root, &library.0, learning, state, intents, status),
        Some(session) => {
            let comparing = compare.session().is_some();
            top_bar::show(
                &mut root, session, &library.0, comparing, state, intents, status,
            );
            timeline::show(&mut root, session, pb, state, intents);
            if let Some(run) = lesson {
                lesson::show(&mut root, run, session, pb, state, intents);
            }
            if state.side_panel && !state.presenter {
                side_panel(&mut root, watch, pb, state, intents, lesson.is_some());
            }
            let highlight = lesson.map_or(&[][..], |r| &r.player.current().highlight[..]);
            let shown = cluster_view::Shown {
                watch,
                other: compare.other.as_ref(),
                change: compare.change.as_deref(),
                highlight,
                pb,
            };
            cluster_view::show(&mut root, shown, state, intents);
            node_menu::show(ctx, watch, state, intents);
            compare_change::show(
                ctx,
                session,
                &mut state.change_dialog,
                state.presenter,
                intents,
            );
        }
    }
    files::show(ctx, state, intents);
    help::show(ctx, state);
}

fn side_panel(
    root: &mut egui::Ui,
    watch: &Watch,
    pb: &Playback,
    state: &mut UiState,
    intents: &mut Intents,
    left: bool,
) {
    let Some(session) = &watch.session else {
        return;
    };
    let panel = if left {
        egui::Panel::left("side")
    } else {
        egui::Panel::right("side")
    };
    panel
        .resizable(true)
        .default_size(420.0)
        .min_size(280.0)
        .show(root, |ui| {
            ui.add_space(4.0);
            checkers::show(ui, session, pb, state, intents);
            ui.separator();
            if transactions::any(session, &watch.cluster) {
                transactions::show(ui, session, &watch.cluster, state);
                ui.separator();
            }
            ui.horizontal(|ui| {
                ui.selectable_value(&mut state.tab, SideTab::Log, "Event log");
                ui.selectable_value(&mut state.tab, SideTab::Metrics, "Metrics");
                ui.selectable_value(&mut state.tab, SideTab::Config, "Configuration");
                ui.selectable_value(&mut state.tab, SideTab::Interventions, "Interventions");
            });
            ui.separator();
            match state.tab {
                SideTab::Log => event_log::show(ui, session, pb, state, intents),
                SideTab::Metrics => metrics::show(ui, session, pb, state, intents),
                SideTab::Config => config::show(ui, session),
                SideTab::Interventions => interventions::show(ui, session, pb, state, intents),
            }
        });
}
