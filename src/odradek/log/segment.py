"""One log segment: a ``.log`` file of record batches plus its ``.index`` and ``.timeindex``.

Batches are stored exactly as received (magic v2), with the base offset patched in; the segment
only ever reads their 61-byte headers, except to answer "first record with timestamp >= t" and
"which record holds the max timestamp", where it decodes one batch like Kafka does.

The active (last) segment holds an ``O_APPEND`` descriptor for writing; every segment holds a
read-only `SegmentFile` for lookups, reads and sendfile. Sizes, offsets and the max timestamp
are tracked in Python, so an append costs one ``write`` and no ``fstat``; index entries are
written every INDEX_COMMIT_ENTRIES of them, and disk space is reserved ahead in chunks
(prealloc.py).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from odradek.protocol.records import (
    LOG_OVERHEAD,
    BatchHeader,
    CorruptRecordError,
    iter_records,
    patch_base_offset,
    set_log_append_time,
)

from .errors import CorruptIndexError, LogError
from .file_slice import FileSlice, SegmentFile
from .index import OffsetIndex, TimeIndex
from .prealloc import Reservation
from .scan import read_header, scan_batches

logger = logging.getLogger("odradek.log")

LOG_SUFFIX = ".log"
INDEX_SUFFIX = ".index"
TIME_INDEX_SUFFIX = ".timeindex"
# Index entries are written in groups of this many (and at every flush, roll and close), not
# one system call per append. Entries not yet written are only a shorter index: recovery
# re-adds them from the log tail after the last written one (a few MiB of batches at most).
INDEX_COMMIT_ENTRIES = 32
# Called with the seconds each segment fsync took (odradek.metrics registers one while metrics
# are on; process-wide). Empty: nothing measured.
fsync_observers: list[Callable[[float], None]] = []


def segment_path(directory: Path, base_offset: int, suffix: str) -> Path:
    """Kafka's file naming: the base offset on 20 digits."""
    return directory / f"{base_offset:020d}{suffix}"


