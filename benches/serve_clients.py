"""What real clients get from `kafkascope serve`: a kafka-python producer's throughput and the
end-to-end latency a consumer sees, at --speed 1.

    cargo build --release
    target/release/kafkascope serve --port 19092 &
    python3 benches/serve_clients.py --bootstrap 127.0.0.1:19092

Prints records/s and produce requests/s for one producer sending as fast as it can (acks=all,
idempotent, 100-byte values, kafka-python's default batching), the request rate of a producer
that awaits each record (one per request), then the median and 95th
percentile of send-to-receive time for records sent one at a time while a consumer polls.
Times are wall-clock: they include the simulated network (1-5 ms a hop by default), the
followers' fetches for acks=all, and the Python clients themselves.
"""
import argparse
import statistics
import threading
import time

from kafka import KafkaConsumer, KafkaProducer, TopicPartition


def throughput(bootstrap, seconds):
    p = KafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    value = b"x" * 100
    sent = 0
    start = time.time()
    while time.time() - start < seconds:
        p.send("user-events", value=value, key=str(sent % 100).encode())
        sent += 1
    p.flush()
    took = time.time() - start
    per_request = p.metrics().get("producer-metrics", {}).get("records-per-request-avg")
    p.close()
    return sent / took, (sent / per_request / took) if per_request else None


def sync_requests(bootstrap, seconds):
    """One record per request, each awaited: the request rate without batching."""
    p = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=0)
    n = 0
    start = time.time()
    while time.time() - start < seconds:
        p.send("user-events", value=b"x" * 100, partition=n % 3).get(timeout=30)
        n += 1
    took = time.time() - start
    p.close()
    return n / took


def latency(bootstrap, count):
    c = KafkaConsumer(bootstrap_servers=bootstrap, auto_offset_reset="latest")
    tp = TopicPartition("user-events", 0)
    c.assign([tp])
    c.seek_to_end(tp)
    c.position(tp)
    received = {}

    def consume():
        while len(received) < count:
            for records in c.poll(timeout_ms=100).values():
                for r in records:
                    received[r.value] = time.time()

    t = threading.Thread(target=consume)
    t.start()
    p = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=0)
    sent = {}
    for i in range(count):
        v = f"probe-{i}".encode()
        sent[v] = time.time()
        p.send("user-events", value=v, partition=0).get(timeout=30)
        time.sleep(0.05)
    t.join(timeout=60)
    p.close()
    c.close()
    ms = sorted((received[v] - sent[v]) * 1000 for v in sent if v in received)
    return statistics.median(ms), ms[int(len(ms) * 0.95) - 1], len(ms)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bootstrap", default="127.0.0.1:9092")
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--probes", type=int, default=100)
    a = ap.parse_args()
    rps, reqs = throughput(a.bootstrap, a.seconds)
    print(f"producer: {rps:.0f} records/s" + (f" in {reqs:.0f} produce requests/s" if reqs else ""))
    print(f"producer, one record per request, each awaited: {sync_requests(a.bootstrap, a.seconds):.0f} requests/s")
    p50, p95, n = latency(a.bootstrap, a.probes)
    print(f"end-to-end latency over {n} records: median {p50:.1f} ms, p95 {p95:.1f} ms")


if __name__ == "__main__":
    main()
