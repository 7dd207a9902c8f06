//! What only the window cares about: which panels and dialogs are open, the staged forms, the
//! selection, and what the last frame cost. The app without a window has none of it.

use bevy::prelude::*;
use bevy_egui::egui;
use kafkascope_sim::ids::NodeId;

use crate::panels::add_client::{self, ClientKind};
use crate::panels::compare_change::ChangeDialog;
use crate::panels::link_sliders::LinkEdit;
use crate::panels::producer_settings::ProducerEdit;

/// The Save or Open dialog's path field.
#[derive(Clone, Debug, PartialEq)]
pub enum FileDialog {
    Save(String),
    Open(String),
}

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
    pub fn parse(name: &str) -> Option<(SideTab, Option<ClientKind>)> {
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
    pub(crate) applied_presenter: Option<bool>,
    pub help: bool,
    pub side_panel: bool,
    pub tab: SideTab,
    pub selected: Option<NodeId>,
    pub log_filter: String,
    pub colour_by_key: bool,
    pub file_dialog: Option<FileDialog>,
    /// The staged latency and loss sliders of the node menu's link section.
    pub link_edit: Option<LinkEdit>,
    /// The staged settings of the selected producer.
    pub producer_edit: Option<ProducerEdit>,
    /// Which "add a client" form the Interventions tab shows, its fields, and why the last
    /// attempt was refused.
    pub adding: Option<ClientKind>,
    pub add_client: Option<add_client::AddClient>,
    pub add_client_error: Option<String>,
    /// The "Compare with a change…" dialog, when open.
    pub change_dialog: Option<ChangeDialog>,
    /// Where the cluster view put each node's box in the last frame (for drags, and for tests
    /// that drive them).
    pub node_boxes: std::collections::BTreeMap<NodeId, egui::Rect>,
    /// The prediction choice selected but not locked in: `((lesson, step), choice)`.
    pub lesson_choice: Option<((String, usize), usize)>,
    /// The lesson panel's command line.
    pub lesson_command: String,
    /// The lesson shown last frame: opening one hides the side panel (the lesson panel takes
    /// its place), leaving it brings the side panel back as it was.
    pub(crate) lesson_seen: Option<String>,
    pub(crate) side_panel_before: bool,
    /// Free-play work saved by an earlier visit, `(name, scenario TOML)`, which the home
    /// screen offers back (the browser build's autosave; always `None` on the desktop).
    pub resume: Option<(String, String)>,
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
            resume: None,
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

    pub(crate) fn record(&mut self, ms: f64) {
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
