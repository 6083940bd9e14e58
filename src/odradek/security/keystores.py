"""Java keystores for TLS: PKCS12 files turned into the PEM text that `ssl` loads.

Kafka names a keystore by `ssl.keystore.type` (PEM, PKCS12 or JKS). keytool has written
PKCS12 by default since Java 9; it is read here with `cryptography` (an optional dependency:
`pip install 'odradek[keystores]'`). JKS is a format only Java reads: it is refused with the
keytool command that converts it. Used by the broker's listeners (security/tls.py) and by the
CLI's client side (client/security.py).
"""

from __future__ import annotations

import os
import ssl
import tempfile

STORE_TYPES = ("PEM", "PKCS12")


class KeystoreError(ValueError):
    """A keystore or truststore that cannot be used; the message says which and why."""


def check_store_type(name: str, value: str | None) -> str:
    """The store type named by config `name` (PEM when unset), or KeystoreError."""
    store_type = (value or "PEM").strip().upper()
    if store_type == "JKS":
        raise KeystoreError(
            f"{name}=JKS: JKS stores are not supported; convert one to PKCS12 with `keytool "
            "-importkeystore -srckeystore store.jks -destkeystore store.p12 -deststoretype "
            f"PKCS12` and set {name}=PKCS12")
    if store_type not in STORE_TYPES:
        raise KeystoreError(f"{name}={store_type}: expected one of {', '.join(STORE_TYPES)}")
    return store_type


def not_pem_hint(path: str, kind: str) -> str:
    """When a PEM load failed: a hint if `path` is not PEM at all (Kafka's default store type
    is JKS, so a Kafka config may point a PEM setting at a binary keystore), else ""."""
    try:
        with open(path, "rb") as f:
            head = f.read(64 * 1024)
    except OSError:
        return ""
    if b"-----BEGIN" in head:
        return ""
    return (f" ({path} is not PEM: for a PKCS12 file set ssl.{kind}.type=PKCS12; a JKS file "
            "must be converted to PKCS12 first)")


def _load_pkcs12(path: str, password: str | None, what: str):
    try:
        from cryptography.hazmat.primitives.serialization import pkcs12
    except ImportError:
        raise KeystoreError(f"reading the PKCS12 {what} {path} needs the cryptography package: "
                            "pip install 'odradek[keystores]'") from None
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise KeystoreError(f"cannot read the {what} {path}: {exc.strerror}") from None
    try:
        return pkcs12.load_pkcs12(data, password.encode() if password else None)
    except ValueError:
        hint = "" if password else f" (no password given: set ssl.{what}.password)"
        raise KeystoreError(f"cannot open the PKCS12 {what} {path}: wrong password or not a "
                            f"PKCS12 file{hint}") from None


def _pem(cert) -> str:
    from cryptography.hazmat.primitives.serialization import Encoding

    return cert.public_bytes(Encoding.PEM).decode()


def keystore_pem(path: str, password: str | None) -> tuple[str, str]:
    """(certificate chain, private key) of a PKCS12 keystore, as PEM text; the key comes out
    unencrypted, so it must only go to `load_chain_text`."""
    from_store = _load_pkcs12(path, password, "keystore")
    if from_store.key is None or from_store.cert is None:
        raise KeystoreError(f"the PKCS12 keystore {path} holds no private key with its "
                            "certificate")
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        NoEncryption,
        PrivateFormat,
    )

    key = from_store.key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    chain = [from_store.cert.certificate, *(c.certificate for c in from_store.additional_certs)]
    return "".join(_pem(c) for c in chain), key.decode()


def truststore_pem(path: str, password: str | None) -> str:
    """Every certificate of a PKCS12 truststore (keytool's trusted-certificate entries), as
    PEM text for `SSLContext.load_verify_locations(cadata=...)`."""
    from_store = _load_pkcs12(path, password, "truststore")
    certs = [c.certificate for c in from_store.additional_certs]
    if from_store.cert is not None:
        certs.insert(0, from_store.cert.certificate)
    if not certs:
        raise KeystoreError(f"the PKCS12 truststore {path} holds no certificate")
    return "".join(_pem(c) for c in certs)


def load_keystore(context: ssl.SSLContext, store_type: str, location: str,
                  password: str | None = None, key_file: str | None = None,
                  key_password: str | None = None) -> None:
    """Load the certificate chain and private key at `location` into `context`: a PKCS12
    keystore opened with `password`, or PEM (the key in `location` itself or in `key_file`,
    decrypted with `key_password`). KeystoreError saying what is wrong with which file."""
    if store_type == "PKCS12":
        chain, key = keystore_pem(location, password)
        load_chain_text(context, chain, key, None)
        return
    try:
        context.load_cert_chain(location, key_file, key_password)
    except (OSError, ssl.SSLError) as exc:
        raise KeystoreError(f"{exc}{not_pem_hint(location, 'keystore')}") from None


def load_truststore(context: ssl.SSLContext, store_type: str, location: str,
                    password: str | None = None) -> None:
    """Trust the certificates at `location`: a PKCS12 truststore opened with `password`, or a
    PEM file. KeystoreError saying what is wrong with the file."""
    if store_type == "PKCS12":
        context.load_verify_locations(cadata=truststore_pem(location, password))
        return
    try:
        context.load_verify_locations(cafile=location)
    except (OSError, ssl.SSLError) as exc:
        raise KeystoreError(f"{exc}{not_pem_hint(location, 'truststore')}") from None


def load_chain_text(context: ssl.SSLContext, chain: str, key: str,
                    password: str | None) -> None:
    """Load a certificate chain and key given as PEM text. SSLContext only loads keys from
    files: they go to a private temporary file (mode 0600) that is removed at once."""
    fd, path = tempfile.mkstemp(prefix="odradek-tls-", suffix=".pem")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(key.strip() + "\n" + chain.strip() + "\n")
        context.load_cert_chain(path, password=password)
    finally:
        os.unlink(path)
