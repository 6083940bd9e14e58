"""Record batches (magic v2): the header the broker reads and patches, plus record decoding.

The broker stores batches exactly as producers send them. On the produce path it only reads
the fixed 61-byte header, checks the CRC-32C and patches the base offset (which the CRC does
not cover). Individual records are decoded only where Kafka must look inside a batch
(ListOffsets by timestamp, tests, tools) — see `iter_records`.

Layout of the header (big-endian), after Kafka's DefaultRecordBatch:

    0  baseOffset            int64      CRC covers bytes 21..end
    8  batchLength           int32      (bytes after this field)
   12  partitionLeaderEpoch  int32
   16  magic                 int8       must be 2
   17  crc                   uint32     CRC-32C
   21  attributes            int16      bits 0-2 codec, 3 timestamp type, 4 txn, 5 control
   23  lastOffsetDelta       int32
   27  baseTimestamp         int64
   35  maxTimestamp          int64
   43  producerId            int64
   51  producerEpoch         int16
   53  baseSequence          int32
   57  recordsCount          int32
   61  records...
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

import crc32c

BATCH_HEADER_SIZE = 61
# baseOffset + batchLength: what must be read to know a batch's full size.
LOG_OVERHEAD = 12
CURRENT_MAGIC = 2

BASE_OFFSET_OFFSET = 0
LENGTH_OFFSET = 8
PARTITION_LEADER_EPOCH_OFFSET = 12
MAGIC_OFFSET = 16
CRC_OFFSET = 17
ATTRIBUTES_OFFSET = 21
LAST_OFFSET_DELTA_OFFSET = 23
BASE_TIMESTAMP_OFFSET = 27
MAX_TIMESTAMP_OFFSET = 35
PRODUCER_ID_OFFSET = 43
RECORDS_COUNT_OFFSET = 57

COMPRESSION_MASK = 0x07
TIMESTAMP_TYPE_MASK = 0x08
TRANSACTIONAL_MASK = 0x10
CONTROL_MASK = 0x20

NO_PRODUCER_ID = -1
NO_TIMESTAMP = -1

_HEADER = struct.Struct(">qiibIhiqqqhii")
_INT64 = struct.Struct(">q")
_INT32 = struct.Struct(">i")
_UINT32 = struct.Struct(">I")
_LEN_AND_MAGIC = struct.Struct(">qiib")


class Compression:
    NONE = 0
    GZIP = 1
    SNAPPY = 2
    LZ4 = 3
    ZSTD = 4


class CorruptRecordError(ValueError):
    """A batch that cannot be stored: bad length, bad magic, CRC mismatch, bad counts.

    Maps to Kafka's CORRUPT_MESSAGE (or UNSUPPORTED_FOR_MESSAGE_FORMAT for old magic)."""

    def __init__(self, message: str, *, unsupported_magic: bool = False) -> None:
        super().__init__(message)
        self.unsupported_magic = unsupported_magic


class BatchHeader(NamedTuple):
    base_offset: int
    batch_length: int
    partition_leader_epoch: int
    magic: int
    crc: int
    attributes: int
    last_offset_delta: int
    base_timestamp: int
    max_timestamp: int
    producer_id: int
    producer_epoch: int
    base_sequence: int
    records_count: int

    @property
    def size(self) -> int:
        """Bytes the whole batch takes, header included."""
        return self.batch_length + LOG_OVERHEAD

    @property
    def last_offset(self) -> int:
        return self.base_offset + self.last_offset_delta

    @property
    def compression(self) -> int:
        return self.attributes & COMPRESSION_MASK

    @property
    def is_transactional(self) -> bool:
        return bool(self.attributes & TRANSACTIONAL_MASK)

    @property
    def is_control(self) -> bool:
        return bool(self.attributes & CONTROL_MASK)

    @property
    def log_append_time(self) -> bool:
        return bool(self.attributes & TIMESTAMP_TYPE_MASK)


def parse_batch_header(buf: bytes | bytearray | memoryview, pos: int = 0) -> BatchHeader:
    return BatchHeader._make(_HEADER.unpack_from(buf, pos))


def compute_crc(buf: bytes | bytearray | memoryview, pos: int, size: int) -> int:
    """CRC-32C of a batch at buf[pos:pos+size], over the part Kafka's CRC covers."""
    return crc32c.crc32c(memoryview(buf)[pos + ATTRIBUTES_OFFSET : pos + size])


