"""DescribeCluster: v0-2

* v1: endpoint_type (brokers only; controllers are not exposed)
* v2: include_fenced_brokers, is_fenced

The broker's address is the one advertised for the listener the request came in on. Cluster
authorized operations come from the authorizer (0 without DESCRIBE on the cluster), as Kafka.
"""

from __future__ import annotations

from ..protocol.api_keys import ApiKey
from ..protocol.errors import ErrorCode
from ..security.acl import Op, Res
from .context import RequestContext
from .metadata import _CLUSTER_OPS, _NOT_REQUESTED
from .registry import handler

_BROKERS_ENDPOINT = 1


@handler(ApiKey.DESCRIBE_CLUSTER, versions=(0, 2))
def handle_describe_cluster(ctx: RequestContext, request):
    broker = ctx.broker
    if getattr(request, "endpoint_type", _BROKERS_ENDPOINT) != _BROKERS_ENDPOINT:
        return ctx.response(error_code=ErrorCode.unsupported_endpoint_type,
                            error_message="The endpoint type is not supported.",
                            endpoint_type=request.endpoint_type, cluster_id=broker.cluster_id,
                            controller_id=-1, brokers=[],
                            cluster_authorized_operations=_NOT_REQUESTED)
    ops = _NOT_REQUESTED
    if request.include_cluster_authorized_operations:
        ops = (_CLUSTER_OPS if broker.authorizer is None
               else ctx.authorized_operations(Res.CLUSTER)
               if ctx.authorize(Op.DESCRIBE, Res.CLUSTER) else 0)
    host, port = ctx.endpoint  # the listener the request came in on
    return ctx.response(
        error_code=ErrorCode.none, error_message=None, endpoint_type=_BROKERS_ENDPOINT,
        cluster_id=broker.cluster_id, controller_id=broker.node_id,
        brokers=[{"broker_id": broker.node_id, "host": host,
                  "port": port, "rack": None, "is_fenced": False}],
        cluster_authorized_operations=ops)
