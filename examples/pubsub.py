"""The pub/sub model: two consumer groups read the same topic, and each gets every record.

    ./dev serve                       # in one terminal
    .venv/bin/python examples/pubsub.py

"billing" and "audit" are two groups (two different applications); each receives all 20
events. Within each group, the partitions would be split between its members (see queue.py).
"""

from __future__ import annotations

import argparse
import time
import uuid

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic


def read_all(bootstrap: str, topic: str, group: str, expected: int) -> list[str]:
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                  "auto.offset.reset": "earliest"})
    c.subscribe([topic])
    got: list[str] = []
    deadline = time.time() + 30
    while len(got) < expected and time.time() < deadline:
        msg = c.poll(0.2)
        if msg is not None and not msg.error():
            got.append(msg.value().decode())
    c.close()  # commits (enable.auto.commit) and leaves the group
    return got


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap-server", default="127.0.0.1:9092")
    args = parser.parse_args()
    bootstrap = args.bootstrap_server
    topic = f"events-{uuid.uuid4().hex[:6]}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, 3, 1)])[topic].result(10)

    producer = Producer({"bootstrap.servers": bootstrap})
    for i in range(20):
        producer.produce(topic, f"event-{i}".encode())
    producer.flush()

    for group in ("billing", "audit"):
        got = read_all(bootstrap, topic, f"{group}-{topic}", 20)
        print(f"group {group!r} received {len(got)}/20 events")


if __name__ == "__main__":
    main()
