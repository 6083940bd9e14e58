"""Error codes and messages of Apache Kafka for edge cases, probed with raw requests.
Every line printed is: case | error code | error_message | other fields worth knowing.

    python probe_errors.py 127.0.0.1:19092

Topic names get a per-run suffix so the probe can be repeated against the same broker.
"""

import datetime
import re
import time
import uuid

from kio.schema.alter_configs.v2.request import AlterableConfig as AlterableConfigV2
from kio.schema.alter_configs.v2.request import AlterConfigsRequest
from kio.schema.alter_configs.v2.request import AlterConfigsResource as AlterResourceV2
from kio.schema.create_partitions.v3.request import CreatePartitionsRequest, CreatePartitionsTopic
from kio.schema.delete_topics.v6.request import DeleteTopicsRequest, DeleteTopicState
from kio.schema.describe_cluster.v2.request import DescribeClusterRequest
from kio.schema.incremental_alter_configs.v1.request import (
    AlterableConfig,
    AlterConfigsResource,
    IncrementalAlterConfigsRequest,
)
from kio.static.primitive import i8, i32
from kwire import (
    Conn,
    create_topics,
    delete_records,
    fetch,
    list_offsets,
    metadata,
    plain,
    produce,
    record_batch,
)
from probe_describe_configs import describe

RUN = str(int(time.time()))
TIMEOUT = datetime.timedelta(seconds=30)


def err(e) -> str:
    return f"{int(e)} {e.name.upper()}"


def row(case: str, code, message=None, **extra) -> None:
    if message:  # shorten the 250-char topic names quoted back in messages
        message = re.sub(r"(.)\1{30,}", lambda m: f"<{m.group(1)!r} x {len(m.group(0))}>", message)
    more = " ".join(f"{k}={plain(v)}" for k, v in extra.items())
    print(f"| {case} | {err(code)} | {message!r} | {more} |")


