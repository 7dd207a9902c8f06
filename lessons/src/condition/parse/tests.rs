use super::super::{Condition, ConditionError};
use super::*;

fn err(text: &str) -> ConditionError {
    match Condition::parse(text) {
        Ok(c) => panic!("{text} parsed as {c}"),
        Err(e) => e,
    }
}

/// The error's span, as the text it covers.
fn at<'a>(text: &'a str, e: &ConditionError) -> &'a str {
    &text[e.span.clone()]
}

fn shown(text: &str) -> String {
    Condition::parse(text).expect("parses").to_string()
}

#[test]
fn and_binds_tighter_than_or() {
    let c = Condition::parse("crashed(broker-1) or crashed(broker-2) and up(broker-3)").unwrap();
    let Expr::Or(xs) = &c.expr else {
        panic!("{:?}", c.expr)
    };
    assert!(matches!(xs[1], Expr::And(_)));
    // `not` takes the comparison after it, not just its left side.
    let c = Condition::parse("not leo(orders-0) > 3 and up(broker-1)").unwrap();
    let Expr::And(xs) = &c.expr else {
        panic!("{:?}", c.expr)
    };
    assert!(matches!(&xs[0], Expr::Not(x) if matches!(**x, Expr::Compare(..))));
}

#[test]
fn conditions_display_in_one_canonical_spelling() {
    assert_eq!(shown("lost_acknowledged==0"), "lost_acknowledged == 0");
    assert_eq!(
        shown("(crashed( broker-1 ) or paused(broker-1))and hw(orders-0,broker-2)>=leo(orders-0)"),
        "(crashed(broker-1) or paused(broker-1)) and hw(orders-0, broker-2) >= leo(orders-0)"
    );
    assert_eq!(
        shown("produced == 1 or (up(x) or up(y))"),
        "produced == 1 or up(x) or up(y)"
    );
    assert_eq!(
        shown("((crashed(leader of orders-0)))"),
        "crashed(leader of orders-0)"
    );
    assert_eq!(
        shown("not (up(broker-1) and up(broker-2))"),
        "not (up(broker-1) and up(broker-2))"
    );
    assert_eq!(
        shown("(leo(my.topic_v2-10)) != 7"),
        "leo(my.topic_v2-10) != 7"
    );
    assert_eq!(
        shown("holds(no_lost_acknowledged) and violated(log_matching) or elected(orders-1)"),
        "holds(no_lost_acknowledged) and violated(log_matching) or elected(orders-1)"
    );
    // Every function and count parses.
    for f in Func::ALL {
        for example in f.example().split(" or ") {
            let text = if f.boolean() {
                example.to_string()
            } else {
                format!("{example} > 0")
            };
            assert_eq!(shown(&text), text);
        }
    }
    for c in Count::ALL {
        let text = format!("{} < 3", c.name());
        assert_eq!(shown(&text), text);
    }
}

#[test]
fn a_number_alone_is_not_a_condition() {
    let e = err("lost_acknowledged");
    assert_eq!(e.span, 0..17);
    assert_eq!(
        e.message,
        "`lost_acknowledged` is a number, not a condition"
    );
    assert_eq!(
        e.help.as_deref(),
        Some("compare it: lost_acknowledged == 0")
    );
    let t = "up(broker-1) and leo(orders-0)";
    let e = err(t);
    assert_eq!(at(t, &e), "leo(orders-0)");
    let t = "crashed(broker-1) == 1";
    let e = err(t);
    assert_eq!(at(t, &e), "crashed(broker-1)");
    assert_eq!(
        e.message,
        "`crashed(broker-1)` is true or false, not a number"
    );
    let t = "not produced";
    assert_eq!(at(t, &err(t)), "produced");
}

