"""The flush policy and group commit (broker/durability.py) on real logs."""

from __future__ import annotations

import asyncio
import time

from odradek.broker.durability import FlushScheduler
from odradek.log.config import LogConfig
from odradek.log.partition_log import PartitionLog
from odradek.protocol.records import build_batch, validate_batches


def append(plog: PartitionLog, value: bytes) -> None:
    batch = bytearray(build_batch([(None, value)]))
    plog.append(batch, validate_batches(batch), time.time_ns() // 1_000_000)


def now() -> int:
    return time.time_ns() // 1_000_000


def test_flush_messages_1_acks_wait_for_one_shared_fsync(tmp_path):
    async def main():
        flusher = FlushScheduler()
        logs = [PartitionLog.open(tmp_path / f"t-{i}", LogConfig(flush_messages=1))
                for i in range(3)]
        waits = []
        for i in range(10):  # ten requests in one loop turn, on three partitions
            plog = logs[i % 3]
            append(plog, b"x%d" % i)
            waits.append(flusher.after_append(plog, now()))
        assert all(w is not None and not w.done() for w in waits)
        await asyncio.gather(*waits)
        assert flusher.fsyncs == 1  # group commit: one round covered all ten
        assert all(plog.unflushed_messages == 0 for plog in logs)
        append(logs[0], b"later")
        later = flusher.after_append(logs[0], now())
        await later
        assert flusher.fsyncs == 2
        # an idempotent retry written earlier still waits for durability
        retry = flusher.after_append(logs[0], now(), wrote=False)
        assert retry is not None
        await retry
        for plog in logs:
            plog.close()
        flusher.close()

    asyncio.run(main())


def test_default_policy_never_waits_and_interval_flushes_in_background(tmp_path):
    async def main():
        flusher = FlushScheduler()
        default = PartitionLog.open(tmp_path / "a-0", LogConfig())
        append(default, b"a")
        assert flusher.after_append(default, now()) is None
        interval = PartitionLog.open(tmp_path / "b-0", LogConfig(flush_ms=50))
        interval.last_flush_ms = now()
        append(interval, b"b")
        assert flusher.after_append(interval, now()) is None  # acks do not wait
        deadline = time.monotonic() + 10
        while interval.unflushed_messages and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        assert interval.unflushed_messages == 0 and flusher.fsyncs >= 1
        assert default.unflushed_messages == 1
        default.close()
        interval.close()
        flusher.close()

    asyncio.run(main())
