#!/usr/bin/env python3
"""In-process cost of the hot paths, without sockets: CPU µs per Produce / Fetch request.

Runs the same code a connection runs for one request frame (header decode, dispatch, handler,
response framing) against a BrokerCore on a temporary data directory: the Python share of the
broker's CPU per request, which the end-to-end benchmarks mix with system calls and the client.
Produce requests look like librdkafka's (Produce v9, one 64 KiB batch of 100-byte records per
request, round-robin over 6 partitions); Fetch requests read them back (Fetch v12, 6
partitions, 1 MiB per partition).

    python3 benchmarks/hotpath.py                         # timings
    python3 benchmarks/hotpath.py --no-write              # produce without the file write
    python3 benchmarks/hotpath.py --profile produce       # pyinstrument profile of one path

The log's `write` is the largest and the noisiest part of a produce request on a VM (page-cache
pages touched for the first time can cost several µs each); --no-write leaves it out to show
the Python share alone.
"""

from __future__ import annotations

import argparse
import struct
import sys
import tempfile
import time
from pathlib import Path

from odradek import handlers  # noqa: F401  (handlers register themselves on import)
from odradek.broker.core import BrokerCore
from odradek.broker.settings import BrokerSettings
from odradek.handlers import dispatch, frame_response
from odradek.protocol.codec import encode
from odradek.protocol.primitives import uvarint
from odradek.protocol.records import build_batch

TOPIC = "bench"
PARTITIONS = 6


def request_frame(api_key: int, version: int, body: bytes, correlation: int) -> bytearray:
    header = struct.pack(">hhih", api_key, version, correlation, 7) + b"rdkafka"
    if (api_key, version) in ((0, 9), (1, 12)):
        header += b"\x00"  # request header v2: empty tagged fields
    return bytearray(header + body)


def produce_body(partition: int, batch: bytes) -> bytes:
    """ProduceRequest v9: no transactional id, acks=1, timeout 30 s, one topic, one batch."""
    name = TOPIC.encode()
    return (b"\x00" + struct.pack(">hi", 1, 30000) + b"\x02" + uvarint(len(name) + 1) + name
            + b"\x02" + struct.pack(">i", partition) + uvarint(len(batch) + 1) + batch
            + b"\x00\x00\x00")


def fetch_body(offsets: list[int]) -> bytes:
    from kio.index import load_request_schema

    cls = load_request_schema(1, 12)
    topic_cls = cls.__dataclass_fields__["topics"].type.__args__[0]
    part_cls = topic_cls.__dataclass_fields__["partitions"].type.__args__[0]
    from kio.static.primitive import i32, i64

    parts = tuple(part_cls(partition=i32(p), current_leader_epoch=i32(-1),
                           fetch_offset=i64(o), last_fetched_epoch=i32(-1),
                           log_start_offset=i64(-1), partition_max_bytes=i32(1 << 20))
                  for p, o in enumerate(offsets))
    from datetime import timedelta

    req = cls(replica_id=i32(-1), max_wait=timedelta(milliseconds=0), min_bytes=i32(1),
              max_bytes=i32(50 << 20), isolation_level=0, session_id=i32(0),
              session_epoch=i32(-1), topics=(topic_cls(topic=TOPIC, partitions=parts),),
              forgotten_topics_data=(), rack_id="")
    return encode(req)


def run(seconds: float, which: str) -> None:
    with tempfile.TemporaryDirectory(prefix="odradek-hotpath-") as tmp:
        core = BrokerCore(BrokerSettings(data_dir=Path(tmp), port=0))
        core.create_topic(TOPIC, PARTITIONS)
        ctx_args = (core, "127.0.0.1", 1)
        record = (None, b"x" * 100)
        batch = build_batch([record] * 590, base_timestamp=int(time.time() * 1000))
        bodies = [produce_body(p, batch) for p in range(PARTITIONS)]
        n = 0
        produced = 0
        if which in ("produce", "both"):
            t0, c0 = time.perf_counter(), time.process_time()
            while time.perf_counter() - t0 < seconds:
                for p in range(PARTITIONS):
                    header, body = dispatch(ctx_args, request_frame(0, 9, bodies[p], n))
                    frame_response(header, body)
                    n += 1
            dt = time.process_time() - c0
            produced = n
            print(f"produce: {dt / n * 1e6:7.1f} µs/request ({len(batch)} B, 590 records), "
                  f"{dt / n / 590 * 1e9:6.1f} ns/record")
        if which in ("fetch", "both"):
            if not produced:
                for i in range(PARTITIONS * 200):
                    dispatch(ctx_args, request_frame(0, 9, bodies[i % PARTITIONS], i))
            ends = [core.topics[TOPIC].partitions[p].log.log_end_offset
                    for p in range(PARTITIONS)]
            # Request bodies are encoded (with kio) before the clock starts: positions that
            # step 16 batches at a time through each partition.
            steps = max(1, min(ends) // (590 * 16))
            frames = [request_frame(1, 12, fetch_body([i * 590 * 16] * PARTITIONS), i)
                      for i in range(steps)]
            n = 0
            t0, c0 = time.perf_counter(), time.process_time()
            while time.perf_counter() - t0 < seconds:
                header, body = dispatch(ctx_args, bytearray(frames[n % steps]))
                frame_response(header, body)
                n += 1
            dt = time.process_time() - c0
            print(f"fetch:   {dt / n * 1e6:7.1f} µs/request (6 partitions, ≤1 MiB each; "
                  "kio decodes the request)")
        core.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--profile", choices=["produce", "fetch"])
    ap.add_argument("--no-write", action="store_true",
                    help="produce only, with the log file write replaced by nothing")
    args = ap.parse_args()
    if args.no_write:
        from odradek.log import segment

        segment._write_all = lambda fd, view: None
    if args.profile:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0002)
        profiler.start()
        run(args.seconds, args.profile)
        profiler.stop()
        print(profiler.output_text(unicode=True, color=False, show_all=False))
    else:
        run(args.seconds, "produce" if args.no_write else "both")
    return 0


if __name__ == "__main__":
    sys.exit(main())
