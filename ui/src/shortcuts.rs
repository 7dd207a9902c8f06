//! Keyboard shortcuts: the table the help overlay shows, and the handler that turns keys into
//! intents. In presenter mode the keyboard drives everything, interventions included.

use bevy_egui::egui::{self, Key};
use kafkascope_sim::command::Command;
use kafkascope_sim::ids::NodeId;

use crate::intents::{Intent, Intents};
use crate::lesson::{LessonIntent, LessonRun};
use crate::playback::Playback;
use crate::state::{UiState, Watch};

pub const SHORTCUTS: &[(&str, &str)] = &[
    ("Space", "play / pause"),
    ("→  ←", "step one millisecond forward / back"),
    ("Shift + →  ←", "step 100 ms"),
    ("PgDn  PgUp", "step one second"),
    (".  ,", "jump to the next / previous event"),
    ("+  -", "speed ×2 / ÷2 (1/1000× to 1000×)"),
    (
        "Home  End",
        "rewind to the start / go to the latest simulated moment (live: back to live)",
    ),
    (
        "1 … 9,  0",
        "select broker-N, the controller: opens its intervention menu",
    ),
    (
        "C  L  S",
        "selected node: crash (process) / crash (power loss) / shut down",
    ),
    (
        "R  Z  I",
        "selected node: restart / pause or resume / isolate",
    ),
    ("A", "heal every link"),
    ("K", "colour records by key / by producer"),
    ("T", "show / hide the side panels"),
    ("P", "presenter mode: large type, high contrast"),
    ("Alt + →  ←", "lesson: next / previous step"),
    (
        "Enter",
        "lesson: lock in the prediction, play on, check the task, or go on",
    ),
    ("H  ?", "this help"),
    ("Esc", "close a menu; back to the home screen"),
];

pub fn read(
    ctx: &egui::Context,
    watch: &Watch,
    lesson: Option<&LessonRun>,
    pb: &Playback,
    state: &mut UiState,
    intents: &mut Intents,
) {
    if ctx.egui_wants_keyboard_input() {
        return;
    }
    let (pressed, shift, alt) = ctx.input(|i| {
        let keys: Vec<Key> = i
            .events
            .iter()
            .filter_map(|e| match e {
                egui::Event::Key {
                    key, pressed: true, ..
                } => Some(*key),
                _ => None,
            })
            .collect();
        (keys, i.modifiers.shift, i.modifiers.alt)
    });
    for key in pressed {
        if let Some(run) = lesson {
            if lesson_key(key, alt, run, state, intents) {
                continue;
            }
        }
        handle(key, shift, watch, pb, state, intents);
    }
}

/// The lesson's keys: Alt+→ and Alt+← move between steps, Enter does the step's next thing.
/// Returns whether the key was the lesson's.
fn lesson_key(
    key: Key,
    alt: bool,
    run: &LessonRun,
    state: &UiState,
    intents: &mut Intents,
) -> bool {
    let mut send = |i: LessonIntent| intents.push(Intent::Lesson(i));
    match key {
        Key::ArrowRight if alt => send(LessonIntent::Next),
        Key::ArrowLeft if alt => send(LessonIntent::Back),
        Key::Enter => {
            let p = &run.player;
            let step = p.current();
            let s = p.state();
            if run.finished {
                return false;
            }
            if step.predict.is_some() && s.answer.is_none() {
                let key = (p.lesson.id.clone(), p.step);
                match &state.lesson_choice {
                    Some((k, c)) if *k == key => send(LessonIntent::Answer(*c)),
                    _ => {}
                }
            } else if run.playing_to.is_some() {
                send(LessonIntent::SkipPlay);
            } else if step.task.is_some() && !s.done {
                if run.checking.is_none() {
                    send(LessonIntent::Check);
                }
            } else if step.until.is_some()
                && step.task.is_none()
                && step.predict.is_none()
                && !s.played
            {
                send(LessonIntent::PlayOn);
            } else {
                send(LessonIntent::Next);
            }
        }
        _ => return false,
    }
    true
}

fn handle(
    key: Key,
    shift: bool,
    watch: &Watch,
    pb: &Playback,
    state: &mut UiState,
    intents: &mut Intents,
) {
    match key {
        Key::H | Key::Questionmark | Key::F1 => state.help = !state.help,
        Key::P => state.presenter = !state.presenter,
        Key::K => state.colour_by_key = !state.colour_by_key,
        Key::T => state.side_panel = !state.side_panel,
        Key::Escape => {
            if state.help || state.selected.is_some() || state.file_dialog.is_some() {
                state.help = false;
                state.selected = None;
                state.file_dialog = None;
            } else {
                intents.push(Intent::Home);
            }
        }
        _ => {}
    }
    let Some(session) = &watch.session else {
        return;
    };
    match key {
        Key::Space => intents.push(Intent::TogglePlay),
        Key::ArrowRight => intents.push(Intent::Step(if shift { 100 } else { 1 })),
        Key::ArrowLeft => intents.push(Intent::Step(if shift { -100 } else { -1 })),
        Key::PageDown => intents.push(Intent::Step(1000)),
        Key::PageUp => intents.push(Intent::Step(-1000)),
        Key::Period => intents.push(Intent::StepEvent { forward: true }),
        Key::Comma => intents.push(Intent::StepEvent { forward: false }),
        Key::Plus | Key::Equals => intents.push(Intent::SetSpeed(pb.speed * 2.0)),
        Key::Minus => intents.push(Intent::SetSpeed(pb.speed / 2.0)),
        Key::Home => intents.push(Intent::Seek(0.0)),
        Key::End if session.serving() => intents.push(Intent::BackToLive),
        Key::End => intents.push(Intent::Seek(Playback::available(session))),
        Key::A => intents.push(Intent::Intervene(Command::Heal { between: None })),
        Key::Num0 => state.selected = Some(NodeId::Controller),
        _ => {}
    }
    if let Some(n) = digit(key) {
        if n <= session.scenario.brokers {
            state.selected = Some(NodeId::Broker(n));
        }
    }
    if let Some(node) = state.selected {
        let label = match key {
            Key::C => "Crash (process)",
            Key::L => "Crash (power loss)",
            Key::S => "Shut down cleanly",
            Key::R => "Restart",
            Key::Z => {
                if watch.cluster.node(node) == crate::cluster_state::NodeState::Paused {
                    "Resume"
                } else {
                    "Pause"
                }
            }
            Key::I => "Isolate",
            _ => return,
        };
        let actions = crate::panels::node_menu::actions(node, watch.cluster.node(node));
        if let Some((_, _, cmd)) = actions.into_iter().find(|(l, _, _)| *l == label) {
            intents.push(Intent::Intervene(cmd));
            state.selected = None;
        }
    }
}

fn digit(key: Key) -> Option<u32> {
    Some(match key {
        Key::Num1 => 1,
        Key::Num2 => 2,
        Key::Num3 => 3,
        Key::Num4 => 4,
        Key::Num5 => 5,
        Key::Num6 => 6,
        Key::Num7 => 7,
        Key::Num8 => 8,
        Key::Num9 => 9,
        _ => return None,
    })
}
