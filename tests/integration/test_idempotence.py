"""Idempotent producers whose acknowledgements are lost retry without duplicates."""

from __future__ import annotations

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition
from kafka import KafkaProducer

from odradek import Broker
from tests.support.proxy import CuttingProxy

PRODUCE = 0


@pytest.fixture
def proxied(tmp_path):
    """A broker that advertises a proxy in front of it, so every client byte goes through."""
    proxy = CuttingProxy()
    with Broker(data_dir=tmp_path / "data", advertised_port=proxy.port) as b:
        proxy.target_port = b.port
        yield b, proxy
    proxy.close()


def read_all(bootstrap: str, topic: str) -> list[bytes]:
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "check",
                  "enable.partition.eof": True})
    c.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    out = []
    while True:
        m = c.poll(5)
        assert m is not None, "no end of partition"
        if m.error():
            break  # partition EOF
        out.append(m.value())
    c.close()
    return out


def test_confluent_idempotent_retry_after_lost_ack(proxied, topic_name):
    broker, proxy = proxied
    bootstrap = f"127.0.0.1:{proxy.port}"
    p = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True,
                  "linger.ms": 0, "retry.backoff.ms": 50})
    p.produce(topic_name, b"warm-up")
    assert p.flush(10) == 0
    proxy.drop_next_response(PRODUCE)
    errors = []
    for i in range(20):
        p.produce(topic_name, f"r{i}".encode(), on_delivery=lambda e, m: errors.append(e))
    assert p.flush(30) == 0
    assert proxy.dropped == 1 and errors == [None] * 20
    values = read_all(bootstrap, topic_name)
    assert values == [b"warm-up"] + [f"r{i}".encode() for i in range(20)]


def test_kafka_python_idempotent_retry_after_lost_ack(proxied, topic_name):
    broker, proxy = proxied
    bootstrap = f"127.0.0.1:{proxy.port}"
    p = KafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all",
                      retry_backoff_ms=50)
    p.send(topic_name, b"warm-up").get(10)
    proxy.drop_next_response(PRODUCE)
    futures = [p.send(topic_name, f"r{i}".encode()) for i in range(20)]
    p.flush(30)
    assert [f.get(10).offset for f in futures] == list(range(1, 21))
    p.close()
    assert proxy.dropped == 1
    assert read_all(bootstrap, topic_name) == [b"warm-up"] + [f"r{i}".encode()
                                                            for i in range(20)]
