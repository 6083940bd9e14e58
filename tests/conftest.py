"""Shared fixtures: brokers started in-process (the embedded `Broker`) on free ports."""

from __future__ import annotations

import uuid

import pytest

from odradek import Broker


@pytest.fixture(scope="session")
def broker(tmp_path_factory):
    """One broker for the whole session; tests use their own topic and group names.

    New groups start rebalancing at once (Kafka waits group.initial.rebalance.delay.ms, 3 s,
    which tests/integration/test_groups.py checks on a broker of its own)."""
    with Broker(data_dir=tmp_path_factory.mktemp("broker"),
                config={"group.initial.rebalance.delay.ms": 0}) as b:
        yield b


@pytest.fixture
def make_broker(tmp_path):
    """Start extra brokers with options: make_broker(config={...}, data_dir=...)."""
    started = []

    def make(data_dir=None, **kwargs):
        b = Broker(data_dir=data_dir or tmp_path / f"data-{len(started)}", **kwargs).start()
        started.append(b)
        return b

    yield make
    for b in started:
        b.stop()


@pytest.fixture
def topic_name(request) -> str:
    base = "".join(c if c.isalnum() else "-" for c in request.node.name)[:60]
    return f"{base}-{uuid.uuid4().hex[:8]}"
