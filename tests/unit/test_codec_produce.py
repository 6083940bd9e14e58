"""ProduceRequest decode / ProduceResponse encode, checked against kio for every version."""

from __future__ import annotations

import dataclasses
import datetime
import importlib
import io
import tracemalloc
import uuid
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kio.schema.errors import ErrorCode
from kio.serial import entity_reader, entity_writer
from kio.serial.readers import tz_aware_from_i64
from kio.static.primitive import i32Timedelta

from odradek.protocol import primitives as prim
from odradek.protocol.primitives import DecodeError
from odradek.protocol.produce import (
    ProducePartitionResponse,
    decode_produce_request,
    decode_single_produce,
    encode_produce_response,
    encode_single_produce_response,
)
from odradek.protocol.records import build_batch, parse_batch_header, patch_base_offset

VERSIONS = range(3, 14)


def make(cls: type, **kwargs: Any) -> Any:
    """Build a kio entity, dropping the arguments its version does not have."""
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in kwargs.items() if k in names})


def kio_write(cls: type, obj: Any) -> bytes:
    buf = io.BytesIO()
    entity_writer(cls)(buf, obj)
    return buf.getvalue()


def schema(version: int, kind: str) -> ModuleType:
    return importlib.import_module(f"kio.schema.produce.v{version}.{kind}")


def batch(n: int, seed: int) -> bytes:
    return build_batch(
        [(f"key-{seed}-{i}".encode(), f"value-{seed}-{i}".encode() * (i + 1)) for i in range(n)],
        base_timestamp=1_700_000_000_000 + seed,
    )


# Topic name, topic id, [(partition index, records)] — null and empty records included.
TOPICS: list[tuple[str, uuid.UUID, list[tuple[int, bytes | None]]]] = [
    ("orders", uuid.UUID(int=0x1111), [(0, batch(3, 1)), (5, batch(1, 2)), (2, None)]),
    ("ünïcode-topic", uuid.UUID(int=0x2222), [(7, batch(10, 3) + batch(2, 4))]),
    ("empty-partitions", uuid.UUID(int=0x3333), []),
    ("empty-records", uuid.UUID(int=0x4444), [(1, b"")]),
]


def kio_request(version: int, transactional_id: str | None) -> Any:
    m = schema(version, "request")
    topics = tuple(
        make(
            m.TopicProduceData,
            name=name,
            topic_id=topic_id,
            partition_data=tuple(
                m.PartitionProduceData(index=idx, records=rec) for idx, rec in parts
            ),
        )
        for name, topic_id, parts in TOPICS
    )
    return m.ProduceRequest(
        transactional_id=transactional_id,
        acks=-1,
        timeout=i32Timedelta.parse(datetime.timedelta(milliseconds=30_000)),
        topic_data=topics,
    )


@pytest.mark.parametrize("transactional_id", [None, "txn-ü-1"])
@pytest.mark.parametrize("version", VERSIONS)
def test_decode_matches_kio(version: int, transactional_id: str | None) -> None:
    m = schema(version, "request")
    raw = bytearray(kio_write(m.ProduceRequest, kio_request(version, transactional_id)))
    req = decode_produce_request(memoryview(raw), version)

    assert req.transactional_id == transactional_id
    assert req.acks == -1
    assert req.timeout_ms == 30_000
    assert len(req.topics) == len(TOPICS)
    for topic, (name, topic_id, parts) in zip(req.topics, TOPICS, strict=True):
        if version >= 13:
            assert (topic.name, topic.topic_id) == ("", topic_id)
        else:
            assert (topic.name, topic.topic_id) == (name, None)
        assert [p.index for p in topic.partitions] == [idx for idx, _ in parts]
        for part, (_, records) in zip(topic.partitions, parts, strict=True):
            if records is None:
                assert part.records is None
            else:
                assert part.records is not None
                assert bytes(part.records) == records
                assert part.records.obj is raw  # zero copy: a view into the request buffer

    # Same answer as kio's own reader.
    decoded, size = entity_reader(m.ProduceRequest)(bytes(raw), 0)
    assert size == len(raw)
    kio_records = [[(p.index, p.records) for p in t.partition_data] for t in decoded.topic_data]
    ours = [
        [(p.index, None if p.records is None else bytes(p.records)) for p in t.partitions]
        for t in req.topics
    ]
    assert ours == kio_records


