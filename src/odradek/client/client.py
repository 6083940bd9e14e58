"""`Client`: a small asyncio Kafka client for tools (the `odradek` CLI) on top of `protocol/`.

It knows the cluster from Metadata, sends partition requests to their leaders and group
requests to the group's coordinator (on a connection of its own, so that a long-poll Fetch
never delays a heartbeat), and speaks whatever versions the broker and kio have in common.
It works against odradek and Apache Kafka alike.
"""

from __future__ import annotations

import asyncio
import struct
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from ..protocol.api_keys import ApiKey
from ..protocol.build import millis
from ..protocol.errors import ErrorCode
from ..protocol.primitives import DecodeError, read_array_length, read_string
from .connection import BrokerConnection
from .errors import ClientError, ConnectionClosed, KafkaClientError, check
from .security import ClientSecurity

EARLIEST = -2
LATEST = -1
MAX_TIMESTAMP = -3

TopicPartition = tuple[str, int]

_RETRIABLE = {ErrorCode.coordinator_not_available, ErrorCode.coordinator_load_in_progress,
              ErrorCode.not_coordinator, ErrorCode.leader_not_available,
              ErrorCode.not_leader_or_follower, ErrorCode.unknown_topic_or_partition,
              ErrorCode.rebalance_in_progress}


@dataclass
class BrokerInfo:
    node_id: int
    host: str
    port: int
    rack: str | None = None


@dataclass
class PartitionInfo:
    index: int
    leader: int
    replicas: list[int]
    isr: list[int]
    error_code: int = 0
    leader_epoch: int = -1


@dataclass
class TopicInfo:
    name: str
    topic_id: uuid.UUID | None
    error_code: int
    is_internal: bool
    partitions: list[PartitionInfo]


@dataclass
class ClusterInfo:
    cluster_id: str | None
    controller_id: int
    brokers: dict[int, BrokerInfo]
    topics: dict[str, TopicInfo]


@dataclass
class FetchedPartition:
    error_code: int
    high_watermark: int
    log_start_offset: int
    records: bytes | None


@dataclass
class GroupMember:
    member_id: str
    client_id: str
    client_host: str
    instance_id: str | None = None
    assignment: dict[str, list[int]] = field(default_factory=dict)


@dataclass
class GroupDescription:
    group_id: str
    state: str
    group_type: str  # "classic" or "consumer"
    protocol_type: str = ""
    protocol: str = ""
    members: list[GroupMember] = field(default_factory=list)
    error_code: int = 0


