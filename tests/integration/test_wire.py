"""The broker at the byte level: versions, framing, bad input, idempotence, long poll."""

from __future__ import annotations

import dataclasses
import datetime
import struct
import threading

import pytest
from kio.schema.api_versions.v3.request import ApiVersionsRequest
from kio.schema.create_topics.v7 import request as create_topics
from kio.schema.fetch.v12 import request as fetch
from kio.schema.metadata.v12.request import MetadataRequest, MetadataRequestTopic
from kio.schema.produce.v9 import request as produce
from kio.schema.produce.v13 import request as produce_v13

from odradek.protocol.codec import encode
from odradek.protocol.records import Record, build_batch
from tests.support.wire import WireClient, request_class

ZERO = datetime.timedelta(0)


@pytest.fixture
def client(broker):
    c = WireClient(broker.bootstrap_servers)
    yield c
    c.close()


def make_topic(client: WireClient, name: str, partitions: int = 1) -> None:
    req = create_topics.CreateTopicsRequest(
        topics=(create_topics.CreatableTopic(name=name, num_partitions=partitions,
                                             replication_factor=1, assignments=(),
                                             configs=()),),
        timeout=datetime.timedelta(seconds=5), validate_only=False)
    resp = client.request(req)
    assert resp.topics[0].error_code == 0


def produce_req(topic: str, records: bytes, acks: int = -1) -> produce.ProduceRequest:
    return produce.ProduceRequest(
        transactional_id=None, acks=acks, timeout=datetime.timedelta(seconds=5),
        topic_data=(produce.TopicProduceData(name=topic, partition_data=(
            produce.PartitionProduceData(index=0, records=records),)),))


def produce_result(client: WireClient, topic: str, records: bytes):
    resp = client.request(produce_req(topic, records))
    return resp.responses[0].partition_responses[0]


def fetch_req(topic: str, offset: int, max_wait_ms: int = 0) -> fetch.FetchRequest:
    return fetch.FetchRequest(
        replica_id=-1, max_wait=datetime.timedelta(milliseconds=max_wait_ms), min_bytes=1,
        max_bytes=1 << 20, isolation_level=0, session_id=0, session_epoch=-1,
        topics=(fetch.FetchTopic(topic=topic, partitions=(fetch.FetchPartition(
            partition=0, current_leader_epoch=-1, fetch_offset=offset, last_fetched_epoch=-1,
            log_start_offset=-1, partition_max_bytes=1 << 20),)),),
        forgotten_topics_data=(), rack_id="")


def test_api_versions_table_and_no_default_tagged_fields(client):
    client.send_raw(client.frame(18, 3, b"\x04odr\x041.0\x00"))
    raw = client.recv_frame()
    # Header v0 (correlation id only), then the body; no tagged fields at default values,
    # so the body ends with an empty tagged-field section.
    assert raw[-1] == 0
    resp = client.request(ApiVersionsRequest(client_software_name="t",
                                             client_software_version="1"))
    table = {k.api_key: (k.min_version, k.max_version) for k in resp.api_keys}
    assert resp.error_code == 0
    assert table[0] == (0, 13)  # Produce advertised from 0, as Kafka 4 does
    assert table[1] == (4, 18)
    assert table[18] == (0, 4)
    assert table[3] == (0, 13)


def test_api_versions_unsupported_version_answers_v0(client):
    client.send_raw(client.frame(18, 99, b"\x00"))
    raw = client.recv_frame()
    correlation, error, count = struct.unpack_from(">ihi", raw)
    assert correlation == client.correlation
    assert error == 35  # UNSUPPORTED_VERSION
    assert count > 10
    keys = [struct.unpack_from(">hhh", raw, 10 + 6 * i)[0] for i in range(count)]
    assert 18 in keys and 0 in keys


