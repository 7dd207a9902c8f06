//! Where the cluster view puts each box and each link: plain geometry over a few numbers read
//! off the session ([`Shape`]), with no painter, so the arrangement is tested here.

use std::collections::BTreeMap;

use bevy_egui::egui::{pos2, vec2, Pos2, Rect, Vec2};
use kafkascope_sim::ids::{BrokerId, NodeId, OFFSETS_TOPIC, TXN_STATE_TOPIC};

use crate::session::Session;

/// The tallest a replica row gets, when a broker has few partitions.
pub(super) const MAX_ROW_H: f32 = 36.0;

/// The narrowest a producer's or consumer's box gets before the clients take another row.
const MIN_CLIENT_W: f32 = 170.0;

/// The shortest a replica row should get; the clients take fewer rows to leave the brokers this.
const MIN_ROW_H: f32 = 16.0;

/// Where each node's box goes.
pub struct Layout {
    pub nodes: BTreeMap<NodeId, Rect>,
}

/// What the arrangement depends on, read off the session once a frame, so that the geometry
/// is a function of a few numbers and can be tested without a simulation.
#[derive(Clone, Debug)]
pub struct Shape {
    pub brokers: Vec<BrokerId>,
    /// The longest line the controller's box lists, in characters.
    pub controller_chars: usize,
    /// The partitions the controller lists (it has room for four).
    pub partitions: usize,
    /// The most replicas one broker hosts: the brokers are as tall as that broker needs.
    pub most_replicas: usize,
    /// Producers, the reader, consumers and real clients' connections, in the order their
    /// boxes go.
    pub clients: Vec<NodeId>,
    /// Each real client's connection's broker (`NodeId::Client`): its only link.
    pub client_brokers: BTreeMap<NodeId, BrokerId>,
    /// Consumers' boxes have a third line (owned partitions), so a row with any is taller.
    pub consumers: bool,
}

impl Shape {
    pub fn of(session: &Session) -> Shape {
        let s = &session.scenario;
        // Wide enough for "orders-0: leader broker-1 · epoch 0 · ISR [1, 2, 3]".
        let offsets = session
            .consumers
            .iter()
            .any(|c| c.group.is_some())
            .then_some((OFFSETS_TOPIC.len(), 3));
        // `__transaction_state` where some producer has a `transactional.id`.
        let txn_state = session
            .producers
            .iter()
            .any(|p| p.config.transactional_id.is_some())
            .then_some((TXN_STATE_TOPIC.len(), 3));
        let controller_chars = s
            .topics
            .iter()
            .map(|t| (t.name.len(), t.replication_factor as usize))
            .chain(offsets)
            .chain(txn_state)
            .map(|(name, rf)| name + 4 + 36 + 3 * rf)
            .max()
            .unwrap_or(40);
        // `__consumer_offsets` has at least one partition where some consumer has a group, and
        // `__transaction_state` where some producer is transactional.
        let partitions: usize = s
            .topics
            .iter()
            .map(|t| t.partitions as usize)
            .sum::<usize>()
            + session.grown_partitions()
            + usize::from(offsets.is_some())
            + usize::from(txn_state.is_some());
        let most_replicas = s
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
        let clients = (0..session.producers.len())
            .map(|i| NodeId::Producer(i as u16))
            .chain(s.reader.then_some(NodeId::Reader))
            .chain((0..session.consumers.len()).map(|i| NodeId::Consumer(i as u16)))
            .chain(session.real_clients.keys().map(|&i| NodeId::Client(i)))
            .collect();
        let client_brokers = session
            .real_clients
            .iter()
            .filter_map(|(&i, c)| Some((NodeId::Client(i), c.broker?)))
            .collect();
        Shape {
            brokers: s.broker_ids(),
            controller_chars,
            partitions,
            most_replicas,
            clients,
            client_brokers,
            consumers: !session.consumers.is_empty(),
        }
    }
}

