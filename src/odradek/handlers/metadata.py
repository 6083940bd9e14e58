"""Metadata: v0-13

* v0: topics (an empty list means all topics), brokers, partitions with leader/replicas/isr
* v1: null topics = all, empty = none; controller_id, rack, is_internal
* v2: cluster_id
* v3: throttle_time
* v4: allow_auto_topic_creation (topics are auto-created when this and the broker's
  `auto.create.topics.enable` are true; before v4 always allowed)
* v5: offline_replicas
* v7: leader_epoch
* v8: topic / cluster authorized operations (all allowed: there is no authorizer yet)
* v9: flexible
* v10: topic ids
* v11: cluster authorized operations removed (DescribeCluster has them)
* v12: topics may be looked up by id only (name null)
* v13: top-level error_code (REBOOTSTRAP_REQUIRED; never set here)

The response is encoded by the hand-written `protocol.metadata` encoder (kio's writer takes
~11 ms for 100 topics).
"""

from __future__ import annotations

from ..protocol.api_keys import ApiKey
from ..protocol.errors import ErrorCode, KafkaError
from ..protocol.metadata import MetadataPartition, MetadataTopic, encode_metadata_response
from .context import RequestContext
from .registry import handler

# Authorized-operation bit sets, as Kafka reports them with no authorizer configured.
_TOPIC_OPS = sum(1 << op for op in (3, 4, 5, 6, 7, 8, 10, 11))
_CLUSTER_OPS = sum(1 << op for op in (5, 7, 8, 9, 10, 11, 12, 13, 14))
_NOT_REQUESTED = -2147483648


@handler(ApiKey.METADATA, versions=(0, 13))
def handle_metadata(ctx: RequestContext, request) -> bytes:
    broker = ctx.broker
    version = ctx.version
    include_topic_ops = getattr(request, "include_topic_authorized_operations", False)
    allow_auto = getattr(request, "allow_auto_topic_creation", True) and broker.broker_bool(
        "auto.create.topics.enable")
    if request.topics is None or (version == 0 and not request.topics):
        wanted = [(t.name, None) for t in broker.topics.values()]
    else:
        wanted = [(t.name, getattr(t, "topic_id", None)) for t in request.topics]
    topics = []
    for name, topic_id in wanted:
        topics.append(_describe(broker, name, topic_id, allow_auto,
                                _TOPIC_OPS if include_topic_ops else _NOT_REQUESTED))
    cluster_ops = (_CLUSTER_OPS if getattr(request, "include_cluster_authorized_operations",
                                           False) else _NOT_REQUESTED)
    return encode_metadata_response(
        version,
        brokers=[(broker.node_id, broker.advertised_host, broker.advertised_port, None)],
        cluster_id=broker.cluster_id,
        controller_id=broker.node_id,
        topics=topics,
        cluster_authorized_operations=cluster_ops,
    )


def _describe(broker, name, topic_id, allow_auto: bool, ops: int) -> MetadataTopic:
    if not name and topic_id is not None:
        topic = broker.topics_by_id.get(topic_id)
        if topic is None:
            return MetadataTopic(name=None, topic_id=topic_id,
                                 error_code=ErrorCode.unknown_topic_id)
    else:
        topic = broker.topics.get(name)
        if topic is None and allow_auto:
            try:
                topic = broker.create_topic(name)
            except KafkaError as exc:
                return MetadataTopic(name=name, error_code=exc.code)
        if topic is None:
            return MetadataTopic(name=name, error_code=ErrorCode.unknown_topic_or_partition)
    node = broker.node_id
    partitions = [
        MetadataPartition(partition_index=p.index, leader_id=node, leader_epoch=p.leader_epoch,
                          replica_nodes=[node], isr_nodes=[node], offline_replicas=[])
        for p in topic.partitions
    ]
    return MetadataTopic(name=topic.name, topic_id=topic.topic_id, is_internal=topic.is_internal,
                         partitions=partitions, topic_authorized_operations=ops)
