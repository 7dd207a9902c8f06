//! `cargo bench -p kafkascope-ui`: the UI's CPU cost per frame at 9 brokers × 30 partitions ×
//! RF 3 under load, and the cost of rewinding across a 10-minute session.
//!
//! No window and no GPU: the app runs as in `tests/app_logic.rs` (bevy's `MinimalPlugins`,
//! manual time), and each frame the window's layout ([`kafkascope_ui::lay_out`], the same
//! function the bevy system calls) runs in a bare `egui::Context` at 1280×800, then egui
//! tessellates the frame into meshes. What a GPU would do with those meshes is not measured.
//! A plain `harness = false` binary rather than criterion: the figures wanted are a frame's mean
//! and worst case and a few one-off timings, not a statistical comparison.

use std::time::{Duration, Instant};

use bevy::prelude::*;
use bevy::time::TimeUpdateStrategy;
use bevy_egui::egui;
use kafkascope_ui::compare::Compare;
use kafkascope_ui::intents::{Intent, Intents};
use kafkascope_ui::library::Library;
use kafkascope_ui::playback::Playback;
use kafkascope_ui::state::{Status, Watch};
use kafkascope_ui::{core_app, lay_out, Shown, UiOptions, UiState};

const NINE: &str = include_str!("../tests/fixtures/nine-brokers.toml");
const CLASSROOM: &str = include_str!("../../scenarios/classroom.toml");
const FRAMES: usize = 300;
/// A 60 Hz frame.
const FRAME: Duration = Duration::from_micros(16_667);

fn main() {
    let only = std::env::var("KAFKASCOPE_BENCH_ONLY").unwrap_or_default();
    if only.is_empty() || only == "frame" {
        frame_cost();
    }
    if only.is_empty() || only == "rewind" {
        rewind_cost();
    }
    if only.is_empty() || only == "long" {
        long_session();
    }
}

