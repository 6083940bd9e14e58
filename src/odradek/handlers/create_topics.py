"""CreateTopics: v2-7

* v2: validate_only (v0-1 removed in Kafka 4)
* v4: num_partitions / replication_factor may be -1 (broker defaults)
* v5: flexible; the response carries the topic's partitions, replication factor and configs
* v7: topic_id in the response

Replication factor above 1 fails with INVALID_REPLICATION_FACTOR: this is a single broker.
Manual assignments must name this broker only. With an authorizer: CREATE on the cluster or
on the topic (TOPIC_AUTHORIZATION_FAILED), and DESCRIBE_CONFIGS on the topic for its configs
(topic_config_error_code otherwise).
"""

from __future__ import annotations

from collections import Counter

from ..protocol.api_keys import ApiKey
from ..protocol.errors import ErrorCode, KafkaError
from ..security.acl import Op, Res
from .context import RequestContext
from .describe_configs import describe_entries
from .registry import handler


@handler(ApiKey.CREATE_TOPICS, versions=(2, 7))
def handle_create_topics(ctx: RequestContext, request):
    broker = ctx.broker
    counts = Counter(t.name for t in request.topics)
    cluster_create = ctx.authorize(Op.CREATE, Res.CLUSTER)
    results = []
    for t in request.topics:
        result = {"name": t.name, "topic_id": None, "error_code": ErrorCode.none,
                  "error_message": None, "num_partitions": -1, "replication_factor": -1,
                  "configs": []}
        try:
            if counts[t.name] > 1:
                raise KafkaError(ErrorCode.invalid_request,
                                 f"Create topics request from client contains duplicate topic "
                                 f"name: {t.name}")
            if not cluster_create and not ctx.authorize(Op.CREATE, Res.TOPIC, t.name):
                raise KafkaError(ErrorCode.topic_authorization_failed,
                                 "Authorization failed.")
            partitions, replication = _layout(ctx, t)
            configs = {c.name: c.value for c in t.configs}
            if request.validate_only:
                broker.validate_new_topic(t.name, partitions, replication, configs)
                topic_configs = configs
            else:
                topic = broker.create_topic(t.name, partitions, replication, configs)
                result["topic_id"] = topic.topic_id
                topic_configs = topic.configs
            result["num_partitions"] = partitions
            result["replication_factor"] = replication
            if not ctx.authorize(Op.DESCRIBE_CONFIGS, Res.TOPIC, t.name):
                result["topic_config_error_code"] = int(ErrorCode.topic_authorization_failed)
                result["configs"] = None
                results.append(result)
                continue
            result["configs"] = [
                {"name": e["name"], "value": e["value"], "read_only": e["read_only"],
                 "config_source": e["config_source"], "is_sensitive": e["is_sensitive"]}
                for e in describe_entries(broker.configs.topic_entries(topic_configs),
                                          False, False)
            ]
        except KafkaError as exc:
            result.update(error_code=exc.code, error_message=exc.message)
        results.append(result)
    return ctx.response(topics=results)


def _layout(ctx: RequestContext, t) -> tuple[int, int]:
    broker = ctx.broker
    if not t.assignments:
        partitions = t.num_partitions if t.num_partitions != -1 else broker.broker_int(
            "num.partitions")
        replication = (t.replication_factor if t.replication_factor != -1
                       else broker.broker_int("default.replication.factor"))
        return partitions, replication
    if t.num_partitions != -1 or t.replication_factor != -1:
        raise KafkaError(ErrorCode.invalid_request,
                         "Both numPartitions or replicationFactor and replicasAssignments "
                         "were set. Both cannot be used at the same time.")
    indexes = sorted(a.partition_index for a in t.assignments)
    if indexes != list(range(len(indexes))):
        raise KafkaError(ErrorCode.invalid_replica_assignment,
                         "Partitions should be a consecutive 0-based integer sequence")
    for a in t.assignments:
        if list(a.broker_ids) != [broker.node_id]:
            raise KafkaError(ErrorCode.invalid_replica_assignment,
                             f"Unknown broker(s) in assignment {list(a.broker_ids)}")
    return len(indexes), 1
