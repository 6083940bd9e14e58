"""The two sparse indexes of a log segment, in Apache Kafka's on-disk format.

``.index`` (OffsetIndex): 8-byte entries, big-endian ``int32 relative offset, int32 position``:
the last offset of a batch and the file position where that batch starts.
``.timeindex`` (TimeIndex): 12-byte entries ``int64 timestamp, int32 relative offset``: the
largest timestamp seen so far and the (last) offset of the batch that holds it; an entry is only
added when that maximum grows, so both columns increase.

Entries are kept in memory in ``array``s (bisect lookups without touching the file) and appended
to a plain file: no preallocation and no mmap, so a file is always exactly its valid entries.
New entries are written in one ``pwrite`` by ``commit()`` after the log data they point to.
"""

from __future__ import annotations

import os
import struct
import sys
from array import array
from bisect import bisect_left, bisect_right
from itertools import islice
from operator import le, lt
from pathlib import Path
from typing import ClassVar

from .errors import CorruptIndexError

_INT32_MAX = 0x7FFFFFFF


class _Index:
    ENTRY: ClassVar[struct.Struct]
    KEY_TYPE: ClassVar[str]
    VALUE_TYPE: ClassVar[str]

    def __init__(self, path: Path, base_offset: int) -> None:
        self.path = path
        self.base_offset = base_offset
        self._keys = array(self.KEY_TYPE)
        self._values = array(self.VALUE_TYPE)
        self._persisted = 0  # the file holds exactly the first `_persisted` entries
        self._fd = -1
        self.loaded = False

    def __len__(self) -> int:
        return len(self._keys)

    @property
    def uncommitted(self) -> int:
        """Entries added since the last `commit()` (in memory only)."""
        return len(self._keys) - self._persisted

    # ----------------------------------------------------------------- file

    def load(self) -> None:
        """Read the whole file into memory; CorruptIndexError if it is missing or malformed."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            raise CorruptIndexError(f"{self.path} is missing") from None
        if len(data) % self.ENTRY.size:
            raise CorruptIndexError(f"{self.path}: size {len(data)} is not a multiple of entries")
        keys, values = self._decode(data)
        if len(keys) and not self._entries_valid(keys, values):
            raise CorruptIndexError(f"{self.path}: entries are not increasing")
        self._keys, self._values = keys, values
        self._persisted = len(keys)
        self.loaded = True

    def reset(self) -> None:
        """Drop every entry (file included), e.g. before rebuilding from the log."""
        self._keys = array(self.KEY_TYPE)
        self._values = array(self.VALUE_TYPE)
        self._persisted = 0
        self.loaded = True
        os.ftruncate(self._open(), 0)

    def peek_last(self) -> tuple[int, int] | None:
        """The file's last entry, as `last_entry()` gives it, without loading the file (a cheap
        open of sealed segments). CorruptIndexError if the file is missing or malformed."""
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            raise CorruptIndexError(f"{self.path} is missing") from None
        try:
            size = os.fstat(fd).st_size
            if size % self.ENTRY.size:
                raise CorruptIndexError(f"{self.path}: size {size} is not a multiple of entries")
            if size == 0:
                return None
            raw = os.pread(fd, self.ENTRY.size, size - self.ENTRY.size)
        finally:
            os.close(fd)
        return self._entry(*self.ENTRY.unpack(raw))

    def last_entry(self) -> tuple[int, int] | None:
        """(offset, position) for an OffsetIndex, (timestamp, offset) for a TimeIndex."""
        if not self._keys:
            return None
        return self._entry(self._keys[-1], self._values[-1])

    def commit(self) -> None:
        """Write the entries added since the last commit, in one system call."""
        start = self._persisted
        end = len(self._keys)
        if start == end:
            return
        data = b"".join(map(self.ENTRY.pack, self._keys[start:end], self._values[start:end]))
        os.pwrite(self._open(), data, start * self.ENTRY.size)
        self._persisted = end

    def truncate_entries(self, count: int) -> None:
        """Keep only the first `count` entries (in memory and on disk)."""
        if count >= len(self._keys):
            return
        del self._keys[count:]
        del self._values[count:]
        if count < self._persisted:
            os.ftruncate(self._open(), count * self.ENTRY.size)
            self._persisted = count

    def flush(self) -> None:
        self.commit()
        if self._fd >= 0:
            os.fsync(self._fd)

    def close(self) -> None:
        """Close the write descriptor; entries stay in memory for lookups."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def delete(self) -> None:
        self.close()
        self.path.unlink(missing_ok=True)

    def _open(self) -> int:
        # Opened lazily: sealed segments never write their indexes again.
        if self._fd < 0:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o644)
        return self._fd

    # ----------------------------------------------------------------- subclass hooks

    def _entry(self, key: int, value: int) -> tuple[int, int]:
        raise NotImplementedError

    def _decode(self, data: bytes) -> tuple[array, array]:
        raise NotImplementedError

    def _entries_valid(self, keys: array, values: array) -> bool:
        raise NotImplementedError


