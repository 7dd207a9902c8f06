#!/usr/bin/env python3
"""Print the topic's partition leaders as JSON, as a kafka-python client sees them.

    {"0": 2, "1": 3, "2": 1}

Uses a group-less KafkaConsumer's metadata (ApiVersions and Metadata only: no admin APIs).
"""

import argparse
import json
import sys
import time

from kafka import KafkaConsumer, TopicPartition


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bootstrap", required=True)
    p.add_argument("--topic", default="user-events")
    p.add_argument("--timeout", type=float, default=30.0)
    args = p.parse_args()
    consumer = KafkaConsumer(bootstrap_servers=args.bootstrap.split(","), client_id="leaders")
    deadline = time.monotonic() + args.timeout
    while True:
        consumer._fetch_all_topic_metadata()
        partitions = consumer._cluster.partitions_for_topic(args.topic) or set()
        leaders = {str(p): consumer._cluster.leader_for_partition(TopicPartition(args.topic, p))
                   for p in sorted(partitions)}
        if leaders and all(l is not None and l >= 0 for l in leaders.values()):
            break
        if time.monotonic() > deadline:
            print(f"no leader for every partition of {args.topic}: {leaders}", file=sys.stderr)
            sys.exit(1)
        time.sleep(0.5)
    consumer.close()
    print(json.dumps(leaders, sort_keys=True), flush=True)


if __name__ == "__main__":
    main()
