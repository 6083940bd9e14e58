"""From a request frame to response parts: header, version check, decode, handler, encode."""

from __future__ import annotations

import logging
import struct
from typing import Any

from ..protocol import codec
from ..protocol.api_keys import ApiKey
from ..protocol.headers import RequestHeader, decode_request_header
from ..security.errors import SaslAuthenticationError
from ..security.session import SaslState, Session
from .context import RequestContext
from .registry import HANDLERS

log = logging.getLogger("odradek.handlers")
_SIZE = struct.Struct(">i")


class CloseConnection(Exception):
    """The request cannot be answered; Kafka closes the connection in these cases."""


def dispatch(ctx_args: tuple, frame: bytearray) -> tuple[RequestHeader, Any]:
    """Run the handler for one request frame (without its size prefix). `ctx_args` is
    (broker core, client host, client port, security session or None): see
    KafkaServer.context_args. On a SASL listener, before authentication, only the SASL
    exchange is served; after SaslHandshake v0 the frames are raw SASL tokens.

    Returns the header and the handler's result: a kio response object, encoded body bytes,
    a list of body parts (bytes and file slices), None for no response (acks=0), or an
    awaitable of one of those. Raises CloseConnection when Kafka would close the connection.
    """
    session = ctx_args[3] if len(ctx_args) > 3 else None
    if session is not None and session.raw_tokens:
        return _raw_sasl_token(ctx_args, session, frame)
    view = memoryview(frame)
    try:
        header, body_pos = decode_request_header(view)
    except codec.DecodeError as exc:
        raise CloseConnection(f"unreadable request header: {exc}") from None
    spec = HANDLERS.get(header.api_key)
    if spec is None:
        raise CloseConnection(f"unknown api key {header.api_key}")
    if session is not None and not session.authenticated:
        _check_unauthenticated(session, header.api_key)
    ctx = RequestContext(ctx_args[0], header, ctx_args[1], ctx_args[2], session)
    version = header.api_version
    if not spec.min_version <= version <= spec.max_version:
        if header.api_key == ApiKey.API_VERSIONS:
            # The client learns our range from a v0-format answer and retries (KIP-511).
            return header, spec.func(ctx, None)
        raise CloseConnection(
            f"unsupported version {version} of {ApiKey(header.api_key).name} "
            f"(serving {spec.min_version}-{spec.max_version})")
    body = view[body_pos:]
    if spec.raw:
        request = body
    else:
        try:
            # kio's native reader insists on a read-only buffer.
            request = codec.decode_request(header.api_key, version, body.toreadonly())
        except codec.DecodeError as exc:
            raise CloseConnection(str(exc)) from None
    return header, spec.func(ctx, request)


# ---------------------------------------------------------------------- SASL listeners


def _check_unauthenticated(session: Session, api_key: int) -> None:
    """Before authentication completes only the SASL exchange is served (Kafka's
    SaslServerAuthenticator); anything else closes the connection."""
    if session.state is SaslState.HANDSHAKE:
        if api_key in (ApiKey.API_VERSIONS, ApiKey.SASL_HANDSHAKE):
            return
        what = "SASL handshake"
    elif session.state is SaslState.AUTHENTICATE:
        if api_key == ApiKey.SASL_AUTHENTICATE:
            return
        what = "SASL authentication"
    else:
        raise CloseConnection("authentication failed")
    name = ApiKey(api_key).name if api_key in ApiKey._value2member_map_ else str(api_key)
    raise CloseConnection(f"unexpected Kafka request of type {name} during {what}")


class _RawTokenHeader:
    """Stands for the header of a raw SASL token (after SaslHandshake v0): the response is
    the server's token with only its size in front."""

    api_key = ApiKey.SASL_AUTHENTICATE
    api_version = 0
    correlation_id = -1
    client_id = None

    def response_header(self) -> bytes:
        return b""


def _raw_sasl_token(ctx_args: tuple, session: Session, frame: bytearray):
    try:
        return _RawTokenHeader(), session.authenticate(bytes(frame), ctx_args[1])
    except SaslAuthenticationError:
        # Without Kafka headers there is no way to send an error: close (as Kafka does).
        raise CloseConnection("SASL authentication failed") from None


def frame_response(header: RequestHeader, body: Any) -> list:
    """Size prefix + response header + body, as a list of parts for the writer."""
    head = header.response_header()
    if isinstance(body, bytes | bytearray):  # most responses: one piece
        return [_SIZE.pack(len(head) + len(body)) + head + body]
    parts = body if isinstance(body, list) else [codec.encode(body)]
    size = len(head) + sum([len(p) for p in parts])
    first = parts[0]
    if isinstance(first, bytes | bytearray):
        return [_SIZE.pack(size) + head + first, *parts[1:]]
    return [_SIZE.pack(size) + head, *parts]
