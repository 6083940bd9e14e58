"""The group coordinator: every group (classic and KIP-848 consumer groups) and their
committed offsets.

This broker coordinates every group itself. Committed offsets are kept in memory and written
through to the metadata store, so they survive restarts. So does each group's membership:
a classic group's last stable generation, and a KIP-848 group's members with their epochs and
assignments (stored whenever a heartbeat, a join, a leave or an expiry changes them). After a
restart the members carry on heartbeating, without a rebalance, as Kafka's coordinator
reloads groups from __consumer_offsets; members that do not come back expire after their
session timeout. Offsets of a group that has been empty for `offsets.retention.minutes`
expire, and the group goes with them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from ..meta.store import CommittedOffset, MetadataStore
from ..protocol.errors import ErrorCode
from .classic import ClassicGroup, GroupError, GroupState
from .consumer_group import ConsumerGroup, ConsumerGroupError

log = logging.getLogger("odradek.groups")

Group = ClassicGroup | ConsumerGroup
TopicPartition = tuple[str, int]


@dataclass
class GroupConfig:
    initial_rebalance_delay_ms: int = 3000
    min_session_timeout_ms: int = 6000
    max_session_timeout_ms: int = 1800000
    offsets_retention_ms: int = 7 * 24 * 3600 * 1000
    offset_metadata_max_bytes: int = 4096
    consumer_session_timeout_ms: int = 45000
    consumer_heartbeat_interval_ms: int = 5000
    max_size: int = 2**31 - 1


class GroupCoordinator:
    def __init__(self, store: MetadataStore, config: GroupConfig,
                 topic_partitions: Callable[[str], int | None],
                 all_topics: Callable[[], list[str]], now_ms: Callable[[], int]) -> None:
        self.store = store
        self.config = config
        self.groups: dict[str, Group] = {}
        self.offsets: dict[str, dict[TopicPartition, CommittedOffset]] = (
            store.committed_offsets())
        self._topic_partitions = topic_partitions
        self._all_topics = all_topics
        self._now_ms = now_ms
        for group_id in self.offsets:  # groups known only by their offsets are Empty
            self.groups[group_id] = self._new_classic(group_id)
        for group_id, membership in store.group_memberships().items():
            if membership.get("type") == ConsumerGroup.group_type:
                self.groups[group_id] = ConsumerGroup.restore(
                    group_id, membership, topic_partitions, all_topics,
                    config.consumer_session_timeout_ms, config.consumer_heartbeat_interval_ms,
                    on_change=self._consumer_group_changed)
            else:
                self.groups[group_id] = ClassicGroup.restore(
                    group_id, membership, config.initial_rebalance_delay_ms,
                    on_empty=self._became_empty, on_stable=self._became_stable)

    # ------------------------------------------------------------------ groups

    def _new_classic(self, group_id: str) -> ClassicGroup:
        group = ClassicGroup(group_id, self.config.initial_rebalance_delay_ms,
                             on_empty=self._became_empty, on_stable=self._became_stable)
        group.empty_since_ms = self._now_ms()
        return group

    def _became_empty(self, group: Group) -> None:
        group.empty_since_ms = self._now_ms()
        if isinstance(group, ClassicGroup):
            self.store.save_group_membership(group.group_id, None)

    def _became_stable(self, group: ClassicGroup) -> None:
        self.store.save_group_membership(group.group_id, group.snapshot())

    def _consumer_group_changed(self, group: ConsumerGroup) -> None:
        if self.groups.get(group.group_id) is not group:
            return  # replaced (an empty group that switched protocol) or deleted
        self.store.save_group_membership(group.group_id,
                                         group.snapshot() if group.members else None)

    def start(self) -> None:
        """On the broker's loop: session timers of the members of restored groups."""
        for group in self.groups.values():
            group.arm()

    def classic_group(self, group_id: str, create: bool) -> ClassicGroup | None:
        group = self.groups.get(group_id)
        if group is None or group.state == GroupState.DEAD:
            if not create:
                return None
            group = self.groups[group_id] = self._new_classic(group_id)
        if isinstance(group, ConsumerGroup):
            if group.is_empty():  # an empty consumer group may switch protocol
                group = self.groups[group_id] = self._new_classic(group_id)
            else:
                raise GroupError(ErrorCode.inconsistent_group_protocol)
        return group

    def classic_group_or_none(self, group_id: str) -> ClassicGroup | None:
        group = self.groups.get(group_id)
        return group if isinstance(group, ClassicGroup) else None

    def consumer_group(self, group_id: str, create: bool) -> ConsumerGroup | None:
        group = self.groups.get(group_id)
        if isinstance(group, ClassicGroup):
            if group.is_empty() and group.state != GroupState.PREPARING_REBALANCE:
                group = None
            else:
                raise ConsumerGroupError(ErrorCode.group_id_not_found,
                                         f"Group {group_id} is not a consumer group.")
        if group is None:
            if not create:
                return None
            group = self.groups[group_id] = ConsumerGroup(
                group_id, self._topic_partitions, self._all_topics,
                self.config.consumer_session_timeout_ms,
                self.config.consumer_heartbeat_interval_ms,
                on_change=self._consumer_group_changed)
        return group

    def group_state(self, group: Group) -> str:
        return group.state.value

    def list_groups(self) -> list[Group]:
        return [g for g in self.groups.values() if g.state.value != "Dead"]

    def delete_group(self, group_id: str) -> ErrorCode:
        group = self.groups.get(group_id)
        if group is None or group.state.value == "Dead":
            return ErrorCode.group_id_not_found
        if not group.is_empty():
            return ErrorCode.non_empty_group
        group.shutdown()
        del self.groups[group_id]
        if self.offsets.pop(group_id, None) is not None:
            self.store.delete_offsets(group_id, None)
        return ErrorCode.none

    # ------------------------------------------------------------------ offsets

    def validate_commit(self, group_id: str, member_id: str, generation: int,
                        instance_id: str | None) -> None:
        """Who may commit (Kafka's rules); raises GroupError / ConsumerGroupError."""
        group = self.groups.get(group_id)
        if isinstance(group, ConsumerGroup):
            if generation < 0 and not member_id and group.is_empty():
                return
            group.validate_member_epoch(member_id, generation)
            return
        if group is None or group.state == GroupState.DEAD:
            if generation < 0:
                return  # a consumer that assigns partitions itself: a "simple" group
            raise GroupError(ErrorCode.illegal_generation)
        if generation < 0 and group.is_empty():
            return
        group.validate_member(member_id, instance_id, generation)
        if group.state == GroupState.PREPARING_REBALANCE:
            raise GroupError(ErrorCode.rebalance_in_progress)

    def commit(self, group_id: str, offsets: dict[TopicPartition, CommittedOffset]) -> None:
        if group_id not in self.groups:
            self.groups[group_id] = self._new_classic(group_id)
        now = self._now_ms()
        for o in offsets.values():
            o.commit_timestamp = now
        self.offsets.setdefault(group_id, {}).update(offsets)
        self.store.save_offsets(group_id, offsets)

    def committed(self, group_id: str) -> dict[TopicPartition, CommittedOffset]:
        return self.offsets.get(group_id, {})

    def delete_offsets(self, group_id: str,
                       partitions: list[TopicPartition]) -> dict[TopicPartition, ErrorCode]:
        group = self.groups.get(group_id)
        subscribed = set()
        if group is not None and not group.is_empty():
            subscribed = group.subscribed_topics() or set()
        result = {}
        deleted = []
        committed = self.offsets.get(group_id, {})
        for tp in partitions:
            if tp[0] in subscribed:
                result[tp] = ErrorCode.group_subscribed_to_topic
                continue
            result[tp] = ErrorCode.none
            if committed.pop(tp, None) is not None:
                deleted.append(tp)
        if deleted:
            self.store.delete_offsets(group_id, deleted)
        return result

    def delete_topic_offsets(self, topic: str) -> None:
        """A deleted topic's offsets go too (Kafka does the same)."""
        for group_id, committed in self.offsets.items():
            gone = [tp for tp in committed if tp[0] == topic]
            for tp in gone:
                del committed[tp]
            if gone:
                self.store.delete_offsets(group_id, gone)

    def expire_offsets(self) -> int:
        """Offsets of groups empty for longer than offsets.retention; returns groups removed."""
        now = self._now_ms()
        retention = self.config.offsets_retention_ms
        removed = 0
        for group_id, group in list(self.groups.items()):
            if not group.is_empty() or group.empty_since_ms is None:
                continue
            committed = self.offsets.get(group_id, {})
            expired = [tp for tp, o in committed.items()
                       if now - max(o.commit_timestamp, group.empty_since_ms) >= retention]
            for tp in expired:
                del committed[tp]
            if expired:
                self.store.delete_offsets(group_id, expired)
            if not committed and now - group.empty_since_ms >= retention:
                group.shutdown()
                del self.groups[group_id]
                self.offsets.pop(group_id, None)
                removed += 1
        return removed

    def shutdown(self) -> None:
        for group in self.groups.values():
            group.shutdown()
