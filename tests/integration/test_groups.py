"""Consumer groups with real clients: the queuing model and the pub/sub model on one log,
rebalances when members leave or die, committed offsets, static membership, KIP-848."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time
import uuid

import pytest
from aiokafka import AIOKafkaConsumer
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from kafka import KafkaConsumer

SESSION_MS = 6000


def create_topic(bootstrap: str, name: str, partitions: int) -> None:
    a = AdminClient({"bootstrap.servers": bootstrap})
    a.create_topics([NewTopic(name, partitions, 1)])[name].result(10)


def produce(bootstrap: str, topic: str, values: list[bytes]) -> None:
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for v in values:
        p.produce(topic, v, key=v)
    assert p.flush(15) == 0


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


class Member:
    """A group member in a thread: records what it got and what it owns."""

    def __init__(self, kind: str, bootstrap: str, topic: str, group: str) -> None:
        self.kind, self.bootstrap, self.topic, self.group = kind, bootstrap, topic, group
        self.records: list[bytes] = []
        self.assigned: set[int] = set()
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            getattr(self, f"_run_{self.kind.replace('-', '_')}")()
        except BaseException as exc:  # reported by close()
            self.error = exc

    def _run_confluent(self) -> None:
        c = Consumer({"bootstrap.servers": self.bootstrap, "group.id": self.group,
                      "auto.offset.reset": "earliest", "enable.auto.commit": False,
                      "session.timeout.ms": SESSION_MS, "heartbeat.interval.ms": 500})

        def on_assign(_c, parts):
            self.assigned = {p.partition for p in parts}

        def on_revoke(_c, parts):
            self.assigned = set()

        c.subscribe([self.topic], on_assign=on_assign, on_revoke=on_revoke)
        while not self.stop.is_set():
            msgs = c.consume(100, 0.1)
            ok = [m for m in msgs if m.error() is None]
            self.records += [m.value() for m in ok]
            if ok:
                c.commit(asynchronous=False)
        c.close()

    def _run_kafka_python(self) -> None:
        c = KafkaConsumer(bootstrap_servers=self.bootstrap, group_id=self.group,
                          auto_offset_reset="earliest", enable_auto_commit=False,
                          session_timeout_ms=SESSION_MS, heartbeat_interval_ms=500)
        c.subscribe([self.topic])
        while not self.stop.is_set():
            batch = c.poll(timeout_ms=100)
            for records in batch.values():
                self.records += [r.value for r in records]
            self.assigned = {tp.partition for tp in c.assignment()}
            if batch:
                c.commit()
        c.close()

    def _run_aiokafka(self) -> None:
        async def main() -> None:
            c = AIOKafkaConsumer(self.topic, bootstrap_servers=self.bootstrap,
                                 group_id=self.group, auto_offset_reset="earliest",
                                 enable_auto_commit=False, session_timeout_ms=SESSION_MS,
                                 heartbeat_interval_ms=500)
            await c.start()
            try:
                while not self.stop.is_set():
                    batch = await c.getmany(timeout_ms=100)
                    for records in batch.values():
                        self.records += [r.value for r in records]
                    self.assigned = {tp.partition for tp in c.assignment()}
                    if batch:
                        await c.commit()
            finally:
                await c.stop()

        asyncio.run(main())

    def close(self) -> None:
        self.stop.set()
        self.thread.join(30)
        if self.error is not None:
            raise self.error


def killable_member(bootstrap: str, topic: str, group: str) -> subprocess.Popen:
    """A confluent-kafka member in its own process, to be killed with SIGKILL. It prints the
    records it processed (after committing them) and its assignment as JSON lines."""
    code = f"""
import json, sys
from confluent_kafka import Consumer
c = Consumer({{"bootstrap.servers": {bootstrap!r}, "group.id": {group!r},
              "auto.offset.reset": "earliest", "enable.auto.commit": False,
              "session.timeout.ms": {SESSION_MS}, "heartbeat.interval.ms": 500}})
def on_assign(_c, parts):
    print(json.dumps({{"assigned": [p.partition for p in parts]}}), flush=True)
c.subscribe([{topic!r}], on_assign=on_assign)
while True:
    msgs = [m for m in c.consume(100, 0.1) if m.error() is None]
    if msgs:
        c.commit(asynchronous=False)
        print(json.dumps({{"records": [m.value().decode() for m in msgs]}}), flush=True)
