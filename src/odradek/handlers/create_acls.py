"""CreateAcls: v1-3

* v1: resource_pattern_type (LITERAL or PREFIXED)
* v2: flexible
* v3: user resource type (no change here)

Needs ALTER on the cluster (CLUSTER_AUTHORIZATION_FAILED); SECURITY_DISABLED without an
authorizer. Each binding is validated as Kafka does (INVALID_REQUEST: UNKNOWN/ANY types or
operations, a pattern type other than LITERAL/PREFIXED, an empty name, a CLUSTER resource not
named `kafka-cluster`, a principal without `Type:`); valid ones are stored in the metadata
store, an existing one is left as it is.
"""

from __future__ import annotations

import logging

from ..protocol.api_keys import ApiKey
from ..protocol.errors import ErrorCode
from ..security.acl import (
    AclBinding,
    AclError,
    AclOperation,
    AclPermissionType,
    PatternType,
    ResourceType,
)
from .context import RequestContext
from .describe_acls import refusal, to_enum
from .registry import handler

log = logging.getLogger("odradek.security")


@handler(ApiKey.CREATE_ACLS, versions=(1, 3))
def handle_create_acls(ctx: RequestContext, request):
    def all_failed(code: ErrorCode, message: str):
        return ctx.response(results=[{"error_code": code, "error_message": message}
                                     for _ in request.creations])

    refused = refusal(ctx, AclOperation.ALTER)
    if refused is not None:
        return all_failed(*refused)
    authorizer = ctx.broker.authorizer
    results, valid = [], []
    for c in request.creations:
        binding = AclBinding(
            to_enum(ResourceType, c.resource_type), c.resource_name,
            to_enum(PatternType, c.resource_pattern_type), c.principal, c.host,
            to_enum(AclOperation, c.operation), to_enum(AclPermissionType, c.permission_type))
        try:
            binding.validate()
        except AclError as exc:
            results.append({"error_code": ErrorCode.invalid_request,
                            "error_message": str(exc)})
            continue
        valid.append(binding)
        results.append({"error_code": ErrorCode.none, "error_message": None})
    authorizer.create_acls(valid)
    for b in valid:
        log.info("%s added ACL %s", ctx.principal, b)
    return ctx.response(results=results)
