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
    assert!(v.explanation[1].starts_with("members(billing) == 3: members(billing) is 3 (consumer-"));
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