class Client:
    def __init__(self, bootstrap_servers: str, *, client_id: str = "odradek-cli",
                 timeout: float = 30.0, security: ClientSecurity | None = None) -> None:
        self.bootstrap = [_split_address(a) for a in bootstrap_servers.split(",") if a.strip()]
        if not self.bootstrap:
            raise ClientError("no bootstrap server given")
        self.client_id = client_id
        self.timeout = timeout
        self.security = security
        self.cluster: ClusterInfo | None = None
        self._connections: dict[Any, BrokerConnection] = {}
        self._connecting: dict[Any, asyncio.Future] = {}
        self._bootstrap_conn: BrokerConnection | None = None

    async def __aenter__(self) -> Client:
        await self.connect()
        return self

    async def __aexit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ connections

    async def connect(self) -> BrokerConnection:
        if self._bootstrap_conn is not None and not self._bootstrap_conn.closed:
            return self._bootstrap_conn
        errors = []
        for host, port in self.bootstrap:
            try:
                conn = await BrokerConnection(host, port, client_id=self.client_id,
                                              timeout=self.timeout,
                                              security=self.security).connect()
            except ClientError as exc:
                errors.append(str(exc))
                continue
            self._bootstrap_conn = conn
            return conn
        raise ConnectionClosed("; ".join(errors))

    async def broker(self, node_id: int | None = None, *, purpose: str = "") -> BrokerConnection:
        """A connection to a broker by node id (None: any). `purpose` keeps separate
        connections to the same broker (the group coordinator's)."""
        if node_id is None and not purpose:
            return await self.connect()
        if self.cluster is None:
            await self.metadata([])
        if node_id is None:
            node_id = next(iter(self.cluster.brokers))
        key = (node_id, purpose)
        conn = self._connections.get(key)
        if conn is not None and not conn.closed:
            return conn
        # Concurrent callers (pipelined produce requests) share one connection attempt.
        pending = self._connecting.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._open(node_id))
            self._connecting[key] = pending
            try:
                self._connections[key] = await pending
            finally:
                self._connecting.pop(key, None)
            return self._connections[key]
        return await asyncio.shield(pending)

    async def _open(self, node_id: int) -> BrokerConnection:
        info = self.cluster.brokers.get(node_id)
        if info is None:
            await self.metadata([])
            info = self.cluster.brokers.get(node_id)
        if info is None:
            raise ClientError(f"unknown broker {node_id}")
        return await BrokerConnection(info.host, info.port, client_id=self.client_id,
                                      timeout=self.timeout, security=self.security).connect()

    def close(self) -> None:
        for conn in self._connections.values():
            conn.close()
        self._connections.clear()
        if self._bootstrap_conn is not None:
            self._bootstrap_conn.close()
            self._bootstrap_conn = None

    async def api_versions(self) -> dict[int, tuple[int, int]]:
        return dict((await self.connect()).versions)

    # ------------------------------------------------------------------ metadata

    async def metadata(self, topics: list[str] | None = None, *,
                       auto_create: bool = False) -> ClusterInfo:
        """Metadata for `topics` (None: every topic, []: none, only the brokers)."""
        conn = await self.connect()
        wanted = None if topics is None else [{"name": t, "topic_id": None} for t in topics]
        resp = await conn.request(ApiKey.METADATA, {
            "topics": wanted, "allow_auto_topic_creation": auto_create,
            "include_cluster_authorized_operations": False,
            "include_topic_authorized_operations": False})
        brokers = {b.node_id: BrokerInfo(b.node_id, b.host, b.port, b.rack)
                   for b in resp.brokers}
        infos = {}
        for t in resp.topics:
            parts = sorted((PartitionInfo(p.partition_index, p.leader_id, list(p.replica_nodes),
                                          list(p.isr_nodes), p.error_code,
                                          getattr(p, "leader_epoch", -1))
                            for p in t.partitions), key=lambda p: p.index)
            infos[t.name] = TopicInfo(t.name, getattr(t, "topic_id", None), t.error_code,
                                      t.is_internal, parts)
        info = ClusterInfo(getattr(resp, "cluster_id", None),
                           getattr(resp, "controller_id", -1), brokers, infos)
        if self.cluster is None:
            self.cluster = info
        else:
            self.cluster.brokers = brokers
            self.cluster.cluster_id = info.cluster_id
            self.cluster.controller_id = info.controller_id
            self.cluster.topics.update(info.topics)
        return info

    async def topic(self, name: str) -> TopicInfo:
        info = (await self.metadata([name])).topics.get(name)
        if info is None:
            raise KafkaClientError(ErrorCode.unknown_topic_or_partition, name)
        check(info.error_code, f"topic {name}")
        return info

    async def topic_or_create(self, name: str, *, wait: float = 10.0) -> TopicInfo:
        """The topic's metadata, letting the broker auto-create it (as Kafka's console
        producer does); waits while its partitions get leaders."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while True:
            info = (await self.metadata([name], auto_create=True)).topics.get(name)
            code = info.error_code if info is not None else ErrorCode.unknown_topic_or_partition
            ready = info is not None and info.partitions and all(
                p.leader >= 0 for p in info.partitions)
            if code == ErrorCode.none and ready:
                return info
            if (code not in _RETRIABLE and code != ErrorCode.none) or loop.time() > deadline:
                check(code or ErrorCode.leader_not_available, f"topic {name}")
            await asyncio.sleep(0.1)

    async def describe_cluster(self) -> dict:
        conn = await self.connect()
        if not conn.supports(ApiKey.DESCRIBE_CLUSTER):
            info = await self.metadata([])
            return {"cluster_id": info.cluster_id, "controller_id": info.controller_id,
                    "brokers": list(info.brokers.values())}
        resp = await conn.request(ApiKey.DESCRIBE_CLUSTER, {
            "include_cluster_authorized_operations": False, "endpoint_type": 1})
        check(resp.error_code, resp.error_message)
        return {"cluster_id": resp.cluster_id, "controller_id": resp.controller_id,
                "brokers": [BrokerInfo(b.broker_id, b.host, b.port, b.rack)
                            for b in resp.brokers]}

    # ------------------------------------------------------------------ topic admin

    async def _controller(self) -> BrokerConnection:
        # Any broker forwards admin requests to the controller (Kafka 4); we use the one we
        # are connected to.
        return await self.connect()

    async def create_topic(self, name: str, partitions: int = -1, replication_factor: int = -1,
                           configs: dict[str, str] | None = None,
                           validate_only: bool = False) -> Any:
        conn = await self._controller()
        resp = await conn.request(ApiKey.CREATE_TOPICS, {
            "topics": [{"name": name, "num_partitions": partitions,
                        "replication_factor": replication_factor, "assignments": [],
                        "configs": [{"name": k, "value": v}
                                    for k, v in (configs or {}).items()]}],
            "timeout": int(self.timeout * 1000), "validate_only": validate_only})
        result = resp.topics[0]
        check(result.error_code, result.error_message)
        return result

    async def delete_topics(self, names: list[str]) -> dict[str, tuple[int, str | None]]:
        conn = await self._controller()
        resp = await conn.request(ApiKey.DELETE_TOPICS, {
            "topics": [{"name": n, "topic_id": None} for n in names], "topic_names": names,
            "timeout": int(self.timeout * 1000)})
        return {r.name: (r.error_code, getattr(r, "error_message", None))
                for r in resp.responses}

    async def create_partitions(self, name: str, count: int) -> None:
        conn = await self._controller()
        resp = await conn.request(ApiKey.CREATE_PARTITIONS, {
            "topics": [{"name": name, "count": count, "assignments": None}],
            "timeout": int(self.timeout * 1000), "validate_only": False})
        check(resp.results[0].error_code, resp.results[0].error_message)

    async def describe_configs(self, resource_type: int, name: str) -> list[dict]:
        """Config entries of a topic (resource type 2) or broker (4)."""
        conn = await self.connect()
        resp = await conn.request(ApiKey.DESCRIBE_CONFIGS, {
            "resources": [{"resource_type": resource_type, "resource_name": name,
                           "configuration_keys": None}],
            "include_synonyms": False, "include_documentation": False})
        result = resp.results[0]
        check(result.error_code, result.error_message)
        return [{"name": c.name, "value": c.value, "source": _config_source(c),
                 "read_only": c.read_only, "sensitive": c.is_sensitive}
                for c in result.configs]

    async def alter_topic_configs(self, name: str, set_configs: dict[str, str],
                                  delete: list[str]) -> None:
        conn = await self._controller()
        configs = [{"name": k, "config_operation": 0, "value": v}
                   for k, v in set_configs.items()]
        configs += [{"name": k, "config_operation": 1, "value": None} for k in delete]
        resp = await conn.request(ApiKey.INCREMENTAL_ALTER_CONFIGS, {
            "resources": [{"resource_type": 2, "resource_name": name, "configs": configs}],
            "validate_only": False})
        r = resp.responses[0]
        check(r.error_code, r.error_message)

    # ------------------------------------------------------------------ offsets

    def _by_leader(self, partitions) -> dict[int, list[TopicPartition]]:
        out: dict[int, list[TopicPartition]] = defaultdict(list)
        for tp in partitions:
            topic = self.cluster.topics.get(tp[0]) if self.cluster else None
            leader = -1
            if topic is not None and 0 <= tp[1] < len(topic.partitions):
                leader = topic.partitions[tp[1]].leader
            out[leader].append(tp)
        return out

    async def list_offsets(self, wanted: dict[TopicPartition, int]
                           ) -> dict[TopicPartition, tuple[int, int]]:
        """(offset, timestamp) for each partition's timestamp spec (EARLIEST, LATEST, ms)."""
        if not wanted:
            return {}
        await self._ensure_topics({t for t, _ in wanted})
        out = {}
        for leader, tps in self._by_leader(wanted).items():
            conn = await self.broker(leader if leader >= 0 else None)
            topics: dict[str, list] = defaultdict(list)
            for t, p in tps:
                topics[t].append({"partition_index": p, "current_leader_epoch": -1,
                                  "timestamp": wanted[(t, p)]})
            resp = await conn.request(ApiKey.LIST_OFFSETS, {
                "replica_id": -1, "isolation_level": 0, "timeout": int(self.timeout * 1000),
                "topics": [{"name": t, "partitions": ps} for t, ps in topics.items()]})
            for t in resp.topics:
                for p in t.partitions:
                    check(p.error_code, f"ListOffsets {t.name}-{p.partition_index}")
                    offset = p.offset if hasattr(p, "offset") else (
                        p.old_style_offsets[0] if p.old_style_offsets else -1)
                    out[(t.name, p.partition_index)] = (offset, getattr(p, "timestamp", -1))
        return out

    async def _ensure_topics(self, topics: set[str]) -> None:
        if self.cluster is None or not topics <= set(self.cluster.topics):
            await self.metadata(sorted(topics))

    # ------------------------------------------------------------------ produce / fetch

    async def produce(self, topic: str, partition: int, batch: bytes, *,
                      acks: int = -1) -> int:
        """Send one record batch; returns its base offset (-1 with acks=0)."""
        await self._ensure_topics({topic})
        leader = next(iter(self._by_leader([(topic, partition)])))
        conn = await self.broker(leader if leader >= 0 else None)
        values = {"transactional_id": None, "acks": acks, "timeout": int(self.timeout * 1000),
                  "topic_data": [{"name": topic, "topic_id": None, "partition_data": [
                      {"index": partition, "records": batch}]}]}
        if acks == 0:
            raise ClientError("acks=0 is not supported by this client")
        resp = await conn.request(ApiKey.PRODUCE, values)
        p = resp.responses[0].partition_responses[0]
        check(p.error_code, getattr(p, "error_message", None) or f"produce to {topic}-{partition}")
        return p.base_offset

    async def fetch(self, positions: dict[TopicPartition, int], *, max_wait_ms: int = 500,
                    min_bytes: int = 1, max_bytes: int = 50 * 1024 * 1024,
                    partition_max_bytes: int = 1024 * 1024
                    ) -> dict[TopicPartition, FetchedPartition]:
        await self._ensure_topics({t for t, _ in positions})
        groups = self._by_leader(positions)

        async def one(leader: int, tps: list[TopicPartition]) -> dict:
            conn = await self.broker(leader if leader >= 0 else None, purpose="fetch")
            topics: dict[str, list] = defaultdict(list)
            for t, p in tps:
                topics[t].append({"partition": p, "current_leader_epoch": -1,
                                  "fetch_offset": positions[(t, p)], "last_fetched_epoch": -1,
                                  "log_start_offset": -1,
                                  "partition_max_bytes": partition_max_bytes})
            resp = await conn.request(ApiKey.FETCH, {
                "replica_id": -1, "replica_state": {"replica_id": -1, "replica_epoch": -1},
                "max_wait": max_wait_ms, "min_bytes": min_bytes, "max_bytes": max_bytes,
                "isolation_level": 0, "session_id": 0, "session_epoch": -1,
                "topics": [{"topic": t, "topic_id": None, "partitions": ps}
                           for t, ps in topics.items()],
                "forgotten_topics_data": [], "rack_id": ""},
                timeout=self.timeout + max_wait_ms / 1000)
            check(getattr(resp, "error_code", 0), "fetch")
            out = {}
            for t in resp.responses:
                for p in t.partitions:
                    out[(t.topic, p.partition_index)] = FetchedPartition(
                        p.error_code, p.high_watermark, getattr(p, "log_start_offset", -1),
                        p.records)
            return out

        results = await asyncio.gather(*(one(leader, tps) for leader, tps in groups.items()))
        merged: dict[TopicPartition, FetchedPartition] = {}
        for r in results:
            merged.update(r)
        return merged

    # ------------------------------------------------------------------ groups

    async def coordinator(self, group_id: str) -> BrokerConnection:
        conn = await self.connect()
        version = conn.version_for(ApiKey.FIND_COORDINATOR)
        for attempt in range(40):
            resp = await conn.request(ApiKey.FIND_COORDINATOR, {
                "key": group_id, "key_type": 0, "coordinator_keys": [group_id]})
            if version >= 4:
                c = resp.coordinators[0]
                code, message, node = c.error_code, c.error_message, c.node_id
            else:
                code, message, node = resp.error_code, resp.error_message, resp.node_id
            if code in _RETRIABLE and attempt < 39:
                await asyncio.sleep(0.25)
                continue
            check(code, message, f"FindCoordinator {group_id}")
            return await self.broker(node, purpose="coordinator")
        raise ClientError("no coordinator")

    async def list_groups(self) -> list[dict]:
        if self.cluster is None:
            await self.metadata([])
        out = []
        for node in list(self.cluster.brokers):
            conn = await self.broker(node)
            resp = await conn.request(ApiKey.LIST_GROUPS, {"states_filter": [],
                                                           "types_filter": []})
            check(resp.error_code, "ListGroups")
            for g in resp.groups:
                out.append({"group_id": g.group_id, "protocol_type": g.protocol_type,
                            "state": getattr(g, "group_state", ""),
                            "type": getattr(g, "group_type", "") or ""})
        return sorted(out, key=lambda g: g["group_id"])

    async def describe_group(self, group_id: str) -> GroupDescription:
        conn = await self.coordinator(group_id)
        resp = await conn.request(ApiKey.DESCRIBE_GROUPS, {
            "groups": [group_id], "include_authorized_operations": False})
        g = resp.groups[0]
        if g.error_code == ErrorCode.none and g.group_state != "Dead":
            members = [GroupMember(m.member_id, m.client_id, m.client_host,
                                   getattr(m, "group_instance_id", None),
                                   _decode_assignment(m.member_assignment)
                                   if g.protocol_type == "consumer" else {})
                       for m in g.members]
            return GroupDescription(group_id, g.group_state, "classic", g.protocol_type,
                                    g.protocol_data, members)
        if conn.supports(ApiKey.CONSUMER_GROUP_DESCRIBE):
            resp = await conn.request(ApiKey.CONSUMER_GROUP_DESCRIBE, {
                "group_ids": [group_id], "include_authorized_operations": False})
            c = resp.groups[0]
            if c.error_code == ErrorCode.none:
                members = [GroupMember(
                    m.member_id, m.client_id, m.client_host, m.instance_id,
                    {tp.topic_name: sorted(tp.partitions)
                     for tp in m.assignment.topic_partitions})
                    for m in c.members]
                return GroupDescription(group_id, c.group_state, "consumer", "consumer",
                                        c.assignor_name, members)
        if g.error_code not in (ErrorCode.none, ErrorCode.group_id_not_found):
            check(g.error_code, getattr(g, "error_message", None))
        return GroupDescription(group_id, "Dead", "", error_code=ErrorCode.group_id_not_found)

    async def delete_groups(self, group_ids: list[str]) -> dict[str, int]:
        out = {}
        for group_id in group_ids:
            conn = await self.coordinator(group_id)
            resp = await conn.request(ApiKey.DELETE_GROUPS, {"groups_names": [group_id]})
            out[group_id] = resp.results[0].error_code
        return out

    async def committed_offsets(self, group_id: str, partitions: list[TopicPartition] | None
                                = None) -> dict[TopicPartition, int]:
        """Committed offsets of a group (only partitions with one, when `partitions` is
        None)."""
        conn = await self.coordinator(group_id)
        topics = None
        if partitions is not None:
            by_topic: dict[str, list[int]] = defaultdict(list)
            for t, p in partitions:
                by_topic[t].append(p)
            topics = [{"name": t, "partition_indexes": ps} for t, ps in by_topic.items()]
        for attempt in range(40):
            resp = await conn.request(ApiKey.OFFSET_FETCH, {
                "group_id": group_id, "topics": topics, "require_stable": False})
            code = getattr(resp, "error_code", 0)
            if code in _RETRIABLE and attempt < 39:
                await asyncio.sleep(0.25)
                continue
            check(code, f"OffsetFetch {group_id}")
            break
        out = {}
        for t in resp.topics:
            for p in t.partitions:
                check(p.error_code, f"OffsetFetch {t.name}-{p.partition_index}")
                if p.committed_offset >= 0:
                    out[(t.name, p.partition_index)] = p.committed_offset
        return out

    async def commit_offsets(self, group_id: str, offsets: dict[TopicPartition, int], *,
                             member_id: str = "", generation: int = -1,
                             conn: BrokerConnection | None = None) -> None:
        conn = conn or await self.coordinator(group_id)
        by_topic: dict[str, list] = defaultdict(list)
        for (t, p), offset in sorted(offsets.items()):
            by_topic[t].append({"partition_index": p, "committed_offset": offset,
                                "committed_leader_epoch": -1, "committed_metadata": ""})
        resp = await conn.request(ApiKey.OFFSET_COMMIT, {
            "group_id": group_id, "generation_id_or_member_epoch": generation,
            "member_id": member_id, "group_instance_id": None, "retention_time": -1,
            "topics": [{"name": t, "topic_id": None, "partitions": ps}
                       for t, ps in by_topic.items()]})
        for t in resp.topics:
            for p in t.partitions:
                check(p.error_code, f"OffsetCommit {t.name}-{p.partition_index}")


