"""Retention through the running broker: old segments go, the log start offset moves, and
consumers see it (ListOffsets earliest, OFFSET_OUT_OF_RANGE below it)."""

from __future__ import annotations

import time

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic


def test_retention_bytes_and_ms_delete_old_segments(make_broker, topic_name):
    b = make_broker(config={"log.retention.check.interval.ms": 100})
    admin = AdminClient({"bootstrap.servers": b.bootstrap_servers})
    by_size, by_time = topic_name + "-size", topic_name + "-time"
    admin.create_topics([
        NewTopic(by_size, 1, 1, config={"segment.bytes": "2000", "retention.bytes": "5000"}),
        NewTopic(by_time, 1, 1, config={"segment.bytes": "2000", "retention.ms": "1000"}),
    ])[by_size].result(10)
    p = Producer({"bootstrap.servers": b.bootstrap_servers, "linger.ms": 0})
    now = int(time.time() * 1000)
    for _ in range(100):
        p.produce(by_size, b"x" * 100, timestamp=now)
        p.produce(by_time, b"y" * 100, timestamp=now - 60_000)  # already a minute old
        p.flush(10)
    c = Consumer({"bootstrap.servers": b.bootstrap_servers, "group.id": "retention"})

    def earliest(topic: str) -> tuple[int, int]:
        return c.get_watermark_offsets(TopicPartition(topic, 0), 10, cached=False)

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        (size_low, size_high), (time_low, time_high) = earliest(by_size), earliest(by_time)
        if size_low > 0 and time_low == time_high:
            break
        time.sleep(0.2)
    assert size_high == 100 and 0 < size_low < 100
    plog = b.server.core.topics[by_size].partitions[0].log
    assert b.call(lambda: plog.size_bytes) <= 5000 + 2000  # what is kept fits the limits
    assert (time_low, time_high) == (100, 100)  # every segment had expired
    c.close()
