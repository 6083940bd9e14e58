"""Produce (API key 0): hand-written request decoder and response encoder, v3-13.

Versions (request / response), after Kafka's ProduceRequest.json / ProduceResponse.json:
    v3   transactional_id; record batches are magic v2 (older versions are not served).
    v4   response may carry KAFKA_STORAGE_ERROR.
    v5   response: log_start_offset.
    v6-7 same wire format (v7: zstd allowed).
    v8   response: record_errors, error_message (KIP-467).
    v9   flexible versions: compact strings/arrays, tagged fields.
    v10  response tagged fields: partition current_leader (tag 0), top-level node_endpoints
         (tag 0) (KIP-951).
    v11  same wire format (KIP-890 transactions v2 hint).
    v12  same wire format.
    v13  topics are identified by topic_id (UUID) instead of name (KIP-516).

Why not kio here: produce is the hottest request, the records of each partition must stay
zero-copy `memoryview` slices of the receive buffer (the broker patches base offsets in place
and writes them to the log as they are), and kio's reader raises on unknown tagged fields
where the protocol says to skip them.

The request decoder does no per-record work: each partition's records blob is returned as-is.
Trailing bytes after the body are ignored, as Kafka's parser does.
"""

from __future__ import annotations

import functools
import struct
import uuid
from dataclasses import dataclass, field
from typing import NamedTuple

from odradek.protocol.primitives import (
    INT32,
    UUID_ZERO,
    DecodeError,
    decode_utf8,
    encode_array_length,
    encode_nullable_string,
    encode_string,
    node_endpoints_payload,
    read_array_length,
    read_compact_array_length,
    read_compact_nullable_string,
    read_compact_string,
    read_nullable_string,
    read_string,
    read_uvarint,
    skip_tagged_fields,
    uvarint,
)

__all__ = [
    "MIN_VERSION",
    "MAX_VERSION",
    "FIRST_FLEXIBLE_VERSION",
    "ProducePartition",
    "ProduceTopic",
    "ProduceRequest",
    "ProducePartitionResponse",
    "SingleProduce",
    "decode_produce_request",
    "decode_single_produce",
    "encode_produce_response",
    "encode_single_produce_response",
]

MIN_VERSION = 3
MAX_VERSION = 13
FIRST_FLEXIBLE_VERSION = 9

_ACKS_TIMEOUT = struct.Struct(">hi")
_INDEX_AND_SIZE = struct.Struct(">ii")
# Response partition fixed part: index, error_code, base_offset, log_append_time_ms
# (+ log_start_offset from v5).
_PARTITION_V3 = struct.Struct(">ihqq")
_PARTITION_V5 = struct.Struct(">ihqqq")
# LeaderIdAndEpoch tagged struct: leader_id, leader_epoch, its own empty tagged fields.
_LEADER_TAG = struct.Struct(">iiB")
# What follows the fixed part of a partition without record errors, error message or current
# leader: v8 adds an empty record_errors array and a null error_message, v9 compacts them and
# adds an empty tagged-field section. The usual partition, written in one piece.
_PLAIN_TAIL = {v: b"" if v < 8 else b"\x00\x00\x00\x00\xff\xff" if v < 9 else b"\x01\x00\x00"
               for v in range(MIN_VERSION, MAX_VERSION + 1)}


# --------------------------------------------------------------------------- request


@dataclass(slots=True)
class ProducePartition:
    index: int
    records: memoryview | None  # a slice of the request buffer, not a copy


@dataclass(slots=True)
class ProduceTopic:
    name: str  # "" for v13+, which identifies topics by id
    topic_id: uuid.UUID | None  # v13+ only
    partitions: list[ProducePartition]


@dataclass(slots=True)
class ProduceRequest:
    transactional_id: str | None
    acks: int
    timeout_ms: int
    topics: list[ProduceTopic]


