"""AlterUserScramCredentials: v0

* v0: deletions (user, mechanism) and upsertions (user, mechanism, iterations, salt,
  salted_password)

Needs ALTER on the cluster (CLUSTER_AUTHORIZATION_FAILED). The client sends the salted
password, never the password; the broker keeps only the salt, the iterations, StoredKey and
ServerKey (RFC 5802), in the metadata store. Errors as Kafka's controller gives them:
UNSUPPORTED_SASL_MECHANISM (unknown mechanism), UNACCEPTABLE_CREDENTIAL (empty user name,
fewer than 4096 or more than 16384 iterations), RESOURCE_NOT_FOUND (deleting a credential that
does not exist), DUPLICATE_RESOURCE (one user altered twice in a request).
"""

from __future__ import annotations

import logging

from ..protocol.api_keys import ApiKey
from ..protocol.errors import ErrorCode, KafkaError
from ..security.acl import AclOperation, ResourceType
from ..security.scram import (
    MAX_ITERATIONS,
    MECHANISMS_BY_TYPE,
    ScramMechanism,
    credential_from_salted_password,
)
from .context import RequestContext
from .registry import handler

log = logging.getLogger("odradek.security")


@handler(ApiKey.ALTER_USER_SCRAM_CREDENTIALS, versions=(0, 0))
def handle_alter_user_scram_credentials(ctx: RequestContext, request):
    if not ctx.authorize(AclOperation.ALTER, ResourceType.CLUSTER):
        names = dict.fromkeys([d.name for d in request.deletions]
                              + [u.name for u in request.upsertions])
        return ctx.response(results=[
            {"user": n, "error_code": ErrorCode.cluster_authorization_failed,
             "error_message": "Cluster authorization failed."} for n in names])
    scram = ctx.broker.scram
    deletions, upsertions, errors = {}, {}, {}
    for d in request.deletions:
        if d.name in errors:
            continue
        if deletions.pop(d.name, None) is not None:
            errors[d.name] = _duplicate()
            continue
        try:
            mechanism = _mechanism(d.name, d.mechanism)
            if scram.get(d.name, mechanism.name) is None:
                raise KafkaError(ErrorCode.resource_not_found,
                                 "Attempt to delete a user credential that does not exist")
            deletions[d.name] = mechanism
        except KafkaError as exc:
            errors[d.name] = exc
    for u in request.upsertions:
        if u.name in errors:
            continue
        if deletions.pop(u.name, None) is not None or upsertions.pop(u.name, None) is not None:
            errors[u.name] = _duplicate()
            continue
        try:
            mechanism = _mechanism(u.name, u.mechanism)
            if u.iterations < mechanism.min_iterations:
                raise KafkaError(ErrorCode.unacceptable_credential, "Too few iterations")
            if u.iterations > MAX_ITERATIONS:
                raise KafkaError(ErrorCode.unacceptable_credential, "Too many iterations")
            upsertions[u.name] = (mechanism, u)
        except KafkaError as exc:
            errors[u.name] = exc
    results = []
    for name, mechanism in deletions.items():
        scram.delete(name, mechanism.name)
        log.info("%s deleted the %s credential of user %s", ctx.principal, mechanism.name, name)
        results.append({"user": name, "error_code": ErrorCode.none, "error_message": None})
    for name, (mechanism, u) in upsertions.items():
        salt = bytes(u.salt)
        scram.set(name, mechanism.name, credential_from_salted_password(
            mechanism, bytes(u.salted_password), salt, u.iterations))
        log.info("%s set the %s credential of user %s", ctx.principal, mechanism.name, name)
        results.append({"user": name, "error_code": ErrorCode.none, "error_message": None})
    for name, exc in errors.items():
        results.append({"user": name, "error_code": exc.code, "error_message": exc.message})
    return ctx.response(results=results)


def _mechanism(user: str, type_id: int) -> ScramMechanism:
    if not user:
        raise KafkaError(ErrorCode.unacceptable_credential, "Username must not be empty")
    mechanism = MECHANISMS_BY_TYPE.get(type_id)
    if mechanism is None:
        raise KafkaError(ErrorCode.unsupported_sasl_mechanism, "Unknown SCRAM mechanism")
    return mechanism


def _duplicate() -> KafkaError:
    return KafkaError(ErrorCode.duplicate_resource,
                      "A user credential cannot be altered twice in the same request")
