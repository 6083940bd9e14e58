"""KIP-848 consumer groups: the broker assigns partitions; members only heartbeat.

The group epoch goes up whenever membership, a subscription or a subscribed topic's partition
count changes; the target assignment is then recomputed by the broker-side assignor. Each
member converges on its target through its heartbeats:
- partitions it must give up are taken out of its assignment first (its member epoch stays),
  and it confirms by heartbeating without them;
- then its member epoch moves to the target's epoch and it receives its new partitions, except
  ones another member has not released yet, which follow on a later heartbeat.
So a partition never has two owners. A member that misses its session timeout, or sits on
partitions to revoke past its rebalance timeout, is removed (fenced).
"""

from __future__ import annotations

import asyncio
import enum
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from ..protocol.errors import ErrorCode
from .assignors import ASSIGNORS

TopicPartitions = dict[str, set[int]]


class ConsumerGroupState(enum.Enum):
    EMPTY = "Empty"
    ASSIGNING = "Assigning"
    RECONCILING = "Reconciling"
    STABLE = "Stable"
    DEAD = "Dead"


class ConsumerGroupError(Exception):
    def __init__(self, code: ErrorCode, message: str | None = None) -> None:
        super().__init__(message or code.name)
        self.code = code
        self.message = message


@dataclass(eq=False)
class ConsumerMember:
    member_id: str
    instance_id: str | None
    rack_id: str | None
    client_id: str
    client_host: str
    subscribed_topic_names: list[str] = field(default_factory=list)
    subscribed_topic_regex: str | None = None
    server_assignor: str | None = None
    rebalance_timeout_ms: int = 300000
    member_epoch: int = 0
    previous_member_epoch: int = -1
    assigned: TopicPartitions = field(default_factory=dict)
    pending_revocation: TopicPartitions = field(default_factory=dict)
    last_sent: TopicPartitions | None = None
    expiry: asyncio.TimerHandle | None = None
    revocation_deadline: asyncio.TimerHandle | None = None


def _flat(tp: TopicPartitions) -> set[tuple[str, int]]:
    return {(t, p) for t, parts in tp.items() for p in parts}


def _nest(pairs: set[tuple[str, int]]) -> TopicPartitions:
    out: TopicPartitions = {}
    for t, p in pairs:
        out.setdefault(t, set()).add(p)
    return out


def _plain(tp: TopicPartitions) -> dict[str, list[int]]:
    return {t: sorted(ps) for t, ps in sorted(tp.items()) if ps}


def _member_data(m: ConsumerMember) -> dict:
    """What a member's snapshot keeps: everything but its timers and what was last sent."""
    return {"member_id": m.member_id, "instance_id": m.instance_id, "rack_id": m.rack_id,
            "client_id": m.client_id, "client_host": m.client_host,
            "subscribed_topic_names": m.subscribed_topic_names,
            "subscribed_topic_regex": m.subscribed_topic_regex,
            "server_assignor": m.server_assignor,
            "rebalance_timeout_ms": m.rebalance_timeout_ms, "member_epoch": m.member_epoch,
            "previous_member_epoch": m.previous_member_epoch,
            "assigned": _plain(m.assigned), "pending_revocation": _plain(m.pending_revocation)}


