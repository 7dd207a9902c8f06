//! Experiment files: a base scenario, a grid of configuration values, and a nemesis.
//!
//! ```toml
//! [experiment]
//! name = "Which configurations lose acknowledged writes when leaders crash?"
//! scenario = "nemesis-base"        # a shipped scenario's name, or a path relative to this file
//! seeds = 20                       # default seed count; --seeds / --seed-range override
//! duration = "45s"                 # optional: override the scenario's duration
//!
//! [grid]                           # every combination of these values is one configuration
//! "producer.acks" = ["1", "all"]
//! "broker.min.insync.replicas" = [1, 2]
//! "cluster.truncation" = ["high-watermark", "diverging-epoch"]   # any [cluster] key
//!
//! [nemesis]
//! from = "3s"                      # faults start
//! until = "35s"                    # faults stop; everything is repaired then
//! [[nemesis.faults]]
//! kind = "crash-leader"            # see nemesis::FaultKind
//! every = "8s"                     # mean time between two faults of this kind
//! lasts = "3s"                     # until the repair (restart, heal, resume, link reset)
//! ```
//!
//! A plain scenario file is an experiment too: its own faults, over many seeds.

use std::path::Path;

use kafkascope_sim::config::Value;
use kafkascope_sim::ids::Millis;
use kafkascope_sim::scenario::edit::{self, Place, SettingEdit};
use kafkascope_sim::scenario::{self, Scenario};
use serde::Deserialize;

