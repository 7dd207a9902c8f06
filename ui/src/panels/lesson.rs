//! The lesson panel: the step's text, its prediction or task, and the way through the lesson.
//!
//! It shows what the [`LessonRun`]'s player says and pushes [`LessonIntent`]s, like the
//! terminal player (`kafkascope learn`) shows and reads the same player: the prediction first,
//! then the simulation plays on to the step's `until` and the explanation and the `after` text
//! appear; a task is done with the app's own interventions (or a typed command) and checked.

use bevy_egui::egui::{self, Color32, RichText};
use kafkascope_lessons::command_line::to_line;
use kafkascope_sim::trace::fmt_time;

use crate::intents::{Intent, Intents};
use crate::lesson::{LessonIntent, LessonRun};
use crate::markdown;
use crate::playback::Playback;
use crate::session::Session;
use crate::state::UiState;
use crate::theme::{palette, Palette};

/// The type size of the lesson's text (egui's zoom makes it larger in presenter mode and on
/// large screens).
const TEXT_SIZE: f32 = 15.0;

fn md_style(p: &Palette, presenter: bool) -> markdown::Style {
    markdown::Style {
        size: TEXT_SIZE,
        text: if presenter {
            Color32::from_gray(235)
        } else {
            Color32::from_rgb(205, 209, 218)
        },
        strong: if presenter {
            Color32::from_rgb(255, 230, 120)
        } else {
            Color32::WHITE
        },
        code: if presenter {
            Color32::from_rgb(150, 220, 255)
        } else {
            Color32::from_rgb(160, 200, 255)
        },
        code_bg: if presenter {
            Color32::from_rgb(30, 30, 40)
        } else {
            p.background
        },
    }
}

fn send(intents: &mut Intents, i: LessonIntent) {
    intents.push(Intent::Lesson(i));
}

/// The panel along the right edge, beside the cluster view.
pub fn show(
    root: &mut egui::Ui,
    run: &LessonRun,
    session: &Session,
    pb: &Playback,
    state: &mut UiState,
    intents: &mut Intents,
) {
    let p = palette(state.presenter);
    let width = (root.available_width() * 0.36).clamp(300.0, 560.0);
    // The width is remembered per zoom: the first frame is drawn before the window's zoom
    // applies, and a width chosen then would be too wide in presenter mode.
    let zoom = (root.ctx().zoom_factor() * 100.0).round() as i32;
    let fill = if state.presenter {
        Color32::from_rgb(12, 12, 16)
    } else {
        Color32::from_rgb(31, 34, 41)
    };
    egui::Panel::right(egui::Id::new(("lesson", zoom)))
        .resizable(true)
        .default_size(width)
        .min_size(280.0)
        .frame(
            egui::Frame::new()
                .fill(fill)
                .inner_margin(egui::Margin::symmetric(14, 10)),
        )
        .show(root, |ui| {
            egui::Panel::bottom("lesson-nav")
                .frame(
                    egui::Frame::new()
                        .fill(fill)
                        .inner_margin(egui::Margin::symmetric(0, 8)),
                )
                .show(ui, |ui| nav(ui, run, &p, intents));
            egui::CentralPanel::default()
                .frame(egui::Frame::NONE)
                .show(ui, |ui| {
                    egui::ScrollArea::vertical()
                        .auto_shrink([false, false])
                        .show(ui, |ui| {
                            ui.set_max_width(ui.available_width() - 6.0);
                            body(ui, run, session, pb, &p, state, intents);
                        });
                });
        });
}

