//! The timeline: transport controls, the speed on a log scale, and a scrubber that shows what
//! has been simulated, the faults, elections, interventions and checker violations as marks.
//! Dragging it rewinds or fast-forwards through the recorded trace; nothing is re-simulated.

use bevy_egui::egui::{self, pos2, vec2, Color32, RichText, Sense, Stroke};

use crate::intents::{Intent, Intents};
use crate::playback::{fmt_ms, fmt_speed, Playback, MAX_SPEED, MIN_SPEED};
use crate::session::{MarkKind, Session};
use crate::state::UiState;
use crate::theme::palette;

pub fn show(
    root: &mut egui::Ui,
    session: &Session,
    pb: &Playback,
    state: &UiState,
    intents: &mut Intents,
) {
    egui::Panel::bottom("timeline").show(root, |ui| {
        ui.add_space(4.0);
        transport(ui, session, pb, intents);
        ui.add_space(2.0);
        scrubber(ui, session, pb, state, intents);
        ui.add_space(4.0);
    });
}

fn transport(ui: &mut egui::Ui, session: &Session, pb: &Playback, intents: &mut Intents) {
    ui.horizontal(|ui| {
        let big = |s: &str| RichText::new(s).size(18.0);
        if ui
            .button(big("⏮"))
            .on_hover_text("rewind to the start (Home)")
            .clicked()
        {
            intents.push(Intent::Seek(0.0));
        }
        if ui
            .button(big("⏪"))
            .on_hover_text("previous event (,)")
            .clicked()
        {
            intents.push(Intent::StepEvent { forward: false });
        }
        if ui
            .button(big("−1"))
            .on_hover_text("one millisecond back (←)")
            .clicked()
        {
            intents.push(Intent::Step(-1));
        }
        let play = if pb.playing { "⏸" } else { "▶" };
        if ui
            .add(egui::Button::new(big(play)).min_size(vec2(44.0, 0.0)))
            .on_hover_text("play / pause (Space)")
            .clicked()
        {
            intents.push(Intent::TogglePlay);
        }
        if ui
            .button(big("+1"))
            .on_hover_text("one millisecond forward (→)")
            .clicked()
        {
            intents.push(Intent::Step(1));
        }
        if ui
            .button(big("⏩"))
            .on_hover_text("next event (.)")
            .clicked()
        {
            intents.push(Intent::StepEvent { forward: true });
        }
        ui.separator();
        let shown = pb.shown(session);
        ui.label(
            RichText::new(format!(
                "{} / {}",
                fmt_ms(shown as f64),
                fmt_ms(session.end() as f64)
            ))
            .monospace()
            .size(16.0),
        );
        ui.separator();
        ui.label("speed");
        let mut speed = pb.speed;
        let r = ui.add(
            egui::Slider::new(&mut speed, MIN_SPEED..=MAX_SPEED)
                .logarithmic(true)
                .custom_formatter(|v, _| fmt_speed(v))
                .show_value(true),
        );
        if r.changed() {
            intents.push(Intent::SetSpeed(speed));
        }
        r.on_hover_text("virtual time per wall time; + and - double and halve it");
        if session.serving() {
            ui.separator();
            if pb.following(session) {
                ui.label(RichText::new("LIVE").strong().size(16.0))
                    .on_hover_text("the play head follows the live session");
            } else if ui
                .button(RichText::new("⏭ Back to live").strong().size(16.0))
                .on_hover_text("the live session went on while you looked at the past (End)")
                .clicked()
            {
                intents.push(Intent::BackToLive);
            }
            if ui
                .button("Branch from here: stops serving")
                .on_hover_text(
                    "ends the live session (the clients are disconnected); it goes on as an \
                     ordinary session of its recording, where interventions re-simulate the \
                     future from the displayed moment",
                )
                .clicked()
            {
                intents.push(Intent::StopServing);
            }
        } else if !session.complete() {
            ui.separator();
            ui.spinner();
            ui.label(format!("simulated {}", fmt_ms(session.simulated_to as f64)));
        }
    });
}

