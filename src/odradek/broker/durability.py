"""When appended records are fsynced, and which acknowledgements wait for it.

Kafka's knobs, per topic (broker defaults `log.flush.interval.messages` / `.ms`):
- `flush.messages` = N: once N records have been appended since the last fsync, fsync. The
  produce request that crossed the threshold is acknowledged only after that fsync. With
  N = 1 (`odradek serve --fsync always`) every acknowledged record is on disk.
- `flush.ms` = T: records are fsynced at most T ms after being appended (in the background;
  acknowledgements do not wait). `--fsync interval`.
- both at their default (Long.MAX, `--fsync never`): the OS writes back when it likes, which
  survives a crash of the broker process (kill -9), not a crash of the machine.

Group commit: fsyncs run on a worker thread (os.fsync releases the GIL) while the event loop
keeps appending; every request that needs durability while an fsync is running joins the next
one. So with `always`, one fsync covers all the requests that arrived meanwhile, and the
throughput stays high.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import time

from ..log.partition_log import PartitionLog

log = logging.getLogger("odradek.broker")
LONG_MAX = 9223372036854775807


def _fsync_all(fds: list[int]) -> None:
    for fd in fds:
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class FlushScheduler:
    def __init__(self) -> None:
        self._pending: dict[PartitionLog, None] = {}  # logs to fsync in the next round
        self._waiters: list[asyncio.Future] = []  # acknowledgements waiting for that round
        self._timers: dict[PartitionLog, asyncio.TimerHandle] = {}
        self._running: asyncio.Task | None = None
        self._executor = concurrent.futures.ThreadPoolExecutor(1, "odradek-fsync")
        self.fsyncs = 0  # rounds run, for tests and metrics

    def after_append(self, plog: PartitionLog, now_ms: int,
                     wrote: bool = True) -> asyncio.Future | None:
        """Called after each append; returns a future to await before acknowledging, if the
        log's flush policy wants this request's records on disk first. `wrote` is False for
        an idempotent retry acknowledged without writing: with flush.messages=1 it still
        waits, as the original write may not have reached the disk yet."""
        config = plog.config
        if plog.unflushed_messages >= config.flush_messages or (
                now_ms - plog.last_flush_ms >= config.flush_ms) or (
                not wrote and config.flush_messages <= 1):
            fut = asyncio.get_running_loop().create_future()
            self._waiters.append(fut)
            self._schedule(plog)
            return fut
        if config.flush_ms < LONG_MAX and plog not in self._timers:
            self._timers[plog] = asyncio.get_running_loop().call_later(
                config.flush_ms / 1000, self._flush_later, plog)
        return None

    def _flush_later(self, plog: PartitionLog) -> None:
        self._timers.pop(plog, None)
        if plog.unflushed_messages:
            self._schedule(plog)

    def _schedule(self, plog: PartitionLog) -> None:
        self._pending[plog] = None
        if self._running is None:
            self._running = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._pending:
                logs, self._pending = list(self._pending), {}
                waiters, self._waiters = self._waiters, []
                fds = []
                for plog in logs:
                    try:
                        fds.append(plog.flush_fd())
                    except (OSError, IndexError):
                        continue  # deleted meanwhile: nothing left to make durable
                    plog.unflushed_messages = 0
                    plog.last_flush_ms = time.time_ns() // 1_000_000
                error: BaseException | None = None
                try:
                    await loop.run_in_executor(self._executor, _fsync_all, fds)
                except OSError as exc:
                    log.error("fsync failed: %s", exc)
                    error = exc
                self.fsyncs += 1
                for fut in waiters:
                    if not fut.done():
                        if error is None:
                            fut.set_result(None)
                        else:
                            fut.set_exception(error)
        finally:
            self._running = None

    def forget(self, plog: PartitionLog) -> None:
        """A log being deleted or closed."""
        self._pending.pop(plog, None)
        timer = self._timers.pop(plog, None)
        if timer is not None:
            timer.cancel()

    def close(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        self._executor.shutdown(wait=True)
