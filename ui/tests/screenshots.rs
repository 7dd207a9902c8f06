//! Renders the app under Xvfb with Mesa's software Vulkan and checks the pictures: not blank,
//! and the expected elements where they belong (found by their colours). The PNGs are kept in
//! `target/ui-screenshots/` for a reviewer to look at.
//!
//! Where Xvfb or a Vulkan driver is missing the window cannot exist: on a developer's machine
//! the tests are skipped with the reason printed (the logic is covered by `app_logic.rs`), but
//! under `CI=true` they fail, because `.ci/run` installs both and a test that passes without
//! looking at a picture would hide a broken setup.

use std::path::{Path, PathBuf};
use std::process::Command;

fn missing_tools() -> Option<String> {
    let on_path = |b: &str| {
        std::env::var_os("PATH")
            .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(b).is_file()))
    };
    if !on_path("xvfb-run") {
        return Some("xvfb-run is not installed (apt-get install xvfb xauth)".into());
    }
    let icd = ["/usr/share/vulkan/icd.d", "/etc/vulkan/icd.d"]
        .iter()
        .filter_map(|d| std::fs::read_dir(d).ok())
        .flatten()
        .flatten()
        .any(|e| e.file_name().to_string_lossy().contains("lvp"));
    if !icd {
        return Some("no software Vulkan driver (apt-get install mesa-vulkan-drivers)".into());
    }
    None
}

/// What a test does when it cannot render.
#[derive(Debug, PartialEq)]
enum WithoutTools {
    Skip(String),
    Fail(String),
}

/// `missing` is what [`missing_tools`] found, `ci` the `CI` variable: in CI a missing tool is a
/// failure, elsewhere a reason to skip.
fn without_tools(missing: Option<String>, ci: Option<&str>) -> Option<WithoutTools> {
    let why = missing?;
    let in_ci = ci.is_some_and(|v| !v.is_empty() && v != "false" && v != "0");
    Some(if in_ci {
        WithoutTools::Fail(format!(
            "{why}; CI is set, so a screenshot test fails here rather than pass unseen"
        ))
    } else {
        WithoutTools::Skip(why)
    })
}

/// Whether this test can render; prints why it is skipped, or panics in CI.
fn can_render() -> bool {
    let ci = std::env::var("CI").ok();
    match without_tools(missing_tools(), ci.as_deref()) {
        None => true,
        Some(WithoutTools::Skip(why)) => {
            println!("skipped: {why}");
            false
        }
        Some(WithoutTools::Fail(why)) => panic!("{why}"),
    }
}

#[test]
fn missing_tools_skip_outside_ci_and_fail_in_it() {
    let missing = || Some("xvfb-run is not installed (apt-get install xvfb xauth)".to_string());
    assert_eq!(without_tools(None, Some("true")), None);
    assert_eq!(without_tools(None, None), None);
    assert_eq!(
        without_tools(missing(), None),
        Some(WithoutTools::Skip(missing().unwrap()))
    );
    assert_eq!(
        without_tools(missing(), Some("false")),
        Some(WithoutTools::Skip(missing().unwrap()))
    );
    match without_tools(missing(), Some("true")) {
        Some(WithoutTools::Fail(why)) => {
            assert!(why.contains("apt-get install xvfb xauth"), "{why}")
        }
        other => panic!("{other:?}"),
    }
}

