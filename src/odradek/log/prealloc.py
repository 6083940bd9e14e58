"""Disk space for the active segment, reserved ahead of its appends.

Why: on ext4 an append that extends a file pays delayed-allocation bookkeeping for every page
it adds; into space reserved with `fallocate` it does not (measured on the benchmark machine:
18.6 µs per 64 KiB append, 13.8 µs into reserved space, fallocate calls included; a whole
produce request in-process: 37 µs instead of 42). Space is reserved in chunks as large as the
segment already is (64 KiB to 16 MiB), so a quiet partition reserves little and a busy one
calls fallocate once per 16 MiB.

FALLOC_FL_KEEP_SIZE leaves the file's size alone: the file still holds exactly its valid
batches and recovery reads it as before. What is reserved past the end is given back when the
segment stops being active (`release`: ftruncate to its own size frees blocks past the end),
and when an active segment is opened after a crash. Where fallocate is missing (other
systems, some filesystems) nothing is reserved.
"""

from __future__ import annotations

import errno
import os

MIN_CHUNK = 64 << 10
MAX_CHUNK = 16 << 20
_KEEP_SIZE = 0x01  # FALLOC_FL_KEEP_SIZE
_UNSUPPORTED = (errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL)

_fallocate = None  # libc's fallocate, loaded on first use; False where there is none


def _load():
    global _fallocate
    if _fallocate is None:
        _fallocate = False
        try:
            import ctypes

            func = ctypes.CDLL(None, use_errno=True).fallocate
            func.argtypes = (ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64)
            func.restype = ctypes.c_int
            _fallocate = func
        except (OSError, AttributeError):
            pass
    return _fallocate


class Reservation:
    """The reserved space of one active segment's write descriptor."""

    def __init__(self, fd: int, size: int) -> None:
        self.fd = fd
        self.end = size  # bytes [0, end) of the file are allocated (or need not be)
        self.enabled = True

    def ensure(self, needed_end: int) -> None:
        """Reserve space for the file to grow to `needed_end`, and a chunk more."""
        if needed_end <= self.end or not self.enabled:
            return
        func = _load()
        if not func:
            self.enabled = False
            return
        chunk = min(max(needed_end, MIN_CHUNK), MAX_CHUNK)
        new_end = (needed_end + chunk + 4095) & ~4095
        if func(self.fd, _KEEP_SIZE, self.end, new_end - self.end) == 0:
            self.end = new_end
        elif _get_errno() in _UNSUPPORTED:
            self.enabled = False
        # ENOSPC and the like: the write that follows reports the real problem.

    def release(self, size: int) -> None:
        """Give back what is reserved past `size` (the file's size)."""
        if self.end > size:
            os.ftruncate(self.fd, size)
        self.end = size


def _get_errno() -> int:
    import ctypes  # already loaded by _load()

    return ctypes.get_errno()
