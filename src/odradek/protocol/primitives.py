"""Kafka wire primitives for the hand-written hot-path codecs (sans-I/O, `struct` based).

Readers take a buffer (`bytes`, `bytearray` or `memoryview`) and a position, and return
`(value, new_position)`. They never trust a length field: a length larger than what remains in
the buffer raises `DecodeError` before anything is allocated, so a hostile 4-byte prefix cannot
make the broker reserve gigabytes. Byte fields come back as `memoryview` slices of the input
(zero copy: the produce path patches record batches in place through them).

Writers append to a `bytearray` (one growing buffer per message is the cheapest way to build
a response in CPython).

Encodings, after Kafka's `ByteBufferAccessor` / `ByteUtils`:
- legacy (non-flexible) string: int16 length, -1 = null; bytes: int32 length, -1 = null;
  array: int32 count, -1 = null.
- compact (flexible versions, KIP-482): unsigned varint of length + 1, 0 = null.
- every flexible struct ends with a tagged-field section: uvarint count, then per field
  uvarint tag, uvarint size, payload; tags in ascending order.
"""

from __future__ import annotations

import struct
import uuid

__all__ = [
    "DecodeError",
    "INT8",
    "INT16",
    "INT32",
    "INT64",
    "UINT32",
    "UUID_ZERO",
    "read_int8",
    "read_int16",
    "read_int32",
    "read_int64",
    "read_bool",
    "read_uvarint",
    "read_string",
    "read_nullable_string",
    "read_compact_string",
    "read_compact_nullable_string",
    "read_bytes",
    "read_nullable_bytes",
    "read_compact_bytes",
    "read_compact_nullable_bytes",
    "read_uuid",
    "read_array_length",
    "read_compact_array_length",
    "skip_tagged_fields",
    "read_tagged_fields",
    "write_int8",
    "write_int16",
    "write_int32",
    "write_int64",
    "write_bool",
    "uvarint",
    "write_uvarint",
    "write_string",
    "write_nullable_string",
    "write_compact_string",
    "write_compact_nullable_string",
    "write_bytes",
    "write_nullable_bytes",
    "write_compact_bytes",
    "write_compact_nullable_bytes",
    "write_uuid",
    "write_array_length",
    "write_compact_array_length",
    "write_tagged_field",
    "EMPTY_TAGGED_FIELDS",
    "encode_string",
    "encode_nullable_string",
    "encode_array_length",
    "node_endpoints_payload",
]

Buffer = bytes | bytearray | memoryview

INT8 = struct.Struct(">b")
INT16 = struct.Struct(">h")
INT32 = struct.Struct(">i")
INT64 = struct.Struct(">q")
UINT32 = struct.Struct(">I")

UUID_ZERO = uuid.UUID(int=0)
# An empty tagged-field section: a uvarint count of zero.
EMPTY_TAGGED_FIELDS = b"\x00"

# Kafka reads lengths, counts and tags as 32-bit unsigned varints: 5 bytes at most.
_MAX_UVARINT_BYTES = 5
# Small uvarints (< 128) are one byte; precomputed because every compact length and every
# tagged-field section in a response goes through here.
_SMALL_UVARINTS = tuple(bytes((i,)) for i in range(128))


class DecodeError(ValueError):
    """A request that cannot be decoded: truncated, a length past the end, bad varint/UTF-8.

    The server answers it by closing the connection (Kafka does the same for a malformed
    request it cannot even frame a response for)."""


def _truncated(what: str, pos: int, need: int, have: int) -> DecodeError:
    return DecodeError(f"truncated {what} at byte {pos}: need {need} bytes, {have} left")


# --------------------------------------------------------------------------- fixed-size ints


def read_int8(buf: Buffer, pos: int) -> tuple[int, int]:
    try:
        return INT8.unpack_from(buf, pos)[0], pos + 1
    except struct.error:
        raise _truncated("int8", pos, 1, len(buf) - pos) from None


def read_int16(buf: Buffer, pos: int) -> tuple[int, int]:
    try:
        return INT16.unpack_from(buf, pos)[0], pos + 2
    except struct.error:
        raise _truncated("int16", pos, 2, len(buf) - pos) from None


def read_int32(buf: Buffer, pos: int) -> tuple[int, int]:
    try:
        return INT32.unpack_from(buf, pos)[0], pos + 4
    except struct.error:
        raise _truncated("int32", pos, 4, len(buf) - pos) from None


