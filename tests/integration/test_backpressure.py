"""Back-pressure: what a connection holds stays bounded, and the broker keeps serving others.

Deterministic: the tests wait for states (with generous deadlines) and check limits and
answers, never durations.
"""

from __future__ import annotations

import datetime
import struct
import time

import pytest
from kio.index import load_response_schema
from kio.schema.fetch.v12 import request as fetch
from kio.schema.metadata.v12.request import MetadataRequest
from kio.serial import entity_reader

from odradek.protocol.codec import encode
from odradek.protocol.records import build_batch
from odradek.server import connection
from tests.integration.test_wire import make_topic, produce_req, produce_result
from tests.support.wire import WireClient


def wait_for(predicate, what: str, deadline: float = 30.0) -> None:
    end = time.monotonic() + deadline
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.01)


def server_side(broker, client: WireClient):
    """The broker's KafkaConnection for `client` (found by the client's address)."""
    name = client.sock.getsockname()[:2]

    def find():
        return next((c for c in broker.server.connections if c.peer == name), None)

    wait_for(lambda: broker.call(find) is not None, "the broker to accept the connection")
    return broker.call(find)


def fetch_frame(client: WireClient, topic: str, offset: int, max_wait_ms: int = 0,
                max_bytes: int = 1 << 20) -> bytes:
    req = fetch.FetchRequest(
        replica_id=-1, max_wait=datetime.timedelta(milliseconds=max_wait_ms), min_bytes=1,
        max_bytes=max_bytes, isolation_level=0, session_id=0, session_epoch=-1,
        topics=(fetch.FetchTopic(topic=topic, partitions=(fetch.FetchPartition(
            partition=0, current_leader_epoch=-1, fetch_offset=offset, last_fetched_epoch=-1,
            log_start_offset=-1, partition_max_bytes=max_bytes),)),),
        forgotten_topics_data=(), rack_id="")
    return client.frame(1, 12, encode(req))


def correlation_of(frame: bytes) -> int:
    return struct.unpack_from(">i", frame)[0]


def produce_base_offset(frame: bytes) -> int:
    """Base offset in a ProduceResponse v9 frame (correlation id, empty tagged fields, body)."""
    body = entity_reader(load_response_schema(0, 9))(frame[5:], 0)[0]
    return body.responses[0].partition_responses[0].base_offset


@pytest.fixture
def broker(make_broker):
    return make_broker()


def test_requests_queued_behind_a_long_poll_are_bounded_and_answered_in_order(
        broker, topic_name):
    """A long-poll Fetch parks the connection; produce requests pipelined behind it queue up
    to MAX_QUEUED_REQUESTS, then the broker stops reading that socket. Other clients are
    served meanwhile, and once the fetch is woken every request is answered, in order."""
    admin = WireClient(broker.bootstrap_servers)
    make_topic(admin, topic_name)
    make_topic(admin, topic_name + "-poll")
    client = WireClient(broker.bootstrap_servers)
    frames = [fetch_frame(client, topic_name + "-poll", 0, max_wait_ms=60_000)]
    n = connection.MAX_QUEUED_REQUESTS * 3
    frames += [client.frame(0, 9, encode(produce_req(topic_name, build_batch([(None, b"%d" % i)]),
                                                     acks=1)))
               for i in range(n)]
    client.send_raw(b"".join(frames))
    conn = server_side(broker, client)

    wait_for(lambda: broker.call(lambda: conn.reading_paused), "reading to pause")
    pending, queued = broker.call(lambda: (len(conn.pending), conn.queued_bytes))
    assert pending == connection.MAX_QUEUED_REQUESTS
    assert queued <= connection.MAX_QUEUED_BYTES
    # Nothing behind the parked fetch ran: the produce requests wait, in order.
    assert broker.call(lambda: broker.server.core.topics[topic_name].partitions[0]
                       .log.log_end_offset) == 0

    # Another client is served while this one is paused.
    other = WireClient(broker.bootstrap_servers)
    assert other.request(MetadataRequest(topics=None, allow_auto_topic_creation=False,
                                         include_topic_authorized_operations=False))
    assert produce_result(other, topic_name + "-poll", build_batch([(None, b"wake")])) \
        .error_code == 0  # ... and this append wakes the parked fetch

    responses = [client.recv_frame() for _ in range(n + 1)]
    assert [correlation_of(r) for r in responses] == list(range(1, n + 2))
    assert b"wake" in responses[0]
    # The base offsets follow the order of the requests.
    assert [produce_base_offset(r) for r in responses[1:]] == list(range(n))
    wait_for(lambda: not broker.call(lambda: conn.reading_paused), "reading to resume")
    for c in (admin, client, other):
        c.close()


