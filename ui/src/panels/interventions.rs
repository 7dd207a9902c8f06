//! The interventions made in this session and the scenario's own faults, as the timed commands
//! a scenario file would hold; the cluster-wide ones (heal every link, add a producer or a
//! consumer) are made here too.

use bevy_egui::egui::{self, RichText};
use kafkascope_sim::command::Command;
use kafkascope_sim::host::describe;

use super::add_client::{self, ClientKind};
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
    ui.horizontal_wrapped(|ui| {
        if ui
            .button("Heal every link")
            .on_hover_text("a `heal` command with no groups: every cut link is restored")
            .clicked()
        {
            intents.push(Intent::Intervene(Command::Heal { between: None }));
        }
        for (kind, label) in [
            (ClientKind::Consumer, "➕ Add a consumer"),
            (ClientKind::Producer, "➕ Add a producer"),
        ] {
            let open = state.adding == Some(kind);
            if ui.selectable_label(open, label).clicked() {
                state.adding = if open { None } else { Some(kind) };
            }
        }
    });
    if let Some(kind) = state.adding {
        let at = (pb.shown(session) + 1).min(session.end());
        egui::Frame::group(ui.style()).show(ui, |ui| {
            let added = add_client::show(
                ui,
                kind,
                session,
                at,
                &mut state.add_client,
                &mut state.add_client_error,
                intents,
            );
            if added {
                state.adding = None;
            }
        });
    }
    ui.add_space(4.0);
    ui.label(RichText::new("Your interventions").strong());
    if session.interventions.is_empty() {
        ui.label(RichText::new("none yet: click a broker or the controller").weak());
    }
    for c in &session.interventions {
        ui.horizontal(|ui| {
            super::time_link::show(ui, c.at, intents);
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
            super::time_link::show(ui, c.at, intents);
            ui.label(describe(&c.command, &session.names));
        });
    }
}
