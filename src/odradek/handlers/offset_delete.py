"""OffsetDelete: v0

Deletes a group's committed offsets for some partitions. Refused per partition with
GROUP_SUBSCRIBED_TO_TOPIC while an active member subscribes to the topic, as Kafka does.

With an authorizer: DELETE on the group (GROUP_AUTHORIZATION_FAILED) and READ on each
topic (TOPIC_AUTHORIZATION_FAILED).
"""

from __future__ import annotations

from ..protocol.api_keys import ApiKey
from ..protocol.errors import ErrorCode
from ..security.acl import Op, Res
from .context import RequestContext
from .registry import handler


@handler(ApiKey.OFFSET_DELETE, versions=(0, 0))
def handle_offset_delete(ctx: RequestContext, request):
    coordinator = ctx.broker.groups
    if not ctx.authorize(Op.DELETE, Res.GROUP, request.group_id):
        return ctx.response(error_code=ErrorCode.group_authorization_failed, topics=[])
    if request.group_id not in coordinator.groups:
        return ctx.response(error_code=ErrorCode.group_id_not_found, topics=[])
    allowed = ctx.authorized(Op.READ, Res.TOPIC, (t.name for t in request.topics))
    wanted = [(t.name, p.partition_index) for t in request.topics if t.name in allowed
              for p in t.partitions]
    results = coordinator.delete_offsets(request.group_id, wanted)
    topics = []
    for t in request.topics:
        topics.append({"name": t.name, "partitions": [
            {"partition_index": p.partition_index,
             "error_code": _partition_error(ctx, t.name, p.partition_index,
                                            results[(t.name, p.partition_index)])
             if t.name in allowed else ErrorCode.topic_authorization_failed}
            for p in t.partitions]})
    return ctx.response(error_code=ErrorCode.none, topics=topics)


def _partition_error(ctx: RequestContext, topic: str, index: int, code: ErrorCode) -> ErrorCode:
    t = ctx.broker.topics.get(topic)
    if t is None or not 0 <= index < len(t.partitions):
        return ErrorCode.unknown_topic_or_partition
    return code