def read_int64(buf: Buffer, pos: int) -> tuple[int, int]:
    try:
        return INT64.unpack_from(buf, pos)[0], pos + 8
    except struct.error:
        raise _truncated("int64", pos, 8, len(buf) - pos) from None


def read_bool(buf: Buffer, pos: int) -> tuple[bool, int]:
    value, pos = read_int8(buf, pos)
    return value != 0, pos


def read_uvarint(buf: Buffer, pos: int) -> tuple[int, int]:
    """Unsigned LEB128 varint, at most 5 bytes (Kafka's `readUnsignedVarint`).

    Unrolled: it runs for every compact length and tagged-field section on the produce path,
    and most values take one to three bytes."""
    try:
        b = buf[pos]
        if b < 0x80:
            return b, pos + 1
        value = b & 0x7F
        b = buf[pos + 1]
        if b < 0x80:
            return value | b << 7, pos + 2
        value |= (b & 0x7F) << 7
        b = buf[pos + 2]
        if b < 0x80:
            return value | b << 14, pos + 3
        value |= (b & 0x7F) << 14
        b = buf[pos + 3]
        if b < 0x80:
            return value | b << 21, pos + 4
        value |= (b & 0x7F) << 21
        b = buf[pos + 4]
        if b < 0x80:
            return value | b << 28, pos + 5
    except IndexError:
        raise DecodeError(f"truncated uvarint at byte {pos}") from None
    raise DecodeError(f"uvarint at byte {pos} is longer than {_MAX_UVARINT_BYTES} bytes")


# --------------------------------------------------------------------------- strings, bytes


def _take(buf: Buffer, pos: int, size: int, what: str) -> memoryview:
    # The check comes before slicing so an absurd length never reaches an allocation.
    if size > len(buf) - pos:
        raise _truncated(what, pos, size, len(buf) - pos)
    return memoryview(buf)[pos : pos + size]


def decode_utf8(view: memoryview, pos: int) -> str:
    """UTF-8 text of `view` (found at byte `pos`, for the error message)."""
    try:
        return str(view, "utf-8")
    except UnicodeDecodeError as exc:
        raise DecodeError(f"invalid UTF-8 string at byte {pos}: {exc.reason}") from None


def read_nullable_string(buf: Buffer, pos: int) -> tuple[str | None, int]:
    """Legacy string: int16 length (-1 = null), UTF-8."""
    size, pos = read_int16(buf, pos)
    if size < 0:
        if size != -1:
            raise DecodeError(f"negative string length {size} at byte {pos - 2}")
        return None, pos
    return decode_utf8(_take(buf, pos, size, "string"), pos), pos + size


def read_string(buf: Buffer, pos: int) -> tuple[str, int]:
    value, new_pos = read_nullable_string(buf, pos)
    if value is None:
        raise DecodeError(f"null in a non-nullable string at byte {pos}")
    return value, new_pos


def read_compact_nullable_string(buf: Buffer, pos: int) -> tuple[str | None, int]:
    """Compact string: uvarint length + 1 (0 = null), UTF-8."""
    size, pos = read_uvarint(buf, pos)
    if size == 0:
        return None, pos
    size -= 1
    return decode_utf8(_take(buf, pos, size, "compact string"), pos), pos + size


def read_compact_string(buf: Buffer, pos: int) -> tuple[str, int]:
    value, new_pos = read_compact_nullable_string(buf, pos)
    if value is None:
        raise DecodeError(f"null in a non-nullable compact string at byte {pos}")
    return value, new_pos


def read_nullable_bytes(buf: Buffer, pos: int) -> tuple[memoryview | None, int]:
    """Legacy bytes: int32 length (-1 = null). Returns a zero-copy slice of `buf`."""
    size, pos = read_int32(buf, pos)
    if size < 0:
        if size != -1:
            raise DecodeError(f"negative bytes length {size} at byte {pos - 4}")
        return None, pos
    return _take(buf, pos, size, "bytes"), pos + size


def read_bytes(buf: Buffer, pos: int) -> tuple[memoryview, int]:
    value, new_pos = read_nullable_bytes(buf, pos)
    if value is None:
        raise DecodeError(f"null in a non-nullable bytes field at byte {pos}")
    return value, new_pos


