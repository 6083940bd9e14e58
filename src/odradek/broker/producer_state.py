"""Idempotent producers: per-partition producer state, after Kafka's ProducerStateManager.

For every producer id that wrote to a partition the broker keeps the producer epoch and the
metadata of its last 5 batches (sequence range and offsets). A batch is then either
- a retry of one of those 5 (same epoch and sequences): acknowledged with its original
  offset and not written again;
- the next in sequence (first sequence = last sequence + 1, wrapping at 2^31-1), or sequence
  0 under a new epoch: appended;
- anything else: OUT_OF_ORDER_SEQUENCE_NUMBER; an older epoch: INVALID_PRODUCER_EPOCH.

The state survives restarts: a snapshot (JSON, in the metadata store) records it up to some
offset, and on start the batch headers after that offset are replayed from the log.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field

from ..log.partition_log import PartitionLog
from ..log.scan import scan_batches
from ..protocol.errors import ErrorCode, KafkaError
from ..protocol.records import BatchHeader

NUM_BATCHES_TO_RETAIN = 5
INT32_MAX = 2**31 - 1


@dataclass(slots=True)
class BatchMetadata:
    first_seq: int
    last_seq: int
    base_offset: int
    last_offset: int
    timestamp: int


@dataclass(slots=True)
class ProducerEntry:
    epoch: int
    batches: deque[BatchMetadata] = field(
        default_factory=lambda: deque(maxlen=NUM_BATCHES_TO_RETAIN))
    last_timestamp: int = -1

    @property
    def last_seq(self) -> int:
        return self.batches[-1].last_seq if self.batches else -1


def _last_seq(h: BatchHeader) -> int:
    seq = h.base_sequence + h.last_offset_delta
    return seq - INT32_MAX - 1 if seq > INT32_MAX else seq


class ProducerStateManager:
    def __init__(self) -> None:
        self.producers: dict[int, ProducerEntry] = {}
        self.dirty = False

    def check(self, h: BatchHeader) -> BatchMetadata | None:
        """Validate an idempotent batch before it is appended.

        Returns the metadata of the original batch if this one is a duplicate, else None.
        Raises KafkaError for an old epoch or a sequence gap."""
        entry = self.producers.get(h.producer_id)
        if entry is None:
            return None  # unknown producer (new, or its state expired): any sequence goes
        if h.producer_epoch < entry.epoch:
            raise KafkaError(
                ErrorCode.invalid_producer_epoch,
                f"Epoch of producer {h.producer_id} at offset is {h.producer_epoch}, which is "
                f"smaller than the last seen epoch {entry.epoch}")
        if h.producer_epoch > entry.epoch:
            if h.base_sequence != 0:
                raise KafkaError(
                    ErrorCode.out_of_order_sequence_number,
                    f"Invalid sequence number for new epoch of producer {h.producer_id} at "
                    f"epoch {h.producer_epoch}: {h.base_sequence} (request epoch), 0 "
                    "(expected)")
            return None
        last = _last_seq(h)
        for batch in entry.batches:
            if batch.first_seq == h.base_sequence and batch.last_seq == last:
                return batch
        expected = 0 if entry.last_seq == INT32_MAX else entry.last_seq + 1
        if entry.batches and h.base_sequence != expected:
            raise KafkaError(
                ErrorCode.out_of_order_sequence_number,
                f"Out of order sequence number for producer {h.producer_id} at offset: "
                f"{h.base_sequence} (incoming seq. number), {entry.last_seq} (current end "
                "sequence number)")
        return None

    def update(self, h: BatchHeader, base_offset: int) -> None:
        """Record a batch that was just appended at `base_offset`."""
        entry = self.producers.get(h.producer_id)
        if entry is None or h.producer_epoch != entry.epoch:
            entry = self.producers[h.producer_id] = ProducerEntry(h.producer_epoch)
        entry.batches.append(BatchMetadata(h.base_sequence, _last_seq(h), base_offset,
                                           base_offset + h.last_offset_delta, h.max_timestamp))
        entry.last_timestamp = max(entry.last_timestamp, h.max_timestamp)
        self.dirty = True

    def expire(self, now_ms: int, expiration_ms: int) -> int:
        """Forget producers silent for longer than `producer.id.expiration.ms`."""
        old = [pid for pid, e in self.producers.items()
               if e.last_timestamp >= 0 and now_ms - e.last_timestamp > expiration_ms]
        for pid in old:
            del self.producers[pid]
        self.dirty = self.dirty or bool(old)
        return len(old)

    # ------------------------------------------------------------------ persistence

    def snapshot(self) -> dict:
        return {str(pid): {"epoch": e.epoch, "ts": e.last_timestamp,
                           "batches": [[b.first_seq, b.last_seq, b.base_offset, b.last_offset,
                                        b.timestamp] for b in e.batches]}
                for pid, e in self.producers.items()}

    def load(self, snapshot: dict) -> None:
        self.producers = {}
        for pid, e in snapshot.items():
            entry = ProducerEntry(e["epoch"], last_timestamp=e["ts"])
            entry.batches.extend(BatchMetadata(*b) for b in e["batches"])
            self.producers[int(pid)] = entry

    def rebuild(self, plog: PartitionLog, snapshot: dict | None, snapshot_offset: int) -> int:
        """Load a snapshot taken at `snapshot_offset` (if it is still valid for this log) and
        replay the idempotent batches after it. Returns the number of batches replayed."""
        start = plog.log_start_offset
        if snapshot is not None and start <= snapshot_offset <= plog.log_end_offset:
            self.load(snapshot)
            start = snapshot_offset
        replayed = 0
        for h in iter_batch_headers(plog, start):
            if h.producer_id >= 0:
                self.update(h, h.base_offset)
                replayed += 1
        self.dirty = False
        return replayed


def iter_batch_headers(plog: PartitionLog, start_offset: int) -> Iterator[BatchHeader]:
    """Headers of the batches from the one holding `start_offset` to the log end."""
    for segment in plog.segments:
        if segment.next_offset <= start_offset:
            continue
        found = segment.find_position(max(start_offset, segment.base_offset))
        if found is None:
            continue
        for _, header, _ in scan_batches(segment.fileno(), found[0], segment.size,
                                         chunk_size=1 << 20):
            if header.base_offset + header.last_offset_delta >= start_offset:
                yield header
