//! What each function of a condition means in a trace, and the sentence a learner reads
//! about it.
//!
//! One pass over the trace up to the moment gathers what the functions ask about (the
//! cluster's [`Replay`], who crashed, paused or was cut off and what it led then, leader
//! changes, group generations, who owns what); counts, checkers, lag and processed records
//! come from the checkers' [`Findings`] of the same prefix.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use kafkascope_sim::checkers::{check_to, Findings};
use kafkascope_sim::ids::{BrokerId, Millis, NodeId, NodeNames, TopicPartition};
use kafkascope_sim::metrics::GroupKey;
use kafkascope_sim::replay::{NodeStatus, Replay};
use kafkascope_sim::scenario::Scenario;
use kafkascope_sim::trace::{fmt_time, CrashKind, Event, LinkChange, Trace};

use super::parse::{nodes, resolve_node};
use super::{Arg, ArgValue, Evidence, Expr, Func, Num, Verdict};

pub(super) fn eval(expr: &Expr, ev: &Evidence<'_>) -> Verdict {
    let facts = Facts::gather(ev);
    let mut explanation = Vec::new();
    let holds = facts.truth(expr, &mut explanation);
    Verdict { holds, explanation }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum What {
    Crashed(CrashKind),
    ShutDown,
    Restarted,
    Paused,
    Resumed,
    /// Every link to and from every other node became cut.
    Isolated,
}

/// Something that happened to a node.
struct Happening {
    at: Millis,
    node: NodeId,
    what: What,
    /// The partitions the node led at that moment, in the controller's view (what
    /// `leader of orders-0` means in a fault, so it means the same here).
    led: Vec<TopicPartition>,
}

#[derive(Default)]
struct GroupView {
    generation: u32,
    /// Members of the current generation still in it (the coordinator's view).
    members: BTreeSet<Arc<str>>,
    /// Who started each generation, for a coordinator that failed over to an older one.
    history: BTreeMap<u32, BTreeSet<Arc<str>>>,
}

struct Facts<'a> {
    scenario: &'a Scenario,
    at: Millis,
    names: NodeNames,
    findings: Cow<'a, Findings>,
    replay: Replay,
    nodes: Vec<NodeId>,
    happenings: Vec<Happening>,
    /// Links cut at `at`.
    cuts: BTreeSet<(NodeId, NodeId)>,
    first_leader: BTreeMap<TopicPartition, BrokerId>,
    /// Each time a partition's leader became a different broker: (when, from, to).
    changes: BTreeMap<TopicPartition, Vec<(Millis, BrokerId, BrokerId)>>,
    groups: BTreeMap<Arc<str>, GroupView>,
    owned: BTreeMap<NodeId, BTreeSet<TopicPartition>>,
}

/// At most this many moments are listed in one line.
const LIST: usize = 3;

