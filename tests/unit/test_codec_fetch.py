"""FetchResponse encode (parts for zero-copy sending), checked against kio for every version."""

from __future__ import annotations

import dataclasses
import datetime
import importlib
import io
import uuid
from types import ModuleType
from typing import Any

import pytest
from kio.schema.errors import ErrorCode
from kio.serial import entity_writer
from kio.static.primitive import i32Timedelta

from odradek.protocol.fetch import FetchPartitionResponse, encode_fetch_response
from odradek.protocol.records import build_batch

VERSIONS = range(4, 19)


class FakeSlice:
    """Stands in for the broker's FileSlice: only `__len__` is part of the contract."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def __len__(self) -> int:
        return len(self.data)


def make(cls: type, **kwargs: Any) -> Any:
    """Build a kio entity, dropping the arguments its version does not have."""
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in kwargs.items() if k in names})


def kio_write(cls: type, obj: Any) -> bytes:
    buf = io.BytesIO()
    entity_writer(cls)(buf, obj)
    return buf.getvalue()


def schema(version: int) -> ModuleType:
    return importlib.import_module(f"kio.schema.fetch.v{version}.response")


def flatten(parts: list[Any]) -> bytes:
    return b"".join(p.data if isinstance(p, FakeSlice) else p for p in parts)


def batch(n: int, seed: int) -> bytes:
    return build_batch(
        [(None if i % 3 == 0 else f"k{i}".encode(), f"v-{seed}-{i}".encode()) for i in range(n)],
        base_offset=seed * 100,
        base_timestamp=1_700_000_000_000,
    )


def sample_topics() -> list[tuple[str, uuid.UUID | None, list[FetchPartitionResponse]]]:
    return [
        (
            "orders",
            uuid.UUID(int=0xFEED),
            [
                FetchPartitionResponse(
                    0, high_watermark=100, last_stable_offset=90, log_start_offset=3,
                    records=FakeSlice(batch(5, 1) + batch(2, 2)),
                ),
                FetchPartitionResponse(
                    1, high_watermark=7, last_stable_offset=7, log_start_offset=0,
                    aborted_transactions=[(1000, 3), (1001, 5)], preferred_read_replica=2,
                    records=batch(3, 3),
                ),
                # Error partition: null records, as Kafka's FetchResponse.partitionResponse.
                FetchPartitionResponse(2, error_code=6, current_leader=(4, 12)),
                # No data: empty records, empty aborted list, both tagged fields.
                FetchPartitionResponse(
                    3, high_watermark=0, last_stable_offset=0, log_start_offset=0,
                    aborted_transactions=[], records=b"",
                    diverging_epoch=(5, 1234), current_leader=(1, 9),
                ),
            ],
        ),
        ("ünïcode", None, []),
        (
            "logs",
            uuid.UUID(int=0xBEEF),
            [
                FetchPartitionResponse(
                    9, high_watermark=1 << 40, records=FakeSlice(batch(1, 4)),
                    # At their default: not written (kio skips them too).
                    diverging_epoch=(-1, -1), current_leader=(-1, -1),
                ),
                FetchPartitionResponse(10, records=FakeSlice(b"")),  # empty slice
                FetchPartitionResponse(11, records=bytearray(batch(2, 5))),
                FetchPartitionResponse(12, records=memoryview(batch(2, 6))),
                FetchPartitionResponse(13, diverging_epoch=(3, 77)),
            ],
        ),
    ]  # fmt: skip


def kio_response(
    version: int,
    topics: list[tuple[str, uuid.UUID | None, list[FetchPartitionResponse]]],
    *,
    throttle_ms: int,
    error_code: int,
    session_id: int,
    endpoints: list[tuple[int, str, int, str | None]],
) -> Any:
    m = schema(version)
    kio_topics = []
    for name, topic_id, partitions in topics:
        kio_parts = []
        for p in partitions:
            records = p.records
            if isinstance(records, FakeSlice):
                records = records.data
            elif records is not None:
                records = bytes(records)  # type: ignore[call-overload]
            aborted = p.aborted_transactions
            kw: dict[str, Any] = dict(
                partition_index=p.partition_index,
                error_code=ErrorCode(p.error_code),
                high_watermark=p.high_watermark,
                last_stable_offset=p.last_stable_offset,
                log_start_offset=p.log_start_offset,
                aborted_transactions=None if aborted is None else tuple(
                    m.AbortedTransaction(producer_id=pid, first_offset=off) for pid, off in aborted
                ),
                preferred_read_replica=p.preferred_read_replica,
                records=records,
            )  # fmt: skip
            if p.diverging_epoch is not None and hasattr(m, "EpochEndOffset"):
                kw["diverging_epoch"] = m.EpochEndOffset(
                    epoch=p.diverging_epoch[0], end_offset=p.diverging_epoch[1]
                )
            if p.current_leader is not None and hasattr(m, "LeaderIdAndEpoch"):
                kw["current_leader"] = m.LeaderIdAndEpoch(
                    leader_id=p.current_leader[0], leader_epoch=p.current_leader[1]
                )
            kio_parts.append(make(m.PartitionData, **kw))
        kio_topics.append(
            make(m.FetchableTopicResponse, topic=name, topic_id=topic_id,
                 partitions=tuple(kio_parts))
        )  # fmt: skip
    kw = dict(
        throttle_time=i32Timedelta.parse(datetime.timedelta(milliseconds=throttle_ms)),
        error_code=ErrorCode(error_code),
        session_id=session_id,
        responses=tuple(kio_topics),
    )
    if hasattr(m, "NodeEndpoint"):
        kw["node_endpoints"] = tuple(
            m.NodeEndpoint(node_id=n, host=h, port=p, rack=r) for n, h, p, r in endpoints
        )
    return make(m.FetchResponse, **kw)


@pytest.mark.parametrize("with_endpoints", [False, True])
@pytest.mark.parametrize("version", VERSIONS)
def test_matches_kio(version: int, with_endpoints: bool) -> None:
    topics = sample_topics()
    endpoints = [(1, "broker-1", 9092, None), (4, "broker-4", 9095, "rack-x")]
    endpoints = endpoints if with_endpoints else []
    parts = encode_fetch_response(
        version, topics, throttle_time_ms=15, error_code=0, session_id=123456,
        node_endpoints=endpoints,
    )  # fmt: skip
    expected = kio_write(
        schema(version).FetchResponse,
        kio_response(version, topics, throttle_ms=15, error_code=0, session_id=123456,
                     endpoints=endpoints),
    )  # fmt: skip
    assert flatten(parts) == expected


@pytest.mark.parametrize("version", VERSIONS)
def test_empty_response_with_error_matches_kio(version: int) -> None:
    parts = encode_fetch_response(version, [], throttle_time_ms=1, error_code=71, session_id=0)
    expected = kio_write(
        schema(version).FetchResponse,
        kio_response(version, [], throttle_ms=1, error_code=71, session_id=0, endpoints=[]),
    )
    assert parts == [expected]


@pytest.mark.parametrize("version", [4, 11, 12, 18])
def test_parts_alternate_bytes_and_slices(version: int) -> None:
    topics = sample_topics()
    parts = encode_fetch_response(version, topics)
    slices = [
        p.records
        for _, _, partitions in topics
        for p in partitions
        if isinstance(p.records, FakeSlice) and len(p.records)
    ]
    assert len(parts) == 2 * len(slices) + 1
    assert all(type(part) is bytes for part in parts[0::2])
    # The very objects that were passed in, in order: nothing copied, nothing read.
    assert all(a is b for a, b in zip(parts[1::2], slices, strict=True))


def test_inline_records_give_a_single_chunk() -> None:
    records = batch(4, 7)
    parts = encode_fetch_response(
        11, [("t", None, [FetchPartitionResponse(0, records=records), FetchPartitionResponse(1)])]
    )
    assert len(parts) == 1 and type(parts[0]) is bytes
    assert records in parts[0]


@pytest.mark.parametrize("version", [4, 11, 12, 16])
def test_null_versus_empty_records(version: int) -> None:
    # None -> null (-1 / compact 0), b"" -> empty (0 / compact 1): the same as kio writes.
    def tail(records: object) -> bytes:
        (body,) = encode_fetch_response(
            version, [("t", None, [FetchPartitionResponse(0, records=records)])]
        )
        return body

    flexible = version >= 12
    null, empty = tail(None), tail(b"")
    assert len(null) == len(empty)
    if flexible:
        # records, partition tags, topic tags, top-level tags
        assert null.endswith(b"\x00" + b"\x00\x00\x00")
        assert empty.endswith(b"\x01" + b"\x00\x00\x00")
    else:
        assert null.endswith(b"\xff\xff\xff\xff")
        assert empty.endswith(b"\x00\x00\x00\x00")
    assert tail(FakeSlice(b"")) == empty
    for records in (None, b""):
        m = schema(version)
        expected = kio_write(
            m.FetchResponse,
            kio_response(version, [("t", None, [FetchPartitionResponse(0, records=records)])],
                         throttle_ms=0, error_code=0, session_id=0, endpoints=[]),
        )  # fmt: skip
        assert tail(records) == expected


def test_big_slice_is_not_touched() -> None:
    class Huge:
        def __len__(self) -> int:
            return 1 << 30  # 1 GiB, never materialised

    huge = Huge()
    parts = encode_fetch_response(12, [("t", None, [FetchPartitionResponse(0, records=huge)])])
    assert parts[1] is huge
    assert parts[0].endswith(bytes([0x81, 0x80, 0x80, 0x80, 0x04]))  # uvarint(2**30 + 1)


def test_unsupported_version() -> None:
    with pytest.raises(ValueError):
        encode_fetch_response(3, [])
    with pytest.raises(ValueError):
        encode_fetch_response(19, [])
