"""Metadata (API key 3): hand-written response encoder, v0-13.

Versions (response), after Kafka's MetadataResponse.json:
    v0   brokers (node_id, host, port), topics (error_code, name, partitions (error_code,
         partition_index, leader_id, replica_nodes, isr_nodes)).
    v1   broker rack, controller_id, topic is_internal.
    v2   cluster_id.
    v3   throttle_time_ms.
    v4   same wire format (request: allow_auto_topic_creation).
    v5   partition offline_replicas.
    v6   same wire format.
    v7   partition leader_epoch.
    v8   topic_authorized_operations, cluster_authorized_operations (KIP-430).
    v9   flexible versions: compact strings/arrays, tagged fields (none defined here).
    v10  topic_id (KIP-516).
    v11  cluster_authorized_operations removed (moved to DescribeCluster).
    v12  topic name nullable (topics requested by id).
    v13  top-level error_code (e.g. REBOOTSTRAP_REQUIRED, KIP-1102).

Why hand-written: clients poll Metadata constantly and a response lists every partition;
kio's generic writer takes ~11 ms for 100 topics. Here each partition is a single
`struct.pack` with a format compiled once per shape (version group, replica/ISR/offline counts).
"""

from __future__ import annotations

import struct
import uuid
from dataclasses import dataclass, field

from odradek.protocol.primitives import (
    INT16,
    INT32,
    UUID_ZERO,
    encode_array_length,
    encode_nullable_string,
    encode_string,
)

__all__ = [
    "MIN_VERSION",
    "MAX_VERSION",
    "FIRST_FLEXIBLE_VERSION",
    "MetadataPartition",
    "MetadataTopic",
    "encode_metadata_response",
]

MIN_VERSION = 0
MAX_VERSION = 13
FIRST_FLEXIBLE_VERSION = 9

# "Not requested / unknown" for authorized-operations fields (Kafka's Integer.MIN_VALUE).
AUTHORIZED_OPERATIONS_OMITTED = -2147483648


@dataclass(slots=True)
class MetadataPartition:
    partition_index: int
    leader_id: int
    leader_epoch: int = 0  # v7+
    replica_nodes: list[int] = field(default_factory=list)
    isr_nodes: list[int] = field(default_factory=list)
    offline_replicas: list[int] = field(default_factory=list)  # v5+
    error_code: int = 0


@dataclass(slots=True)
class MetadataTopic:
    name: str | None  # None only in v12+ (topic requested by id and unknown)
    topic_id: uuid.UUID | None = None  # v10+ (zero uuid when None)
    is_internal: bool = False  # v1+
    partitions: list[MetadataPartition] = field(default_factory=list)
    topic_authorized_operations: int = AUTHORIZED_OPERATIONS_OMITTED  # v8+
    error_code: int = 0


# Partition layouts by version group. The counts of the three int32 arrays are part of the
# format, so a Struct is compiled per (group, n_replicas, n_isr, n_offline) and cached.
_GROUP_V0 = 0  # error_code, index, leader, replicas, isr
_GROUP_V5 = 1  # + offline_replicas
_GROUP_V7 = 2  # + leader_epoch
_GROUP_FLEX = 3  # compact arrays (1-byte uvarint counts) + empty tagged fields
_STRUCT_CACHE: dict[tuple[int, int, int, int], struct.Struct] = {}
# Shapes are tiny in practice (replication factors); the cap only guards against a cluster
# state that keeps producing new shapes.
_STRUCT_CACHE_MAX = 1024
# A compact count is a single byte while count + 1 < 128; bigger arrays take the slow path.
_MAX_FLEX_FAST_COUNT = 126


def _partition_struct(group: int, nr: int, ni: int, no: int) -> struct.Struct:
    key = (group, nr, ni, no)
    s = _STRUCT_CACHE.get(key)
    if s is None:
        if group == _GROUP_FLEX:
            fmt = f">hiiiB{nr}iB{ni}iB{no}iB"
        elif group == _GROUP_V7:
            fmt = f">hiiii{nr}ii{ni}ii{no}i"
        elif group == _GROUP_V5:
            fmt = f">hiii{nr}ii{ni}ii{no}i"
        else:
            fmt = f">hiii{nr}ii{ni}i"
        s = struct.Struct(fmt)
        if len(_STRUCT_CACHE) >= _STRUCT_CACHE_MAX:
            _STRUCT_CACHE.clear()
        _STRUCT_CACHE[key] = s
    return s


