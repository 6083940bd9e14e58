"""`odradek produce` and `odradek consume` against a broker, checked with confluent-kafka."""

from __future__ import annotations

import json
import threading
import time

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


def _keyed_lines(capsys, monkeypatch, b: tuple, topic: str, n: int) -> None:
    """A 3-partition topic with records "0".."n-1", keyed k0..k(n-1), produced by the CLI."""
    run_cli(capsys, "topic", "create", topic, "-p", "3", *b)
    lines = b"".join(b"k%d:%d\n" % (i, i) for i in range(n))
    r = run_cli(capsys, "produce", topic, "-K", ":", "-q", *b, stdin=lines,
                monkeypatch=monkeypatch)
    assert r.code == 0, r.err


def test_consume_with_a_group_commits_and_resumes(broker, topic_name, capsys, monkeypatch):
    b = ("-b", broker.bootstrap_servers)
    _keyed_lines(capsys, monkeypatch, b, topic_name, 90)
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


def test_consume_with_a_classic_group_commits_and_resumes(broker, topic_name, capsys,
                                                         monkeypatch):
    b = ("-b", broker.bootstrap_servers)
    _keyed_lines(capsys, monkeypatch, b, topic_name, 60)
    group = topic_name + "-classic"
    classic = ("--group-protocol", "classic", "-q", *b)
    r = run_cli(capsys, "consume", topic_name, "-g", group, "--from-beginning", "--max", "25",
                *classic)
    assert r.code == 0, r.err
    first = r.out.splitlines()
    described = run_cli(capsys, "group", "describe", group, "--output", "json", *b).json()[0]
    assert described["type"] == "classic" and described["state"] == "Empty"
    assert sum(p["current_offset"] for p in described["partitions"]) == 25
    r = run_cli(capsys, "consume", topic_name, "-g", group, "-e", *classic)
    assert r.code == 0, r.err
    assert sorted(int(v) for v in first + r.out.splitlines()) == list(range(60))


def test_consume_joins_a_group_of_classic_confluent_consumers(broker, topic_name, capsys):
    """A group of librdkafka consumers (classic protocol): the CLI, left to choose, joins it
    with the classic protocol too, and the partitions are shared."""
    b = ("-b", broker.bootstrap_servers)
    run_cli(capsys, "topic", "create", topic_name, "-p", "4", *b)
    p = Producer({"bootstrap.servers": broker.bootstrap_servers})
    for i in range(40):
        p.produce(topic_name, b"%d" % i, partition=i % 4)
    assert p.flush(10) == 0
    group = topic_name + "-mixed"
    member = Consumer({"bootstrap.servers": broker.bootstrap_servers, "group.id": group,
                       "auto.offset.reset": "earliest", "enable.auto.commit": False,
                       "partition.assignment.strategy": "range"})
    member.subscribe([topic_name])
    deadline = time.monotonic() + 30
    while not member.assignment():
        assert time.monotonic() < deadline
        member.poll(0.2)
    stop = threading.Event()
    owned: list[set[int]] = []

    def keep_polling() -> None:  # a live member answers the rebalance the CLI starts
        while not stop.is_set():
            member.poll(0.1)
            owned.append({tp.partition for tp in member.assignment()})

    poller = threading.Thread(target=keep_polling)
    poller.start()
    try:
        r = run_cli(capsys, "consume", topic_name, "-g", group, "--from-beginning", "-e",
                    "-f", "%p %s\n", "-q", *b)
    finally:
        stop.set()
        poller.join()
        member.close()
    assert r.code == 0, r.err
    got = [line.split() for line in r.out.splitlines()]
    cli_partitions = {int(part) for part, _ in got}
    # Range over 4 partitions and 2 members: two each, and the other member's are not read.
    assert len(cli_partitions) == 2
    assert {2, 3}.isdisjoint(cli_partitions) or {0, 1}.isdisjoint(cli_partitions)
    assert any(len(o) == 2 and o.isdisjoint(cli_partitions) for o in owned)
    assert sorted(int(v) for _, v in got) == sorted(
        i for i in range(40) if i % 4 in cli_partitions)


@pytest.mark.parametrize("codec", ["gzip", "snappy", "lz4", "zstd"])
def test_produce_compressed(broker, topic_name, capsys, monkeypatch, codec):
    b = ("-b", broker.bootstrap_servers)
    r = run_cli(capsys, "produce", topic_name, "-z", codec, "-q", *b,
                stdin=b"x" * 100 + b"\n" + b"y\n", monkeypatch=monkeypatch)
    assert r.code == 0, r.err
    r = run_cli(capsys, "consume", topic_name, "--from-beginning", "-e", "-q", *b)
    assert r.out == "x" * 100 + "\ny\n"
