"""The pytest plugin as a user's project sees it: fixtures from the `pytest11` entry point, with
confluent-kafka, kafka-python and aiokafka; and fault injection."""

from __future__ import annotations

import asyncio
import time

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

USER_TEST = '''
import asyncio
from confluent_kafka import Consumer, Producer


def test_confluent(odradek_broker):
    p = Producer({"bootstrap.servers": odradek_broker.bootstrap_servers})
    p.produce("greetings", b"hello")
    p.flush(10)
    c = Consumer({"bootstrap.servers": odradek_broker.bootstrap_servers, "group.id": "g",
                  "auto.offset.reset": "earliest"})
    c.subscribe(["greetings"])
    msg = c.poll(30)
    assert msg is not None and msg.value() == b"hello"
    c.close()


def test_kafka_python(odradek_broker, odradek_topic):
    from kafka import KafkaConsumer, KafkaProducer

    producer = KafkaProducer(bootstrap_servers=odradek_broker.bootstrap_servers)
    producer.send(odradek_topic, b"from kafka-python").get(timeout=10)
    consumer = KafkaConsumer(odradek_topic, bootstrap_servers=odradek_broker.bootstrap_servers,
                             auto_offset_reset="earliest", consumer_timeout_ms=10000)
    assert next(iter(consumer)).value == b"from kafka-python"
    consumer.close()
    producer.close()


def test_aiokafka(odradek_broker_factory):
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    broker = odradek_broker_factory(config={"num.partitions": 3})
    broker.create_topic("events", partitions=2)

    async def main():
        producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap_servers)
        await producer.start()
        await producer.send_and_wait("events", b"from aiokafka", partition=1)
        await producer.stop()
        consumer = AIOKafkaConsumer("events", bootstrap_servers=broker.bootstrap_servers,
                                    auto_offset_reset="earliest")
        await consumer.start()
        msg = await consumer.getone()
        await consumer.stop()
        return msg

    msg = asyncio.run(main())
    assert (msg.partition, msg.value) == (1, b"from aiokafka")
'''


def test_fixtures_from_the_entry_point(pytester):
    """A project that only installed odradek: no conftest, no plugin option."""
    pytester.makepyfile(test_user=USER_TEST)
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)


README_EXAMPLE = '''
from confluent_kafka import Consumer, Producer

def test_orders_roundtrip(odradek_broker):
    conf = {"bootstrap.servers": odradek_broker.bootstrap_servers}
    producer = Producer(conf)
    producer.produce("orders", b"42")
    producer.flush()
    consumer = Consumer({**conf, "group.id": "billing", "auto.offset.reset": "earliest"})
    consumer.subscribe(["orders"])
    assert consumer.poll(30).value() == b"42"
'''


def test_readme_example(pytester):
    pytester.makepyfile(test_readme=README_EXAMPLE)
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_plugin_is_registered(pytestconfig):
    assert pytestconfig.pluginmanager.has_plugin("odradek")


# --------------------------------------------------------------------------- faults


def _producer(broker, **extra) -> Producer:
    return Producer({"bootstrap.servers": broker.bootstrap_servers, "linger.ms": 0,
                     "retry.backoff.ms": 50, **extra})


def test_fail_next_produce_is_retried(odradek_broker_factory):
    broker = odradek_broker_factory()
    broker.create_topic("orders")
    broker.faults.fail_next("produce", "NOT_LEADER_OR_FOLLOWER")
    assert broker.faults.pending == 1
    errors = []
    p = _producer(broker)
    p.produce("orders", b"once", on_delivery=lambda err, msg: errors.append(err))
    assert p.flush(30) == 0
    assert errors == [None]
    assert broker.faults.injected == [("PRODUCE", "fail")]
    assert broker.faults.pending == 0
    c = Consumer({"bootstrap.servers": broker.bootstrap_servers, "group.id": "x"})
    c.assign([TopicPartition("orders", 0, 0)])
    msgs = c.consume(10, timeout=5)
    c.close()
    # The failed request was not handled: the record is stored once, by the retry.
    assert [m.value() for m in msgs if m.error() is None] == [b"once"]


def test_fail_next_without_retries_reaches_the_application(odradek_broker_factory):
    broker = odradek_broker_factory()
    broker.create_topic("orders")
    broker.faults.fail_next("PRODUCE", "INVALID_RECORD")  # not retriable
    results = []
    p = _producer(broker)
    p.produce("orders", b"x", on_delivery=lambda err, msg: results.append(err))
    p.flush(30)
    assert results[0] is not None and results[0].name() == "INVALID_RECORD"


