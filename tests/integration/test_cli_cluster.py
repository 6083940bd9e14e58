"""`odradek cluster info` and `odradek --version`."""

from __future__ import annotations

import subprocess
import sys

from odradek import __version__
from tests.support.cli import run_cli


def test_cluster_info(broker, capsys):
    b = ("-b", broker.bootstrap_servers)
    r = run_cli(capsys, "cluster", "info", "--output", "json", *b)
    assert r.code == 0, r.err
    info = r.json()
    assert info["cluster_id"] == broker.server.core.cluster_id
    assert info["controller_id"] == 1
    assert info["brokers"] == [{"node_id": 1, "host": "127.0.0.1", "port": broker.port,
                                "rack": None}]
    apis = {a["name"]: a for a in info["api_versions"]}
    assert apis["FETCH"]["min_version"] == 4 and apis["FETCH"]["client_version"] == 12
    assert apis["API_VERSIONS"]["client_version"] == 3
    text = run_cli(capsys, "cluster", "info", "--api-versions", *b).out
    assert f"Cluster id: {info['cluster_id']}" in text
    assert "CONSUMER_GROUP_HEARTBEAT" in text


def test_version_and_help_unchanged():
    out = subprocess.run([sys.executable, "-m", "odradek", "--version"], capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() == f"odradek {__version__}"
    help_text = subprocess.run([sys.executable, "-m", "odradek", "--help"], capture_output=True,
                               text=True, check=True).stdout
    for command in ("serve", "topic", "group", "produce", "consume", "cluster"):
        assert command in help_text
