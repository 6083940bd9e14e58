"""A minimal raw Kafka-protocol client for tests that must control the bytes on the wire."""

from __future__ import annotations

import socket
import struct

from kio.index import load_request_schema, load_response_schema

from odradek.protocol.codec import encode, is_flexible, response_header_version


class WireClient:
    def __init__(self, bootstrap: str, timeout: float = 10) -> None:
        host, port = bootstrap.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        self.correlation = 0

    def close(self) -> None:
        self.sock.close()

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def frame(self, api_key: int, version: int, body: bytes, client_id: str = "wire") -> bytes:
        self.correlation += 1
        header = struct.pack(">hhi", api_key, version, self.correlation)
        cid = client_id.encode()
        header += struct.pack(">h", len(cid)) + cid
        if is_flexible(api_key, version):
            header += b"\x00"
        payload = header + body
        return struct.pack(">i", len(payload)) + payload

    def recv_frame(self) -> bytes:
        size = struct.unpack(">i", self._recv_exact(4))[0]
        return self._recv_exact(size)

    def _recv_exact(self, n: int) -> bytes:
        out = bytearray()
        while len(out) < n:
            chunk = self.sock.recv(n - len(out))
            if not chunk:
                raise ConnectionError("closed by the broker")
            out += chunk
        return bytes(out)

    def request(self, req, api_key: int | None = None, version: int | None = None):
        """Send a kio request entity; return the decoded response entity."""
        api_key = req.__api_key__ if api_key is None else api_key
        version = req.__version__ if version is None else version
        self.send_raw(self.frame(api_key, version, encode(req)))
        return self.read_response(api_key, version)

    def read_response(self, api_key: int, version: int):
        data = self.recv_frame()
        correlation = struct.unpack_from(">i", data)[0]
        assert correlation == self.correlation
        pos = 4 + (1 if response_header_version(api_key, version) else 0)
        cls = load_response_schema(api_key, version)
        from kio.serial import entity_reader

        return entity_reader(cls)(data[pos:], 0)[0]

    def is_closed(self, timeout: float = 5) -> bool:
        self.sock.settimeout(timeout)
        try:
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True


def request_class(api_key: int, version: int):
    return load_request_schema(api_key, version)


__all__ = ["WireClient", "request_class"]
