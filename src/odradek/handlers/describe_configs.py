"""DescribeConfigs: v1-4

* v1: include_synonyms; config_source replaces is_default
* v3: include_documentation; config_type
* v4: flexible

Topic (2) and broker (4) resources. Values, sources and synonyms follow Kafka's layering: topic
override > dynamic broker default > static broker config > default. Sensitive values are
never returned (null, as Kafka's PASSWORD configs). With an authorizer: DESCRIBE_CONFIGS on
the topic (TOPIC_AUTHORIZATION_FAILED) or on the cluster for the broker
(CLUSTER_AUTHORIZATION_FAILED).
"""

from __future__ import annotations

from ..broker.config_view import ConfigEntry
from ..broker.configs import ConfigType
from ..protocol.api_keys import ApiKey
from ..protocol.errors import ErrorCode, KafkaError
from ..security.acl import Op, Res
from .context import RequestContext
from .registry import handler

TOPIC, BROKER = 2, 4


@handler(ApiKey.DESCRIBE_CONFIGS, versions=(1, 4))
def handle_describe_configs(ctx: RequestContext, request):
    results = []
    synonyms = request.include_synonyms
    docs = getattr(request, "include_documentation", False)
    for res in request.resources:
        result = {"error_code": ErrorCode.none, "error_message": "",  # as Kafka
                  "resource_type": res.resource_type, "resource_name": res.resource_name,
                  "configs": []}
        try:
            check_config_access(ctx, Op.DESCRIBE_CONFIGS, res.resource_type, res.resource_name)
            entries = resource_entries(ctx, res.resource_type, res.resource_name)
            if res.configuration_keys is not None:
                keys = set(res.configuration_keys)
                entries = [e for e in entries if e.name in keys]
            result["configs"] = describe_entries(entries, synonyms, docs)
        except KafkaError as exc:
            result.update(error_code=exc.code, error_message=exc.message)
        results.append(result)
    return ctx.response(results=results)


def resource_entries(ctx: RequestContext, resource_type: int, name: str) -> list[ConfigEntry]:
    broker = ctx.broker
    if resource_type == TOPIC:
        topic = broker.topics.get(name)
        if topic is None:
            raise KafkaError(ErrorCode.unknown_topic_or_partition,
                             f"Topic '{name}' does not exist.")
        return broker.configs.topic_entries(topic.configs)
    if resource_type == BROKER:
        check_broker_name(ctx, name)
        return broker.configs.broker_entries()
    raise KafkaError(ErrorCode.invalid_request, f"Unsupported resource type {resource_type}")


def check_config_access(ctx: RequestContext, operation: int, resource_type: int,
                        name: str) -> None:
    """DESCRIBE_CONFIGS / ALTER_CONFIGS on the topic, or on the cluster for broker configs."""
    if resource_type == TOPIC and not ctx.authorize(operation, Res.TOPIC, name):
        raise KafkaError(ErrorCode.topic_authorization_failed, "Authorization failed.")
    if resource_type == BROKER and not ctx.authorize(operation, Res.CLUSTER):
        raise KafkaError(ErrorCode.cluster_authorization_failed, "Authorization failed.")


def check_broker_name(ctx: RequestContext, name: str) -> None:
    if name not in ("", str(ctx.broker.node_id)):
        raise KafkaError(ErrorCode.invalid_request, f"Unexpected broker id, expected "
                         f"{ctx.broker.node_id} or empty string, but received {name}")


def describe_entries(entries: list[ConfigEntry], synonyms: bool, docs: bool) -> list[dict]:
    out = []
    for e in entries:
        sensitive = e.definition.sensitive or e.definition.type == ConfigType.PASSWORD
        out.append({
            "name": e.name,
            "value": None if sensitive else e.value,
            "read_only": e.read_only,
            "config_source": e.source,
            "is_sensitive": sensitive,
            "synonyms": [{"name": n, "value": None if sensitive else v, "source": s}
                         for n, v, s in e.synonyms] if synonyms else [],
            "config_type": e.definition.type,
            "documentation": e.definition.doc if docs else None,
        })
    return out
