//! Sliders for one link's latency and loss, in the selected node's intervention menu.
//!
//! Every applied setting is an intervention: a branch and a re-simulation. So the sliders are
//! staged and **Apply** pushes one `Command::Link` (what a scenario's `action = "link"` fault
//! holds, so Save keeps it), instead of re-simulating on every pixel of a drag.

use bevy_egui::egui::{self, RichText};
use kafkascope_sim::command::{Command, Target};
use kafkascope_sim::ids::NodeId;

use crate::cluster_state::ClusterAt;
use crate::intents::{Intent, Intents};
use crate::session::Session;

/// The slowest link the slider offers: past a second, Kafka's timeouts dominate the lesson.
pub const MAX_LATENCY_MS: u64 = 2_000;

/// The staged setting for the link `from -> to` (and back, if `both`).
#[derive(Clone, Debug, PartialEq)]
pub struct LinkEdit {
    pub from: NodeId,
    pub to: NodeId,
    pub latency_ms: (u64, u64),
    pub loss: f64,
    pub both: bool,
}

impl LinkEdit {
    /// Sliders for `from -> to` starting at what the link has at the displayed moment: a `link`
    /// command's setting, else the scenario's own setting for that link, else its default.
    pub fn new(from: NodeId, to: NodeId, session: &Session, cluster: &ClusterAt) -> Self {
        let net = &session.scenario.network;
        let (lo, hi, loss) = cluster.link(from, to).params.unwrap_or_else(|| {
            let p = net
                .links
                .iter()
                .find(|(a, b, _)| *a == from && *b == to)
                .map_or(net.default, |(_, _, p)| *p);
            (p.latency_min_ms, p.latency_max_ms, p.loss)
        });
        LinkEdit {
            from,
            to,
            latency_ms: (lo, hi),
            loss,
            both: true,
        }
    }

    /// The intervention this setting is.
    pub fn command(&self) -> Command {
        Command::Link {
            from: Target::Node(self.from),
            to: Target::Node(self.to),
            latency_ms: (self.latency_ms.0, self.latency_ms.1.max(self.latency_ms.0)),
            loss: self.loss.clamp(0.0, 1.0),
            both: self.both,
        }
    }
}

/// The peer picker, the sliders and Apply for links from `node`. Returns whether a command was
/// pushed (the menu then closes, as after any intervention).
pub fn show(
    ui: &mut egui::Ui,
    node: NodeId,
    peers: &[NodeId],
    session: &Session,
    cluster: &ClusterAt,
    edit: &mut Option<LinkEdit>,
    intents: &mut Intents,
) -> bool {
    let names = &session.names;
    // A replica's link to another broker is the usual suspect; the controller is listed first.
    let Some(first) = peers
        .iter()
        .find(|p| matches!(p, NodeId::Broker(_)))
        .or(peers.first())
        .copied()
    else {
        return false;
    };
    if edit.as_ref().is_none_or(|e| e.from != node) {
        *edit = Some(LinkEdit::new(node, first, session, cluster));
    }
    let Some(e) = edit.as_mut() else {
        return false;
    };
    ui.label(RichText::new("Slow or lossy link").strong());
    let mut to = e.to;
    ui.horizontal(|ui| {
        ui.label(format!("{} ->", names.name(node)));
        egui::ComboBox::from_id_salt("link-peer")
            .selected_text(names.name(to))
            .show_ui(ui, |ui| {
                for p in peers {
                    ui.selectable_value(&mut to, *p, names.name(*p));
                }
            });
        ui.checkbox(&mut e.both, "both ways");
    });
    if to != e.to {
        let both = e.both;
        *e = LinkEdit::new(node, to, session, cluster);
        e.both = both;
    }
    let (lo, hi) = &mut e.latency_ms;
    ui.add(
        egui::Slider::new(lo, 0..=MAX_LATENCY_MS)
            .logarithmic(true)
            .text("min latency (ms)"),
    );
    ui.add(
        egui::Slider::new(hi, 0..=MAX_LATENCY_MS)
            .logarithmic(true)
            .text("max latency (ms)"),
    );
    // Dragging one end past the other drags the other along.
    if *hi < *lo {
        *hi = *lo;
    }
    let mut percent = e.loss * 100.0;
    ui.add(
        egui::Slider::new(&mut percent, 0.0..=100.0)
            .text("loss (%)")
            .max_decimals(1),
    );
    e.loss = percent / 100.0;
    if ui
        .button("Apply")
        .on_hover_text("a `link` command at the next millisecond; the future is re-simulated")
        .clicked()
    {
        intents.push(Intent::Intervene(e.command()));
        return true;
    }
    false
}
