//! The interventions made in this session and the scenario's own faults, as the timed commands
//! a scenario file would hold.

use bevy_egui::egui::{self, RichText};
use kafkascope_sim::command::Command;
use kafkascope_sim::host::describe;

use crate::intents::{Intent, Intents};
use crate::session::Session;

pub fn show(ui: &mut egui::Ui, session: &Session, intents: &mut Intents) {
    ui.horizontal(|ui| {
        if ui
            .button("Heal every link")
            .on_hover_text("a `heal` command with no groups: every cut link is restored")
            .clicked()
        {
            intents.push(Intent::Intervene(Command::Heal { between: None }));
        }
    });
    ui.add_space(4.0);
    ui.label(RichText::new("Your interventions").strong());
    if session.interventions.is_empty() {
        ui.label(RichText::new("none yet: click a broker or the controller").weak());
    }
    for c in &session.interventions {
        ui.horizontal(|ui| {
            super::time_link(ui, c.at, intents);
            ui.label(describe(&c.command, &session.names));
        });
    }
    ui.add_space(6.0);
    ui.label(RichText::new("The scenario's faults").strong());
    if session.scenario.faults.is_empty() {
        ui.label(RichText::new("none").weak());
    }
    for c in &session.scenario.faults {
        ui.horizontal(|ui| {
            super::time_link(ui, c.at, intents);
            ui.label(describe(&c.command, &session.names));
        });
    }
}
