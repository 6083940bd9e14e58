"""aiokafka against the broker: produce, consume, seek, admin."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic


def run(coro):
    return asyncio.run(coro)


@pytest.mark.parametrize("compression", [None, "gzip", "lz4", "zstd"])
def test_produce_consume_roundtrip(broker, topic_name, compression):
    async def main():
        admin = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap_servers)
        await admin.start()
        await admin.create_topics([NewTopic(topic_name, 2, 1)])
        await admin.close()

        p = AIOKafkaProducer(bootstrap_servers=broker.bootstrap_servers, acks="all",
                             compression_type=compression, linger_ms=5)
        await p.start()
        sent = {}
        futures = []
        for i in range(150):
            value = f"v{i}".encode() * (1 + i % 3)
            key = f"key{i % 7}".encode()
            headers = [("i", str(i).encode())]
            futures.append(await p.send(topic_name, value, key=key, headers=headers,
                                        timestamp_ms=1_650_000_000_000 + i))
            sent[value] = (key, headers, 1_650_000_000_000 + i)
        metas = await asyncio.gather(*futures)
        await p.stop()
        assert all(m.offset >= 0 for m in metas)

        c = AIOKafkaConsumer(bootstrap_servers=broker.bootstrap_servers,
                             enable_auto_commit=False, auto_offset_reset="earliest")
        await c.start()
        parts = [TopicPartition(topic_name, 0), TopicPartition(topic_name, 1)]
        c.assign(parts)
        await c.seek_to_beginning(*parts)
        got = []
        while len(got) < 150:
            batch = await asyncio.wait_for(c.getmany(timeout_ms=1000), 10)
            for records in batch.values():
                got.extend(records)
        await c.stop()
        return sent, got

    sent, got = run(main())
    assert len(got) == 150
    last = {}
    for m in got:
        key, headers, ts = sent[m.value]
        assert (m.key, list(m.headers), m.timestamp) == (key, headers, ts)
        assert m.offset == last.get(m.partition, -1) + 1
        last[m.partition] = m.offset


def test_offsets_for_times_and_seek(broker, topic_name):
    async def main():
        p = AIOKafkaProducer(bootstrap_servers=broker.bootstrap_servers)
        await p.start()
        for i in range(20):
            await p.send_and_wait(topic_name, f"m{i}".encode(), timestamp_ms=5_000 + i * 100)
        await p.stop()
        tp = TopicPartition(topic_name, 0)
        c = AIOKafkaConsumer(bootstrap_servers=broker.bootstrap_servers,
                             enable_auto_commit=False)
        await c.start()
        try:
            found = await c.offsets_for_times({tp: 5_000 + 1_050})
            ends = await c.end_offsets([tp])
            starts = await c.beginning_offsets([tp])
            c.assign([tp])
            c.seek(tp, 12)
            m = await asyncio.wait_for(c.getone(), 10)
        finally:
            await c.stop()
        return found[tp], ends[tp], starts[tp], m

    found, end, start, m = run(main())
    assert (found.offset, found.timestamp) == (11, 6_100)
    assert (start, end) == (0, 20)
    assert (m.offset, m.value) == (12, b"m12")
