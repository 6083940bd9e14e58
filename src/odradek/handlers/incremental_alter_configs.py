"""IncrementalAlterConfigs: v0-1

* v1: flexible

Operations per config: SET (0), DELETE (1), APPEND (2) and SUBTRACT (3), the last two for
list-typed configs such as cleanup.policy.
"""

from __future__ import annotations

from ..broker.configs import BROKER_CONFIGS, TOPIC_CONFIGS, ConfigType
from ..protocol.api_keys import ApiKey
from ..protocol.errors import ErrorCode, KafkaError
from .alter_configs import apply_configs
from .context import RequestContext
from .describe_configs import TOPIC
from .registry import handler

SET, DELETE, APPEND, SUBTRACT = 0, 1, 2, 3


@handler(ApiKey.INCREMENTAL_ALTER_CONFIGS, versions=(0, 1))
def handle_incremental_alter_configs(ctx: RequestContext, request):
    results = []
    for res in request.resources:
        defs = TOPIC_CONFIGS if res.resource_type == TOPIC else BROKER_CONFIGS

        def change(old: dict, ops=res.configs, defs=defs, res=res) -> dict:
            new = dict(old)
            for op in ops:
                definition = defs.get(op.name)
                if definition is None:
                    raise KafkaError(ErrorCode.invalid_config,
                                     f"Unknown topic config name: {op.name}"
                                     if res.resource_type == TOPIC
                                     else f"Unknown broker config name: {op.name}")
                if op.config_operation == SET:
                    new[op.name] = op.value
                elif op.config_operation == DELETE:
                    new.pop(op.name, None)
                elif op.config_operation in (APPEND, SUBTRACT):
                    if definition.type != ConfigType.LIST:
                        action = "APPEND" if op.config_operation == APPEND else "SUBTRACT"
                        raise KafkaError(ErrorCode.invalid_config,
                                         f"Can't {action} to key {op.name} because its type "
                                         "is not LIST.")
                    current = old.get(op.name)
                    if current is None:
                        current = ctx.broker.configs.topic_value(op.name, old) if (
                            res.resource_type == TOPIC) else ctx.broker.configs.broker_value(
                            op.name)
                    items = [i for i in (current or "").split(",") if i]
                    given = [i.strip() for i in (op.value or "").split(",") if i.strip()]
                    if op.config_operation == APPEND:
                        items += [i for i in given if i not in items]
                    else:
                        items = [i for i in items if i not in given]
                    new[op.name] = ",".join(items)
                else:
                    raise KafkaError(ErrorCode.invalid_request,
                                     f"Unknown config operation {op.config_operation}")
            return new

        results.append(apply_configs(ctx, res, change, request.validate_only))
    return ctx.response(responses=results)
