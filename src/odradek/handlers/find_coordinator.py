"""FindCoordinator: v0-6

* v1: key_type (0 group, 1 transaction), throttle_time, error_message
* v3: flexible
* v4: several keys per request (coordinator_keys), one result each
* v5-6: no broker change (v6: share groups' key type 2)

This broker coordinates everything itself, so every key maps to it. (Transactions are not
supported: a transactional producer finds its coordinator here and is then refused by
InitProducerId.) With an authorizer: DESCRIBE on the group / transactional id.
"""

from __future__ import annotations

from ..protocol.api_keys import ApiKey
from ..protocol.errors import ErrorCode
from ..security.acl import Op, Res
from .context import RequestContext
from .registry import handler

_GROUP, _TRANSACTION = 0, 1


@handler(ApiKey.FIND_COORDINATOR, versions=(0, 6))
def handle_find_coordinator(ctx: RequestContext, request):
    host, port = ctx.endpoint  # the listener the request came in on
    node = {"node_id": ctx.broker.node_id, "host": host, "port": port}
    key_type = getattr(request, "key_type", _GROUP)
    if ctx.version >= 4:
        return ctx.response(coordinators=[
            {"key": key, **_answer(ctx, key_type, key, node)}
            for key in request.coordinator_keys])
    return ctx.response(**_answer(ctx, key_type, request.key, node))


def _answer(ctx: RequestContext, key_type: int, key: str, node: dict) -> dict:
    """DESCRIBE on the group (GROUP_AUTHORIZATION_FAILED) or on the transactional id
    (TRANSACTIONAL_ID_AUTHORIZATION_FAILED), as Kafka checks them."""
    if key_type == _TRANSACTION:
        allowed = ctx.authorize(Op.DESCRIBE, Res.TRANSACTIONAL_ID, key)
        denied = ErrorCode.transactional_id_authorization_failed
    else:
        allowed = ctx.authorize(Op.DESCRIBE, Res.GROUP, key)
        denied = ErrorCode.group_authorization_failed
    if not allowed:
        return {"node_id": -1, "host": "", "port": -1, "error_code": denied,
                "error_message": None}
    return {**node, "error_code": ErrorCode.none, "error_message": None}