"""
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)


def test_queue_and_pubsub_with_mixed_clients_and_failover(broker, topic_name):
    bootstrap = broker.bootstrap_servers
    create_topic(bootstrap, topic_name, 6)
    group = f"queue-{uuid.uuid4().hex[:6]}"
    killable = killable_member(bootstrap, topic_name, group)
    killed_records: list[bytes] = []
    killed_assigned: list[int] = []

    def read_killable() -> None:
        for line in killable.stdout:
            event = json.loads(line)
            if "assigned" in event:
                killed_assigned[:] = event["assigned"]
            killed_records.extend(v.encode() for v in event.get("records", []))

    reader = threading.Thread(target=read_killable, daemon=True)
    reader.start()
    members = [Member("kafka-python", bootstrap, topic_name, group),
               Member("aiokafka", bootstrap, topic_name, group)]
    pubsub = Member("confluent", bootstrap, topic_name, f"pubsub-{uuid.uuid4().hex[:6]}")
    try:
        def settled() -> bool:
            owned = [m.assigned for m in members] + [set(killed_assigned)]
            return all(owned) and sorted(p for o in owned for p in o) == list(range(6))

        wait_for(settled, 30, "3 members sharing 6 partitions")
        first = [f"a{i}".encode() for i in range(600)]
        produce(bootstrap, topic_name, first)

        def all_read(values, group_members, extra) -> bool:
            return sum(len(m.records) for m in group_members) + len(extra) >= len(values)

        wait_for(lambda: all_read(first, members, killed_records), 30, "the group to read all")
        wait_for(lambda: len(pubsub.records) >= 600, 30, "the other group to read all")
        # Queuing: each record handled once by the group, by a member owning its partition.
        in_group = [r for m in members for r in m.records] + killed_records
        assert sorted(in_group) == sorted(first)
        assert all(m.records for m in members) and killed_records
        # Pub/sub: the other group got every record too.
        assert sorted(pubsub.records) == sorted(first)

        killable.kill()  # no LeaveGroup: the session timeout must notice
        killable.wait()
        wait_for(lambda: sorted(p for m in members for p in m.assigned) == list(range(6)),
                 SESSION_MS / 1000 + 20, "the dead member's partitions to move")
        second = [f"b{i}".encode() for i in range(600)]
        produce(bootstrap, topic_name, second)
        wait_for(lambda: {r for m in members for r in m.records} >= set(second), 30,
                 "the survivors to read everything")
        survivors = [r for m in members for r in m.records if r.startswith(b"b")]
        assert sorted(survivors) == sorted(second)  # nothing lost, nothing twice
    finally:
        killable.kill()
        for m in [*members, pubsub]:
            m.close()


def test_committed_offsets_survive_restart(make_broker, tmp_path, topic_name):
    data = tmp_path / "data"
    b = make_broker(data_dir=data, config={"group.initial.rebalance.delay.ms": 0})
    create_topic(b.bootstrap_servers, topic_name, 2)
    produce(b.bootstrap_servers, topic_name, [f"m{i}".encode() for i in range(10)])
    c = Consumer({"bootstrap.servers": b.bootstrap_servers, "group.id": "durable"})
    c.commit(offsets=[TopicPartition(topic_name, 0, 3, "meta-0", 0),
                      TopicPartition(topic_name, 1, 5)], asynchronous=False)
    c.close()
    b.stop()
    b2 = make_broker(data_dir=data)
    c = Consumer({"bootstrap.servers": b2.bootstrap_servers, "group.id": "durable"})
    got = c.committed([TopicPartition(topic_name, 0), TopicPartition(topic_name, 1)], 10)
    c.close()
    assert [(tp.partition, tp.offset, tp.metadata) for tp in got] == [(0, 3, "meta-0"),
                                                                      (1, 5, None)]
    assert got[0].leader_epoch == 0


def poll_until(consumer: Consumer, got: list[bytes], expected: list[bytes]) -> None:
    """Poll `consumer`, adding the values it reads to `got`, until `got` is `expected`."""
    deadline = time.monotonic() + 30
    while got != expected:
        assert time.monotonic() < deadline, f"got {got}, waiting for {expected}"
        m = consumer.poll(0.2)
        if m is not None and m.error() is None:
            got.append(m.value())


def test_a_classic_group_carries_on_across_a_restart(make_broker, topic_name):
    """The group's stable generation is stored: after a broker restart the member keeps
    heartbeating in the same generation and consuming, with no rebalance."""
    b = make_broker(config={"group.initial.rebalance.delay.ms": 0})
    create_topic(b.bootstrap_servers, topic_name, 2)
    rebalances = []
    c = Consumer({"bootstrap.servers": b.bootstrap_servers, "group.id": "steady",
                  "auto.offset.reset": "earliest", "session.timeout.ms": 30000,
                  "heartbeat.interval.ms": 500})
    c.subscribe([topic_name], on_assign=lambda _, ps: rebalances.append("assign"),
                on_revoke=lambda _, ps: rebalances.append("revoke"))
    try:
        produce(b.bootstrap_servers, topic_name, [b"before"])
        got = []
        poll_until(c, got, [b"before"])
        generation = b.call(lambda: b.server.core.groups.groups["steady"].generation_id)
        b.restart()
        restored = b.call(lambda: b.server.core.groups.groups["steady"])
        assert (restored.state.name, restored.generation_id) == ("STABLE", generation)
        produce(b.bootstrap_servers, topic_name, [b"after"])
        poll_until(c, got, [b"before", b"after"])
        for _ in range(10):  # a few more heartbeats in the restored generation
            c.poll(0.2)
        group = b.call(lambda: b.server.core.groups.groups["steady"])
        assert (group.state.name, group.generation_id) == ("STABLE", generation)
        assert rebalances == ["assign"]
    finally:
        c.close()
    # The member left: nothing of it is kept for the next start.
    b.restart()
    group = b.call(lambda: b.server.core.groups.groups.get("steady"))
    assert group is not None and group.is_empty()


def test_a_kip848_group_carries_on_across_a_restart(make_broker, topic_name):
    """KIP-848 members and their epochs are stored: after a broker restart the member keeps
    heartbeating at its epoch with its partitions, and nothing is revoked or lost."""
    b = make_broker()
    create_topic(b.bootstrap_servers, topic_name, 2)
    callbacks = []
    c = Consumer({"bootstrap.servers": b.bootstrap_servers, "group.id": "steady-848",
                  "group.protocol": "consumer", "auto.offset.reset": "earliest"})
    c.subscribe([topic_name], on_assign=lambda _, ps: callbacks.append("assign"),
                on_revoke=lambda _, ps: callbacks.append("revoke"),
                on_lost=lambda _, ps: callbacks.append("lost"))

    def member_epochs():
        group = b.server.core.groups.groups["steady-848"]
        return {m.member_id: m.member_epoch for m in group.members.values()}

    def session_timers():
        return [m.expiry for m in b.server.core.groups.groups["steady-848"].members.values()]

    try:
        produce(b.bootstrap_servers, topic_name, [b"before"])
        got = []
        poll_until(c, got, [b"before"])
        wait_for(lambda: b.call(lambda: b.server.core.groups.groups["steady-848"].state.value)
                 == "Stable", 20, "the group to be stable")
        epochs = b.call(member_epochs)
        b.restart()
        assert b.call(member_epochs) == epochs
        produce(b.bootstrap_servers, topic_name, [b"after"])
        poll_until(c, got, [b"before", b"after"])
        # Wait for two heartbeats after the restart (every 5 s, the broker's
        # group.consumer.heartbeat.interval.ms): each re-arms the member's session timer.
        for _ in range(2):
            armed = b.call(session_timers)
            deadline = time.monotonic() + 30
            while b.call(session_timers) == armed:
                assert time.monotonic() < deadline
                c.poll(0.2)
        assert b.call(member_epochs) == epochs
        assert b.call(lambda: b.server.core.groups.groups["steady-848"].state.value) == "Stable"
        assert callbacks == ["assign"]
    finally:
        c.close()
    # The member left: nothing of it is kept for the next start.
    b.restart()
    group = b.call(lambda: b.server.core.groups.groups.get("steady-848"))
    assert group is not None and group.is_empty()


def test_new_group_waits_for_the_initial_rebalance_delay(make_broker, topic_name):
    """Three members starting together land in one generation: the first waits
    group.initial.rebalance.delay.ms for the others instead of rebalancing three times."""
    b = make_broker(config={"group.initial.rebalance.delay.ms": 1500})
    create_topic(b.bootstrap_servers, topic_name, 3)
    members = [Member("confluent", b.bootstrap_servers, topic_name, "delayed")
               for _ in range(3)]
    try:
        wait_for(lambda: all(len(m.assigned) == 1 for m in members), 20, "the group to settle")
        generation = b.call(lambda: b.server.core.groups.groups["delayed"].generation_id)
        assert generation == 1
    finally:
        for m in members:
            m.close()


def test_static_member_rejoins_without_rebalance(broker, topic_name):
    create_topic(broker.bootstrap_servers, topic_name, 4)
    group = f"static-{uuid.uuid4().hex[:6]}"

    def consumer(instance: str) -> Consumer:
        return Consumer({"bootstrap.servers": broker.bootstrap_servers, "group.id": group,
                         "group.instance.id": instance, "session.timeout.ms": SESSION_MS,
                         "heartbeat.interval.ms": 500})

    def poll_until_assigned(consumers: list[Consumer]) -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            for c in consumers:
                c.poll(0.1)
            if all(c.assignment() for c in consumers):
                return
        raise AssertionError("no assignment")

    a, b = consumer("a"), consumer("b")
    a.subscribe([topic_name])
    b.subscribe([topic_name])
    poll_until_assigned([a, b])
    state = broker.server.core.groups.groups[group]
    generation = broker.call(lambda: state.generation_id)
    owned_b = sorted(p.partition for p in b.assignment())
    b.close()  # a static member leaving does not send LeaveGroup
    b2 = consumer("b")
    b2.subscribe([topic_name])
    poll_until_assigned([a, b2])
    assert sorted(p.partition for p in b2.assignment()) == owned_b
    assert broker.call(lambda: state.generation_id) == generation
    a.close()
    b2.close()


def test_kip848_consumer_protocol_with_confluent(broker, topic_name):
    create_topic(broker.bootstrap_servers, topic_name, 4)
    produce(broker.bootstrap_servers, topic_name, [f"k{i}".encode() for i in range(200)])
    group = f"kip848-{uuid.uuid4().hex[:6]}"
    consumers = [Consumer({"bootstrap.servers": broker.bootstrap_servers, "group.id": group,
                           "group.protocol": "consumer", "auto.offset.reset": "earliest"})
                 for _ in range(2)]
    for c in consumers:
        c.subscribe([topic_name])
    got: list[bytes] = []
    deadline = time.monotonic() + 40
    while len(got) < 200 and time.monotonic() < deadline:
        for c in consumers:
            m = c.poll(0.1)
            if m is not None and m.error() is None:
                got.append(m.value())
    assert sorted(got) == sorted(f"k{i}".encode() for i in range(200))
    admin = AdminClient({"bootstrap.servers": broker.bootstrap_servers})
    described = admin.describe_consumer_groups([group])[group].result(10)
    assert described.type.name == "CONSUMER"
    owned = sorted(p.partition for m in described.members for p in m.assignment.topic_partitions)
    assert owned == [0, 1, 2, 3]
    for c in consumers:
        c.close()


def test_group_admin_list_describe_delete(broker, topic_name):
    create_topic(broker.bootstrap_servers, topic_name, 2)
    group = f"admin-{uuid.uuid4().hex[:6]}"
    member = Member("confluent", broker.bootstrap_servers, topic_name, group)
    a = AdminClient({"bootstrap.servers": broker.bootstrap_servers})
    try:
        wait_for(lambda: len(member.assigned) == 2, 20, "assignment")
        listed = {g.group_id: g for g in a.list_consumer_groups().result(10).valid}
        assert listed[group].state.name == "STABLE"
        described = a.describe_consumer_groups([group])[group].result(10)
        assert described.partition_assignor == "range"
        assert len(described.members) == 1
        assert sorted(p.partition for p in described.members[0].assignment.topic_partitions
                      ) == [0, 1]
        with pytest.raises(KafkaException) as exc:
            a.delete_consumer_groups([group])[group].result(10)
        assert exc.value.args[0].name() == "NON_EMPTY_GROUP"
    finally:
        member.close()
    wait_for(lambda: {g.group_id: g for g in a.list_consumer_groups().result(10).valid
                      }[group].state.name == "EMPTY", 10, "the group to be empty")
    a.delete_consumer_groups([group])[group].result(10)
    assert group not in {g.group_id for g in a.list_consumer_groups().result(10).valid}
