"""TLS and SASL for the client: what `security.protocol`, `sasl.*` and `ssl.*` ask for.

Settings come as Kafka client properties, under the names the Java client uses (a
`client.properties` file as given to Kafka's own tools, `sasl.jaas.config` included) or under
librdkafka's (`sasl.username`, `ssl.ca.location`, ...), so an existing client configuration
works as it is. Mechanisms: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 (those the broker serves) and
OAUTHBEARER, either with a token from an identity provider (the client-credentials grant:
`sasl.oauthbearer.token.endpoint.url` with librdkafka's `sasl.oauthbearer.client.id` /
`.client.secret` / `.scope`, or the Java client's JAAS options clientId / clientSecret / scope)
or with an unsecured token for a principal (librdkafka's `sasl.oauthbearer.config=
principal=alice scope=a,b`, or the Java client's OAuthBearerLoginModule options
`unsecuredLoginStringClaim_sub` / `unsecuredLoginListClaim_scope`);
certificates and keys are PEM files, or PKCS12 stores (`ssl.keystore.type=PKCS12`,
`ssl.truststore.type=PKCS12`, with their passwords; see security/keystores.py).

The SASL exchange runs right after ApiVersions, as Kafka clients do it: SaslHandshake v1 names
the mechanism, then SaslAuthenticate carries the mechanism's messages.
"""

from __future__ import annotations

import asyncio
import re
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..protocol.api_keys import ApiKey
from ..protocol.errors import ErrorCode
from ..security.errors import SaslAuthenticationError
from ..security.keystores import KeystoreError, check_store_type, load_keystore, load_truststore
from ..security.oauthbearer import client_first_message, unsecured_jwt
from ..security.scram import MECHANISMS as SCRAM_MECHANISMS
from ..security.scram import ScramClient
from .errors import ClientError, KafkaClientError
from .oauth import client_credentials_token

if TYPE_CHECKING:
    from .connection import BrokerConnection

PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
SASL_MECHANISMS = ("PLAIN", *SCRAM_MECHANISMS, "OAUTHBEARER")

# Property name -> field, Java client names first, then librdkafka's.
_NAMES = {
    "security.protocol": "protocol",
    "sasl.mechanism": "mechanism",
    "sasl.mechanisms": "mechanism",
    "sasl.username": "username",
    "sasl.password": "password",
    "ssl.truststore.location": "ca_file",
    "ssl.ca.location": "ca_file",
    "ssl.keystore.location": "cert_file",
    "ssl.certificate.location": "cert_file",
    "ssl.key.location": "key_file",
    "ssl.key.password": "key_password",
    "ssl.keystore.type": "keystore_type",
    "ssl.keystore.password": "keystore_password",
    "ssl.truststore.type": "truststore_type",
    "ssl.truststore.password": "truststore_password",
    "sasl.oauthbearer.token.endpoint.url": "oauth_token_url",
    "sasl.oauthbearer.client.id": "oauth_client_id",
    "sasl.oauthbearer.client.secret": "oauth_client_secret",
    "sasl.oauthbearer.scope": "oauth_request_scope",
}
_JAAS_OPTION = re.compile(r'(\w+)\s*=\s*"((?:[^"\\]|\\.)*)"')


