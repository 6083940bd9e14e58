"""SASL/OAUTHBEARER (RFC 7628, Kafka's KIP-255): a bearer token instead of a password.

The client's one message is a GS2 header, `auth=Bearer <token>` and optional extensions
(`n,a=<authzid>,^Aauth=Bearer <token>^A<key>=<value>^A^A`). The principal is a claim of the
token (`sub` by default). A token that does not validate is answered, as by Kafka's
OAuthBearerSaslServer, with a JSON challenge (`{"status":"invalid_token"}`); the client then
sends `^A` and authentication fails with that JSON as the message.

Two validators, chosen as in Kafka by the listener's
`oauthbearer.sasl.server.callback.handler.class`:

* unset: Kafka's default, OAuthBearerUnsecuredValidatorCallbackHandler (`UnsecuredValidator`):
  unsecured JWTs (`"alg":"none"`, no signature), for development and tests — anyone can claim
  any principal. Options from the listener's OAUTHBEARER JAAS config
  (`listener.name.<l>.oauthbearer.sasl.jaas.config`), under Kafka's names:
  unsecuredValidatorPrincipalClaimName (default `sub`), unsecuredValidatorScopeClaimName
  (`scope`), unsecuredValidatorRequiredScope (space-separated) and
  unsecuredValidatorAllowableClockSkewMs (0).
* OAuthBearerValidatorCallbackHandler (`JwksValidator`, jwks.py): signed JWTs checked against
  the keys an identity provider publishes.

Extensions are accepted and ignored.
"""

from __future__ import annotations

import base64
import json
import math
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import SaslAuthenticationError, SecurityConfigError
from .plain import parse_jaas_config

if TYPE_CHECKING:
    from .jwks import JwksValidator

_CONTROL_A = "\x01"
# RFC 7628 client initial response: gs2 header, then key=value pairs each ended by ^A, then ^A.
_INITIAL = re.compile(r"n,(?:a=(?P<authzid>[^,]*))?,\x01(?P<kvpairs>(?:[^\x01]*\x01)*)\x01",
                      re.DOTALL)
_BEARER = re.compile(r"[Bb][Ee][Aa][Rr][Ee][Rr] +(?P<token>[-_.a-zA-Z0-9+/=~]+)")
_EXTENSION_KEY = re.compile(r"[A-Za-z]+")


