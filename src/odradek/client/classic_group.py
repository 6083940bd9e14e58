"""A member of a classic consumer group: JoinGroup, SyncGroup, Heartbeat, LeaveGroup, with the
"range" assignor when this member leads — what the Java client does with
`partition.assignment.strategy=range` (part of its default), so it can share a group with
Java, librdkafka and kafka-python consumers. For brokers without KIP-848 (Kafka 3.x) and for
groups whose members use the classic protocol.

Eager rebalancing, as "range" implies: on REBALANCE_IN_PROGRESS the member commits, gives up
its partitions and joins again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine

from ..groups.assignors import range_
from ..protocol.api_keys import ApiKey
from ..protocol.consumer_protocol import (
    assignment_partitions,
    encode_assignment,
    encode_subscription,
    subscription_topics,
)
from ..protocol.errors import ErrorCode
from .client import Client
from .connection import BrokerConnection
from .errors import KafkaClientError, check

PROTOCOL = "range"
SESSION_TIMEOUT_MS = 45_000  # the Java client's session.timeout.ms
REBALANCE_TIMEOUT_MS = 60_000
HEARTBEAT_INTERVAL_S = 3.0  # the Java client's heartbeat.interval.ms
# Errors after which the member must join again (with a new member id for the last two).
REJOIN = (ErrorCode.rebalance_in_progress, ErrorCode.illegal_generation,
          ErrorCode.unknown_member_id, ErrorCode.fenced_instance_id)


class ClassicMember:
    def __init__(self, client: Client, conn: BrokerConnection, group: str,
                 topics: list[str]) -> None:
        self.client = client
        self.conn = conn  # the group coordinator
        self.group = group
        self.topics = topics
        self.member_id = ""
        self.generation = -1

    async def join(self) -> set[tuple[str, int]]:
        """Join (or join again) and return this member's partitions."""
        while True:
            resp = await self.conn.request(ApiKey.JOIN_GROUP, {
                "group_id": self.group, "session_timeout": SESSION_TIMEOUT_MS,
                "rebalance_timeout": REBALANCE_TIMEOUT_MS, "member_id": self.member_id,
                "group_instance_id": None, "protocol_type": "consumer",
                "protocols": [{"name": PROTOCOL, "metadata": encode_subscription(self.topics)}],
                "reason": None}, timeout=REBALANCE_TIMEOUT_MS / 1000 + 10)
            if resp.error_code == ErrorCode.member_id_required:  # KIP-394: ask again with it
                self.member_id = resp.member_id
                continue
            if resp.error_code in (ErrorCode.unknown_member_id, ErrorCode.illegal_generation):
                self.member_id = ""
                continue
            check(resp.error_code, None, f"JoinGroup {self.group}")
            self.member_id, self.generation = resp.member_id, resp.generation_id
            assignments = []
            if resp.leader == self.member_id:
                assignments = [{"member_id": m, "assignment": encode_assignment(a)}
                               for m, a in (await self._assign(resp.members)).items()]
            sync = await self.conn.request(ApiKey.SYNC_GROUP, {
                "group_id": self.group, "generation_id": self.generation,
                "member_id": self.member_id, "group_instance_id": None,
                "protocol_type": "consumer", "protocol_name": PROTOCOL,
                "assignments": assignments}, timeout=REBALANCE_TIMEOUT_MS / 1000 + 10)
            if sync.error_code in REJOIN:
                continue
            check(sync.error_code, None, f"SyncGroup {self.group}")
            mine = assignment_partitions(bytes(sync.assignment)) or {}
            return {(t, p) for t, ps in mine.items() for p in ps}

    async def _assign(self, members) -> dict[str, dict[str, list[int]]]:
        subscriptions = {m.member_id: subscription_topics(bytes(m.metadata)) or set()
                         for m in members}
        topics = sorted({t for s in subscriptions.values() for t in s})
        cluster = await self.client.metadata(topics)
        counts = {t: len(info.partitions) for t, info in cluster.topics.items()
                  if not info.error_code}
        return range_(subscriptions, counts, {})

    async def heartbeats(self, on_rebalance: Callable[[], Coroutine],
                         on_assignment: Callable[[set[tuple[str, int]]], None]) -> None:
        """Heartbeat until cancelled; when the group rebalances, `on_rebalance()` (commit and
        give up the partitions), join again and hand the new partitions to `on_assignment`."""
        while True:
            await asyncio.sleep(HEARTBEAT_INTERVAL_S)
            resp = await self.conn.request(ApiKey.HEARTBEAT, {
                "group_id": self.group, "generation_id": self.generation,
                "member_id": self.member_id, "group_instance_id": None})
            if resp.error_code in REJOIN:
                await on_rebalance()
                if resp.error_code in (ErrorCode.unknown_member_id,
                                       ErrorCode.fenced_instance_id):
                    self.member_id = ""
                on_assignment(await self.join())
                continue
            check(resp.error_code, None, f"Heartbeat {self.group}")

    async def leave(self) -> None:
        try:
            resp = await self.conn.request(ApiKey.LEAVE_GROUP, {
                "group_id": self.group, "member_id": self.member_id,
                "members": [{"member_id": self.member_id, "group_instance_id": None,
                             "reason": "the consumer is closing"}]})
        except KafkaClientError:
            return
        check(resp.error_code, None, f"LeaveGroup {self.group}")
