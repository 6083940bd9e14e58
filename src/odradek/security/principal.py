"""Who a connection is: Kafka principals (`User:alice`).

As Apache Kafka's DefaultKafkaPrincipalBuilder: a SASL connection is `User:<SASL name>`, a
TLS connection with a client certificate is `User:<the certificate's subject DN>` in RFC 2253
form (`User:CN=alice,OU=eng,O=example`, most specific first, like Java's
`X500Principal.getName()`), anything else is `User:ANONYMOUS`.
"""

from __future__ import annotations

from dataclasses import dataclass

USER_TYPE = "User"


@dataclass(frozen=True, slots=True)
class KafkaPrincipal:
    principal_type: str
    name: str

    def __str__(self) -> str:
        return f"{self.principal_type}:{self.name}"


ANONYMOUS = KafkaPrincipal(USER_TYPE, "ANONYMOUS")
WILDCARD = KafkaPrincipal(USER_TYPE, "*")


def parse_principal(text: str) -> KafkaPrincipal:
    """`User:alice` -> KafkaPrincipal("User", "alice"); raises ValueError without a type."""
    kind, sep, name = text.partition(":")
    if not sep or not kind or not name:
        raise ValueError(f"Expected a string in format principalType:principalName but got "
                         f"{text}")
    return KafkaPrincipal(kind, name)


def user(name: str) -> KafkaPrincipal:
    return KafkaPrincipal(USER_TYPE, name)


# Attribute names as RFC 2253 (and Java's X500Principal) write them; others keep their name.
_SHORT_NAMES = {
    "commonName": "CN", "countryName": "C", "localityName": "L",
    "stateOrProvinceName": "ST", "organizationName": "O", "organizationalUnitName": "OU",
    "streetAddress": "STREET", "domainComponent": "DC", "userId": "UID",
}


def _escape(value: str) -> str:
    out = []
    for i, ch in enumerate(value):
        if ch in ',+"\\<>;' or (ch == "#" and i == 0) or (
                ch == " " and (i == 0 or i == len(value) - 1)):
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)


def dn_from_peercert(cert: dict) -> str | None:
    """The subject of a certificate from `SSLSocket.getpeercert()` as an RFC 2253 string."""
    subject = cert.get("subject") if cert else None
    if not subject:
        return None
    rdns = []
    for rdn in reversed(subject):  # RFC 2253: the last RDN of the sequence comes first
        rdns.append("+".join(f"{_SHORT_NAMES.get(k, k)}={_escape(v)}" for k, v in rdn))
    return ",".join(rdns)
