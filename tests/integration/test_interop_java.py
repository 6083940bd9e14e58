"""The Apache Kafka Java client (kafka-clients 4.x) against the broker under test.

The harness (tests/interop/java) creates a topic, produces keyed records with headers with
acks=all, consumes them back and checks them byte for byte and in per-partition order.
It is built once per source version into a cache outside the repo
($ODRADEK_INTEROP_CACHE, default ~/.cache/odradek-interop), so a rerun costs only the run.
Skips when java/mvn are missing or Maven cannot resolve its dependencies (offline).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

HARNESS = Path(__file__).resolve().parents[1] / "interop" / "java"
CACHE = Path(os.environ.get("ODRADEK_INTEROP_CACHE", Path.home() / ".cache" / "odradek-interop"))
# Maven's words for "could not download", as opposed to a compile error, which must fail.
OFFLINE = re.compile(
    r"could not (be )?(resolve|transfer)|cannot access \S+ in offline mode|"
    r"failed to read artifact descriptor|non-resolvable|"
    r"unknownhost|network is unreachable|connect timed out|connection refused",
    re.IGNORECASE,
)

groups = [pytest.mark.groups]


def _source_hash() -> str:
    h = hashlib.sha256()
    for path in sorted([HARNESS / "pom.xml", *HARNESS.glob("src/**/*.java")]):
        h.update(path.relative_to(HARNESS).as_posix().encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:16]


@pytest.fixture(scope="session")
def java_harness() -> list[str]:
    """The command prefix that runs the harness: java -cp ... InteropHarness."""
    if not shutil.which("java") or not shutil.which("mvn"):
        pytest.skip("java or mvn not on PATH")
    out = CACHE / f"java-harness-{_source_hash()}"
    if not (out / "classes" / "InteropHarness.class").exists():
        # Build beside the final directory, then rename: a half-built cache never looks done.
        tmp = out.with_name(f"{out.name}.tmp{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        proc = subprocess.run(
            ["mvn", "-q", "-B", "-Dstyle.color=never", f"-Dharness.buildDir={tmp}", "package"],
            cwd=HARNESS,
            capture_output=True,
            text=True,
            timeout=540,
        )
        if proc.returncode != 0:
            log = proc.stdout + proc.stderr
            if OFFLINE.search(log):
                pytest.skip(f"Maven could not resolve the harness dependencies:\n{log[-2000:]}")
            pytest.fail(f"Maven build of {HARNESS} failed:\n{log[-4000:]}")
        try:
            tmp.rename(out)
        except OSError:  # another process finished the same build first
            shutil.rmtree(tmp, ignore_errors=True)
    return [
        "java",
        "-Xmx256m",
        "-cp",
        f"{out / 'classes'}{os.pathsep}{out / 'lib' / '*'}",
        "InteropHarness",
    ]


@pytest.mark.timeout(600)
@pytest.mark.parametrize(
    "mode, idempotence",
    [
        ("assign", "true"),
        ("assign", "false"),
        pytest.param("group", "true", marks=groups),
        pytest.param("group-consumer", "true", marks=groups),
    ],
)
def test_java_client_round_trip(java_harness, broker, mode, idempotence):
    cmd = [
        *java_harness,
        broker.bootstrap_servers,
        mode,
        "--records",
        "200",
        "--partitions",
        "3",
        "--idempotence",
        idempotence,
        "--timeout-s",
        "60",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, (
        f"{' '.join(cmd)} exited {proc.returncode}\n"
        f"stdout:\n{proc.stdout[-3000:]}\nstderr:\n{proc.stderr[-6000:]}"
    )
    assert proc.stdout.startswith("OK "), proc.stdout