class InvalidToken(Exception):
    """A token that does not validate: its RFC 7628 error status (and the scope needed)."""

    def __init__(self, status: str, reason: str, scope: str | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.scope = scope


@dataclass(frozen=True)
class UnsecuredValidator:
    principal_claim: str = "sub"
    scope_claim: str = "scope"
    required_scope: tuple[str, ...] = ()
    clock_skew_ms: int = 0

    @classmethod
    def from_jaas(cls, jaas_config: str | None) -> UnsecuredValidator:
        options: dict[str, str] = {}
        for module in parse_jaas_config(jaas_config) if jaas_config else []:
            if module.login_module.rsplit(".", 1)[-1] == "OAuthBearerLoginModule":
                options.update(module.options)
        try:
            skew = int(options.get("unsecuredValidatorAllowableClockSkewMs", "0"))
        except ValueError:
            raise SecurityConfigError(
                "unsecuredValidatorAllowableClockSkewMs must be a number of ms") from None
        return cls(options.get("unsecuredValidatorPrincipalClaimName", "sub").strip() or "sub",
                   options.get("unsecuredValidatorScopeClaimName", "scope").strip() or "scope",
                   tuple(options.get("unsecuredValidatorRequiredScope", "").split()),
                   max(skew, 0))

    def validate(self, token: str) -> str:
        """The token's principal name, or InvalidToken."""
        parts = token.split(".")
        if len(parts) != 3:
            raise InvalidToken("invalid_token", "not a JWS compact serialization")
        header, claims = _json_part(parts[0], "header"), _json_part(parts[1], "claims")
        if header.get("alg") != "none" or parts[2]:
            raise InvalidToken("invalid_token", "not an unsecured JWS (alg must be \"none\", "
                                                "with no signature)")
        now_ms = time.time() * 1000
        exp = claims.get("exp")
        if not _is_time(exp):
            raise InvalidToken("invalid_token", "the exp claim is missing or not a number")
        if now_ms - self.clock_skew_ms >= exp * 1000:
            raise InvalidToken("invalid_token", "the token has expired")
        iat = claims.get("iat")
        if iat is not None and (not _is_time(iat) or iat * 1000 > now_ms + self.clock_skew_ms):
            raise InvalidToken("invalid_token", "the iat claim is not a time in the past")
        principal = claims.get(self.principal_claim)
        if not isinstance(principal, str) or not principal.strip():
            raise InvalidToken("invalid_token",
                               f"the {self.principal_claim} claim is missing or empty")
        if self.required_scope:
            # As Kafka's OAuthBearerUnsecuredJws: a string claim is one scope (not split on
            # spaces), a list claim is several.
            scope = claims.get(self.scope_claim)
            granted = ({scope.strip()} if isinstance(scope, str) and scope.strip()
                       else set(scope) if isinstance(scope, list) else set())
            if not set(self.required_scope) <= granted:
                # Kafka's wording: the required scope as a Java list, "[a, b]".
                raise InvalidToken("insufficient_scope", "the token lacks a required scope",
                                   f"[{', '.join(self.required_scope)}]")
        return principal


def unsecured_jwt(principal: str, scope: tuple[str, ...] = (), lifetime_s: int = 3600) -> str:
    """An unsecured JWT (`"alg":"none"`) for `principal`: what Kafka's and librdkafka's
    clients make for OAUTHBEARER without an identity provider, and the validator above takes."""
    now = time.time()
    claims: dict = {"sub": principal, "iat": now, "exp": now + lifetime_s}
    if scope:
        claims["scope"] = list(scope)
    return ".".join(base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()
                    for part in ({"alg": "none"}, claims)) + "."


def client_first_message(token: str) -> bytes:
    """RFC 7628's client initial response carrying `token` (no authorization id)."""
    return f"n,,{_CONTROL_A}auth=Bearer {token}{_CONTROL_A}{_CONTROL_A}".encode()


def _is_time(value: object) -> bool:
    """A NumericDate: a finite number (JSON as Python reads it also has NaN and Infinity)."""
    return (isinstance(value, int | float) and not isinstance(value, bool)
            and math.isfinite(value))


def _json_part(part: str, what: str) -> dict:
    try:
        value = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except (ValueError, UnicodeDecodeError):
        raise InvalidToken("invalid_token", f"the JWS {what} is not base64url JSON") from None
    if not isinstance(value, dict):
        raise InvalidToken("invalid_token", f"the JWS {what} is not a JSON object")
    return value


class OAuthBearerServer:
    """One OAUTHBEARER exchange on the broker's side."""

    def __init__(self, validator: UnsecuredValidator | JwksValidator) -> None:
        self.validator = validator
        self.username: str | None = None
        self.complete = False
        self._error: str | None = None  # the JSON challenge sent for an invalid token
        self._reason = ""  # why it was invalid, for the broker's log

    def evaluate(self, token: bytes) -> bytes:
        if self.complete:
            raise SaslAuthenticationError("Authentication failed: unexpected token")
        if token == b"\x01" and self._error is not None:
            # The client acknowledged our error challenge: now it fails, with that error.
            raise SaslAuthenticationError(self._error,
                                          f"invalid OAUTHBEARER token: {self._reason}")
        self._error = None
        try:
            text = bytes(token).decode("utf-8")
        except UnicodeDecodeError:
            raise SaslAuthenticationError("Invalid OAUTHBEARER client first message: "
                                          "not UTF-8") from None
        match = _INITIAL.fullmatch(text)
        if match is None:
            raise SaslAuthenticationError("Invalid OAUTHBEARER client first message")
        pairs = {}
        for item in match["kvpairs"].split(_CONTROL_A)[:-1]:
            key, sep, value = item.partition("=")
            if not sep or (key != "auth" and not _EXTENSION_KEY.fullmatch(key)):
                raise SaslAuthenticationError("Invalid OAUTHBEARER client first message: "
                                              f"bad key/value pair {key!r}")
            pairs[key] = value
        bearer = _BEARER.fullmatch(pairs.get("auth", ""))
        if bearer is None:
            raise SaslAuthenticationError("Invalid OAUTHBEARER client first message: no "
                                          "auth=Bearer <token>")
        try:
            principal = self.validator.validate(bearer["token"])
        except InvalidToken as exc:
            # Kafka's OAuthBearerSaslServer.jsonErrorResponse, byte for byte.
            self._error = f'{{"status":"{exc.status}"'
            if exc.scope:
                self._error += f', "scope":"{exc.scope}"'
            self._error += "}"
            self._reason = exc.reason
            return self._error.encode()
        authzid = match["authzid"] or ""
        if authzid and authzid != principal:
            raise SaslAuthenticationError(
                f"Authentication failed: Client requested an authorization id ({authzid}) "
                f"that is different from the token's principal name ({principal})")
        self.username = principal
        self.complete = True
        return b""
