//! A space-time (Lamport) diagram of a window of a run, as SVG: one column per node, time
//! flowing down, messages as arrows from send to delivery, faults and elections marked, and
//! the event that broke a checker highlighted. Heartbeats and empty fetches are left out:
//! they would bury the story.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use kafkascope_sim::ids::{Millis, NodeId};
use kafkascope_sim::protocol::MessageKind;
use kafkascope_sim::trace::{fmt_time, ChangeReason, Event, Trace};

const COL: f64 = 170.0;
const TOP: f64 = 70.0;
const HEIGHT: f64 = 1100.0;
const MAX_ARROWS: usize = 300;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn interesting(kind: MessageKind, summary: &str) -> bool {
    match kind {
        MessageKind::Heartbeat => false,
        MessageKind::Fetch => summary.starts_with("OffsetsForLeaderEpoch"),
        MessageKind::Response if summary.starts_with("FetchResponse") => {
            !summary.contains(" +0 ") && !summary.ends_with(" +0")
        }
        _ => true,
    }
}

/// A window that tells the story of a violation at trace entry `index`: from just before the
/// last fault that preceded it (at most 10 s back) to just after it.
pub fn window_around(trace: &Trace, index: usize) -> (Millis, Millis) {
    let at = trace.entries[index].at;
    let fault = trace.entries[..index].iter().rev().find(|e| {
        matches!(
            e.event,
            Event::Crashed { .. }
                | Event::ShutDown { .. }
                | Event::Paused { .. }
                | Event::Link { .. }
        )
    });
    let from = fault
        .map(|f| f.at.saturating_sub(300))
        .unwrap_or(at.saturating_sub(2_500));
    (
        from.max(at.saturating_sub(10_000))
            .min(at.saturating_sub(500)),
        at + 500,
    )
}

