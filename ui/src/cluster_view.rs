//! The cluster view: the controller at the top, the brokers with their partition replicas in
//! the middle, producers, the reader and consumers below, links between them with messages in
//! flight as moving dots, and every fault drawn where it happens.
//!
//! Everything here is a function of the [`ClusterAt`] (the trace folded up to the displayed
//! millisecond) and the fractional display time, which only moves the dots between the
//! simulation's whole-millisecond steps.

use std::collections::BTreeMap;

use bevy_egui::egui::{self, pos2, vec2, Align2, Color32, FontId, Pos2, Rect, Sense, Stroke};
use kafkascope_sim::command::{Command, Target};
use kafkascope_sim::ids::{BrokerId, Millis, NodeId, TopicPartition, OFFSETS_TOPIC};
use kafkascope_sim::replay::ReplayRole;
use kafkascope_sim::trace::CrashKind;

use crate::cluster_state::{ClusterAt, ConsumerPhase, NodeState};
use crate::intents::{Intent, Intents};
use crate::playback::Playback;
use crate::session::Session;
use crate::state::{UiState, Watch};
use crate::theme::{self, palette, Palette};

/// Most dots drawn in one frame; past this the picture is a blur anyway.
const MAX_DOTS: usize = 4000;

/// The tallest a replica row gets, when a broker has few partitions.
const MAX_ROW_H: f32 = 36.0;

/// The narrowest a producer's or consumer's box gets before the clients take another row.
const MIN_CLIENT_W: f32 = 170.0;

/// The shortest a replica row should get; the clients take fewer rows to leave the brokers this.
const MIN_ROW_H: f32 = 16.0;

/// Where each node's box goes.
pub struct Layout {
    pub nodes: BTreeMap<NodeId, Rect>,
}

/// Places the controller on top, brokers in a grid, producers, the reader and consumers at the bottom.
pub fn layout(area: Rect, session: &Session) -> Layout {
    let s = &session.scenario;
    let mut nodes = BTreeMap::new();
    // Wide enough for "orders-0: leader broker-1 · epoch 0 · ISR [1, 2, 3]".
    let offsets = session
        .consumers
        .iter()
        .any(|c| c.group.is_some())
        .then_some((OFFSETS_TOPIC.len(), 3));
    let line_chars = s
        .topics
        .iter()
        .map(|t| (t.name.len(), t.replication_factor as usize))
        .chain(offsets)
        .map(|(name, rf)| name + 4 + 36 + 3 * rf)
        .max()
        .unwrap_or(40) as f32;
    // `__consumer_offsets` has at least one partition where some consumer has a group.
    let partitions: usize = s
        .topics
        .iter()
        .map(|t| t.partitions as usize)
        .sum::<usize>()
        + session.grown_partitions()
        + usize::from(offsets.is_some());
    let ctrl_h = 34.0 + 15.0 * partitions.min(4) as f32;
    let ctrl_w = (line_chars * 7.4 + 24.0).max(300.0).min(area.width());
    nodes.insert(
        NodeId::Controller,
        Rect::from_center_size(
            pos2(area.center().x, area.top() + ctrl_h / 2.0),
            vec2(ctrl_w, ctrl_h),
        ),
    );
    let n = s.brokers.max(1) as usize;
    let cols = if n <= 4 {
        n
    } else {
        ((n as f32 * area.width() / area.height().max(1.0))
            .sqrt()
            .ceil() as usize)
            .clamp(1, n)
    };
    let rows = n.div_ceil(cols);
    // As tall as the busiest broker's replica rows need, no taller: empty boxes read as
    // "something is missing".
    let most = s
        .broker_ids()
        .into_iter()
        .map(|b| {
            s.topics
                .iter()
                .flat_map(|t| t.assignment.iter())
                .filter(|a| a.contains(&b))
                .count()
        })
        .max()
        .unwrap_or(0)
        + session.grown_replicas_per_broker();
    // Consumers have a third line (owned partitions), so the row is taller when there are any.
    let client_h = if session.consumers.is_empty() {
        58.0
    } else {
        74.0
    };
    let clients: Vec<NodeId> = (0..session.producers.len())
        .map(|i| NodeId::Producer(i as u16))
        .chain(s.reader.then_some(NodeId::Reader))
        .chain((0..session.consumers.len()).map(|i| NodeId::Consumer(i as u16)))
        .collect();
    let (gap, row_gap) = (16.0, 10.0);
    // Clients share a row while each box keeps room for its name and two short lines; more
    // clients than that wrap onto further rows rather than squeeze their text illegible, as
    // long as the brokers keep room for their replica rows at a readable height (presenter
    // mode at 720p is short). Past that the boxes get narrower instead.
    let link_gap = (area.height() * 0.09).clamp(28.0, 70.0);
    let brokers_min_h =
        rows as f32 * (34.0 + most.max(1) as f32 * MIN_ROW_H) + (rows as f32 - 1.0) * 22.0;
    let spare = area.height() - ctrl_h - 2.0 * link_gap - brokers_min_h;
    let max_client_rows = ((spare + row_gap) / (client_h + row_gap)).floor().max(1.0) as usize;
    let fit = ((area.width() + gap) / (MIN_CLIENT_W + gap))
        .floor()
        .max(1.0) as usize;
    let client_rows = clients.len().div_ceil(fit).clamp(1, max_client_rows);
    let per_row = clients.len().div_ceil(client_rows).max(1);
    let clients_h = client_rows as f32 * client_h + (client_rows - 1) as f32 * row_gap;
    for (row, chunk) in clients.chunks(per_row).enumerate() {
        let n = chunk.len() as f32;
        // Every row has the first row's box width, so the boxes line up.
        let cols = clients.len().min(per_row) as f32;
        let w = ((area.width() - gap * (cols - 1.0)) / cols).min(250.0);
        let total = w * n + gap * (n - 1.0);
        let mut x = area.center().x - total / 2.0;
        let y = area.bottom() - clients_h + row as f32 * (client_h + row_gap);
        for &c in chunk {
            nodes.insert(c, Rect::from_min_size(pos2(x, y), vec2(w, client_h)));
            x += w + gap;
        }
    }
    let top = area.top() + ctrl_h + link_gap;
    let bottom = area.bottom() - clients_h - link_gap;
    let bgap = 22.0;
    let bw = (area.width() - bgap * (cols as f32 - 1.0)) / cols as f32;
    let room = ((bottom - top) - bgap * (rows as f32 - 1.0)) / rows as f32;
    let bh = room.min(34.0 + most.max(1) as f32 * MAX_ROW_H);
    for (i, b) in s.broker_ids().into_iter().enumerate() {
        let (r, c) = (i / cols, i % cols);
        let in_row = if r == rows - 1 { n - r * cols } else { cols };
        let offset = (cols - in_row) as f32 * (bw + bgap) / 2.0;
        let x = area.left() + offset + c as f32 * (bw + bgap);
        let y = top + r as f32 * (bh + bgap);
        nodes.insert(
            NodeId::Broker(b),
            Rect::from_min_size(pos2(x, y), vec2(bw, bh.max(40.0))),
        );
    }
    // Pull the controller and the clients toward the brokers, then centre the picture, so
    // that a small cluster is not three islands on a big screen.
    let brokers = nodes
        .iter()
        .filter(|(n, _)| matches!(n, NodeId::Broker(_)))
        .map(|(_, r)| *r)
        .reduce(|a, b| a.union(b));
    if let Some(band) = brokers {
        let g = (area.height() * 0.12).clamp(50.0, 110.0);
        let clients_top = area.bottom() - clients_h;
        for (n, r) in nodes.iter_mut() {
            match n {
                NodeId::Controller => {
                    let dy = (band.top() - g - r.bottom()).max(0.0);
                    *r = r.translate(vec2(0.0, dy));
                }
                NodeId::Producer(_) | NodeId::Reader | NodeId::Consumer(_) => {
                    // All rows move together, so the first row is `g` under the brokers.
                    let dy = (band.bottom() + g - clients_top).min(0.0);
                    *r = r.translate(vec2(0.0, dy));
                }
                NodeId::Broker(_) => {}
            }
        }
        let all = nodes.values().copied().reduce(|a, b| a.union(b));
        if let Some(all) = all {
            let dy = area.center().y - all.center().y;
            for r in nodes.values_mut() {
                *r = r.translate(vec2(0.0, dy));
            }
        }
    }
    Layout { nodes }
}

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

