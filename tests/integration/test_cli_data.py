"""`odradek produce` and `odradek consume` against a broker, checked with confluent-kafka."""

from __future__ import annotations

import json

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from odradek.client import partition_for_key
from tests.support.cli import run_cli


def _read_all(broker, topic: str, partitions: int, count: int) -> list:
    c = Consumer({"bootstrap.servers": broker.bootstrap_servers, "group.id": "cli-check",
                  "enable.auto.commit": False})
    c.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    out = []
    for _ in range(200):
        msgs = c.consume(count - len(out), timeout=0.5)
        out += [m for m in msgs if m.error() is None]
        if len(out) >= count:
            break
    c.close()
    return out


def test_produce_lines_with_keys_and_headers(broker, topic_name, capsys, monkeypatch):
    b = ("-b", broker.bootstrap_servers)
    assert run_cli(capsys, "topic", "create", topic_name, "-p", "3", *b).code == 0
    lines = b"".join(b"key%d:value %d\n" % (i % 7, i) for i in range(500))
    r = run_cli(capsys, "produce", topic_name, "-K", ":", "-H", "source=cli", "-H", "n=1",
                "--output", "json", *b, stdin=lines + b"no-separator", monkeypatch=monkeypatch)
    assert r.code == 0, r.err
    assert r.json()["records"] == 501
    assert "produced 501 records" in r.err

    msgs = _read_all(broker, topic_name, 3, 501)
    assert len(msgs) == 501
    by_key = {}
    for m in msgs:
        assert m.headers() == [("source", b"cli"), ("n", b"1")]
        if m.key() is None:
            assert m.value() == b"no-separator"
            continue
        by_key.setdefault(m.key(), set()).add(m.partition())
        # The Java client's default partitioner: the same partition as any Kafka producer.
        assert m.partition() == partition_for_key(m.key(), 3)
    assert len(by_key) == 7 and all(len(ps) == 1 for ps in by_key.values())
    values = [m.value() for m in sorted(msgs, key=lambda m: (m.partition(), m.offset()))
              if m.key() == b"key3"]
    assert values == [b"value %d" % i for i in range(500) if i % 7 == 3]


def test_murmur2_matches_librdkafka(broker, topic_name):
    """confluent-kafka with the Java-compatible partitioner puts keys where we compute."""
    p = Producer({"bootstrap.servers": broker.bootstrap_servers, "partitioner": "murmur2"})
    keys = [b"", b"a", b"ab", b"abc", b"abcd", b"hello world", "ключ".encode(), bytes(range(40))]
    delivered = {}
    for k in keys:
        p.produce(topic_name, b"v", key=k,
                  on_delivery=lambda err, msg: delivered.__setitem__(msg.key(), msg.partition()))
    p.flush(10)
    partitions = len(p.list_topics(topic_name).topics[topic_name].partitions)
    assert {k: partition_for_key(k, partitions) for k in keys} == delivered


def test_produce_to_partition_then_consume_formats(broker, topic_name, capsys, monkeypatch):
    b = ("-b", broker.bootstrap_servers)
    run_cli(capsys, "topic", "create", topic_name, "-p", "2", *b)
    r = run_cli(capsys, "produce", topic_name, "-p", "1", "-q", *b,
                stdin=b"a\nb\nc\nd\n", monkeypatch=monkeypatch)
    assert r.code == 0 and r.err == ""

    r = run_cli(capsys, "consume", topic_name, "--from-beginning", "-e", "-q", *b)
    assert r.code == 0, r.err
    assert r.out == "a\nb\nc\nd\n"

    r = run_cli(capsys, "consume", topic_name, "-o", "beginning", "-e", "-q",
                "-f", "%t|%p|%o|%k|%s|%K|%S\\n", *b)
    assert r.out.splitlines() == [f"{topic_name}|1|{i}||{v}|-1|1" for i, v in enumerate("abcd")]

    r = run_cli(capsys, "consume", topic_name, "--partition", "1", "-o", "2", "-e", "-q",
                "--output", "json", *b)
    records = [json.loads(line) for line in r.out.splitlines()]
    assert [(x["offset"], x["value"]) for x in records] == [(2, "c"), (3, "d")]
    assert records[0]["key"] is None and records[0]["headers"] == {}

    r = run_cli(capsys, "consume", topic_name, "-o", "-1", "-e", "-q", *b)
    assert r.out == "d\n"  # one before the end of each partition (partition 0 is empty)

    r = run_cli(capsys, "consume", topic_name, "--from-beginning", "--max", "2", "-q", *b)
    assert r.out == "a\nb\n"

    r = run_cli(capsys, "consume", topic_name, "-o", "s@0", "-e", "-q", *b)
    assert r.out == "a\nb\nc\nd\n"
    r = run_cli(capsys, "consume", topic_name, "-o", "s@99999999999999", "-e", "-q", *b)
    assert r.out == ""

    r = run_cli(capsys, "consume", topic_name, "-e", *b)  # default: from the end
    assert r.out == "" and "consumed 0 records" in r.err


def test_consume_with_a_group_commits_and_resumes(broker, topic_name, capsys, monkeypatch):
    b = ("-b", broker.bootstrap_servers)
    run_cli(capsys, "topic", "create", topic_name, "-p", "3", *b)
    lines = b"".join(b"k%d:%d\n" % (i, i) for i in range(90))
    run_cli(capsys, "produce", topic_name, "-K", ":", "-q", *b, stdin=lines,
            monkeypatch=monkeypatch)
    group = topic_name + "-g"
    r = run_cli(capsys, "consume", topic_name, "-g", group, "--from-beginning", "--max", "40",
                "-q", *b)
    assert r.code == 0, r.err
    first = r.out.splitlines()
    assert len(first) == 40
    described = run_cli(capsys, "group", "describe", group, "--output", "json", *b).json()[0]
    assert described["type"] == "consumer" and described["state"] == "Empty"
    assert sum(p["current_offset"] for p in described["partitions"]) == 40
    assert described["total_lag"] == 50

    r = run_cli(capsys, "consume", topic_name, "-g", group, "-e", "-q", *b)
    rest = r.out.splitlines()
    assert sorted(int(v) for v in first + rest) == list(range(90))
    described = run_cli(capsys, "group", "describe", group, "--output", "json", *b).json()[0]
    assert described["total_lag"] == 0


@pytest.mark.parametrize("codec", ["gzip", "snappy", "lz4", "zstd"])
def test_produce_compressed(broker, topic_name, capsys, monkeypatch, codec):
    b = ("-b", broker.bootstrap_servers)
    r = run_cli(capsys, "produce", topic_name, "-z", codec, "-q", *b,
                stdin=b"x" * 100 + b"\n" + b"y\n", monkeypatch=monkeypatch)
    assert r.code == 0, r.err
    r = run_cli(capsys, "consume", topic_name, "--from-beginning", "-e", "-q", *b)
    assert r.out == "x" * 100 + "\ny\n"
