"""One client connection: framing, in-order request processing, back-pressure.

Frames are read with `asyncio.BufferedProtocol` into a reusable buffer; each complete request
is copied once into its own `bytearray` (the produce path patches base offsets into it).
A frame too big for the buffer gets a dedicated buffer that the socket reads straight into.

Requests on one connection are answered in order, one at a time, as Kafka does. Most handlers
return at once, so the common path has no task switch; a handler that must wait (a long-poll
fetch) returns an awaitable, and later frames queue up behind it. Reading pauses while too much
is queued or unsent.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import TYPE_CHECKING

from ..handlers import CloseConnection, dispatch, frame_response
from .output import BufferedOutput, SocketOutput

if TYPE_CHECKING:
    from .listener import KafkaServer

log = logging.getLogger("odradek.server")

RECV_BUFFER = 256 * 1024
MAX_QUEUED_REQUESTS = 64
MAX_UNSENT_BYTES = 32 * 1024 * 1024


class KafkaConnection(asyncio.BufferedProtocol):
    def __init__(self, server: KafkaServer) -> None:
        self.server = server
        self.max_request = server.max_request_bytes
        self.buf = bytearray(RECV_BUFFER)
        self.start = 0
        self.end = 0
        self.big: bytearray | None = None  # a frame larger than buf, being read
        self.big_got = 0
        self.pending: deque[bytearray] = deque()
        self.busy = False
        self.closed = False
        self.reading_paused = False
        self.transport: asyncio.Transport | None = None
        self.task: asyncio.Task | None = None
        self.peer = ("?", 0)

    # ------------------------------------------------------------------ asyncio callbacks

    def connection_made(self, transport: asyncio.Transport) -> None:
        self.transport = transport
        peer = transport.get_extra_info("peername")
        if peer:
            self.peer = (peer[0], peer[1])
        sock = transport.get_extra_info("socket")
        if transport.get_extra_info("sslcontext") is None and sock is not None:
            self.output = SocketOutput(asyncio.get_running_loop(), sock.fileno(),
                                       self._maybe_resume)
        else:
            self.output = BufferedOutput(transport)
        self.server.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.output.close()
        self.pending.clear()
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
        if self.big is not None:
            self.big_got += nbytes
            if self.big_got == len(self.big):
                frame, self.big = self.big, None
                self._on_frame(frame)
            return
        self.end += nbytes
        self._parse()

    def eof_received(self) -> bool:
        return False  # close our side too

    # ------------------------------------------------------------------ framing

    def _compact(self) -> None:
        buf = self.buf
        n = self.end - self.start
        buf[:n] = buf[self.start : self.end]
        self.start, self.end = 0, n

    def _parse(self) -> None:
        buf = self.buf
        while self.end - self.start >= 4 and not self.closed:
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
            if size + 4 > len(buf):
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
        if self.busy:
            self.pending.append(frame)
            if len(self.pending) >= MAX_QUEUED_REQUESTS:
                self._pause_reading()
            return
        self._process(frame)

    def _process(self, frame: bytearray) -> None:
        try:
            header, result = dispatch(self.server.context_args(self.peer), frame)
        except CloseConnection as exc:
            log.info("closing connection from %s:%d: %s", *self.peer, exc)
            self.close()
            return
        except Exception:
            log.exception("error handling a request from %s:%d; closing the connection",
                          *self.peer)
            self.close()
            return
        if hasattr(result, "__await__"):
            self.busy = True
            self.task = asyncio.get_running_loop().create_task(self._finish(header, result))
            return
        self._respond(header, result)

    async def _finish(self, header, awaitable) -> None:
        try:
            result = await awaitable
        except asyncio.CancelledError:
            raise
        except CloseConnection as exc:
            log.info("closing connection from %s:%d: %s", *self.peer, exc)
            self.close()
            return
        except Exception:
            log.exception("error handling a request from %s:%d; closing the connection",
                          *self.peer)
            self.close()
            return
        self._respond(header, result)
        self.busy = False
        while self.pending and not self.busy and not self.closed:
            self._process(self.pending.popleft())
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
                and self.output.pending_bytes <= MAX_UNSENT_BYTES):
            self.reading_paused = False
            self.transport.resume_reading()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.output.close()
            self.transport.close()
