//! The cluster view: the controller at the top, the brokers with their partition replicas in
//! the middle, producers, the reader and consumers below, links between them with messages in
//! flight as moving dots, and every fault drawn where it happens.
//!
//! Everything here is a function of the [`ClusterAt`] (the trace folded up to the displayed
//! millisecond) and the fractional display time, which only moves the dots between the
//! simulation's whole-millisecond steps.

mod clients;
mod cut;
mod layout;
mod legend;
mod links;
mod nodes;
mod storage;
mod txn;

use std::cell::RefCell;
use std::collections::BTreeMap;

use bevy_egui::egui::{self, pos2, vec2, Align2, FontId, Rect, Sense, Stroke};
use kafkascope_sim::ids::NodeId;

use crate::cluster_state::ClusterAt;
use crate::intents::{Intent, Intents};
use crate::playback::Playback;
use crate::session::Session;
use crate::state::{UiState, Watch};
use crate::theme::{palette, Palette};

use cut::drag_cut;
use layout::{layout, node_at, Layout, Route, Shape};

/// What a lesson step draws attention to: nodes and partitions, by the names the lesson uses
/// (`broker-2`, `controller`, `producer-a`, `orders-0`).
#[derive(Default)]
struct Highlight {
    nodes: std::collections::BTreeSet<NodeId>,
    partitions: std::collections::BTreeSet<String>,
}

impl Highlight {
    fn new(names: &[String], session: &Session) -> Self {
        let mut h = Highlight::default();
        for n in names {
            match session.names.parse(n) {
                Some(node) => {
                    h.nodes.insert(node);
                }
                None => {
                    h.partitions.insert(n.clone());
                }
            }
        }
        h
    }
}

/// What the central panel shows: the session on screen, in compare mode the other one beside
/// it (with the setting changed in it, when that is all that differs), and what the lesson
/// step points at.
pub struct Shown<'a> {
    pub watch: &'a Watch,
    pub other: Option<&'a Watch>,
    pub change: Option<&'a str>,
    pub highlight: &'a [String],
    pub pb: &'a Playback,
}

pub fn show(root: &mut egui::Ui, shown: Shown, state: &mut UiState, intents: &mut Intents) {
    let Shown {
        watch,
        other,
        change,
        highlight,
        pb,
    } = shown;
    let Some(session) = &watch.session else {
        return;
    };
    let p = palette(state.presenter);
    egui::CentralPanel::default()
        .frame(egui::Frame::NONE.fill(p.background))
        .show(root, |ui| {
            let full = ui.max_rect();
            let Some(other) = other.filter(|o| o.session.is_some()) else {
                let picture = Picture {
                    rect: full,
                    salt: "main",
                    watch,
                    session,
                    clickable: true,
                };
                draw(ui, picture, highlight, pb, state, intents);
                return;
            };
            // Compare: two halves with a title each; only the left one takes interventions.
            let title_h = if state.presenter { 52.0 } else { 42.0 };
            let half = full.width() / 2.0;
            for (i, w) in [watch, other].into_iter().enumerate() {
                let Some(s) = &w.session else { continue };
                let x = full.left() + i as f32 * half;
                let title = Rect::from_min_size(pos2(x, full.top()), vec2(half, title_h));
                compare_title(ui, title, s, pb, state.presenter, i == 0, change);
                let rect =
                    Rect::from_min_max(pos2(x, title.bottom()), pos2(x + half, full.bottom()));
                let picture = Picture {
                    rect,
                    salt: ["left", "right"][i],
                    watch: w,
                    session: s,
                    clickable: i == 0,
                };
                draw(ui, picture, highlight, pb, state, intents);
            }
            ui.painter().vline(
                full.center().x,
                full.y_range(),
                Stroke::new(1.0, p.node_stroke),
            );
        });
}

/// One half's heading in compare mode: the scenario, and the checkers that are broken at the
/// displayed moment (where the two runs part ways).
///
/// When the right half is the same scenario with a setting changed, the change is its title
/// (`with producer-a acks=all`), and the left one says it is the scenario as written.
fn compare_title(
    ui: &egui::Ui,
    rect: Rect,
    s: &Session,
    pb: &Playback,
    presenter: bool,
    left: bool,
    change: Option<&str>,
) {
    let p = palette(presenter);
    let shown = pb.shown(s);
    let painter = ui.painter_at(rect);
    let size = if presenter { 18.0 } else { 14.0 };
    // Two lines: the name (clipped to the half), then the checkers.
    let at = rect.left_top() + vec2(14.0, 4.0);
    let font = FontId::proportional(size);
    match (change, left) {
        (Some(c), _) => {
            let (head, colour) = if left {
                ("as written: ".to_string(), p.dim)
            } else {
                (format!("with {c}: "), p.selected)
            };
            let r = painter.text(at, Align2::LEFT_TOP, head, font.clone(), colour);
            painter.text(
                pos2(r.right(), at.y),
                Align2::LEFT_TOP,
                &s.scenario.name,
                font,
                p.text,
            );
        }
        (None, _) => {
            let name = format!(
                "{}{}",
                s.scenario.name,
                if left { "" } else { "  (compared)" }
            );
            painter.text(at, Align2::LEFT_TOP, name, font, p.text);
        }
    }
    let (text, colour) = match &s.findings {
        None => (
            format!(
                "simulating… {}",
                crate::playback::fmt_ms(s.simulated_to as f64)
            ),
            p.dim,
        ),
        Some(f) => {
            let broken: Vec<&str> = kafkascope_sim::scenario::CheckerId::ALL
                .iter()
                .filter(|c| {
                    f.verdict(**c)
                        .violation
                        .as_ref()
                        .is_some_and(|v| v.at <= shown)
                })
                .map(|c| c.name())
                .collect();
            if broken.is_empty() {
                ("✔ every checker holds".to_string(), p.ok)
            } else {
                (format!("✖ {}", broken.join(", ")), p.bad)
            }
        }
    };
    painter.text(
        rect.left_bottom() + vec2(14.0, -2.0),
        Align2::LEFT_BOTTOM,
        text,
        FontId::proportional(size),
        colour,
    );
}

