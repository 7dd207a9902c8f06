//! The app driven without a window (bevy's `MinimalPlugins`, manual time, `app.update()`):
//! open, play, rewind, intervene, save and reopen, checking trace hashes against the
//! simulation run directly, which is what the CLI reports.

use std::time::{Duration, Instant};

use bevy::prelude::*;
use bevy::time::TimeUpdateStrategy;
use kafkascope_sim::command::{Command, Target, TimedCommand};
use kafkascope_sim::host::Simulation;
use kafkascope_sim::ids::NodeId;
use kafkascope_sim::scenario::{parse, Scenario};
use kafkascope_sim::trace::CrashKind;
use kafkascope_ui::cluster_state::NodeState;
use kafkascope_ui::state::Watch;
use kafkascope_ui::{core_app, UiOptions};

const ACKS1: &str = include_str!("../../scenarios/acks1-leader-crash.toml");

fn app_with(name: &str, text: &str) -> App {
    let mut app = core_app(UiOptions {
        open: Some((name.into(), text.into())),
        ..Default::default()
    });
    app.insert_resource(TimeUpdateStrategy::ManualDuration(Duration::from_millis(
        100,
    )));
    app
}

/// Runs frames until the session's run is complete.
fn finish(app: &mut App) {
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        app.update();
        let w = app.world().resource::<Watch>();
        if w.session.as_ref().is_some_and(|s| s.complete()) {
            return;
        }
        assert!(Instant::now() < deadline, "the simulation did not finish");
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn hash_of(scenario: &Scenario, seed: u64, extra: &[TimedCommand]) -> u64 {
    let mut sim = Simulation::new(scenario, seed);
    for c in extra {
        sim.schedule(c.clone());
    }
    sim.run_to_end();
    sim.into_trace().hash()
}

fn push(app: &mut App, i: kafkascope_ui::intents::Intent) {
    app.world_mut()
        .resource_mut::<kafkascope_ui::intents::Intents>()
        .push(i);
}

/// Moves the displayed moment to `t` ms, as a click on the timeline does.
fn seek(app: &mut App, t: f64) {
    push(app, kafkascope_ui::intents::Intent::Seek(t));
    app.update();
}

fn shown(app: &App) -> u64 {
    let w = app.world().resource::<Watch>();
    let pb = app.world().resource::<kafkascope_ui::playback::Playback>();
    pb.shown(w.session.as_ref().unwrap())
}

#[test]
fn an_opened_scenario_records_the_trace_the_cli_would() {
    let mut app = app_with("acks1-leader-crash", ACKS1);
    finish(&mut app);
    let scenario = parse("acks1-leader-crash", ACKS1).unwrap();
    let w = app.world().resource::<Watch>();
    let s = w.session.as_ref().unwrap();
    assert_eq!(s.trace_hash, Some(hash_of(&scenario, scenario.seed, &[])));
    // The recorded entries are the whole trace, not just what was checked at the end.
    let mut sim = Simulation::new(&scenario, scenario.seed);
    sim.run_to_end();
    assert_eq!(s.entries.len(), sim.into_trace().entries.len());
}

#[test]
fn playing_advances_by_speed_and_rewinding_rebuilds_the_past() {
    use kafkascope_ui::intents::Intent;
    let mut app = app_with("acks1-leader-crash", ACKS1);
    finish(&mut app);
    push(&mut app, Intent::SetSpeed(10.0));
    push(&mut app, Intent::TogglePlay);
    app.update();
    // 100 ms of wall time per frame at 10x: one virtual second per frame.
    for _ in 0..6 {
        app.update();
    }
    let t = shown(&app);
    assert!((5_000..=7_000).contains(&t), "t = {t}");
    {
        let w = app.world().resource::<Watch>();
        // acks1-leader-crash crashes the leader (broker-1) at 5 s.
        assert_eq!(
            w.cluster.node(NodeId::Broker(1)),
            NodeState::Down(CrashKind::Process)
        );
    }
    push(&mut app, Intent::TogglePlay);
    seek(&mut app, 4_000.0);
    assert_eq!(shown(&app), 4_000);
    let w = app.world().resource::<Watch>();
    assert_eq!(w.cluster.node(NodeId::Broker(1)), NodeState::Up);
    let s = w.session.as_ref().unwrap();
    assert_eq!(w.cluster.applied, s.entries_through(4_000));
}

#[test]
fn stepping_moves_by_a_millisecond_and_by_an_event() {
    use kafkascope_ui::intents::Intent;
    let mut app = app_with("acks1-leader-crash", ACKS1);
    finish(&mut app);
    push(&mut app, Intent::Seek(1_000.0));
    push(&mut app, Intent::Step(1));
    app.update();
    assert_eq!(shown(&app), 1_001);
    push(&mut app, Intent::StepEvent { forward: true });
    app.update();
    let t = shown(&app);
    let w = app.world().resource::<Watch>();
    let s = w.session.as_ref().unwrap();
    assert!(t > 1_001);
    assert!(s.entries.iter().any(|e| e.at == t));
    assert!(!s.entries.iter().any(|e| e.at > 1_001 && e.at < t));
}

#[test]
fn an_intervention_branches_and_the_saved_session_replays_exactly() {
    use kafkascope_ui::intents::Intent;
    let mut app = app_with("acks1-leader-crash", ACKS1);
    finish(&mut app);
    seek(&mut app, 2_999.0);
    push(
        &mut app,
        Intent::Intervene(Command::Crash {
            target: Target::Node(NodeId::Broker(2)),
            kind: CrashKind::PowerLoss,
        }),
    );
    finish(&mut app);
    let scenario = parse("acks1-leader-crash", ACKS1).unwrap();
    let crash = TimedCommand {
        at: 3_000,
        command: Command::Crash {
            target: Target::Node(NodeId::Broker(2)),
            kind: CrashKind::PowerLoss,
        },
    };
    let expected = hash_of(&scenario, scenario.seed, std::slice::from_ref(&crash));
    let (branched, entries) = {
        let w = app.world().resource::<Watch>();
        let s = w.session.as_ref().unwrap();
        assert_eq!(s.interventions, vec![crash.clone()]);
        (s.trace_hash.unwrap(), s.entries.len())
    };
    assert_eq!(branched, expected);
    let mut sim = Simulation::new(&scenario, scenario.seed);
    sim.schedule(crash);
    sim.run_to_end();
    assert_eq!(
        entries,
        sim.into_trace().entries.len(),
        "prefix plus new future"
    );

    // Save, then reopen the file as a user would: same trace.
    save_and_reopen(&mut app, "branch", expected);
}

/// Saves the session as `NAME.toml` in a temporary folder, checks that the file alone replays
/// to `expected` (what the CLI would report), reopens it as a user would and checks the app
/// records the same trace. Returns the file's text.
fn save_and_reopen(app: &mut App, name: &str, expected: u64) -> String {
    use kafkascope_ui::intents::Intent;
    let dir = std::env::temp_dir().join(format!("kafkascope-ui-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.toml"));
    push(app, Intent::Save(path.clone()));
    app.update();
    let text = std::fs::read_to_string(&path).unwrap();
    let saved = parse("session.toml", &text).unwrap();
    assert_eq!(hash_of(&saved, saved.seed, &[]), expected);
    push(app, Intent::OpenFile(path));
    finish(app);
    let w = app.world().resource::<Watch>();
    assert_eq!(w.session.as_ref().unwrap().trace_hash, Some(expected));
    text
}

/// Shows millisecond `t` and pauses broker `b` there, as a user would from its menu.
fn pause_at(app: &mut App, t: f64, b: u32) {
    use kafkascope_ui::intents::Intent;
    seek(app, t);
    push(
        app,
        Intent::Intervene(Command::Pause {
            target: Target::Node(NodeId::Broker(b)),
        }),
    );
    app.update();
}

#[test]
fn a_later_intervention_in_the_past_discards_the_old_future() {
    let mut app = app_with("acks1-leader-crash", ACKS1);
    finish(&mut app);
    pause_at(&mut app, 8_000.0, 3);
    pause_at(&mut app, 6_000.0, 2);
    finish(&mut app);
    let w = app.world().resource::<Watch>();
    let s = w.session.as_ref().unwrap();
    assert_eq!(s.interventions.len(), 1);
    assert_eq!(s.interventions[0].at, 6_001);
}

/// Two interventions at one displayed moment (paused, crash one broker, then another) both
/// stand: only what lies after the moment is discarded.
#[test]
fn interventions_at_the_same_moment_accumulate() {
    let mut app = app_with("acks1-leader-crash", ACKS1);
    finish(&mut app);
    pause_at(&mut app, 8_000.0, 3);
    pause_at(&mut app, 8_000.0, 2);
    finish(&mut app);
    seek(&mut app, 9_000.0);
    let w = app.world().resource::<Watch>();
    let s = w.session.as_ref().unwrap();
    let at: Vec<u64> = s.interventions.iter().map(|c| c.at).collect();
    assert_eq!(at, [8_001, 8_001]);
    assert_eq!(w.cluster.node(NodeId::Broker(3)), NodeState::Paused);
    assert_eq!(w.cluster.node(NodeId::Broker(2)), NodeState::Paused);
}

#[test]
fn a_scenario_that_does_not_parse_is_an_error_not_a_panic() {
    let err = kafkascope_ui::run(UiOptions {
        open: Some(("bad.toml".into(), "[scenario]\nnme = 1\n".into())),
        ..Default::default()
    })
    .unwrap_err();
    assert!(matches!(err, kafkascope_ui::UiError::Scenario(_)), "{err}");
}

#[test]
fn a_link_setting_is_an_intervention_that_replays_exactly() {
    use kafkascope_ui::intents::Intent;
    let mut app = app_with("acks1-leader-crash", ACKS1);
    finish(&mut app);
    seek(&mut app, 1_999.0);
    // What the node menu's Apply pushes for broker-1 -> broker-2 at 40..120 ms, 10 % loss.
    let edit = kafkascope_ui::LinkEdit {
        from: NodeId::Broker(1),
        to: NodeId::Broker(2),
        latency_ms: (40, 120),
        loss: 0.1,
        both: true,
    };
    push(&mut app, Intent::Intervene(edit.command()));
    finish(&mut app);
    let link = TimedCommand {
        at: 2_000,
        command: Command::Link {
            from: Target::Node(NodeId::Broker(1)),
            to: Target::Node(NodeId::Broker(2)),
            latency_ms: (40, 120),
            loss: 0.1,
            both: true,
        },
    };
    let scenario = parse("acks1-leader-crash", ACKS1).unwrap();
    let expected = hash_of(&scenario, scenario.seed, std::slice::from_ref(&link));
    assert_ne!(expected, hash_of(&scenario, scenario.seed, &[]));
    let w = app.world().resource::<Watch>();
    let s = w.session.as_ref().unwrap();
    assert_eq!(s.interventions, vec![link]);
    assert_eq!(s.trace_hash, Some(expected));
    // Saved, the session holds the link command and replays to the same hash.
    let saved = parse(
        "saved.toml",
        &kafkascope_sim::scenario::to_toml(&s.as_scenario()),
    )
    .unwrap();
    assert_eq!(hash_of(&saved, saved.seed, &[]), expected);
    // And the cluster view marks the link from then on, in both directions.
    seek(&mut app, 3_000.0);
    let w = app.world().resource::<Watch>();
    for (a, b) in [(1, 2), (2, 1)] {
        assert_eq!(
            w.cluster.link(NodeId::Broker(a), NodeId::Broker(b)).params,
            Some((40, 120, 0.1))
        );
    }
}

#[test]
fn compare_runs_a_second_scenario_with_the_same_seed_on_one_timeline() {
    use kafkascope_ui::compare::Compare;
    use kafkascope_ui::intents::Intent;
    const ACKS_ALL: &str = include_str!("../../scenarios/acks-all-leader-crash.toml");
    let mut app = app_with("acks1-leader-crash", ACKS1);
    finish(&mut app);
    push(
        &mut app,
        Intent::Compare {
            source: "acks-all-leader-crash".into(),
            text: ACKS_ALL.into(),
            changes: Vec::new(),
        },
    );
    let deadline = Instant::now() + Duration::from_secs(300);
    while !app
        .world()
        .resource::<Compare>()
        .session()
        .is_some_and(|s| s.complete())
    {
        app.update();
        assert!(Instant::now() < deadline, "the compared run did not finish");
        std::thread::sleep(Duration::from_millis(2));
    }
    let acks1 = parse("acks1-leader-crash", ACKS1).unwrap();
    let acks_all = parse("acks-all-leader-crash", ACKS_ALL).unwrap();
    {
        let other = app.world().resource::<Compare>().session().unwrap();
        // The compared run uses the first session's seed, whatever its own file says.
        assert_eq!(other.seed, acks1.seed);
        assert_eq!(other.trace_hash, Some(hash_of(&acks_all, acks1.seed, &[])));
    }
    // One timeline: seeking moves both pictures to the same millisecond.
    seek(&mut app, 21_000.0);
    {
        let w = app.world().resource::<Watch>();
        let c = app.world().resource::<Compare>();
        let o = c.other.as_ref().unwrap();
        assert_eq!(w.cluster.at, 21_000);
        assert_eq!(o.cluster.at, 21_000);
        assert_eq!(
            o.cluster.applied,
            o.session.as_ref().unwrap().entries_through(21_000)
        );
    }
    // Interventions go to the first session only.
    push(
        &mut app,
        Intent::Intervene(Command::Pause {
            target: Target::Node(NodeId::Broker(3)),
        }),
    );
    app.update();
    {
        let w = app.world().resource::<Watch>();
        assert_eq!(w.session.as_ref().unwrap().interventions.len(), 1);
        let other = app.world().resource::<Compare>().session().unwrap();
        assert!(other.interventions.is_empty());
        assert!(other.complete());
    }
    push(&mut app, Intent::Home);
    app.update();
    assert!(app.world().resource::<Compare>().other.is_none());
}

/// Switching the acks=1 producer to acks=all with idempotence before the leader crash is an
/// intervention like any other: recorded, replayed exactly, and it prevents the loss.
#[test]
fn a_producer_setting_is_an_intervention_that_prevents_the_loss() {
    use kafkascope_sim::config::Acks;
    use kafkascope_ui::intents::Intent;
    let mut app = app_with("acks1-leader-crash", ACKS1);
    finish(&mut app);
    seek(&mut app, 1_999.0);
    // What the producer menu's Apply pushes.
    let edit = kafkascope_ui::ProducerEdit {
        producer: 0,
        acks: Acks::All,
        idempotence: true,
        rate: 100.0,
    };
    push(&mut app, Intent::Intervene(edit.command()));
    finish(&mut app);
    let scenario = parse("acks1-leader-crash", ACKS1).unwrap();
    let change = TimedCommand {
        at: 2_000,
        command: edit.command(),
    };
    let expected = hash_of(&scenario, scenario.seed, std::slice::from_ref(&change));
    let w = app.world().resource::<Watch>();
    let s = w.session.as_ref().unwrap();
    assert_eq!(s.interventions, vec![change]);
    assert_eq!(s.trace_hash, Some(expected));
    let saved = parse(
        "saved.toml",
        &kafkascope_sim::scenario::to_toml(&s.as_scenario()),
    )
    .unwrap();
    let run = kafkascope_sim::report::run(&saved, saved.seed);
    assert_eq!(run.trace.hash(), expected);
    assert_eq!(
        run.findings
            .count(kafkascope_sim::scenario::Count::LostAcknowledged),
        0
    );
}

/// Runs frames until the compared session's run is complete.
fn finish_compare(app: &mut App) {
    use kafkascope_ui::compare::Compare;
    let deadline = Instant::now() + Duration::from_secs(300);
    while !app
        .world()
        .resource::<Compare>()
        .session()
        .is_some_and(|s| s.complete())
    {
        app.update();
        assert!(Instant::now() < deadline, "the compared run did not finish");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// The same scenario and seed under two configurations: acks=1 on the left, and on the right
/// the copy with `producer.a.acks=all`, which keeps every acknowledged record.
#[test]
fn compare_with_a_change_runs_the_same_scenario_under_another_setting() {
    use kafkascope_sim::config::Acks;
    use kafkascope_sim::scenario::{CheckerId, Count};
    use kafkascope_ui::compare::Compare;
    use kafkascope_ui::intents::Intent;
    use kafkascope_ui::state::Status;
    let mut app = app_with("acks1-leader-crash", ACKS1);
    finish(&mut app);
    // A value the simulator refuses is a message, and nothing opens.
    for (bad, says) in [
        ("producer.a.acks=2", "expected one of"),
        ("broker.min.insync.replicas=0", "between 1 and 100"),
        ("producer.b.acks=all", "producers are a"),
        ("producer.a.enable.idempotence=true", "acks"),
    ] {
        push(
            &mut app,
            Intent::CompareChanged {
                changes: vec![bad.into()],
            },
        );
        app.update();
        let status = &app.world().resource::<Status>().0;
        assert!(status.contains(says), "{bad}: {status}");
        assert!(app.world().resource::<Compare>().other.is_none(), "{bad}");
    }
    push(
        &mut app,
        Intent::CompareChanged {
            changes: vec!["producer.a.acks=all".into()],
        },
    );
    finish_compare(&mut app);
    let acks1 = parse("acks1-leader-crash", ACKS1).unwrap();
    let mut acks_all = acks1.clone();
    acks_all.producers[0].config.acks = Acks::All;
    acks_all.producers[0].idempotent = true;
    let c = app.world().resource::<Compare>();
    assert_eq!(c.change.as_deref(), Some("producer-a acks=all"));
    let other = c.session().unwrap();
    assert_eq!(other.seed, acks1.seed);
    assert_eq!(other.scenario.producers[0].config.acks, Acks::All);
    assert_eq!(other.scenario.faults, acks1.faults);
    assert_eq!(other.trace_hash, Some(hash_of(&acks_all, acks1.seed, &[])));
    // The left loses acknowledged records, the right does not.
    let left = app.world().resource::<Watch>().session.as_ref().unwrap();
    let findings = |s: &kafkascope_ui::session::Session| s.findings.clone().unwrap();
    assert!(findings(left).count(Count::LostAcknowledged) > 0);
    assert_eq!(findings(other).count(Count::LostAcknowledged), 0);
    assert!(findings(other)
        .verdict(CheckerId::NoLostAcknowledged)
        .violation
        .is_none());
}

#[test]
fn a_bad_compare_set_on_the_command_line_is_an_error_before_any_window() {
    let err = kafkascope_ui::run(UiOptions {
        open: Some(("acks1-leader-crash".into(), ACKS1.into())),
        compare_set: vec!["broker.min.insync.replicas=many".into()],
        ..Default::default()
    })
    .unwrap_err();
    assert!(err.to_string().contains("not an integer"), "{err}");
}

/// One frame of the window's layout in a bare egui context, with these input events; returns
/// the intents it pushed.
fn ui_frame(
    app: &App,
    ctx: &bevy_egui::egui::Context,
    state: &mut kafkascope_ui::UiState,
    frame: u32,
    events: Vec<bevy_egui::egui::Event>,
    modifiers: bevy_egui::egui::Modifiers,
) -> Vec<kafkascope_ui::intents::Intent> {
    use bevy_egui::egui;
    let world = app.world();
    let input = egui::RawInput {
        screen_rect: Some(egui::Rect::from_min_size(
            egui::Pos2::ZERO,
            egui::vec2(1280.0, 800.0),
        )),
        time: Some(frame as f64 * 0.05),
        events: std::iter::once(egui::Event::ModifiersChanged(modifiers))
            .chain(events)
            .collect(),
        ..Default::default()
    };
    let mut intents = kafkascope_ui::intents::Intents::default();
    ctx.begin_pass(input);
    kafkascope_ui::lay_out(
        ctx,
        kafkascope_ui::Shown {
            watch: world.resource::<Watch>(),
            compare: world.resource::<kafkascope_ui::compare::Compare>(),
            library: world.resource::<kafkascope_ui::library::Library>(),
            learning: world.resource::<kafkascope_ui::lesson::Learning>(),
            pb: world.resource::<kafkascope_ui::playback::Playback>(),
            status: "",
        },
        state,
        &mut intents,
    );
    ctx.end_pass().textures_delta.clear();
    intents.0
}

/// A bare egui context and the frames it has drawn (its clock must not go back).
struct Egui {
    ctx: bevy_egui::egui::Context,
    frame: u32,
}

/// Presses on `from`'s box, drags to `to`'s and lets go (holding Shift if `shift`), as a
/// user would; returns every intent the frames pushed.
fn drag(
    app: &App,
    egui: &mut Egui,
    state: &mut kafkascope_ui::UiState,
    from: NodeId,
    to: NodeId,
    shift: bool,
) -> Vec<kafkascope_ui::intents::Intent> {
    use bevy_egui::egui::{Event, Modifiers, PointerButton};
    let ctx = &egui.ctx;
    egui.frame += 1;
    let mut intents = ui_frame(app, ctx, state, egui.frame, vec![], Modifiers::NONE);
    let a = state.node_boxes[&from].center();
    let b = state.node_boxes[&to].center();
    let modifiers = if shift {
        Modifiers::SHIFT
    } else {
        Modifiers::NONE
    };
    let button = |pos, pressed| Event::PointerButton {
        pos,
        button: PointerButton::Primary,
        pressed,
        modifiers,
    };
    for events in [
        vec![Event::PointerMoved(a)],
        vec![button(a, true)],
        vec![Event::PointerMoved(a.lerp(b, 0.3))],
        vec![Event::PointerMoved(b)],
        vec![button(b, false)],
        vec![],
    ] {
        egui.frame += 1;
        intents.extend(ui_frame(app, ctx, state, egui.frame, events, modifiers));
    }
    intents
}

/// Dragging from one node's box to another's cuts the link both ways; with Shift, one way. It
/// is the `partition` command the node menu makes, recorded as an intervention that replays.
#[test]
fn dragging_between_two_nodes_cuts_the_link() {
    use kafkascope_ui::intents::Intent;
    let mut app = app_with("acks1-leader-crash", ACKS1);
    finish(&mut app);
    seek(&mut app, 2_999.0);
    let mut ctx = Egui {
        ctx: bevy_egui::egui::Context::default(),
        frame: 0,
    };
    let mut state = kafkascope_ui::UiState::new(false);
    let (b1, b2, ctrl) = (NodeId::Broker(1), NodeId::Broker(2), NodeId::Controller);
    let intents = drag(&app, &mut ctx, &mut state, b1, b2, false);
    let both = Command::Partition {
        from: vec![Target::Node(b1)],
        to: vec![Target::Node(b2)],
        one_way: false,
    };
    assert_eq!(intents, vec![Intent::Intervene(both.clone())]);
    // A drag is not a click: no menu opened.
    assert_eq!(state.selected, None);
    // Pressing and letting go on the same node is a click: it opens the node's menu and
    // cuts nothing.
    let nothing = drag(&app, &mut ctx, &mut state, b1, b1, false);
    assert!(nothing.is_empty(), "{nothing:?}");
    assert_eq!(state.selected, Some(b1));
    state.selected = None;

    push(&mut app, Intent::Intervene(both.clone()));
    finish(&mut app);
    seek(&mut app, 3_500.0);
    {
        let w = app.world().resource::<Watch>();
        assert!(w.cluster.link(b1, b2).cut && w.cluster.link(b2, b1).cut);
    }
    // The cut link: dragging over it again asks for nothing.
    let again = drag(&app, &mut ctx, &mut state, b2, b1, false);
    assert!(again.is_empty(), "{again:?}");

    // Shift: one way, from the controller to broker-2 only.
    let intents = drag(&app, &mut ctx, &mut state, ctrl, b2, true);
    let one_way = Command::Partition {
        from: vec![Target::Node(ctrl)],
        to: vec![Target::Node(b2)],
        one_way: true,
    };
    assert_eq!(intents, vec![Intent::Intervene(one_way.clone())]);
    push(&mut app, Intent::Intervene(one_way.clone()));
    finish(&mut app);
    seek(&mut app, 4_000.0);
    let w = app.world().resource::<Watch>();
    assert!(w.cluster.link(ctrl, b2).cut);
    assert!(!w.cluster.link(b2, ctrl).cut);
    // Both drags are interventions, saved as the scenario's faults, replaying exactly.
    let s = w.session.as_ref().unwrap();
    let expected = vec![
        TimedCommand {
            at: 3_000,
            command: both,
        },
        TimedCommand {
            at: 3_501,
            command: one_way,
        },
    ];
    assert_eq!(s.interventions, expected);
    let scenario = parse("acks1-leader-crash", ACKS1).unwrap();
    assert_eq!(
        s.trace_hash,
        Some(hash_of(&scenario, scenario.seed, &expected))
    );
}

/// The consumers' state folded from the trace: `rebalance-cooperative` has consumers a and b in
/// group billing from the start and c joining at 10 s; with cooperative-sticky two partitions
/// move to c over two rebalances, and afterwards each member owns two of the six.
#[test]
fn consumers_show_their_group_state_and_partitions_after_a_cooperative_join() {
    use kafkascope_ui::cluster_state::ConsumerPhase;
    use kafkascope_ui::intents::Intent;
    const COOPERATIVE: &str = include_str!("../../scenarios/rebalance-cooperative.toml");
    let mut app = app_with("rebalance-cooperative", COOPERATIVE);
    finish(&mut app);
    let owned = |app: &App, i: u16| {
        let w = app.world().resource::<Watch>();
        let c = w.cluster.consumer(i);
        let mut v: Vec<String> = c.owned.iter().map(|tp| tp.to_string()).collect();
        v.sort();
        (c.phase, v, c.group.as_deref().map(str::to_string))
    };

    // Before c starts: a and b split the six partitions, c is not a member.
    seek(&mut app, 9_000.0);
    let (a, b, c) = (owned(&app, 0), owned(&app, 1), owned(&app, 2));
    assert_eq!(
        (a.0, b.0),
        (ConsumerPhase::Processing, ConsumerPhase::Processing)
    );
    assert_eq!((a.1.len(), b.1.len()), (3, 3), "{a:?} {b:?}");
    assert_eq!(c.0, ConsumerPhase::Joining);
    assert!(c.1.is_empty() && c.2.is_none());

    // After the join at 10 s and both rebalances: three members, two partitions each.
    seek(&mut app, 13_000.0);
    let all: Vec<_> = (0..3).map(|i| owned(&app, i)).collect();
    let mut union = Vec::new();
    for (i, (phase, parts, group)) in all.iter().enumerate() {
        assert_eq!(*phase, ConsumerPhase::Processing, "consumer {i}: {all:?}");
        assert_eq!(group.as_deref(), Some("billing"));
        assert_eq!(parts.len(), 2, "consumer {i}: {all:?}");
        union.extend(parts.iter().cloned());
    }
    union.sort();
    union.dedup();
    assert_eq!(union.len(), 6, "the members' partitions overlap: {all:?}");
    {
        let w = app.world().resource::<Watch>();
        for i in 0..3 {
            assert_eq!(w.cluster.node(NodeId::Consumer(i)), NodeState::Up);
            assert!(w.cluster.consumer(i).processed > 0);
            // 300 records/s over six partitions, committed after each poll: little lag.
            let lag = w.cluster.consumer_lag(i, Some("billing"));
            assert!(lag < 100, "consumer {i}: lag {lag}");
        }
    }

    // Crash consumer a: it owns nothing and shows crashed.
    push(
        &mut app,
        Intent::Intervene(Command::Crash {
            target: Target::Node(NodeId::Consumer(0)),
            kind: CrashKind::Process,
        }),
    );
    finish(&mut app);
    seek(&mut app, 13_500.0);
    let w = app.world().resource::<Watch>();
    assert_eq!(
        w.cluster.node(NodeId::Consumer(0)),
        NodeState::Down(CrashKind::Process)
    );
    assert!(w.cluster.consumer(0).owned.is_empty());
}

/// A consumer added from the Interventions tab while the group runs: it has its place in the
/// picture (a dashed box before it joins), joins the group and takes its share of partitions,
/// an added producer's settings open in its menu, and the saved session replays exactly.
#[test]
fn clients_added_while_running_are_drawn_join_and_replay_exactly() {
    use kafkascope_ui::intents::Intent;
    use kafkascope_ui::{AddClient, ClientKind};
    const COOPERATIVE: &str = include_str!("../../scenarios/rebalance-cooperative.toml");
    let mut app = app_with("rebalance-cooperative", COOPERATIVE);
    finish(&mut app);
    seek(&mut app, 14_000.0);
    let form = |app: &App, kind| {
        let w = app.world().resource::<Watch>();
        let s = w.session.as_ref().unwrap();
        let f = AddClient::new(kind, s);
        (f.clone(), f.line(s, 14_001), f.command(s, 14_001))
    };
    // The form copies consumer-a (group billing, cooperative-sticky) under a free name.
    let (consumer, line, command) = form(&app, ClientKind::Consumer);
    assert_eq!(consumer.name, "a-2");
    assert!(
        line.starts_with("add-consumer a-2 group=billing topics=orders"),
        "{line}"
    );
    assert!(line.contains("cooperative-sticky"), "{line}");
    push(&mut app, Intent::Intervene(command.unwrap()));
    finish(&mut app);
    // A taken name is refused with the scenario format's message.
    {
        let w = app.world().resource::<Watch>();
        let s = w.session.as_ref().unwrap();
        let mut taken = consumer.clone();
        taken.name = "b".into();
        let err = taken.command(s, 14_500).unwrap_err();
        assert!(err.contains("b"), "{err}");
        // No name, or no topic: refused with a message, not a panic.
        let mut unnamed = consumer.clone();
        unnamed.name = " ".into();
        assert!(unnamed.command(s, 14_500).unwrap_err().contains("name"));
        let mut no_topic = consumer.clone();
        no_topic.name = "z".into();
        no_topic.topics.clear();
        let err = no_topic.command(s, 14_500).unwrap_err();
        assert!(err.contains("topic"), "{err}");
    }
    let (_, _, producer) = form(&app, ClientKind::Producer);
    push(&mut app, Intent::Intervene(producer.unwrap()));
    finish(&mut app);

    let added = NodeId::Consumer(3);
    {
        let w = app.world().resource::<Watch>();
        let s = w.session.as_ref().unwrap();
        assert_eq!(s.names.name(added), "consumer-a-2");
        assert_eq!(s.names.name(NodeId::Producer(1)), "producer-shop-2");
        assert_eq!(s.added_at.get(&added), Some(&14_001));
        assert!(s.entries.iter().any(|e| matches!(
            &e.event,
            kafkascope_sim::trace::Event::NodeAdded { node, .. } if *node == added
        )));
    }
    // Four members now share the six partitions.
    seek(&mut app, 19_500.0);
    {
        let w = app.world().resource::<Watch>();
        assert!(w.cluster.added.contains(&added));
        let c = w.cluster.consumer(3);
        assert_eq!(c.group.as_deref(), Some("billing"));
        assert!(!c.owned.is_empty() && c.processed > 0, "{c:?}");
        let owned: usize = (0..4).map(|i| w.cluster.consumer(i).owned.len()).sum();
        assert_eq!(owned, 6);
        assert!(w.cluster.producers[&1].acked > 0);
    }
    // Drawn: a box for each added client, and the added producer's menu opens on its
    // settings as they are at the displayed moment.
    let ctx = bevy_egui::egui::Context::default();
    let mut state = kafkascope_ui::UiState::new(false);
    state.selected = Some(NodeId::Producer(1));
    let none = bevy_egui::egui::Modifiers::NONE;
    ui_frame(&app, &ctx, &mut state, 1, vec![], none);
    assert!(state.node_boxes.contains_key(&added));
    assert!(state.node_boxes.contains_key(&NodeId::Producer(1)));
    assert_eq!(state.producer_edit.as_ref().map(|e| e.producer), Some(1));
    // The Interventions tab lists both additions and draws the form for a third.
    state.selected = None;
    state.tab = kafkascope_ui::SideTab::Interventions;
    state.adding = Some(ClientKind::Consumer);
    ui_frame(&app, &ctx, &mut state, 2, vec![], none);
    let form = state.add_client.as_ref().expect("the form is drawn");
    assert_eq!(form.name, "a-3");
    // Before it joins, it is not there yet (but keeps its place).
    seek(&mut app, 10_000.0);
    assert!(!app
        .world()
        .resource::<Watch>()
        .cluster
        .added
        .contains(&added));
    ui_frame(&app, &ctx, &mut state, 3, vec![], none);
    assert!(state.node_boxes.contains_key(&added));

    // Save and reopen: the same trace, with both clients in the file.
    let expected = {
        let w = app.world().resource::<Watch>();
        w.session.as_ref().unwrap().trace_hash.unwrap()
    };
    let text = save_and_reopen(&mut app, "added-clients", expected);
    assert!(
        text.contains("action = \"add-consumer\"") && text.contains("action = \"add-producer\"")
    );
}

/// A consumer's menu offers Close: close() leaves the group at once (LeaveGroup), the box
/// shows it stopped, and the other members take its partitions.
#[test]
fn closing_a_consumer_leaves_its_group_and_the_others_take_over() {
    use kafkascope_ui::cluster_state::ConsumerPhase;
    use kafkascope_ui::intents::Intent;
    const SCALE: &str = include_str!("../../scenarios/scale-out-group.toml");
    let mut app = app_with("scale-out-group", SCALE);
    finish(&mut app);
    seek(&mut app, 15_000.0);
    let first = NodeId::Consumer(0);
    let close = kafkascope_ui::node_actions(first, NodeState::Up)
        .into_iter()
        .find(|(label, _, _)| *label == "Close")
        .map(|(_, _, c)| c)
        .expect("a consumer's menu offers Close");
    assert_eq!(
        close,
        Command::Shutdown {
            target: Target::Node(first)
        }
    );
    push(&mut app, Intent::Intervene(close));
    finish(&mut app);
    seek(&mut app, 20_000.0);
    let w = app.world().resource::<Watch>();
    assert_eq!(w.cluster.node(first), NodeState::Stopped);
    assert_eq!(w.cluster.consumer(0).phase, ConsumerPhase::Left);
    let owned: usize = (1..3).map(|i| w.cluster.consumer(i).owned.len()).sum();
    assert_eq!(owned, 6, "the two members left own every partition");
}

/// Runs frames until `f` finds what it looks for in the session (wall time passes: a live
/// session runs on the wall clock).
fn wait_for<T>(
    app: &mut App,
    what: &str,
    f: impl Fn(&kafkascope_ui::session::Session) -> Option<T>,
) -> T {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        app.update();
        let w = app.world().resource::<Watch>();
        if let Some(t) = w.session.as_ref().and_then(&f) {
            return t;
        }
        assert!(Instant::now() < deadline, "waited in vain for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// An ApiVersions v0 request as a client's first frame (request header v1).
fn api_versions_v0(client_id: &str) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&18i16.to_be_bytes());
    body.extend_from_slice(&0i16.to_be_bytes());
    body.extend_from_slice(&7i32.to_be_bytes());
    body.extend_from_slice(&(client_id.len() as i16).to_be_bytes());
    body.extend_from_slice(client_id.as_bytes());
    let mut frame = (body.len() as i32).to_be_bytes().to_vec();
    frame.extend(body);
    frame
}

#[test]
fn a_live_session_serves_real_clients_takes_faults_now_and_branches_from_its_recording() {
    use kafkascope_sim::trace::Event;
    use kafkascope_ui::intents::Intent;
    use kafkascope_ui::playback::Playback;
    use std::io::{Read, Write};
    let text = include_str!("../../scenarios/real-clients.toml");
    let mut app = core_app(UiOptions {
        open: Some(("real-clients".into(), text.into())),
        serve: Some(kafkascope_ui::Serve {
            port: 0,
            speed: 1.0,
        }),
        ..Default::default()
    });
    app.insert_resource(TimeUpdateStrategy::ManualDuration(Duration::from_millis(
        100,
    )));
    let bootstrap = wait_for(&mut app, "the ports", |s| {
        s.live.as_ref()?.bootstrap.clone()
    });
    assert_eq!(bootstrap.split(',').count(), 3, "{bootstrap}");
    let port: u16 = bootstrap
        .split(',')
        .next()
        .and_then(|a| a.rsplit(':').next())
        .and_then(|p| p.parse().ok())
        .expect("host:port");

    // The play head follows the newest moment.
    wait_for(&mut app, "time to pass", |s| {
        (s.simulated_to > 300).then_some(())
    });
    let following = |app: &App| {
        let w = app.world().resource::<Watch>();
        let pb = app.world().resource::<Playback>();
        let s = w.session.as_ref().unwrap();
        (pb.following(s), pb.time_ms == Playback::available(s))
    };
    assert_eq!(following(&app), (true, true));

    // A real client connects to broker-1 and is answered.
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    conn.write_all(&api_versions_v0("ui-test")).unwrap();
    let mut size = [0u8; 4];
    conn.read_exact(&mut size).unwrap();
    assert!(i32::from_be_bytes(size) > 4, "an ApiVersions response");
    let client = wait_for(&mut app, "client-1", |s| s.real_clients.get(&1).cloned());
    assert_eq!(client.client_id, "ui-test");
    assert_eq!(client.broker, Some(1));

    // Pausing and scrubbing back shows the past while the session goes on.
    push(&mut app, Intent::TogglePlay);
    seek(&mut app, 10.0);
    assert!(!following(&app).0);
    let then = app
        .world()
        .resource::<Watch>()
        .session
        .as_ref()
        .unwrap()
        .simulated_to;
    wait_for(&mut app, "the live session to go on", |s| {
        (s.simulated_to > then + 200).then_some(())
    });
    assert_eq!(shown(&app), 10);

    // A fault applies now, not at the displayed moment.
    push(
        &mut app,
        Intent::Intervene(Command::Crash {
            target: Target::Node(NodeId::Broker(2)),
            kind: CrashKind::Process,
        }),
    );
    let crashed = wait_for(&mut app, "broker-2 to crash", |s| {
        s.entries
            .iter()
            .find(|e| {
                matches!(
                    e.event,
                    Event::Crashed {
                        node: NodeId::Broker(2),
                        ..
                    }
                )
            })
            .map(|e| e.at)
    });
    assert!(
        crashed >= then,
        "crashed at {crashed}, live time was {then}"
    );
    let s = app.world().resource::<Watch>();
    assert!(
        s.session.as_ref().unwrap().interventions.is_empty(),
        "no branch"
    );

    // The client goes away.
    drop(conn);
    wait_for(&mut app, "the connection to close", |s| {
        s.entries
            .iter()
            .any(|e| matches!(e.event, Event::ClientClosed { .. }))
            .then_some(())
    });

    // Save writes the recording.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("live.toml");
    push(&mut app, Intent::Save(path.clone()));
    wait_for(&mut app, "the save", |_| path.exists().then_some(()));
    let saved = parse("live", &std::fs::read_to_string(&path).unwrap()).unwrap();
    let has = |f: fn(&Command) -> bool| saved.faults.iter().any(|c| f(&c.command));
    assert!(has(|c| matches!(c, Command::ClientConnect { .. })));
    assert!(has(|c| matches!(c, Command::Crash { .. })));

    // Back to live.
    push(&mut app, Intent::BackToLive);
    app.update();
    assert_eq!(following(&app), (true, true));

    // Branching ends the live session: an ordinary session of its recording, whose trace is
    // the one the live session recorded.
    let live_entries = app
        .world()
        .resource::<Watch>()
        .session
        .as_ref()
        .unwrap()
        .entries
        .clone();
    push(&mut app, Intent::StopServing);
    finish(&mut app);
    let w = app.world().resource::<Watch>();
    let s = w.session.as_ref().unwrap();
    assert!(s.live.is_none());
    assert!(s.interventions.is_empty());
    assert_eq!(s.trace_hash, Some(hash_of(&s.scenario, s.seed, &[])));
    let n = live_entries.len().min(s.entries.len()) / 2;
    assert_eq!(
        s.entries[..n],
        live_entries[..n],
        "the recording replays the same past"
    );
    assert!(
        s.real_clients.contains_key(&1),
        "the client is still in the picture"
    );
}
