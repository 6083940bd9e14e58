"""CreatePartitions: v0-3

* v1: no broker change
* v2: flexible
* v3: no broker change

Only growing is allowed (INVALID_PARTITIONS otherwise, as Kafka). Manual assignments must name
this broker only.

With an authorizer: ALTER on each topic (TOPIC_AUTHORIZATION_FAILED).
"""

from __future__ import annotations

from ..protocol.api_keys import ApiKey
from ..protocol.errors import ErrorCode, KafkaError
from ..security.acl import Op, Res
from .context import RequestContext
from .registry import handler


@handler(ApiKey.CREATE_PARTITIONS, versions=(0, 3))
def handle_create_partitions(ctx: RequestContext, request):
    broker = ctx.broker
    results = []
    seen = set()
    for t in request.topics:
        result = {"name": t.name, "error_code": ErrorCode.none, "error_message": None}
        try:
            if t.name in seen:
                raise KafkaError(ErrorCode.invalid_request, "Duplicate topic in request.")
            seen.add(t.name)
            if not ctx.authorize(Op.ALTER, Res.TOPIC, t.name):
                raise KafkaError(ErrorCode.topic_authorization_failed,
                                 "The topic authorization is failed.")
            for a in t.assignments or ():
                if list(a.broker_ids) != [broker.node_id]:
                    raise KafkaError(ErrorCode.invalid_replica_assignment,
                                     f"Unknown broker(s) in assignment {list(a.broker_ids)}")
            broker.create_partitions(t.name, t.count, request.validate_only)
        except KafkaError as exc:
            result.update(error_code=exc.code, error_message=exc.message)
        results.append(result)
    return ctx.response(results=results)