class SingleProduce(NamedTuple):
    """A produce request to one partition of one topic, without a transactional id: what
    librdkafka sends (one request per partition batch), read in one pass."""

    acks: int
    topic: str | uuid.UUID  # the name, or the topic id from v13
    index: int
    records: memoryview


def decode_single_produce(body: memoryview, version: int) -> SingleProduce | None:
    """The usual flexible request (v9+): no transactional id, one topic, one partition with
    records, no tagged fields. None for anything else, and for anything malformed: the caller
    then decodes with `decode_produce_request`, which says what is wrong."""
    if version < FIRST_FLEXIBLE_VERSION or version > MAX_VERSION:
        return None
    end = len(body)
    if end < 24 or body[0] != 0 or body[7] != 2:  # txn id null, one topic
        return None
    acks = _ACKS_TIMEOUT.unpack_from(body, 1)[0]
    if version >= 13:
        pos = 24
        topic: str | uuid.UUID = uuid.UUID(bytes=bytes(body[8:24]))
    else:
        pos = 9 + body[8] - 1  # one-byte compact name length
        if not 9 < pos < 9 + 0x7F:
            return None
        try:
            topic = str(body[9:pos], "utf-8")
        except UnicodeDecodeError:
            return None
    # One partition: its index, a records length of 1 to 3 bytes, then 3 bytes at least.
    if pos + 9 > end or body[pos] != 2:
        return None
    index = INT32.unpack_from(body, pos + 1)[0]
    try:
        size, pos = read_uvarint(body, pos + 5)
    except DecodeError:
        return None
    # The records, then empty tagged fields of the partition, topic and request: the end.
    stop = pos + size - 1
    if size <= 1 or stop + 3 != end or body[stop] or body[stop + 1] or body[stop + 2]:
        return None
    return SingleProduce(acks, topic, index, body[pos:stop])


def decode_produce_request(body: memoryview, version: int) -> ProduceRequest:
    """Decode a ProduceRequest body (the bytes after the request header).

    Records come back as zero-copy slices of `body`: pass a memoryview over a writable buffer
    (a bytearray) if the batches are to be patched in place. Raises DecodeError on malformed
    input (truncation, lengths past the end, absurd counts)."""
    if not MIN_VERSION <= version <= MAX_VERSION:
        raise ValueError(f"unsupported ProduceRequest version {version}")
    buf = body if isinstance(body, memoryview) else memoryview(body)
    try:
        if version >= FIRST_FLEXIBLE_VERSION:
            return _decode_flexible(buf, version)
        return _decode_legacy(buf)
    except (struct.error, IndexError):
        # Fixed-size fields are unpacked without a bounds check of their own; running off the
        # end shows up as one of these.
        raise DecodeError(f"truncated ProduceRequest v{version} ({len(buf)} bytes)") from None


def _decode_legacy(buf: memoryview) -> ProduceRequest:
    end = len(buf)
    txn_id, pos = read_nullable_string(buf, 0)
    acks, timeout_ms = _ACKS_TIMEOUT.unpack_from(buf, pos)
    pos += 6
    # Smallest topic: int16 name length + int32 partition count.
    n_topics, pos = read_array_length(buf, pos, 6)
    if n_topics < 0:
        raise DecodeError("null topic_data array")
    topics: list[ProduceTopic] = []
    for _ in range(n_topics):
        name, pos = read_string(buf, pos)
        # Smallest partition: int32 index + int32 records length.
        n_parts, pos = read_array_length(buf, pos, 8)
        if n_parts < 0:
            raise DecodeError(f"null partition_data array in topic {name!r}")
        partitions: list[ProducePartition] = []
        for _ in range(n_parts):
            index, size = _INDEX_AND_SIZE.unpack_from(buf, pos)
            pos += 8
            if size < 0:
                if size != -1:
                    raise DecodeError(f"negative records length {size} at byte {pos - 4}")
                records = None
            else:
                if size > end - pos:
                    raise DecodeError(
                        f"records of {size} bytes at byte {pos} run past the end ({end})"
                    )
                records = buf[pos : pos + size]
                pos += size
            partitions.append(ProducePartition(index, records))
        topics.append(ProduceTopic(name, None, partitions))
    return ProduceRequest(txn_id, acks, timeout_ms, topics)


