"""SyncGroup: v0-5

* v1: throttle_time
* v3: group_instance_id
* v4: flexible
* v5: protocol_type / protocol_name, checked against the group's

The leader's request carries every member's assignment; each member's request returns its own
once the leader's has arrived.

With an authorizer: READ on the group (GROUP_AUTHORIZATION_FAILED).
"""

from __future__ import annotations

from ..protocol.api_keys import ApiKey
from ..protocol.errors import ErrorCode
from ..security.acl import Op, Res
from .context import RequestContext
from .registry import handler


@handler(ApiKey.SYNC_GROUP, versions=(0, 5))
def handle_sync_group(ctx: RequestContext, request):
    if not ctx.authorize(Op.READ, Res.GROUP, request.group_id):
        return ctx.response(error_code=ErrorCode.group_authorization_failed, protocol_type=None,
                            protocol_name=None, assignment=b"")
    group = ctx.broker.groups.classic_group_or_none(request.group_id)
    if group is None:
        return ctx.response(error_code=ErrorCode.unknown_member_id, protocol_type=None,
                            protocol_name=None, assignment=b"")
    return _sync(ctx, group, request)


async def _sync(ctx: RequestContext, group, request):
    code, assignment = await group.sync(
        member_id=request.member_id, generation_id=request.generation_id,
        group_instance_id=getattr(request, "group_instance_id", None),
        protocol_type=getattr(request, "protocol_type", None),
        protocol_name=getattr(request, "protocol_name", None),
        assignments={a.member_id: bytes(a.assignment) for a in request.assignments})
    ok = code == ErrorCode.none
    return ctx.response(error_code=code, protocol_type=group.protocol_type if ok else None,
                        protocol_name=group.protocol_name if ok else None,
                        assignment=assignment)
