"""`odradek group ...` against a broker with real consumer groups (confluent-kafka)."""

from __future__ import annotations

import time

from confluent_kafka import Consumer, Producer, TopicPartition

from tests.support.cli import run_cli


def _produce(broker, topic: str, partitions: int, per_partition: int,
             timestamp_ms: int | None = None) -> None:
    p = Producer({"bootstrap.servers": broker.bootstrap_servers})
    for part in range(partitions):
        for i in range(per_partition):
            p.produce(topic, b"v%d" % i, partition=part,
                      timestamp=(timestamp_ms + i) if timestamp_ms else 0)
    assert p.flush(10) == 0


def _commit(broker, group: str, offsets: dict[tuple[str, int], int]) -> None:
    c = Consumer({"bootstrap.servers": broker.bootstrap_servers, "group.id": group})
    c.commit(offsets=[TopicPartition(t, p, o) for (t, p), o in offsets.items()],
             asynchronous=False)
    c.close()


def _committed(capsys, b, group: str) -> dict[tuple[str, int], int]:
    described = run_cli(capsys, "group", "describe", group, "--output", "json", *b).json()[0]
    return {(p["topic"], p["partition"]): p["current_offset"] for p in described["partitions"]}


def test_group_list_describe_with_live_members_and_delete(broker, topic_name, capsys):
    b = ("-b", broker.bootstrap_servers)
    run_cli(capsys, "topic", "create", topic_name, "-p", "2", *b)
    _produce(broker, topic_name, 2, 5)
    group = topic_name + "-live"
    c = Consumer({"bootstrap.servers": broker.bootstrap_servers, "group.id": group,
                  "client.id": "live-member", "auto.offset.reset": "earliest",
                  "enable.auto.commit": False})
    c.subscribe([topic_name])
    got = 0
    deadline = time.monotonic() + 30
    while got < 10 and time.monotonic() < deadline:
        m = c.poll(0.5)
        if m is not None and m.error() is None:
            got += 1
    assert got == 10
    c.commit(offsets=[TopicPartition(topic_name, 0, 3), TopicPartition(topic_name, 1, 5)],
             asynchronous=False)
    try:
        groups = run_cli(capsys, "group", "list", "--output", "json", *b).json()
        mine = next(g for g in groups if g["group_id"] == group)
        assert mine["state"] == "Stable" and mine["protocol_type"] == "consumer"
        table = run_cli(capsys, "group", "list", *b).out
        assert table.splitlines()[0].split() == ["GROUP_ID", "TYPE", "STATE", "PROTOCOL_TYPE"]

        r = run_cli(capsys, "group", "describe", group, "--output", "json", *b)
        (d,) = r.json()
        assert d["state"] == "Stable" and d["type"] == "classic"
        assert len(d["members"]) == 1
        member = d["members"][0]
        assert member["client_id"] == "live-member"
        assert member["assignment"] == {topic_name: [0, 1]}
        rows = {p["partition"]: p for p in d["partitions"]}
        assert rows[0]["current_offset"] == 3 and rows[0]["lag"] == 2
        assert rows[1]["current_offset"] == 5 and rows[1]["lag"] == 0
        assert rows[0]["member_id"] == member["member_id"]
        assert d["total_lag"] == 2
        text = run_cli(capsys, "group", "describe", group, *b).out
        assert "state: Stable" in text and "live-member" in text

        r = run_cli(capsys, "group", "delete", group, *b)
        assert r.code == 1 and "NON_EMPTY_GROUP" in r.out + r.err
        r = run_cli(capsys, "group", "reset-offsets", group, "--all-topics", "--to-earliest",
                    *b)
        assert r.code == 1 and "inactive" in r.err
    finally:
        c.close()

    r = run_cli(capsys, "group", "delete", group, *b)
    assert r.code == 0, r.err
    assert f"Deleted group {group}." in r.out
    assert group not in [g["group_id"] for g in
                         run_cli(capsys, "group", "list", "--output", "json", *b).json()]
    r = run_cli(capsys, "group", "delete", group, *b)
    assert r.code == 1 and "GROUP_ID_NOT_FOUND" in r.out + r.err
    assert "does not exist" in run_cli(capsys, "group", "describe", group, *b).out


