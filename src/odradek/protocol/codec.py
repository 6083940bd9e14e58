"""Generic request decoding and response encoding with kio, for the long tail of APIs.

Requests are decoded by `_reader`, a Python walk over kio's own dataclass schemas that uses
kio's primitive readers, not kio's native entity reader, for two reasons found the hard way:
- the native reader raises KeyError on a tagged field it does not know, where the protocol
  says to skip it (a newer client may send tags this schema version lacks);
- it allocates arrays by their declared length before reading them, so a request claiming
  2^31 elements aborts the whole process (Rust OOM) — one bad frame would kill the broker.
  `_reader` checks every array length against the bytes that remain first.
It costs ~7 µs for a typical Fetch request (native: ~0.6 µs); the hottest API, Produce, has
its own hand-written decoder anyway.
"""

from __future__ import annotations

import functools
import io
from dataclasses import MISSING, fields
from typing import Any

from kio.index import load_request_schema, load_response_schema
from kio.schema.index import api_key_map, schema_name_map
from kio.serial import entity_writer
from kio.serial._implicit_defaults import get_tagged_field_default
from kio.serial._introspect import (
    EntityField,
    EntityTupleField,
    PrimitiveTupleField,
    classify_field,
    get_field_tag,
    get_schema_field_type,
    is_optional,
)
from kio.serial._parse import get_field_reader, get_reader
from kio.serial.readers import (
    read_compact_array_length,
    read_int8,
    read_legacy_array_length,
    read_unsigned_varint,
)

from .api_keys import ApiKey
from .primitives import DecodeError

__all__ = ["DecodeError", "decode_request", "decode_response", "encode", "is_flexible"]


@functools.cache
def request_class(api_key: int, version: int) -> type | None:
    try:
        return load_request_schema(api_key, version)
    except Exception:  # unknown key or version
        return None


@functools.cache
def response_class(api_key: int, version: int) -> type:
    return load_response_schema(api_key, version)


def is_flexible(api_key: int, version: int) -> bool:
    """Whether (api_key, version) uses flexible encoding (compact types, tagged fields).

    For a version newer than our schemas, assume the newest known version's encoding:
    flexibility never goes away once introduced."""
    known = _known_versions(api_key)
    if not known:
        return False
    if version not in known:
        version = max(known) if version > max(known) else min(known)
    return request_class(api_key, version).__flexible__


@functools.cache
def _known_versions(api_key: int) -> frozenset[int]:
    name = api_key_map.get(api_key)
    return frozenset(schema_name_map[name]) if name else frozenset()


# Every request asks these two (bounded: a fuzzer's random keys and versions must not grow it).
@functools.lru_cache(maxsize=2048)
def request_header_version(api_key: int, version: int) -> int:
    return 2 if is_flexible(api_key, version) else 1


@functools.lru_cache(maxsize=2048)
def response_header_version(api_key: int, version: int) -> int:
    # ApiVersions responses always use header v0, so that a client can read the error
    # and the version table even when it asked for a version the broker does not know.
    if api_key == ApiKey.API_VERSIONS:
        return 0
    return 1 if is_flexible(api_key, version) else 0


def decode_request(api_key: int, version: int, body: memoryview | bytes) -> Any:
    cls = request_class(api_key, version)
    if cls is None:
        raise DecodeError(f"no schema for api key {api_key} v{version}")
    try:
        obj, _ = _reader(cls)(body, 0)
        return obj
    except DecodeError:
        raise
    except Exception as exc:  # kio's BufferUnderflow, bad UTF-8, ...
        raise DecodeError(f"{ApiKey(api_key).name} v{version}: {exc}") from exc


def decode_response(api_key: int, version: int, body: memoryview | bytes) -> Any:
    """Decode a response body (for clients: `odradek.client`), with the same reader as
    requests (unknown tagged fields skipped, array lengths checked)."""
    cls = response_class(api_key, version)
    try:
        return _reader(cls)(body, 0)[0]
    except DecodeError:
        raise
    except Exception as exc:
        raise DecodeError(f"{ApiKey(api_key).name} v{version} response: {exc}") from exc


def encode(obj: Any) -> bytes:
    """Encode a kio entity (the body only). kio writes no tagged field at its default value."""
    buf = io.BytesIO()
    entity_writer(type(obj))(buf, obj)
    return buf.getvalue()


# --------------------------------------------------------------------------- reader


@functools.cache
def _reader(cls: type, nullable: bool = False):
    plain = []  # (name, reader)
    tagged = {}  # tag -> (name, reader)
    defaults = {}
    flexible = cls.__flexible__
    for f in fields(cls):
        tag = get_field_tag(f)
        kind = classify_field(f)
        if isinstance(kind, EntityField):
            reader = _reader(kind.type_, is_optional(f) and tag is None)
        elif isinstance(kind, EntityTupleField):
            reader = _array_reader(_reader(kind.type_), flexible)
        elif isinstance(kind, PrimitiveTupleField):
            # kio's own array reader also allocates by the declared length: read elements
            # one by one after the length check.
            item = get_reader(get_schema_field_type(f), flexible, False)
            reader = _array_reader(item, flexible)
        else:
            reader = get_field_reader(cls, f, False, tag is not None)
        if tag is None:
            plain.append((f.name, reader))
        else:
            tagged[tag] = (f.name, reader)
            if f.default is not MISSING:
                defaults[f.name] = f.default
            elif f.default_factory is not MISSING:
                defaults[f.name] = f.default_factory()
            else:
                defaults[f.name] = get_tagged_field_default(f)

    def read(buf, start):
        pos = start
        if nullable:
            marker, n = read_int8(buf, pos)
            pos += n
            if marker < 0:
                return None, pos - start
        values = {}
        for name, reader in plain:
            values[name], n = reader(buf, pos)
            pos += n
        if flexible:
            values.update(defaults)
            count, n = read_unsigned_varint(buf, pos)
            pos += n
            for _ in range(count):
                tag, n = read_unsigned_varint(buf, pos)
                pos += n
                size, n = read_unsigned_varint(buf, pos)
                pos += n
                if pos + size > len(buf):
                    raise DecodeError("tagged field runs past the end")
                if tag in tagged:
                    name, reader = tagged[tag]
                    values[name], _ = reader(buf[: pos + size], pos)
                pos += size
        return cls(**values), pos - start

    return read


def _array_reader(item_reader, flexible: bool):
    """Arrays (of entities or primitives), the length checked before anything is allocated.
    Like kio's readers it returns (value, bytes consumed)."""
    length_reader = read_compact_array_length if flexible else read_legacy_array_length

    def read(buf, start):
        count, pos = length_reader(buf, start)
        pos += start
        if count is None or count < 0:
            return None, pos - start
        if count > len(buf) - pos:  # every element takes at least one byte
            raise DecodeError(f"array length {count} exceeds the remaining bytes")
        items = []
        for _ in range(count):
            item, n = item_reader(buf, pos)
            pos += n
            items.append(item)
        return tuple(items), pos - start

    return read
