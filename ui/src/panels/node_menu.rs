//! The intervention menu of the selected node: crash it (process crash or power loss), shut it
//! down, restart, pause or resume it, cut its links (both ways or one way) or heal them, and set
//! a link's latency and loss ([`super::link_sliders`]).
//!
//! Each button pushes the same `Command` a scenario's `[[faults]]` entry would hold.

use bevy_egui::egui::{self, RichText};
use kafkascope_sim::command::{Command, Target};
use kafkascope_sim::ids::NodeId;
use kafkascope_sim::trace::CrashKind;

use crate::cluster_state::NodeState;
use crate::intents::{Intent, Intents};
use crate::state::{UiState, Watch};

/// The commands offered for `node` in `state`, with a button label and a hover text.
pub fn actions(node: NodeId, state: NodeState) -> Vec<(&'static str, &'static str, Command)> {
    let target = Target::Node(node);
    let mut out = Vec::new();
    match state {
        NodeState::Up => {
            out.push((
                "Crash (process)",
                "the process dies; the OS page cache survives, so unflushed writes are kept",
                Command::Crash {
                    target: target.clone(),
                    kind: CrashKind::Process,
                },
            ));
            out.push((
                "Crash (power loss)",
                "the machine loses power: whatever was not flushed to disk is gone",
                Command::Crash {
                    target: target.clone(),
                    kind: CrashKind::PowerLoss,
                },
            ));
            match node {
                NodeId::Broker(_) => out.push((
                    "Shut down cleanly",
                    "controlled shutdown: leadership moves away, logs are flushed, then it stops",
                    Command::Shutdown {
                        target: target.clone(),
                    },
                )),
                NodeId::Consumer(_) => out.push((
                    "Close",
                    "the application calls close(): it commits (with auto-commit), sends \
                     LeaveGroup so the group rebalances at once, and stops",
                    Command::Shutdown {
                        target: target.clone(),
                    },
                )),
                _ => {}
            }
            out.push((
                "Pause",
                "the process stops running (a long GC pause) without losing anything",
                Command::Pause {
                    target: target.clone(),
                },
            ));
        }
        NodeState::Paused => out.push((
            "Resume",
            "the paused process runs again, acting on what it knew before the pause",
            Command::Resume {
                target: target.clone(),
            },
        )),
        NodeState::Down(_) | NodeState::Stopped => out.push((
            "Restart",
            "the process starts again and recovers its log from disk",
            Command::Restart {
                target: target.clone(),
            },
        )),
    }
    out.push((
        "Isolate",
        "cut every link to and from this node",
        Command::Isolate {
            target: target.clone(),
        },
    ));
    out
}

pub fn show(ctx: &egui::Context, watch: &Watch, state: &mut UiState, intents: &mut Intents) {
    let (Some(node), Some(session)) = (state.selected, &watch.session) else {
        return;
    };
    let names = &session.names;
    let status = watch.cluster.node(node);
    let mut open = true;
    let mut chosen = false;
    egui::Window::new(format!("Intervene: {}", names.name(node)))
        .id(egui::Id::new("node-menu"))
        .open(&mut open)
        .collapsible(false)
        .resizable(false)
        .default_pos(ctx.viewport_rect().center())
        .show(ctx, |ui| {
            if let NodeId::Producer(i) = node {
                chosen |= super::producer_settings::show(
                    ui,
                    i,
                    session,
                    watch.cluster.at,
                    &mut state.producer_edit,
                    intents,
                );
                return;
            }
            ui.label(
                RichText::new(format!(
                    "Now: {}. Applies at the next millisecond; the future after it is re-simulated.",
                    match status {
                        NodeState::Up => "running",
                        NodeState::Paused => "paused",
                        NodeState::Down(CrashKind::Process) => "crashed (process)",
                        NodeState::Down(CrashKind::PowerLoss) => "crashed (power loss)",
                        NodeState::Stopped => "shut down",
                    }
                ))
                .small(),
            );
            ui.horizontal_wrapped(|ui| {
                for (label, why, cmd) in actions(node, status) {
                    if ui.button(label).on_hover_text(why).clicked() {
                        intents.push(Intent::Intervene(cmd));
                        chosen = true;
                    }
                }
            });
            ui.separator();
            ui.label(RichText::new("Links").strong());
            let others: Vec<NodeId> = session_nodes(session)
                .into_iter()
                .filter(|n| *n != node)
                .collect();
            egui::Grid::new("links").num_columns(4).show(ui, |ui| {
                for other in others {
                    let me = Target::Node(node);
                    let them = Target::Node(other);
                    let out_cut = watch.cluster.link(node, other).cut;
                    let in_cut = watch.cluster.link(other, node).cut;
                    ui.label(names.name(other));
                    if out_cut || in_cut {
                        ui.label(
                            RichText::new(match (out_cut, in_cut) {
                                (true, true) => "cut both ways",
                                (true, false) => "cut: outgoing",
                                _ => "cut: incoming",
                            })
                            .color(crate::theme::palette(state.presenter).cut),
                        );
                        if ui.button("Heal").clicked() {
                            intents.push(Intent::Intervene(Command::Heal {
                                between: Some((vec![me], vec![them])),
                            }));
                            chosen = true;
                        }
                        ui.label("");
                    } else {
                        if ui.button("Cut both ways").clicked() {
                            intents.push(Intent::Intervene(Command::Partition {
                                from: vec![me.clone()],
                                to: vec![them.clone()],
                                one_way: false,
                            }));
                            chosen = true;
                        }
                        if ui
                            .button("Cut outgoing")
                            .on_hover_text(format!(
                                "{} can still hear {}, but not reach it",
                                names.name(node),
                                names.name(other)
                            ))
                            .clicked()
                        {
                            intents.push(Intent::Intervene(Command::Partition {
                                from: vec![me],
                                to: vec![them],
                                one_way: true,
                            }));
                            chosen = true;
                        }
                        ui.label("");
                    }
                    ui.end_row();
                }
            });
            ui.separator();
            let peers: Vec<NodeId> = session_nodes(session)
                .into_iter()
                .filter(|n| *n != node)
                .collect();
            chosen |= super::link_sliders::show(
                ui,
                node,
                &peers,
                session,
                &watch.cluster,
                &mut state.link_edit,
                intents,
            );
        });
    if !open || chosen {
        state.selected = None;
    }
}

/// The nodes a link can be cut to: the controller and the brokers (producers reach brokers
/// too, but cutting a client off teaches less than cutting a replica off).
fn session_nodes(session: &crate::session::Session) -> Vec<NodeId> {
    let mut v = vec![NodeId::Controller];
    v.extend(
        session
            .scenario
            .broker_ids()
            .into_iter()
            .map(NodeId::Broker),
    );
    v
}
