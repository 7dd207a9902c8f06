#!/usr/bin/env python3
"""One member of a kafka-python consumer group, steered by tests/real_clients.rs.

Prints `assigned [p, ...]` after every rebalance (the partitions it now owns), `record {json}`
for every record it reads, and `closed` once it has left the group. Reads commands on stdin:
`stop` closes the consumer (it commits and leaves the group, so the others rebalance at once).
"""

import argparse
import json
import queue
import sys
import threading
import time

from kafka import KafkaConsumer
from kafka.consumer.subscription_state import ConsumerRebalanceListener


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bootstrap", required=True)
    p.add_argument("--topic", default="user-events")
    p.add_argument("--group", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--timeout", type=float, default=180.0, help="give up after this long")
    args = p.parse_args()

    consumer = KafkaConsumer(
        bootstrap_servers=args.bootstrap.split(","),
        group_id=args.group,
        client_id=args.name,
        auto_offset_reset="earliest",
        session_timeout_ms=10000,
        heartbeat_interval_ms=1000,
        value_deserializer=lambda v: json.loads(v),
    )

    class Listener(ConsumerRebalanceListener):
        def on_partitions_revoked(self, revoked):
            print("revoked " + json.dumps(sorted(tp.partition for tp in revoked)), flush=True)

        def on_partitions_assigned(self, assigned):
            print("assigned " + json.dumps(sorted(tp.partition for tp in assigned)), flush=True)

    consumer.subscribe([args.topic], listener=Listener())

    commands = queue.Queue()

    def read_stdin():
        for line in sys.stdin:
            commands.put(line.strip())
        commands.put("stop")  # stdin closed: the test is gone

    threading.Thread(target=read_stdin, daemon=True).start()
    start = time.monotonic()
    while time.monotonic() - start < args.timeout:
        try:
            if commands.get_nowait() == "stop":
                break
        except queue.Empty:
            pass
        for tp, records in consumer.poll(timeout_ms=200).items():
            for r in records:
                print("record " + json.dumps({"partition": r.partition, "offset": r.offset,
                                              "event_id": r.value.get("event_id")}), flush=True)
    else:
        print(f"{args.name}: timeout after {args.timeout}s", file=sys.stderr, flush=True)
    consumer.close()
    print("closed", flush=True)


if __name__ == "__main__":
    main()
