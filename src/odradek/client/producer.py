"""A batching producer: records are grouped per partition into v2 batches
(`protocol.records.build_batch`) and sent with a few requests in flight.

Keyed records go to `murmur2(key) % partitions`, like the Java client's default partitioner (so
the same key lands on the same partition whichever tool wrote it); records without a key fill
one partition's batch, then the next (the "sticky" partitioner).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable

from ..protocol.records import Compression, Record, build_batch
from .client import Client

COMPRESSIONS = {"none": Compression.NONE, "gzip": Compression.GZIP,
                "snappy": Compression.SNAPPY, "lz4": Compression.LZ4, "zstd": Compression.ZSTD}


def murmur2(data: bytes) -> int:
    """Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2), as a signed int32."""
    length = len(data)
    seed = 0x9747B28C
    m = 0x5BD1E995
    r = 24
    h = (seed ^ length) & 0xFFFFFFFF
    for i in range(0, length - length % 4, 4):
        k = int.from_bytes(data[i:i + 4], "little")
        k = (k * m) & 0xFFFFFFFF
        k ^= k >> r
        k = (k * m) & 0xFFFFFFFF
        h = (h * m) & 0xFFFFFFFF
        h ^= k
    rest = length % 4
    tail = length - rest
    if rest == 3:
        h ^= data[tail + 2] << 16
    if rest >= 2:
        h ^= data[tail + 1] << 8
    if rest >= 1:
        h ^= data[tail]
        h = (h * m) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * m) & 0xFFFFFFFF
    h ^= h >> 15
    return h - (1 << 32) if h & 0x80000000 else h


def partition_for_key(key: bytes, partitions: int) -> int:
    return (murmur2(key) & 0x7FFFFFFF) % partitions


class Producer:
    def __init__(self, client: Client, topic: str, *, partition: int | None = None,
                 batch_records: int = 1000, batch_bytes: int = 512 * 1024,
                 compression: str = "none", in_flight: int = 4) -> None:
        self.client = client
        self.topic = topic
        self.partition = partition
        self.batch_records = batch_records
        self.batch_bytes = batch_bytes
        self.compression = COMPRESSIONS[compression]
        self.partitions = 0
        self.sent_records = 0
        self.sent_bytes = 0
        self._pending: dict[int, list[Record]] = {}
        self._pending_size: dict[int, int] = {}
        self._sticky = 0
        self._in_flight = asyncio.Semaphore(in_flight)
        self._tasks: set[asyncio.Task] = set()
        self._error: BaseException | None = None

    async def start(self) -> Producer:
        info = await self.client.topic_or_create(self.topic)
        self.partitions = len(info.partitions)
        if self.partition is not None and not 0 <= self.partition < self.partitions:
            raise ValueError(f"topic {self.topic} has no partition {self.partition}")
        return self

    async def send(self, value: bytes | None, key: bytes | None = None,
                   headers: Iterable[tuple[str, bytes | None]] = (),
                   timestamp: int | None = None) -> None:
        if self._error is not None:
            raise self._error
        if self.partition is not None:
            partition = self.partition
        elif key is not None:
            partition = partition_for_key(key, self.partitions)
        else:
            partition = self._sticky
        ts = timestamp if timestamp is not None else time.time_ns() // 1_000_000
        batch = self._pending.setdefault(partition, [])
        batch.append(Record(len(batch), ts, key, value, list(headers)))
        size = self._pending_size.get(partition, 0) + len(value or b"") + len(key or b"") + 16
        self._pending_size[partition] = size
        if len(batch) >= self.batch_records or size >= self.batch_bytes:
            if key is None and self.partition is None:
                self._sticky = (self._sticky + 1) % self.partitions
            await self._send_batch(partition)

    async def _send_batch(self, partition: int) -> None:
        records = self._pending.pop(partition, None)
        self._pending_size.pop(partition, None)
        if not records:
            return
        batch = build_batch(records, compression=self.compression)
        await self._in_flight.acquire()

        async def run() -> None:
            try:
                await self.client.produce(self.topic, partition, batch)
                self.sent_records += len(records)
                self.sent_bytes += len(batch)
            except BaseException as exc:  # reported on the next send / flush
                self._error = exc
            finally:
                self._in_flight.release()

        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def send_pending(self) -> None:
        """Send every partial batch now, without waiting for the answers."""
        for partition in list(self._pending):
            await self._send_batch(partition)

    async def flush(self) -> None:
        """Send every partial batch and wait until everything sent is acknowledged."""
        await self.send_pending()
        if self._tasks:
            await asyncio.gather(*list(self._tasks))
        if self._error is not None:
            raise self._error
