"""Metadata: v0-13

* v0: topics (an empty list means all topics), brokers, partitions with leader/replicas/isr
* v1: null topics = all, empty = none; controller_id, rack, is_internal
* v2: cluster_id
* v3: throttle_time
* v4: allow_auto_topic_creation (topics are auto-created when this and the broker's
  `auto.create.topics.enable` are true; before v4 always allowed)
* v5: offline_replicas
* v7: leader_epoch
* v8: topic / cluster authorized operations (from the ACL authorizer; all without one)
* v9: flexible
* v10: topic ids
* v11: cluster authorized operations removed (DescribeCluster has them)
* v12: topics may be looked up by id only (name null)
* v13: top-level error_code (REBOOTSTRAP_REQUIRED; never set here)

Authorization as Kafka: DESCRIBE on a topic to see it (topics the principal may not describe
are left out of an all-topics answer, and get TOPIC_AUTHORIZATION_FAILED when named); auto
creation needs CREATE on the cluster or on the topic (else TOPIC_AUTHORIZATION_FAILED). The
broker's address is the one advertised for the listener the request came in on.

The response is encoded by the hand-written `protocol.metadata` encoder (kio's writer takes
~11 ms for 100 topics).
"""

from __future__ import annotations

from ..protocol.api_keys import ApiKey
from ..protocol.errors import ErrorCode, KafkaError
from ..protocol.metadata import MetadataPartition, MetadataTopic, encode_metadata_response
from ..security.acl import Op, Res
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
    all_topics = request.topics is None or (version == 0 and not request.topics)
    if all_topics:
        wanted = [(t.name, None) for t in broker.topics.values()]
    else:
        wanted = [(t.name, getattr(t, "topic_id", None)) for t in request.topics]
    topics = []
    for name, topic_id in wanted:
        denied = _denied(ctx, name, topic_id, allow_auto)
        if denied is not None:
            if not all_topics:  # an all-topics answer leaves them out
                topics.append(denied)
            continue
        ops = _NOT_REQUESTED
        if include_topic_ops:
            ops = (_TOPIC_OPS if broker.authorizer is None
                   else ctx.authorized_operations(Res.TOPIC, name or _name_of(broker, topic_id)))
        topics.append(_describe(broker, name, topic_id, allow_auto, ops))
    cluster_ops = _NOT_REQUESTED
    if getattr(request, "include_cluster_authorized_operations", False):
        cluster_ops = (ctx.authorized_operations(Res.CLUSTER)
                       if ctx.authorize(Op.DESCRIBE, Res.CLUSTER) else 0)
    host, port = ctx.endpoint
    return encode_metadata_response(
        version,
        brokers=[(broker.node_id, host, port, None)],
        cluster_id=broker.cluster_id,
        controller_id=broker.node_id,
        topics=topics,
        cluster_authorized_operations=cluster_ops,
    )


def _name_of(broker, topic_id) -> str:
    topic = broker.topics_by_id.get(topic_id)
    return topic.name if topic is not None else ""


def _denied(ctx: RequestContext, name, topic_id, allow_auto: bool) -> MetadataTopic | None:
    """TOPIC_AUTHORIZATION_FAILED for a topic the principal may not describe, or may not
    auto-create; None when allowed (or when there is no authorizer)."""
    broker = ctx.broker
    if broker.authorizer is None:
        return None
    if not name and topic_id is not None:  # by id: ids are not secret (Kafka)
        name = _name_of(broker, topic_id)
        if name and not ctx.authorize(Op.DESCRIBE, Res.TOPIC, name):
            return MetadataTopic(name=None, topic_id=topic_id,
                                 error_code=ErrorCode.topic_authorization_failed)
        return None
    if not ctx.authorize(Op.DESCRIBE, Res.TOPIC, name):
        return MetadataTopic(name=name, error_code=ErrorCode.topic_authorization_failed)
    if (allow_auto and name not in broker.topics and not ctx.authorize(Op.CREATE, Res.CLUSTER)
            and not ctx.authorize(Op.CREATE, Res.TOPIC, name)):
        return MetadataTopic(name=name, error_code=ErrorCode.topic_authorization_failed)
    return None


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
