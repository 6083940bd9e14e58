"""SASL/PLAIN (RFC 4616) and the JAAS config strings Kafka reads its PLAIN users from.

The broker's users come from the listener's JAAS config, as in Kafka:

    listener.name.sasl_plaintext.plain.sasl.jaas.config=\
      org.apache.kafka.common.security.plain.PlainLoginModule required \
      user_alice="alice-secret" user_admin="admin-secret";

(`user_<name>="<password>"`; `username` / `password` there are the broker's own client
credentials in Kafka, unused by a single broker). PLAIN sends the password itself: use it over
TLS (SASL_SSL) outside a trusted network.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field

from .errors import SaslAuthenticationError, SecurityConfigError


@dataclass
class JaasModule:
    login_module: str
    flag: str
    options: dict[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:  # options hold passwords
        return f"JaasModule({self.login_module!r}, {self.flag!r}, options=[hidden])"


_FLAGS = ("required", "requisite", "sufficient", "optional")


def _tokens(text: str):
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch in ";=":
            yield ch
            i += 1
        elif ch == '"':
            out = []
            i += 1
            while i < n and text[i] != '"':
                if text[i] == "\\" and i + 1 < n:
                    i += 1
                out.append(text[i])
                i += 1
            if i >= n:
                raise SecurityConfigError("JAAS config: unterminated quoted value")
            i += 1
            yield ("str", "".join(out))
        else:
            start = i
            while i < n and not text[i].isspace() and text[i] not in ';="':
                i += 1
            yield ("word", text[start:i])


def parse_jaas_config(text: str) -> list[JaasModule]:
    """`LoginModule flag key="value" ...;` (one or more modules), as Kafka's JaasConfig."""
    modules: list[JaasModule] = []
    tokens = list(_tokens(text))
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if not isinstance(tok, tuple) or tok[0] != "word":
            raise SecurityConfigError("JAAS config: expected a login module name")
        name = tok[1]
        flag = tokens[i + 1] if i + 1 < len(tokens) else None
        if not isinstance(flag, tuple) or flag[1].lower() not in _FLAGS:
            raise SecurityConfigError(f"JAAS config: expected a control flag after {name}")
        module = JaasModule(name, flag[1].lower())
        i += 2
        while i < len(tokens) and tokens[i] != ";":
            key = tokens[i]
            if (not isinstance(key, tuple) or i + 2 >= len(tokens)
                    or tokens[i + 1] != "=" or not isinstance(tokens[i + 2], tuple)):
                raise SecurityConfigError("JAAS config: expected key=value options")
            module.options[key[1]] = tokens[i + 2][1]
            i += 3
        if i >= len(tokens):
            raise SecurityConfigError("JAAS config: missing ';' at the end of a module")
        i += 1
        modules.append(module)
    if not modules:
        raise SecurityConfigError("JAAS config: no login module")
    return modules


def plain_users(jaas_config: str | None) -> dict[str, str]:
    """`user_<name>` options of the PlainLoginModule(s) in a JAAS config string."""
    if not jaas_config:
        return {}
    users = {}
    for module in parse_jaas_config(jaas_config):
        if module.login_module.rsplit(".", 1)[-1] != "PlainLoginModule":
            continue
        for key, value in module.options.items():
            if key.startswith("user_") and len(key) > 5:
                users[key[5:]] = value
    return users


class PlainServer:
    """One SASL/PLAIN exchange: a single client token `authzid NUL authcid NUL passwd`."""

    def __init__(self, users: dict[str, str]) -> None:
        self.users = users
        self.username: str | None = None
        self.complete = False

    def evaluate(self, token: bytes) -> bytes:
        if self.complete:
            raise SaslAuthenticationError("Authentication failed: unexpected token")
        try:
            parts = bytes(token).decode("utf-8").split("\x00")
        except UnicodeDecodeError:
            raise SaslAuthenticationError("Invalid SASL/PLAIN response: not UTF-8") from None
        if len(parts) != 3:
            raise SaslAuthenticationError(
                f"Invalid SASL/PLAIN response: expected 3 tokens, got {len(parts)}")
        authzid, username, password = parts
        if not username:
            raise SaslAuthenticationError("Authentication failed: username not specified")
        if not password:
            raise SaslAuthenticationError("Authentication failed: password not specified")
        expected = self.users.get(username)
        # Compare even for unknown users, so that timing does not tell which users exist.
        ok = hmac.compare_digest((expected or "\x00unknown").encode(), password.encode())
        if expected is None or not ok:
            raise SaslAuthenticationError("Authentication failed: Invalid username or password",
                                          f"invalid PLAIN credentials for user {username!r}")
        if authzid and authzid != username:
            raise SaslAuthenticationError("Authentication failed: Client requested an "
                                          "authorization id that is different from username")
        self.username = username
        self.complete = True
        return b""
