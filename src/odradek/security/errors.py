"""Errors of the security layer."""

from __future__ import annotations


class SaslAuthenticationError(Exception):
    """Authentication failed. `message` is what the client is told (Kafka's wording, nothing
    about which part was wrong); `reason` is for the broker's log and holds no secret."""

    def __init__(self, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason or message


class SecurityConfigError(ValueError):
    """A security setting (listeners, TLS files, JAAS) that cannot be used."""
