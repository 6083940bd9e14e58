"""Listeners: where the broker accepts connections and with which security, from Kafka's
`listeners`, `advertised.listeners` and `listener.security.protocol.map`.

    listeners=PLAINTEXT://127.0.0.1:9092,SASL_SSL://127.0.0.1:9094
    advertised.listeners=PLAINTEXT://broker.example:9092,SASL_SSL://broker.example:9094
    listener.security.protocol.map=INTERNAL:PLAINTEXT,EXTERNAL:SASL_SSL   (for custom names)

Without `listeners` the broker has one PLAINTEXT listener on `host`:`port` (odradek's own
options, `--host` / `--port`). Port 0 takes a free port. Settings of one listener may be
given with Kafka's prefix `listener.name.<name in lower case>.`, e.g.
`listener.name.sasl_ssl.ssl.client.auth=required`; unprefixed values apply to every listener.
"""

from __future__ import annotations

import logging
import ssl
from dataclasses import dataclass, field

from .errors import SecurityConfigError
from .jwks import JwksValidator
from .oauthbearer import UnsecuredValidator
from .plain import plain_users

SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
SUPPORTED_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER")
log = logging.getLogger("odradek.security")
# Kafka's validator of signed tokens (org.apache.kafka.common.security.oauthbearer..., and
# ...oauthbearer.secured... before Kafka 4).
JWKS_HANDLER = "OAuthBearerValidatorCallbackHandler"

# Kafka's default is GSSAPI (Kerberos), which odradek does not implement.
DEFAULT_MECHANISMS = "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512"


@dataclass
class Listener:
    name: str
    security_protocol: str
    host: str
    port: int
    advertised_host: str | None = None
    advertised_port: int | None = None  # None or 0: the port actually bound
    ssl_context: ssl.SSLContext | None = field(default=None, repr=False)
    sasl_mechanisms: tuple[str, ...] = ()
    plain_users: dict[str, str] = field(default_factory=dict, repr=False)
    oauthbearer: UnsecuredValidator | JwksValidator | None = None  # OAUTHBEARER enabled
    bound_port: int | None = None

    def close(self) -> None:
        """Stop what runs for this listener in the background (a JWKS refresh)."""
        if isinstance(self.oauthbearer, JwksValidator):
            self.oauthbearer.stop()

    @property
    def tls(self) -> bool:
        return self.security_protocol in ("SSL", "SASL_SSL")

    @property
    def sasl(self) -> bool:
        return self.security_protocol in ("SASL_PLAINTEXT", "SASL_SSL")

    @property
    def endpoint(self) -> tuple[str, int]:
        """The address clients are told to use for this listener (Metadata, FindCoordinator,
        DescribeCluster answer with the listener the request came in on)."""
        port = self.advertised_port or self.bound_port or self.port
        return (self.advertised_host or self.host, port)


def listener_value(props: dict[str, str], listener: str, name: str) -> str | None:
    """A config for one listener: `listener.name.<listener>.<name>`, else `<name>`."""
    prefixed = f"listener.name.{listener.lower()}.{name}"
    if prefixed in props:
        return props[prefixed]
    return props.get(name)


def _split_address(text: str, what: str) -> tuple[str, str, int]:
    name, sep, rest = text.strip().partition("://")
    if not sep or not name:
        raise SecurityConfigError(f"{what}: cannot parse {text!r} (expected NAME://host:port)")
    host, colon, port = rest.rpartition(":")
    if not colon:
        raise SecurityConfigError(f"{what}: {text!r} has no port")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        return name.upper(), host, int(port)
    except ValueError:
        raise SecurityConfigError(f"{what}: bad port in {text!r}") from None


def _protocol_map(props: dict[str, str]) -> dict[str, str]:
    mapping = {p: p for p in SECURITY_PROTOCOLS}
    for item in (props.get("listener.security.protocol.map") or "").split(","):
        if not item.strip():
            continue
        name, sep, protocol = item.partition(":")
        if not sep or protocol.strip().upper() not in SECURITY_PROTOCOLS:
            raise SecurityConfigError(f"listener.security.protocol.map: bad entry {item!r}")
        mapping[name.strip().upper()] = protocol.strip().upper()
    return mapping


