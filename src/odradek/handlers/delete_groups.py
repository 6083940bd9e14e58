"""DeleteGroups: v0-2

* v1: no broker change
* v2: flexible

Only empty groups can be deleted (NON_EMPTY_GROUP); their committed offsets go with them.

With an authorizer: DELETE on each group (GROUP_AUTHORIZATION_FAILED).
"""

from __future__ import annotations

from ..protocol.api_keys import ApiKey
from ..protocol.errors import ErrorCode
from ..security.acl import Op, Res
from .context import RequestContext
from .registry import handler


@handler(ApiKey.DELETE_GROUPS, versions=(0, 2))
def handle_delete_groups(ctx: RequestContext, request):
    return ctx.response(results=[
        {"group_id": g, "error_code": ctx.broker.groups.delete_group(g)
         if ctx.authorize(Op.DELETE, Res.GROUP, g) else ErrorCode.group_authorization_failed}
        for g in request.groups_names])
