"""The log of one partition: its segments, offsets, reads, retention (Kafka's UnifiedLog).

Single-threaded by design (the broker's asyncio loop owns it): no locks. Offsets are assigned
here; the bytes stay opaque apart from the batch headers.
"""

from __future__ import annotations

import os
import shutil
import time
from bisect import bisect_right
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple

from odradek.protocol.records import BatchHeader

from .config import LogConfig
from .errors import OffsetOutOfRangeError
from .file_slice import FileSlice
from .recovery import clean_directory
from .segment import LogSegment


class AppendResult(NamedTuple):
    base_offset: int  # offset given to the first record
    last_offset: int  # offset given to the last record
    log_append_time_ms: int  # the time stamped with LogAppendTime, else -1


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class PartitionLog:
    """Use `PartitionLog.open`. Attributes are plain fields, read directly by the broker:
    `log_start_offset`, `log_end_offset` (next offset to assign), `high_watermark`,
    `size_bytes`, `segments` (oldest first; the last is the active one), `directory`, `config`.
    """

    def __init__(self, directory: Path, config: LogConfig, segments: list[LogSegment]) -> None:
        self.directory = directory
        self.config = config
        self.segments = segments
        self._bases = [s.base_offset for s in segments]  # for bisect
        self.log_start_offset = segments[0].base_offset
        self.log_end_offset = segments[-1].next_offset
        # Single node: everything appended is committed. Replication will move the high
        # watermark from the in-sync replicas' fetch positions instead.
        self.high_watermark = self.log_end_offset
        self.size_bytes = sum(s.size for s in segments)
        self.unflushed_messages = 0  # records appended since the last fsync
        self.last_flush_ms = _now_ms()

    @classmethod
    def open(cls, directory: Path, config: LogConfig, log_start_offset: int = 0) -> PartitionLog:
        """Load (recovering the active segment's tail) or create the log in `directory`."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        now_ms = _now_ms()
        bases = clean_directory(directory)
        interval = config.index_interval_bytes
        segments = [
            LogSegment.open(directory, base, interval, active=i == len(bases) - 1, now_ms=now_ms)
            for i, base in enumerate(bases)
        ]
        if not segments:
            segments = [LogSegment.create(directory, log_start_offset, interval, now_ms)]
        log = cls(directory, config, segments)
        if log_start_offset > log.log_end_offset:
            # Kafka: a checkpointed start beyond the data means the data is gone; start there.
            log._truncate_fully_and_start_at(log_start_offset, now_ms)
        else:
            log.log_start_offset = max(log_start_offset, log.log_start_offset)
            log._delete_old_segments(log._below_log_start, now_ms)
        return log

    # ------------------------------------------------------------------ writes

    def append(
        self, batches: bytearray | memoryview, headers: list[BatchHeader], now_ms: int
    ) -> AppendResult:
        """Append one or more consecutive validated batches (`headers` from `validate_batches`)
        with offsets from `log_end_offset`. Base offsets (and LogAppendTime stamps) are patched
        into `batches` in place, so it must be writable; it is written with one system call."""
        if not headers:
            raise ValueError("nothing to append")
        if isinstance(batches, bytes) or (isinstance(batches, memoryview) and batches.readonly):
            batches = bytearray(batches)  # tools/tests may pass bytes; the broker never does
        config = self.config
        log_append_time = config.log_append_time
        first = self.log_end_offset
        if len(headers) == 1:  # what producers send: one batch per partition
            n_records = headers[0].last_offset_delta + 1
            max_ts = headers[0].max_timestamp
        else:
            n_records = sum([h.last_offset_delta for h in headers]) + len(headers)
            max_ts = max([h.max_timestamp for h in headers])
        segment = self.segments[-1]
        if segment.size and self._should_roll(segment, len(batches),
                                              now_ms if log_append_time else max_ts,
                                              first + n_records - 1, now_ms):
            segment = self._roll(now_ms)
        self.log_end_offset = segment.append(
            batches, headers, first, now_ms, log_append_time=log_append_time
        )
        self.high_watermark = self.log_end_offset
        self.size_bytes += len(batches)
        # When to fsync (flush.messages / flush.ms) is the broker's call, so that one fsync
        # can cover many appends (group commit): see broker/durability.py.
        self.unflushed_messages += n_records
        return AppendResult(first, self.log_end_offset - 1, now_ms if log_append_time else -1)

    def _should_roll(
        self, segment: LogSegment, incoming: int, max_ts: int, last_offset: int, now_ms: int
    ) -> bool:
        # Kafka's LogSegment.shouldRoll (without roll jitter). Only asked of non-empty segments.
        # Runs for every append: the cheap comparisons first.
        config = self.config
        return (
            segment.size > config.segment_bytes - incoming
            or not segment.offset_index.can_append_offset(last_offset)
            or len(segment.offset_index) >= config.max_offset_index_entries
            or len(segment.time_index) >= config.max_time_index_entries
            or segment.time_waited_for_roll(now_ms, max_ts) > config.segment_ms
        )

    def roll_if_due(self, now_ms: int) -> bool:
        """Roll the active segment if segment.ms has passed, without waiting for an append."""
        active = self.segments[-1]
        if active.size and active.time_waited_for_roll(now_ms, now_ms) > self.config.segment_ms:
            self._roll(now_ms)
            return True
        return False

    def _roll(self, now_ms: int) -> LogSegment:
        old = self.segments[-1]
        if old.size == 0:
            return old
        old.seal()
        new = LogSegment.create(
            self.directory, self.log_end_offset, self.config.index_interval_bytes, now_ms
        )
        self.segments.append(new)
        self._bases.append(new.base_offset)
        return new

    def update_config(self, config: LogConfig) -> None:
        """New topic configs (AlterConfigs): they apply from the next append/retention run."""
        self.config = config
        for segment in self.segments:
            segment.index_interval_bytes = config.index_interval_bytes

    # ------------------------------------------------------------------ reads

    def read(
        self,
        offset: int,
        max_bytes: int,
        *,
        min_one_batch: bool,
        max_offset: int | None = None,
    ) -> FileSlice | None:
        """The log from the batch holding `offset`: at most `max_bytes` (possibly ending
        mid-batch), or the whole first batch when `min_one_batch` (KIP-74), and nothing at or
        above `max_offset` (default: the high watermark). None when there is nothing to send.

        OffsetOutOfRangeError outside [log_start_offset, log_end_offset]."""
        end = self.log_end_offset
        if offset < self.log_start_offset or offset > end:
            raise OffsetOutOfRangeError(offset, self.log_start_offset, end)
        limit = self.high_watermark if max_offset is None else min(max_offset, end)
        if offset >= limit:
            return None
        segments = self.segments
        if limit == end:  # the usual case: everything written may be read
            limit_index, limit_pos = len(segments) - 1, segments[-1].size
        else:
            limit_index, limit_pos = self._locate(limit)
        i = bisect_right(self._bases, offset) - 1
        while i <= limit_index:
            segment = segments[i]
            max_position = limit_pos if i == limit_index else segment.size
            result = segment.read(offset, max_bytes, max_position, min_one_batch)
            if result is not None:
                return result
            i += 1  # nothing at or after `offset` in this segment: the next one starts later
        return None

    def _locate(self, offset: int) -> tuple[int, int]:
        """(segment index, file position) of the batch holding `offset`, or of where it would
        be; the bytes before that position hold only smaller offsets."""
        i = max(bisect_right(self._bases, offset) - 1, 0)
        segment = self.segments[i]
        found = segment.find_position(offset)
        return i, found[0] if found is not None else segment.size

    def iter_batches(self, start_offset: int | None = None) -> Iterator[bytes]:
        """The bytes of each whole batch from the one holding `start_offset` (default: the
        log start) to the log end. For tests and tools, not for the fetch path."""
        start = self.log_start_offset if start_offset is None else start_offset
        i = max(bisect_right(self._bases, start) - 1, 0)
        for segment in self.segments[i:]:
            yield from segment.iter_batches(start)

    def offset_for_timestamp(self, timestamp: int) -> tuple[int, int] | None:
        """(offset, timestamp) of the first record with timestamp >= `timestamp` at or after the
        log start offset; None if there is none (ListOffsets by timestamp)."""
        for segment in self.segments:
            if segment.max_timestamp >= timestamp:
                found = segment.find_offset_by_timestamp(timestamp, self.log_start_offset)
                if found is not None:
                    return found
        return None

    def max_timestamp(self) -> tuple[int, int]:
        """(offset, timestamp) of the first record with the largest timestamp in the log, or
        (-1, -1) if the log has no timestamps (ListOffsets MAX_TIMESTAMP, KIP-734)."""
        best: LogSegment | None = None
        for segment in self.segments:
            if best is None or segment.max_timestamp > best.max_timestamp:
                best = segment
        if best is None or best.max_timestamp < 0:
            return -1, -1
        found = best.max_timestamp_record()
        return found if found is not None else (-1, -1)

    # ------------------------------------------------------------------ deletion

    def delete_records_before(self, offset: int) -> int:
        """Kafka's DeleteRecords: move the log start offset up to `offset` (never back) and
        delete the segments wholly below it. Returns the new log start offset."""
        if offset < 0 or offset > self.high_watermark:
            raise OffsetOutOfRangeError(offset, self.log_start_offset, self.high_watermark)
        if offset > self.log_start_offset:
            self.log_start_offset = offset
            self._delete_old_segments(self._below_log_start, _now_ms())
        return self.log_start_offset

    def enforce_retention(self, now_ms: int) -> int:
        """Delete whole segments past retention.ms / retention.bytes (with cleanup.policy
        delete) or below the log start offset. Returns the number of segments deleted."""
        config = self.config
        deleted = 0
        if config.delete_enabled:
            if config.retention_ms >= 0:
                retention_ms = config.retention_ms

                def expired(segment: LogSegment, _next: LogSegment | None) -> bool:
                    return now_ms - segment.largest_timestamp > retention_ms

                deleted += self._delete_old_segments(expired, now_ms)
            if config.retention_bytes >= 0:
                excess = self.size_bytes - config.retention_bytes

                def too_big(segment: LogSegment, _next: LogSegment | None) -> bool:
                    # Kafka: delete the oldest while the rest still holds retention.bytes.
                    nonlocal excess
                    if excess - segment.size >= 0:
                        excess -= segment.size
                        return True
                    return False

                deleted += self._delete_old_segments(too_big, now_ms)
        deleted += self._delete_old_segments(self._below_log_start, now_ms)
        return deleted

    def _below_log_start(self, _segment: LogSegment, next_segment: LogSegment | None) -> bool:
        return next_segment is not None and next_segment.base_offset <= self.log_start_offset

    def _delete_old_segments(
        self, should_delete: Callable[[LogSegment, LogSegment | None], bool], now_ms: int
    ) -> int:
        """Delete the oldest segments while `should_delete` holds (Kafka's deleteOldSegments).

        A segment is only deletable once the high watermark has passed it, and an empty active
        segment never is. If every segment goes, an empty one is rolled first at the log end."""
        segments = self.segments
        count = 0
        while count < len(segments):
            segment = segments[count]
            nxt = segments[count + 1] if count + 1 < len(segments) else None
            upper = nxt.base_offset if nxt is not None else self.log_end_offset
            if (
                self.high_watermark < upper
                or (nxt is None and segment.size == 0)
                or not should_delete(segment, nxt)
            ):
                break
            count += 1
        if count == 0:
            return 0
        if count == len(segments):
            self._roll(now_ms)
        for segment in segments[:count]:
            self.size_bytes -= segment.size
            segment.delete()
        del segments[:count]
        del self._bases[:count]
        self.log_start_offset = max(self.log_start_offset, segments[0].base_offset)
        return count

    def truncate_to(self, offset: int) -> None:
        """Remove everything at or above `offset` (a follower diverging from its leader).
        A batch straddling `offset` goes entirely: the log end may end up below `offset`."""
        if offset >= self.log_end_offset:
            return
        if offset < 0:
            raise ValueError(f"cannot truncate to {offset}")
        if offset < self._bases[0]:
            self._truncate_fully_and_start_at(offset, _now_ms())
            return
        i = bisect_right(self._bases, offset) - 1
        for segment in self.segments[i + 1 :]:
            self.size_bytes -= segment.size
            segment.delete()
        del self.segments[i + 1 :]
        del self._bases[i + 1 :]
        segment = self.segments[i]
        self.size_bytes -= segment.truncate_to(offset)
        segment.reopen_for_append()
        self.log_end_offset = segment.next_offset
        self.log_start_offset = min(self.log_start_offset, self.log_end_offset)
        self.high_watermark = min(self.high_watermark, self.log_end_offset)

    def _truncate_fully_and_start_at(self, offset: int, now_ms: int) -> None:
        for segment in self.segments:
            segment.delete()
        new = LogSegment.create(self.directory, offset, self.config.index_interval_bytes, now_ms)
        self.segments[:] = [new]
        self._bases[:] = [offset]
        self.size_bytes = 0
        self.log_start_offset = self.log_end_offset = self.high_watermark = offset

    # ------------------------------------------------------------------ lifecycle

    def flush(self) -> None:
        """fsync the active segment (the others were fsynced when they were rolled)."""
        self.segments[-1].flush()
        self.unflushed_messages = 0
        self.last_flush_ms = _now_ms()

    def flush_fd(self) -> int:
        """A duplicate of the active segment's descriptor, for an fsync on another thread:
        the segment may be rolled and closed meanwhile (rolling fsyncs it anyway)."""
        return os.dup(self.segments[-1].fileno())

    def close(self) -> None:
        """Flush and close every file. The log cannot be used afterwards."""
        for segment in self.segments:
            segment.close()

    def delete(self) -> None:
        """Remove the partition's data (topic deletion). Slices being sent stay readable."""
        for segment in self.segments:
            segment.delete()
        self.segments.clear()
        self._bases.clear()
        shutil.rmtree(self.directory, ignore_errors=True)

    def __repr__(self) -> str:
        return (
            f"PartitionLog({self.directory}, start={self.log_start_offset}, "
            f"end={self.log_end_offset}, hw={self.high_watermark}, "
            f"segments={len(self.segments)}, bytes={self.size_bytes})"
        )
