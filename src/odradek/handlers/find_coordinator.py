"""FindCoordinator: v0-6

* v1: key_type (0 group, 1 transaction), throttle_time, error_message
* v3: flexible
* v4: several keys per request (coordinator_keys), one result each
* v5-6: no broker change (v6: share groups' key type 2)

This broker coordinates everything itself, so every key maps to it. (Transactions are not
supported: a transactional producer finds its coordinator here and is then refused by
InitProducerId.)
"""

from __future__ import annotations

from ..protocol.api_keys import ApiKey
from ..protocol.errors import ErrorCode
from .context import RequestContext
from .registry import handler


@handler(ApiKey.FIND_COORDINATOR, versions=(0, 6))
def handle_find_coordinator(ctx: RequestContext, request):
    broker = ctx.broker
    node = {"node_id": broker.node_id, "host": broker.advertised_host,
            "port": broker.advertised_port}
    if ctx.version >= 4:
        return ctx.response(coordinators=[
            {"key": key, **node, "error_code": ErrorCode.none, "error_message": None}
            for key in request.coordinator_keys])
    return ctx.response(error_code=ErrorCode.none, error_message=None, **node)
