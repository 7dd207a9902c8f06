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
mod tests {
    use super::super::{Condition, Evidence, Verdict};
    use kafkascope_sim::checkers::{check_to, Findings};
    use kafkascope_sim::command::{Command, Target, TimedCommand};
    use kafkascope_sim::host::Simulation;
    use kafkascope_sim::ids::{Millis, NodeId};
    use kafkascope_sim::library;
    use kafkascope_sim::scenario::{self, Count, Scenario};
    use kafkascope_sim::trace::Trace;

    /// A scenario run to `until` (with `extra` commands), checked there.
    struct Run {
        scenario: Scenario,
        trace: Trace,
        findings: Findings,
        until: Millis,
    }

    fn run(text: &str, until: Millis, extra: Vec<TimedCommand>) -> Run {
        let scenario = scenario::parse("t.toml", text).expect("a valid scenario");
        let mut sim = Simulation::new(&scenario, scenario.seed);
        for c in extra {
            sim.schedule(c);
        }
        sim.run_until(until);
        let trace = sim.into_trace();
        let findings = check_to(&trace, until);
        Run {
            scenario,
            trace,
            findings,
            until,
        }
    }

    impl Run {
        fn at(&self, text: &str, at: Millis) -> Verdict {
            let c = Condition::parse(text).expect("parses");
            assert_eq!(c.check_names(&self.scenario), vec![], "{text}");
            c.eval(&Evidence {
                scenario: &self.scenario,
                trace: &self.trace,
                findings: &self.findings,
                at,
            })
        }

        fn eval(&self, text: &str) -> Verdict {
            self.at(text, self.until)
        }

        /// Asserts the condition holds (or not) and returns its one explanation line.
        fn line(&self, text: &str, at: Millis, holds: bool) -> String {
            let v = self.at(text, at);
            assert_eq!(v.holds, holds, "{text} at {at}: {:?}", v.explanation);
            assert_eq!(v.explanation.len(), 1, "{:?}", v.explanation);
            v.explanation[0].clone()
        }
    }

    fn acks1() -> Run {
        run(library::find("acks1-leader-crash").unwrap(), 30_000, vec![])
    }

    #[test]
    fn an_acks1_leader_crash_loses_acknowledged_records() {
        let r = acks1();
        let lost = r.findings.count(Count::LostAcknowledged);
        assert!(lost > 0);
        let v = r.eval("lost_acknowledged == 0");
        assert!(!v.holds);
        assert_eq!(
            v.explanation,
            [format!(
                "lost_acknowledged == 0: lost_acknowledged is {lost}"
            )]
        );
        assert!(r.eval("lost_acknowledged > 0 and acknowledged > 100").holds);
        // The fault's target, as the controller saw it at 5 s.
        assert_eq!(
            r.line("crashed(leader of orders-0)", 30_000, true),
            "crashed(leader of orders-0): yes, broker-1 at 5.000s"
        );
        assert_eq!(
            r.line("crashed(broker-1)", 30_000, true),
            "crashed(broker-1): yes, at 5.000s"
        );
        assert_eq!(
            r.line("crashed(broker-2)", 30_000, false),
            "crashed(broker-2): no"
        );
        assert_eq!(
            r.line("restarted(broker-1)", 30_000, true),
            "restarted(broker-1): yes, at 20.000s"
        );
        let l = r.line("holds(no_lost_acknowledged)", 30_000, false);
        assert!(
            l.starts_with("holds(no_lost_acknowledged): violated at "),
            "{l}"
        );
        assert!(
            r.eval("violated(no_lost_acknowledged) and holds(log_matching)")
                .holds
        );
        // A follower took over, in a new epoch, and the old leader came back as a follower.
        let l = r.line("elected(orders-0)", 30_000, true);
        assert!(
            l.starts_with("elected(orders-0): yes, broker-1 to broker-"),
            "{l}"
        );
        assert!(
            r.eval("leader(orders-0) != 1 and leader(orders-0) > 0")
                .holds
        );
        assert_eq!(
            r.line("epoch(orders-0) == 1", 30_000, true),
            "epoch(orders-0) == 1: epoch(orders-0) is 1"
        );
        assert!(r.eval("isr(orders-0) >= 2 and up(broker-1)").holds);
        let v = r.eval("hw(orders-0) <= leo(orders-0) and hw(orders-0) > 2000");
        assert!(v.holds, "{:?}", v.explanation);
        // One line per comparison, with every value it read.
        assert_eq!(v.explanation.len(), 2);
        assert!(v.explanation[0].contains(", leo(orders-0) is "), "{v:?}");
        assert!(
            v.explanation[0].contains("(on broker-2, the leader)")
                || v.explanation[0].contains("(on broker-3, the leader)"),
            "{v:?}"
        );
        // The restarted broker truncated to the new leader's log and caught up.
        assert!(
            r.eval("leo(orders-0, broker-1) == leo(orders-0) and hw(orders-0, broker-1) > 0")
                .holds
        );
    }