#[test]
fn unknown_names_suggest_the_closest_known_one() {
    let t = "lost_acknowledgd == 0";
    let e = err(t);
    assert_eq!(
        (e.span.clone(), e.message.as_str()),
        (0..16, "unknown name `lost_acknowledgd`")
    );
    assert_eq!(e.help.as_deref(), Some("did you mean `lost_acknowledged`?"));
    let t = "holds(no_lost_acked)";
    let e = err(t);
    assert_eq!(e.span, 6..19);
    assert_eq!(e.message, "unknown checker `no_lost_acked`");
    assert_eq!(
        e.help.as_deref(),
        Some("did you mean `no_lost_acknowledged`?")
    );
    let t = "crashd(broker-1)";
    let e = err(t);
    assert_eq!(e.span, 0..6);
    assert_eq!(e.help.as_deref(), Some("did you mean `crashed`?"));
    let e = err("produced(orders) > 1");
    assert_eq!(e.span, 0..8);
    assert!(e.help.unwrap().contains("without parentheses"));
    let e = err("crashed");
    assert_eq!(e.message, "`crashed` needs an argument");
    let e = err("isolatd");
    assert_eq!(
        e.help.as_deref(),
        Some("did you mean `isolated`? for example: isolated(leader of orders-0)")
    );
    let e = err("log_matching");
    assert_eq!(
        e.help.as_deref(),
        Some("write holds(log_matching) or violated(log_matching)")
    );
}

#[test]
fn syntax_errors_point_at_the_culprit() {
    let cases: &[(&str, &str, &str)] = &[
        ("produced = 3", "=", "compare with `==`"),
        ("up(broker-1) && up(broker-2)", "&&", "combine with `and`"),
        ("up(broker-1) || up(broker-2)", "||", "combine with `or`"),
        ("!up(broker-1)", "!", "negate with `not`"),
        (
            "(produced > 1",
            "(",
            "add `)` (found the end where it should be)",
        ),
        (
            "leader(orders) == 1",
            "orders",
            "a partition is its topic and its number: orders-0",
        ),
        (
            "crashed(leader orders-0)",
            "leader",
            "write crashed(leader of orders-0)",
        ),
        (
            "leader(orders-0, broker-1) == 1",
            ",",
            "for example: leader(orders-0)",
        ),
        (
            "hw() > 1",
            ")",
            "for example: hw(orders-0) or hw(orders-0, broker-2)",
        ),
        ("up(broker-1", "(", "add `)`"),
    ];
    for (text, culprit, help) in cases {
        let e = err(text);
        assert_eq!(at(text, &e), *culprit, "{text}: {e:?}");
        assert_eq!(e.help.as_deref(), Some(*help), "{text}");
    }
    let t = "produced > 1)";
    let e = err(t);
    assert_eq!(
        (e.span.clone(), e.message.as_str()),
        (12..13, "this `)` closes nothing")
    );
    let t = "produced > 1 consumed > 1";
    let e = err(t);
    assert_eq!(at(t, &e), "consumed");
    assert_eq!(
        e.message,
        "expected `and`, `or` or the end, found `consumed`"
    );
    let t = "1 < produced < 5";
    let e = err(t);
    assert_eq!(
        (at(t, &e), e.message.as_str()),
        ("<", "comparisons do not chain")
    );
    assert_eq!(e.span, 13..14);
    let e = err("  ");
    assert_eq!(e.message, "the condition is empty");
    let e = err("produced > 99999999999999999999999");
    assert_eq!(e.message, "this number is too large");
    let t = "produced > é";
    assert_eq!(at(t, &err(t)), "é");
    let t = "up(broker-1) and";
    let e = err(t);
    assert_eq!(e.span, 16..16);
    assert_eq!(
        e.message,
        "expected a count, a function or `(`, found the end"
    );
}

const SCENARIO: &str = r#"
[scenario]
name = "names"
duration = "30s"

[cluster]
brokers = 3
reader = false

[[topics]]
name = "orders"
partitions = 2
replication.factor = 3

[[producers]]
name = "a"
topic = "orders"
rate = 10

[[consumers]]
name = "billing-1"
group = "billing"
topic = "orders"

[[consumers]]
name = "audit"
topic = "orders"

