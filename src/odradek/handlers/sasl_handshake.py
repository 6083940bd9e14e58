"""SaslHandshake: v0-1

* v0: the mechanism; SASL tokens then follow as raw size-prefixed frames (no Kafka header)
* v1: tokens follow in SaslAuthenticate requests (what librdkafka, the Java client and
  kafka-python use)

Only on SASL listeners (SASL_PLAINTEXT, SASL_SSL), before authentication. An unknown or
disabled mechanism gets UNSUPPORTED_SASL_MECHANISM with the listener's enabled mechanisms;
a handshake on a non-SASL listener or after authentication gets ILLEGAL_SASL_STATE, as in
Kafka (re-authentication, KIP-368, is not offered: session lifetimes are 0).
"""

from __future__ import annotations

from ..protocol.api_keys import ApiKey
from ..protocol.errors import ErrorCode
from ..security.session import SaslState
from .context import RequestContext
from .registry import handler


@handler(ApiKey.SASL_HANDSHAKE, versions=(0, 1))
def handle_sasl_handshake(ctx: RequestContext, request):
    session = ctx.session
    if session is None or session.state is not SaslState.HANDSHAKE:
        return ctx.response(error_code=ErrorCode.illegal_sasl_state, mechanisms=[])
    if not session.handshake(request.mechanism, ctx.version):
        return ctx.response(error_code=ErrorCode.unsupported_sasl_mechanism,
                            mechanisms=session.mechanisms)
    return ctx.response(error_code=ErrorCode.none, mechanisms=session.mechanisms)