/// Back, Next, and what the learner should know right now (a refused command).
fn nav(ui: &mut egui::Ui, run: &LessonRun, p: &Palette, intents: &mut Intents) {
    if let Some(m) = &run.message {
        ui.add(egui::Label::new(RichText::new(m).color(p.bad).size(13.5)).wrap());
        ui.add_space(4.0);
    }
    let player = &run.player;
    ui.horizontal(|ui| {
        let first = player.step == 0 && !run.finished;
        let r = ui
            .add_enabled(
                !first,
                egui::Button::new(RichText::new("◀ Back").size(15.0)),
            )
            .on_hover_text("the previous step (Alt+←)");
        crate::page_status::record(ui, "back", r.rect);
        if r.clicked() {
            send(intents, LessonIntent::Back);
        }
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            if run.finished {
                let r = ui
                    .button(RichText::new("Lessons ⏏").size(15.0))
                    .on_hover_text("back to the home screen (Esc)");
                crate::page_status::record(ui, "lessons", r.rect);
                if r.clicked() {
                    intents.push(Intent::Home);
                }
                return;
            }
            let label = if player.is_last() {
                "Finish ✔"
            } else {
                "Next ▶"
            };
            let waiting = player.current().predict.is_some() && player.state().answer.is_none();
            let hover = if waiting {
                "lock in a prediction first"
            } else {
                "the next step (Alt+→)"
            };
            let button =
                egui::Button::new(RichText::new(label).size(15.0).strong()).fill(if waiting {
                    p.node_fill
                } else {
                    p.selected.gamma_multiply(0.45)
                });
            let r = ui.add_enabled(!waiting, button).on_hover_text(hover);
            crate::page_status::record(ui, "next", r.rect);
            if r.clicked() {
                send(intents, LessonIntent::Next);
            }
            ui.label(
                RichText::new("Alt+← / Alt+→")
                    .monospace()
                    .size(11.0)
                    .color(p.dim),
            );
        });
    });
}

fn body(
    ui: &mut egui::Ui,
    run: &LessonRun,
    session: &Session,
    pb: &Playback,
    p: &Palette,
    state: &mut UiState,
    intents: &mut Intents,
) {
    let player = &run.player;
    let lesson = &player.lesson;
    let style = md_style(p, state.presenter);
    ui.horizontal(|ui| {
        ui.label(
            RichText::new(format!("LESSON {} · {}", lesson.number, lesson.title))
                .size(12.5)
                .color(p.dim),
        );
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            if ui
                .small_button("✖ Close")
                .on_hover_text("close the lesson: back to the home screen (progress is saved)")
                .clicked()
            {
                intents.push(Intent::Home);
            }
        });
    });
    ui.add_space(4.0);
    steps_row(ui, run, p, intents);
    ui.add_space(8.0);
    if run.finished {
        summary(ui, run, p);
        return;
    }
    let step = player.current();
    let n = lesson.steps.len();
    ui.label(
        RichText::new(format!("Step {} of {n}", player.step + 1))
            .size(13.0)
            .color(p.accent),
    );
    ui.add(egui::Label::new(RichText::new(&step.title).size(21.0).strong().color(p.text)).wrap());
    ui.add_space(6.0);
    markdown::show(ui, &step.text, &style);
    ui.add_space(10.0);
    if step.predict.is_some() {
        prediction(ui, run, p, &style, state, intents);
    }
    if step.task.is_some() {
        task(ui, run, p, &style, state, intents);
    }
    // Playing on, and what the step says once it got there.
    if let Some((until, _)) = run.playing_to {
        ui.add_space(6.0);
        ui.horizontal(|ui| {
            ui.spinner();
            ui.label(
                RichText::new(format!(
                    "the simulation plays on to {} (now {})",
                    fmt_time(until),
                    fmt_time(pb.shown(session))
                ))
                .color(p.text),
            );
            if ui
                .small_button("Skip ⏭")
                .on_hover_text("jump to the end of the step")
                .clicked()
            {
                send(intents, LessonIntent::SkipPlay);
            }
        });
    } else if let Some(until) = step.until {
        let s = player.state();
        let waiting_to_play = step.predict.is_none() && step.task.is_none() && !s.played && !s.done;
        if waiting_to_play {
            ui.add_space(4.0);
            if ui
                .button(
                    RichText::new(format!("▶ Play on to {}", fmt_time(until)))
                        .size(15.0)
                        .strong(),
                )
                .on_hover_text("watch what happens next (Enter)")
                .clicked()
            {
                send(intents, LessonIntent::PlayOn);
            }
        }
    }
    if run.reached_until() {
        if let Some(after) = &step.after {
            ui.add_space(8.0);
            ui.separator();
            ui.label(
                RichText::new(format!("At {}", fmt_time(player.view_time())))
                    .size(12.5)
                    .color(p.accent),
            );
            markdown::show(ui, after, &style);
        }
    }
    ui.add_space(12.0);
}

