#!/usr/bin/env python3
"""A confluent-kafka (librdkafka) producer with acks=all: sends --count JSON events and prints
`summary {json}` with the ids whose delivery was reported and the errors."""

import argparse
import json
import sys

from confluent_kafka import Producer


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bootstrap", required=True)
    p.add_argument("--topic", default="user-events")
    p.add_argument("--count", type=int, default=20)
    p.add_argument("--first-id", type=int, default=0)
    p.add_argument("--timeout", type=float, default=60.0)
    args = p.parse_args()

    producer = Producer({
        "bootstrap.servers": args.bootstrap,
        "acks": "all",
        "enable.idempotence": True,
        "client.id": "confluent-producer",
    })
    delivered, errors = [], []

    def report(err, msg):
        if err is not None:
            errors.append(str(err))
        else:
            delivered.append(json.loads(msg.value())["event_id"])

    for i in range(args.count):
        event_id = args.first_id + i
        user = f"user-{i % 5}"
        value = {"event_id": event_id, "user": user, "action": "view", "amount": 1.0 + i}
        producer.produce(args.topic, key=user, value=json.dumps(value), on_delivery=report)
        producer.poll(0)
    left = producer.flush(args.timeout)
    print("summary " + json.dumps({"delivered": sorted(delivered), "errors": errors,
                                   "undelivered": left}), flush=True)
    sys.exit(0 if not errors and left == 0 else 1)


if __name__ == "__main__":
    main()
