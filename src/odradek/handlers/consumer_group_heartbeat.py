"""ConsumerGroupHeartbeat: v0-1 (KIP-848, the "consumer" group protocol)

* v0: member epoch 0 joins (the broker picks the member id), -1 leaves, -2 leaves for a
  while (static members); fields left null mean "unchanged"
* v1: the client picks its member id (a UUID); subscribed_topic_regex

The broker computes the assignment (assignors "uniform" and "range"); see
groups/consumer_group.py for how members converge on it.

With an authorizer: READ on the group (GROUP_AUTHORIZATION_FAILED).
"""

from __future__ import annotations

from ..groups.consumer_group import ConsumerGroupError
from ..protocol.api_keys import ApiKey
from ..protocol.build import millis
from ..protocol.errors import ErrorCode
from ..security.acl import Op, Res
from .context import RequestContext
from .registry import handler


@handler(ApiKey.CONSUMER_GROUP_HEARTBEAT, versions=(0, 1))
def handle_consumer_group_heartbeat(ctx: RequestContext, request):
    broker = ctx.broker
    coordinator = broker.groups
    owned = None
    if request.topic_partitions is not None:
        owned = {}
        for tp in request.topic_partitions:
            topic = broker.topics_by_id.get(tp.topic_id)
            if topic is not None:
                owned.setdefault(topic.name, set()).update(tp.partitions)
    try:
        if not request.group_id:
            raise ConsumerGroupError(ErrorCode.invalid_request, "GroupId can't be empty.")
        if not ctx.authorize(Op.READ, Res.GROUP, request.group_id):
            raise ConsumerGroupError(ErrorCode.group_authorization_failed)
        group = coordinator.consumer_group(request.group_id, create=request.member_epoch == 0)
        if group is None:
            raise ConsumerGroupError(ErrorCode.unknown_member_id)
        member_id, epoch, assignment = group.heartbeat(
            member_id=request.member_id, member_epoch=request.member_epoch,
            instance_id=request.instance_id, rack_id=request.rack_id,
            rebalance_timeout_ms=millis(request.rebalance_timeout),
            subscribed_topic_names=(list(request.subscribed_topic_names)
                                    if request.subscribed_topic_names is not None else None),
            subscribed_topic_regex=getattr(request, "subscribed_topic_regex", None),
            server_assignor=request.server_assignor, owned=owned,
            client_id=ctx.header.client_id or "", client_host=f"/{ctx.client_host}")
    except ConsumerGroupError as exc:
        return ctx.response(error_code=exc.code, error_message=exc.message,
                            member_id=request.member_id or None, member_epoch=-1,
                            heartbeat_interval=0, assignment=None)
    payload = None
    if assignment is not None:
        payload = {"topic_partitions": [
            {"topic_id": broker.topics[t].topic_id, "partitions": sorted(ps)}
            for t, ps in sorted(assignment.items()) if t in broker.topics]}
    return ctx.response(error_code=ErrorCode.none, error_message=None, member_id=member_id,
                        member_epoch=epoch,
                        heartbeat_interval=coordinator.config.consumer_heartbeat_interval_ms,
                        assignment=payload)
