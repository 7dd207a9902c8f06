//! The top bar: back to the home screen, what is running, Compare, Save/Open, display toggles,
//! help.

use bevy_egui::egui::{self, RichText};

use crate::intents::{Intent, Intents};
use crate::library::LibraryItem;
use crate::session::Session;
use crate::state::{FileDialog, UiState};

pub fn show(
    root: &mut egui::Ui,
    session: &Session,
    library: &[LibraryItem],
    comparing: bool,
    state: &mut UiState,
    intents: &mut Intents,
    status: &str,
) {
    egui::Panel::top("top").show(root, |ui| {
        ui.add_space(3.0);
        ui.horizontal(|ui| {
            if ui.button("⏴ Home").on_hover_text("Esc").clicked() {
                intents.push(Intent::Home);
            }
            ui.separator();
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                if ui
                    .button("?")
                    .on_hover_text("keyboard shortcuts (H)")
                    .clicked()
                {
                    state.help = !state.help;
                }
                ui.toggle_value(&mut state.presenter, "Presenter")
                    .on_hover_text("large type, high contrast, no side panel (P)");
                ui.toggle_value(&mut state.side_panel, "Panels")
                    .on_hover_text("checkers, event log, configuration (T)");
                ui.toggle_value(&mut state.colour_by_key, "Colour by key")
                    .on_hover_text("record cells coloured by key instead of by producer (K)");
                ui.separator();
                if comparing {
                    if ui.button("Close compare").clicked() {
                        intents.push(Intent::CloseCompare);
                    }
                } else {
                    ui.menu_button("Compare…", |ui| {
                        if ui
                            .button("This scenario with a change…")
                            .on_hover_text(
                                "the same scenario and seed with one setting changed \
                                 (acks=1 against acks=all)",
                            )
                            .clicked()
                        {
                            state.change_dialog =
                                Some(super::compare_change::ChangeDialog::new(session));
                            ui.close();
                        }
                        ui.separator();
                        ui.label(
                            RichText::new(format!(
                                "beside this one, with seed {}, on one timeline",
                                session.seed
                            ))
                            .small(),
                        );
                        for item in library {
                            if ui
                                .button(&item.title)
                                .on_hover_text(&item.entry.name)
                                .clicked()
                            {
                                intents.push(Intent::Compare {
                                    source: item.entry.name.clone(),
                                    text: item.entry.text.clone(),
                                    changes: Vec::new(),
                                });
                                ui.close();
                            }
                        }
                    })
                    .response
                    .on_hover_text("the same seed under another scenario, side by side");
                }
                if ui.button("Open…").clicked() {
                    state.file_dialog = Some(FileDialog::Open("scenario.toml".into()));
                }
                if ui
                    .button("Save…")
                    .on_hover_text("the scenario, seed and your interventions, as a scenario file")
                    .clicked()
                {
                    state.file_dialog = Some(FileDialog::Save(format!(
                        "{}-session.toml",
                        short_name(&session.source)
                    )));
                }
                ui.separator();
                // The title takes what is left, cut short rather than under the buttons.
                ui.with_layout(egui::Layout::left_to_right(egui::Align::Center), |ui| {
                    live_badge(ui, session, state.presenter);
                    if !session.interventions.is_empty() {
                        ui.label(
                            RichText::new(format!(
                                "+{} interventions",
                                session.interventions.len()
                            ))
                            .color(crate::theme::palette(state.presenter).paused),
                        );
                    }
                    ui.label(RichText::new(format!("seed {}", session.seed)).weak());
                    ui.add(
                        egui::Label::new(RichText::new(&session.scenario.name).strong().size(16.0))
                            .truncate(),
                    );
                });
            });
        });
        if !status.is_empty() {
            ui.label(RichText::new(status).small());
        }
        ui.add_space(2.0);
    });
}

/// The live session's indicator, large enough to read off a projector:
/// `LIVE · bootstrap.servers=127.0.0.1:9092,…`.
fn live_badge(ui: &mut egui::Ui, session: &Session, presenter: bool) {
    let Some(text) = live_text(session) else {
        return;
    };
    let p = crate::theme::palette(presenter);
    let colour = if session.serving() { p.cut } else { p.dim };
    ui.label(
        RichText::new(text)
            .strong()
            .size(if presenter { 20.0 } else { 16.0 })
            .color(colour),
    )
    .on_hover_text(
        "real Kafka clients connect here (kafka-python, librdkafka, kcat, Java); \
         faults apply now",
    );
    ui.separator();
}

/// What the live indicator says, `None` for an ordinary session.
pub fn live_text(session: &Session) -> Option<String> {
    let live = session.live.as_ref()?;
    Some(match (&live.error, &live.bootstrap, live.stopping) {
        (Some(e), _, _) => format!("LIVE failed: {e}"),
        (None, _, true) => "stopping the live session…".into(),
        (None, Some(b), false) => format!("LIVE · bootstrap.servers={b}"),
        (None, None, false) => "LIVE · binding the ports…".into(),
    })
}

/// `acks1-leader-crash` from a name or a path.
fn short_name(source: &str) -> String {
    let base = source.rsplit(['/', '\\']).next().unwrap_or(source);
    base.trim_end_matches(".toml").to_string()
}
