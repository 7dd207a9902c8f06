#!/usr/bin/env python3
"""One member of a kafka-python consumer group, steered by tests/real_clients.rs.

Prints `assigned [p, ...]` whenever its assignment changes (the partitions it now owns), `record {json}`
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

    # The assignment is read after each poll rather than from a ConsumerRebalanceListener:
    # kafka-python 3.0.0 marks every partition "pending revocation" before calling a listener's
    # on_partitions_revoked in an eager rebalance, and keeps that state for the partitions it is
    # given back, which then are never fetched again (a client bug; without a listener the flag
    # is never set).
    consumer.subscribe([args.topic])

    commands = queue.Queue()

    def read_stdin():
        for line in sys.stdin:
            commands.put(line.strip())
        commands.put("stop")  # stdin closed: the test is gone

    threading.Thread(target=read_stdin, daemon=True).start()
    assigned = None
    start = time.monotonic()
    while time.monotonic() - start < args.timeout:
        try:
            if commands.get_nowait() == "stop":
                break
        except queue.Empty:
            pass
        polled = consumer.poll(timeout_ms=200)
        now = sorted(tp.partition for tp in consumer.assignment())
        if now != assigned:
            assigned = now
            print("assigned " + json.dumps(now), flush=True)
        for tp, records in polled.items():
            for r in records:
                print("record " + json.dumps({"partition": r.partition, "offset": r.offset,
                                              "event_id": r.value.get("event_id")}), flush=True)
    else:
        print(f"{args.name}: timeout after {args.timeout}s", file=sys.stderr, flush=True)
    consumer.close()
    print("closed", flush=True)


if __name__ == "__main__":
    main()
