"""The sendfile path and the plain path answer a Fetch with the same bytes.

Records normally leave the broker with `os.sendfile` (SocketOutput); with
`KafkaServer.sendfile = False` (what TLS will need) the same file slices are read into memory
and written through the transport (BufferedOutput). Whole raw responses must be identical.
"""

from __future__ import annotations

import datetime

import pytest
from kio.schema.fetch.v4 import request as fetch_v4
from kio.schema.fetch.v12 import request as fetch_v12
from kio.schema.produce.v9 import request as produce_v9

from odradek.protocol.codec import encode
from odradek.protocol.records import build_batch
from odradek.server.output import BufferedOutput, SocketOutput
from tests.integration.test_backpressure import server_side
from tests.integration.test_wire import make_topic
from tests.support.wire import WireClient

MIB = 1 << 20


def produce(client: WireClient, topic: str, partition: int, batch: bytes) -> None:
    req = produce_v9.ProduceRequest(
        transactional_id=None, acks=1, timeout=datetime.timedelta(seconds=5),
        topic_data=(produce_v9.TopicProduceData(name=topic, partition_data=(
            produce_v9.PartitionProduceData(index=partition, records=batch),)),))
    assert client.request(req).responses[0].partition_responses[0].error_code == 0


def fetch_v12_body(topic: str, limits: dict[int, int], max_bytes: int) -> bytes:
    parts = tuple(fetch_v12.FetchPartition(
        partition=p, current_leader_epoch=-1, fetch_offset=0, last_fetched_epoch=-1,
        log_start_offset=-1, partition_max_bytes=limit) for p, limit in limits.items())
    return encode(fetch_v12.FetchRequest(
        replica_id=-1, max_wait=datetime.timedelta(0), min_bytes=1, max_bytes=max_bytes,
        isolation_level=0, session_id=0, session_epoch=-1,
        topics=(fetch_v12.FetchTopic(topic=topic, partitions=parts),),
        forgotten_topics_data=(), rack_id=""))


def fetch_v4_body(topic: str, limits: dict[int, int], max_bytes: int) -> bytes:
    parts = tuple(fetch_v4.FetchPartition(partition=p, fetch_offset=0, partition_max_bytes=lim)
                  for p, lim in limits.items())
    return encode(fetch_v4.FetchRequest(
        replica_id=-1, max_wait=datetime.timedelta(0), min_bytes=1, max_bytes=max_bytes,
        isolation_level=0, topics=(fetch_v4.FetchTopic(topic=topic, partitions=parts),)))


@pytest.fixture
def loaded(make_broker, topic_name):
    """A broker with a 4-partition topic: p0 ~6 MB of 1 MB batches (more than the socket
    buffers hold, so sendfile meets a full socket), p1 small batches, p2 empty, p3 one
    batch; plus a partition index that does not exist (an error partition)."""
    broker = make_broker()
    admin = WireClient(broker.bootstrap_servers)
    make_topic(admin, topic_name, partitions=4)
    for i in range(6):
        produce(admin, topic_name, 0, build_batch([(None, bytes([48 + i]) * 1000)] * 1000))
    for i in range(50):
        produce(admin, topic_name, 1, build_batch([(b"k%d" % i, b"v" * i)] * 3))
    produce(admin, topic_name, 3, build_batch([(None, b"last")]))
    admin.close()
    return broker


CASES = {
    # everything, whole batches
    "v12-all": (12, fetch_v12_body, {0: 8 * MIB, 1: MIB, 2: MIB, 3: MIB, 9: MIB}, 50 * MIB),
    # per-partition limits that cut batches mid-way (KIP-74: the first batch stays whole)
    "v12-cut": (12, fetch_v12_body, {0: 1500, 1: 777, 2: MIB, 3: 10}, 50 * MIB),
    # the response limit runs out after the first partition
    "v12-max": (12, fetch_v12_body, {1: MIB, 0: 8 * MIB, 3: MIB}, 3000),
    "v4-all": (4, fetch_v4_body, {0: 8 * MIB, 1: MIB, 2: MIB, 3: MIB, 9: MIB}, 50 * MIB),
}


@pytest.mark.parametrize("case", list(CASES))
def test_fetch_response_bytes_equal_with_and_without_sendfile(loaded, topic_name, case):
    version, make_body, limits, max_bytes = CASES[case]
    body = make_body(topic_name, limits, max_bytes)
    raw = {}
    for sendfile, output_type in ((True, SocketOutput), (False, BufferedOutput)):
        loaded.call(lambda s=sendfile: setattr(loaded.server, "sendfile", s))
        client = WireClient(loaded.bootstrap_servers, timeout=30)
        assert isinstance(server_side(loaded, client).output, output_type)
        client.send_raw(client.frame(1, version, body))  # same correlation id on both
        raw[sendfile] = client.recv_frame()
        client.close()
    loaded.call(lambda: setattr(loaded.server, "sendfile", True))
    assert raw[True] == raw[False]
    if case.endswith("-all"):
        assert len(raw[True]) > 6_000_000 and b"5" * 1000 in raw[True] and b"last" in raw[True]
