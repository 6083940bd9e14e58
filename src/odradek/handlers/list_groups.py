"""ListGroups: v0-5

* v1: throttle_time
* v3: flexible
* v4: states_filter, group_state in the response
* v5: types_filter ("classic", "consumer"), group_type in the response

With an authorizer: every group with DESCRIBE on the cluster, else only the groups the
principal may DESCRIBE.
"""

from __future__ import annotations

from ..protocol.api_keys import ApiKey
from ..protocol.errors import ErrorCode
from ..security.acl import Op, Res
from .context import RequestContext
from .registry import handler


@handler(ApiKey.LIST_GROUPS, versions=(0, 5))
def handle_list_groups(ctx: RequestContext, request):
    states = {s.lower() for s in getattr(request, "states_filter", ()) or ()}
    types = {t.lower() for t in getattr(request, "types_filter", ()) or ()}
    listed = []
    everything = ctx.authorize(Op.DESCRIBE, Res.CLUSTER)  # else: the groups it may describe
    for group in ctx.broker.groups.list_groups():
        if not everything and not ctx.authorize(Op.DESCRIBE, Res.GROUP, group.group_id):
            continue
        state = group.state.value
        if states and state.lower() not in states:
            continue
        if types and group.group_type not in types:
            continue
        listed.append({"group_id": group.group_id, "protocol_type": group.protocol_type or "",
                       "group_state": state, "group_type": group.group_type})
    return ctx.response(error_code=ErrorCode.none, groups=listed)