fn out_dir() -> PathBuf {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/ui-screenshots");
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Runs the app once in a 1280×800 window; returns the RGB pixels, width and height.
fn shoot(name: &str, args: &[&str]) -> (Vec<u8>, u32, u32) {
    shoot_at(name, (1280, 800), args)
}

/// Runs the app once in a window of `size` on a screen of that size.
fn shoot_at(name: &str, size: (u32, u32), args: &[&str]) -> (Vec<u8>, u32, u32) {
    shoot_with(name, size, args, &[])
}

/// Runs the app once in a window of `size`, with `env` set.
fn shoot_with(
    name: &str,
    size: (u32, u32),
    args: &[&str],
    env: &[(&str, &Path)],
) -> (Vec<u8>, u32, u32) {
    // One X server at a time: `xvfb-run -a` picks a free display number, and two started at
    // once can pick the same one (and two software renderers share two cores anyway).
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let path = out_dir().join(format!("{name}.png"));
    let _ = std::fs::remove_file(&path);
    let (w, h) = size;
    let status = Command::new("xvfb-run")
        .args(["-a", "-s", &format!("-screen 0 {w}x{h}x24")])
        .arg(env!("CARGO_BIN_EXE_kafkascope-ui"))
        .args(["--size", &format!("{w}x{h}")])
        .args(args)
        .args(["--screenshot", path.to_str().unwrap(), "--frames", "8"])
        .env("WGPU_BACKEND", "vulkan")
        .envs(env.iter().copied())
        .status()
        .expect("running xvfb-run");
    assert!(status.success(), "{name}: the app exited with {status}");
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(&path).expect("the screenshot was saved"),
    ));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgb, "{name}");
    buf.truncate(info.buffer_size());
    println!("{name}: {}", path.display());
    (buf, info.width, info.height)
}

/// Pixels within `tol` of `rgb` inside the fractional region `(x0, y0, x1, y1)`.
fn count(img: &(Vec<u8>, u32, u32), rgb: [u8; 3], tol: i32, region: (f32, f32, f32, f32)) -> usize {
    let (px, w, h) = img;
    let (x0, y0) = ((region.0 * *w as f32) as u32, (region.1 * *h as f32) as u32);
    let (x1, y1) = ((region.2 * *w as f32) as u32, (region.3 * *h as f32) as u32);
    let mut n = 0;
    for y in y0..y1 {
        for x in x0..x1 {
            let i = ((y * w + x) * 3) as usize;
            if (0..3).all(|c| (px[i + c] as i32 - rgb[c] as i32).abs() <= tol) {
                n += 1;
            }
        }
    }
    n
}

fn distinct_colours(img: &(Vec<u8>, u32, u32)) -> usize {
    let mut seen = std::collections::BTreeSet::new();
    for p in img.0.chunks(3).step_by(7) {
        seen.insert((p[0] / 16, p[1] / 16, p[2] / 16));
    }
    seen.len()
}

#[test]
fn the_main_screens_render_with_their_elements() {
    if !can_render() {
        return;
    }
    let home = shoot("home", &[]);
    assert!(distinct_colours(&home) > 10, "the home screen is blank");

    // acks1-leader-crash just after the leader (broker-1) crashed at 5 s.
    let crash = shoot(
        "acks1-leader-crash-5.2s",
        &["acks1-leader-crash", "--at", "5200"],
    );
    assert!(distinct_colours(&crash) > 20, "the cluster view is blank");
    // HW markers (green) and LEO markers (orange) in the cluster area (left 70%).
    let area = (0.0, 0.1, 0.68, 0.85);
    assert!(
        count(&crash, [80, 210, 120], 12, area) > 20,
        "no HW markers"
    );
    assert!(
        count(&crash, [240, 140, 60], 12, area) > 20,
        "no LEO markers"
    );
    // The crashed broker's red outline and badge.
    assert!(
        count(&crash, [235, 80, 80], 12, area) > 50,
        "no crashed broker"
    );
    // The checkers panel on the right shows a red verdict by 5.2 s? Not yet: the loss shows
    // when broker-1 truncates at 20 s; green ticks are there.
    let panel = (0.68, 0.05, 1.0, 0.5);
    assert!(
        count(&crash, [80, 200, 120], 16, panel) > 10,
        "no checker verdicts"
    );

    let late = shoot(
        "acks1-leader-crash-21s",
        &["acks1-leader-crash", "--at", "21000"],
    );
    assert!(
        count(&late, [235, 85, 85], 12, panel) > 10,
        "no violated checker"
    );

    // Compare at 14 s: acks=1 on the left has lost acknowledged writes (its title's checkers
    // are red), acks=all on the right holds (green), on one timeline.
    let compare = shoot(
        "compare-acks-14s",
        &[
            "acks1-leader-crash",
            "--compare",
            "acks-all-leader-crash",
            "--at",
            "14000",
        ],
    );
    let (left_title, right_title) = ((0.0, 0.04, 0.33, 0.1), (0.34, 0.04, 0.67, 0.1));
    assert!(
        count(&compare, [235, 85, 85], 12, left_title) > 10,
        "no broken checker over the acks=1 half"
    );
    assert!(
        count(&compare, [80, 200, 120], 12, right_title) > 10,
        "no holding checkers over the acks=all half"
    );
    assert!(
        count(&compare, [235, 85, 85], 12, right_title) < 5,
        "a broken checker over the acks=all half"
    );

    // The same scenario with one setting changed: acks=all on the right, titled with the
    // change (blue), keeps every acknowledged record while acks=1 on the left loses some.
    let changed = shoot(
        "compare-change-acks-all-14s",
        &[
            "acks1-leader-crash",
            "--compare-set",
            "producer.a.acks=all",
            "--at",
            "14000",
        ],
    );
    assert!(
        count(&changed, [235, 85, 85], 12, left_title) > 10,
        "no broken checker over the acks=1 half"
    );
    assert!(
        count(&changed, [80, 200, 120], 12, right_title) > 10,
        "no holding checkers over the changed half"
    );
    assert!(
        count(&changed, [235, 85, 85], 12, right_title) < 5,
        "a broken checker over the changed half"
    );
    assert!(
        count(&changed, [90, 170, 255], 16, right_title) > 20,
        "the right half is not titled with the change"
    );

    let presenter = shoot(
        "presenter-kip101-2",
        &["kip101-2-high-watermark", "--at", "3000", "--presenter"],
    );
    assert!(distinct_colours(&presenter) > 10, "presenter mode is blank");
}

