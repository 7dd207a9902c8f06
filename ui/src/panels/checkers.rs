//! The checkers, live: each invariant green while it holds at the displayed moment, red from
//! the event that broke it (click to jump there).
//!
//! Findings come from the whole run (the simulation thread checks it when it ends); a verdict
//! is shown as broken once the displayed time reaches its first violation, which is when the
//! checker, reading the trace in order, would have said so.

use bevy_egui::egui::{self, RichText};
use kafkascope_sim::scenario::{CheckerId, Count};

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
    let shown = pb.shown(session);
    ui.heading("Checkers");
    let Some(findings) = &session.findings else {
        if session.live.is_some() {
            ui.label(format!(
                "live at {}: the checkers run over the whole trace once it ends \
                 (Branch from here, or Save and `kafkascope run`)",
                crate::playback::fmt_ms(session.simulated_to as f64)
            ));
            return;
        }
        ui.horizontal(|ui| {
            ui.spinner();
            ui.label(format!(
                "simulating… {}",
                crate::playback::fmt_ms(session.simulated_to as f64)
            ));
        });
        return;
    };
    egui::Grid::new("checkers")
        .num_columns(2)
        .spacing([8.0, 3.0])
        .show(ui, |ui| {
            for c in CheckerId::ALL {
                let v = findings.verdict(c);
                match &v.violation {
                    Some(x) if x.at <= shown => {
                        ui.label(RichText::new("✖").color(p.bad).strong());
                        ui.vertical(|ui| {
                            let r = ui
                                .add(
                                    egui::Label::new(RichText::new(c.name()).color(p.bad).strong())
                                        .sense(egui::Sense::click()),
                                )
                                .on_hover_text(c.doc());
                            if r.clicked() {
                                intents.push(Intent::Seek(x.at as f64));
                            }
                            ui.horizontal_wrapped(|ui| {
                                super::time_link::show(ui, x.at, intents);
                                ui.label(RichText::new(&x.message).small());
                            });
                        });
                    }
                    later => {
                        ui.label(RichText::new("✔").color(p.ok).strong());
                        ui.horizontal(|ui| {
                            ui.label(RichText::new(c.name()).color(p.ok))
                                .on_hover_text(c.doc());
                            if let Some(x) = later {
                                let r = ui
                                    .small_button(format!(
                                        "breaks at {}",
                                        crate::playback::fmt_ms(x.at as f64)
                                    ))
                                    .on_hover_text(&x.message);
                                if r.clicked() {
                                    intents.push(Intent::Seek(x.at as f64));
                                }
                            }
                        });
                    }
                }
                ui.end_row();
            }
        });
    ui.collapsing("Counts over the whole run", |ui| {
        egui::Grid::new("counts").num_columns(2).show(ui, |ui| {
            for c in Count::ALL {
                ui.label(c.name()).on_hover_text(c.doc());
                ui.label(findings.count(c).to_string());
                ui.end_row();
            }
        });
        if let Some(h) = session.trace_hash {
            ui.label(format!("trace hash {h:016x}"));
        }
    });
}
