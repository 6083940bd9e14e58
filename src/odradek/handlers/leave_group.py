"""LeaveGroup: v0-5

* v1: throttle_time
* v3: several members per request (KIP-345), each with its own result
* v4: flexible
* v5: reason (logged)

With an authorizer: READ on the group (GROUP_AUTHORIZATION_FAILED).
"""

from __future__ import annotations

import logging

from ..protocol.api_keys import ApiKey
from ..protocol.errors import ErrorCode
from ..security.acl import Op, Res
from .context import RequestContext
from .registry import handler

log = logging.getLogger("odradek.groups")


@handler(ApiKey.LEAVE_GROUP, versions=(0, 5))
def handle_leave_group(ctx: RequestContext, request):
    if not ctx.authorize(Op.READ, Res.GROUP, request.group_id):
        return ctx.response(error_code=ErrorCode.group_authorization_failed, members=[])
    group = ctx.broker.groups.classic_group_or_none(request.group_id)
    if ctx.version < 3:
        code = (group.leave(request.member_id, None) if group is not None
                else ErrorCode.unknown_member_id)
        return ctx.response(error_code=code, members=[])
    results = []
    for m in request.members:
        code = (group.leave(m.member_id, m.group_instance_id) if group is not None
                else ErrorCode.unknown_member_id)
        if getattr(m, "reason", None):
            log.info("member %s leaves group %s: %s", m.member_id, request.group_id, m.reason)
        results.append({"member_id": m.member_id, "group_instance_id": m.group_instance_id,
                        "error_code": code})
    return ctx.response(error_code=ErrorCode.none, members=results)
