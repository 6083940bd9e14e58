"""A full disk: produce gets KAFKA_STORAGE_ERROR, the log is not corrupted, and producing
works again once there is space. Needs root to mount a small tmpfs (skipped otherwise)."""

from __future__ import annotations

import os
import subprocess
import uuid

import pytest

from odradek import Broker
from odradek.protocol.records import build_batch
from tests.integration.test_wire import fetch_req, make_topic, produce_result
from tests.support.wire import WireClient


@pytest.fixture
def small_disk(tmp_path):
    mount = tmp_path / "small"
    mount.mkdir()
    if os.geteuid() != 0 or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)],
            capture_output=True).returncode != 0:
        pytest.skip("cannot mount a small tmpfs here")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_full_disk_is_a_storage_error_not_a_corrupt_log(small_disk):
    filler = small_disk / "filler"
    with Broker(data_dir=small_disk / "data") as b:
        c = WireClient(b.bootstrap_servers)
        topic = f"full-{uuid.uuid4().hex[:6]}"
        make_topic(c, topic)
        value = os.urandom(20_000)
        written = 0
        with open(filler, "wb") as f:  # leave little room
            free = os.statvfs(small_disk).f_bavail * os.statvfs(small_disk).f_frsize
            f.write(b"\0" * max(free - 300_000, 0))
        codes = []
        for _ in range(40):
            result = produce_result(c, topic, build_batch([(None, value)]))
            codes.append(result.error_code)
            if result.error_code:
                break
            written += 1
        assert codes[-1] == 56  # KAFKA_STORAGE_ERROR, and the connection is still open
        assert written > 0
        filler.unlink()  # space again
        after = produce_result(c, topic, build_batch([(None, b"after")]))
        assert (after.error_code, after.base_offset) == (0, written)
        fetched = c.request(fetch_req(topic, 0)).responses[0].partitions[0]
        assert fetched.high_watermark == written + 1
        c.close()
    # and the log reopens cleanly, with every acknowledged record
    with Broker(data_dir=small_disk / "data") as b:
        c = WireClient(b.bootstrap_servers)
        part = c.request(fetch_req(topic, written)).responses[0].partitions[0]
        assert part.high_watermark == written + 1 and b"after" in part.records
        c.close()
