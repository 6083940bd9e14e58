"""confluent-kafka (librdkafka) against the broker: produce, consume, seek, admin."""

from __future__ import annotations

import time

import pytest
from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    ConfigSource,
    NewPartitions,
    NewTopic,
    OffsetSpec,
)


def admin(broker) -> AdminClient:
    return AdminClient({"bootstrap.servers": broker.bootstrap_servers})


def create_topic(broker, name: str, partitions: int = 1, config: dict | None = None) -> None:
    a = admin(broker)  # keep the client alive until the future completes
    a.create_topics([NewTopic(name, partitions, 1, config=config or {})])[name].result(10)


def consume_all(broker, topic: str, partitions: int, expected: int, timeout: float = 20):
    """Read `expected` records from the start of every partition, by assignment (no group)."""
    c = Consumer({"bootstrap.servers": broker.bootstrap_servers, "group.id": "unused",
                  "enable.auto.commit": False, "enable.partition.eof": False})
    c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
    got = []
    deadline = time.monotonic() + timeout
    while len(got) < expected and time.monotonic() < deadline:
        m = c.poll(0.2)
        if m is None:
            continue
        assert m.error() is None, m.error()
        got.append(m)
    c.close()
    return got


@pytest.mark.parametrize("compression", ["none", "gzip", "snappy", "lz4", "zstd"])
def test_produce_consume_keys_headers_timestamps(broker, topic_name, compression):
    create_topic(broker, topic_name, partitions=3)
    p = Producer({"bootstrap.servers": broker.bootstrap_servers, "acks": "all",
                  "compression.type": compression, "linger.ms": 5})
    base_ts = 1_700_000_000_000
    sent = {}
    for i in range(300):
        key = f"key-{i % 17}".encode()
        value = bytes([i % 256]) * (i % 50) + f"value-{i}".encode()
        headers = [("h1", f"v{i}".encode()), ("empty", b""), ("none", None)]
        p.produce(topic_name, value, key=key, headers=headers, timestamp=base_ts + i)
        sent[value] = (key, headers, base_ts + i)
    assert p.flush(15) == 0

    got = consume_all(broker, topic_name, 3, 300)
    assert len(got) == 300
    per_partition: dict[int, list[int]] = {}
    for m in got:
        key, headers, ts = sent[m.value()]
        assert m.key() == key
        assert m.headers() == headers
        assert m.timestamp() == (1, ts)  # (TIMESTAMP_CREATE_TIME, ts)
        per_partition.setdefault(m.partition(), []).append(m.offset())
    # Keyed records land in a stable partition, and each partition is read in offset order.
    for offsets in per_partition.values():
        assert offsets == list(range(len(offsets)))
    keys_by_partition = {}
    for m in got:
        keys_by_partition.setdefault(m.key(), set()).add(m.partition())
    assert all(len(parts) == 1 for parts in keys_by_partition.values())


def test_delivery_reports_carry_offsets(broker, topic_name):
    create_topic(broker, topic_name)
    p = Producer({"bootstrap.servers": broker.bootstrap_servers, "linger.ms": 0})
    offsets = []
    for i in range(5):
        p.produce(topic_name, f"m{i}".encode(),
                  on_delivery=lambda err, msg: offsets.append((err, msg.offset())))
        p.flush(10)
    assert offsets == [(None, i) for i in range(5)]


def test_seek_by_offset_and_by_timestamp(broker, topic_name):
    create_topic(broker, topic_name)
    p = Producer({"bootstrap.servers": broker.bootstrap_servers, "linger.ms": 0})
    base_ts = 1_600_000_000_000
    for i in range(100):
        p.produce(topic_name, f"m{i}".encode(), timestamp=base_ts + i * 1000)
        if i % 10 == 9:
            p.flush(10)  # several batches, so lookups land inside and between batches
    assert p.flush(10) == 0

    c = Consumer({"bootstrap.servers": broker.bootstrap_servers, "group.id": "unused",
                  "enable.auto.commit": False})
    # By timestamp: the first record at or after the time (inside a batch).
    found = c.offsets_for_times([TopicPartition(topic_name, 0, base_ts + 42_500)], 10)
    assert found[0].offset == 43
    found = c.offsets_for_times([TopicPartition(topic_name, 0, base_ts + 99_001)], 10)
    assert found[0].offset == -1  # nothing that late: end
    assert c.get_watermark_offsets(TopicPartition(topic_name, 0), 10) == (0, 100)

    c.assign([TopicPartition(topic_name, 0, 57)])
    m = None
    while m is None:
        m = c.poll(1)
    assert (m.offset(), m.value()) == (57, b"m57")
    c.close()


