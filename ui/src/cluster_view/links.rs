//! The links between the boxes, drawn with what happens on them (a cut, a held link, latency
//! and loss), the messages in flight as dots, and the drag from one box to another that cuts
//! a link (what letting go does is [`super::cut`]'s).

use std::collections::BTreeMap;

use bevy_egui::egui::{self, vec2, Color32, Pos2, Stroke};
use kafkascope_sim::ids::NodeId;

use super::cut::linked;
use super::layout::{edge_point, node_at, pairs, route_between, Route};
use super::View;
use crate::theme;

/// Most dots drawn in one frame; past this the picture is a blur anyway.
const MAX_DOTS: usize = 4000;

impl View<'_> {
    /// The route of the link from `a` to `b`: straight, or, when another box is in the way
    /// (brokers in a row that are not neighbours), a curve below the boxes.
    pub(super) fn route(&self, a: NodeId, b: NodeId) -> Option<Route> {
        let key = if a < b { (a, b) } else { (b, a) };
        let r = *self.routes.get(&key)?;
        Some(if key.0 == a { r } else { r.reversed() })
    }

    /// Every link's route, computed once a frame (a dot only looks its link up).
    pub(super) fn plan_routes(&mut self) {
        let mut routes = BTreeMap::new();
        for (a, b) in pairs(&self.shape) {
            let key = if a < b { (a, b) } else { (b, a) };
            if let Some(r) = route_between(&self.layout.nodes, key.0, key.1) {
                routes.insert(key, r);
            }
        }
        self.routes = routes;
    }

    /// While dragging from `from`: a dashed red line to the pointer, the box under it, and
    /// what letting go there does.
    pub(super) fn drag_preview(&self, from: NodeId, pos: Pos2, one_way: bool) {
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

    pub(super) fn links(&self) {
        let p = &self.p;
        let slow: BTreeMap<(NodeId, NodeId), (u64, u64, f64)> = self
            .session
            .scenario
            .network
            .links
            .iter()
            .map(|(f, t, l)| ((*f, *t), (l.latency_min_ms, l.latency_max_ms, l.loss)))
            .collect();
        for (a, b) in pairs(&self.shape) {
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
                NodeId::Producer(_) | NodeId::Reader | NodeId::Consumer(_) | NodeId::Client(_)
            );
            let base = if self.cluster.closed.contains(&a) {
                // A real client's connection that has closed.
                p.link.gamma_multiply(0.2)
            } else if client {
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

    pub(super) fn dots(&self, t: f64) {
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
}