/// Places the controller on top, brokers in a grid, producers, the reader and consumers at the bottom.
pub fn layout(area: Rect, shape: &Shape) -> Layout {
    let mut nodes = BTreeMap::new();
    let line_chars = shape.controller_chars as f32;
    let partitions = shape.partitions;
    let ctrl_h = 34.0 + 15.0 * partitions.min(4) as f32;
    let ctrl_w = (line_chars * 7.4 + 24.0).max(300.0).min(area.width());
    nodes.insert(
        NodeId::Controller,
        Rect::from_center_size(
            pos2(area.center().x, area.top() + ctrl_h / 2.0),
            vec2(ctrl_w, ctrl_h),
        ),
    );
    let n = shape.brokers.len().max(1);
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
    let most = shape.most_replicas;
    let client_h = if shape.consumers { 74.0 } else { 58.0 };
    let clients = &shape.clients;
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
    for (i, &b) in shape.brokers.iter().enumerate() {
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
                NodeId::Producer(_) | NodeId::Reader | NodeId::Consumer(_) | NodeId::Client(_) => {
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

/// The node whose box contains `pos` (the topmost, when boxes overlap).
pub fn node_at(layout: &Layout, pos: Pos2) -> Option<NodeId> {
    layout
        .nodes
        .iter()
        .rev()
        .find(|(_, r)| r.contains(pos))
        .map(|(n, _)| *n)
}

/// The pairs of nodes that talk to each other: the controller and every broker, brokers among
/// themselves, every simulated client with every broker, a real client's connection with its
/// broker.
pub fn pairs(shape: &Shape) -> Vec<(NodeId, NodeId)> {
    let brokers: Vec<NodeId> = shape.brokers.iter().copied().map(NodeId::Broker).collect();
    let mut v = Vec::new();
    for (i, &a) in brokers.iter().enumerate() {
        v.push((NodeId::Controller, a));
        for &b in &brokers[i + 1..] {
            v.push((a, b));
        }
        for &c in &shape.clients {
            let theirs = shape.client_brokers.get(&c).map(|&b| NodeId::Broker(b));
            if theirs.is_none_or(|b| b == a) {
                v.push((c, a));
            }
        }
    }
    v
}

/// A link's path: a quadratic Bézier curve (straight when the control point is the middle).
#[derive(Clone, Copy, Debug)]
pub struct Route {
    pub a: Pos2,
    pub c: Pos2,
    pub b: Pos2,
}

impl Route {
    pub fn at(&self, k: f32) -> Pos2 {
        let u = 1.0 - k;
        pos2(
            u * u * self.a.x + 2.0 * u * k * self.c.x + k * k * self.b.x,
            u * u * self.a.y + 2.0 * u * k * self.c.y + k * k * self.b.y,
        )
    }

    pub fn tangent(&self, k: f32) -> Vec2 {
        (2.0 * (1.0 - k) * (self.c - self.a) + 2.0 * k * (self.b - self.c)).normalized()
    }

    pub fn points(&self, from: f32, to: f32) -> Vec<Pos2> {
        (0..=24)
            .map(|i| self.at(from + (to - from) * i as f32 / 24.0))
            .collect()
    }

    /// The same path the other way round.
    pub fn reversed(self) -> Route {
        Route {
            a: self.b,
            c: self.c,
            b: self.a,
        }
    }
}

/// Where the segment between two boxes' centres leaves `r`.
pub fn edge_point(r: Rect, toward: Pos2) -> Pos2 {
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

/// The path of the link between `a`'s box and `b`'s: straight, or, when another box is in the
/// way (brokers in a row that are not neighbours), a curve below the boxes.
pub fn route_between(nodes: &BTreeMap<NodeId, Rect>, a: NodeId, b: NodeId) -> Option<Route> {
    let ra = *nodes.get(&a)?;
    let rb = *nodes.get(&b)?;
    let (pa, pb) = (edge_point(ra, rb.center()), edge_point(rb, ra.center()));
    let blocked = nodes.iter().any(|(n, r)| {
        *n != a && *n != b && (0..=16).any(|i| r.shrink(4.0).contains(pa.lerp(pb, i as f32 / 16.0)))
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

/// The narrowest and widest a record's cell gets in a replica's row.
pub(super) const MIN_CELL_W: f32 = 6.0;
pub(super) const MAX_CELL_W: f32 = 34.0;

/// Which offsets of a replica's log its row draws, and how wide each one is.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LogWindow {
    /// The first offset drawn.
    pub first: usize,
    /// An offset's width: a cell of its own from [`MIN_CELL_W`], a strip's share below it.
    pub cell_w: f32,
    /// The block before the offsets that stands for the deleted ones (0: none).
    pub stub_w: f32,
    /// Whether offsets before `first` (and after the stub) are left out (drawn as `…`).
    pub skipped: bool,
}

/// How a log of `leo` offsets fits `room` pixels.
///
/// Without `storage`, each record is a cell at least [`MIN_CELL_W`] wide and the log's tail
/// is drawn when it does not fit. With `storage` (the replica's log start and the width of the
/// block that stands for what was deleted, for a log with segments or deletions), the whole
/// log from its start always fits: a block for the deleted offsets (when there are any), then
/// every offset still kept, as narrow as that takes; so the log start, every segment and a
/// deletion stay in view however long the log is.
pub fn log_window(room: f32, leo: usize, storage: Option<(usize, f32)>) -> LogWindow {
    match storage {
        None => {
            let cell_w = (room / leo.max(1) as f32).clamp(MIN_CELL_W, MAX_CELL_W);
            let capacity = ((room / cell_w).floor() as usize).max(1);
            let first = leo.saturating_sub(capacity);
            LogWindow {
                first,
                cell_w,
                stub_w: 0.0,
                skipped: first > 0,
            }
        }
        Some((start, stub_w)) => {
            let first = start.min(leo);
            let stub_w = if first > 0 {
                stub_w.min(room / 2.0)
            } else {
                0.0
            };
            let live = (leo - first).max(1);
            LogWindow {
                first,
                cell_w: ((room - stub_w).max(0.0) / live as f32).min(MAX_CELL_W),
                stub_w,
                skipped: false,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A cluster of `brokers` brokers with two producers and a consumer, three partitions
    /// replicated three ways.
    fn shape(brokers: BrokerId) -> Shape {
        Shape {
            brokers: (1..=brokers).collect(),
            controller_chars: 50,
            partitions: 3,
            most_replicas: 3,
            clients: vec![
                NodeId::Producer(0),
                NodeId::Producer(1),
                NodeId::Consumer(0),
            ],
            client_brokers: BTreeMap::new(),
            consumers: true,
        }
    }

    fn area() -> Rect {
        Rect::from_min_size(pos2(10.0, 20.0), vec2(1240.0, 700.0))
    }

    #[test]
    fn one_to_nine_brokers_fit_inside_the_area_without_overlapping() {
        for n in 1..=9 {
            let shape = shape(n);
            let l = layout(area(), &shape);
            assert_eq!(
                l.nodes.len(),
                1 + n as usize + shape.clients.len(),
                "{n} brokers"
            );
            for (node, r) in &l.nodes {
                assert!(
                    area().expand(0.5).contains_rect(*r),
                    "{n} brokers: {node:?} at {r:?} leaves {:?}",
                    area()
                );
            }
            let boxes: Vec<_> = l.nodes.iter().collect();
            for (i, (a, ra)) in boxes.iter().enumerate() {
                for (b, rb) in &boxes[i + 1..] {
                    assert!(
                        !ra.shrink(0.5).intersects(rb.shrink(0.5)),
                        "{n} brokers: {a:?} {ra:?} overlaps {b:?} {rb:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_controller_is_above_the_brokers_and_the_clients_below() {
        let l = layout(area(), &shape(5));
        let brokers = l
            .nodes
            .iter()
            .filter(|(n, _)| matches!(n, NodeId::Broker(_)))
            .map(|(_, r)| *r)
            .reduce(|a, b| a.union(b))
            .unwrap();
        assert!(l.nodes[&NodeId::Controller].bottom() < brokers.top());
        for c in shape(5).clients {
            assert!(l.nodes[&c].top() > brokers.bottom(), "{c:?}");
        }
    }

    #[test]
    fn every_client_and_the_controller_talk_to_every_broker_and_brokers_to_each_other() {
        let s = shape(3);
        let p = pairs(&s);
        // 3 controller links, 3 between brokers, 3 clients × 3 brokers.
        assert_eq!(p.len(), 3 + 3 + 9);
        assert!(p
            .iter()
            .all(|(a, b)| matches!(a, NodeId::Broker(_)) || matches!(b, NodeId::Broker(_))));
        assert!(p.contains(&(NodeId::Controller, NodeId::Broker(2))));
        assert!(p.contains(&(NodeId::Broker(1), NodeId::Broker(3))));
        assert!(p.contains(&(NodeId::Consumer(0), NodeId::Broker(3))));
    }

    #[test]
    fn a_link_runs_from_the_edge_of_one_box_to_the_edge_of_the_other() {
        for n in [1, 3, 4, 9] {
            let s = shape(n);
            let l = layout(area(), &s);
            for (a, b) in pairs(&s) {
                let r = route_between(&l.nodes, a, b).expect("both boxes are laid out");
                let on_edge = |rect: Rect, p: Pos2| {
                    rect.expand(0.5).contains(p) && !rect.shrink(0.5).contains(p)
                };
                assert!(
                    on_edge(l.nodes[&a], r.a),
                    "{n}: {a:?}→{b:?} starts at {:?}",
                    r.a
                );
                assert!(
                    on_edge(l.nodes[&b], r.b),
                    "{n}: {a:?}→{b:?} ends at {:?}",
                    r.b
                );
            }
        }
    }

    #[test]
    fn a_link_between_brokers_with_a_box_between_them_bends_under_the_boxes() {
        let s = shape(3);
        let l = layout(area(), &s);
        let (b1, b3) = (NodeId::Broker(1), NodeId::Broker(3));
        let r = route_between(&l.nodes, b1, b3).unwrap();
        assert!(r.c.y > l.nodes[&b1].bottom(), "{r:?}");
        let straight = route_between(&l.nodes, b1, NodeId::Broker(2)).unwrap();
        assert_eq!(straight.c, straight.a.lerp(straight.b, 0.5));
    }

    #[test]
    fn real_clients_sit_in_the_clients_row_and_link_only_to_their_broker() {
        let mut s = shape(3);
        s.clients.push(NodeId::Client(1));
        s.clients.push(NodeId::Client(2));
        s.client_brokers.insert(NodeId::Client(1), 2);
        s.client_brokers.insert(NodeId::Client(2), 3);
        let l = layout(area(), &s);
        let producer = l.nodes[&NodeId::Producer(0)];
        for c in [NodeId::Client(1), NodeId::Client(2)] {
            let r = l.nodes[&c];
            assert_eq!(r.top(), producer.top(), "{c:?} is in the clients' row");
            assert!(area().expand(0.5).contains_rect(r), "{c:?} at {r:?}");
        }
        let p = pairs(&s);
        assert!(p.contains(&(NodeId::Client(1), NodeId::Broker(2))));
        assert!(!p.contains(&(NodeId::Client(1), NodeId::Broker(1))));
        assert!(p.contains(&(NodeId::Client(2), NodeId::Broker(3))));
        // 3 controller links, 3 between brokers, 3 simulated clients × 3 brokers, 2 connections.
        assert_eq!(p.len(), 3 + 3 + 9 + 2);
    }

    #[test]
    fn the_box_under_the_pointer_is_found() {
        let l = layout(area(), &shape(2));
        let r = l.nodes[&NodeId::Broker(2)];
        assert_eq!(node_at(&l, r.center()), Some(NodeId::Broker(2)));
        assert_eq!(node_at(&l, area().left_top()), None);
    }

    #[test]
    fn a_log_without_storage_shows_its_tail_in_cells() {
        // Fits: every record, cells as wide as the room allows.
        let w = log_window(120.0, 10, None);
        assert_eq!((w.first, w.skipped, w.stub_w), (0, false, 0.0));
        assert_eq!(w.cell_w, 12.0);
        assert_eq!(log_window(120.0, 2, None).cell_w, MAX_CELL_W);
        // Too long: the last 20 records in the narrowest cells, the rest left out.
        let w = log_window(120.0, 1000, None);
        assert_eq!((w.first, w.cell_w, w.skipped), (980, MIN_CELL_W, true));
    }

    #[test]
    fn a_log_with_storage_always_shows_its_start_and_every_kept_offset() {
        // 980 deleted, 120 kept in 110 pixels: a block for the deleted, then all 120 kept.
        let w = log_window(110.0, 1100, Some((980, 30.0)));
        assert_eq!((w.first, w.stub_w, w.skipped), (980, 30.0, false));
        assert!((w.cell_w * 120.0 - 80.0).abs() < 1e-3);
        // Thousands of kept records still fit (a strip, far under a pixel each).
        let w = log_window(110.0, 50_000, Some((10, 30.0)));
        assert!(w.first == 10 && (w.cell_w * 49_990.0 - 80.0).abs() < 1e-2);
        // Segments but nothing deleted yet: no block.
        let w = log_window(110.0, 300, Some((0, 30.0)));
        assert_eq!((w.first, w.stub_w), (0, 0.0));
        // A short log keeps cells no wider than without storage.
        let w = log_window(110.0, 12, Some((10, 30.0)));
        assert_eq!(w.cell_w, MAX_CELL_W);
        // The block never takes more than half the room.
        assert_eq!(log_window(40.0, 100, Some((50, 30.0))).stub_w, 20.0);
        // Everything deleted (a log start at its end): the block, and room for what comes.
        let w = log_window(110.0, 500, Some((500, 30.0)));
        assert_eq!((w.first, w.stub_w), (500, 30.0));
    }
}
