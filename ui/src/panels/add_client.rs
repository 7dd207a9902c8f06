//! Adding a producer or a consumer while the cluster runs: the form in the Interventions tab.
//!
//! The new client starts from an existing one's settings ("another consumer like billing-1",
//! the usual way to watch a group rebalance when a member arrives), with its name, group,
//! topics or rate changed. The form's result is checked exactly as a typed lesson command or a
//! scenario file's `add-consumer`/`add-producer` fault is: a copy is a typed command checked by
//! the simulator's [`kafkascope_sim::scenario::edit::add_command`] against the session's
//! scenario with its interventions; a client with nothing to copy is the line a learner would
//! type. Either way a taken name or an unknown topic gets the scenario format's own message.
//! The line is shown too, so the form also teaches what to type (or write in a file).

use bevy_egui::egui::{self, RichText};
use kafkascope_lessons::command_line::{parse_line, to_line, Input};
use kafkascope_lessons::SimRef;
use kafkascope_sim::command::{Command, TimedCommand};
use kafkascope_sim::config::{Acks, Value};
use kafkascope_sim::ids::{is_internal_topic, Millis};
use kafkascope_sim::producer::Workload;
use kafkascope_sim::scenario::{edit, to_toml};

use crate::intents::{Intent, Intents};
use crate::session::Session;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientKind {
    Consumer,
    Producer,
}

/// The form's fields. Consumer and producer fields live side by side so that switching the
/// kind back and forth keeps what was typed.
#[derive(Clone, Debug, PartialEq)]
pub struct AddClient {
    pub kind: ClientKind,
    /// The declared or added client (of `kind`) whose other settings the new one copies.
    pub like: Option<u16>,
    pub name: String,
    /// `group.id`; empty for a consumer without a group.
    pub group: String,
    pub topics: Vec<String>,
    /// The producer's topic.
    pub topic: String,
    pub acks: Acks,
    pub rate: f64,
}

impl AddClient {
    /// A form for another client of `kind` like the session's first one, with a fresh name.
    pub fn new(kind: ClientKind, session: &Session) -> Self {
        let mut form = AddClient {
            kind,
            like: None,
            name: String::new(),
            group: String::new(),
            topics: Vec::new(),
            topic: String::new(),
            acks: Acks::All,
            rate: 10.0,
        };
        let first = match kind {
            ClientKind::Consumer => (!session.consumers.is_empty()).then_some(0),
            ClientKind::Producer => (!session.producers.is_empty()).then_some(0),
        };
        form.copy(first, session);
        if form.topic.is_empty() {
            form.topic = topics(session).into_iter().next().unwrap_or_default();
        }
        if form.topics.is_empty() {
            form.topics = topics(session).into_iter().take(1).collect();
        }
        form
    }

    /// Starts the form over from client `like`'s settings (or the defaults), with a name that
    /// is not taken: `billing-1` suggests `billing-2`.
    pub fn copy(&mut self, like: Option<u16>, session: &Session) {
        self.like = like;
        let base = match (self.kind, like) {
            (ClientKind::Consumer, Some(i)) => session.consumer(i).map(|c| {
                self.group = c.group.as_deref().unwrap_or_default().to_string();
                self.topics = c.topics.iter().map(|t| t.to_string()).collect();
                c.name.clone()
            }),
            (ClientKind::Producer, Some(i)) => {
                let at = session.simulated_to;
                if let Some((config, rate)) = session.producer_at(i, at) {
                    self.acks = config.acks;
                    self.rate = rate;
                }
                session.producer(i).map(|p| {
                    self.topic = p.topic.to_string();
                    p.name.clone()
                })
            }
            _ => None,
        };
        let taken: Vec<&String> = session
            .names
            .producers
            .iter()
            .chain(&session.names.consumers)
            .collect();
        let default = match self.kind {
            ClientKind::Consumer => "c",
            ClientKind::Producer => "p",
        };
        self.name = next_name(base.as_deref().unwrap_or(default), &taken);
    }

    /// The command line this form stands for, at virtual time `at`.
    pub fn line(&self, session: &Session, at: Millis) -> String {
        match self.edit(session, at) {
            FormEdit::Typed(command) => to_line(&TimedCommand { at, command }, &session.scenario),
            FormEdit::Line(line) => line,
        }
    }

