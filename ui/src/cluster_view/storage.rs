//! Storage in the replicas' rows (issue 16): the log start offset, with a hatched block for
//! the records below it (deleted: retention, DeleteRecords), which flashes red when a deletion
//! moves it; the segments, bracketed under the cells (the active one in the LEO's orange); a
//! long log as a strip instead of cells, so that its start and every segment stay in view; and
//! the row's hover text.
//!
//! A row draws storage only once the replica's log has rolled a segment or deleted records
//! ([`has_storage`]): a scenario without retention looks as it always did.

use bevy_egui::egui::{pos2, vec2, Align2, Color32, FontId, Rect, Stroke};
use kafkascope_sim::ids::{BrokerId, TopicPartition};
use kafkascope_sim::replay::{ReplayRole, ReplicaState};
use kafkascope_sim::trace::LogStartReason;

use super::layout::MIN_CELL_W;
use super::View;
use crate::cluster_state::{StartCause, StartMove};
use crate::transactions::{Marker, TxnPartition};

/// How long (displayed time) the block of deleted records stays red after a deletion.
const FLASH_MS: u64 = 2_000;

/// Whether `r`'s row draws storage: its log has rolled a segment or deleted records.
pub(super) fn has_storage(r: &ReplicaState) -> bool {
    r.log_start_offset > 0 || r.segments.len() > 1
}

/// The log start's tag in the block of deleted records: its text, font and the block's width.
pub(super) struct StartTag {
    text: Option<String>,
    font: FontId,
    pub width: f32,
}

/// What a row draws a log's storage with: where its offsets go.
pub(super) struct Cells<'a> {
    pub r: &'a ReplicaState,
    pub first: usize,
    pub x0: f32,
    pub cell_w: f32,
    pub gap: f32,
    /// The cells' area and the whole row.
    pub area: Rect,
    pub row: Rect,
    /// The row's font size.
    pub fs: f32,
}

impl Cells<'_> {
    /// The left edge of offset `o`'s cell.
    fn x(&self, o: usize) -> f32 {
        self.x0 + o.saturating_sub(self.first) as f32 * self.cell_w - self.gap / 2.0
    }
}