use super::nemesis::{FaultKind, Nemesis, NemesisFault};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    experiment: Header,
    #[serde(default)]
    grid: toml::Table,
    nemesis: Option<NemesisSection>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    name: String,
    #[serde(default)]
    description: String,
    scenario: String,
    seeds: Option<u64>,
    duration: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NemesisSection {
    from: Option<String>,
    until: Option<String>,
    #[serde(default)]
    faults: Vec<FaultSection>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultSection {
    kind: String,
    every: String,
    lasts: String,
}

/// One axis of the grid: a setting and the values it takes.
#[derive(Clone, Debug, PartialEq)]
pub struct Axis {
    pub key: String,
    pub values: Vec<Value>,
}

/// One point of the grid: a value for every axis.
#[derive(Clone, Debug, PartialEq)]
pub struct ConfigPoint {
    pub settings: Vec<(String, Value)>,
}

impl ConfigPoint {
    /// `acks=1 min.insync.replicas=2`: the settings without their scope prefix.
    pub fn label(&self) -> String {
        if self.settings.is_empty() {
            return "as written".into();
        }
        self.settings
            .iter()
            .map(|(k, v)| {
                format!(
                    "{}={}",
                    k.split_once('.').map(|x| x.1).unwrap_or(k),
                    show(v)
                )
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// A file-name-safe form of the label.
    pub fn slug(&self) -> String {
        self.label()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    }
}

fn show(v: &Value) -> String {
    match v {
        Value::Int(i) => i.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Str(s) => s.clone(),
    }
}

#[derive(Clone, Debug)]
pub struct Experiment {
    pub name: String,
    pub description: String,
    pub base: Scenario,
    pub default_seeds: u64,
    pub axes: Vec<Axis>,
    pub nemesis: Nemesis,
}

/// A duration as scenario files write them (`"500ms"`, `"5s"`, `"2m"`): one reader for both.
fn duration(s: &str, what: &str) -> Result<Millis, String> {
    scenario::parse_duration(s).map_err(|help| {
        let found = s.trim();
        match help {
            Some(h) => format!("{what}: {found:?}: {h}"),
            None => format!(
                "{what}: expected a duration such as \"500ms\", \"5s\" or \"2m\", found {found:?}"
            ),
        }
    })
}

fn value(v: &toml::Value) -> Option<Value> {
    match v {
        toml::Value::Integer(i) => Some(Value::Int(*i)),
        toml::Value::Boolean(b) => Some(Value::Bool(*b)),
        toml::Value::String(s) => Some(Value::Str(s.clone())),
        _ => None,
    }
}

impl Experiment {
    /// Reads an experiment file, or a plain scenario file (explored over seeds as it is).
    pub fn load(
        path: &str,
        text: &str,
        find_shipped: impl Fn(&str) -> Option<&'static str>,
    ) -> Result<Self, String> {
        if !text.contains("[experiment]") {
            let base = scenario::parse(path, text).map_err(|e| e.to_string())?;
            return Ok(Experiment {
                name: base.name.clone(),
                description: base.description.clone(),
                base,
                default_seeds: 20,
                axes: Vec::new(),
                nemesis: Nemesis::default(),
            });
        }
        let file: File = toml::from_str(text).map_err(|e| format!("{path}: {e}"))?;
        let h = file.experiment;
        let base_path = Path::new(path)
            .parent()
            .unwrap_or(Path::new("."))
            .join(&h.scenario);
        let (base_name, base_text) = if base_path.is_file() {
            let t = std::fs::read_to_string(&base_path)
                .map_err(|e| format!("{}: {e}", base_path.display()))?;
            (base_path.display().to_string(), t)
        } else if let Some(t) = find_shipped(&h.scenario) {
            (h.scenario.clone(), t.to_string())
        } else {
            return Err(format!(
                "{path}: scenario {:?} is neither a file next to the experiment nor a shipped scenario",
                h.scenario
            ));
        };
        let mut base = scenario::parse(&base_name, &base_text).map_err(|e| e.to_string())?;
        if let Some(d) = &h.duration {
            base.duration = duration(d, "experiment.duration")?;
        }
        let mut axes = Vec::new();
        for (key, values) in &file.grid {
            let list = values
                .as_array()
                .ok_or_else(|| format!("{path}: grid.{key}: expected a list of values"))?;
            let values: Vec<Value> = list
                .iter()
                .map(|v| value(v).ok_or_else(|| format!("{path}: grid.{key}: {v:?} is not a setting value (use integers, true/false or strings)")))
                .collect::<Result<_, _>>()?;
            check_axis(key, &values).map_err(|e| format!("{path}: grid.{key}: {e}"))?;
            axes.push(Axis {
                key: key.clone(),
                values,
            });
        }
        let mut nemesis = Nemesis::default();
        if let Some(n) = file.nemesis {
            nemesis.from = n
                .from
                .as_deref()
                .map(|s| duration(s, "nemesis.from"))
                .transpose()?
                .unwrap_or(2_000);
            nemesis.until = n
                .until
                .as_deref()
                .map(|s| duration(s, "nemesis.until"))
                .transpose()?
                .unwrap_or(base.duration.saturating_sub(10_000));
            if nemesis.until > base.duration || nemesis.from >= nemesis.until {
                return Err(format!(
                    "{path}: nemesis: `from` must be before `until`, and `until` within the run"
                ));
            }
            for f in n.faults {
                let kind = FaultKind::parse(&f.kind).ok_or_else(|| {
                    format!(
                        "{path}: nemesis fault kind {:?}: expected one of {}",
                        f.kind,
                        FaultKind::ALL.map(|k| k.name()).join(", ")
                    )
                })?;
                let every = duration(&f.every, "nemesis.faults.every")?;
                if every == 0 {
                    return Err(format!("{path}: nemesis.faults.every must be positive"));
                }
                nemesis.faults.push(NemesisFault {
                    kind,
                    every,
                    lasts: duration(&f.lasts, "nemesis.faults.lasts")?,
                });
            }
        }
        let exp = Experiment {
            name: h.name,
            description: h.description,
            base,
            default_seeds: h.seeds.unwrap_or(20).max(1),
            axes,
            nemesis,
        };
        for p in exp.points() {
            exp.scenario_for(&p, 0)
                .map_err(|e| format!("{path}: configuration {}: {e}", p.label()))?;
        }
        Ok(exp)
    }

    /// Every configuration, in a fixed order (the grid's keys sorted, values as written).
    pub fn points(&self) -> Vec<ConfigPoint> {
        let mut points = vec![ConfigPoint {
            settings: Vec::new(),
        }];
        for axis in &self.axes {
            points = points
                .into_iter()
                .flat_map(|p| {
                    axis.values.iter().map(move |v| {
                        let mut q = p.clone();
                        q.settings.push((axis.key.clone(), v.clone()));
                        q
                    })
                })
                .collect();
        }
        points
    }

    /// The scenario one run executes: the base, the point's settings, the nemesis for `seed`.
    pub fn scenario_for(&self, point: &ConfigPoint, seed: u64) -> Result<Scenario, String> {
        let edits = point
            .settings
            .iter()
            .map(|(key, v)| grid_edit(key, v))
            .collect::<Result<Vec<_>, _>>()?;
        let mut sc = edit::apply(&self.base, &edits)?;
        sc.seed = seed;
        sc.faults.extend(self.nemesis.schedule(&sc, seed));
        sc.faults.sort_by_key(|f| f.at);
        Ok(sc)
    }
}

/// The edit a grid key and value make: `broker.KEY` for every broker, `topic.KEY` for every
/// topic, `producer.KEY` for every producer, `cluster.KEY` for a `[cluster]` key.
fn grid_edit(key: &str, v: &Value) -> Result<SettingEdit, String> {
    let (scope, name) = key.split_once('.').ok_or(
        "expected `broker.<setting>`, `topic.<setting>`, `producer.<setting>` or `cluster.<setting>`",
    )?;
    let place = match scope {
        "broker" => Place::AllBrokers,
        "topic" => Place::AllTopics,
        "producer" => Place::AllProducers,
        "cluster" => Place::Cluster,
        _ => return Err("the scopes are broker, topic, producer and cluster".into()),
    };
    if !place.keys().contains(&name) {
        return Err(match kafkascope_sim::located::closest(name, place.keys()) {
            Some(k) => format!("unknown setting `{name}`: did you mean `{scope}.{k}`?"),
            None => format!("unknown setting `{name}` (see `kafkascope configs`)"),
        });
    }
    SettingEdit::new(place, name, v.clone())
}

fn check_axis(key: &str, values: &[Value]) -> Result<(), String> {
    values
        .iter()
        .try_for_each(|v| grid_edit(key, v).map(|_| ()))
}