/// One button per step: any step, at once. The current one is filled; answered, played and
/// done ones are ticked.
fn steps_row(ui: &mut egui::Ui, run: &LessonRun, p: &Palette, intents: &mut Intents) {
    let player = &run.player;
    ui.horizontal_wrapped(|ui| {
        ui.spacing_mut().item_spacing.x = 4.0;
        for (i, st) in player.lesson.steps.iter().enumerate() {
            let s = &player.states[i];
            let complete = if st.task.is_some() {
                s.done
            } else if st.predict.is_some() {
                s.answer.is_some()
            } else {
                s.played || i < player.step
            };
            let current = i == player.step && !run.finished;
            let text = RichText::new(format!("{}", i + 1))
                .size(13.0)
                .color(if current {
                    Color32::BLACK
                } else if complete {
                    p.ok
                } else {
                    p.text
                });
            let fill = if current { p.accent } else { p.node_fill };
            let b = egui::Button::new(text)
                .fill(fill)
                .min_size(egui::vec2(24.0, 22.0));
            let kind = match (&st.predict, &st.task) {
                (_, Some(_)) if i + 1 == player.lesson.steps.len() => " · final challenge",
                (_, Some(_)) => " · task",
                (Some(_), _) => " · prediction",
                _ => "",
            };
            if ui
                .add(b)
                .on_hover_text(format!("{}. {}{kind}", i + 1, st.title))
                .clicked()
            {
                send(intents, LessonIntent::Go(i));
            }
        }
    });
}

fn frame(p: &Palette, colour: Color32) -> egui::Frame {
    egui::Frame::new()
        .fill(p.background)
        .stroke(egui::Stroke::new(1.0, colour))
        .corner_radius(6.0)
        .inner_margin(10.0)
}

