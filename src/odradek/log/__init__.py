"""Per-partition segmented log on disk, in Apache Kafka's layout and index formats.

``<data-dir>/<topic>-<partition>/<base offset, 20 digits>.log|.index|.timeindex``; batches are
stored as received (magic v2) with the base offset patched in. See `PartitionLog`.
"""

from .config import LogConfig
from .errors import CorruptIndexError, LogError, OffsetOutOfRangeError
from .file_slice import FileSlice
from .partition_log import AppendResult, PartitionLog

__all__ = [
    "AppendResult",
    "CorruptIndexError",
    "FileSlice",
    "LogConfig",
    "LogError",
    "OffsetOutOfRangeError",
    "PartitionLog",
]