def read_compact_nullable_bytes(buf: Buffer, pos: int) -> tuple[memoryview | None, int]:
    """Compact bytes: uvarint length + 1 (0 = null). Returns a zero-copy slice of `buf`."""
    size, pos = read_uvarint(buf, pos)
    if size == 0:
        return None, pos
    size -= 1
    return _take(buf, pos, size, "compact bytes"), pos + size


def read_compact_bytes(buf: Buffer, pos: int) -> tuple[memoryview, int]:
    value, new_pos = read_compact_nullable_bytes(buf, pos)
    if value is None:
        raise DecodeError(f"null in a non-nullable compact bytes field at byte {pos}")
    return value, new_pos


def read_uuid(buf: Buffer, pos: int) -> tuple[uuid.UUID, int]:
    return uuid.UUID(bytes=bytes(_take(buf, pos, 16, "uuid"))), pos + 16


# --------------------------------------------------------------------------- arrays


def read_array_length(buf: Buffer, pos: int, min_item_size: int = 1) -> tuple[int, int]:
    """Legacy array count (int32, -1 = null). Returns -1 for null.

    A count whose items cannot possibly fit in the remaining bytes raises: callers loop
    `count` times, and a forged count must not cost more than the bytes actually sent."""
    count, pos = read_int32(buf, pos)
    if count < 0:
        if count != -1:
            raise DecodeError(f"negative array length {count} at byte {pos - 4}")
        return -1, pos
    if count * min_item_size > len(buf) - pos:
        raise DecodeError(
            f"array of {count} items at byte {pos - 4} cannot fit in {len(buf) - pos} bytes"
        )
    return count, pos


def read_compact_array_length(buf: Buffer, pos: int, min_item_size: int = 1) -> tuple[int, int]:
    """Compact array count (uvarint count + 1, 0 = null). Returns -1 for null."""
    start = pos
    count, pos = read_uvarint(buf, pos)
    count -= 1
    if count > 0 and count * min_item_size > len(buf) - pos:
        raise DecodeError(
            f"array of {count} items at byte {start} cannot fit in {len(buf) - pos} bytes"
        )
    return count, pos


# --------------------------------------------------------------------------- tagged fields


def skip_tagged_fields(buf: Buffer, pos: int) -> int:
    """Skip a tagged-field section. Unknown tags must be ignored (KIP-482), so a decoder that
    knows no tags for a struct just skips the whole section."""
    count, pos = read_uvarint(buf, pos)
    if count > len(buf) - pos:
        # Every tagged field takes at least 2 bytes (tag + size); 1 is a cheap lower bound.
        raise DecodeError(f"{count} tagged fields cannot fit in {len(buf) - pos} bytes")
    for _ in range(count):
        _tag, pos = read_uvarint(buf, pos)
        size, pos = read_uvarint(buf, pos)
        if size > len(buf) - pos:
            raise _truncated("tagged field", pos, size, len(buf) - pos)
        pos += size
    return pos


def read_tagged_fields(buf: Buffer, pos: int) -> tuple[dict[int, memoryview], int]:
    """Read a tagged-field section into {tag: payload slice}; the caller decodes the tags it
    knows and ignores the rest."""
    count, pos = read_uvarint(buf, pos)
    if count > len(buf) - pos:
        raise DecodeError(f"{count} tagged fields cannot fit in {len(buf) - pos} bytes")
    fields: dict[int, memoryview] = {}
    for _ in range(count):
        tag, pos = read_uvarint(buf, pos)
        size, pos = read_uvarint(buf, pos)
        fields[tag] = _take(buf, pos, size, "tagged field")
        pos += size
    return fields, pos


# --------------------------------------------------------------------------- writers


def write_int8(out: bytearray, value: int) -> None:
    out += INT8.pack(value)


def write_int16(out: bytearray, value: int) -> None:
    out += INT16.pack(value)


def write_int32(out: bytearray, value: int) -> None:
    out += INT32.pack(value)


def write_int64(out: bytearray, value: int) -> None:
    out += INT64.pack(value)


def write_bool(out: bytearray, value: bool) -> None:
    out += b"\x01" if value else b"\x00"


def uvarint(value: int) -> bytes:
    """Encode an unsigned varint (values up to 2**32 - 1, as Kafka)."""
    if value < 0x80:
        if value < 0:
            raise ValueError(f"uvarint cannot encode negative {value}")
        return _SMALL_UVARINTS[value]
    # Two and three bytes cover records lengths up to 2 MiB (compact records prefixes).
    if value < 0x4000:
        return bytes((value & 0x7F | 0x80, value >> 7))
    if value < 0x200000:
        return bytes((value & 0x7F | 0x80, (value >> 7) & 0x7F | 0x80, value >> 14))
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def write_uvarint(out: bytearray, value: int) -> None:
    out += uvarint(value)


