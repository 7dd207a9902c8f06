//! A producer's settings in its intervention menu: `acks`, `enable.idempotence` and the rate,
//! changed while it runs (the lesson "switch this producer to acks=all and watch the loss
//! stop").
//!
//! Like the link sliders, the choice is staged and **Apply** pushes one `Command::Producer`,
//! the command a scenario's `action = "producer"` fault holds, so Save keeps it.

use bevy_egui::egui::{self, RichText};
use kafkascope_sim::command::{Command, Target};
use kafkascope_sim::config::{Acks, Value};
use kafkascope_sim::ids::{Millis, NodeId};
use kafkascope_sim::trace::Event;

use crate::intents::{Intent, Intents};
use crate::session::Session;

/// The fastest rate the slider offers, in records per second.
pub const MAX_RATE: f64 = 5_000.0;

#[derive(Clone, Debug, PartialEq)]
pub struct ProducerEdit {
    pub producer: u16,
    pub acks: Acks,
    pub idempotence: bool,
    pub rate: f64,
}

impl ProducerEdit {
    /// Starts from the producer's settings at `at` (the displayed moment): its definition with
    /// the `producer` commands up to then applied.
    pub fn new(producer: u16, session: &Session, at: Millis) -> Self {
        let (config, rate) = session.producer_at(producer, at).unwrap_or_default();
        ProducerEdit {
            producer,
            acks: config.acks,
            idempotence: config.idempotence().unwrap_or(false),
            rate,
        }
    }

    /// The intervention this setting is. Idempotence needs acks=all: choosing it with acks
    /// 0 or 1 is offered as a Kafka error would be (not at all).
    pub fn command(&self) -> Command {
        Command::Producer {
            target: Target::Node(NodeId::Producer(self.producer)),
            settings: vec![
                ("acks".into(), Value::Str(self.acks.to_string())),
                (
                    "enable.idempotence".into(),
                    Value::Bool(self.idempotence && self.acks == Acks::All),
                ),
            ],
            rate: Some(self.rate),
        }
    }
}

/// The three `acks` values side by side, as Kafka spells them.
pub fn acks_choice(ui: &mut egui::Ui, acks: &mut Acks) {
    ui.horizontal(|ui| {
        for a in [Acks::None, Acks::Leader, Acks::All] {
            ui.selectable_value(acks, a, a.to_string());
        }
    });
}

/// Draws the section; `true` when a command was pushed.
pub fn show(
    ui: &mut egui::Ui,
    producer: u16,
    session: &Session,
    at: Millis,
    edit: &mut Option<ProducerEdit>,
    intents: &mut Intents,
) -> bool {
    if edit.as_ref().is_none_or(|e| e.producer != producer) {
        *edit = Some(ProducerEdit::new(producer, session, at));
    }
    let e = edit.as_mut().expect("just set");
    ui.label(RichText::new("Producer settings").strong());
    ui.horizontal(|ui| {
        ui.label("acks");
        acks_choice(ui, &mut e.acks);
    });
    ui.add_enabled_ui(e.acks == Acks::All, |ui| {
        ui.checkbox(&mut e.idempotence, "enable.idempotence")
            .on_hover_text(
            "sequence numbers per partition: the broker drops retried duplicates (needs acks=all)",
        );
    });
    ui.add(
        egui::Slider::new(&mut e.rate, 0.0..=MAX_RATE)
            .logarithmic(true)
            .suffix(" records/s")
            .text("rate"),
    );
    let reconfigured = session
        .entries
        .iter()
        .filter(|x| matches!(&x.event, Event::Reconfigured { producer: NodeId::Producer(p), .. } if *p == producer))
        .count();
    if reconfigured > 0 {
        ui.label(
            RichText::new(format!(
                "changed {reconfigured} time(s) so far in this session"
            ))
            .small(),
        );
    }
    let mut pushed = false;
    ui.horizontal(|ui| {
        if ui.button("Apply").clicked() {
            intents.push(Intent::Intervene(e.command()));
            pushed = true;
        }
        if ui
            .button("Stop sending")
            .on_hover_text("rate 0: the producer sends nothing new")
            .clicked()
        {
            e.rate = 0.0;
            intents.push(Intent::Intervene(e.command()));
            pushed = true;
        }
    });
    pushed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idempotence_is_only_asked_for_with_acks_all() {
        let e = ProducerEdit {
            producer: 0,
            acks: Acks::Leader,
            idempotence: true,
            rate: 10.0,
        };
        let Command::Producer { settings, rate, .. } = e.command() else {
            panic!("a producer command")
        };
        assert_eq!(
            settings[1],
            ("enable.idempotence".to_string(), Value::Bool(false))
        );
        assert_eq!(rate, Some(10.0));
    }
}
