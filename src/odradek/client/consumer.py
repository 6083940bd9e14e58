"""A consumer for tools: fixed partitions (kcat's default), or a member of a consumer group
through the KIP-848 protocol (ConsumerGroupHeartbeat: the broker assigns partitions, the
member only reports what it owns) or the classic one (client/classic_group.py: brokers without
KIP-848, groups of classic members), committing what it has handed out.

Start positions follow kcat's `-o`: "beginning", "end", "stored" (the group's committed offset,
else `reset`), an absolute offset, or a negative number (that many records before the end).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

from ..protocol.api_keys import ApiKey
from ..protocol.errors import ErrorCode
from ..protocol.records import LOG_OVERHEAD, Record, iter_records, parse_batch_header
from .classic_group import ClassicMember
from .client import EARLIEST, LATEST, Client, TopicPartition
from .errors import ClientError, KafkaClientError, check


@dataclass
class ConsumedRecord:
    topic: str
    partition: int
    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes | None]]


class Consumer:
    def __init__(self, client: Client, topics: list[str], *, partitions: list[int] | None = None,
                 group: str | None = None, start: str | int = "stored", reset: str = "end",
                 exit_at_end: bool = False, max_wait_ms: int = 500,
                 commit_interval: float = 1.0, start_timestamp: int | None = None,
                 group_protocol: str | None = None) -> None:
        self.client = client
        self.topics = topics
        self.partitions = partitions
        self.group = group
        self.start = start
        self.reset = reset
        self.exit_at_end = exit_at_end
        self.max_wait_ms = max_wait_ms
        self.commit_interval = commit_interval
        self.start_timestamp = start_timestamp  # ms: the first record at or after it
        # "consumer" (KIP-848), "classic", or None: KIP-848 where the broker has it.
        self.group_protocol = group_protocol
        self._classic: ClassicMember | None = None
        self.positions: dict[TopicPartition, int] = {}
        self.high_watermarks: dict[TopicPartition, int] = {}
        self.member_id = ""
        self.member_epoch = 0
        self._assigned: set[TopicPartition] = set()
        self._committed: dict[TopicPartition, int] = {}
        self._heartbeat_task: asyncio.Task | None = None
        self._assignment_changed = asyncio.Event()
        self._coordinator = None
        self._topic_names: dict[uuid.UUID, str] = {}
        self._fatal: BaseException | None = None

    # ------------------------------------------------------------------ positions

    async def _resolve_start(self, tps: list[TopicPartition]) -> None:
        """Where each newly assigned partition starts: the committed offset (start "stored"
        in a group), else `start_timestamp`, else `start` (or `reset` for "stored")."""
        if not tps:
            return
        start = self.start
        committed = {}
        if self.group and start == "stored":
            committed = await self.client.committed_offsets(self.group, tps)
        spec: dict[TopicPartition, int] = {}
        relative: set[TopicPartition] = set()
        for tp in tps:
            if tp in committed:
                self.positions[tp] = committed[tp]
                self._committed[tp] = committed[tp]
                continue
            what = self.reset if start == "stored" else start
            if self.start_timestamp is not None:
                spec[tp] = self.start_timestamp
            elif what == "beginning":
                spec[tp] = EARLIEST
            elif what == "end":
                spec[tp] = LATEST
            elif isinstance(what, int) and what >= 0:
                self.positions[tp] = what
            elif isinstance(what, int):
                spec[tp] = LATEST
                relative.add(tp)
            else:
                raise ClientError(f"bad start offset {what!r}")
        if not spec:
            return
        found = await self.client.list_offsets(spec)
        # No record at or after the timestamp: start at the end.
        missing = {tp: LATEST for tp, (offset, _) in found.items() if offset < 0}
        if missing:
            found.update(await self.client.list_offsets(missing))
        earliest = {}
        if relative:
            earliest = await self.client.list_offsets({tp: EARLIEST for tp in relative})
        for tp, (offset, _) in found.items():
            if tp in relative:
                offset = max(offset + start, earliest[tp][0])
            self.positions[tp] = offset

    # ------------------------------------------------------------------ main loop

    async def records(self, limit: int | None = None) -> AsyncIterator[ConsumedRecord]:
        """Records in offset order per partition; stops after `limit` records, or at the end
        of every partition with `exit_at_end`."""
        if self.group:
            await self._join()
        else:
            infos = [await self.client.topic(t) for t in self.topics]
            tps = [(info.name, p.index) for info in infos for p in info.partitions
                   if self.partitions is None or p.index in self.partitions]
            if not tps:
                raise ClientError("no partitions to consume")
            self._assigned = set(tps)
            await self._resolve_start(tps)
        count = 0
        loop = asyncio.get_running_loop()
        last_commit = loop.time()
        try:
            while True:
                if self._fatal is not None:
                    raise self._fatal
                if self._assignment_changed.is_set():
                    self._assignment_changed.clear()
                    await self._apply_assignment()
                active = {tp: self.positions[tp] for tp in self._assigned if tp in self.positions}
                if self.exit_at_end and active and all(
                        tp in self.high_watermarks and pos >= self.high_watermarks[tp]
                        for tp, pos in active.items()):
                    return
                if not active:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._assignment_changed.wait(),
                                               self.max_wait_ms / 1000)
                    continue
                wait = 0 if self.exit_at_end and len(self.high_watermarks) < len(active) else (
                    self.max_wait_ms)
                fetched = await self.client.fetch(active, max_wait_ms=wait)
                for tp, data in sorted(fetched.items()):
                    if tp not in self._assigned:
                        continue
                    if data.error_code == ErrorCode.offset_out_of_range:
                        await self._reset_out_of_range(tp)
                        continue
                    if data.error_code in (ErrorCode.not_leader_or_follower,
                                           ErrorCode.unknown_topic_or_partition,
                                           ErrorCode.leader_not_available):
                        await self.client.metadata(self.topics)
                        continue
                    check(data.error_code, f"fetch {tp[0]}-{tp[1]}")
                    self.high_watermarks[tp] = data.high_watermark
                    for record in self._decode(tp, data.records):
                        yield record
                        count += 1
                        if limit is not None and count >= limit:
                            return
                if self.group and loop.time() - last_commit >= self.commit_interval:
                    last_commit = loop.time()
                    await self.commit()
        finally:
            if self.group:
                await self._leave()

    def _decode(self, tp: TopicPartition, data: bytes | None):
        if not data:
            return
        view = memoryview(data)
        pos = 0
        position = self.positions[tp]
        while len(view) - pos >= 61:
            h = parse_batch_header(view, pos)
            size = h.batch_length + LOG_OVERHEAD
            if pos + size > len(view):
                break  # a partial batch at the end (the fetch hit max bytes)
            if not h.is_control:
                for r in iter_records(view[pos : pos + size]):
                    if r.offset >= position:
                        self.positions[tp] = r.offset + 1
                        yield _consumed(tp, r)
            self.positions[tp] = max(self.positions[tp], h.last_offset + 1)
            position = self.positions[tp]
            pos += size

    async def _reset_out_of_range(self, tp: TopicPartition) -> None:
        which = EARLIEST if self.reset == "beginning" else LATEST
        found = await self.client.list_offsets({tp: which})
        self.positions[tp] = found[tp][0]

    # ------------------------------------------------------------------ groups (KIP-848)

    async def commit(self) -> None:
        if not self.group:
            return
        offsets = {tp: pos for tp, pos in self.positions.items()
                   if tp in self._assigned and self._committed.get(tp) != pos}
        if not offsets:
            return
        try:
            await self.client.commit_offsets(self.group, offsets, member_id=self.member_id,
                                             generation=self.member_epoch,
                                             conn=self._coordinator)
        except KafkaClientError as exc:
            if exc.code in (ErrorCode.stale_member_epoch, ErrorCode.unknown_member_id,
                            ErrorCode.fenced_member_epoch, ErrorCode.illegal_generation,
                            ErrorCode.rebalance_in_progress):
                return  # the assignment moved on; the next owner starts from the last commit
            raise
        self._committed.update(offsets)

    async def _join(self) -> None:
        conn = await self.client.coordinator(self.group)
        self._coordinator = conn
        kip848 = conn.supports(ApiKey.CONSUMER_GROUP_HEARTBEAT)
        protocol = self.group_protocol or ("consumer" if kip848 else "classic")
        if protocol == "classic":
            await self._join_classic()
            return
        if not kip848:
            raise ClientError("the broker does not support KIP-848 consumer groups "
                              "(ConsumerGroupHeartbeat); use the classic protocol")
        for t in self.topics:
            info = await self.client.topic(t)
            self._topic_names[info.topic_id] = t
        self.member_id = _new_member_id()
        self.member_epoch = 0
        resp = await self._heartbeat(full=True)
        if self.group_protocol is None and resp.error_code in _CLASSIC_ONLY:
            await self._join_classic()
            return
        self._handle_heartbeat(resp)
        self._heartbeat_task = asyncio.get_running_loop().create_task(self._heartbeat_loop(
            resp.heartbeat_interval.total_seconds()))
        await self._apply_assignment()

    async def _heartbeat(self, *, full: bool = False, leave: bool = False):
        owned = {}
        for t, p in self._assigned:
            owned.setdefault(t, []).append(p)
        ids = {name: tid for tid, name in self._topic_names.items()}
        values = {
            "group_id": self.group, "member_id": self.member_id,
            "member_epoch": -1 if leave else self.member_epoch, "instance_id": None,
            "rack_id": None, "rebalance_timeout": 60000 if full else -1,
            "subscribed_topic_names": self.topics if full else None,
            "subscribed_topic_regex": None, "server_assignor": None,
            "topic_partitions": [{"topic_id": ids[t], "partitions": sorted(ps)}
                                 for t, ps in sorted(owned.items()) if t in ids]}
        return await self._coordinator.request(ApiKey.CONSUMER_GROUP_HEARTBEAT, values)

    def _handle_heartbeat(self, resp) -> None:
        check(resp.error_code, resp.error_message, "ConsumerGroupHeartbeat")
        self.member_id = resp.member_id or self.member_id
        self.member_epoch = resp.member_epoch
        if resp.assignment is not None:
            target = {(self._topic_names[tp.topic_id], p)
                      for tp in resp.assignment.topic_partitions
                      if tp.topic_id in self._topic_names for p in tp.partitions}
            self._target = target
            self._assignment_changed.set()

    async def _apply_assignment(self) -> None:
        target = getattr(self, "_target", None)
        if target is None:
            return
        revoked = self._assigned - target
        if revoked:
            await self.commit()
            for tp in revoked:
                self.positions.pop(tp, None)
                self.high_watermarks.pop(tp, None)
        added = sorted(target - self._assigned)
        self._assigned = set(target)
        await self._resolve_start(added)

    async def _heartbeat_loop(self, interval: float) -> None:
        try:
            while True:
                await asyncio.sleep(max(interval, 0.1))
                resp = await self._heartbeat()
                if resp.error_code in (ErrorCode.fenced_member_epoch,
                                       ErrorCode.unknown_member_id):
                    self._assigned = set()
                    self.member_epoch = 0
                    resp = await self._heartbeat(full=True)
                self._handle_heartbeat(resp)
                interval = resp.heartbeat_interval.total_seconds()
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            self._fatal = exc

    # ------------------------------------------------------------------ groups (classic)

    async def _join_classic(self) -> None:
        self._classic = ClassicMember(self.client, self._coordinator, self.group, self.topics)
        self._on_classic_assignment(await self._classic.join())
        self._heartbeat_task = asyncio.get_running_loop().create_task(self._classic_loop())
        await self._apply_assignment()

    def _on_classic_assignment(self, partitions: set[TopicPartition]) -> None:
        self.member_id = self._classic.member_id
        self.member_epoch = self._classic.generation  # what OffsetCommit checks
        self._target = partitions
        self._assignment_changed.set()

    async def _classic_rebalance(self) -> None:
        """Eager: commit, then stop reading every partition before joining again."""
        with contextlib.suppress(ClientError):
            await self.commit()
        self._assigned = set()
        self.positions.clear()
        self.high_watermarks.clear()

    async def _classic_loop(self) -> None:
        try:
            await self._classic.heartbeats(self._classic_rebalance, self._on_classic_assignment)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            self._fatal = exc

    async def _leave(self) -> None:
        if self._heartbeat_task is not None:
            self._heartbeat_task.cancel()
            with contextlib.suppress(BaseException):
                await self._heartbeat_task
        if self._coordinator is None or self._coordinator.closed:
            return
        with contextlib.suppress(ClientError, OSError):
            await self.commit()
            if self._classic is not None:
                await self._classic.leave()
            else:
                await self._heartbeat(leave=True)


# Answers to a first ConsumerGroupHeartbeat that mean "join with the classic protocol": a broker
# that lists the API but has KIP-848 turned off (Kafka's group.coordinator.rebalance.protocols),
# or a group of classic members.
_CLASSIC_ONLY = (ErrorCode.unsupported_version, ErrorCode.inconsistent_group_protocol,
                 ErrorCode.group_id_not_found)


def _consumed(tp: TopicPartition, r: Record) -> ConsumedRecord:
    return ConsumedRecord(tp[0], tp[1], r.offset, r.timestamp, r.key, r.value, r.headers)


def _new_member_id() -> str:
    import base64

    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
