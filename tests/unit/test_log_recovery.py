"""Recovery on open: torn tails, garbage, bad CRCs, missing or wrong indexes, leftovers."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from odradek.log import LogConfig, PartitionLog
from odradek.protocol.records import (
    Compression,
    Record,
    build_batch,
    iter_records,
    parse_batch_header,
    validate_batches,
)

NOW = 1_700_000_000_000
CONFIG = LogConfig(segment_bytes=1500, index_interval_bytes=400)


def make_batch(n: int = 2, *, ts: int = NOW, value_size: int = 40, compression: int = 0) -> bytes:
    records = [Record(0, ts + i, b"k%d" % i, b"v" * value_size) for i in range(n)]
    return build_batch(records, compression=compression)


def append(log: PartitionLog, *batches: bytes):
    buf = bytearray(b"".join(batches))
    return log.append(buf, validate_batches(buf), NOW)


def seg_file(d: Path, base: int, suffix: str) -> Path:
    return d / f"{base:020d}{suffix}"


def build_log(d: Path, n_batches: int = 30, config: LogConfig = CONFIG) -> list[int]:
    """A closed log of `n_batches` 2-record batches; returns the segments' base offsets."""
    lg = PartitionLog.open(d, config)
    for i in range(n_batches):
        append(lg, make_batch(2, ts=NOW + 10 * i, value_size=40 + i % 5))
    bases = [s.base_offset for s in lg.segments]
    lg.close()
    return bases


def snapshot(lg: PartitionLog):
    for s in lg.segments:
        s.find_position(s.base_offset)  # loads the indexes sealed segments load lazily
    return (
        lg.log_end_offset,
        lg.size_bytes,
        [(s.base_offset, s.size, s.next_offset, s.max_timestamp) for s in lg.segments],
        [(s.offset_index.entries(), s.time_index.entries()) for s in lg.segments],
        b"".join(lg.iter_batches(0)),
    )


def all_offsets(lg: PartitionLog) -> list[int]:
    return [r.offset for b in lg.iter_batches(0) for r in iter_records(b)]


@pytest.fixture
def d(tmp_path):
    return tmp_path / "topic-0"


def last_batch_position(path: Path) -> int:
    data = path.read_bytes()
    pos = 0
    while pos + parse_batch_header(data, pos).size < len(data):
        pos += parse_batch_header(data, pos).size
    return pos


# ---------------------------------------------------------------------------------- active tail


@pytest.mark.parametrize("cut", [1, 10, 61, 70])
def test_torn_tail_is_truncated(d, caplog, cut):
    bases = build_log(d)
    active = seg_file(d, bases[-1], ".log")
    last_pos = last_batch_position(active)
    full_size = active.stat().st_size
    os.truncate(active, full_size - cut)  # the last batch lost its end
    with caplog.at_level(logging.WARNING, logger="odradek.log"):
        lg = PartitionLog.open(d, CONFIG)
    assert any("truncating" in r.getMessage() for r in caplog.records)
    assert active.stat().st_size == last_pos
    assert lg.log_end_offset == 58  # 30 batches of 2, the last one gone
    assert all_offsets(lg) == list(range(58))
    assert append(lg, make_batch(2)).base_offset == 58
    assert all_offsets(lg) == list(range(60))
    lg.close()


@pytest.mark.parametrize("garbage", [b"\x00" * 4096, os.urandom(1000), b"\xff" * 7])
def test_garbage_after_last_batch_is_truncated(d, garbage):
    bases = build_log(d)
    active = seg_file(d, bases[-1], ".log")
    size = active.stat().st_size
    with open(active, "ab") as f:
        f.write(garbage)
    lg = PartitionLog.open(d, CONFIG)
    assert active.stat().st_size == size
    assert lg.log_end_offset == 60
    lg.close()


def test_crc_mismatch_in_last_batch_truncates_it(d, caplog):
    bases = build_log(d)
    active = seg_file(d, bases[-1], ".log")
    last_pos = last_batch_position(active)
    data = bytearray(active.read_bytes())
    data[last_pos + 70] ^= 0x01  # a bit flip in the records: only the CRC can tell
    active.write_bytes(bytes(data))
    with caplog.at_level(logging.WARNING, logger="odradek.log"):
        lg = PartitionLog.open(d, CONFIG)
    assert any("CRC" in r.getMessage() for r in caplog.records)
    assert active.stat().st_size == last_pos
    assert lg.log_end_offset == 58
    validate_batches(b"".join(lg.iter_batches(0)))
    lg.close()