class ConsumerGroup:
    group_type = "consumer"
    protocol_type = "consumer"

    def __init__(self, group_id: str, topic_partitions: Callable[[str], int | None],
                 all_topics: Callable[[], list[str]], session_timeout_ms: int,
                 heartbeat_interval_ms: int, default_assignor: str = "uniform",
                 on_change: Callable[[ConsumerGroup], None] | None = None) -> None:
        self.group_id = group_id
        self.members: dict[str, ConsumerMember] = {}
        self.static_members: dict[str, str] = {}
        self.group_epoch = 0
        self.assignment_epoch = 0
        self.target: dict[str, TopicPartitions] = {}
        self.assignor_name = default_assignor
        self._topic_partitions = topic_partitions
        self._all_topics = all_topics
        self._metadata_fingerprint: tuple = ()
        self.session_timeout_ms = session_timeout_ms
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.dead = False
        self.empty_since_ms: int | None = None
        # Called when what snapshot() returns has changed (the coordinator stores it).
        self._on_change = on_change

    # ------------------------------------------------------------------ state

    @property
    def state(self) -> ConsumerGroupState:
        if self.dead:
            return ConsumerGroupState.DEAD
        if not self.members:
            return ConsumerGroupState.EMPTY
        if self.assignment_epoch != self.group_epoch:
            return ConsumerGroupState.ASSIGNING
        if any(m.member_epoch != self.assignment_epoch or m.pending_revocation
               or _flat(m.assigned) != _flat(self.target.get(m.member_id, {}))
               for m in self.members.values()):
            return ConsumerGroupState.RECONCILING
        return ConsumerGroupState.STABLE

    def is_empty(self) -> bool:
        return not self.members

    def subscribed_topics(self) -> set[str]:
        topics: set[str] = set()
        for m in self.members.values():
            topics |= self._member_topics(m)
        return topics

    def _member_topics(self, m: ConsumerMember) -> set[str]:
        topics = set(m.subscribed_topic_names)
        if m.subscribed_topic_regex:
            try:
                pattern = re.compile(m.subscribed_topic_regex)
            except re.error:
                pattern = None
            if pattern is not None:
                topics |= {t for t in self._all_topics() if pattern.fullmatch(t)}
        return topics

    def validate_member_epoch(self, member_id: str, epoch: int) -> ConsumerMember:
        """For OffsetCommit / OffsetFetch from members of this group."""
        member = self.members.get(member_id)
        if member is None:
            raise ConsumerGroupError(ErrorCode.unknown_member_id)
        if epoch != member.member_epoch:
            raise ConsumerGroupError(ErrorCode.stale_member_epoch)
        return member

    # ------------------------------------------------------------------ heartbeat

    def heartbeat(self, *, member_id: str, member_epoch: int, instance_id: str | None,
                  rack_id: str | None, rebalance_timeout_ms: int,
                  subscribed_topic_names: list[str] | None, subscribed_topic_regex: str | None,
                  server_assignor: str | None, owned: TopicPartitions | None, client_id: str,
                  client_host: str) -> tuple[str, int, TopicPartitions | None]:
        """Returns (member id, member epoch, assignment to send or None if unchanged).
        Raises ConsumerGroupError."""
        if self.dead:
            raise ConsumerGroupError(ErrorCode.coordinator_not_available)
        if server_assignor is not None and server_assignor not in ASSIGNORS:
            raise ConsumerGroupError(ErrorCode.unsupported_assignor,
                                     f"Assignor {server_assignor} is not supported.")
        if member_epoch in (-1, -2):
            return self._leave(member_id, instance_id, member_epoch)
        before = self._state_of(member_id)
        if member_epoch == 0:
            member = self._join(member_id, instance_id, rack_id, client_id, client_host,
                                subscribed_topic_names)
        else:
            member = self.members.get(member_id)
            if member is None:
                raise ConsumerGroupError(ErrorCode.unknown_member_id)
            if member_epoch != member.member_epoch and not (
                    member_epoch == member.previous_member_epoch and owned is not None
                    and _flat(owned) <= _flat(member.assigned)):
                raise ConsumerGroupError(ErrorCode.fenced_member_epoch,
                                         f"The member epoch {member_epoch} is stale; the "
                                         f"current epoch is {member.member_epoch}.")
        changed = False
        if subscribed_topic_names is not None and (
                sorted(subscribed_topic_names) != sorted(member.subscribed_topic_names)):
            member.subscribed_topic_names = list(subscribed_topic_names)
            changed = True
        if subscribed_topic_regex is not None and (
                subscribed_topic_regex != (member.subscribed_topic_regex or "")):
            member.subscribed_topic_regex = subscribed_topic_regex or None
            changed = True
        if server_assignor is not None and server_assignor != member.server_assignor:
            member.server_assignor = server_assignor
            changed = True
        if rebalance_timeout_ms > 0:
            member.rebalance_timeout_ms = rebalance_timeout_ms
        member.rack_id = rack_id if rack_id is not None else member.rack_id
        self._schedule_expiry(member)
        fingerprint = self._fingerprint()
        if changed or member_epoch == 0 or fingerprint != self._metadata_fingerprint:
            self._bump_epoch(fingerprint)
        if owned is not None and member.pending_revocation:
            if not (_flat(owned) & _flat(member.pending_revocation)):
                member.pending_revocation = {}
                self._cancel_revocation_deadline(member)
        self._reconcile(member)
        assignment = self._to_send(member)
        # A heartbeat changes at most this member and the group's epochs and target: most
        # change nothing, and the group is stored only when one did.
        if self._state_of(member.member_id) != before:
            self._changed()
        return member.member_id, member.member_epoch, assignment

    def _join(self, member_id, instance_id, rack_id, client_id, client_host,
              topics) -> ConsumerMember:
        if not member_id:
            member_id = str(uuid.uuid4())  # v0 clients let the broker choose
        existing = self.members.get(member_id)
        if instance_id is not None:
            old_id = self.static_members.get(instance_id)
            if old_id is not None and old_id != member_id:
                old = self.members.get(old_id)
                if old is not None and old.member_epoch != -2:
                    raise ConsumerGroupError(ErrorCode.unreleased_instance_id,
                                             f"Static member {instance_id} is still in use.")
                if old is not None:  # a static member coming back takes its place
                    del self.members[old_id]
                    old.member_id = member_id
                    old.member_epoch = old.previous_member_epoch
                    self.members[member_id] = old
                    self.static_members[instance_id] = member_id
                    self.target[member_id] = self.target.pop(old_id, {})
                    return old
        if existing is not None:
            return existing  # a rejoin with the same id
        if topics is None:
            raise ConsumerGroupError(ErrorCode.invalid_request,
                                     "SubscribedTopicNames must be set in first request.")
        member = ConsumerMember(member_id, instance_id, rack_id, client_id, client_host)
        self.members[member_id] = member
        if instance_id is not None:
            self.static_members[instance_id] = member_id
        self.empty_since_ms = None
        return member

    def _leave(self, member_id: str, instance_id: str | None,
               epoch: int) -> tuple[str, int, TopicPartitions | None]:
        member = self.members.get(member_id)
        if member is None:
            raise ConsumerGroupError(ErrorCode.unknown_member_id)
        if epoch == -2 and instance_id is not None:
            # A static member leaving for a while keeps its assignment for its session.
            member.previous_member_epoch = member.member_epoch
            member.member_epoch = -2
            self._changed()
            return member_id, -2, None
        self.remove_member(member)
        return member_id, epoch, None

    def remove_member(self, member: ConsumerMember) -> None:
        if self.members.get(member.member_id) is not member:
            return
        del self.members[member.member_id]
        if member.instance_id is not None and self.static_members.get(
                member.instance_id) == member.member_id:
            del self.static_members[member.instance_id]
        for handle in (member.expiry, member.revocation_deadline):
            if handle is not None:
                handle.cancel()
        self.target.pop(member.member_id, None)
        if not self.members:
            self.empty_since_ms = time.time_ns() // 1_000_000
        # The others move to the new target on their own next heartbeat: a member's epoch
        # only changes in a response it sees, or its commits would look stale to it.
        self._bump_epoch(self._fingerprint())
        self._changed()

    # ------------------------------------------------------------------ assignment

    def _fingerprint(self) -> tuple:
        topics = sorted(self.subscribed_topics())
        return tuple((t, self._topic_partitions(t)) for t in topics)

    def _bump_epoch(self, fingerprint: tuple) -> None:
        self._metadata_fingerprint = fingerprint
        self.group_epoch += 1
        subscriptions = {m.member_id: {t for t in self._member_topics(m)
                                       if self._topic_partitions(t)}
                         for m in self.members.values()}
        partitions = {t: self._topic_partitions(t) or 0
                      for s in subscriptions.values() for t in s}
        preferred = [m.server_assignor for m in self.members.values() if m.server_assignor]
        self.assignor_name = preferred[0] if preferred else self.assignor_name
        current = {mid: {t: sorted(ps) for t, ps in tp.items()}
                   for mid, tp in self.target.items()}
        result = ASSIGNORS[self.assignor_name](subscriptions, partitions, current)
        self.target = {mid: {t: set(ps) for t, ps in tp.items()} for mid, tp in result.items()}
        self.assignment_epoch = self.group_epoch

    def _owned_by_others(self, member: ConsumerMember) -> set[tuple[str, int]]:
        owned: set[tuple[str, int]] = set()
        for other in self.members.values():
            if other is not member:
                owned |= _flat(other.assigned) | _flat(other.pending_revocation)
        return owned

    def _reconcile(self, member: ConsumerMember) -> None:
        if member.member_epoch == -2:
            return
        target = _flat(self.target.get(member.member_id, {}))
        current = _flat(member.assigned)
        if member.pending_revocation:
            return  # waiting for the member to confirm it let them go
        revoke = current - target
        if revoke:
            member.assigned = _nest(current & target)
            member.pending_revocation = _nest(revoke)
            self._arm_revocation_deadline(member)
            return
        if member.member_epoch != self.assignment_epoch:
            member.previous_member_epoch = member.member_epoch
            member.member_epoch = self.assignment_epoch
        free = target - self._owned_by_others(member)
        member.assigned = _nest(current | free)

    def _to_send(self, member: ConsumerMember) -> TopicPartitions | None:
        if member.last_sent is not None and _flat(member.last_sent) == _flat(member.assigned):
            return None
        member.last_sent = {t: set(ps) for t, ps in member.assigned.items()}
        return member.assigned

    # ------------------------------------------------------------------ timers

    def _schedule_expiry(self, member: ConsumerMember) -> None:
        if member.expiry is not None:
            member.expiry.cancel()
        member.expiry = asyncio.get_running_loop().call_later(
            self.session_timeout_ms / 1000, self.remove_member, member)

    def _arm_revocation_deadline(self, member: ConsumerMember) -> None:
        self._cancel_revocation_deadline(member)
        member.revocation_deadline = asyncio.get_running_loop().call_later(
            member.rebalance_timeout_ms / 1000, self.remove_member, member)

    def _cancel_revocation_deadline(self, member: ConsumerMember) -> None:
        if member.revocation_deadline is not None:
            member.revocation_deadline.cancel()
            member.revocation_deadline = None

    # ------------------------------------------------------------------ persistence

    def snapshot(self) -> dict:
        """Members, their epochs and assignments, and the target, as plain data: what a
        restarted broker needs so that members carry on heartbeating at their epochs (Kafka
        reloads the same records from __consumer_offsets)."""
        return {
            "type": self.group_type, "group_epoch": self.group_epoch,
            "assignment_epoch": self.assignment_epoch, "assignor": self.assignor_name,
            "metadata": [list(entry) for entry in self._metadata_fingerprint],
            "target": {mid: _plain(tp) for mid, tp in sorted(self.target.items())},
            "members": [_member_data(m) for m in self.members.values()]}

    def _state_of(self, member_id: str) -> tuple:
        member = self.members.get(member_id)
        return (self.group_epoch, self.assignment_epoch, len(self.members),
                _member_data(member) if member is not None else None)

    @classmethod
    def restore(cls, group_id: str, data: dict, topic_partitions: Callable[[str], int | None],
                all_topics: Callable[[], list[str]], session_timeout_ms: int,
                heartbeat_interval_ms: int,
                on_change: Callable[[ConsumerGroup], None] | None = None) -> ConsumerGroup:
        """A group from `snapshot()`. Its members' timers start with `arm()`, once the
        broker's loop runs; each member is sent its whole assignment on its next heartbeat."""
        def nested(plain: dict[str, list[int]]) -> TopicPartitions:
            return {t: set(ps) for t, ps in plain.items()}

        group = cls(group_id, topic_partitions, all_topics, session_timeout_ms,
                    heartbeat_interval_ms, data["assignor"], on_change)
        group.group_epoch = data["group_epoch"]
        group.assignment_epoch = data["assignment_epoch"]
        group._metadata_fingerprint = tuple(tuple(entry) for entry in data["metadata"])
        group.target = {mid: nested(tp) for mid, tp in data["target"].items()}
        for m in data["members"]:
            member = ConsumerMember(
                m["member_id"], m["instance_id"], m["rack_id"], m["client_id"],
                m["client_host"], list(m["subscribed_topic_names"]),
                m["subscribed_topic_regex"], m["server_assignor"], m["rebalance_timeout_ms"],
                m["member_epoch"], m["previous_member_epoch"], nested(m["assigned"]),
                nested(m["pending_revocation"]))
            group.members[member.member_id] = member
            if member.instance_id is not None:
                group.static_members[member.instance_id] = member.member_id
        return group

    def arm(self) -> None:
        """Start the members' session timers, and the rebalance timers of those that still
        have partitions to give up (after a restore)."""
        for member in self.members.values():
            if member.expiry is None:
                self._schedule_expiry(member)
            if member.pending_revocation and member.revocation_deadline is None:
                self._arm_revocation_deadline(member)

    def _changed(self) -> None:
        if self._on_change is not None:
            self._on_change(self)

    def shutdown(self) -> None:
        self.dead = True
        for m in self.members.values():
            for handle in (m.expiry, m.revocation_deadline):
                if handle is not None:
                    handle.cancel()
