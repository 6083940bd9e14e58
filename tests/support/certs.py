"""Certificates for TLS tests, made on the spot with `cryptography`: a CA, server and client
certificates signed by it, written as PEM files."""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass
class CertFiles:
    cert: Path
    key: Path


@dataclass
class Pki:
    ca: Path  # the CA certificate (PEM)
    server: CertFiles
    directory: Path
    _ca_key: object = None
    _ca_cert: object = None

    def client(self, name: str, cn: str, ou: str | None = None, o: str | None = None,
               key_password: bytes | None = None) -> CertFiles:
        return _issue(self, name, _name(cn, ou, o), server=False, key_password=key_password)


def _name(cn: str, ou: str | None = None, o: str | None = None) -> x509.Name:
    attrs = []
    if o:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, o))
    if ou:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, ou))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    return x509.Name(attrs)


def _write_key(path: Path, key, password: bytes | None = None) -> None:
    encryption = (serialization.BestAvailableEncryption(password) if password
                  else serialization.NoEncryption())
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8, encryption))


def _issue(pki: Pki, name: str, subject: x509.Name, server: bool,
           key_password: bytes | None = None) -> CertFiles:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    builder = (x509.CertificateBuilder().subject_name(subject)
               .issuer_name(pki._ca_cert.subject).public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(days=1))
               .not_valid_after(now + datetime.timedelta(days=30))
               .add_extension(x509.ExtendedKeyUsage(
                   [ExtendedKeyUsageOID.SERVER_AUTH if server
                    else ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False))
    if server:
        builder = builder.add_extension(x509.SubjectAlternativeName([
            x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False)
    cert = builder.sign(pki._ca_key, hashes.SHA256())
    files = CertFiles(pki.directory / f"{name}.crt", pki.directory / f"{name}.key")
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    _write_key(files.key, key, key_password)
    return files


def make_pki(directory: Path) -> Pki:
    directory.mkdir(parents=True, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    subject = _name("odradek test CA", o="odradek")
    ca_cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
               .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(days=1))
               .not_valid_after(now + datetime.timedelta(days=30))
               .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
               .sign(ca_key, hashes.SHA256()))
    ca = directory / "ca.crt"
    ca.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    pki = Pki(ca, None, directory, ca_key, ca_cert)  # type: ignore[arg-type]
    pki.server = _issue(pki, "server", _name("localhost"), server=True)
    return pki


def write_pkcs12_keystore(pki: Pki, files: CertFiles, path: Path, password: bytes) -> Path:
    """`files`' key and certificate, with the CA as the rest of the chain, as a PKCS12
    keystore (what keytool writes by default)."""
    from cryptography.hazmat.primitives.serialization import pkcs12

    key = serialization.load_pem_private_key(files.key.read_bytes(), None)
    cert = x509.load_pem_x509_certificate(files.cert.read_bytes())
    path.write_bytes(pkcs12.serialize_key_and_certificates(
        b"entry", key, cert, [pki._ca_cert], serialization.BestAvailableEncryption(password)))
    return path


def write_pkcs12_truststore(pki: Pki, path: Path, password: bytes) -> Path:
    """The CA certificate alone in a PKCS12 store."""
    from cryptography.hazmat.primitives.serialization import pkcs12

    path.write_bytes(pkcs12.serialize_key_and_certificates(
        None, None, None, [pki._ca_cert], serialization.BestAvailableEncryption(password)))
    return path
