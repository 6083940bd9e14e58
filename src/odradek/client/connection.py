"""One TCP connection to one broker: framing, correlation ids, pipelined requests, ApiVersions,
then TLS and SASL as `ClientSecurity` asks (client/security.py).

Requests are built from plain dicts with the newest fields (`protocol.build`), at the highest
version both this client and the broker support; fields the chosen version lacks are dropped.
Responses come back in order (Kafka answers one request at a time per connection), so a reader
task resolves the oldest waiting future for each frame.
"""

from __future__ import annotations

import asyncio
import functools
import struct
from typing import Any

from ..protocol import codec
from ..protocol.api_keys import ApiKey
from ..protocol.build import build
from ..protocol.errors import ErrorCode
from ..protocol.primitives import skip_tagged_fields
from .errors import ConnectionClosed, KafkaClientError
from .security import ClientSecurity, sasl_authenticate

_SIZE = struct.Struct(">i")
_HEADER = struct.Struct(">hhi")

# The newest version of each API this client knows how to fill in. Fetch stays below v13
# (topic ids) and Produce below v13 for the same reason; the others are the newest kio knows.
CLIENT_MAX_VERSIONS: dict[int, int] = {
    ApiKey.PRODUCE: 12,
    ApiKey.FETCH: 12,
    ApiKey.LIST_OFFSETS: 10,
    ApiKey.METADATA: 12,
    ApiKey.OFFSET_COMMIT: 9,
    ApiKey.OFFSET_FETCH: 7,
    ApiKey.FIND_COORDINATOR: 6,
    ApiKey.LIST_GROUPS: 5,
    ApiKey.DESCRIBE_GROUPS: 6,
    ApiKey.API_VERSIONS: 3,
    ApiKey.CREATE_TOPICS: 7,
    ApiKey.DELETE_TOPICS: 6,
    ApiKey.DELETE_RECORDS: 2,
    ApiKey.DESCRIBE_CONFIGS: 4,
    ApiKey.CREATE_PARTITIONS: 3,
    ApiKey.DELETE_GROUPS: 2,
    ApiKey.INCREMENTAL_ALTER_CONFIGS: 1,
    ApiKey.DESCRIBE_CLUSTER: 1,
    ApiKey.CONSUMER_GROUP_HEARTBEAT: 1,
    ApiKey.CONSUMER_GROUP_DESCRIBE: 1,
    ApiKey.JOIN_GROUP: 9,
    ApiKey.SYNC_GROUP: 5,
    ApiKey.HEARTBEAT: 4,
    ApiKey.LEAVE_GROUP: 5,
    ApiKey.SASL_HANDSHAKE: 1,
    ApiKey.SASL_AUTHENTICATE: 2,
}
# Kafka 4 only serves these from here on (older requests are refused).
CLIENT_MIN_VERSIONS: dict[int, int] = {ApiKey.PRODUCE: 3, ApiKey.FETCH: 4}