/// The diagram of `[from, to]`, highlighting trace entry `mark` (if any).
pub fn svg(trace: &Trace, from: Millis, to: Millis, mark: Option<usize>, title: &str) -> String {
    let names = &trace.names;
    // Columns: the nodes that appear in the trace, in NodeId order, without the reader.
    let mut nodes: Vec<NodeId> = Vec::new();
    for e in &trace.entries {
        if let Event::Sent { from, to, .. } = &e.event {
            for n in [*from, *to] {
                if n != NodeId::Reader && !nodes.contains(&n) {
                    nodes.push(n);
                }
            }
        }
    }
    nodes.sort();
    let col: BTreeMap<NodeId, f64> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (*n, 90.0 + i as f64 * COL))
        .collect();
    // Arrows in the window, keeping the latest ones if there are too many.
    let mut arrows: Vec<(usize, NodeId, NodeId, Millis, Millis, String, MessageKind)> = Vec::new();
    let mut dropped: BTreeMap<u64, bool> = BTreeMap::new();
    for e in &trace.entries {
        if let Event::Dropped { id, .. } = &e.event {
            dropped.insert(*id, true);
        }
    }
    for (i, e) in trace.entries.iter().enumerate() {
        if let Event::Sent {
            id,
            from: a,
            to: b,
            kind,
            summary,
            deliver_at,
        } = &e.event
        {
            let arrive = if *deliver_at == Millis::MAX {
                to
            } else {
                *deliver_at
            };
            if e.at >= from
                && e.at <= to
                && col.contains_key(a)
                && col.contains_key(b)
                && interesting(*kind, summary)
            {
                let label = if dropped.contains_key(id) {
                    format!("{summary} ✗")
                } else {
                    summary.clone()
                };
                arrows.push((i, *a, *b, e.at, arrive.min(to), label, *kind));
            }
        }
    }
    let from = if arrows.len() > MAX_ARROWS {
        arrows[arrows.len() - MAX_ARROWS].3
    } else {
        from
    };
    arrows.retain(|a| a.3 >= from);
    let span = (to - from).max(1) as f64;
    let y = |t: Millis| TOP + (t.saturating_sub(from)) as f64 / span * HEIGHT;
    let width = 90.0 + nodes.len() as f64 * COL + 120.0;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{}" font-family="monospace" font-size="11">"#,
        TOP + HEIGHT + 40.0
    );
    let _ = writeln!(
        s,
        r##"<defs><marker id="arrow" markerWidth="8" markerHeight="8" refX="7" refY="3" orient="auto"><path d="M0,0 L7,3 L0,6 z" fill="#555"/></marker></defs>"##
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="10" y="20" font-size="14" font-weight="bold">{}</text>"#,
        esc(title)
    );
    let _ = writeln!(
        s,
        r#"<text x="10" y="38">{} to {}; time flows down</text>"#,
        fmt_time(from),
        fmt_time(to)
    );
    for (n, x) in &col {
        let _ = writeln!(
            s,
            r#"<text x="{x}" y="{}" text-anchor="middle" font-weight="bold">{}</text>"#,
            TOP - 12.0,
            esc(&names.name(*n))
        );
        let _ = writeln!(
            s,
            r##"<line x1="{x}" y1="{TOP}" x2="{x}" y2="{}" stroke="#bbb"/>"##,
            TOP + HEIGHT
        );
    }
    // Time ticks.
    for k in 0..=10 {
        let t = from + (span as u64 * k) / 10;
        let _ = writeln!(
            s,
            r##"<text x="4" y="{}" fill="#888">{}</text>"##,
            y(t) + 4.0,
            fmt_time(t)
        );
    }
    for (_, a, b, t0, t1, label, kind) in &arrows {
        let color = match kind {
            MessageKind::Produce => "#1f77b4",
            MessageKind::Fetch => "#2ca02c",
            MessageKind::Response => "#555555",
            MessageKind::Controller => "#9467bd",
            MessageKind::Metadata => "#8c564b",
            MessageKind::Group => "#d4a017",
            MessageKind::Transaction => "#17becf",
            MessageKind::Heartbeat => "#cccccc",
        };
        let (x0, x1) = (col[a], col[b]);
        let _ = writeln!(
            s,
            r#"<line x1="{x0}" y1="{}" x2="{x1}" y2="{}" stroke="{color}" stroke-width="1.2" marker-end="url(#arrow)"{}><title>{}</title></line>"#,
            y(*t0),
            y(*t1),
            if label.ends_with('✗') {
                r#" stroke-dasharray="4 3""#
            } else {
                ""
            },
            esc(label)
        );
    }
    // Node events.
    for (i, e) in trace.entries.iter().enumerate() {
        if e.at < from || e.at > to {
            continue;
        }
        let (node, text, color) = match &e.event {
            Event::Crashed { node, .. } => (*node, "crashed".to_string(), "#d62728"),
            Event::ShutDown { node } => (*node, "shut down".to_string(), "#d62728"),
            Event::Restarted { node } => (*node, "restarted".to_string(), "#2ca02c"),
            Event::Paused { node } => (*node, "paused".to_string(), "#ff7f0e"),
            Event::Resumed { node } => (*node, "resumed".to_string(), "#2ca02c"),
            Event::BecameLeader {
                broker,
                tp,
                leader_epoch,
                ..
            } => (
                NodeId::Broker(*broker),
                format!("leads {tp} e{leader_epoch}"),
                "#9467bd",
            ),
            Event::Truncated {
                broker,
                tp,
                from: f,
                to: t,
                ..
            } => (
                NodeId::Broker(*broker),
                format!("truncates {tp} {f}→{t}"),
                "#ff7f0e",
            ),
            Event::PartitionChanged {
                tp,
                leader,
                isr,
                reason,
                ..
            } if *reason != ChangeReason::Created => {
                let l = leader
                    .map(|l| l.to_string())
                    .unwrap_or_else(|| "none".into());
                (
                    NodeId::Controller,
                    format!("{tp} leader {l} isr {isr:?}"),
                    "#9467bd",
                )
            }
            Event::Link {
                from: a,
                to: b,
                change,
            } => (
                *a,
                format!("link →{} {change:?}", names.name(*b)),
                "#d62728",
            ),
            _ if Some(i) == mark => {
                let n = match &e.event {
                    Event::Appended { broker, .. } | Event::HighWatermark { broker, .. } => {
                        NodeId::Broker(*broker)
                    }
                    Event::Acked { producer, .. } => *producer,
                    _ => NodeId::Controller,
                };
                (n, "".to_string(), "#d62728")
            }
            _ => continue,
        };
        let Some(&x) = col.get(&node) else { continue };
        let yy = y(e.at);
        let _ = writeln!(s, r#"<circle cx="{x}" cy="{yy}" r="4" fill="{color}"/>"#);
        if !text.is_empty() {
            let _ = writeln!(
                s,
                r#"<text x="{}" y="{}" fill="{color}">{}</text>"#,
                x + 7.0,
                yy + 4.0,
                esc(&text)
            );
        }
        if Some(i) == mark {
            let _ = writeln!(
                s,
                r##"<rect x="0" y="{}" width="{width}" height="6" fill="#d62728" opacity="0.25"/><text x="{}" y="{}" fill="#d62728" font-weight="bold">✗ {}</text>"##,
                yy - 3.0,
                x + 7.0,
                yy + 18.0,
                esc(e.line(names).trim_start())
            );
        }
    }
    s.push_str("</svg>\n");
    s
}
