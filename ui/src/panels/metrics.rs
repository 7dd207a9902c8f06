//! Metrics over time: small plots (sparklines, egui's painter, no plotting dependency) of
//! acknowledged records per second, under-replicated and offline partitions, and the reader's
//! lag, from the start of the run to the displayed moment. The x axis is the whole run, so the
//! lines grow as time plays and stop where the scrubber is; a click on a plot jumps there.

use bevy_egui::egui::{self, vec2, Align2, Color32, FontId, RichText, Sense, Stroke};
use kafkascope_sim::ids::Millis;

use crate::intents::{Intent, Intents};
use crate::playback::Playback;
use crate::session::Session;
use crate::state::UiState;
use crate::theme::palette;

pub fn show(
    ui: &mut egui::Ui,
    session: &Session,
    pb: &Playback,
    state: &UiState,
    intents: &mut Intents,
) {
    let p = palette(state.presenter);
    let m = &session.metrics;
    let points = m.upto(pb.shown(session));
    ui.label(
        RichText::new(format!(
            "One point per {} ms of virtual time, up to the displayed moment. Click a plot to \
             jump there.",
            m.bucket_ms
        ))
        .small()
        .weak(),
    );
    let plot = Plot {
        bucket_ms: m.bucket_ms,
        end: session.end().max(1),
    };
    let series: [(&str, Color32, Vec<f64>); 4] = [
        (
            "acknowledged records / s",
            p.ok,
            points.iter().map(|x| x.acked_per_s).collect(),
        ),
        (
            "under-replicated partitions",
            p.leo,
            points.iter().map(|x| x.under_replicated as f64).collect(),
        ),
        (
            "offline partitions",
            p.bad,
            points.iter().map(|x| x.offline as f64).collect(),
        ),
        (
            "reader's lag (records)",
            p.selected,
            points.iter().map(|x| x.lag as f64).collect(),
        ),
    ];
    for (title, colour, values) in series {
        ui.add_space(4.0);
        plot.show(ui, title, colour, &values, intents);
    }
}

struct Plot {
    bucket_ms: Millis,
    end: Millis,
}

impl Plot {
    fn show(
        &self,
        ui: &mut egui::Ui,
        title: &str,
        colour: Color32,
        values: &[f64],
        intents: &mut Intents,
    ) {
        let now = values.last().copied();
        ui.horizontal(|ui| {
            ui.label(RichText::new(title).strong());
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                ui.label(now.map_or("–".into(), fmt));
            });
        });
        let (rect, response) =
            ui.allocate_exact_size(vec2(ui.available_width(), 40.0), Sense::click());
        let painter = ui.painter_at(rect);
        painter.rect_filled(rect, 2.0, ui.visuals().extreme_bg_color);
        let max = values.iter().copied().fold(0.0, f64::max).max(1.0);
        let x = |i: usize| {
            let t = (i as f64 + 1.0) * self.bucket_ms as f64 / self.end as f64;
            rect.left() + (t.min(1.0) as f32) * rect.width()
        };
        let y = |v: f64| rect.bottom() - 3.0 - (v / max) as f32 * (rect.height() - 6.0);
        let line: Vec<egui::Pos2> = values
            .iter()
            .enumerate()
            .map(|(i, v)| egui::pos2(x(i), y(*v)))
            .collect();
        if line.len() >= 2 {
            painter.add(egui::Shape::line(line, Stroke::new(1.5, colour)));
        }
        painter.text(
            rect.right_top() + vec2(-3.0, 2.0),
            Align2::RIGHT_TOP,
            format!("max {}", fmt(max)),
            FontId::proportional(10.0),
            ui.visuals().weak_text_color(),
        );
        let response = response.on_hover_text("click to jump to this moment");
        if response.clicked() {
            if let Some(pos) = response.interact_pointer_pos() {
                let f = ((pos.x - rect.left()) / rect.width()).clamp(0.0, 1.0) as f64;
                intents.push(Intent::Seek(f * self.end as f64));
            }
        }
    }
}

fn fmt(v: f64) -> String {
    if v >= 100.0 || v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}
