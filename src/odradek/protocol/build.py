"""Build kio response entities of any version from plain values.

Handlers describe a response once, with the fields of the newest version, as dicts and lists;
`build_response` keeps the fields the requested version has, converts plain ints to kio's
types (ErrorCode, timedeltas, datetimes) and builds nested entities. One handler body then
serves every version without per-version branches.
"""

from __future__ import annotations

import datetime
import functools
from dataclasses import MISSING, fields
from typing import Any

from kio.schema.errors import ErrorCode
from kio.serial._introspect import (
    EntityField,
    EntityTupleField,
    PrimitiveTupleField,
    classify_field,
    get_schema_field_type,
    is_optional,
)

from .codec import response_class

_EPOCH = datetime.datetime.fromtimestamp(0, datetime.UTC)


def build_response(api_key: int, version: int, values: dict[str, Any]) -> Any:
    return build(response_class(api_key, version), values)


def build(cls: type, values: dict[str, Any]) -> Any:
    kwargs = {}
    for name, kind, sub, convert, required in _plan(cls):
        if name not in values:
            if required:
                raise KeyError(f"{cls.__qualname__} v{cls.__version__} needs field {name!r}")
            continue
        value = values[name]
        if value is None and kind == "string":
            value = ""  # a null where this version has a non-nullable string
        if value is not None:
            if kind == "entities":
                value = tuple(build(sub, v) if isinstance(v, dict) else v for v in value)
            elif kind == "entity":
                value = build(sub, value) if isinstance(value, dict) else value
            elif kind == "array":
                value = tuple(convert(v) for v in value) if convert else tuple(value)
            elif convert is not None:
                value = convert(value)
        kwargs[name] = value
    return cls(**kwargs)


def _to_timedelta(value: Any) -> Any:
    return datetime.timedelta(milliseconds=value) if isinstance(value, int) else value


def _to_datetime(value: Any) -> Any:
    if isinstance(value, int):
        return _EPOCH + datetime.timedelta(milliseconds=value)
    return value


def _to_error(value: Any) -> Any:
    return value if isinstance(value, ErrorCode) else ErrorCode(value)


_CONVERTERS = {
    "error_code": _to_error,
    "timedelta_i32": _to_timedelta,
    "timedelta_i64": _to_timedelta,
    "datetime_i64": _to_datetime,
}


@functools.cache
def _plan(cls: type) -> list[tuple[str, str, type | None, Any, bool]]:
    plan = []
    for f in fields(cls):
        kind = classify_field(f)
        required = f.default is MISSING and f.default_factory is MISSING and "tag" not in f.metadata
        if isinstance(kind, EntityTupleField):
            plan.append((f.name, "entities", kind.type_, None, required))
        elif isinstance(kind, EntityField):
            plan.append((f.name, "entity", kind.type_, None, required))
        else:
            kafka_type = get_schema_field_type(f)
            shape = "array" if isinstance(kind, PrimitiveTupleField) else "value"
            if shape == "value" and kafka_type == "string" and not is_optional(f):
                shape = "string"
            plan.append((f.name, shape, None, _CONVERTERS.get(kafka_type), required))
    return plan


def millis(value: Any) -> int:
    """A request field as integer milliseconds (kio decodes durations as timedeltas)."""
    if isinstance(value, datetime.timedelta):
        return round(value.total_seconds() * 1000)
    if isinstance(value, datetime.datetime):
        return round((value - _EPOCH).total_seconds() * 1000)
    return int(value)
