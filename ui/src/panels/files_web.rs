//! Save and Open in the browser (the desktop's path field is `files.rs`): Save names the
//! download; Open goes straight to the browser's file picker, whose file the app opens when it
//! has been read (`crate::web::files`).

use std::path::PathBuf;

use bevy_egui::egui;

use crate::intents::{Intent, Intents};
use crate::state::{FileDialog, UiState};

pub fn show(ctx: &egui::Context, state: &mut UiState, intents: &mut Intents) {
    let Some(dialog) = &mut state.file_dialog else {
        return;
    };
    let name = match dialog {
        FileDialog::Open(_) => {
            if let Err(e) = crate::web::files::pick() {
                bevy::log::warn!("{e}");
            }
            state.file_dialog = None;
            return;
        }
        FileDialog::Save(name) => name,
    };
    let mut close = false;
    egui::Window::new("Download the session as a scenario")
        .collapsible(false)
        .resizable(false)
        .anchor(egui::Align2::CENTER_CENTER, [0.0, 0.0])
        .show(ctx, |ui| {
            ui.label(
                "The scenario, its seed and your interventions, as a .toml file: open it here \
                 again, or replay it with `kafkascope run FILE`.",
            );
            ui.label("File name:");
            let r = ui.add(egui::TextEdit::singleline(name).desired_width(420.0));
            r.request_focus();
            let enter = r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            ui.horizontal(|ui| {
                if ui.button("Download").clicked() || enter {
                    intents.push(Intent::Save(PathBuf::from(name.trim())));
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