def test_unknown_tagged_field_is_skipped(client):
    body = b"\x02t\x021" + bytes([1, 42, 3]) + b"xyz"  # one tagged field, tag 42
    client.send_raw(client.frame(18, 3, body))
    raw = client.recv_frame()
    assert struct.unpack_from(">ih", raw) == (client.correlation, 0)


@pytest.mark.parametrize("bad", [
    struct.pack(">i", -5),                         # negative frame size
    struct.pack(">i", 200 * 1024 * 1024),          # over socket.request.max.bytes
    struct.pack(">ihhi", 8, 999, 0, 1),            # unknown api key
    struct.pack(">ihhih", 8 + 2, 3, 99, 1, -1),    # metadata v99
])
def test_bad_frames_close_the_connection_and_others_are_served(broker, client, bad):
    other = WireClient(broker.bootstrap_servers)
    client.send_raw(bad)
    assert client.is_closed()
    resp = other.request(MetadataRequest(topics=(), allow_auto_topic_creation=False,
                                         include_topic_authorized_operations=False))
    assert resp.brokers[0].node_id == 1
    other.close()


def test_truncated_body_closes_the_connection(client):
    body = MetadataRequest(topics=(MetadataRequestTopic(topic_id=None, name="x" * 20),),
                           allow_auto_topic_creation=False,
                           include_topic_authorized_operations=False)
    client.send_raw(client.frame(3, 12, encode(body)[:8]))
    assert client.is_closed()


def test_corrupt_crc_is_rejected_and_nothing_is_stored(client, topic_name):
    make_topic(client, topic_name)
    batch = bytearray(build_batch([(b"k", b"v")]))
    batch[-1] ^= 0xFF
    assert produce_result(client, topic_name, bytes(batch)).error_code == 2  # CORRUPT_MESSAGE
    # Two valid batches in one partition: Kafka's INVALID_RECORD (one batch per partition)
    two = build_batch([(None, b"a")]) + build_batch([(None, b"b")])
    assert produce_result(client, topic_name, two).error_code == 87
    ok = produce_result(client, topic_name, build_batch([(b"k", b"v")]))
    assert (ok.error_code, ok.base_offset) == (0, 0)


def test_idempotent_retry_is_not_written_twice(client, topic_name):
    make_topic(client, topic_name)
    first = build_batch([(None, b"a"), (None, b"b")], producer_id=7000, producer_epoch=0,
                        base_sequence=0)
    second = build_batch([(None, b"c")], producer_id=7000, producer_epoch=0, base_sequence=2)
    assert produce_result(client, topic_name, first).base_offset == 0
    # The acknowledgement "got lost": the same batch is sent again on a new connection.
    assert produce_result(client, topic_name, first).base_offset == 0
    assert produce_result(client, topic_name, second).base_offset == 2
    assert produce_result(client, topic_name, second).base_offset == 2
    gap = build_batch([(None, b"d")], producer_id=7000, producer_epoch=0, base_sequence=9)
    assert produce_result(client, topic_name, gap).error_code == 45  # OUT_OF_ORDER_SEQUENCE
    bumped = build_batch([(None, b"e")], producer_id=7000, producer_epoch=1, base_sequence=0)
    assert produce_result(client, topic_name, bumped).base_offset == 3
    stale = build_batch([(None, b"f")], producer_id=7000, producer_epoch=0, base_sequence=3)
    assert produce_result(client, topic_name, stale).error_code == 47  # INVALID_PRODUCER_EPOCH
    resp = client.request(fetch_req(topic_name, 0))
    part = resp.responses[0].partitions[0]
    assert part.high_watermark == 4


def test_fetch_long_poll_wakes_on_append(broker, client, topic_name):
    make_topic(client, topic_name)
    # A 60 s long poll must be answered when the record arrives: the socket gives up after
    # 20 s, so a broker that only answers at max_wait fails this test.
    client.sock.settimeout(20)
    client.send_raw(client.frame(1, 12, encode(fetch_req(topic_name, 0, max_wait_ms=60_000))))
    producer = WireClient(broker.bootstrap_servers)
    timer = threading.Timer(0.2, lambda: produce_result(producer, topic_name,
                                                        build_batch([(b"k", b"woke")])))
    timer.start()
    resp = client.read_response(1, 12)
    timer.join()
    producer.close()
    part = resp.responses[0].partitions[0]
    assert part.error_code == 0 and part.high_watermark == 1
    assert b"woke" in part.records