    #[test]
    fn a_moment_ignores_what_the_trace_holds_after_it() {
        let full = acks1();
        let cut = run(library::find("acks1-leader-crash").unwrap(), 10_000, vec![]);
        // At 10 s broker-1 is down but still the leader: its session has not expired.
        for c in [
            "lost_acknowledged == 0",
            "restarted(broker-1)",
            "up(broker-1)",
            "up(leader of orders-0)",
            "elected(orders-0)",
            "holds(no_lost_acknowledged)",
            "leader(orders-0) == 1",
            "hw(orders-0, broker-1) > 0",
            "acknowledged > 100",
        ] {
            assert_eq!(full.at(c, 10_000), cut.eval(c), "{c}");
        }
        assert_eq!(
            full.line("up(leader of orders-0)", 10_000, false),
            "up(leader of orders-0): no, broker-1 crashed at 5.000s"
        );
        assert_eq!(
            full.line("up(broker-1)", 10_000, false),
            "up(broker-1): no, it crashed at 5.000s"
        );
        assert!(full
            .line("hw(orders-0, broker-1) > 0", 10_000, true)
            .ends_with("(on broker-1, which is down)"));
        assert!(
            full.at("lost_acknowledged == 0 and not elected(orders-0)", 10_000)
                .holds
        );
        // An event exactly at the moment has happened (the player runs to t + 1).
        assert!(!full.at("crashed(broker-1)", 4_999).holds);
        assert!(full.at("crashed(broker-1)", 5_000).holds);
    }

    /// One partition led by broker-1, an acks=1 producer and a consumer without a group;
    /// broker-1 is isolated at 3 s (the controller moves leadership when its session
    /// expires), healed at 16 s; broker-3 loses power at 20 s.
    const SMALL: &str = r#"
[scenario]
name = "small"
seed = 4
duration = "30s"

[cluster]
brokers = 3

[[topics]]
name = "orders"
partitions = 1
replication.factor = 3
assignment = [[1, 2, 3]]

[[producers]]
name = "a"
topic = "orders"
acks = "1"
rate = 50
start = "1s"

[[consumers]]
name = "audit"
topic = "orders"
auto.offset.reset = "earliest"

[network]
latency = "1ms..3ms"

[[faults]]
at = "2s"
action = "create-topic"
topic = "clicks"
partitions = 2

[[faults]]
at = "3s"
action = "isolate"
target = "leader of orders-0"

[[faults]]
at = "16s"
action = "heal"

[[faults]]
at = "20s"
action = "crash"
target = "broker-3"
kind = "power-loss"
"#;

    /// SMALL, with broker-2 paused from 4 s to 5 s and the consumer shut down at 22 s, as
    /// interventions.
    fn small() -> Run {
        let node = |n| Target::Node(n);
        let cmd = |at, command| TimedCommand { at, command };
        run(
            SMALL,
            25_000,
            vec![
                cmd(
                    4_000,
                    Command::Pause {
                        target: node(NodeId::Broker(2)),
                    },
                ),
                cmd(
                    5_000,
                    Command::Resume {
                        target: node(NodeId::Broker(2)),
                    },
                ),
                cmd(
                    22_000,
                    Command::Shutdown {
                        target: node(NodeId::Consumer(0)),
                    },
                ),
            ],
        )
    }

    #[test]
    fn isolation_pauses_and_power_loss_are_seen_with_their_moments() {
        let r = small();
        assert_eq!(
            r.line("isolated(broker-1)", 2_500, false),
            "isolated(broker-1): no"
        );
        assert_eq!(
            r.line("isolated(broker-1)", 25_000, true),
            "isolated(broker-1): yes, at 3.000s"
        );
        assert_eq!(
            r.line("isolated(leader of orders-0)", 25_000, true),
            "isolated(leader of orders-0): yes, broker-1 at 3.000s"
        );
        // broker-2 lost only its links with broker-1.
        assert_eq!(
            r.line("isolated(broker-2)", 9_000, false),
            "isolated(broker-2): no, only its links with broker-1 are cut"
        );
        assert_eq!(
            r.line("paused(broker-2)", 25_000, true),
            "paused(broker-2): yes, at 4.000s"
        );
        assert_eq!(
            r.line("up(broker-2)", 4_500, false),
            "up(broker-2): no, it is paused since 4.000s"
        );
        assert!(r.at("up(broker-2)", 9_000).holds);
        // broker-2 was not the leader when it was paused.
        assert_eq!(
            r.line("paused(leader of orders-0)", 9_000, false),
            "paused(leader of orders-0): no, orders-0 is led by broker-1"
        );
        // The isolated leader is fenced after its session timeout; broker-2 takes over.
        assert!(
            r.at("leader(orders-0) == 1 and not elected(orders-0)", 9_000)
                .holds
        );
        assert!(
            r.at("leader(orders-0) == 2 and elected(orders-0)", 18_000)
                .holds
        );
        assert_eq!(
            r.line("crashed(broker-3)", 25_000, true),
            "crashed(broker-3): yes, at 20.000s (power loss)"
        );
        assert_eq!(
            r.line("up(broker-3)", 25_000, false),
            "up(broker-3): no, it lost power at 20.000s"
        );
        // A topic created while the cluster runs.
        assert_eq!(
            r.line("leader(clicks-1) == 2", 2_500, true),
            "leader(clicks-1) == 2: leader(clicks-1) is 2 (broker-2)"
        );
        assert_eq!(
            r.line("leo(clicks-0) == 0", 1_500, true),
            "leo(clicks-0) == 0: leo(clicks-0) is 0 (there is no clicks-0 at 1.500s)"
        );
        assert_eq!(
            r.line("isr(clicks-0) == 3", 2_500, true),
            "isr(clicks-0) == 3: isr(clicks-0) is 3 (broker-1, broker-2, broker-3)"
        );
    }

