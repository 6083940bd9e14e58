"""Heartbeat: v0-4

* v1: throttle_time
* v3: group_instance_id
* v4: flexible

Keeps a classic group member alive; REBALANCE_IN_PROGRESS tells it to rejoin.

With an authorizer: READ on the group (GROUP_AUTHORIZATION_FAILED).
"""

from __future__ import annotations

from ..protocol.api_keys import ApiKey
from ..protocol.errors import ErrorCode
from ..security.acl import Op, Res
from .context import RequestContext
from .registry import handler


@handler(ApiKey.HEARTBEAT, versions=(0, 4))
def handle_heartbeat(ctx: RequestContext, request):
    if not ctx.authorize(Op.READ, Res.GROUP, request.group_id):
        return ctx.response(error_code=ErrorCode.group_authorization_failed)
    group = ctx.broker.groups.classic_group_or_none(request.group_id)
    if group is None:
        return ctx.response(error_code=ErrorCode.unknown_member_id)
    code = group.heartbeat(request.member_id, request.generation_id,
                           getattr(request, "group_instance_id", None))
    return ctx.response(error_code=code)