    /// What the form makes: a copy of a client, typed; or, with nothing to copy, the line a
    /// learner would type, which the scenario reader gives its defaults.
    fn edit(&self, session: &Session, at: Millis) -> FormEdit {
        let command = match self.kind {
            ClientKind::Consumer => {
                let Some(mut def) = self.like.and_then(|i| session.consumer(i)).cloned() else {
                    let mut line = format!("add-consumer {}", self.name.trim());
                    if !self.group.trim().is_empty() {
                        line += &format!(" group={}", self.group.trim());
                    }
                    return FormEdit::Line(line + &format!(" topics={},", self.topics.join(",")));
                };
                def.name = self.name.trim().to_string();
                def.group = (!self.group.trim().is_empty()).then(|| self.group.trim().into());
                def.topics = self.topics.iter().map(|t| t.as_str().into()).collect();
                // A copy is a plain consumer: it joins now and runs to the end, and does not
                // produce the original's stream output under a second name.
                def.start = at;
                def.stop = None;
                def.output = None;
                Command::AddConsumer(Box::new(def))
            }
            ClientKind::Producer => {
                let acks = self.acks.to_string();
                let Some(mut def) = self.like.and_then(|i| session.producer(i)).cloned() else {
                    return FormEdit::Line(format!(
                        "add-producer {} topic={} acks={acks} rate={}",
                        self.name.trim(),
                        self.topic,
                        self.rate
                    ));
                };
                if let Some((config, _)) = self.like.and_then(|i| session.producer_at(i, at)) {
                    def.config = config;
                }
                def.name = self.name.trim().to_string();
                def.topic = self.topic.as_str().into();
                def.config.set("acks", &Value::Str(acks));
                // Kafka refuses enable.idempotence=true with acks 0 or 1 (a ConfigException);
                // the copy turns it off rather than fail.
                if self.acks != Acks::All {
                    def.config.set("enable.idempotence", &Value::Bool(false));
                }
                // Its own steady workload from now on, without the original's named records.
                let w = &def.workload;
                def.workload = Workload::new(
                    self.rate,
                    at,
                    session.end(),
                    w.keys.clone(),
                    w.value_bytes,
                    Vec::new(),
                );
                Command::AddProducer(Box::new(def))
            }
        };
        FormEdit::Typed(command)
    }

    /// The command to add, checked as the same line typed in a lesson would be, against the
    /// scenario with every intervention so far (so an added client's name is taken too).
    pub fn command(&self, session: &Session, at: Millis) -> Result<Command, String> {
        if self.name.trim().is_empty() {
            return Err("the new client needs a name".into());
        }
        let scenario = session.as_scenario();
        match self.edit(session, at) {
            FormEdit::Typed(command) => {
                edit::add_command(&scenario, &TimedCommand { at, command }).map(|c| c.command)
            }
            FormEdit::Line(line) => {
                let sim = SimRef {
                    name: session.source.clone(),
                    text: to_toml(&scenario),
                    scenario,
                    seed: session.seed,
                };
                match parse_line(&line, &sim, at)? {
                    Input::Command(c) => Ok(c.command),
                    Input::Run(_) => Err("not a command".into()),
                }
            }
        }
    }
}

/// What the form makes (see [`AddClient::edit`]).
enum FormEdit {
    Typed(Command),
    Line(String),
}

/// The topics a client may use: the scenario's, without Kafka's internal ones.
fn topics(session: &Session) -> Vec<String> {
    session
        .scenario
        .topics
        .iter()
        .map(|t| t.name.to_string())
        .filter(|t| !is_internal_topic(t))
        .collect()
}

/// The first of `base`'s numbered siblings that is not `taken`: `billing-1` gives `billing-2`
/// (or `billing-3` when that is taken), `a` gives `a-2`.
fn next_name(base: &str, taken: &[&String]) -> String {
    let stem = base.trim_end_matches(|c: char| c.is_ascii_digit());
    let stem = if stem.len() == base.len() {
        format!("{base}-")
    } else {
        stem.to_string()
    };
    (2..)
        .map(|n| format!("{stem}{n}"))
        .find(|n| !taken.contains(&n))
        .expect("some number is free")
}

