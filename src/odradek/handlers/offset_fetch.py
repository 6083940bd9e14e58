"""OffsetFetch: v1-10

* v2: topics null = every committed partition of the group; top-level error_code
* v3: throttle_time
* v5: committed_leader_epoch
* v6: flexible
* v7: require_stable (nothing is ever pending here: no transactions)
* v8: several groups per request
* v9: KIP-848 member id and epoch (checked: STALE_MEMBER_EPOCH)
* v10: topics by id

A partition without a committed offset answers -1 (and no error), as Kafka.

With an authorizer: DESCRIBE on the group (GROUP_AUTHORIZATION_FAILED) and on each topic
(named topics: TOPIC_AUTHORIZATION_FAILED; all topics: the others are left out).
"""

from __future__ import annotations

from ..groups.consumer_group import ConsumerGroup, ConsumerGroupError
from ..protocol.api_keys import ApiKey
from ..protocol.errors import ErrorCode
from ..security.acl import Op, Res
from .context import RequestContext
from .registry import handler


@handler(ApiKey.OFFSET_FETCH, versions=(1, 10))
def handle_offset_fetch(ctx: RequestContext, request):
    if ctx.version >= 8:
        groups = []
        for g in request.groups:
            topics, code = _fetch(ctx, g.group_id, g.topics, getattr(g, "member_id", None),
                                  getattr(g, "member_epoch", -1))
            groups.append({"group_id": g.group_id, "topics": topics, "error_code": code})
        return ctx.response(groups=groups)
    topics, code = _fetch(ctx, request.group_id, request.topics, None, -1)
    return ctx.response(topics=topics, error_code=code)


def _fetch(ctx: RequestContext, group_id: str, wanted, member_id, member_epoch):
    coordinator = ctx.broker.groups
    broker = ctx.broker
    if not ctx.authorize(Op.DESCRIBE, Res.GROUP, group_id):
        return _denied_group(ctx, wanted), ErrorCode.group_authorization_failed
    group = coordinator.groups.get(group_id)
    if member_id and isinstance(group, ConsumerGroup):
        try:
            group.validate_member_epoch(member_id, member_epoch)
        except ConsumerGroupError as exc:
            return [], exc.code
    committed = coordinator.committed(group_id)
    by_id = ctx.version >= 10
    if wanted is None:
        requested: dict[str, list[int]] = {}
        for (topic, partition) in sorted(committed):
            requested.setdefault(topic, []).append(partition)
        # Offsets of topics the principal may not describe are left out (Kafka).
        requested = {t: ps for t, ps in requested.items()
                     if ctx.authorize(Op.DESCRIBE, Res.TOPIC, t)}
        names = {t: broker.topics[t].topic_id if t in broker.topics else None
                 for t in requested}
    else:
        requested, names = {}, {}
        for t in wanted:
            if by_id:
                topic = broker.topics_by_id.get(t.topic_id)
                name = topic.name if topic else None
                names[name or str(t.topic_id)] = t.topic_id
                requested[name or str(t.topic_id)] = list(t.partition_indexes)
            else:
                requested[t.name] = list(t.partition_indexes)
                names[t.name] = None
    topics = []
    for name, partitions in requested.items():
        parts = []
        allowed = wanted is None or ctx.authorize(Op.DESCRIBE, Res.TOPIC, name)
        for index in partitions:
            o = committed.get((name, index)) if allowed else None
            parts.append({"partition_index": index,
                          "committed_offset": o.offset if o else -1,
                          "committed_leader_epoch": o.leader_epoch if o else -1,
                          "metadata": (o.metadata if o else "") or "",
                          "error_code": ErrorCode.none if allowed
                          else ErrorCode.topic_authorization_failed})
        topics.append({"name": name, "topic_id": names.get(name), "partitions": parts})
    return topics, ErrorCode.none


def _denied_group(ctx: RequestContext, wanted) -> list:
    """GROUP_AUTHORIZATION_FAILED: before v2 the error is only in the partitions."""
    if ctx.version >= 2 or not wanted:
        return []
    return [{"name": t.name, "partitions": [
        {"partition_index": i, "committed_offset": -1, "committed_leader_epoch": -1,
         "metadata": "", "error_code": ErrorCode.group_authorization_failed}
        for i in t.partition_indexes]} for t in wanted]
