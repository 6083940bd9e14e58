"""DeleteAcls: v1-3

* v1: pattern_type_filter
* v2: flexible
* v3: user resource type (no change here)

Needs ALTER on the cluster (CLUSTER_AUTHORIZATION_FAILED); SECURITY_DISABLED without an
authorizer. Every filter deletes the ACLs it matches (same matching as DescribeAcls) and
returns them.
"""

from __future__ import annotations

import logging

from ..protocol.api_keys import ApiKey
from ..protocol.errors import ErrorCode
from ..security.acl import AclError, AclOperation
from .context import RequestContext
from .describe_acls import binding_fields, refusal, request_filter
from .registry import handler

log = logging.getLogger("odradek.security")


@handler(ApiKey.DELETE_ACLS, versions=(1, 3))
def handle_delete_acls(ctx: RequestContext, request):
    def all_failed(code: ErrorCode, message: str):
        return ctx.response(filter_results=[
            {"error_code": code, "error_message": message, "matching_acls": []}
            for _ in request.filters])

    refused = refusal(ctx, AclOperation.ALTER)
    if refused is not None:
        return all_failed(*refused)
    authorizer = ctx.broker.authorizer
    filters, results = [], []
    for f in request.filters:
        flt = request_filter(f)
        try:
            flt.validate()
        except AclError as exc:
            results.append({"error_code": ErrorCode.invalid_request,
                            "error_message": str(exc), "matching_acls": []})
            continue
        filters.append(flt)
        results.append(None)
    matched = iter(authorizer.delete_acls(filters))
    for i, result in enumerate(results):
        if result is None:
            deleted = next(matched)
            for b in deleted:
                log.info("%s deleted ACL %s", ctx.principal, b)
            results[i] = {"error_code": ErrorCode.none, "error_message": None,
                          "matching_acls": [{"error_code": ErrorCode.none, "error_message": None,
                                             **binding_fields(b)} for b in deleted]}
    return ctx.response(filter_results=results)
