//! The egui layer: UI-only state, and the one system that lays out every panel in order.
//!
//! egui 0.36 panels are laid out inside a parent `Ui`, each taking its edge of what is left, so
//! the order matters (top bar, timeline, side panel, then the cluster view in the middle) and
//! one system draws them all. Each panel lives in its own file and only pushes [`Intent`]s.

pub mod add_client;
mod checkers;
pub mod compare_change;
mod config;
mod event_log;
mod files;
mod help;
mod interventions;
mod lesson;
mod link_sliders;
mod metrics;
mod node_menu;
pub mod producer_settings;
mod top_bar;

use bevy::prelude::*;
use bevy_egui::{egui, EguiContexts};
use kafkascope_sim::ids::NodeId;

use crate::app::{Library, Status, Watch};
use crate::compare::Compare;
use crate::intents::{Intent, Intents};
use crate::lesson::Learning;
use crate::playback::Playback;
use crate::{cluster_view, home, shortcuts, theme, timeline};

pub use files::FileDialog;
pub use link_sliders::LinkEdit;
pub use node_menu::actions as node_actions;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SideTab {
    Log,
    Metrics,
    Config,
    Interventions,
}

impl SideTab {
    /// The names `--tab` takes.
    pub const NAMES: &[&str] = &[
        "log",
        "metrics",
        "configuration",
        "interventions",
        "add-consumer",
        "add-producer",
    ];

    /// A tab by the name `--tab` gives it, with the "add a client" form `add-consumer` and
    /// `add-producer` open on the Interventions tab.
    pub fn parse(name: &str) -> Option<(SideTab, Option<add_client::ClientKind>)> {
        use add_client::ClientKind;
        Some(match name {
            "log" => (SideTab::Log, None),
            "metrics" => (SideTab::Metrics, None),
            "configuration" => (SideTab::Config, None),
            "interventions" => (SideTab::Interventions, None),
            "add-consumer" => (SideTab::Interventions, Some(ClientKind::Consumer)),
            "add-producer" => (SideTab::Interventions, Some(ClientKind::Producer)),
            _ => return None,
        })
    }
}

/// What only the UI cares about: which windows are open, the log filter, the selection.
#[derive(Resource, Debug)]
pub struct UiState {
    pub presenter: bool,
    /// The mode the egui style was last set for.
    applied_presenter: Option<bool>,
    pub help: bool,
    pub side_panel: bool,
    pub tab: SideTab,
    pub selected: Option<NodeId>,
    pub log_filter: String,
    pub colour_by_key: bool,
    pub file_dialog: Option<FileDialog>,
    /// The staged latency and loss sliders of the node menu's link section.
    pub link_edit: Option<link_sliders::LinkEdit>,
    /// The staged settings of the selected producer.
    pub producer_edit: Option<producer_settings::ProducerEdit>,
    /// Which "add a client" form the Interventions tab shows, its fields, and why the last
    /// attempt was refused.
    pub adding: Option<add_client::ClientKind>,
    pub add_client: Option<add_client::AddClient>,
    pub add_client_error: Option<String>,
    /// The "Compare with a change…" dialog, when open.
    pub change_dialog: Option<compare_change::ChangeDialog>,
    /// Where the cluster view put each node's box in the last frame (for drags, and for tests
    /// that drive them).
    pub node_boxes: std::collections::BTreeMap<NodeId, egui::Rect>,
    /// The prediction choice selected but not locked in: `((lesson, step), choice)`.
    pub lesson_choice: Option<((String, usize), usize)>,
    /// The lesson panel's command line.
    pub lesson_command: String,
    /// The lesson shown last frame: opening one hides the side panel (the lesson panel takes
    /// its place), leaving it brings the side panel back as it was.
    lesson_seen: Option<String>,
    side_panel_before: bool,
}

impl UiState {
    pub fn new(presenter: bool) -> Self {
        UiState {
            presenter,
            applied_presenter: None,
            help: false,
            side_panel: true,
            tab: SideTab::Log,
            selected: None,
            log_filter: String::new(),
            colour_by_key: false,
            file_dialog: None,
            link_edit: None,
            producer_edit: None,
            adding: None,
            add_client: None,
            add_client_error: None,
            change_dialog: None,
            node_boxes: Default::default(),
            lesson_choice: None,
            lesson_command: String::new(),
            lesson_seen: None,
            side_panel_before: true,
        }
    }
}

/// The CPU time of laying out and painting the UI (not the GPU's work), over recent frames.
#[derive(Resource, Default, Debug)]
pub struct FrameCost {
    recent_ms: std::collections::VecDeque<f64>,
}

impl FrameCost {
    const WINDOW: usize = 120;

    fn record(&mut self, ms: f64) {
        if self.recent_ms.len() == Self::WINDOW {
            self.recent_ms.pop_front();
        }
        self.recent_ms.push_back(ms);
    }

    pub fn mean_ms(&self) -> f64 {
        self.recent_ms.iter().sum::<f64>() / self.recent_ms.len().max(1) as f64
    }

    pub fn max_ms(&self) -> f64 {
        self.recent_ms.iter().copied().fold(0.0, f64::max)
    }

    pub fn samples(&self) -> usize {
        self.recent_ms.len()
    }
}

/// Lays out the whole window for this frame (the bevy system around [`lay_out`]).
#[allow(clippy::too_many_arguments)] // a system's parameters are its dependencies
pub fn draw(
    mut contexts: EguiContexts,
    watch: Res<Watch>,
    compare: Res<Compare>,
    library: Res<Library>,
    learning: Res<Learning>,
    pb: Res<Playback>,
    status: Res<Status>,
    mut state: ResMut<UiState>,
    mut intents: ResMut<Intents>,
    mut cost: ResMut<FrameCost>,
) -> Result {
    let started = std::time::Instant::now();
    let ctx = contexts.ctx_mut()?.clone();
    lay_out(
        &ctx,
        &watch,
        &compare,
        &library,
        &learning,
        &pb,
        &status.0,
        &mut state,
        &mut intents,
    );
    cost.record(started.elapsed().as_secs_f64() * 1000.0);
    Ok(())
}

/// Lays out every panel of the window into `ctx`, inside the context's current pass.
///
/// Separate from the bevy system so that the benchmark (`benches/ui.rs`) can drive the very
/// same layout through a bare `egui::Context`, without a window or a GPU.
#[allow(clippy::too_many_arguments)] // everything the window shows
pub fn lay_out(
    ctx: &egui::Context,
    watch: &Watch,
    compare: &Compare,
    library: &Library,
    learning: &Learning,
    pb: &Playback,
    status: &str,
    state: &mut UiState,
    intents: &mut Intents,
) {
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
            cluster_view::show(
                &mut root,
                watch,
                compare.other.as_ref(),
                compare.change.as_deref(),
                highlight,
                pb,
                state,
                intents,
            );
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

/// A clickable time, the same everywhere: jumps there.
pub(crate) fn time_link(ui: &mut egui::Ui, at: u64, intents: &mut Intents) {
    if ui
        .link(crate::playback::fmt_ms(at as f64))
        .on_hover_text("jump to this moment")
        .clicked()
    {
        intents.push(Intent::Seek(at as f64));
    }
}
