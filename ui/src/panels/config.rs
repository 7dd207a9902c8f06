//! The configuration in force: the scenario's cluster, topics, producers and network, with
//! Kafka's own key names so that what a learner reads here transfers to real Kafka.

use bevy_egui::egui::{self, RichText};
use kafkascope_sim::broker::TruncationMode;
use kafkascope_sim::config::Value;

use crate::session::Session;

fn value(v: &Value) -> String {
    match v {
        Value::Int(i) => i.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Str(s) => s.clone(),
    }
}

fn entries(ui: &mut egui::Ui, id: &str, rows: &[(&'static str, Value)]) {
    egui::Grid::new(id)
        .num_columns(2)
        .striped(true)
        .show(ui, |ui| {
            for (k, v) in rows {
                ui.label(RichText::new(*k).monospace());
                ui.label(RichText::new(value(v)).monospace().strong());
                ui.end_row();
            }
        });
}

pub fn show(ui: &mut egui::Ui, session: &Session) {
    let s = &session.scenario;
    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .show(ui, |ui| {
            ui.label(RichText::new(&s.name).strong());
            if !s.description.is_empty() {
                ui.label(RichText::new(s.description.replace('\n', " ")).small());
            }
            if let Some(r) = &s.reference {
                ui.label(RichText::new(format!("Reference: {r}")).small().weak());
            }
            ui.add_space(6.0);
            egui::Grid::new("cluster").num_columns(2).show(ui, |ui| {
                ui.label("seed");
                ui.label(session.seed.to_string());
                ui.end_row();
                ui.label("duration");
                ui.label(crate::playback::fmt_ms(s.duration as f64));
                ui.end_row();
                ui.label("brokers");
                ui.label(s.brokers.to_string());
                ui.end_row();
                ui.label("truncation");
                ui.label(match s.truncation {
                    TruncationMode::DivergingEpoch => "diverging-epoch (KIP-595)",
                    TruncationMode::LeaderEpoch => "leader-epoch (KIP-101, Kafka 0.11 to 2.6)",
                    TruncationMode::HighWatermark => "high-watermark (Kafka < 0.11)",
                });
                ui.end_row();
                ui.label("network latency");
                let d = s.network.default;
                ui.label(format!(
                    "{}..{} ms, loss {}",
                    d.latency_min_ms, d.latency_max_ms, d.loss
                ));
                ui.end_row();
                for (from, to, l) in &s.network.links {
                    ui.label(format!(
                        "{} -> {}",
                        session.names.name(*from),
                        session.names.name(*to)
                    ));
                    ui.label(format!(
                        "{}..{} ms, loss {}",
                        l.latency_min_ms, l.latency_max_ms, l.loss
                    ));
                    ui.end_row();
                }
            });
            for t in &s.topics {
                ui.collapsing(
                    format!(
                        "topic {}: {} partitions × RF {}",
                        t.name, t.partitions, t.replication_factor
                    ),
                    |ui| {
                        for (p, a) in t.assignment.iter().enumerate() {
                            ui.label(
                                RichText::new(format!("{}-{p}: replicas {a:?}", t.name))
                                    .monospace(),
                            );
                        }
                        entries(ui, &format!("topic-{}", t.name), &t.overrides.entries());
                    },
                );
            }
            for p in &s.producers {
                ui.collapsing(
                    format!(
                        "producer-{}: {} rec/s to {}, idempotent {}",
                        p.name, p.workload.rate, p.topic, p.idempotent
                    ),
                    |ui| entries(ui, &format!("producer-{}", p.name), &p.config.entries()),
                );
            }
            for (i, b) in s.broker_configs.iter().enumerate() {
                let differs = i > 0 && *b != s.broker_configs[0];
                if i == 0 || differs {
                    let title = if i == 0 {
                        "broker settings (every broker)".to_string()
                    } else {
                        format!("broker-{} settings", i + 1)
                    };
                    ui.collapsing(title, |ui| {
                        entries(ui, &format!("broker-{i}"), &b.entries())
                    });
                }
            }
        });
}
