"""The classic group protocol (JoinGroup / SyncGroup / Heartbeat / LeaveGroup), after Kafka's
GroupCoordinator.

States: Empty -> PreparingRebalance -> CompletingRebalance -> Stable, and back to
PreparingRebalance when membership or subscriptions change; Dead when deleted.

A rebalance collects JoinGroups until every known member has rejoined (or the rebalance timeout
passes, and the missing are dropped), bumps the generation, picks the protocol (assignor) every
member supports, and answers all joins at once: the leader gets every member's subscription
metadata, and computes the assignment client-side. The leader's SyncGroup carries the
assignment, which completes every member's SyncGroup. A new group waits
`group.initial.rebalance.delay.ms` for more members before the first rebalance.

Members that stop heartbeating for their session timeout are removed, which triggers a
rebalance. Static members (group.instance.id) that come back under a new member id take over
the old member's place and assignment without a rebalance.
"""

from __future__ import annotations

import asyncio
import enum
import uuid
from dataclasses import dataclass, field

from ..protocol.errors import ErrorCode


class GroupState(enum.Enum):
    EMPTY = "Empty"
    PREPARING_REBALANCE = "PreparingRebalance"
    COMPLETING_REBALANCE = "CompletingRebalance"
    STABLE = "Stable"
    DEAD = "Dead"


class GroupError(Exception):
    def __init__(self, code: ErrorCode, member_id: str = "") -> None:
        super().__init__(code.name)
        self.code = code
        self.member_id = member_id


@dataclass(eq=False)
class Member:
    member_id: str
    group_instance_id: str | None
    client_id: str
    client_host: str
    session_timeout_ms: int
    rebalance_timeout_ms: int
    protocol_type: str
    protocols: list[tuple[str, bytes]]
    assignment: bytes = b""
    join_future: asyncio.Future | None = None
    sync_future: asyncio.Future | None = None
    expiry: asyncio.TimerHandle | None = None
    is_new: bool = True

    def metadata(self, protocol: str) -> bytes:
        for name, meta in self.protocols:
            if name == protocol:
                return meta
        return b""

    def vote(self, candidates: set[str]) -> str:
        return next(name for name, _ in self.protocols if name in candidates)


@dataclass
class JoinResult:
    error_code: ErrorCode
    generation_id: int = -1
    protocol_type: str | None = None
    protocol_name: str | None = None
    leader: str = ""
    skip_assignment: bool = False
    member_id: str = ""
    members: list[tuple[str, str | None, bytes]] = field(default_factory=list)


