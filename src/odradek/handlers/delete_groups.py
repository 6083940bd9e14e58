"""DeleteGroups: v0-2

* v1: no broker change
* v2: flexible

Only empty groups can be deleted (NON_EMPTY_GROUP); their committed offsets go with them.
"""

from __future__ import annotations

from ..protocol.api_keys import ApiKey
from .context import RequestContext
from .registry import handler


@handler(ApiKey.DELETE_GROUPS, versions=(0, 2))
def handle_delete_groups(ctx: RequestContext, request):
    return ctx.response(results=[
        {"group_id": g, "error_code": ctx.broker.groups.delete_group(g)}
        for g in request.groups_names])
