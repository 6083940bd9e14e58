"""Fault injection for tests, in the spirit of franz-go's kfake control hooks.

A `FaultInjector` hangs on the running `KafkaServer` (`server.faults`); while it holds rules,
each connection asks it about every request before dispatching it (one `is not None` test when
no injector is installed). Rules are per API key and used up one request at a time:

- drop: the connection is closed instead of answering (the client sees a network error);
- delay: the request is handled normally after a pause (later requests on that connection
  wait behind it, as they would behind a slow broker);
- fail: the request is *not* handled; the answer has the same shape as the real one (built from
  the request: same topics and partitions) with every `error_code` set to the given code.

A rule may name a topic (and a partition): it then waits for a request of its API that
mentions that topic (partition); other requests pass. librdkafka and the Java client send one
Produce request per partition batch, so `fail_next("produce", ..., topic="t", partition=1)`
fails exactly that partition's next batch.

Use it through `Broker.faults` (thread-safe: every change runs on the broker's loop).
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from kio.serial._introspect import (
    EntityField,
    EntityTupleField,
    PrimitiveTupleField,
    classify_field,
    get_schema_field_type,
    is_optional,
)

from ..protocol import codec
from ..protocol.api_keys import ApiKey
from ..protocol.build import build
from ..protocol.errors import ErrorCode
from ..protocol.headers import decode_request_header


@dataclass
class Fault:
    kind: str  # "drop", "delay", "fail"
    delay_s: float = 0.0
    error_code: int = 0
    topic: str | None = None  # only requests that mention this topic ...
    partition: int | None = None  # ... and this partition of it


def api_key_of(api: int | str | ApiKey) -> int:
    if isinstance(api, str):
        return int(ApiKey[api.upper()])
    return int(api)


class FaultInjector:
    """Rules by API key, consulted on the broker's loop by `server/connection.py`."""

    def __init__(self) -> None:
        self.rules: dict[int, deque[Fault]] = {}
        self.injected: list[tuple[str, str]] = []  # (api name, kind), for assertions

    # ------------------------------------------------------------------ loop side

    def intercept(self, conn, frame: bytearray) -> bool:
        """True if the request was dropped, delayed or failed (the caller then stops)."""
        if not self.rules or len(frame) < 2:
            return False
        api_key = int.from_bytes(frame[0:2], "big", signed=True)
        queue = self.rules.get(api_key)
        if not queue:
            return False
        fault = next((f for f in queue if f.topic is None
                      or _mentions(conn.server.core, frame, f.topic, f.partition)), None)
        if fault is None:
            return False
        queue.remove(fault)
        if not queue:
            del self.rules[api_key]
        self.injected.append((ApiKey(api_key).name, fault.kind))
        if fault.kind == "drop":
            conn.close()
        elif fault.kind == "delay":
            conn.busy = True
            conn.task = asyncio.get_running_loop().create_task(
                _delayed(conn, frame, fault.delay_s))
        else:
            header, _ = decode_request_header(memoryview(frame))
            conn._respond(header, error_response(frame, fault.error_code))
        return True

    def add(self, api: int | str | ApiKey, fault: Fault, count: int) -> None:
        queue = self.rules.setdefault(api_key_of(api), deque())
        queue.extend(dataclasses.replace(fault) for _ in range(count))

    def clear(self) -> None:
        self.rules.clear()


async def _delayed(conn, frame: bytearray, seconds: float) -> None:
    await asyncio.sleep(seconds)
    conn.busy = False
    if conn.closed:
        return
    conn._process(frame, inject=False)
    if not conn.busy:
        conn._drain()


class Faults:
    """The thread-safe face of a broker's FaultInjector (`Broker.faults`)."""

    def __init__(self, injector: FaultInjector, call: Callable, server_getter: Callable) -> None:
        self._injector = injector
        self._call = call
        self._server = server_getter

    def drop_connections(self) -> int:
        """Close every client connection now; returns how many there were."""
        def drop() -> int:
            conns = list(self._server().connections)
            for c in conns:
                c.close()
            return len(conns)

        return self._call(drop)

    def drop_next(self, api: int | str | ApiKey, count: int = 1, *, topic: str | None = None,
                  partition: int | None = None) -> None:
        """Close the connection instead of answering the next `count` requests of `api` (that
        mention `topic` / `partition`, if given)."""
        self._call(self._injector.add, api, Fault("drop", topic=topic, partition=partition),
                   count)

    def delay_next(self, api: int | str | ApiKey, ms: float, count: int = 1, *,
                   topic: str | None = None, partition: int | None = None) -> None:
        """Hold the next `count` requests of `api` (that mention `topic` / `partition`, if
        given) for `ms` milliseconds, then serve them."""
        self._call(self._injector.add, api, Fault("delay", delay_s=ms / 1000, topic=topic,
                                                  partition=partition), count)

    def fail_next(self, api: int | str | ApiKey, error: int | str | ErrorCode,
                  count: int = 1, *, topic: str | None = None,
                  partition: int | None = None) -> None:
        """Answer the next `count` requests of `api` (that mention `topic` / `partition`, if
        given) with `error` (a Kafka error code or its name, e.g. "NOT_LEADER_OR_FOLLOWER")
        without handling them."""
        code = ErrorCode[error.lower()] if isinstance(error, str) else ErrorCode(error)
        self._call(self._injector.add, api, Fault("fail", error_code=int(code), topic=topic,
                                                  partition=partition), count)

    def clear(self) -> None:
        """Forget the rules not used yet."""
        self._call(self._injector.clear)

    @property
    def pending(self) -> int:
        return self._call(lambda: sum(len(q) for q in self._injector.rules.values()))

    @property
    def injected(self) -> list[tuple[str, str]]:
        """(API name, kind) of every fault injected so far."""
        return self._call(lambda: list(self._injector.injected))