impl<'a> Facts<'a> {
    fn gather(ev: &Evidence<'a>) -> Facts<'a> {
        let end = ev.trace.entries.partition_point(|e| e.at <= ev.at);
        let prefix = &ev.trace.entries[..end];
        // `check_to` reads the whole trace: its counts and verdicts would include what
        // happened after the moment.
        let findings = if end < ev.trace.entries.len() {
            Cow::Owned(check_to(
                &Trace {
                    entries: prefix.to_vec(),
                    names: ev.trace.names.clone(),
                },
                ev.at,
            ))
        } else {
            Cow::Borrowed(ev.findings)
        };
        let mut f = Facts {
            scenario: ev.scenario,
            at: ev.at,
            names: ev.trace.names.clone(),
            findings,
            replay: Replay::default(),
            nodes: nodes(ev.scenario),
            happenings: Vec::new(),
            cuts: BTreeSet::new(),
            first_leader: BTreeMap::new(),
            changes: BTreeMap::new(),
            groups: BTreeMap::new(),
            owned: BTreeMap::new(),
        };
        let mut last_leader: BTreeMap<TopicPartition, BrokerId> = BTreeMap::new();
        let mut isolated: BTreeSet<NodeId> = BTreeSet::new();
        for entry in prefix {
            let e = &entry.event;
            let lifecycle = match e {
                Event::Crashed { node, kind } => Some((*node, What::Crashed(*kind))),
                Event::ShutDown { node } => Some((*node, What::ShutDown)),
                Event::Restarted { node } => Some((*node, What::Restarted)),
                Event::Paused { node } => Some((*node, What::Paused)),
                Event::Resumed { node } => Some((*node, What::Resumed)),
                _ => None,
            };
            if let Some((node, what)) = lifecycle {
                f.happen(entry.at, node, what);
            }
            f.replay.apply(e);
            match e {
                Event::Link { from, to, change } => match change {
                    LinkChange::Cut => {
                        f.cuts.insert((*from, *to));
                        for n in [*from, *to] {
                            if !isolated.contains(&n) && f.cut_off(n) {
                                isolated.insert(n);
                                f.happen(entry.at, n, What::Isolated);
                            }
                        }
                    }
                    LinkChange::Healed => {
                        f.cuts.remove(&(*from, *to));
                        isolated.remove(from);
                        isolated.remove(to);
                    }
                    _ => {}
                },
                Event::PartitionChanged {
                    tp,
                    leader: Some(l),
                    ..
                } => {
                    match last_leader.get(tp) {
                        None => {
                            f.first_leader.insert(tp.clone(), *l);
                        }
                        Some(prev) if prev != l => {
                            f.changes
                                .entry(tp.clone())
                                .or_default()
                                .push((entry.at, *prev, *l));
                        }
                        Some(_) => {}
                    }
                    last_leader.insert(tp.clone(), *l);
                }
                Event::GenerationStarted {
                    group,
                    generation,
                    members,
                    ..
                } => {
                    let g = f.groups.entry(group.clone()).or_default();
                    g.generation = *generation;
                    g.members = members.iter().cloned().collect();
                    g.history.insert(*generation, g.members.clone());
                }
                Event::MemberRemoved { group, member, .. } => {
                    if let Some(g) = f.groups.get_mut(group) {
                        g.members.remove(member);
                    }
                }
                Event::CoordinatorLoaded { groups, .. } => {
                    for (group, generation) in groups {
                        let g = f.groups.entry(group.clone()).or_default();
                        if g.generation != *generation {
                            g.generation = *generation;
                            g.members = g.history.get(generation).cloned().unwrap_or_default();
                        }
                    }
                }
                Event::PartitionsAssigned {
                    consumer, owned, ..
                } => {
                    f.owned.insert(*consumer, owned.iter().cloned().collect());
                }
                Event::PartitionsRevoked {
                    consumer, revoked, ..
                } => {
                    let o = f.owned.entry(*consumer).or_default();
                    for tp in revoked {
                        o.remove(tp);
                    }
                }
                Event::LeftGroup { consumer, .. } => {
                    f.owned.remove(consumer);
                }
                Event::Crashed {
                    node: node @ NodeId::Consumer(_),
                    ..
                }
                | Event::ShutDown {
                    node: node @ NodeId::Consumer(_),
                } => {
                    f.owned.remove(node);
                }
                // A consumer without a group assigns itself every partition and says so only
                // by setting its positions.
                Event::PositionSet { consumer, tp, .. } if f.standalone(*consumer) => {
                    f.owned.entry(*consumer).or_default().insert(tp.clone());
                }
                _ => {}
            }
        }
        f
    }

    fn happen(&mut self, at: Millis, node: NodeId, what: What) {
        let led = match node {
            NodeId::Broker(b) => self
                .replay
                .partitions
                .iter()
                .filter(|(_, m)| m.leader == Some(b))
                .map(|(tp, _)| tp.clone())
                .collect(),
            _ => Vec::new(),
        };
        self.happenings.push(Happening {
            at,
            node,
            what,
            led,
        });
    }

    /// Whether every link between `n` and every other node is cut, both ways.
    fn cut_off(&self, n: NodeId) -> bool {
        self.nodes
            .iter()
            .filter(|o| **o != n)
            .all(|o| self.cuts.contains(&(n, *o)) && self.cuts.contains(&(*o, n)))
    }

    fn standalone(&self, consumer: NodeId) -> bool {
        match consumer {
            NodeId::Consumer(i) => self
                .scenario
                .consumers
                .get(i as usize)
                .is_some_and(|c| c.group.is_none()),
            _ => false,
        }
    }

    fn name(&self, n: NodeId) -> String {
        self.names.name(n)
    }

    fn truth(&self, e: &Expr, out: &mut Vec<String>) -> bool {
        match e {
            // Collected first: every leaf adds its line, even after the answer is known.
            Expr::Or(xs) => {
                let each: Vec<bool> = xs.iter().map(|x| self.truth(x, out)).collect();
                each.into_iter().any(|b| b)
            }
            Expr::And(xs) => {
                let each: Vec<bool> = xs.iter().map(|x| self.truth(x, out)).collect();
                each.into_iter().all(|b| b)
            }
            Expr::Not(x) => !self.truth(x, out),
            Expr::Compare(a, op, b) => {
                let (x, dx) = self.number(a);
                let (y, dy) = self.number(b);
                let holds = op.holds(x, y);
                let details: Vec<String> = [dx, dy].into_iter().flatten().collect();
                let line = if details.is_empty() {
                    format!("{e}: always {}", if holds { "true" } else { "false" })
                } else {
                    format!("{e}: {}", details.join(", "))
                };
                out.push(line);
                holds
            }
            Expr::Call(func, args) => {
                let (holds, why) = self.predicate(*func, args);
                out.push(format!("{e}: {why}"));
                holds
            }
        }
    }

    /// The value, and what to tell about it (none for a literal).
    fn number(&self, n: &Num) -> (u64, Option<String>) {
        match n {
            Num::Int(v) => (*v, None),
            Num::Count(c) => {
                let v = self.findings.count(*c);
                (v, Some(format!("{} is {v}", c.name())))
            }
            Num::Call(func, args) => {
                let (v, more) = self.state(*func, args);
                let more = if more.is_empty() {
                    String::new()
                } else {
                    format!(" ({more})")
                };
                (v, Some(format!("{n} is {v}{more}")))
            }
        }
    }

    fn node(&self, name: &str) -> Option<NodeId> {
        resolve_node(self.scenario, name)
    }

    /// The metrics' label of a group, or of a consumer without one.
    fn group_label(&self, g: &str) -> String {
        match self.node(g) {
            Some(id) if self.standalone(id) => GroupKey::Standalone(id).label(&self.names),
            _ => g.to_string(),
        }
    }

    fn no_partition(&self, tp: &TopicPartition) -> (u64, String) {
        (0, format!("there is no {tp} at {}", fmt_time(self.at)))
    }

    /// A numeric function's value at `at`, and a note on where it comes from.
    fn state(&self, func: Func, args: &[Arg]) -> (u64, String) {
        let tp = match args.first().map(|a| &a.value) {
            Some(ArgValue::Partition(tp)) => Some(tp),
            _ => None,
        };
        let word = match args.first().map(|a| &a.value) {
            Some(ArgValue::Group(g) | ArgValue::Node(g)) => g.as_str(),
            _ => "",
        };
        let meta = tp.and_then(|tp| self.replay.partitions.get(tp));
        match func {
            Func::Leader | Func::Epoch | Func::Isr => {
                let tp = tp.expect("a partition");
                let Some(m) = meta else {
                    return self.no_partition(tp);
                };
                match func {
                    Func::Leader => match m.leader {
                        Some(b) => (b as u64, format!("broker-{b}")),
                        None => (0, format!("{tp} has no leader: it is offline")),
                    },
                    Func::Epoch => (m.leader_epoch as u64, String::new()),
                    _ => (m.isr.len() as u64, brokers(&m.isr)),
                }
            }
            Func::Hw | Func::Leo => {
                let tp = tp.expect("a partition");
                if meta.is_none() {
                    return self.no_partition(tp);
                }
                let pick = |r: &kafkascope_sim::replay::ReplicaState| match func {
                    Func::Hw => r.high_watermark,
                    _ => r.log.len() as u64,
                };
                match args.get(1).map(|a| &a.value) {
                    Some(ArgValue::Node(n)) => {
                        let Some(NodeId::Broker(b)) = self.node(n) else {
                            return (0, format!("this scenario has no broker {n}"));
                        };
                        match self.replay.replica(tp, b) {
                            Some(r) if r.up => (pick(r), format!("on broker-{b}")),
                            Some(r) => (pick(r), format!("on broker-{b}, which is down")),
                            None => (0, format!("broker-{b} has no replica of {tp}")),
                        }
                    }
                    _ => match self.replay.authoritative(tp) {
                        Some((b, r)) if meta.is_some_and(|m| m.leader == Some(b)) => {
                            (pick(r), format!("on broker-{b}, the leader"))
                        }
                        Some((b, r)) => (
                            pick(r),
                            format!("on broker-{b}: {tp} is offline and broker-{b} would lead it"),
                        ),
                        None => (0, format!("{tp} has no leader and no ISR")),
                    },
                }
            }
            Func::Lag | Func::Processed => {
                let label = self.group_label(word);
                let Some(g) = self.findings.metrics.group(&label) else {
                    return (0, format!("{} has not consumed yet", subject(&label)));
                };
                if func == Func::Processed {
                    return (g.processed, String::new());
                }
                let total = g.partitions.iter().map(|p| p.end.unprocessed).sum();
                let behind: Vec<String> = g
                    .partitions
                    .iter()
                    .filter(|p| p.end.unprocessed > 0)
                    .map(|p| format!("{} on {}", p.end.unprocessed, p.end.partition))
                    .collect();
                let note = if behind.is_empty() {
                    "caught up".to_string()
                } else {
                    behind.join(", ")
                };
                (total, note)
            }
            Func::Members | Func::Generation => match self.groups.get(word) {
                None => (0, format!("group {word} has no generation yet")),
                Some(g) if func == Func::Generation => (g.generation as u64, String::new()),
                Some(g) => (
                    g.members.len() as u64,
                    if g.members.is_empty() {
                        "none".into()
                    } else {
                        g.members
                            .iter()
                            .map(|m| &**m)
                            .collect::<Vec<_>>()
                            .join(", ")
                    },
                ),
            },
            Func::Owned => {
                let Some(id) = self.node(word) else {
                    return (0, format!("this scenario has no consumer {word}"));
                };
                match self.owned.get(&id) {
                    Some(o) if !o.is_empty() => (
                        o.len() as u64,
                        o.iter()
                            .map(|tp| tp.to_string())
                            .collect::<Vec<_>>()
                            .join(", "),
                    ),
                    _ => (0, "none".into()),
                }
            }
            _ => unreachable!("{} is not a number", func.name()),
        }
    }

    /// A boolean function's truth, and the words after `name(args): `.
    fn predicate(&self, func: Func, args: &[Arg]) -> (bool, String) {
        let arg = &args.first().expect("one argument").value;
        match (func, arg) {
            (Func::Holds | Func::Violated, ArgValue::Checker(c)) => {
                let v = self.findings.verdict(*c);
                let said = match &v.violation {
                    None => "holds".to_string(),
                    Some(x) => format!("violated at {}: {}", fmt_time(x.at), x.message),
                };
                (v.holds() == (func == Func::Holds), said)
            }
            (Func::Elected, ArgValue::Partition(tp)) => match self.changes.get(tp) {
                Some(cs) if !cs.is_empty() => {
                    let mut said: Vec<String> = cs
                        .iter()
                        .take(LIST)
                        .map(|(at, a, b)| format!("broker-{a} to broker-{b} at {}", fmt_time(*at)))
                        .collect();
                    if cs.len() > LIST {
                        said.push(format!("and {} more times", cs.len() - LIST));
                    }
                    (true, format!("yes, {}", said.join(", ")))
                }
                _ => match self.first_leader.get(tp) {
                    Some(b) => (false, format!("no, broker-{b} has led it from the start")),
                    None => (false, format!("no, {tp} has had no leader")),
                },
            },
            (Func::Up, subject) => self.up(subject),
            (Func::Crashed | Func::Restarted | Func::Paused | Func::Isolated, subject) => {
                self.happened(func, subject)
            }
            _ => unreachable!("{} does not take {arg:?}", func.name()),
        }
    }

    fn happened(&self, func: Func, subject: &ArgValue) -> (bool, String) {
        let wanted = |w: What| match func {
            Func::Crashed => matches!(w, What::Crashed(_)),
            Func::Restarted => w == What::Restarted,
            Func::Paused => w == What::Paused,
            _ => w == What::Isolated,
        };
        let node = match subject {
            ArgValue::Node(n) => match self.node(n) {
                Some(id) => Some(id),
                None => return (false, format!("no, this scenario has no node {n}")),
            },
            _ => None,
        };
        let hits: Vec<&Happening> = self
            .happenings
            .iter()
            .filter(|h| wanted(h.what))
            .filter(|h| match subject {
                ArgValue::LeaderOf(tp) => h.led.contains(tp),
                _ => Some(h.node) == node,
            })
            .collect();
        if !hits.is_empty() {
            let mut said: Vec<String> = hits
                .iter()
                .take(LIST)
                .map(|h| {
                    let who = match subject {
                        ArgValue::LeaderOf(_) => format!("{} ", self.name(h.node)),
                        _ => String::new(),
                    };
                    let how = match h.what {
                        What::Crashed(CrashKind::PowerLoss) => " (power loss)",
                        _ => "",
                    };
                    format!("{who}at {}{how}", fmt_time(h.at))
                })
                .collect();
            if hits.len() > LIST {
                said.push(format!("and {} more times", hits.len() - LIST));
            }
            return (true, format!("yes, {}", said.join(", ")));
        }
        // Why not, when there is something close to tell.
        let note = match (subject, node) {
            (ArgValue::LeaderOf(tp), _) => match self.replay.partitions.get(tp) {
                None => format!("there is no {tp} yet"),
                Some(m) => match m.leader {
                    Some(b) => format!("{tp} is led by broker-{b}"),
                    None => format!("{tp} has no leader"),
                },
            },
            (_, Some(id)) if func == Func::Crashed => self
                .happenings
                .iter()
                .find(|h| h.node == id && h.what == What::ShutDown)
                .map(|h| {
                    format!(
                        "it shut down cleanly at {}, which is not a crash",
                        fmt_time(h.at)
                    )
                })
                .unwrap_or_default(),
            (_, Some(id)) if func == Func::Isolated => {
                let peers: BTreeSet<NodeId> = self
                    .cuts
                    .iter()
                    .filter_map(|&(a, b)| match (a == id, b == id) {
                        (true, _) => Some(b),
                        (_, true) => Some(a),
                        _ => None,
                    })
                    .collect();
                if peers.is_empty() {
                    String::new()
                } else {
                    let peers: Vec<String> = peers.into_iter().map(|p| self.name(p)).collect();
                    format!("only its links with {} are cut", peers.join(", "))
                }
            }
            _ => String::new(),
        };
        if note.is_empty() {
            (false, "no".into())
        } else {
            (false, format!("no, {note}"))
        }
    }

    fn up(&self, subject: &ArgValue) -> (bool, String) {
        let (id, who) = match subject {
            ArgValue::Node(n) => match self.node(n) {
                Some(id) => (id, "it".to_string()),
                None => return (false, format!("no, this scenario has no node {n}")),
            },
            ArgValue::LeaderOf(tp) => match self.replay.partitions.get(tp).map(|m| m.leader) {
                None => return (false, format!("no, there is no {tp} yet")),
                Some(None) => return (false, format!("no, {tp} has no leader")),
                Some(Some(b)) => (NodeId::Broker(b), format!("broker-{b}")),
            },
            _ => unreachable!("a subject"),
        };
        match (self.down(id), subject) {
            (None, ArgValue::LeaderOf(_)) => (true, format!("yes, {who}")),
            (None, _) => (true, "yes".into()),
            (Some(why), _) => (false, format!("no, {who} {why}")),
        }
    }

    /// Why a node is not running at `at` (`crashed at 5.000s`), or `None` when it runs.
    fn down(&self, id: NodeId) -> Option<String> {
        // The status is the replay's; the happenings say since when.
        let status = self.replay.status(id);
        let since = || {
            self.happenings
                .iter()
                .rev()
                .find(|h| {
                    h.node == id
                        && matches!(h.what, What::Crashed(_) | What::ShutDown | What::Paused)
                })
                .map_or_else(String::new, |h| fmt_time(h.at))
        };
        match status {
            NodeStatus::Down(CrashKind::PowerLoss) => Some(format!("lost power at {}", since())),
            NodeStatus::Down(_) => Some(format!("crashed at {}", since())),
            NodeStatus::Stopped => Some(format!("shut down at {}", since())),
            NodeStatus::Paused => Some(format!("is paused since {}", since())),
            // A consumer's application runs from its `start` and calls close() at its `stop`.
            _ => match id {
                NodeId::Consumer(i) => {
                    let c = self.scenario.consumers.get(i as usize)?;
                    if c.start > 0 && c.start >= self.at {
                        Some(format!("starts at {}", fmt_time(c.start)))
                    } else {
                        c.stop
                            .filter(|s| *s < self.at)
                            .map(|s| format!("closed at {}", fmt_time(s)))
                    }
                }
                _ => None,
            },
        }
    }
}

fn brokers(ids: &[BrokerId]) -> String {
    if ids.is_empty() {
        return "empty".into();
    }
    ids.iter()
        .map(|b| format!("broker-{b}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn subject(label: &str) -> String {
    kafkascope_sim::metrics::subject(label)
}

#[cfg(test)]
mod tests;
