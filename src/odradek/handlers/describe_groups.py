"""DescribeGroups: v0-6

* v1: throttle_time
* v3: authorized_operations (all allowed: there is no authorizer yet)
* v4: group_instance_id of members
* v5: flexible
* v6: error_message; an unknown group is GROUP_ID_NOT_FOUND (before: state "Dead")

Describes classic groups; a KIP-848 consumer group is described by ConsumerGroupDescribe
(here: GROUP_ID_NOT_FOUND, "not a classic group", as Kafka answers).

With an authorizer: DESCRIBE on each group (GROUP_AUTHORIZATION_FAILED); authorized
operations from the ACLs.
"""

from __future__ import annotations

from ..groups.classic import ClassicGroup
from ..protocol.api_keys import ApiKey
from ..protocol.errors import ErrorCode
from ..security.acl import Op, Res
from .context import RequestContext
from .registry import handler

_GROUP_OPS = sum(1 << op for op in (3, 6, 8))  # READ, DELETE, DESCRIBE
_NOT_REQUESTED = -2147483648


@handler(ApiKey.DESCRIBE_GROUPS, versions=(0, 6))
def handle_describe_groups(ctx: RequestContext, request):
    wants_ops = getattr(request, "include_authorized_operations", False)
    groups = []
    for group_id in request.groups:
        if not ctx.authorize(Op.DESCRIBE, Res.GROUP, group_id):
            groups.append({"group_id": group_id, "error_code": ErrorCode.group_authorization_failed,
                           "error_message": None, "group_state": "", "protocol_type": "",
                           "protocol_data": "", "members": [],
                           "authorized_operations": _NOT_REQUESTED})
            continue
        ops = _NOT_REQUESTED
        if wants_ops:
            ops = (_GROUP_OPS if ctx.broker.authorizer is None
                   else ctx.authorized_operations(Res.GROUP, group_id))
        groups.append(_describe(ctx, group_id, ops))
    return ctx.response(groups=groups)


def _describe(ctx: RequestContext, group_id: str, ops: int) -> dict:
    group = ctx.broker.groups.groups.get(group_id)
    empty = {"group_id": group_id, "error_code": ErrorCode.none, "error_message": None,
             "group_state": "Dead", "protocol_type": "", "protocol_data": "", "members": [],
             "authorized_operations": ops}
    if not isinstance(group, ClassicGroup):
        if ctx.version >= 6 or group is not None:
            empty["error_code"] = ErrorCode.group_id_not_found
            empty["error_message"] = (f"Group {group_id} not found." if group is None
                                      else f"Group {group_id} is not a classic group.")
        return empty
    protocol = group.protocol_name or ""
    stable = group.state.value in ("Stable", "CompletingRebalance")
    members = [{"member_id": m.member_id, "group_instance_id": m.group_instance_id,
                "client_id": m.client_id, "client_host": m.client_host,
                "member_metadata": m.metadata(protocol) if stable else b"",
                "member_assignment": m.assignment if stable else b""}
               for m in group.members.values()]
    return {"group_id": group_id, "error_code": ErrorCode.none, "error_message": None,
            "group_state": group.state.value, "protocol_type": group.protocol_type or "",
            "protocol_data": protocol, "members": members, "authorized_operations": ops}