def test_fetch_errors(client, topic_name):
    make_topic(client, topic_name)
    produce_result(client, topic_name, build_batch([Record(0, 1000, b"k", b"v")]))
    part = client.request(fetch_req(topic_name, 5)).responses[0].partitions[0]
    assert part.error_code == 1  # OFFSET_OUT_OF_RANGE
    part = client.request(fetch_req(topic_name + "-missing", 0)).responses[0].partitions[0]
    assert part.error_code == 3  # UNKNOWN_TOPIC_OR_PARTITION


def _fetch_records(client: WireClient, topic: str, partition: int) -> bytes:
    req = dataclasses.replace(fetch_req(topic, 0), topics=(fetch.FetchTopic(
        topic=topic, partitions=(fetch.FetchPartition(
            partition=partition, current_leader_epoch=-1, fetch_offset=0, last_fetched_epoch=-1,
            log_start_offset=-1, partition_max_bytes=1 << 20),)),))
    part = client.request(req).responses[0].partitions[0]
    assert part.error_code == 0
    return part.records


def test_single_partition_requests_are_stored_and_answered_as_any_other(client, topic_name):
    """librdkafka's one-partition requests take a shorter path (handlers/produce.py); the same
    batch sent in a request of another shape must end up as the same bytes, with the same
    answer."""
    make_topic(client, topic_name, partitions=2)
    records = build_batch([Record(0, 1_700_000_000_000, b"k", b"v" * 300)] * 50)
    single = client.request(produce_req(topic_name, records))
    assert single.responses[0].partition_responses[0].error_code == 0
    # Partition 1, in a request that also names a missing topic: the general path.
    general = client.request(produce.ProduceRequest(
        transactional_id=None, acks=-1, timeout=datetime.timedelta(seconds=5),
        topic_data=(produce.TopicProduceData(name=topic_name, partition_data=(
            produce.PartitionProduceData(index=1, records=records),)),
                    produce.TopicProduceData(name=topic_name + "-missing", partition_data=(
                        produce.PartitionProduceData(index=0, records=records),)))))
    answers = [single.responses[0].partition_responses[0],
               general.responses[0].partition_responses[0]]
    assert general.responses[1].partition_responses[0].error_code == 3
    assert [(a.error_code, a.base_offset, a.log_start_offset, a.error_message)
            for a in answers] == [(0, 0, 0, None)] * 2
    assert _fetch_records(client, topic_name, 0) == _fetch_records(client, topic_name, 1)
    # v13 names the topic by id.
    topic_id = client.request(MetadataRequest(
        topics=(MetadataRequestTopic(topic_id=None, name=topic_name),),
        allow_auto_topic_creation=False,
        include_topic_authorized_operations=False)).topics[0].topic_id
    by_id = client.request(produce_v13.ProduceRequest(
        transactional_id=None, acks=1, timeout=datetime.timedelta(seconds=5),
        topic_data=(produce_v13.TopicProduceData(topic_id=topic_id, partition_data=(
            produce_v13.PartitionProduceData(index=0, records=records),)),)))
    answer = by_id.responses[0]
    assert answer.topic_id == topic_id
    assert (answer.partition_responses[0].error_code,
            answer.partition_responses[0].base_offset) == (0, 50)
    # Errors on the short path: answered like the general path's, nothing stored.
    bad = bytearray(records)
    bad[-1] ^= 0xFF
    assert produce_result(client, topic_name, bytes(bad)).error_code == 2  # CORRUPT_MESSAGE
    # acks=0 with a bad batch: no answer, the connection is closed (as Kafka does).
    client.send_raw(client.frame(0, 9, encode(produce_req(topic_name, bytes(bad), acks=0))))
    assert client.is_closed()


