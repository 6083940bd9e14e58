"""Request and response headers (v0-v2), hand-written because every request passes here.

Request header v1: api_key int16, api_version int16, correlation_id int32, client_id
nullable int16-length string. v2 (flexible requests) adds a tagged-field section; its
client_id stays a legacy string, as in Kafka's RequestHeader.json.
Response header v0: correlation_id; v1 adds an (empty) tagged-field section.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from .codec import request_header_version, response_header_version
from .primitives import DecodeError, skip_tagged_fields

_FIXED = struct.Struct(">hhih")
_CORRELATION = struct.Struct(">i")


@dataclass(slots=True)
class RequestHeader:
    api_key: int
    api_version: int
    correlation_id: int
    client_id: str | None
    header_version: int

    def response_header(self) -> bytes:
        """Bytes of the matching response header."""
        head = _CORRELATION.pack(self.correlation_id)
        if response_header_version(self.api_key, self.api_version) >= 1:
            return head + b"\x00"
        return head


def decode_request_header(frame: memoryview) -> tuple[RequestHeader, int]:
    """Parse the header at the start of a request frame (without the 4-byte size).

    Returns the header and the offset where the body starts."""
    if len(frame) < _FIXED.size:
        raise DecodeError("request shorter than its header")
    api_key, api_version, correlation_id, id_len = _FIXED.unpack_from(frame, 0)
    pos = _FIXED.size
    client_id = None
    if id_len >= 0:
        end = pos + id_len
        if end > len(frame):
            raise DecodeError("client_id runs past the end of the request")
        client_id = str(frame[pos:end], "utf-8", "replace")
        pos = end
    version = request_header_version(api_key, api_version)
    if version >= 2:
        # Nearly always an empty tagged-field section.
        pos = pos + 1 if pos < len(frame) and frame[pos] == 0 else skip_tagged_fields(frame, pos)
    return RequestHeader(api_key, api_version, correlation_id, client_id, version), pos
