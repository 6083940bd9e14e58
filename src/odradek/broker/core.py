"""The broker's state: topics, partitions and their logs, configs, cluster identity.

Plain Python objects driven by the handlers; everything runs on the server's event loop, so
there are no locks. Persistence goes through the metadata store (SQLite by default).
"""

from __future__ import annotations

import logging
import shutil
import time
import uuid
from pathlib import Path

from ..groups.coordinator import GroupConfig, GroupCoordinator
from ..log.partition_log import AppendResult, PartitionLog
from ..meta.sqlite import SqliteMetadataStore
from ..meta.store import MetadataStore, TopicRecord
from ..protocol.errors import ErrorCode, KafkaError
from ..protocol.records import (
    Compression,
    CorruptRecordError,
    patch_partition_leader_epoch,
    validate_batches,
)
from ..security import authorizer_from_config
from ..security.scram import ScramCredentials
from .config_view import DYNAMIC_BROKER_CONFIGS, ConfigView
from .configs import BROKER_CONFIGS, TOPIC_CONFIGS, ConfigError
from .durability import FlushScheduler
from .settings import BrokerSettings
from .topics import Partition, Topic, validate_topic_name

log = logging.getLogger("odradek.broker")
PRODUCER_ID_BLOCK = 1000
MAX_PARTITIONS_PER_TOPIC = 10000


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class BrokerCore:
    def __init__(self, settings: BrokerSettings, store: MetadataStore | None = None) -> None:
        self.settings = settings
        self.data_dir: Path = settings.data_dir
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.store = store or SqliteMetadataStore(self.data_dir / "metadata.db")
        self.cluster_id = self.store.cluster_id()
        self.node_id = settings.node_id
        self.configs = ConfigView(settings.properties, self.store.broker_configs())
        self.topics: dict[str, Topic] = {}
        self.topics_by_id: dict[uuid.UUID, Topic] = {}
        self.advertised_host = settings.advertised_host or settings.host
        self.advertised_port = settings.advertised_port or settings.port
        self._pid_next = self._pid_end = 0
        self.flusher = FlushScheduler()
        self.recovered_partitions = self._load()
        # Per-request counters for metrics (odradek.metrics.BrokerStats); None when metrics are
        # off, so the hot paths pay one `is not None` test.
        self.stats = None
        self.groups = GroupCoordinator(self.store, self._group_config(),
                                       self._partition_count, lambda: list(self.topics), now_ms)
        # Security (odradek.security): the ACL authorizer (None: off, everything allowed) and
        # the SCRAM credentials of SASL users, both persisted in the metadata store.
        self.authorizer = authorizer_from_config(self.configs.broker_value, self.store)
        self.scram = ScramCredentials(self.store)

    # ------------------------------------------------------------------ startup / shutdown

    def _load(self) -> int:
        starts = self.store.log_start_offsets()
        snapshots = self.store.producer_snapshots()
        count = 0
        for rec in self.store.list_topics():
            topic = Topic(rec.name, rec.topic_id, dict(rec.configs))
            config = self.configs.log_config(topic.configs)
            for index in range(rec.partitions):
                plog = PartitionLog.open(self._partition_dir(rec.name, index), config,
                                         log_start_offset=starts.get((rec.name, index), 0))
                partition = Partition(topic, index, plog)
                offset, snapshot = snapshots.get((rec.name, index), (0, None))
                partition.producers.rebuild(plog, snapshot, offset)
                topic.partitions.append(partition)
                count += 1
            self._register(topic)
        return count

    def _group_config(self) -> GroupConfig:
        get = self.broker_int
        return GroupConfig(
            initial_rebalance_delay_ms=get("group.initial.rebalance.delay.ms"),
            min_session_timeout_ms=get("group.min.session.timeout.ms"),
            max_session_timeout_ms=get("group.max.session.timeout.ms"),
            offsets_retention_ms=get("offsets.retention.minutes") * 60000,
            offset_metadata_max_bytes=get("offset.metadata.max.bytes"),
            consumer_session_timeout_ms=get("group.consumer.session.timeout.ms"),
            consumer_heartbeat_interval_ms=get("group.consumer.heartbeat.interval.ms"),
            max_size=get("group.max.size"),
        )

    def _partition_count(self, topic: str) -> int | None:
        t = self.topics.get(topic)
        return len(t.partitions) if t is not None else None

    def close(self) -> None:
        self.groups.shutdown()
        self.flusher.close()
        self.snapshot_producer_state()
        for topic in self.topics.values():
            for p in topic.partitions:
                p.log.close()
        self.store.close()

    def _partition_dir(self, topic: str, index: int) -> Path:
        return self.data_dir / f"{topic}-{index}"

    def _register(self, topic: Topic) -> None:
        self.topics[topic.name] = topic
        self.topics_by_id[topic.topic_id] = topic

    # ------------------------------------------------------------------ lookups

    def broker_int(self, name: str) -> int:
        return int(self.configs.broker_value(name))

    def broker_bool(self, name: str) -> bool:
        return self.configs.broker_value(name) == "true"

    def partition(self, topic: str, index: int) -> Partition:
        t = self.topics.get(topic)
        if t is None or not 0 <= index < len(t.partitions):
            raise KafkaError(ErrorCode.unknown_topic_or_partition,
                             "This server does not host this topic-partition.")
        return t.partitions[index]

    def topic_config(self, topic: Topic, name: str) -> str | None:
        return self.configs.topic_value(name, topic.configs)

    # ------------------------------------------------------------------ topic admin

    def validate_new_topic(self, name: str, partitions: int, replication_factor: int,
                           configs: dict[str, str]) -> None:
        validate_topic_name(name)
        if name in self.topics:
            raise KafkaError(ErrorCode.topic_already_exists, f"Topic '{name}' already exists.")
        # Kafka's Topic.hasCollision: '.' and '_' clash in metric names.
        collision = name.replace(".", "_")
        for existing in self.topics:
            if existing.replace(".", "_") == collision:
                raise KafkaError(ErrorCode.invalid_topic_exception,
                                 f"Topic '{name}' collides with existing topic: {existing}")
        if partitions < 1:
            raise KafkaError(ErrorCode.invalid_partitions,
                             "Number of partitions was set to an invalid non-positive value.")
        self.check_partition_limit(partitions)
        if replication_factor < 1:
            raise KafkaError(ErrorCode.invalid_replication_factor,
                             "Replication factor must be larger than 0, or -1 to use the "
                             "default value.")
        if replication_factor > 1:
            raise KafkaError(
                ErrorCode.invalid_replication_factor,
                f"Unable to replicate the partition {replication_factor} time(s): The target "
                f"replication factor of {replication_factor} cannot be reached because only "
                "1 broker(s) are registered or some brokers have all their log directories "
                "cordoned.",
            )
        self.validate_topic_configs(configs)

    def check_partition_limit(self, partitions: int) -> None:
        """Each partition holds open files; a request for millions of them (a typo, or an
        attacker) would exhaust the broker. Kafka has no such limit; one broker needs one."""
        if partitions > MAX_PARTITIONS_PER_TOPIC:
            raise KafkaError(ErrorCode.invalid_partitions,
                             f"Number of partitions {partitions} is above this broker's limit "
                             f"of {MAX_PARTITIONS_PER_TOPIC} per topic.")

    def validate_topic_configs(self, configs: dict[str, str | None]) -> None:
        for key, value in configs.items():
            definition = TOPIC_CONFIGS.get(key)
            if definition is None:
                raise KafkaError(ErrorCode.invalid_config, f"Unknown topic config name: {key}")
            try:
                definition.parse(value)
            except ConfigError as exc:
                raise KafkaError(ErrorCode.invalid_config, str(exc)) from None
            except ValueError as exc:
                raise KafkaError(ErrorCode.invalid_config,
                                 f"Invalid value {value} for configuration {key}: {exc}") from None

    def create_topic(self, name: str, partitions: int | None = None,
                     replication_factor: int | None = None,
                     configs: dict[str, str] | None = None) -> Topic:
        partitions = partitions if partitions not in (None, -1) else self.broker_int(
            "num.partitions")
        replication_factor = (replication_factor if replication_factor not in (None, -1)
                              else self.broker_int("default.replication.factor"))
        configs = dict(configs or {})
        self.validate_new_topic(name, partitions, replication_factor, configs)
        topic = Topic(name, uuid.uuid4(), configs)
        log_config = self.configs.log_config(configs)
        for index in range(partitions):
            path = self._partition_dir(name, index)
            if path.exists():  # leftovers of a topic deleted while files were in use
                shutil.rmtree(path, ignore_errors=True)
            topic.partitions.append(Partition(topic, index, PartitionLog.open(path, log_config)))
        self.store.create_topic(TopicRecord(name, topic.topic_id, partitions, configs))
        self._register(topic)
        log.info("created topic %s with %d partition(s)", name, partitions)
        return topic

    def delete_topic(self, name: str) -> Topic:
        if not self.broker_bool("delete.topic.enable"):
            raise KafkaError(ErrorCode.topic_deletion_disabled, "Topic deletion is disabled.")
        topic = self.topics.get(name)
        if topic is None:
            raise KafkaError(ErrorCode.unknown_topic_or_partition,
                             "This server does not host this topic-partition.")
        self.store.delete_topic(name)
        self.groups.delete_topic_offsets(name)
        del self.topics[name]
        del self.topics_by_id[topic.topic_id]
        for p in topic.partitions:
            p.deleted = True
            self.flusher.forget(p.log)
            p.log.delete()
            p.notify_append()  # parked fetches re-check and see the topic is gone
        log.info("deleted topic %s", name)
        return topic

    def create_partitions(self, name: str, count: int, validate_only: bool = False) -> None:
        topic = self.topics.get(name)
        if topic is None:
            raise KafkaError(ErrorCode.unknown_topic_or_partition,
                             "This server does not host this topic-partition.")
        current = len(topic.partitions)
        if count < current:
            raise KafkaError(ErrorCode.invalid_partitions,
                             f"The topic {name} currently has {current} partition(s); {count} "
                             "would not be an increase.")
        if count == current:
            raise KafkaError(ErrorCode.invalid_partitions,
                             f"Topic already has {current} partition(s).")
        self.check_partition_limit(count)
        if validate_only:
            return
        config = self.configs.log_config(topic.configs)
        for index in range(current, count):
            plog = PartitionLog.open(self._partition_dir(name, index), config)
            topic.partitions.append(Partition(topic, index, plog))
        self.store.set_topic_partitions(name, count)

    def set_topic_configs(self, topic: Topic, configs: dict[str, str]) -> None:
        self.validate_topic_configs(configs)
        topic.configs = dict(configs)
        topic.produce_limits = None
        self.store.set_topic_configs(topic.name, topic.configs)
        config = self.configs.log_config(topic.configs)
        for p in topic.partitions:
            p.log.update_config(config)

    def validate_broker_configs(self, configs: dict[str, str]) -> None:
        for key, value in configs.items():
            if key not in BROKER_CONFIGS:
                raise KafkaError(ErrorCode.invalid_config, f"Unknown broker config: {key}")
            if key not in DYNAMIC_BROKER_CONFIGS:
                raise KafkaError(ErrorCode.invalid_config,
                                 f"Cannot update these configs dynamically: [{key}]")
            try:
                BROKER_CONFIGS[key].parse(value)
            except ConfigError as exc:
                raise KafkaError(ErrorCode.invalid_config, str(exc)) from None

    def set_broker_configs(self, configs: dict[str, str]) -> None:
        self.validate_broker_configs(configs)
        self.store.set_broker_configs(configs)
        self.configs.dynamic = dict(configs)
        for topic in self.topics.values():
            config = self.configs.log_config(topic.configs)
            for p in topic.partitions:
                p.log.update_config(config)

    # ------------------------------------------------------------------ log maintenance

    def delete_records(self, partition: Partition, offset: int) -> int:
        plog = partition.log
        if offset == -1:  # "up to the high watermark", as in Kafka's DeleteRecords
            offset = plog.high_watermark
        start = plog.delete_records_before(offset)
        self.store.set_log_start_offset(partition.topic.name, partition.index, start)
        return start

    def enforce_retention(self) -> int:
        deleted = 0
        now = now_ms()
        for topic in list(self.topics.values()):
            for p in topic.partitions:
                before = p.log.log_start_offset
                deleted += p.log.enforce_retention(now)
                if p.log.log_start_offset != before:
                    self.store.set_log_start_offset(topic.name, p.index, p.log.log_start_offset)
        return deleted

    # ------------------------------------------------------------------ produce

    def append_records(self, partition: Partition, records: memoryview | None, now: int,
                       produce_version: int = 13) -> AppendResult:
        """Validate a producer's batch for one partition and append it to the log.

        Only the batch header is read (and the CRC checked); records are stored as sent with
        the base offset patched in place in the request buffer. A retried idempotent batch is
        acknowledged with its original offsets and not written again. Raises KafkaError."""
        if records is None or len(records) == 0:
            raise KafkaError(ErrorCode.invalid_record, "Produce requests with version "
                             f"{produce_version} must have at least one record batch per "
                             "partition")
        topic = partition.topic
        try:
            headers = validate_batches(records)
        except CorruptRecordError as exc:
            code = (ErrorCode.unsupported_for_message_format if exc.unsupported_magic
                    else ErrorCode.corrupt_message)
            raise KafkaError(code, str(exc)) from None
        if len(headers) != 1:
            raise KafkaError(ErrorCode.invalid_record, "Produce requests with version "
                             f"{produce_version} are only allowed to contain exactly one "
                             "record batch per partition")
        h = headers[0]
        if produce_version < 7 and h.compression == Compression.ZSTD:
            raise KafkaError(ErrorCode.unsupported_compression_type,
                             "Produce requests with version below 7 cannot use zstd")
        max_bytes, before_ms, after_ms, log_append_time = self._produce_limits(topic)
        if h.size > max_bytes:
            raise KafkaError(
                ErrorCode.message_too_large,
                f"The record batch size in the append to {topic.name}-{partition.index} "
                f"is {h.size} bytes which exceeds the maximum configured value of "
                f"{max_bytes}.")
        if not log_append_time and h.max_timestamp >= 0 and (
                h.base_timestamp < now - before_ms or h.max_timestamp > now + after_ms):
            raise KafkaError(
                ErrorCode.invalid_timestamp,
                f"Timestamp {h.max_timestamp} of message is out of range. The timestamp "
                f"should be within [{now - before_ms}, {now + after_ms}]")
        if h.is_transactional:
            raise KafkaError(ErrorCode.invalid_txn_state, "Transactions are not supported yet.")
        if h.producer_id >= 0:
            duplicate = partition.producers.check(h)
            if duplicate is not None:
                return AppendResult(duplicate.base_offset, duplicate.last_offset, -1)
        # Kafka stamps every batch with the leader's epoch; consumers use it to detect log
        # truncation (OffsetForLeaderEpoch). The CRC does not cover this field.
        patch_partition_leader_epoch(records, 0, partition.leader_epoch)
        try:
            result = partition.log.append(records, headers, now)
        except OSError as exc:  # a full or failing disk: the log rolled the write back
            log.error("append to %s-%d failed: %s", topic.name, partition.index, exc)
            raise KafkaError(ErrorCode.kafka_storage_error,
                             f"Disk error when trying to access log file on the disk: "
                             f"{exc.strerror}") from None
        if h.producer_id >= 0:
            partition.producers.update(h, result.base_offset)
        partition.notify_append()
        if self.stats is not None:  # metrics: bytes/records in, once per batch
            self.stats.produced(topic.name, h.size, h.records_count)
        return result

    def _produce_limits(self, topic: Topic) -> tuple[int, int, int, bool]:
        """Per-topic produce checks, cached until the topic's or broker's configs change."""
        cached = topic.produce_limits
        if cached is None or cached[0] is not self.configs.dynamic:
            value = self.configs.topic_value
            limits = (
                int(value("max.message.bytes", topic.configs)),
                int(value("message.timestamp.before.max.ms", topic.configs)),
                int(value("message.timestamp.after.max.ms", topic.configs)),
                value("message.timestamp.type", topic.configs) == "LogAppendTime",
            )
            topic.produce_limits = cached = (self.configs.dynamic, limits)
        return cached[1]

    # ------------------------------------------------------------------ producers

    def next_producer_id(self) -> int:
        """A producer id never handed out before, from blocks reserved in the store."""
        if self._pid_next >= self._pid_end:
            self._pid_next = self.store.allocate_producer_ids(PRODUCER_ID_BLOCK)
            self._pid_end = self._pid_next + PRODUCER_ID_BLOCK
        pid = self._pid_next
        self._pid_next += 1
        return pid

    def snapshot_producer_state(self) -> None:
        """Persist changed producer state, valid up to each log's end (restart replays the
        log after that offset)."""
        snapshots = {}
        for topic in self.topics.values():
            for p in topic.partitions:
                if p.producers.dirty:
                    snapshots[(topic.name, p.index)] = (p.log.log_end_offset,
                                                        p.producers.snapshot())
                    p.producers.dirty = False
        if snapshots:
            self.store.save_producer_snapshots(snapshots)

    def expire_producers(self) -> None:
        expiration = self.broker_int("producer.id.expiration.ms")
        now = now_ms()
        for topic in self.topics.values():
            for p in topic.partitions:
                p.producers.expire(now, expiration)
