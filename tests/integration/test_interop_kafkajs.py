"""kafkajs (Node.js) against the broker under test.

tests/interop/node/interop.js creates a topic, produces keyed records with headers and checks
offsets and metadata through the admin client (`admin` mode); `group` mode also consumes
everything back with a consumer group (kafkajs has no group-less consumer) and compares byte
for byte. The harness and its node_modules live in a cache outside the repo
($ODRADEK_INTEROP_CACHE, default ~/.cache/odradek-interop), keyed by a hash of the sources.
Skips when node/npm are missing or `npm ci` fails (offline).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

HARNESS = Path(__file__).resolve().parents[1] / "interop" / "node"
SOURCES = ("package.json", "package-lock.json", "interop.js")
CACHE = Path(os.environ.get("ODRADEK_INTEROP_CACHE", Path.home() / ".cache" / "odradek-interop"))


@pytest.fixture(scope="session")
def kafkajs_harness() -> list[str]:
    """The command prefix that runs the harness: node .../interop.js."""
    if not shutil.which("node") or not shutil.which("npm"):
        pytest.skip("node or npm not on PATH")
    digest = hashlib.sha256(b"".join((HARNESS / f).read_bytes() for f in SOURCES)).hexdigest()
    out = CACHE / f"kafkajs-harness-{digest[:16]}"
    if not (out / "node_modules" / "kafkajs" / "package.json").exists():
        # Install beside the final directory, then rename: a half-done install never looks done.
        tmp = out.with_name(f"{out.name}.tmp{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        for f in SOURCES:
            shutil.copy2(HARNESS / f, tmp / f)
        proc = subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund"],
            cwd=tmp,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if proc.returncode != 0:
            shutil.rmtree(tmp, ignore_errors=True)
            pytest.skip(f"npm ci failed (offline?):\n{(proc.stdout + proc.stderr)[-2000:]}")
        try:
            tmp.rename(out)
        except OSError:  # another process finished the same install first
            shutil.rmtree(tmp, ignore_errors=True)
    return ["node", str(out / "interop.js")]


def run_harness(cmd: list[str]) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, (
        f"{' '.join(cmd)} exited {proc.returncode}\n"
        f"stdout:\n{proc.stdout[-3000:]}\nstderr:\n{proc.stderr[-6000:]}"
    )
    assert proc.stdout.startswith("OK "), proc.stdout


@pytest.mark.timeout(400)
@pytest.mark.parametrize("idempotent", ["true", "false"])
def test_kafkajs_produce_and_admin(kafkajs_harness, broker, idempotent):
    run_harness(
        [
            *kafkajs_harness,
            broker.bootstrap_servers,
            "admin",
            "--records",
            "200",
            "--partitions",
            "3",
            "--idempotent",
            idempotent,
        ]
    )


@pytest.mark.timeout(400)
@pytest.mark.parametrize("idempotent", ["true"])
@pytest.mark.groups
def test_kafkajs_consumer_group_round_trip(kafkajs_harness, broker, idempotent):
    run_harness(
        [
            *kafkajs_harness,
            broker.bootstrap_servers,
            "group",
            "--records",
            "200",
            "--partitions",
            "3",
            "--idempotent",
            idempotent,
            "--timeout-s",
            "60",
        ]
    )