# --------------------------------------------------------------------------- matching

_TOPIC_FIELDS = ("name", "topic")
_PARTITION_FIELDS = ("index", "partition", "partition_index")


def _mentions(core, frame: bytearray, topic: str, partition: int | None) -> bool:
    """Does the request in `frame` name `topic` (by name or topic id) and, if given,
    `partition` of it? Unreadable requests mention nothing."""
    known = core.topics.get(topic)
    topic_id = known.topic_id if known is not None else None
    try:
        header, pos = decode_request_header(memoryview(frame))
        request = codec.decode_request(header.api_key, header.api_version,
                                       bytes(memoryview(frame)[pos:]))
    except Exception:  # a malformed request: the broker's own answer to it is what tests want
        return False
    return any(partition is None or _has_partition(entity, partition)
               for entity in _entities(request)
               if any(getattr(entity, f, None) == topic for f in _TOPIC_FIELDS)
               or (topic_id is not None and getattr(entity, "topic_id", None) == topic_id))


def _entities(item):
    """`item` and every entity inside it, depth first."""
    yield item
    for f in dataclasses.fields(item):
        value = getattr(item, f.name)
        for child in value if isinstance(value, tuple) else (value,):
            if dataclasses.is_dataclass(child):
                yield from _entities(child)


def _has_partition(topic_entity, partition: int) -> bool:
    for f in dataclasses.fields(topic_entity):
        value = getattr(topic_entity, f.name)
        if not isinstance(value, tuple):
            continue
        for child in value:
            if dataclasses.is_dataclass(child):
                if any(getattr(child, p, None) == partition for p in _PARTITION_FIELDS):
                    return True
            elif child == partition:  # a plain list of partition indexes
                return True
    return False


# --------------------------------------------------------------------------- error responses

_LIST_NAMES = {"responses", "results", "topics", "partition_responses", "partitions", "groups",
               "coordinators", "topic_data", "partition_data"}
_ALIASES = {"partition_index": ("partition_index", "partition", "index"),
            "index": ("index", "partition_index", "partition"),
            "partition": ("partition", "partition_index", "index"),
            "name": ("name", "topic", "key", "group_id", "resource_name"),
            "topic": ("topic", "name"),
            "key": ("key", "name", "group_id"),
            "group_id": ("group_id", "key", "name")}


def error_response(frame: bytearray, code: int):
    """A response to the request in `frame` with every error code set to `code`."""
    header, pos = decode_request_header(memoryview(frame))
    request = codec.decode_request(header.api_key, header.api_version,
                                   bytes(memoryview(frame)[pos:]))
    cls = codec.response_class(header.api_key, header.api_version)
    return build(cls, _fill(cls, _fields_of(request), code))


def _fields_of(item) -> dict:
    if item is None:
        return {}
    if dataclasses.is_dataclass(item):
        return {f.name: getattr(item, f.name) for f in dataclasses.fields(item)}
    return {"key": item, "name": item, "group_id": item, "topic": item}


def _fill(cls, source: dict, code: int) -> dict:
    values = {}
    lists = [v for v in source.values() if isinstance(v, tuple) and v]
    for f in dataclasses.fields(cls):
        kind = classify_field(f)
        if f.name == "error_code":
            values[f.name] = code
        elif f.name == "error_message":
            values[f.name] = "injected fault"
        elif isinstance(kind, EntityTupleField):
            items = source.get(f.name)
            if items is None and f.name in _LIST_NAMES and len(lists) == 1:
                items = lists[0]
            values[f.name] = [_fill(kind.type_, _fields_of(i), code) for i in items or ()]
        elif isinstance(kind, EntityField):
            values[f.name] = None if is_optional(f) else _fill(kind.type_, {}, code)
        elif isinstance(kind, PrimitiveTupleField):
            value = source.get(f.name)
            values[f.name] = list(value) if isinstance(value, tuple) else []
        else:
            values[f.name] = _scalar(f, source)
    return values


def _scalar(f, source: dict):
    for name in _ALIASES.get(f.name, (f.name,)):
        value = source.get(name)
        if value is not None and not isinstance(value, tuple):
            if get_schema_field_type(f) in ("string",) and not isinstance(value, str):
                continue
            return value
    if f.default is not dataclasses.MISSING:
        return f.default
    kafka_type = get_schema_field_type(f)
    if is_optional(f):
        return None
    if kafka_type == "string":
        return ""
    if kafka_type == "bool":
        return False
    if kafka_type in ("bytes", "records"):
        return b""
    if kafka_type == "uuid":
        return uuid.UUID(int=0)
    if kafka_type in ("timedelta_i32", "timedelta_i64"):
        return 0
    name = f.name
    if any(w in name for w in ("offset", "epoch", "timestamp", "time", "_id", "leader")):
        return -1
    return 0
