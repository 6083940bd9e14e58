"""Committed offsets at the protocol level: commit rules, fetch-all, several groups per
request, OffsetDelete, and expiry of an empty group's offsets."""

from __future__ import annotations

import datetime
import uuid

from kio.schema.join_group.v9 import request as join
from kio.schema.offset_commit.v9 import request as commit
from kio.schema.offset_delete.v0 import request as delete
from kio.schema.offset_fetch.v8 import request as fetch

from odradek.protocol.consumer_protocol import encode_subscription
from tests.integration.test_wire import make_topic
from tests.support.wire import WireClient


def commit_req(group: str, topic: str, offsets: dict[int, int], generation: int = -1,
               member: str = "") -> commit.OffsetCommitRequest:
    partitions = tuple(
        commit.OffsetCommitRequestPartition(partition_index=p, committed_offset=o,
                                            committed_leader_epoch=4, committed_metadata=f"m{p}")
        for p, o in offsets.items())
    return commit.OffsetCommitRequest(
        group_id=group, generation_id_or_member_epoch=generation, member_id=member,
        group_instance_id=None,
        topics=(commit.OffsetCommitRequestTopic(name=topic, partitions=partitions),))


def codes(resp) -> list[int]:
    return [p.error_code for t in resp.topics for p in t.partitions]


def test_commit_rules_fetch_all_and_several_groups(broker, topic_name):
    c = WireClient(broker.bootstrap_servers)
    make_topic(c, topic_name, partitions=3)
    g1, g2 = f"g1-{uuid.uuid4().hex[:6]}", f"g2-{uuid.uuid4().hex[:6]}"
    assert codes(c.request(commit_req(g1, topic_name, {0: 10, 2: 30}))) == [0, 0]
    assert codes(c.request(commit_req(g2, topic_name, {1: 7}))) == [0]
    # a generation for a group that has none, and a partition that does not exist
    assert codes(c.request(commit_req(g1, topic_name, {0: 1}, generation=5, member="x"))) == [25]
    assert codes(c.request(commit_req(g1, topic_name, {9: 1}))) == [3]
    assert codes(c.request(commit_req(g1, topic_name + "-nope", {0: 1}))) == [3]

    resp = c.request(fetch.OffsetFetchRequest(groups=(
        fetch.OffsetFetchRequestGroup(group_id=g1, topics=None),
        fetch.OffsetFetchRequestGroup(group_id=g2, topics=(fetch.OffsetFetchRequestTopics(
            name=topic_name, partition_indexes=(0, 1)),)),
    ), require_stable=True))
    got = {g.group_id: {(p.partition_index): (p.committed_offset, p.committed_leader_epoch,
                                              p.metadata)
                        for t in g.topics for p in t.partitions} for g in resp.groups}
    assert got[g1] == {0: (10, 4, "m0"), 2: (30, 4, "m2")}
    assert got[g2] == {0: (-1, -1, ""), 1: (7, 4, "m1")}
    c.close()


def test_offset_delete_refuses_topics_a_member_subscribes_to(broker, topic_name):
    c = WireClient(broker.bootstrap_servers)
    make_topic(c, topic_name, partitions=2)
    other = topic_name + "-other"
    make_topic(c, other)
    group = f"del-{uuid.uuid4().hex[:6]}"
    c.request(commit_req(group, topic_name, {0: 5, 1: 6}))
    c.request(commit_req(group, other, {0: 9}))
    # a member joins, subscribed to topic_name only
    req = join.JoinGroupRequest(
        group_id=group, session_timeout=datetime.timedelta(seconds=30),
        rebalance_timeout=datetime.timedelta(seconds=30), member_id="", group_instance_id="i",
        protocol_type="consumer", protocols=(join.JoinGroupRequestProtocol(
            name="range", metadata=encode_subscription([topic_name])),), reason=None)
    joined = c.request(req)
    assert joined.error_code == 0
    resp = c.request(delete.OffsetDeleteRequest(group_id=group, topics=(
        delete.OffsetDeleteRequestTopic(name=topic_name, partitions=(
            delete.OffsetDeleteRequestPartition(partition_index=0),)),
        delete.OffsetDeleteRequestTopic(name=other, partitions=(
            delete.OffsetDeleteRequestPartition(partition_index=0),)))))
    assert resp.error_code == 0
    assert [[p.error_code for p in t.partitions] for t in resp.topics] == [[86], [0]]
    remaining = broker.call(lambda: sorted(broker.server.core.groups.committed(group)))
    assert remaining == [(topic_name, 0), (topic_name, 1)]
    c.close()


def test_offsets_of_an_empty_group_expire(make_broker, topic_name):
    b = make_broker(config={"offsets.retention.minutes": 1})
    c = WireClient(b.bootstrap_servers)
    make_topic(c, topic_name)
    c.request(commit_req("old", topic_name, {0: 3}))
    c.request(commit_req("fresh", topic_name, {0: 4}))
    c.close()
    coordinator = b.server.core.groups

    def age(group: str) -> None:  # as if committed, and empty, two minutes ago
        for o in coordinator.offsets[group].values():
            o.commit_timestamp -= 120_000
        coordinator.groups[group].empty_since_ms -= 120_000

    b.call(age, "old")
    assert b.call(coordinator.expire_offsets) == 1
    assert b.call(lambda: sorted(coordinator.groups)) == ["fresh"]
    assert b.server.core.store.committed_offsets().keys() == {"fresh"}