def main() -> None:
    conn = Conn()
    topic = f"probe-errors-{RUN}"
    create_topics(conn, [(topic, 1, 1, {})])
    batch = record_batch([(b"k%d" % i, b"v%d" % i, [("h", b"x")]) for i in range(3)])
    produce(conn, topic, 0, batch)  # offsets 0..2, high watermark 3

    print("| case | error | error_message | other fields |\n|---|---|---|---|")

    # --- Produce
    r = produce(conn, topic, 5, batch)
    row(
        "Produce v11 to partition 5 of a 1-partition topic",
        r.error_code,
        r.error_message,
        base_offset=r.base_offset,
        log_start_offset=r.log_start_offset,
    )
    r = produce(conn, f"no-such-topic-{RUN}", 0, batch)
    row("Produce v11 to an unknown topic", r.error_code, r.error_message, base_offset=r.base_offset)
    bad = bytearray(batch)
    bad[17] ^= 0xFF  # byte 17..20 is the CRC
    r = produce(conn, topic, 0, bytes(bad))
    row(
        "Produce v11, batch CRC corrupted",
        r.error_code,
        r.error_message,
        base_offset=r.base_offset,
        record_errors=r.record_errors,
    )
    big = record_batch([(b"k", b"x" * 1_100_000, [])])
    r = produce(conn, topic, 0, big)
    row(
        f"Produce v11, {len(big)}-byte batch, max.message.bytes default 1048588",
        r.error_code,
        r.error_message,
        base_offset=r.base_offset,
    )
    small = f"probe-small-{RUN}"
    create_topics(conn, [(small, 1, 1, {"max.message.bytes": "200"})])
    b = record_batch([(b"k", b"x" * 300, [])])
    r = produce(conn, small, 0, b)
    row(
        f"Produce v11, {len(b)}-byte batch, topic max.message.bytes=200",
        r.error_code,
        r.error_message,
        base_offset=r.base_offset,
    )
    b = record_batch([(b"k", b"x" * 100, [])])
    r = produce(conn, small, 0, b)
    row(
        f"Produce v11, {len(b)}-byte batch, topic max.message.bytes=200",
        r.error_code,
        r.error_message,
        base_offset=r.base_offset,
    )

    # --- Fetch
    for off in (3, 4, 100, -1):
        r = fetch(conn, topic, 0, off)
        row(
            f"Fetch v12 at offset {off} (log end offset 3)",
            r.error_code,
            None,
            high_watermark=r.high_watermark,
            log_start_offset=r.log_start_offset,
            records_bytes=len(r.records or b""),
        )
    r = fetch(conn, topic, 3, 0)
    row(
        "Fetch v12 partition 3 of a 1-partition topic",
        r.error_code,
        None,
        high_watermark=r.high_watermark,
    )
    r = fetch(conn, f"no-such-topic-{RUN}", 0, 0)
    row(
        "Fetch v12 unknown topic",
        getattr(r, "error_code", None),
        None,
        high_watermark=getattr(r, "high_watermark", None),
    )

    # --- DeleteRecords, then fetch below log start
    r = delete_records(conn, topic, 0, 2)
    row(
        "DeleteRecords v2 before offset 2 (hw 3)", r.error_code, None, low_watermark=r.low_watermark
    )
    for off in (0, 1, 2):
        r = fetch(conn, topic, 0, off)
        row(
            f"Fetch v12 at offset {off} after DeleteRecords(2)",
            r.error_code,
            None,
            high_watermark=r.high_watermark,
            log_start_offset=r.log_start_offset,
            records_bytes=len(r.records or b""),
        )
    for off in (4, 100):
        r = delete_records(conn, topic, 0, off)
        row(
            f"DeleteRecords v2 before offset {off} (hw 3)",
            r.error_code,
            None,
            low_watermark=r.low_watermark,
        )
    r = delete_records(conn, topic, 0, -1)
    row(
        "DeleteRecords v2 offset -1 (= high watermark)",
        r.error_code,
        None,
        low_watermark=r.low_watermark,
    )
    r = delete_records(conn, topic, 0, 1)
    row(
        "DeleteRecords v2 before offset 1, below current log start 3",
        r.error_code,
        None,
        low_watermark=r.low_watermark,
    )
    r = delete_records(conn, f"no-such-topic-{RUN}", 0, 1)
    row("DeleteRecords v2 unknown topic", r.error_code, None, low_watermark=r.low_watermark)

    # --- ListOffsets
    r = list_offsets(conn, f"no-such-topic-{RUN}", 0, -1)
    row(
        "ListOffsets v11 unknown topic",
        r.error_code,
        None,
        timestamp=r.timestamp,
        offset=r.offset,
        leader_epoch=r.leader_epoch,
    )
    r = list_offsets(conn, topic, 7, -1)
    row(
        "ListOffsets v11 partition 7 of a 1-partition topic",
        r.error_code,
        None,
        offset=r.offset,
        leader_epoch=r.leader_epoch,
    )

    # --- CreateTopics
    cases = [
        ("existing name", topic, 1, 1, {}),
        ("0 partitions", f"p0-{RUN}", 0, 1, {}),
        ("-5 partitions", f"pm5-{RUN}", -5, 1, {}),
        ("replication factor 2 on 1 broker", f"rf2-{RUN}", 1, 2, {}),
        ("replication factor 0", f"rf0-{RUN}", 1, 0, {}),
        ("invalid config name", f"badname-{RUN}", 1, 1, {"no.such.config": "1"}),
        ("retention.ms=abc", f"badval-{RUN}", 1, 1, {"retention.ms": "abc"}),
        ("cleanup.policy=bogus", f"badpol-{RUN}", 1, 1, {"cleanup.policy": "bogus"}),
        ("name a/b", "a/b", 1, 1, {}),
        ("name of 250 chars", "x" * 250, 1, 1, {}),
        ("name of 249 chars", RUN + "y" * (249 - len(RUN)), 1, 1, {}),
        ("name '.'", ".", 1, 1, {}),
        ("name '..'", "..", 1, 1, {}),
        ("empty name", "", 1, 1, {}),
        ("name with space", "a b", 1, 1, {}),
        ("name colliding a_b vs a.b", f"col.{RUN}", 1, 1, {}),
        ("-1 partitions, -1 replication (broker defaults)", f"defaults-{RUN}", -1, -1, {}),
    ]
    create_topics(conn, [(f"col_{RUN}", 1, 1, {})])
    for case, name, parts, rf, configs in cases:
        (r,) = create_topics(conn, [(name, parts, rf, configs)])
        row(
            f"CreateTopics v7 {case}",
            r.error_code,
            r.error_message,
            num_partitions=r.num_partitions,
            replication_factor=r.replication_factor,
            topic_config_error_code=r.topic_config_error_code,
            configs="null" if r.configs is None else f"{len(r.configs)} entries",
            topic_id=r.topic_id,
        )
    (r,) = create_topics(conn, [(f"validate-{RUN}", 2, 1, {})], validate_only=True)
    row(
        "CreateTopics v7 validate_only=true (valid topic)",
        r.error_code,
        r.error_message,
        num_partitions=r.num_partitions,
        topic_id=r.topic_id,
        configs="null" if r.configs is None else f"{len(r.configs)} entries",
    )
    md = metadata(conn, [f"validate-{RUN}"])
    row("  ... Metadata afterwards for that topic", md.topics[0].error_code)

    # --- CreatePartitions (topic has 1 partition; grow it to 2 first)
    def create_partitions(name, count, validate_only=False):
        req = CreatePartitionsRequest(
            topics=(CreatePartitionsTopic(name=name, count=i32(count), assignments=None),),
            timeout=TIMEOUT,
            validate_only=validate_only,
        )
        return conn.call(req)[2].results[0]

    for count, case in [
        (2, "1 -> 2"),
        (1, "2 -> 1 (decrease)"),
        (2, "2 -> 2 (same)"),
        (5, "2 -> 5 validate_only"),
    ]:
        r = create_partitions(topic, count, validate_only="validate" in case)
        row(f"CreatePartitions v3 {case}", r.error_code, r.error_message)
    r = create_partitions(f"no-such-topic-{RUN}", 3)
    row("CreatePartitions v3 unknown topic", r.error_code, r.error_message)

    # --- Metadata for an unknown topic, with and without auto-creation
    name = f"auto-{RUN}"
    for auto in (False, True, True):
        md = metadata(conn, [name], allow_auto_topic_creation=auto)
        t = md.topics[0]
        row(
            f"Metadata v12 unknown topic, allow_auto_topic_creation={auto}",
            t.error_code,
            None,
            topic_id=t.topic_id,
            partitions=len(t.partitions),
            is_internal=t.is_internal,
        )
        time.sleep(0.5)
    # Older, non-flexible Metadata versions (as kafka-python / aiokafka send them).
    from kio.schema.metadata.v4.request import MetadataRequest as M4
    from kio.schema.metadata.v4.request import MetadataRequestTopic as T4

    name = f"auto-v4-{RUN}"
    for _ in range(2):
        t = conn.call(M4(topics=(T4(name=name),), allow_auto_topic_creation=True))[2].topics[0]
        row(
            "Metadata v4 unknown topic, allow_auto_topic_creation=True",
            t.error_code,
            None,
            partitions=len(t.partitions),
        )
        time.sleep(0.5)
    md = metadata(conn, ["bad/name"], allow_auto_topic_creation=True)
    row("Metadata v12 auto-create of invalid name 'bad/name'", md.topics[0].error_code)

    # --- DeleteTopics
    def delete_topic(name=None, topic_id=None):
        req = DeleteTopicsRequest(
            topics=(DeleteTopicState(name=name, topic_id=topic_id),), timeout=TIMEOUT
        )
        return conn.call(req)[2].responses[0]

    r = delete_topic(name=f"no-such-topic-{RUN}")
    row(
        "DeleteTopics v6 unknown name",
        r.error_code,
        r.error_message,
        name=r.name,
        topic_id=r.topic_id,
    )
    r = delete_topic(topic_id=uuid.uuid4())
    row(
        "DeleteTopics v6 unknown topic_id",
        r.error_code,
        r.error_message,
        name=r.name,
        topic_id=r.topic_id,
    )
    r = delete_topic(name=small)
    row("DeleteTopics v6 existing name", r.error_code, r.error_message, topic_id=r.topic_id)

    # --- IncrementalAlterConfigs / AlterConfigs
    def incremental(configs, validate_only=False, rtype=2, rname=topic):
        req = IncrementalAlterConfigsRequest(
            resources=(
                AlterConfigsResource(
                    resource_type=i8(rtype),
                    resource_name=rname,
                    configs=tuple(
                        AlterableConfig(name=n, config_operation=i8(op), value=v)
                        for n, op, v in configs
                    ),
                ),
            ),
            validate_only=validate_only,
        )
        return conn.call(req)[2].responses[0]

    for case, cfg in [
        ("SET unknown config", [("no.such.config", 0, "1")]),
        ("SET retention.ms=abc", [("retention.ms", 0, "abc")]),
        ("SET retention.ms=1000", [("retention.ms", 0, "1000")]),
        ("DELETE retention.ms", [("retention.ms", 1, None)]),
        ("APPEND cleanup.policy=compact", [("cleanup.policy", 2, "compact")]),
        ("APPEND retention.ms (not a list)", [("retention.ms", 2, "5")]),
        ("op 9 (invalid)", [("retention.ms", 9, "5")]),
    ]:
        r = incremental(cfg)
        row(f"IncrementalAlterConfigs v1 topic, {case}", r.error_code, r.error_message)
    r = incremental([("retention.ms", 0, "1")], rname=f"no-such-topic-{RUN}")
    row("IncrementalAlterConfigs v1 unknown topic", r.error_code, r.error_message)

    def alter(configs, validate_only):
        req = AlterConfigsRequest(
            resources=(
                AlterResourceV2(
                    resource_type=i8(2),
                    resource_name=topic,
                    configs=tuple(AlterableConfigV2(name=n, value=v) for n, v in configs),
                ),
            ),
            validate_only=validate_only,
        )
        return conn.call(req)[2].responses[0]

    r = alter([("retention.ms", "12345")], validate_only=True)
    value = next(c.value for c in describe(conn, 2, topic).configs if c.name == "retention.ms")
    row(
        "AlterConfigs v2 validate_only retention.ms=12345",
        r.error_code,
        r.error_message,
        retention_ms_afterwards=value,
    )
    r = alter([("no.such.config", "1")], validate_only=True)
    row("AlterConfigs v2 validate_only unknown config", r.error_code, r.error_message)
    r = alter([("retention.ms", "12345")], validate_only=False)
    value = next(c for c in describe(conn, 2, topic).configs if c.name == "retention.ms")
    row(
        "AlterConfigs v2 retention.ms=12345",
        r.error_code,
        r.error_message,
        retention_ms_afterwards=value.value,
        source=value.config_source,
    )

    # --- DescribeCluster
    r = conn.call(
        DescribeClusterRequest(
            include_cluster_authorized_operations=False, include_fenced_brokers=True
        )
    )[2]
    print("\nDescribeCluster v2 (include_fenced_brokers=true):", plain(r))
    conn.close()


if __name__ == "__main__":
    main()