@dataclass(frozen=True)
class ClientSecurity:
    protocol: str = "PLAINTEXT"
    mechanism: str = "PLAIN"
    username: str | None = None
    password: str | None = None
    ca_file: str | None = None  # None: the system's trusted certificates
    cert_file: str | None = None  # a client certificate (mutual TLS)
    key_file: str | None = None  # its key, if not in cert_file
    key_password: str | None = None
    check_hostname: bool = True  # ssl.endpoint.identification.algorithm=https (the default)
    keystore_type: str = "PEM"  # of cert_file: PEM, or PKCS12 with keystore_password
    keystore_password: str | None = None
    truststore_type: str = "PEM"  # of ca_file
    truststore_password: str | None = None
    oauth_principal: str | None = None  # OAUTHBEARER: the subject of the unsecured token
    oauth_scope: tuple[str, ...] = ()
    oauth_lifetime_s: int = 3600
    oauth_token_url: str | None = None  # OAUTHBEARER: get a token from this endpoint
    oauth_client_id: str | None = None
    oauth_client_secret: str | None = None
    oauth_request_scope: str | None = None

    def __repr__(self) -> str:  # never print a secret
        return (f"ClientSecurity(protocol={self.protocol!r}, mechanism={self.mechanism!r}, "
                f"username={self.username!r})")

    @classmethod
    def from_properties(cls, props: Mapping[str, str]) -> ClientSecurity:
        """From Kafka client properties; other properties (bootstrap.servers, acks, ...) are
        not this class's business and are ignored. ClientError for a value it cannot use."""
        values: dict = {}
        for name, value in props.items():
            field = _NAMES.get(name.strip())
            if field is not None:
                values[field] = value.strip()
        jaas = props.get("sasl.jaas.config")
        if jaas:
            options = {k: re.sub(r"\\(.)", r"\1", v) for k, v in _JAAS_OPTION.findall(jaas)}
            values.setdefault("username", options.get("username"))
            values.setdefault("password", options.get("password"))
            if "unsecuredLoginStringClaim_sub" in options:
                values["oauth_principal"] = options["unsecuredLoginStringClaim_sub"]
            scope = options.get("unsecuredLoginListClaim_scope", "")
            if scope:  # Kafka's list claim: the first character is the separator
                values["oauth_scope"] = tuple(s for s in scope[1:].split(scope[0]) if s)
            for option, field in (("clientId", "oauth_client_id"),
                                  ("clientSecret", "oauth_client_secret"),
                                  ("scope", "oauth_request_scope")):
                if option in options:
                    values.setdefault(field, options[option])
            if "unsecuredLoginLifetimeSeconds" in options:
                values["oauth_lifetime_s"] = _int(options["unsecuredLoginLifetimeSeconds"],
                                                  "unsecuredLoginLifetimeSeconds")
        for item in (props.get("sasl.oauthbearer.config") or "").split():
            key, _, value = item.partition("=")
            if key == "principal":
                values["oauth_principal"] = value
            elif key == "scope":
                values["oauth_scope"] = tuple(s for s in value.split(",") if s)
            elif key == "lifeSeconds":
                values["oauth_lifetime_s"] = _int(value, "lifeSeconds")
        algorithm = props.get("ssl.endpoint.identification.algorithm")
        if algorithm is not None:
            values["check_hostname"] = algorithm.strip().lower() == "https"
        values["protocol"] = values.get("protocol", "PLAINTEXT").upper()
        values["mechanism"] = values.get("mechanism", "PLAIN").upper()
        try:
            for kind in ("keystore", "truststore"):
                values[f"{kind}_type"] = check_store_type(f"ssl.{kind}.type",
                                                          values.get(f"{kind}_type"))
        except KeystoreError as exc:
            raise ClientError(str(exc)) from None
        security = cls(**values)
        if security.protocol not in PROTOCOLS:
            raise ClientError(f"security.protocol {security.protocol!r} is not one of "
                              f"{', '.join(PROTOCOLS)}")
        if security.uses_sasl:
            if security.mechanism not in SASL_MECHANISMS:
                raise ClientError(f"sasl.mechanism {security.mechanism!r} is not one of "
                                  f"{', '.join(SASL_MECHANISMS)}")
            if security.mechanism == "OAUTHBEARER":
                if security.oauth_token_url:
                    if not (security.oauth_client_id and security.oauth_client_secret):
                        raise ClientError("sasl.oauthbearer.token.endpoint.url needs "
                                          "sasl.oauthbearer.client.id and .client.secret (or "
                                          "clientId and clientSecret in sasl.jaas.config)")
                elif not security.oauth_principal:
                    raise ClientError("OAUTHBEARER needs a token endpoint "
                                      "(sasl.oauthbearer.token.endpoint.url) or, for an "
                                      "unsecured token, a principal: sasl.oauthbearer.config="
                                      "principal=<name> (or unsecuredLoginStringClaim_sub in "
                                      "sasl.jaas.config)")
            elif security.username is None or security.password is None:
                raise ClientError(f"{security.protocol} needs sasl.username and sasl.password "
                                  "(or a sasl.jaas.config with username and password)")
        return security

    @property
    def uses_tls(self) -> bool:
        return self.protocol in ("SSL", "SASL_SSL")

    @property
    def uses_sasl(self) -> bool:
        return self.protocol in ("SASL_PLAINTEXT", "SASL_SSL")

    def ssl_context(self) -> ssl.SSLContext | None:
        if not self.uses_tls:
            return None
        try:
            if self.ca_file:
                context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # trusts only ca_file
                load_truststore(context, self.truststore_type, self.ca_file,
                                self.truststore_password)
            else:
                context = ssl.create_default_context()  # the system's trusted certificates
            context.check_hostname = self.check_hostname
            if self.cert_file:
                load_keystore(context, self.keystore_type, self.cert_file,
                              self.keystore_password, self.key_file, self.key_password)
        except (OSError, ssl.SSLError, KeystoreError) as exc:
            raise ClientError(f"cannot set up TLS: {exc}") from None
        return context


