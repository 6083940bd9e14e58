"""MetadataResponse encode, checked against kio for every version."""

from __future__ import annotations

import dataclasses
import datetime
import importlib
import io
import random
import uuid
from types import ModuleType
from typing import Any

import pytest
from kio.schema.errors import ErrorCode
from kio.serial import entity_writer
from kio.static.primitive import i32Timedelta

from odradek.protocol.metadata import (
    MetadataPartition,
    MetadataTopic,
    encode_metadata_response,
)

VERSIONS = range(0, 14)
BROKERS: list[tuple[int, str, int, str | None]] = [
    (1, "broker-1.example", 9092, "rack-a"),
    (2, "bröker-2", 9093, None),
    (3, "10.0.0.3", 19092, "rack-c"),
]


def make(cls: type, **kwargs: Any) -> Any:
    """Build a kio entity, dropping the arguments its version does not have."""
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in kwargs.items() if k in names})


def kio_write(cls: type, obj: Any) -> bytes:
    buf = io.BytesIO()
    entity_writer(cls)(buf, obj)
    return buf.getvalue()


def schema(version: int) -> ModuleType:
    return importlib.import_module(f"kio.schema.metadata.v{version}.response")


def sample_topics(version: int, seed: int = 7) -> list[MetadataTopic]:
    rng = random.Random(seed)
    topics = []
    for t in range(6):
        partitions = []
        for i in range(rng.randrange(0, 5)):
            replicas = rng.sample([1, 2, 3, 4, 5], rng.randrange(0, 4))
            partitions.append(
                MetadataPartition(
                    partition_index=i,
                    leader_id=replicas[0] if replicas else -1,
                    leader_epoch=rng.randrange(0, 50),
                    replica_nodes=replicas,
                    isr_nodes=replicas[: rng.randrange(0, len(replicas) + 1)],
                    offline_replicas=replicas[rng.randrange(0, len(replicas) + 1) :],
                    error_code=rng.choice([0, 0, 9]),
                )
            )
        topics.append(
            MetadataTopic(
                name=f"topic-{t}-ü" if t != 2 else "",
                topic_id=None if t == 1 else uuid.UUID(int=rng.getrandbits(128)),
                is_internal=t == 3,
                partitions=partitions,
                topic_authorized_operations=rng.choice([-2147483648, 0b11111000]),
                error_code=rng.choice([0, 3]),
            )
        )
    # An unknown topic requested by id: null name, only possible from v12.
    if version >= 12:
        topics.append(MetadataTopic(name=None, topic_id=uuid.UUID(int=42), error_code=100))
    return topics


def kio_response(
    version: int,
    *,
    brokers: list[tuple[int, str, int, str | None]],
    cluster_id: str | None,
    controller_id: int,
    topics: list[MetadataTopic],
    cluster_authorized_operations: int,
    throttle_ms: int,
    error_code: int,
) -> Any:
    m = schema(version)
    kio_topics = tuple(
        make(
            m.MetadataResponseTopic,
            error_code=ErrorCode(t.error_code),
            name=t.name,
            topic_id=t.topic_id,
            is_internal=t.is_internal,
            partitions=tuple(
                make(
                    m.MetadataResponsePartition,
                    error_code=ErrorCode(p.error_code),
                    partition_index=p.partition_index,
                    leader_id=p.leader_id,
                    leader_epoch=p.leader_epoch,
                    replica_nodes=tuple(p.replica_nodes),
                    isr_nodes=tuple(p.isr_nodes),
                    offline_replicas=tuple(p.offline_replicas),
                )
                for p in t.partitions
            ),
            topic_authorized_operations=t.topic_authorized_operations,
        )
        for t in topics
    )
    return make(
        m.MetadataResponse,
        throttle_time=i32Timedelta.parse(datetime.timedelta(milliseconds=throttle_ms)),
        brokers=tuple(
            make(m.MetadataResponseBroker, node_id=n, host=h, port=p, rack=r)
            for n, h, p, r in brokers
        ),
        cluster_id=cluster_id,
        controller_id=controller_id,
        topics=kio_topics,
        cluster_authorized_operations=cluster_authorized_operations,
        error_code=ErrorCode(error_code),
    )


def check(version: int, **kwargs: Any) -> None:
    ours = encode_metadata_response(version, **kwargs)
    kio_kwargs = dict(kwargs)
    kio_kwargs["throttle_ms"] = kio_kwargs.pop("throttle_time_ms", 0)
    kio_kwargs.setdefault("cluster_authorized_operations", -2147483648)
    kio_kwargs.setdefault("error_code", 0)
    expected = kio_write(schema(version).MetadataResponse, kio_response(version, **kio_kwargs))
    assert ours == expected


@pytest.mark.parametrize("cluster_id", [None, "odradek-cluster-ü"])
@pytest.mark.parametrize("version", VERSIONS)
def test_matches_kio(version: int, cluster_id: str | None) -> None:
    check(
        version,
        brokers=BROKERS,
        cluster_id=cluster_id,
        controller_id=2,
        topics=sample_topics(version),
        cluster_authorized_operations=0b1011000,
        throttle_time_ms=33,
        error_code=0,
    )


@pytest.mark.parametrize("version", VERSIONS)
def test_empty_and_error_matches_kio(version: int) -> None:
    check(version, brokers=[], cluster_id=None, controller_id=-1, topics=[], error_code=58)


@pytest.mark.parametrize("version", VERSIONS)
def test_many_replicas_matches_kio(version: int) -> None:
    # 130 replicas: compact counts above 127 need two uvarint bytes (the slow path).
    nodes = list(range(130))
    topics = [
        MetadataTopic(
            name="wide",
            partitions=[
                MetadataPartition(0, leader_id=0, replica_nodes=nodes, isr_nodes=nodes[:126],
                                  offline_replicas=nodes[126:]),
                MetadataPartition(1, leader_id=1, replica_nodes=nodes[:127], isr_nodes=[1]),
            ],
        )
    ]  # fmt: skip
    check(version, brokers=BROKERS, cluster_id="c", controller_id=1, topics=topics)


@pytest.mark.parametrize("version", VERSIONS)
def test_100_topics_matches_kio(version: int) -> None:
    topics = [
        MetadataTopic(
            name=f"topic-{t:03d}",
            topic_id=uuid.UUID(int=t + 1),
            partitions=[
                MetadataPartition(i, leader_id=i % 3 + 1, leader_epoch=t,
                                  replica_nodes=[1, 2, 3], isr_nodes=[1, 2, 3])
                for i in range(6)
            ],
        )
        for t in range(100)
    ]  # fmt: skip
    check(version, brokers=BROKERS, cluster_id="c", controller_id=1, topics=topics)


@pytest.mark.parametrize("version", range(0, 12))
def test_null_topic_name_needs_v12(version: int) -> None:
    with pytest.raises(ValueError):
        encode_metadata_response(
            version, brokers=[], cluster_id=None, controller_id=-1,
            topics=[MetadataTopic(name=None, error_code=100)],
        )  # fmt: skip


def test_unsupported_version() -> None:
    with pytest.raises(ValueError):
        encode_metadata_response(14, brokers=[], cluster_id=None, controller_id=-1, topics=[])
