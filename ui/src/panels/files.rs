//! Save and Open: the session as a scenario file (scenario, seed and every intervention as a
//! `[[faults]]` entry), which `kafkascope run FILE` replays to the same trace.
//!
//! A path field rather than a native file dialog: it needs no extra system libraries and works
//! the same under Xvfb.

use std::path::PathBuf;

use bevy_egui::egui;

use crate::intents::{Intent, Intents};
use crate::state::{FileDialog, UiState};

pub fn show(ctx: &egui::Context, state: &mut UiState, intents: &mut Intents) {
    let Some(dialog) = &mut state.file_dialog else {
        return;
    };
    let (title, path, verb) = match dialog {
        FileDialog::Save(p) => ("Save session as a scenario", p, "Save"),
        FileDialog::Open(p) => ("Open a scenario file", p, "Open"),
    };
    let mut close = false;
    egui::Window::new(title)
        .collapsible(false)
        .resizable(false)
        .anchor(egui::Align2::CENTER_CENTER, [0.0, 0.0])
        .show(ctx, |ui| {
            ui.label("Path of the .toml file:");
            let r = ui.add(egui::TextEdit::singleline(path).desired_width(420.0));
            r.request_focus();
            let enter = r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            ui.horizontal(|ui| {
                if ui.button(verb).clicked() || enter {
                    let p = PathBuf::from(path.trim());
                    intents.push(if verb == "Save" {
                        Intent::Save(p)
                    } else {
                        Intent::OpenFile(p)
                    });
                    close = true;
                }
                if ui.button("Cancel").clicked() {
                    close = true;
                }
            });
        });
    if close {
        state.file_dialog = None;
    }
}
