#!/usr/bin/env python3
"""Start-up time, idle memory, and memory after a long produce + consume, for each broker.

* start-up: from spawning the broker process to (a) the first accepted TCP connection and
  (b) the first answered ApiVersions request; median of --starts fresh starts.
* idle RSS: one second after the first ApiVersions answer, nothing else done.
* RSS after load: the C load generator (rdkafka_performance) produces --records 100-byte records
  to a 6-partition topic (acks=1, linger 5 ms, batch 64 KiB), then consumes them all from the
  beginning; VmRSS then, and VmHWM (the peak over the whole run).

    python3 benchmarks/footprint.py                  # odradek and Tansu, 10 M records
    python3 benchmarks/footprint.py --only odradek --records 1000000

Tansu runs with its memory engine (the only one that needs no external database), so its RSS
after load holds the data itself: compare it with that in mind.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import time

from compare import ODRADEK, REFERENCE, WORK, machine

# ApiVersions v0, correlation id 1, client id "fp": the cheapest "are you serving?" request.
API_VERSIONS = struct.pack(">hhih", 18, 0, 1, 2) + b"fp"
API_VERSIONS = struct.pack(">i", len(API_VERSIONS)) + API_VERSIONS


def status_kb(pid: int, key: str) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise KeyError(key)


def start(command: str, port: int) -> tuple[subprocess.Popen, float, float]:
    """Spawn the broker; return it, seconds to first accepted connection, to first answer."""
    cmd = shlex.split(command.replace("{port}", str(port)))
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"broker exited with {proc.returncode}: {cmd}")
        try:
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            break
        except OSError:
            time.sleep(0.002)
        if time.perf_counter() - t0 > 30:
            raise RuntimeError("broker did not start in 30 s")
    t_accept = time.perf_counter() - t0
    with sock:
        sock.sendall(API_VERSIONS)
        size = struct.unpack(">i", _recv(sock, 4))[0]
        _recv(sock, size)
    return proc, t_accept, time.perf_counter() - t0


def _recv(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("broker closed the connection")
        data += chunk
    return data


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def rdperf(port: int, argv: list[str], cpus: str | None = None) -> str:
    cmd = [str(WORK / "rdkafka_performance"), *argv, "-b", f"127.0.0.1:{port}", "-u", "-q"]
    if cpus:
        cmd = ["taskset", "-c", cpus, *cmd]
    env = {**os.environ, "LD_LIBRARY_PATH": str(WORK / "rdlib")}
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    rows = [ln for ln in out.stdout.splitlines() if ln.startswith("|")]
    if out.returncode != 0 or not rows:
        raise RuntimeError(f"rdkafka_performance failed: {out.stdout[-500:]}{out.stderr[-500:]}")
    return rows[-1]


def create_topic(port: int, name: str, partitions: int) -> None:
    code = (
        "import sys\nfrom confluent_kafka.admin import AdminClient, NewTopic\n"
        f"a = AdminClient({{'bootstrap.servers': '127.0.0.1:{port}'}})\n"
        f"[f.result(30) for f in a.create_topics([NewTopic('{name}', {partitions}, 1)])"
        ".values()]\n")
    subprocess.run([str(WORK / "venv/bin/python"), "-c", code], check=True, timeout=60)


def measure(name: str, command: str, port: int, starts: int, records: int) -> dict:
    accept, ready = [], []
    for i in range(starts):
        shutil.rmtree(f"/tmp/odr-{port + i}", ignore_errors=True)
        proc, t_accept, t_ready = start(command, port + i)
        accept.append(t_accept)
        ready.append(t_ready)
        if i < starts - 1:
            stop(proc)
            shutil.rmtree(f"/tmp/odr-{port + i}", ignore_errors=True)
    port += starts - 1
    try:
        time.sleep(1.0)
        idle = status_kb(proc.pid, "VmRSS") / 1024
        result = {"broker": name, "accept_s": statistics.median(accept),
                  "ready_s": statistics.median(ready), "idle_rss_mb": idle}
        if records:
            create_topic(port, "fp", 6)
            cpu0 = _cpu_s(proc.pid)
            rdperf(port, ["-P", "-t", "fp", "-s", "100", "-c", str(records), "-a", "1",
                          "-X", "linger.ms=5", "-X", "batch.size=65536",
                          "-X", "queue.buffering.max.messages=1000000"])
            result["rss_after_produce_mb"] = status_kb(proc.pid, "VmRSS") / 1024
            parts = [a for p in range(6) for a in ("-p", str(p))]
            row = rdperf(port, ["-C", "-t", "fp", "-o", "beginning", "-c", str(records),
                                *parts], cpus="1")
            consumed = int(row.strip("|").split("|")[1])
            result["consumed"] = consumed
            result["cpu_s"] = _cpu_s(proc.pid) - cpu0
            result["rss_after_load_mb"] = status_kb(proc.pid, "VmRSS") / 1024
            result["peak_rss_mb"] = status_kb(proc.pid, "VmHWM") / 1024
        return result
    finally:
        stop(proc)
        shutil.rmtree(f"/tmp/odr-{port}", ignore_errors=True)


def _cpu_s(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, default=10_000_000)
    ap.add_argument("--starts", type=int, default=5)
    ap.add_argument("--only", choices=["odradek", "Tansu"])
    ap.add_argument("--odradek", default=ODRADEK, help="command with {port}")
    ap.add_argument("--reference", default=REFERENCE, help="command with {port}")
    ap.add_argument("--port", type=int, default=19600)
    args = ap.parse_args()
    brokers = [("odradek", args.odradek, args.port), ("Tansu", args.reference, args.port + 50)]
    rows = [measure(n, c, p, args.starts, args.records) for n, c, p in brokers
            if args.only in (None, n)]
    print(f"{time.strftime('%Y-%m-%d %H:%M')}, {machine()}; start-up: median of {args.starts}; "
          f"load: {args.records:,} records of 100 B, 6 partitions, produced then consumed\n")
    print("| broker | first accept s | first answer s | idle RSS MB | RSS after produce MB | "
          "RSS after produce + consume MB | peak RSS MB | consumed | broker CPU s |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(f"| {r['broker']} | {r['accept_s']:.3f} | {r['ready_s']:.3f} | "
              f"{r['idle_rss_mb']:.1f} | {r.get('rss_after_produce_mb', 0):.1f} | "
              f"{r.get('rss_after_load_mb', 0):.1f} | {r.get('peak_rss_mb', 0):.1f} | "
              f"{r.get('consumed', 0):,} | {r.get('cpu_s', 0):.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