def _decode_flexible(buf: memoryview, version: int) -> ProduceRequest:
    # One-byte lengths and empty tagged-field sections are read inline: the usual case, and
    # each helper call costs as much as the check.
    end = len(buf)
    by_id = version >= 13
    if buf[0] == 0:  # null transactional id
        txn_id, pos = None, 1
    else:
        txn_id, pos = read_compact_nullable_string(buf, 0)
    acks, timeout_ms = _ACKS_TIMEOUT.unpack_from(buf, pos)
    pos += 6
    # Smallest topic: name (1) or uuid (16), partition count (1), tagged fields (1).
    n_topics, pos = read_compact_array_length(buf, pos, 18 if by_id else 3)
    if n_topics < 0:
        raise DecodeError("null topic_data array")
    topics: list[ProduceTopic] = []
    for _ in range(n_topics):
        if by_id:
            if end - pos < 16:
                raise DecodeError(f"truncated topic_id at byte {pos}")
            name = ""
            topic_id: uuid.UUID | None = uuid.UUID(bytes=bytes(buf[pos : pos + 16]))
            pos += 16
        else:
            size = buf[pos] - 1
            if 0 <= size < 0x7F and pos + 1 + size <= end:
                name = decode_utf8(buf[pos + 1 : pos + 1 + size], pos + 1)
                pos += 1 + size
            else:
                name, pos = read_compact_string(buf, pos)
            topic_id = None
        # Smallest partition: int32 index, records length (1), tagged fields (1).
        n_parts = buf[pos] - 1  # count + 1, as a uvarint
        if 0 <= n_parts < 0x7F and n_parts * 6 <= end - pos - 1:
            pos += 1
        else:
            n_parts, pos = read_compact_array_length(buf, pos, 6)
        if n_parts < 0:
            raise DecodeError("null partition_data array")
        partitions: list[ProducePartition] = []
        for _ in range(n_parts):
            index = INT32.unpack_from(buf, pos)[0]
            size, pos = read_uvarint(buf, pos + 4)
            if size == 0:
                records = None
            else:
                size -= 1
                if size > end - pos:
                    raise DecodeError(
                        f"records of {size} bytes at byte {pos} run past the end ({end})"
                    )
                records = buf[pos : pos + size]
                pos += size
            # No tagged fields are defined for partitions/topics/the request: skip them all.
            pos = pos + 1 if buf[pos] == 0 else skip_tagged_fields(buf, pos)
            partitions.append(ProducePartition(index, records))
        pos = pos + 1 if buf[pos] == 0 else skip_tagged_fields(buf, pos)
        topics.append(ProduceTopic(name, topic_id, partitions))
    if pos >= end or buf[pos] != 0:
        skip_tagged_fields(buf, pos)
    return ProduceRequest(txn_id, acks, timeout_ms, topics)


# --------------------------------------------------------------------------- response


@functools.lru_cache(maxsize=1024)
def _topic_name(name: str, flexible: bool) -> bytes:
    # Producers send to a few topics over and over.
    return encode_string(name, flexible)


@dataclass(slots=True)
class ProducePartitionResponse:
    index: int
    error_code: int = 0
    base_offset: int = -1
    log_append_time_ms: int = -1
    log_start_offset: int = -1  # v5+
    # (batch_index, message), v8+
    record_errors: list[tuple[int, str | None]] = field(default_factory=list)
    error_message: str | None = None  # v8+
    # (leader_id, leader_epoch), tagged field v10+, written only if given and != (-1, -1)
    current_leader: tuple[int, int] | None = None


@functools.lru_cache(maxsize=1024)
def _single_prefix(version: int, topic: str | uuid.UUID) -> bytes:
    key = topic.bytes if version >= 13 else _topic_name(topic, True)
    return b"\x02" + key + b"\x02"  # one topic, its key, one partition


