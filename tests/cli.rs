//! The command line as a user meets it: exit codes, messages, the reproduce line.

use std::process::{Command, Output};

fn kafkascope(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kafkascope"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .output()
        .expect("the binary runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// `kafkascope` alone opens the window; without a display it says so, without a panic, and
/// shows what the terminal can do instead.
#[test]
fn no_arguments_without_a_display_points_to_the_terminal_commands() {
    let o = Command::new(env!("CARGO_BIN_EXE_kafkascope"))
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .expect("the binary runs");
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("no display"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(err.contains("kafkascope run acks1-leader-crash"), "{err}");
    for (name, _) in kafkascope::library::SCENARIOS {
        assert!(err.contains(name), "{name} missing from the list");
    }
}

#[test]
fn scenarios_lists_every_shipped_scenario() {
    let out = stdout(&kafkascope(&["scenarios"]));
    for (name, _) in kafkascope::library::SCENARIOS {
        assert!(out.contains(name), "{name} missing from the list");
    }
}

#[test]
fn a_run_whose_expectations_hold_exits_0_and_says_how_to_reproduce_it() {
    let o = kafkascope(&["run", "scenarios/kip101-1-leader-epoch.toml", "--seed", "1"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("reproduce: kafkascope run scenarios/kip101-1-leader-epoch.toml --seed 1"),
        "{out}"
    );
    assert!(out.contains("✓ no_lost_acknowledged"), "{out}");
}

#[test]
fn a_failed_expectation_exits_1() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    let text = kafkascope::library::find("acks1-leader-crash")
        .unwrap()
        .replace("lost_acknowledged = \">0\"", "lost_acknowledged = 0");
    let path = dir.join("acks1-wrong-expectation.toml");
    std::fs::write(&path, text).unwrap();
    let o = kafkascope(&["run", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).contains("✗ lost_acknowledged == 0"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn json_reports_the_numbers_scripts_need() {
    let o = kafkascope(&["run", "kip101-2-high-watermark", "--json"]);
    assert_eq!(o.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("valid JSON");
    assert_eq!(v["seed"], 1);
    assert_eq!(v["trace_hash"].as_str().unwrap().len(), 16);
    for k in [
        "produced",
        "acknowledged",
        "lost_acknowledged",
        "duplicated",
        "reordered",
    ] {
        assert!(v["counts"][k].is_u64(), "counts.{k}");
    }
    let p = &v["partitions"][0];
    assert_eq!(p["partition"], "orders-0");
    assert!(p["leader_epoch"].is_u64() && p["isr"].is_array());
    assert!(
        p["replicas"][0]["high_watermark"].is_u64() && p["replicas"][0]["log_end_offset"].is_u64()
    );
    let lm = v["checkers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["checker"] == "log_matching")
        .unwrap();
    assert_eq!(lm["holds"], false);
}

#[test]
fn bad_input_is_exit_2_with_every_problem_located_and_explained() {
    let o = kafkascope(&["run", "tests/fixtures/bad-keys.toml"]);
    assert_eq!(o.status.code(), Some(2));
    insta::assert_snapshot!("bad_keys", stderr(&o));
    let o = kafkascope(&["validate", "tests/fixtures/not-toml.toml"]);
    assert_eq!(o.status.code(), Some(2));
    insta::assert_snapshot!("not_toml", stderr(&o));
}

/// `ui`'s options are checked before any window opens: a tab that does not exist is named
/// with the ones that do.
#[test]
fn ui_refuses_an_unknown_tab_and_lists_the_tabs() {
    let o = kafkascope(&["ui", "classroom", "--tab", "logs"]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("invalid value 'logs'"), "{err}");
    assert!(
        err.contains("log, metrics, configuration, interventions, add-consumer, add-producer"),
        "{err}"
    );
}

#[test]
fn an_unknown_scenario_name_gets_a_suggestion() {
    let o = kafkascope(&["run", "acks1-leader-crsh"]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("did you mean `acks1-leader-crash`?"), "{err}");
    let o = kafkascope(&["run", "missing/file.toml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no such file"));
}

#[test]
fn every_shipped_scenario_validates_and_show_prints_it() {
    let files: Vec<String> = kafkascope::library::SCENARIOS
        .iter()
        .map(|(n, _)| format!("scenarios/{n}.toml"))
        .collect();
    let mut args = vec!["validate"];
    args.extend(files.iter().map(|s| s.as_str()));
    let o = kafkascope(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = kafkascope(&["show", "classroom"]);
    assert_eq!(stdout(&o), kafkascope::library::find("classroom").unwrap());
}

#[test]
fn configs_lists_kafkas_own_setting_names() {
    let out = stdout(&kafkascope(&["configs"]));
    for k in [
        "min.insync.replicas",
        "unclean.leader.election.enable",
        "enable.idempotence",
        "replica.lag.time.max.ms",
        "acks",
    ] {
        assert!(out.contains(k), "{k}");
    }
}

#[test]
fn run_draws_a_space_time_diagram_around_the_first_violation() {
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("kip101-2.svg");
    let o = kafkascope(&[
        "run",
        "kip101-2-high-watermark",
        "--spacetime",
        path.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let svg = std::fs::read_to_string(&path).unwrap();
    assert!(svg.starts_with("<svg"));
    for node in ["controller", "broker-1", "broker-2", "producer-p"] {
        assert!(
            svg.contains(&format!(">{node}</text>")),
            "{node} has a lane"
        );
    }
    assert!(
        svg.contains("crashed"),
        "the power loss that starts the story is in the window"
    );
    assert!(svg.contains("✗"), "the violation is marked");
}

/// `kafkascope learn` reads its answers from any input: a script plays a lesson, and the
/// progress it leaves is resumed by the next run.
#[test]
fn learn_plays_a_lesson_from_piped_input_and_resumes_it() {
    use std::io::Write;
    let data = std::env::temp_dir().join(format!("kafkascope-learn-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let learn = |input: &str| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kafkascope"))
            .args(["learn", "1"])
            .env("NO_COLOR", "1")
            .env("KAFKASCOPE_DATA_DIR", &data)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("the binary runs");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let course = kafkascope_lessons::Course::shipped().unwrap();
    let first = &course.lessons[0];
    // Answer the first step's prediction if it has one, then go to step 2 and stop.
    let answer = first.steps[0]
        .predict
        .as_ref()
        .map(|p| format!("{}\n", p.answer + 1))
        .unwrap_or_default();
    let o = learn(&format!("{answer}\nq\n"));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains(&format!("Lesson 1: {}", first.title)), "{out}");
    assert!(out.contains(" · step 2/"), "{out}");
    assert!(out.contains("Progress saved."), "{out}");
    let o = learn("q\n");
    let out = stdout(&o);
    assert!(out.contains("(resuming at step 2)"), "{out}");
    let _ = std::fs::remove_dir_all(&data);
}

#[test]
fn learn_an_unknown_lesson_suggests_one_and_lists_the_course() {
    let o = kafkascope(&["learn", "the-logg", "--no-save"]);
    let out = stdout(&o);
    assert!(
        out.contains("There is no lesson `the-logg`: did you mean `the-log`?"),
        "{out}"
    );
    assert!(out.contains("12."), "{out}");
}

#[test]
fn lessons_check_locates_every_problem_of_a_broken_lesson() {
    let o = kafkascope(&["lessons", "check", "lessons/tests/fixtures/broken"]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("01-broken.toml:4:1"), "{err}");
    assert!(err.contains("did you mean `lost_acknowledged`?"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}
