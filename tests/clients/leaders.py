#!/usr/bin/env python3
"""Print the topic's partition leaders as JSON, as a kafka-python client sees them.

    {"0": 2, "1": 3, "2": 1}
"""

import argparse
import json
import sys
import time

from kafka import KafkaAdminClient


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bootstrap", required=True)
    p.add_argument("--topic", default="user-events")
    p.add_argument("--timeout", type=float, default=30.0)
    args = p.parse_args()
    admin = KafkaAdminClient(bootstrap_servers=args.bootstrap.split(","), client_id="leaders")
    deadline = time.monotonic() + args.timeout
    while True:
        [topic] = admin.describe_topics([args.topic])
        leaders = {str(pt["partition_index"]): pt["leader_id"] for pt in topic["partitions"]}
        if leaders and all(l >= 0 for l in leaders.values()):
            break
        if time.monotonic() > deadline:
            print(f"no leader for every partition: {topic}", file=sys.stderr)
            sys.exit(1)
        time.sleep(0.5)
    admin.close()
    print(json.dumps(leaders, sort_keys=True), flush=True)


if __name__ == "__main__":
    main()
