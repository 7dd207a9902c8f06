//! The strip under the picture that says what the dot colours and the markers mean.

use bevy_egui::egui::{self, pos2, vec2, Align2, Color32, Rect, Stroke};

use super::View;
use crate::theme;

impl View<'_> {
    /// One line along the bottom: what the dot colours and the markers mean.
    pub(super) fn legend(&self, strip: Rect, two_lines: bool) {
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
        if self.has_storage() {
            x = self.storage_legend(x, y, &font);
        }
        if self.has_transactions() {
            self.painter.line_segment(
                [pos2(x + 1.0, y - 3.0), pos2(x + 1.0, y + 6.0)],
                Stroke::new(2.5, super::txn::lso_colour()),
            );
            let r = self.painter.text(
                pos2(x + 8.0, y),
                Align2::LEFT_CENTER,
                "LSO",
                font.clone(),
                p.dim,
            );
            x = r.right() + 12.0;
            for (letter, c, name) in [("C", p.ok, "commit"), ("A", p.bad, "abort")] {
                let cell = Rect::from_center_size(pos2(x + 5.0, y), vec2(11.0, 13.0));
                self.painter.rect_filled(cell, 1.5, p.node_fill);
                self.painter
                    .rect_stroke(cell, 1.5, Stroke::new(1.5, c), egui::StrokeKind::Inside);
                self.painter.text(
                    cell.center(),
                    Align2::CENTER_CENTER,
                    letter,
                    self.font(9.5),
                    c,
                );
                let r = self.painter.text(
                    pos2(x + 14.0, y),
                    Align2::LEFT_CENTER,
                    format!("{name} marker"),
                    font.clone(),
                    p.dim,
                );
                x = r.right() + 12.0;
            }
        }
    }

    /// Whether some replica's row draws storage (segments, a log start): the legend explains
    /// them then.
    fn has_storage(&self) -> bool {
        self.cluster
            .replay
            .replicas
            .values()
            .any(super::storage::has_storage)
    }

    /// The deleted block with the log start's line, and a closed and an active segment's
    /// brackets; returns where the next item goes.
    fn storage_legend(&self, mut x: f32, y: f32, font: &egui::FontId) -> f32 {
        let p = &self.p;
        let block = Rect::from_center_size(pos2(x + 6.0, y), vec2(12.0, 12.0));
        self.painter.rect_filled(block, 1.5, p.node_down);
        let clip = self.painter.with_clip_rect(block);
        for i in 0..4 {
            let x0 = block.left() - 12.0 + i as f32 * 5.0;
            clip.line_segment(
                [pos2(x0, block.bottom()), pos2(x0 + 12.0, block.top())],
                Stroke::new(1.0, p.dim.gamma_multiply(0.55)),
            );
        }
        self.painter.line_segment(
            [
                pos2(block.right() + 1.5, y - 7.0),
                pos2(block.right() + 1.5, y + 7.0),
            ],
            Stroke::new(2.0, p.text),
        );
        let r = self.painter.text(
            pos2(block.right() + 7.0, y),
            Align2::LEFT_CENTER,
            "deleted | log start",
            font.clone(),
            p.dim,
        );
        x = r.right() + 12.0;
        for (colour, name) in [(p.dim, "segment"), (p.leo, "active segment")] {
            let stroke = Stroke::new(1.5, colour);
            let (l, rr, b) = (x, x + 14.0, y + 5.0);
            self.painter.line_segment([pos2(l, b), pos2(rr, b)], stroke);
            self.painter
                .line_segment([pos2(l, b - 5.0), pos2(l, b)], stroke);
            self.painter
                .line_segment([pos2(rr, b - 5.0), pos2(rr, b)], stroke);
            let r = self.painter.text(
                pos2(rr + 6.0, y),
                Align2::LEFT_CENTER,
                name,
                font.clone(),
                p.dim,
            );
            x = r.right() + 12.0;
        }
        x
    }
}
