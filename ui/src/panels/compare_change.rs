//! "Compare with a change…": pick one of the scenario's producers, brokers or topics, one of
//! its Kafka settings and a new value; the same scenario and seed then runs beside this one
//! with that setting changed (acks=1 against acks=all).
//!
//! The keys and their allowed values come from the simulator's table
//! ([`kafkascope_sim::config::KEYS`]); the change is checked as [`crate::change`] checks one
//! given on the command line, and the message says why a value is refused before anything runs.

use bevy_egui::egui::{self, RichText};
use kafkascope_sim::config::{self, Kind, Scope};

use crate::change::{self, Place, SettingEdit};
use crate::intents::{Intent, Intents};
use crate::session::Session;
use crate::theme::palette;

/// The change being put together.
#[derive(Clone, Debug, PartialEq)]
pub struct ChangeDialog {
    /// Index into [`Place::all`] of the session's scenario.
    pub place: usize,
    pub key: &'static str,
    pub value: String,
    /// The last change checked and what came of it (checking parses the scenario, so it is
    /// done when the change changes, not every frame).
    checked: Option<(String, Result<(), String>)>,
}

impl ChangeDialog {
    /// Starts on the first producer's `acks` (the classic comparison), or the first setting.
    pub fn new(session: &Session) -> Self {
        let scenario = session.as_scenario();
        let places = change::places(&scenario);
        let place = places.first().cloned().unwrap_or(Place::AllBrokers);
        let key = place
            .keys()
            .into_iter()
            .find(|k| *k == "acks")
            .or_else(|| place.keys().first().copied())
            .unwrap_or("min.insync.replicas");
        let value = suggestion(&place, &scenario, key);
        ChangeDialog {
            place: 0,
            key,
            value,
            checked: None,
        }
    }
}

/// The scope of the keys `place` takes. The dialog offers producers, brokers and topics
/// ([`change::places`]), never the cluster's own keys.
fn scope_of(place: &Place) -> Scope {
    place.scope().unwrap_or(Scope::Broker)
}

/// A value to start from: a different one from the current, where the kind lists them.
fn suggestion(place: &Place, scenario: &kafkascope_sim::scenario::Scenario, key: &str) -> String {
    let current = change::current(place, scenario, key);
    let Some(k) = config::key(scope_of(place), key) else {
        return String::new();
    };
    match k.kind {
        Kind::Choice(choices) => choices
            .iter()
            .find(|c| Some(c.to_string()) != current && **c != "-1")
            .unwrap_or(&choices[0])
            .to_string(),
        Kind::Bool => match current.as_deref() {
            Some("true") => "false".into(),
            _ => "true".into(),
        },
        Kind::Int { .. } => current
            .filter(|c| c.parse::<i64>().is_ok())
            .unwrap_or_else(|| k.default.to_string()),
        Kind::Text => current.unwrap_or_default(),
    }
}