fn prediction(
    ui: &mut egui::Ui,
    run: &LessonRun,
    p: &Palette,
    style: &markdown::Style,
    state: &mut UiState,
    intents: &mut Intents,
) {
    let player = &run.player;
    let Some(pr) = &player.current().predict else {
        return;
    };
    let answered = player.state().answer;
    let key = (player.lesson.id.clone(), player.step);
    let chosen = answered.or_else(|| {
        state
            .lesson_choice
            .as_ref()
            .filter(|(k, _)| *k == key)
            .map(|(_, c)| *c)
    });
    frame(p, p.accent).show(ui, |ui| {
        ui.set_width(ui.available_width());
        ui.label(RichText::new("PREDICT").size(12.0).strong().color(p.accent));
        ui.add(
            egui::Label::new(
                RichText::new(&pr.question)
                    .size(16.0)
                    .strong()
                    .color(p.text),
            )
            .wrap(),
        );
        ui.add_space(6.0);
        for (i, c) in pr.choices.iter().enumerate() {
            let selected = chosen == Some(i);
            let colour = match answered {
                Some(_) if i == pr.answer => p.ok,
                Some(a) if a == i => p.bad,
                _ => p.text,
            };
            let row = ui
                .horizontal_top(|ui| {
                    ui.add_enabled(answered.is_none(), egui::RadioButton::new(selected, ""));
                    ui.vertical(|ui| {
                        ui.add(
                            egui::Label::new(
                                RichText::new(format!("{}. {c}", i + 1))
                                    .size(TEXT_SIZE)
                                    .color(colour),
                            )
                            .wrap(),
                        );
                    });
                })
                .response;
            if answered.is_none() {
                let r = ui
                    .interact(
                        row.rect,
                        egui::Id::new(("lesson-choice", i)),
                        egui::Sense::click(),
                    )
                    .on_hover_cursor(egui::CursorIcon::PointingHand);
                crate::page_status::record(ui, format!("choice:{}", i + 1), r.rect);
                if r.clicked() {
                    state.lesson_choice = Some((key.clone(), i));
                }
            }
            ui.add_space(3.0);
        }
        match answered {
            None => {
                ui.add_space(4.0);
                let lock = egui::Button::new(RichText::new("🔒 Lock in").size(15.0).strong());
                let r = ui.add_enabled(chosen.is_some(), lock).on_hover_text(
                    "your answer is final: then the simulation shows what happens (Enter)",
                );
                crate::page_status::record(ui, "lock", r.rect);
                if r.clicked() {
                    if let Some(c) = chosen {
                        send(intents, LessonIntent::Answer(c));
                    }
                }
            }
            Some(a) => {
                ui.add_space(6.0);
                let right = a == pr.answer;
                ui.label(
                    RichText::new(if right {
                        "✔ Right."
                    } else {
                        "✖ Not quite."
                    })
                    .size(17.0)
                    .strong()
                    .color(if right { p.ok } else { p.bad }),
                );
                if let Some(why) = pr.why.get(a) {
                    markdown::show(ui, why, style);
                }
                if !right {
                    ui.add_space(6.0);
                    ui.label(
                        RichText::new(format!("The answer is {}:", pr.answer + 1))
                            .strong()
                            .color(p.ok),
                    );
                    if let Some(why) = pr.why.get(pr.answer) {
                        markdown::show(ui, why, style);
                    }
                }
            }
        }
    });
    ui.add_space(6.0);
}

