"""kill -9 the broker again and again under an idempotent acks=all producer: every
acknowledged record survives, exactly once, in order."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from confluent_kafka import Consumer, TopicPartition

KILLS = int(os.environ.get("ODRADEK_CRASH_KILLS", "50"))
TOPIC = "crash-loop"
PARTITIONS = 3

PRODUCER = r"""
import sys, time
from confluent_kafka import Producer
bootstrap, acked_path, stop_path = sys.argv[1:4]
acked = open(acked_path, "a", buffering=1)
p = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all",
              "linger.ms": 2, "message.timeout.ms": 600000, "retry.backoff.ms": 20,
              "reconnect.backoff.ms": 20, "reconnect.backoff.max.ms": 200,
              "topic.metadata.refresh.interval.ms": 1000})
fatal = []
def delivered(err, msg):
    if err is None:
        acked.write(f"{msg.partition()} {msg.offset()} {msg.value().decode()}\n")
    elif err.fatal():
        fatal.append(err)
seq = 0
import os
while not os.path.exists(stop_path):
    try:
        p.produce("crash-loop", f"v{seq:09d}".encode(), key=str(seq % 3).encode(),
                  partition=seq % 3, on_delivery=delivered)
        seq += 1
    except BufferError:
        p.poll(0.05)
    p.poll(0)
    if seq % 200 == 0:
        time.sleep(0.01)
    if fatal:
        print("FATAL", fatal[0], flush=True)
        sys.exit(1)
remaining = p.flush(120)
print("DONE", seq, remaining, flush=True)
sys.exit(0 if remaining == 0 and not fatal else 1)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_broker(data: Path, port: int, log) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-m", "odradek", "serve", "--port", str(port), "--data-dir",
         str(data), "-o", f"num.partitions={PARTITIONS}"], stdout=log, stderr=log)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc
        except OSError:
            time.sleep(0.02)
    proc.kill()
    raise AssertionError("broker did not start")


def test_kill_9_loop_loses_nothing_and_duplicates_nothing(tmp_path):
    data, port = tmp_path / "data", free_port()
    bootstrap = f"127.0.0.1:{port}"
    acked_path, stop_path = tmp_path / "acked.txt", tmp_path / "stop"
    rng = random.Random(5)
    log = open(tmp_path / "broker.log", "ab")
    broker = start_broker(data, port, log)
    producer = subprocess.Popen([sys.executable, "-c", PRODUCER, bootstrap, str(acked_path),
                                 str(stop_path)], stdout=subprocess.PIPE, text=True)
    try:
        for _ in range(KILLS):
            time.sleep(rng.uniform(0.1, 0.6))  # produce for a while, then crash mid-flight
            broker.send_signal(signal.SIGKILL)
            broker.wait()
            broker = start_broker(data, port, log)
        time.sleep(0.5)
        stop_path.touch()
        out, _ = producer.communicate(timeout=180)
        assert producer.returncode == 0, out
    finally:
        producer.kill()
        broker.send_signal(signal.SIGTERM)
        broker.wait(30)
        log.close()

    acked = [line.split() for line in acked_path.read_text().splitlines()]
    assert len(acked) > 1000, f"only {len(acked)} records acknowledged"
    broker = start_broker(data, port, open(tmp_path / "broker.log", "ab"))
    try:
        stored = read_partitions(bootstrap)
    finally:
        broker.send_signal(signal.SIGTERM)
        broker.wait(30)
    for partition in range(PARTITIONS):
        values = [v for v, _ in stored[partition]]
        # exactly once and in order: the producer wrote increasing sequence numbers
        assert len(values) == len(set(values)), f"duplicates in partition {partition}"
        assert values == sorted(values), f"out of order in partition {partition}"
    where = {v: (p, o) for p in stored for v, o in stored[p]}
    lost = [(p, o, v) for p, o, v in acked if v not in where]
    assert not lost, f"{len(lost)} acknowledged records lost, e.g. {lost[:3]}"
    moved = [(p, o, v) for p, o, v in acked if where[v] != (int(p), int(o))]
    assert not moved, f"acknowledged at one offset, stored at another: {moved[:3]}"
    print(f"crash loop: {KILLS} kill -9, {len(acked)} acknowledged, 0 lost, 0 duplicates")


def read_partitions(bootstrap: str) -> dict[int, list[tuple[str, int]]]:
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "crash-check",
                  "enable.partition.eof": True, "enable.auto.commit": False})
    c.assign([TopicPartition(TOPIC, p, 0) for p in range(PARTITIONS)])
    stored: dict[int, list[tuple[str, int]]] = {p: [] for p in range(PARTITIONS)}
    at_end: set[int] = set()
    deadline = time.monotonic() + 120
    while len(at_end) < PARTITIONS and time.monotonic() < deadline:
        m = c.poll(1)
        if m is None:
            continue
        if m.error():
            at_end.add(m.partition())
            continue
        stored[m.partition()].append((m.value().decode(), m.offset()))
    c.close()
    assert len(at_end) == PARTITIONS, "did not reach the end of every partition"
    return stored
