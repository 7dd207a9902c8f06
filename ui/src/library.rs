//! The scenarios the home screen lists.
//!
//! The shipped scenarios live in the root crate (which depends on this one), so the caller
//! passes them in [`crate::UiOptions::library`]. The sandbox is this crate's own: a quiet
//! cluster with no faults, for trying interventions by hand.

use bevy::prelude::*;
use kafkascope_sim::scenario::{parse, Scenario};

/// A scenario the home screen offers: its short name and its TOML text.
#[derive(Clone, Debug)]
pub struct LibraryEntry {
    pub name: String,
    pub text: String,
}

impl LibraryEntry {
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        LibraryEntry {
            name: name.into(),
            text: text.into(),
        }
    }

    pub fn parse(&self) -> Result<Scenario, String> {
        parse(&format!("{}.toml", self.name), &self.text).map_err(|e| e.to_string())
    }
}

/// A sandbox: three brokers, a replicated topic, a slow steady producer, no faults.
pub const SANDBOX: &str = r#"[scenario]
name = "Sandbox: a healthy cluster to break by hand"
description = """
Three brokers and a controller, one topic with three partitions replicated three ways, and a
producer writing 20 records a second with acks=all. Nothing goes wrong unless you make it: click a
broker to crash, pause or isolate it, and watch the ISR, the high watermark and the elections."""
seed = 1
duration = "10m"

[cluster]
brokers = 3

[broker]
min.insync.replicas = 2

[[topics]]
name = "orders"
partitions = 3
replication.factor = 3

[[producers]]
name = "a"
topic = "orders"
acks = "all"
rate = 20
start = "500ms"
keys = 6

[network]
latency = "2ms..6ms"
"#;

pub fn sandbox() -> LibraryEntry {
    LibraryEntry::new("sandbox", SANDBOX)
}

/// The scenarios the home screen offers, parsed once for their titles.
#[derive(Resource, Default)]
pub struct Library(pub Vec<LibraryItem>);

pub struct LibraryItem {
    pub entry: LibraryEntry,
    pub title: String,
    pub description: String,
}

impl Library {
    pub fn new(entries: Vec<LibraryEntry>) -> Self {
        Library(
            entries
                .into_iter()
                .map(|entry| {
                    let (title, description) = match entry.parse() {
                        Ok(s) => (s.name, s.description),
                        Err(e) => (entry.name.clone(), format!("does not parse: {e}")),
                    };
                    LibraryItem {
                        entry,
                        title,
                        description,
                    }
                })
                .collect(),
        )
    }
}