def test_crc_error_in_middle_of_tail_drops_everything_after(d):
    lg = PartitionLog.open(d, LogConfig(index_interval_bytes=1 << 20))  # no index entries
    for _ in range(10):
        append(lg, make_batch(2, compression=Compression.GZIP))
    lg.close()
    log_file = seg_file(d, 0, ".log")
    data = bytearray(log_file.read_bytes())
    size = parse_batch_header(data).size
    data[3 * size + 65] ^= 0x40  # inside batch 3
    log_file.write_bytes(bytes(data))
    lg = PartitionLog.open(d, LogConfig(index_interval_bytes=1 << 20))
    assert lg.log_end_offset == 6
    assert log_file.stat().st_size == 3 * size
    lg.close()


def test_recovery_starts_at_last_index_entry(d):
    """Recovery cost follows the unindexed tail: bytes before the active segment's last index
    entry are not re-read, so a flipped bit there goes unnoticed (as in Kafka, whose recovery
    starts at the recovery point)."""
    bases = build_log(d, config=LogConfig(index_interval_bytes=400))
    assert bases == [0]
    log_file = seg_file(d, 0, ".log")
    lg = PartitionLog.open(d, LogConfig(index_interval_bytes=400))
    assert len(lg.segments[0].offset_index) >= 3
    lg.close()
    data = bytearray(log_file.read_bytes())
    data[100] ^= 0x01  # inside the first batch, long before the last index entry
    log_file.write_bytes(bytes(data))
    lg = PartitionLog.open(d, LogConfig(index_interval_bytes=400))
    assert lg.log_end_offset == 60
    assert log_file.stat().st_size == len(data)
    lg.close()


def test_torn_batch_at_last_index_entry(d):
    config = LogConfig(index_interval_bytes=0)  # an index entry at every batch but the first
    lg = PartitionLog.open(d, config)
    for _ in range(5):
        append(lg, make_batch(2))
    lg.close()
    log_file = seg_file(d, 0, ".log")
    size = len(make_batch(2))
    os.truncate(log_file, 5 * size - 20)  # the last batch, which has an index entry, is torn
    lg = PartitionLog.open(d, config)
    assert lg.log_end_offset == 8
    assert lg.segments[0].offset_index.entries() == [(3, size), (5, 2 * size), (7, 3 * size)]
    assert len(seg_file(d, 0, ".index").read_bytes()) == 3 * 8
    assert append(lg, make_batch(2)).base_offset == 8
    assert lg.segments[0].offset_index.entries()[-1] == (9, 4 * size)
    lg.close()


def test_crc_error_in_batch_at_last_index_entry(d):
    config = LogConfig(index_interval_bytes=0)
    lg = PartitionLog.open(d, config)
    for _ in range(5):
        append(lg, make_batch(2))
    lg.close()
    log_file = seg_file(d, 0, ".log")
    size = len(make_batch(2))
    data = bytearray(log_file.read_bytes())
    data[4 * size + 80] ^= 0x10  # the last batch, which the last index entry names
    log_file.write_bytes(bytes(data))
    lg = PartitionLog.open(d, config)
    assert lg.log_end_offset == 8
    assert log_file.stat().st_size == 4 * size
    assert lg.segments[0].offset_index.entries() == [(3, size), (5, 2 * size), (7, 3 * size)]
    lg.close()


def test_zero_length_active_segment(d):
    bases = build_log(d)
    # A crash right after a roll: the new segment exists but is empty, with no index files.
    seg_file(d, 60, ".log").write_bytes(b"")
    lg = PartitionLog.open(d, CONFIG)
    assert [s.base_offset for s in lg.segments] == bases + [60]
    assert lg.log_end_offset == 60
    assert seg_file(d, 60, ".index").exists()
    assert append(lg, make_batch(2)).base_offset == 60
    lg.close()


def test_only_empty_log_file(d):
    d.mkdir()
    seg_file(d, 0, ".log").write_bytes(b"")
    lg = PartitionLog.open(d, CONFIG)
    assert (lg.log_end_offset, lg.size_bytes) == (0, 0)
    assert append(lg, make_batch(1)).base_offset == 0
    lg.close()


# ---------------------------------------------------------------------------------- indexes


def test_deleted_index_files_are_rebuilt_identically(d):
    bases = build_log(d)
    assert len(bases) >= 3
    originals = {p.name: p.read_bytes() for p in d.iterdir() if p.suffix != ".log"}
    lg = PartitionLog.open(d, CONFIG)
    expected = snapshot(lg)
    ts_answer = lg.offset_for_timestamp(NOW + 155)
    lg.close()
    for p in d.iterdir():
        if p.suffix in (".index", ".timeindex"):
            p.unlink()
    lg = PartitionLog.open(d, CONFIG)
    assert snapshot(lg) == expected
    assert lg.offset_for_timestamp(NOW + 155) == ts_answer == (32, NOW + 160)
    assert lg.max_timestamp() == (59, NOW + 291)
    lg.close()
    rebuilt = {p.name: p.read_bytes() for p in d.iterdir() if p.suffix != ".log"}
    assert rebuilt == originals