@pytest.mark.parametrize("version", [3, 8, 9, 13])
def test_records_patched_in_place(version: int) -> None:
    m = schema(version, "request")
    raw = bytearray(kio_write(m.ProduceRequest, kio_request(version, None)))
    req = decode_produce_request(memoryview(raw), version)
    records = req.topics[0].partitions[0].records
    assert records is not None
    patch_base_offset(records, 0, 424242)
    # The patch landed in the request buffer itself.
    again = decode_produce_request(memoryview(raw), version).topics[0].partitions[0].records
    assert again is not None
    assert parse_batch_header(again).base_offset == 424242
    assert parse_batch_header(bytes(again)).base_offset == 424242


def test_accepts_bytes_input() -> None:
    m = schema(9, "request")
    raw = kio_write(m.ProduceRequest, kio_request(9, None))
    req = decode_produce_request(raw, 9)  # type: ignore[arg-type]
    assert req.topics[0].name == "orders"


def test_unsupported_version() -> None:
    with pytest.raises(ValueError):
        decode_produce_request(memoryview(b""), 2)
    with pytest.raises(ValueError):
        decode_produce_request(memoryview(b""), 14)


# --------------------------------------------------------------------------- tagged fields


def _tags(tags: list[tuple[int, bytes]]) -> bytes:
    out = bytearray(prim.uvarint(len(tags)))
    for tag, payload in tags:
        prim.write_tagged_field(out, tag, payload)
    return bytes(out)


def flexible_request(version: int, tags: dict[str, list[tuple[int, bytes]]]) -> bytes:
    """A flexible ProduceRequest built by hand, with tagged fields where asked."""
    out = bytearray()
    prim.write_compact_nullable_string(out, "txn")
    prim.write_int16(out, 1)
    prim.write_int32(out, 1500)
    prim.write_compact_array_length(out, len(TOPICS))
    for name, topic_id, parts in TOPICS:
        if version >= 13:
            prim.write_uuid(out, topic_id)
        else:
            prim.write_compact_string(out, name)
        prim.write_compact_array_length(out, len(parts))
        for idx, records in parts:
            prim.write_int32(out, idx)
            prim.write_compact_nullable_bytes(out, records)
            out += _tags(tags.get("partition", []))
        out += _tags(tags.get("topic", []))
    out += _tags(tags.get("request", []))
    return bytes(out)


UNKNOWN = [(3, b"\x01\x02"), (99, b""), (1000, b"z" * 300)]


@pytest.mark.parametrize("version", range(9, 14))
@pytest.mark.parametrize("where", ["request", "topic", "partition", "all"])
def test_unknown_tagged_fields_are_skipped(version: int, where: str) -> None:
    plain = flexible_request(version, {})
    assert plain == kio_write(
        schema(version, "request").ProduceRequest,
        dataclasses.replace(kio_request(version, "txn"), acks=1,
                            timeout=i32Timedelta.parse(datetime.timedelta(milliseconds=1500))),
    )  # fmt: skip
    levels = ["request", "topic", "partition"] if where == "all" else [where]
    tagged = flexible_request(version, {level: UNKNOWN for level in levels})
    assert len(tagged) > len(plain)
    assert decode_produce_request(memoryview(bytearray(tagged)), version) == (
        decode_produce_request(memoryview(bytearray(plain)), version)
    )
    # The reason for a hand-written decoder: kio's reader refuses unknown tags.
    with pytest.raises(KeyError):
        entity_reader(schema(version, "request").ProduceRequest)(tagged, 0)


# --------------------------------------------------------------------------- hostile input


