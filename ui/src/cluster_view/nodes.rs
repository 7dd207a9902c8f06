//! The controller's and the brokers' boxes (the partition table; each broker's replicas with
//! their offsets and ISR), and what every box shares: the frame with its status badge, text
//! cut to fit, a lesson's glow.

use bevy_egui::egui::{self, pos2, vec2, Align2, Color32, FontId, Pos2, Rect, Stroke};
use kafkascope_sim::ids::{is_internal_topic, BrokerId, NodeId, TopicPartition};
use kafkascope_sim::replay::ReplayRole;
use kafkascope_sim::trace::CrashKind;

use super::layout::{log_window, MAX_ROW_H, MIN_CELL_W};
use super::storage::{has_storage, Cells};
use super::View;
use crate::cluster_state::NodeState;
use crate::theme;
use crate::transactions::Marker;

impl View<'_> {
    /// A lesson's attention mark around a box: an accent outline with a soft glow outside it.
    pub(super) fn glow(&self, rect: Rect) {
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

    pub(super) fn label_box(&self, at: Pos2, text: &str, colour: Color32) {
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
    pub(super) fn node_box(
        &self,
        rect: Rect,
        title: &str,
        state: NodeState,
        highlight: bool,
    ) -> Rect {
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

    pub(super) fn text_width(&self, text: &str, font: FontId) -> f32 {
        self.painter
            .layout_no_wrap(text.to_string(), font, Color32::WHITE)
            .size()
            .x
    }

    /// `text` on one line from `at`, cut with `…` where it would pass `max_w`.
    pub(super) fn text_in(
        &self,
        at: Pos2,
        text: &str,
        font: FontId,
        colour: Color32,
        max_w: f32,
    ) -> Rect {
        let mut job = egui::text::LayoutJob::simple_singleline(text.to_string(), font, colour);
        job.wrap = egui::text::TextWrapping::truncate_at_width(max_w.max(8.0));
        let galley = self.painter.layout_job(job);
        let r = Rect::from_min_size(at, galley.size());
        self.painter.galley(at, galley, colour);
        r
    }

    /// The first of `variants` (longest first) that fits in `max_w`, on one line from `at`;
    /// the last one, cut with `…`, when none does.
    pub(super) fn fitted(
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

    pub(super) fn controller(&self, rect: Rect, highlight: bool) {
        let state = self.cluster.node(NodeId::Controller);
        let body = self.node_box(rect, "controller", state, highlight);
        let parts = &self.cluster.replay.partitions;
        let mut y = body.top();
        let shown = 4;
        // The scenario's own partitions first; `__consumer_offsets` and `__transaction_state`
        // are Kafka's bookkeeping.
        let internal = |tp: &TopicPartition| is_internal_topic(&tp.topic);
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
    pub(super) fn hosted(&self, b: BrokerId) -> Vec<TopicPartition> {
        let mut v = Vec::new();
        for t in &self.session.scenario.topics {
            for (i, replicas) in t.assignment.iter().enumerate() {
                if replicas.contains(&b) {
                    v.push(TopicPartition::new(t.name.clone(), i as u32));
                }
            }
        }
        // Partitions created or added while running, once the controller has placed them
        // (not `__consumer_offsets` or `__transaction_state`, which are Kafka's bookkeeping, not
        // the lesson's data).
        let declared = v.len();
        for (tp, m) in &self.cluster.replay.partitions {
            if m.replicas.contains(&b)
                && !is_internal_topic(&tp.topic)
                && !v[..declared].contains(tp)
            {
                v.push(tp.clone());
            }
        }
        v
    }

    pub(super) fn record_colour(&self, value: &str) -> Color32 {
        match self.session.origins.get(value) {
            Some(o) if self.by_key => match &o.key {
                Some(k) => theme::hue_colour(theme::key_index(k) % 64, self.presenter),
                None => Color32::from_gray(170),
            },
            Some(o) => theme::hue_colour(o.producer as u64, self.presenter),
            None => Color32::from_gray(150),
        }
    }

    pub(super) fn broker(&self, b: BrokerId, rect: Rect, highlight: bool) {
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

    pub(super) fn replica_row(
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
        let has_txns = self.cluster.txns.partition(tp).is_some();
        let storage = replica.is_some_and(has_storage);
        let numbers_w = if row.height() >= 14.0 && inner.width() - label_w > 260.0 {
            fs * (8.5 + if has_txns { 4.0 } else { 0.0 } + if storage { 5.0 } else { 0.0 })
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
        self.replica_hover(row, tp, b);
        let txns = self.cluster.txns.partition(tp);
        let leo = r.log.len();
        let hw = (r.high_watermark as usize).min(leo);
        let log_start = (r.log_start_offset as usize).min(leo);
        let room = cells.width() - 14.0;
        let tag = (storage && log_start > 0).then(|| self.start_tag(log_start, cells, fs));
        let window = log_window(
            room,
            leo,
            storage.then(|| (log_start, tag.as_ref().map_or(0.0, |t| t.width))),
        );
        let (start, cell_w) = (window.first, window.cell_w);
        let mut x = cells.left() + 1.0;
        if let Some(tag) = tag.as_ref().filter(|_| window.stub_w > 0.0) {
            let block = Rect::from_min_size(
                pos2(x, cells.top() + 1.0),
                vec2(window.stub_w - 3.0, cells.height() - 2.0),
            );
            self.deleted_block(block, tag, tp, b, log_start);
            x += window.stub_w;
        }
        if window.skipped {
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
        let gap = if cell_w >= MIN_CELL_W { 1.0 } else { 0.0 };
        let drawn = Cells {
            r,
            first: start,
            x0,
            cell_w,
            gap,
            area: cells,
            row,
            fs,
        };
        if cell_w < MIN_CELL_W {
            self.strip(&drawn, hw, up, txns);
        }
        for (o, v) in r.log.iter().enumerate().skip(start) {
            if cell_w < MIN_CELL_W {
                break;
            }
            let cx = x0 + (o - start) as f32 * cell_w;
            let cr = Rect::from_min_size(
                pos2(cx, cells.top() + 1.0),
                vec2(cell_w - gap, cells.height() - 2.0),
            );
            if let Some(m) = Marker::parse(v) {
                self.marker_cell(cr, m, o, o >= hw, up, fs);
                continue;
            }
            let mut c = self.record_colour(v);
            if !up {
                c = c.gamma_multiply(0.35);
            }
            let aborted = txns.is_some_and(|t| t.is_aborted(o as u64, v, leo as u64));
            if aborted {
                self.aborted_cell(cr, c, v, o);
            } else if o >= hw {
                // Above the HW: not committed, not visible to consumers yet.
                self.painter.rect_filled(cr, 1.5, c.gamma_multiply(0.35));
                self.painter
                    .rect_stroke(cr, 1.5, Stroke::new(1.0, c), egui::StrokeKind::Inside);
            } else {
                self.painter.rect_filled(cr, 1.5, c);
            }
            if !aborted && cell_w >= 24.0 && cells.height() >= 13.0 {
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
        if storage {
            self.segments(&drawn);
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
        let lso = txns.map(|t| (t.last_stable_offset(hw as u64) as usize).min(hw));
        if let Some(lso) = lso.filter(|&l| l >= start) {
            let x = x0 + (lso - start) as f32 * cell_w - gap / 2.0;
            self.lso_marker(x, row, lso, hw);
        }
        if numbers_w > 0.0 {
            let start = if storage {
                format!("start {log_start} · ")
            } else {
                String::new()
            };
            let text = match lso {
                Some(lso) => format!("{start}lso {lso} · hw {hw} · leo {leo}"),
                None => format!("{start}hw {hw} · leo {leo}"),
            };
            self.painter.text(
                pos2(inner.right(), row.center().y),
                Align2::RIGHT_CENTER,
                text,
                self.mono(fs * 0.8),
                p.dim,
            );
        }
    }
}
