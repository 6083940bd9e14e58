"""DescribeUserScramCredentials: v0

* v0: users (null or empty: every user with a credential) -> their mechanisms and iterations

Needs DESCRIBE on the cluster (CLUSTER_AUTHORIZATION_FAILED). Salts and keys are never
returned. A user without credentials gets RESOURCE_NOT_FOUND, a user named twice
DUPLICATE_RESOURCE, with Kafka's messages.
"""

from __future__ import annotations

from collections import Counter

from ..protocol.api_keys import ApiKey
from ..protocol.errors import ErrorCode
from ..security.acl import AclOperation, ResourceType
from ..security.scram import MECHANISMS
from .context import RequestContext
from .registry import handler


@handler(ApiKey.DESCRIBE_USER_SCRAM_CREDENTIALS, versions=(0, 0))
def handle_describe_user_scram_credentials(ctx: RequestContext, request):
    names = [u.name for u in request.users or ()]
    if not ctx.authorize(AclOperation.DESCRIBE, ResourceType.CLUSTER):
        message = "Cluster authorization failed."
        return ctx.response(
            error_code=ErrorCode.cluster_authorization_failed, error_message=message,
            results=[{"user": n, "error_code": ErrorCode.cluster_authorization_failed,
                      "error_message": message, "credential_infos": []} for n in names])
    users = ctx.broker.scram.users()
    counts = Counter(names)
    results = []
    for name in dict.fromkeys(names or users):
        result = {"user": name, "error_code": ErrorCode.none, "error_message": None,
                  "credential_infos": []}
        if counts[name] > 1:
            result.update(error_code=ErrorCode.duplicate_resource, error_message="Cannot "
                          "describe SCRAM credentials for the same user twice in a single "
                          f"request: {name}")
        elif name not in users:
            result.update(error_code=ErrorCode.resource_not_found, error_message="Attempt to "
                          f"describe a user credential that does not exist: {name}")
        else:
            result["credential_infos"] = [
                {"mechanism": MECHANISMS[mech].type_id, "iterations": cred.iterations}
                for mech, cred in users[name].items()]
        results.append(result)
    return ctx.response(error_code=ErrorCode.none, error_message=None, results=results)