@pytest.mark.parametrize("version", [3, 8, 9, 12, 13])
def test_every_truncation_raises_decode_error(version: int) -> None:
    m = schema(version, "request")
    raw = kio_write(m.ProduceRequest, kio_request(version, "txn"))
    for cut in range(len(raw)):
        with pytest.raises(DecodeError):
            decode_produce_request(memoryview(bytearray(raw[:cut])), version)


def _legacy_header() -> bytes:
    return b"\xff\xff" + b"\x00\x01" + b"\x00\x00\x03\xe8"  # null txn id, acks, timeout


def _flexible_header() -> bytes:
    return b"\x00" + b"\x00\x01" + b"\x00\x00\x03\xe8"


HOSTILE = [
    # huge topic count
    (3, _legacy_header() + b"\x7f\xff\xff\xff" + bytes(20)),
    # huge partition count
    (3, _legacy_header() + b"\x00\x00\x00\x01" + b"\x00\x01t" + b"\x7f\xff\xff\xff" + bytes(20)),
    # huge records length
    (8, _legacy_header() + b"\x00\x00\x00\x01\x00\x01t\x00\x00\x00\x01"
        + b"\x00\x00\x00\x00" + b"\x7f\xff\xff\xff" + bytes(20)),
    # negative (not -1) records length
    (8, _legacy_header() + b"\x00\x00\x00\x01\x00\x01t\x00\x00\x00\x01"
        + b"\x00\x00\x00\x00" + b"\x80\x00\x00\x00" + bytes(20)),
    # huge transactional id length
    (3, b"\x7f\xff" + bytes(20)),
    # null topic array
    (3, _legacy_header() + b"\xff\xff\xff\xff"),
    (9, _flexible_header() + b"\x00\x00"),
    # huge compact topic / partition counts
    (9, _flexible_header() + b"\xff\xff\xff\xff\x0f" + bytes(20)),
    (9, _flexible_header() + b"\x02\x02t" + b"\xff\xff\xff\xff\x0f" + bytes(20)),
    (13, _flexible_header() + b"\x02" + bytes(16) + b"\xff\xff\xff\xff\x0f" + bytes(20)),
    # huge compact records length
    (10, _flexible_header() + b"\x02\x02t\x02" + b"\x00\x00\x00\x00"
         + b"\xff\xff\xff\xff\x0f" + bytes(20)),
    # overlong varint
    (11, _flexible_header() + b"\x02\x02t\x02" + b"\x00\x00\x00\x00"
         + b"\xff\xff\xff\xff\xff\x01" + bytes(20)),
    # huge tagged-field count / size
    (12, _flexible_header() + b"\x01" + b"\xff\xff\xff\xff\x0f" + bytes(20)),
    (12, _flexible_header() + b"\x01" + b"\x01\x05\xff\xff\xff\xff\x0f" + bytes(20)),
    (12, _flexible_header() + b"\x02\x02t\x01" + b"\x01\x05\xff\xff\xff\xff\x0f" + bytes(20)),
]  # fmt: skip


@pytest.mark.parametrize(("version", "body"), HOSTILE)
def test_absurd_lengths_raise_quickly_without_allocating(version: int, body: bytes) -> None:
    buf = memoryview(bytearray(body))
    tracemalloc.start()
    try:
        with pytest.raises(DecodeError):
            decode_produce_request(buf, version)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 100_000


# --------------------------------------------------------------------------- response


def _partition_responses(version: int) -> list[ProducePartitionResponse]:
    return [
        ProducePartitionResponse(index=0, base_offset=1234, log_start_offset=7),
        ProducePartitionResponse(
            index=3, error_code=87, base_offset=-1, log_append_time_ms=1_700_000_000_123,
            record_errors=[(0, "bad record"), (4, None)], error_message="INVALID_RECORD ✗",
        ),
        ProducePartitionResponse(index=9, error_code=6, current_leader=(2, 17)),
        # A current_leader at its default is the same as none: never written.
        ProducePartitionResponse(index=10, error_code=6, current_leader=(-1, -1)),
        ProducePartitionResponse(index=11, log_append_time_ms=0, log_start_offset=0),
    ]  # fmt: skip


