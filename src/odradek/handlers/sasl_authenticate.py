"""SaslAuthenticate: v0-2

* v0: auth_bytes in and out, error_code / error_message
* v1: session_lifetime_ms (always 0: no re-authentication, as Kafka with the default
  `connections.max.reauth.ms=0`)
* v2: flexible

One step of the SASL exchange chosen by SaslHandshake v1 (PLAIN: one step, SCRAM: two,
OAUTHBEARER: one, or two when the token is refused: a JSON challenge, then the failure).
error_message is "" on success, as Kafka sends it.
A failed authentication is answered with SASL_AUTHENTICATION_FAILED and Kafka's generic
message after `connection.failed.authentication.delay.ms` (100 ms, slows down password
guessing); the connection is closed at its next request. The tokens (passwords, SCRAM proofs)
are never logged.
"""

from __future__ import annotations

import asyncio

from ..protocol.api_keys import ApiKey
from ..protocol.errors import ErrorCode
from ..security.errors import SaslAuthenticationError
from ..security.session import SaslState
from .context import RequestContext
from .registry import handler


@handler(ApiKey.SASL_AUTHENTICATE, versions=(0, 2))
def handle_sasl_authenticate(ctx: RequestContext, request):
    session = ctx.session
    if session is None or session.state is not SaslState.AUTHENTICATE:
        message = ("SaslAuthenticate request received after successful authentication"
                   if session is None or session.authenticated
                   else "Unexpected SaslAuthenticate request")
        return ctx.response(error_code=ErrorCode.illegal_sasl_state, error_message=message,
                            auth_bytes=b"", session_lifetime=0)
    try:
        token = session.authenticate(bytes(request.auth_bytes), ctx.client_host)
    except SaslAuthenticationError as exc:
        failed = ctx.response(error_code=ErrorCode.sasl_authentication_failed,
                              error_message=exc.message, auth_bytes=b"", session_lifetime=0)
        delay = ctx.broker.broker_int("connection.failed.authentication.delay.ms")
        return _delayed(failed, delay) if delay > 0 else failed
    return ctx.response(error_code=ErrorCode.none, error_message="", auth_bytes=token,
                        session_lifetime=0)


async def _delayed(response, delay_ms: int):
    await asyncio.sleep(delay_ms / 1000)
    return response
