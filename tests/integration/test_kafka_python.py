"""kafka-python against the broker: produce, consume, seek, admin."""

from __future__ import annotations

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import (
    ConfigResource,
    ConfigResourceType,
    KafkaAdminClient,
    NewPartitions,
    NewTopic,
)
from kafka.errors import TopicAlreadyExistsError, UnknownTopicOrPartitionError


@pytest.fixture
def admin(broker):
    a = KafkaAdminClient(bootstrap_servers=broker.bootstrap_servers)
    yield a
    a.close()


@pytest.mark.parametrize("compression", [None, "gzip", "snappy", "lz4", "zstd"])
def test_produce_consume_roundtrip(broker, admin, topic_name, compression):
    admin.create_topics([NewTopic(topic_name, 3, 1)])
    p = KafkaProducer(bootstrap_servers=broker.bootstrap_servers, acks="all",
                      compression_type=compression, linger_ms=5)
    base_ts = 1_700_000_000_000
    sent = {}
    for i in range(200):
        value = f"value-{i}".encode() * (1 + i % 5)
        key = f"k{i % 11}".encode()
        headers = [("n", str(i).encode()), ("empty", b"")]
        p.send(topic_name, value, key=key, headers=headers, timestamp_ms=base_ts + i)
        sent[value] = (key, headers, base_ts + i)
    p.flush(15)
    p.close()

    c = KafkaConsumer(bootstrap_servers=broker.bootstrap_servers, enable_auto_commit=False,
                      consumer_timeout_ms=5000)
    parts = [TopicPartition(topic_name, i) for i in range(3)]
    c.assign(parts)
    c.seek_to_beginning(*parts)
    got = []
    for m in c:
        got.append(m)
        if len(got) == 200:
            break
    c.close()
    assert len(got) == 200
    last = {}
    for m in got:
        key, headers, ts = sent[m.value]
        assert (m.key, [(k, v) for k, v in m.headers], m.timestamp) == (key, headers, ts)
        assert m.offset == last.get(m.partition, -1) + 1
        last[m.partition] = m.offset


def test_seek_by_offset_and_timestamp(broker, admin, topic_name):
    admin.create_topics([NewTopic(topic_name, 1, 1)])
    p = KafkaProducer(bootstrap_servers=broker.bootstrap_servers, linger_ms=0)
    for i in range(50):
        p.send(topic_name, f"m{i}".encode(), timestamp_ms=1_000_000 + i * 10)
        if i % 7 == 0:
            p.flush()
    p.flush()
    p.close()
    tp = TopicPartition(topic_name, 0)
    c = KafkaConsumer(bootstrap_servers=broker.bootstrap_servers, enable_auto_commit=False,
                      consumer_timeout_ms=5000)
    found = c.offsets_for_times({tp: 1_000_000 + 215})
    assert found[tp].offset == 22 and found[tp].timestamp == 1_000_220
    assert c.beginning_offsets([tp]) == {tp: 0}
    assert c.end_offsets([tp]) == {tp: 50}
    c.assign([tp])
    c.seek(tp, 33)
    m = next(c)
    assert (m.offset, m.value) == (33, b"m33")
    c.close()


def test_admin_describe_alter_delete(broker, admin, topic_name):
    admin.create_topics([NewTopic(topic_name, 1, 1, topic_configs={"cleanup.policy": "delete"})])
    with pytest.raises(TopicAlreadyExistsError):
        admin.create_topics([NewTopic(topic_name, 1, 1)])
    admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, topic_name,
                                        configs={"retention.bytes": "123456"})])
    described = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic_name)],
                                       config_filter="all")
    entries = described["topic"][topic_name]
    assert entries["retention.bytes"]["value"] == "123456"
    assert entries["retention.bytes"]["config_source"] == "DYNAMIC_TOPIC_CONFIG"
    assert entries["cleanup.policy"]["value"] == "delete"
    assert entries["segment.bytes"] == {
        "value": "1073741824", "read_only": False, "config_source": "DEFAULT_CONFIG",
        "is_sensitive": False, "synonyms": [], "config_type": "INT", "documentation": None}
    admin.create_partitions({topic_name: NewPartitions(total_count=3)})
    meta = admin.describe_topics([topic_name])
    assert len(meta[0]["partitions"]) == 3
    admin.delete_topics([topic_name])
    assert topic_name not in admin.list_topics()
    with pytest.raises(UnknownTopicOrPartitionError):
        admin.delete_topics([topic_name])


def test_describe_log_dirs_gives_partition_sizes(broker, admin, topic_name):
    admin.create_topics([NewTopic(topic_name, 2, 1)])
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap_servers)
    for _ in range(10):
        producer.send(topic_name, b"x" * 1000, partition=0)
    producer.flush()
    producer.close()
    (described,) = admin.describe_log_dirs()
    (log_dir,) = described["log_dirs"]
    data_dir = broker.settings.data_dir
    assert log_dir["error_code"] == 0 and log_dir["log_dir"] == str(data_dir.resolve())
    assert 0 < log_dir["usable_bytes"] <= log_dir["total_bytes"]
    (topic,) = [t for t in log_dir["topics"] if t["name"] == topic_name]
    sizes = {p["partition_index"]: p["partition_size"] for p in topic["partitions"]}
    segments = sorted((data_dir / f"{topic_name}-0").glob("*.log"))
    assert sizes == {0: sum(s.stat().st_size for s in segments), 1: 0}
    assert sizes[0] > 10_000
    assert all(p["offset_lag"] == 0 and not p["is_future_key"] for p in topic["partitions"])