/// Pixels of any of the checker panel's verdict colours (green ticks, red crosses) in `region`:
/// glyphs, whose area grows with the type size.
fn verdict_pixels(img: &(Vec<u8>, u32, u32), region: (f32, f32, f32, f32)) -> usize {
    count(img, [80, 200, 120], 16, region) + count(img, [235, 85, 85], 16, region)
}

/// From 1280×720 to 4K the window stays readable: at 720 the picture fits (the legend and the
/// timeline are on screen, nothing is cut off at the bottom), and at 3840×2160 everything is
/// drawn larger in proportion instead of as 12-point text on a 4K screen.
#[test]
fn the_window_is_readable_from_720p_to_4k() {
    if !can_render() {
        return;
    }
    let args = ["acks1-leader-crash", "--at", "21000"];
    let small = shoot_at("acks1-leader-crash-21s-1280x720", (1280, 720), &args);
    let large = shoot_at("acks1-leader-crash-21s-3840x2160", (3840, 2160), &args);
    assert_eq!((small.1, small.2), (1280, 720));
    assert_eq!((large.1, large.2), (3840, 2160));
    for (name, img) in [("1280x720", &small), ("3840x2160", &large)] {
        assert!(distinct_colours(img) > 20, "{name}: blank");
        // The cluster view (left): HW and LEO markers and the crashed-and-back broker's
        // replicas.
        let area = (0.0, 0.08, 0.66, 0.85);
        assert!(
            count(img, [80, 210, 120], 12, area) > 20,
            "{name}: no HW markers"
        );
        assert!(
            count(img, [240, 140, 60], 12, area) > 20,
            "{name}: no LEO markers"
        );
        // The checkers (right panel): a red verdict at 21 s.
        let panel = (0.66, 0.05, 1.0, 0.5);
        assert!(
            count(img, [235, 85, 85], 12, panel) > 10,
            "{name}: no violated checker"
        );
        // The timeline along the bottom: its playhead and scrubber are light grey on the
        // dark background, and its fault (red) and election (gold) marks are there.
        let timeline = (0.0, 0.85, 1.0, 1.0);
        assert!(
            count(img, [235, 80, 80], 30, timeline) > 5,
            "{name}: the timeline's fault marks are not on screen"
        );
    }
    // Type and marks scale with the window: the verdicts' glyphs cover about 2.7² times the
    // pixels at 4K (text a third of the size would cover about as many as at 720p).
    let (s, l) = (
        verdict_pixels(&small, (0.66, 0.05, 1.0, 0.5)),
        verdict_pixels(&large, (0.66, 0.05, 1.0, 0.5)),
    );
    assert!(
        l > 4 * s,
        "verdict pixels: {s} at 1280x720, {l} at 3840x2160"
    );
}

