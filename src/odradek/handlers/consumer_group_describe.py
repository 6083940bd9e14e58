"""ConsumerGroupDescribe: v0-1 (KIP-848 groups)

* v1: member_type (1 = consumer protocol member; classic members in consumer groups are not
  supported here)

With an authorizer: DESCRIBE on each group (GROUP_AUTHORIZATION_FAILED); authorized
operations from the ACLs.
"""

from __future__ import annotations

from ..groups.consumer_group import ConsumerGroup
from ..protocol.api_keys import ApiKey
from ..protocol.errors import ErrorCode
from ..security.acl import Op, Res
from .context import RequestContext
from .registry import handler

_GROUP_OPS = sum(1 << op for op in (3, 6, 8))
_NOT_REQUESTED = -2147483648


@handler(ApiKey.CONSUMER_GROUP_DESCRIBE, versions=(0, 1))
def handle_consumer_group_describe(ctx: RequestContext, request):
    groups = []
    for group_id in request.group_ids:
        if not ctx.authorize(Op.DESCRIBE, Res.GROUP, group_id):
            groups.append({"error_code": ErrorCode.group_authorization_failed,
                           "error_message": None, "group_id": group_id, "group_state": "",
                           "group_epoch": -1, "assignment_epoch": -1, "assignor_name": "",
                           "members": [], "authorized_operations": _NOT_REQUESTED})
            continue
        ops = _NOT_REQUESTED
        if request.include_authorized_operations:
            ops = (_GROUP_OPS if ctx.broker.authorizer is None
                   else ctx.authorized_operations(Res.GROUP, group_id))
        groups.append(_describe(ctx, group_id, ops))
    return ctx.response(groups=groups)


def _describe(ctx: RequestContext, group_id: str, ops: int) -> dict:
    group = ctx.broker.groups.groups.get(group_id)
    if not isinstance(group, ConsumerGroup):
        return {"error_code": ErrorCode.group_id_not_found,
                "error_message": f"Group {group_id} "
                + ("not found." if group is None else "is not a consumer group."),
                "group_id": group_id, "group_state": "Dead", "group_epoch": -1,
                "assignment_epoch": -1, "assignor_name": "", "members": [],
                "authorized_operations": ops}
    return {"error_code": ErrorCode.none, "error_message": None, "group_id": group_id,
            "group_state": group.state.value, "group_epoch": group.group_epoch,
            "assignment_epoch": group.assignment_epoch, "assignor_name": group.assignor_name,
            "members": [_member(ctx, group, m) for m in group.members.values()],
            "authorized_operations": ops}


def _member(ctx: RequestContext, group: ConsumerGroup, m) -> dict:
    return {"member_id": m.member_id, "instance_id": m.instance_id, "rack_id": m.rack_id,
            "member_epoch": m.member_epoch, "client_id": m.client_id,
            "client_host": m.client_host, "subscribed_topic_names": m.subscribed_topic_names,
            "subscribed_topic_regex": m.subscribed_topic_regex,
            "assignment": _assignment(ctx, m.assigned),
            "target_assignment": _assignment(ctx, group.target.get(m.member_id, {})),
            "member_type": 1}


def _assignment(ctx: RequestContext, parts: dict[str, set[int]]) -> dict:
    topics = ctx.broker.topics
    return {"topic_partitions": [
        {"topic_id": topics[t].topic_id, "topic_name": t, "partitions": sorted(ps)}
        for t, ps in sorted(parts.items()) if t in topics]}
