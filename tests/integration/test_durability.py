"""`--fsync always`: produce is acknowledged after the fsync; configs show the policy."""

from __future__ import annotations

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, ConfigResource

from odradek.cli import build_parser
from odradek.cli.serve import settings_from_args


def test_fsync_always_flag_sets_kafka_flush_policy():
    args = build_parser().parse_args(["serve", "--fsync", "always"])
    assert settings_from_args(args).properties["log.flush.interval.messages"] == "1"
    args = build_parser().parse_args(["serve", "--fsync", "interval",
                                      "--fsync-interval-ms", "250"])
    assert settings_from_args(args).properties["log.flush.interval.ms"] == "250"


def test_acks_wait_for_fsync_with_flush_messages_1(make_broker, topic_name):
    b = make_broker(config={"log.flush.interval.messages": 1})
    p = Producer({"bootstrap.servers": b.bootstrap_servers, "acks": "all", "linger.ms": 0})
    for i in range(50):
        p.produce(topic_name, b"%d" % i)
    assert p.flush(20) == 0
    flusher = b.server.core.flusher
    assert 1 <= b.call(lambda: flusher.fsyncs) <= 50
    plog = b.server.core.topics[topic_name].partitions[0].log
    assert b.call(lambda: plog.unflushed_messages) == 0  # nothing acknowledged is unsynced
    admin = AdminClient({"bootstrap.servers": b.bootstrap_servers})
    res = ConfigResource(ConfigResource.Type.TOPIC, topic_name)
    entry = admin.describe_configs([res])[res].result(10)["flush.messages"]
    assert entry.value == "1"
