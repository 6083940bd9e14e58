"""Fetch (API key 1): hand-written response encoder, v4-18, built for zero-copy sending.

Versions (response), after Kafka's FetchResponse.json:
    v4   last_stable_offset, aborted_transactions (read_committed).
    v5   log_start_offset.
    v6   same wire format.
    v7   top-level error_code and session_id (incremental fetch sessions, KIP-227).
    v8-10 same wire format.
    v11  preferred_read_replica (KIP-392).
    v12  flexible versions; partition tagged fields diverging_epoch (tag 0), current_leader
         (tag 1), snapshot_id (tag 2, KRaft only: never written here).
    v13  topics identified by topic_id (UUID) instead of name (KIP-516).
    v14-15 same wire format.
    v16  top-level tagged field node_endpoints (tag 0) (KIP-951).
    v17-18 same wire format.

The records of a partition are either inlined (`bytes`, `bytearray`, `memoryview`) or, for
any other object with `__len__` (the broker's FileSlice, sent with `os.sendfile`), emitted as
their own element of the result. The encoder writes the length prefix itself and never looks
inside the records, so the cost does not depend on their size.

Null vs empty records: `records=None` is written as null (length -1, or 0 in compact form),
`b""` or any empty object as an empty blob (length 0). That is what kio and Kafka's own
serializer write for those two values. Kafka's broker sends empty records
(MemoryRecords.EMPTY) for a partition read that found no data, and null for a partition that
failed with an error (FetchResponse.partitionResponse): handlers should do the same.
"""

from __future__ import annotations

import struct
import uuid
from dataclasses import dataclass

from odradek.protocol.primitives import (
    INT32,
    UUID_ZERO,
    encode_array_length,
    encode_string,
    node_endpoints_payload,
    uvarint,
)

__all__ = [
    "MIN_VERSION",
    "MAX_VERSION",
    "FIRST_FLEXIBLE_VERSION",
    "FetchPartitionResponse",
    "encode_fetch_response",
]

MIN_VERSION = 4
MAX_VERSION = 18
FIRST_FLEXIBLE_VERSION = 12

# Partition fixed part: partition_index, error_code, high_watermark, last_stable_offset
# (+ log_start_offset from v5).
_PARTITION_V4 = struct.Struct(">ihqq")
_PARTITION_V5 = struct.Struct(">ihqqq")
_ABORTED_TXN = struct.Struct(">qq")
# Flexible AbortedTransaction: producer_id, first_offset, empty tagged fields.
_ABORTED_TXN_FLEX = struct.Struct(">qqB")
_HEADER_V4 = struct.Struct(">i")  # throttle_time_ms
_HEADER_V7 = struct.Struct(">ihi")  # throttle_time_ms, error_code, session_id
# Tagged-field entries, including the tag and size bytes:
# tag 0 EpochEndOffset(epoch int32, end_offset int64, tagged fields) = 13 bytes;
# tag 1 LeaderIdAndEpoch(leader_id int32, leader_epoch int32, tagged fields) = 9 bytes.
_DIVERGING_EPOCH_TAG = struct.Struct(">BBiqB")
_CURRENT_LEADER_TAG = struct.Struct(">BBiiB")
_NO_TAG = (-1, -1)

_INLINE = (bytes, bytearray, memoryview)


@dataclass(slots=True)
class FetchPartitionResponse:
    partition_index: int
    error_code: int = 0
    high_watermark: int = -1
    last_stable_offset: int = -1  # v4+
    log_start_offset: int = -1  # v5+
    # (producer_id, first_offset), v4+; None = null
    aborted_transactions: list[tuple[int, int]] | None = None
    preferred_read_replica: int = -1  # v11+
    records: object = None  # bytes | Sized | None
    # tagged v12+ (epoch, end_offset), written only if given and != (-1, -1)
    diverging_epoch: tuple[int, int] | None = None
    # tagged v12+ (leader_id, leader_epoch), written only if given and != (-1, -1)
    current_leader: tuple[int, int] | None = None


