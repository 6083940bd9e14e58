"""DescribeAcls: v1-3

* v1: pattern_type_filter (LITERAL, PREFIXED, ANY, MATCH)
* v2: flexible
* v3: user resource type (no change here)

Needs DESCRIBE on the cluster (CLUSTER_AUTHORIZATION_FAILED). Without an authorizer
(`authorizer.class.name` unset) the answer is SECURITY_DISABLED, as in Kafka. A filter's
null / ANY fields match everything; pattern type MATCH returns the ACLs that apply to the named
resource (its literal ACLs, the `*` wildcard ones and every matching prefix).
"""

from __future__ import annotations

import enum

from ..protocol.api_keys import ApiKey
from ..protocol.errors import ErrorCode
from ..security.acl import (
    AclBinding,
    AclBindingFilter,
    AclError,
    AclOperation,
    AclPermissionType,
    PatternType,
    ResourceType,
)
from .context import RequestContext
from .registry import handler


def to_enum(cls: type[enum.IntEnum], value: int):
    """An ACL enum from the wire; values this broker does not know are UNKNOWN (0)."""
    try:
        return cls(value)
    except ValueError:
        return cls(0)


def request_filter(f) -> AclBindingFilter:
    """An AclBindingFilter from a DescribeAcls request or a DeleteAcls filter."""
    return AclBindingFilter(
        to_enum(ResourceType, f.resource_type_filter), f.resource_name_filter,
        to_enum(PatternType, getattr(f, "pattern_type_filter", PatternType.LITERAL)),
        f.principal_filter, f.host_filter, to_enum(AclOperation, f.operation),
        to_enum(AclPermissionType, f.permission_type))


def refusal(ctx: RequestContext, operation: AclOperation,
            disabled: str = "No Authorizer is configured.") -> tuple[ErrorCode, str] | None:
    """Kafka's first checks in the ACL APIs: `operation` on the cluster, then an authorizer
    to ask (SECURITY_DISABLED without one). None: go ahead."""
    if not ctx.authorize(operation, ResourceType.CLUSTER):
        return ErrorCode.cluster_authorization_failed, "Cluster authorization failed."
    if ctx.broker.authorizer is None:
        return ErrorCode.security_disabled, disabled
    return None


def binding_fields(b: AclBinding) -> dict:
    return {"resource_type": b.resource_type, "resource_name": b.resource_name,
            "pattern_type": b.pattern_type, "principal": b.principal, "host": b.host,
            "operation": b.operation, "permission_type": b.permission_type}


@handler(ApiKey.DESCRIBE_ACLS, versions=(1, 3))
def handle_describe_acls(ctx: RequestContext, request):
    def error(code: ErrorCode, message: str):
        return ctx.response(error_code=code, error_message=message, resources=[])

    refused = refusal(ctx, AclOperation.DESCRIBE, "No Authorizer is configured on the broker")
    if refused is not None:
        return error(*refused)
    authorizer = ctx.broker.authorizer
    flt = request_filter(request)
    try:
        flt.validate()
    except AclError as exc:
        return error(ErrorCode.invalid_request, str(exc))
    resources: dict[tuple, list] = {}
    for b in authorizer.acls(flt):
        resources.setdefault((b.resource_type, b.resource_name, b.pattern_type), []).append(
            {"principal": b.principal, "host": b.host, "operation": b.operation,
             "permission_type": b.permission_type})
    return ctx.response(error_code=ErrorCode.none, error_message=None, resources=[
        {"resource_type": rt, "resource_name": name, "pattern_type": pt, "acls": acls}
        for (rt, name, pt), acls in resources.items()])
