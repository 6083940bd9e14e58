"""OffsetIndex / TimeIndex: Kafka's file formats, lookups, truncation, loading and sanity."""

from __future__ import annotations

import struct

import pytest

from odradek.log.errors import CorruptIndexError
from odradek.log.index import OffsetIndex, TimeIndex

BASE = 1000


@pytest.fixture
def offset_index(tmp_path):
    idx = OffsetIndex(tmp_path / "00000000000000001000.index", BASE)
    idx.reset()
    yield idx
    idx.close()


@pytest.fixture
def time_index(tmp_path):
    idx = TimeIndex(tmp_path / "00000000000000001000.timeindex", BASE)
    idx.reset()
    yield idx
    idx.close()


def test_offset_index_lookup_returns_largest_entry_at_or_below(offset_index):
    for offset, pos in [(1004, 100), (1010, 250), (1020, 600)]:
        offset_index.append(offset, pos)
    assert offset_index.lookup(999) == (BASE, 0)
    assert offset_index.lookup(1000) == (BASE, 0)
    assert offset_index.lookup(1003) == (BASE, 0)
    assert offset_index.lookup(1004) == (1004, 100)
    assert offset_index.lookup(1009) == (1004, 100)
    assert offset_index.lookup(1010) == (1010, 250)
    assert offset_index.lookup(1019) == (1010, 250)
    assert offset_index.lookup(10**12) == (1020, 600)
    assert offset_index.last_entry() == (1020, 600)


def test_empty_offset_index_lookup_gives_segment_start(offset_index):
    assert offset_index.lookup(5000) == (BASE, 0)
    assert offset_index.last_entry() is None
    assert len(offset_index) == 0


def test_offset_index_file_is_kafka_format(offset_index):
    offset_index.append(1004, 100)
    offset_index.append(1010, 250)
    assert offset_index.path.read_bytes() == b""  # nothing written before commit
    offset_index.commit()
    assert offset_index.path.read_bytes() == struct.pack(">iiii", 4, 100, 10, 250)
    offset_index.append(1011, 300)
    offset_index.commit()
    assert offset_index.path.read_bytes() == struct.pack(">iiiiii", 4, 100, 10, 250, 11, 300)


def test_offset_index_reload_gives_same_entries(offset_index):
    entries = [(BASE + 3 * i + 2, 97 * i + 50) for i in range(500)]
    for offset, pos in entries:
        offset_index.append(offset, pos)
    offset_index.commit()
    again = OffsetIndex(offset_index.path, BASE)
    again.load()
    assert again.entries() == entries
    assert again.lookup(BASE + 3 * 250 + 3) == entries[250]
    assert again.peek_last() == entries[-1]


def test_offset_index_peek_last_does_not_load(offset_index):
    offset_index.append(1004, 100)
    offset_index.append(1010, 250)
    offset_index.commit()
    fresh = OffsetIndex(offset_index.path, BASE)
    assert fresh.peek_last() == (1010, 250)
    assert not fresh.loaded
    assert len(fresh) == 0


def test_offset_index_truncate_to_offset(offset_index):
    for offset, pos in [(1004, 100), (1010, 250), (1020, 600)]:
        offset_index.append(offset, pos)
    offset_index.commit()
    offset_index.truncate_to(1010)
    assert offset_index.entries() == [(1004, 100)]
    assert offset_index.path.read_bytes() == struct.pack(">ii", 4, 100)
    offset_index.truncate_to(1005)  # nothing at or above 1005 left
    assert offset_index.entries() == [(1004, 100)]


def test_offset_index_truncate_to_position(offset_index):
    for offset, pos in [(1004, 100), (1010, 250), (1020, 600)]:
        offset_index.append(offset, pos)
    offset_index.commit()
    offset_index.truncate_to_position(250)
    assert offset_index.entries() == [(1004, 100)]
    assert len(offset_index.path.read_bytes()) == 8


def test_offset_index_truncate_uncommitted_entries_only_in_memory(offset_index):
    offset_index.append(1004, 100)
    offset_index.commit()
    offset_index.append(1010, 250)
    offset_index.truncate_entries(1)
    offset_index.commit()
    assert offset_index.entries() == [(1004, 100)]
    assert offset_index.path.read_bytes() == struct.pack(">ii", 4, 100)


