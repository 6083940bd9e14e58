"""Topics and partitions as the broker holds them in memory."""

from __future__ import annotations

import asyncio
import re
import uuid
from dataclasses import dataclass, field

from ..log.partition_log import PartitionLog
from ..protocol.errors import ErrorCode, KafkaError
from .producer_state import ProducerStateManager

# Kafka's Topic.validate: legal characters, at most 249 of them, not "." or "..".
_LEGAL = re.compile(r"^[a-zA-Z0-9._-]+$")
MAX_NAME_LENGTH = 249


def validate_topic_name(name: str | None) -> None:
    """Kafka's topic name rules, with Kafka 4's messages."""
    if not name:
        raise KafkaError(ErrorCode.invalid_topic_exception,
                         "Topic name is invalid: the empty string is not allowed")
    if name in (".", ".."):
        raise KafkaError(ErrorCode.invalid_topic_exception,
                         f"Topic name is invalid: '{name}' is not allowed")
    if len(name) > MAX_NAME_LENGTH:
        raise KafkaError(
            ErrorCode.invalid_topic_exception,
            f"Topic name is invalid: the length of '{name}' is longer than the max allowed "
            f"length {MAX_NAME_LENGTH}")
    if not _LEGAL.match(name):
        raise KafkaError(
            ErrorCode.invalid_topic_exception,
            f"Topic name is invalid: '{name}' contains one or more characters other than "
            "ASCII alphanumerics, '.', '_' and '-'")


@dataclass(eq=False)
class Partition:
    topic: Topic
    index: int
    log: PartitionLog
    leader_epoch: int = 0
    deleted: bool = False
    producers: ProducerStateManager = field(default_factory=ProducerStateManager)
    # Fetch requests parked until data arrives (long poll); woken by `notify_append`.
    waiters: list[asyncio.Future] = field(default_factory=list)

    def check_leader_epoch(self, current_leader_epoch: int) -> None:
        """A client's idea of the leader epoch (-1: none) against ours, as Kafka checks it:
        older is FENCED_LEADER_EPOCH, newer is UNKNOWN_LEADER_EPOCH. Raises KafkaError."""
        if 0 <= current_leader_epoch != self.leader_epoch:
            raise KafkaError(ErrorCode.fenced_leader_epoch
                             if current_leader_epoch < self.leader_epoch
                             else ErrorCode.unknown_leader_epoch)

    def notify_append(self) -> None:
        if self.waiters:
            waiters, self.waiters = self.waiters, []
            for fut in waiters:
                if not fut.done():
                    fut.set_result(None)


@dataclass(eq=False)
class Topic:
    name: str
    topic_id: uuid.UUID
    configs: dict[str, str]  # explicit overrides (DYNAMIC_TOPIC_CONFIG)
    partitions: list[Partition] = field(default_factory=list)
    is_internal: bool = False
    # (config layer it was computed from, limits): see BrokerCore._produce_limits
    produce_limits: tuple | None = None
