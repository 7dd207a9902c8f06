//! Lessons in the app, driven without a window (bevy's `MinimalPlugins`, manual time): open a
//! lesson, answer its prediction and watch the simulation play on, go back and forth between
//! steps, do a task with the app's interventions and check it, with progress saved to disk
//! after every change. The lesson is the fixture in `tests/fixtures/lessons/`.

use std::path::Path;
use std::time::{Duration, Instant};

use bevy::prelude::*;
use bevy::time::TimeUpdateStrategy;
use bevy_egui::egui;
use kafkascope_lessons::progress::Store;
use kafkascope_lessons::Course;
use kafkascope_sim::command::{Command, Target, TimedCommand};
use kafkascope_sim::ids::NodeId;
use kafkascope_sim::trace::CrashKind;
use kafkascope_ui::intents::{Intent, Intents};
use kafkascope_ui::lesson::{Learning, LessonIntent};
use kafkascope_ui::playback::{Playback, DEFAULT_SPEED};
use kafkascope_ui::state::Watch;
use kafkascope_ui::{core_app, UiOptions, UiState};

fn fixture_course() -> Course {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lessons");
    Course::load_dir(&dir).unwrap_or_else(|e| panic!("the fixture lesson does not load:\n{e}"))
}

/// The app on the home screen with the fixture course, keeping progress in `data_dir`
/// (`None`: `$KAFKASCOPE_DATA_DIR`).
fn lesson_app(data_dir: Option<&Path>) -> App {
    let mut app = core_app(UiOptions {
        course: Some(fixture_course()),
        data_dir: data_dir.map(Path::to_path_buf),
        ..Default::default()
    });
    app.insert_resource(TimeUpdateStrategy::ManualDuration(Duration::from_millis(
        100,
    )));
    app.update();
    app
}

fn push(app: &mut App, i: Intent) {
    app.world_mut().resource_mut::<Intents>().push(i);
}

fn lesson(app: &mut App, i: LessonIntent) {
    push(app, Intent::Lesson(i));
    app.update();
}

