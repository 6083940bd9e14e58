"""`odradek topic ...` against a broker, through the Kafka protocol."""

from __future__ import annotations

from tests.support.cli import run_cli


def test_topic_create_list_describe_alter_delete(broker, topic_name, capsys):
    b = ("-b", broker.bootstrap_servers)
    r = run_cli(capsys, "topic", "create", topic_name, "-p", "3", "-c", "retention.ms=3600000",
                *b)
    assert r.code == 0, r.err
    assert f"Created topic {topic_name} (3 partition(s)" in r.out

    r = run_cli(capsys, "topic", "create", topic_name, *b)
    assert r.code == 1
    assert "TOPIC_ALREADY_EXISTS" in r.err
    assert run_cli(capsys, "topic", "create", topic_name, "--if-not-exists", *b).code == 0

    r = run_cli(capsys, "topic", "list", *b)
    assert r.code == 0
    assert r.out.splitlines()[0].split() == ["NAME", "PARTITIONS", "REPLICATION_FACTOR"]
    assert any(line.split() == [topic_name, "3", "1"] for line in r.out.splitlines())
    listed = run_cli(capsys, "topic", "list", "--output", "json", *b).json()
    assert {"name": topic_name, "partitions": 3, "replication_factor": 1,
            "internal": False} in listed

    r = run_cli(capsys, "topic", "describe", topic_name, "--output", "json", *b)
    (described,) = r.json()
    assert described["configs"] == {"retention.ms": "3600000"}
    assert [p["partition"] for p in described["partitions"]] == [0, 1, 2]
    assert all(p["latest_offset"] == 0 for p in described["partitions"])
    table = run_cli(capsys, "topic", "describe", topic_name, *b).out
    assert f"Topic: {topic_name}" in table and "retention.ms=3600000" in table

    r = run_cli(capsys, "topic", "alter", topic_name, "-p", "5", "-c", "retention.ms=60000",
                "-c", "cleanup.policy=delete", *b)
    assert r.code == 0, r.err
    described = run_cli(capsys, "topic", "describe", topic_name, "--output", "json",
                        *b).json()[0]
    assert len(described["partitions"]) == 5
    assert described["configs"] == {"retention.ms": "60000", "cleanup.policy": "delete"}
    r = run_cli(capsys, "topic", "alter", topic_name, "--delete-config", "retention.ms", *b)
    assert r.code == 0, r.err
    described = run_cli(capsys, "topic", "describe", topic_name, "--output", "json",
                        *b).json()[0]
    assert described["configs"] == {"cleanup.policy": "delete"}
    all_configs = run_cli(capsys, "topic", "describe", topic_name, "--all-configs",
                          "--output", "json", *b).json()[0]["configs"]
    assert all_configs["retention.ms"] == "604800000"  # back to the default

    r = run_cli(capsys, "topic", "alter", topic_name, "-p", "2", *b)
    assert r.code == 1 and "INVALID_PARTITIONS" in r.err

    r = run_cli(capsys, "topic", "delete", topic_name, *b)
    assert r.code == 0 and f"Deleted topic {topic_name}." in r.out
    r = run_cli(capsys, "topic", "delete", topic_name, *b)
    assert r.code == 1 and "UNKNOWN_TOPIC_OR_PARTITION" in r.out + r.err
    assert run_cli(capsys, "topic", "delete", topic_name, "--if-exists", *b).code == 0
    assert topic_name not in run_cli(capsys, "topic", "list", *b).out


def test_topic_create_with_broker_defaults_and_bad_config(broker, topic_name, capsys):
    b = ("-b", broker.bootstrap_servers)
    r = run_cli(capsys, "topic", "create", topic_name, "--output", "json", *b)
    assert r.json() == {"name": topic_name, "created": True, "topic_id": r.json()["topic_id"],
                        "partitions": 1, "replication_factor": 1}
    r = run_cli(capsys, "topic", "create", topic_name + "-x", "-c", "no.such.config=1", *b)
    assert r.code == 1 and "INVALID_CONFIG" in r.err
    r = run_cli(capsys, "topic", "create", topic_name + "-y", "-r", "3", *b)
    assert r.code == 1 and "INVALID_REPLICATION_FACTOR" in r.err


def test_unreachable_broker_is_a_clean_error(capsys):
    r = run_cli(capsys, "topic", "list", "-b", "127.0.0.1:1", "--timeout", "2")
    assert r.code == 1
    assert r.err.startswith("odradek: cannot connect to 127.0.0.1:1")