fn scrubber(
    ui: &mut egui::Ui,
    session: &Session,
    pb: &Playback,
    state: &UiState,
    intents: &mut Intents,
) {
    let p = palette(state.presenter);
    let height = 34.0;
    let (rect, r) =
        ui.allocate_exact_size(vec2(ui.available_width(), height), Sense::click_and_drag());
    let end = session.end().max(1) as f32;
    let x_of = |t: f32| rect.left() + rect.width() * (t / end).clamp(0.0, 1.0);
    let painter = ui.painter_at(rect);
    let track = egui::Rect::from_min_max(
        pos2(rect.left(), rect.top() + 12.0),
        pos2(rect.right(), rect.bottom() - 6.0),
    );
    painter.rect_filled(track, 3.0, p.node_down);
    let done = egui::Rect::from_min_max(
        track.min,
        pos2(x_of(session.simulated_to as f32), track.bottom()),
    );
    painter.rect_filled(
        done,
        3.0,
        p.node_fill.gamma_multiply(1.0).linear_multiply(1.0),
    );
    painter.rect_stroke(
        track,
        3.0,
        Stroke::new(1.0, p.node_stroke),
        egui::StrokeKind::Inside,
    );
    for m in &session.marks {
        let x = x_of(m.at as f32);
        let (c, top) = match m.kind {
            MarkKind::Fault => (p.cut, track.top()),
            MarkKind::Recovery => (p.ok, track.top()),
            MarkKind::Election => (p.leader, track.center().y),
        };
        painter.line_segment([pos2(x, top), pos2(x, track.bottom())], Stroke::new(2.0, c));
    }
    for c in &session.interventions {
        let x = x_of(c.at as f32);
        let y = track.bottom();
        painter.add(egui::Shape::convex_polygon(
            vec![
                pos2(x, y - 5.0),
                pos2(x + 5.0, y),
                pos2(x, y + 5.0),
                pos2(x - 5.0, y),
            ],
            p.selected,
            Stroke::NONE,
        ));
    }
    if let Some(f) = &session.findings {
        for v in &f.verdicts {
            if let Some(x) = &v.violation {
                let px = x_of(x.at as f32);
                painter.add(egui::Shape::convex_polygon(
                    vec![
                        pos2(px - 6.0, rect.top()),
                        pos2(px + 6.0, rect.top()),
                        pos2(px, rect.top() + 10.0),
                    ],
                    p.bad,
                    Stroke::NONE,
                ));
            }
        }
    }
    let x = x_of(pb.shown(session) as f32);
    painter.line_segment(
        [pos2(x, rect.top()), pos2(x, rect.bottom())],
        Stroke::new(2.5, Color32::WHITE),
    );
    if let Some(pos) = r.interact_pointer_pos() {
        if r.clicked() || r.dragged() {
            let t = ((pos.x - rect.left()) / rect.width()).clamp(0.0, 1.0) * end;
            intents.push(Intent::Seek(t.floor() as f64));
        }
    }
    if let Some(pos) = r.hover_pos() {
        let t = ((pos.x - rect.left()) / rect.width()).clamp(0.0, 1.0) * end;
        let near: Vec<String> = session
            .marks
            .iter()
            .filter(|m| (x_of(m.at as f32) - pos.x).abs() < 4.0)
            .take(6)
            .map(|m| format!("{}  {}", fmt_ms(m.at as f64), m.label))
            .chain(session.findings.iter().flat_map(|f| {
                f.verdicts.iter().filter_map(|v| {
                    let x = v.violation.as_ref()?;
                    ((x_of(x.at as f32) - pos.x).abs() < 6.0).then(|| {
                        format!("{}  ✖ {} violated", fmt_ms(x.at as f64), v.checker.name())
                    })
                })
            }))
            .collect();
        r.on_hover_ui_at_pointer(|ui| {
            ui.label(fmt_ms(t as f64));
            for n in near {
                ui.label(n);
            }
        });
    }
}
