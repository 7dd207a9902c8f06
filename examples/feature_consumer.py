#!/usr/bin/env python3
"""A real-time ML feature pipeline: read user events, keep per-user features, print them.

For every user it keeps a rolling window of the last --window amounts and prints, for each
event, the user's event count, the rolling mean and the total spent. The consumer is in a
group (`features`), so its position is committed: stop it and start it again and it goes on
where it stopped. Without a group_id kafka-python commits nothing, and every start replays
the topic from auto_offset_reset.

    python examples/feature_consumer.py --bootstrap 127.0.0.1:9092

With --json every record is also printed as one JSON line (partition, offset, key, value),
and the last line is `summary {json}`; tests read those.
"""

import argparse
import collections
import json
import sys
import time

from kafka import KafkaConsumer


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--bootstrap", default="127.0.0.1:9092",
                   help="comma-separated host:port list (serve prints it on its ready: line)")
    p.add_argument("--topic", default="user-events")
    p.add_argument("--group", default="features", help="consumer group id")
    p.add_argument("--window", type=int, default=5, help="amounts in each user's rolling mean")
    p.add_argument("--count", type=int, default=0,
                   help="stop after this many records (0: never; see --drain)")
    p.add_argument("--drain", type=float, default=0.0,
                   help="after --count records, keep reading until nothing came for this long "
                        "(seconds): shows duplicates instead of hiding them")
    p.add_argument("--timeout", type=float, default=0.0,
                   help="stop after this many seconds in all (0: never)")
    p.add_argument("--json", action="store_true", help="print every record as a JSON line")
    return p.parse_args(argv)


class Features:
    """Per-user features, updated one event at a time."""

    def __init__(self, window):
        self.count = collections.Counter()
        self.total = collections.defaultdict(float)
        self.recent = collections.defaultdict(lambda: collections.deque(maxlen=window))

    def update(self, event):
        user, amount = event["user"], float(event["amount"])
        self.count[user] += 1
        self.total[user] += amount
        self.recent[user].append(amount)
        mean = sum(self.recent[user]) / len(self.recent[user])
        return {"user": user, "events": self.count[user], "rolling_mean": round(mean, 2),
                "total": round(self.total[user], 2)}


def main(argv=None):
    args = parse_args(argv)
    consumer = KafkaConsumer(
        args.topic,
        bootstrap_servers=args.bootstrap.split(","),
        auto_offset_reset="earliest",
        group_id=args.group,
        key_deserializer=lambda k: k.decode() if k is not None else None,
        value_deserializer=lambda v: json.loads(v),
        client_id="feature-consumer",
    )
    features = Features(args.window)
    seen = []
    start = time.monotonic()
    last_record = start
    try:
        while True:
            now = time.monotonic()
            if args.timeout and now - start > args.timeout:
                print(f"timeout after {args.timeout}s with {len(seen)} records", file=sys.stderr)
                break
            if args.count and len(seen) >= args.count and now - last_record >= args.drain:
                break
            batches = consumer.poll(timeout_ms=200)
            for tp, records in batches.items():
                for r in records:
                    last_record = time.monotonic()
                    seen.append(r.value.get("event_id"))
                    f = features.update(r.value)
                    if args.json:
                        print(json.dumps({"partition": r.partition, "offset": r.offset,
                                          "key": r.key, "value": r.value}, sort_keys=True))
                    print(f"{f['user']:>8}  events={f['events']:<4} "
                          f"rolling_mean={f['rolling_mean']:<8} total={f['total']}", flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        consumer.close()  # commits the position (auto commit) and leaves the group
    print("summary " + json.dumps({"event_ids": seen}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