/// One cluster picture and where it goes. `salt` keeps the click targets of two pictures
/// apart; only a `clickable` one opens the intervention menu and takes drags that cut links.
struct Picture<'a> {
    rect: Rect,
    salt: &'a str,
    watch: &'a Watch,
    session: &'a Session,
    clickable: bool,
}

fn draw(
    ui: &mut egui::Ui,
    picture: Picture,
    highlight: &[String],
    pb: &Playback,
    state: &mut UiState,
    intents: &mut Intents,
) {
    let Picture {
        rect,
        salt,
        watch,
        session,
        clickable,
    } = picture;
    let highlight = Highlight::new(highlight, session);
    let p = palette(state.presenter);
    let full = rect.shrink(14.0);
    // The legend takes two lines where one would not fit.
    let two_lines = full.width() < if state.presenter { 1500.0 } else { 1100.0 };
    let line_h = if state.presenter { 24.0 } else { 20.0 };
    let legend_h = if two_lines { 2.0 * line_h } else { line_h };
    let (area, strip) = (
        Rect::from_min_max(full.min, pos2(full.right(), full.bottom() - legend_h - 6.0)),
        Rect::from_min_max(pos2(full.left(), full.bottom() - legend_h), full.max),
    );
    let shape = Shape::of(session);
    let layout = layout(area, &shape);
    let painter = ui.painter_at(rect);
    let mut view = View {
        session,
        cluster: &watch.cluster,
        shape,
        p,
        presenter: state.presenter,
        by_key: state.colour_by_key,
        layout: &layout,
        painter: &painter,
        routes: BTreeMap::new(),
        highlight: &highlight,
        tooltip: RefCell::new(None),
    };
    view.plan_routes();
    view.links();
    let t = pb.time_ms.min(Playback::available(session));
    // A drag from one box to another cuts the link between them (with Shift, one way).
    let mut dragging: Option<NodeId> = None;
    let mut dropped: Option<NodeId> = None;
    for (&node, &rect) in &layout.nodes {
        let id = egui::Id::new((salt, "node", node));
        let sense = if clickable {
            Sense::click_and_drag()
        } else {
            Sense::click()
        };
        let r = ui.interact(rect, id, sense);
        let hovered = clickable && r.hovered();
        let selected = state.selected == Some(node);
        match node {
            NodeId::Controller => view.controller(rect, hovered || selected),
            NodeId::Broker(b) => view.broker(b, rect, hovered || selected),
            NodeId::Producer(i) => view.producer(i, rect),
            NodeId::Reader => view.reader(rect),
            NodeId::Consumer(i) => view.consumer(i, rect, hovered || selected),
            NodeId::Client(i) => view.real_client(i, rect),
        }
        if highlight.nodes.contains(&node) {
            view.glow(rect);
        }
        // What the pointer is over inside the box (a marker, an aborted record, the LSO).
        let r = match view.tooltip.take() {
            Some(text) => r.on_hover_text(text),
            None => r,
        };
        // Nothing to click on a client that has not joined yet.
        if !clickable || view.joins_later(node).is_some() {
            continue;
        }
        if matches!(
            node,
            NodeId::Controller | NodeId::Broker(_) | NodeId::Producer(_) | NodeId::Consumer(_)
        ) {
            let r = r.clone().on_hover_cursor(egui::CursorIcon::PointingHand);
            if r.clicked() {
                state.selected = Some(node);
            }
        }
        if r.dragged() {
            dragging = Some(node);
        }
        if r.drag_stopped() {
            dropped = Some(node);
        }
    }
    if clickable {
        state.node_boxes = layout.nodes.clone();
        let pointer = ui.ctx().input(|i| i.pointer.latest_pos());
        let one_way = ui.ctx().input(|i| i.modifiers.shift);
        if let (Some(from), Some(pos)) = (dropped, pointer) {
            if let Some(to) = node_at(&layout, pos) {
                if let Some(cmd) = drag_cut(session, &watch.cluster, from, to, one_way) {
                    intents.push(Intent::Intervene(cmd));
                }
            }
        } else if let (Some(from), Some(pos)) = (dragging, pointer) {
            view.drag_preview(from, pos, one_way);
        }
    }
    view.dots(t);
    view.legend(strip, two_lines);
}

struct View<'a> {
    session: &'a Session,
    cluster: &'a ClusterAt,
    p: Palette,
    presenter: bool,
    by_key: bool,
    shape: Shape,
    layout: &'a Layout,
    painter: &'a egui::Painter,
    routes: BTreeMap<(NodeId, NodeId), Route>,
    highlight: &'a Highlight,
    /// The hover text for what the pointer is over inside the box just drawn.
    tooltip: RefCell<Option<String>>,
}

impl View<'_> {
    pub(super) fn font(&self, size: f32) -> FontId {
        FontId::proportional(if self.presenter { size * 1.15 } else { size })
    }

    pub(super) fn mono(&self, size: f32) -> FontId {
        FontId::monospace(if self.presenter { size * 1.15 } else { size })
    }
}
