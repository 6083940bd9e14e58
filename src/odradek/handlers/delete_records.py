"""DeleteRecords: v0-2

* v1: no broker change
* v2: flexible

Moves the log start offset up to the given offset (-1: the high watermark) and deletes the
segments that lie entirely below it. The new start offset is persisted.

With an authorizer: DELETE on each topic (TOPIC_AUTHORIZATION_FAILED).
"""

from __future__ import annotations

from ..log.errors import OffsetOutOfRangeError
from ..protocol.api_keys import ApiKey
from ..protocol.errors import ErrorCode, KafkaError
from ..security.acl import Op, Res
from .context import RequestContext
from .registry import handler


@handler(ApiKey.DELETE_RECORDS, versions=(0, 2))
def handle_delete_records(ctx: RequestContext, request):
    broker = ctx.broker
    topics = []
    for t in request.topics:
        partitions = []
        allowed = ctx.authorize(Op.DELETE, Res.TOPIC, t.name)
        for p in t.partitions:
            low, code = -1, ErrorCode.none
            try:
                if not allowed:
                    raise KafkaError(ErrorCode.topic_authorization_failed)
                partition = broker.partition(t.name, p.partition_index)
                low = broker.delete_records(partition, p.offset)
            except KafkaError as exc:
                code = exc.code
            except OffsetOutOfRangeError:
                code = ErrorCode.offset_out_of_range
            partitions.append({"partition_index": p.partition_index, "low_watermark": low,
                               "error_code": code})
        topics.append({"name": t.name, "partitions": partitions})
    return ctx.response(topics=topics)
