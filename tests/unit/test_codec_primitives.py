"""Wire primitives: round trips, byte equality with kio's writers, hostile input."""

from __future__ import annotations

import io
import tracemalloc
import uuid

import pytest
from kio.serial import writers as kw

from odradek.protocol import primitives as p
from odradek.protocol.primitives import DecodeError


def kio_bytes(writer, value) -> bytes:  # type: ignore[no-untyped-def]
    buf = io.BytesIO()
    writer(buf, value)
    return buf.getvalue()


def ours(writer, value) -> bytes:  # type: ignore[no-untyped-def]
    out = bytearray()
    writer(out, value)
    return bytes(out)


UVARINTS = [0, 1, 2, 126, 127, 128, 255, 300, 16383, 16384, 2**21 - 1, 2**21, 2**28, 2**32 - 1]
STRINGS = ["", "a", "topic-1", "ünïcødé ✓", "x" * 300]


@pytest.mark.parametrize("value", UVARINTS)
def test_uvarint_matches_kio_and_round_trips(value: int) -> None:
    encoded = p.uvarint(value)
    assert encoded == kio_bytes(kw.write_unsigned_varint, value)
    assert ours(p.write_uvarint, value) == encoded
    assert p.read_uvarint(encoded + b"\xff", 0) == (value, len(encoded))


def test_uvarint_rejects_negative() -> None:
    with pytest.raises(ValueError):
        p.uvarint(-1)


@pytest.mark.parametrize(
    ("writer", "reader", "kio_writer", "values"),
    [
        (p.write_int8, p.read_int8, kw.write_int8, [-128, -1, 0, 127]),
        (p.write_int16, p.read_int16, kw.write_int16, [-(2**15), -1, 0, 2**15 - 1]),
        (p.write_int32, p.read_int32, kw.write_int32, [-(2**31), -1, 0, 2**31 - 1]),
        (p.write_int64, p.read_int64, kw.write_int64, [-(2**63), -1, 0, 2**63 - 1]),
        (p.write_bool, p.read_bool, kw.write_boolean, [False, True]),
    ],
)
def test_fixed_ints(writer, reader, kio_writer, values) -> None:  # type: ignore[no-untyped-def]
    for value in values:
        data = ours(writer, value)
        assert data == kio_bytes(kio_writer, value)
        assert reader(data, 0) == (value, len(data))
        assert reader(memoryview(bytearray(b"\x00" + data)), 1) == (value, len(data) + 1)
        with pytest.raises(DecodeError):
            reader(data[:-1], 0)


@pytest.mark.parametrize("value", [*STRINGS, None])
def test_strings_match_kio(value: str | None) -> None:
    legacy = ours(p.write_nullable_string, value)
    compact = ours(p.write_compact_nullable_string, value)
    assert legacy == kio_bytes(kw.write_nullable_legacy_string, value)
    assert compact == kio_bytes(kw.write_nullable_compact_string, value)
    assert p.encode_nullable_string(value, False) == legacy
    assert p.encode_nullable_string(value, True) == compact
    assert p.read_nullable_string(legacy, 0) == (value, len(legacy))
    assert p.read_compact_nullable_string(compact, 0) == (value, len(compact))
    if value is None:
        with pytest.raises(DecodeError):
            p.read_string(legacy, 0)
        with pytest.raises(DecodeError):
            p.read_compact_string(compact, 0)
        with pytest.raises(TypeError):
            p.write_string(bytearray(), value)  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            p.encode_string(value, True)  # type: ignore[arg-type]
    else:
        assert ours(p.write_string, value) == legacy == p.encode_string(value, False)
        assert ours(p.write_compact_string, value) == compact == p.encode_string(value, True)
        assert p.read_string(legacy, 0) == (value, len(legacy))
        assert p.read_compact_string(compact, 0) == (value, len(compact))


@pytest.mark.parametrize("value", [b"", b"\x00\x01", bytes(range(256)) * 3, None])
def test_bytes_match_kio_and_are_zero_copy(value: bytes | None) -> None:
    legacy = ours(p.write_nullable_bytes, value)
    compact = ours(p.write_compact_nullable_bytes, value)
    assert legacy == kio_bytes(kw.write_nullable_legacy_bytes, value)
    assert compact == kio_bytes(kw.write_nullable_compact_string, value)
    for data, reader in ((legacy, p.read_nullable_bytes), (compact, p.read_compact_nullable_bytes)):
        buf = bytearray(data)
        got, pos = reader(memoryview(buf), 0)
        assert pos == len(data)
        if value is None:
            assert got is None
            continue
        assert got is not None and bytes(got) == value
        assert got.obj is buf  # a view of the input, not a copy
        if value:
            got[0] ^= 0xFF
            assert buf[len(data) - len(value)] == value[0] ^ 0xFF
    if value is not None:
        assert ours(p.write_bytes, value) == legacy
        assert ours(p.write_compact_bytes, value) == compact
        assert bytes(p.read_bytes(legacy, 0)[0]) == value
        assert bytes(p.read_compact_bytes(compact, 0)[0]) == value
    else:
        with pytest.raises(DecodeError):
            p.read_bytes(legacy, 0)
        with pytest.raises(DecodeError):
            p.read_compact_bytes(compact, 0)