def test_list_offsets_max_timestamp(broker, topic_name):
    create_topic(broker, topic_name)
    p = Producer({"bootstrap.servers": broker.bootstrap_servers, "linger.ms": 0})
    stamps = [5000, 9000, 7000, 1000]
    for i, ts in enumerate(stamps):
        p.produce(topic_name, f"m{i}".encode(), timestamp=ts)
        p.flush(10)
    a = admin(broker)
    tp = TopicPartition(topic_name, 0)
    res = a.list_offsets({tp: OffsetSpec.max_timestamp()})[tp].result(10)
    assert (res.offset, res.timestamp) == (1, 9000)
    assert a.list_offsets({tp: OffsetSpec.earliest()})[tp].result(10).offset == 0
    assert a.list_offsets({tp: OffsetSpec.latest()})[tp].result(10).offset == 4


def test_topic_admin_create_describe_alter_delete(broker, topic_name):
    a = admin(broker)
    a.create_topics([NewTopic(topic_name, 2, 1, config={"retention.ms": "3600000"})])[
        topic_name].result(10)
    md = a.list_topics(timeout=10)
    assert topic_name in md.topics
    assert len(md.topics[topic_name].partitions) == 2

    with pytest.raises(KafkaException) as exc:
        a.create_topics([NewTopic(topic_name, 2, 1)])[topic_name].result(10)
    assert exc.value.args[0].code() == KafkaError.TOPIC_ALREADY_EXISTS

    res = ConfigResource(ConfigResource.Type.TOPIC, topic_name)
    configs = a.describe_configs([res])[res].result(10)
    assert configs["retention.ms"].value == "3600000"
    assert configs["retention.ms"].source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value
    assert configs["segment.bytes"].value == "1073741824"
    assert configs["segment.bytes"].is_default
    assert configs["cleanup.policy"].value == "delete"

    alter = ConfigResource(ConfigResource.Type.TOPIC, topic_name, incremental_configs=[
        ConfigEntry("retention.ms", "7200000",
                    incremental_operation=AlterConfigOpType.SET),
        ConfigEntry("max.message.bytes", "2000000",
                    incremental_operation=AlterConfigOpType.SET)])
    a.incremental_alter_configs([alter])[alter].result(10)
    configs = a.describe_configs([res])[res].result(10)
    assert configs["retention.ms"].value == "7200000"
    assert configs["max.message.bytes"].value == "2000000"

    delete = ConfigResource(ConfigResource.Type.TOPIC, topic_name, incremental_configs=[
        ConfigEntry("retention.ms", None, incremental_operation=AlterConfigOpType.DELETE)])
    a.incremental_alter_configs([delete])[delete].result(10)
    configs = a.describe_configs([res])[res].result(10)
    assert configs["retention.ms"].value == "604800000"
    assert configs["retention.ms"].is_default

    bad = ConfigResource(ConfigResource.Type.TOPIC, topic_name, incremental_configs=[
        ConfigEntry("retention.ms", "soon", incremental_operation=AlterConfigOpType.SET)])
    with pytest.raises(KafkaException) as exc:
        a.incremental_alter_configs([bad])[bad].result(10)
    assert exc.value.args[0].code() == KafkaError.INVALID_CONFIG

    a.create_partitions([NewPartitions(topic_name, 4)])[topic_name].result(10)
    assert len(a.list_topics(topic_name, timeout=10).topics[topic_name].partitions) == 4
    with pytest.raises(KafkaException) as exc:
        a.create_partitions([NewPartitions(topic_name, 3)])[topic_name].result(10)
    assert exc.value.args[0].code() == KafkaError.INVALID_PARTITIONS

    a.delete_topics([topic_name])[topic_name].result(10)
    assert topic_name not in a.list_topics(timeout=10).topics
    with pytest.raises(KafkaException) as exc:
        a.delete_topics([topic_name])[topic_name].result(10)
    assert exc.value.args[0].code() == KafkaError.UNKNOWN_TOPIC_OR_PART