def write_nullable_string(out: bytearray, value: str | None) -> None:
    if value is None:
        out += b"\xff\xff"
        return
    data = value.encode()
    if len(data) > 0x7FFF:
        raise ValueError(f"string of {len(data)} bytes does not fit an int16 length")
    out += INT16.pack(len(data))
    out += data


def write_string(out: bytearray, value: str) -> None:
    if value is None:
        raise TypeError("None in a non-nullable string field")
    write_nullable_string(out, value)


def write_compact_nullable_string(out: bytearray, value: str | None) -> None:
    if value is None:
        out += b"\x00"
        return
    data = value.encode()
    out += uvarint(len(data) + 1)
    out += data


def write_compact_string(out: bytearray, value: str) -> None:
    if value is None:
        raise TypeError("None in a non-nullable compact string field")
    write_compact_nullable_string(out, value)


def write_nullable_bytes(out: bytearray, value: Buffer | None) -> None:
    if value is None:
        out += b"\xff\xff\xff\xff"
        return
    out += INT32.pack(len(value))
    out += value


def write_bytes(out: bytearray, value: Buffer) -> None:
    if value is None:
        raise TypeError("None in a non-nullable bytes field")
    write_nullable_bytes(out, value)


def write_compact_nullable_bytes(out: bytearray, value: Buffer | None) -> None:
    if value is None:
        out += b"\x00"
        return
    out += uvarint(len(value) + 1)
    out += value


def write_compact_bytes(out: bytearray, value: Buffer) -> None:
    if value is None:
        raise TypeError("None in a non-nullable compact bytes field")
    write_compact_nullable_bytes(out, value)


def write_uuid(out: bytearray, value: uuid.UUID | None) -> None:
    # Kafka has no null UUID on the wire: "no id" is the all-zero UUID.
    out += (value or UUID_ZERO).bytes


def write_array_length(out: bytearray, count: int | None) -> None:
    out += INT32.pack(-1 if count is None else count)


def write_compact_array_length(out: bytearray, count: int | None) -> None:
    out += uvarint(0 if count is None else count + 1)


def write_tagged_field(out: bytearray, tag: int, payload: Buffer) -> None:
    """One entry of a tagged-field section (the caller writes the count first)."""
    out += uvarint(tag)
    out += uvarint(len(payload))
    out += payload


# --------------------------------------------------------------------------- bytes-returning
# The response encoders collect `bytes` pieces in a list and join them once at the end
# (cheaper than growing a bytearray field by field); these return one piece each.


def encode_string(value: str, flexible: bool) -> bytes:
    """A non-nullable string, compact (flexible versions) or legacy."""
    if value is None:
        raise TypeError("None in a non-nullable string field")
    data = value.encode()
    if flexible:
        return uvarint(len(data) + 1) + data
    if len(data) > 0x7FFF:
        raise ValueError(f"string of {len(data)} bytes does not fit an int16 length")
    return INT16.pack(len(data)) + data


def encode_nullable_string(value: str | None, flexible: bool) -> bytes:
    if value is None:
        return b"\x00" if flexible else b"\xff\xff"
    return encode_string(value, flexible)


def encode_array_length(count: int | None, flexible: bool) -> bytes:
    """Array count, compact (uvarint count + 1, 0 = null) or legacy (int32, -1 = null)."""
    if flexible:
        return uvarint(0 if count is None else count + 1)
    return INT32.pack(-1 if count is None else count)


def node_endpoints_payload(endpoints: list[tuple[int, str, int, str | None]]) -> bytes:
    """Payload of the NodeEndpoints tagged field (KIP-951), shared by the Produce (v10+) and
    Fetch (v16+) responses: compact array of (node_id, host, port, rack), each entry a flexible
    struct with its own empty tagged-field section."""
    out = [uvarint(len(endpoints) + 1)]
    for node_id, host, port, rack in endpoints:
        out.append(INT32.pack(node_id))
        out.append(encode_string(host, True))
        out.append(INT32.pack(port))
        out.append(encode_nullable_string(rack, True))
        out.append(EMPTY_TAGGED_FIELDS)
    return b"".join(out)