/// Runs frames until `done` holds.
fn until(app: &mut App, what: &str, done: impl Fn(&App) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        app.update();
        if done(app) {
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn shown(app: &App) -> u64 {
    let w = app.world().resource::<Watch>();
    app.world()
        .resource::<Playback>()
        .shown(w.session.as_ref().unwrap())
}

fn learning(app: &App) -> &Learning {
    app.world().resource::<Learning>()
}

fn step(app: &App) -> usize {
    learning(app).open.as_ref().unwrap().player.step
}

/// Every text the window draws this frame, laid out in a bare egui context at 1280×800, with
/// `events` as this frame's input; and the intents it pushed.
fn draw(
    app: &App,
    ctx: &egui::Context,
    state: &mut UiState,
    events: Vec<egui::Event>,
    modifiers: egui::Modifiers,
) -> (String, Vec<Intent>) {
    let world = app.world();
    let input = egui::RawInput {
        screen_rect: Some(egui::Rect::from_min_size(
            egui::Pos2::ZERO,
            egui::vec2(1280.0, 800.0),
        )),
        events: std::iter::once(egui::Event::ModifiersChanged(modifiers))
            .chain(events)
            .collect(),
        ..Default::default()
    };
    let mut intents = Intents::default();
    ctx.begin_pass(input);
    kafkascope_ui::lay_out(
        ctx,
        kafkascope_ui::Shown {
            watch: world.resource::<Watch>(),
            compare: world.resource::<kafkascope_ui::compare::Compare>(),
            library: world.resource::<kafkascope_ui::library::Library>(),
            learning: world.resource::<Learning>(),
            pb: world.resource::<Playback>(),
            status: "",
        },
        state,
        &mut intents,
    );
    let mut out = ctx.end_pass();
    out.textures_delta.clear();
    let mut text = String::new();
    fn collect(shape: &egui::Shape, text: &mut String) {
        match shape {
            egui::Shape::Text(t) => {
                text.push_str(t.galley.text());
                text.push('\n');
            }
            egui::Shape::Vec(v) => v.iter().for_each(|s| collect(s, text)),
            _ => {}
        }
    }
    for s in &out.shapes {
        collect(&s.shape, &mut text);
    }
    (text, intents.0)
}

fn panel_text(app: &App) -> String {
    let ctx = egui::Context::default();
    let mut state = UiState::new(false);
    // Two passes: the first sizes the panels.
    draw(app, &ctx, &mut state, vec![], Default::default());
    draw(app, &ctx, &mut state, vec![], Default::default()).0
}

/// The prediction step and Next/Back: the session follows the step (scenario, seed, commands,
/// time), answering plays the simulation on to `until` with the ordinary playback, the panel
/// shows the explanation and the `after` text, and progress lands in `$KAFKASCOPE_DATA_DIR`.
#[test]
fn a_prediction_plays_on_to_until_and_next_and_back_follow_the_steps() {
    let data = tempfile::tempdir().unwrap();
    // The only test here that uses the environment; the others name their directory.
    std::env::set_var("KAFKASCOPE_DATA_DIR", data.path());
    let mut app = lesson_app(None);
    let course = fixture_course();
    let l = &course.lessons[0];
    lesson(
        &mut app,
        LessonIntent::Open {
            id: "fixture".into(),
            step: None,
        },
    );
    {
        let w = app.world().resource::<Watch>();
        let s = w.session.as_ref().expect("the step's simulation is open");
        assert_eq!(s.scenario.name, l.steps[0].sim.scenario.name);
        assert_eq!(s.seed, l.steps[0].sim.seed);
        assert!(s.interventions.is_empty());
        let pb = app.world().resource::<Playback>();
        assert_eq!(pb.time_ms, 2_000.0, "parked at the step's `at`");
        assert!(!pb.playing);
    }
    until(&mut app, "the step's moment", |a| shown(a) == 2_000);
    let text = panel_text(&app);
    assert!(text.contains("Step 1 of 2"), "{text}");
    assert!(text.contains("The leader is about to crash"), "{text}");
    assert!(
        text.contains("At 7 s, which broker does the controller say leads orders-0?"),
        "{text}"
    );
    assert!(!text.contains("Not quite"), "{text}");

    // Next waits for the prediction.
    lesson(&mut app, LessonIntent::Next);
    assert_eq!(step(&app), 0);
    assert!(learning(&app).open.as_ref().unwrap().message.is_some());

    // A wrong answer: the simulation plays on from 2 s to 7 s, visibly.
    lesson(&mut app, LessonIntent::Answer(0));
    {
        let run = learning(&app).open.as_ref().unwrap();
        assert_eq!(run.player.state().answer, Some(0));
        assert_eq!(run.player.view_time(), 7_000);
        assert!(run.playing_to.is_some());
        assert!(app.world().resource::<Playback>().playing);
    }
    app.update();
    let midway = shown(&app);
    assert!(midway < 7_000, "it plays, it does not jump: {midway}");
    let text = panel_text(&app);
    assert!(text.contains("Not quite."), "{text}");
    assert!(
        text.contains("The controller has not noticed the crash yet."),
        "{text}"
    );
    assert!(text.contains("The answer is 2:"), "{text}");
    assert!(
        !text.contains("has not noticed yet"),
        "the after text waits for the end: {text}"
    );
    until(&mut app, "the step's until", |a| shown(a) == 7_000);
    app.update();
    {
        let pb = app.world().resource::<Playback>();
        assert!(!pb.playing);
        assert_eq!(pb.speed, DEFAULT_SPEED, "the speed is given back");
        let run = learning(&app).open.as_ref().unwrap();
        assert!(run.playing_to.is_none());
        assert!(run.reached_until());
        let w = app.world().resource::<Watch>();
        assert_eq!(
            w.cluster.node(NodeId::Broker(1)),
            kafkascope_ui::cluster_state::NodeState::Down(CrashKind::Process)
        );
    }
    let text = panel_text(&app);
    assert!(text.contains("has not noticed yet"), "{text}");
    let saved = Store::in_dir(data.path()).load().0;
    assert_eq!(saved.lessons["fixture"].answers, [(0, 0)].into());

    // Next: a new simulation of the task step, at its `at`.
    lesson(&mut app, LessonIntent::Next);
    assert_eq!(step(&app), 1);
    {
        let w = app.world().resource::<Watch>();
        let s = w.session.as_ref().unwrap();
        assert_eq!(s.scenario.name, l.steps[1].sim.scenario.name);
        assert!(s.interventions.is_empty());
        assert_eq!(app.world().resource::<Playback>().time_ms, 1_000.0);
    }
    assert_eq!(
        Store::in_dir(data.path()).load().0.lessons["fixture"].step,
        1
    );
    let text = panel_text(&app);
    assert!(text.contains("FINAL CHALLENGE"), "{text}");
    assert!(text.contains("Step 2 of 2"), "{text}");

    // Back: the first step again, at its `until` since it was answered.
    lesson(&mut app, LessonIntent::Back);
    assert_eq!(step(&app), 0);
    assert_eq!(app.world().resource::<Playback>().time_ms, 7_000.0);
    until(&mut app, "the answered step's until", |a| shown(a) == 7_000);
    assert_eq!(
        Store::in_dir(data.path()).load().0.lessons["fixture"].step,
        0
    );
}

/// The final challenge, done with the app's own interventions: the crash the node menu pushes
/// becomes the learner's command (and the session's), Check runs off the UI thread and says
/// "Not yet" then "Done", Reset undoes it, and a second app resumes where the first stopped.
#[test]
fn a_task_is_done_with_interventions_and_checked() {
    let data = tempfile::tempdir().unwrap();
    let mut app = lesson_app(Some(data.path()));
    lesson(
        &mut app,
        LessonIntent::Open {
            id: "1".into(),
            step: Some(1),
        },
    );
    assert_eq!(step(&app), 1);
    until(&mut app, "the task's start", |a| shown(a) == 1_000);

    // Checked before doing anything: not yet.
    lesson(&mut app, LessonIntent::Check);
    until(&mut app, "the first check", |a| {
        learning(a).open.as_ref().unwrap().checked.contains_key(&1)
    });
    {
        let run = learning(&app).open.as_ref().unwrap();
        let c = &run.checked[&1];
        assert!(!c.done);
        assert_eq!(c.at, 4_000);
        assert!(!run.player.state().done);
    }
    assert!(panel_text(&app).contains("Not yet"));

    // Crash the leader at 1.5 s, as the node menu's "Crash (process)" does.
    push(&mut app, Intent::Seek(1_500.0));
    until(&mut app, "1.5 s", |a| shown(a) == 1_500);
    let crash = Command::Crash {
        target: Target::Node(NodeId::Broker(1)),
        kind: CrashKind::Process,
    };
    push(&mut app, Intent::Intervene(crash.clone()));
    app.update();
    let expected = TimedCommand {
        at: 1_501,
        command: crash.clone(),
    };
    {
        let run = learning(&app).open.as_ref().unwrap();
        assert_eq!(run.message, None);
        assert_eq!(run.player.state().commands, vec![expected.clone()]);
        assert_eq!(
            run.player.state().typed,
            ["run 501ms", "crash broker-1 kind=process"]
        );
        let w = app.world().resource::<Watch>();
        assert_eq!(w.session.as_ref().unwrap().interventions, vec![expected]);
    }
    let text = panel_text(&app);
    assert!(
        text.contains("crash broker-1"),
        "the command as typed: {text}"
    );
    let saved = Store::in_dir(data.path()).load().0;
    assert_eq!(
        saved.lessons["fixture"].typed[&1],
        ["run 501ms", "crash broker-1 kind=process"]
    );

    // Outside the step's window the command is refused, with the player's reason.
    push(&mut app, Intent::Seek(5_000.0));
    until(&mut app, "5 s", |a| shown(a) == 5_000);
    push(&mut app, Intent::Intervene(crash.clone()));
    app.update();
    {
        let run = learning(&app).open.as_ref().unwrap();
        let m = run.message.as_deref().unwrap_or_default();
        assert!(m.contains("runs from 1.000s to 4.000s"), "{m}");
        assert_eq!(run.player.state().commands.len(), 1);
        let w = app.world().resource::<Watch>();
        assert_eq!(w.session.as_ref().unwrap().interventions.len(), 1);
    }

    // Check: done, with the condition's explanation; then it plays on to `until`.
    lesson(&mut app, LessonIntent::Check);
    until(&mut app, "the second check", |a| {
        learning(a).open.as_ref().unwrap().checked[&1].done
    });
    {
        let run = learning(&app).open.as_ref().unwrap();
        assert!(run.player.state().done);
        let lines = run.checked[&1].explanation.join("\n");
        assert!(
            lines.contains("crashed(leader of orders-0): yes"),
            "{lines}"
        );
    }
    until(&mut app, "playing on to until", |a| shown(a) == 4_000);
    let text = panel_text(&app);
    assert!(text.contains("Done"), "{text}");
    let saved = Store::in_dir(data.path()).load().0;
    assert!(saved.lessons["fixture"].done.contains(&1));
    assert!(saved.lessons["fixture"].finished);

    // A second app on the same data resumes: the lesson is finished, its task still done.
    let mut again = lesson_app(Some(data.path()));
    assert_eq!(
        kafkascope_ui::lesson::status(
            &fixture_course().lessons[0],
            learning(&again).progress.lessons.get("fixture")
        ),
        "finished"
    );
    lesson(
        &mut again,
        LessonIntent::Open {
            id: "fixture".into(),
            step: Some(1),
        },
    );
    {
        let run = learning(&again).open.as_ref().unwrap();
        assert!(run.player.state().done);
        let w = again.world().resource::<Watch>();
        assert_eq!(w.session.as_ref().unwrap().interventions.len(), 1);
    }

    // Reset undoes the learner's commands, in the player and in the session.
    lesson(&mut app, LessonIntent::Reset);
    {
        let run = learning(&app).open.as_ref().unwrap();
        assert!(run.player.state().commands.is_empty());
        assert!(!run.player.state().done);
        let w = app.world().resource::<Watch>();
        assert!(w.session.as_ref().unwrap().interventions.is_empty());
        assert_eq!(app.world().resource::<Playback>().time_ms, 1_000.0);
    }
    assert!(!Store::in_dir(data.path()).load().0.lessons["fixture"].finished);

    // A typed command works like the buttons.
    lesson(
        &mut app,
        LessonIntent::Type("crash leader of orders-0".into()),
    );
    {
        let run = learning(&app).open.as_ref().unwrap();
        assert_eq!(run.message, None);
        assert_eq!(run.player.state().commands.len(), 1);
        assert_eq!(run.player.state().commands[0].at, 1_000);
        let w = app.world().resource::<Watch>();
        assert_eq!(w.session.as_ref().unwrap().interventions.len(), 1);
    }
    // Home leaves the lesson; its progress stays.
    push(&mut app, Intent::Home);
    app.update();
    assert!(learning(&app).open.is_none());
    assert!(app.world().resource::<Watch>().session.is_none());
}

/// A step without a task takes no interventions (the view must stay what its text says), and
/// says why; the lesson's keys move between steps.
#[test]
fn interventions_outside_a_task_are_refused_and_keys_move_between_steps() {
    let data = tempfile::tempdir().unwrap();
    let mut app = lesson_app(Some(data.path()));
    lesson(
        &mut app,
        LessonIntent::Open {
            id: "fixture".into(),
            step: None,
        },
    );
    until(&mut app, "the step's moment", |a| shown(a) == 2_000);
    push(
        &mut app,
        Intent::Intervene(Command::Pause {
            target: Target::Node(NodeId::Broker(2)),
        }),
    );
    app.update();
    {
        let run = learning(&app).open.as_ref().unwrap();
        let m = run.message.as_deref().unwrap_or_default();
        assert!(m.contains("this step has no task"), "{m}");
        let w = app.world().resource::<Watch>();
        assert!(w.session.as_ref().unwrap().interventions.is_empty());
    }
    assert!(panel_text(&app).contains("this step has no task"));

    let ctx = egui::Context::default();
    let mut state = UiState::new(false);
    draw(&app, &ctx, &mut state, vec![], Default::default());
    let key = |key: egui::Key, modifiers: egui::Modifiers| egui::Event::Key {
        key,
        physical_key: None,
        pressed: true,
        repeat: false,
        modifiers,
    };
    let (_, pushed) = draw(
        &app,
        &ctx,
        &mut state,
        vec![key(egui::Key::ArrowRight, egui::Modifiers::ALT)],
        egui::Modifiers::ALT,
    );
    assert_eq!(pushed, vec![Intent::Lesson(LessonIntent::Next)]);
    let (_, pushed) = draw(
        &app,
        &ctx,
        &mut state,
        vec![key(egui::Key::ArrowLeft, egui::Modifiers::ALT)],
        egui::Modifiers::ALT,
    );
    assert_eq!(pushed, vec![Intent::Lesson(LessonIntent::Back)]);
    // Without Alt the arrows still step the time.
    let (_, pushed) = draw(
        &app,
        &ctx,
        &mut state,
        vec![key(egui::Key::ArrowRight, egui::Modifiers::NONE)],
        egui::Modifiers::NONE,
    );
    assert_eq!(pushed, vec![Intent::Step(1)]);

    // Choosing an answer by clicking it and pressing Enter locks it in.
    state.lesson_choice = Some((("fixture".into(), 0), 1));
    let (_, pushed) = draw(
        &app,
        &ctx,
        &mut state,
        vec![key(egui::Key::Enter, egui::Modifiers::NONE)],
        egui::Modifiers::NONE,
    );
    assert_eq!(pushed, vec![Intent::Lesson(LessonIntent::Answer(1))]);
}

#[test]
fn a_lesson_that_does_not_exist_is_an_error_before_any_window() {
    let err = kafkascope_ui::run(UiOptions {
        course: Some(fixture_course()),
        lesson: Some("fixtur".into()),
        ..Default::default()
    })
    .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, kafkascope_ui::UiError::Lesson(_)), "{msg}");
    assert!(msg.contains("did you mean `fixture`"), "{msg}");
    let err = kafkascope_ui::run(UiOptions {
        course: Some(fixture_course()),
        lesson: Some("fixture".into()),
        lesson_step: Some(3),
        ..Default::default()
    })
    .unwrap_err();
    assert!(err.to_string().contains("steps 1 to 2"), "{err}");
}
