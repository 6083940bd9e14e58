"""Security: TLS listeners, SASL (PLAIN, SCRAM-SHA-256/512, OAUTHBEARER), principals and ACLs.

* `listeners.py` - `listeners` / `advertised.listeners` / `listener.security.protocol.map`
* `tls.py` - the SSLContext of a TLS listener (PEM files or PEM text; `keystores.py`: PKCS12)
* `session.py` - a connection's principal and SASL exchange
* `plain.py`, `scram.py`, `oauthbearer.py` - the SASL mechanisms (and JAAS config parsing);
  `jwks.py` - OAUTHBEARER tokens signed by an identity provider
* `acl.py` - ACL bindings and the authorizer (Kafka's StandardAuthorizer semantics)
* `principal.py` - `User:alice`, `User:CN=...` from client certificates

Nothing here does I/O besides reading certificate files; the broker keeps the authorizer and
SCRAM credentials (persisted through the metadata store), the server keeps the sessions.
"""

from __future__ import annotations

from collections.abc import Callable

from .acl import AclAuthorizer, parse_super_users


def authorizer_from_config(value: Callable[[str], str | None], store=None) -> AclAuthorizer | None:
    """The ACL authorizer when `authorizer.class.name` is set (to any value: Kafka's
    `org.apache.kafka.metadata.authorizer.StandardAuthorizer` is the usual one), else None:
    every request is then allowed, as in Kafka without an authorizer."""
    if not (value("authorizer.class.name") or "").strip():
        return None
    acls = store.acls() if store is not None else ()
    return AclAuthorizer(parse_super_users(value("super.users")),
                         (value("allow.everyone.if.no.acl.found") or "false").lower() == "true",
                         acls, store)
