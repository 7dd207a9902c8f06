//! The help overlay: every keyboard shortcut, from the same table the key handler reads.

use bevy_egui::egui::{self, RichText};

use crate::shortcuts::SHORTCUTS;
use crate::state::UiState;

pub fn show(ctx: &egui::Context, state: &mut UiState) {
    if !state.help {
        return;
    }
    let mut open = true;
    egui::Window::new("Keyboard shortcuts")
        .open(&mut open)
        .collapsible(false)
        .resizable(false)
        .anchor(egui::Align2::CENTER_CENTER, [0.0, 0.0])
        .show(ctx, |ui| {
            egui::Grid::new("shortcuts")
                .num_columns(2)
                .spacing([24.0, 4.0])
                .striped(true)
                .show(ui, |ui| {
                    for (keys, what) in SHORTCUTS {
                        ui.label(RichText::new(*keys).monospace().strong());
                        ui.label(*what);
                        ui.end_row();
                    }
                });
            ui.add_space(6.0);
            ui.label(
                RichText::new(
                    "Click a broker or the controller to crash, pause, restart or cut it off; \
                     drag from one node to another to cut the link between them (with Shift: \
                     one way, from the first to the second). An intervention in the past \
                     discards the old future and re-simulates.",
                )
                .small(),
            );
        });
    if !open {
        state.help = false;
    }
}
