"""ListGroups: v0-5

* v1: throttle_time
* v3: flexible
* v4: states_filter, group_state in the response
* v5: types_filter ("classic", "consumer"), group_type in the response
"""

from __future__ import annotations

from ..protocol.api_keys import ApiKey
from ..protocol.errors import ErrorCode
from .context import RequestContext
from .registry import handler


@handler(ApiKey.LIST_GROUPS, versions=(0, 5))
def handle_list_groups(ctx: RequestContext, request):
    states = {s.lower() for s in getattr(request, "states_filter", ()) or ()}
    types = {t.lower() for t in getattr(request, "types_filter", ()) or ()}
    listed = []
    for group in ctx.broker.groups.list_groups():
        state = group.state.value
        if states and state.lower() not in states:
            continue
        if types and group.group_type not in types:
            continue
        listed.append({"group_id": group.group_id, "protocol_type": group.protocol_type or "",
                       "group_state": state, "group_type": group.group_type})
    return ctx.response(error_code=ErrorCode.none, groups=listed)
