"""A region of a segment file, handed to the server for zero-copy sending."""

from __future__ import annotations

import io
import os
from dataclasses import dataclass


class SegmentFile(io.FileIO):
    """The read-only, unbuffered file object of a segment.

    A segment deleted by retention drops its reference instead of closing the file, so a
    `FileSlice` whose sendfile is still in flight keeps a valid descriptor (the data stays on
    disk until the last descriptor goes, as with any unlinked file). The file is closed when
    the last reference goes away; that is the intended way to close, so no ResourceWarning.
    """

    def __del__(self) -> None:
        self.close()


@dataclass(frozen=True, slots=True)
class FileSlice:
    """`size` bytes of `file` from `position`: what a fetch returns for one partition.

    Send it with ``os.sendfile(sock_fd, slice.fileno(), slice.position, len(slice))``.
    """

    file: io.FileIO
    position: int
    size: int

    def __len__(self) -> int:
        return self.size

    def fileno(self) -> int:
        return self.file.fileno()

    def read_bytes(self) -> bytes:
        """The bytes of the slice (for tests, tools, and transports without sendfile)."""
        data = os.pread(self.file.fileno(), self.size, self.position)
        if len(data) != self.size:
            # Only possible if the segment was truncated (replication) after this slice was cut.
            raise OSError(f"short read: {len(data)} of {self.size} bytes")
        return data