@pytest.mark.parametrize("sendfile", [True, False], ids=["sendfile", "buffered"])
def test_client_that_does_not_read_its_responses_is_paused(broker, topic_name, sendfile):
    """A consumer that pipelines fetches and never reads: unsent output stops at about
    MAX_UNSENT_BYTES (plus one response), requests stay unparsed, other clients are served,
    and reading the socket later gets every response, complete and in order. With either
    output: file slices sent with sendfile, or read into memory (the TLS path)."""
    broker.call(lambda: setattr(broker.server, "sendfile", sendfile))
    admin = WireClient(broker.bootstrap_servers)
    make_topic(admin, topic_name)
    for i in range(4):  # 4 batches of ~256 KiB: each fetch below returns all, ~1 MB
        batch = build_batch([(None, bytes([65 + i]) * 1024)] * 250)
        assert produce_result(admin, topic_name, batch).error_code == 0
    client = WireClient(broker.bootstrap_servers, timeout=60)
    # Enough responses (each ~1 MiB) to fill the socket buffers and the broker's limit.
    n = 64 + connection.MAX_UNSENT_BYTES // (1 << 20) * 2
    client.send_raw(b"".join(fetch_frame(client, topic_name, 0) for _ in range(n)))
    conn = server_side(broker, client)

    wait_for(lambda: broker.call(lambda: conn.reading_paused), "reading to pause")
    unsent = broker.call(lambda: conn.output.pending_bytes)
    assert unsent <= connection.MAX_UNSENT_BYTES + (1 << 20) + 4096
    produce_result(admin, topic_name, build_batch([(None, b"still served")]))

    for i in range(n):
        response = client.recv_frame()
        assert correlation_of(response) == i + 1
        assert len(response) > 1_000_000 and b"D" * 1024 in response  # all 4 batches
    wait_for(lambda: not broker.call(lambda: conn.reading_paused), "reading to resume")
    admin.close()
    client.close()


def _big_produce_frame(client: WireClient, topic: str, payload: bytes) -> bytes:
    batch = build_batch([(None, payload)])
    return client.frame(0, 9, encode(produce_req(topic, batch, acks=1)))


def test_big_requests_share_a_server_wide_memory_budget(broker, topic_name):
    """Requests too big for the receive buffer are read into buffers of their own; all
    connections together hold at most the server's request_memory_limit (one request always
    fits). A second big request waits, its connection paused, until the first is done."""
    admin = WireClient(broker.bootstrap_servers)
    make_topic(admin, topic_name)
    big = 3 * connection.RECV_BUFFER
    broker.call(lambda: setattr(broker.server, "request_memory_limit", big + big // 2))
    first, second = (WireClient(broker.bootstrap_servers) for _ in range(2))
    frame1 = _big_produce_frame(first, topic_name, b"1" * big)
    frame2 = _big_produce_frame(second, topic_name, b"2" * big)
    half = len(frame1) // 2

    first.send_raw(frame1[:half])
    wait_for(lambda: broker.call(lambda: broker.server.request_memory) > big,
             "the first big request to take its buffer")
    second.send_raw(frame2[:half])
    conn2 = server_side(broker, second)
    wait_for(lambda: broker.call(lambda: conn2.reading_paused), "the second to wait")
    assert broker.call(lambda: (conn2 in broker.server.memory_waiters,
                                broker.server.request_memory)) == (True, len(frame1) - 4)

    first.send_raw(frame1[half:])
    assert first.read_response(0, 9).responses[0].partition_responses[0].base_offset == 0
    second.send_raw(frame2[half:])
    assert second.read_response(0, 9).responses[0].partition_responses[0].base_offset == 1
    assert broker.call(lambda: (broker.server.request_memory, broker.server.memory_waiters)) \
        == (0, set())
    for c in (admin, first, second):
        c.close()
