"""The classic group state machine, driven directly on an event loop."""

from __future__ import annotations

import asyncio

import pytest

from odradek.groups.classic import ClassicGroup, GroupState
from odradek.protocol.errors import ErrorCode

PROTOCOLS = [("range", b"sub-range"), ("roundrobin", b"sub-rr")]


def run(coro):
    return asyncio.run(coro)


def join_kwargs(**overrides):
    kwargs = dict(member_id="", group_instance_id=None, client_id="c", client_host="/h",
                  session_timeout_ms=10_000, rebalance_timeout_ms=2_000,
                  protocol_type="consumer", protocols=PROTOCOLS, require_known_member_id=True,
                  supports_skip_assignment=True)
    kwargs.update(overrides)
    return kwargs


async def join_new(group: ClassicGroup, **overrides):
    first = await group.join(**join_kwargs(**overrides))
    assert first.error_code == ErrorCode.member_id_required
    return asyncio.ensure_future(group.join(**join_kwargs(member_id=first.member_id,
                                                          **overrides)))


def test_member_id_required_then_join_and_sync():
    async def main():
        group = ClassicGroup("g", initial_delay_ms=0)
        result = await (await join_new(group))
        assert result.error_code == ErrorCode.none
        assert result.generation_id == 1 and result.leader == result.member_id
        assert result.protocol_name == "range"
        assert result.members == [(result.member_id, None, b"sub-range")]
        assert group.state == GroupState.COMPLETING_REBALANCE
        code, assignment = await group.sync(
            member_id=result.member_id, generation_id=1, group_instance_id=None,
            protocol_type="consumer", protocol_name="range",
            assignments={result.member_id: b"assigned"})
        assert (code, assignment) == (ErrorCode.none, b"assigned")
        assert group.state == GroupState.STABLE
        assert group.heartbeat(result.member_id, 1, None) == ErrorCode.none
        assert group.heartbeat(result.member_id, 0, None) == ErrorCode.illegal_generation
        assert group.heartbeat("nobody", 1, None) == ErrorCode.unknown_member_id

    run(main())


def test_second_member_triggers_rebalance_and_followers_get_leaders_assignment():
    async def main():
        group = ClassicGroup("g", initial_delay_ms=0)
        a = await (await join_new(group))
        await group.sync(member_id=a.member_id, generation_id=1, group_instance_id=None,
                         protocol_type=None, protocol_name=None, assignments={})
        b_future = await join_new(group)
        await asyncio.sleep(0)
        assert group.state == GroupState.PREPARING_REBALANCE
        assert group.heartbeat(a.member_id, 1, None) == ErrorCode.rebalance_in_progress
        a2 = await group.join(**join_kwargs(member_id=a.member_id))
        b = await b_future
        assert a2.generation_id == b.generation_id == 2
        assert a2.leader == a.member_id and len(a2.members) == 2 and b.members == []
        follower = asyncio.ensure_future(group.sync(
            member_id=b.member_id, generation_id=2, group_instance_id=None, protocol_type=None,
            protocol_name=None, assignments={}))
        await asyncio.sleep(0)
        assert not follower.done()  # waits for the leader
        await group.sync(member_id=a.member_id, generation_id=2, group_instance_id=None,
                         protocol_type=None, protocol_name=None,
                         assignments={a.member_id: b"A", b.member_id: b"B"})
        assert await follower == (ErrorCode.none, b"B")

    run(main())


def test_member_that_does_not_rejoin_is_dropped_at_the_rebalance_timeout():
    async def main():
        group = ClassicGroup("g", initial_delay_ms=0)
        a = await (await join_new(group, rebalance_timeout_ms=200))
        await group.sync(member_id=a.member_id, generation_id=1, group_instance_id=None,
                         protocol_type=None, protocol_name=None, assignments={})
        b = await (await join_new(group, rebalance_timeout_ms=200))  # a never rejoins
        assert b.generation_id == 2 and list(group.members) == [b.member_id]
        assert b.leader == b.member_id
        assert group.heartbeat(a.member_id, 2, None) == ErrorCode.unknown_member_id

    run(main())


def test_session_timeout_removes_a_silent_member():
    async def main():
        group = ClassicGroup("g", initial_delay_ms=0)
        a = await (await join_new(group, session_timeout_ms=100))
        await group.sync(member_id=a.member_id, generation_id=1, group_instance_id=None,
                         protocol_type=None, protocol_name=None, assignments={})
        await asyncio.sleep(0.3)
        assert group.state == GroupState.EMPTY and not group.members
        assert group.generation_id == 2

    run(main())


