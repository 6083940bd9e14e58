"""Config definitions with Apache Kafka's names, types and defaults.

Topic configs (`retention.ms`, ...) each have a broker-level synonym (`log.retention.ms`)
that sets the default for every topic, as in Kafka: a topic's effective value comes from its
own override (DYNAMIC_TOPIC_CONFIG), else the broker's dynamic default, else the broker's
static config (STATIC_BROKER_CONFIG), else Kafka's default (DEFAULT_CONFIG).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

LONG_MAX = 9223372036854775807


class ConfigType(enum.IntEnum):
    """DescribeConfigs v3+ `config_type`."""

    UNKNOWN = 0
    BOOLEAN = 1
    STRING = 2
    INT = 3
    SHORT = 4
    LONG = 5
    DOUBLE = 6
    LIST = 7
    CLASS = 8
    PASSWORD = 9


class ConfigSource(enum.IntEnum):
    """DescribeConfigs v1+ `config_source`."""

    UNKNOWN = 0
    DYNAMIC_TOPIC_CONFIG = 1
    DYNAMIC_BROKER_CONFIG = 2
    DYNAMIC_DEFAULT_BROKER_CONFIG = 3
    STATIC_BROKER_CONFIG = 4
    DEFAULT_CONFIG = 5
    DYNAMIC_BROKER_LOGGER_CONFIG = 6
    CLIENT_METRICS_CONFIG = 7
    GROUP_CONFIG = 8


class ConfigError(ValueError):
    """An unknown config name or an invalid value (Kafka's INVALID_CONFIG)."""


@dataclass(frozen=True)
class ConfigDef:
    name: str
    type: ConfigType
    default: str | None
    doc: str
    synonyms: tuple[str, ...] = ()  # broker configs that set this topic config's default
    validate: Callable[[str], None] | None = None
    sensitive: bool = False

    def parse(self, value: str | None):
        """Typed value of a config string; raises ConfigError when it does not parse."""
        if value is None:
            return None
        try:
            if self.type in (ConfigType.INT, ConfigType.LONG, ConfigType.SHORT):
                parsed = int(value.strip())
            elif self.type == ConfigType.DOUBLE:
                parsed = float(value.strip())
            elif self.type == ConfigType.BOOLEAN:
                v = value.strip().lower()
                if v not in ("true", "false"):
                    raise ValueError(value)
                parsed = v == "true"
            elif self.type == ConfigType.LIST:
                parsed = [p.strip() for p in value.split(",") if p.strip()]
            else:
                parsed = value
        except ValueError:
            raise ConfigError(
                f"Invalid value {value} for configuration {self.name}: "
                f"Not a number of type {self.type.name}"
            ) from None
        if self.validate is not None:
            try:
                self.validate(value)
            except ConfigError as exc:
                raise ConfigError(f"Invalid value {value} for configuration {self.name}: "
                                  f"{exc}") from None
        return parsed


def _at_least(minimum: int) -> Callable[[str], None]:
    def check(value: str) -> None:
        if int(value) < minimum:
            raise ConfigError(f"Value must be at least {minimum}")

    return check


def _one_of(*allowed: str) -> Callable[[str], None]:
    def check(value: str) -> None:
        items = [p.strip() for p in value.split(",")] if "," in value else [value.strip()]
        for item in items:
            if item not in allowed:
                raise ConfigError(f"String must be one of: {', '.join(sorted(allowed))}")

    return check


def _ratio(value: str) -> None:
    if not 0.0 <= float(value) <= 1.0:
        raise ConfigError("Value must be between 0 and 1")


T = ConfigType
_TOPIC = [
    ConfigDef("cleanup.policy", T.LIST, "delete", "delete and/or compact old segments",
              ("log.cleanup.policy",), _one_of("delete", "compact")),
    ConfigDef("compression.type", T.STRING, "producer", "final compression of the topic",
              ("compression.type",),
              _one_of("uncompressed", "zstd", "lz4", "snappy", "gzip", "producer")),
    ConfigDef("compression.gzip.level", T.INT, "-1", "gzip level", ("compression.gzip.level",)),
    ConfigDef("compression.lz4.level", T.INT, "9", "lz4 level", ("compression.lz4.level",)),
    ConfigDef("compression.zstd.level", T.INT, "3", "zstd level", ("compression.zstd.level",)),
    ConfigDef("delete.retention.ms", T.LONG, "86400000", "tombstone retention (compaction)",
              ("log.cleaner.delete.retention.ms",), _at_least(0)),
    ConfigDef("errors.deadletterqueue.group.enable", T.BOOLEAN, "false",
              "streams dead letter queue (not used here)", ()),
    ConfigDef("file.delete.delay.ms", T.LONG, "60000", "delay before deleting a file",
              ("log.segment.delete.delay.ms",), _at_least(0)),
    ConfigDef("flush.messages", T.LONG, str(LONG_MAX), "fsync after this many messages",
              ("log.flush.interval.messages",), _at_least(1)),
    ConfigDef("flush.ms", T.LONG, str(LONG_MAX), "fsync after this many ms",
              ("log.flush.interval.ms",), _at_least(0)),
    ConfigDef("follower.replication.throttled.replicas", T.LIST, "", "throttled replicas"),
    ConfigDef("index.interval.bytes", T.INT, "4096", "bytes between offset index entries",
              ("log.index.interval.bytes",), _at_least(0)),
    ConfigDef("leader.replication.throttled.replicas", T.LIST, "", "throttled replicas"),
    ConfigDef("local.retention.bytes", T.LONG, "-2", "tiered storage local retention",
              ("log.local.retention.bytes",), _at_least(-2)),
    ConfigDef("local.retention.ms", T.LONG, "-2", "tiered storage local retention",
              ("log.local.retention.ms",), _at_least(-2)),
    ConfigDef("max.compaction.lag.ms", T.LONG, str(LONG_MAX), "compaction lag bound",
              ("log.cleaner.max.compaction.lag.ms",), _at_least(1)),
    ConfigDef("max.decompressed.message.bytes", T.INT, "2147483639",
              "largest decompressed batch", ("max.decompressed.message.bytes",), _at_least(0)),
    ConfigDef("max.message.bytes", T.INT, "1048588", "largest record batch size allowed",
              ("message.max.bytes",), _at_least(0)),
    ConfigDef("message.timestamp.after.max.ms", T.LONG, "3600000",
              "how far in the future a CreateTime timestamp may be",
              ("log.message.timestamp.after.max.ms",), _at_least(0)),
    ConfigDef("message.timestamp.before.max.ms", T.LONG, str(LONG_MAX),
              "how far in the past a CreateTime timestamp may be",
              ("log.message.timestamp.before.max.ms",), _at_least(0)),
    ConfigDef("message.timestamp.type", T.STRING, "CreateTime", "CreateTime or LogAppendTime",
              ("log.message.timestamp.type",), _one_of("CreateTime", "LogAppendTime")),
    ConfigDef("min.cleanable.dirty.ratio", T.DOUBLE, "0.5", "compaction trigger",
              ("log.cleaner.min.cleanable.ratio",), _ratio),
    ConfigDef("min.compaction.lag.ms", T.LONG, "0", "compaction lag",
              ("log.cleaner.min.compaction.lag.ms",), _at_least(0)),
    ConfigDef("min.insync.replicas", T.INT, "1", "replicas that must ack acks=all",
              ("min.insync.replicas",), _at_least(1)),
    ConfigDef("preallocate", T.BOOLEAN, "false", "preallocate segment files",
              ("log.preallocate",)),
    ConfigDef("remote.copy.lag.bytes", T.LONG, "-1", "tiered storage",
              ("log.remote.copy.lag.bytes",)),
    ConfigDef("remote.copy.lag.ms", T.LONG, "0", "tiered storage", ("log.remote.copy.lag.ms",)),
    ConfigDef("remote.log.copy.disable", T.BOOLEAN, "false", "tiered storage", ()),
    ConfigDef("remote.log.delete.on.disable", T.BOOLEAN, "false", "tiered storage", ()),
    ConfigDef("remote.storage.enable", T.BOOLEAN, "false", "tiered storage", ()),
    ConfigDef("retention.bytes", T.LONG, "-1", "size retention per partition (-1: none)",
              ("log.retention.bytes",)),
    ConfigDef("retention.ms", T.LONG, "604800000", "time retention (-1: forever)",
              ("log.retention.ms", "log.retention.minutes", "log.retention.hours"),
              _at_least(-1)),
    ConfigDef("segment.bytes", T.INT, "1073741824", "segment file size",
              ("log.segment.bytes",), _at_least(14)),
    ConfigDef("segment.index.bytes", T.INT, "10485760", "offset index size",
              ("log.index.size.max.bytes",), _at_least(4)),
    ConfigDef("segment.jitter.ms", T.LONG, "0", "random jitter of segment.ms",
              ("log.roll.jitter.ms", "log.roll.jitter.hours"), _at_least(0)),
    ConfigDef("segment.ms", T.LONG, "604800000", "time before a segment is rolled",
              ("log.roll.ms", "log.roll.hours"), _at_least(1)),
    ConfigDef("unclean.leader.election.enable", T.BOOLEAN, "false", "unclean elections",
              ("unclean.leader.election.enable",)),
]
TOPIC_CONFIGS: dict[str, ConfigDef] = {c.name: c for c in _TOPIC}

# Broker configs this broker understands. Topic-config synonyms come first; the hours /
# minutes variants are converted to milliseconds by `broker_synonym_ms`.
_BROKER = [
    ConfigDef("node.id", T.INT, "1", "this broker's id"),
    ConfigDef("broker.id", T.INT, "1", "this broker's id (alias of node.id)"),
    ConfigDef("auto.create.topics.enable", T.BOOLEAN, "true",
              "create a topic on first metadata request or produce"),
    ConfigDef("delete.topic.enable", T.BOOLEAN, "true", "allow DeleteTopics"),
    ConfigDef("num.partitions", T.INT, "1", "partitions of auto-created topics", (),
              _at_least(1)),
    ConfigDef("default.replication.factor", T.INT, "1", "replication of auto-created topics"),
    ConfigDef("log.dirs", T.STRING, None, "data directory"),
    ConfigDef("log.retention.check.interval.ms", T.LONG, "300000",
              "how often retention runs", (), _at_least(1)),
    ConfigDef("log.retention.hours", T.INT, "168", "time retention in hours"),
    ConfigDef("log.retention.minutes", T.INT, None, "time retention in minutes"),
    ConfigDef("log.roll.hours", T.INT, "168", "segment roll time in hours", (), _at_least(1)),
    ConfigDef("log.roll.jitter.hours", T.INT, "0", "segment roll jitter in hours"),
    ConfigDef("socket.request.max.bytes", T.INT, "104857600", "largest request accepted", (),
              _at_least(1)),
    ConfigDef("group.initial.rebalance.delay.ms", T.INT, "3000",
              "wait for more members before the first rebalance of a new group"),
    ConfigDef("offsets.retention.minutes", T.INT, "10080", "committed offsets retention",
              (), _at_least(1)),
    ConfigDef("offsets.retention.check.interval.ms", T.LONG, "600000",
              "how often expired offsets are removed", (), _at_least(1)),
    ConfigDef("offset.metadata.max.bytes", T.INT, "4096", "largest commit metadata string"),
    ConfigDef("group.consumer.session.timeout.ms", T.INT, "45000",
              "session timeout of KIP-848 consumer group members"),
    ConfigDef("group.consumer.heartbeat.interval.ms", T.INT, "5000",
              "heartbeat interval of KIP-848 consumer group members"),
    ConfigDef("group.max.size", T.INT, "2147483647", "most members in a group", (),
              _at_least(1)),
    ConfigDef("offsets.topic.num.partitions", T.INT, "50", "partitions of __consumer_offsets"),
    ConfigDef("offsets.topic.replication.factor", T.SHORT, "1", "internal topic replication"),
    ConfigDef("transaction.state.log.replication.factor", T.SHORT, "1", ""),
    ConfigDef("group.min.session.timeout.ms", T.INT, "6000", "smallest session timeout"),
    ConfigDef("group.max.session.timeout.ms", T.INT, "1800000", "largest session timeout"),
    ConfigDef("connections.max.idle.ms", T.LONG, "600000", "idle connections are closed",
              (), _at_least(1)),
    ConfigDef("max.connections", T.INT, "2147483647", "most connections at once", (),
              _at_least(0)),
    ConfigDef("max.connections.per.ip", T.INT, "2147483647",
              "most connections at once from one address", (), _at_least(0)),
    ConfigDef("max.connections.per.ip.overrides", T.STRING, "",
              "per-address limits: host1:limit1,host2:limit2"),
    ConfigDef("producer.id.expiration.ms", T.INT, "86400000",
              "forget an idempotent producer's state after this long without writes"),
]
# Security (odradek.security; docs/operations.md). PASSWORD values are never shown:
# DescribeConfigs returns null, `--print-config` prints [hidden].
_SECURITY = [
    ConfigDef("listeners", T.STRING, None, "NAME://host:port,... (default: PLAINTEXT on "
              "--host/--port)"),
    ConfigDef("advertised.listeners", T.STRING, None, "addresses clients are given, per "
              "listener name"),
    ConfigDef("listener.security.protocol.map", T.STRING,
              "PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL",
              "listener name -> security protocol"),
    ConfigDef("sasl.enabled.mechanisms", T.LIST, "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
              "SASL mechanisms of SASL listeners (Kafka's default GSSAPI is not supported)"),
    ConfigDef("sasl.jaas.config", T.PASSWORD, None, "JAAS config with the PLAIN users "
              "(user_<name>=\"<password>\") for every SASL listener"),
    ConfigDef("sasl.server.max.receive.size", T.INT, "524288",
              "largest request accepted before authentication", (), _at_least(1)),
    ConfigDef("connection.failed.authentication.delay.ms", T.INT, "100",
              "delay of the answer to a failed authentication", (), _at_least(0)),
    ConfigDef("authorizer.class.name", T.STRING, "",
              "any value turns on the ACL authorizer (e.g. org.apache.kafka.metadata."
              "authorizer.StandardAuthorizer)"),
    ConfigDef("super.users", T.STRING, "", "principals allowed everything: User:a;User:b"),
    ConfigDef("allow.everyone.if.no.acl.found", T.BOOLEAN, "false",
              "allow access to resources that have no ACL at all"),
    ConfigDef("ssl.keystore.type", T.STRING, "PEM", "PEM or PKCS12 (JKS: convert it)"),
    ConfigDef("ssl.keystore.location", T.STRING, None,
              "PEM file with the private key and the certificate chain, or a PKCS12 keystore"),
    ConfigDef("ssl.keystore.password", T.PASSWORD, None, "password of a PKCS12 keystore"),
    ConfigDef("ssl.keystore.certificate.chain", T.PASSWORD, None, "certificate chain (PEM)"),
    ConfigDef("ssl.keystore.key", T.PASSWORD, None, "private key (PEM)"),
    ConfigDef("ssl.key.password", T.PASSWORD, None, "password of an encrypted private key"),
    ConfigDef("ssl.certificate.location", T.STRING, None, "certificate chain PEM file"),
    ConfigDef("ssl.key.location", T.STRING, None, "private key PEM file"),
    ConfigDef("ssl.truststore.type", T.STRING, "PEM", "PEM or PKCS12 (JKS: convert it)"),
    ConfigDef("ssl.truststore.location", T.STRING, None,
              "PEM file or PKCS12 truststore of the CAs that sign client certificates"),
    ConfigDef("ssl.truststore.password", T.PASSWORD, None, "password of a PKCS12 truststore"),
    ConfigDef("ssl.truststore.certificates", T.PASSWORD, None, "trusted CAs (PEM)"),
    ConfigDef("ssl.ca.location", T.STRING, None, "alias of ssl.truststore.location"),
    ConfigDef("ssl.client.auth", T.STRING, "none", "client certificates: none, requested or "
              "required", (), _one_of("none", "requested", "required")),
    ConfigDef("ssl.enabled.protocols", T.LIST, "TLSv1.2,TLSv1.3", "TLS versions accepted"),
    ConfigDef("ssl.cipher.suites", T.LIST, "", "TLS 1.2 cipher suites (OpenSSL names)"),
]
_BROKER += _SECURITY
BROKER_CONFIGS: dict[str, ConfigDef] = {c.name: c for c in _BROKER}
for _c in _TOPIC:
    for _s in _c.synonyms:
        if _s not in BROKER_CONFIGS and not _s.endswith((".hours", ".minutes")):
            BROKER_CONFIGS[_s] = ConfigDef(_s, _c.type, _c.default, _c.doc, (), _c.validate)
# log.retention.ms / log.roll.ms default to null in Kafka: the hours variant decides.
BROKER_CONFIGS["log.retention.ms"] = ConfigDef(
    "log.retention.ms", T.LONG, None, "time retention (-1: forever)", (), _at_least(-1))
BROKER_CONFIGS["log.roll.ms"] = ConfigDef("log.roll.ms", T.LONG, None, "segment roll time")
BROKER_CONFIGS["log.roll.jitter.ms"] = ConfigDef("log.roll.jitter.ms", T.LONG, None, "")
BROKER_CONFIGS["log.flush.interval.ms"] = ConfigDef(
    "log.flush.interval.ms", T.LONG, None, "fsync after this many ms")
del _c, _s

_HOURS_MS = 3600000
_MINUTES_MS = 60000


def broker_synonym_ms(name: str, value: str) -> str:
    """Convert an hours / minutes broker synonym to the topic config's milliseconds."""
    if name.endswith(".hours"):
        return str(int(value) * _HOURS_MS)
    if name.endswith(".minutes"):
        return str(int(value) * _MINUTES_MS)
    return value


_SENSITIVE_SUFFIXES = ("sasl.jaas.config", ".password", "ssl.keystore.key",
                       "ssl.keystore.certificate.chain", "ssl.truststore.certificates")


def is_sensitive(name: str) -> bool:
    """Whether a config value is a secret (Kafka's PASSWORD type), listener-prefixed names
    (`listener.name.sasl_ssl.plain.sasl.jaas.config`) included. Never log or show these."""
    definition = BROKER_CONFIGS.get(name) or TOPIC_CONFIGS.get(name)
    if definition is not None and (definition.sensitive or definition.type == T.PASSWORD):
        return True
    return name.endswith(_SENSITIVE_SUFFIXES)
