"""The examples in examples/ run against a broker and do what their docstrings say."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def run(script: str, bootstrap: str) -> str:
    out = subprocess.run([sys.executable, str(EXAMPLES / script), "--bootstrap-server",
                          bootstrap], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_queue_example(broker):
    out = run("queue.py", broker.bootstrap_servers)
    assert "60/60 jobs processed, 0 more than once" in out
    assert out.count("worker-") == 3  # all three workers got jobs


def test_pubsub_example(broker):
    out = run("pubsub.py", broker.bootstrap_servers)
    assert "group 'billing' received 20/20 events" in out
    assert "group 'audit' received 20/20 events" in out