def validate_batches(
    buf: bytes | bytearray | memoryview, *, check_crc: bool = True
) -> list[BatchHeader]:
    """Split a producer's records blob into batches and validate each header and CRC.

    Raises CorruptRecordError for anything Kafka would reject as CORRUPT_MESSAGE: a length that
    runs past the end, trailing garbage, a magic other than 2, a CRC mismatch, or a record count
    that disagrees with lastOffsetDelta. Records themselves are not parsed.
    """
    view = memoryview(buf)
    end = len(view)
    pos = 0
    headers: list[BatchHeader] = []
    if end == 0:
        raise CorruptRecordError("empty records")
    while pos < end:
        if end - pos < BATCH_HEADER_SIZE:
            if end - pos >= MAGIC_OFFSET + 1 and view[pos + MAGIC_OFFSET] < CURRENT_MAGIC:
                raise CorruptRecordError("message format v0/v1", unsupported_magic=True)
            raise CorruptRecordError(f"truncated batch header at byte {pos}")
        h = BatchHeader._make(_HEADER.unpack_from(view, pos))
        if h.magic != CURRENT_MAGIC:
            raise CorruptRecordError(
                f"unsupported magic {h.magic}", unsupported_magic=h.magic in (0, 1)
            )
        size = h.batch_length + LOG_OVERHEAD
        if size < BATCH_HEADER_SIZE or pos + size > end:
            raise CorruptRecordError(f"batch length {h.batch_length} does not fit the records")
        if h.records_count <= 0 or h.last_offset_delta != h.records_count - 1:
            raise CorruptRecordError(
                f"record count {h.records_count} disagrees with last offset delta "
                f"{h.last_offset_delta}"
            )
        if check_crc and crc32c.crc32c(view[pos + ATTRIBUTES_OFFSET : pos + size]) != h.crc:
            raise CorruptRecordError("CRC-32C mismatch")
        headers.append(h)
        pos += size
    return headers


def patch_base_offset(buf: bytearray | memoryview, pos: int, base_offset: int) -> None:
    _INT64.pack_into(buf, pos + BASE_OFFSET_OFFSET, base_offset)


def patch_partition_leader_epoch(buf: bytearray | memoryview, pos: int, epoch: int) -> None:
    _INT32.pack_into(buf, pos + PARTITION_LEADER_EPOCH_OFFSET, epoch)


def set_log_append_time(buf: bytearray | memoryview, pos: int, size: int, now_ms: int) -> None:
    """Stamp a batch with LogAppendTime: set the timestamp-type bit and maxTimestamp, re-CRC.

    Like Kafka, the record timestamps inside stay as sent; readers use maxTimestamp for every
    record of a LogAppendTime batch.
    """
    attrs = struct.unpack_from(">h", buf, pos + ATTRIBUTES_OFFSET)[0] | TIMESTAMP_TYPE_MASK
    struct.pack_into(">h", buf, pos + ATTRIBUTES_OFFSET, attrs)
    _INT64.pack_into(buf, pos + MAX_TIMESTAMP_OFFSET, now_ms)
    _UINT32.pack_into(buf, pos + CRC_OFFSET, compute_crc(buf, pos, size))


# --------------------------------------------------------------------------- varints


def read_varint(buf: bytes | memoryview, pos: int) -> tuple[int, int]:
    """Zig-zag signed varint (as used inside records). Returns (value, new position)."""
    shift = 0
    raw = 0
    while True:
        b = buf[pos]
        pos += 1
        raw |= (b & 0x7F) << shift
        if not b & 0x80:
            break
        shift += 7
        if shift > 63:
            raise CorruptRecordError("varint too long")
    return (raw >> 1) ^ -(raw & 1), pos


def write_varint(out: bytearray, value: int) -> None:
    raw = (value << 1) ^ (value >> 63)
    while raw & ~0x7F:
        out.append((raw & 0x7F) | 0x80)
        raw >>= 7
    out.append(raw)


# --------------------------------------------------------------------------- compression


def decompress(codec: int, data: bytes | memoryview) -> bytes:
    import cramjam  # only where the broker must look inside a batch

    if codec == Compression.NONE:
        return bytes(data)
    if codec == Compression.GZIP:
        return bytes(cramjam.gzip.decompress(bytes(data)))
    if codec == Compression.SNAPPY:
        raw = bytes(data)
        # Java/librdkafka may use xerial framing: magic header then (len, chunk) blocks.
        if raw[:8] == b"\x82SNAPPY\x00":
            out = bytearray()
            pos = 16
            while pos < len(raw):
                (n,) = struct.unpack_from(">i", raw, pos)
                pos += 4
                out += bytes(cramjam.snappy.decompress_raw(raw[pos : pos + n]))
                pos += n
            return bytes(out)
        return bytes(cramjam.snappy.decompress_raw(raw))
    if codec == Compression.LZ4:
        return bytes(cramjam.lz4.decompress(bytes(data)))
    if codec == Compression.ZSTD:
        # Streamed zstd frames carry no content size; cramjam's decompress handles both.
        return bytes(cramjam.zstd.decompress(bytes(data)))
    raise CorruptRecordError(f"unknown compression codec {codec}")


