"""The queuing model: three workers in one consumer group share a topic's partitions, so
every record is processed by exactly one of them.

    ./dev serve                      # in one terminal
    .venv/bin/python examples/queue.py

It creates a 6-partition topic, starts 3 workers (threads, each its own consumer in group
"workers"), produces 60 jobs and prints which worker handled which job. Adding workers (up
to the number of partitions) spreads the work further.
"""

from __future__ import annotations

import argparse
import threading
import time
import uuid

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic


def worker(name: str, bootstrap: str, topic: str, done: list, stop: threading.Event) -> None:
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "workers",
                  "auto.offset.reset": "earliest", "enable.auto.commit": False})
    c.subscribe([topic])
    while not stop.is_set():
        msg = c.poll(0.2)
        if msg is None or msg.error():
            continue
        done.append((msg.value().decode(), name))  # "process" the job
        c.commit(msg, asynchronous=False)  # commit after processing: nothing is lost
    c.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap-server", default="127.0.0.1:9092")
    parser.add_argument("--jobs", type=int, default=60)
    args = parser.parse_args()
    bootstrap = args.bootstrap_server
    topic = f"jobs-{uuid.uuid4().hex[:6]}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, 6, 1)])[topic].result(10)

    done: list[tuple[str, str]] = []
    stop = threading.Event()
    workers = [threading.Thread(target=worker, args=(f"worker-{i}", bootstrap, topic, done,
                                                     stop)) for i in range(3)]
    for w in workers:
        w.start()
    time.sleep(5)  # let the group form (group.initial.rebalance.delay.ms is 3 s)

    producer = Producer({"bootstrap.servers": bootstrap})
    for i in range(args.jobs):
        producer.produce(topic, f"job-{i}".encode(), key=str(i).encode())
    producer.flush()

    deadline = time.time() + 30
    while len(done) < args.jobs and time.time() < deadline:
        time.sleep(0.2)
    stop.set()
    for w in workers:
        w.join()
    per_worker: dict[str, int] = {}
    for _, name in done:
        per_worker[name] = per_worker.get(name, 0) + 1
    jobs = {job for job, _ in done}
    twice = len(done) - len(jobs)
    print(f"{len(jobs)}/{args.jobs} jobs processed, {twice} more than once: {per_worker}")


if __name__ == "__main__":
    main()
