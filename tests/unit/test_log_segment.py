"""LogSegment: appends, offset/position lookups, reads, index density, timestamps."""

from __future__ import annotations

import os
import struct

import pytest

from odradek.log.errors import LogError
from odradek.log.segment import LogSegment
from odradek.protocol.records import (
    CRC_OFFSET,
    Compression,
    Record,
    build_batch,
    compute_crc,
    iter_records,
    parse_batch_header,
    validate_batches,
)

NOW = 1_700_000_000_000


def make_batch(
    n: int = 1,
    *,
    ts: int = NOW,
    ts_step: int = 0,
    value_size: int = 20,
    compression: int = Compression.NONE,
) -> bytes:
    records = [Record(0, ts + i * ts_step, b"k%d" % i, b"v" * value_size) for i in range(n)]
    return build_batch(records, compression=compression)


def append(seg: LogSegment, *batches: bytes, now_ms: int = NOW, **kw) -> bytearray:
    buf = bytearray(b"".join(batches))
    first = seg.next_offset
    seg.append(buf, validate_batches(buf), first, now_ms, **kw)
    return buf


def whole_file(seg: LogSegment) -> bytes:
    return seg.log_path.read_bytes()


@pytest.fixture
def seg(tmp_path):
    s = LogSegment.create(tmp_path, 0, 4096, NOW)
    yield s
    s.close()


def test_new_segment_creates_kafka_named_files(tmp_path):
    s = LogSegment.create(tmp_path, 42, 4096, NOW)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [
        "00000000000000000042.index",
        "00000000000000000042.log",
        "00000000000000000042.timeindex",
    ]
    assert (s.size, s.next_offset, s.max_timestamp) == (0, 42, -1)
    s.close()


def test_append_stores_batches_as_given_with_offsets_patched(seg):
    b1, b2, b3 = make_batch(3), make_batch(1, value_size=500), make_batch(5, ts_step=1)
    buf = append(seg, b1, b2, b3)
    assert whole_file(seg) == bytes(buf)
    assert seg.size == len(buf)
    assert seg.next_offset == 9
    headers = validate_batches(whole_file(seg))  # CRCs still valid: base offset is not covered
    assert [(h.base_offset, h.last_offset) for h in headers] == [(0, 2), (3, 3), (4, 8)]
    # Only the base offset differs from what the producer sent.
    assert whole_file(seg)[8:len(b1)] == b1[8:]
    records = [r.offset for batch in seg.iter_batches() for r in iter_records(batch)]
    assert records == list(range(9))


def test_append_patches_callers_buffer_in_place(seg):
    append(seg, make_batch(2))
    buf = bytearray(make_batch(4))
    view = memoryview(buf)
    seg.append(view, validate_batches(buf), 2, NOW)
    assert parse_batch_header(buf).base_offset == 2


def test_append_rejects_headers_not_covering_buffer(seg):
    batch = make_batch(2)
    buf = bytearray(batch + batch)
    with pytest.raises(ValueError):
        seg.append(buf, validate_batches(batch), 0, NOW)
    assert seg.size == 0
    assert whole_file(seg) == b""
    assert len(seg.offset_index) == 0


def test_find_position_for_every_offset(seg):
    batches = [make_batch(n) for n in (1, 4, 2, 7, 1, 3)]
    append(seg, *batches)
    pos = 0
    offset = 0
    for b in batches:
        n = parse_batch_header(b).records_count
        for o in range(offset, offset + n):
            assert seg.find_position(o) == (pos, len(b))
        pos += len(b)
        offset += n
    assert seg.find_position(offset) is None
    assert seg.find_position(offset + 100) is None


