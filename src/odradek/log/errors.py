"""Errors raised by the log layer. Few on purpose: handlers map them to Kafka error codes."""

from __future__ import annotations


class LogError(Exception):
    """Base class of the log layer's errors (a KAFKA_STORAGE_ERROR unless a subclass says more)."""


class OffsetOutOfRangeError(LogError):
    """A fetch/delete offset outside [log start offset, log end offset] (OFFSET_OUT_OF_RANGE)."""

    def __init__(self, offset: int, log_start_offset: int, log_end_offset: int) -> None:
        super().__init__(
            f"offset {offset} is out of range [{log_start_offset}, {log_end_offset}]"
        )
        self.offset = offset
        self.log_start_offset = log_start_offset
        self.log_end_offset = log_end_offset


class CorruptIndexError(LogError):
    """An index file that cannot be trusted; the log rebuilds it from the segment's batches."""
