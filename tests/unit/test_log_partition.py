"""PartitionLog: offsets, reads across segments, rolling, retention, DeleteRecords, reopen."""

from __future__ import annotations

import dataclasses
import os

import pytest

from odradek.log import FileSlice, LogConfig, OffsetOutOfRangeError, PartitionLog
from odradek.protocol.records import (
    Compression,
    Record,
    build_batch,
    iter_records,
    parse_batch_header,
    validate_batches,
)

NOW = 1_700_000_000_000
DAY = 86_400_000


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


def append(log: PartitionLog, *batches: bytes, now_ms: int = NOW):
    buf = bytearray(b"".join(batches))
    return log.append(buf, validate_batches(buf), now_ms)


def offsets_in(data: bytes) -> list[int]:
    return [r.offset for batch in split_batches(data) for r in iter_records(batch)]


def split_batches(data: bytes) -> list[bytes]:
    out, pos = [], 0
    while pos < len(data):
        size = parse_batch_header(data, pos).size
        out.append(data[pos : pos + size])
        pos += size
    return out


def consume_all(log: PartitionLog, start: int, max_bytes: int = 1 << 20) -> list[int]:
    """Fetch like a consumer: whole batches, skipping records below the fetch offset."""
    seen: list[int] = []
    offset = start
    while (s := log.read(offset, max_bytes, min_one_batch=True)) is not None:
        data = s.read_bytes()
        whole = []
        pos = 0
        while pos + 61 <= len(data) and pos + parse_batch_header(data, pos).size <= len(data):
            size = parse_batch_header(data, pos).size
            whole.append(data[pos : pos + size])
            pos += size
        assert whole, "a min_one_batch fetch always holds a whole batch"
        for batch in whole:
            for r in iter_records(batch):
                if r.offset >= offset:
                    seen.append(r.offset)
        offset = parse_batch_header(whole[-1]).last_offset + 1
    return seen


@pytest.fixture
def log(tmp_path):
    lg = PartitionLog.open(tmp_path / "topic-0", LogConfig())
    yield lg
    lg.close()


def small_segments(tmp_path, **kw) -> PartitionLog:
    return PartitionLog.open(tmp_path / "topic-0", LogConfig(**kw))


# ---------------------------------------------------------------------------------- basics


def test_open_empty_creates_first_segment(tmp_path):
    lg = PartitionLog.open(tmp_path / "t-3", LogConfig())
    assert sorted(p.name for p in (tmp_path / "t-3").iterdir()) == [
        "00000000000000000000.index",
        "00000000000000000000.log",
        "00000000000000000000.timeindex",
    ]
    assert (lg.log_start_offset, lg.log_end_offset, lg.high_watermark, lg.size_bytes) == (
        0, 0, 0, 0,
    )
    assert lg.max_timestamp() == (-1, -1)
    assert lg.offset_for_timestamp(0) is None
    assert lg.read(0, 1000, min_one_batch=True) is None
    lg.close()


def test_open_empty_with_log_start_offset(tmp_path):
    lg = PartitionLog.open(tmp_path / "t-0", LogConfig(), log_start_offset=500)
    assert (lg.log_start_offset, lg.log_end_offset) == (500, 500)
    assert lg.segments[0].base_offset == 500
    assert append(lg, make_batch(2)).base_offset == 500
    lg.close()


def test_append_assigns_consecutive_offsets(log):
    r1 = append(log, make_batch(3))
    r2 = append(log, make_batch(1), make_batch(4), make_batch(2))
    assert (r1.base_offset, r1.last_offset, r1.log_append_time_ms) == (0, 2, -1)
    assert (r2.base_offset, r2.last_offset) == (3, 9)
    assert log.log_end_offset == log.high_watermark == 10
    assert offsets_in(b"".join(log.iter_batches())) == list(range(10))
    assert log.size_bytes == sum(len(b) for b in log.iter_batches())


def test_append_patches_callers_buffer(log):
    append(log, make_batch(5))
    buf = bytearray(make_batch(1) + make_batch(2))
    headers = validate_batches(buf)
    log.append(buf, headers, NOW)
    assert [h.base_offset for h in validate_batches(buf)] == [5, 6]
    assert b"".join(log.iter_batches(5)) == bytes(buf)