def test_index_entry_every_index_interval_bytes(tmp_path):
    interval = 1000
    s = LogSegment.create(tmp_path, 100, interval, NOW)
    sizes = []
    for i in range(60):
        b = make_batch(1 + i % 3, value_size=50 + 37 * (i % 7))
        sizes.append(len(b))
        append(s, b)
    # Kafka's rule: an entry for a batch when more than `interval` bytes were written since the
    # last entry; the first batch never gets one (position 0 is implicit).
    expected_positions = []
    since = 0
    pos = 0
    for size in sizes:
        if since > interval:
            expected_positions.append(pos)
            since = 0
        since += size
        pos += size
    entries = s.offset_index.entries()
    assert [p for _, p in entries] == expected_positions
    assert len(entries) >= 5
    for offset, position in entries:  # each entry names the last offset of its batch
        h = parse_batch_header(whole_file(s), position)
        assert h.last_offset == offset
    s.close()


def test_index_entries_from_one_big_append_equal_many_small_ones(tmp_path):
    batches = [make_batch(2, value_size=300 + i) for i in range(40)]
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    one = LogSegment.create(tmp_path / "a", 0, 1024, NOW)
    many = LogSegment.create(tmp_path / "b", 0, 1024, NOW)
    append(one, *batches)
    for b in batches:
        append(many, b)
    assert one.offset_index.entries() == many.offset_index.entries()
    assert one.offset_index.path.read_bytes() == many.offset_index.path.read_bytes()
    assert whole_file(one) == whole_file(many)
    one.close()
    many.close()


