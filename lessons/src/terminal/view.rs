//! The cluster as text: what the app's cluster view draws, for a terminal and for snapshots.
//!
//! For each partition: who leads it in which epoch, the ISR, and each replica's last records
//! with its high watermark (`|`, the line below which records are committed and readable) and
//! log end offset. Once a log has rolled a segment or deleted records (retention,
//! DeleteRecords), offsets below its log start are `·····` (deleted), a segment's first offset
//! is marked `¦`, and the replica's line ends with its log start and segment count. Then the nodes that are down or paused, and each consumer group with its
//! members, what each owns, and its lag. Everything is read from the trace up to the moment
//! shown, as the app does.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

use kafkascope_sim::ids::{NodeId, TopicPartition, OFFSETS_TOPIC};
use kafkascope_sim::replay::{NodeStatus, ReplayRole};
use kafkascope_sim::trace::{fmt_time, Event};

use crate::player::Outcome;

/// How many offsets of each log are drawn at most: those around the high watermarks and log
/// ends when they fit, else the last ones.
const WINDOW: u64 = 8;
/// Record values are cut to this many characters.
const CELL: usize = 5;
/// An offset below the replica's log start: deleted.
const DELETED: &str = "·····";

#[derive(Default)]
struct Group {
    generation: u32,
    members: Vec<Arc<str>>,
    committed: BTreeMap<TopicPartition, u64>,
}

/// A record value in a cell: whole when it fits, else its end (`a-2393` is `…2393`), since
/// values differ at the end.
fn cell(v: &str) -> String {
    let n = v.chars().count();
    if n <= CELL {
        v.to_string()
    } else {
        let tail: String = v.chars().skip(n - (CELL - 1)).collect();
        format!("…{tail}")
    }
}