    #[test]
    fn a_consumer_without_a_group_owns_every_partition_until_it_stops() {
        let r = small();
        assert_eq!(
            r.line("owned(consumer-audit) == 1", 9_000, true),
            "owned(consumer-audit) == 1: owned(consumer-audit) is 1 (orders-0)"
        );
        assert!(r.at("processed(consumer-audit) > 0", 9_000).holds);
        assert!(
            r.at(
                "processed(consumer-audit) == processed and lag(consumer-audit) == 0",
                9_000
            )
            .holds
        );
        assert_eq!(
            r.line("up(consumer-audit)", 25_000, false),
            "up(consumer-audit): no, it shut down at 22.000s"
        );
        assert_eq!(
            r.line("crashed(consumer-audit)", 25_000, false),
            "crashed(consumer-audit): no, it shut down cleanly at 22.000s, which is not a crash"
        );
        assert!(r.eval("owned(consumer-audit) == 0").holds);
    }

    #[test]
    fn groups_show_their_generation_members_ownership_and_lag() {
        // billing: a and b from the start, c joins at 10 s (eager range assignor, 6 partitions).
        let r = run(library::find("rebalance-eager").unwrap(), 20_000, vec![]);
        assert_eq!(
            r.line("generation(billing) == 0", 1_000, true),
            "generation(billing) == 0: generation(billing) is 0 (group billing has no generation yet)"
        );
        assert!(
            r.at("generation(billing) == 1 and members(billing) == 2", 5_000)
                .holds
        );
        assert_eq!(
            r.line("owned(consumer-a) == 3", 5_000, true),
            "owned(consumer-a) == 3: owned(consumer-a) is 3 (orders-0, orders-1, orders-2)"
        );
        assert_eq!(
            r.line("up(consumer-c)", 5_000, false),
            "up(consumer-c): no, it starts at 10.000s"
        );
        assert!(r.at("owned(consumer-c) == 0", 5_000).holds);
        let v = r.eval("generation(billing) == 2 and members(billing) == 3");
        assert!(v.holds, "{v:?}");
        assert!(
            v.explanation[1].starts_with("members(billing) == 3: members(billing) is 3 (consumer-")
        );
        assert!(
            r.eval("owned(consumer-a) == 2 and owned(consumer-b) == 2 and owned(consumer-c) == 2")
                .holds
        );
        // One group: it processed every record the consumers processed.
        let processed = r.findings.count(Count::Processed);
        assert!(processed > 1_000);
        assert!(r.eval("processed(billing) == processed").holds);
        // While the producer runs the group is a few records behind; after it stops, none.
        let l = r.line("lag(billing) > 0", 12_000, true);
        assert!(l.starts_with("lag(billing) > 0: lag(billing) is "), "{l}");
        assert!(l.contains(" on orders-"), "{l}");
        assert_eq!(
            r.line("lag(billing) == 0", 20_000, true),
            "lag(billing) == 0: lag(billing) is 0 (caught up)"
        );
        assert!(r.eval("rebalances == 2").holds);
    }

    /// Conditions over literals need no run: precedence and the shape of explanations.
    #[test]
    fn and_binds_tighter_than_or_and_every_leaf_is_explained() {
        let r = Run {
            scenario: scenario::parse("t.toml", SMALL).unwrap(),
            trace: Trace::default(),
            findings: check_to(&Trace::default(), 0),
            until: 0,
        };
        let holds = |c: &str| r.eval(c).holds;
        assert!(holds("1 == 1 or 1 == 2 and 2 == 3"));
        assert!(!holds("(1 == 1 or 1 == 2) and 2 == 3"));
        assert!(holds("not 1 == 2 and 2 >= 2"));
        assert!(!holds("not (1 == 1 or 1 == 2)"));
        assert!(holds("1 != 2 and 1 < 2 and 2 <= 2 and 3 > 2 and 3 >= 3"));
        let v = r.eval("produced == 0 or crashed(broker-1)");
        assert_eq!(
            v.explanation,
            ["produced == 0: produced is 0", "crashed(broker-1): no"]
        );
        assert_eq!(r.eval("2 > 1").explanation, ["2 > 1: always true"]);
        assert_eq!(
            r.eval("leader(orders-0) == 0").explanation,
            ["leader(orders-0) == 0: leader(orders-0) is 0 (there is no orders-0 at 0.000s)"]
        );
    }
}
