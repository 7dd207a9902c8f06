//! The log's lifecycle in a scenario file: segment and retention settings on brokers and
//! topics, and the `delete-records` fault, read, checked and written back.

use super::*;
use crate::config::TimestampType;
use crate::scenario::to_toml;

const CLICKS: &str = r#"
[scenario]
name = "clicks"
duration = "30s"

[cluster]
brokers = 3

[broker]
log.retention.check.interval.ms = 1000
log.roll.ms = 3600000

[brokers.2]
log.retention.bytes = 5000000

[[topics]]
name = "clicks"
partitions = 2
replication.factor = 3
segment.ms = 5000
retention.ms = 15000
message.timestamp.type = "LogAppendTime"

[[topics]]
name = "archive"
retention.ms = -1
segment.bytes = 1048576

[[producers]]
name = "shop"
topic = "clicks"
rate = 10

[[faults]]
at = "20s"
action = "delete-records"
partition = "clicks-1"
offset = 40

[[faults]]
at = "25s"
action = "delete-records"
partition = "archive-0"
"#;

fn errors(text: &str) -> String {
    match parse("test.toml", text) {
        Ok(_) => panic!("parsed:\n{text}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn retention_settings_and_delete_records_parse_and_round_trip() {
    let s = parse("clicks.toml", CLICKS).unwrap_or_else(|e| panic!("{e}"));
    let (b1, b2) = (&s.broker_configs[0], &s.broker_configs[1]);
    assert_eq!(b1.log_retention_check_interval_ms, 1_000);
    assert_eq!(b1.log_roll_ms, 3_600_000);
    assert_eq!(b1.log_retention_ms, Some(604_800_000), "Kafka's 168 hours");
    assert_eq!(
        (b1.log_retention_bytes, b2.log_retention_bytes),
        (None, Some(5_000_000))
    );
    let clicks = &s.topics[0].overrides;
    assert_eq!(clicks.segment_ms, Some(5_000));
    assert_eq!(clicks.retention_ms, Some(Some(15_000)));
    assert_eq!(
        clicks.message_timestamp_type,
        Some(TimestampType::LogAppendTime)
    );
    let archive = &s.topics[1].overrides;
    assert_eq!(archive.retention_ms, Some(None), "-1: kept forever");
    assert_eq!(archive.segment_bytes, Some(1 << 20));
    assert_eq!(
        s.faults
            .iter()
            .map(|f| f.command.clone())
            .collect::<Vec<_>>(),
        vec![
            Command::DeleteRecords {
                tp: TopicPartition::new("clicks", 1),
                offset: Some(40)
            },
            Command::DeleteRecords {
                tp: TopicPartition::new("archive", 0),
                offset: None
            },
        ]
    );
    let text = to_toml(&s);
    let back = parse("written.toml", &text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(back, s, "changed on the way through:\n{text}");
    for line in [
        "\"retention.ms\" = -1\n",
        "\"message.timestamp.type\" = \"LogAppendTime\"\n",
        "action = \"delete-records\"\npartition = \"clicks-1\"\noffset = 40\n",
    ] {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }
}

#[test]
fn bad_retention_settings_and_delete_records_say_what_is_allowed() {
    let small = CLICKS.replacen("segment.bytes = 1048576", "segment.bytes = 1000", 1);
    let e = errors(&small);
    assert!(e.contains("segment.bytes") && e.contains("1048576"), "{e}");
    let compact = CLICKS.replacen("retention.ms = -1", "cleanup.policy = \"compact\"", 1);
    let e = errors(&compact);
    assert!(e.contains("cleanup.policy") && e.contains("delete"), "{e}");
    let nowhere = CLICKS.replacen("partition = \"clicks-1\"", "partition = \"clicks-7\"", 1);
    let e = errors(&nowhere);
    assert!(e.contains("topic `clicks` has no partition 7"), "{e}");
    let topic_only = CLICKS.replacen("partition = \"clicks-1\"", "partition = \"clicks\"", 1);
    let e = errors(&topic_only);
    assert!(e.contains("add the partition: \"clicks-0\""), "{e}");
}
