//! Transactions in the replicas' rows: marker cells (COMMIT/ABORT control records), records of
//! aborted transactions struck through, and the last stable offset beside the HW; and the
//! hover text that says what a marker or an aborted record is.

use bevy_egui::egui::{self, pos2, vec2, Align2, Color32, Rect, Stroke};
use kafkascope_sim::protocol::MessageKind;

use super::View;
use crate::theme;
use crate::transactions::Marker;

/// The LSO's colour: the transactions' own (their messages' dots).
pub(super) fn lso_colour() -> Color32 {
    theme::message_colour(MessageKind::Transaction)
}

impl View<'_> {
    /// Whether the scenario has transactions: the legend explains markers and the LSO then.
    pub(super) fn has_transactions(&self) -> bool {
        !self.cluster.txns.partitions.is_empty()
            || !self.cluster.txns.ids.is_empty()
            || self
                .session
                .producers
                .iter()
                .any(|p| p.config.transactional_id.is_some())
    }

    /// Remembers `text` as the hover text when the pointer is over `r`.
    pub(super) fn hover(&self, r: Rect, text: impl FnOnce() -> String) {
        let over = self
            .painter
            .ctx()
            .pointer_hover_pos()
            .is_some_and(|p| r.contains(p) && self.painter.clip_rect().contains(p));
        if over {
            *self.tooltip.borrow_mut() = Some(text());
        }
    }

    /// A COMMIT or ABORT marker at `offset`: a dark cell framed in green or red with `C`/`A`.
    pub(super) fn marker_cell(
        &self,
        cr: Rect,
        m: Marker,
        offset: usize,
        above_hw: bool,
        up: bool,
        fs: f32,
    ) {
        let p = &self.p;
        let mut c = if m.commit { p.ok } else { p.bad };
        if !up || above_hw {
            c = c.gamma_multiply(0.5);
        }
        self.painter.rect_filled(cr, 1.5, p.node_fill);
        self.painter
            .rect_stroke(cr, 1.5, Stroke::new(1.5, c), egui::StrokeKind::Inside);
        if cr.width() >= 8.0 && cr.height() >= 9.0 {
            self.painter.text(
                cr.center(),
                Align2::CENTER_CENTER,
                if m.commit { "C" } else { "A" },
                self.font((fs * 0.85).min(cr.height() * 0.9)),
                c,
            );
        }
        self.hover(cr, || format!("offset {offset}: {}", m.describe()));
    }

    /// A record of an aborted transaction: dimmed and struck through.
    pub(super) fn aborted_cell(&self, cr: Rect, c: Color32, value: &str, offset: usize) {
        self.painter.rect_filled(cr, 1.5, c.gamma_multiply(0.25));
        self.painter.rect_stroke(
            cr,
            1.5,
            Stroke::new(1.0, c.gamma_multiply(0.6)),
            egui::StrokeKind::Inside,
        );
        self.painter.line_segment(
            [
                cr.left_bottom() + vec2(1.0, -1.0),
                cr.right_top() + vec2(-1.0, 1.0),
            ],
            Stroke::new(1.5, self.p.bad),
        );
        self.hover(cr, || {
            format!("offset {offset}: {value}, aborted (read_committed consumers skip it)")
        });
    }

    /// The last stable offset at `x`: a line in the transactions' colour over the lower part of
    /// the row, tagged `LSO` where the row has room; `read_committed` consumers read below it.
    pub(super) fn lso_marker(&self, x: f32, row: Rect, lso: usize, hw: usize) {
        let c = lso_colour();
        // Beside the HW line when they coincide, so that both show.
        let x = if lso == hw { x - 3.0 } else { x };
        let top = row.top() + row.height() * 0.3;
        self.painter
            .line_segment([pos2(x, top), pos2(x, row.bottom())], Stroke::new(2.5, c));
        if row.height() >= 14.0 {
            let font = self.font((row.height() * 0.3).clamp(7.5, 10.0));
            let galley = self
                .painter
                .layout_no_wrap("LSO".to_string(), font, Color32::BLACK);
            let tag = Rect::from_min_size(
                pos2(x - galley.size().x - 4.0, row.top()),
                galley.size() + vec2(4.0, 0.0),
            );
            self.painter.rect_filled(tag, 2.0, c);
            self.painter
                .galley(tag.min + vec2(2.0, 0.0), galley, Color32::BLACK);
            self.hover(tag, || {
                format!(
                    "last stable offset {lso}: read_committed consumers read below it \
                     (HW {hw}); an open transaction holds it back"
                )
            });
        }
    }
}