/// Consumers in the client row: `rebalance-cooperative` at 12 s, after consumer c joined group
/// billing at 10 s and the two cooperative rebalances handed it two partitions. Each consumer's
/// box says its group, its state (green "processing") and the partitions it owns.
#[test]
fn consumers_render_in_the_client_row() {
    if !can_render() {
        return;
    }
    let img = shoot(
        "rebalance-cooperative-12s",
        &["rebalance-cooperative", "--at", "12000"],
    );
    assert!(distinct_colours(&img) > 20, "the cluster view is blank");
    // The client row: the lower part of the cluster area (left 68%), below the brokers.
    let clients = (0.0, 0.62, 0.68, 0.85);
    // "processing" in green, once per consumer.
    assert!(
        count(&img, [80, 200, 120], 12, clients) > 60,
        "no processing consumers in the client row"
    );
    // The brokers' HW markers are still drawn above.
    assert!(
        count(&img, [80, 210, 120], 12, (0.0, 0.1, 0.68, 0.62)) > 20,
        "no HW markers"
    );
}

/// A lesson step at 1280×720: the lesson panel on the right (its step buttons, the
/// prediction's frame and the step's text), and the step's highlighted partition and broker
/// outlined in the accent colour in the cluster view. Then the final challenge of the same
/// lesson, in its gold frame.
#[test]
fn a_lesson_step_renders_with_its_panel() {
    if !can_render() {
        return;
    }
    let lessons = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lessons");
    let data = std::env::temp_dir().join(format!("kafkascope-ui-shots-{}", std::process::id()));
    let env = [("KAFKASCOPE_DATA_DIR", data.as_path())];
    let args = |step: &'static str| {
        [
            "--lessons",
            lessons.to_str().unwrap(),
            "--lesson",
            "fixture",
            "--step",
            step,
        ]
    };
    let accent = [214, 120, 255];
    let img = shoot_with(
        "lesson-fixture-step1-1280x720",
        (1280, 720),
        &args("1"),
        &env,
    );
    assert_eq!((img.1, img.2), (1280, 720));
    let panel = (0.67, 0.05, 1.0, 0.88);
    let cluster = (0.0, 0.08, 0.63, 0.85);
    assert!(distinct_colours(&img) > 20, "blank");
    // The panel's text (light grey on its darker background) and its accent marks: the
    // current step's button, "Step 1 of 2", the prediction's frame. The step highlights
    // orders-0 and broker-1: outlined in the cluster view, which still has its HW markers.
    let (text, marks, highlight, hw) = (
        count(&img, [205, 209, 218], 24, panel),
        count(&img, accent, 16, panel),
        count(&img, accent, 16, cluster),
        count(&img, [80, 210, 120], 12, cluster),
    );
    println!("panel text {text}, panel accent {marks}, cluster accent {highlight}, HW {hw}");
    assert!(text > 1000, "no lesson text in the panel ({text} pixels)");
    assert!(marks > 400, "no accent marks in the panel ({marks} pixels)");
    assert!(
        highlight > 1000,
        "no highlight in the cluster view ({highlight} pixels)"
    );
    assert!(hw > 20, "no HW markers ({hw} pixels)");

    let task = shoot_with(
        "lesson-fixture-step2-1280x720",
        (1280, 720),
        &args("2"),
        &env,
    );
    // The final challenge's frame and title in gold.
    let gold = count(&task, [240, 200, 70], 16, panel);
    println!("final challenge gold {gold}");
    assert!(
        gold > 400,
        "no final challenge in the panel ({gold} pixels)"
    );
    let _ = std::fs::remove_dir_all(&data);
}