class LogSegment:
    """Create with `LogSegment.create` (new, empty, writable) or `LogSegment.open` (existing)."""

    def __init__(
        self, directory: Path, base_offset: int, index_interval_bytes: int, now_ms: int
    ) -> None:
        self.directory = directory
        self.base_offset = base_offset
        self.log_path = segment_path(directory, base_offset, LOG_SUFFIX)
        self.offset_index = OffsetIndex(
            segment_path(directory, base_offset, INDEX_SUFFIX), base_offset
        )
        self.time_index = TimeIndex(
            segment_path(directory, base_offset, TIME_INDEX_SUFFIX), base_offset
        )
        self.index_interval_bytes = index_interval_bytes
        self.size = 0
        self.next_offset = base_offset  # offset after the last batch in this segment
        self.max_timestamp = -1
        # The last offset of the (first) batch holding max_timestamp: Kafka's "shallow" offset.
        self.offset_of_max_timestamp = -1
        # Kafka's `created`: when this object was made (not persisted), used for segment.ms
        # when the batches carry no timestamps.
        self.created_ms = now_ms
        self.last_modified_ms = now_ms
        self.bytes_since_index_entry = 0
        self._rolling_timestamp: int | None = None  # first batch's max timestamp, lazily read
        self._file: SegmentFile | None = None
        self._wfd = -1
        self._space: Reservation | None = None  # disk space reserved ahead (active segment)

    # ------------------------------------------------------------------ lifecycle

    @classmethod
    def create(
        cls, directory: Path, base_offset: int, index_interval_bytes: int, now_ms: int
    ) -> LogSegment:
        """A new, empty, writable segment."""
        seg = cls(directory, base_offset, index_interval_bytes, now_ms)
        # O_TRUNC: a stray file at an offset >= the log end cannot hold data the log owns.
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_TRUNC
        seg._wfd = os.open(seg.log_path, flags, 0o644)
        seg._space = Reservation(seg._wfd, 0)
        seg._file = SegmentFile(seg.log_path, "rb")
        seg.offset_index.reset()
        seg.time_index.reset()
        return seg

    @classmethod
    def open(
        cls,
        directory: Path,
        base_offset: int,
        index_interval_bytes: int,
        *,
        active: bool,
        now_ms: int,
    ) -> LogSegment:
        """Load an existing segment. The active one has its tail re-validated (CRC included)
        and stays writable; others are trusted, and only their index tails are checked."""
        from .recovery import recover_segment  # recovery works on segments: import cycle

        seg = cls(directory, base_offset, index_interval_bytes, now_ms)
        seg._file = SegmentFile(seg.log_path, "rb")
        st = os.fstat(seg._file.fileno())
        seg.size = st.st_size
        seg.last_modified_ms = st.st_mtime_ns // 1_000_000
        recover_segment(seg, active=active)
        if active:
            seg._wfd = os.open(seg.log_path, os.O_WRONLY | os.O_APPEND)
            # Space reserved past the end before a crash: give it back (same size, no data).
            os.ftruncate(seg._wfd, seg.size)
            seg._space = Reservation(seg._wfd, seg.size)
        else:
            seg.offset_index.close()
            seg.time_index.close()
        return seg

    @property
    def writable(self) -> bool:
        return self._wfd >= 0

    def fileno(self) -> int:
        assert self._file is not None, "segment is closed"
        return self._file.fileno()

    def seal(self) -> None:
        """The segment stops being the active one (a roll): record its max timestamp in the
        time index (Kafka does the same), persist everything and drop the write descriptors.

        The fsync makes "segments before the active one are trusted" true after a crash, so
        recovery only has to look at the active segment's tail."""
        if self.max_timestamp >= 0:
            self.time_index.maybe_append(self.max_timestamp, self.offset_of_max_timestamp)
        if self._space is not None:
            self._space.release(self.size)  # before the fsync, which then covers it too
        self.flush()
        self._close_writers()

    def reopen_for_append(self) -> None:
        """Make a sealed segment active again (after `truncate_to` removed the later ones)."""
        self._ensure_indexes()
        if self._wfd < 0:
            self._wfd = os.open(self.log_path, os.O_WRONLY | os.O_APPEND)
            self._space = Reservation(self._wfd, self.size)

    def flush(self) -> None:
        """fsync the log file and both indexes."""
        started = time.perf_counter()
        os.fsync(self.fileno())
        if self.offset_index.loaded:
            self.offset_index.flush()
            self.time_index.flush()
        for observe in fsync_observers:
            observe(time.perf_counter() - started)

    def close(self) -> None:
        """Close the files; the active segment is sealed first (max timestamp entry, fsync)."""
        if self._wfd >= 0:
            self.seal()
        self._close_writers()
        if self._file is not None:
            self._file.close()
            self._file = None

    def delete(self) -> None:
        """Remove the files. The read file is not closed but dropped: a `FileSlice` still being
        sent keeps it (and the unlinked data) alive until it is done."""
        self._close_writers()
        self._file = None
        for path in (self.log_path, self.offset_index.path, self.time_index.path):
            path.unlink(missing_ok=True)

    def _close_writers(self) -> None:
        if self._wfd >= 0:
            if self._space is not None:
                self._space.release(self.size)
                self._space = None
            os.close(self._wfd)
            self._wfd = -1
        self.offset_index.close()
        self.time_index.close()

    # ------------------------------------------------------------------ append

    def append(
        self,
        buf: bytearray | memoryview,
        headers: Sequence[BatchHeader],
        first_offset: int,
        now_ms: int,
        *,
        log_append_time: bool = False,
    ) -> int:
        """Append consecutive validated batches (`headers` describe `buf` from its start),
        assigning offsets from `first_offset`: each base offset is patched in `buf` in place,
        and with `log_append_time` each batch is stamped with `now_ms` (and re-CRCed).

        One write for the whole buffer; offset-index entries every `index_interval_bytes`.
        Returns the offset after the last record appended.
        """
        if self._wfd < 0:
            raise LogError(f"{self.log_path} is not the active segment")
        view = memoryview(buf)
        start = self.size
        oidx = self.offset_index
        tidx = self.time_index
        n_offset_entries = len(oidx)
        n_time_entries = len(tidx)
        interval = self.index_interval_bytes
        since = self.bytes_since_index_entry
        max_ts = self.max_timestamp
        max_ts_offset = self.offset_of_max_timestamp
        pos = 0
        offset = first_offset
        for h in headers:  # O(batches): a struct pack or two each, never per record
            size = h.batch_length + LOG_OVERHEAD
            last = offset + h.last_offset_delta
            patch_base_offset(view, pos, offset)
            if log_append_time:
                set_log_append_time(view, pos, size, now_ms)
                ts = now_ms
            else:
                ts = h.max_timestamp
            if ts > max_ts:
                max_ts = ts
                max_ts_offset = last
            if since > interval:
                oidx.append(last, start + pos)
                tidx.maybe_append(max_ts, max_ts_offset)
                since = 0
            since += size
            pos += size
            offset = last + 1
        if pos != len(view):
            oidx.truncate_entries(n_offset_entries)
            tidx.truncate_entries(n_time_entries)
            raise ValueError(f"batch headers cover {pos} bytes of a {len(view)}-byte buffer")
        space = self._space
        try:
            if space is not None and start + pos > space.end:
                space.ensure(start + pos)
            _write_all(self._wfd, view)
        except BaseException:
            # Leave the segment as it was: no index entry may point at unwritten bytes.
            oidx.truncate_entries(n_offset_entries)
            tidx.truncate_entries(n_time_entries)
            os.ftruncate(self._wfd, start)
            if space is not None:
                space.end = start  # the truncation freed what was reserved past `start`
            raise
        if start == 0:
            self._rolling_timestamp = now_ms if log_append_time else headers[0].max_timestamp
        self.size = start + pos
        self.next_offset = offset
        self.max_timestamp = max_ts
        self.offset_of_max_timestamp = max_ts_offset
        self.bytes_since_index_entry = since
        self.last_modified_ms = now_ms
        if oidx.uncommitted >= INDEX_COMMIT_ENTRIES:
            oidx.commit()
            tidx.commit()
        return offset

    # ------------------------------------------------------------------ lookups

    def find_position(self, offset: int) -> tuple[int, int] | None:
        """(position, size) of the first batch whose last offset is >= `offset` (the batch
        holding it, or the next one after a gap); None if the segment has nothing there."""
        if offset >= self.next_offset:
            return None
        self._ensure_indexes()
        _, pos = self.offset_index.lookup(offset)
        for p, h, _ in scan_batches(self.fileno(), pos, self.size):
            if h.base_offset + h.last_offset_delta >= offset:
                return p, h.batch_length + LOG_OVERHEAD
        return None

    def read(
        self,
        offset: int,
        max_size: int,
        max_position: int | None = None,
        min_one_batch: bool = False,
    ) -> FileSlice | None:
        """The bytes from the batch holding `offset`: at most `max_size` (may end mid-batch,
        like Kafka's FileRecords.slice), or the whole first batch if larger and
        `min_one_batch` (KIP-74); never past `max_position`. None if there is nothing."""
        found = self.find_position(offset)
        if found is None:
            return None
        pos, batch_size = found
        limit = self.size if max_position is None else min(max_position, self.size)
        length = max(max_size, batch_size) if min_one_batch else max_size
        length = min(length, limit - pos)
        if length <= 0:
            return None
        assert self._file is not None
        return FileSlice(self._file, pos, length)

    def find_offset_by_timestamp(
        self, timestamp: int, starting_offset: int = 0
    ) -> tuple[int, int] | None:
        """(offset, timestamp) of the first record with timestamp >= `timestamp` and offset
        >= `starting_offset`; None if there is none in this segment.

        Kafka's search: the time index gives a batch before which all timestamps are smaller,
        the batch headers' max timestamps find the batch, and only that batch is decoded."""
        if self.max_timestamp < timestamp:
            return None
        self._ensure_indexes()
        start = max(self.time_index.lookup(timestamp), starting_offset)
        _, pos = self.offset_index.lookup(start)
        for _, h, data in scan_batches(self.fileno(), pos, self.size, with_data=True):
            if h.max_timestamp < timestamp or h.base_offset + h.last_offset_delta < starting_offset:
                continue
            assert data is not None
            for record in iter_records(data):
                if record.timestamp >= timestamp and record.offset >= starting_offset:
                    return record.offset, record.timestamp
        return None

    def max_timestamp_record(self) -> tuple[int, int] | None:
        """(offset, timestamp) of the first record holding this segment's max timestamp."""
        if self.max_timestamp < 0:
            return None
        self._ensure_indexes()
        _, pos = self.offset_index.lookup(self.offset_of_max_timestamp)
        for _, h, data in scan_batches(self.fileno(), pos, self.size, with_data=True):
            if h.max_timestamp != self.max_timestamp:
                continue
            assert data is not None
            try:
                for record in iter_records(data):
                    if record.timestamp == self.max_timestamp:
                        return record.offset, self.max_timestamp
            except CorruptRecordError:
                pass  # an undecodable body: the batch's last offset is the best answer left
            return h.base_offset + h.last_offset_delta, self.max_timestamp
        return self.offset_of_max_timestamp, self.max_timestamp

    def iter_batches(self, start_offset: int | None = None) -> Iterator[bytes]:
        """The bytes of each whole batch from the one holding `start_offset` (for tests/tools)."""
        if start_offset is None:
            pos = 0
        else:
            found = self.find_position(start_offset)
            if found is None:
                return
            pos = found[0]
        for _, _, data in scan_batches(self.fileno(), pos, self.size, with_data=True):
            assert data is not None
            yield bytes(data)

    # ------------------------------------------------------------------ time

    @property
    def first_batch_timestamp(self) -> int:
        """Max timestamp of the first batch (-1 if empty or none): what segment.ms counts from."""
        if self._rolling_timestamp is None:
            h = read_header(self.fileno(), 0, self.size) if self.size else None
            self._rolling_timestamp = h.max_timestamp if h is not None else -1
        return self._rolling_timestamp

    def time_waited_for_roll(self, now_ms: int, message_timestamp: int) -> int:
        """Kafka's rule: with timestamps, the new batch's timestamp minus the first batch's;
        without, the wall-clock time since this segment object was created."""
        first = self.first_batch_timestamp
        if first >= 0:
            return message_timestamp - first
        return now_ms - self.created_ms

    @property
    def largest_timestamp(self) -> int:
        """What time retention compares: the max record timestamp, else the last write time."""
        return self.max_timestamp if self.max_timestamp >= 0 else self.last_modified_ms

    # ------------------------------------------------------------------ truncation

    def truncate_to(self, offset: int) -> int:
        """Remove the batches holding offsets >= `offset` (a batch straddling `offset` goes
        entirely). Returns the number of bytes removed."""
        self._ensure_indexes()
        found = self.find_position(offset)
        if found is None:
            return 0
        pos = found[0]
        header = read_header(self.fileno(), pos, self.size)
        assert header is not None
        new_next = header.base_offset
        self.offset_index.truncate_to(new_next)
        self.time_index.truncate_to(new_next)
        removed = self.size - pos
        self.truncate_file(pos)
        self.next_offset = new_next
        self._reload_max_timestamp()
        last_entry = self.offset_index.last_entry()
        self.bytes_since_index_entry = self.size - (last_entry[1] if last_entry else 0)
        if self.size == 0:
            self._rolling_timestamp = None
        return removed

    def truncate_file(self, position: int) -> None:
        """Cut the .log file at `position` (indexes are the caller's business)."""
        if self._wfd >= 0:
            os.ftruncate(self._wfd, position)
            if self._space is not None:
                self._space.end = position  # freed past `position` too
        else:
            os.truncate(self.log_path, position)
        self.size = position

    def _reload_max_timestamp(self) -> None:
        # Kafka's readLargestTimestamp: the last time-index entry, then the batches after it.
        last = self.time_index.last_entry()
        max_ts, max_offset = last if last is not None else (-1, -1)
        _, pos = self.offset_index.lookup(max_offset if last is not None else self.base_offset)
        for _, h, _ in scan_batches(self.fileno(), pos, self.size):
            if h.max_timestamp > max_ts:
                max_ts = h.max_timestamp
                max_offset = h.base_offset + h.last_offset_delta
        self.max_timestamp = max_ts
        self.offset_of_max_timestamp = max_offset if max_ts >= 0 else -1

    # ------------------------------------------------------------------ indexes

    def _ensure_indexes(self) -> None:
        """Sealed segments load their indexes on first use (startup stays proportional to the
        number of segments, not their size); a corrupt one is rebuilt from the log."""
        if self.offset_index.loaded:
            return
        try:
            self.offset_index.load()
            self.time_index.load()
            last = self.offset_index.last_entry()
            if last is not None and last[1] >= self.size:
                raise CorruptIndexError(f"{self.offset_index.path} points past the log end")
        except CorruptIndexError as exc:
            from .recovery import rebuild_indexes

            logger.warning("%s; rebuilding the indexes of %s", exc, self.log_path)
            rebuild_indexes(self)
        if self._wfd < 0:
            self.offset_index.close()
            self.time_index.close()

    def __repr__(self) -> str:
        return (
            f"LogSegment(base_offset={self.base_offset}, next_offset={self.next_offset}, "
            f"size={self.size}, max_timestamp={self.max_timestamp})"
        )


def _write_all(fd: int, view: memoryview) -> None:
    written = os.write(fd, view)
    while written < len(view):  # regular files write everything, except on a full disk
        written += os.write(fd, view[written:])
