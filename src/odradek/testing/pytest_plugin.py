"""pytest fixtures for testing Kafka applications against an in-process odradek broker.

Registered through the `pytest11` entry point: after `pip install odradek` these fixtures exist
in every test suite, with nothing to configure.

- `odradek_broker` (session): a broker on a free port with a temporary data dir.
  `.bootstrap_servers` for any Kafka client; `.create_topic(name, partitions, config)`,
  `.restart()`, `.faults` (drop connections, delay or fail the next request of an API, or the
  next one naming a topic or partition).
- `odradek_broker_factory`: start more brokers with options, stopped after the test:
  `odradek_broker_factory(config={"num.partitions": 3})`.
- `odradek_topic`: a new topic on `odradek_broker`, unique to the test (its name).

New consumer groups rebalance at once (group.initial.rebalance.delay.ms=0) instead of waiting
Kafka's 3 s, which suits tests; pass config to the factory to change it.
"""

from __future__ import annotations

import re
import uuid

import pytest

TEST_DEFAULTS = {"group.initial.rebalance.delay.ms": "0"}


def _start(data_dir, config=None, **kwargs):
    # Imported here: the plugin loads in every pytest run, and the broker's imports (kio, and
    # hypothesis through it) are for the tests that use a broker.
    from ..embedded import Broker

    return Broker(data_dir=data_dir, config={**TEST_DEFAULTS, **(config or {})},
                  **kwargs).start()


@pytest.fixture(scope="session")
def odradek_broker(tmp_path_factory):
    """One in-process broker for the whole test session."""
    broker = _start(tmp_path_factory.mktemp("odradek"))
    yield broker
    broker.stop()


@pytest.fixture
def odradek_broker_factory(tmp_path):
    """Start extra brokers: `odradek_broker_factory(config={...}, metrics_port=0, ...)`
    (keyword arguments of odradek.Broker); each is stopped at the end of the test."""
    started: list = []

    def make(data_dir=None, **kwargs):
        broker = _start(data_dir or tmp_path / f"odradek-{len(started)}", **kwargs)
        started.append(broker)
        return broker

    yield make
    for broker in started:
        broker.stop()


@pytest.fixture
def odradek_topic(odradek_broker, request) -> str:
    """A fresh topic (one partition) on `odradek_broker`, named after the test."""
    base = re.sub(r"[^a-zA-Z0-9._-]", "-", request.node.name)[:80]
    name = f"{base}-{uuid.uuid4().hex[:8]}"
    odradek_broker.create_topic(name)
    return name
