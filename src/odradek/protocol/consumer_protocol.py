"""The "consumer" embedded protocol of classic groups: the subscription and assignment bytes
that members exchange through JoinGroup / SyncGroup (ConsumerProtocolSubscription and
ConsumerProtocolAssignment). The broker reads them only to know which topics a group uses
(OffsetDelete, lag) and who owns what (DescribeGroups tools).

Every version starts with the fields read here, so newer versions parse too.
"""

from __future__ import annotations

import struct

from .primitives import DecodeError, read_array_length, read_string


def subscription_topics(data: bytes) -> set[str] | None:
    """Topics of a subscription, or None if the bytes are not a consumer subscription."""
    try:
        pos = 2  # version
        count, pos = read_array_length(data, pos)
        topics = set()
        for _ in range(max(count, 0)):
            name, pos = read_string(data, pos)
            topics.add(name)
        return topics
    except (DecodeError, struct.error, IndexError):
        return None


def assignment_partitions(data: bytes) -> dict[str, list[int]] | None:
    """Assigned partitions by topic, or None if the bytes are not a consumer assignment."""
    if not data:
        return {}
    try:
        pos = 2  # version
        count, pos = read_array_length(data, pos)
        out: dict[str, list[int]] = {}
        for _ in range(max(count, 0)):
            topic, pos = read_string(data, pos)
            n, pos = read_array_length(data, pos, 4)
            parts = list(struct.unpack_from(f">{max(n, 0)}i", data, pos))
            pos += 4 * max(n, 0)
            out.setdefault(topic, []).extend(parts)
        return out
    except (DecodeError, struct.error, IndexError):
        return None


def encode_assignment(partitions: dict[str, list[int]], version: int = 0) -> bytes:
    """ConsumerProtocolAssignment bytes (tests and tools)."""
    out = bytearray(struct.pack(">hi", version, len(partitions)))
    for topic, parts in partitions.items():
        name = topic.encode()
        out += struct.pack(">h", len(name)) + name + struct.pack(f">i{len(parts)}i", len(parts),
                                                                 *parts)
    out += struct.pack(">i", -1)  # user_data: null
    return bytes(out)


def encode_subscription(topics: list[str], version: int = 0) -> bytes:
    out = bytearray(struct.pack(">hi", version, len(topics)))
    for topic in topics:
        name = topic.encode()
        out += struct.pack(">h", len(name)) + name
    out += struct.pack(">i", -1)  # user_data: null
    return bytes(out)
