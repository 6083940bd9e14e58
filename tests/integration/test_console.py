"""The web console: its JSON API, and the page in a real headless browser (Debian's chromium
driven by Playwright) showing a live lag chart for a running consumer group.

Set ODRADEK_SCREENSHOT=1 to refresh docs/console.png (the README's picture) from the run."""

from __future__ import annotations

import base64
import json
import os
import shutil
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]
DOCS = Path(__file__).resolve().parents[2] / "docs"


def call(url: str, method: str = "GET", body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.fixture
def console_broker(odradek_broker_factory):
    return odradek_broker_factory(console_port=0)


def test_console_api(console_broker):
    base = console_broker.console_url.rstrip("/")
    status, created = call(base + "/api/topics", "POST",
                           {"name": "payments", "partitions": 2,
                            "configs": {"retention.ms": "60000"}})
    assert (status, created) == (201, {"name": "payments", "partitions": 2})
    assert call(base + "/api/topics", "POST", {"name": "payments"})[0] == 409
    assert call(base + "/api/topics", "POST", {"name": "bad name!"})[0] == 400

    p = Producer({"bootstrap.servers": console_broker.bootstrap_servers})
    for i in range(10):
        p.produce("payments", json.dumps({"n": i}).encode(), key=b"k%d" % i, partition=1,
                  headers=[("h", b"v")], timestamp=1_700_000_000_000 + i)
    assert p.flush(10) == 0

    status, topics = call(base + "/api/topics")
    (t,) = [t for t in topics if t["name"] == "payments"]
    assert t["configs"] == {"retention.ms": "60000"} and t["records"] == 10
    assert [p["log_end_offset"] for p in t["partitions"]] == [0, 10]
    assert t["partitions"][1]["size_bytes"] > 0

    status, page = call(base + "/api/records?topic=payments&partition=1&offset=3&limit=2")
    assert status == 200 and page["high_watermark"] == 10
    assert [r["offset"] for r in page["records"]] == [3, 4]
    first = page["records"][0]
    assert base64.b64decode(first["key"]) == b"k3"
    assert json.loads(base64.b64decode(first["value"])) == {"n": 3}
    assert first["headers"] == [["h", base64.b64encode(b"v").decode()]]
    assert first["timestamp"] == 1_700_000_000_003
    by_time = call(base + "/api/records?topic=payments&partition=1&timestamp="
                   f"{1_700_000_000_007}")[1]
    assert [r["offset"] for r in by_time["records"]] == [7, 8, 9]
    last = call(base + "/api/records?topic=payments&partition=1&offset=-2")[1]
    assert [r["offset"] for r in last["records"]] == [8, 9]
    assert call(base + "/api/records?topic=nope&partition=0")[0] == 404

    status, overview = call(base + "/api/overview")
    assert overview["topics"] == 1 and overview["partitions"] == 2
    status, series = call(base + "/api/series")
    assert status == 200 and set(series) == {"interval_s", "t", "topics", "groups"}

    assert call(base + "/api/topics/payments", "DELETE") == (200, {"deleted": "payments"})
    assert call(base + "/api/topics/payments", "DELETE")[0] == 404
    assert call(base + "/api/nothing")[0] == 404


class Load:
    """A producer and a slower consumer group, so that the group's lag grows while the page
    watches. Bounded: both stop when the test ends (or after two minutes)."""

    def __init__(self, bootstrap: str, topic: str, group: str) -> None:
        self.bootstrap, self.topic, self.group = bootstrap, topic, group
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._produce, daemon=True),
                        threading.Thread(target=self._consume, daemon=True)]

    def __enter__(self) -> Load:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(30)

    def _produce(self) -> None:
        p = Producer({"bootstrap.servers": self.bootstrap, "linger.ms": 5})
        deadline = time.monotonic() + 120
        i = 0
        while not self.stop.is_set() and time.monotonic() < deadline:
            for _ in range(40):
                p.produce(self.topic, json.dumps({"order": i, "amount": i % 97}).encode(),
                          key=b"customer-%d" % (i % 13))
                i += 1
            p.poll(0)
            self.stop.wait(0.1)
        p.flush(10)

    def _consume(self) -> None:
        c = Consumer({"bootstrap.servers": self.bootstrap, "group.id": self.group,
                      "client.id": "billing-worker", "auto.offset.reset": "earliest",
                      "enable.auto.commit": False})
        c.subscribe([self.topic])
        deadline = time.monotonic() + 120
        while not self.stop.is_set() and time.monotonic() < deadline:
            msgs = c.consume(20, timeout=0.5)
            if msgs:
                c.commit(asynchronous=False)
            self.stop.wait(0.2)  # slower than the producer: the lag grows
        c.close()


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (apt-get install chromium)")
def test_console_in_a_browser_shows_live_lag(console_broker, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    console_broker.create_topic("orders", partitions=3)
    with Load(console_broker.bootstrap_servers, "orders", "billing"), \
            sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(console_broker.console_url)
            page.wait_for_selector('#topics tr[data-topic="orders"]', timeout=30000)
            page.wait_for_selector('#groups tr[data-group="billing"]', timeout=30000)
            # The lag chart has a line for the running group, with several samples, whose last
            # value is a real lag.
            page.wait_for_function(
                """() => {
                    const line = document.querySelector(
                        '#lag-chart path.series[data-name="billing"]');
                    return line && Number(line.dataset.points) >= 8
                        && Number(line.dataset.last) > 0;
                }""", timeout=60000)
            page.wait_for_function(
                """() => {
                    const line = document.querySelector(
                        '#throughput-chart path.series[data-name="orders"]');
                    return line && Number(line.dataset.last) > 0;
                }""", timeout=60000)
            row = page.inner_text('#groups tr[data-group="billing"]')
            assert "billing-worker" in row and "Stable" in row

            # The record browser: the first records of partition 0, as JSON.
            page.select_option("#browse-topic", "orders")
            page.select_option('#browse select[name="format"]', "json")
            page.fill('#browse input[name="at"]', "0")
            page.fill('#browse input[name="limit"]', "4")
            page.click('#browse button[type="submit"]')
            page.wait_for_selector("#records tbody tr", timeout=30000)
            assert '"order"' in page.inner_text("#records tbody tr")
            page.click('#groups tr[data-group="billing"] summary')  # members and partitions

            shot = tmp_path / "console.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 10000
            if os.environ.get("ODRADEK_SCREENSHOT"):
                DOCS.mkdir(exist_ok=True)
                shutil.copy(shot, DOCS / "console.png")

            # Create and delete a topic from the page.
            page.fill('#create-topic input[name="name"]', "from-the-browser")
            page.fill('#create-topic input[name="partitions"]', "2")
            page.click('#create-topic button[type="submit"]')
            page.wait_for_selector('#topics tr[data-topic="from-the-browser"]', timeout=30000)
            page.on("dialog", lambda dialog: dialog.accept())
            page.click('#topics tr[data-topic="from-the-browser"] button.danger')
            page.wait_for_selector('#topics tr[data-topic="from-the-browser"]',
                                   state="detached", timeout=30000)
        finally:
            browser.close()
