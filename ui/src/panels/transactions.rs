//! The transaction coordinators' view, under the checkers: each `transactional.id` with its
//! coordinator (the leader of its `__transaction_state` partition), producer id and epoch,
//! state and partitions, and the producers fenced under it.

use bevy_egui::egui::{self, RichText};
use kafkascope_sim::protocol::{MessageKind, TxnState};

use crate::cluster_state::ClusterAt;
use crate::session::Session;
use crate::state::UiState;
use crate::theme::palette;

/// Whether there is anything to show: a transactional producer, or a transaction in the trace.
pub fn any(session: &Session, cluster: &ClusterAt) -> bool {
    !cluster.txns.ids.is_empty()
        || session
            .producers
            .iter()
            .any(|p| p.config.transactional_id.is_some())
}

pub fn show(ui: &mut egui::Ui, session: &Session, cluster: &ClusterAt, state: &UiState) {
    let p = palette(state.presenter);
    ui.heading("Transactions");
    if cluster.txns.ids.is_empty() {
        ui.label(RichText::new("no transactional producer has initialized yet").color(p.dim));
        return;
    }
    for (id, t) in &cluster.txns.ids {
        let stamp = match (t.producer_id, t.producer_epoch) {
            (Some(pid), Some(e)) => format!("{pid}.{e}"),
            _ => "—".into(),
        };
        let (name, colour) = match t.state {
            None => ("initializing", p.dim),
            Some(s) => (
                s.name(),
                match s {
                    TxnState::Ongoing => crate::theme::message_colour(MessageKind::Transaction),
                    TxnState::PrepareCommit | TxnState::PrepareAbort => p.paused,
                    TxnState::CompleteCommit => p.ok,
                    TxnState::CompleteAbort => p.bad,
                    TxnState::Empty => p.dim,
                },
            ),
        };
        ui.horizontal_wrapped(|ui| {
            ui.label(RichText::new(&**id).monospace().strong());
            ui.label(RichText::new(stamp).monospace())
                .on_hover_text("producer id . epoch (the coordinator's)");
            let r = ui.label(RichText::new(name).color(colour).strong());
            if !t.reason.is_empty() {
                r.on_hover_text(&t.reason);
            }
            if let Some(b) = t.coordinator {
                ui.label(RichText::new(format!("coordinator broker-{b}")).color(p.dim))
                    .on_hover_text("the leader of the id's __transaction_state partition");
            }
        });
        if !t.partitions.is_empty() {
            let tps: Vec<String> = t.partitions.iter().map(|tp| tp.to_string()).collect();
            ui.label(RichText::new(format!("  partitions {}", tps.join(", "))).color(p.dim));
        }
        for (node, error) in &t.fenced {
            ui.label(
                RichText::new(format!("  ✖ {} fenced: {error}", session.names.name(*node)))
                    .color(p.bad),
            );
        }
    }
}