def kio_response(
    version: int,
    topics: list[tuple[str, uuid.UUID | None, list[ProducePartitionResponse]]],
    throttle_ms: int,
    endpoints: list[tuple[int, str, int, str | None]],
) -> Any:
    m = schema(version, "response")
    kio_topics = []
    for name, topic_id, partitions in topics:
        kio_parts = []
        for p in partitions:
            kw: dict[str, Any] = dict(
                index=p.index,
                error_code=ErrorCode(p.error_code),
                base_offset=p.base_offset,
                log_append_time=(
                    None if p.log_append_time_ms == -1 else tz_aware_from_i64(p.log_append_time_ms)
                ),
                log_start_offset=p.log_start_offset,
                error_message=p.error_message,
            )
            if hasattr(m, "BatchIndexAndErrorMessage"):  # v8+; older versions drop them
                kw["record_errors"] = tuple(
                    m.BatchIndexAndErrorMessage(batch_index=i, batch_index_error_message=msg)
                    for i, msg in p.record_errors
                )
            if p.current_leader is not None and hasattr(m, "LeaderIdAndEpoch"):
                kw["current_leader"] = m.LeaderIdAndEpoch(
                    leader_id=p.current_leader[0], leader_epoch=p.current_leader[1]
                )
            kio_parts.append(make(m.PartitionProduceResponse, **kw))
        kio_topics.append(
            make(m.TopicProduceResponse, name=name, topic_id=topic_id,
                 partition_responses=tuple(kio_parts))
        )  # fmt: skip
    kw = dict(
        responses=tuple(kio_topics),
        throttle_time=i32Timedelta.parse(datetime.timedelta(milliseconds=throttle_ms)),
    )
    if hasattr(m, "NodeEndpoint"):
        kw["node_endpoints"] = tuple(
            m.NodeEndpoint(node_id=n, host=h, port=p, rack=r) for n, h, p, r in endpoints
        )
    return make(m.ProduceResponse, **kw)


@pytest.mark.parametrize("with_endpoints", [False, True])
@pytest.mark.parametrize("version", VERSIONS)
def test_response_matches_kio(version: int, with_endpoints: bool) -> None:
    parts = _partition_responses(version)
    topics: list[tuple[str, uuid.UUID | None, list[ProducePartitionResponse]]] = [
        ("orders", uuid.UUID(int=0xABC), parts[:3]),
        ("ünïcode", None, parts[3:]),
        ("no-partitions", uuid.UUID(int=1), []),
    ]
    endpoints = [(2, "broker-2", 9093, "rack-2"), (3, "broker-3", 9094, None)]
    endpoints = endpoints if with_endpoints else []
    ours = encode_produce_response(version, topics, 250, node_endpoints=endpoints)
    m = schema(version, "response")
    assert ours == kio_write(m.ProduceResponse, kio_response(version, topics, 250, endpoints))


@pytest.mark.parametrize("version", VERSIONS)
def test_empty_response_matches_kio(version: int) -> None:
    m = schema(version, "response")
    assert encode_produce_response(version, []) == kio_write(
        m.ProduceResponse, kio_response(version, [], 0, [])
    )


