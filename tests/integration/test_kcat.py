"""Debian's kcat (librdkafka 2.0.2, which mis-parses tagged fields written at their defaults)."""

from __future__ import annotations

import shutil
import subprocess

import pytest

pytestmark = pytest.mark.skipif(shutil.which("kcat") is None, reason="kcat not installed")


def kcat(broker, *args: str, stdin: str | None = None) -> str:
    out = subprocess.run(["kcat", "-b", broker.bootstrap_servers, *args], input=stdin,
                         capture_output=True, text=True, timeout=30,
                         env={"PATH": "/usr/bin:/bin", "LD_LIBRARY_PATH": ""})
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_kcat_lists_broker_and_topics(broker, topic_name):
    kcat(broker, "-P", "-t", topic_name, stdin="one\n")
    listing = kcat(broker, "-L")
    assert f"broker 1 at {broker.bootstrap_servers}" in listing
    assert f'topic "{topic_name}" with 1 partitions' in listing


def test_kcat_produce_and_consume(broker, topic_name):
    lines = [f"line {i}" for i in range(50)]
    kcat(broker, "-P", "-t", topic_name, "-K:", stdin="".join(f"k{i}:{v}\n"
                                                            for i, v in enumerate(lines)))
    out = kcat(broker, "-C", "-t", topic_name, "-o", "beginning", "-e", "-q", "-f", "%k=%s\n")
    assert out.splitlines() == [f"k{i}={v}" for i, v in enumerate(lines)]
    # compressed, with the old librdkafka
    kcat(broker, "-P", "-t", topic_name, "-z", "gzip", stdin="zipped\n")
    out = kcat(broker, "-C", "-t", topic_name, "-o", "-1", "-e", "-q")
    assert out.splitlines() == ["zipped"]