def test_create_topic_errors(broker, topic_name):
    a = admin(broker)
    cases = {
        "bad/name": (NewTopic("bad/name", 1, 1), KafkaError.TOPIC_EXCEPTION),
        topic_name + "-rf": (NewTopic(topic_name + "-rf", 1, 3),
                             KafkaError.INVALID_REPLICATION_FACTOR),
        topic_name + "-cfg": (NewTopic(topic_name + "-cfg", 1, 1, config={"no.such": "1"}),
                              KafkaError.INVALID_CONFIG),
    }
    for name, (new, code) in cases.items():
        with pytest.raises(KafkaException) as exc:
            a.create_topics([new])[name].result(10)
        assert exc.value.args[0].code() == code, name
    # validate_only creates nothing
    a.create_topics([NewTopic(topic_name, 1, 1)], validate_only=True)[topic_name].result(10)
    assert topic_name not in a.list_topics(timeout=10).topics


def test_describe_broker_configs_and_cluster(broker):
    a = admin(broker)
    res = ConfigResource(ConfigResource.Type.BROKER, "1")
    configs = a.describe_configs([res])[res].result(10)
    assert configs["auto.create.topics.enable"].value == "true"
    assert configs["num.partitions"].value == "1"
    cluster = a.describe_cluster().result(10)
    assert [n.id for n in cluster.nodes] == [1]
    assert cluster.controller.id == 1
    assert cluster.cluster_id


def test_delete_records_moves_log_start(broker, topic_name):
    create_topic(broker, topic_name)
    p = Producer({"bootstrap.servers": broker.bootstrap_servers, "linger.ms": 0})
    for i in range(10):
        p.produce(topic_name, f"m{i}".encode())
    p.flush(10)
    a = admin(broker)
    tp = TopicPartition(topic_name, 0, 6)
    result = a.delete_records([tp])[tp].result(10)
    assert result.low_watermark == 6
    got = consume_all(broker, topic_name, 1, 4)
    assert [m.value() for m in got] == [b"m6", b"m7", b"m8", b"m9"]
    c = Consumer({"bootstrap.servers": broker.bootstrap_servers, "group.id": "unused"})
    assert c.get_watermark_offsets(TopicPartition(topic_name, 0), 10) == (6, 10)
    c.close()


def test_auto_create_on_produce_metadata(broker, topic_name):
    p = Producer({"bootstrap.servers": broker.bootstrap_servers})
    p.produce(topic_name, b"hello")
    assert p.flush(10) == 0
    md = admin(broker).list_topics(topic_name, timeout=10)
    assert len(md.topics[topic_name].partitions) == 1


def test_message_too_large_is_rejected(broker, topic_name):
    create_topic(broker, topic_name, config={"max.message.bytes": "1000"})
    p = Producer({"bootstrap.servers": broker.bootstrap_servers, "message.max.bytes": 100000,
                  "retries": 0})
    errors = []
    p.produce(topic_name, b"x" * 5000, on_delivery=lambda err, msg: errors.append(err))
    p.flush(10)
    assert errors and errors[0].code() == KafkaError.MSG_SIZE_TOO_LARGE
    assert consume_all(broker, topic_name, 1, 1, timeout=1) == []


def test_offset_out_of_range_resets_to_earliest(broker, topic_name):
    """The error partition of a Fetch must be readable by librdkafka (empty, not null,
    records), which then applies auto.offset.reset."""
    create_topic(broker, topic_name)
    p = Producer({"bootstrap.servers": broker.bootstrap_servers})
    for i in range(5):
        p.produce(topic_name, f"m{i}".encode())
    p.flush(10)
    c = Consumer({"bootstrap.servers": broker.bootstrap_servers, "group.id": "unused",
                  "auto.offset.reset": "earliest", "enable.auto.commit": False})
    c.assign([TopicPartition(topic_name, 0, 1000)])
    got = []
    deadline = time.monotonic() + 20
    while len(got) < 5 and time.monotonic() < deadline:
        m = c.poll(0.2)
        if m is not None and m.error() is None:
            got.append(m.value())
    c.close()
    assert got == [f"m{i}".encode() for i in range(5)]
