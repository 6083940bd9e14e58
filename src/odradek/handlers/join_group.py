"""JoinGroup: v0-9

* v1: rebalance_timeout (v0 uses the session timeout)
* v2: throttle_time
* v4: MEMBER_ID_REQUIRED: a new member first gets its id, then joins with it (KIP-394)
* v5: group_instance_id: static membership (KIP-345)
* v6: flexible
* v7: protocol_type / protocol_name in the response
* v8: reason (logged)
* v9: skip_assignment, for a static leader rejoining a stable group (KIP-814)

The response waits until the rebalance completes; see groups/classic.py.

With an authorizer: READ on the group (GROUP_AUTHORIZATION_FAILED).
"""

from __future__ import annotations

import logging

from ..groups.classic import GroupError
from ..protocol.api_keys import ApiKey
from ..protocol.build import millis
from ..protocol.errors import ErrorCode
from ..security.acl import Op, Res
from .context import RequestContext
from .registry import handler

log = logging.getLogger("odradek.groups")


@handler(ApiKey.JOIN_GROUP, versions=(0, 9))
def handle_join_group(ctx: RequestContext, request):
    config = ctx.broker.groups.config
    session = millis(request.session_timeout)
    rebalance = millis(getattr(request, "rebalance_timeout", request.session_timeout))
    member_id = request.member_id
    if not request.group_id:
        return _error(ctx, ErrorCode.invalid_group_id, member_id)
    if not ctx.authorize(Op.READ, Res.GROUP, request.group_id):
        return _error(ctx, ErrorCode.group_authorization_failed, member_id)
    if not config.min_session_timeout_ms <= session <= config.max_session_timeout_ms:
        return _error(ctx, ErrorCode.invalid_session_timeout, member_id)
    try:
        group = ctx.broker.groups.classic_group(request.group_id, create=True)
    except GroupError as exc:
        return _error(ctx, exc.code, member_id)
    if getattr(request, "reason", None):
        log.info("member %s joins group %s: %s", member_id or "(new)", request.group_id,
                 request.reason)
    return _join(ctx, group, request, session, rebalance)


async def _join(ctx: RequestContext, group, request, session: int, rebalance: int):
    result = await group.join(
        member_id=request.member_id,
        group_instance_id=getattr(request, "group_instance_id", None),
        client_id=ctx.header.client_id or "", client_host=f"/{ctx.client_host}",
        session_timeout_ms=session, rebalance_timeout_ms=rebalance,
        protocol_type=request.protocol_type,
        protocols=[(p.name, bytes(p.metadata)) for p in request.protocols],
        require_known_member_id=ctx.version >= 4, supports_skip_assignment=ctx.version >= 9)
    return ctx.response(
        error_code=result.error_code, generation_id=result.generation_id,
        protocol_type=result.protocol_type, protocol_name=result.protocol_name,
        leader=result.leader, skip_assignment=result.skip_assignment,
        member_id=result.member_id,
        members=[{"member_id": m, "group_instance_id": i, "metadata": meta}
                 for m, i, meta in result.members])


def _error(ctx: RequestContext, code: ErrorCode, member_id: str):
    return ctx.response(error_code=code, generation_id=-1, protocol_type=None,
                        protocol_name=None if ctx.version >= 7 else "", leader="",
                        skip_assignment=False, member_id=member_id, members=[])