pub fn show(
    ctx: &egui::Context,
    session: &Session,
    dialog: &mut Option<ChangeDialog>,
    presenter: bool,
    intents: &mut Intents,
) {
    let Some(d) = dialog else { return };
    let scenario = session.as_scenario();
    let places = change::places(&scenario);
    if places.is_empty() {
        *dialog = None;
        return;
    }
    d.place = d.place.min(places.len() - 1);
    let p = palette(presenter);
    let mut open = true;
    let mut chosen = false;
    egui::Window::new("Compare with a change")
        .id(egui::Id::new("compare-change"))
        .open(&mut open)
        .collapsible(false)
        .resizable(false)
        .default_pos(ctx.viewport_rect().center() - egui::vec2(200.0, 150.0))
        .show(ctx, |ui| {
            ui.set_max_width(420.0);
            ui.label(
                RichText::new(format!(
                    "The same scenario, seed {} and interventions beside this one, on one \
                     timeline, with one setting changed.",
                    session.seed
                ))
                .small(),
            );
            ui.add_space(4.0);
            egui::Grid::new("change-grid")
                .num_columns(2)
                .spacing([10.0, 6.0])
                .show(ui, |ui| {
                    ui.label("Where");
                    let before = d.place;
                    egui::ComboBox::from_id_salt("change-place")
                        .selected_text(places[d.place].label())
                        .show_ui(ui, |ui| {
                            for (i, place) in places.iter().enumerate() {
                                ui.selectable_value(&mut d.place, i, place.label());
                            }
                        });
                    ui.end_row();
                    let place = &places[d.place];
                    if d.place != before || config::key(scope_of(place), d.key).is_none() {
                        d.key = config::key(scope_of(place), d.key)
                            .map(|k| k.name)
                            .or_else(|| config::names(scope_of(place)).next())
                            .unwrap_or(d.key);
                        d.value = suggestion(place, &scenario, d.key);
                    }
                    ui.label("Setting");
                    let before = d.key;
                    egui::ComboBox::from_id_salt("change-key")
                        .selected_text(d.key)
                        .width(260.0)
                        .show_ui(ui, |ui| {
                            for name in config::names(scope_of(place)) {
                                ui.selectable_value(&mut d.key, name, name);
                            }
                        });
                    ui.end_row();
                    if d.key != before {
                        d.value = suggestion(place, &scenario, d.key);
                    }
                    let Some(key) = config::key(scope_of(place), d.key) else {
                        return;
                    };
                    ui.label("Now");
                    ui.label(
                        RichText::new(
                            change::current(place, &scenario, d.key)
                                .unwrap_or_else(|| format!("default ({})", key.default)),
                        )
                        .monospace(),
                    );
                    ui.end_row();
                    ui.label("New value");
                    match key.kind {
                        Kind::Choice(choices) => {
                            ui.horizontal(|ui| {
                                for c in choices {
                                    ui.selectable_value(&mut d.value, c.to_string(), *c);
                                }
                            });
                        }
                        Kind::Bool => {
                            ui.horizontal(|ui| {
                                for c in ["true", "false"] {
                                    ui.selectable_value(&mut d.value, c.to_string(), c);
                                }
                            });
                        }
                        Kind::Int { .. } | Kind::Text => {
                            ui.add(egui::TextEdit::singleline(&mut d.value).desired_width(160.0));
                        }
                    }
                    ui.end_row();
                    ui.label("");
                    ui.label(RichText::new(key.kind.describe()).small().weak());
                    ui.end_row();
                });
            let place = &places[d.place];
            if let Some(key) = config::key(scope_of(place), d.key) {
                ui.label(RichText::new(key.doc).small());
            }
            let typed = SettingEdit::from_text(place.clone(), d.key, &d.value);
            let spec = format!("{}.{}={}", place.prefix(), d.key, d.value.trim());
            let label = format!("{} {}={}", place.label(), d.key, d.value.trim());
            if d.checked.as_ref().is_none_or(|(s, _)| *s != spec) {
                let verdict = typed
                    .and_then(|c| change::apply_all(&scenario, &[c]))
                    .map(|_| ());
                d.checked = Some((spec.clone(), verdict));
            }
            ui.separator();
            match d.checked.as_ref().map(|(_, v)| v) {
                Some(Err(e)) => {
                    ui.label(RichText::new(e).color(p.bad));
                }
                _ => {
                    ui.label(RichText::new(format!("Right half: with {label}")).color(p.selected));
                }
            }
            ui.horizontal(|ui| {
                let ok = matches!(d.checked, Some((_, Ok(()))));
                if ui
                    .add_enabled(ok, egui::Button::new("Compare side by side"))
                    .on_hover_text(format!("the same as --compare-set {spec}"))
                    .clicked()
                {
                    intents.push(Intent::CompareChanged {
                        changes: vec![spec.clone()],
                    });
                    chosen = true;
                }
            });
        });
    if !open || chosen {
        *dialog = None;
    }
}