@pytest.mark.parametrize("version", [1, 3, 5])
def test_describe_log_dirs_of_chosen_partitions(client, topic_name, version):
    make_topic(client, topic_name, partitions=3)
    produce_result(client, topic_name, build_batch([(b"k", b"v" * 100)]))
    cls = request_class(35, version)
    topic_cls = cls.__dataclass_fields__["topics"].type.__args__[0].__args__[0]
    asked = (topic_cls(topic=topic_name, partitions=(0, 2, 7)),  # 7 does not exist
             topic_cls(topic=topic_name + "-missing", partitions=(0,)))
    resp = client.request(cls(topics=asked))
    (result,) = resp.results
    assert result.error_code == 0
    assert [(t.name, [(p.partition_index, p.partition_size > 0) for p in t.partitions])
            for t in result.topics] == [(topic_name, [(0, True), (2, False)])]
    assert client.request(cls(topics=())).results[0].topics == ()


def test_list_and_describe_transactions_without_transactions(client):
    """No transactions here: an empty list and unknown ids, as Kafka answers them (and what
    `kafka-transactions.sh list` / `describe` need)."""
    resp = client.request(request_class(66, 2)(state_filters=("Ongoing", "Bogus"),
                                               producer_id_filters=(), duration_filter=-1,
                                               transactional_id_pattern=None))
    assert (resp.error_code, resp.unknown_state_filters, resp.transaction_states) == (
        0, ("Bogus",), ())
    (state,) = client.request(request_class(65, 0)(transactional_ids=("tx-1",))
                              ).transaction_states
    assert (state.error_code, state.transactional_id) == (105, "tx-1")  # ..._ID_NOT_FOUND
    resp = client.request(request_class(66, 2)(state_filters=(), producer_id_filters=(),
                                               duration_filter=-1,
                                               transactional_id_pattern="[bad"))
    assert resp.error_code == 128  # INVALID_REGULAR_EXPRESSION, as Kafka 4.4 answers


def test_describe_producers_lists_idempotent_producers(broker, client, topic_name):
    from confluent_kafka import Producer

    make_topic(client, topic_name, partitions=2)
    p = Producer({"bootstrap.servers": broker.bootstrap_servers, "enable.idempotence": True,
                  "linger.ms": 0})
    for i in range(5):
        p.produce(topic_name, b"%d" % i, partition=0)
        p.flush(10)  # one batch each: five sequence numbers
    cls = request_class(61, 0)
    topic_cls = cls.__dataclass_fields__["topics"].type.__args__[0]
    resp = client.request(cls(topics=(
        topic_cls(name=topic_name, partition_indexes=(0, 1, 9)),
        topic_cls(name=topic_name + "-missing", partition_indexes=(0,)),
        topic_cls(name="bad/name", partition_indexes=(0,)))))
    ours, missing, bad = resp.topics
    p0, p1, p9 = ours.partitions
    (producer,) = p0.active_producers
    assert (producer.producer_id >= 0, producer.producer_epoch, producer.last_sequence) == (
        True, 0, 4)
    assert producer.last_timestamp > 0 and producer.current_txn_start_offset == -1
    assert (p1.error_code, p1.active_producers) == (0, ())
    assert p9.error_code == 3  # UNKNOWN_TOPIC_OR_PARTITION
    assert (p9.error_message, missing.partitions[0].error_code) == (None, 3)
    # Messages as Kafka 4.4 words them (compared on the same requests).
    assert missing.partitions[0].error_message == (
        "This server does not host this topic-partition.")
    assert bad.partitions[0].error_code == 17  # INVALID_TOPIC_EXCEPTION
    assert "contains one or more characters other than" in bad.partitions[0].error_message
