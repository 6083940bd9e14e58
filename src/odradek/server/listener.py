"""The listening socket and the broker's background duties (retention)."""

from __future__ import annotations

import asyncio
import logging
import socket

from ..broker.core import BrokerCore
from .connection import KafkaConnection

log = logging.getLogger("odradek.server")
PRODUCER_SNAPSHOT_INTERVAL = 30.0


class KafkaServer:
    def __init__(self, core: BrokerCore) -> None:
        self.core = core
        self.connections: set[KafkaConnection] = set()
        self.max_request_bytes = core.broker_int("socket.request.max.bytes")
        self._server: asyncio.base_events.Server | None = None
        self._housekeeping: asyncio.Task | None = None
        self.port: int | None = None

    def context_args(self, peer: tuple[str, int]) -> tuple:
        return (self.core, peer[0], peer[1])

    async def start(self, host: str, port: int) -> int:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: KafkaConnection(self), host, port, reuse_address=True, backlog=1024)
        sock = self._server.sockets[0]
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.port = sock.getsockname()[1]
        if self.core.advertised_port == 0:  # port 0: advertise the port we got
            self.core.advertised_port = self.port
        self._housekeeping = loop.create_task(self._run_housekeeping())
        return self.port

    async def _run_housekeeping(self) -> None:
        """Retention every `log.retention.check.interval.ms`, committed offsets expiry every
        `offsets.retention.check.interval.ms`; producer state snapshots (which bound the log
        replay after a crash) and expiry every 30 s."""
        loop = asyncio.get_running_loop()
        retention_every = self.core.broker_int("log.retention.check.interval.ms") / 1000
        offsets_every = self.core.broker_int("offsets.retention.check.interval.ms") / 1000
        next_retention = loop.time() + retention_every
        next_offsets = loop.time() + offsets_every
        while True:
            await asyncio.sleep(min(retention_every, offsets_every, PRODUCER_SNAPSHOT_INTERVAL))
            try:
                if loop.time() >= next_retention:
                    next_retention = loop.time() + retention_every
                    deleted = self.core.enforce_retention()
                    if deleted:
                        log.info("retention deleted %d segment(s)", deleted)
                if loop.time() >= next_offsets:
                    next_offsets = loop.time() + offsets_every
                    removed = self.core.groups.expire_offsets()
                    if removed:
                        log.info("offsets retention removed %d empty group(s)", removed)
                self.core.expire_producers()
                self.core.snapshot_producer_state()
            except Exception:
                log.exception("housekeeping failed")

    async def stop(self) -> None:
        if self._housekeeping is not None:
            self._housekeeping.cancel()
        if self._server is not None:
            self._server.close()
        tasks = [c.task for c in self.connections if c.task is not None and not c.task.done()]
        for conn in list(self.connections):
            conn.close()
        for task in tasks:  # parked requests (long polls, joins) end with their connection
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