def test_drop_next_and_drop_connections(odradek_broker_factory):
    broker = odradek_broker_factory()
    broker.create_topic("orders")
    p = _producer(broker)
    p.produce("orders", b"warm-up")
    assert p.flush(30) == 0
    broker.faults.drop_next("produce")
    delivered = []
    p.produce("orders", b"after a drop", on_delivery=lambda err, msg: delivered.append(err))
    assert p.flush(30) == 0  # reconnects and retries
    assert delivered == [None]
    assert ("PRODUCE", "drop") in broker.faults.injected
    assert broker.faults.drop_connections() >= 1
    p.produce("orders", b"after dropping all")
    assert p.flush(30) == 0


def test_delay_next(odradek_broker_factory):
    broker = odradek_broker_factory()
    broker.create_topic("orders")
    p = _producer(broker)
    p.produce("orders", b"warm-up")
    p.flush(30)
    broker.faults.delay_next("produce", 300)
    started = time.monotonic()
    p.produce("orders", b"slow")
    assert p.flush(30) == 0
    assert time.monotonic() - started >= 0.3
    assert broker.faults.injected == [("PRODUCE", "delay")]


def test_fail_next_metadata_and_list_offsets(odradek_broker_factory):
    from odradek.client import Client, KafkaClientError

    broker = odradek_broker_factory()
    broker.create_topic("orders")

    async def run():
        async with Client(broker.bootstrap_servers) as client:
            await client.metadata([])
            broker.faults.fail_next("list_offsets", "NOT_LEADER_OR_FOLLOWER")
            with pytest.raises(KafkaClientError) as info:
                await client.list_offsets({("orders", 0): -1})
            assert info.value.code == 6
            assert await client.list_offsets({("orders", 0): -1}) == {("orders", 0): (0, -1)}
            broker.faults.fail_next("metadata", "UNKNOWN_TOPIC_OR_PARTITION")
            info = await client.metadata(["orders"])
            assert info.topics["orders"].error_code == 3

    asyncio.run(run())


def test_faults_aimed_at_one_partition(odradek_broker_factory):
    broker = odradek_broker_factory()
    broker.create_topic("orders", partitions=2)
    broker.create_topic("audit")
    # Aimed at orders-1: requests for audit and orders-0 pass untouched; the next batch of
    # orders-1 fails once and is retried by the producer.
    broker.faults.fail_next("produce", "NOT_LEADER_OR_FOLLOWER", topic="orders", partition=1)
    delivered = []
    p = _producer(broker)
    p.produce("audit", b"a", on_delivery=lambda err, msg: delivered.append((err, "audit")))
    p.produce("orders", b"p0", partition=0,
              on_delivery=lambda err, msg: delivered.append((err, msg.partition())))
    assert p.flush(30) == 0
    assert broker.faults.pending == 1 and broker.faults.injected == []
    p.produce("orders", b"p1", partition=1,
              on_delivery=lambda err, msg: delivered.append((err, msg.partition())))
    assert p.flush(30) == 0
    assert broker.faults.injected == [("PRODUCE", "fail")]
    assert sorted(delivered, key=str) == sorted([(None, "audit"), (None, 0), (None, 1)], key=str)
    c = Consumer({"bootstrap.servers": broker.bootstrap_servers, "group.id": "x"})
    c.assign([TopicPartition("orders", 1, 0)])
    msgs = c.consume(10, timeout=5)
    c.close()
    assert [m.value() for m in msgs if m.error() is None] == [b"p1"]  # stored once


def test_a_topic_fault_matches_fetch_by_topic_id(odradek_broker_factory):
    """Fetch v13+ names topics by id; a rule naming the topic still finds them."""
    broker = odradek_broker_factory()
    broker.create_topic("events")
    p = _producer(broker)
    p.produce("events", b"e")
    assert p.flush(30) == 0
    broker.faults.delay_next("fetch", 200, topic="events")
    c = Consumer({"bootstrap.servers": broker.bootstrap_servers, "group.id": "y"})
    c.assign([TopicPartition("events", 0, 0)])
    msgs = c.consume(1, timeout=30)
    c.close()
    assert [m.value() for m in msgs] == [b"e"]
    assert broker.faults.injected == [("FETCH", "delay")]


def test_restart_keeps_port_and_data(odradek_broker_factory):
    broker = odradek_broker_factory()
    broker.create_topic("orders")
    bootstrap = broker.bootstrap_servers
    p = _producer(broker)
    p.produce("orders", b"before")
    assert p.flush(30) == 0
    broker.restart()
    assert broker.bootstrap_servers == bootstrap
    p.produce("orders", b"after")
    assert p.flush(30) == 0
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "x"})
    c.assign([TopicPartition("orders", 0, 0)])
    values = []
    for _ in range(20):
        values += [m.value() for m in c.consume(10, timeout=1) if m.error() is None]
        if len(values) >= 2:
            break
    c.close()
    assert values == [b"before", b"after"]
    from odradek.protocol.errors import KafkaError

    with pytest.raises(KafkaError):
        broker.create_topic("orders")
