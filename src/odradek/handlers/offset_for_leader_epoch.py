"""OffsetForLeaderEpoch: v2-4

* v2: leader_epoch in the response, current_leader_epoch fencing
* v3: replica_id
* v4: flexible

Consumers (the Java client) use it to check that their position is still on the log after a
leader change. This broker has had one epoch per partition, so the answer for that epoch is the
log end offset; newer epochs are unknown (-1, -1), as Kafka answers.

With an authorizer: DESCRIBE on each topic (TOPIC_AUTHORIZATION_FAILED).
"""

from __future__ import annotations

from ..protocol.api_keys import ApiKey
from ..protocol.errors import ErrorCode, KafkaError
from ..security.acl import Op, Res
from .context import RequestContext
from .registry import handler


@handler(ApiKey.OFFSET_FOR_LEADER_EPOCH, versions=(2, 4))
def handle_offset_for_leader_epoch(ctx: RequestContext, request):
    topics = []
    for t in request.topics:
        partitions = []
        allowed = ctx.authorize(Op.DESCRIBE, Res.TOPIC, t.topic)
        for p in t.partitions:
            result = {"error_code": ErrorCode.none, "partition": p.partition,
                      "leader_epoch": -1, "end_offset": -1}
            try:
                if not allowed:
                    raise KafkaError(ErrorCode.topic_authorization_failed)
                partition = ctx.broker.partition(t.topic, p.partition)
                partition.check_leader_epoch(p.current_leader_epoch)
                if 0 <= p.leader_epoch <= partition.leader_epoch:
                    result["leader_epoch"] = partition.leader_epoch
                    result["end_offset"] = partition.log.log_end_offset
            except KafkaError as exc:
                result["error_code"] = exc.code
            partitions.append(result)
        topics.append({"topic": t.topic, "partitions": partitions})
    return ctx.response(topics=topics)