def test_offset_index_relative_offset_range(offset_index):
    assert offset_index.can_append_offset(BASE)
    assert offset_index.can_append_offset(BASE + 2**31 - 1)
    assert not offset_index.can_append_offset(BASE + 2**31)
    assert not offset_index.can_append_offset(BASE - 1)


@pytest.mark.parametrize(
    "content",
    [
        struct.pack(">ii", 4, 100) + b"\x00\x01\x02",  # not a multiple of 8 bytes
        struct.pack(">iiii", 10, 100, 4, 200),  # offsets decreasing
        struct.pack(">iiii", 4, 200, 10, 100),  # positions decreasing
        struct.pack(">iiii", 4, 100, 4, 200),  # offsets repeated
        struct.pack(">ii", -5, 100),  # offset below the segment base
    ],
)
def test_offset_index_load_rejects_corrupt_files(tmp_path, content):
    path = tmp_path / "x.index"
    path.write_bytes(content)
    with pytest.raises(CorruptIndexError):
        OffsetIndex(path, BASE).load()


def test_missing_index_is_corrupt(tmp_path):
    with pytest.raises(CorruptIndexError):
        OffsetIndex(tmp_path / "missing.index", BASE).load()
    with pytest.raises(CorruptIndexError):
        TimeIndex(tmp_path / "missing.timeindex", BASE).peek_last()


def test_time_index_appends_only_when_timestamp_grows(time_index):
    assert time_index.maybe_append(5000, 1003)
    assert not time_index.maybe_append(5000, 1007)  # same max timestamp: no entry
    assert not time_index.maybe_append(4000, 1009)  # smaller: no entry
    assert time_index.maybe_append(6000, 1012)
    assert time_index.entries() == [(5000, 1003), (6000, 1012)]
    assert time_index.last_entry() == (6000, 1012)


def test_time_index_lookup(time_index):
    for ts, offset in [(5000, 1003), (6000, 1012), (9000, 1030)]:
        time_index.maybe_append(ts, offset)
    assert time_index.lookup(4999) == BASE
    assert time_index.lookup(5000) == 1003
    assert time_index.lookup(5999) == 1003
    assert time_index.lookup(6000) == 1012
    assert time_index.lookup(10**15) == 1030


def test_time_index_file_format_and_reload(time_index):
    time_index.maybe_append(1_700_000_000_000, 1003)
    time_index.maybe_append(1_700_000_000_500, 1012)
    time_index.commit()
    assert time_index.path.read_bytes() == struct.pack(
        ">qiqi", 1_700_000_000_000, 3, 1_700_000_000_500, 12
    )
    again = TimeIndex(time_index.path, BASE)
    assert again.peek_last() == (1_700_000_000_500, 1012)
    again.load()
    assert again.entries() == [(1_700_000_000_000, 1003), (1_700_000_000_500, 1012)]


def test_time_index_truncate_to(time_index):
    for ts, offset in [(5000, 1003), (6000, 1012), (9000, 1030)]:
        time_index.maybe_append(ts, offset)
    time_index.commit()
    time_index.truncate_to(1012)
    assert time_index.entries() == [(5000, 1003)]
    assert len(time_index.path.read_bytes()) == 12


@pytest.mark.parametrize(
    "content",
    [
        struct.pack(">qi", 5000, 3) + b"\x00" * 5,  # not a multiple of 12 bytes
        struct.pack(">qiqi", 6000, 3, 5000, 4),  # timestamps decreasing
        struct.pack(">qiqi", 5000, 9, 6000, 4),  # offsets decreasing
    ],
)
def test_time_index_load_rejects_corrupt_files(tmp_path, content):
    path = tmp_path / "x.timeindex"
    path.write_bytes(content)
    with pytest.raises(CorruptIndexError):
        TimeIndex(path, BASE).load()


def test_reset_empties_file_and_memory(offset_index):
    offset_index.append(1004, 100)
    offset_index.commit()
    offset_index.reset()
    assert len(offset_index) == 0
    assert offset_index.path.read_bytes() == b""


def test_delete_removes_file(offset_index):
    offset_index.append(1004, 100)
    offset_index.commit()
    offset_index.delete()
    assert not offset_index.path.exists()
