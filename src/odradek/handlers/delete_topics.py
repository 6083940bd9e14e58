"""DeleteTopics: v1-6

* v1: throttle_time
* v4: flexible
* v5: error_message
* v6: topics by name or by topic id

Fails with TOPIC_DELETION_DISABLED when `delete.topic.enable` is false.

With an authorizer: DELETE on each topic, and DESCRIBE to name it by id
(TOPIC_AUTHORIZATION_FAILED).
"""

from __future__ import annotations

from ..protocol.api_keys import ApiKey
from ..protocol.errors import ErrorCode, KafkaError
from ..security.acl import Op, Res
from .context import RequestContext
from .registry import handler


@handler(ApiKey.DELETE_TOPICS, versions=(1, 6))
def handle_delete_topics(ctx: RequestContext, request):
    broker = ctx.broker
    if ctx.version >= 6:
        wanted = [(t.name, t.topic_id) for t in request.topics]
    else:
        wanted = [(name, None) for name in request.topic_names]
    results = []
    for name, topic_id in wanted:
        result = {"name": name, "topic_id": topic_id, "error_code": ErrorCode.none,
                  "error_message": None}
        try:
            if not name and topic_id is not None:
                topic = broker.topics_by_id.get(topic_id)
                if topic is None:
                    raise KafkaError(ErrorCode.unknown_topic_id, "This server does not host "
                                     "this topic ID.")
                if not ctx.authorize(Op.DESCRIBE, Res.TOPIC, topic.name):
                    raise KafkaError(ErrorCode.topic_authorization_failed)
                name = result["name"] = topic.name
            if not ctx.authorize(Op.DELETE, Res.TOPIC, name):
                raise KafkaError(ErrorCode.topic_authorization_failed)
            deleted = broker.delete_topic(name)
            result["topic_id"] = deleted.topic_id
        except KafkaError as exc:
            result.update(error_code=exc.code, error_message=exc.message)
        results.append(result)
    return ctx.response(responses=results)
