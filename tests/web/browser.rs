//! The page in a real browser: `web/build.sh` builds it, a static server serves the folder,
//! and `browser.py` drives Debian's headless chromium through chromedriver (selenium, from the
//! clients venv): the page loads, the home screen lists the shipped lessons, a click opens
//! one, a lesson's task typed as a learner types it passes its check; screenshots go to
//! `target/web/screenshots/`. It also prints the figures the README quotes.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::{ci, script, tools_ready, wasm_bindgen, ROOT};

/// The clients venv's python with selenium (`.ci/clients-venv.sh`), or `None` (skip) outside CI.
fn python() -> Option<PathBuf> {
    let p = std::env::var_os("KAFKASCOPE_PYTHON").filter(|p| !p.is_empty());
    let with_selenium = p.as_ref().is_some_and(|p| {
        Command::new(p)
            .args(["-c", "import selenium"])
            .output()
            .is_ok_and(|o| o.status.success())
    });
    if with_selenium {
        return p.map(PathBuf::from);
    }
    let msg = "the browser test needs KAFKASCOPE_PYTHON set to a python with selenium \
               (run `.ci/clients-venv.sh`; it prints the python to use)";
    assert!(!ci(), "expected under CI=true: {msg}");
    eprintln!("skipped: {msg}");
    None
}

/// A static file server on a free loopback port, stopped when dropped.
struct Server(Child, u16);

impl Server {
    fn start(python: &Path, dir: &Path) -> Server {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let child = Command::new(python)
            .args(["-m", "http.server", "--bind", "127.0.0.1", "-d"])
            .arg(dir)
            .arg(port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting python's http.server");
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "the static server did not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Server(child, port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_page_runs_the_course_in_chromium() {
    let browser = [
        Path::new("/usr/bin/chromium"),
        Path::new("/usr/bin/chromedriver"),
    ];
    let needed = [&wasm_bindgen() as &Path, browser[0], browser[1]];
    if !tools_ready("the browser test", &needed, "bash web/tools.sh --browser") {
        return;
    }
    let Some(python) = python() else { return };
    let built = script("web/build.sh", &[]);
    eprintln!("{}", String::from_utf8_lossy(&built.stdout));
    let site = Path::new(ROOT).join("target/web/site");
    assert!(
        site.join("index.html").is_file(),
        "web/build.sh made no {}",
        site.display()
    );

    let out = Path::new(ROOT).join("target/web/screenshots");
    std::fs::create_dir_all(&out).unwrap();
    let course = kafkascope_lessons::Course::shipped().expect("the shipped course");
    let titles: Vec<&str> = course.lessons.iter().map(|l| l.title.as_str()).collect();
    let titles_file = out.join("lessons.json");
    std::fs::write(&titles_file, serde_json::to_string(&titles).unwrap()).unwrap();

    let server = Server::start(&python, &site);
    let run = Command::new(&python)
        .arg(Path::new(ROOT).join("tests/web/browser.py"))
        .arg("--url")
        .arg(format!("http://127.0.0.1:{}/", server.1))
        .arg("--lessons")
        .arg(&titles_file)
        .arg("--out")
        .arg(&out)
        .output()
        .expect("running tests/web/browser.py");
    drop(server);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "the browser test failed ({}); screenshot: {}\n--- stdout\n{stdout}\n--- stderr\n{}",
        run.status,
        out.join("failure.png").display(),
        String::from_utf8_lossy(&run.stderr)
    );
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("`{l}`: {e}")))
        .collect();
    for step in [
        "first frame",
        "home lists the lessons",
        "a click opens a lesson",
        "a lesson's task is done and its check passes",
    ] {
        assert!(
            lines.iter().any(|v| v["step"] == step && v["ok"] == true),
            "the browser test did not report `{step}`:\n{stdout}"
        );
    }
    for shot in ["web-home.png", "web-lesson-checked.png"] {
        assert!(out.join(shot).is_file(), "no screenshot {shot}");
    }
    let figures = lines
        .iter()
        .find_map(|v| v.get("figures"))
        .expect("figures");
    eprintln!("figures: {figures}");
    // The page's own simulation gives the desktop's trace (the node check covers every
    // scenario; this is the same in the browser).
    if let Some(r) = figures.get("classroom").and_then(|v| v.as_str()) {
        let text = kafkascope_sim::library::find("classroom").unwrap();
        let scenario = kafkascope_sim::scenario::parse("classroom", text).unwrap();
        let started = Instant::now();
        let native = kafkascope_sim::report::run(&scenario, scenario.seed).report;
        let native_ms = started.elapsed().as_secs_f64() * 1000.0;
        let expected = format!(
            "classroom {} {} {}",
            scenario.seed, native.trace_hash, native.events
        );
        assert_eq!(
            r, expected,
            "the page's classroom trace differs from the native one"
        );
        // A figure, not a check (the machines are noisy): the page's speed against this
        // build's (the test profile builds the simulation at opt-level 2).
        if let Some(page_ms) = figures.get("classroom_wall_ms").and_then(|v| v.as_f64()) {
            eprintln!(
                "classroom: {page_ms:.0} ms in the page, {native_ms:.0} ms native: the page takes {:.2}x",
                page_ms / native_ms
            );
        }
    }
}
