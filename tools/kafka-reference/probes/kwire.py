"""Tiny raw-socket Kafka client for probes: encode a request with kio, send it, return the
response header bytes, body bytes and the kio-decoded body.

Raw sockets (not a client library) so the probes see exactly what the broker sends: error
codes the clients would hide or retry, tagged fields, header versions.
"""

from __future__ import annotations

import io
import socket
import struct
import sys
from dataclasses import fields, is_dataclass

from kio.index import load_response_schema
from kio.schema.request_header.v1.header import RequestHeader as RequestHeaderV1
from kio.schema.request_header.v2.header import RequestHeader as RequestHeaderV2
from kio.serial import entity_reader, entity_writer
from kio.static.primitive import i16, i32

API_VERSIONS = 18


def bootstrap() -> tuple[str, int]:
    addr = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:19092"
    host, port = addr.rsplit(":", 1)
    return host, int(port)


class Conn:
    def __init__(self, addr: tuple[str, int] | None = None, client_id: str = "odradek-probe"):
        self.sock = socket.create_connection(addr or bootstrap(), timeout=30)
        self.client_id = client_id
        self.correlation_id = 0

    def close(self) -> None:
        self.sock.close()

    def _recv_exact(self, n: int) -> bytes:
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("broker closed the connection")
            buf += chunk
        return buf

    def send_raw(self, payload: bytes) -> bytes:
        """Send one size-prefixed frame, return the response frame (without the size)."""
        self.sock.sendall(struct.pack(">i", len(payload)) + payload)
        (size,) = struct.unpack(">i", self._recv_exact(4))
        return self._recv_exact(size)

    def encode(self, request, api_version: int | None = None) -> bytes:
        """Header + body. api_version overrides the version written in the header only."""
        self.correlation_id += 1
        header_cls = RequestHeaderV2 if request.__flexible__ else RequestHeaderV1
        header = header_cls(
            request_api_key=request.__api_key__,
            request_api_version=i16(request.__version__ if api_version is None else api_version),
            correlation_id=i32(self.correlation_id),
            client_id=self.client_id,
        )
        buf = io.BytesIO()
        entity_writer(header_cls)(buf, header)
        entity_writer(type(request))(buf, request)
        return buf.getvalue()

    def call(self, request):
        """Returns (header_bytes, body_bytes, decoded_body)."""
        frame = self.send_raw(self.encode(request))
        header_len = response_header_len(request.__api_key__, request.__flexible__, frame)
        assert struct.unpack(">i", frame[:4])[0] == self.correlation_id
        header, body = frame[:header_len], frame[header_len:]
        resp_cls = load_response_schema(request.__api_key__, request.__version__)
        decoded, size = entity_reader(resp_cls)(body, 0)
        assert size == len(body), f"decoded {size} of {len(body)} body bytes"
        return header, body, decoded


def response_header_len(api_key: int, flexible: bool, frame: bytes) -> int:
    # ApiVersions always answers with header v0 (no tagged fields), whatever the version.
    if api_key == API_VERSIONS or not flexible:
        return 4
    assert frame[4] == 0, "response header has tagged fields"
    return 5


def plain(obj):
    """Dataclasses/enums/tuples -> plain JSON-able values, for printing."""
    if is_dataclass(obj):
        return {f.name: plain(getattr(obj, f.name)) for f in fields(obj)}
    if isinstance(obj, tuple | list):
        return [plain(x) for x in obj]
    if hasattr(obj, "name") and isinstance(obj, int) and type(obj).__name__ == "ErrorCode":
        return f"{int(obj)} {obj.name}"
    if hasattr(obj, "total_seconds"):
        return int(obj.total_seconds() * 1000)
    if isinstance(obj, bytes):
        return obj.hex()
    if obj is None or isinstance(obj, int | float | str | bool):
        return obj
    return str(obj)


def create_topics(conn: Conn, topics, validate_only: bool = False):
    """topics: [(name, partitions, replication_factor, {config: value})].
    Returns the CreateTopics v7 results."""
    import datetime

    from kio.schema.create_topics.v7.request import (
        CreatableTopic,
        CreatableTopicConfig,
        CreateTopicsRequest,
    )

    req = CreateTopicsRequest(
        topics=tuple(
            CreatableTopic(
                name=name,
                num_partitions=i32(parts),
                replication_factor=i16(rf),
                assignments=(),
                configs=tuple(CreatableTopicConfig(name=k, value=v) for k, v in configs.items()),
            )
            for name, parts, rf, configs in topics
        ),
        timeout=datetime.timedelta(seconds=30),
        validate_only=validate_only,
    )
    return conn.call(req)[2].topics


def _varint(n: int) -> bytes:
    n = (n << 1) ^ (n >> 63)  # zigzag
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _vbytes(b: bytes | None) -> bytes:
    return _varint(-1) if b is None else _varint(len(b)) + b