def _int(value: str, name: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ClientError(f"{name} must be a whole number of seconds, not {value!r}") from None


async def sasl_authenticate(conn: BrokerConnection, security: ClientSecurity) -> None:
    """SaslHandshake v1 then SaslAuthenticate until the mechanism is done. KafkaClientError
    (SASL_AUTHENTICATION_FAILED, UNSUPPORTED_SASL_MECHANISM, ...) if the broker says no."""
    resp = await conn.request(ApiKey.SASL_HANDSHAKE, {"mechanism": security.mechanism})
    if resp.error_code == ErrorCode.unsupported_sasl_mechanism:
        raise KafkaClientError(resp.error_code, f"{conn.address} does not accept "
                               f"{security.mechanism}; it accepts {', '.join(resp.mechanisms)}")
    if resp.error_code:
        raise KafkaClientError(resp.error_code, "SASL handshake failed")
    if security.mechanism == "PLAIN":
        await _authenticate(conn, b"\0%s\0%s" % (security.username.encode(),
                                                 security.password.encode()))
        return
    if security.mechanism == "OAUTHBEARER":
        if security.oauth_token_url:
            token = await asyncio.to_thread(
                client_credentials_token, security.oauth_token_url, security.oauth_client_id,
                security.oauth_client_secret, security.oauth_request_scope)
        else:
            token = unsecured_jwt(security.oauth_principal, security.oauth_scope,
                                  security.oauth_lifetime_s)
        if await _authenticate(conn, client_first_message(token)):
            # An error challenge (JSON): acknowledged with ^A, the broker then fails us with it.
            await _authenticate(conn, b"\x01")
            raise KafkaClientError(ErrorCode.sasl_authentication_failed,
                                   "the broker refused the OAUTHBEARER token")
        return
    scram = ScramClient(SCRAM_MECHANISMS[security.mechanism], security.username,
                        security.password)
    server_first = await _authenticate(conn, scram.first())
    try:
        server_final = await _authenticate(conn, scram.final(server_first))
        scram.verify(server_final)
    except SaslAuthenticationError as exc:
        raise KafkaClientError(ErrorCode.sasl_authentication_failed, str(exc)) from None


async def _authenticate(conn: BrokerConnection, token: bytes) -> bytes:
    resp = await conn.request(ApiKey.SASL_AUTHENTICATE, {"auth_bytes": token})
    if resp.error_code:
        raise KafkaClientError(resp.error_code, resp.error_message or "authentication failed")
    return resp.auth_bytes
