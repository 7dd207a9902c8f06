//! Bans, in the simulation core, what would make runs unrepeatable.
//!
//! The core must take time and randomness as inputs. A wall clock, an unseeded generator or a
//! hash map with random iteration order anywhere in `sim/src` would make two runs of one seed
//! differ, and this test says where.

#[test]
fn the_simulation_core_reads_no_clock_and_no_unseeded_randomness() {
    let banned = [
        (
            "std::time::Instant",
            "use the model's virtual time (Millis)",
        ),
        ("Instant::now", "use the model's virtual time (Millis)"),
        ("SystemTime", "use the model's virtual time (Millis)"),
        (
            "thread_rng",
            "draw from a generator seeded from the scenario",
        ),
        (
            "rand::random",
            "draw from a generator seeded from the scenario",
        ),
        (
            "from_entropy",
            "draw from a generator seeded from the scenario",
        ),
        ("HashMap", "iteration order is random: use BTreeMap"),
        ("HashSet", "iteration order is random: use BTreeSet"),
    ];
    let mut found = Vec::new();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sim/src");
    let mut stack = vec![root];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("readable") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).expect("utf-8");
                for (n, line) in text.lines().enumerate() {
                    for (word, fix) in banned {
                        if line.contains(word) && !line.trim_start().starts_with("//") {
                            found.push(format!("{}:{}: `{word}`: {fix}", path.display(), n + 1));
                        }
                    }
                }
            }
        }
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}
