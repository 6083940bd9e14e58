"""Errors the client raises."""

from __future__ import annotations

from ..protocol.errors import ErrorCode


class ClientError(Exception):
    """Anything that stops a client operation."""


class ConnectionClosed(ClientError):
    """The broker could not be reached, or the connection went away."""


class KafkaClientError(ClientError):
    """The broker answered with an error code."""

    def __init__(self, code: int, message: str | None = None) -> None:
        self.code = ErrorCode(code)
        self.message = message
        text = self.code.name.upper()
        super().__init__(f"{text}: {message}" if message else text)


def check(code: int, message: str | None = None, what: str = "") -> None:
    """Raise KafkaClientError unless `code` is NONE."""
    if code:
        raise KafkaClientError(code, message or what or None)