def compress(codec: int, data: bytes) -> bytes:
    import cramjam

    if codec == Compression.NONE:
        return data
    if codec == Compression.GZIP:
        return bytes(cramjam.gzip.compress(data))
    if codec == Compression.SNAPPY:
        return bytes(cramjam.snappy.compress_raw(data))
    if codec == Compression.LZ4:
        return bytes(cramjam.lz4.compress(data))
    if codec == Compression.ZSTD:
        return bytes(cramjam.zstd.compress(data))
    raise ValueError(f"unknown compression codec {codec}")


# --------------------------------------------------------------------------- records


@dataclass(slots=True)
class Record:
    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes | None]] = field(default_factory=list)


def iter_records(batch: bytes | memoryview) -> Iterator[Record]:
    """Decode the records of one batch (decompressing if needed)."""
    h = parse_batch_header(batch)
    size = h.batch_length + LOG_OVERHEAD
    body = decompress(h.compression, memoryview(batch)[BATCH_HEADER_SIZE:size])
    pos = 0
    for _ in range(h.records_count):
        length, pos = read_varint(body, pos)
        end = pos + length
        if length < 0 or end > len(body):
            raise CorruptRecordError("record length runs past the batch")
        pos += 1  # attributes, unused
        ts_delta, pos = read_varint(body, pos)
        off_delta, pos = read_varint(body, pos)
        key, pos = _read_varbytes(body, pos)
        value, pos = _read_varbytes(body, pos)
        n_headers, pos = read_varint(body, pos)
        headers = []
        for _ in range(n_headers):
            hk, pos = _read_varbytes(body, pos)
            hv, pos = _read_varbytes(body, pos)
            headers.append(((hk or b"").decode("utf-8", "replace"), hv))
        if pos != end:
            raise CorruptRecordError("record length disagrees with its fields")
        ts = h.max_timestamp if h.log_append_time else h.base_timestamp + ts_delta
        yield Record(h.base_offset + off_delta, ts, key, value, headers)


def _read_varbytes(buf: bytes, pos: int) -> tuple[bytes | None, int]:
    n, pos = read_varint(buf, pos)
    if n < 0:
        return None, pos
    if pos + n > len(buf):
        raise CorruptRecordError("field runs past the record")
    return buf[pos : pos + n], pos + n


def build_batch(
    records: list[Record] | list[tuple[bytes | None, bytes | None]],
    *,
    base_offset: int = 0,
    base_timestamp: int | None = None,
    compression: int = Compression.NONE,
    producer_id: int = NO_PRODUCER_ID,
    producer_epoch: int = -1,
    base_sequence: int = -1,
    transactional: bool = False,
    control: bool = False,
    partition_leader_epoch: int = -1,
) -> bytes:
    """Encode a v2 batch. Used by tests and by the broker for batches it writes itself
    (control records, internal topics)."""
    recs = [r if isinstance(r, Record) else Record(i, -1, r[0], r[1])
            for i, r in enumerate(records)]
    if not recs:
        raise ValueError("a batch needs at least one record")
    stamps = [r.timestamp for r in recs]
    if base_timestamp is None:
        base_timestamp = min(stamps) if min(stamps) >= 0 else 0
    body = bytearray()
    for i, r in enumerate(recs):
        rec = bytearray(b"\x00")
        ts = r.timestamp if r.timestamp >= 0 else base_timestamp
        write_varint(rec, ts - base_timestamp)
        write_varint(rec, i)
        for part in (r.key, r.value):
            if part is None:
                write_varint(rec, -1)
            else:
                write_varint(rec, len(part))
                rec += part
        write_varint(rec, len(r.headers))
        for hk, hv in r.headers:
            kb = hk.encode()
            write_varint(rec, len(kb))
            rec += kb
            if hv is None:
                write_varint(rec, -1)
            else:
                write_varint(rec, len(hv))
                rec += hv
        write_varint(body, len(rec))
        body += rec
    payload = compress(compression, bytes(body))
    max_ts = max(r.timestamp if r.timestamp >= 0 else base_timestamp for r in recs)
    attrs = compression | (TRANSACTIONAL_MASK if transactional else 0)
    attrs |= CONTROL_MASK if control else 0
    out = bytearray(BATCH_HEADER_SIZE) + payload
    _HEADER.pack_into(
        out, 0, base_offset, len(out) - LOG_OVERHEAD, partition_leader_epoch, CURRENT_MAGIC, 0,
        attrs, len(recs) - 1, base_timestamp, max_ts, producer_id, producer_epoch,
        base_sequence, len(recs),
    )
    _UINT32.pack_into(out, CRC_OFFSET, compute_crc(out, 0, len(out)))
    return bytes(out)
