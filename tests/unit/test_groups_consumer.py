"""KIP-848 consumer groups: assignors and how members converge without double ownership."""

from __future__ import annotations

import asyncio

from odradek.groups.assignors import range_, uniform
from odradek.groups.consumer_group import ConsumerGroup, ConsumerGroupError
from odradek.protocol.errors import ErrorCode


def test_uniform_is_balanced_and_sticky():
    subs = {"a": {"t"}, "b": {"t"}, "c": {"t"}}
    first = uniform(subs, {"t": 6}, {})
    assert sorted(len(x["t"]) for x in first.values()) == [2, 2, 2]
    assert sorted(p for x in first.values() for p in x["t"]) == list(range(6))
    # c leaves: a and b keep what they had and share c's partitions
    second = uniform({"a": {"t"}, "b": {"t"}}, {"t": 6}, first)
    assert set(first["a"]["t"]) <= set(second["a"]["t"])
    assert set(first["b"]["t"]) <= set(second["b"]["t"])
    assert sorted(second["a"]["t"] + second["b"]["t"]) == list(range(6))


def test_uniform_respects_subscriptions():
    result = uniform({"a": {"x"}, "b": {"x", "y"}}, {"x": 2, "y": 3}, {})
    assert "y" not in result["a"]
    assert sorted(result["b"].get("y", [])) == [0, 1, 2]


def test_range_gives_contiguous_ranges():
    result = range_({"a": {"t"}, "b": {"t"}}, {"t": 5}, {})
    assert result == {"a": {"t": [0, 1, 2]}, "b": {"t": [3, 4]}}


def heartbeat(group, member_id, epoch, topics=None, owned=None):
    return group.heartbeat(member_id=member_id, member_epoch=epoch, instance_id=None,
                           rack_id=None, rebalance_timeout_ms=60000,
                           subscribed_topic_names=topics, subscribed_topic_regex=None,
                           server_assignor=None, owned=owned, client_id="c", client_host="/h")


def test_partitions_move_only_after_their_owner_releases_them():
    async def main():
        group = ConsumerGroup("g", lambda t: 4 if t == "t" else None, lambda: ["t"],
                              session_timeout_ms=45000, heartbeat_interval_ms=5000)
        a, epoch_a, assigned_a = heartbeat(group, "a", 0, ["t"])
        assert assigned_a == {"t": {0, 1, 2, 3}} and epoch_a == 1
        b, epoch_b, assigned_b = heartbeat(group, "b", 0, ["t"])
        # b's share is still owned by a: b gets nothing yet, a must revoke first.
        assert epoch_b == 2 and assigned_b == {}
        _, epoch, revoked = heartbeat(group, "a", epoch_a, owned={"t": {0, 1, 2, 3}})
        assert epoch == 1 and len(revoked["t"]) == 2  # a keeps two, still at epoch 1
        kept = revoked["t"]
        _, epoch, unchanged = heartbeat(group, "a", epoch, owned={"t": set(kept)})
        assert epoch == 2 and unchanged is None
        _, _, assigned_b = heartbeat(group, "b", epoch_b, owned={})
        assert assigned_b["t"] == {0, 1, 2, 3} - kept
        assert group.state.value == "Stable"

    asyncio.run(main())


def test_stale_epoch_and_unknown_member_are_fenced():
    async def main():
        group = ConsumerGroup("g", lambda t: 2, lambda: ["t"], 45000, 5000)
        heartbeat(group, "a", 0, ["t"])
        for member, epoch, code in [("a", 7, ErrorCode.fenced_member_epoch),
                                    ("zz", 1, ErrorCode.unknown_member_id)]:
            try:
                heartbeat(group, member, epoch)
            except ConsumerGroupError as exc:
                assert exc.code == code
            else:
                raise AssertionError("expected an error")
        assert heartbeat(group, "a", -1) == ("a", -1, None)
        assert group.state.value == "Empty"

    asyncio.run(main())


def test_snapshot_and_restore_mid_rebalance():
    """A restored group carries on where it was: members at their epochs, a revocation still
    pending, the target unchanged; each member gets its whole assignment once more."""
    async def main():
        saved = []
        group = ConsumerGroup("g", lambda t: 4, lambda: ["t"], 45000, 5000,
                              on_change=lambda g: saved.append(g.snapshot()))
        _, epoch_a, _ = heartbeat(group, "a", 0, ["t"])
        _, epoch_b, _ = heartbeat(group, "b", 0, ["t"])  # a must now give up two partitions
        _, _, kept = heartbeat(group, "a", epoch_a, owned={"t": {0, 1, 2, 3}})
        count = len(saved)
        heartbeat(group, "b", epoch_b, owned={})  # nothing changes: nothing stored
        assert len(saved) == count
        snapshot = saved[-1]
        assert snapshot == group.snapshot()
        group.shutdown()

        restored = ConsumerGroup.restore("g", snapshot, lambda t: 4, lambda: ["t"], 45000, 5000)
        restored.arm()
        assert restored.snapshot() == snapshot
        assert restored.state.value == "Reconciling"
        assert restored.members["a"].revocation_deadline is not None  # still must release
        assert all(m.expiry is not None for m in restored.members.values())
        # a is sent what it keeps (a full assignment after the restart), then releases.
        _, epoch, again = heartbeat(restored, "a", epoch_a, owned={"t": {0, 1, 2, 3}})
        assert epoch == epoch_a and again == kept
        _, epoch, _ = heartbeat(restored, "a", epoch, owned=kept)
        assert epoch == epoch_b
        _, _, assigned_b = heartbeat(restored, "b", epoch_b, owned={})
        assert assigned_b["t"] == {0, 1, 2, 3} - kept["t"]
        assert restored.state.value == "Stable"
        restored.shutdown()

    asyncio.run(main())


def test_leaving_and_expiry_are_stored():
    async def main():
        saved = []
        group = ConsumerGroup("g", lambda t: 2, lambda: ["t"], 45000, 5000,
                              on_change=lambda g: saved.append(g.snapshot()))
        heartbeat(group, "a", 0, ["t"])
        _, epoch_b, _ = heartbeat(group, "b", 0, ["t"])
        assert [m["member_id"] for m in saved[-1]["members"]] == ["a", "b"]
        heartbeat(group, "b", -1)
        assert [m["member_id"] for m in saved[-1]["members"]] == ["a"]
        group.remove_member(group.members["a"])  # what the session timer does
        assert saved[-1]["members"] == [] and group.is_empty()
        group.shutdown()

    asyncio.run(main())