@pytest.mark.parametrize("suffix", [".index", ".timeindex"])
def test_malformed_index_of_sealed_segment_is_rebuilt(d, suffix):
    build_log(d)
    path = seg_file(d, 0, suffix)
    original = path.read_bytes()
    lg = PartitionLog.open(d, CONFIG)
    expected = snapshot(lg)
    lg.close()
    path.write_bytes(original + b"\x01\x02\x03")  # not a whole number of entries
    lg = PartitionLog.open(d, CONFIG)
    assert snapshot(lg) == expected
    lg.close()
    assert path.read_bytes() == original


@pytest.mark.parametrize("segment", [0, -1])
def test_index_from_another_log_is_rebuilt(d, segment):
    config = LogConfig(segment_bytes=1500, index_interval_bytes=100)
    bases = build_log(d, config=config)
    path = seg_file(d, bases[segment], ".index")
    original = path.read_bytes()
    assert len(original) >= 16
    # Well-formed, increasing, inside the file, but naming batches that are not there.
    path.write_bytes(bytes.fromhex("00000003 00000005 00000007 00000009".replace(" ", "")))
    lg = PartitionLog.open(d, config)
    assert lg.log_end_offset == 60
    lg.close()
    assert path.read_bytes() == original


def test_index_pointing_past_end_of_active_log(d, caplog):
    config = LogConfig(index_interval_bytes=0)
    lg = PartitionLog.open(d, config)
    for _ in range(6):
        append(lg, make_batch(2))
    lg.close()
    size = len(make_batch(2))
    log_file = seg_file(d, 0, ".log")
    os.truncate(log_file, 3 * size)  # the log lost its last three batches, the index did not
    with caplog.at_level(logging.WARNING, logger="odradek.log"):
        lg = PartitionLog.open(d, config)
    assert any("past the end" in r.getMessage() for r in caplog.records)
    assert lg.log_end_offset == 6
    assert lg.segments[0].offset_index.entries() == [(3, size), (5, 2 * size)]
    assert lg.segments[0].time_index.entries()[-1][1] <= 5
    assert append(lg, make_batch(2)).base_offset == 6
    lg.close()


def test_sealed_segment_shorter_than_its_index(d):
    bases = build_log(d)
    first = seg_file(d, bases[0], ".log")
    data = first.read_bytes()
    # Cut at a batch boundary before the last index entry.
    lg = PartitionLog.open(d, CONFIG)
    lg.segments[0].find_position(0)
    last_entry_pos = lg.segments[0].offset_index.last_entry()[1]
    lg.close()
    pos = 0
    while pos + parse_batch_header(data, pos).size <= last_entry_pos - 1:
        pos += parse_batch_header(data, pos).size
    os.truncate(first, pos)
    lg = PartitionLog.open(d, CONFIG)
    seg0 = lg.segments[0]
    assert seg0.size == pos
    assert seg0.next_offset == parse_batch_header(data, pos).base_offset
    assert all(p < pos for _, p in seg0.offset_index.entries())
    # The rest of the log is intact; consumers see a gap where the data went missing.
    assert lg.log_end_offset == 60
    offsets = all_offsets(lg)
    assert offsets == list(range(seg0.next_offset)) + list(range(bases[1], 60))
    lg.close()


def test_torn_tail_of_sealed_segment_is_truncated(d):
    bases = build_log(d)
    first = seg_file(d, bases[0], ".log")
    last_pos = last_batch_position(first)
    os.truncate(first, first.stat().st_size - 5)
    lg = PartitionLog.open(d, CONFIG)
    assert lg.segments[0].size == last_pos
    assert lg.segments[0].next_offset == bases[1] - 2
    assert lg.log_end_offset == 60
    lg.close()


# ---------------------------------------------------------------------------------- directory


def test_leftover_and_orphan_files_are_removed(d):
    bases = build_log(d)
    leftovers = [
        seg_file(d, 0, ".log.deleted"),
        seg_file(d, 0, ".index.deleted"),
        seg_file(d, bases[1], ".log.cleaned"),
        seg_file(d, bases[1], ".log.swap"),
        seg_file(d, 999, ".index"),  # an index without a log
        seg_file(d, 999, ".timeindex"),
    ]
    for p in leftovers:
        p.write_bytes(b"junk")
    unrelated = d / "partition.metadata"
    unrelated.write_text("version: 0\n")
    lg = PartitionLog.open(d, CONFIG)
    assert not any(p.exists() for p in leftovers)
    assert unrelated.exists()
    assert lg.log_end_offset == 60
    lg.close()