impl View<'_> {
    /// The tag for a log start at `start` in a row whose cells are `cells` (the words where
    /// the row has room, the number alone where it is narrow, none in a thin row).
    pub(super) fn start_tag(&self, start: usize, cells: Rect, fs: f32) -> StartTag {
        let font = self.mono((fs * 0.8).clamp(8.0, 11.0));
        if cells.height() < 11.0 {
            return StartTag {
                text: None,
                font,
                width: 8.0,
            };
        }
        let text = if cells.width() >= 320.0 {
            format!("log start {start}")
        } else {
            start.to_string()
        };
        let width = self.text_width(&text, font.clone()) + 10.0;
        StartTag {
            text: Some(text),
            font,
            width,
        }
    }

    /// How red the block of deleted records is: 1 at a deletion (or a move of the log start),
    /// fading to 0 over [`FLASH_MS`].
    fn flash(&self, tp: &TopicPartition, b: BrokerId) -> f32 {
        self.cluster.start_move(tp, b).map_or(0.0, |m| {
            let age = self.cluster.at.saturating_sub(m.at);
            if age >= FLASH_MS {
                0.0
            } else {
                1.0 - age as f32 / FLASH_MS as f32
            }
        })
    }

    /// The block standing for the offsets below the log start: hatched (deleted), with the
    /// log start's offset in it, red for a moment after a deletion.
    pub(super) fn deleted_block(
        &self,
        rect: Rect,
        tag: &StartTag,
        tp: &TopicPartition,
        b: BrokerId,
        start: usize,
    ) {
        let p = &self.p;
        let flash = self.flash(tp, b);
        let lines = p.dim.gamma_multiply(0.55).lerp_to_gamma(p.cut, flash);
        self.painter
            .rect_filled(rect, 1.5, p.node_down.lerp_to_gamma(p.cut, flash * 0.35));
        let clip = self.painter.with_clip_rect(rect);
        let step = 5.0;
        let mut x = rect.left() - rect.height();
        while x < rect.right() {
            clip.line_segment(
                [pos2(x, rect.bottom()), pos2(x + rect.height(), rect.top())],
                Stroke::new(1.0, lines),
            );
            x += step;
        }
        if let Some(text) = &tag.text {
            let galley = self
                .painter
                .layout_no_wrap(text.clone(), tag.font.clone(), p.text);
            let chip = Rect::from_center_size(rect.center(), galley.size() + vec2(4.0, 0.0));
            self.painter.rect_filled(chip, 2.0, p.node_down);
            self.painter
                .galley(chip.min + vec2(2.0, 0.0), galley, p.text);
        }
        self.hover(rect, || {
            format!(
                "offsets 0 to {} are deleted: the log starts at {start}",
                start.saturating_sub(1)
            )
        });
    }

    /// The kept records as a strip, when a cell each would be narrower than the narrowest
    /// cell: runs of one colour, at most one per pixel column.
    pub(super) fn strip(&self, c: &Cells, hw: usize, up: bool, txns: Option<&TxnPartition>) {
        let log = &c.r.log;
        let leo = log.len();
        if leo <= c.first || c.cell_w <= 0.0 {
            return;
        }
        let (top, bottom) = (c.area.top() + 1.0, c.area.bottom() - 1.0);
        // Offsets per slot: one when a cell is a pixel or wider, else a pixel column's worth
        // (drawn in the colour of its first offset).
        let step = (1.0 / c.cell_w).max(1.0);
        let slots = ((leo - c.first) as f32 / step).ceil() as usize;
        let paint = |from: f32, to: f32, colour: Color32| {
            self.painter
                .rect_filled(Rect::from_x_y_ranges(from..=to, top..=bottom), 0.0, colour);
        };
        let mut run: Option<(f32, Color32)> = None;
        for i in 0..slots {
            let o = (c.first + (i as f32 * step) as usize).min(leo - 1);
            let v = &log[o];
            let colour = match Marker::parse(v) {
                Some(m) => {
                    let mc = if m.commit { self.p.ok } else { self.p.bad };
                    mc.gamma_multiply(if o >= hw { 0.5 } else { 1.0 })
                }
                None => {
                    let mut colour = self.record_colour(v);
                    if !up {
                        colour = colour.gamma_multiply(0.35);
                    }
                    if txns.is_some_and(|t| t.is_aborted(o as u64, v, leo as u64)) {
                        colour.gamma_multiply(0.25)
                    } else if o >= hw {
                        colour.gamma_multiply(0.35)
                    } else {
                        colour
                    }
                }
            };
            let x = c.x0 + (o - c.first) as f32 * c.cell_w;
            match run {
                Some((_, rc)) if rc == colour => {}
                Some((from, rc)) => {
                    paint(from, x, rc);
                    run = Some((x, colour));
                }
                None => run = Some((x, colour)),
            }
        }
        if let Some((from, rc)) = run {
            paint(from, c.x0 + (leo - c.first) as f32 * c.cell_w, rc);
        }
    }

    /// The segments: a gap through the cells at each segment's base, and a bracket under each
    /// segment in view (the active one, where appends go, in the LEO's orange); and the log
    /// start as a light line.
    pub(super) fn segments(&self, c: &Cells) {
        let p = &self.p;
        let leo = c.r.log.len();
        let start = (c.r.log_start_offset as usize).min(leo);
        let bases: Vec<usize> = c.r.segments.iter().map(|&b| b as usize).collect();
        let brackets = c.row.height() >= 14.0;
        // Whole pixels, so that the brackets' 2-point lines are crisp.
        let y = c.row.bottom().round() - 1.0;
        let tick_top = c.area.bottom() - 4.0;
        for (i, &base) in bases.iter().enumerate() {
            let end = bases.get(i + 1).copied().unwrap_or(leo).min(leo);
            let active = i + 1 == bases.len();
            // A segment's base inside the kept offsets: cut the cells there.
            if base > start.max(c.first) && base <= leo {
                let x = c.x(base);
                self.painter.line_segment(
                    [pos2(x, c.area.top()), pos2(x, c.area.bottom())],
                    Stroke::new(2.0, p.node_fill),
                );
            }
            // In a strip, a segment whose base is kept is named by it where it has room (Kafka
            // names a segment's files by their base offset).
            if c.cell_w < MIN_CELL_W && base > start && base >= c.first && end > base {
                let (x1, x2) = (c.x(base) + 1.0, c.x(end) - 1.0);
                let font = self.mono((c.fs * 0.7).clamp(7.5, 10.0));
                let label = base.to_string();
                if self.text_width(&label, font.clone()) + 6.0 <= x2 - x1 {
                    self.painter.text(
                        pos2(x1 + 3.0, c.area.center().y),
                        Align2::LEFT_CENTER,
                        label,
                        font,
                        Color32::BLACK,
                    );
                }
            }
            if !brackets {
                continue;
            }
            let from = base.max(c.first);
            let (x1, x2) = (
                (c.x(from) + 1.5).round(),
                (c.x(end.max(from)) - 1.5).round(),
            );
            if active && x2 <= x1 {
                // An empty active segment (just rolled): a tick at the log end.
                let x = c.x(leo) + 1.0;
                self.painter
                    .line_segment([pos2(x, tick_top), pos2(x, y)], Stroke::new(2.0, p.leo));
                continue;
            }
            if x2 <= x1 {
                continue;
            }
            let colour = if active { p.leo } else { p.dim };
            let stroke = Stroke::new(2.0, colour);
            self.painter
                .line_segment([pos2(x1, y), pos2(x2, y)], stroke);
            // Ticks where the segment really begins and ends, not where the view cuts it.
            if base >= c.first {
                self.painter
                    .line_segment([pos2(x1, tick_top), pos2(x1, y)], stroke);
            }
            if !active {
                self.painter
                    .line_segment([pos2(x2, tick_top), pos2(x2, y)], stroke);
            }
        }
        if start > 0 && start >= c.first {
            let x = c.x(start) - 1.5;
            self.painter.line_segment(
                [pos2(x, c.row.top()), pos2(x, c.row.bottom())],
                Stroke::new(2.0, p.text),
            );
        }
    }

    /// The row's hover text: the replica's offsets and segments, and its log start's last move.
    pub(super) fn replica_hover(&self, row: Rect, tp: &TopicPartition, b: BrokerId) {
        let Some(r) = self.cluster.replay.replica(tp, b) else {
            return;
        };
        self.hover(row, || {
            let role = match r.role {
                ReplayRole::Leader => " (leader)",
                ReplayRole::Follower => " (follower)",
                ReplayRole::None => "",
            };
            let n = r.segments.len();
            let active = r.segments.last().copied().unwrap_or(0);
            let mut text = format!(
                "{tp} on broker-{b}{role}\nlog start {} · hw {} · leo {}\n{n} segment{}, the active one from offset {active}",
                r.log_start_offset,
                r.high_watermark,
                r.log.len(),
                if n == 1 { "" } else { "s" },
            );
            if let Some(m) = self.cluster.start_move(tp, b) {
                text.push('\n');
                text += &describe(m);
            }
            text
        })
    }
}