def test_default_tagged_fields_are_not_written() -> None:
    # kio skips tagged fields at their default as well: both sides agree on the bare form.
    m = schema(10, "response")
    bare = encode_produce_response(10, [("t", None, [ProducePartitionResponse(index=0)])])
    defaulted = encode_produce_response(
        10,
        [("t", None, [ProducePartitionResponse(index=0, current_leader=(-1, -1))])],
        node_endpoints=[],
    )
    kio_default = make(
        m.ProduceResponse,
        responses=(
            m.TopicProduceResponse(
                name="t",
                partition_responses=(
                    m.PartitionProduceResponse(
                        index=0, error_code=ErrorCode.none, base_offset=-1, record_errors=(),
                        current_leader=m.LeaderIdAndEpoch(leader_id=-1, leader_epoch=-1),
                    ),
                ),
            ),
        ),
        node_endpoints=(),
    )  # fmt: skip
    assert bare == defaulted == kio_write(m.ProduceResponse, kio_default)
    # Partition tagged section, topic tagged section, throttle, top-level tagged section.
    assert bare.endswith(b"\x00" + b"\x00" + b"\x00\x00\x00\x00" + b"\x00")


def test_response_unsupported_version() -> None:
    with pytest.raises(ValueError):
        encode_produce_response(2, [])


# --------------------------------------------------------------------------- single partition

SINGLE_CASES = [
    # (name, acks, partition index, records): records of 1-, 2- and 3-byte compact lengths
    ("t", 1, 0, batch(1, 5)),
    ("orders", -1, 7, batch(40, 6)),
    ("ünïcode-topic", 0, 2**31 - 1, batch(300, 7)),
    ("x" * 126, 1, 3, batch(2, 8)),  # the longest name with a one-byte length
]


def single_request(version: int, name: str, acks: int, index: int, records: bytes | None,
                   *, transactional_id: str | None = None, partitions: int = 1,
                   topics: int = 1) -> bytearray:
    m = schema(version, "request")
    part = m.PartitionProduceData(index=index, records=records)
    topic = make(m.TopicProduceData, name=name, topic_id=uuid.UUID(int=0xFEED),
                 partition_data=(part,) * partitions)
    request = m.ProduceRequest(
        transactional_id=transactional_id, acks=acks,
        timeout=i32Timedelta.parse(datetime.timedelta(milliseconds=5_000)),
        topic_data=(topic,) * topics,
    )
    return bytearray(kio_write(m.ProduceRequest, request))


@pytest.mark.parametrize("version", range(9, 14))
@pytest.mark.parametrize(("name", "acks", "index", "records"), SINGLE_CASES)
def test_single_decode_agrees_with_the_general_decoder(version: int, name: str, acks: int,
                                                       index: int, records: bytes) -> None:
    raw = single_request(version, name, acks, index, records)
    single = decode_single_produce(memoryview(raw), version)
    general = decode_produce_request(memoryview(raw), version)
    assert single is not None
    topic = general.topics[0]
    assert single.topic == (topic.topic_id if version >= 13 else topic.name)
    assert (single.acks, single.index) == (general.acks, topic.partitions[0].index)
    assert bytes(single.records) == bytes(topic.partitions[0].records) == records
    assert single.records.obj is raw  # zero copy: patched in place like the general path's


def _tagged_single(version: int) -> bytearray:
    plain = single_request(version, "t", 1, 0, batch(2, 1))
    # The same request with one unknown tagged field in the request's own section.
    return plain[:-1] + b"\x01\x03\x02ab"


OTHER_SHAPES = {
    "transactional id": lambda v: single_request(v, "t", 1, 0, batch(1, 1), transactional_id="x"),
    "two partitions": lambda v: single_request(v, "t", 1, 0, batch(1, 1), partitions=2),
    "two topics": lambda v: single_request(v, "t", 1, 0, batch(1, 1), topics=2),
    "no topics": lambda v: single_request(v, "t", 1, 0, batch(1, 1), topics=0),
    "null records": lambda v: single_request(v, "t", 1, 0, None),
    "empty records": lambda v: single_request(v, "t", 1, 0, b""),
    "long name": lambda v: single_request(v, "x" * 127, 1, 0, batch(1, 1)),
    "tagged fields": _tagged_single,
    "trailing bytes": lambda v: single_request(v, "t", 1, 0, batch(1, 1)) + b"\x00",
}


