"""A tiny HTTP/1.1 server on asyncio streams, for the web console and the metrics endpoint.

It runs on the broker's own event loop (no thread, no extra dependency), so handlers read the
broker's state directly. Enough HTTP for a browser and Prometheus: GET/POST/DELETE, a
Content-Length body, keep-alive, no chunked requests, no TLS.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlsplit

log = logging.getLogger("odradek.http")
MAX_BODY = 1 << 20
_REASONS = {200: "OK", 201: "Created", 204: "No Content", 400: "Bad Request",
            404: "Not Found", 405: "Method Not Allowed", 409: "Conflict",
            413: "Payload Too Large", 500: "Internal Server Error"}


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes = b""

    def json(self):
        return json.loads(self.body or b"null")


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, data, status: int = 200) -> Response:
        return cls(status, json.dumps(data).encode(), "application/json")

    @classmethod
    def error(cls, status: int, message: str) -> Response:
        return cls.json({"error": message}, status)


Handler = Callable[[Request], "Response | Awaitable[Response]"]


class HttpServer:
    """Routes are (method, path prefix) -> handler; the longest matching prefix wins."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.routes: list[tuple[str, str, Handler]] = []
        self._server: asyncio.base_events.Server | None = None
        self._clients: set[asyncio.StreamWriter] = set()
        self.port: int | None = None
        self.on_stop: Callable[[], None] | None = None

    def route(self, method: str, prefix: str, handler: Handler) -> None:
        self.routes.append((method, prefix, handler))
        self.routes.sort(key=lambda r: -len(r[1]))

    async def start(self, host: str, port: int) -> int:
        self._server = await asyncio.start_server(self._serve, host, port, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        if self.on_stop is not None:
            self.on_stop()
        if self._server is None:
            return
        self._server.close()
        for writer in list(self._clients):
            writer.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._clients.add(writer)
        try:
            while True:
                request = await self._read_request(reader)
                if request is None:
                    break
                if isinstance(request, Response):
                    await self._write(writer, request, keep_alive=False)
                    break
                response = await self._dispatch(request)
                keep_alive = request.headers.get("connection", "").lower() != "close"
                await self._write(writer, response, keep_alive)
                if not keep_alive:
                    break
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        except asyncio.CancelledError:
            raise
        finally:
            self._clients.discard(writer)
            writer.close()

    async def _read_request(self, reader: asyncio.StreamReader) -> Request | Response | None:
        line = await reader.readline()
        if not line:
            return None
        try:
            method, target, _version = line.decode("latin-1").split()
        except ValueError:
            return Response.error(400, "bad request line")
        headers = {}
        while True:
            raw = await reader.readline()
            if raw in (b"\r\n", b"\n", b""):
                break
            name, _, value = raw.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length") or 0)
        if length > MAX_BODY:
            return Response.error(413, "body too large")
        body = await reader.readexactly(length) if length else b""
        url = urlsplit(target)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        return Request(method.upper(), unquote(url.path), query, headers, body)

    async def _dispatch(self, request: Request) -> Response:
        allowed = False
        for method, prefix, handler in self.routes:
            if not _matches(request.path, prefix):
                continue
            if method != request.method and not (method == "GET" and request.method == "HEAD"):
                allowed = True
                continue
            try:
                response = handler(request)
                if asyncio.iscoroutine(response):
                    response = await response
                return response
            except Exception as exc:
                log.exception("%s: %s %s failed", self.name, request.method, request.path)
                return Response.error(500, str(exc))
        return Response.error(405 if allowed else 404,
                              "method not allowed" if allowed else "not found")

    async def _write(self, writer: asyncio.StreamWriter, response: Response,
                     keep_alive: bool) -> None:
        reason = _REASONS.get(response.status, "")
        head = [f"HTTP/1.1 {response.status} {reason}",
                f"Content-Type: {response.content_type}",
                f"Content-Length: {len(response.body)}",
                "Cache-Control: no-store",
                f"Connection: {'keep-alive' if keep_alive else 'close'}"]
        head += [f"{k}: {v}" for k, v in response.headers.items()]
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + response.body)
        await writer.drain()


def _matches(path: str, prefix: str) -> bool:
    if prefix.endswith("/") and prefix != "/":
        return path.startswith(prefix)
    return path == prefix
