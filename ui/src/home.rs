//! The home screen: the lessons (with the learner's progress in each), the scenario library
//! (each failure next to its fix), the sandbox, and a scenario file to open.

use bevy_egui::egui::{self, RichText};

use crate::intents::{Intent, Intents};
use crate::lesson::{Learning, LessonIntent};
use crate::library::LibraryItem;
use crate::state::{FileDialog, UiState};
use crate::theme::palette;

pub fn show(
    root: &mut egui::Ui,
    library: &[LibraryItem],
    learning: &Learning,
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
                    if let Some((name, text)) = &state.resume {
                        let r = ui
                            .button(
                                RichText::new(format!("Continue where you left off: {name}"))
                                    .size(15.0)
                                    .strong(),
                            )
                            .on_hover_text(
                                "your last scenario and interventions, saved in this browser",
                            );
                        crate::page_status::record(ui, "continue", r.rect);
                        if r.clicked() {
                            intents.push(Intent::Open {
                                source: name.clone(),
                                text: text.clone(),
                                seed: None,
                            });
                        }
                    }
                    let r = ui.button(RichText::new("Open a scenario file…").size(15.0));
                    crate::page_status::record(ui, "open", r.rect);
                    if r.clicked() {
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
                lessons(ui, learning, state.presenter, intents);
                ui.add_space(8.0);
                ui.horizontal(|ui| {
                    ui.add_space(12.0);
                    ui.label(RichText::new("Scenarios").size(20.0).strong().color(p.text));
                });
                ui.add_space(6.0);
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
    crate::page_status::record(ui, format!("scenario:{}", item.entry.name), r.rect);
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

/// The course: each lesson's number, title, summary and where the learner is in it. A click
/// opens it where the saved progress left off.
fn lessons(ui: &mut egui::Ui, learning: &Learning, presenter: bool, intents: &mut Intents) {
    let p = palette(presenter);
    ui.horizontal(|ui| {
        ui.add_space(12.0);
        ui.label(RichText::new("Lessons").size(20.0).strong().color(p.text));
        if let Ok(c) = &learning.course {
            ui.label(
                RichText::new(format!(
                    "guided: read, predict what happens, then do it yourself ({} lessons)",
                    c.lessons.len()
                ))
                .color(p.dim),
            );
        }
    });
    ui.add_space(6.0);
    let course = match &learning.course {
        Ok(c) => c,
        Err(e) => {
            ui.horizontal(|ui| {
                ui.add_space(12.0);
                ui.add(
                    egui::Label::new(
                        RichText::new(format!("The lessons could not be loaded: {e}")).color(p.bad),
                    )
                    .wrap(),
                );
            });
            return;
        }
    };
    let width = ui.available_width();
    let columns = if width > 900.0 { 2 } else { 1 };
    let card_w = (width - 44.0 - 12.0 * (columns as f32 - 1.0)) / columns as f32;
    for row in course.lessons.chunks(columns) {
        ui.horizontal(|ui| {
            ui.add_space(12.0);
            for lesson in row {
                let lp = learning.progress.lessons.get(&lesson.id);
                let status = crate::lesson::status(lesson, lp);
                let colour = match lp {
                    None => p.dim,
                    Some(lp) if lp.finished => p.ok,
                    Some(_) => p.leader,
                };
                let frame = egui::Frame::new()
                    .fill(p.node_fill)
                    .stroke(egui::Stroke::new(1.0, p.node_stroke))
                    .corner_radius(6.0)
                    .inner_margin(10.0);
                let r = frame
                    .show(ui, |ui| {
                        ui.set_width(card_w - 20.0);
                        ui.set_height(44.0);
                        ui.horizontal_top(|ui| {
                            ui.label(
                                RichText::new(format!("{:>2}", lesson.number))
                                    .size(24.0)
                                    .strong()
                                    .color(p.accent),
                            );
                            ui.add_space(6.0);
                            ui.vertical(|ui| {
                                ui.horizontal(|ui| {
                                    ui.label(
                                        RichText::new(&lesson.title)
                                            .size(15.0)
                                            .strong()
                                            .color(p.text),
                                    );
                                    ui.with_layout(
                                        egui::Layout::right_to_left(egui::Align::Center),
                                        |ui| {
                                            ui.label(RichText::new(&status).color(colour));
                                            if let Some(m) = lesson.minutes {
                                                ui.label(
                                                    RichText::new(format!("{m} min · "))
                                                        .small()
                                                        .color(p.dim),
                                                );
                                            }
                                        },
                                    );
                                });
                                ui.add(
                                    egui::Label::new(
                                        RichText::new(&lesson.summary).small().color(p.dim),
                                    )
                                    .truncate(),
                                );
                            });
                        });
                    })
                    .response;
                let r = ui
                    .interact(
                        r.rect,
                        egui::Id::new(("lesson-card", &lesson.id)),
                        egui::Sense::click(),
                    )
                    .on_hover_text(&lesson.summary);
                crate::page_status::record(ui, format!("lesson:{}", lesson.id), r.rect);
                if r.hovered() {
                    ui.painter().rect_stroke(
                        r.rect,
                        6.0,
                        egui::Stroke::new(2.0, p.accent),
                        egui::StrokeKind::Inside,
                    );
                }
                if r.on_hover_cursor(egui::CursorIcon::PointingHand).clicked() {
                    intents.push(Intent::Lesson(LessonIntent::Open {
                        id: lesson.id.clone(),
                        step: None,
                    }));
                }
                ui.add_space(12.0);
            }
        });
        ui.add_space(10.0);
    }
}