[[faults]]
at = "5s"
action = "create-topic"
topic = "clicks"
partitions = 2

[[faults]]
at = "6s"
action = "add-partitions"
topic = "orders"
partitions = 4
"#;

fn names(text: &str) -> Vec<(String, String, Option<String>)> {
    let s = kafkascope_sim::scenario::parse("t.toml", SCENARIO).expect("valid");
    Condition::parse(text)
        .expect("parses")
        .check_names(&s)
        .into_iter()
        .map(|e| (text[e.span].to_string(), e.message, e.help))
        .collect()
}

fn one(text: &str) -> (String, String, Option<String>) {
    let mut v = names(text);
    assert_eq!(v.len(), 1, "{text}: {v:?}");
    v.remove(0)
}

#[test]
fn names_the_scenario_has_pass() {
    for ok in [
        "leo(orders-3) > 0 and leader(clicks-1) == 1 and isr(__consumer_offsets-0) == 3",
        "crashed(leader of orders-0) or crashed(controller) or isolated(producer-a)",
        "up(consumer-billing-1) and hw(orders-0, broker-3) > 0",
        "owned(consumer-audit) == 2 and lag(billing) == 0 and lag(consumer-audit) == 0",
        "members(billing) == 1 and generation(billing) == 1 and processed(billing) > 0",
    ] {
        assert_eq!(names(ok), vec![], "{ok}");
    }
}

#[test]
fn names_the_scenario_lacks_are_reported_with_a_suggestion() {
    let (at, message, help) = one("leo(ordrs-0) > 0");
    assert_eq!(
        (at.as_str(), message.as_str()),
        ("ordrs-0", "this scenario has no topic `ordrs`")
    );
    assert_eq!(help.as_deref(), Some("did you mean `orders-0`?"));
    // add-partitions grew orders to 4.
    let (at, message, _) = one("leo(orders-4) > 0");
    assert_eq!(
        (at.as_str(), message.as_str()),
        (
            "orders-4",
            "`orders` has 4 partitions: orders-0 to orders-3"
        )
    );
    let (at, message, _) = one("crashed(leader of clicks-2)");
    assert_eq!(
        (at.as_str(), message.as_str()),
        (
            "leader of clicks-2",
            "`clicks` has 2 partitions: clicks-0 to clicks-1"
        )
    );
    let (at, message, help) = one("crashed(brokr-1)");
    assert_eq!(
        (at.as_str(), message.as_str()),
        ("brokr-1", "this scenario has no node `brokr-1`")
    );
    assert_eq!(help.as_deref(), Some("did you mean `broker-1`?"));
    let (_, message, _) = one("up(broker-4)");
    assert_eq!(message, "this scenario has no node `broker-4`");
    let (_, message, _) = one("up(reader)");
    assert_eq!(message, "this scenario has no node `reader`");
    let (at, message, help) = one("hw(orders-0, controller) > 0");
    assert_eq!(
        (at.as_str(), message.as_str()),
        (
            "controller",
            "`hw` takes a broker here, and `controller` is not one"
        )
    );
    assert_eq!(
        help.as_deref(),
        Some("its brokers: broker-1, broker-2, broker-3")
    );
    let (_, message, _) = one("owned(broker-1) == 0");
    assert_eq!(
        message,
        "`owned` takes a consumer here, and `broker-1` is not one"
    );
    let (at, message, help) = one("lag(biling) == 0");
    assert_eq!(
        (at.as_str(), message.as_str()),
        ("biling", "this scenario has no consumer group `biling`")
    );
    assert_eq!(help.as_deref(), Some("did you mean `billing`?"));
    // A consumer without a group has lag and processed records, not members.
    let (_, message, _) = one("members(consumer-audit) == 0");
    assert_eq!(
        message,
        "this scenario has no consumer group `consumer-audit`"
    );
    // Every problem, not just the first.
    assert_eq!(names("up(broker-9) or lag(x) > 0 or elected(y-0)").len(), 3);
}