/// The view of `o` (a run up to `o.at`) with `highlight`ed partitions and nodes marked `>`.
pub fn render(o: &Outcome, highlight: &[String]) -> String {
    let names = &o.trace.names;
    let mut groups: BTreeMap<Arc<str>, Group> = BTreeMap::new();
    let mut owned: BTreeMap<NodeId, (Arc<str>, Vec<TopicPartition>)> = BTreeMap::new();
    let mut positions: BTreeMap<(NodeId, TopicPartition), u64> = BTreeMap::new();
    for e in o.trace.entries.iter().take_while(|e| e.at <= o.at) {
        match &e.event {
            Event::Crashed { node, .. } | Event::ShutDown { node } => {
                owned.remove(node);
            }
            Event::GenerationStarted {
                group,
                generation,
                members,
                ..
            } => {
                let g = groups.entry(group.clone()).or_default();
                g.generation = *generation;
                g.members = members.clone();
            }
            Event::OffsetsCommitted { group, offsets, .. } => {
                let g = groups.entry(group.clone()).or_default();
                for (tp, off) in offsets {
                    g.committed.insert(tp.clone(), *off);
                }
            }
            Event::PartitionsAssigned {
                consumer,
                group,
                owned: now,
                ..
            } => {
                owned.insert(*consumer, (group.clone(), now.clone()));
            }
            Event::PartitionsRevoked {
                consumer, revoked, ..
            } => {
                if let Some((_, o)) = owned.get_mut(consumer) {
                    o.retain(|tp| !revoked.contains(tp));
                }
            }
            Event::LeftGroup { consumer, .. } => {
                owned.remove(consumer);
            }
            Event::Polled {
                consumer,
                tp,
                offset,
                values,
            } => {
                positions.insert((*consumer, tp.clone()), offset + values.len() as u64);
            }
            Event::PositionSet {
                consumer, tp, to, ..
            } => {
                positions.insert((*consumer, tp.clone()), *to);
            }
            _ => {}
        }
    }
    let marked = |name: &str| highlight.iter().any(|h| h == name);
    let mark = |name: &str| if marked(name) { ">" } else { " " };
    let mut out = String::new();
    let _ = writeln!(out, "at {}", fmt_time(o.at));
    let replay = &o.findings.replay;
    for (tp, meta) in &replay.partitions {
        if tp.topic.as_ref() == OFFSETS_TOPIC {
            continue;
        }
        let tp_name = tp.to_string();
        let leader = match meta.leader {
            Some(b) => format!("leader broker-{b}"),
            None => "OFFLINE (no leader)".to_string(),
        };
        let isr: Vec<String> = meta.isr.iter().map(|b| b.to_string()).collect();
        let _ = writeln!(
            out,
            "{}{tp_name}  {leader} · leader epoch {} · ISR {{{}}}",
            mark(&tp_name),
            meta.leader_epoch,
            isr.join(",")
        );
        let replicas: Vec<_> = meta
            .replicas
            .iter()
            .filter_map(|&b| replay.replica(tp, b).map(|r| (b, r)))
            .collect();
        let leo_max = replicas
            .iter()
            .map(|(_, r)| r.log.len() as u64)
            .max()
            .unwrap_or(0);
        let low = replicas
            .iter()
            .map(|(_, r)| r.high_watermark.min(r.log.len() as u64))
            .min()
            .unwrap_or(0)
            .saturating_sub(2);
        // Where the log now starts, where some replica's retention or DeleteRecords moved it:
        // when the HWs are all in the tail, the head shows the log start instead.
        let start_min = replicas
            .iter()
            .map(|(_, r)| r.log_start_offset)
            .filter(|&s| s > 0)
            .min();
        let tail_len = WINDOW - WINDOW / 2 - 1;
        let low = match start_min {
            Some(s) if s.saturating_sub(2) < low && low >= leo_max.saturating_sub(tail_len) => {
                s.saturating_sub(2)
            }
            _ => low,
        };
        // The offsets drawn: all of them around the HWs and log ends when they fit; else the
        // lowest boundary and the tail, with a gap, so that a replica far behind (or a zombie
        // far ahead) is still seen where it stops.
        let low = low.min(leo_max);
        let cols: Vec<Option<u64>> = if leo_max - low <= WINDOW {
            (low.min(leo_max.saturating_sub(WINDOW))..leo_max)
                .map(Some)
                .collect()
        } else {
            let head = WINDOW / 2;
            let tail = WINDOW - head - 1;
            (low..low + head)
                .map(Some)
                .chain(std::iter::once(None))
                .chain((leo_max - tail..leo_max).map(Some))
                .collect()
        };
        let skipped = cols.first().copied().flatten().is_some_and(|f| f > 0);
        let mut header = format!(
            "{:<21}",
            if skipped {
                "   offset …"
            } else {
                "   offset"
            }
        );
        for c in &cols {
            match c {
                Some(off) => {
                    let _ = write!(header, " {off:<CELL$}");
                }
                None => header += &format!(" {:<CELL$}", "…"),
            }
        }
        let _ = writeln!(out, "{}", header.trim_end());
        for (b, r) in replicas {
            let node = NodeId::Broker(b);
            let name = names.name(node);
            let state = match replay.status(node) {
                NodeStatus::Down(_) | NodeStatus::Stopped => "down",
                NodeStatus::Paused => "paused",
                NodeStatus::Up => match r.role {
                    ReplayRole::Leader => "leader",
                    ReplayRole::Follower => "follower",
                    ReplayRole::None => "",
                },
            };
            let hw = r.high_watermark;
            let leo = r.log.len() as u64;
            // Storage shows once the log has rolled a segment or deleted records.
            let storage = r.log_start_offset > 0 || r.segments.len() > 1;
            let mut cells = String::new();
            for c in &cols {
                let Some(off) = *c else {
                    let gap = if leo > cols[0].unwrap_or(0) + WINDOW / 2 {
                        "…"
                    } else {
                        ""
                    };
                    let _ = write!(cells, " {gap:<CELL$}");
                    continue;
                };
                let sep = if off == hw {
                    "|"
                } else if storage && off > r.log_start_offset && r.segments.contains(&off) {
                    "¦"
                } else {
                    " "
                };
                let cell = match r.log.get(off as usize) {
                    Some(_) if off < r.log_start_offset => DELETED.to_string(),
                    Some(v) => cell(v),
                    None => String::new(),
                };
                let _ = write!(cells, "{sep}{cell:<CELL$}");
            }
            let end_sep = if hw == leo_max { "|" } else { " " };
            let width = cols.len() * (CELL + 1);
            let storage_note = if storage {
                let n = r.segments.len();
                let active = r.segments.last().copied().unwrap_or(0);
                if n == 1 {
                    format!(" · start {} · 1 segment", r.log_start_offset)
                } else {
                    format!(
                        " · start {} · {n} segments, active from {active}",
                        r.log_start_offset
                    )
                }
            } else {
                String::new()
            };
            let _ = writeln!(
                out,
                " {}{name:<9} {state:<9}{cells:<width$}{end_sep} HW {hw} LEO {leo}{storage_note}",
                mark(&name)
            );
        }
    }
    let troubled: Vec<String> = replay
        .nodes
        .iter()
        .filter(|(_, s)| !s.is_up())
        .map(|(n, s)| {
            let name = names.name(*n);
            let what = if *s == NodeStatus::Paused {
                "paused"
            } else {
                "down"
            };
            format!("{}{name} {what}", mark(&name).trim())
        })
        .collect();
    if !troubled.is_empty() {
        let _ = writeln!(out, "not running: {}", troubled.join(", "));
    }
    for (group, g) in &groups {
        let _ = writeln!(
            out,
            "{}group {group}  generation {} · {} member{}",
            mark(group),
            g.generation,
            g.members.len(),
            if g.members.len() == 1 { "" } else { "s" }
        );
        for (consumer, (cg, tps)) in &owned {
            if cg != group {
                continue;
            }
            let name = names.name(*consumer);
            let mut parts = Vec::new();
            for tp in tps {
                let pos = positions.get(&(*consumer, tp.clone()));
                parts.push(match pos {
                    Some(p) => format!("{tp} at {p}"),
                    None => tp.to_string(),
                });
            }
            let owns = if parts.is_empty() {
                "owns nothing (idle)".to_string()
            } else {
                format!("owns {}", parts.join(", "))
            };
            let _ = writeln!(out, " {}{name}  {owns}", mark(&name));
        }
        let mut lag = Vec::new();
        for (tp, c) in &g.committed {
            let hw = replay
                .authoritative(tp)
                .map(|(_, r)| r.high_watermark)
                .unwrap_or(0);
            lag.push(format!("{tp} {c} (lag {})", hw.saturating_sub(*c)));
        }
        if !lag.is_empty() {
            let _ = writeln!(out, "   committed: {}", lag.join(", "));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::player::simulate;
    use crate::SimRef;

    #[test]
    fn the_view_shows_leaders_replicas_and_the_high_watermark() {
        let text = kafkascope_sim::library::find("acks1-leader-crash").unwrap();
        let scenario = kafkascope_sim::scenario::parse("x.toml", text).unwrap();
        let sim = SimRef {
            name: "acks1-leader-crash".into(),
            seed: scenario.seed,
            scenario,
            text: text.into(),
        };
        let o = simulate(&sim, &[], 3_000);
        insta::assert_snapshot!(render(&o, &["orders-0".into()]));
    }

    /// `retention-replay` after DeleteRecords at 50 s moved every replica's log start to 980
    /// (the leader's HW then): the offsets below it are deleted (`·····`), the head of the view
    /// shows where the log starts, and each replica says its log start and its segments. At
    /// 51.6 s the followers have just rolled a segment at 1010 (marked `¦`); the leader rolled
    /// one at 980 when DeleteRecords came, and its next at 1081 by 56 s.
    #[test]
    fn the_view_shows_the_log_start_deleted_offsets_and_segments() {
        let text = kafkascope_sim::library::find("retention-replay").unwrap();
        let scenario = kafkascope_sim::scenario::parse("x.toml", text).unwrap();
        let sim = SimRef {
            name: "retention-replay".into(),
            seed: scenario.seed,
            scenario,
            text: text.into(),
        };
        let view: Vec<String> = [51_600, 56_000]
            .into_iter()
            .map(|t| render(&simulate(&sim, &[], t), &[]))
            .collect();
        assert!(view.iter().all(|v| v.contains(DELETED)), "{view:?}");
        assert!(view[0].contains('¦'), "{}", view[0]);
        insta::assert_snapshot!(view.join("\n"));
    }
}
