"""PKCS12 keystores and truststores read into PEM; JKS and bad stores refused clearly."""

from __future__ import annotations

import shutil
import ssl
import subprocess

import pytest

pytest.importorskip("cryptography")

from odradek.security.keystores import (  # noqa: E402
    KeystoreError,
    check_store_type,
    keystore_pem,
    load_chain_text,
    truststore_pem,
)
from tests.support.certs import (  # noqa: E402
    make_pki,
    write_pkcs12_keystore,
    write_pkcs12_truststore,
)


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki"))


def test_a_keystore_gives_its_chain_and_key(pki, tmp_path):
    store = write_pkcs12_keystore(pki, pki.server, tmp_path / "server.p12", b"store-pw")
    chain, key = keystore_pem(str(store), "store-pw")
    assert chain.count("BEGIN CERTIFICATE") == 2  # the server's, then the CA's
    assert chain.startswith(pki.server.cert.read_text().strip().splitlines()[0])
    assert pki.ca.read_text().strip() in chain
    assert "BEGIN PRIVATE KEY" in key
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    load_chain_text(context, chain, key, None)  # a key that matches its certificate


def test_a_truststore_gives_its_certificates(pki, tmp_path):
    store = write_pkcs12_truststore(pki, tmp_path / "trust.p12", b"trust-pw")
    cas = truststore_pem(str(store), "trust-pw")
    assert cas.strip() == pki.ca.read_text().strip()
    ssl.create_default_context(cadata=cas)


def test_wrong_or_missing_password_and_wrong_contents(pki, tmp_path):
    store = write_pkcs12_keystore(pki, pki.server, tmp_path / "server.p12", b"store-pw")
    with pytest.raises(KeystoreError, match="wrong password or not a PKCS12 file$"):
        keystore_pem(str(store), "nope")
    with pytest.raises(KeystoreError, match="no password given: set ssl.keystore.password"):
        keystore_pem(str(store), None)
    with pytest.raises(KeystoreError, match="not a PKCS12 file"):
        truststore_pem(str(pki.ca), "x")  # a PEM file where PKCS12 was said
    trust = write_pkcs12_truststore(pki, tmp_path / "trust.p12", b"pw")
    with pytest.raises(KeystoreError, match="holds no private key"):
        keystore_pem(str(trust), "pw")
    with pytest.raises(KeystoreError, match="cannot read the keystore"):
        keystore_pem(str(tmp_path / "missing.p12"), "pw")


def test_store_types():
    assert check_store_type("ssl.keystore.type", None) == "PEM"
    assert check_store_type("ssl.keystore.type", " pkcs12 ") == "PKCS12"
    with pytest.raises(KeystoreError, match="keytool -importkeystore"):
        check_store_type("ssl.keystore.type", "JKS")
    with pytest.raises(KeystoreError, match="expected one of PEM, PKCS12"):
        check_store_type("ssl.truststore.type", "BKS")


@pytest.mark.skipif(shutil.which("keytool") is None, reason="needs Java's keytool")
def test_stores_written_by_keytool(pki, tmp_path):
    """Java's own PKCS12 files: a key pair keytool generated, and a truststore of
    trusted-certificate entries (the form `keytool -importcert` writes)."""
    def keytool(*args: str) -> None:
        subprocess.run(["keytool", *args], check=True, capture_output=True, timeout=120)

    keystore, truststore = tmp_path / "ks.p12", tmp_path / "ts.p12"
    keytool("-genkeypair", "-alias", "broker", "-keyalg", "EC", "-groupname", "secp256r1",
            "-dname", "CN=localhost", "-storetype", "PKCS12", "-keystore", str(keystore),
            "-storepass", "ks-pass", "-validity", "30")
    keytool("-importcert", "-noprompt", "-alias", "ca", "-file", str(pki.ca), "-storetype",
            "PKCS12", "-keystore", str(truststore), "-storepass", "ts-pass")
    chain, key = keystore_pem(str(keystore), "ks-pass")
    assert chain.count("BEGIN CERTIFICATE") == 1 and "BEGIN PRIVATE KEY" in key
    load_chain_text(ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER), chain, key, None)
    assert truststore_pem(str(truststore), "ts-pass").strip() == pki.ca.read_text().strip()
