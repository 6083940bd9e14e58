"""AlterConfigs: v0-2 (deprecated by Kafka in favour of IncrementalAlterConfigs)

* v1: no broker change
* v2: flexible

Replaces the whole set of overrides of a topic (or of the broker's dynamic defaults) with the
given configs; validate_only checks without applying. With an authorizer: ALTER_CONFIGS on the
topic (TOPIC_AUTHORIZATION_FAILED) or on the cluster (CLUSTER_AUTHORIZATION_FAILED), also for
IncrementalAlterConfigs.
"""

from __future__ import annotations

from ..protocol.api_keys import ApiKey
from ..protocol.errors import ErrorCode, KafkaError
from ..security.acl import Op
from .context import RequestContext
from .describe_configs import BROKER, TOPIC, check_broker_name, check_config_access
from .registry import handler


@handler(ApiKey.ALTER_CONFIGS, versions=(0, 2))
def handle_alter_configs(ctx: RequestContext, request):
    results = []
    for res in request.resources:
        configs = {c.name: c.value for c in res.configs}
        results.append(apply_configs(ctx, res, lambda _old, c=configs: c,
                                     request.validate_only))
    return ctx.response(responses=results)


def apply_configs(ctx: RequestContext, res, change, validate_only: bool) -> dict:
    """Compute the new overrides with `change(old) -> new`, validate, and store them."""
    broker = ctx.broker
    result = {"error_code": ErrorCode.none, "error_message": None,
              "resource_type": res.resource_type, "resource_name": res.resource_name}
    try:
        check_config_access(ctx, Op.ALTER_CONFIGS, res.resource_type, res.resource_name)
        if res.resource_type == TOPIC:
            topic = broker.topics.get(res.resource_name)
            if topic is None:
                raise KafkaError(ErrorCode.unknown_topic_or_partition,
                                 f"The topic '{res.resource_name}' does not exist.")
            new = change(dict(topic.configs))
            broker.validate_topic_configs(new)
            if not validate_only:
                broker.set_topic_configs(topic, new)
        elif res.resource_type == BROKER:
            check_broker_name(ctx, res.resource_name)
            new = change(dict(broker.configs.dynamic))
            broker.validate_broker_configs(new)
            if not validate_only:
                broker.set_broker_configs(new)
        else:
            raise KafkaError(ErrorCode.invalid_request,
                             f"Unsupported resource type {res.resource_type}")
    except KafkaError as exc:
        result.update(error_code=exc.code, error_message=exc.message)
    return result