def test_reset_offsets_every_mode(broker, topic_name, capsys):
    b = ("-b", broker.bootstrap_servers)
    run_cli(capsys, "topic", "create", topic_name, "-p", "2", *b)
    base = 1_700_000_000_000
    _produce(broker, topic_name, 2, 10, timestamp_ms=base)  # offset i has timestamp base + i
    group = topic_name + "-reset"
    _commit(broker, group, {(topic_name, 0): 4, (topic_name, 1): 6})
    t0, t1 = (topic_name, 0), (topic_name, 1)

    r = run_cli(capsys, "group", "reset-offsets", group, "--all-topics", "--to-earliest",
                "--dry-run", "--output", "json", *b)
    assert r.json()["dry_run"] is True
    assert [(o["partition"], o["previous_offset"], o["new_offset"])
            for o in r.json()["offsets"]] == [(0, 4, 0), (1, 6, 0)]
    assert _committed(capsys, b, group) == {t0: 4, t1: 6}  # nothing changed
    assert "dry run" in run_cli(capsys, "group", "reset-offsets", group, "--all-topics",
                                "--to-latest", "--dry-run", *b).out

    assert run_cli(capsys, "group", "reset-offsets", group, "--all-topics", "--to-earliest",
                   *b).code == 0
    assert _committed(capsys, b, group) == {t0: 0, t1: 0}

    run_cli(capsys, "group", "reset-offsets", group, "--topic", topic_name, "--to-latest", *b)
    assert _committed(capsys, b, group) == {t0: 10, t1: 10}

    run_cli(capsys, "group", "reset-offsets", group, "--topic", f"{topic_name}:1",
            "--shift-by", "-3", *b)
    assert _committed(capsys, b, group) == {t0: 10, t1: 7}
    run_cli(capsys, "group", "reset-offsets", group, "--topic", f"{topic_name}:0,1",
            "--shift-by", "-100", *b)
    assert _committed(capsys, b, group) == {t0: 0, t1: 0}  # clamped to the log start

    run_cli(capsys, "group", "reset-offsets", group, "--topic", topic_name, "--to-offset", "5",
            *b)
    assert _committed(capsys, b, group) == {t0: 5, t1: 5}
    run_cli(capsys, "group", "reset-offsets", group, "--topic", topic_name, "--to-offset",
            "50", *b)
    assert _committed(capsys, b, group) == {t0: 10, t1: 10}  # clamped to the log end

    import datetime

    when = datetime.datetime.fromtimestamp((base + 7) / 1000, datetime.UTC)
    r = run_cli(capsys, "group", "reset-offsets", group, "--all-topics", "--to-datetime",
                when.isoformat(timespec="milliseconds"), *b)
    assert r.code == 0, r.err
    assert _committed(capsys, b, group) == {t0: 7, t1: 7}
    run_cli(capsys, "group", "reset-offsets", group, "--all-topics", "--to-datetime",
            "2100-01-01T00:00:00Z", *b)
    assert _committed(capsys, b, group) == {t0: 10, t1: 10}

    r = run_cli(capsys, "group", "reset-offsets", group, "--all-topics", "--to-datetime",
                "yesterday", *b)
    assert r.code == 1 and "cannot parse" in r.err

    # A new group: name the topic; the offsets are created.
    fresh = topic_name + "-fresh"
    r = run_cli(capsys, "group", "reset-offsets", fresh, "--all-topics", "--to-earliest", *b)
    assert r.code == 1 and "no committed offsets" in r.err
    run_cli(capsys, "group", "reset-offsets", fresh, "--topic", topic_name, "--to-offset", "2",
            *b)
    assert _committed(capsys, b, fresh) == {t0: 2, t1: 2}
    c = Consumer({"bootstrap.servers": broker.bootstrap_servers, "group.id": fresh})
    assert [tp.offset for tp in c.committed([TopicPartition(topic_name, 0)], timeout=10)] == [2]
    c.close()