/// A consumer added while running (`scale-out-group`'s `add-consumer` at 10 s): before it
/// joins, its place is a dashed outline and two members are processing; after, three are.
/// The first shot also opens the Interventions tab's "Add a consumer" form, whose command
/// line is drawn full size in a dark box.
#[test]
fn an_added_consumer_has_its_place_and_then_joins() {
    if !can_render() {
        return;
    }
    // The client rows, above the legend (whose "fetch" and "in ISR" dots are green too).
    let clients = (0.0, 0.6, 0.68, 0.835);
    let processing = |img: &(Vec<u8>, u32, u32)| count(img, [80, 200, 120], 12, clients);
    let before = shoot(
        "scale-out-group-6s",
        &["scale-out-group", "--at", "6000", "--tab", "add-consumer"],
    );
    let after = shoot("scale-out-group-20s", &["scale-out-group", "--at", "20000"]);
    assert!(distinct_colours(&before) > 20, "the cluster view is blank");
    // The form's command line box (the theme's darkest fill) in the side panel's lower half,
    // under the checkers (however many there are); without the form the event log is there,
    // on the lighter panel background.
    let command_box = count(&before, [18, 20, 24], 2, (0.68, 0.62, 0.98, 0.89));
    assert!(command_box > 10_000, "no add-consumer form: {command_box}");
    let (b, a) = (processing(&before), processing(&after));
    assert!(b > 30, "no processing consumers before the join: {b}");
    assert!(
        a * 4 > b * 5,
        "three members processing should show about half again as much green as two: {b} -> {a}"
    );
}

/// A transactional producer that crashes mid-transaction (`fixtures/transactions.toml`), at
/// 5.3 s: its next transaction is open, so the LSO (in the transactions' cyan) stands beside
/// the HW in the brokers' rows, and the Transactions section under the checkers shows the
/// coordinator's state (`Ongoing`, in the same cyan).
#[test]
fn transactions_show_the_lso_and_the_coordinator() {
    if !can_render() {
        return;
    }
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/transactions.toml");
    let img = shoot(
        "transactions-5300ms",
        &[fixture.to_str().unwrap(), "--at", "5300"],
    );
    assert!(distinct_colours(&img) > 20, "the cluster view is blank");
    let cyan = [60, 220, 230];
    let brokers = count(&img, cyan, 10, (0.0, 0.34, 0.67, 0.52));
    assert!(brokers > 100, "no LSO in the brokers' rows: {brokers}");
    let panel = count(&img, cyan, 40, (0.68, 0.5, 1.0, 0.8));
    assert!(
        panel > 20,
        "no Transactions section with an Ongoing transaction: {panel}"
    );
}

/// Storage (`fixtures/retention.toml`, a copy of `retention-replay`) at 56 s: DeleteRecords
/// at 50 s moved every replica's log start to 980. Each broker's row starts with the hatched
/// block of deleted records tagged with the log start, then the kept records as a strip cut
/// into segments, bracketed underneath: closed ones grey, the active one orange.
#[test]
fn retention_shows_the_log_start_and_the_segments() {
    if !can_render() {
        return;
    }
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/retention.toml");
    let img = shoot(
        "retention-56s",
        &[fixture.to_str().unwrap(), "--at", "56000"],
    );
    assert!(distinct_colours(&img) > 20, "the cluster view is blank");
    // The brokers' row, across the cluster view.
    let brokers = (0.0, 0.33, 0.67, 0.42);
    // The deleted block's fill (without storage: the few pixels of other greys, about 50).
    let deleted = count(&img, [52, 52, 55], 4, brokers);
    assert!(
        deleted > 600,
        "no deleted block in the brokers' rows: {deleted}"
    );
    // The closed segments' grey brackets (without storage: about 35).
    let closed = count(&img, [140, 146, 160], 10, brokers);
    assert!(closed > 150, "no closed segments' brackets: {closed}");
    // The active segments' orange brackets beside the three LEO markers (about 215 alone).
    let active = count(&img, [240, 140, 60], 12, brokers);
    assert!(active > 300, "no active segments' brackets: {active}");
}
