"""The listening sockets (one per listener, TLS where configured) and the broker's background
duties (retention)."""

from __future__ import annotations

import asyncio
import logging
import socket
import time

from ..broker.core import BrokerCore
from ..security.listeners import Listener
from ..security.principal import ANONYMOUS, USER_TYPE, KafkaPrincipal, dn_from_peercert
from ..security.session import Session
from .connection import KafkaConnection

log = logging.getLogger("odradek.server")
PRODUCER_SNAPSHOT_INTERVAL = 30.0
REQUEST_MEMORY_LIMIT = 256 * 1024 * 1024


class KafkaServer:
    def __init__(self, core: BrokerCore) -> None:
        self.core = core
        self.connections: set[KafkaConnection] = set()
        self.max_request_bytes = core.broker_int("socket.request.max.bytes")
        # False: responses go through the transport, file slices read into memory first (the
        # path TLS will need); tests compare it byte for byte with the sendfile path.
        self.sendfile = True
        # Buffers of requests too big for a connection's receive buffer, all connections
        # together (see connection.py); `memory_waiters` wait, paused, for some to be freed.
        self.request_memory_limit = REQUEST_MEMORY_LIMIT
        self.request_memory = 0
        self.memory_waiters: set[KafkaConnection] = set()
        self._server: asyncio.base_events.Server | None = None
        self._servers: list[asyncio.base_events.Server] = []  # one per listener
        self.listeners: list[Listener] = []  # empty: the default PLAINTEXT listener
        # Largest request before SASL authentication (Kafka's sasl.server.max.receive.size).
        self.sasl_max_receive = core.broker_int("sasl.server.max.receive.size")
        self._housekeeping: asyncio.Task | None = None
        self.port: int | None = None
        # Fault injection for tests (odradek.testing.faults.FaultInjector); None: off.
        self.faults = None
        self.metrics_port: int | None = None  # HTTP listeners started by app.serve
        self.console_port: int | None = None
        # Kafka's connection limits; 0 per IP refuses that address entirely.
        self.max_connections = core.broker_int("max.connections")
        self.max_connections_per_ip = core.broker_int("max.connections.per.ip")
        self.per_ip_overrides = _parse_overrides(
            core.configs.broker_value("max.connections.per.ip.overrides") or "")
        self.connection_count = 0
        self.connections_per_ip: dict[str, int] = {}
        self.idle_ms = core.broker_int("connections.max.idle.ms")

    def admit(self, conn: KafkaConnection) -> str | None:
        """Count a new connection, or say why it is refused (max.connections[.per.ip])."""
        ip = conn.peer[0]
        per_ip = self.connections_per_ip.get(ip, 0)
        limit = self.per_ip_overrides.get(ip, self.max_connections_per_ip)
        if per_ip >= limit:
            return f"{per_ip} connections from {ip} (max.connections.per.ip={limit})"
        if self.connection_count >= self.max_connections:
            return f"{self.connection_count} connections (max.connections)"
        self.connection_count += 1
        self.connections_per_ip[ip] = per_ip + 1
        conn.counted = True
        return None

    def release(self, conn: KafkaConnection) -> None:
        if not conn.counted:
            return
        conn.counted = False
        self.connection_count -= 1
        ip = conn.peer[0]
        left = self.connections_per_ip.get(ip, 1) - 1
        if left:
            self.connections_per_ip[ip] = left
        else:
            self.connections_per_ip.pop(ip, None)

    def close_idle(self) -> int:
        """Close connections that sent nothing for connections.max.idle.ms and have no
        request in progress, as Kafka's selector does."""
        deadline = time.monotonic() - self.idle_ms / 1000
        idle = [c for c in self.connections
                if c.last_active < deadline and not c.busy and not c.pending]
        for conn in idle:
            log.info("closing idle connection from %s:%d", *conn.peer)
            conn.close()
        return len(idle)

    def context_args(self, peer: tuple[str, int], session: Session | None = None) -> tuple:
        return (self.core, peer[0], peer[1], session)

    async def start(self, host: str, port: int, listeners: list[Listener] | None = None) -> int:
        """Listen on `host`:`port` (one PLAINTEXT listener), or on each of `listeners`
        (the `listeners` config: security.listeners.build_listeners). Returns the first
        listener's port."""
        loop = asyncio.get_running_loop()
        self.listeners = listeners or []
        if not self.listeners:
            self._servers = [await self._listen(loop, None, host, port, None)]
            self.port = self._servers[0].sockets[0].getsockname()[1]
            if self.core.advertised_port == 0:  # port 0: advertise the port we got
                self.core.advertised_port = self.port
        else:
            try:
                for listener in self.listeners:
                    server = await self._listen(loop, listener, listener.host, listener.port,
                                                listener.ssl_context)
                    listener.bound_port = server.sockets[0].getsockname()[1]
                    self._servers.append(server)
            except BaseException:  # e.g. a port in use: close the listeners already open
                for server in self._servers:
                    server.close()
                raise
            self.port = self.listeners[0].bound_port
            # The first listener stands for the broker where one address is wanted.
            self.core.advertised_host, self.core.advertised_port = self.listeners[0].endpoint
        self._server = self._servers[0]
        self.core.groups.start()  # session timers of groups restored from the last run
        self._housekeeping = loop.create_task(self._run_housekeeping())
        return self.port

    async def _listen(self, loop, listener: Listener | None, host: str, port: int, ssl_context):
        server = await loop.create_server(
            lambda: KafkaConnection(self, listener), host, port, reuse_address=True,
            backlog=1024, ssl=ssl_context)
        for sock in server.sockets:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return server

    def listener_port(self, name: str) -> int:
        """The port a listener (`listeners` config name, e.g. SASL_SSL) is bound to."""
        for listener in self.listeners:
            if listener.name == name.upper():
                return listener.bound_port
        if not self.listeners and name.upper() == "PLAINTEXT":
            return self.port
        raise KeyError(f"no listener named {name}")

    def new_session(self, listener: Listener | None, transport) -> Session | None:
        """A connection's security state (None on the default PLAINTEXT listener: no checks
        at all). The principal of a TLS client certificate is `User:<subject DN>`."""
        if listener is None:
            return None
        principal = ANONYMOUS
        if listener.tls and not listener.sasl:
            dn = dn_from_peercert(transport.get_extra_info("peercert"))
            if dn:
                principal = KafkaPrincipal(USER_TYPE, dn)
        return Session(listener, principal, self.core.scram)

    async def _run_housekeeping(self) -> None:
        """Retention every `log.retention.check.interval.ms`, committed offsets expiry every
        `offsets.retention.check.interval.ms`; producer state snapshots (which bound the log
        replay after a crash) and expiry every 30 s; idle connections (at most every 10 s)."""
        loop = asyncio.get_running_loop()
        retention_every = self.core.broker_int("log.retention.check.interval.ms") / 1000
        offsets_every = self.core.broker_int("offsets.retention.check.interval.ms") / 1000
        next_retention = loop.time() + retention_every
        next_offsets = loop.time() + offsets_every
        idle_every = max(min(self.idle_ms / 4000, 10.0), 0.05)
        while True:
            await asyncio.sleep(min(retention_every, offsets_every, PRODUCER_SNAPSHOT_INTERVAL,
                                    idle_every))
            try:
                self.close_idle()
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
        for server in self._servers:
            server.close()
        for listener in self.listeners:
            listener.close()
        tasks = [c.task for c in self.connections if c.task is not None and not c.task.done()]
        for conn in list(self.connections):
            conn.close()
        for task in tasks:  # parked requests (long polls, joins) end with their connection
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for server in self._servers:
            await server.wait_closed()


def _parse_overrides(value: str) -> dict[str, int]:
    """`max.connections.per.ip.overrides`: "host1:limit1,host2:limit2"."""
    overrides = {}
    for item in value.split(","):
        host, sep, limit = item.strip().rpartition(":")
        if sep and host:
            overrides[host] = int(limit)
    return overrides