def encode_fetch_response(
    version: int,
    topics: list[tuple[str, uuid.UUID | None, list[FetchPartitionResponse]]],
    *,
    throttle_time_ms: int = 0,
    error_code: int = 0,
    session_id: int = 0,
    node_endpoints: list[tuple[int, str, int, str | None]] | None = None,
) -> list[bytes | object]:
    """Encode a FetchResponse body (no header) as parts for zero-copy sending.

    `topics` is [(name, topic_id, partitions)]: v13+ writes the topic_id (zero UUID if None),
    older versions the name. The result alternates `bytes, records, bytes, ..., bytes`: the
    even elements are always `bytes` (possibly empty), the odd ones are the records objects
    that were not inlined, in order (empty ones are left out: their zero length prefix is
    all the wire needs). With only inline records the result is a single `bytes`."""
    if not MIN_VERSION <= version <= MAX_VERSION:
        raise ValueError(f"unsupported FetchResponse version {version}")
    flexible = version >= FIRST_FLEXIBLE_VERSION
    by_id = version >= 13
    has_log_start = version >= 5
    has_replica = version >= 11
    fixed = _PARTITION_V5 if has_log_start else _PARTITION_V4
    aborted_struct = _ABORTED_TXN_FLEX if flexible else _ABORTED_TXN

    parts: list[bytes | object] = []
    # Pieces of the current byte chunk; inline records (any buffer) are joined in as they are.
    out: list[bytes | bytearray | memoryview] = []
    append = out.append
    if version >= 7:
        append(_HEADER_V7.pack(throttle_time_ms, error_code, session_id))
    else:
        append(_HEADER_V4.pack(throttle_time_ms))
    append(encode_array_length(len(topics), flexible))
    for name, topic_id, partitions in topics:
        append((topic_id or UUID_ZERO).bytes if by_id else encode_string(name, flexible))
        append(encode_array_length(len(partitions), flexible))
        for p in partitions:
            if has_log_start:
                append(
                    fixed.pack(
                        p.partition_index,
                        p.error_code,
                        p.high_watermark,
                        p.last_stable_offset,
                        p.log_start_offset,
                    )
                )
            else:
                append(
                    fixed.pack(
                        p.partition_index, p.error_code, p.high_watermark, p.last_stable_offset
                    )
                )
            aborted = p.aborted_transactions
            if aborted is None:
                append(b"\x00" if flexible else b"\xff\xff\xff\xff")
            else:
                append(encode_array_length(len(aborted), flexible))
                if flexible:
                    for producer_id, first_offset in aborted:
                        append(aborted_struct.pack(producer_id, first_offset, 0))
                else:
                    for producer_id, first_offset in aborted:
                        append(aborted_struct.pack(producer_id, first_offset))
            if has_replica:
                append(INT32.pack(p.preferred_read_replica))

            records = p.records
            if records is None:
                append(b"\x00" if flexible else b"\xff\xff\xff\xff")
            else:
                size = len(records)  # type: ignore[arg-type]
                append(uvarint(size + 1) if flexible else INT32.pack(size))
                if isinstance(records, _INLINE):
                    append(records)
                elif size:
                    # Close the current byte chunk; the records go out on their own
                    # (sendfile) and the next chunk starts right after them.
                    parts.append(b"".join(out))
                    parts.append(records)
                    out = []
                    append = out.append

            if flexible:
                if p.diverging_epoch is None and p.current_leader is None:
                    append(b"\x00")  # the usual case, without a call
                else:
                    append(_partition_tags(p.diverging_epoch, p.current_leader))
        if flexible:
            append(b"\x00")
    if flexible:
        if version >= 16 and node_endpoints:
            payload = node_endpoints_payload(node_endpoints)
            append(b"\x01\x00" + uvarint(len(payload)) + payload)
        else:
            append(b"\x00")
    parts.append(b"".join(out))
    return parts


def _partition_tags(
    diverging_epoch: tuple[int, int] | None, current_leader: tuple[int, int] | None
) -> bytes:
    # Tagged fields at their default value are not written (as Kafka's generated serializers);
    # librdkafka < 2.2 mis-parses them.
    has_epoch = diverging_epoch is not None and diverging_epoch != _NO_TAG
    has_leader = current_leader is not None and current_leader != _NO_TAG
    if not (has_epoch or has_leader):
        return b"\x00"
    out = [b"\x02" if has_epoch and has_leader else b"\x01"]
    if diverging_epoch is not None and has_epoch:
        epoch, end_offset = diverging_epoch
        out.append(_DIVERGING_EPOCH_TAG.pack(0, 13, epoch, end_offset, 0))
    if current_leader is not None and has_leader:
        leader_id, leader_epoch = current_leader
        out.append(_CURRENT_LEADER_TAG.pack(1, 9, leader_id, leader_epoch, 0))
    return b"".join(out)