/// A log start's last move, for the hover text.
fn describe(m: &StartMove) -> String {
    let at = crate::playback::fmt_ms(m.at as f64);
    match m.cause {
        StartCause::Deleted(reason) => {
            let moved = if m.to > m.from {
                format!("; log start {} → {}", m.from, m.to)
            } else {
                String::new()
            };
            format!(
                "at {at}: deleted {} segment{} ({} records) by {}{moved}",
                m.segments,
                if m.segments == 1 { "" } else { "s" },
                m.records,
                reason.name()
            )
        }
        StartCause::Moved(reason) => {
            let why = match reason {
                LogStartReason::ClientRecordDeletion => "DeleteRecords",
                LogStartReason::LeaderOffsetIncremented => "learned from the leader",
                LogStartReason::TruncatedFully => {
                    "behind the leader's log start: emptied, starts there"
                }
            };
            format!("at {at}: log start {} → {} ({why})", m.from, m.to)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafkascope_sim::trace::DeletionReason;

    #[test]
    fn a_log_start_move_says_what_moved_it() {
        let deleted = StartMove {
            at: 47_000,
            from: 404,
            to: 505,
            cause: StartCause::Deleted(DeletionReason::RetentionMs),
            segments: 1,
            records: 101,
        };
        assert_eq!(
            describe(&deleted),
            "at 47.000 s: deleted 1 segment (101 records) by retention.ms; log start 404 → 505"
        );
        // Segments below a log start that DeleteRecords had already moved.
        let after = StartMove {
            from: 980,
            to: 980,
            cause: StartCause::Deleted(DeletionReason::LogStartOffset),
            segments: 5,
            records: 475,
            ..deleted
        };
        assert_eq!(
            describe(&after),
            "at 47.000 s: deleted 5 segments (475 records) by the log start offset"
        );
        let moved = StartMove {
            cause: StartCause::Moved(LogStartReason::ClientRecordDeletion),
            segments: 0,
            records: 0,
            ..deleted
        };
        assert_eq!(
            describe(&moved),
            "at 47.000 s: log start 404 → 505 (DeleteRecords)"
        );
    }
}
