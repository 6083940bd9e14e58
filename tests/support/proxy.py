"""A TCP proxy between Kafka clients and the broker that can lose a response on purpose.

Armed with `drop_next_response(api_key)`, it forwards the next request of that API to the
broker, swallows the broker's response and cuts the client's connection: the broker did the
work, the client never heard back — what a crash of the network looks like to a producer.
"""

from __future__ import annotations

import socket
import struct
import threading


class CuttingProxy:
    def __init__(self, target_port: int | None = None) -> None:
        self.target_port = target_port  # may be set after construction
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.drop_api_key: int | None = None
        self.dropped = 0
        self.lock = threading.Lock()
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def drop_next_response(self, api_key: int) -> None:
        with self.lock:
            self.drop_api_key = api_key

    def close(self) -> None:
        self.closed = True
        self.listener.close()

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            pending: dict[int, int] = {}  # correlation id -> api key
            threading.Thread(target=self._requests, args=(client, upstream, pending),
                             daemon=True).start()
            threading.Thread(target=self._responses, args=(upstream, client, pending),
                             daemon=True).start()

    def _requests(self, client: socket.socket, upstream: socket.socket, pending: dict) -> None:
        try:
            while True:
                frame = _read_frame(client)
                api_key, _, correlation = struct.unpack_from(">hhi", frame, 4)
                pending[correlation] = api_key
                upstream.sendall(frame)
        except OSError:
            _close(client, upstream)

    def _responses(self, upstream: socket.socket, client: socket.socket, pending: dict) -> None:
        try:
            while True:
                frame = _read_frame(upstream)
                correlation = struct.unpack_from(">i", frame, 4)[0]
                api_key = pending.pop(correlation, None)
                with self.lock:
                    drop = api_key is not None and api_key == self.drop_api_key
                    if drop:
                        self.drop_api_key = None
                        self.dropped += 1
                if drop:
                    _close(client, upstream)
                    return
                client.sendall(frame)
        except OSError:
            _close(client, upstream)


def _read_frame(sock: socket.socket) -> bytes:
    head = _read_exact(sock, 4)
    return head + _read_exact(sock, struct.unpack(">i", head)[0])


def _read_exact(sock: socket.socket, n: int) -> bytes:
    out = bytearray()
    while len(out) < n:
        chunk = sock.recv(n - len(out))
        if not chunk:
            raise ConnectionError("closed")
        out += chunk
    return bytes(out)


def _close(*socks: socket.socket) -> None:
    for s in socks:
        try:
            # shutdown first: a plain close() does not send FIN while the other thread is
            # still blocked in recv() on the same socket.
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        s.close()
