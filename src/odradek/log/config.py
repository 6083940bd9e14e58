"""Per-topic log settings, with Apache Kafka's topic-config names, defaults and meanings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

# Kafka's "never" for flush.messages / flush.ms is Long.MAX_VALUE.
LONG_MAX = (1 << 63) - 1

CREATE_TIME = "CreateTime"
LOG_APPEND_TIME = "LogAppendTime"

# Kafka topic config name -> LogConfig field (and how to parse the string value).
_KAFKA_NAMES: dict[str, tuple[str, type]] = {
    "segment.bytes": ("segment_bytes", int),
    "segment.ms": ("segment_ms", int),
    "retention.ms": ("retention_ms", int),
    "retention.bytes": ("retention_bytes", int),
    "index.interval.bytes": ("index_interval_bytes", int),
    "segment.index.bytes": ("segment_index_bytes", int),
    "message.timestamp.type": ("message_timestamp_type", str),
    "flush.messages": ("flush_messages", int),
    "flush.ms": ("flush_ms", int),
    "cleanup.policy": ("cleanup_policy", str),
}


@dataclass(frozen=True, slots=True)
class LogConfig:
    """Frozen so a config shared by many partitions cannot change under them: build a new one
    (``dataclasses.replace``) and hand it to ``PartitionLog.update_config``."""

    segment_bytes: int = 1073741824
    segment_ms: int = 604800000
    retention_ms: int = 604800000  # -1: keep forever
    retention_bytes: int = -1  # -1: unlimited
    index_interval_bytes: int = 4096
    segment_index_bytes: int = 10485760
    message_timestamp_type: str = CREATE_TIME
    flush_messages: int = LONG_MAX
    flush_ms: int = LONG_MAX
    # Retention by time/size only applies with "delete" in the policy (Kafka's rule); compaction
    # itself is not implemented yet.
    cleanup_policy: str = "delete"

    def __post_init__(self) -> None:
        if self.message_timestamp_type not in (CREATE_TIME, LOG_APPEND_TIME):
            raise ValueError(f"invalid message.timestamp.type {self.message_timestamp_type!r}")
        # Kafka's range: at least a legacy record's overhead, at most an int32 (the offset
        # index stores file positions as int32).
        if not 14 <= self.segment_bytes <= 0x7FFFFFFF:
            raise ValueError(f"segment.bytes must be in [14, 2147483647], got {self.segment_bytes}")
        if self.segment_index_bytes < 8 or self.index_interval_bytes < 0:
            raise ValueError("invalid segment.index.bytes / index.interval.bytes")

    @property
    def log_append_time(self) -> bool:
        return self.message_timestamp_type == LOG_APPEND_TIME

    @property
    def delete_enabled(self) -> bool:
        return "delete" in (p.strip() for p in self.cleanup_policy.split(","))

    @property
    def max_offset_index_entries(self) -> int:
        return self.segment_index_bytes // 8

    @property
    def max_time_index_entries(self) -> int:
        return self.segment_index_bytes // 12

    @classmethod
    def from_topic_configs(cls, configs: Mapping[str, str | None]) -> LogConfig:
        """Build from Kafka-named topic configs (``{"retention.ms": "60000", ...}``).

        Names this layer does not use are ignored; None values keep the default."""
        kwargs: dict[str, object] = {}
        for name, value in configs.items():
            spec = _KAFKA_NAMES.get(name)
            if spec is not None and value is not None:
                kwargs[spec[0]] = spec[1](value)
        return cls(**kwargs)