fn task(
    ui: &mut egui::Ui,
    run: &LessonRun,
    p: &Palette,
    style: &markdown::Style,
    state: &mut UiState,
    intents: &mut Intents,
) {
    let player = &run.player;
    let step = player.current();
    let Some(t) = &step.task else { return };
    let s = player.state();
    let title = if player.is_last() {
        "FINAL CHALLENGE"
    } else {
        "TASK"
    };
    let colour = if s.done { p.ok } else { p.leader };
    frame(p, colour).show(ui, |ui| {
        ui.set_width(ui.available_width());
        ui.horizontal(|ui| {
            ui.label(RichText::new(title).size(12.0).strong().color(colour));
            if s.done {
                ui.label(RichText::new("✔ done").size(12.0).strong().color(p.ok));
            }
        });
        markdown::show(
            ui,
            &t.goal,
            &markdown::Style {
                text: style.strong,
                ..*style
            },
        );
        ui.add_space(4.0);
        ui.add(
            egui::Label::new(
                RichText::new(format!(
                    "You act from {} to {}; the check runs the simulation to {}. Use the \
                     cluster view: click a node (crash, pause, restart, cut links), drag \
                     between nodes to cut a link, click a producer to change its settings.",
                    fmt_time(step.at),
                    fmt_time(step.end()),
                    fmt_time(step.end())
                ))
                .size(13.0)
                .color(p.dim),
            )
            .wrap(),
        );
        ui.add_space(6.0);
        ui.horizontal_wrapped(|ui| {
            let checking = run.checking.is_some();
            let r = ui
                .add_enabled(
                    !checking,
                    egui::Button::new(RichText::new("✔ Check").size(15.0).strong()),
                )
                .on_hover_text(format!(
                    "run the simulation with your commands to {} and check the goal (Enter)",
                    fmt_time(step.end())
                ));
            crate::page_status::record(ui, "check", r.rect);
            if r.clicked() {
                send(intents, LessonIntent::Check);
            }
            let hints_left = s.hints < t.hints.len();
            if ui
                .add_enabled(hints_left, egui::Button::new("💡 Hint"))
                .on_hover_text(if hints_left {
                    "one hint at a time"
                } else {
                    "no more hints"
                })
                .clicked()
            {
                send(intents, LessonIntent::Hint);
            }
            if ui
                .add_enabled(
                    !s.commands.is_empty() || s.done,
                    egui::Button::new("↺ Reset step"),
                )
                .on_hover_text("undo your commands in this step")
                .clicked()
            {
                send(intents, LessonIntent::Reset);
            }
            if checking {
                ui.spinner();
                ui.label(RichText::new("checking…").color(p.dim));
            }
        });
        for (i, h) in t.hints.iter().take(s.hints).enumerate() {
            ui.add_space(3.0);
            ui.horizontal_top(|ui| {
                ui.label(
                    RichText::new(format!("Hint {}:", i + 1))
                        .strong()
                        .color(p.leader),
                );
                ui.vertical(|ui| markdown::show(ui, h, style));
            });
        }
        if let Some(c) = run.checked.get(&player.step) {
            ui.add_space(6.0);
            let (head, colour) = if c.done {
                (format!("✔ Done: checked at {}.", fmt_time(c.at)), p.ok)
            } else {
                (format!("✖ Not yet (checked at {}):", fmt_time(c.at)), p.bad)
            };
            ui.label(RichText::new(head).size(16.0).strong().color(colour));
            for l in &c.explanation {
                ui.add(
                    egui::Label::new(RichText::new(l).monospace().size(12.5).color(p.text)).wrap(),
                );
            }
        }
        ui.add_space(6.0);
        ui.label(RichText::new("Your commands").strong().color(p.text));
        if s.commands.is_empty() {
            ui.label(
                RichText::new(format!("none yet; you are at {}", fmt_time(player.now())))
                    .color(p.dim),
            );
        }
        for c in &s.commands {
            ui.horizontal(|ui| {
                super::time_link::show(ui, c.at, intents);
                ui.label(
                    RichText::new(to_line(c, &step.sim.scenario))
                        .monospace()
                        .color(p.text),
                );
            });
        }
        ui.add_space(4.0);
        ui.horizontal(|ui| {
            let edit = egui::TextEdit::singleline(&mut state.lesson_command)
                .hint_text("or type one: crash broker-2, run 1s")
                .font(egui::TextStyle::Monospace)
                .desired_width(ui.available_width() - 50.0);
            let r = ui.add(edit);
            crate::page_status::record_response(ui, "command", &r);
            let enter = r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            let done = ui.button("Do");
            crate::page_status::record(ui, "do", done.rect);
            if (done.clicked() || enter) && !state.lesson_command.trim().is_empty() {
                send(
                    intents,
                    LessonIntent::Type(std::mem::take(&mut state.lesson_command)),
                );
            }
        });
    });
    ui.add_space(6.0);
}

/// After the last step: how the learner did.
fn summary(ui: &mut egui::Ui, run: &LessonRun, p: &Palette) {
    let player = &run.player;
    let lesson = &player.lesson;
    let kafkascope_lessons::player::Score {
        right,
        predictions,
        done,
        tasks,
    } = player.score();
    ui.label(
        RichText::new(format!("End of lesson {}", lesson.number))
            .size(13.0)
            .color(p.accent),
    );
    ui.label(
        RichText::new(&lesson.title)
            .size(21.0)
            .strong()
            .color(p.text),
    );
    ui.add_space(8.0);
    ui.label(
        RichText::new(format!("Predictions right: {right} of {predictions}."))
            .size(TEXT_SIZE)
            .color(p.text),
    );
    ui.label(
        RichText::new(format!("Tasks done: {done} of {tasks}."))
            .size(TEXT_SIZE)
            .color(if done == tasks { p.ok } else { p.text }),
    );
    if done < tasks {
        ui.add_space(6.0);
        ui.label(RichText::new("Click a step's number above to go back to a task.").color(p.dim));
    }
}
