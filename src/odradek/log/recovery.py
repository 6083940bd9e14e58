"""Bringing a partition directory back to a consistent state when it is opened.

- Leftovers of interrupted operations (``.deleted``, ``.cleaned``, ``.swap``, ``.tmp``) and
  index files without a ``.log`` are removed.
- Segments before the active one were fsynced when they were rolled, so they are trusted: only
  their index tails are checked (the last offset-index entry must name the batch it points at,
  and the batch headers after it must end exactly at the end of the file). A missing or bad
  index is rebuilt from the batch headers.
- The active segment's tail is re-validated, CRC-32C included, from its last offset-index
  entry: everything before that entry was written before the entry was, so recovery time is
  proportional to the unindexed tail, not to the segment size. At the first torn or invalid
  batch the file is cut, index entries past it are dropped and missing ones are re-added.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

from odradek.protocol.records import LOG_OVERHEAD, compute_crc

from .errors import CorruptIndexError
from .scan import LOOKUP_CHUNK, RECOVERY_CHUNK, read_header, scan_batches

if TYPE_CHECKING:
    from .segment import LogSegment

logger = logging.getLogger("odradek.log")

LEFTOVER_SUFFIXES = (".deleted", ".cleaned", ".swap", ".tmp")
_INDEX_SUFFIXES = ("index", "timeindex", "txnindex")


def clean_directory(directory: Path) -> list[int]:
    """Remove leftovers and orphan indexes; return the base offsets of the segments, sorted."""
    bases: set[int] = set()
    indexes: list[tuple[int, str]] = []
    for entry in os.scandir(directory):
        name = entry.name
        if name.endswith(LEFTOVER_SUFFIXES):
            logger.info("removing leftover file %s", entry.path)
            os.unlink(entry.path)
            continue
        stem, _, suffix = name.partition(".")
        if len(stem) != 20 or not stem.isdigit():
            continue
        if suffix == "log":
            bases.add(int(stem))
        elif suffix in _INDEX_SUFFIXES:
            indexes.append((int(stem), entry.path))
    for base, path in indexes:
        if base not in bases:
            logger.info("removing index file without a log: %s", path)
            os.unlink(path)
    return sorted(bases)


def recover_segment(segment: LogSegment, *, active: bool) -> int:
    """Validate a freshly opened segment and set its next offset and max timestamp.

    Returns the number of bytes cut from the end of the .log file."""
    if not active and _sealed_tail_consistent(segment):
        return 0
    return _recover_tail(segment, check_crc=active)


def rebuild_indexes(segment: LogSegment) -> int:
    """Rebuild both indexes from the batch headers of the whole segment."""
    segment.offset_index.reset()
    segment.time_index.reset()
    return _walk_and_repair(segment, check_crc=False)


def _sealed_tail_consistent(seg: LogSegment) -> bool:
    """Cheap check of a trusted segment, reading only the last index entries and the batch
    headers after the last offset-index entry. Leaves the indexes unloaded when it passes."""
    try:
        last_entry = seg.offset_index.peek_last()
        last_time = seg.time_index.peek_last()
    except CorruptIndexError:
        return False  # _recover_tail meets (and reports) the same problem
    start = 0
    if last_entry is not None:
        start = last_entry[1]
        if start >= seg.size:
            logger.warning("%s points past the end of %s", seg.offset_index.path, seg.log_path)
            return False
    max_ts, max_offset = last_time if last_time is not None else (-1, -1)
    next_offset = seg.base_offset
    end = start
    for pos, h, _ in scan_batches(seg.fileno(), start, seg.size):
        last = h.base_offset + h.last_offset_delta
        if h.base_offset < next_offset or h.last_offset_delta < 0 or (
            pos == start and last_entry is not None and last != last_entry[0]
        ):
            logger.warning("%s does not match %s", seg.offset_index.path, seg.log_path)
            return False
        if h.max_timestamp > max_ts:
            max_ts, max_offset = h.max_timestamp, last
        next_offset = last + 1
        end = pos + h.batch_length + LOG_OVERHEAD
    if end != seg.size:
        logger.warning("%s: invalid batch at byte %d of %d", seg.log_path, end, seg.size)
        return False
    if last_time is not None and last_time[1] >= next_offset:
        logger.warning("%s names offsets past the end of %s", seg.time_index.path, seg.log_path)
        return False
    seg.next_offset = next_offset
    seg.max_timestamp = max_ts
    seg.offset_of_max_timestamp = max_offset if max_ts >= 0 else -1
    seg.bytes_since_index_entry = seg.size - start
    return True


def _recover_tail(seg: LogSegment, *, check_crc: bool) -> int:
    oidx, tidx = seg.offset_index, seg.time_index
    try:
        oidx.load()
        tidx.load()
    except CorruptIndexError as exc:
        logger.warning("%s; rebuilding the indexes of %s", exc, seg.log_path)
        oidx.reset()
        tidx.reset()
    else:
        before = len(oidx)
        oidx.truncate_to_position(seg.size)
        if len(oidx) < before:
            logger.warning(
                "%s: dropped %d entries pointing past the end of %s",
                oidx.path, before - len(oidx), seg.log_path,
            )
    return _walk_and_repair(seg, check_crc=check_crc)


def _resume_point(seg: LogSegment) -> tuple[int, int]:
    """(position, base offset) of the last indexed batch, or (0, segment base offset).

    An entry naming a batch that is not whole in the file is dropped (a torn write that reached
    the index file but not the log); more than two such entries, or an entry naming a different
    batch, mean the index does not belong to this log, and it is rebuilt from the start."""
    oidx = seg.offset_index
    dropped = 0
    while (last := oidx.last_entry()) is not None:
        h = read_header(seg.fileno(), last[1], seg.size)
        if h is None and dropped < 2:
            oidx.truncate_entries(len(oidx) - 1)
            dropped += 1
        elif h is None or h.base_offset + h.last_offset_delta != last[0]:
            logger.warning("%s does not match %s; rebuilding it", oidx.path, seg.log_path)
            oidx.reset()
            seg.time_index.reset()
        else:
            return last[1], h.base_offset
    return 0, seg.base_offset


def _walk_and_repair(seg: LogSegment, *, check_crc: bool) -> int:
    """Walk the batches from the last index entry, re-adding index entries, and cut the log at
    the first batch that is torn, has out-of-order offsets or (with check_crc) a bad CRC."""
    oidx, tidx = seg.offset_index, seg.time_index
    fd = seg.fileno()
    original_size = seg.size
    chunk = RECOVERY_CHUNK if check_crc else LOOKUP_CHUNK
    while True:
        start, first_offset = _resume_point(seg)
        # Time entries from the resume point on are recomputed by the walk.
        tidx.truncate_to(first_offset)
        last_time = tidx.last_entry()
        max_ts, max_offset = last_time if last_time is not None else (-1, -1)
        next_offset = first_offset
        last_entry_pos = start
        valid_end = start
        error = "torn or invalid batch header"
        batches = scan_batches(fd, start, seg.size, with_data=check_crc, chunk_size=chunk)
        for pos, h, data in batches:
            size = h.batch_length + LOG_OVERHEAD
            last = h.base_offset + h.last_offset_delta
            if h.base_offset < next_offset or h.last_offset_delta < 0:
                error = f"offset {h.base_offset} out of order (expected >= {next_offset})"
                break
            if not oidx.can_append_offset(last):
                error = f"offset {last} does not fit a segment based at {seg.base_offset}"
                break
            if check_crc and data is not None and compute_crc(data, 0, size) != h.crc:
                error = "CRC-32C mismatch"
                break
            if h.max_timestamp > max_ts:
                max_ts, max_offset = h.max_timestamp, last
            # The same rule as LogSegment.append, so a rebuilt index equals the original.
            if pos - last_entry_pos > seg.index_interval_bytes:
                oidx.append(last, pos)
                tidx.maybe_append(max_ts, max_offset)
                last_entry_pos = pos
            next_offset = last + 1
            valid_end = pos + size
        if valid_end < seg.size:
            logger.warning(
                "%s: %s at byte %d; truncating %d bytes",
                seg.log_path, error, valid_end, seg.size - valid_end,
            )
            seg.truncate_file(valid_end)
        if valid_end > start or start == 0:
            break
        # The indexed batch itself was bad: resume from the entry before it.
        oidx.truncate_entries(len(oidx) - 1)
    if max_ts >= 0:
        # Like Kafka: the segment's max timestamp is always the time index's last entry.
        tidx.maybe_append(max_ts, max_offset)
    oidx.commit()
    tidx.commit()
    seg.next_offset = next_offset
    seg.max_timestamp = max_ts
    seg.offset_of_max_timestamp = max_offset if max_ts >= 0 else -1
    last_entry = oidx.last_entry()
    seg.bytes_since_index_entry = seg.size - (last_entry[1] if last_entry else 0)
    return original_size - seg.size