def _split_address(address: str) -> tuple[str, int]:
    address = address.strip()
    for prefix in ("PLAINTEXT://", "plaintext://"):
        address = address.removeprefix(prefix)
    host, sep, port = address.rpartition(":")
    if not sep:
        return address, 9092
    return host.strip("[]"), int(port)


def _config_source(entry) -> str:
    names = {1: "DYNAMIC_TOPIC_CONFIG", 2: "DYNAMIC_BROKER_CONFIG",
             3: "DYNAMIC_DEFAULT_BROKER_CONFIG", 4: "STATIC_BROKER_CONFIG",
             5: "DEFAULT_CONFIG", 6: "DYNAMIC_BROKER_LOGGER_CONFIG",
             7: "CLIENT_METRICS_CONFIG", 8: "GROUP_CONFIG"}
    source = getattr(entry, "config_source", -1)
    if source == -1 and getattr(entry, "is_default", False):
        return "DEFAULT_CONFIG"
    return names.get(source, "UNKNOWN")


def _decode_assignment(data: bytes | None) -> dict[str, list[int]]:
    """A classic "consumer" member's ConsumerProtocolAssignment: partitions by topic (every
    version starts with the same fields)."""
    if not data:
        return {}
    try:
        count, pos = read_array_length(data, 2)
        out: dict[str, list[int]] = {}
        for _ in range(max(count, 0)):
            topic, pos = read_string(data, pos)
            n, pos = read_array_length(data, pos, 4)
            out.setdefault(topic, []).extend(struct.unpack_from(f">{max(n, 0)}i", data, pos))
            pos += 4 * max(n, 0)
        return {t: sorted(ps) for t, ps in out.items()}
    except (DecodeError, struct.error, IndexError):
        return {}


__all__ = ["Client", "ClusterInfo", "EARLIEST", "LATEST", "MAX_TIMESTAMP", "millis"]
