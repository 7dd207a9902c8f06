//! Embeds the shipped course: every `course/*.toml` lesson and `course/scenarios/*.toml`
//! scenario, listed from the folder so that adding a lesson needs no code change.

use std::fmt::Write as _;
use std::path::Path;

fn list(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".toml"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("course");
    println!("cargo:rerun-if-changed={}", root.display());
    println!(
        "cargo:rerun-if-changed={}",
        root.join("scenarios").display()
    );
    let mut out = String::from("/// `(file name, text)` of each shipped lesson, in course order.\npub const LESSONS: &[(&str, &str)] = &[\n");
    for n in list(&root) {
        println!("cargo:rerun-if-changed={}", root.join(&n).display());
        writeln!(
            out,
            "    ({n:?}, include_str!({:?})),",
            root.join(&n).display().to_string()
        )
        .unwrap();
    }
    out += "];\n\n/// `(name, text)` of each scenario the shipped lessons have of their own.\npub const SCENARIOS: &[(&str, &str)] = &[\n";
    for n in list(&root.join("scenarios")) {
        let p = root.join("scenarios").join(&n);
        println!("cargo:rerun-if-changed={}", p.display());
        let name = n.trim_end_matches(".toml");
        writeln!(
            out,
            "    ({name:?}, include_str!({:?})),",
            p.display().to_string()
        )
        .unwrap();
    }
    out += "];\n";
    let dest = Path::new(&std::env::var("OUT_DIR").unwrap()).join("course.rs");
    std::fs::write(dest, out).unwrap();
}
