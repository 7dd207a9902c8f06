//! The event log: the narrative's lines up to the displayed moment, filterable; a click jumps
//! to the line's time.

use bevy_egui::egui::{self, RichText};

use crate::intents::{Intent, Intents};
use crate::playback::Playback;
use crate::session::Session;
use crate::state::UiState;

pub fn show(
    ui: &mut egui::Ui,
    session: &Session,
    pb: &Playback,
    state: &mut UiState,
    intents: &mut Intents,
) {
    let shown = pb.shown(session);
    let upto = session
        .narrated
        .partition_point(|(i, _)| session.entries[*i].at <= shown);
    ui.horizontal(|ui| {
        ui.label("Filter");
        ui.add(
            egui::TextEdit::singleline(&mut state.log_filter)
                .hint_text("broker-2, orders-0, truncated…")
                .desired_width(ui.available_width() - 10.0),
        );
    });
    let needle = state.log_filter.to_lowercase();
    let lines: Vec<&(usize, String)> = if needle.is_empty() {
        session.narrated[..upto].iter().collect()
    } else {
        session.narrated[..upto]
            .iter()
            .filter(|(_, l)| l.to_lowercase().contains(&needle))
            .collect()
    };
    ui.label(
        RichText::new(format!("{} events up to now (newest last)", lines.len()))
            .small()
            .weak(),
    );
    let row = ui.text_style_height(&egui::TextStyle::Monospace) + 2.0;
    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .stick_to_bottom(true)
        .show_rows(ui, row, lines.len(), |ui, range| {
            for (i, line) in &lines[range] {
                let at = session.entries[*i].at;
                let text = RichText::new(line.trim_start()).monospace().size(row - 3.0);
                let r = ui
                    .add(
                        egui::Label::new(text)
                            .sense(egui::Sense::click())
                            .truncate(),
                    )
                    .on_hover_text(line.trim_start());
                if r.clicked() {
                    intents.push(Intent::Seek(at as f64));
                }
            }
        });
}