def parse_listeners(props: dict[str, str], host: str = "127.0.0.1", port: int = 9092,
                    advertised_host: str | None = None,
                    advertised_port: int | None = None) -> list[Listener]:
    """The listeners (without TLS contexts or SASL users: see `configure`)."""
    spec = (props.get("listeners") or "").strip()
    protocols = _protocol_map(props)
    listeners: list[Listener] = []
    if not spec:  # the default: PLAINTEXT on host:port (Kafka's is PLAINTEXT://:9092)
        listeners.append(Listener("PLAINTEXT", "PLAINTEXT", host, port, advertised_host,
                                  advertised_port))
    for item in spec.split(",") if spec else ():
        if not item.strip():
            continue
        name, lhost, lport = _split_address(item, "listeners")
        if name not in protocols:
            raise SecurityConfigError(f"No security protocol defined for listener {name} "
                                      "(listener.security.protocol.map)")
        if any(existing.name == name for existing in listeners):
            raise SecurityConfigError(f"listeners: {name} appears more than once")
        listeners.append(Listener(name, protocols[name], lhost or "0.0.0.0", lport,
                                  advertised_host))
    advertised = (props.get("advertised.listeners") or "").strip()
    for item in advertised.split(",") if advertised else ():
        name, ahost, aport = _split_address(item, "advertised.listeners")
        match = [lst for lst in listeners if lst.name == name]
        if not match:
            raise SecurityConfigError(f"advertised.listeners: {name} is not in listeners")
        match[0].advertised_host = ahost or match[0].advertised_host
        match[0].advertised_port = aport or None
    if len(listeners) == 1 and listeners[0].advertised_port is None:
        listeners[0].advertised_port = advertised_port
    return listeners


def configure(listener: Listener, props: dict[str, str]) -> Listener:
    """Build the listener's TLS context and SASL settings from the configs."""
    def get(name: str) -> str | None:
        return listener_value(props, listener.name, name)

    if listener.tls:
        from .tls import server_context

        listener.ssl_context = server_context(get, listener.name)
    if listener.sasl:
        mechanisms = tuple(m.strip().upper() for m in (
            get("sasl.enabled.mechanisms") or DEFAULT_MECHANISMS).split(",") if m.strip())
        unsupported = [m for m in mechanisms if m not in SUPPORTED_MECHANISMS]
        if unsupported or not mechanisms:
            raise SecurityConfigError(
                f"sasl.enabled.mechanisms for listener {listener.name}: {unsupported or '[]'} "
                f"not supported (supported: {', '.join(SUPPORTED_MECHANISMS)})")
        listener.sasl_mechanisms = mechanisms
        if "PLAIN" in mechanisms:
            jaas = get("plain.sasl.jaas.config") or props.get("sasl.jaas.config")
            listener.plain_users = plain_users(jaas)
        if "OAUTHBEARER" in mechanisms:
            handler = (get("oauthbearer.sasl.server.callback.handler.class")
                       or props.get("sasl.server.callback.handler.class"))
            if handler and handler.strip().rsplit(".", 1)[-1] == JWKS_HANDLER:
                validator = JwksValidator.from_configs(
                    lambda name: get(f"oauthbearer.{name}") or get(name))
                validator.start()
                listener.oauthbearer = validator
            elif handler:
                # Some other validator was asked for: accepting unsecured tokens instead
                # would let anyone in.
                raise SecurityConfigError(
                    f"listener {listener.name}: OAUTHBEARER validation by {handler.strip()} is "
                    f"not supported (supported: {JWKS_HANDLER}, or none for Kafka's default)")
            else:
                jaas = get("oauthbearer.sasl.jaas.config") or props.get("sasl.jaas.config")
                listener.oauthbearer = UnsecuredValidator.from_jaas(jaas)
                log.warning("listener %s accepts unsecured OAUTHBEARER tokens (alg none): any "
                            "client can claim any principal; for development only",
                            listener.name)
    return listener


def build_listeners(props: dict[str, str], host: str = "127.0.0.1", port: int = 9092,
                    advertised_host: str | None = None,
                    advertised_port: int | None = None) -> list[Listener]:
    return [configure(lst, props) for lst in parse_listeners(
        props, host, port, advertised_host, advertised_port)]