class ClassicGroup:
    group_type = "classic"

    def __init__(self, group_id: str, initial_delay_ms: int,
                 on_empty=None, on_stable=None) -> None:
        self.group_id = group_id
        self.state = GroupState.EMPTY
        self.generation_id = 0
        self.protocol_type: str | None = None
        self.protocol_name: str | None = None
        self.leader_id: str | None = None
        self.members: dict[str, Member] = {}
        self.static_members: dict[str, str] = {}  # group.instance.id -> member id
        self.pending_members: set[str] = set()  # ids handed out with MEMBER_ID_REQUIRED
        self.initial_delay_ms = initial_delay_ms
        self.empty_since_ms: int | None = None
        self._join_timer: asyncio.TimerHandle | None = None
        self._initial_wait = False  # a new group's first join is waiting for more members
        self._initial_deadline = 0.0
        self._last_join = 0.0
        self._on_empty = on_empty
        self._on_stable = on_stable  # called with the group when a generation is assigned

    # ------------------------------------------------------------------ queries

    def is_empty(self) -> bool:
        return not self.members

    def subscribed_topics(self) -> set[str] | None:
        """Topics the members subscribe to (consumer protocol), None if unknown."""
        from ..protocol.consumer_protocol import subscription_topics

        if self.protocol_type != "consumer" or self.protocol_name is None:
            return None
        topics: set[str] = set()
        for m in self.members.values():
            parsed = subscription_topics(m.metadata(self.protocol_name))
            if parsed is None:
                return None
            topics |= parsed
        return topics

    def validate_member(self, member_id: str, instance_id: str | None,
                        generation_id: int | None = None) -> Member:
        if instance_id is not None:
            known = self.static_members.get(instance_id)
            if known is not None and known != member_id:
                raise GroupError(ErrorCode.fenced_instance_id)
        member = self.members.get(member_id)
        if member is None:
            raise GroupError(ErrorCode.unknown_member_id)
        if generation_id is not None and generation_id != self.generation_id:
            raise GroupError(ErrorCode.illegal_generation)
        return member

    # ------------------------------------------------------------------ JoinGroup

    async def join(self, *, member_id: str, group_instance_id: str | None, client_id: str,
                   client_host: str, session_timeout_ms: int, rebalance_timeout_ms: int,
                   protocol_type: str, protocols: list[tuple[str, bytes]],
                   require_known_member_id: bool, supports_skip_assignment: bool) -> JoinResult:
        if self.state == GroupState.DEAD:
            return JoinResult(ErrorCode.coordinator_not_available, member_id=member_id)
        if not protocols or (self.members and (
                protocol_type != self.protocol_type or not self._supports(protocols))):
            return JoinResult(ErrorCode.inconsistent_group_protocol, member_id=member_id)
        loop = asyncio.get_running_loop()
        if member_id == "":
            new_id = f"{client_id}-{uuid.uuid4()}"
            if group_instance_id is not None and group_instance_id in self.static_members:
                return await self._replace_static_member(
                    group_instance_id, new_id, protocols, session_timeout_ms,
                    rebalance_timeout_ms, supports_skip_assignment)
            if require_known_member_id and group_instance_id is None:
                # KIP-394: hand out the id first, so a member that never comes back leaves
                # nothing behind but a pending id.
                self.pending_members.add(new_id)
                return JoinResult(ErrorCode.member_id_required, member_id=new_id)
            return await self._add_member(new_id, group_instance_id, client_id, client_host,
                                          session_timeout_ms, rebalance_timeout_ms,
                                          protocol_type, protocols)
        if member_id in self.pending_members:
            self.pending_members.discard(member_id)
            return await self._add_member(member_id, group_instance_id, client_id, client_host,
                                          session_timeout_ms, rebalance_timeout_ms,
                                          protocol_type, protocols)
        try:
            member = self.validate_member(member_id, group_instance_id)
        except GroupError as exc:
            return JoinResult(exc.code, member_id=member_id)
        member.session_timeout_ms = session_timeout_ms
        member.rebalance_timeout_ms = rebalance_timeout_ms
        changed = member.protocols != protocols
        member.protocols = protocols
        if self.state == GroupState.PREPARING_REBALANCE:
            return await self._await_join(member)
        if self.state == GroupState.COMPLETING_REBALANCE and not changed:
            return self._join_result(member)  # a retry of a join that already completed
        if self.state == GroupState.STABLE and not changed and member_id != self.leader_id:
            return self._join_result(member)
        self._prepare_rebalance(loop)
        return await self._await_join(member)

    def _supports(self, protocols: list[tuple[str, bytes]]) -> bool:
        names = {name for name, _ in protocols}
        common = set.intersection(*({n for n, _ in m.protocols} for m in self.members.values()))
        return bool(names & common)

    async def _add_member(self, member_id, instance_id, client_id, client_host, session_ms,
                          rebalance_ms, protocol_type, protocols) -> JoinResult:
        loop = asyncio.get_running_loop()
        member = Member(member_id, instance_id, client_id, client_host, session_ms, rebalance_ms,
                        protocol_type, protocols)
        self.members[member_id] = member
        if instance_id is not None:
            self.static_members[instance_id] = member_id
        if self.protocol_type is None:
            self.protocol_type = protocol_type
        if self.state == GroupState.PREPARING_REBALANCE:
            self._last_join = asyncio.get_running_loop().time()
            result = self._await_join(member)
            self._maybe_complete_join()
            return await result
        self._prepare_rebalance(loop)
        return await self._await_join(member)

    async def _replace_static_member(self, instance_id, new_id, protocols, session_ms,
                                     rebalance_ms, skip_ok) -> JoinResult:
        old_id = self.static_members[instance_id]
        member = self.members.pop(old_id)
        if member.join_future is not None and not member.join_future.done():
            member.join_future.set_result(JoinResult(ErrorCode.fenced_instance_id,
                                                     member_id=old_id))
        if member.sync_future is not None and not member.sync_future.done():
            member.sync_future.set_result((ErrorCode.fenced_instance_id, b""))
        member.join_future = member.sync_future = None
        member.member_id = new_id
        member.session_timeout_ms, member.rebalance_timeout_ms = session_ms, rebalance_ms
        self.members[new_id] = member
        self.static_members[instance_id] = new_id
        if self.leader_id == old_id:
            self.leader_id = new_id
        self._schedule_expiry(member)
        if member.protocols != protocols:
            member.protocols = protocols
            self._prepare_rebalance(asyncio.get_running_loop())
            return await self._await_join(member)
        if self.state == GroupState.PREPARING_REBALANCE:
            return await self._await_join(member)
        # Stable or completing: the member steps back into its old place. A leader that can
        # skip the assignment (JoinGroup v9) gets the members to rebuild its state.
        result = self._join_result(member, members=new_id == self.leader_id and skip_ok)
        result.skip_assignment = new_id == self.leader_id and skip_ok
        return result

    def _await_join(self, member: Member) -> asyncio.Future:
        loop = asyncio.get_running_loop()
        if member.join_future is not None and not member.join_future.done():
            # A second JoinGroup while the first is parked: the first gets the answer too.
            fut = member.join_future
        else:
            fut = member.join_future = loop.create_future()
        if member.expiry is not None:
            member.expiry.cancel()  # a member parked in JoinGroup is alive by definition
            member.expiry = None
        self._maybe_complete_join()
        return fut

    def _prepare_rebalance(self, loop: asyncio.AbstractEventLoop) -> None:
        if self.state == GroupState.COMPLETING_REBALANCE:
            for m in self.members.values():
                m.assignment = b""
                if m.sync_future is not None and not m.sync_future.done():
                    m.sync_future.set_result((ErrorCode.rebalance_in_progress, b""))
                m.sync_future = None
        was_empty = self.state == GroupState.EMPTY
        self.state = GroupState.PREPARING_REBALANCE
        if self._join_timer is not None:
            self._join_timer.cancel()
        max_rebalance = max((m.rebalance_timeout_ms for m in self.members.values()), default=0)
        if was_empty and self.initial_delay_ms > 0:
            self._initial_deadline = loop.time() + max_rebalance / 1000
            self._last_join = loop.time()
            self._initial_wait = True
            self._join_timer = loop.call_later(
                min(self.initial_delay_ms, max_rebalance) / 1000, self._initial_delay_expired)
        else:
            self._initial_wait = False
            self._join_timer = loop.call_later(max_rebalance / 1000, self._join_deadline)

    def _initial_delay_expired(self) -> None:
        """The first rebalance of a new group waits until no member has joined for
        `group.initial.rebalance.delay.ms` (bounded by the rebalance timeout). Kafka extends
        by whole delays instead, so three members starting together wait two delays there."""
        loop = asyncio.get_running_loop()
        quiet_until = self._last_join + self.initial_delay_ms / 1000
        if loop.time() < quiet_until and loop.time() < self._initial_deadline:
            wait = min(quiet_until, self._initial_deadline) - loop.time()
            self._join_timer = loop.call_later(wait, self._initial_delay_expired)
            return
        self._initial_wait = False
        self._join_timer = None
        self._complete_join()

    def _maybe_complete_join(self) -> None:
        if self.state != GroupState.PREPARING_REBALANCE or self._initial_wait:
            return
        if self.pending_members or not self.members:
            return
        if all(m.join_future is not None for m in self.members.values()):
            self._complete_join()

    def _join_deadline(self) -> None:
        self._join_timer = None
        for m in list(self.members.values()):
            if m.join_future is None:
                self._remove(m, rebalance=False)
        self.pending_members.clear()
        self._complete_join()

    def _complete_join(self) -> None:
        if self.state != GroupState.PREPARING_REBALANCE:
            return
        if self._join_timer is not None:
            self._join_timer.cancel()
            self._join_timer = None
        # Members that did not rejoin are dropped (the deadline passed, or none are waiting).
        for m in list(self.members.values()):
            if m.join_future is None:
                self._remove(m, rebalance=False)
        self.generation_id += 1
        if not self.members:
            self._become_empty()
            return
        candidates = set.intersection(*({n for n, _ in m.protocols}
                                        for m in self.members.values()))
        votes: dict[str, int] = {}
        for m in self.members.values():
            choice = m.vote(candidates)
            votes[choice] = votes.get(choice, 0) + 1
        self.protocol_name = max(votes, key=lambda n: votes[n])
        if self.leader_id not in self.members:
            self.leader_id = next(iter(self.members))
        self.state = GroupState.COMPLETING_REBALANCE
        for m in self.members.values():
            fut, m.join_future = m.join_future, None
            m.is_new = False
            self._schedule_expiry(m)
            if fut is not None and not fut.done():
                fut.set_result(self._join_result(m))

    def _join_result(self, member: Member, members: bool | None = None) -> JoinResult:
        is_leader = member.member_id == self.leader_id
        listed = []
        if is_leader if members is None else members:
            listed = [(m.member_id, m.group_instance_id, m.metadata(self.protocol_name))
                      for m in self.members.values()]
        return JoinResult(ErrorCode.none, self.generation_id, self.protocol_type,
                          self.protocol_name, self.leader_id or "", False, member.member_id,
                          listed)

    # ------------------------------------------------------------------ SyncGroup

    async def sync(self, *, member_id: str, generation_id: int, group_instance_id: str | None,
                   protocol_type: str | None, protocol_name: str | None,
                   assignments: dict[str, bytes]) -> tuple[ErrorCode, bytes]:
        try:
            member = self.validate_member(member_id, group_instance_id, generation_id)
        except GroupError as exc:
            return exc.code, b""
        if (protocol_type is not None and protocol_type != self.protocol_type) or (
                protocol_name is not None and protocol_name != self.protocol_name):
            return ErrorCode.inconsistent_group_protocol, b""
        if self.state == GroupState.PREPARING_REBALANCE:
            return ErrorCode.rebalance_in_progress, b""
        if self.state == GroupState.STABLE:
            self._schedule_expiry(member)
            return ErrorCode.none, member.assignment
        fut = asyncio.get_running_loop().create_future()
        member.sync_future = fut
        self._schedule_expiry(member)
        if member_id == self.leader_id:
            for m in self.members.values():
                m.assignment = assignments.get(m.member_id, b"")
            self.state = GroupState.STABLE
            if self._on_stable is not None:
                self._on_stable(self)
            for m in self.members.values():
                f, m.sync_future = m.sync_future, None
                if f is not None and not f.done():
                    f.set_result((ErrorCode.none, m.assignment))
        return await fut

    # ------------------------------------------------------------------ Heartbeat / Leave

    def heartbeat(self, member_id: str, generation_id: int,
                  group_instance_id: str | None) -> ErrorCode:
        if self.state == GroupState.DEAD:
            return ErrorCode.coordinator_not_available
        try:
            member = self.validate_member(member_id, group_instance_id)
        except GroupError as exc:
            return exc.code
        if generation_id != self.generation_id:
            return ErrorCode.illegal_generation
        self._schedule_expiry(member)
        if self.state == GroupState.PREPARING_REBALANCE:
            return ErrorCode.rebalance_in_progress
        return ErrorCode.none

    def leave(self, member_id: str, group_instance_id: str | None) -> ErrorCode:
        if group_instance_id is not None:
            known = self.static_members.get(group_instance_id)
            if known is None:
                return ErrorCode.unknown_member_id
            if member_id and known != member_id:
                return ErrorCode.fenced_instance_id
            member_id = known
        if member_id in self.pending_members:
            self.pending_members.discard(member_id)
            self._maybe_complete_join()
            return ErrorCode.none
        member = self.members.get(member_id)
        if member is None:
            return ErrorCode.unknown_member_id
        self._remove(member, rebalance=True)
        return ErrorCode.none

    def _schedule_expiry(self, member: Member) -> None:
        if member.expiry is not None:
            member.expiry.cancel()
        member.expiry = asyncio.get_running_loop().call_later(
            member.session_timeout_ms / 1000, self._expire, member)

    def _expire(self, member: Member) -> None:
        member.expiry = None
        if self.members.get(member.member_id) is member and member.join_future is None:
            self._remove(member, rebalance=True)

    def _remove(self, member: Member, rebalance: bool) -> None:
        self.members.pop(member.member_id, None)
        if member.group_instance_id is not None and self.static_members.get(
                member.group_instance_id) == member.member_id:
            del self.static_members[member.group_instance_id]
        if member.expiry is not None:
            member.expiry.cancel()
            member.expiry = None
        for fut, value in ((member.join_future, JoinResult(ErrorCode.unknown_member_id,
                                                           member_id=member.member_id)),
                           (member.sync_future, (ErrorCode.unknown_member_id, b""))):
            if fut is not None and not fut.done():
                fut.set_result(value)
        member.join_future = member.sync_future = None
        if not rebalance:
            return
        if self.state in (GroupState.STABLE, GroupState.COMPLETING_REBALANCE):
            if self.members:
                self._prepare_rebalance(asyncio.get_running_loop())
            else:
                self.generation_id += 1
                self._become_empty()
        elif self.state == GroupState.PREPARING_REBALANCE:
            if self.members:
                self._maybe_complete_join()
            else:
                self._complete_join()

    def _become_empty(self) -> None:
        self.state = GroupState.EMPTY
        self.protocol_name = None
        self.leader_id = None
        if not self.members:
            self.protocol_type = None
        if self._on_empty is not None:
            self._on_empty(self)

    # ------------------------------------------------------------------ persistence

    def snapshot(self) -> dict:
        """The stable generation, as plain data: what a restarted broker needs so that the
        members carry on with their heartbeats instead of rebalancing (Kafka reloads the same
        from __consumer_offsets)."""
        return {"generation_id": self.generation_id, "protocol_type": self.protocol_type,
                "protocol_name": self.protocol_name, "leader_id": self.leader_id,
                "members": [{
                    "member_id": m.member_id, "group_instance_id": m.group_instance_id,
                    "client_id": m.client_id, "client_host": m.client_host,
                    "session_timeout_ms": m.session_timeout_ms,
                    "rebalance_timeout_ms": m.rebalance_timeout_ms,
                    "protocol_type": m.protocol_type,
                    "protocols": [[name, meta.hex()] for name, meta in m.protocols],
                    "assignment": m.assignment.hex()} for m in self.members.values()]}

    @classmethod
    def restore(cls, group_id: str, data: dict, initial_delay_ms: int, on_empty=None,
                on_stable=None) -> ClassicGroup:
        """A group from `snapshot()`, stable at its generation. Its members' session timers
        start with `arm()`, once the broker's loop runs."""
        group = cls(group_id, initial_delay_ms, on_empty, on_stable)
        group.generation_id = data["generation_id"]
        group.protocol_type = data["protocol_type"]
        group.protocol_name = data["protocol_name"]
        group.leader_id = data["leader_id"]
        for m in data["members"]:
            member = Member(m["member_id"], m["group_instance_id"], m["client_id"],
                            m["client_host"], m["session_timeout_ms"],
                            m["rebalance_timeout_ms"], m["protocol_type"],
                            [(name, bytes.fromhex(meta)) for name, meta in m["protocols"]],
                            bytes.fromhex(m["assignment"]), is_new=False)
            group.members[member.member_id] = member
            if member.group_instance_id is not None:
                group.static_members[member.group_instance_id] = member.member_id
        group.state = GroupState.STABLE if group.members else GroupState.EMPTY
        return group

    def arm(self) -> None:
        """Start every member's session timer (after a restore)."""
        for member in self.members.values():
            if member.expiry is None:
                self._schedule_expiry(member)

    def shutdown(self) -> None:
        """Dead: answer every parked request so that clients go and find the coordinator."""
        self.state = GroupState.DEAD
        if self._join_timer is not None:
            self._join_timer.cancel()
        for m in self.members.values():
            if m.expiry is not None:
                m.expiry.cancel()
            if m.join_future is not None and not m.join_future.done():
                m.join_future.set_result(JoinResult(ErrorCode.coordinator_not_available,
                                                    member_id=m.member_id))
            if m.sync_future is not None and not m.sync_future.done():
                m.sync_future.set_result((ErrorCode.coordinator_not_available, b""))
