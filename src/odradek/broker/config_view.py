"""Effective config values and where they come from (for DescribeConfigs and the log).

Resolution order, as in Kafka: a topic's own override (DYNAMIC_TOPIC_CONFIG), then the
broker's dynamic default (DYNAMIC_DEFAULT_BROKER_CONFIG, set with AlterConfigs on the broker),
then the broker's static config (STATIC_BROKER_CONFIG, from the config file), then Kafka's
default (DEFAULT_CONFIG). Each step is reported as a synonym.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..log.config import LogConfig
from .configs import (
    BROKER_CONFIGS,
    TOPIC_CONFIGS,
    ConfigDef,
    ConfigSource,
    broker_synonym_ms,
)


@dataclass(frozen=True)
class ConfigEntry:
    name: str
    value: str | None
    source: ConfigSource
    definition: ConfigDef
    read_only: bool
    synonyms: tuple[tuple[str, str | None, ConfigSource], ...]


class ConfigView:
    """Resolves broker and topic configs from static and dynamic layers."""

    def __init__(self, static: dict[str, str], dynamic: dict[str, str]) -> None:
        self.static = static
        self.dynamic = dynamic  # cluster-wide dynamic broker defaults

    def _broker_layers(self, names) -> list[tuple[str, str | None, ConfigSource]]:
        """Set values of the given broker configs, most authoritative first."""
        layers = []
        for layer, source in ((self.dynamic, ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG),
                              (self.static, ConfigSource.STATIC_BROKER_CONFIG)):
            layers += [(n, layer[n], source) for n in names if n in layer]
        return layers

    def broker_entry(self, name: str) -> ConfigEntry:
        definition = BROKER_CONFIGS[name]
        layers = self._broker_layers([name])
        layers.append((name, definition.default, ConfigSource.DEFAULT_CONFIG))
        value, source = layers[0][1], layers[0][2]
        return ConfigEntry(name, value, source, definition, read_only=source
                           != ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG and name
                           not in DYNAMIC_BROKER_CONFIGS, synonyms=tuple(layers))

    def broker_value(self, name: str) -> str | None:
        return self.broker_entry(name).value

    def broker_entries(self) -> list[ConfigEntry]:
        return [self.broker_entry(n) for n in sorted(BROKER_CONFIGS)]

    def topic_entry(self, name: str, overrides: dict[str, str]) -> ConfigEntry:
        definition = TOPIC_CONFIGS[name]
        layers: list[tuple[str, str | None, ConfigSource]] = []
        if name in overrides:
            layers.append((name, overrides[name], ConfigSource.DYNAMIC_TOPIC_CONFIG))
        layers += self._broker_layers(definition.synonyms)
        if definition.synonyms:
            # Kafka lists the first synonym's default, if it has one (log.retention.ms has
            # none, so retention.ms shows no default synonym, as in Kafka).
            first = definition.synonyms[0]
            broker_default = BROKER_CONFIGS[first].default if first in BROKER_CONFIGS else None
            if broker_default is not None:
                layers.append((first, broker_default, ConfigSource.DEFAULT_CONFIG))
        top_name, top_value, source = layers[0] if layers else (name, None,
                                                                 ConfigSource.DEFAULT_CONFIG)
        if source == ConfigSource.DEFAULT_CONFIG:
            value = definition.default
        else:
            value = broker_synonym_ms(top_name, top_value) if top_value is not None else None
        return ConfigEntry(name, value, source, definition, read_only=False,
                           synonyms=tuple(layers))

    def topic_value(self, name: str, overrides: dict[str, str]) -> str | None:
        return self.topic_entry(name, overrides).value

    def topic_entries(self, overrides: dict[str, str]) -> list[ConfigEntry]:
        return [self.topic_entry(n, overrides) for n in sorted(TOPIC_CONFIGS)]

    def log_config(self, overrides: dict[str, str]) -> LogConfig:
        return LogConfig.from_topic_configs(
            {e.name: e.value for e in self.topic_entries(overrides)})


# Broker configs Kafka lets AlterConfigs change cluster-wide at runtime (a subset we honour).
DYNAMIC_BROKER_CONFIGS = {
    "log.retention.ms", "log.retention.bytes", "log.segment.bytes", "log.roll.ms",
    "log.cleanup.policy", "log.index.interval.bytes", "log.message.timestamp.type",
    "log.flush.interval.messages", "log.flush.interval.ms", "message.max.bytes",
    "compression.type", "min.insync.replicas", "log.segment.delete.delay.ms",
    "log.message.timestamp.before.max.ms", "log.message.timestamp.after.max.ms",
    "log.preallocate", "log.index.size.max.bytes", "log.roll.jitter.ms",
    "unclean.leader.election.enable", "log.cleaner.delete.retention.ms",
    "log.cleaner.min.compaction.lag.ms", "log.cleaner.max.compaction.lag.ms",
    "log.cleaner.min.cleanable.ratio", "log.local.retention.ms", "log.local.retention.bytes",
}
