"""A connection's security state: its listener, its principal, and SASL in progress.

On a SASL listener a connection starts unauthenticated. As in Kafka's
SaslServerAuthenticator it may send ApiVersions and SaslHandshake; after a SaslHandshake v1
only SaslAuthenticate requests, after a v0 handshake raw SASL tokens (size-prefixed, no Kafka
header); anything else closes the connection. When the exchange completes the principal is
`User:<name>`; when it fails the client gets SASL_AUTHENTICATION_FAILED and the connection is
closed at its next request. On other listeners the principal is fixed when the connection is
made: `User:<certificate DN>` for a TLS client certificate, else `User:ANONYMOUS`.
"""

from __future__ import annotations

import enum
import logging

from .errors import SaslAuthenticationError
from .listeners import Listener
from .oauthbearer import OAuthBearerServer
from .plain import PlainServer
from .principal import ANONYMOUS, KafkaPrincipal, user
from .scram import MECHANISMS, ScramServer

log = logging.getLogger("odradek.security")


class SaslState(enum.Enum):
    HANDSHAKE = "handshake"  # expecting ApiVersions or SaslHandshake
    AUTHENTICATE = "authenticate"  # expecting SaslAuthenticate (or raw tokens after v0)
    COMPLETE = "complete"
    FAILED = "failed"


class Session:
    __slots__ = ("listener", "principal", "state", "mechanism", "raw_tokens", "on_complete",
                 "_server", "_scram")

    def __init__(self, listener: Listener | None, principal: KafkaPrincipal = ANONYMOUS,
                 scram=None) -> None:
        self.listener = listener
        self.principal = principal
        self.state = (SaslState.HANDSHAKE if listener is not None and listener.sasl
                      else SaslState.COMPLETE)
        self.mechanism: str | None = None
        self.raw_tokens = False  # SaslHandshake v0: tokens follow without Kafka headers
        self.on_complete = None  # called when SASL authentication succeeds (the connection)
        self._server = None
        self._scram = scram  # ScramCredentials

    @property
    def authenticated(self) -> bool:
        return self.state is SaslState.COMPLETE

    @property
    def mechanisms(self) -> list[str]:
        return list(self.listener.sasl_mechanisms) if self.listener is not None else []

    def handshake(self, mechanism: str, version: int) -> bool:
        """SaslHandshake: True when the mechanism is enabled on this listener."""
        if mechanism not in self.mechanisms:
            self.state = SaslState.FAILED
            log.info("%s: client asked for SASL mechanism %r, enabled: %s",
                     self.listener.name, mechanism, ", ".join(self.mechanisms))
            return False
        self.mechanism = mechanism
        if mechanism == "PLAIN":
            self._server = PlainServer(self.listener.plain_users)
        elif mechanism == "OAUTHBEARER":
            self._server = OAuthBearerServer(self.listener.oauthbearer)
        else:
            scram_mechanism = MECHANISMS[mechanism]
            credentials = self._scram

            def lookup(name: str):
                return credentials.get(name, mechanism) if credentials is not None else None

            self._server = ScramServer(scram_mechanism, lookup)
        self.raw_tokens = version == 0
        self.state = SaslState.AUTHENTICATE
        return True

    def authenticate(self, token: bytes, peer: str = "?") -> bytes:
        """One SASL token from the client -> the server's token. Raises
        SaslAuthenticationError (and the session is FAILED) when authentication fails."""
        server = self._server
        try:
            response = server.evaluate(token)
        except SaslAuthenticationError as exc:
            self.state = SaslState.FAILED
            self._server = None
            log.info("failed authentication with %s on listener %s (%s): %s", peer,
                     self.listener.name, self.mechanism, exc.reason)
            raise
        if server.complete:
            self.principal = user(server.username)
            self.state = SaslState.COMPLETE
            self.raw_tokens = False
            self._server = None
            log.debug("%s authenticated as %s with %s", peer, self.principal, self.mechanism)
            if self.on_complete is not None:
                self.on_complete()
        return response
