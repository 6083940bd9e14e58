"""Durability across restarts: clean stops, kill -9 of `odradek serve`, a torn log tail."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic

from odradek import Broker
from odradek.protocol.records import build_batch
from tests.integration.test_wire import make_topic, produce_result
from tests.support.wire import WireClient


def read_values(bootstrap: str, topic: str, partitions: int, expected: int) -> list[bytes]:
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "unused",
                  "enable.auto.commit": False})
    c.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
    got = []
    deadline = time.monotonic() + 20
    while len(got) < expected and time.monotonic() < deadline:
        m = c.poll(0.2)
        if m is not None and m.error() is None:
            got.append(m.value())
    # a little longer, to catch records that should not be there
    for _ in range(3):
        m = c.poll(0.1)
        if m is not None and m.error() is None:
            got.append(m.value())
    c.close()
    return got


def produce_values(bootstrap: str, topic: str, values: list[bytes]) -> None:
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 2})
    for v in values:
        p.produce(topic, v, key=v[-1:])
    assert p.flush(20) == 0


def test_clean_restart_keeps_records_topics_configs_and_state(make_broker, tmp_path, topic_name):
    data = tmp_path / "data"
    b = make_broker(data_dir=data)
    a = AdminClient({"bootstrap.servers": b.bootstrap_servers})
    a.create_topics([NewTopic(topic_name, 3, 1, config={"retention.bytes": "99999999"})])[
        topic_name].result(10)
    values = [f"v{i}".encode() for i in range(500)]
    produce_values(b.bootstrap_servers, topic_name, values)
    tp = TopicPartition(topic_name, 0, 1)
    a.delete_records([tp])[tp].result(10)
    wire = WireClient(b.bootstrap_servers)
    make_topic(wire, topic_name + "-idem")
    batch = build_batch([(None, b"once")], producer_id=42, producer_epoch=3, base_sequence=0)
    assert produce_result(wire, topic_name + "-idem", batch).base_offset == 0
    wire.close()
    topic_id = b.call(lambda: b.server.core.topics[topic_name].topic_id)
    b.stop()

    b2 = make_broker(data_dir=data)
    assert b2.call(lambda: b2.server.core.topics[topic_name].topic_id) == topic_id
    got = read_values(b2.bootstrap_servers, topic_name, 3, 499)
    assert len(got) == 499 and set(got) < set(values)
    a2 = AdminClient({"bootstrap.servers": b2.bootstrap_servers})
    res = ConfigResource(ConfigResource.Type.TOPIC, topic_name)
    assert a2.describe_configs([res])[res].result(10)["retention.bytes"].value == "99999999"
    low = Consumer({"bootstrap.servers": b2.bootstrap_servers, "group.id": "x"})
    assert low.get_watermark_offsets(TopicPartition(topic_name, 0), 10)[0] == 1
    low.close()
    # The producer's last batch is still known: its retry is not written again.
    wire = WireClient(b2.bootstrap_servers)
    assert produce_result(wire, topic_name + "-idem", batch).base_offset == 0
    nxt = build_batch([(None, b"next")], producer_id=42, producer_epoch=3, base_sequence=1)
    assert produce_result(wire, topic_name + "-idem", nxt).base_offset == 1
    wire.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(data: Path, port: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-m", "odradek", "serve", "--port", str(port), "--data-dir",
         str(data)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise AssertionError(f"broker did not start: {proc.communicate()[0]}")


def test_kill_9_loses_no_acknowledged_record(tmp_path, topic_name):
    data, port = tmp_path / "data", free_port()
    bootstrap = f"127.0.0.1:{port}"
    proc = start_server(data, port)
    try:
        values = [f"r{i:05d}".encode() for i in range(2000)]
        produce_values(bootstrap, topic_name, values)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    proc = start_server(data, port)
    try:
        got = read_values(bootstrap, topic_name, 1, len(values))
        assert got == values  # all acknowledged, once each, in order
        produce_values(bootstrap, topic_name, [b"after"])
        assert read_values(bootstrap, topic_name, 1, len(values) + 1)[-1] == b"after"
    finally:
        proc.send_signal(signal.SIGTERM)
        out = proc.communicate(timeout=15)[0]
    assert proc.returncode == 0
    assert "1 partition(s) recovered" in out
    assert "stopped" in out


def test_torn_tail_is_truncated_at_the_last_valid_batch(make_broker, tmp_path, topic_name):
    data = tmp_path / "data"
    b = make_broker(data_dir=data)
    produce_values(b.bootstrap_servers, topic_name, [f"m{i}".encode() for i in range(10)])
    b.stop()
    log_file = sorted((data / f"{topic_name}-0").glob("*.log"))[-1]
    good_size = log_file.stat().st_size
    whole = build_batch([(None, b"torn")])
    with open(log_file, "ab") as f:
        f.write(whole[: len(whole) // 2])  # a write cut short by a crash
    b2 = make_broker(data_dir=data)
    assert log_file.stat().st_size == good_size
    got = read_values(b2.bootstrap_servers, topic_name, 1, 10)
    assert got == [f"m{i}".encode() for i in range(10)]
    produce_values(b2.bootstrap_servers, topic_name, [b"m10"])
    assert read_values(b2.bootstrap_servers, topic_name, 1, 11)[-1] == b"m10"


def test_embedded_broker_in_process(tmp_path):
    with Broker(data_dir=tmp_path / "d", port=0) as b:
        assert b.port and b.bootstrap_servers == f"127.0.0.1:{b.port}"
        produce_values(b.bootstrap_servers, "embedded", [b"x"])
    assert (tmp_path / "d" / "metadata.db").exists()
    assert os.listdir(tmp_path / "d" / "embedded-0")
