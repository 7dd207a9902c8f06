//! The scenarios that ship inside the binary, so `kafkascope run acks1-leader-crash` works on
//! a fresh machine without a checkout.

/// `(name, file contents)`; the name is the file name without `.toml`.
pub const SCENARIOS: &[(&str, &str)] = &[
    (
        "acks1-leader-crash",
        include_str!("../../scenarios/acks1-leader-crash.toml"),
    ),
    (
        "acks-all-leader-crash",
        include_str!("../../scenarios/acks-all-leader-crash.toml"),
    ),
    (
        "isr-shrink-min-insync-1",
        include_str!("../../scenarios/isr-shrink-min-insync-1.toml"),
    ),
    (
        "isr-shrink-min-insync-2",
        include_str!("../../scenarios/isr-shrink-min-insync-2.toml"),
    ),
    (
        "isr-shrink-kafka-4-1",
        include_str!("../../scenarios/isr-shrink-kafka-4-1.toml"),
    ),
    (
        "power-loss-last-known-leader",
        include_str!("../../scenarios/power-loss-last-known-leader.toml"),
    ),
    (
        "power-loss-flushed",
        include_str!("../../scenarios/power-loss-flushed.toml"),
    ),
    (
        "unclean-election-on",
        include_str!("../../scenarios/unclean-election-on.toml"),
    ),
    (
        "unclean-election-off",
        include_str!("../../scenarios/unclean-election-off.toml"),
    ),
    (
        "kip101-1-high-watermark",
        include_str!("../../scenarios/kip101-1-high-watermark.toml"),
    ),
    (
        "kip101-1-leader-epoch",
        include_str!("../../scenarios/kip101-1-leader-epoch.toml"),
    ),
    (
        "kip101-2-high-watermark",
        include_str!("../../scenarios/kip101-2-high-watermark.toml"),
    ),
    (
        "kip101-2-leader-epoch",
        include_str!("../../scenarios/kip101-2-leader-epoch.toml"),
    ),
    (
        "retries-duplicate",
        include_str!("../../scenarios/retries-duplicate.toml"),
    ),
    (
        "retries-idempotent",
        include_str!("../../scenarios/retries-idempotent.toml"),
    ),
    (
        "retries-reorder",
        include_str!("../../scenarios/retries-reorder.toml"),
    ),
    (
        "retries-reorder-idempotent",
        include_str!("../../scenarios/retries-reorder-idempotent.toml"),
    ),
    (
        "commit-before-processing",
        include_str!("../../scenarios/commit-before-processing.toml"),
    ),
    (
        "commit-after-processing",
        include_str!("../../scenarios/commit-after-processing.toml"),
    ),
    (
        "auto-commit-duplicates",
        include_str!("../../scenarios/auto-commit-duplicates.toml"),
    ),
    (
        "zombie-consumer",
        include_str!("../../scenarios/zombie-consumer.toml"),
    ),
    (
        "rebalance-eager",
        include_str!("../../scenarios/rebalance-eager.toml"),
    ),
    (
        "rebalance-cooperative",
        include_str!("../../scenarios/rebalance-cooperative.toml"),
    ),
    (
        "scale-out-group",
        include_str!("../../scenarios/scale-out-group.toml"),
    ),
    (
        "consumer-truncation-unvalidated",
        include_str!("../../scenarios/consumer-truncation-unvalidated.toml"),
    ),
    (
        "consumer-truncation-validated",
        include_str!("../../scenarios/consumer-truncation-validated.toml"),
    ),
    (
        "two-groups-one-topic",
        include_str!("../../scenarios/two-groups-one-topic.toml"),
    ),
    (
        "ml-feature-pipeline",
        include_str!("../../scenarios/ml-feature-pipeline.toml"),
    ),
    ("classroom", include_str!("../../scenarios/classroom.toml")),
    (
        "real-clients",
        include_str!("../../scenarios/real-clients.toml"),
    ),
    (
        "nemesis-base",
        include_str!("../../scenarios/nemesis-base.toml"),
    ),
];

pub fn find(name: &str) -> Option<&'static str> {
    SCENARIOS.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

/// The closest shipped name, for "did you mean".
pub fn suggest(name: &str) -> Option<&'static str> {
    crate::located::closest(name, SCENARIOS.iter().map(|(n, _)| *n))
}
