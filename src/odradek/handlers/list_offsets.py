"""ListOffsets: v1-11

* v1: one offset per partition for a timestamp; -2 earliest, -1 latest
* v2: isolation_level (read_committed answers with the last stable offset)
* v4: current_leader_epoch checked; leader_epoch in the response
* v6: flexible
* v7: -3 = the record with the largest timestamp (KIP-734)
* v8: -4 = earliest local offset (no tiered storage here: the log start offset)
* v9: -5 = latest tiered offset (no tiered storage: not found, -1)
* v10: timeout (nothing to wait for here)
* v11: -6 = earliest pending upload (no tiered storage: not found, -1)

With an authorizer: DESCRIBE on each topic (TOPIC_AUTHORIZATION_FAILED).
"""

from __future__ import annotations

from ..protocol.api_keys import ApiKey
from ..protocol.errors import ErrorCode, KafkaError
from ..security.acl import Op, Res
from .context import RequestContext
from .registry import handler

LATEST, EARLIEST, MAX_TIMESTAMP, EARLIEST_LOCAL = -1, -2, -3, -4


@handler(ApiKey.LIST_OFFSETS, versions=(1, 11))
def handle_list_offsets(ctx: RequestContext, request):
    topics = []
    for t in request.topics:
        partitions = []
        allowed = ctx.authorize(Op.DESCRIBE, Res.TOPIC, t.name)
        for p in t.partitions:
            try:
                if not allowed:
                    raise KafkaError(ErrorCode.topic_authorization_failed)
                offset, timestamp, epoch = _lookup(ctx, t.name, p)
                code = ErrorCode.none
            except KafkaError as exc:
                offset, timestamp, epoch, code = -1, -1, -1, exc.code
            partitions.append({"partition_index": p.partition_index, "error_code": code,
                               "timestamp": timestamp, "offset": offset,
                               "leader_epoch": epoch})
        topics.append({"name": t.name, "partitions": partitions})
    return ctx.response(topics=topics)


def _lookup(ctx: RequestContext, topic: str, p) -> tuple[int, int, int]:
    partition = ctx.broker.partition(topic, p.partition_index)
    partition.check_leader_epoch(getattr(p, "current_leader_epoch", -1))
    plog = partition.log
    ts = p.timestamp
    if ts == LATEST:
        return plog.high_watermark, -1, partition.leader_epoch
    if ts in (EARLIEST, EARLIEST_LOCAL):
        return plog.log_start_offset, -1, partition.leader_epoch
    if ts == MAX_TIMESTAMP:
        offset, timestamp = plog.max_timestamp()
        return offset, timestamp, partition.leader_epoch if offset >= 0 else -1
    if ts < 0:
        return -1, -1, -1
    found = plog.offset_for_timestamp(ts)
    if found is None or found[0] >= plog.high_watermark:
        return -1, -1, -1
    return found[0], found[1], partition.leader_epoch
