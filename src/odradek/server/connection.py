"""One client connection: framing, in-order request processing, back-pressure.

Frames are read with `asyncio.BufferedProtocol` into a reusable buffer; each complete request
is copied once into its own `bytearray` (the produce path patches base offsets into it).
A frame too big for the buffer gets a dedicated buffer that the socket reads straight into.

Requests on one connection are answered in order, one at a time, as Kafka does. Most handlers
return at once, so the common path has no task switch; a handler that must wait (a long-poll
fetch) returns an awaitable, and later frames queue up behind it.

Back-pressure, so that neither a client that does not read its socket nor a flood of requests
can grow the broker's memory without bound: reading pauses (and no further buffered frame is
parsed) while more than MAX_QUEUED_REQUESTS / MAX_QUEUED_BYTES wait behind a parked request or
more than MAX_UNSENT_BYTES of responses are unsent, and resumes when they drain. Memory held per
connection stays below the receive buffer + the queue limits + one request + the unsent limit +
one response. Across connections, buffers of frames bigger than the receive buffer (large
produce requests) come out of the server's `request_memory_limit`: a connection that would
exceed it waits, paused, until another request is done.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from time import monotonic, perf_counter
from typing import TYPE_CHECKING

from ..handlers import CloseConnection, dispatch, frame_response
from .output import BufferedOutput, SocketOutput

if TYPE_CHECKING:
    from ..security.listeners import Listener
    from .listener import KafkaServer

log = logging.getLogger("odradek.server")

RECV_BUFFER = 256 * 1024
# Connections start with a small receive buffer and grow it to RECV_BUFFER when a frame needs
# it: a thousand idle connections should not hold 256 MB.
INITIAL_RECV_BUFFER = 16 * 1024
MAX_QUEUED_REQUESTS = 64
MAX_QUEUED_BYTES = 16 * 1024 * 1024
# File slices count too (they cost no memory, but a client that reads nothing should not make
# the broker pile up work for it either).
MAX_UNSENT_BYTES = 16 * 1024 * 1024


class KafkaConnection(asyncio.BufferedProtocol):
    def __init__(self, server: KafkaServer, listener: Listener | None = None) -> None:
        self.server = server
        self.listener = listener  # None: the default PLAINTEXT listener
        self.session = None  # security state (principal, SASL): security/session.py
        self.ctx_args: tuple = ()  # what dispatch() needs to know of this connection
        self.max_request = server.max_request_bytes
        self.buf = bytearray(INITIAL_RECV_BUFFER)
        self.start = 0
        self.end = 0
        self.big: bytearray | None = None  # a frame larger than buf, being read
        self.big_got = 0
        self.pending: deque[bytearray] = deque()
        self.queued_bytes = 0  # sum of the lengths in `pending`
        self.reserved = 0  # bytes of the server's request memory held by `big`
        self.busy = False
        self.closed = False
        self.reading_paused = False
        self.transport: asyncio.Transport | None = None
        self.task: asyncio.Task | None = None
        self.peer = ("?", 0)
        self.stats = server.core.stats  # metrics counters (odradek.metrics); None: off
        self.last_active = 0.0  # monotonic time of the last bytes in (connections.max.idle.ms)
        self.counted = False  # in the server's connection counts (max.connections)

    # ------------------------------------------------------------------ asyncio callbacks

    def connection_made(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        peer = transport.get_extra_info("peername")
        if peer:
            self.peer = (peer[0], peer[1])
        self.last_active = monotonic()
        refusal = self.server.admit(self)
        if refusal is not None:
            log.info("refusing connection from %s:%d: %s", *self.peer, refusal)
            self.closed = True
            self.output = BufferedOutput(transport)
            transport.abort()
            return
        self.session = self.server.new_session(self.listener, transport)
        self.ctx_args = self.server.context_args(self.peer, self.session)
        if self.session is not None and not self.session.authenticated:
            # Before SASL authentication only small requests (sasl.server.max.receive.size).
            self.max_request = min(self.max_request, self.server.sasl_max_receive)
            self.session.on_complete = self._authenticated
        sock = transport.get_extra_info("socket")
        if (self.server.sendfile and transport.get_extra_info("sslcontext") is None
                and sock is not None):
            self.output = SocketOutput(asyncio.get_running_loop(), sock.fileno(),
                                       self._maybe_resume)
        else:
            self.output = BufferedOutput(transport)
        self.server.connections.add(self)
        if self.stats is not None:
            self.stats.connections_accepted += 1

    def _authenticated(self) -> None:
        self.max_request = self.server.max_request_bytes

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.release(self)
        self.closed = True
        self.output.close()
        self.pending.clear()
        self.queued_bytes = 0
        self.big = None
        self._release()
        self.server.memory_waiters.discard(self)
        if self.task is not None and not self.task.done():
            self.task.cancel()
        self.server.connections.discard(self)

    def get_buffer(self, sizehint: int) -> memoryview:
        if self.big is not None:
            return memoryview(self.big)[self.big_got :]
        if self.end == len(self.buf):
            self._compact()
        return memoryview(self.buf)[self.end :]

    def buffer_updated(self, nbytes: int) -> None:
        self.last_active = monotonic()
        if self.big is not None:
            self.big_got += nbytes
            if self.big_got == len(self.big):
                frame, self.big = self.big, None
                self._on_frame(frame)
                self._release()
            return
        self.end += nbytes
        self._parse()

    def eof_received(self) -> bool:
        return False  # close our side too

    def resume_writing(self) -> None:
        # BufferedOutput: the transport's buffer drained below its low-water mark.
        self._maybe_resume()

    # ------------------------------------------------------------------ framing

    def _compact(self) -> None:
        buf = self.buf
        n = self.end - self.start
        buf[:n] = buf[self.start : self.end]
        self.start, self.end = 0, n

    def _grow(self) -> None:
        buf = bytearray(RECV_BUFFER)
        n = self.end - self.start
        buf[:n] = self.buf[self.start : self.end]
        self.buf, self.start, self.end = buf, 0, n

    def _parse(self) -> None:
        buf = self.buf
        # While paused, frames already received stay in `buf`: the limits hold for them too.
        while self.end - self.start >= 4 and not self.closed and not self.reading_paused:
            start = self.start
            size = int.from_bytes(buf[start : start + 4], "big", signed=True)
            if size <= 0 or size > self.max_request:
                log.warning("closing connection from %s:%d: request size %d outside 1..%d "
                            "(socket.request.max.bytes)", *self.peer, size, self.max_request)
                self.close()
                return
            available = self.end - start - 4
            if available >= size:
                frame = buf[start + 4 : start + 4 + size]
                self.start = start + 4 + size
                self._on_frame(frame)
                continue
            if size + 4 > len(buf) and size + 4 <= RECV_BUFFER:
                self._grow()  # the frame fits the full-size buffer: wait for the rest there
                return
            if size + 4 > len(buf):
                if not self._reserve(size):
                    return
                self.big = bytearray(size)
                self.big[:available] = buf[start + 4 : self.end]
                self.big_got = available
                self.start = self.end = 0
            elif len(buf) - start < size + 4:
                self._compact()
            return
        if self.start == self.end:
            self.start = self.end = 0

    # ------------------------------------------------------------------ processing

    def _on_frame(self, frame: bytearray) -> None:
        # Behind a parked request, and behind the queue while it drains (a response written
        # during the drain may resume reading and bring the next frames here): in order.
        if self.busy or self.pending:
            self.pending.append(frame)
            self.queued_bytes += len(frame)
            if len(self.pending) >= MAX_QUEUED_REQUESTS or self.queued_bytes >= MAX_QUEUED_BYTES:
                self._pause_reading()
            return
        self._process(frame)

    def _process(self, frame: bytearray, inject: bool = True) -> None:
        faults = self.server.faults
        if faults is not None and inject and faults.intercept(self, frame):
            return  # a fault injected by tests (odradek.testing): dropped, delayed or failed
        stats = self.stats
        started = perf_counter() if stats is not None else 0.0
        try:
            header, result = dispatch(self.ctx_args, frame)
        except Exception as exc:
            self._fail(exc)
            return
        if hasattr(result, "__await__"):
            self.busy = True
            self.task = asyncio.get_running_loop().create_task(
                self._finish(header, result, started))
            return
        self._respond(header, result)
        if stats is not None:
            stats.request(header.api_key, perf_counter() - started)

    async def _finish(self, header, awaitable, started: float = 0.0) -> None:
        try:
            result = await awaitable
        except Exception as exc:  # CancelledError is not an Exception: it propagates
            self._fail(exc)
            return
        self._respond(header, result)
        if self.stats is not None:
            self.stats.request(header.api_key, perf_counter() - started)
        self.busy = False
        self._drain()

    def _fail(self, exc: Exception) -> None:
        """A request that cannot be answered: Kafka closes the connection."""
        if isinstance(exc, CloseConnection):
            log.info("closing connection from %s:%d: %s", *self.peer, exc)
        else:
            log.error("error handling a request from %s:%d; closing the connection",
                      *self.peer, exc_info=exc)
        self.close()

    def _drain(self) -> None:
        """Process the requests that queued up while one was waiting."""
        while self.pending and not self.busy and not self.closed:
            frame = self.pending.popleft()
            self.queued_bytes -= len(frame)
            self._process(frame)
        self._maybe_resume()

    def _respond(self, header, body) -> None:
        if body is None or self.closed:
            return
        self.output.write(frame_response(header, body))
        if self.output.pending_bytes > MAX_UNSENT_BYTES:
            self._pause_reading()

    # ------------------------------------------------------------------ flow control

    def _pause_reading(self) -> None:
        if not self.reading_paused and not self.closed:
            self.reading_paused = True
            self.transport.pause_reading()

    def _maybe_resume(self) -> None:
        if (self.reading_paused and not self.closed and len(self.pending) < MAX_QUEUED_REQUESTS
                and self.queued_bytes < MAX_QUEUED_BYTES
                and self.output.pending_bytes <= MAX_UNSENT_BYTES):
            self.reading_paused = False
            # Frames that arrived before the pause are still in the buffer: they go first, and
            # may pause reading again (the transport is then still paused: nothing to undo).
            if self.big is None:
                self._parse()
            if not self.reading_paused and not self.closed:
                self.transport.resume_reading()

    def _reserve(self, size: int) -> bool:
        """Take `size` bytes of the server's request memory for a big frame, or pause until
        another connection gives some back (one frame always fits when nothing else is held)."""
        server = self.server
        if server.request_memory and server.request_memory + size > server.request_memory_limit:
            server.memory_waiters.add(self)
            self._pause_reading()
            return False
        server.request_memory += size
        self.reserved = size
        return True

    def _release(self) -> None:
        if not self.reserved:
            return
        server = self.server
        server.request_memory -= self.reserved
        self.reserved = 0
        waiters = list(server.memory_waiters)
        server.memory_waiters.clear()
        for conn in waiters:
            conn._maybe_resume()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.output.close()
            self.transport.close()