#[allow(clippy::too_many_arguments)] // the picture, the compared one, and the controls
pub fn show(
    root: &mut egui::Ui,
    watch: &Watch,
    other: Option<&Watch>,
    change: Option<&str>,
    highlight: &[String],
    pb: &Playback,
    state: &mut UiState,
    intents: &mut Intents,
) {
    let Some(session) = &watch.session else {
        return;
    };
    let p = palette(state.presenter);
    egui::CentralPanel::default()
        .frame(egui::Frame::NONE.fill(p.background))
        .show(root, |ui| {
            let full = ui.max_rect();
            let Some(other) = other.filter(|o| o.session.is_some()) else {
                draw(
                    ui, full, "main", watch, session, highlight, pb, state, intents, true,
                );
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
                draw(
                    ui,
                    rect,
                    ["left", "right"][i],
                    w,
                    s,
                    highlight,
                    pb,
                    state,
                    intents,
                    i == 0,
                );
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

/// One cluster picture in `rect`. `salt` keeps the click targets of two pictures apart;
/// only a `clickable` one opens the intervention menu and takes drags that cut links.
#[allow(clippy::too_many_arguments)]
fn draw(
    ui: &mut egui::Ui,
    rect: Rect,
    salt: &str,
    watch: &Watch,
    session: &Session,
    highlight: &[String],
    pb: &Playback,
    state: &mut UiState,
    intents: &mut Intents,
    clickable: bool,
) {
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
    let layout = layout(area, session);
    let painter = ui.painter_at(rect);
    let mut view = View {
        session,
        cluster: &watch.cluster,
        p,
        presenter: state.presenter,
        by_key: state.colour_by_key,
        layout: &layout,
        painter: &painter,
        routes: BTreeMap::new(),
        highlight: &highlight,
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
        }
        if highlight.nodes.contains(&node) {
            view.glow(rect);
        }
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

/// Owned partitions, compactly: `orders 0,1,4` per topic, or `nothing`.
fn owned_text(owned: &[TopicPartition]) -> String {
    if owned.is_empty() {
        return "nothing".into();
    }
    let mut by_topic: BTreeMap<&str, Vec<u32>> = BTreeMap::new();
    for tp in owned {
        by_topic.entry(&tp.topic).or_default().push(tp.partition);
    }
    by_topic
        .into_iter()
        .map(|(t, mut ps)| {
            ps.sort_unstable();
            let ps: Vec<String> = ps.iter().map(|p| p.to_string()).collect();
            format!("{t} {}", ps.join(","))
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

/// The node whose box contains `pos` (the topmost, when boxes overlap).
pub fn node_at(layout: &Layout, pos: Pos2) -> Option<NodeId> {
    layout
        .nodes
        .iter()
        .rev()
        .find(|(_, r)| r.contains(pos))
        .map(|(n, _)| *n)
}

/// Whether `a` and `b` talk to each other over a link the cluster view draws: the controller
/// and the brokers, brokers among themselves, producers, the reader and consumers with brokers.
pub fn linked(session: &Session, a: NodeId, b: NodeId) -> bool {
    let s = &session.scenario;
    let known = |n: NodeId| match n {
        NodeId::Controller => true,
        NodeId::Broker(id) => (1..=s.brokers).contains(&id),
        NodeId::Producer(i) => session.producer(i).is_some(),
        NodeId::Reader => s.reader,
        NodeId::Consumer(i) => session.consumer(i).is_some(),
    };
    let broker = |n: NodeId| matches!(n, NodeId::Broker(_));
    a != b && known(a) && known(b) && (broker(a) || broker(b))
}

/// The command a drag from `from` to `to` makes: the link cut both ways, or with `one_way`
/// only `from → to` (`from` can no longer reach `to`). The same `partition` command the node
/// menu gives, so Save writes it as a scenario's `[[faults]]` entry. `None` when the two do not
/// talk to each other or the link is already cut that way.
pub fn drag_cut(
    session: &Session,
    cluster: &ClusterAt,
    from: NodeId,
    to: NodeId,
    one_way: bool,
) -> Option<Command> {
    if !linked(session, from, to) {
        return None;
    }
    let cut = cluster.link(from, to).cut && (one_way || cluster.link(to, from).cut);
    if cut {
        return None;
    }
    Some(Command::Partition {
        from: vec![Target::Node(from)],
        to: vec![Target::Node(to)],
        one_way,
    })
}

struct View<'a> {
    session: &'a Session,
    cluster: &'a ClusterAt,
    p: Palette,
    presenter: bool,
    by_key: bool,
    layout: &'a Layout,
    painter: &'a egui::Painter,
    routes: BTreeMap<(NodeId, NodeId), Route>,
    highlight: &'a Highlight,
}

/// A link's path: a quadratic Bézier curve (straight when the control point is the middle).
#[derive(Clone, Copy, Debug)]
struct Route {
    a: Pos2,
    c: Pos2,
    b: Pos2,
}

impl Route {
    fn at(&self, k: f32) -> Pos2 {
        let u = 1.0 - k;
        pos2(
            u * u * self.a.x + 2.0 * u * k * self.c.x + k * k * self.b.x,
            u * u * self.a.y + 2.0 * u * k * self.c.y + k * k * self.b.y,
        )
    }

    fn tangent(&self, k: f32) -> egui::Vec2 {
        (2.0 * (1.0 - k) * (self.c - self.a) + 2.0 * k * (self.b - self.c)).normalized()
    }

    fn points(&self, from: f32, to: f32) -> Vec<Pos2> {
        (0..=24)
            .map(|i| self.at(from + (to - from) * i as f32 / 24.0))
            .collect()
    }

    /// The same path the other way round.
    fn reversed(self) -> Route {
        Route {
            a: self.b,
            c: self.c,
            b: self.a,
        }
    }
}

/// Where the segment between two boxes' centres leaves `r`.
fn edge_point(r: Rect, toward: Pos2) -> Pos2 {
    let c = r.center();
    let d = toward - c;
    if d.x == 0.0 && d.y == 0.0 {
        return c;
    }
    let sx = if d.x != 0.0 {
        (r.width() / 2.0) / d.x.abs()
    } else {
        f32::INFINITY
    };
    let sy = if d.y != 0.0 {
        (r.height() / 2.0) / d.y.abs()
    } else {
        f32::INFINITY
    };
    c + d * sx.min(sy).min(1.0)
}

impl View<'_> {
    fn font(&self, size: f32) -> FontId {
        FontId::proportional(if self.presenter { size * 1.15 } else { size })
    }

    fn mono(&self, size: f32) -> FontId {
        FontId::monospace(if self.presenter { size * 1.15 } else { size })
    }

    /// The route of the link from `a` to `b`: straight, or, when another box is in the way
    /// (brokers in a row that are not neighbours), a curve below the boxes.
    fn route(&self, a: NodeId, b: NodeId) -> Option<Route> {
        let key = if a < b { (a, b) } else { (b, a) };
        let r = *self.routes.get(&key)?;
        Some(if key.0 == a { r } else { r.reversed() })
    }

    /// Every link's route, computed once a frame (a dot only looks its link up).
    fn plan_routes(&mut self) {
        let mut routes = BTreeMap::new();
        for (a, b) in self.pairs() {
            let key = if a < b { (a, b) } else { (b, a) };
            if let Some(r) = self.compute_route(key.0, key.1) {
                routes.insert(key, r);
            }
        }
        self.routes = routes;
    }

    fn compute_route(&self, a: NodeId, b: NodeId) -> Option<Route> {
        let ra = *self.layout.nodes.get(&a)?;
        let rb = *self.layout.nodes.get(&b)?;
        let (pa, pb) = (edge_point(ra, rb.center()), edge_point(rb, ra.center()));
        let blocked = self.layout.nodes.iter().any(|(n, r)| {
            *n != a
                && *n != b
                && (0..=16).any(|i| r.shrink(4.0).contains(pa.lerp(pb, i as f32 / 16.0)))
        });
        if !blocked {
            return Some(Route {
                a: pa,
                c: pa.lerp(pb, 0.5),
                b: pb,
            });
        }
        let toward = if rb.center().x > ra.center().x {
            1.0
        } else {
            -1.0
        };
        let sa = pos2(ra.center().x + toward * ra.width() * 0.25, ra.bottom());
        let sb = pos2(rb.center().x - toward * rb.width() * 0.25, rb.bottom());
        let dip = 40.0 + 0.12 * (sb.x - sa.x).abs();
        let c = pos2((sa.x + sb.x) / 2.0, ra.bottom().max(rb.bottom()) + dip);
        Some(Route { a: sa, c, b: sb })
    }

    /// The pairs of nodes that talk to each other.
    fn pairs(&self) -> Vec<(NodeId, NodeId)> {
        let s = &self.session.scenario;
        let brokers: Vec<NodeId> = s.broker_ids().into_iter().map(NodeId::Broker).collect();
        let mut v = Vec::new();
        for (i, &a) in brokers.iter().enumerate() {
            v.push((NodeId::Controller, a));
            for &b in &brokers[i + 1..] {
                v.push((a, b));
            }
            for c in 0..self.session.producers.len() {
                v.push((NodeId::Producer(c as u16), a));
            }
            if s.reader {
                v.push((NodeId::Reader, a));
            }
            for c in 0..self.session.consumers.len() {
                v.push((NodeId::Consumer(c as u16), a));
            }
        }
        v
    }

    /// While dragging from `from`: a dashed red line to the pointer, the box under it, and
    /// what letting go there does.
    fn drag_preview(&self, from: NodeId, pos: Pos2, one_way: bool) {
        let Some(&ra) = self.layout.nodes.get(&from) else {
            return;
        };
        let p = &self.p;
        let names = &self.session.names;
        let target = node_at(self.layout, pos)
            .filter(|n| *n != from)
            .filter(|n| linked(self.session, from, *n));
        let start = edge_point(ra, pos);
        let end = match target.and_then(|n| self.layout.nodes.get(&n)) {
            Some(&rb) => {
                self.painter.rect_stroke(
                    rb,
                    6.0,
                    Stroke::new(3.0, p.cut),
                    egui::StrokeKind::Inside,
                );
                edge_point(rb, ra.center())
            }
            None => pos,
        };
        self.painter.extend(egui::Shape::dashed_line(
            &[start, end],
            Stroke::new(2.5, p.cut),
            8.0,
            5.0,
        ));
        if one_way {
            let d = (end - start).normalized();
            self.painter.arrow(
                start.lerp(end, 0.5) - d * 9.0,
                d * 18.0,
                Stroke::new(2.5, p.cut),
            );
        }
        let text = match target {
            Some(to) if one_way => {
                format!("✂ cut {} → {} (one way)", names.name(from), names.name(to))
            }
            Some(to) => format!("✂ cut {} ⇄ {}", names.name(from), names.name(to)),
            None => "drop on a node to cut the link (Shift: one way)".to_string(),
        };
        self.label_box(pos + vec2(0.0, -18.0), &text, p.cut);
    }

    fn links(&self) {
        let p = &self.p;
        let slow: BTreeMap<(NodeId, NodeId), (u64, u64, f64)> = self
            .session
            .scenario
            .network
            .links
            .iter()
            .map(|(f, t, l)| ((*f, *t), (l.latency_min_ms, l.latency_max_ms, l.loss)))
            .collect();
        for (a, b) in self.pairs() {
            if self.joins_later(a).is_some() || self.joins_later(b).is_some() {
                continue;
            }
            let Some(route) = self.route(a, b) else {
                continue;
            };
            let ab = self.cluster.link(a, b);
            let ba = self.cluster.link(b, a);
            let mid = route.at(0.5);
            let client = matches!(
                a,
                NodeId::Producer(_) | NodeId::Reader | NodeId::Consumer(_)
            );
            let base = if client {
                p.link.gamma_multiply(0.6)
            } else {
                p.link
            };
            match (ab.cut, ba.cut) {
                (false, false) => {
                    self.painter
                        .line(route.points(0.0, 1.0), Stroke::new(1.5, base));
                }
                (true, true) => {
                    self.painter.extend(egui::Shape::dashed_line(
                        &route.points(0.0, 1.0),
                        Stroke::new(2.5, p.cut),
                        8.0,
                        5.0,
                    ));
                    self.label_box(mid, "✂ cut", p.cut);
                }
                (ab_cut, _) => {
                    // One way: the cut half is on the sending side, with an arrow.
                    let r = if ab_cut { route } else { route.reversed() };
                    self.painter
                        .line(route.points(0.0, 1.0), Stroke::new(1.5, base));
                    self.painter.extend(egui::Shape::dashed_line(
                        &r.points(0.0, 0.5),
                        Stroke::new(2.5, p.cut),
                        8.0,
                        5.0,
                    ));
                    self.painter
                        .arrow(r.at(0.3), r.tangent(0.3) * 18.0, Stroke::new(2.5, p.cut));
                    self.label_box(mid, "✂ one way", p.cut);
                }
            }
            if ab.held || ba.held {
                self.label_box(mid + vec2(0.0, 14.0), "⏸ held", p.held);
            }
            let params = ab
                .params
                .or(ba.params)
                .or_else(|| slow.get(&(a, b)).or_else(|| slow.get(&(b, a))).copied());
            if let Some((lo, hi, loss)) = params {
                let mut text = if lo == hi {
                    format!("{lo} ms")
                } else {
                    format!("{lo}..{hi} ms")
                };
                if loss > 0.0 {
                    text.push_str(&format!(" · loss {:.0}%", loss * 100.0));
                }
                self.label_box(mid - vec2(0.0, 14.0), &text, p.slow);
            }
        }
    }

    /// A lesson's attention mark around a box: an accent outline with a soft glow outside it.
    fn glow(&self, rect: Rect) {
        let c = self.p.accent;
        for i in 1..=4 {
            let k = i as f32;
            self.painter.rect_stroke(
                rect.expand(1.0 + 2.0 * k),
                6.0 + 2.0 * k,
                Stroke::new(2.0, c.gamma_multiply(0.55 / k)),
                egui::StrokeKind::Outside,
            );
        }
        self.painter.rect_stroke(
            rect.expand(1.0),
            7.0,
            Stroke::new(2.5, c),
            egui::StrokeKind::Outside,
        );
    }

    fn label_box(&self, at: Pos2, text: &str, colour: Color32) {
        let galley = self
            .painter
            .layout_no_wrap(text.to_string(), self.font(11.0), colour);
        let r = Rect::from_center_size(at, galley.size() + vec2(8.0, 2.0));
        self.painter.rect_filled(r, 3.0, self.p.background);
        self.painter
            .rect_stroke(r, 3.0, Stroke::new(1.0, colour), egui::StrokeKind::Inside);
        self.painter
            .galley(r.center() - galley.size() / 2.0, galley, colour);
    }

    /// The box, its title and a status badge; returns the body area under the title.
    ///
    /// In a narrow box the badge shrinks to its symbol and then the title is cut with `…`,
    /// so neither runs over the other or out of the box.
    fn node_box(&self, rect: Rect, title: &str, state: NodeState, highlight: bool) -> Rect {
        let p = &self.p;
        let (fill, stroke, badge) = match state {
            NodeState::Up => (p.node_fill, p.node_stroke, None),
            NodeState::Paused => (p.node_fill, p.paused, Some(("⏸ paused", p.paused))),
            NodeState::Down(CrashKind::Process) => {
                (p.node_down, p.cut, Some(("✖ crashed (process)", p.cut)))
            }
            NodeState::Down(CrashKind::PowerLoss) => {
                (p.node_down, p.cut, Some(("✖ power loss", p.cut)))
            }
            NodeState::Stopped => (p.node_down, p.dim, Some(("■ shut down", p.dim))),
        };
        self.painter.rect_filled(rect, 6.0, fill);
        let width = if highlight {
            3.0
        } else if state == NodeState::Up {
            1.2
        } else {
            2.5
        };
        let stroke = if highlight { p.selected } else { stroke };
        self.painter.rect_stroke(
            rect,
            6.0,
            Stroke::new(width, stroke),
            egui::StrokeKind::Inside,
        );
        let title_colour = if matches!(state, NodeState::Up | NodeState::Paused) {
            p.text
        } else {
            p.dim
        };
        let room = rect.width() - 16.0;
        let title_w = self.text_width(title, self.font(14.0));
        let badge = badge.map(|(text, c)| {
            let symbol = text.split(' ').next().unwrap_or(text);
            let fits = title_w + 10.0 + self.text_width(text, self.font(13.0)) <= room;
            (if fits { text } else { symbol }, c)
        });
        let badge_w = badge.map_or(0.0, |(t, _)| self.text_width(t, self.font(13.0)) + 10.0);
        self.text_in(
            rect.left_top() + vec2(8.0, 5.0),
            title,
            self.font(14.0),
            title_colour,
            room - badge_w,
        );
        if let Some((text, c)) = badge {
            self.painter.text(
                rect.right_top() + vec2(-8.0, 5.0),
                Align2::RIGHT_TOP,
                text,
                self.font(13.0),
                c,
            );
        }
        Rect::from_min_max(
            rect.left_top() + vec2(6.0, 24.0),
            rect.right_bottom() - vec2(6.0, 4.0),
        )
    }

    fn text_width(&self, text: &str, font: FontId) -> f32 {
        self.painter
            .layout_no_wrap(text.to_string(), font, Color32::WHITE)
            .size()
            .x
    }

    /// `text` on one line from `at`, cut with `…` where it would pass `max_w`.
    fn text_in(&self, at: Pos2, text: &str, font: FontId, colour: Color32, max_w: f32) -> Rect {
        let mut job = egui::text::LayoutJob::simple_singleline(text.to_string(), font, colour);
        job.wrap = egui::text::TextWrapping::truncate_at_width(max_w.max(8.0));
        let galley = self.painter.layout_job(job);
        let r = Rect::from_min_size(at, galley.size());
        self.painter.galley(at, galley, colour);
        r
    }

    /// The first of `variants` (longest first) that fits in `max_w`, on one line from `at`;
    /// the last one, cut with `…`, when none does.
    fn fitted(
        &self,
        at: Pos2,
        variants: &[String],
        font: FontId,
        colour: Color32,
        max_w: f32,
    ) -> Rect {
        let text = variants
            .iter()
            .find(|v| self.text_width(v, font.clone()) <= max_w)
            .or(variants.last())
            .map_or("", String::as_str);
        self.text_in(at, text, font, colour, max_w)
    }

    fn controller(&self, rect: Rect, highlight: bool) {
        let state = self.cluster.node(NodeId::Controller);
        let body = self.node_box(rect, "controller", state, highlight);
        let parts = &self.cluster.replay.partitions;
        let mut y = body.top();
        let shown = 4;
        // The scenario's own partitions first; `__consumer_offsets` is Kafka's bookkeeping.
        let internal = |tp: &TopicPartition| tp.topic.starts_with("__");
        let ordered = parts
            .iter()
            .filter(|(tp, _)| !internal(tp))
            .chain(parts.iter().filter(|(tp, _)| internal(tp)));
        for (tp, m) in ordered.take(shown) {
            let leader = m
                .leader
                .map(|l| format!("broker-{l}"))
                .unwrap_or_else(|| "none (offline)".into());
            let line = format!(
                "{tp}: leader {leader} · epoch {} · ISR {:?}",
                m.leader_epoch, m.isr
            );
            let under = m.isr.len() < m.replicas.len();
            let c = if m.leader.is_none() {
                self.p.bad
            } else if under {
                self.p.paused
            } else {
                self.p.dim
            };
            let r = self.text_in(
                pos2(body.left() + 2.0, y),
                &line,
                self.mono(11.5),
                c,
                body.width() - 2.0,
            );
            if self.highlight.partitions.contains(&tp.to_string()) {
                self.painter.rect_stroke(
                    r.expand2(vec2(3.0, 1.0)),
                    3.0,
                    Stroke::new(1.5, self.p.accent),
                    egui::StrokeKind::Outside,
                );
            }
            y += 15.0;
        }
        if parts.len() > shown {
            let offline = parts.values().filter(|m| m.leader.is_none()).count();
            let under = parts
                .values()
                .filter(|m| m.isr.len() < m.replicas.len())
                .count();
            self.painter.text(
                pos2(body.right(), rect.top() + 7.0),
                Align2::RIGHT_TOP,
                format!(
                    "{} partitions · {under} under-replicated · {offline} offline",
                    parts.len()
                ),
                self.font(11.0),
                self.p.dim,
            );
        }
    }

    /// The partitions `b` hosts, in topic and partition order.
    fn hosted(&self, b: BrokerId) -> Vec<TopicPartition> {
        let mut v = Vec::new();
        for t in &self.session.scenario.topics {
            for (i, replicas) in t.assignment.iter().enumerate() {
                if replicas.contains(&b) {
                    v.push(TopicPartition::new(t.name.clone(), i as u32));
                }
            }
        }
        // Partitions created or added while running, once the controller has placed them
        // (not `__consumer_offsets`, which is Kafka's bookkeeping, not the lesson's data).
        let declared = v.len();
        for (tp, m) in &self.cluster.replay.partitions {
            if m.replicas.contains(&b) && !tp.topic.starts_with("__") && !v[..declared].contains(tp)
            {
                v.push(tp.clone());
            }
        }
        v
    }

    fn record_colour(&self, value: &str) -> Color32 {
        match self.session.origins.get(value) {
            Some(o) if self.by_key => match &o.key {
                Some(k) => theme::hue_colour(theme::key_index(k) % 64, self.presenter),
                None => Color32::from_gray(170),
            },
            Some(o) => theme::hue_colour(o.producer as u64, self.presenter),
            None => Color32::from_gray(150),
        }
    }

    fn broker(&self, b: BrokerId, rect: Rect, highlight: bool) {
        let state = self.cluster.node(NodeId::Broker(b));
        let body = self.node_box(rect, &format!("broker-{b}"), state, highlight);
        let tps = self.hosted(b);
        if tps.is_empty() {
            return;
        }
        let row_h = (body.height() / tps.len() as f32).clamp(7.0, MAX_ROW_H);
        let rows = ((body.height() / row_h).floor() as usize).min(tps.len());
        let label_w = if row_h >= 12.0 {
            // Room for the ISR dot, the longest partition name and the leader pill.
            let fs = (row_h * 0.55).clamp(8.0, 13.5) * if self.presenter { 1.15 } else { 1.0 };
            let chars = tps.iter().map(|t| t.to_string().len()).max().unwrap_or(8) as f32;
            (13.0 + chars * fs * 0.62 + fs * 2.6 + 10.0).min(body.width() * 0.5)
        } else {
            0.0
        };
        for (i, tp) in tps.iter().take(rows).enumerate() {
            let row = Rect::from_min_size(
                pos2(body.left(), body.top() + i as f32 * row_h),
                vec2(body.width(), row_h),
            );
            self.replica_row(b, tp, row, label_w, state);
        }
        if rows < tps.len() {
            self.painter.text(
                body.right_bottom(),
                Align2::RIGHT_BOTTOM,
                format!("+{} more", tps.len() - rows),
                self.font(11.0),
                self.p.dim,
            );
        }
    }

    fn replica_row(
        &self,
        b: BrokerId,
        tp: &TopicPartition,
        row: Rect,
        label_w: f32,
        state: NodeState,
    ) {
        let p = &self.p;
        let replica = self.cluster.replay.replica(tp, b);
        let meta = self.cluster.replay.partitions.get(tp);
        let up = state != NodeState::Stopped && !matches!(state, NodeState::Down(_));
        let in_isr = meta.is_some_and(|m| m.isr.contains(&b));
        let is_leader = meta.is_some_and(|m| m.leader == Some(b));
        let acting_leader = replica.is_some_and(|r| r.role == ReplayRole::Leader);
        let inner = row.shrink2(vec2(0.0, (row.height() * 0.12).min(3.0)));
        let fs = (row.height() * 0.55).clamp(8.0, 13.5);
        if self.highlight.partitions.contains(&tp.to_string()) {
            self.painter.rect_filled(
                row.expand2(vec2(3.0, 0.0)),
                4.0,
                p.accent.gamma_multiply(0.12),
            );
            self.painter.rect_stroke(
                row.expand2(vec2(3.0, 0.0)),
                4.0,
                Stroke::new(2.0, p.accent),
                egui::StrokeKind::Inside,
            );
        }
        if label_w > 0.0 {
            let mut x = inner.left();
            // ISR membership: a filled dot in the ISR, a hollow red ring outside it.
            let c = pos2(x + 5.0, inner.center().y);
            if in_isr {
                self.painter.circle_filled(c, 4.0, p.in_isr);
            } else {
                self.painter
                    .circle_stroke(c, 4.0, Stroke::new(1.5, p.out_of_isr));
            }
            x += 13.0;
            let name_c = if up { p.text } else { p.dim };
            let r = self.painter.text(
                pos2(x, inner.center().y),
                Align2::LEFT_CENTER,
                tp.to_string(),
                self.mono(fs),
                name_c,
            );
            x = r.right() + 5.0;
            if is_leader || acting_leader {
                let epoch = meta.map(|m| m.leader_epoch).unwrap_or(0);
                // A broker acting as leader that the controller did not elect is a zombie.
                let (text, c) = if is_leader {
                    (format!("L{epoch}"), p.leader)
                } else {
                    ("L?".to_string(), p.out_of_isr)
                };
                // A pill: the leader stands out at a glance, in any font.
                let galley = self
                    .painter
                    .layout_no_wrap(text, self.font(fs * 0.9), Color32::BLACK);
                let pill = Rect::from_min_size(
                    pos2(x, inner.center().y - galley.size().y / 2.0 - 1.0),
                    galley.size() + vec2(8.0, 2.0),
                );
                self.painter.rect_filled(pill, 4.0, c);
                self.painter
                    .galley(pill.min + vec2(4.0, 1.0), galley, Color32::BLACK);
            }
        }
        // The offsets as numbers, right of the cells, when the row has room for them.
        let numbers_w = if row.height() >= 14.0 && inner.width() - label_w > 260.0 {
            fs * 8.5
        } else {
            0.0
        };
        let cells = Rect::from_min_max(
            pos2(inner.left() + label_w, inner.top()),
            pos2(inner.right() - numbers_w, inner.bottom()),
        );
        self.painter
            .rect_filled(cells, 2.0, p.background.gamma_multiply(0.9));
        let Some(r) = replica else { return };
        let leo = r.log.len();
        let hw = (r.high_watermark as usize).min(leo);
        let room = cells.width() - 14.0;
        let cell_w = (room / leo.max(1) as f32).clamp(6.0, 34.0);
        let capacity = ((room / cell_w).floor() as usize).max(1);
        let start = leo.saturating_sub(capacity);
        let mut x = cells.left() + 1.0;
        if start > 0 {
            self.painter.text(
                pos2(x, cells.center().y),
                Align2::LEFT_CENTER,
                "…",
                self.font(fs),
                p.dim,
            );
            x += 9.0;
        }
        let x0 = x;
        let gap = if cell_w >= 6.0 { 1.0 } else { 0.0 };
        for (o, v) in r.log.iter().enumerate().skip(start) {
            let cx = x0 + (o - start) as f32 * cell_w;
            let cr = Rect::from_min_size(
                pos2(cx, cells.top() + 1.0),
                vec2(cell_w - gap, cells.height() - 2.0),
            );
            let mut c = self.record_colour(v);
            if !up {
                c = c.gamma_multiply(0.35);
            }
            if o >= hw {
                // Above the HW: not committed, not visible to consumers yet.
                self.painter.rect_filled(cr, 1.5, c.gamma_multiply(0.35));
                self.painter
                    .rect_stroke(cr, 1.5, Stroke::new(1.0, c), egui::StrokeKind::Inside);
            } else {
                self.painter.rect_filled(cr, 1.5, c);
            }
            if cell_w >= 24.0 && cells.height() >= 13.0 {
                let short = v.rsplit('-').next().unwrap_or(v);
                self.painter.text(
                    cr.center(),
                    Align2::CENTER_CENTER,
                    short,
                    self.font(fs * 0.8),
                    Color32::BLACK,
                );
            }
        }
        let hx = x0 + (hw.max(start) - start) as f32 * cell_w - gap / 2.0;
        let lx = x0 + (leo - start) as f32 * cell_w - gap / 2.0;
        if hw >= start {
            self.painter.line_segment(
                [pos2(hx, row.top()), pos2(hx, row.bottom())],
                Stroke::new(2.5, p.hw),
            );
        }
        self.painter.line_segment(
            [pos2(lx + 2.0, row.top()), pos2(lx + 2.0, row.bottom())],
            Stroke::new(2.0, p.leo),
        );
        if numbers_w > 0.0 {
            self.painter.text(
                pos2(inner.right(), row.center().y),
                Align2::RIGHT_CENTER,
                format!("hw {hw} · leo {leo}"),
                self.mono(fs * 0.8),
                p.dim,
            );
        }
    }

    /// When `node` is a client added while running that has not joined yet at the displayed
    /// moment: the time it joins.
    fn joins_later(&self, node: NodeId) -> Option<Millis> {
        let at = *self.session.added_at.get(&node)?;
        (!self.cluster.added.contains(&node)).then_some(at)
    }

    /// The place of a client that an `add-producer`/`add-consumer` command starts later: a
    /// dashed outline with its name and when it joins, so the picture does not jump when it
    /// does.
    fn not_yet_added(&self, rect: Rect, node: NodeId, at: Millis) {
        let p = &self.p;
        let outline = [
            rect.left_top(),
            rect.right_top(),
            rect.right_bottom(),
            rect.left_bottom(),
            rect.left_top(),
        ];
        self.painter.extend(egui::Shape::dashed_line(
            &outline,
            Stroke::new(1.2, p.dim),
            6.0,
            4.0,
        ));
        let room = rect.width() - 16.0;
        self.text_in(
            rect.left_top() + vec2(8.0, 5.0),
            &self.session.names.name(node),
            self.font(14.0),
            p.dim,
            room,
        );
        self.fitted(
            rect.left_top() + vec2(8.0, 26.0),
            &[
                format!("joins at {} (added)", crate::playback::fmt_ms(at as f64)),
                format!("joins at {}", crate::playback::fmt_ms(at as f64)),
            ],
            self.font(11.5),
            p.dim,
            room,
        );
    }

    fn producer(&self, i: u16, rect: Rect) {
        let node = NodeId::Producer(i);
        let (Some(def), Some((config, rate))) = (
            self.session.producer(i),
            self.session.producer_at(i, self.cluster.at),
        ) else {
            return;
        };
        if let Some(at) = self.joins_later(node) {
            return self.not_yet_added(rect, node, at);
        }
        let body = self.node_box(
            rect,
            &self.session.names.name(node),
            self.cluster.node(node),
            false,
        );
        // The producer's colour (its records' cells) as a stripe down the left edge.
        let stripe = Rect::from_min_size(
            rect.left_top() + vec2(1.5, 6.0),
            vec2(3.0, rect.height() - 12.0),
        );
        self.painter
            .rect_filled(stripe, 1.5, theme::hue_colour(i as u64, self.presenter));
        let counts = self.cluster.producers.get(&i).copied().unwrap_or_default();
        let idempotent = config.idempotence().unwrap_or(def.idempotent);
        let (acks, w) = (config.acks, body.width());
        self.fitted(
            body.left_top(),
            &[
                format!("acks={acks} · idempotent={idempotent} · {rate} rec/s"),
                format!(
                    "acks={acks} · {} · {rate}/s",
                    if idempotent {
                        "idempotent"
                    } else {
                        "not idem."
                    }
                ),
                format!("acks={acks} · {rate}/s"),
            ],
            self.font(11.5),
            self.p.dim,
            w,
        );
        let (sent, acked, failed) = (counts.produced, counts.acked, counts.failed);
        self.fitted(
            body.left_top() + vec2(0.0, 15.0),
            &[
                format!("sent {sent} · acked {acked} · failed {failed}"),
                format!("sent {sent} · ack {acked} · fail {failed}"),
                format!("{sent} / {acked} ok / {failed} ✖"),
            ],
            self.font(11.5),
            self.p.text,
            w,
        );
    }

    fn reader(&self, rect: Rect) {
        let body = self.node_box(
            rect,
            "reader (consumer)",
            self.cluster.node(NodeId::Reader),
            false,
        );
        let lag = self.cluster.reader.lag(&self.cluster.replay);
        let w = body.width();
        self.fitted(
            body.left_top(),
            &[
                "reads every partition up to the HW".into(),
                "reads all up to the HW".into(),
            ],
            self.font(11.5),
            self.p.dim,
            w,
        );
        self.fitted(
            body.left_top() + vec2(0.0, 15.0),
            &[format!("read {} · lag {lag}", self.cluster.reader.consumed)],
            self.font(11.5),
            self.p.text,
            w,
        );
    }

    /// A consumer: its group and state, the partitions it owns, its lag.
    fn consumer(&self, i: u16, rect: Rect, highlight: bool) {
        let Some(def) = self.session.consumer(i) else {
            return;
        };
        let node = NodeId::Consumer(i);
        if let Some(at) = self.joins_later(node) {
            return self.not_yet_added(rect, node, at);
        }
        let state = self.cluster.node(node);
        let body = self.node_box(rect, &self.session.names.name(node), state, highlight);
        let c = self.cluster.consumer(i);
        let up = matches!(state, NodeState::Up | NodeState::Paused);
        let mut group = c
            .group
            .clone()
            .or_else(|| def.group.clone())
            .map_or_else(|| "no group".to_string(), |g| format!("group {g}"));
        let (phase, colour) = match (state, c.phase) {
            (NodeState::Down(_), _) => ("crashed", self.p.cut),
            (NodeState::Stopped, _) => ("stopped", self.p.dim),
            (_, ConsumerPhase::Failed) => ("failed", self.p.cut),
            (_, ConsumerPhase::Left) => ("left", self.p.dim),
            (_, ConsumerPhase::Joining) if self.cluster.at < def.start => {
                ("not started", self.p.dim)
            }
            (_, ConsumerPhase::Joining) => ("joining", self.p.paused),
            (_, ConsumerPhase::Rebalancing) => ("rebalancing", self.p.paused),
            (_, ConsumerPhase::Processing) => ("processing", self.p.in_isr),
        };
        let generation = c
            .generation
            .map(|g| format!(" · gen {g}"))
            .unwrap_or_default();
        let text = if up { self.p.text } else { self.p.dim };
        // The state where a broker's status badge goes, when it fits beside the name; a
        // crashed or stopped consumer has that badge already, and otherwise it leads the
        // group line.
        let title_w = self.text_width(&self.session.names.name(node), self.font(14.0));
        let phase_w = self.text_width(phase, self.font(12.0));
        let mut x = body.left();
        match state {
            NodeState::Up if title_w + phase_w + 28.0 <= rect.width() => {
                self.painter.text(
                    rect.right_top() + vec2(-8.0, 7.0),
                    Align2::RIGHT_TOP,
                    phase,
                    self.font(12.0),
                    colour,
                );
            }
            NodeState::Up | NodeState::Paused => {
                // No room to spare: "processing · billing · gen 3".
                group = group.trim_start_matches("group ").to_string();
                let r = self.painter.text(
                    body.left_top(),
                    Align2::LEFT_TOP,
                    format!("{phase} · "),
                    self.font(11.5),
                    colour,
                );
                x = r.right();
            }
            _ => {}
        }
        let w = body.right() - x;
        self.text_in(
            pos2(x, body.top()),
            &format!("{group}{generation}"),
            self.font(11.5),
            self.p.dim,
            w,
        );
        self.text_in(
            body.left_top() + vec2(0.0, 15.0),
            &format!("owns {}", owned_text(&c.owned)),
            self.font(11.5),
            text,
            body.width(),
        );
        let lag = self.cluster.consumer_lag(i, c.group.as_deref());
        self.fitted(
            body.left_top() + vec2(0.0, 30.0),
            &[
                format!("lag {lag} · in hand {} · done {}", c.in_hand, c.processed),
                format!("lag {lag} · done {}", c.processed),
                format!("lag {lag}"),
            ],
            self.font(11.5),
            text,
            body.width(),
        );
    }

    fn dots(&self, t: f64) {
        let radius = if self.presenter { 5.0 } else { 3.5 };
        for f in self.cluster.in_flight.values().take(MAX_DOTS) {
            let (lo, hi) = if f.from < f.to {
                (f.from, f.to)
            } else {
                (f.to, f.from)
            };
            let Some(route) = self.routes.get(&(lo, hi)).copied() else {
                continue;
            };
            let span = (f.deliver_at as f64 - f.sent_at as f64).max(1.0);
            let k = ((t - f.sent_at as f64) / span).clamp(0.0, 1.0) as f32;
            // Two directions of one link travel side by side, not on top of each other.
            let (k, side) = if f.from < f.to {
                (k, 1.0)
            } else {
                (1.0 - k, -1.0)
            };
            let dir = route.tangent(k);
            let pos = route.at(k) + vec2(-dir.y, dir.x) * 3.5 * side;
            self.painter.circle(
                pos,
                radius,
                theme::message_colour(f.kind),
                Stroke::new(1.0, Color32::BLACK),
            );
        }
    }

    /// One line along the bottom: what the dot colours and the markers mean.
    fn legend(&self, strip: Rect, two_lines: bool) {
        let p = &self.p;
        let font = self.font(11.5);
        let mut y = if two_lines {
            strip.top() + strip.height() / 4.0
        } else {
            strip.center().y
        };
        let mut x = strip.left();
        for (kind, name) in theme::MESSAGE_KINDS {
            self.painter.circle(
                pos2(x + 5.0, y),
                4.0,
                theme::message_colour(kind),
                Stroke::new(1.0, Color32::BLACK),
            );
            let r = self.painter.text(
                pos2(x + 13.0, y),
                Align2::LEFT_CENTER,
                name,
                font.clone(),
                p.dim,
            );
            x = r.right() + 12.0;
        }
        if two_lines {
            x = strip.left();
            y += strip.height() / 2.0;
        } else {
            x += 8.0;
        }
        let marks: [(&str, Color32); 4] = [
            ("HW", p.hw),
            ("LEO", p.leo),
            ("L1: leader in epoch 1", p.leader),
            ("✂ cut link", p.cut),
        ];
        self.painter.circle_filled(pos2(x + 4.0, y), 4.0, p.in_isr);
        let r = self.painter.text(
            pos2(x + 12.0, y),
            Align2::LEFT_CENTER,
            "in ISR",
            font.clone(),
            p.dim,
        );
        x = r.right() + 10.0;
        self.painter
            .circle_stroke(pos2(x + 4.0, y), 4.0, Stroke::new(1.5, p.out_of_isr));
        let r = self.painter.text(
            pos2(x + 12.0, y),
            Align2::LEFT_CENTER,
            "out of ISR",
            font.clone(),
            p.dim,
        );
        x = r.right() + 16.0;
        for (name, c) in marks {
            self.painter.line_segment(
                [pos2(x + 1.0, y - 6.0), pos2(x + 1.0, y + 6.0)],
                Stroke::new(2.5, c),
            );
            let r = self.painter.text(
                pos2(x + 8.0, y),
                Align2::LEFT_CENTER,
                name,
                font.clone(),
                p.dim,
            );
            x = r.right() + 12.0;
        }
    }
}
