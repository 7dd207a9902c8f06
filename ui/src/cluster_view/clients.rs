//! The clients' boxes: producers, the checking reader and consumers, and the dashed place of
//! a client that an intervention adds later, so the picture does not jump when it joins.

use std::collections::BTreeMap;

use bevy_egui::egui::{self, pos2, vec2, Align2, Rect, Stroke};
use kafkascope_sim::ids::{Millis, NodeId, TopicPartition};

use super::View;
use crate::cluster_state::{ConsumerPhase, NodeState};
use crate::theme;

impl View<'_> {
    /// When `node` is a client added while running that has not joined yet at the displayed
    /// moment: the time it joins.
    pub(super) fn joins_later(&self, node: NodeId) -> Option<Millis> {
        let at = match node {
            NodeId::Client(i) => self.session.real_clients.get(&i)?.at,
            _ => *self.session.added_at.get(&node)?,
        };
        (!self.cluster.added.contains(&node)).then_some(at)
    }

    /// A real client's connection (`kafkascope ui --serve`): `client-i`, its client id and
    /// broker; greyed once the connection has closed.
    pub(super) fn real_client(&self, i: u16, rect: Rect) {
        let node = NodeId::Client(i);
        let Some(c) = self.session.real_clients.get(&i) else {
            return;
        };
        let title = format!("client-{i}");
        if let Some(at) = self.joins_later(node) {
            let p = &self.p;
            self.painter
                .rect_stroke(rect, 6.0, Stroke::new(1.0, p.dim), egui::StrokeKind::Inside);
            self.text_in(
                rect.left_top() + vec2(8.0, 5.0),
                &format!(
                    "{title} (connects at {})",
                    crate::playback::fmt_ms(at as f64)
                ),
                self.font(13.0),
                p.dim,
                rect.width() - 16.0,
            );
            return;
        }
        let closed = self.cluster.closed.contains(&node);
        let body = if closed {
            // Greyed, with a "closed" badge (a connection is not a process that shut down).
            let p = &self.p;
            self.painter.rect_filled(rect, 6.0, p.node_down);
            self.painter
                .rect_stroke(rect, 6.0, Stroke::new(1.2, p.dim), egui::StrokeKind::Inside);
            self.text_in(
                rect.left_top() + vec2(8.0, 5.0),
                &title,
                self.font(14.0),
                p.dim,
                rect.width() - 70.0,
            );
            self.painter.text(
                rect.right_top() + vec2(-8.0, 5.0),
                Align2::RIGHT_TOP,
                "closed",
                self.font(13.0),
                p.dim,
            );
            Rect::from_min_max(
                rect.left_top() + vec2(6.0, 24.0),
                rect.right_bottom() - vec2(6.0, 4.0),
            )
        } else {
            self.node_box(rect, &title, self.cluster.node(node), false)
        };
        let w = body.width();
        let id = if c.client_id.is_empty() {
            "no client.id"
        } else {
            &c.client_id
        };
        let colour = if closed { self.p.dim } else { self.p.text };
        self.text_in(body.left_top(), id, self.mono(11.5), colour, w);
        let broker = c
            .broker
            .map_or_else(|| "a broker".to_string(), |b| format!("broker-{b}"));
        let line = if closed {
            format!("was connected to {broker}")
        } else {
            format!("real client · connected to {broker}")
        };
        self.fitted(
            body.left_top() + vec2(0.0, 15.0),
            &[line, broker],
            self.font(11.5),
            self.p.dim,
            w,
        );
    }

    /// The place of a client that an `add-producer`/`add-consumer` command starts later: a
    /// dashed outline with its name and when it joins, so the picture does not jump when it
    /// does.
    pub(super) fn not_yet_added(&self, rect: Rect, node: NodeId, at: Millis) {
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

    pub(super) fn producer(&self, i: u16, rect: Rect) {
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
        if let Some(id) = &config.transactional_id {
            if body.height() >= 44.0 {
                self.transaction_line(node, id, body.left_top() + vec2(0.0, 30.0), w);
            }
        }
    }

    /// A transactional producer's third line: its id, producer id and epoch and its
    /// coordinator's state, or that it was fenced.
    fn transaction_line(&self, node: NodeId, id: &str, at: egui::Pos2, w: f32) {
        let t = self.cluster.txns.ids.get(id);
        let (line, short, colour) = match t {
            Some(t) if t.fenced.contains_key(&node) => (
                format!("txn {id} · ✖ fenced ({})", t.fenced[&node]),
                format!("txn {id} · ✖ fenced"),
                self.p.bad,
            ),
            Some(t) => {
                let stamp = match (t.producer_id, t.producer_epoch) {
                    (Some(p), Some(e)) => format!("{p}.{e}"),
                    _ => "…".into(),
                };
                let state = t.state.map_or("initializing", |s| s.name());
                (
                    format!("txn {id} · {stamp} · {state}"),
                    format!("txn {state}"),
                    super::txn::lso_colour(),
                )
            }
            None => (
                format!("txn {id} · not initialized"),
                format!("txn {id}"),
                self.p.dim,
            ),
        };
        self.fitted(at, &[line, short], self.font(11.5), colour, w);
    }

    pub(super) fn reader(&self, rect: Rect) {
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
    pub(super) fn consumer(&self, i: u16, rect: Rect, highlight: bool) {
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
