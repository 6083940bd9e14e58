"""Prometheus metrics (`odradek serve --metrics-port`), with `prometheus-client`.

Two halves, so that the produce and fetch hot paths stay cheap:

- `BrokerStats`: counters the broker bumps once per request (never per record) — plain ints in
  dicts, no locks, no label lookups. Installed as `BrokerCore.stats` only when metrics are on;
  every hook is `if stats is not None`.
- `BrokerCollector`: a custom collector that turns those counters, and state read straight from
  `BrokerCore` (log sizes and offsets, committed offsets → consumer lag, connections), into
  metric families at scrape time. Scrapes run on the broker's event loop (the HTTP endpoint is
  served there), so reading the broker's state needs no locks either.

Records out are counted without looking inside the batches sent (they leave with sendfile): the
bytes out of a topic divided by its average bytes per record on disk.
"""

from __future__ import annotations

import bisect
import time
from collections import defaultdict

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
)

from .protocol.api_keys import ApiKey

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Seconds. Request latency includes the wait of long polls (as Kafka's TotalTimeMs).
LATENCY_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                   0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Histogram:
    """A latency histogram without locks: counts per bucket, summed when scraped."""

    __slots__ = ("counts", "total", "count")

    def __init__(self) -> None:
        self.counts = [0] * (len(LATENCY_BUCKETS) + 1)
        self.total = 0.0
        self.count = 0

    def observe(self, seconds: float) -> None:
        self.counts[bisect.bisect_left(LATENCY_BUCKETS, seconds)] += 1
        self.total += seconds
        self.count += 1

    def buckets(self) -> list[tuple[str, int]]:
        out, running = [], 0
        for bound, n in zip(LATENCY_BUCKETS, self.counts, strict=False):
            running += n
            out.append((repr(bound), running))
        out.append(("+Inf", running + self.counts[-1]))
        return out


class BrokerStats:
    """Per-request counters bumped on the broker's loop (see the module docstring)."""

    def __init__(self) -> None:
        self.bytes_in: dict[str, int] = defaultdict(int)
        self.records_in: dict[str, int] = defaultdict(int)
        self.bytes_out: dict[str, int] = defaultdict(int)
        self.requests: dict[int, Histogram] = {}
        self.fsync = Histogram()
        self.connections_accepted = 0

    def produced(self, topic: str, nbytes: int, records: int) -> None:
        self.bytes_in[topic] += nbytes
        self.records_in[topic] += records

    def fetched(self, topic: str, nbytes: int) -> None:
        self.bytes_out[topic] += nbytes

    def request(self, api_key: int, seconds: float) -> None:
        h = self.requests.get(api_key)
        if h is None:
            h = self.requests[api_key] = Histogram()
        h.observe(seconds)

    def fsynced(self, seconds: float) -> None:
        self.fsync.observe(seconds)


def _api_name(key: int) -> str:
    try:
        return ApiKey(key).name
    except ValueError:
        return str(key)


class BrokerCollector:
    def __init__(self, core, server, stats: BrokerStats) -> None:
        self.core = core
        self.server = server
        self.stats = stats
        self.started = time.time()

    def describe(self):
        return []  # no describe-time collection: families are built at scrape time

    def collect(self):
        core, stats = self.core, self.stats
        topics = list(core.topics.values())

        size = GaugeMetricFamily("odradek_log_size_bytes", "Bytes on disk of a partition's log",
                                 labels=["topic", "partition"])
        end = GaugeMetricFamily("odradek_log_end_offset", "Next offset of a partition",
                                labels=["topic", "partition"])
        start = GaugeMetricFamily("odradek_log_start_offset", "First offset of a partition",
                                  labels=["topic", "partition"])
        per_record: dict[str, float] = {}
        for t in topics:
            total_bytes = total_records = 0
            for p in t.partitions:
                plog = p.log
                labels = [t.name, str(p.index)]
                size.add_metric(labels, plog.size_bytes)
                end.add_metric(labels, plog.log_end_offset)
                start.add_metric(labels, plog.log_start_offset)
                total_bytes += plog.size_bytes
                total_records += plog.log_end_offset - plog.log_start_offset
            if total_records > 0:
                per_record[t.name] = total_bytes / total_records
        yield from (size, end, start)

        bytes_in = CounterMetricFamily("odradek_topic_bytes_in", "Record batch bytes produced",
                                       labels=["topic"])
        records_in = CounterMetricFamily("odradek_topic_records_in", "Records produced",
                                         labels=["topic"])
        bytes_out = CounterMetricFamily("odradek_topic_bytes_out",
                                        "Record batch bytes sent to fetchers", labels=["topic"])
        records_out = CounterMetricFamily(
            "odradek_topic_records_out", "Records sent to fetchers (estimated from bytes out "
            "and the topic's average bytes per record on disk)", labels=["topic"])
        for name in sorted(set(stats.bytes_in) | set(stats.bytes_out)):
            bytes_in.add_metric([name], stats.bytes_in.get(name, 0))
            records_in.add_metric([name], stats.records_in.get(name, 0))
            out = stats.bytes_out.get(name, 0)
            bytes_out.add_metric([name], out)
            ratio = per_record.get(name)
            records_out.add_metric([name], int(out / ratio) if ratio else 0)
        yield from (bytes_in, records_in, bytes_out, records_out)

        requests = CounterMetricFamily("odradek_requests", "Requests handled", labels=["api"])
        latency = HistogramMetricFamily("odradek_request_latency_seconds",
                                        "Time from a request's arrival to its response",
                                        labels=["api"])
        for key, h in sorted(stats.requests.items()):
            name = _api_name(key)
            requests.add_metric([name], h.count)
            latency.add_metric([name], h.buckets(), h.total)
        yield from (requests, latency)

        fsync = HistogramMetricFamily("odradek_fsync_latency_seconds",
                                      "Time taken by fsync of log segments")
        fsync.add_metric([], stats.fsync.buckets(), stats.fsync.total)
        yield fsync

        connections = GaugeMetricFamily("odradek_connections", "Open client connections")
        connections.add_metric([], len(self.server.connections) if self.server else 0)
        yield connections
        accepted = CounterMetricFamily("odradek_connections_accepted",
                                       "Client connections accepted")
        accepted.add_metric([], stats.connections_accepted)
        yield accepted

        lag = GaugeMetricFamily("odradek_consumer_group_lag",
                                "Log end offset minus the group's committed offset",
                                labels=["group", "topic", "partition"])
        committed = GaugeMetricFamily("odradek_consumer_group_committed_offset",
                                      "Committed offset of a group",
                                      labels=["group", "topic", "partition"])
        members = GaugeMetricFamily("odradek_consumer_group_members", "Members of a group",
                                    labels=["group", "state"])
        for group_id, offsets in list(core.groups.offsets.items()):
            for (topic, index), o in list(offsets.items()):
                t = core.topics.get(topic)
                if t is None or index >= len(t.partitions):
                    continue
                labels = [group_id, topic, str(index)]
                committed.add_metric(labels, o.offset)
                lag.add_metric(labels, max(t.partitions[index].log.high_watermark - o.offset, 0))
        for group in core.groups.list_groups():
            members.add_metric([group.group_id, group.state.value], len(group.members))
        yield from (lag, committed, members)

        up = GaugeMetricFamily("odradek_start_time_seconds", "When the broker started")
        up.add_metric([], self.started)
        yield up


def new_registry(core, server, stats: BrokerStats) -> CollectorRegistry:
    """A registry of its own per broker (several brokers may share a process in tests)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(BrokerCollector(core, server, stats))
    return registry


def render(registry: CollectorRegistry) -> bytes:
    return generate_latest(registry)
