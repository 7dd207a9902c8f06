//! What the property tests share: how many seeds to run, and saving a failing seed's schedule
//! as a scenario file with the command that replays it.

/// `PROPERTY_SEEDS=n` runs `n` seeds; otherwise the test's own `default` (what CI runs).
pub fn seeds(default: u64) -> u64 {
    std::env::var("PROPERTY_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// Writes `text` to `target/tmp/property-failures/<name>.toml`; returns the command that
/// replays it.
pub fn save(name: &str, text: &str) -> String {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("property-failures");
    std::fs::create_dir_all(&dir).expect("target dir is writable");
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).expect("writable");
    format!("cargo run -- run {}", path.display())
}