def test_uuid() -> None:
    u = uuid.UUID("0123456789abcdef0123456789abcdef")
    assert ours(p.write_uuid, u) == kio_bytes(kw.write_uuid, u)
    assert ours(p.write_uuid, None) == kio_bytes(kw.write_uuid, None) == bytes(16)
    assert p.read_uuid(u.bytes, 0) == (u, 16)
    with pytest.raises(DecodeError):
        p.read_uuid(u.bytes[:15], 0)


@pytest.mark.parametrize("count", [None, 0, 1, 5, 200])
def test_array_lengths_match_kio(count: int | None) -> None:
    legacy = ours(p.write_array_length, count)
    compact = ours(p.write_compact_array_length, count)
    assert legacy == kio_bytes(kw.write_legacy_array_length, -1 if count is None else count)
    assert compact == kio_bytes(kw.write_compact_array_length, count)
    assert p.encode_array_length(count, False) == legacy
    assert p.encode_array_length(count, True) == compact
    room = bytes(count or 0)
    expected = -1 if count is None else count
    assert p.read_array_length(legacy + room, 0) == (expected, len(legacy))
    assert p.read_compact_array_length(compact + room, 0) == (expected, len(compact))


def test_tagged_fields() -> None:
    out = bytearray(b"\x03")
    p.write_tagged_field(out, 0, b"abc")
    p.write_tagged_field(out, 7, b"")
    p.write_tagged_field(out, 300, b"x" * 200)
    out += b"TRAILER"
    fields, pos = p.read_tagged_fields(out, 0)
    assert {k: bytes(v) for k, v in fields.items()} == {0: b"abc", 7: b"", 300: b"x" * 200}
    assert p.skip_tagged_fields(out, 0) == pos == len(out) - len(b"TRAILER")
    assert p.skip_tagged_fields(p.EMPTY_TAGGED_FIELDS, 0) == 1
    assert p.read_tagged_fields(b"\x00", 0) == ({}, 1)
    for cut in range(len(out) - len(b"TRAILER")):
        with pytest.raises(DecodeError):
            p.skip_tagged_fields(out[:cut], 0)
        with pytest.raises(DecodeError):
            p.read_tagged_fields(out[:cut], 0)


def test_node_endpoints_payload_matches_kio() -> None:
    from kio.schema.produce.v10.response import NodeEndpoint
    from kio.serial import entity_writer

    endpoints = [(1, "broker-1", 9092, None), (2, "bröker-2", 19092, "rack-b")]
    write = kw.compact_array_writer(entity_writer(NodeEndpoint))
    expected = kio_bytes(
        write, [NodeEndpoint(node_id=n, host=h, port=port, rack=r) for n, h, port, r in endpoints]
    )
    assert p.node_endpoints_payload(endpoints) == expected


# --------------------------------------------------------------------------- hostile input


def test_uvarint_too_long_or_truncated() -> None:
    with pytest.raises(DecodeError, match="longer"):
        p.read_uvarint(b"\xff\xff\xff\xff\xff\x01", 0)
    with pytest.raises(DecodeError, match="truncated"):
        p.read_uvarint(b"\xff\xff", 0)
    with pytest.raises(DecodeError):
        p.read_uvarint(b"", 0)


def test_invalid_utf8() -> None:
    with pytest.raises(DecodeError, match="UTF-8"):
        p.read_string(b"\x00\x02\xff\xfe", 0)
    with pytest.raises(DecodeError, match="UTF-8"):
        p.read_compact_string(b"\x03\xff\xfe", 0)


@pytest.mark.parametrize(
    ("reader", "data"),
    [
        (p.read_nullable_bytes, b"\x7f\xff\xff\xff" + b"x" * 10),
        (p.read_compact_nullable_bytes, b"\xff\xff\xff\xff\x0f" + b"x" * 10),
        (p.read_nullable_string, b"\x7f\xff" + b"x" * 10),
        (p.read_compact_nullable_string, b"\xff\xff\xff\xff\x0f" + b"x" * 10),
        (p.read_array_length, b"\x7f\xff\xff\xff" + b"x" * 10),
        (p.read_compact_array_length, b"\xff\xff\xff\xff\x0f" + b"x" * 10),
        (p.skip_tagged_fields, b"\xff\xff\xff\xff\x0f" + b"x" * 10),
        (p.read_tagged_fields, b"\xff\xff\xff\xff\x0f" + b"x" * 10),
        (p.skip_tagged_fields, b"\x01\x00\xff\xff\xff\xff\x0f" + b"x" * 10),
        (p.read_tagged_fields, b"\x01\x00\xff\xff\xff\xff\x0f" + b"x" * 10),
        (p.read_nullable_bytes, b"\xff\xff\xff\xfe"),
        (p.read_nullable_string, b"\xff\xfe"),
        (p.read_array_length, b"\xff\xff\xff\xfe"),
    ],
)
def test_absurd_lengths_raise_without_allocating(reader, data: bytes) -> None:  # type: ignore[no-untyped-def]
    tracemalloc.start()
    try:
        with pytest.raises(DecodeError):
            reader(data, 0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 100_000


def test_array_length_uses_min_item_size() -> None:
    data = b"\x00\x00\x00\x03" + bytes(10)
    assert p.read_array_length(data, 0, 3) == (3, 4)
    with pytest.raises(DecodeError):
        p.read_array_length(data, 0, 4)
    compact = b"\x04" + bytes(10)
    assert p.read_compact_array_length(compact, 0, 3) == (3, 1)
    with pytest.raises(DecodeError):
        p.read_compact_array_length(compact, 0, 4)