def test_leave_and_inconsistent_protocols():
    async def main():
        group = ClassicGroup("g", initial_delay_ms=0)
        a = await (await join_new(group))
        other = await group.join(**join_kwargs(protocols=[("sticky", b"")]))
        assert other.error_code == ErrorCode.inconsistent_group_protocol
        assert group.leave(a.member_id, None) == ErrorCode.none
        assert group.leave(a.member_id, None) == ErrorCode.unknown_member_id
        assert group.state == GroupState.EMPTY

    run(main())


def test_static_member_replacement_keeps_assignment_and_fences_the_old_id():
    async def main():
        group = ClassicGroup("g", initial_delay_ms=0)
        a = await group.join(**join_kwargs(group_instance_id="i1"))  # static: no id round trip
        assert a.error_code == ErrorCode.none
        await group.sync(member_id=a.member_id, generation_id=1, group_instance_id="i1",
                         protocol_type=None, protocol_name=None,
                         assignments={a.member_id: b"mine"})
        again = await group.join(**join_kwargs(group_instance_id="i1"))
        assert again.member_id != a.member_id and again.generation_id == 1
        assert again.skip_assignment  # the leader keeps its assignment (KIP-814)
        code, assignment = await group.sync(
            member_id=again.member_id, generation_id=1, group_instance_id="i1",
            protocol_type=None, protocol_name=None, assignments={})
        assert (code, assignment) == (ErrorCode.none, b"mine")
        assert group.heartbeat(a.member_id, 1, "i1") == ErrorCode.fenced_instance_id
        assert group.generation_id == 1

    run(main())


@pytest.mark.parametrize("delay_ms", [150])
def test_initial_delay_collects_members_into_one_generation(delay_ms):
    async def main():
        group = ClassicGroup("g", initial_delay_ms=delay_ms)
        futures = [await join_new(group) for _ in range(3)]
        await asyncio.sleep(0)
        assert not any(f.done() for f in futures)
        results = await asyncio.gather(*futures)
        assert {r.generation_id for r in results} == {1}
        assert sum(1 for r in results if r.members) == 1  # one leader

    run(main())


def test_snapshot_restore_and_expiry_of_members_that_do_not_come_back():
    """What a restart keeps (coordinator.py stores `snapshot()` when a generation becomes
    stable): the restored group answers the same heartbeats; a member that never returns
    expires after its session timeout and the others are asked to rebalance."""
    stable = []

    async def main():
        group = ClassicGroup("g", initial_delay_ms=0, on_stable=stable.append)
        a = await (await join_new(group, session_timeout_ms=100))
        await group.sync(member_id=a.member_id, generation_id=1, group_instance_id=None,
                         protocol_type=None, protocol_name=None, assignments={})
        b_future = await join_new(group, session_timeout_ms=60_000)
        a = await group.join(**join_kwargs(member_id=a.member_id, session_timeout_ms=100))
        b = await b_future
        follower = asyncio.ensure_future(group.sync(
            member_id=b.member_id, generation_id=2, group_instance_id=None, protocol_type=None,
            protocol_name=None, assignments={}))
        await group.sync(member_id=a.member_id, generation_id=2, group_instance_id=None,
                         protocol_type=None, protocol_name=None,
                         assignments={a.member_id: b"for-a", b.member_id: b"for-b"})
        assert await follower == (ErrorCode.none, b"for-b")
        assert stable == [group, group]  # generations 1 and 2
        snapshot = group.snapshot()
        group.shutdown()
        snapshot["members"][1]["group_instance_id"] = "static-b"  # as a static member would

        restored = ClassicGroup.restore("g", snapshot, 0)
        assert (restored.state, restored.generation_id) == (GroupState.STABLE, 2)
        assert restored.static_members == {"static-b": b.member_id}
        assert restored.members[b.member_id].assignment == b"for-b"
        assert restored.leader_id == a.member_id and restored.protocol_name == "range"
        restored.arm()
        # b comes back and heartbeats in the stored generation; a never does.
        assert restored.heartbeat(b.member_id, 2, "static-b") == ErrorCode.none
        for _ in range(100):
            if a.member_id not in restored.members:
                break
            await asyncio.sleep(0.02)
        assert list(restored.members) == [b.member_id]
        assert restored.state == GroupState.PREPARING_REBALANCE
        assert restored.heartbeat(b.member_id, 2, "static-b") == ErrorCode.rebalance_in_progress
        restored.shutdown()

    run(main())