@pytest.mark.parametrize(("version", "shape"), [
    (v, shape) for v in range(9, 14) for shape in OTHER_SHAPES
    if not (shape == "long name" and v >= 13)  # v13 names topics by id
])
def test_single_decode_leaves_other_shapes_to_the_general_decoder(version: int,
                                                                  shape: str) -> None:
    raw = OTHER_SHAPES[shape](version)
    assert decode_single_produce(memoryview(raw), version) is None
    if shape != "trailing bytes":
        decode_produce_request(memoryview(raw), version)  # well-formed: the general path reads it


@pytest.mark.parametrize("version", range(3, 9))
def test_single_decode_only_reads_flexible_versions(version: int) -> None:
    raw = single_request(version, "t", 1, 0, batch(1, 1))
    assert decode_single_produce(memoryview(raw), version) is None


@pytest.mark.parametrize("version", [9, 12, 13])
def test_single_decode_of_every_truncation_and_garbage_is_none(version: int) -> None:
    raw = single_request(version, "orders", 1, 4, batch(3, 2))
    for cut in range(len(raw)):
        assert decode_single_produce(memoryview(raw[:cut]), version) is None
    bad_utf8 = single_request(version, "ab", 1, 4, batch(3, 2))
    if version < 13:
        bad_utf8[9] = 0xFF
        assert decode_single_produce(memoryview(bad_utf8), version) is None
        with pytest.raises(DecodeError):
            decode_produce_request(memoryview(bad_utf8), version)


@pytest.mark.parametrize("version", range(9, 14))
@pytest.mark.parametrize("name", ["t", "ünïcode-topic", "x" * 126])
def test_single_response_is_the_general_encoding(version: int, name: str) -> None:
    for index, base, append_time, start in [(0, 0, -1, 0), (7, 123_456_789_012, 1_700_000, 42),
                                            (2**31 - 1, 2**63 - 1, -1, 2**62)]:
        topic: str | uuid.UUID = uuid.UUID(int=hash(name) & 0xFFFF) if version >= 13 else name
        general = encode_produce_response(version, [
            ("" if version >= 13 else name, topic if version >= 13 else None,
             [ProducePartitionResponse(index, 0, base, append_time, start)])])
        assert encode_single_produce_response(version, topic, index, base, append_time,
                                              start) == general


def _agree(raw: bytearray, version: int) -> None:
    single = decode_single_produce(memoryview(raw), version)
    if single is None:
        return
    general = decode_produce_request(memoryview(raw), version)  # must not raise either
    assert general.transactional_id is None and len(general.topics) == 1
    topic = general.topics[0]
    assert len(topic.partitions) == 1
    assert single.topic == (topic.topic_id if version >= 13 else topic.name)
    assert (single.acks, single.index) == (general.acks, topic.partitions[0].index)
    assert topic.partitions[0].records is not None
    assert bytes(single.records) == bytes(topic.partitions[0].records)


@settings(max_examples=1500, derandomize=True)
@given(version=st.integers(9, 13), data=st.data())
def test_single_decode_never_disagrees_with_the_general_decoder(version: int,
                                                                data: st.DataObject) -> None:
    """Whatever the bytes, the one-pass decoder either declines or reads what the general
    decoder reads: a valid request with a few bytes overwritten, cut or appended."""
    raw = single_request(version, data.draw(st.sampled_from(["t", "orders", "ü"])),
                         data.draw(st.sampled_from([-1, 0, 1, 2])), data.draw(st.integers(0, 9)),
                         batch(data.draw(st.integers(1, 30)), 1))
    head = min(len(raw), 40)  # the framing around the records is what the decoder reads
    for _ in range(data.draw(st.integers(0, 3))):
        raw[data.draw(st.integers(0, head - 1))] = data.draw(st.integers(0, 255))
    edit = data.draw(st.sampled_from(["none", "cut", "append"]))
    if edit == "cut":
        raw = raw[: data.draw(st.integers(0, len(raw)))]
    elif edit == "append":
        raw += data.draw(st.binary(min_size=1, max_size=8))
    _agree(raw, version)