def test_read_bytes_identical_to_appended(log):
    sent = [make_batch(n, value_size=7 * n, compression=c) for n, c in
            [(1, Compression.NONE), (10, Compression.GZIP), (3, Compression.ZSTD),
             (50, Compression.LZ4), (2, Compression.SNAPPY)]]
    bufs = []
    for b in sent:
        buf = bytearray(b)
        log.append(buf, validate_batches(buf), NOW)
        bufs.append(bytes(buf))
    s = log.read(0, 1 << 20, min_one_batch=False)
    assert s.read_bytes() == b"".join(bufs)
    assert offsets_in(s.read_bytes()) == list(range(66))


def test_read_from_mid_batch_offset_starts_at_its_batch(log):
    b = [make_batch(5) for _ in range(3)]
    append(log, *b)
    size = len(b[0])
    for offset in range(15):
        s = log.read(offset, 1 << 20, min_one_batch=True)
        assert s.position == (offset // 5) * size
        assert offsets_in(s.read_bytes())[0] == (offset // 5) * 5


def test_read_out_of_range(log):
    append(log, make_batch(3))
    with pytest.raises(OffsetOutOfRangeError) as info:
        log.read(4, 100, min_one_batch=True)
    assert (info.value.log_start_offset, info.value.log_end_offset) == (0, 3)
    with pytest.raises(OffsetOutOfRangeError):
        log.read(-1, 100, min_one_batch=True)
    assert log.read(3, 100, min_one_batch=True) is None  # at the log end: nothing yet


def test_read_max_bytes_and_min_one_batch(log):
    big = make_batch(1, value_size=3000)
    small = make_batch(1)
    append(log, big, small, small)
    s = log.read(0, 100, min_one_batch=False)
    assert (s.position, s.size) == (0, 100)  # may end mid-batch
    s = log.read(0, 100, min_one_batch=True)  # KIP-74: the first batch whole, nothing more
    assert s.size == len(big)
    s = log.read(0, len(big) + len(small) + 5, min_one_batch=True)
    assert s.size == len(big) + len(small) + 5
    assert log.read(0, 0, min_one_batch=False) is None


def test_read_never_passes_max_offset(log):
    b = [make_batch(4) for _ in range(5)]
    append(log, *b)
    size = len(b[0])
    s = log.read(0, 1 << 20, min_one_batch=True, max_offset=12)
    assert s.size == 3 * size
    s = log.read(5, 1 << 20, min_one_batch=True, max_offset=10)  # 10 is mid-batch (8-11)
    assert (s.position, s.size) == (size, size)
    assert log.read(12, 1 << 20, min_one_batch=True, max_offset=12) is None
    assert log.read(8, 1 << 20, min_one_batch=True, max_offset=10) is None


def test_read_stops_at_high_watermark(log):
    append(log, make_batch(4), make_batch(4))
    log.high_watermark = 4  # as replication will do
    s = log.read(0, 1 << 20, min_one_batch=True)
    assert offsets_in(s.read_bytes()) == [0, 1, 2, 3]
    assert log.read(4, 1 << 20, min_one_batch=True) is None


# ---------------------------------------------------------------------------------- rolling


def test_roll_by_segment_bytes(tmp_path):
    batch = make_batch(2, value_size=200)
    lg = small_segments(tmp_path, segment_bytes=5 * len(batch))
    for _ in range(23):
        append(lg, batch)
    assert [s.base_offset for s in lg.segments] == [0, 10, 20, 30, 40]
    assert [s.size for s in lg.segments] == [5 * len(batch)] * 4 + [3 * len(batch)]
    assert lg.size_bytes == 23 * len(batch)
    assert consume_all(lg, 0) == list(range(46))
    names = sorted(p.name for p in lg.directory.iterdir() if p.suffix == ".log")
    assert names == [f"{b:020d}.log" for b in (0, 10, 20, 30, 40)]
    lg.close()


def test_roll_when_whole_append_would_not_fit(tmp_path):
    batch = make_batch(1, value_size=200)
    lg = small_segments(tmp_path, segment_bytes=3 * len(batch))
    append(lg, batch, batch)
    append(lg, batch, batch)  # 4 batches would exceed: roll first, one write to the new one
    assert [(s.base_offset, s.size) for s in lg.segments] == [(0, 2 * len(batch)),
                                                              (2, 2 * len(batch))]
    lg.close()


def test_empty_segment_is_never_rolled(tmp_path):
    lg = small_segments(tmp_path, segment_bytes=100)
    big = make_batch(1, value_size=1000)
    append(lg, big)
    append(lg, big)
    assert [(s.base_offset, s.size) for s in lg.segments] == [(0, len(big)), (1, len(big))]
    lg.close()


def test_roll_by_segment_ms_uses_batch_timestamps(tmp_path):
    lg = small_segments(tmp_path, segment_ms=1000)
    append(lg, make_batch(1, ts=NOW))
    append(lg, make_batch(1, ts=NOW + 1000))  # exactly segment.ms: no roll (Kafka uses >)
    assert len(lg.segments) == 1
    append(lg, make_batch(1, ts=NOW + 1001))
    assert [s.base_offset for s in lg.segments] == [0, 2]
    append(lg, make_batch(1, ts=NOW + 1500))  # new segment counts from its first batch
    assert len(lg.segments) == 2
    lg.close()


def test_roll_by_segment_ms_with_log_append_time(tmp_path):
    lg = small_segments(tmp_path, segment_ms=1000, message_timestamp_type="LogAppendTime")
    append(lg, make_batch(1, ts=0), now_ms=NOW)
    append(lg, make_batch(1, ts=0), now_ms=NOW + 999)
    append(lg, make_batch(1, ts=0), now_ms=NOW + 1001)
    assert [s.base_offset for s in lg.segments] == [0, 2]
    lg.close()


def test_roll_if_due(tmp_path):
    lg = small_segments(tmp_path, segment_ms=1000)
    assert not lg.roll_if_due(NOW + 5000)  # empty: never rolled
    append(lg, make_batch(1, ts=NOW))
    assert not lg.roll_if_due(NOW + 1000)
    assert lg.roll_if_due(NOW + 1001)
    assert [s.base_offset for s in lg.segments] == [0, 1]
    lg.close()


def test_roll_when_offset_index_full(tmp_path):
    batch = make_batch(1, value_size=100)
    lg = small_segments(tmp_path, index_interval_bytes=0, segment_index_bytes=24)  # 3 entries
    for _ in range(10):
        append(lg, batch)
    # Entries at batches 2, 3, 4 of a segment (the first batch never has one): full at 4 batches.
    assert [s.base_offset for s in lg.segments] == [0, 4, 8]
    assert all(len(s.offset_index) <= 3 for s in lg.segments)
    lg.close()


def test_update_config_changes_rolling(tmp_path):
    batch = make_batch(1, value_size=100)
    lg = small_segments(tmp_path)
    append(lg, batch, batch)
    lg.update_config(dataclasses.replace(lg.config, segment_bytes=2 * len(batch)))
    append(lg, batch)
    assert [s.base_offset for s in lg.segments] == [0, 2]
    lg.close()


# ---------------------------------------------------------------------------------- segments


def test_reads_span_segments(tmp_path):
    batch = make_batch(3, value_size=100)
    lg = small_segments(tmp_path, segment_bytes=2 * len(batch))
    for _ in range(7):
        append(lg, batch)
    assert len(lg.segments) == 4
    # A fetch at a segment's last batch returns that segment's bytes only (like Kafka).
    s = lg.read(5, 1 << 20, min_one_batch=True)
    assert offsets_in(s.read_bytes()) == [3, 4, 5]
    s = lg.read(6, 1 << 20, min_one_batch=True)
    assert offsets_in(s.read_bytes()) == [6, 7, 8, 9, 10, 11]
    for start in range(21):
        assert consume_all(lg, start) == list(range(start, 21))
    lg.close()


def test_read_continues_into_next_segment_across_a_gap(tmp_path):
    d = tmp_path / "topic-0"
    lg = PartitionLog.open(d, LogConfig())
    append(lg, make_batch(5))
    lg.close()
    # A later segment starting at 100 leaves offsets 5..99 without data (as retention or
    # compaction may): reads in the gap continue into the next segment.
    (d / f"{100:020d}.log").write_bytes(b"")
    lg = PartitionLog.open(d, LogConfig())
    assert lg.log_end_offset == 100
    append(lg, make_batch(2))
    s = lg.read(50, 1 << 20, min_one_batch=True)
    assert offsets_in(s.read_bytes()) == [100, 101]
    s = lg.read(3, 1 << 20, min_one_batch=True)
    assert offsets_in(s.read_bytes()) == [0, 1, 2, 3, 4]
    assert lg.read(50, 1 << 20, min_one_batch=True, max_offset=100) is None
    lg.close()


def test_offset_for_timestamp_and_max_timestamp_across_segments(tmp_path):
    lg = small_segments(tmp_path, segment_bytes=1000)
    for i in range(30):
        append(lg, make_batch(4, ts=NOW + 1000 * i, ts_step=100, compression=Compression.GZIP))
    assert len(lg.segments) > 3
    assert lg.offset_for_timestamp(NOW - 1) == (0, NOW)
    assert lg.offset_for_timestamp(NOW + 12_150) == (50, NOW + 12_200)
    assert lg.offset_for_timestamp(NOW + 29_300) == (119, NOW + 29_300)
    assert lg.offset_for_timestamp(NOW + 29_301) is None
    assert lg.max_timestamp() == (119, NOW + 29_300)
    lg.delete_records_before(50)
    assert lg.offset_for_timestamp(NOW) == (50, NOW + 12_200)  # nothing below log start
    lg.close()


def test_max_timestamp_is_first_record_holding_it(log):
    append(log, make_batch(3, ts=NOW + 500))
    append(log, make_batch(3, ts=NOW + 900, ts_step=-100))  # 900, 800, 700 at 3, 4, 5
    append(log, make_batch(3, ts=NOW + 900))  # same max later: the first one wins
    assert log.max_timestamp() == (3, NOW + 900)


def test_log_append_time(tmp_path):
    lg = small_segments(tmp_path, message_timestamp_type="LogAppendTime")
    r = append(lg, make_batch(3, ts=NOW - DAY), make_batch(2, ts=NOW - DAY), now_ms=NOW + 1)
    assert r.log_append_time_ms == NOW + 1
    data = b"".join(lg.iter_batches())
    headers = validate_batches(data)  # CRCs valid after stamping
    assert all(h.log_append_time and h.max_timestamp == NOW + 1 for h in headers)
    assert {r.timestamp for b in split_batches(data) for r in iter_records(b)} == {NOW + 1}
    assert lg.max_timestamp() == (0, NOW + 1)
    assert lg.offset_for_timestamp(NOW - DAY) == (0, NOW + 1)
    lg.close()


# ---------------------------------------------------------------------------------- retention


def test_retention_by_time(tmp_path):
    batch_size = len(make_batch(2))
    lg = small_segments(tmp_path, segment_bytes=2 * batch_size, retention_ms=DAY)
    for day in range(5):  # two batches a day: one segment per day
        append(lg, make_batch(2, ts=NOW + day * DAY), make_batch(2, ts=NOW + day * DAY + 10))
    assert [s.base_offset for s in lg.segments] == [0, 4, 8, 12, 16]
    # Day 0's newest record (NOW + 10) is exactly retention.ms old: kept (Kafka uses >).
    assert lg.enforce_retention(NOW + DAY + 10) == 0
    assert lg.enforce_retention(NOW + 2 * DAY + 11) == 2  # days 0 and 1 are older than a day
    assert [s.base_offset for s in lg.segments] == [8, 12, 16]
    assert lg.log_start_offset == 8
    assert lg.size_bytes == 6 * batch_size
    assert not (lg.directory / f"{0:020d}.log").exists()
    assert not (lg.directory / f"{4:020d}.index").exists()
    with pytest.raises(OffsetOutOfRangeError):
        lg.read(7, 1000, min_one_batch=True)
    assert consume_all(lg, 8) == list(range(8, 20))
    lg.close()


def test_retention_by_time_expires_active_segment(tmp_path):
    lg = small_segments(tmp_path, retention_ms=DAY)
    append(lg, make_batch(3, ts=NOW))
    assert lg.enforce_retention(NOW + 2 * DAY) == 1
    # An empty segment was rolled at the log end; offsets continue from there.
    assert [s.base_offset for s in lg.segments] == [3]
    assert (lg.log_start_offset, lg.log_end_offset, lg.size_bytes) == (3, 3, 0)
    assert lg.enforce_retention(NOW + 3 * DAY) == 0  # an empty active segment stays
    assert append(lg, make_batch(1)).base_offset == 3
    lg.close()


def test_retention_forever_and_compact_policy_keep_data(tmp_path):
    lg = small_segments(tmp_path, segment_bytes=200, retention_ms=-1)
    for _ in range(5):
        append(lg, make_batch(1, ts=NOW, value_size=150))
    assert lg.enforce_retention(NOW + 1000 * DAY) == 0
    lg.update_config(LogConfig(segment_bytes=200, retention_ms=DAY, cleanup_policy="compact"))
    assert lg.enforce_retention(NOW + 1000 * DAY) == 0
    both = LogConfig(segment_bytes=200, retention_ms=DAY, cleanup_policy="compact,delete")
    lg.update_config(both)
    assert lg.enforce_retention(NOW + 1000 * DAY) == 5
    lg.close()


def test_retention_by_size(tmp_path):
    batch = make_batch(1, value_size=100)
    size = len(batch)
    lg = small_segments(tmp_path, segment_bytes=3 * size, retention_bytes=7 * size)
    for _ in range(11):
        append(lg, batch)
    assert [s.size // size for s in lg.segments] == [3, 3, 3, 2]
    # 11 batches, keep >= 7: deleting the first (3) leaves 8 >= 7, the next would leave 5 < 7.
    assert lg.enforce_retention(NOW) == 1
    assert lg.log_start_offset == 3
    assert lg.size_bytes == 8 * size
    assert lg.enforce_retention(NOW) == 0
    lg.close()


def test_retention_never_deletes_above_high_watermark(tmp_path):
    lg = small_segments(tmp_path, retention_ms=DAY)
    append(lg, make_batch(3, ts=NOW))
    lg.high_watermark = 2  # replication lagging
    assert lg.enforce_retention(NOW + 5 * DAY) == 0
    lg.close()


def test_file_slice_survives_retention(tmp_path):
    lg = small_segments(tmp_path, segment_bytes=300, retention_ms=DAY)
    for _ in range(4):
        append(lg, make_batch(2, value_size=150, ts=NOW))
    s = lg.read(0, 1 << 20, min_one_batch=True)
    assert isinstance(s, FileSlice)
    expected = s.read_bytes()
    assert lg.enforce_retention(NOW + 2 * DAY) == 4
    assert not (lg.directory / f"{0:020d}.log").exists()
    assert s.read_bytes() == expected  # the descriptor keeps the unlinked data readable
    assert offsets_in(expected) == [0, 1]
    lg.close()


# ---------------------------------------------------------------------------------- deletes


def test_delete_records_before(tmp_path):
    batch = make_batch(5)
    lg = small_segments(tmp_path, segment_bytes=2 * len(batch))
    for _ in range(6):
        append(lg, batch)
    assert [s.base_offset for s in lg.segments] == [0, 10, 20]
    assert lg.delete_records_before(7) == 7
    assert [s.base_offset for s in lg.segments] == [0, 10, 20]  # segment 0 still holds 7..9
    with pytest.raises(OffsetOutOfRangeError):
        lg.read(6, 1000, min_one_batch=True)
    s = lg.read(7, 1 << 20, min_one_batch=True)  # from the batch holding 7
    assert offsets_in(s.read_bytes())[0] == 5
    assert lg.delete_records_before(12) == 12
    assert [s.base_offset for s in lg.segments] == [10, 20]
    assert lg.delete_records_before(3) == 12  # never backwards
    with pytest.raises(OffsetOutOfRangeError):
        lg.delete_records_before(31)
    assert lg.delete_records_before(30) == 30  # up to the high watermark: the active stays
    assert [s.base_offset for s in lg.segments] == [20]
    assert lg.read(30, 1000, min_one_batch=True) is None
    assert consume_all(lg, 30) == []
    lg.close()


def test_truncate_to(tmp_path):
    batch = make_batch(2)
    lg = small_segments(tmp_path, segment_bytes=2 * len(batch))
    for _ in range(5):
        append(lg, batch)
    assert [s.base_offset for s in lg.segments] == [0, 4, 8]
    lg.truncate_to(6)
    assert [s.base_offset for s in lg.segments] == [0, 4]
    assert (lg.log_end_offset, lg.high_watermark) == (6, 6)
    assert lg.size_bytes == 3 * len(batch)
    assert not (lg.directory / f"{8:020d}.log").exists()
    assert append(lg, batch).base_offset == 6
    assert consume_all(lg, 0) == list(range(8))
    lg.truncate_to(0)
    assert (lg.log_end_offset, lg.size_bytes) == (0, 0)
    assert append(lg, batch).base_offset == 0
    lg.close()


def test_delete_removes_directory(tmp_path):
    lg = small_segments(tmp_path, segment_bytes=200)
    for _ in range(3):
        append(lg, make_batch(1, value_size=150))
    s = lg.read(0, 1000, min_one_batch=True)
    expected = s.read_bytes()
    lg.delete()
    assert not (tmp_path / "topic-0").exists()
    assert s.read_bytes() == expected


# ---------------------------------------------------------------------------------- reopen


def test_reopen_after_clean_close_gives_same_state(tmp_path):
    d = tmp_path / "topic-0"
    config = LogConfig(segment_bytes=2000, index_interval_bytes=300)
    lg = PartitionLog.open(d, config)
    for i in range(40):
        append(lg, make_batch(1 + i % 4, ts=NOW + i, value_size=30 + i))
    lg.delete_records_before(3)
    before = (
        lg.log_end_offset,
        lg.size_bytes,
        [(s.base_offset, s.size, s.next_offset, s.max_timestamp) for s in lg.segments],
        b"".join(lg.iter_batches(0)),
        lg.max_timestamp(),
        lg.offset_for_timestamp(NOW + 17),
    )
    lg.close()
    index_files = {p.name: p.read_bytes() for p in d.iterdir() if p.suffix != ".log"}
    lg = PartitionLog.open(d, config, log_start_offset=3)
    after = (
        lg.log_end_offset,
        lg.size_bytes,
        [(s.base_offset, s.size, s.next_offset, s.max_timestamp) for s in lg.segments],
        b"".join(lg.iter_batches(0)),
        lg.max_timestamp(),
        lg.offset_for_timestamp(NOW + 17),
    )
    assert after == before
    assert (lg.log_start_offset, lg.high_watermark) == (3, lg.log_end_offset)
    # Recovery of the active segment re-derives the same index entries.
    assert {p.name: p.read_bytes() for p in d.iterdir() if p.suffix != ".log"} == index_files
    r = append(lg, make_batch(2))
    assert r.base_offset == before[0]
    lg.close()


def test_open_with_log_start_offset_beyond_data_starts_fresh(tmp_path):
    d = tmp_path / "topic-0"
    lg = PartitionLog.open(d, LogConfig())
    append(lg, make_batch(5))
    lg.close()
    lg = PartitionLog.open(d, LogConfig(), log_start_offset=100)
    assert (lg.log_start_offset, lg.log_end_offset, lg.size_bytes) == (100, 100, 0)
    assert [p.name for p in d.iterdir() if p.suffix == ".log"] == [f"{100:020d}.log"]
    lg.close()


def test_unflushed_messages_are_counted_until_flush(tmp_path):
    # When to fsync is decided by the broker (broker/durability.py); the log counts.
    lg = small_segments(tmp_path, flush_messages=3)
    append(lg, make_batch(2))
    append(lg, make_batch(2))
    assert lg.unflushed_messages == 4
    lg.flush()
    assert lg.unflushed_messages == 0
    fd = lg.flush_fd()
    os.fsync(fd)
    os.close(fd)
    lg.close()


def test_config_from_topic_configs():
    config = LogConfig.from_topic_configs(
        {"retention.ms": "60000", "segment.bytes": "1048576", "cleanup.policy": "compact",
         "message.timestamp.type": "LogAppendTime", "max.message.bytes": "100",
         "retention.bytes": None}
    )
    assert config.retention_ms == 60000
    assert config.segment_bytes == 1048576
    assert config.log_append_time
    assert not config.delete_enabled
    assert config.retention_bytes == -1
    assert LogConfig().flush_messages == 2**63 - 1
    with pytest.raises(ValueError):
        LogConfig(message_timestamp_type="Other")