class BrokerConnection:
    def __init__(self, host: str, port: int, *, client_id: str = "odradek-cli",
                 timeout: float = 30.0, security: ClientSecurity | None = None) -> None:
        self.host = host
        self.port = port
        self.security = security or ClientSecurity()
        self.client_id = client_id.encode()
        self.timeout = timeout
        self.versions: dict[int, tuple[int, int]] = {}  # api key -> broker's (min, max)
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._waiting: list[tuple[int, int, int, asyncio.Future]] = []
        self._correlation = 0
        self._read_task: asyncio.Task | None = None
        self.closed = False

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    async def connect(self) -> BrokerConnection:
        context = self.security.ssl_context()
        try:
            self._reader, self._writer = await asyncio.wait_for(
                asyncio.open_connection(self.host, self.port, ssl=context,
                                        server_hostname=self.host if context else None),
                self.timeout)
        except (OSError, TimeoutError) as exc:  # ssl.SSLError is an OSError
            raise ConnectionClosed(f"cannot connect to {self.address}: {exc}") from None
        self._read_task = asyncio.get_running_loop().create_task(self._read_loop())
        try:
            await self._negotiate()
            if self.security.uses_sasl:
                await sasl_authenticate(self, self.security)
        except BaseException:
            self.close()
            raise
        return self

    async def _negotiate(self) -> None:
        """ApiVersions v3; a broker that does not know v3 answers in v0 format (KIP-511) with its
        table, and we retry with the highest version it has."""
        version = CLIENT_MAX_VERSIONS[ApiKey.API_VERSIONS]
        for _ in range(2):
            body = await self._roundtrip(ApiKey.API_VERSIONS, version, {
                "client_software_name": "odradek", "client_software_version": _version()},
                raw=True)
            (code,) = struct.unpack_from(">h", body, 0)
            if code == ErrorCode.unsupported_version:
                resp = codec.decode_response(ApiKey.API_VERSIONS, 0, body)
                table = {k.api_key: k.max_version for k in resp.api_keys}
                version = min(version, table.get(ApiKey.API_VERSIONS, 0))
                continue
            resp = codec.decode_response(ApiKey.API_VERSIONS, version, body)
            if resp.error_code != ErrorCode.none:
                raise KafkaClientError(resp.error_code, "ApiVersions failed")
            self.versions = {k.api_key: (k.min_version, k.max_version) for k in resp.api_keys}
            return
        raise KafkaClientError(ErrorCode.unsupported_version, "ApiVersions negotiation failed")

    def supports(self, api_key: int) -> bool:
        return api_key in self.versions

    def version_for(self, api_key: int) -> int:
        """The highest version both sides support."""
        if api_key not in self.versions:
            raise KafkaClientError(ErrorCode.unsupported_version,
                                   f"{self.address} does not support {ApiKey(api_key).name}")
        low, high = self.versions[api_key]
        ours_low = CLIENT_MIN_VERSIONS.get(api_key, 0)
        ours_high = min(CLIENT_MAX_VERSIONS.get(api_key, high), max(_kio_versions(api_key)))
        version = min(high, ours_high)
        if version < max(low, ours_low):
            raise KafkaClientError(
                ErrorCode.unsupported_version,
                f"no common version of {ApiKey(api_key).name}: broker {low}-{high}, "
                f"client {ours_low}-{ours_high}")
        return version

    async def request(self, api_key: int, values: dict[str, Any], *,
                      version: int | None = None, timeout: float | None = None) -> Any:
        """Send a request built from `values` (newest field names); return the response."""
        if version is None:
            version = self.version_for(api_key)
        body = await self._roundtrip(api_key, version, values, timeout=timeout)
        return codec.decode_response(api_key, version, body)

    async def _roundtrip(self, api_key: int, version: int, values: dict[str, Any], *,
                         raw: bool = False, timeout: float | None = None) -> memoryview:
        if self.closed or self._writer is None:
            raise ConnectionClosed(f"connection to {self.address} is closed")
        entity = build(codec.request_class(api_key, version), values)
        self._correlation = (self._correlation + 1) & 0x7FFFFFFF
        header = _HEADER.pack(api_key, version, self._correlation)
        header += struct.pack(">h", len(self.client_id)) + self.client_id
        if codec.request_header_version(api_key, version) >= 2:
            header += b"\x00"
        payload = header + codec.encode(entity)
        future = asyncio.get_running_loop().create_future()
        self._waiting.append((self._correlation, api_key, version, future))
        self._writer.write(_SIZE.pack(len(payload)) + payload)
        try:
            return await asyncio.wait_for(future, timeout or self.timeout)
        except TimeoutError:
            self.close()
            raise ConnectionClosed(f"no answer from {self.address} to "
                                   f"{ApiKey(api_key).name} in time") from None

    async def _read_loop(self) -> None:
        reader = self._reader
        error: Exception = ConnectionClosed(f"connection to {self.address} closed")
        try:
            while True:
                size = _SIZE.unpack(await reader.readexactly(4))[0]
                frame = memoryview(await reader.readexactly(size))
                if not self._waiting:
                    continue
                correlation, api_key, version, future = self._waiting.pop(0)
                if _SIZE.unpack_from(frame, 0)[0] != correlation:
                    error = ConnectionClosed(f"{self.address}: correlation id mismatch")
                    break
                pos = 4
                if codec.response_header_version(api_key, version) >= 1:
                    pos = skip_tagged_fields(frame, pos)
                if not future.done():
                    future.set_result(frame[pos:])
        except (asyncio.IncompleteReadError, OSError):
            pass
        except asyncio.CancelledError:
            pass
        self.closed = True
        for _, _, _, future in self._waiting:
            if not future.done():
                future.set_exception(error)
        self._waiting.clear()
        if self._writer is not None:
            self._writer.close()

    def close(self) -> None:
        self.closed = True
        if self._read_task is not None:
            self._read_task.cancel()
        if self._writer is not None:
            self._writer.close()


@functools.cache
def _kio_versions(api_key: int) -> list[int]:
    return [v for v in range(32) if codec.request_class(api_key, v) is not None] or [0]


def _version() -> str:
    from .. import __version__

    return __version__
