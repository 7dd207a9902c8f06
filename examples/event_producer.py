#!/usr/bin/env python3
"""Send JSON user events to Kafka (or to `kafkascope serve`), keyed by user id.

The producer is the careful one: acks='all' (the leader answers only once every in-sync
replica has the record) and enable_idempotence=True (a retried batch is written once, in
order). Crash a leader while it runs and it keeps going: it retries against the new leader,
and no acknowledged event is lost or written twice.

    python examples/event_producer.py --bootstrap 127.0.0.1:9092 --count 300 --interval 0.05

Every acknowledged event prints `acked <n> <event_id> partition=<p> offset=<o>`; the last line
is `summary {json}` with the ids sent, acknowledged and failed (tests read it).
"""

import argparse
import json
import random
import sys
import time

from kafka import KafkaProducer


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--bootstrap", default="127.0.0.1:9092",
                   help="comma-separated host:port list (serve prints it on its ready: line)")
    p.add_argument("--topic", default="user-events")
    p.add_argument("--count", type=int, default=100, help="events to send (0: until Ctrl-C)")
    p.add_argument("--first-id", type=int, default=0, help="event_id of the first event")
    p.add_argument("--users", type=int, default=10, help="how many distinct users")
    p.add_argument("--interval", type=float, default=0.1, help="seconds between sends")
    p.add_argument("--seed", type=int, default=1, help="seed of the users and amounts")
    p.add_argument("--timeout", type=float, default=120.0,
                   help="seconds to wait at the end for every event's acknowledgement")
    p.add_argument("--request-timeout-ms", type=int, default=30000,
                   help="how long a request waits for a broker before it is retried")
    p.add_argument("--quiet", action="store_true", help="print only the summary")
    return p.parse_args(argv)


def event(rng, event_id, users):
    user = f"user-{rng.randrange(users)}"
    return user, {
        "event_id": event_id,
        "user": user,
        "action": rng.choice(["view", "click", "purchase"]),
        "amount": round(rng.uniform(1.0, 100.0), 2),
        "ts_ms": int(time.time() * 1000),
    }


def main(argv=None):
    args = parse_args(argv)
    producer = KafkaProducer(
        bootstrap_servers=args.bootstrap.split(","),
        acks="all",
        enable_idempotence=True,
        # Idempotence keeps order with up to 5 batches in flight per connection.
        max_in_flight_requests_per_connection=5,
        request_timeout_ms=args.request_timeout_ms,
        delivery_timeout_ms=max(120000, args.request_timeout_ms * 4),
        key_serializer=lambda k: k.encode(),
        value_serializer=lambda v: json.dumps(v, sort_keys=True).encode(),
        client_id="event-producer",
    )
    rng = random.Random(args.seed)
    sent, acked, failed = [], [], []

    def on_ack(event_id):
        def ok(md):
            acked.append(event_id)
            if not args.quiet:
                print(f"acked {len(acked)} {event_id} partition={md.partition} offset={md.offset}",
                      flush=True)
        return ok

    def on_error(event_id):
        def err(exc):
            failed.append(event_id)
            print(f"failed {event_id}: {exc!r}", file=sys.stderr, flush=True)
        return err

    i = 0
    try:
        while args.count == 0 or i < args.count:
            event_id = args.first_id + i
            key, value = event(rng, event_id, args.users)
            fut = producer.send(args.topic, key=key, value=value)
            fut.add_callback(on_ack(event_id))
            fut.add_errback(on_error(event_id))
            sent.append(event_id)
            i += 1
            if args.interval > 0:
                time.sleep(args.interval)
    except KeyboardInterrupt:
        pass
    # flush() waits for every outstanding batch: retried ones too.
    producer.flush(timeout=args.timeout)
    producer.close(timeout=5)
    summary = {"sent": sent, "acked": sorted(acked), "failed": sorted(failed)}
    print("summary " + json.dumps(summary), flush=True)
    print(f"sent {len(sent)}, acknowledged {len(acked)}, failed {len(failed)}", file=sys.stderr)
    return 0 if len(acked) == len(sent) else 1


if __name__ == "__main__":
    sys.exit(main())