def test_lookups_go_through_index(tmp_path):
    s = LogSegment.create(tmp_path, 0, 200, NOW)
    batches = [make_batch(3, value_size=80) for _ in range(50)]
    append(s, *batches)
    assert len(s.offset_index) > 10
    size = len(batches[0])
    for offset in range(150):
        assert s.find_position(offset) == ((offset // 3) * size, size)
    s.close()


def test_read_respects_max_size_and_position(seg):
    batches = [make_batch(2, value_size=100) for _ in range(5)]
    append(seg, *batches)
    size = len(batches[0])
    data = whole_file(seg)
    # From the batch holding offset 3 (mid-batch): the whole rest fits.
    s = seg.read(3, 10_000)
    assert (s.position, s.size) == (size, 4 * size)
    assert s.read_bytes() == data[size:]
    # max_size may end mid-batch, like Kafka's FileRecords.slice.
    s = seg.read(3, size + 7)
    assert (s.position, s.size) == (size, size + 7)
    # max_position is never crossed.
    s = seg.read(3, 10_000, max_position=3 * size)
    assert (s.position, s.size) == (size, 2 * size)
    assert seg.read(4, 10_000, max_position=2 * size) is None
    assert seg.read(10, 10_000) is None


def test_read_min_one_batch_returns_whole_first_batch(seg):
    big = make_batch(1, value_size=5000)
    append(seg, big, make_batch(1))
    assert seg.read(0, 100).size == 100  # partial batch without min_one_batch
    s = seg.read(0, 100, min_one_batch=True)
    assert s.size == len(big)
    assert s.read_bytes() == whole_file(seg)[: len(big)]
    assert seg.read(0, 0) is None
    assert seg.read(0, 0, min_one_batch=True).size == len(big)


def test_max_timestamp_tracking(seg):
    append(seg, make_batch(3, ts=NOW + 10, ts_step=5))  # offsets 0-2, ts up to NOW+20
    append(seg, make_batch(2, ts=NOW + 100))  # offsets 3-4
    append(seg, make_batch(2, ts=NOW + 50))  # offsets 5-6: older
    assert seg.max_timestamp == NOW + 100
    assert seg.offset_of_max_timestamp == 4  # last offset of the batch holding it
    assert seg.max_timestamp_record() == (3, NOW + 100)  # first record holding it


def test_time_index_gets_entries_only_when_max_grows(tmp_path):
    s = LogSegment.create(tmp_path, 0, 0, NOW)  # interval 0: an index entry for each batch
    for ts in (100, 300, 200, 300, 400, 50):
        append(s, make_batch(1, ts=NOW + ts))
    assert [p for _, p in s.offset_index.entries()] == [
        i * len(make_batch(1)) for i in range(1, 6)
    ]
    assert s.time_index.entries() == [(NOW + 300, 1), (NOW + 400, 4)]
    s.close()


@pytest.mark.parametrize(
    "compression",
    [Compression.NONE, Compression.GZIP, Compression.SNAPPY, Compression.LZ4, Compression.ZSTD],
)
def test_find_offset_by_timestamp_inside_batch(tmp_path, compression):
    s = LogSegment.create(tmp_path, 0, 100, NOW)
    for i in range(20):  # 10 records per batch, timestamps NOW + 10*offset
        append(s, make_batch(10, ts=NOW + 100 * i, ts_step=10, compression=compression))
    assert s.find_offset_by_timestamp(NOW) == (0, NOW)
    assert s.find_offset_by_timestamp(NOW - 5000) == (0, NOW)
    assert s.find_offset_by_timestamp(NOW + 1234) == (124, NOW + 1240)
    assert s.find_offset_by_timestamp(NOW + 1240) == (124, NOW + 1240)
    assert s.find_offset_by_timestamp(NOW + 1990) == (199, NOW + 1990)
    assert s.find_offset_by_timestamp(NOW + 1991) is None
    # Records below starting_offset are skipped (the log start offset).
    assert s.find_offset_by_timestamp(NOW + 30, starting_offset=57) == (57, NOW + 570)
    s.close()


def test_find_offset_by_timestamp_with_out_of_order_timestamps(seg):
    append(seg, make_batch(2, ts=NOW + 500))  # 0-1
    append(seg, make_batch(2, ts=NOW + 100))  # 2-3
    append(seg, make_batch(2, ts=NOW + 900))  # 4-5
    assert seg.find_offset_by_timestamp(NOW + 50) == (0, NOW + 500)
    assert seg.find_offset_by_timestamp(NOW + 600) == (4, NOW + 900)


def test_log_append_time_stamps_batch_and_keeps_crc_valid(seg):
    original = make_batch(3, ts=NOW - 10_000, ts_step=1)
    buf = append(seg, original, now_ms=NOW + 7, log_append_time=True)
    stored = whole_file(seg)
    assert stored == bytes(buf)
    (h,) = validate_batches(stored)  # the CRC was recomputed
    assert h.log_append_time
    assert h.max_timestamp == NOW + 7
    assert [r.timestamp for r in iter_records(stored)] == [NOW + 7] * 3
    assert seg.max_timestamp == NOW + 7
    assert seg.max_timestamp_record() == (0, NOW + 7)
    assert seg.find_offset_by_timestamp(NOW) == (0, NOW + 7)


def test_truncate_to_removes_whole_batches(seg):
    batches = [make_batch(3) for _ in range(4)]
    append(seg, *batches)
    size = len(batches[0])
    assert seg.truncate_to(7) == 2 * size  # offset 7 is in the batch 6-8: it goes whole
    assert seg.size == 2 * size
    assert seg.next_offset == 6
    assert os.path.getsize(seg.log_path) == 2 * size
    assert seg.truncate_to(100) == 0
    append(seg, make_batch(1))
    assert seg.next_offset == 7


def test_truncate_recomputes_max_timestamp(tmp_path):
    s = LogSegment.create(tmp_path, 0, 0, NOW)
    for ts in (100, 200, 300):
        append(s, make_batch(1, ts=NOW + ts))
    s.truncate_to(2)
    assert (s.max_timestamp, s.offset_of_max_timestamp) == (NOW + 200, 1)
    s.truncate_to(0)
    assert (s.size, s.max_timestamp, s.offset_of_max_timestamp) == (0, -1, -1)
    s.close()


def test_sealed_segment_reopens_with_lazy_indexes(tmp_path):
    s = LogSegment.create(tmp_path, 0, 300, NOW)
    append(s, *[make_batch(2, ts=NOW + i) for i in range(30)])
    entries = s.offset_index.entries()
    time_entries = s.time_index.entries()
    s.seal()
    assert not s.writable
    with pytest.raises(LogError):
        append(s, make_batch(1))
    s.close()
    again = LogSegment.open(tmp_path, 0, 300, active=False, now_ms=NOW)
    assert not again.offset_index.loaded
    assert (again.next_offset, again.max_timestamp) == (60, NOW + 29)
    assert again.find_position(33) is not None  # loads the indexes
    assert again.offset_index.entries() == entries
    # seal() adds the segment's max timestamp as the final time index entry (as Kafka does).
    assert again.time_index.entries()[: len(time_entries)] == time_entries
    assert again.time_index.last_entry() == (NOW + 29, 59)
    again.close()


def test_file_slice_survives_segment_deletion(seg):
    append(seg, make_batch(5, value_size=300))
    expected = whole_file(seg)
    s = seg.read(0, 1 << 20)
    seg.delete()
    assert not seg.log_path.exists()
    assert s.read_bytes() == expected
    assert os.pread(s.fileno(), 10, s.position) == expected[:10]


def test_rolling_timestamp_and_time_waited(seg):
    append(seg, make_batch(1, ts=NOW + 100))
    append(seg, make_batch(1, ts=NOW + 50))
    assert seg.first_batch_timestamp == NOW + 100
    assert seg.time_waited_for_roll(NOW + 10**6, NOW + 600) == 500


def test_largest_timestamp_falls_back_to_write_time(tmp_path):
    s = LogSegment.create(tmp_path, 0, 4096, NOW)
    assert s.largest_timestamp == NOW  # created, nothing written yet
    append(s, make_batch(1, ts=NOW - 5))
    assert s.largest_timestamp == NOW - 5
    s.close()


def batch_without_timestamps(n: int = 2) -> bytes:
    """A v2 batch whose base and max timestamps are NO_TIMESTAMP (-1), as some clients send."""
    buf = bytearray(make_batch(n))
    struct.pack_into(">qq", buf, 27, -1, -1)
    struct.pack_into(">I", buf, CRC_OFFSET, compute_crc(buf, 0, len(buf)))
    return bytes(buf)


def test_batches_without_timestamps(tmp_path):
    s = LogSegment.create(tmp_path, 0, 0, NOW)
    append(s, *[batch_without_timestamps() for _ in range(4)], now_ms=NOW + 5)
    assert len(s.offset_index) == 3
    assert s.time_index.entries() == []
    assert (s.max_timestamp, s.offset_of_max_timestamp) == (-1, -1)
    assert s.largest_timestamp == NOW + 5  # retention falls back to the last write time
    assert s.max_timestamp_record() is None
    assert s.find_offset_by_timestamp(0) is None
    assert s.time_waited_for_roll(NOW + 100, -1) == 100  # no timestamps: since creation
    s.seal()
    s.close()
    again = LogSegment.open(tmp_path, 0, 0, active=True, now_ms=NOW)
    assert (again.next_offset, again.max_timestamp) == (8, -1)
    assert again.time_index.entries() == []
    again.close()


def test_space_is_reserved_ahead_and_given_back(tmp_path):
    """The active segment reserves disk space past its end (fallocate, KEEP_SIZE): the file's
    size stays exactly its batches, and what is reserved goes when the segment is sealed or
    reopened after a crash. (Filesystems without fallocate reserve nothing.)"""
    s = LogSegment.create(tmp_path, 0, 4096, NOW)
    data = append(s, make_batch(50, value_size=1000))
    assert os.stat(s.log_path).st_size == s.size == len(data)
    reserved = os.stat(s.log_path).st_blocks * 512
    if reserved < s.size + 64 * 1024:
        pytest.skip("this filesystem reserves nothing")
    assert whole_file(s) == bytes(data)  # reads see the batches only
    s.seal()
    assert os.stat(s.log_path).st_blocks * 512 < s.size + 64 * 1024
    s.close()

    crashed = LogSegment.create(tmp_path, 100, 4096, NOW)
    append(crashed, make_batch(5))
    assert os.stat(crashed.log_path).st_blocks * 512 >= 64 * 1024
    os.close(crashed._wfd)  # no seal, as in a crash
    crashed.offset_index.close()
    crashed.time_index.close()
    reopened = LogSegment.open(tmp_path, 100, 4096, active=True, now_ms=NOW)
    assert os.stat(reopened.log_path).st_blocks * 512 < reopened.size + 64 * 1024
    append(reopened, make_batch(5))
    assert reopened.next_offset == 110
    reopened.close()