def record_batch(records, base_timestamp: int | None = None) -> bytes:
    """A magic-v2 batch, uncompressed, no producer id. records: [(key, value, headers)] or
    [(key, value, headers, timestamp_ms)]. Built by hand so the probes control every byte."""
    import time

    import crc32c

    now = int(time.time() * 1000)
    stamps = [r[3] if len(r) > 3 else (base_timestamp or now) for r in records]
    base_ts = stamps[0]
    body = b""
    for delta, (r, ts) in enumerate(zip(records, stamps, strict=True)):
        key, value, headers = r[:3]
        rec = (
            b"\x00"
            + _varint(ts - base_ts)
            + _varint(delta)
            + _vbytes(key)
            + _vbytes(value)
            + _varint(len(headers))
            + b"".join(_vbytes(k.encode()) + _vbytes(v) for k, v in headers)
        )
        body += _varint(len(rec)) + rec
    after_crc = (
        struct.pack(
            ">hiqqqhii", 0, len(records) - 1, base_ts, max(stamps), -1, -1, -1, len(records)
        )
        + body
    )
    crc = crc32c.crc32c(after_crc)
    # base_offset, batch_length, partition_leader_epoch, magic, crc
    return struct.pack(">qiibI", 0, len(after_crc) + 9, -1, 2, crc) + after_crc


def produce(conn: Conn, topic: str, partition: int, batch: bytes, acks: int = -1):
    import datetime

    from kio.schema.produce.v11.request import (
        PartitionProduceData,
        ProduceRequest,
        TopicProduceData,
    )

    req = ProduceRequest(
        transactional_id=None,
        acks=i16(acks),
        timeout=datetime.timedelta(seconds=30),
        topic_data=(
            TopicProduceData(
                name=topic,
                partition_data=(PartitionProduceData(index=i32(partition), records=batch),),
            ),
        ),
    )
    return conn.call(req)[2].responses[0].partition_responses[0]


def fetch(conn: Conn, topic: str, partition: int, offset: int, max_wait_ms: int = 0):
    import datetime

    from kio.schema.fetch.v12.request import FetchPartition, FetchRequest, FetchTopic
    from kio.static.primitive import i64

    req = FetchRequest(
        cluster_id=None,
        max_wait=datetime.timedelta(milliseconds=max_wait_ms),
        min_bytes=i32(1),
        topics=(
            FetchTopic(
                topic=topic,
                partitions=(
                    FetchPartition(
                        partition=i32(partition),
                        fetch_offset=i64(offset),
                        partition_max_bytes=i32(1 << 20),
                    ),
                ),
            ),
        ),
        forgotten_topics_data=(),
    )
    resp = conn.call(req)[2]
    return resp.responses[0].partitions[0] if resp.responses else resp


def list_offsets(conn: Conn, topic: str, partition: int, timestamp: int):
    import datetime

    from kio.schema.list_offsets.v11.request import (
        ListOffsetsPartition,
        ListOffsetsRequest,
        ListOffsetsTopic,
    )
    from kio.static.primitive import i8, i64

    req = ListOffsetsRequest(
        replica_id=i32(-1),
        isolation_level=i8(0),
        timeout=datetime.timedelta(seconds=30),
        topics=(
            ListOffsetsTopic(
                name=topic,
                partitions=(
                    ListOffsetsPartition(partition_index=i32(partition), timestamp=i64(timestamp)),
                ),
            ),
        ),
    )
    return conn.call(req)[2].topics[0].partitions[0]


def metadata(conn: Conn, topics, allow_auto_topic_creation: bool = False):
    """topics: list of names, or None for all topics. Metadata v12."""
    from kio.schema.metadata.v12.request import MetadataRequest, MetadataRequestTopic

    req = MetadataRequest(
        topics=None
        if topics is None
        else tuple(MetadataRequestTopic(topic_id=None, name=t) for t in topics),
        allow_auto_topic_creation=allow_auto_topic_creation,
        include_topic_authorized_operations=False,
    )
    return conn.call(req)[2]


def delete_records(conn: Conn, topic: str, partition: int, offset: int):
    import datetime

    from kio.schema.delete_records.v2.request import (
        DeleteRecordsPartition,
        DeleteRecordsRequest,
        DeleteRecordsTopic,
    )
    from kio.static.primitive import i64

    req = DeleteRecordsRequest(
        timeout=datetime.timedelta(seconds=30),
        topics=(
            DeleteRecordsTopic(
                name=topic,
                partitions=(
                    DeleteRecordsPartition(partition_index=i32(partition), offset=i64(offset)),
                ),
            ),
        ),
    )
    return conn.call(req)[2].topics[0].partitions[0]
