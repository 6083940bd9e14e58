"""Writing responses: bytes with `os.writev`, log file slices with `os.sendfile`.

The connection's transport is only used for reading. Responses are written straight to a
dup of the socket's fd: uvloop has no `loop.sendfile` (uvloop#228), and mixing transport
writes with direct sendfile would reorder bytes. When the socket is full the rest is queued
and written when the dup'ed fd becomes writable (`loop.add_writer` on the dup, which both
uvloop and asyncio allow while the transport owns the original fd).

`BufferedOutput` is the fallback where the kernel cannot help (TLS): slices are read into
memory and written through the transport.
"""

from __future__ import annotations

import asyncio
import os
from collections import deque
from collections.abc import Callable

_IOV_MAX = 512  # fewer than the kernel's 1024, leaves headroom


class SocketOutput:
    def __init__(self, loop: asyncio.AbstractEventLoop, sock_fd: int,
                 on_drained: Callable[[], None]) -> None:
        self.loop = loop
        self.fd = os.dup(sock_fd)
        os.set_blocking(self.fd, False)
        self.queue: deque = deque()  # bytes/memoryview, or [slice, sent_so_far]
        self.pending_bytes = 0
        self.on_drained = on_drained
        self.closed = False
        self._writer_added = False

    def write(self, parts: list) -> None:
        """Queue a response's parts and write as much as the socket takes now."""
        if self.closed:
            return
        if len(parts) == 1 and not self.queue and type(parts[0]) is bytes:
            # Most responses (produce, metadata, ...) are one chunk and the socket is ready:
            # one write, nothing queued.
            part = parts[0]
            try:
                n = os.write(self.fd, part)
            except (BlockingIOError, InterruptedError):
                n = 0
            except OSError:
                self.close()
                return
            if n == len(part):
                self.on_drained()
                return
            parts = [memoryview(part)[n:]]  # the socket is full: queue the rest
        for part in parts:
            if isinstance(part, bytes | bytearray | memoryview):
                if len(part):
                    self.queue.append(part)
            elif len(part):
                self.queue.append([part, 0])
            self.pending_bytes += len(part)
        if not self._writer_added:
            self._flush()

    def _flush(self) -> None:
        queue = self.queue
        try:
            while queue:
                head = queue[0]
                if isinstance(head, list):
                    part, done = head
                    remaining = len(part) - done
                    n = os.sendfile(self.fd, part.fileno(), part.position + done, remaining)
                    if n == 0:  # the file shrank under us (truncation): give up the connection
                        raise BrokenPipeError("file slice ended early")
                    self.pending_bytes -= n
                    if n < remaining:
                        head[1] = done + n
                        break  # the socket is full: wait until it is writable
                    queue.popleft()
                    continue
                batch = []
                total = 0
                for item in queue:
                    if isinstance(item, list) or len(batch) == _IOV_MAX:
                        break
                    batch.append(item)
                    total += len(item)
                n = os.writev(self.fd, batch)
                self.pending_bytes -= n
                full = n < total
                while n:
                    first = queue[0]
                    if n >= len(first):
                        n -= len(first)
                        queue.popleft()
                    else:
                        queue[0] = memoryview(first)[n:]
                        n = 0
                if full:
                    break
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            self.close()
            return
        if queue:
            if not self._writer_added:
                self.loop.add_writer(self.fd, self._flush)
                self._writer_added = True
        else:
            if self._writer_added:
                self.loop.remove_writer(self.fd)
                self._writer_added = False
            self.on_drained()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self._writer_added:
            self.loop.remove_writer(self.fd)
            self._writer_added = False
        self.queue.clear()
        self.pending_bytes = 0
        os.close(self.fd)


class BufferedOutput:
    """Through the transport (TLS): file slices are read into memory first."""

    def __init__(self, transport: asyncio.WriteTransport) -> None:
        self.transport = transport
        self.closed = False

    @property
    def pending_bytes(self) -> int:
        return self.transport.get_write_buffer_size()

    def write(self, parts: list) -> None:
        if self.closed:
            return
        self.transport.writelines(
            [p if isinstance(p, bytes | bytearray | memoryview) else p.read_bytes()
             for p in parts])

    def close(self) -> None:
        self.closed = True