/// The process's resident memory, from `/proc/self/status` (Linux), in MiB.
fn resident_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn mib(bytes: usize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// Jumps to `t` and returns the frame's wall time in ms.
fn seek_ms(app: &mut App, t: f64) -> f64 {
    push(app, Intent::Seek(t));
    let started = Instant::now();
    app.update();
    started.elapsed().as_secs_f64() * 1000.0
}

/// A fully loaded 10-minute session: the nine-broker fixture (9 brokers x 30 partitions x
/// RF 3) with its producers writing 2000 records/s for the whole 600 s. What the rewind
/// checkpoints hold at the end, and what rewinding costs. `KAFKASCOPE_BENCH_LONG_S` shortens
/// it for a quick look.
fn long_session() {
    let secs: u64 = std::env::var("KAFKASCOPE_BENCH_LONG_S")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(600);
    let mut scenario = kafkascope_sim::scenario::parse("nine-brokers", NINE).unwrap();
    scenario.duration = secs * 1000;
    // The file's producers stop at its 8 s end; these write until the new one.
    for p in &mut scenario.producers {
        p.workload.stop = scenario.duration;
    }
    let text = kafkascope_sim::scenario::to_toml(&scenario);
    let mut app = app_with("nine-brokers-long", &text);
    let sim = finish(&mut app);
    let (entries, records) = {
        let w = app.world().resource::<Watch>();
        let s = w.session.as_ref().unwrap();
        (s.entries.len(), s.origins.len())
    };
    let end = (secs * 1000) as f64;
    println!(
        "nine-brokers with duration {secs} s (2 x 1000 records/s for the whole run, broker-4 \
         down from 4 s):"
    );
    println!(
        "  first simulation: {:.1} s ({entries} entries, {records} records)",
        sim.as_secs_f64()
    );
    let first = seek_ms(&mut app, end);
    let (cp, bytes, live) = {
        let w = app.world().resource::<Watch>();
        (
            w.checkpoints.len(),
            w.checkpoints.heap_bytes(),
            w.cluster.heap_bytes(),
        )
    };
    println!("  first jump 0 s -> {secs} s (folds every entry, makes checkpoints): {first:.0} ms");
    println!(
        "  bytes held by checkpoints at the end: {:.1} MiB in {cp} checkpoints (logs {:.1} MiB, \
         the rest {:.1} MiB); a copy of every log per checkpoint would be {:.1} MiB",
        mib(bytes.total()),
        mib(bytes.logs),
        mib(bytes.folds),
        mib(bytes.total_unshared()),
    );
    println!(
        "  the displayed fold: {:.1} MiB{}",
        mib(live),
        resident_mib()
            .map(|r| format!("; process resident memory {r:.0} MiB"))
            .unwrap_or_default()
    );
    let half = end / 2.0;
    for (what, t) in [
        ("rewind to 0 s", 0.0),
        ("jump to the end (from the last checkpoint)", end),
        ("rewind to the middle", half),
        ("rewind to 15 s", 15_000.0),
        ("jump to the end minus 1 s", end - 1_000.0),
    ] {
        let ms = seek_ms(&mut app, t);
        println!("  {what}: {ms:.1} ms");
    }
}

fn app_with(name: &str, text: &str) -> App {
    let mut app = core_app(UiOptions {
        open: Some((name.into(), text.into())),
        ..Default::default()
    });
    app.insert_resource(TimeUpdateStrategy::ManualDuration(FRAME));
    app
}

fn push(app: &mut App, i: Intent) {
    app.world_mut().resource_mut::<Intents>().push(i);
}

/// Runs frames until the session's run is complete; returns the wall time it took.
fn finish(app: &mut App) -> Duration {
    let started = Instant::now();
    loop {
        app.update();
        let w = app.world().resource::<Watch>();
        if w.session.as_ref().is_some_and(|s| s.complete()) {
            return started.elapsed();
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

struct Stats {
    mean_ms: f64,
    max_ms: f64,
    p95_ms: f64,
}

fn stats(mut v: Vec<f64>) -> Stats {
    let mean_ms = v.iter().sum::<f64>() / v.len() as f64;
    v.sort_by(f64::total_cmp);
    Stats {
        mean_ms,
        max_ms: *v.last().unwrap(),
        p95_ms: v[(v.len() * 95 / 100).min(v.len() - 1)],
    }
}

/// One egui pass over the app's current state: layout and painting, then tessellation.
fn ui_frame(
    ctx: &egui::Context,
    app: &App,
    state: &mut UiState,
    t: f64,
) -> (Duration, Duration, usize) {
    let world = app.world();
    let watch = world.resource::<Watch>();
    let library = world.resource::<Library>();
    let pb = world.resource::<Playback>();
    let status = world.resource::<Status>();
    let learning = world.resource::<kafkascope_ui::lesson::Learning>();
    let input = egui::RawInput {
        screen_rect: Some(egui::Rect::from_min_size(
            egui::Pos2::ZERO,
            egui::vec2(1280.0, 800.0),
        )),
        time: Some(t),
        ..Default::default()
    };
    // Clicks the benchmark makes none of; the layout pushes what it would into a local list.
    let mut intents = Intents::default();
    let started = Instant::now();
    ctx.begin_pass(input);
    let compare = world.resource::<Compare>();
    let shown = Shown {
        watch,
        compare,
        library,
        learning,
        pb,
        status: &status.0,
    };
    lay_out(ctx, shown, state, &mut intents);
    let out = ctx.end_pass();
    let laid_out = started.elapsed();
    let started = Instant::now();
    let meshes = ctx.tessellate(out.shapes, out.pixels_per_point);
    let tessellated = started.elapsed();
    (laid_out, tessellated, meshes.len())
}

fn frame_cost() {
    let mut app = app_with("nine-brokers", NINE);
    let sim = finish(&mut app);
    let entries = app
        .world()
        .resource::<Watch>()
        .session
        .as_ref()
        .unwrap()
        .entries
        .len();
    println!(
        "nine-brokers (9 brokers x 30 partitions x RF 3, 2 x 1000 records/s, a crash at 4 s): \
         simulated 8 s ({entries} trace entries) in {:.2} s",
        sim.as_secs_f64()
    );
    // Play through the busy middle of the run (the crash at 4 s and the elections after it)
    // at 0.1x, so every frame has messages in flight and new trace entries to fold in.
    push(&mut app, Intent::Seek(3_500.0));
    push(&mut app, Intent::SetSpeed(0.1));
    push(&mut app, Intent::TogglePlay);
    let ctx = egui::Context::default();
    let mut state = UiState::new(false);
    // Warm-up: the font atlas and egui's caches fill in the first frames.
    for i in 0..10 {
        app.update();
        ui_frame(&ctx, &app, &mut state, i as f64 * FRAME.as_secs_f64());
    }
    let (mut core, mut ui, mut tess, mut total) = (vec![], vec![], vec![], vec![]);
    let mut meshes = 0;
    for i in 0..FRAMES {
        let started = Instant::now();
        app.update();
        let c = started.elapsed();
        let (l, t, m) = ui_frame(
            &ctx,
            &app,
            &mut state,
            (10 + i) as f64 * FRAME.as_secs_f64(),
        );
        meshes = m;
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        core.push(ms(c));
        ui.push(ms(l));
        tess.push(ms(t));
        total.push(ms(c) + ms(l) + ms(t));
    }
    let (w, pb) = (
        app.world().resource::<Watch>(),
        app.world().resource::<Playback>(),
    );
    let s = w.session.as_ref().unwrap();
    println!(
        "  {FRAMES} frames at 1280x800, playing 0.1x from 3.500 s to {} (in flight at the end: \
         {}; {} meshes a frame)",
        kafkascope_ui::playback::fmt_ms(pb.shown(s) as f64),
        w.cluster.in_flight.len(),
        meshes
    );
    let row = |what: &str, v: Vec<f64>| {
        let s = stats(v);
        println!(
            "  {what:<56} mean {:>6.2} ms  p95 {:>6.2} ms  max {:>6.2} ms",
            s.mean_ms, s.p95_ms, s.max_ms
        );
    };
    row("bevy update (intents, playback, fold the trace)", core);
    row("egui layout + painting (lay_out, all panels)", ui);
    row("egui tessellation", tess);
    row("UI CPU time per frame (sum; target <= 8 ms)", total);
}

fn rewind_cost() {
    let mut scenario = kafkascope_sim::scenario::parse("classroom", CLASSROOM).unwrap();
    scenario.duration = 600_000;
    let text = kafkascope_sim::scenario::to_toml(&scenario);
    let mut app = app_with("classroom-10min", &text);
    let sim = finish(&mut app);
    let entries = app
        .world()
        .resource::<Watch>()
        .session
        .as_ref()
        .unwrap()
        .entries
        .len();
    println!(
        "classroom with duration 600 s (the file's producers write 2000 records/s from 1 s to \
         28 s; heartbeats, fetches and the controller run for the whole 10 minutes):"
    );
    println!(
        "  first simulation, open to complete trace: {:.2} s ({entries} entries)",
        sim.as_secs_f64()
    );
    let seek = |app: &mut App, t: f64| {
        push(app, Intent::Seek(t));
        let started = Instant::now();
        app.update();
        let d = started.elapsed();
        let w = app.world().resource::<Watch>();
        (d.as_secs_f64() * 1000.0, w.checkpoints.len())
    };
    let (ms, cp) = seek(&mut app, 600_000.0);
    println!(
        "  first jump 0 s -> 600 s (folds every entry, makes checkpoints): {ms:.1} ms \
         ({cp} checkpoints holding {:.1} MiB)",
        mib(app
            .world()
            .resource::<Watch>()
            .checkpoints
            .heap_bytes()
            .total())
    );
    let (ms, _) = seek(&mut app, 0.0);
    println!("  rewind 600 s -> 0 s: {ms:.1} ms");
    let (ms, _) = seek(&mut app, 600_000.0);
    println!("  jump again 0 s -> 600 s (from the last checkpoint): {ms:.1} ms");
    let (ms, _) = seek(&mut app, 300_000.0);
    println!("  rewind 600 s -> 300 s: {ms:.1} ms");
    let (ms, _) = seek(&mut app, 15_000.0);
    println!("  rewind 300 s -> 15 s (into the busy part): {ms:.1} ms");
    let (ms, _) = seek(&mut app, 599_000.0);
    println!("  jump 15 s -> 599 s: {ms:.1} ms");
}