class OffsetIndex(_Index):
    """Maps an offset to the file position of a batch at or before it."""

    ENTRY = struct.Struct(">ii")
    KEY_TYPE = "i"  # offset relative to the segment's base offset
    VALUE_TYPE = "i"  # file position

    def append(self, offset: int, position: int) -> None:
        self._keys.append(offset - self.base_offset)
        self._values.append(position)

    def lookup(self, offset: int) -> tuple[int, int]:
        """(offset, position) of the largest entry with offset <= `offset`; (base, 0) if none."""
        i = bisect_right(self._keys, offset - self.base_offset) - 1
        if i < 0:
            return self.base_offset, 0
        return self.base_offset + self._keys[i], self._values[i]

    def truncate_to(self, offset: int) -> None:
        """Remove the entries for offsets >= `offset`."""
        self.truncate_entries(bisect_left(self._keys, offset - self.base_offset))

    def truncate_to_position(self, position: int) -> None:
        """Remove the entries pointing at or past `position` (a truncated log file)."""
        self.truncate_entries(bisect_left(self._values, position))

    def can_append_offset(self, offset: int) -> bool:
        return 0 <= offset - self.base_offset <= _INT32_MAX

    def entries(self) -> list[tuple[int, int]]:
        """(absolute offset, position) pairs, for tests and tools."""
        return [(self.base_offset + k, v) for k, v in zip(self._keys, self._values, strict=True)]

    def _entry(self, key: int, value: int) -> tuple[int, int]:
        return self.base_offset + key, value  # (offset, position)

    def _decode(self, data: bytes) -> tuple[array, array]:
        flat = array("i")
        flat.frombytes(data)
        if sys.byteorder == "little":
            flat.byteswap()
        return flat[0::2], flat[1::2]

    def _entries_valid(self, keys: array, values: array) -> bool:
        return (
            keys[0] >= 0
            and values[0] >= 0
            and all(map(lt, keys, islice(keys, 1, None)))
            and all(map(lt, values, islice(values, 1, None)))
        )


class TimeIndex(_Index):
    """Maps a timestamp to an offset from which to search for it."""

    ENTRY = struct.Struct(">qi")
    KEY_TYPE = "q"  # timestamp
    VALUE_TYPE = "i"  # offset relative to the segment's base offset

    def maybe_append(self, timestamp: int, offset: int) -> bool:
        """Add (timestamp, offset) if the timestamp is larger than the last entry's (Kafka's
        rule: the index records where each new maximum timestamp first appears)."""
        rel = offset - self.base_offset
        if timestamp < 0:  # NO_TIMESTAMP: batches without timestamps are not indexed
            return False
        if self._keys and (timestamp <= self._keys[-1] or rel < self._values[-1]):
            return False
        self._keys.append(timestamp)
        self._values.append(rel)
        return True

    def lookup(self, timestamp: int) -> int:
        """Offset of the largest entry with timestamp <= `timestamp`; the base offset if none.

        Every record before that offset's batch has a smaller timestamp, so a search for the
        first record with timestamp >= `timestamp` may start there."""
        i = bisect_right(self._keys, timestamp) - 1
        if i < 0:
            return self.base_offset
        return self.base_offset + self._values[i]

    def truncate_to(self, offset: int) -> None:
        """Remove the entries for offsets >= `offset`."""
        self.truncate_entries(bisect_left(self._values, offset - self.base_offset))

    def entries(self) -> list[tuple[int, int]]:
        """(timestamp, absolute offset) pairs, for tests and tools."""
        return [(k, self.base_offset + v) for k, v in zip(self._keys, self._values, strict=True)]

    def _entry(self, key: int, value: int) -> tuple[int, int]:
        return key, self.base_offset + value  # (timestamp, offset)

    def _decode(self, data: bytes) -> tuple[array, array]:
        # Split the 12-byte rows into an int64 and an int32 column with extended-slice copies
        # (one per byte lane, all in C): a full 10 MiB index loads in milliseconds.
        n = len(data) // 12
        ts_bytes = bytearray(8 * n)
        for lane in range(8):
            ts_bytes[lane::8] = data[lane::12]
        offset_bytes = bytearray(4 * n)
        for lane in range(4):
            offset_bytes[lane::4] = data[8 + lane :: 12]
        timestamps = array("q")
        timestamps.frombytes(ts_bytes)
        offsets = array("i")
        offsets.frombytes(offset_bytes)
        if sys.byteorder == "little":
            timestamps.byteswap()
            offsets.byteswap()
        return timestamps, offsets

    def _entries_valid(self, keys: array, values: array) -> bool:
        return (
            values[0] >= 0
            and all(map(lt, keys, islice(keys, 1, None)))
            and all(map(le, values, islice(values, 1, None)))
        )
