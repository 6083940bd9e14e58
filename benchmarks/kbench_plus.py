#!/usr/bin/env python3
"""kbench with one more phase: `rdp6all`, the C load generator producing with acks=all.

The shared harness (/work/shared/bench/kbench.py, read-only) runs its C producer with acks=1
only; our performance targets ask for acks=all too. This wrapper imports that harness
unchanged, registers the extra phase and runs it after the harness's own phases, so that every
other number comes from the same code as the reference figures.

Same arguments as kbench.py. KBENCH_DIR points at the harness (default /work/shared/bench).
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.environ.get("KBENCH_DIR", "/work/shared/bench"))
import kbench  # noqa: E402

EXTRA = "rdp6all"


def rdperf_produce_all_phase(args, topic: str, parts: int):
    """rdkafka_performance -a -1: the same workload as kbench's rdp6, acks=all."""
    r = kbench.result(EXTRA, note=f"C rdkafka_performance {parts}p acks=all "
                                  f"linger={args.linger_ms:g}")
    kbench.create_topic(args, topic, parts)
    n = args.rdperf_records
    with kbench.Meter(args.broker_pid) as m:
        rc, last, out = kbench._rdperf(
            args, ["-P", "-t", topic, "-s", str(args.size), "-c", str(n), "-a", "-1",
                   "-X", f"linger.ms={args.linger_ms:g}", "-X", f"batch.size={args.batch_bytes}",
                   "-X", "queue.buffering.max.messages=1000000"], 60)
    delivered = int(last[4]) if last else 0
    kbench.finish(r, m, delivered, delivered * args.size)
    if rc != 0 or not last or delivered != n or int(last[7]):
        kbench.fail(r, f"rc={rc} delivered={delivered}/{n} last={last} tail={out[-300:]!r}")
    kbench.check_watermarks(args, r, topic, parts, delivered)
    return r


_run_once = kbench.run_once


def run_once(args, run_no, ctx):
    phases = args.phases
    args.phases = [p for p in phases if p != EXTRA]
    try:
        run = _run_once(args, run_no, ctx)
    finally:
        args.phases = phases
    if EXTRA in phases:
        run["rows"].append(rdperf_produce_all_phase(args, run["prefix"] + "-rdp6all", 6))
        run["broker_rss_mb"] = kbench.proc_rss_mb(args.broker_pid)
    return run


kbench.EXTRA_PHASES.append(EXTRA)  # main() validates --phases against this list
kbench.run_once = run_once

if __name__ == "__main__":
    sys.exit(kbench.main())