# What follows the partition's fixed part: _PLAIN_TAIL (which ends with the partition's empty
# tagged fields), the topic's empty tagged fields, throttle_time_ms 0, the response's.
_SINGLE_TAIL = _PLAIN_TAIL[FIRST_FLEXIBLE_VERSION] + b"\x00" + INT32.pack(0) + b"\x00"


def encode_single_produce_response(version: int, topic: str | uuid.UUID, index: int,
                                   base_offset: int, log_append_time_ms: int,
                                   log_start_offset: int) -> bytes:
    """The response to a `SingleProduce` that succeeded (v9+): the bytes
    `encode_produce_response` writes for it, built from a cached prefix."""
    return (_single_prefix(version, topic)
            + _PARTITION_V5.pack(index, 0, base_offset, log_append_time_ms, log_start_offset)
            + _SINGLE_TAIL)


def encode_produce_response(
    version: int,
    topics: list[tuple[str, uuid.UUID | None, list[ProducePartitionResponse]]],
    throttle_time_ms: int = 0,
    *,
    node_endpoints: list[tuple[int, str, int, str | None]] | None = None,
) -> bytes:
    """Encode a ProduceResponse body (no header).

    `topics` is [(name, topic_id, partitions)]: v13+ writes the topic_id (zero UUID if None),
    older versions the name. `node_endpoints` [(node_id, host, port, rack)] is a v10+ tagged
    field, written only when non-empty (tagged fields are never written at their default:
    librdkafka < 2.2 mis-parses them)."""
    if not MIN_VERSION <= version <= MAX_VERSION:
        raise ValueError(f"unsupported ProduceResponse version {version}")
    flexible = version >= FIRST_FLEXIBLE_VERSION
    by_id = version >= 13
    has_errors = version >= 8
    tagged = version >= 10
    fixed = _PARTITION_V5 if version >= 5 else _PARTITION_V3
    plain_tail = _PLAIN_TAIL[version]
    out: list[bytes] = [encode_array_length(len(topics), flexible)]
    append = out.append
    for name, topic_id, partitions in topics:
        if by_id:
            append((topic_id or UUID_ZERO).bytes)
        else:
            append(_topic_name(name, flexible))
        append(encode_array_length(len(partitions), flexible))
        for p in partitions:
            if (version >= 5 and not p.record_errors and p.error_message is None
                    and (p.current_leader is None or p.current_leader == (-1, -1))):
                append(fixed.pack(p.index, p.error_code, p.base_offset, p.log_append_time_ms,
                                  p.log_start_offset) + plain_tail)
                continue
            if version >= 5:
                append(
                    fixed.pack(
                        p.index,
                        p.error_code,
                        p.base_offset,
                        p.log_append_time_ms,
                        p.log_start_offset,
                    )
                )
            else:
                append(fixed.pack(p.index, p.error_code, p.base_offset, p.log_append_time_ms))
            if has_errors:
                append(encode_array_length(len(p.record_errors), flexible))
                for batch_index, message in p.record_errors:
                    append(INT32.pack(batch_index))
                    append(encode_nullable_string(message, flexible))
                    if flexible:
                        append(b"\x00")
                append(encode_nullable_string(p.error_message, flexible))
            if flexible:
                leader = p.current_leader
                if tagged and leader is not None and leader != (-1, -1):
                    # 1 field; tag 0, 9 bytes: leader_id, leader_epoch, empty tagged fields.
                    append(b"\x01\x00\x09" + _LEADER_TAG.pack(leader[0], leader[1], 0))
                else:
                    append(b"\x00")
        if flexible:
            append(b"\x00")
    append(INT32.pack(throttle_time_ms))
    if flexible:
        if tagged and node_endpoints:
            payload = node_endpoints_payload(node_endpoints)
            append(b"\x01\x00" + uvarint(len(payload)) + payload)
        else:
            append(b"\x00")
    return b"".join(out)