def encode_metadata_response(
    version: int,
    *,
    brokers: list[tuple[int, str, int, str | None]],
    cluster_id: str | None,
    controller_id: int,
    topics: list[MetadataTopic],
    cluster_authorized_operations: int = AUTHORIZED_OPERATIONS_OMITTED,
    throttle_time_ms: int = 0,
    error_code: int = 0,
) -> bytes:
    """Encode a MetadataResponse body (no header).

    `brokers` is [(node_id, host, port, rack)]. Fields a version does not have are dropped.
    A topic name of None is only valid from v12 (ValueError before, as Kafka's serializer)."""
    if not MIN_VERSION <= version <= MAX_VERSION:
        raise ValueError(f"unsupported MetadataResponse version {version}")
    flexible = version >= FIRST_FLEXIBLE_VERSION
    out: list[bytes] = []
    append = out.append

    if version >= 3:
        append(INT32.pack(throttle_time_ms))
    append(encode_array_length(len(brokers), flexible))
    for node_id, host, port, rack in brokers:
        append(INT32.pack(node_id))
        append(encode_string(host, flexible))
        append(INT32.pack(port))
        if version >= 1:
            append(encode_nullable_string(rack, flexible))
        if flexible:
            append(b"\x00")
    if version >= 2:
        append(encode_nullable_string(cluster_id, flexible))
    if version >= 1:
        append(INT32.pack(controller_id))

    append(encode_array_length(len(topics), flexible))
    for topic in topics:
        append(INT16.pack(topic.error_code))
        if topic.name is None and version < 12:
            raise ValueError(f"MetadataResponse v{version} cannot carry a null topic name")
        append(encode_nullable_string(topic.name, flexible))
        if version >= 10:
            append((topic.topic_id or UUID_ZERO).bytes)
        if version >= 1:
            append(b"\x01" if topic.is_internal else b"\x00")
        append(encode_array_length(len(topic.partitions), flexible))
        _encode_partitions(out, version, topic.partitions)
        if version >= 8:
            append(INT32.pack(topic.topic_authorized_operations))
        if flexible:
            append(b"\x00")

    if 8 <= version <= 10:
        append(INT32.pack(cluster_authorized_operations))
    if version >= 13:
        append(INT16.pack(error_code))
    if flexible:
        append(b"\x00")
    return b"".join(out)


def _encode_partitions(out: list[bytes], version: int, partitions: list[MetadataPartition]) -> None:
    # One branch per version group, hoisted out of the per-partition loop: this loop is the
    # whole cost of a big metadata response.
    append = out.append
    get = _STRUCT_CACHE.get
    if version >= FIRST_FLEXIBLE_VERSION:
        for p in partitions:
            r, i, o = p.replica_nodes, p.isr_nodes, p.offline_replicas
            nr, ni, no = len(r), len(i), len(o)
            if nr > _MAX_FLEX_FAST_COUNT or ni > _MAX_FLEX_FAST_COUNT or no > _MAX_FLEX_FAST_COUNT:
                append(_flexible_partition_slow(p))
                continue
            s = get((_GROUP_FLEX, nr, ni, no)) or _partition_struct(_GROUP_FLEX, nr, ni, no)
            append(
                s.pack(
                    p.error_code, p.partition_index, p.leader_id, p.leader_epoch,
                    nr + 1, *r, ni + 1, *i, no + 1, *o, 0,
                )
            )  # fmt: skip
    elif version >= 7:
        for p in partitions:
            r, i, o = p.replica_nodes, p.isr_nodes, p.offline_replicas
            nr, ni, no = len(r), len(i), len(o)
            s = get((_GROUP_V7, nr, ni, no)) or _partition_struct(_GROUP_V7, nr, ni, no)
            append(
                s.pack(
                    p.error_code, p.partition_index, p.leader_id, p.leader_epoch,
                    nr, *r, ni, *i, no, *o,
                )
            )  # fmt: skip
    elif version >= 5:
        for p in partitions:
            r, i, o = p.replica_nodes, p.isr_nodes, p.offline_replicas
            nr, ni, no = len(r), len(i), len(o)
            s = get((_GROUP_V5, nr, ni, no)) or _partition_struct(_GROUP_V5, nr, ni, no)
            append(s.pack(p.error_code, p.partition_index, p.leader_id, nr, *r, ni, *i, no, *o))
    else:
        for p in partitions:
            r, i = p.replica_nodes, p.isr_nodes
            nr, ni = len(r), len(i)
            s = get((_GROUP_V0, nr, ni, 0)) or _partition_struct(_GROUP_V0, nr, ni, 0)
            append(s.pack(p.error_code, p.partition_index, p.leader_id, nr, *r, ni, *i))


def _flexible_partition_slow(p: MetadataPartition) -> bytes:
    # Arrays of 127+ nodes need multi-byte compact counts; never seen in practice.
    out = [struct.pack(">hiii", p.error_code, p.partition_index, p.leader_id, p.leader_epoch)]
    for nodes in (p.replica_nodes, p.isr_nodes, p.offline_replicas):
        out.append(encode_array_length(len(nodes), True))
        out.append(struct.pack(f">{len(nodes)}i", *nodes))
    out.append(b"\x00")
    return b"".join(out)
