//! The home screen: the scenario library (each failure next to its fix), the sandbox, and a
//! scenario file to open.

use bevy_egui::egui::{self, RichText};

use crate::app::LibraryItem;
use crate::intents::{Intent, Intents};
use crate::panels::{FileDialog, UiState};
use crate::theme::palette;

pub fn show(
    root: &mut egui::Ui,
    library: &[LibraryItem],
    state: &mut UiState,
    intents: &mut Intents,
    status: &str,
) {
    let p = palette(state.presenter);
    egui::CentralPanel::default().show(root, |ui| {
        egui::ScrollArea::vertical()
            .auto_shrink([false, false])
            .show(ui, |ui| {
                ui.add_space(16.0);
                ui.horizontal(|ui| {
                    ui.add_space(12.0);
                    ui.vertical(|ui| {
                        ui.label(
                            RichText::new("Kafkascope")
                                .size(34.0)
                                .strong()
                                .color(p.text),
                        );
                        ui.label(
                            RichText::new(
                                "Watch Apache Kafka work, and break it: a deterministic simulation \
                                 of brokers, a controller and producers. Pick a scenario; every \
                                 failure comes with the setting that prevents it.",
                            )
                            .size(15.0)
                            .color(p.dim),
                        );
                    });
                });
                ui.add_space(10.0);
                ui.horizontal(|ui| {
                    ui.add_space(12.0);
                    if ui
                        .button(RichText::new("Open a scenario file…").size(15.0))
                        .clicked()
                    {
                        state.file_dialog = Some(FileDialog::Open("scenario.toml".into()));
                    }
                    ui.toggle_value(&mut state.presenter, "Presenter mode (P)");
                    if ui.button("Keyboard shortcuts (H)").clicked() {
                        state.help = true;
                    }
                });
                if !status.is_empty() {
                    ui.label(RichText::new(status).color(p.bad));
                }
                ui.add_space(12.0);
                let width = ui.available_width();
                let columns = if width > 1100.0 {
                    3
                } else if width > 700.0 {
                    2
                } else {
                    1
                };
                let card_w = (width - 44.0 - 12.0 * (columns as f32 - 1.0)) / columns as f32;
                for row in library.chunks(columns) {
                    ui.horizontal(|ui| {
                        ui.add_space(12.0);
                        for item in row {
                            card(ui, item, card_w, state.presenter, intents);
                            ui.add_space(12.0);
                        }
                    });
                    ui.add_space(12.0);
                }
            });
    });
}

fn card(ui: &mut egui::Ui, item: &LibraryItem, width: f32, presenter: bool, intents: &mut Intents) {
    let p = palette(presenter);
    let frame = egui::Frame::new()
        .fill(p.node_fill)
        .stroke(egui::Stroke::new(1.0, p.node_stroke))
        .corner_radius(6.0)
        .inner_margin(10.0);
    let r = frame
        .show(ui, |ui| {
            ui.set_width(width - 20.0);
            ui.set_height(112.0);
            // A card is a column, whatever the row of cards around it is.
            ui.vertical(|ui| {
                ui.label(
                    RichText::new(&item.entry.name)
                        .monospace()
                        .strong()
                        .color(p.leader),
                );
                ui.label(RichText::new(&item.title).strong().color(p.text));
                let summary: String = item
                    .description
                    .replace('\n', " ")
                    .split_inclusive(". ")
                    .take(2)
                    .collect();
                ui.label(RichText::new(summary).small().color(p.dim));
            });
        })
        .response;
    let r = ui.interact(
        r.rect,
        egui::Id::new(("card", &item.entry.name)),
        egui::Sense::click(),
    );
    if r.hovered() {
        ui.painter().rect_stroke(
            r.rect,
            6.0,
            egui::Stroke::new(2.0, p.selected),
            egui::StrokeKind::Inside,
        );
    }
    if r.on_hover_cursor(egui::CursorIcon::PointingHand).clicked() {
        intents.push(Intent::Open {
            source: item.entry.name.clone(),
            text: item.entry.text.clone(),
            seed: None,
        });
    }
}