/// Draws the form for `kind`; `true` when a client was added.
pub fn show(
    ui: &mut egui::Ui,
    kind: ClientKind,
    session: &Session,
    at: Millis,
    form: &mut Option<AddClient>,
    error: &mut Option<String>,
    intents: &mut Intents,
) -> bool {
    if form.as_ref().is_none_or(|f| f.kind != kind) {
        *form = Some(AddClient::new(kind, session));
        *error = None;
    }
    let f = form.as_mut().expect("just set");
    let noun = match kind {
        ClientKind::Consumer => "consumer",
        ClientKind::Producer => "producer",
    };
    let others: Vec<(u16, String)> = match kind {
        ClientKind::Consumer => session
            .consumers
            .iter()
            .enumerate()
            .map(|(i, c)| (i as u16, c.name.clone()))
            .collect(),
        ClientKind::Producer => session
            .producers
            .iter()
            .enumerate()
            .map(|(i, p)| (i as u16, p.name.clone()))
            .collect(),
    };
    let mut like = f.like;
    egui::Grid::new(("add-client", noun))
        .num_columns(2)
        .show(ui, |ui| {
            ui.label("like");
            let shown = like
                .and_then(|i| others.iter().find(|(j, _)| *j == i))
                .map_or("the defaults".to_string(), |(_, n)| format!("{noun}-{n}"));
            egui::ComboBox::from_id_salt(("add-like", noun))
                .selected_text(shown)
                .show_ui(ui, |ui| {
                    ui.selectable_value(&mut like, None, "the defaults");
                    for (i, n) in &others {
                        ui.selectable_value(&mut like, Some(*i), format!("{noun}-{n}"));
                    }
                });
            ui.end_row();
            ui.label("name");
            ui.horizontal(|ui| {
                ui.label(RichText::new(format!("{noun}-")).weak());
                ui.add(egui::TextEdit::singleline(&mut f.name).desired_width(120.0));
            });
            ui.end_row();
            match kind {
                ClientKind::Consumer => {
                    ui.label("group.id");
                    ui.add(
                        egui::TextEdit::singleline(&mut f.group)
                            .hint_text("none: reads every partition, never commits")
                            .desired_width(160.0),
                    );
                    ui.end_row();
                    ui.label("topics");
                    ui.horizontal_wrapped(|ui| {
                        for t in topics(session) {
                            let mut on = f.topics.contains(&t);
                            if ui.checkbox(&mut on, &t).changed() {
                                if on {
                                    f.topics.push(t);
                                } else {
                                    f.topics.retain(|x| *x != t);
                                }
                            }
                        }
                    });
                    ui.end_row();
                }
                ClientKind::Producer => {
                    ui.label("topic");
                    egui::ComboBox::from_id_salt("add-producer-topic")
                        .selected_text(f.topic.clone())
                        .show_ui(ui, |ui| {
                            for t in topics(session) {
                                ui.selectable_value(&mut f.topic, t.clone(), t);
                            }
                        });
                    ui.end_row();
                    ui.label("acks");
                    super::producer_settings::acks_choice(ui, &mut f.acks);
                    ui.end_row();
                    ui.label("rate");
                    ui.add(
                        egui::Slider::new(&mut f.rate, 0.0..=super::producer_settings::MAX_RATE)
                            .logarithmic(true)
                            .suffix(" records/s"),
                    );
                    ui.end_row();
                }
            }
        });
    if like != f.like {
        f.copy(like, session);
        *error = None;
    }
    let line = f.line(session, at);
    // Full size: the line is what a learner would type, or copy into a scenario's fault.
    ui.label(RichText::new("The same as typing (or a scenario's add fault):").weak());
    egui::Frame::new()
        .fill(ui.visuals().extreme_bg_color)
        .corner_radius(3.0)
        .inner_margin(4.0)
        .show(ui, |ui| {
            ui.add(egui::Label::new(RichText::new(&line).monospace()).wrap());
        });
    let mut added = false;
    if ui
        .button(format!("Add {noun}"))
        .on_hover_text("it starts at the next millisecond; the future after it is re-simulated")
        .clicked()
    {
        match f.command(session, at) {
            Ok(command) => {
                intents.push(Intent::Intervene(command));
                *form = None;
                *error = None;
                added = true;
            }
            Err(e) => *error = Some(e),
        }
    }
    if let Some(e) = error {
        ui.label(RichText::new(e.as_str()).color(ui.visuals().error_fg_color));
    }
    added
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_names_count_on_past_the_taken_ones() {
        let taken = ["billing-1".to_string(), "billing-2".to_string()];
        let taken: Vec<&String> = taken.iter().collect();
        assert_eq!(next_name("billing-1", &taken), "billing-3");
        assert_eq!(next_name("a", &taken), "a-2");
        assert_eq!(next_name("c", &[]), "c-2");
    }
}
