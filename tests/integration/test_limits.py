"""Connection limits, idle connections, and a broker that stays responsive with a thousand
idle connections open."""

from __future__ import annotations

import socket
import time

from kio.schema.metadata.v12.request import MetadataRequest

from odradek.protocol.records import build_batch
from tests.integration.test_wire import fetch_req, make_topic, produce_result
from tests.support.wire import WireClient

METADATA = MetadataRequest(topics=(), allow_auto_topic_creation=False,
                           include_topic_authorized_operations=False)


def connect(bootstrap: str) -> socket.socket:
    host, port = bootstrap.rsplit(":", 1)
    return socket.create_connection((host, int(port)), timeout=5)


def closed_by_peer(sock: socket.socket, timeout: float = 5) -> bool:
    sock.settimeout(timeout)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def test_max_connections_per_ip_and_total(make_broker):
    b = make_broker(config={"max.connections.per.ip": 3, "max.connections": 5})
    first = [WireClient(b.bootstrap_servers) for _ in range(3)]
    for c in first:
        assert c.request(METADATA).brokers  # served
    extra = connect(b.bootstrap_servers)
    assert closed_by_peer(extra)  # a fourth from 127.0.0.1 is refused
    first[0].close()
    time.sleep(0.2)  # the broker notices the close
    again = WireClient(b.bootstrap_servers)
    assert again.request(METADATA).brokers  # room again
    again.close()
    for c in first[1:]:
        c.close()


def test_idle_connections_are_closed(make_broker):
    b = make_broker(config={"connections.max.idle.ms": 300})
    idle = connect(b.bootstrap_servers)
    idle.setblocking(False)
    active = WireClient(b.bootstrap_servers)
    deadline = time.monotonic() + 20
    closed = False
    while not closed and time.monotonic() < deadline:
        assert active.request(METADATA).brokers  # a client that talks stays connected
        time.sleep(0.05)
        try:
            closed = idle.recv(1) == b""
        except BlockingIOError:
            pass
        except ConnectionResetError:
            closed = True
    assert closed  # the silent one was closed after connections.max.idle.ms
    active.close()


def test_a_thousand_idle_connections_do_not_slow_the_broker(make_broker, topic_name):
    b = make_broker()
    sockets = [connect(b.bootstrap_servers) for _ in range(1000)]
    try:
        client = WireClient(b.bootstrap_servers)
        make_topic(client, topic_name)
        for i in range(100):
            result = produce_result(client, topic_name, build_batch([(None, b"%d" % i)]))
            assert (result.error_code, result.base_offset) == (0, i)
        part = client.request(fetch_req(topic_name, 0)).responses[0].partitions[0]
        assert part.high_watermark == 100
        assert b.call(lambda: len(b.server.connections)) >= 1001
        client.close()
    finally:
        for s in sockets:
            s.close()
