"""Walking the batch headers of a segment file without decoding records.

Reads go through `os.pread` in chunks, so finding a batch, rebuilding an index or recovering a
tail costs one system call per chunk rather than per batch, and Python work per batch only.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from odradek.protocol.records import (
    BATCH_HEADER_SIZE,
    CURRENT_MAGIC,
    LOG_OVERHEAD,
    BatchHeader,
    parse_batch_header,
)

# Enough for the batches between two offset-index entries (index.interval.bytes is 4 KiB).
LOOKUP_CHUNK = 16384
# Recovery reads whole batches (for the CRC): bigger reads, fewer calls.
RECOVERY_CHUNK = 1 << 20


def scan_batches(
    fd: int, start: int, end: int, *, with_data: bool = False, chunk_size: int = LOOKUP_CHUNK
) -> Iterator[tuple[int, BatchHeader, memoryview | None]]:
    """Yield (position, header, batch bytes or None) for each batch in file[start:end].

    Stops quietly at the first header that cannot be a v2 batch (short, wrong magic, a length
    below the header size or running past `end`): callers that care (recovery) compare the end
    of the last batch yielded with `end`. The view is only given with `with_data`.
    """
    pos = start
    buf = b""
    buf_start = start  # file position of buf[0]
    while end - pos >= BATCH_HEADER_SIZE:
        rel = pos - buf_start
        if rel + BATCH_HEADER_SIZE > len(buf):
            buf = os.pread(fd, min(max(chunk_size, BATCH_HEADER_SIZE), end - pos), pos)
            buf_start, rel = pos, 0
            if len(buf) < BATCH_HEADER_SIZE:
                return  # the file is shorter than the caller believed
        header = parse_batch_header(buf, rel)
        size = header.batch_length + LOG_OVERHEAD
        if header.magic != CURRENT_MAGIC or size < BATCH_HEADER_SIZE or pos + size > end:
            return
        data = None
        if with_data:
            if rel + size > len(buf):
                buf = os.pread(fd, min(max(chunk_size, size), end - pos), pos)
                buf_start, rel = pos, 0
                if len(buf) < size:
                    return
            data = memoryview(buf)[rel : rel + size]
        yield pos, header, data
        pos += size


def read_header(fd: int, position: int, end: int) -> BatchHeader | None:
    """The header of the batch at `position`, or None if there is no plausible batch there."""
    for _, header, _ in scan_batches(fd, position, end, chunk_size=BATCH_HEADER_SIZE):
        return header
    return None
