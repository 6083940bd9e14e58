"""TLS for listeners: an `ssl.SSLContext` from Kafka's `ssl.*` broker configs.

Keystores are PEM (Kafka's `ssl.keystore.type=PEM`, the default here) or PKCS12
(`ssl.keystore.type=PKCS12`, keytool's format; see keystores.py — JKS is refused with the
command that converts it). The server certificate and key come from, in this order:

* `ssl.keystore.certificate.chain` + `ssl.keystore.key`: the PEM text itself (Kafka's names);
* `ssl.keystore.location`: one PEM file holding the private key and the certificate chain, or
  a PKCS12 keystore opened with `ssl.keystore.password`;
* `ssl.certificate.location` + `ssl.key.location`: two PEM files (librdkafka's names).

`ssl.key.password` decrypts an encrypted PEM key. Trusted CAs for client certificates:
`ssl.truststore.certificates` (PEM text), `ssl.truststore.location` (a PEM file, or a PKCS12
truststore with `ssl.truststore.type=PKCS12` and `ssl.truststore.password`) or
`ssl.ca.location` (a PEM file). `ssl.client.auth` = none | requested | required.
`ssl.enabled.protocols` (default TLSv1.2,TLSv1.3) and `ssl.cipher.suites` (OpenSSL names) as
in Kafka. Each may be given per listener: `listener.name.<listener>.ssl.client.auth=required`.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable

from .errors import SecurityConfigError
from .keystores import (
    KeystoreError,
    check_store_type,
    load_chain_text,
    load_keystore,
    load_truststore,
)

_PROTOCOLS = {"TLSv1.2": ssl.TLSVersion.TLSv1_2, "TLSv1.3": ssl.TLSVersion.TLSv1_3}
CLIENT_AUTH = {"none": ssl.CERT_NONE, "requested": ssl.CERT_OPTIONAL,
               "required": ssl.CERT_REQUIRED}


def server_context(get: Callable[[str], str | None], listener: str = "") -> ssl.SSLContext:
    """Build the server-side context; `get(name)` returns a config value (listener-prefixed
    ones already resolved) or None."""
    where = f" for listener {listener}" if listener else ""
    try:
        store_type = check_store_type("ssl.keystore.type", get("ssl.keystore.type"))
        trust_type = check_store_type("ssl.truststore.type", get("ssl.truststore.type"))
    except KeystoreError as exc:
        raise SecurityConfigError(f"{exc}{where}") from None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    password = get("ssl.key.password") or None
    try:
        chain, key = get("ssl.keystore.certificate.chain"), get("ssl.keystore.key")
        if chain and key:
            load_chain_text(context, chain, key, password)
        elif get("ssl.keystore.location"):
            load_keystore(context, store_type, get("ssl.keystore.location"),
                          get("ssl.keystore.password"), key_password=password)
        elif get("ssl.certificate.location") and get("ssl.key.location"):
            load_keystore(context, "PEM", get("ssl.certificate.location"),
                          key_file=get("ssl.key.location"), key_password=password)
        else:
            raise SecurityConfigError(
                f"TLS{where} needs a certificate and key: ssl.keystore.location (PEM with key "
                "and chain, or PKCS12), ssl.certificate.location + ssl.key.location, or "
                "ssl.keystore.certificate.chain + ssl.keystore.key")
    except (OSError, ssl.SSLError, KeystoreError) as exc:
        raise SecurityConfigError(f"cannot load the TLS certificate or key{where}: "
                                  f"{exc}") from None
    truststore = get("ssl.truststore.location") or get("ssl.ca.location")
    inline_cas = get("ssl.truststore.certificates")
    try:
        if truststore:
            load_truststore(context, trust_type, truststore, get("ssl.truststore.password"))
        if inline_cas:
            context.load_verify_locations(cadata=inline_cas)
    except (OSError, ssl.SSLError, KeystoreError) as exc:
        raise SecurityConfigError(f"cannot load the TLS truststore{where}: {exc}") from None
    client_auth = (get("ssl.client.auth") or "none").strip().lower()
    if client_auth not in CLIENT_AUTH:
        raise SecurityConfigError(f"ssl.client.auth={client_auth}{where}: expected none, "
                                  "requested or required")
    if client_auth != "none" and not (truststore or inline_cas):
        raise SecurityConfigError(f"ssl.client.auth={client_auth}{where} needs "
                                  "ssl.truststore.location (the CAs of client certificates)")
    context.verify_mode = CLIENT_AUTH[client_auth]
    protocols = [p.strip() for p in (get("ssl.enabled.protocols") or "TLSv1.2,TLSv1.3")
                 .split(",") if p.strip()]
    versions = [_PROTOCOLS[p] for p in protocols if p in _PROTOCOLS]
    if not versions:
        raise SecurityConfigError(f"ssl.enabled.protocols{where}: none of {protocols} is "
                                  "supported (TLSv1.2, TLSv1.3)")
    context.minimum_version = min(versions)
    context.maximum_version = max(versions)
    ciphers = get("ssl.cipher.suites")
    if ciphers:
        try:
            context.set_ciphers(":".join(c.strip() for c in ciphers.split(",")))
        except ssl.SSLError as exc:
            raise SecurityConfigError(f"ssl.cipher.suites{where}: {exc}") from None
    return context
