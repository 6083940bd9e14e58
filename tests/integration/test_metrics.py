"""The Prometheus endpoint, scraped after real clients produced and consumed."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request

import pytest
from confluent_kafka import Consumer, Producer
from prometheus_client.parser import text_string_to_metric_families


def scrape(url: str) -> dict[tuple[str, tuple], float]:
    text = urllib.request.urlopen(url, timeout=10).read().decode()
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(samples, name, **labels) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


def test_metrics_after_produce_and_consume(odradek_broker_factory, topic_name):
    broker = odradek_broker_factory(metrics_port=0, config={"log.segment.bytes": 4096})
    assert broker.metrics_url.endswith("/metrics")
    broker.create_topic(topic_name, partitions=2)
    p = Producer({"bootstrap.servers": broker.bootstrap_servers, "linger.ms": 0})
    for i in range(200):
        p.produce(topic_name, b"x" * 100, partition=i % 2)
    assert p.flush(10) == 0
    group = topic_name + "-g"
    c = Consumer({"bootstrap.servers": broker.bootstrap_servers, "group.id": group,
                  "auto.offset.reset": "earliest", "enable.auto.commit": False})
    c.subscribe([topic_name])
    got = 0
    deadline = time.monotonic() + 30
    while got < 200 and time.monotonic() < deadline:
        m = c.poll(0.5)
        if m is not None and m.error() is None:
            got += 1
    assert got == 200
    c.commit(asynchronous=False)
    for _ in range(30):  # lag: 30 records after the commit
        p.produce(topic_name, b"y" * 100, partition=0)
    assert p.flush(10) == 0
    samples = scrape(broker.metrics_url)
    c.close()

    assert value(samples, "odradek_topic_records_in_total", topic=topic_name) == 230
    bytes_in = value(samples, "odradek_topic_bytes_in_total", topic=topic_name)
    assert bytes_in > 230 * 100
    assert value(samples, "odradek_topic_bytes_out_total", topic=topic_name) >= 200 * 100
    assert value(samples, "odradek_topic_records_out_total", topic=topic_name) >= 190
    for part in ("0", "1"):
        assert value(samples, "odradek_log_size_bytes", topic=topic_name, partition=part) > 0
    assert value(samples, "odradek_log_end_offset", topic=topic_name, partition="0") == 130
    assert value(samples, "odradek_log_end_offset", topic=topic_name, partition="1") == 100
    assert value(samples, "odradek_consumer_group_lag", group=group, topic=topic_name,
                 partition="0") == 30
    assert value(samples, "odradek_consumer_group_lag", group=group, topic=topic_name,
                 partition="1") == 0
    assert value(samples, "odradek_requests_total", api="PRODUCE") >= 1
    assert value(samples, "odradek_requests_total", api="FETCH") >= 1
    assert value(samples, "odradek_request_latency_seconds_count", api="METADATA") >= 1
    assert value(samples, "odradek_request_latency_seconds_bucket", api="PRODUCE",
                 le="+Inf") == value(samples, "odradek_requests_total", api="PRODUCE")
    assert value(samples, "odradek_connections") >= 1
    assert value(samples, "odradek_connections_accepted_total") >= 2
    # 4 KiB segments: rolled segments were fsynced
    assert value(samples, "odradek_fsync_latency_seconds_count") >= 1


def test_no_metrics_unless_asked(odradek_broker):
    assert odradek_broker.metrics_url is None
    assert odradek_broker.server.core.stats is None


def test_serve_with_metrics_and_console_ports(tmp_path):
    import socket

    def free_port() -> int:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]

    kafka, metrics, console = free_port(), free_port(), free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "odradek", "serve", "--port", str(kafka), "--data-dir",
         str(tmp_path), "--metrics-port", str(metrics), "--console-port", str(console)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if "odradek listening" in line:
                break
        text = "".join(lines)
        assert f"Prometheus metrics on http://127.0.0.1:{metrics}/metrics" in text
        assert f"web console on http://127.0.0.1:{console}/" in text
        samples = scrape(f"http://127.0.0.1:{metrics}/metrics")
        assert ("odradek_connections", ()) in samples
        page = urllib.request.urlopen(f"http://127.0.0.1:{console}/", timeout=10).read()
        assert b"odradek console" in page
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        proc.stdout.close()
    assert proc.returncode == 0


@pytest.mark.parametrize("path", ["/", "/nope"])
def test_metrics_listener_serves_only_metrics(odradek_broker_factory, path):
    broker = odradek_broker_factory(metrics_port=0)
    url = broker.metrics_url.removesuffix("/metrics") + path
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(url, timeout=10)
    assert info.value.code == 404
