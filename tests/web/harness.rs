//! What the web tests share: finding the tools, running the web scripts.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub(crate) const ROOT: &str = env!("CARGO_MANIFEST_DIR");

pub(crate) fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Whether the tools `what` needs are here; under CI they must be (`.ci/run` installs them),
/// elsewhere a missing one skips the test with the command that installs it.
pub(crate) fn tools_ready(what: &str, needed: &[&Path], install: &str) -> bool {
    let missing: Vec<String> = needed
        .iter()
        .filter(|p| !p.exists())
        .map(|p| p.display().to_string())
        .collect();
    let node = Command::new("node").arg("--version").output();
    let mut missing = missing;
    if !node.is_ok_and(|o| o.status.success()) {
        missing.push("node".into());
    }
    if missing.is_empty() {
        return true;
    }
    let msg = format!("{what} needs {} (run `{install}`)", missing.join(", "));
    assert!(!ci(), "expected under CI=true: {msg}");
    eprintln!("skipped: {msg}");
    false
}

pub(crate) fn wasm_bindgen() -> PathBuf {
    Path::new(ROOT).join("target/web/tools/bin/wasm-bindgen")
}

/// Runs `bash SCRIPT ARGS` from the project root and returns its output; a failure shows
/// what it printed.
pub(crate) fn script(script: &str, args: &[&str]) -> Output {
    let out = Command::new("bash")
        .arg(Path::new(ROOT).join(script))
        .args(args)
        .current_dir(ROOT)
        .env_remove("RUSTFLAGS")
        .output()
        .unwrap_or_else(|e| panic!("cannot run bash {script}: {e}"));
    assert!(
        out.status.success(),
        "bash {script} {} failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}
